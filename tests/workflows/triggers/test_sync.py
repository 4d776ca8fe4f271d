"""Workflow and schedule files: sync_workflows, overlays, errors with lines, hot reload."""

from __future__ import annotations

import os
import textwrap
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from workflows.models import Schedule, Workflow
from workflows.triggers.sync import deep_merge, sync_status, workflows_sync

pytestmark = pytest.mark.django_db

ORDERS = """\
name: orders
namespace: shop
description: Take an order
settings:
  timeout: 600
nodes:
  - id: fetch
    type: HttpRequest
    data:
      url: "https://shop.example/orders/{{ input.order_id }}"
      method: GET
  - id: log
    type: Logger
    data: {message: "Order {{ input.order_id }}"}
edges:
  - {source: fetch, target: log}
"""

HELLO = """\
name: hello
nodes:
  - id: greet
    type: Transform
    data:
      template: {text: "Hello {{ input.name }}"}
"""


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    # a rewrite within the same clock tick must still look changed to the mtime check
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    return path


def sync(root: Path, environment: str = "dev", **options):
    return workflows_sync(directory=root, environment=environment, **options)


def version_of(namespace: str, name: str) -> int:
    return Workflow.objects.get(namespace=namespace, name=name).current_version.number


@pytest.fixture
def files(tmp_path: Path) -> Path:
    write(tmp_path, "workflows/orders.yml", ORDERS)
    write(tmp_path, "workflows/hello.yaml", HELLO)
    return tmp_path


def test_a_directory_creates_its_workflows(files):
    # when the directory is synced
    report = sync(files)
    # then each file made a workflow at version 1
    assert report.ok and report.summary["created"] == 2
    orders = Workflow.objects.get(namespace="shop", name="orders")
    assert orders.current_version.number == 1
    assert orders.current_version.definition["settings"]["timeout"] == 600
    assert Workflow.objects.get(namespace="default", name="hello").active


def test_an_unchanged_file_creates_no_version(files):
    sync(files)
    # when nothing changed, even rewritten with other key order and explicit defaults
    write(files, "workflows/hello.yaml", "nodes:\n  - {id: greet, type: Transform, data: "
          "{template: {text: 'Hello {{ input.name }}'}}}\nname: hello\nnamespace: default\n")
    report = sync(files)
    # then both are unchanged, still at version 1
    assert report.summary == {"created": 0, "updated": 0, "unchanged": 2, "error": 0}
    assert version_of("shop", "orders") == 1 and version_of("default", "hello") == 1


def test_a_changed_file_adds_a_version(files):
    sync(files)
    write(files, "workflows/orders.yml", ORDERS.replace("timeout: 600", "timeout: 900"))
    report = sync(files)
    assert report.summary["updated"] == 1
    workflow = Workflow.objects.get(namespace="shop", name="orders")
    assert workflow.current_version.number == 2
    assert workflow.current_version.definition["settings"]["timeout"] == 900
    assert "orders.yml" in workflow.current_version.change_note


def test_a_yaml_syntax_error_names_the_file_and_line_and_keeps_the_version(files):
    sync(files)
    # given a broken orders file (line 4 opens a mapping it never closes) and a changed hello
    broken = write(files, "workflows/orders.yml",
                   "name: orders\nnamespace: shop\nnodes:\n  - {id: fetch, type: Logger\n")
    write(files, "workflows/hello.yaml", HELLO.replace("Hello", "Hi"))
    # when synced
    report = sync(files)
    # then the error carries the file and line, orders keeps version 1, hello applied
    assert not report.ok
    [failed] = [result for result in report.results if result.state == "error"]
    [error] = failed.errors
    assert error.file == str(broken) and error.line in (4, 5) and error.code == "syntax_error"
    assert version_of("shop", "orders") == 1
    assert version_of("default", "hello") == 2


def test_a_validation_problem_points_at_the_line_of_its_node(files):
    sync(files)
    # given the log node's message replaced by a number (line 14 of the file)
    text = ORDERS.replace('data: {message: "Order {{ input.order_id }}"}', "data: {message: 7}")
    write(files, "workflows/orders.yml", text)
    report = sync(files)
    [failed] = [result for result in report.results if result.state == "error"]
    [error] = failed.errors
    assert error.field == "nodes[1].data.message" and error.line == 14
    assert "message" in error.message
    assert version_of("shop", "orders") == 1


def test_an_unknown_node_type_points_at_its_type_line(files):
    text = ORDERS.replace("type: Logger", "type: Loggr")
    path = write(files, "workflows/orders.yml", text)
    report = sync(files)
    [failed] = [result for result in report.results if result.state == "error"]
    assert failed.errors[0].file == str(path) and failed.errors[0].line == 13
    assert not Workflow.objects.filter(name="orders").exists()
    assert Workflow.objects.filter(name="hello").exists()


PROD = """\
settings:
  timeout: 1200
  enabled: false
nodes:
  - id: fetch
    data:
      url: "https://prod.shop.example/orders/{{ input.order_id }}"
"""


def test_a_prod_overlay_overrides_a_node_and_a_setting(files):
    write(files, "workflows/orders.prod.yml", PROD)
    # when synced for prod
    report = sync(files, environment="prod")
    assert report.ok and report.summary["created"] == 2  # the overlay is no workflow itself
    workflow = Workflow.objects.get(namespace="shop", name="orders")
    definition = workflow.current_version.definition
    fetch = definition["nodes"][0]
    # then the node's url is prod's, its other data stays, and the settings merged
    assert fetch["data"] == {"url": "https://prod.shop.example/orders/{{ input.order_id }}",
                             "method": "GET"}
    assert definition["settings"]["timeout"] == 1200
    assert [node["id"] for node in definition["nodes"]] == ["fetch", "log"]
    assert workflow.active is False  # settings.enabled


def test_other_environments_ignore_the_overlay(files):
    write(files, "workflows/orders.prod.yml", PROD)
    sync(files, environment="staging")
    definition = Workflow.objects.get(name="orders").current_version.definition
    assert definition["settings"]["timeout"] == 600
    assert definition["nodes"][0]["data"]["url"].startswith("https://shop.example")


def test_an_invalid_overlay_value_is_reported_in_the_overlay(files):
    overlay = write(files, "workflows/orders.prod.yml", "settings:\n  timeout: 999999\n")
    report = sync(files, environment="prod")
    [failed] = [result for result in report.results if result.state == "error"]
    assert failed.errors[0].file == str(overlay) and failed.errors[0].line == 2


def test_an_overlay_without_its_base_is_an_error(files):
    orphan = write(files, "workflows/billing.prod.yml", "settings: {timeout: 5}\n")
    report = sync(files, environment="dev")
    [failed] = [result for result in report.results if result.state == "error"]
    assert failed.file == str(orphan) and failed.errors[0].code == "overlay_without_base"
    assert report.summary["created"] == 2


def test_deep_merge_merges_nodes_by_id_and_replaces_other_lists():
    base = {"nodes": [{"id": "a", "data": {"x": 1, "y": 2}}], "edges": [1, 2], "k": {"a": 1}}
    overlay = {"nodes": [{"id": "a", "data": {"y": 3}}, {"id": "b"}], "edges": [3],
               "k": {"a": None, "b": 2}}
    assert deep_merge(base, overlay) == {
        "nodes": [{"id": "a", "data": {"x": 1, "y": 3}}, {"id": "b"}], "edges": [3],
        "k": {"b": 2},
    }


SCHEDULES = """\
- workflow: shop/orders
  name: nightly
  cron: "0 2 * * *"
  timezone: Europe/Berlin
  input: {order_id: 1}
  overlap: queue
  catch_up: none
  retry: {attempts: 2, delay: 30}
  timeout: 120
- workflow: hello
  cron: "@hourly"
  enabled: false
"""


def test_schedules_come_from_files(files):
    path = write(files, "schedules/orders.yml", SCHEDULES)
    report = sync(files)
    assert report.ok, [r.as_dict() for r in report.results if r.errors]
    nightly = Schedule.objects.get(workflow__name="orders", name="nightly")
    assert (nightly.cron, nightly.timezone, nightly.input) == ("0 2 * * *", "Europe/Berlin",
                                                               {"order_id": 1})
    assert (nightly.overlap, nightly.catch_up, nightly.retry_attempts, nightly.retry_delay,
            nightly.timeout) == ("queue", "none", 2, 30, 120)
    assert nightly.source == str(path)
    hourly = Schedule.objects.get(workflow__name="hello", name="default")
    assert hourly.enabled is False
    # a second run changes nothing; a changed cron updates the same schedule
    assert sync(files).summary["unchanged"] == 4
    write(files, "schedules/orders.yml", SCHEDULES.replace("0 2 * * *", "30 3 * * *"))
    report = sync(files)
    assert report.summary["updated"] == 1
    nightly.refresh_from_db()
    assert nightly.cron == "30 3 * * *"
    assert Schedule.objects.count() == 2


def test_a_schedule_with_a_bad_cron_is_reported_with_its_line(files):
    path = write(files, "schedules/orders.yml", SCHEDULES.replace("@hourly", "61 * * * *"))
    report = sync(files)
    [failed] = [result for result in report.results if result.state == "error"]
    assert failed.errors[0].file == str(path) and failed.errors[0].line == 11
    assert failed.errors[0].field == "cron"
    assert Schedule.objects.filter(name="nightly").exists()  # the other schedule applied


def test_a_schedule_of_an_unknown_workflow_is_an_error(files):
    write(files, "schedules/x.yml", "workflow: nope\ncron: '@daily'\n")
    report = sync(files)
    [failed] = [result for result in report.results if result.state == "error"]
    assert failed.errors[0].field == "workflow" and failed.errors[0].line == 1


def test_the_command_prints_a_summary_and_fails_on_a_bad_file(files):
    out = StringIO()
    call_command("sync_workflows", str(files), stdout=out, stderr=StringIO())
    assert "2 created, 0 updated, 0 unchanged, 0 error" in out.getvalue()
    write(files, "workflows/bad.yml", "name: [\n")
    err = StringIO()
    with pytest.raises(CommandError, match="1 file"):
        call_command("sync_workflows", str(files), stdout=StringIO(), stderr=err)
    assert "bad.yml:2" in err.getvalue() or "bad.yml:1" in err.getvalue()


def test_a_dry_run_writes_nothing(files):
    out = StringIO()
    call_command("sync_workflows", str(files), "--dry-run", stdout=out)
    assert "Dry run: 2 created" in out.getvalue()
    assert not Workflow.objects.exists()


def test_the_environment_option_selects_the_overlay(files):
    write(files, "workflows/orders.prod.yml", PROD)
    call_command("sync_workflows", str(files), "--environment", "prod", stdout=StringIO())
    assert Workflow.objects.get(name="orders").current_version.definition[
        "settings"]["timeout"] == 1200


def test_the_sync_status_needs_workflow_admin(files, client_for, viewer, wf_admin):
    write(files, "workflows/bad.yml", "name: [\n")
    sync(files)
    assert client_for(viewer).get("/api/sync/status").status_code == 403
    body = client_for(wf_admin).get("/api/sync/status").json()
    assert body["ok"] is False and body["summary"]["error"] == 1
    [failed] = [result for result in body["results"] if result["state"] == "error"]
    assert failed["errors"][0]["line"] and failed["errors"][0]["file"].endswith("bad.yml")


def test_skipping_unchanged_files_still_sees_a_changed_database(files):
    sync(files, skip_unchanged_files=True)
    assert sync(files, skip_unchanged_files=True).summary["unchanged"] == 2
    # an edit in the database (e.g. through the API) is put back from the file
    Workflow.objects.filter(name="hello").delete()
    report = sync(files, skip_unchanged_files=True)
    assert report.summary["created"] == 1 and Workflow.objects.filter(name="hello").exists()


def poll(condition, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_the_beat_task_hot_reloads_files_on_a_worker(files):
    from workflows.tasks import workflows_sync as sync_task

    # when beat's task runs on a worker
    sync_task.delay(directory=str(files), environment="dev")
    # then the workflows appear
    poll(lambda: Workflow.objects.filter(name__in=["orders", "hello"]).count() == 2)
    poll(lambda: (sync_status() or {}).get("summary", {}).get("created") == 2)
    # and a changed file becomes a new version on the next run, the other stays
    write(files, "workflows/orders.yml", ORDERS.replace("timeout: 600", "timeout: 700"))
    sync_task.delay(directory=str(files), environment="dev")
    poll(lambda: version_of("shop", "orders") == 2)
    poll(lambda: (sync_status() or {}).get("summary", {}).get("updated") == 1)
    assert version_of("default", "hello") == 1
    # a broken file is reported in the status with its line; the version stays
    write(files, "workflows/orders.yml", "name: orders\nnodes: [\n")
    sync_task.delay(directory=str(files), environment="dev")
    poll(lambda: (sync_status() or {}).get("summary", {}).get("error") == 1)
    [failed] = [r for r in sync_status()["results"] if r["state"] == "error"]
    assert failed["errors"][0]["line"] and failed["file"].endswith("orders.yml")
    assert version_of("shop", "orders") == 2


def test_workflow_settings_from_the_file_are_kept(files):
    settings_block = (
        "  timeout: 600\n  max_retries: 5\n  priority: high\n  concurrency: 1\n"
        "  dependencies: [{workflow: default/hello}]\n  properties: {team: shop}\n"
        "  allowed_roles: [sales]\n  enabled: true\n"
    )
    text = ORDERS.replace("  timeout: 600\n", settings_block)
    write(files, "workflows/orders.yml", text)
    report = sync(files)
    assert report.ok, [r.as_dict() for r in report.results if r.errors]
    workflow = Workflow.objects.get(name="orders")
    settings = workflow.current_version.definition["settings"]
    assert (settings["max_retries"], settings["priority"], settings["concurrency"]) == (
        5, "high", 1)
    assert settings["properties"] == {"team": "shop"}
    assert settings["allowed_roles"] == ["sales"]
    assert list(workflow.dependencies.values_list("upstream_namespace", "upstream_name")) == [
        ("default", "hello")]
    # disabling in the file deactivates the workflow without a new version
    write(files, "workflows/orders.yml", text.replace("enabled: true", "enabled: false"))
    assert sync(files).summary["updated"] == 1
    workflow.refresh_from_db()
    assert workflow.active is False


def test_errors_are_logged_with_file_and_line(files, caplog):
    path = write(files, "workflows/bad.yml", "name: bad\nnodes:\n  - {id: a, type: Nope}\n")
    with caplog.at_level("ERROR", logger="workflows.sync"):
        sync(files)
    [record] = [r for r in caplog.records if r.name == "workflows.sync"]
    assert record.file == str(path) and record.line == 3 and record.code == "unknown_node_type"


def test_watch_polls_the_directory(files):
    out = StringIO()
    call_command("sync_workflows", str(files), "--watch", "--iterations", "2",
                 "--interval", "0.01", stdout=out)
    assert "Watching" in out.getvalue() and "2 created" in out.getvalue()
    assert Workflow.objects.count() == 2


def test_a_missing_directory_is_reported():
    report = workflows_sync(directory="/nonexistent/weft", environment="dev")
    assert not report.ok and report.results[0].errors[0].code == "directory_not_found"


def test_setting_the_sync_dir_adds_the_beat_entry(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "WORKFLOW_SYNC_DIR": str(tmp_path), "WORKFLOW_SYNC_INTERVAL": "3",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    code = ("from django.conf import settings; "
            "entry = settings.CELERY_BEAT_SCHEDULE['workflow-sync']; "
            "print(entry['task'], int(entry['schedule'].total_seconds()))")
    output = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True, cwd=Path(__file__).resolve().parents[3])
    assert output.stdout.split() == ["workflows.sync", "3"]
