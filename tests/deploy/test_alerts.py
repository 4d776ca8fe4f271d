"""The Prometheus alert rules (deploy/prometheus/alerts.yml) checked and unit-tested with
promtool, Debian's `prometheus` package's tool (.ci/run installs it), and the Prometheus
configuration that loads them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus.yml"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
ALERT_TESTS = ROOT / "deploy" / "prometheus" / "alerts.test.yml"


def _run(promtool: str, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([promtool, *arguments], capture_output=True, text=True, check=False,
                          cwd=ROOT, timeout=120)


def _alerts() -> list[dict]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_accepts_the_alert_rules(promtool):
    # given the alert rules
    # when promtool checks them (PromQL, templates, durations, duplicate names)
    result = _run(promtool, "check", "rules", str(ALERTS))

    # then it finds nothing wrong
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_behaves_as_its_unit_tests_say(promtool):
    # given the alert rules and their unit tests
    # when promtool runs the tests on their synthetic series
    result = _run(promtool, "test", "rules", str(ALERT_TESTS))

    # then every alert fires where it should, and stays silent below its threshold and
    # before its `for:` has passed
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_configuration_loads_the_alert_rules(promtool, tmp_path):
    # given the compose stack's Prometheus configuration where Prometheus finds it, beside
    # the rule files, with the metrics token at the path of compose's secret (promtool
    # checks that the file exists: here it is one of the test's)
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    token = tmp_path / "metrics_token"
    token.write_text("metrics-token-of-the-check")
    for job in config["scrape_configs"]:
        if job.get("authorization", {}).get("credentials_file") == "/run/secrets/metrics_token":
            job["authorization"]["credentials_file"] = str(token)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "prometheus").symlink_to(ALERTS.parent)

    # when promtool checks it, with the rule files it names (relative to the file)
    result = _run(promtool, "check", "config", str(tmp_path / "prometheus.yml"))

    # then it is valid and the alert rules are among the files it loads
    assert result.returncode == 0, result.stdout + result.stderr
    assert "prometheus/alerts.yml" in result.stdout
    assert "SUCCESS" in result.stdout


def test_every_alert_is_unit_tested_firing_and_silent():
    # given the alerts and the unit tests
    tests = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]

    # when each alert's expected outcomes are collected
    firing = {case["alertname"] for case in cases if case.get("exp_alerts")}
    silent = {case["alertname"] for case in cases if not case.get("exp_alerts")}

    # then each is seen firing and seen silent, and no test names an alert that does not exist
    names = {rule["alert"] for rule in _alerts()}
    assert names - firing == set()
    assert names - silent == set()
    assert (firing | silent) - names == set()


def test_every_alert_has_a_severity_a_delay_and_words_for_the_operator():
    # given the alerts
    alerts = _alerts()

    # when their labels, `for:` and annotations are read
    incomplete = [
        rule["alert"] for rule in alerts
        if rule.get("labels", {}).get("severity") not in {"warning", "critical"}
        or not rule.get("for")
        or not {"summary", "description"} <= rule.get("annotations", {}).keys()
    ]

    # then every one has them, so a blip does not page and a page says what happened
    assert alerts
    assert incomplete == []


def test_every_alert_is_documented():
    # given the alerts and the monitoring documentation's "Alerts" section
    text = (ROOT / "docs" / "monitoring.md").read_text()
    section = text.partition("\n## Alerts\n")[2].partition("\n## ")[0]

    # when the alerts it does not name are collected
    undocumented = [rule["alert"] for rule in _alerts() if f"`{rule['alert']}`" not in section]

    # then there are none
    assert section
    assert undocumented == []
