#!/usr/bin/env python3
"""Benchmark the execution engine against raw Celery on the production-like local setup.

    python3 bench/run.py [--workers 2] [--concurrency 2] [--runs 3] [--executions 500]
                         [--only throughput,fanout,latency,baseline]

It re-executes itself with the project's `.venv/bin/python` (as `dev.py` does), so
`python3 bench/run.py` and `.venv/bin/python bench/run.py` are the same command.

What it does (docs/performance.md explains every figure):

1. Checks that PostgreSQL, RabbitMQ and Redis answer (it stops with a message otherwise),
   creates the database `weft_bench` afresh and migrates it.
2. Starts N real `celery -A config worker` processes with the production profile
   (prefork, late acks, prefetch 1, `CELERY_WORKER_CONCURRENCY` processes each; a throwaway
   SECRET_KEY and SECRETS_KEYS), consuming the queue `weft-bench` and, for the baseline,
   `weft-bench.raw` (`-I bench.tasks`).
3. Per run, and for each selected shape, measures the engine and then the same shape as a
   plain Celery canvas of no-op tasks:
   (a) throughput: E executions of a chain of 10 no-op nodes started at once;
   (b) fan-out: 50 executions of 1 -> 100 parallel -> join;
   (c) latency: one execution of the 10-node chain at a time, 50 times.
4. Writes `bench/results/engine-<date>[-<label>].json` and `.md`: the median, min and max
   over the runs of every figure, the engine / baseline ratios against the issue's
   targets, the machine and the versions of everything involved.
5. Always (also on Ctrl-C or an error) stops the workers, purges and deletes its queues,
   and drops `weft_bench` (unless --keep-database).

Sizes below the defaults (or fewer than 3 runs) label the results `smoke`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("WEFT_VENV", ROOT / ".venv"))
VENV_PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

SHAPES = ("throughput", "fanout", "latency")
DEFAULTS = {"executions": 500, "fanout_executions": 50, "fanout_width": 100,
            "latency_count": 50, "chain_length": 10, "runs": 3}
TARGETS = {
    "throughput_ratio": "(a) engine node steps/s >= 0.5 x raw Celery",
    "fanout_ratio": "(b) engine fan-out executions/s >= 0.5 x raw chord",
    "latency_ratio": "(c) engine p50 start -> completed <= 3 x raw Celery",
    "latency_p95": "(c) engine p95 start -> completed < 100 ms",
    "first_node_p95": "(c) engine p95 start -> first node running < 25 ms",
}


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


class BenchError(RuntimeError):
    """A missing service, a worker that does not start, an execution that fails."""


# --- Environment --------------------------------------------------------------------------


def reexec_in_venv(script: str = __file__, tag: str = "bench") -> None:
    """Run `script` (a benchmark command of bench/) under the project's virtual
    environment (where Django and Celery are), with the same arguments."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not VENV_PYTHON.exists():
        raise SystemExit(f"[{tag}] {VENV_PYTHON} is missing: run `python3 dev.py test` once "
                         "to create the virtual environment")
    os.execv(str(VENV_PYTHON),  # noqa: S606 - replaces this process, as dev.py's users expect
             [str(VENV_PYTHON), str(Path(script).resolve()), *sys.argv[1:]])


def common_arguments(parser: argparse.ArgumentParser, *, database: str, queue: str,
                     timeout: float, timeout_help: str, logs_of: str) -> None:
    """The options every benchmark command of bench/ shares (its database, queue, server,
    log level, time limit, output and what it keeps afterwards)."""
    parser.add_argument("--database", default=database,
                        help=f"database created, migrated and dropped (default {database})")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server, without a database name")
    parser.add_argument("--queue", default=queue,
                        help=f"Celery queue of the benchmark (default {queue})")
    parser.add_argument("--log-level", default="INFO",
                        help="LOG_LEVEL of the platform's processes (production default INFO)")
    parser.add_argument("--timeout", type=float, default=timeout, help=timeout_help)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results"),
                        help="directory of the JSON and markdown results")
    parser.add_argument("--label", default="",
                        help="appended to the file names (`smoke` is added for small sizes)")
    parser.add_argument("--keep-database", action="store_true",
                        help="leave the benchmark database in place afterwards")
    parser.add_argument("--keep-logs", action="store_true",
                        help=f"keep {logs_of} log files (kept anyway when the run fails)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the engine against raw Celery (docs/performance.md).")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--concurrency", type=int, default=2,
                        help="prefork processes per worker (default 2, as production)")
    parser.add_argument("--runs", type=int, default=DEFAULTS["runs"],
                        help="runs per figure; each figure is their median (default 3)")
    parser.add_argument("--only", default="throughput,fanout,latency,baseline",
                        help="comma-separated shapes: throughput, fanout, latency; `baseline` "
                             "adds the raw Celery counterpart (only `baseline`: raw Celery "
                             "alone, every shape)")
    parser.add_argument("--executions", type=int, default=DEFAULTS["executions"],
                        help="(a) executions started at once (default 500)")
    parser.add_argument("--chain-length", type=int, default=DEFAULTS["chain_length"],
                        help="nodes of the chain in (a) and (c) (default 10)")
    parser.add_argument("--fanout-executions", type=int, default=DEFAULTS["fanout_executions"],
                        help="(b) executions started at once (default 50)")
    parser.add_argument("--fanout-width", type=int, default=DEFAULTS["fanout_width"],
                        help="(b) parallel nodes between the root and the join (default 100)")
    parser.add_argument("--latency-count", type=int, default=DEFAULTS["latency_count"],
                        help="(c) executions run one at a time (default 50)")
    parser.add_argument("--latency-via", choices=("api", "service"), default="api",
                        help="(c) start through POST /api/workflows/{id}/execute (default; "
                             "in-process, JWT) or the service execution_start")
    parser.add_argument("--warmup", type=int, default=-1,
                        help="executions per side before measuring (default: 2 per worker "
                             "process; 0: none)")
    common_arguments(parser, database="weft_bench", queue="weft-bench", timeout=900,
                     timeout_help="seconds one measurement may take before it fails",
                     logs_of="the workers'")
    args = parser.parse_args(argv)
    chosen = {part.strip() for part in args.only.split(",") if part.strip()}
    unknown = chosen - {*SHAPES, "baseline"}
    if unknown:
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}")
    args.baseline = "baseline" in chosen
    args.engine = bool(chosen - {"baseline"})
    args.shapes = [shape for shape in SHAPES if shape in chosen] or list(SHAPES)
    if not args.database.startswith(("weft_bench", "bench")):
        parser.error("--database must start with weft_bench or bench (it is dropped)")
    for name in ("workers", "concurrency", "runs", "executions", "chain_length",
                 "fanout_executions", "fanout_width", "latency_count"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    args.smoke = is_smoke(args)
    if args.smoke and "smoke" not in args.label:
        args.label = f"{args.label}-smoke" if args.label else "smoke"
    return args


def is_smoke(args: argparse.Namespace) -> bool:
    return any(getattr(args, name) < value for name, value in DEFAULTS.items())


def bench_environment(args: argparse.Namespace) -> dict[str, str]:
    """Production profile on the local services, with throwaway keys."""
    from cryptography.fernet import Fernet

    server = args.postgres.rstrip("/")
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PLATFORM_PROFILE": "production",
        "SECRET_KEY": "bench-" + uuid.uuid4().hex + uuid.uuid4().hex,
        "SECRETS_KEYS": Fernet.generate_key().decode(),
        "DEBUG": "false",
        "DATABASE_URL": f"{server}/{args.database}",
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL",
                                            "amqp://guest:guest@127.0.0.1:5672//"),
        "CELERY_RESULT_BACKEND": os.environ.get("CELERY_RESULT_BACKEND",
                                                "redis://127.0.0.1:6379/1"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/2"),
        "CELERY_QUEUE": args.queue,
        "CELERY_WORKER_CONCURRENCY": str(args.concurrency),
        "LOG_LEVEL": args.log_level,
        "LOG_FORMAT": "json",
        "DATA_DIR": os.environ.get("DATA_DIR", "var"),
        # (c) through the API: Django's test client's host, and no throttling of the bench.
        "ALLOWED_HOSTS": "localhost,127.0.0.1,testserver",
        "THROTTLE_USER_RATE": "1000000/min",
        "THROTTLE_EXECUTE_RATE": "1000000/min",
    }


def services_check(environment: dict[str, str]) -> None:
    """Fail loudly, naming the service, when one does not accept connections."""
    missing = []
    for name, key, port in (("PostgreSQL", "DATABASE_URL", 5432),
                            ("RabbitMQ", "CELERY_BROKER_URL", 5672),
                            ("Redis (result backend)", "CELERY_RESULT_BACKEND", 6379),
                            ("Redis", "REDIS_URL", 6379)):
        url = urlsplit(environment[key])
        host, port = url.hostname or "127.0.0.1", url.port or port
        try:
            socket.create_connection((host, port), timeout=3).close()
        except OSError as error:
            missing.append(f"{name} at {host}:{port} ({key}): {error}")
    if not environment["CELERY_BROKER_URL"].startswith(("amqp://", "pyamqp://")):
        missing.append("CELERY_BROKER_URL must be RabbitMQ (amqp://) for a production-like run")
    if missing:
        raise BenchError("services missing:\n  " + "\n  ".join(missing))


def database_recreate(environment: dict[str, str], name: str) -> None:
    import psycopg

    server = environment["DATABASE_URL"].rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    result = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT,
                            env={**os.environ, **environment}, capture_output=True, text=True)
    if result.returncode:
        raise BenchError(f"migrate failed:\n{result.stdout}\n{result.stderr}")


def database_drop(environment: dict[str, str], name: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    server = environment["DATABASE_URL"].rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Workers ------------------------------------------------------------------------------


@dataclass
class Workers:
    names: list[str]
    processes: list[subprocess.Popen]
    log_dir: Path
    logs: list[Path] = field(default_factory=list)

    def tail(self, lines: int = 30) -> str:
        text = []
        for log in self.logs:
            content = log.read_text(errors="replace").splitlines()[-lines:]
            text.append(f"--- {log.name}\n" + "\n".join(content))
        return "\n".join(text)


def worker_command(name: str, concurrency: int, queue: str, raw_queue: str) -> list[str]:
    """The production worker command (docker-compose.yml), plus the baseline's tasks."""
    return [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
            "--pool", "prefork", "--concurrency", str(concurrency), "--hostname", name,
            "-I", "bench.tasks", "-Q", f"{queue},{queue}.housekeeping,{raw_queue}"]


@contextmanager
def workers_running(count: int, concurrency: int, environment: dict[str, str],
                    log_dir: Path, timeout: float = 120) -> Iterator[Workers]:
    """Start `count` workers and wait until each answers a ping; always stop them."""
    from config.celery import app

    queue = environment["CELERY_QUEUE"]
    tag = uuid.uuid4().hex[:6]
    workers = Workers([], [], log_dir)
    try:
        for index in range(count):
            name = f"bench-{tag}-{index}@{socket.gethostname()}"
            log = log_dir / f"worker-{index}.log"
            with log.open("wb") as output:
                process = subprocess.Popen(
                    worker_command(name, concurrency, queue, f"{queue}.raw"), cwd=ROOT,
                    env={**os.environ, **environment}, stdout=output,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )
            workers.names.append(name)
            workers.processes.append(process)
            workers.logs.append(log)
        deadline = time.monotonic() + timeout
        waiting = set(workers.names)
        while waiting:
            for reply in app.control.ping(destination=sorted(waiting), timeout=1.0):
                waiting -= set(reply)
            dead = [p.args[p.args.index("--hostname") + 1] for p in workers.processes
                    if p.poll() is not None]
            if dead or (waiting and time.monotonic() > deadline):
                raise BenchError(f"workers did not start ({', '.join(dead or waiting)}):\n"
                                 + workers.tail())
        yield workers
    finally:
        workers_stop(workers.processes)


def workers_stop(processes: list[subprocess.Popen], timeout: float = 30) -> None:
    """Warm shutdown (SIGTERM); the whole process group is killed if that takes too long."""
    for process in processes:
        if process.poll() is None:
            with suppress(ProcessLookupError):
                process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def queues_purge(queues: list[str], delete: bool = False) -> None:
    """Empty (or delete) the benchmark's own queues; a queue that does not exist is fine."""
    from config.celery import app

    with app.connection_for_write() as connection:
        for name in queues:
            channel = connection.channel()
            try:
                if delete:
                    channel.queue_delete(name)
                else:
                    channel.queue_purge(name)
            except Exception:  # noqa: BLE001,S110 - NOT_FOUND closes the channel; nothing to do
                pass
            finally:
                with suppress(Exception):
                    channel.close()


# --- Definitions and statistics -----------------------------------------------------------


NOOP = {"template": 0}


def chain_definition(length: int, name: str = "bench-chain") -> dict[str, Any]:
    nodes = [{"id": f"n{i}", "type": "Transform", "data": dict(NOOP)} for i in range(length)]
    edges = [{"source": f"n{i}", "target": f"n{i + 1}"} for i in range(length - 1)]
    return {"name": name, "namespace": "bench", "nodes": nodes, "edges": edges}


def fanout_definition(width: int, name: str = "bench-fanout") -> dict[str, Any]:
    parallel = [f"p{i}" for i in range(width)]
    nodes = [{"id": node_id, "type": "Transform", "data": dict(NOOP)}
             for node_id in ["start", *parallel, "join"]]
    edges = [*({"source": "start", "target": p} for p in parallel),
             *({"source": p, "target": "join"} for p in parallel)]
    return {"name": name, "namespace": "bench", "nodes": nodes, "edges": edges}


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def distribution(prefix: str, seconds: list[float], points=(50, 95, 99)) -> dict[str, float]:
    return {f"{prefix}_p{p}_ms": round(percentile(seconds, p) * 1000, 2) for p in points}


def summary(runs: list[dict[str, float]]) -> dict[str, dict[str, Any]]:
    """Each metric's median, min and max over the runs (and the runs' values)."""
    figures: dict[str, dict[str, Any]] = {}
    for key in runs[0]:
        values = [run[key] for run in runs]
        figures[key] = {"median": round(statistics.median(values), 3),
                        "min": round(min(values), 3), "max": round(max(values), 3),
                        "runs": values}
    return figures


def epoch(value: Any) -> float:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


# --- The engine ---------------------------------------------------------------------------


class Engine:
    """The engine's side: executions started through `execution_start` in this process,
    measured from the database's timestamps (created_at, started_at, finished_at)."""

    def __init__(self, chain_length: int, fanout_width: int, timeout: float) -> None:
        from workflows.services import workflow_create

        suffix = uuid.uuid4().hex[:8]
        self.timeout = timeout
        self.chain_workflow = workflow_create(
            definition=chain_definition(chain_length, f"bench-chain-{suffix}"), actor=None)
        self.fanout_workflow = workflow_create(
            definition=fanout_definition(fanout_width, f"bench-fanout-{suffix}"), actor=None)

    @staticmethod
    def reset() -> None:
        """Empty the execution tables, so that every run starts from the same state."""
        from django.apps import apps
        from django.db import connection

        models = list(apps.get_app_config("executions").get_models())
        if connection.vendor != "postgresql":  # the embedded default (the smoke test)
            for model in models:
                model._base_manager.all().delete()
            return
        tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {tables} CASCADE")

    def _wait(self, workflow: Any, count: int) -> list[dict[str, Any]]:
        from executions.models import EXECUTION_TERMINAL, Execution, ExecutionStatus

        executions = Execution.objects.filter(workflow=workflow)
        deadline = time.monotonic() + self.timeout
        while executions.filter(status__in=EXECUTION_TERMINAL).count() < count:
            if time.monotonic() > deadline:
                counts = {}
                for status in executions.values_list("status", flat=True):
                    counts[status] = counts.get(status, 0) + 1
                raise BenchError(f"engine: not finished after {self.timeout}s: {counts}")
            time.sleep(0.2)
        failed = executions.exclude(status=ExecutionStatus.COMPLETED).first()
        if failed is not None:
            raise BenchError(f"engine: execution {failed.pk} {failed.status}: {failed.error}")
        return list(executions.values("id", "created_at", "finished_at"))

    def _burst(self, workflow: Any, count: int, steps_per_execution: int) -> dict[str, float]:
        from executions.models import NodeExecution, NodeStatus
        from executions.services.start import execution_start

        self.reset()
        began = time.time()
        for _ in range(count):
            execution_start(workflow=workflow, input={})
        start_phase = time.time() - began
        rows = self._wait(workflow, count)
        steps = NodeExecution.objects.filter(execution__workflow=workflow,
                                             status=NodeStatus.COMPLETED).count()
        if steps != count * steps_per_execution:
            raise BenchError(f"engine: {steps} node steps, expected "
                             f"{count * steps_per_execution}")
        first = min(epoch(row["created_at"]) for row in rows)
        last = max(epoch(row["finished_at"]) for row in rows)
        wall = last - first
        return {
            "node_steps_per_s": round(steps / wall, 2),
            "executions_per_s": round(count / wall, 2),
            **distribution("e2e", [epoch(r["finished_at"]) - epoch(r["created_at"])
                                   for r in rows]),
            "wall_s": round(wall, 3),
            "start_phase_s": round(start_phase, 3),
        }

    def throughput(self, count: int, chain_length: int) -> dict[str, float]:
        return self._burst(self.chain_workflow, count, chain_length)

    def fanout(self, count: int, width: int) -> dict[str, float]:
        return self._burst(self.fanout_workflow, count, width + 2)

    def _api_starter(self) -> Callable[[], Any]:
        """POST /api/workflows/{id}/execute through Django's whole stack (middleware, JWT,
        permission, throttling, serializers), in this process: no HTTP server or socket."""
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.test import Client

        from config.tokens import access_token_issue
        from executions.models import Execution

        user, _ = get_user_model().objects.get_or_create(username="bench-operator")
        operators = Group.objects.filter(name="workflow-operators").first()
        if operators is None:
            raise BenchError("the group workflow-operators is missing (migrations?)")
        user.groups.add(operators)
        client = Client(HTTP_AUTHORIZATION=f"Bearer {access_token_issue(user=user)}")
        url = f"/api/workflows/{self.chain_workflow.pk}/execute"

        def start() -> Any:
            response = client.post(url, {"input": {}}, content_type="application/json")
            if response.status_code != 202:
                raise BenchError(f"engine: POST {url} answered {response.status_code}: "
                                 f"{response.content[:500]!r}")
            return Execution.objects.get(pk=response.json()["id"])

        return start

    def latency(self, count: int, via: str = "service") -> dict[str, float]:
        from django.db.models import Min

        from executions.models import EXECUTION_TERMINAL, Execution, ExecutionStatus
        from executions.services.start import execution_start

        self.reset()
        if via == "api":
            start = self._api_starter()
        else:
            def start() -> Any:
                return execution_start(workflow=self.chain_workflow, input={})[0]
        completed, first_node = [], []
        for _ in range(count):
            called = time.time()
            execution = start()
            deadline = time.monotonic() + self.timeout
            rows = Execution.objects.filter(pk=execution.pk)
            while (status := rows.values_list("status", flat=True)[0]) not in EXECUTION_TERMINAL:
                if time.monotonic() > deadline:
                    raise BenchError(f"engine: execution {execution.pk} still {status}")
                time.sleep(0.005)  # the figures come from the database's timestamps
            execution.refresh_from_db()
            if execution.status != ExecutionStatus.COMPLETED:
                raise BenchError(f"engine: execution {execution.pk} {execution.status}: "
                                 f"{execution.error}")
            started = execution.nodes.aggregate(first=Min("started_at"))["first"]
            completed.append(epoch(execution.finished_at) - called)
            first_node.append(epoch(started) - called)
        return {**distribution("complete", completed, (50, 95)),
                **distribution("first_node", first_node, (50, 95))}


# --- Raw Celery ---------------------------------------------------------------------------


class Raw:
    """The baseline: the same shapes as plain Celery canvases of no-op tasks, measured from
    the send time in this process to the result backend's `date_done` of the last task."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def _burst(self, canvas: Callable[[], Any], count: int,
               steps_per_canvas: int) -> dict[str, float]:
        sent, results = [], []
        began = time.time()
        for _ in range(count):
            sent.append(time.time())
            results.append(canvas().apply_async())
        start_phase = time.time() - began
        deadline = time.monotonic() + self.timeout
        pending = set(range(count))
        while pending:
            pending = {index for index in pending if not results[index].ready()}
            if pending and time.monotonic() > deadline:
                raise BenchError(f"raw: {len(pending)} canvases unfinished after "
                                 f"{self.timeout}s")
            if pending:
                time.sleep(0.1)
        for result in results:
            if not result.successful():
                raise BenchError(f"raw: canvas {result.id} {result.state}: {result.result}")
        done = [epoch(result.date_done) for result in results]
        wall = max(done) - began
        metrics = {
            "node_steps_per_s": round(count * steps_per_canvas / wall, 2),
            "executions_per_s": round(count / wall, 2),
            **distribution("e2e", [end - start for start, end in zip(sent, done, strict=True)]),
            "wall_s": round(wall, 3),
            "start_phase_s": round(start_phase, 3),
        }
        for result in results:
            result.forget()
        return metrics

    def throughput(self, count: int, chain_length: int) -> dict[str, float]:
        from celery import chain

        from bench.tasks import noop, raw

        def canvas() -> Any:
            return chain(raw(noop.si(None)), *(raw(noop.s()) for _ in range(chain_length - 1)))

        return self._burst(canvas, count, chain_length)

    def fanout(self, count: int, width: int) -> dict[str, float]:
        from celery import chain, chord

        from bench.tasks import join, noop, raw

        def canvas() -> Any:
            return chain(raw(noop.si(None)),
                         chord([raw(noop.s()) for _ in range(width)], raw(join.s())))

        return self._burst(canvas, count, width + 2)

    def latency(self, count: int, chain_length: int) -> dict[str, float]:
        from celery import chain

        from bench.tasks import noop, raw, stamp

        completed, first_node = [], []
        for _ in range(count):
            called = time.time()
            canvas = chain(raw(stamp.si()), *(raw(noop.s()) for _ in range(chain_length - 1)))
            result = canvas.apply_async()
            first_ran = result.get(timeout=self.timeout)
            completed.append(epoch(result.date_done) - called)
            first_node.append(first_ran - called)
            result.forget()
        return {**distribution("complete", completed, (50, 95)),
                **distribution("first_node", first_node, (50, 95))}


# --- Running and reporting ----------------------------------------------------------------


def measure(args: argparse.Namespace, log: Callable[[str], None] = say) -> dict[str, Any]:
    """Every selected figure, `args.runs` times (engine then raw, interleaved per run)."""
    engine = Engine(args.chain_length, args.fanout_width, args.timeout) if args.engine else None
    raw = Raw(args.timeout) if args.baseline else None
    plans: dict[str, dict[str, Callable[[], dict[str, float]]]] = {}
    for shape in args.shapes:
        sides: dict[str, Callable[[], dict[str, float]]] = {}
        if shape == "throughput":
            if engine:
                sides["engine"] = lambda: engine.throughput(args.executions, args.chain_length)
            if raw:
                sides["raw"] = lambda: raw.throughput(args.executions, args.chain_length)
        elif shape == "fanout":
            if engine:
                sides["engine"] = lambda: engine.fanout(args.fanout_executions,
                                                        args.fanout_width)
            if raw:
                sides["raw"] = lambda: raw.fanout(args.fanout_executions, args.fanout_width)
        else:
            if engine:
                sides["engine"] = lambda: engine.latency(args.latency_count, args.latency_via)
            if raw:
                sides["raw"] = lambda: raw.latency(args.latency_count, args.chain_length)
        plans[shape] = sides

    warm = args.warmup if args.warmup >= 0 else args.workers * args.concurrency * 2
    if warm:
        log(f"warm-up: {warm} executions per side")
        if engine:
            engine.throughput(warm, args.chain_length)
            engine.fanout(min(warm, 4), args.fanout_width)
        if raw:
            raw.throughput(warm, args.chain_length)
            raw.fanout(min(warm, 4), args.fanout_width)

    collected: dict[str, dict[str, list[dict[str, float]]]] = {
        shape: {side: [] for side in sides} for shape, sides in plans.items()}
    for number in range(1, args.runs + 1):
        for shape, sides in plans.items():
            for side, run in sides.items():
                log(f"run {number}/{args.runs}: {shape} ({side})")
                figures = run()
                log(f"  {json.dumps(figures)}")
                collected[shape][side].append(figures)
                time.sleep(1)  # let the last result writes and acks settle
    return {shape: {side: summary(runs) for side, runs in sides.items()}
            for shape, sides in collected.items()}


def ratios(figures: dict[str, Any]) -> dict[str, float | None]:
    def median(shape: str, side: str, key: str) -> float | None:
        return figures.get(shape, {}).get(side, {}).get(key, {}).get("median")

    def divide(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    return {
        "throughput_node_steps": divide(median("throughput", "engine", "node_steps_per_s"),
                                        median("throughput", "raw", "node_steps_per_s")),
        "fanout_executions": divide(median("fanout", "engine", "executions_per_s"),
                                    median("fanout", "raw", "executions_per_s")),
        "latency_p50": divide(median("latency", "engine", "complete_p50_ms"),
                              median("latency", "raw", "complete_p50_ms")),
        "latency_p95": divide(median("latency", "engine", "complete_p95_ms"),
                              median("latency", "raw", "complete_p95_ms")),
    }


def targets(figures: dict[str, Any], ratio: dict[str, float | None]) -> list[dict[str, Any]]:
    def engine(shape: str, key: str) -> float | None:
        return figures.get(shape, {}).get("engine", {}).get(key, {}).get("median")

    checks = [
        ("throughput_ratio", ratio["throughput_node_steps"], lambda v: v >= 0.5),
        ("fanout_ratio", ratio["fanout_executions"], lambda v: v >= 0.5),
        ("latency_ratio", ratio["latency_p50"], lambda v: v <= 3),
        ("latency_p95", engine("latency", "complete_p95_ms"), lambda v: v < 100),
        ("first_node_p95", engine("latency", "first_node_p95_ms"), lambda v: v < 25),
    ]
    return [{"target": TARGETS[key], "value": value,
             "met": None if value is None else bool(check(value))}
            for key, value, check in checks]


def machine() -> dict[str, Any]:
    memory = None
    with suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
    system = platform.platform()
    with suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = f"{line.split('=', 1)[1].strip(chr(34))} ({platform.platform()})"
    cpu = platform.processor() or platform.machine()
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cores": os.cpu_count(), "cpu": cpu, "memory_gb": memory, "os": system,
            "hostname": socket.gethostname(), "python": platform.python_version()}


POSTGRESQL_SETTINGS = ("autovacuum", "fsync", "synchronous_commit", "shared_buffers")


def versions() -> dict[str, str | None]:
    from django.db import connection

    from config.celery import app

    found: dict[str, str | None] = {}
    for package in ("celery", "kombu", "django", "psycopg", "redis"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            found["postgresql_server"] = cursor.fetchone()[0]
            # The settings that change what a long run costs: without autovacuum, every
            # row version a run leaves behind stays in the tables and their indexes.
            cursor.execute("SELECT string_agg(name || '=' || current_setting(name), ' ' "
                           "ORDER BY name) FROM unnest(%s::text[]) AS name",
                           [list(POSTGRESQL_SETTINGS)])
            found["postgresql_settings"] = cursor.fetchone()[0]
    else:
        found[f"{connection.vendor}_server"] = connection.Database.sqlite_version
    with app.connection_for_write() as broker:
        broker.connect()
        if broker.transport_cls in {"amqp", "pyamqp"}:
            properties = getattr(broker.connection, "server_properties", {}) or {}
            found["rabbitmq_server"] = properties.get("version")
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_RESULT_BACKEND)
    found["redis_server"] = client.info("server").get("redis_version")
    client.close()
    return found


def git_revision() -> dict[str, Any]:
    def git(*command: str) -> str:
        return subprocess.run(["git", *command],  # noqa: S607 - git from PATH
                              cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    return {"commit": git("rev-parse", "--short", "HEAD") or None,
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


FIGURE_ROWS = {
    "throughput": [("node_steps_per_s", "node steps/s"), ("executions_per_s", "executions/s"),
                   ("e2e_p50_ms", "end-to-end p50 (ms)"), ("e2e_p95_ms", "end-to-end p95 (ms)"),
                   ("e2e_p99_ms", "end-to-end p99 (ms)")],
    "fanout": [("executions_per_s", "executions/s"), ("node_steps_per_s", "node steps/s"),
               ("e2e_p50_ms", "end-to-end p50 (ms)"), ("e2e_p95_ms", "end-to-end p95 (ms)"),
               ("e2e_p99_ms", "end-to-end p99 (ms)")],
    "latency": [("complete_p50_ms", "start -> completed p50 (ms)"),
                ("complete_p95_ms", "start -> completed p95 (ms)"),
                ("first_node_p50_ms", "start -> first node running p50 (ms)"),
                ("first_node_p95_ms", "start -> first node running p95 (ms)")],
}
SHAPE_TITLES = {"throughput": "(a) throughput", "fanout": "(b) fan-out",
                "latency": "(c) latency"}


def markdown(report: dict[str, Any]) -> str:
    settings_, figures = report["settings"], report["figures"]

    def cell(shape: str, side: str, key: str) -> str:
        figure = figures.get(shape, {}).get(side, {}).get(key)
        if not figure:
            return "-"
        if len(figure["runs"]) == 1:
            return f"{figure['median']:g}"
        return f"{figure['median']:g} ({figure['min']:g} - {figure['max']:g})"

    lines = [f"# Engine vs raw Celery: {report['started_at'][:10]}"
             + (f" ({report['label']})" if report["label"] else ""), ""]
    if report["smoke"]:
        lines += ["**Smoke figures**: small sizes and/or fewer than 3 runs; they show that "
                  "the harness works, not how fast the platform is.", ""]
    machine_, versions_ = report["machine"], report["versions"]
    sizes = {
        "throughput": f"(a) {settings_['executions']} executions of a "
                      f"{settings_['chain_length']}-node chain started at once",
        "fanout": f"(b) {settings_['fanout_executions']} executions of 1 -> "
                  f"{settings_['fanout_width']} -> join started at once",
        "latency": f"(c) {settings_['latency_count']} executions one at a time, the engine's "
                   f"started through the {settings_['latency_via']}",
    }
    lines += [
        f"- command: `{report['command']}`",
        "- sizes: " + "; ".join(sizes[shape] for shape in figures)
        + f"; {settings_['runs']} run(s), median (min - max) over the runs",
        f"- workers: {settings_['workers']} x prefork concurrency {settings_['concurrency']}, "
        "late acks, prefetch 1, PLATFORM_PROFILE=production",
        f"- machine: {machine_['cores']} cores ({machine_['cpu']}), {machine_['memory_gb']} GB, "
        f"{machine_['os']}; load average before {report['load_average']['before']}, after "
        f"{report['load_average']['after']}",
        f"- Python {machine_['python']}; " + ", ".join(
            f"{name} {version}" for name, version in versions_.items()),
        f"- commit {report['git']['commit']}{' (dirty)' if report['git']['dirty'] else ''}",
        "",
        "| shape | figure | engine | raw Celery | engine / raw |",
        "|---|---|---|---|---|",
    ]
    ratio_of = {("throughput", "node_steps_per_s"): "throughput_node_steps",
                ("fanout", "executions_per_s"): "fanout_executions",
                ("latency", "complete_p50_ms"): "latency_p50",
                ("latency", "complete_p95_ms"): "latency_p95"}
    for shape, rows in FIGURE_ROWS.items():
        if shape not in figures:
            continue
        for key, title in rows:
            ratio_key = ratio_of.get((shape, key))
            ratio = report["ratios"].get(ratio_key) if ratio_key else None
            lines.append(f"| {SHAPE_TITLES[shape]} | {title} | {cell(shape, 'engine', key)} | "
                         f"{cell(shape, 'raw', key)} | {'-' if ratio is None else ratio} |")
    if report.get("task_runtimes"):
        lines += ["", "Time inside the worker per task (all runs and the warm-up; from the "
                  "workers' logs):", "", "| task | count | p50 (ms) | p95 (ms) | p99 (ms) |",
                  "|---|---|---|---|---|"]
        for name, runtime in report["task_runtimes"].items():
            lines.append(f"| {name} | {runtime['count']} | {runtime['runtime_p50_ms']:g} | "
                         f"{runtime['runtime_p95_ms']:g} | {runtime['runtime_p99_ms']:g} |")
    lines += ["", "| target (from the issue) | value | met |", "|---|---|---|"]
    for target in report["targets"]:
        met = {None: "not measured", True: "yes", False: "no"}[target["met"]]
        lines.append(f"| {target['target']} | "
                     f"{'-' if target['value'] is None else target['value']} | {met} |")
    return "\n".join(lines) + "\n"


def task_runtimes(logs: list[Path]) -> dict[str, dict[str, float]]:
    """Diagnostics from the workers' JSON log lines ("Task ... succeeded in Xs"): how long
    each task name ran inside the worker, over the whole session (warm-up included)."""
    runtimes: dict[str, list[float]] = {}
    for log in logs:
        with suppress(OSError):
            for line in log.read_text(errors="replace").splitlines():
                if '"runtime"' not in line:
                    continue
                with suppress(ValueError, KeyError, TypeError):
                    data = json.loads(line)["data"]
                    runtimes.setdefault(data["name"], []).append(float(data["runtime"]))
    return {name: {"count": len(values), **{key: round(value, 2) for key, value in
                                           distribution("runtime", values).items()}}
            for name, values in sorted(runtimes.items())}


def report_head(args: argparse.Namespace, *, started: dt.datetime, load_before: list[float],
                command: str, settings: dict[str, Any]) -> dict[str, Any]:
    """What every report of bench/ begins with: its label, times, command and settings, the
    machine, the versions, the commit and the load before and after."""
    return {
        "label": args.label,
        "smoke": args.smoke,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "settings": settings,
        "machine": machine(),
        "versions": versions(),
        "git": git_revision(),
        "load_average": {"before": load_before,
                         "after": [round(v, 2) for v in os.getloadavg()]},
    }


def report_build(args: argparse.Namespace, figures: dict[str, Any], *, started: dt.datetime,
                 load_before: list[float], command: str, logs: list[Path],
                 profile: str) -> dict[str, Any]:
    ratio = ratios(figures)
    settings_ = {key: getattr(args, key) for key in (
        "workers", "concurrency", "runs", "executions", "chain_length", "fanout_executions",
        "fanout_width", "latency_count", "latency_via", "queue", "database", "log_level",
        "shapes", "baseline", "engine")} | {"profile": profile}
    return report_head(args, started=started, load_before=load_before, command=command,
                       settings=settings_) | {
        "figures": figures,
        "ratios": ratio,
        "targets": targets(figures, ratio),
        "task_runtimes": task_runtimes(logs),
    }


def results_write(report: dict[str, Any], directory: Path, name: str,
                  text: str) -> tuple[Path, Path]:
    """Write a benchmark's report as `<name>-<date>[-<label>].json` and its markdown `text`
    as `.md` in `directory`; returns both paths (every command of bench/ writes so)."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-{report['started_at'][:10]}" + (f"-{report['label']}"
                                                    if report["label"] else "")
    json_path, markdown_path = directory / f"{stem}.json", directory / f"{stem}.md"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    markdown_path.write_text(text)
    return json_path, markdown_path


def report_write(report: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    return results_write(report, directory, "engine", markdown(report))


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@dataclass
class Session:
    """What a benchmark command of bench/ runs in: its environment, the worker logs'
    directory, when it started and the machine's load then."""

    args: argparse.Namespace
    environment: dict[str, str]
    log_dir: Path
    started: dt.datetime
    load_before: list[float]

    def workers(self) -> Any:
        """`args.workers` worker processes for the time of a `with` block."""
        say(f"starting {self.args.workers} worker(s) x {self.args.concurrency} processes "
            f"(logs in {self.log_dir})")
        return workers_running(self.args.workers, self.args.concurrency, self.environment,
                               self.log_dir)

    def command(self, script: str, argv: list[str] | None) -> str:
        return " ".join([f"python3 bench/{script}", *(argv or sys.argv[1:])])


@contextmanager
def session_running(args: argparse.Namespace, prefix: str) -> Iterator[Session]:
    """The services checked, the database `args.database` created and migrated, Django set
    up and the queues purged; afterwards (also on Ctrl-C or an error) the queues deleted, the
    database dropped (unless --keep-database) and the logs removed when all went well."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    environment = bench_environment(args)
    services_check(environment)
    os.environ.update(environment)
    queue = args.queue
    queues = [queue, f"{queue}.housekeeping", f"{queue}.raw"]
    session = Session(args, environment, Path(tempfile.mkdtemp(prefix=prefix)),
                      dt.datetime.now(dt.UTC), [round(v, 2) for v in os.getloadavg()])
    ok = False
    try:
        say(f"database {args.database}: create and migrate")
        database_recreate(environment, args.database)
        import django

        sys.path.insert(0, str(ROOT))
        django.setup()
        queues_purge(queues)
        yield session
        ok = True
    finally:
        with suppress(Exception):
            queues_purge([*queues, f"{queue}.triggers", f"{queue}.triggers.dead"], delete=True)
        if not args.keep_database:
            with suppress(Exception):
                database_drop(environment, args.database)
        if ok and not args.keep_logs:
            shutil.rmtree(session.log_dir, ignore_errors=True)
        elif ok:
            say(f"worker logs kept in {session.log_dir}")
        else:
            say(f"failed; worker logs kept in {session.log_dir}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with session_running(args, "weft-bench-") as session:
        with session.workers() as running:
            figures = measure(args)
        report = report_build(args, figures, started=session.started,
                              load_before=session.load_before,
                              command=session.command("run.py", argv), logs=running.logs,
                              profile="production")
        json_path, markdown_path = report_write(report, Path(args.output))
        print(markdown(report))
        say(f"wrote {json_path} and {markdown_path}")
    return 0

if __name__ == "__main__":
    reexec_in_venv()
    sys.path.insert(0, str(ROOT))
    try:
        raise SystemExit(main())
    except BenchError as error:
        raise SystemExit(f"[bench] {error}") from None
    except KeyboardInterrupt:
        raise SystemExit("[bench] interrupted; workers stopped, queues and database removed") \
            from None
