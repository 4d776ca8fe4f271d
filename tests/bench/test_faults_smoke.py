"""The fault-injection command (bench/faults.py) keeps its shape: arguments, workflows, the
idempotent peer's counts and the verdict. The faults themselves need private services and a
few minutes; they run with `python3 bench/faults.py --executions 50`."""

from __future__ import annotations

import json
import urllib.request

import pytest

from bench import faults


def _post(port: int, key: str | None) -> dict:
    headers = {"Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/effect", data=b"{}",
                                     headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def _figures(**overrides: object) -> dict:
    figures = {key: 0 for key, _ in faults.ROWS}
    figures.update(executions=10, started=10, completed=10, processes_exited=[],
                   log_events={}, events=[])
    figures.update(overrides)
    return figures


def test_all_cases_by_default_and_small_runs_are_smoke():
    args = faults.parse_args([])
    assert args.case_list == list(faults.CASES)
    assert (args.executions, args.workers, args.smoke, args.label) == (1000, 2, False, "")
    small = faults.parse_args(["--cases", "kill-beat,kill-worker", "--executions", "50"])
    assert small.case_list == ["kill-worker", "kill-beat"]
    assert (small.smoke, small.label) == (True, "smoke")


@pytest.mark.parametrize("argv", [["--cases", "unplug-cable"], ["--workers", "1"],
                                  ["--executions", "0"], ["--fault-at", "1.5"]])
def test_bad_arguments_are_refused(argv):
    with pytest.raises(SystemExit):
        faults.parse_args(argv)


def test_the_workflows_are_valid_definitions(db):
    from workflows.definitions.validation import definition_validate

    for definition in (faults.load_definition("load", 8080),
                       faults.timer_definition("timers", 8080)):
        result = definition_validate(definition)
        assert result.ok, result


def test_the_peer_counts_every_request_of_a_key_and_applies_it_once():
    # given the idempotent peer
    peer = faults.Peer()
    try:
        # when a key is posted twice, another once, and a request comes without a key
        answers = [_post(peer.port, "e1:call"), _post(peer.port, "e1:call"),
                   _post(peer.port, "e2:call"), _post(peer.port, None)]
    finally:
        peer.close()
    # then each request is counted by key, and each key's effect is applied once
    assert peer.counts() == {"e1:call": 2, "e2:call": 1}
    assert set(peer.effects) == {"e1:call", "e2:call"}
    assert peer.without_key == 1
    assert all(answer["applied"] for answer in answers)


def test_a_lost_execution_or_a_duplicate_completion_fails_the_case():
    assert faults.case_ok(_figures())
    assert faults.case_ok(_figures(keys_repeated=2, keys_repeated_in_crash_window=2))
    assert not faults.case_ok(_figures(lost=1))
    assert not faults.case_ok(_figures(duplicate_node_completions=1))
    assert not faults.case_ok(_figures(duplicate_terminal_entries=1))
    assert not faults.case_ok(_figures(processes_exited=["faults-2@host"]))
    assert not faults.case_ok(_figures(timers={"second_beat_sends": 3}))


def test_the_markdown_has_a_column_per_case_and_the_verdict():
    good, bad = _figures(ok=True), _figures(ok=False, lost=3)
    report = {"label": "smoke", "smoke": True, "started_at": "2026-12-03T10:00:00+00:00",
              "command": "python3 bench/faults.py --executions 10", "duration_s": 60,
              "settings": {"executions": 10, "workers": 2, "concurrency": 2},
              "services": "private", "ok": False, "git": {"commit": "abc1234", "dirty": True},
              "machine": {"cores": 2, "cpu": "cpu", "memory_gb": 1},
              "load_average": {"before": [1, 1, 1], "after": [2, 2, 2]},
              "cases": {"kill-worker": good, "stop-postgres": bad}}
    table = faults.markdown(report)
    assert "| figure | kill-worker | stop-postgres |" in table
    assert "| lost | 0 | 3 |" in table
    assert "| passed | yes | **no** |" in table
    assert "SOME CASE FAILED" in table
    assert "commit abc1234 (dirty)" in table
