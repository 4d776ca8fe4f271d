"""The Grafana dashboards (deploy/grafana/) and what they and the alert rules query: every
dashboard is well formed, every expression is PromQL, and every metric it names is one the
platform really serves on `/metrics` once a workflow has run on a real worker, or one of the
other scrape jobs' (Flower, RabbitMQ, Prometheus's own `up`)."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
EXPECTED_DASHBOARDS = {"overview", "engine", "queues", "api"}
DATASOURCE_UID = "weft-prometheus"
# Grafana 11's dashboard schema.
SCHEMA_VERSION = 41

# Metrics of the other scrape jobs of deploy/prometheus.yml, not of the platform's /metrics.
OTHER_EXPORTERS = (
    re.compile(r"flower_\w+"),      # job flower: Flower's view of the Celery event stream
    re.compile(r"rabbitmq_\w+"),    # job rabbitmq: RabbitMQ's Prometheus plugin
    re.compile(r"up"),              # Prometheus's own, per scrape target
)

# --- PromQL: the metric names an expression selects ------------------------------------------

_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_LABEL_MATCHERS = re.compile(r"\{[^{}]*\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_MODIFIER = re.compile(r"\b(?:offset\s+-?|@\s*)[\w.$]+")
_NUMBER = re.compile(r"(?<![\w:])(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)")
_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")
_IDENTIFIER = re.compile(r"(?<![\w:])([a-zA-Z_:][\w:]*)(\s*\()?")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
             "group_left", "group_right", "inf", "nan", "start", "end"}
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*\w+\s*\)\s*$", re.DOTALL)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (Grafana variables allowed) selects."""
    text = _STRING.sub(" ", expr)
    text = _LABEL_MATCHERS.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _MODIFIER.sub(" ", text)
    text = _VARIABLE.sub(" ", text)
    text = _NUMBER.sub(" ", text)
    return {name for name, call in _IDENTIFIER.findall(text)
            if not call and name.lower() not in _KEYWORDS}


def variable_query_names(query: str) -> set[str]:
    """The metric names of a Grafana variable's query: `label_values(<selector>, label)` or
    a PromQL expression."""
    match = _LABEL_VALUES.match(query)
    return metric_names(match.group(1) if match else query)


@pytest.mark.parametrize(("expr", "names"), [
    ("up", {"up"}),
    ('up{job="weft-web"} == 0', {"up"}),
    ('sum by (workflow, status) (rate(weft_executions_total{status=~"failed|x"}[5m])) * 60',
     {"weft_executions_total"}),
    ("histogram_quantile(0.95, sum by (le) (rate(weft_node_duration_seconds_bucket"
     "[$__rate_interval])))", {"weft_node_duration_seconds_bucket"}),
    ('a_total / on (job) group_left (instance) b_info unless ignoring (x) c offset 5m',
     {"a_total", "b_info", "c"}),
    ("max_over_time(weft_timer_lag_seconds[1h:1m]) > 1e3 and bool 0x1F < 2.5",
     {"weft_timer_lag_seconds"}),
    ('sum without (state) (weft_database_connections{state!="idle", workflow=~"$workflow"})',
     {"weft_database_connections"}),
    ('label_replace(weft_queue_messages, "q", "$1", "queue", "(.*)")', {"weft_queue_messages"}),
    ('{__name__="weft_beat_leader"} or absent(weft_beat_leader)', {"weft_beat_leader"}),
    ("topk(10, sum by (view) (increase(x:recorded:rate5m[${__range}])) > 0)",
     {"x:recorded:rate5m"}),
])
def test_metric_names_are_read_from_promql(expr, names):
    # given an expression; when its metric names are read; then they are exactly these
    assert metric_names(expr) == names


def test_metric_names_of_a_variable_query_skip_the_label():
    assert variable_query_names("label_values(weft_executions_total{x=\"y\"}, workflow)") == {
        "weft_executions_total"}


# --- the dashboards ---------------------------------------------------------------------------


def _dashboards() -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def _query_panels(dashboard: dict) -> list[dict]:
    """Every panel that queries (rows only group), nested rows' panels included."""
    panels = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            panels.extend(panel.get("panels", []))
        else:
            panels.append(panel)
    return panels


def _expressions() -> dict[str, str]:
    """Every PromQL expression of the dashboards, by where it is."""
    found = {}
    for name, dashboard in _dashboards().items():
        for panel in _query_panels(dashboard):
            for target in panel["targets"]:
                found[f"{name}: {panel['title']} ({target['refId']})"] = target["expr"]
    return found


def _alert_expressions() -> dict[str, str]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return {f"alert {rule['alert']}": rule["expr"] for group in groups for rule in group["rules"]}


def _variable_names() -> dict[str, set[str]]:
    found = {}
    for name, dashboard in _dashboards().items():
        for variable in dashboard["templating"]["list"]:
            if variable["type"] == "query":
                query = variable["query"]
                query = query["query"] if isinstance(query, dict) else query
                found[f"{name}: variable {variable['name']}"] = variable_query_names(query)
    return found


def test_the_four_dashboards_load_with_a_stable_uid_and_a_title():
    # given the dashboard files
    dashboards = _dashboards()

    # when their identity is read
    uids = [dashboard["uid"] for dashboard in dashboards.values()]

    # then overview, engine, queues and api are there, each with its own uid and a title, in
    # Grafana 11's schema, and none carries a database id of the Grafana it came from
    assert dashboards.keys() == EXPECTED_DASHBOARDS
    assert uids == [f"weft-{name}" for name in dashboards]
    assert all(dashboard["title"].startswith("Weft / ") for dashboard in dashboards.values())
    assert {dashboard["schemaVersion"] for dashboard in dashboards.values()} == {SCHEMA_VERSION}
    assert {dashboard.get("id") for dashboard in dashboards.values()} == {None}


@pytest.mark.parametrize("name", sorted(EXPECTED_DASHBOARDS))
def test_every_panel_queries_prometheus_through_the_datasource_variable(name):
    # given a dashboard
    dashboard = _dashboards()[name]
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}

    # when its panels and their targets are read
    panels = _query_panels(dashboard)
    datasources = [p["datasource"] for p in panels] + [
        t["datasource"] for p in panels for t in p["targets"]]

    # then each panel has a title and at least one PromQL target, all on ${datasource}, a
    # Prometheus data source variable that defaults to the provisioned one
    assert panels
    assert all(panel["title"] and panel["targets"] for panel in panels)
    assert all(target["expr"].strip() for panel in panels for target in panel["targets"])
    assert {json.dumps(d, sort_keys=True) for d in datasources} == {
        json.dumps({"type": "prometheus", "uid": "${datasource}"}, sort_keys=True)}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["datasource"]["current"]["value"] == DATASOURCE_UID


@pytest.mark.parametrize("name", sorted(EXPECTED_DASHBOARDS))
def test_panels_have_unique_ids_and_fit_the_grid_without_overlapping(name):
    # given a dashboard's panels, rows included
    panels = _dashboards()[name]["panels"]

    # when their ids and grid positions are read
    ids = [panel["id"] for panel in panels]
    cells = [(x, y) for panel in panels for g in [panel["gridPos"]]
             for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])]

    # then no two panels share an id or a cell, and none is wider than the 24 columns
    assert len(ids) == len(set(ids))
    assert len(cells) == len(set(cells))
    assert all(0 <= x < 24 for x, _ in cells)


def test_every_variable_a_panel_uses_is_defined():
    # given every expression of each dashboard, and the variables Grafana itself provides
    builtin = {"__rate_interval", "__interval", "__range", "__range_s", "__interval_ms"}
    undefined = {}
    for name, dashboard in _dashboards().items():
        defined = {variable["name"] for variable in dashboard["templating"]["list"]} | builtin
        for panel in _query_panels(dashboard):
            for target in panel["targets"]:
                used = set(re.findall(r"\$\{?(\w+)", target["expr"]))
                # when the ones the dashboard does not define are collected
                if used - defined:
                    undefined[f"{name}: {panel['title']}"] = used - defined

    # then there are none
    assert undefined == {}


def test_every_panel_expression_is_valid_promql(promtool, tmp_path):
    # given every panel expression, Grafana's variables replaced by what Grafana would send
    values = {"$__rate_interval": "1m", "${__rate_interval}": "1m", "$__interval": "1m",
              "$__range": "1h", "${__range}": "1h", "$workflow": ".*"}
    rules = []
    for index, (where, expr) in enumerate(_expressions().items()):
        for variable, value in sorted(values.items(), key=lambda item: -len(item[0])):
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:expression_{index}", "expr": expr,
                      "labels": {"where": where}})
    rule_file = tmp_path / "dashboards.rules.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))

    # when promtool parses them as recording rules
    result = subprocess.run([promtool, "check", "rules", str(rule_file)], capture_output=True,
                            text=True, check=False, timeout=120)

    # then each is valid PromQL
    assert result.returncode == 0, result.stdout + result.stderr


# --- provisioning -----------------------------------------------------------------------------


def test_grafana_provisioning_points_at_prometheus_and_loads_the_dashboards_folder():
    # given the provisioning files and the compose file's grafana service
    datasources = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "weft.yml").read_text())
    grafana = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["grafana"]
    mounts = {mount.split(":")[1]: mount.split(":")[0] for mount in grafana["volumes"]}

    # when the data source and the dashboard provider are read
    (datasource,) = datasources["datasources"]
    (provider,) = providers["providers"]

    # then the data source is the stack's Prometheus under the uid the dashboards default to,
    # and the provider reads the directory where compose mounts deploy/grafana/dashboards
    assert (datasource["type"], datasource["url"], datasource["uid"]) == (
        "prometheus", "http://prometheus:9090", DATASOURCE_UID)
    assert mounts[provider["options"]["path"]] == "./deploy/grafana/dashboards"
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    assert all(mount.endswith(":ro") for mount in grafana["volumes"] if mount.startswith("."))


def test_grafana_has_no_default_password_and_no_anonymous_access():
    # given the compose file's grafana service
    grafana = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["grafana"]
    environment = grafana["environment"]

    # when its environment and start command are read
    entrypoint = " ".join(grafana["entrypoint"])

    # then the password comes from .env, an empty one stops the container before Grafana
    # starts (Grafana would fall back to "admin"), and nobody gets in without signing in
    assert environment["GF_SECURITY_ADMIN_PASSWORD"] == "${GF_SECURITY_ADMIN_PASSWORD:-}"
    assert 'test -n "$$GF_SECURITY_ADMIN_PASSWORD"' in entrypoint
    assert entrypoint.index("exit 1") < entrypoint.index("exec /run.sh")
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert environment["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert grafana["profiles"] == ["monitoring"]
    assert grafana["image"].startswith("grafana/grafana-oss:") and ":latest" not in grafana[
        "image"]


# --- every metric exists in the platform's /metrics -------------------------------------------


def _allowed_elsewhere(name: str) -> bool:
    return any(pattern.fullmatch(name) for pattern in OTHER_EXPORTERS)


def _used_names() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for where, expr in {**_expressions(), **_alert_expressions()}.items():
        for name in metric_names(expr):
            used.setdefault(name, set()).add(where)
    for where, names in _variable_names().items():
        for name in names:
            used.setdefault(name, set()).add(where)
    return used


def _served_names(exposition: str) -> set[str]:
    """Every sample name of an exposition, and the names each family would have as
    samples (a family the platform declares may have none yet)."""
    from prometheus_client.parser import text_string_to_metric_families

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
                "summary": ("_sum", "_count", ""), "gauge": ("",), "untyped": ("",)}
    names = set()
    for family in text_string_to_metric_families(exposition):
        names |= {sample.name for sample in family.samples}
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    return names


def test_the_expressions_use_only_platform_metrics_or_allowed_exporters():
    # given every name of the dashboards and alerts
    names = _used_names()

    # when the ones that name neither the platform (weft_, django_) nor an allowed exporter
    # are collected
    foreign = {name for name in names
               if not name.startswith(("weft_", "django_")) and not _allowed_elsewhere(name)}

    # then there are none
    assert names
    assert foreign == set()


@pytest.fixture
def platform_after_a_run(tmp_path, transactional_db, operator, test_node_types) -> Iterator[str]:
    """The text of the platform's /metrics after workflows ran on a real worker: one that
    completed, one that retried a node and completed, one that failed; a login refused and a
    circuit breaker open. The worker and the web server share a metrics directory (multiprocess
    mode) and a queue of their own, so the session's other worker takes none of the nodes."""
    from django.conf import settings

    from config.celery import app
    from tests.conftest import PASSWORD, SIMPLE_DEFINITION
    from tests.engine import wait_for, workflow_from
    from tests.nodetypes import TEST_NODE_TYPES
    from tests.servers import METRICS_HEADERS, web_server
    from tests.workers import celery_worker
    from workflows.nodes.breaker import PeerBreaker, _client

    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-metrics-{uuid.uuid4().hex[:8]}"
    environment = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
                   "CELERY_QUEUE": queue, "WORKFLOW_NODE_TYPES": TEST_NODE_TYPES}
    (tmp_path / "metrics").mkdir()
    retry = {"max_attempts": 2, "initial_delay": 0.05, "jitter": False}
    workflows = [
        workflow_from(SIMPLE_DEFINITION),
        workflow_from({"name": "retried", "namespace": "metrics", "edges": [], "nodes": [
            {"id": "flaky", "type": "Flaky", "data": {"fail_times": 1}, "retry": retry}]}),
        workflow_from({"name": "failing", "namespace": "metrics", "edges": [], "nodes": [
            {"id": "flaky", "type": "Flaky", "data": {"fail_times": 5}, "retry": retry}]}),
    ]
    breaker = PeerBreaker("dashboards-peer:9", client=_client(), fail_max=1, reset_timeout=30)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in environment.items():
                patch.setenv(name, value)
            with celery_worker(tmp_path) as worker, web_server(tmp_path) as web:
                refused = httpx.post(web.url("/api/auth/login"), timeout=10,
                                     json={"username": operator.username, "password": "wrong"})
                assert refused.status_code in (400, 401), refused.text
                token = httpx.post(web.url("/api/auth/login"), timeout=10, json={
                    "username": operator.username, "password": PASSWORD}).json()["token"]
                started = [
                    httpx.post(web.url(f"/api/workflows/{workflow.pk}/execute"), timeout=10,
                               headers={"Authorization": f"Bearer {token}"},
                               json={"input": {"name": "Ada"}})
                    for workflow in workflows
                ]
                assert [r.status_code for r in started] == [202] * 3, [r.text for r in started]
                from executions.models import Execution

                statuses = [wait_for(Execution.objects.get(pk=r.json()["id"])).status
                            for r in started]
                assert statuses == ["completed", "completed", "failed"]
                worker.wait_idle()
                breaker.open()
                scraped = httpx.get(web.url("/metrics"), timeout=30,
                                    headers=METRICS_HEADERS)
                assert scraped.status_code == 200
                yield scraped.text
    finally:
        breaker.close()
        keys = list(_client().scan_iter(match="weft:breaker:dashboards-peer:9:*"))
        if keys:
            _client().delete(*keys)
        with app.connection_for_write() as connection:
            for name in (queue, f"{queue}.housekeeping", f"{queue}.triggers",
                         f"{queue}.triggers.dead"):
                connection.default_channel.queue_delete(name)


@pytest.mark.services
def test_every_metric_of_the_dashboards_and_alerts_is_served_by_the_platform(
        platform_after_a_run):
    # given the metrics the platform serves after real runs, and every name the dashboards
    # and the alert rules use
    served = _served_names(platform_after_a_run)
    used = _used_names()

    # when the platform's names that /metrics does not serve are collected
    missing = {name: sorted(where) for name, where in sorted(used.items())
               if not _allowed_elsewhere(name) and name not in served}

    # then there are none: no panel stays empty and no alert stays silent for a typo
    assert sorted(missing) == [], "\n".join(f"{name} ({', '.join(where)})"
                                            for name, where in missing.items())
