"""DatabaseQuery: SQL on a named connection, with bound parameters only."""

from __future__ import annotations

import datetime
import decimal
import math
import os
import sqlite3
import uuid
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from django.db import connections

from workflows.nodes.base import NodeCategory, NodeType
from workflows.nodes.context import NodeContext
from workflows.nodes.faults import TransientFault, ValidationFault
from workflows.nodes.fragments import SECRET_NAME, templated
from workflows.templating import is_template

CONNECT_TIMEOUT = 10


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _json_value(value: Any) -> Any:
    """A column value as JSON: numbers and text as they are, the rest as text. NaN and
    infinities (a float or numeric column may hold them) are text too, spelled as
    PostgreSQL does: JSON has no form for them, and the output is stored as JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return _NON_FINITE[str(value)]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return "NaN" if value.is_nan() else str(value)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID | datetime.timedelta):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    return str(value)


# Pragmas a node may run, only to read: introspection taking a table or index name, and
# values read without an argument. Any other pragma (and any with a value) may change the
# database or the connection, e.g. writable_schema or journal_mode.
_SQLITE_INTROSPECTION_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
})
_SQLITE_READABLE_PRAGMAS = frozenset({
    "user_version", "application_id", "schema_version", "data_version", "page_count",
    "page_size", "freelist_count", "encoding", "journal_mode",
})
# What a read may do: read tables, call functions, run (recursive) selects.
_SQLITE_READ_ACTIONS = frozenset({
    sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_RECURSIVE,
})


def _sqlite_authorizer(write: bool) -> Any:
    """An authorizer that keeps a statement inside its one database file: no ATTACH or
    DETACH (VACUUM, VACUUM INTO included: they attach their target), no pragma that
    changes anything, no extension loading; and in read mode nothing but reading."""

    def authorize(action: int, arg1: str | None, arg2: str | None, database: str | None,
                  trigger: str | None) -> int:
        if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            allowed = name in _SQLITE_INTROSPECTION_PRAGMAS or (
                name in _SQLITE_READABLE_PRAGMAS and arg2 is None)
            return sqlite3.SQLITE_OK if allowed else sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() == "load_extension":
            return sqlite3.SQLITE_DENY
        if not write and action not in _SQLITE_READ_ACTIONS:
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    return authorize


def _own_sqlite_file(path: str) -> bool:
    """Whether `path` is the platform's own SQLite database file."""
    own = connections["default"].settings_dict
    if connections["default"].vendor != "sqlite":
        return False
    try:
        return os.path.samefile(path, own["NAME"])
    except OSError:
        return os.path.realpath(path) == os.path.realpath(str(own["NAME"]))


_POSTGRESQL_IDENTITY = (
    "SELECT pg_postmaster_start_time(), oid FROM pg_database WHERE datname = current_database()"
)


def _own_postgresql_identity() -> tuple | None:
    """The platform's database as the server knows it (server start, database oid), which
    no spelling of its host or port can disguise; None when it is not PostgreSQL."""
    if connections["default"].vendor != "postgresql":
        return None
    with connections["default"].cursor() as cursor:
        cursor.execute(_POSTGRESQL_IDENTITY)
        return tuple(cursor.fetchone())


class DatabaseQuery(NodeType):
    name = "DatabaseQuery"
    reads_outputs = False
    category = NodeCategory.INTEGRATION
    description = (
        "Run one SQL statement on a database named by a secret. Values are bound parameters "
        "only: templates in `sql` are refused, use `params`."
    )
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["connection", "sql"],
        "properties": {
            "connection": {
                **SECRET_NAME,
                "description": "Name of the secret holding the database URL: "
                "postgresql://user:password@host:port/name (or postgres://), or "
                "sqlite:///relative/path and sqlite:////absolute/path. The platform's own "
                "database is refused, however its URL is spelled.",
            },
            "sql": {
                "type": "string",
                "minLength": 1,
                "description": "One statement (a second one is refused), with the driver's "
                "placeholders: PostgreSQL %s (params a list) or %(name)s (params an object), "
                "a literal % written %% even without params; SQLite ? (a list) or :name (an "
                "object). SQLite refuses ATTACH, DETACH, VACUUM, load_extension and pragmas "
                "other than reading ones.",
            },
            "params": templated({
                "type": ["array", "object"],
                "description": "Bound parameters: a list for positional placeholders, an "
                "object for named ones.",
            }),
            "mode": {
                "enum": ["read", "write"],
                "default": "read",
                "description": "read runs in a read-only transaction (PostgreSQL READ ONLY, "
                "SQLite query_only and an authorizer that allows only reading) and refuses "
                "writes; write commits.",
            },
            "max_rows": {
                "type": "integer", "minimum": 1, "maximum": 100000, "default": 1000,
                "description": "Rows fetched at most; `truncated` says whether more were left.",
            },
        },
    }
    output_schema = {
        "type": "object",
        "required": ["rows", "rowcount", "truncated"],
        "properties": {
            "rows": {
                "type": "array",
                "items": {"type": "object"},
                "description": "Returned rows, each keyed by column name; dates as ISO 8601 "
                "text, decimals as numbers, NaN and infinities as text ('NaN', "
                "'Infinity'), bytes as hex.",
            },
            "rowcount": {
                "type": "integer",
                "description": "Rows affected by a write (the driver's count); for a "
                "statement that returns rows, the number of rows in `rows`.",
            },
            "truncated": {
                "type": "boolean",
                "description": "True when the statement returned more than max_rows rows.",
            },
        },
    }

    @classmethod
    def validate_data(cls, data: dict[str, Any]) -> list[tuple[str, str]]:
        if is_template(data["sql"]):
            return [("sql", "Templates are not allowed in SQL; pass values in 'params'.")]
        return []

    def execute(self, context: NodeContext) -> Any:
        data = context.data
        params = data.get("params")
        if params is not None and not isinstance(params, list | dict):
            raise ValidationFault(
                f"Node '{context.node_id}' data.params must be a list or an object, "
                f"not {type(params).__name__}.")
        url = context.secret(data["connection"], field="connection")
        scheme = urlsplit(url).scheme.lower()
        query = _Query(context, data["sql"], params, data.get("mode", "read") == "write",
                       data.get("max_rows", 1000))
        if scheme in ("postgres", "postgresql"):
            run = query.on_postgresql
        elif scheme == "sqlite":
            run = query.on_sqlite
        else:
            raise ValidationFault(
                f"Node '{context.node_id}' data.connection: the secret '{data['connection']}' "
                "does not hold a postgresql:// or sqlite:/// URL.")
        if not query.write:
            return run(url)
        # a committed write must not be applied again by a redelivered attempt
        request = {"connection": data["connection"], "sql": data["sql"]}
        return context.external_call(request, lambda key: run(url))


class _Query:
    """One statement on one connection, in one transaction that commits only in write mode."""

    def __init__(self, context: NodeContext, sql: str, params: list | dict | None,
                 write: bool, max_rows: int) -> None:
        self.context = context
        self.sql = sql
        self.params = params
        self.write = write
        self.max_rows = max_rows

    def _result(self, cursor: Any) -> dict[str, Any]:
        if cursor.description is None:
            return {"rows": [], "rowcount": max(cursor.rowcount, 0), "truncated": False}
        columns = [column[0] for column in cursor.description]
        fetched = cursor.fetchmany(self.max_rows + 1)
        rows = [dict(zip(columns, (_json_value(v) for v in row), strict=True))
                for row in fetched[:self.max_rows]]
        return {"rows": rows, "rowcount": len(rows), "truncated": len(fetched) > self.max_rows}

    def _refused(self, message: str) -> ValidationFault:
        return ValidationFault(
            f"Node '{self.context.node_id}' data.sql: the database refused the statement: "
            f"{message.strip()}")

    def _own_database(self) -> ValidationFault:
        return ValidationFault(
            f"Node '{self.context.node_id}' data.connection: the secret "
            f"'{self.context.data['connection']}' names the platform's own database, which "
            "workflows may not use.")

    def _unreachable(self, message: str, url: str) -> TransientFault:
        password = urlsplit(url).password
        for secret in (url, password and unquote(password), password):
            if secret:
                message = message.replace(secret, "***")
        return TransientFault(
            f"Node '{self.context.node_id}' data.connection: cannot reach the database "
            f"'{self.context.data['connection']}': {message.strip()}")

    def on_postgresql(self, url: str) -> dict[str, Any]:
        import psycopg

        try:
            connection = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT,
                                         application_name="weft-node")
        except psycopg.Error as exc:
            raise self._unreachable(str(exc), url) from None
        try:
            connection.read_only = not self.write
            with connection.cursor() as cursor:
                cursor.execute(_POSTGRESQL_IDENTITY)
                if tuple(cursor.fetchone()) == _own_postgresql_identity():
                    raise self._own_database()
                # Always through the extended protocol (bound, prepared): it takes exactly
                # one statement, so none can end the read-only transaction and go on.
                cursor.execute(self.sql, self.params if self.params is not None else (),
                               prepare=True)
                result = self._result(cursor)
            if self.write:
                connection.commit()
            return result
        except psycopg.OperationalError as exc:
            # the connection broke, or a lock, deadlock or serialisation conflict: retryable
            raise self._unreachable(str(exc), url) from None
        except psycopg.Error as exc:
            raise self._refused(str(exc)) from None
        finally:
            connection.close()

    def on_sqlite(self, url: str) -> dict[str, Any]:
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if not path:
            raise ValidationFault(
                f"Node '{self.context.node_id}' data.connection: the SQLite URL names no file.")
        if _own_sqlite_file(unquote(path)):
            raise self._own_database()
        mode = "rw" if self.write else "ro"
        try:
            connection = sqlite3.connect(f"file:{quote(unquote(path))}?mode={mode}", uri=True,
                                         timeout=CONNECT_TIMEOUT)
        except sqlite3.Error as exc:
            raise self._unreachable(str(exc), url) from None
        try:
            if not self.write:
                connection.execute("PRAGMA query_only = ON")
            connection.set_authorizer(_sqlite_authorizer(self.write))
            cursor = connection.execute(self.sql, self.params if self.params is not None else ())
            result = self._result(cursor)
            if self.write:
                connection.commit()
            return result
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "unable to open" in str(exc):
                raise self._unreachable(str(exc), url) from None
            raise self._refused(str(exc)) from None
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise self._refused(str(exc)) from None
        finally:
            connection.close()
