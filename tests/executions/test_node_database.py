"""DatabaseQuery against a real database of the run's kind: a throwaway PostgreSQL database,
or a SQLite file when the run is on the embedded default."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection as django_connection

from tests import workers
from tests.engine import attempt_fault, attempt_output, run
from workflows import services as workflow_services
from workflows.nodes.builtin.integration import DatabaseQuery
from workflows.nodes.faults import FaultClass

pytestmark = [pytest.mark.django_db(transaction=True)]


@dataclass
class Scratch:
    """A database the tests own: its URL, its placeholder style, and a way to query it."""

    url: str
    vendor: str

    def sql(self, statement: str) -> str:
        """A statement written with SQLite's ? and :name, in this database's placeholders."""
        if self.vendor != "postgresql":
            return statement
        return re.sub(r":(\w+)", r"%(\1)s", statement).replace("?", "%s")

    def query(self, sql: str) -> list[tuple]:
        """Read with a connection of our own: what any other client of the database sees."""
        if self.vendor == "postgresql":
            import psycopg

            with psycopg.connect(self.url) as connection:
                return connection.execute(sql).fetchall()
        with sqlite3.connect(urlsplit(self.url).path[1:]) as connection:
            return connection.execute(sql).fetchall()


@pytest.fixture(scope="module")
def scratch(django_db_setup, tmp_path_factory) -> Iterator[Scratch]:
    """A fresh database with a `people` table, dropped afterwards."""
    if django_connection.vendor == "postgresql":
        import psycopg

        server = workers.test_database_url()
        name = f"weft_scratch_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(server)
        database = Scratch(urlunsplit(parts._replace(path=f"/{name}")), "postgresql")
    else:
        admin = None
        path = tmp_path_factory.mktemp("scratch") / "scratch.sqlite3"
        database = Scratch(f"sqlite:///{path}", "sqlite")
        sqlite3.connect(path).close()
    try:
        yield database
    finally:
        if django_connection.vendor == "postgresql":
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def people(scratch) -> Scratch:
    """The `people` table with three rows, recreated for each test."""
    statements = [
        "DROP TABLE IF EXISTS people",
        "CREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL, score numeric)",
        "INSERT INTO people VALUES (1, 'ada', 9.5), (2, 'grace', 8), (3, 'linus', NULL)",
    ]
    if scratch.vendor == "postgresql":
        import psycopg

        with psycopg.connect(scratch.url) as connection:
            for statement in statements:
                connection.execute(statement)
    else:
        with sqlite3.connect(urlsplit(scratch.url).path[1:]) as connection:
            for statement in statements:
                connection.execute(statement)
    return scratch


@pytest.fixture
def secret(people) -> str:
    """A secret holding the scratch database's URL, as an operator would store it."""
    workflow_services.secret_create(name="scratch_db", value=people.url, actor=None)
    return "scratch_db"


execute = partial(attempt_output, DatabaseQuery, node_id="query")
fault_of = partial(attempt_fault, DatabaseQuery, node_id="query")


def test_a_read_returns_rows_keyed_by_column_with_bound_parameters(people, secret):
    # when people are selected by a bound parameter taken from the input
    result = execute({"connection": secret,
                      "sql": people.sql("SELECT id, name, score FROM people WHERE id >= ? "
                                        "ORDER BY id"),
                      "params": "{{ [input.from_id] }}"}, from_id=2)
    # then the rows are objects keyed by column, as JSON values
    assert result == {"rows": [{"id": 2, "name": "grace", "score": 8},
                               {"id": 3, "name": "linus", "score": None}],
                      "rowcount": 2, "truncated": False}


def test_named_parameters_bind_from_an_object(people, secret):
    result = execute({"connection": secret,
                      "sql": people.sql("SELECT name FROM people WHERE name = :who"),
                      "params": {"who": "ada"}})
    assert result["rows"] == [{"name": "ada"}]


def test_read_mode_refuses_a_write_and_changes_nothing(people, secret):
    # when a read-mode node tries to delete
    fault = fault_of({"connection": secret, "sql": "DELETE FROM people"})
    # then the database refused it (not retried), and every row is still there
    assert fault.fault_class == FaultClass.VALIDATION
    assert "Node 'query' data.sql: the database refused the statement" in fault.message
    assert "read-only" in fault.message or "readonly" in fault.message
    assert people.query("SELECT count(*) FROM people") == [(3,)]


def test_write_mode_commits(people, secret):
    # when a write-mode node inserts and updates
    inserted = execute({"connection": secret, "mode": "write",
                        "sql": people.sql("INSERT INTO people (id, name) VALUES (?, ?)"),
                        "params": [4, "barbara"]})
    updated = execute({"connection": secret, "mode": "write",
                       "sql": "UPDATE people SET score = 1 WHERE score IS NULL"})
    # then the counts are the driver's and another client sees the changes
    assert inserted == {"rows": [], "rowcount": 1, "truncated": False}
    assert updated["rowcount"] == 2
    assert people.query("SELECT name FROM people WHERE id = 4") == [("barbara",)]
    assert people.query("SELECT count(*) FROM people WHERE score = 1") == [(2,)]


def test_max_rows_truncates_and_says_so(people, secret):
    # when a query returns more rows than max_rows allows
    result = execute({"connection": secret, "sql": "SELECT id FROM people ORDER BY id",
                      "max_rows": 2})
    # then only max_rows rows come back, and truncated is true
    assert result == {"rows": [{"id": 1}, {"id": 2}], "rowcount": 2, "truncated": True}
    # while exactly max_rows rows are not truncated
    assert execute({"connection": secret, "sql": "SELECT id FROM people",
                    "max_rows": 3})["truncated"] is False


def test_bound_parameters_prevent_injection(people, secret):
    # given an input that would break out of a quoted string if it were pasted into SQL
    hostile = "x'; DELETE FROM people; --"
    # when it is bound as a parameter, in read and in write mode
    found = execute({"connection": secret,
                     "sql": people.sql("SELECT id FROM people WHERE name = ?"),
                     "params": "{{ [input.name] }}"}, name=hostile)
    execute({"connection": secret, "mode": "write",
             "sql": people.sql("INSERT INTO people (id, name) VALUES (10, ?)"),
             "params": "{{ [input.name] }}"}, name=hostile)
    # then it is only ever a value: nothing matched, nothing was deleted, it was stored as is
    assert found["rows"] == []
    assert people.query("SELECT count(*) FROM people") == [(4,)]
    assert people.query("SELECT name FROM people WHERE id = 10") == [(hostile,)]


def test_an_sql_error_is_a_validation_fault_with_the_database_message(people, secret):
    fault = fault_of({"connection": secret, "sql": "SELECT nope FROM people"})
    assert fault.fault_class == FaultClass.VALIDATION
    assert "nope" in fault.message
    assert people.url not in fault.message


def test_an_unreachable_database_is_transient_and_hides_the_password(people):
    # given a secret naming a database that does not answer
    if people.vendor == "postgresql":
        url = "postgresql://someone:hunter2-secret@127.0.0.1:1/nothing"
    else:
        url = "sqlite:////nonexistent-dir/hunter2-secret.sqlite3"
    workflow_services.secret_create(name="down_db", value=url, actor=None)
    # when a node queries it
    fault = fault_of({"connection": "down_db", "sql": "SELECT 1"})
    # then the fault is retryable, names the connection, and shows no credential
    assert fault.fault_class == FaultClass.TRANSIENT
    assert "data.connection" in fault.message and "down_db" in fault.message
    assert "hunter2" not in fault.message


def test_a_missing_or_unsupported_secret_is_a_validation_fault(db):
    missing = fault_of({"connection": "absent", "sql": "SELECT 1"})
    assert "no secret named 'absent'" in missing.message
    workflow_services.secret_create(name="mysql_db", value="mysql://u:p@h/d", actor=None)
    fault = fault_of({"connection": "mysql_db", "sql": "SELECT 1"})
    assert fault.fault_class == FaultClass.VALIDATION
    assert "postgresql:// or sqlite:///" in fault.message


def test_the_connection_is_required_and_sql_may_not_be_templated():
    from workflows.definitions import node_validate

    # a node without a connection is refused (the platform's database is not a default)
    missing = node_validate({"id": "q", "type": "DatabaseQuery", "data": {"sql": "SELECT 1"}})
    assert not missing.ok
    assert "connection" in " ".join(problem.message for problem in missing.errors)
    # and values must be parameters, not templates pasted into the SQL
    templated = node_validate({"id": "q", "type": "DatabaseQuery",
                               "data": {"connection": "db", "sql": "SELECT {{ input.x }}"}})
    assert [problem.field for problem in templated.errors] == ["data.sql"]


@pytest.mark.services
@pytest.mark.usefixtures("worker")
def test_a_workflow_writes_then_reads_on_the_worker(people, secret):
    # given a workflow that inserts a row from its input, then reads the table
    definition = {
        "name": "database", "namespace": "nodes",
        "nodes": [
            {"id": "insert", "type": "DatabaseQuery",
             "data": {"connection": secret, "mode": "write",
                      "sql": people.sql("INSERT INTO people (id, name) VALUES (?, ?)"),
                      "params": "{{ [input.id, input.name] }}"}},
            {"id": "select", "type": "DatabaseQuery",
             "data": {"connection": secret, "sql": "SELECT id, name FROM people ORDER BY id",
                      "max_rows": 10}},
            {"id": "refused", "type": "DatabaseQuery",
             "data": {"connection": secret, "sql": "DROP TABLE people"}},
        ],
        "edges": [{"source": "insert", "target": "select"},
                  {"source": "select", "target": "refused"}],
    }
    # when it runs on the worker
    execution = run(definition, {"id": 7, "name": "margaret"})
    # then the insert committed and the read saw it
    select = execution.nodes.get(node_id="select")
    assert select.output["rows"][-1] == {"id": 7, "name": "margaret"}
    assert select.output["rowcount"] == 4
    assert people.query("SELECT name FROM people WHERE id = 7") == [("margaret",)]
    # and the read-mode DROP failed the execution once, without retries, table intact
    refused = execution.nodes.get(node_id="refused")
    assert execution.status == "failed"
    assert (refused.status, refused.attempt, refused.error["fault"]) == ("failed", 1, "validation")
    assert people.query("SELECT count(*) FROM people") == [(4,)]


def test_values_json_cannot_hold_become_text_and_the_run_completes(people, secret):
    # given a query whose columns are numbers JSON has no form for
    sql = ("SELECT 'NaN'::float8 AS a, 'Infinity'::numeric AS b, '-Infinity'::float8 AS c, "
           "1.5::float8 AS d" if people.vendor == "postgresql"
           else "SELECT 9e999 AS b, -9e999 AS c, 1.5 AS d")
    definition = {"name": "nonfinite", "namespace": "nodes", "nodes": [
        {"id": "select", "type": "DatabaseQuery", "data": {"connection": secret, "sql": sql}}]}

    # when it runs on the worker
    execution = run(definition)

    # then the node's output, stored as JSON, holds them as text, and the run completes
    assert execution.status == "completed", execution.error
    row = execution.nodes.get(node_id="select").output["rows"][0]
    assert row == ({"a": "NaN", "b": "Infinity", "c": "-Infinity", "d": 1.5}
                   if people.vendor == "postgresql"
                   else {"b": "Infinity", "c": "-Infinity", "d": 1.5})


@pytest.fixture
def sqlite_db(db, tmp_path) -> str:
    """A SQLite file with the `people` table and a secret naming it, whatever the run's
    own database is."""
    path = tmp_path / "people.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE people (id integer PRIMARY KEY, name text)")
        connection.execute("INSERT INTO people VALUES (1, 'ada'), (2, 'grace')")
    workflow_services.secret_create(name="local_db", value=f"sqlite:///{path}", actor=None)
    return "local_db"


@pytest.mark.parametrize("mode", ["read", "write"])
@pytest.mark.parametrize("statement", [
    "VACUUM INTO '{elsewhere}'",
    "ATTACH DATABASE '{elsewhere}' AS other",
    "VACUUM",
])
def test_sqlite_statements_that_write_other_files_are_refused(sqlite_db, tmp_path, mode,
                                                              statement):
    # given a file the node must not create, outside the database it was given
    elsewhere = tmp_path / "elsewhere" / "copy.sqlite3"
    elsewhere.parent.mkdir()
    # when a node copies or attaches the database there
    fault = fault_of({"connection": sqlite_db, "mode": mode,
                      "sql": statement.format(elsewhere=elsewhere)})
    # then the statement is refused, not retried, and no file was written
    assert fault.fault_class == FaultClass.VALIDATION
    assert "data.sql" in fault.message and "authoriz" in fault.message
    assert list(elsewhere.parent.iterdir()) == []


@pytest.mark.parametrize("mode", ["read", "write"])
@pytest.mark.parametrize("statement", [
    "PRAGMA user_version = 7",
    "PRAGMA writable_schema = ON",
    "PRAGMA journal_mode = WAL",
    "SELECT load_extension('/tmp/nothing')",
])
def test_sqlite_pragmas_that_change_the_database_and_extensions_are_refused(
        sqlite_db, tmp_path, mode, statement):
    fault = fault_of({"connection": sqlite_db, "mode": mode, "sql": statement})
    assert fault.fault_class == FaultClass.VALIDATION
    assert "authoriz" in fault.message
    with sqlite3.connect(tmp_path / "people.sqlite3") as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (0,)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)


def test_sqlite_reads_and_introspection_still_run(sqlite_db):
    rows = execute({"connection": sqlite_db, "sql": "SELECT name FROM people ORDER BY id"})
    columns = execute({"connection": sqlite_db, "sql": "PRAGMA table_info(people)"})
    version = execute({"connection": sqlite_db, "sql": "PRAGMA user_version"})
    assert rows["rows"] == [{"name": "ada"}, {"name": "grace"}]
    assert [column["name"] for column in columns["rows"]] == ["id", "name"]
    assert version["rows"] == [{"user_version": 0}]


@pytest.mark.parametrize("mode", ["read", "write"])
def test_postgresql_runs_one_statement_only(people, secret, mode):
    if people.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    # when a node's SQL ends the read-only transaction and deletes in a second statement
    fault = fault_of({"connection": secret, "mode": mode, "sql": "COMMIT; DELETE FROM people"})
    # then the database refused it as a whole: every row is still there
    assert fault.fault_class == FaultClass.VALIDATION
    assert "multiple commands" in fault.message
    assert people.query("SELECT count(*) FROM people") == [(3,)]


def test_the_platforms_own_database_is_refused(people):
    if people.vendor != "postgresql":
        pytest.skip("the SQLite platform database is covered below")
    # given a secret naming the platform's own database, under another spelling of its host
    own = urlsplit(workers.test_database_url())
    alias = own._replace(netloc=own.netloc.replace("127.0.0.1", "localhost"))
    workflow_services.secret_create(name="platform_db", value=urlunsplit(alias), actor=None)
    # when a node reads from it
    fault = fault_of({"connection": "platform_db", "sql": "SELECT count(*) FROM auth_user"})
    # then it is refused, naming the connection, and not retried
    assert fault.fault_class == FaultClass.VALIDATION
    assert "data.connection" in fault.message and "platform_db" in fault.message
    assert "platform's own database" in fault.message
