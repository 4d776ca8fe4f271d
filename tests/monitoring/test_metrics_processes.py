"""Every process behind one `/metrics`: real worker pool processes write their counters to
the shared directory (PROMETHEUS_MULTIPROC_DIR), and the web server's `/metrics` serves them
summed, a dead process's counts included; a worker host without a web server serves its
own directory on WORKFLOW_WORKER_METRICS_PORT."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from config.celery import app
from executions import services
from monitoring.metrics.heartbeat import HEARTBEAT_TTL, workers_alive
from tests.engine import wait_for, workflow_from
from tests.servers import METRICS_HEADERS, free_port, web_server
from tests.workers import ROOT, celery_worker, unavailable
from workflows.caching import redis_client

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("test_node_types")]

# Two roots that sleep: the nodes of a few executions started at once spread over the pool.
PARALLEL = {"name": "spread", "namespace": "metrics", "nodes": [
    {"id": "left", "type": "Sleep", "data": {"seconds": 0.3}},
    {"id": "right", "type": "Sleep", "data": {"seconds": 0.3}},
], "edges": []}
LABEL = "metrics/spread"
RUNS = "weft_node_runs_total"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def node_runs(found: dict) -> float:
    return found.get((RUNS, (("node_type", "Sleep"), ("status", "completed"),
                             ("workflow", LABEL))), 0.0)


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    response = httpx.get(url, timeout=30, headers=METRICS_HEADERS)
    assert response.status_code == 200, response.text[:300]
    return samples(response.text)


def per_process(directory: Path) -> dict[str, float]:
    """The completed Sleep runs each process wrote, by the process's name (file name)."""
    counts = {}
    for path in directory.glob("counter_*.db"):
        merged = MultiProcessCollector.merge([str(path)], accumulate=True)
        counts[path.stem.removeprefix("counter_")] = node_runs(
            {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
             for family in merged for sample in family.samples})
    return counts


def pool_pids(main_pid: int) -> set[int]:
    children = Path(f"/proc/{main_pid}/task/{main_pid}/children")
    return {int(pid) for pid in children.read_text().split()} if children.exists() else set()


def alive() -> set[str]:
    """The workers whose heartbeat counts them as online (what /metrics counts)."""
    return {beat["name"] for beat in workers_alive(redis_client())}


def until(condition, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return result


@contextmanager
def only_this_worker() -> Iterator[None]:
    """Other workers of this run that consume the engine's queue (the session's) stop
    consuming it meanwhile, so the nodes run on the worker the test starts."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    replies = app.control.inspect(timeout=1).active_queues() or {}
    others = [name for name, queues in replies.items()
              if queue in {declared["name"] for declared in queues}]
    if others:
        app.control.cancel_consumer(queue, destination=others, reply=True)
    try:
        yield
    finally:
        if others:
            app.control.add_consumer(queue, destination=others, reply=True)


def run_parallel(count: int) -> None:
    workflow = workflow_from(PARALLEL)
    executions = [services.execution_start(workflow=workflow, input={})[0]
                  for _ in range(count)]
    for execution in executions:
        assert wait_for(execution, timeout=90).status == "completed", execution.error


def test_the_web_servers_metrics_sum_every_worker_process(tmp_path, monkeypatch):
    # given a web server and a worker of two pool processes sharing one metrics directory
    directory = tmp_path / "metrics"
    directory.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    with only_this_worker(), web_server(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(directory)) as web:
        metrics = web.url("/metrics")
        with celery_worker(tmp_path, concurrency=2) as worker:
            # when executions run their nodes on both pool processes
            run_parallel(6)
            worker.wait_idle()

            # then the web server's /metrics counts every node run, summed over the processes
            found = scrape(metrics)
            assert node_runs(found) == 12
            written = {name: n for name, n in per_process(directory).items() if n}
            assert len(written) >= 2, written
            assert sum(written.values()) == 12
            # each process's files are named by host and pid (pids repeat across containers)
            pools = pool_pids(worker.process.pid)
            assert {f"{socket.gethostname()}-{pid}" for pid in pools} >= set(written)
            # and the state gauges are there once, with the worker's heartbeat
            assert found[("weft_executions_active", (("status", "running"),))] == 0
            assert found[("weft_workers_online", ())] >= 1
            assert found[("weft_worker_processes", ())] >= 2
            # and django-prometheus's request metrics still come along
            assert any(name.startswith("django_http_requests_total_by_method")
                       for name, _ in found)

            # when a pool process dies (killed: no goodbye) and the pool replaces it
            victim = next(pid for pid in pools
                          if f"{socket.gethostname()}-{pid}" in written)
            os.kill(victim, signal.SIGKILL)
            until(lambda: len(pool_pids(worker.process.pid) - {victim}) == 2,
                  "the pool did not replace the killed process")

            # then its counts stay in the totals, and the worker is online
            assert node_runs(scrape(metrics)) == 12
            assert worker.name in alive()

        # and when the whole worker has stopped, its counts stay, and it is no longer online
        # (at once when it stopped in time; a worker killed after its grace period, as the
        # fixture does on a slow machine, is gone once its heartbeat is older than the TTL).
        # The run's other workers come back meanwhile (each test starts with Redis emptied,
        # tests/conftest.py, so they reappear at their next heartbeat, up to 10 s later): the
        # worker is looked for by name, and the gauge counts the heartbeats there are (read
        # just before and just after).
        after = scrape(metrics)
        assert node_runs(after) == 12
        until(lambda: worker.name not in alive(), "the stopped worker still counts as online",
              timeout=HEARTBEAT_TTL + 15)
        before, counted, later = alive(), scrape(metrics)[("weft_workers_online", ())], alive()
        assert worker.name not in before | later
        assert counted in {len(before), len(later)}


def test_a_worker_host_serves_its_processes_on_the_worker_metrics_port(tmp_path, monkeypatch):
    # given a worker on a host of its own: its own metrics directory, no web server reading it
    directory = tmp_path / "worker-host"
    directory.mkdir()
    port = free_port()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    monkeypatch.setenv("WORKFLOW_WORKER_METRICS_PORT", str(port))
    with only_this_worker(), celery_worker(tmp_path, concurrency=2) as worker:
        # when its processes run nodes
        run_parallel(4)
        worker.wait_idle()

        # then its main process serves the sum of its pool processes on the one port
        found = until(lambda: _scrape_when_up(f"http://127.0.0.1:{port}/metrics"),
                      "the worker's metrics port does not answer")
        assert node_runs(found) == 8
        # and not the platform's state gauges: the web server serves those
        assert not any(name.startswith("weft_executions_active") for name, _ in found)
        # and no pool process listens on a port of its own
        assert all(_listening(port + offset) is False for offset in (1, 2))


def _scrape_when_up(url: str) -> dict | None:
    try:
        return scrape(url)
    except httpx.HTTPError:
        return None


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


CONTAINER_PROCESS = (
    "import django; django.setup(); "
    "from monitoring.metrics import NODE_RUNS; "
    "NODE_RUNS.labels('Sleep', 'metrics/containers', 'completed').inc()"
)


def _in_a_container(hostname: str, directory: Path) -> subprocess.CompletedProcess:
    """A Python process as a container runs it: pid 1 of a pid namespace of its own, under a
    host name of its own, writing to the shared directory."""
    import sys

    script = f"hostname {hostname} && exec {sys.executable} -c \"{CONTAINER_PROCESS}\""
    return subprocess.run(
        ["unshare", "--uts", "--pid", "--fork", "sh", "-c", script], cwd=ROOT,
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory),
             "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True, text=True, timeout=60)


def test_processes_of_two_containers_with_the_same_pid_both_count(tmp_path):
    # given two containers sharing the metrics volume, each running its process as pid 1
    if shutil.which("unshare") is None or _in_a_container("probe", tmp_path).returncode:
        reason = "needs unshare with UTS and pid namespaces (root)"
        unavailable(reason)
    for stale in tmp_path.glob("*.db"):
        stale.unlink()
    # when each counts a node run
    for hostname in ("web-1", "worker-1"):
        done = _in_a_container(hostname, tmp_path)
        assert done.returncode == 0, done.stderr

    # then each wrote files of its own, named by host and pid, and both runs are summed
    assert {path.name for path in tmp_path.glob("counter_*.db")} == {
        "counter_web-1-1.db", "counter_worker-1-1.db"}
    merged = MultiProcessCollector.merge([str(path) for path in tmp_path.glob("*.db")])
    runs = [sample.value for family in merged for sample in family.samples
            if sample.name == RUNS and sample.labels["workflow"] == "metrics/containers"]
    assert runs == [2.0]
