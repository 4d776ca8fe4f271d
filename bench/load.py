#!/usr/bin/env python3
"""Load benchmarks of the whole platform: scale, the API under load, webhook triggers.

    python3 bench/load.py scale    [--executions 100000] [--runs 3] [--starters 4]
    python3 bench/load.py api      [--clients 20] [--duration 60] [--runs 3] [--seed 10000]
    python3 bench/load.py webhooks [--clients 20] [--duration 60] [--runs 3]
    python3 bench/load.py collab   [--editors 50] [--rate 1] [--duration 30] [--sockets 1000]

Like `bench/run.py` (whose machinery this reuses: services check, throwaway production
environment, its own database, workers, statistics, machine and versions), it re-executes
itself with `.venv/bin/python`. Each command:

1. checks PostgreSQL, RabbitMQ and Redis, creates its database afresh and migrates it;
2. starts the processes it measures with the production commands and profile: the ASGI
   web server (`uvicorn config.asgi:application --workers N`, N as docker-compose.yml's
   WEB_CONCURRENCY unless `--web-workers`), `celery worker` (prefork) and, for `scale`,
   `celery beat`;
3. measures `--runs` times and writes `bench/results/<command>-<date>[-<label>].json` and
   `.md`: the median, min and max over the runs of every figure, the targets, the machine;
4. always stops its processes, deletes its queues and drops its database.

(e) scale: N executions of Timer (far in the future) -> Transform are started through the
service by `--starters` threads; the time until all of them wait on their bookmark, the
database size, and the resident memory of web, worker and beat while they wait; then every
timer is made due (one UPDATE of the bookmarks' due_at: the clock reaching it), beat's
`executions.timers_fire` resumes them, and the drain rate is executions completed per second.

(f) API under load: C concurrent HTTP clients (httpx, asyncio), JWT from
`POST /api/auth/login`, for D seconds each: `GET /api/executions` (a page of 50), then
`POST /api/workflows/{id}/execute`; p50/p95/p99 latency, requests per second, non-2xx.

(g) webhooks: C clients `POST /api/hooks/{token}` to a webhook trigger (rate limit 0,
unlimited) of a one-Transform workflow for D seconds: requests accepted per second, and
executions completed per second until every accepted one has finished.

collab: E editors on one workflow's shared draft, edit -> arrival at the others, and the
web processes' memory with S idle draft sockets (`bench/collab.py` has the details).

Sizes below the defaults (or fewer than 3 runs) label the results `smoke`.
docs/performance.md explains every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import run as harness  # noqa: E402 - after the path fix above
from bench.run import BenchError, distribution, say, summary  # noqa: E402

ROOT = harness.ROOT
COMMANDS = ("scale", "api", "webhooks", "collab")
DEFAULTS = {
    "scale": {"executions": 100_000, "runs": 3},
    "api": {"clients": 20, "duration": 60, "seed": 10_000, "runs": 3},
    "webhooks": {"clients": 20, "duration": 60, "runs": 3},
    "collab": {"editors": 50, "duration": 30, "sockets": 1000, "runs": 3},
}
TARGETS = {
    "scale": [
        ("start_all_waiting_s", "100k executions started and waiting in < 10 min "
         "(scaled to N: N / 100k x 600 s)", "scaled_lt", 600.0),
        ("rss_total_mb", "web + worker + beat RSS while waiting < 1 GB", "lt", 1024.0),
        ("drain_executions_per_s", "drain >= 100 executions/s", "ge", 100.0),
    ],
    "api": [
        ("get_p95_ms", "GET /api/executions p95 < 50 ms", "lt", 50.0),
        ("post_p95_ms", "POST /api/workflows/{id}/execute p95 < 100 ms", "lt", 100.0),
    ],
    "webhooks": [
        ("accepted_per_s", "requests accepted/s (n8n: 220/s, one instance, 2 vCPUs)",
         "ge", 220.0),
        ("completed_per_s", "executions completed/s (target 100/s for a one-node workflow)",
         "ge", 100.0),
    ],
    "collab": [
        ("edit_to_arrival_p95_ms", "edit -> arrival at the other editors p95 < 100 ms "
         "(50 editors)", "lt", 100.0),
    ],
}
FAR_FUTURE = "2099-01-01T00:00:00+00:00"
OPERATOR = "bench-operator"


# --- Arguments ----------------------------------------------------------------------------


def production_web_workers() -> int:
    """The web server's processes in production: docker-compose.yml's WEB_CONCURRENCY
    default."""
    compose = (ROOT / "docker-compose.yml").read_text()
    match = re.search(r"WEB_CONCURRENCY: \$\{WEB_CONCURRENCY:-(\d+)\}", compose)
    if match is None:
        raise BenchError("docker-compose.yml's web service sets no WEB_CONCURRENCY default")
    return int(match.group(1))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--runs", type=int, default=3,
                        help="runs per figure; each figure is their median (default 3)")
    common.add_argument("--workers", type=int, default=1,
                        help="`celery worker` processes (default 1, as docker-compose.yml)")
    common.add_argument("--concurrency", type=int, default=2,
                        help="prefork processes per worker (default 2, as production)")
    common.add_argument("--web-workers", type=int, default=production_web_workers(),
                        help="uvicorn processes (default: docker-compose.yml's "
                             f"WEB_CONCURRENCY, {production_web_workers()})")
    harness.common_arguments(
        common, database="weft_bench_load", queue="weft-bench-load", timeout=3600,
        timeout_help="seconds one phase may take before the run fails",
        logs_of="the processes'")

    parser = argparse.ArgumentParser(
        description="Load benchmarks of the platform (docs/performance.md, (e) to (g)).")
    commands = parser.add_subparsers(dest="command", required=True)
    scale = commands.add_parser("scale", parents=[common],
                                help="(e) N waiting executions: start, memory, drain")
    scale.add_argument("--executions", type=int, default=DEFAULTS["scale"]["executions"],
                       help="executions started, each waiting on a Timer (default 100000)")
    scale.add_argument("--starters", type=int, default=4,
                       help="threads calling execution_start in parallel (default 4)")
    for name in ("api", "webhooks"):
        sub = commands.add_parser(name, parents=[common], help={
            "api": "(f) GET /api/executions and POST .../execute under C clients",
            "webhooks": "(g) POST /api/hooks/{token} under C clients"}[name])
        sub.add_argument("--clients", type=int, default=DEFAULTS[name]["clients"],
                         help="concurrent HTTP clients (default 20)")
        sub.add_argument("--duration", type=float, default=DEFAULTS[name]["duration"],
                         help="seconds each phase sends requests (default 60)")
    collab = commands.add_parser("collab", parents=[common],
                                 help="editors on one shared draft; idle draft sockets")
    collab.add_argument("--editors", type=int, default=DEFAULTS["collab"]["editors"],
                        help="editors on the draft at once (default 50)")
    collab.add_argument("--rate", type=float, default=1.0,
                        help="edits a second each editor makes (default 1)")
    collab.add_argument("--duration", type=float, default=DEFAULTS["collab"]["duration"],
                        help="seconds the editors edit (default 30)")
    collab.add_argument("--sockets", type=int, default=DEFAULTS["collab"]["sockets"],
                        help="idle draft sockets opened afterwards (default 1000)")
    commands.choices["api"].add_argument(
        "--seed", type=int, default=DEFAULTS["api"]["seed"],
        help="executions in the database before the first GET (default 10000)")
    commands.choices["api"].add_argument(
        "--with-workers", action="store_true",
        help="also run the workers (by default none: the executions POSTed stay queued)")
    args = parser.parse_args(argv)
    if not args.database.startswith(("weft_bench", "bench")):
        parser.error("--database must start with weft_bench or bench (it is dropped)")
    for name in ("runs", "workers", "concurrency", "web_workers", "executions", "starters",
                 "clients", "duration", "editors", "sockets"):
        if getattr(args, name, 1) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    args.smoke = is_smoke(args)
    if args.smoke and "smoke" not in args.label:
        args.label = f"{args.label}-smoke" if args.label else "smoke"
    return args


def is_smoke(args: argparse.Namespace) -> bool:
    return any(getattr(args, name) < value for name, value in DEFAULTS[args.command].items())


def environment_for(args: argparse.Namespace, data_dir: Path) -> dict[str, str]:
    """bench/run.py's production environment, plus a private DATA_DIR (beat's file)."""
    environment = harness.bench_environment(args)
    environment["DATA_DIR"] = str(data_dir)
    environment["THROTTLE_LOGIN_RATE"] = "1000000/min"
    return environment


# --- Processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Platform:
    """The processes of one benchmark, by role: web, worker, beat."""

    environment: dict[str, str]
    log_dir: Path
    base_url: str = ""
    roles: dict[str, list[subprocess.Popen]] = field(default_factory=dict)
    logs: list[Path] = field(default_factory=list)

    def start(self, role: str, command: list[str],
              extra: dict[str, str] | None = None) -> subprocess.Popen:
        log = self.log_dir / f"{role}-{len(self.roles.get(role, []))}.log"
        environment = {**os.environ, **self.environment, **(extra or {})}
        with log.open("wb") as output:
            process = subprocess.Popen(command, cwd=ROOT, env=environment,
                                       stdout=output, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.roles.setdefault(role, []).append(process)
        self.logs.append(log)
        return process

    def tail(self, lines: int = 30) -> str:
        return "\n".join(f"--- {log.name}\n" + "\n".join(
            log.read_text(errors="replace").splitlines()[-lines:]) for log in self.logs)

    def check_alive(self) -> None:
        for role, processes in self.roles.items():
            for process in processes:
                if process.poll() is not None:
                    raise BenchError(f"{role} exited ({process.returncode}):\n" + self.tail())


def web_start(platform: Platform, workers: int, timeout: float = 60) -> None:
    """The production web command (docker-compose.yml) on a free local port; the number of
    processes is given explicitly, so a WEB_CONCURRENCY in the caller's environment does
    not change it."""
    import httpx

    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "config.asgi:application",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    platform.start("web", command)
    platform.base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        platform.check_alive()
        with suppress(httpx.HTTPError):
            if httpx.get(f"{platform.base_url}/health", timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise BenchError("the web server did not answer /health:\n" + platform.tail())
        time.sleep(0.3)


def beat_start(platform: Platform) -> None:
    platform.start("beat", [sys.executable, "-m", "celery", "-A", "config", "beat",
                            "--loglevel", "INFO"])


def processes_stop(processes: list[subprocess.Popen], timeout: float = 30) -> None:
    harness.workers_stop(processes, timeout)


@contextmanager
def platform_running(args: argparse.Namespace, *, web: bool, workers: int,
                     beat: bool) -> Iterator[Platform]:
    """Database afresh, then web, workers and beat as asked; always stopped and removed."""
    log_dir = Path(tempfile.mkdtemp(prefix=f"weft-bench-{args.command}-"))
    environment = environment_for(args, log_dir / "data")
    (log_dir / "data").mkdir()
    harness.services_check(environment)
    os.environ.update(environment)
    queues = [args.queue, f"{args.queue}.raw", f"{args.queue}.housekeeping",
              f"{args.queue}.triggers", f"{args.queue}.triggers.dead"]
    platform = Platform(environment, log_dir)
    ok = False
    try:
        say(f"database {args.database}: create and migrate")
        harness.database_recreate(environment, args.database)
        import django

        django.setup()
        harness.queues_purge(queues[:3])
        with ExitStack() as stack:
            if workers:
                say(f"starting {workers} worker(s) x {args.concurrency} processes "
                    f"(logs in {log_dir})")
                running = stack.enter_context(harness.workers_running(
                    workers, args.concurrency, environment, log_dir))
                platform.roles["worker"] = running.processes
                platform.logs += running.logs
            stack.callback(lambda: processes_stop(
                [p for role, ps in platform.roles.items() if role != "worker" for p in ps]))
            if web:
                say(f"starting the web server ({args.web_workers} uvicorn process(es))")
                web_start(platform, args.web_workers)
            if beat:
                say("starting beat")
                beat_start(platform)
            yield platform
        ok = True
    finally:
        with suppress(Exception):
            harness.queues_purge(queues, delete=True)
        if not args.keep_database:
            with suppress(Exception):
                harness.database_drop(environment, args.database)
        if ok and not args.keep_logs:
            shutil.rmtree(log_dir, ignore_errors=True)
        elif ok:
            say(f"logs kept in {log_dir}")
        else:
            say(f"failed; logs kept in {log_dir}")


# --- Measuring memory ---------------------------------------------------------------------


def memory_of(processes: list[subprocess.Popen]) -> dict[str, float]:
    """RSS and PSS (MB) of the processes and all their children (prefork pool, uvicorn
    workers). RSS counts pages shared after fork once per process; PSS shares them out."""
    import psutil

    rss = pss = 0
    for process in processes:
        with suppress(psutil.Error):
            root = psutil.Process(process.pid)
            for member in [root, *root.children(recursive=True)]:
                with suppress(psutil.Error):
                    info = member.memory_full_info()
                    rss += info.rss
                    pss += getattr(info, "pss", info.rss)
    return {"rss_mb": round(rss / 2**20, 1), "pss_mb": round(pss / 2**20, 1)}


class Sampler:
    """Every second, in a thread: the peak RSS of each role and the peak number of
    connections to the benchmark's database (pg_stat_activity)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.peak: dict[str, float] = {}
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        import psycopg

        url = self.platform.environment["DATABASE_URL"]
        server, name = url.rsplit("/", 1)
        with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
            while not self._stop.wait(1.0):
                for role, processes in self.platform.roles.items():
                    rss = memory_of(processes)["rss_mb"]
                    self.peak[role] = max(self.peak.get(role, 0.0), rss)
                count = connection.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                    (name,)).fetchone()[0]
                self.connections = max(self.connections, count)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def database_size() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        total = cursor.fetchone()[0]
        cursor.execute(
            "SELECT relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' "
            "ORDER BY 2 DESC LIMIT 6")
        tables = {name: round(size / 2**20, 1) for name, size in cursor.fetchall()}
    return {"database_mb": round(total / 2**20, 1), "largest_tables_mb": tables}


# --- Workflows and the HTTP client --------------------------------------------------------


def workflow_make(nodes: list[dict[str, Any]], prefix: str,
                  settings: dict[str, Any] | None = None) -> Any:
    from workflows.services import workflow_create

    edges = [{"source": a["id"], "target": b["id"]} for a, b in zip(nodes, nodes[1:], strict=False)]
    definition = {"name": f"{prefix}-{uuid.uuid4().hex[:8]}", "namespace": "bench",
                  "nodes": nodes, "edges": edges, **({"settings": settings} if settings else {})}
    return workflow_create(definition=definition, actor=None)


def transform(node_id: str = "work") -> dict[str, Any]:
    return {"id": node_id, "type": "Transform", "data": dict(harness.NOOP)}


def operator_token(base_url: str) -> str:
    """A workflow-operators user (read + execute), logged in through POST /api/auth/login."""
    import httpx
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    password = uuid.uuid4().hex
    user, _ = get_user_model().objects.get_or_create(username=OPERATOR)
    user.set_password(password)
    user.save()
    operators = Group.objects.filter(name="workflow-operators").first()
    if operators is None:
        raise BenchError("the group workflow-operators is missing (migrations?)")
    user.groups.add(operators)
    response = httpx.post(f"{base_url}/api/auth/login", timeout=30,
                          json={"username": OPERATOR, "password": password})
    if response.status_code != 200:
        raise BenchError(f"login answered {response.status_code}: {response.text[:300]}")
    return response.json()["token"]


@dataclass
class Load:
    """The answers of one load phase: latency (s) and status of each request."""

    duration: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    bodies: list[Any] = field(default_factory=list)

    def figures(self, prefix: str) -> dict[str, float]:
        ok = sum(count for status, count in self.statuses.items() if status.startswith("2"))
        total = sum(self.statuses.values())
        return {
            f"{prefix}_requests_per_s": round(total / self.duration, 2),
            f"{prefix}_ok_per_s": round(ok / self.duration, 2),
            **distribution(prefix, self.latencies),
            f"{prefix}_non_2xx": total - ok,
        }


async def _drive(base_url: str, method: str, path: str, *, clients: int, duration: float,
                 headers: dict[str, str], body: Callable[[int], Any] | None,
                 keep_bodies: bool) -> Load:
    import httpx

    logging.getLogger("httpx").setLevel(logging.WARNING)  # a log line per request costs
    load = Load(duration)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits,
                                 timeout=60) as client:
        counter = iter(range(10**12))
        deadline = time.perf_counter() + duration

        async def one_client() -> None:
            while time.perf_counter() < deadline:
                number = next(counter)
                began = time.perf_counter()
                try:
                    response = await client.request(
                        method, path, json=body(number) if body else None)
                    status = str(response.status_code)
                except httpx.HTTPError as error:
                    status, response = type(error).__name__, None
                load.latencies.append(time.perf_counter() - began)
                load.statuses[status] = load.statuses.get(status, 0) + 1
                if keep_bodies and response is not None and status.startswith("2"):
                    load.bodies.append(response.json())

        began = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        load.duration = time.perf_counter() - began  # includes the last answers
    return load


def drive(base_url: str, method: str, path: str, **options: Any) -> Load:
    return asyncio.run(_drive(base_url, method, path, **options))


# --- (e) Scale ----------------------------------------------------------------------------


def executions_start(workflow: Any, count: int, starters: int) -> float:
    """`count` execution_start calls shared by `starters` threads; returns the seconds."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from executions.services.start import execution_start

    def chunk(size: int) -> None:
        try:
            for _ in range(size):
                execution_start(workflow=workflow, input={})
        finally:
            connections.close_all()

    sizes = [count // starters + (1 if index < count % starters else 0)
             for index in range(starters)]
    began = time.perf_counter()
    with ThreadPoolExecutor(starters) as pool:
        for future in [pool.submit(chunk, size) for size in sizes if size]:
            future.result()
    return time.perf_counter() - began


def wait_until(what: str, check: Callable[[], tuple[bool, str]], platform: Platform,
               timeout: float, interval: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    last_report = time.monotonic()
    while True:
        done, progress = check()
        if done:
            return
        platform.check_alive()
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not done after {timeout:g} s ({progress})")
        if time.monotonic() - last_report > 30:
            say(f"  {what}: {progress}")
            last_report = time.monotonic()
        time.sleep(interval)


def scale_run(args: argparse.Namespace, platform: Platform, workflow: Any) -> dict[str, Any]:
    import httpx
    from django.db.models import Max, Min
    from django.utils import timezone

    from executions.models import (
        EXECUTION_TERMINAL,
        Bookmark,
        BookmarkStatus,
        Execution,
        ExecutionStatus,
    )

    harness.Engine.reset()
    count = args.executions
    with Sampler(platform) as sampler:
        began = time.time()
        start_calls_s = executions_start(workflow, count, args.starters)
        say(f"  {count} execution_start calls in {start_calls_s:.1f} s")
        open_bookmarks = Bookmark.objects.filter(status=BookmarkStatus.OPEN)
        ended = Execution.objects.filter(workflow=workflow, status__in=EXECUTION_TERMINAL)

        def all_waiting() -> tuple[bool, str]:
            # An execution that ended before its resume (a timeout, a failed node) would
            # leave this phase waiting for it until --timeout: stop at once, with its error.
            first = ended.exclude(status=ExecutionStatus.COMPLETED).first()
            if first is not None:
                raise BenchError(f"execution {first.pk} ended {first.status} while the "
                                 f"others started: {first.error}")
            return (n := open_bookmarks.count()) >= count, f"{n}/{count} waiting"

        wait_until("waiting", all_waiting, platform, args.timeout)
        all_waiting_s = time.time() - began
        say(f"  all {count} waiting after {all_waiting_s:.1f} s")
        # What a person looking at the platform does meanwhile: the web has served pages.
        # A fresh login: at 100,000 this phase outlives an access token (15 minutes).
        token = operator_token(platform.base_url)
        with httpx.Client(base_url=platform.base_url, timeout=60,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            for _ in range(5):
                client.get("/api/executions", params={"page_size": 50}).raise_for_status()
        time.sleep(5)  # let the processes settle (no task is running now)
        memory = {role: memory_of(processes) for role, processes in platform.roles.items()}
        size = database_size()

        resumed_at = timezone.now()
        Bookmark.objects.filter(status=BookmarkStatus.OPEN).update(due_at=resumed_at)
        executions = Execution.objects.filter(workflow=workflow)
        wait_until("drain", lambda: (
            (n := executions.filter(status__in=EXECUTION_TERMINAL).count()) >= count,
            f"{n}/{count} finished"), platform, args.timeout)
    failed = executions.exclude(status=ExecutionStatus.COMPLETED).count()
    if failed:
        raise BenchError(f"{failed} executions did not complete")
    times = executions.aggregate(last=Max("finished_at"), first=Min("finished_at"))
    fired = Bookmark.objects.aggregate(last=Max("resumed_at"))["last"]
    drain_s = (times["last"] - resumed_at).total_seconds()
    fire_s = (fired - resumed_at).total_seconds()
    rss_total = round(sum(m["rss_mb"] for m in memory.values()), 1)
    pss_total = round(sum(m["pss_mb"] for m in memory.values()), 1)
    return {
        "start_calls_s": round(start_calls_s, 2),
        "start_calls_per_s": round(count / start_calls_s, 2),
        "start_all_waiting_s": round(all_waiting_s, 2),
        "start_all_waiting_per_s": round(count / all_waiting_s, 2),
        "database_mb": size["database_mb"],
        **{f"rss_{role}_mb": value["rss_mb"] for role, value in memory.items()},
        "rss_total_mb": rss_total,
        **{f"pss_{role}_mb": value["pss_mb"] for role, value in memory.items()},
        "pss_total_mb": pss_total,
        **{f"rss_peak_{role}_mb": value for role, value in sampler.peak.items()},
        "drain_s": round(drain_s, 2),
        "drain_executions_per_s": round(count / drain_s, 2),
        "timers_fired_per_s": round(count / fire_s, 2),
        "database_connections_peak": sampler.connections,
        "_largest_tables_mb": size["largest_tables_mb"],
    }


def scale_measure(args: argparse.Namespace, platform: Platform) -> list[dict[str, Any]]:
    # The longest execution timeout the contract allows (a day): at 100,000 the first
    # executions wait longer than the default 30 minutes before the drain resumes them.
    workflow = workflow_make([{"id": "wait", "type": "Timer", "data": {"at": FAR_FUTURE}},
                              transform()], "bench-scale", settings={"timeout": 86400})
    runs = []
    for number in range(1, args.runs + 1):
        say(f"run {number}/{args.runs}: {args.executions} waiting executions")
        runs.append(scale_run(args, platform, workflow))
        say(f"  {json.dumps(runs[-1])}")
    return runs


# --- (f) The API under load ---------------------------------------------------------------


def api_measure(args: argparse.Namespace, platform: Platform) -> list[dict[str, Any]]:
    from executions.models import Execution

    workflow = workflow_make([transform()], "bench-api")
    if args.seed:
        say(f"seeding {args.seed} executions")
        executions_start(workflow, args.seed, 4)
    token = operator_token(platform.base_url)
    headers = {"Authorization": f"Bearer {token}"}
    runs = []
    for number in range(1, args.runs + 1):
        say(f"run {number}/{args.runs}: GET /api/executions, {args.clients} clients, "
            f"{args.duration:g} s")
        rows = Execution.objects.count()
        with Sampler(platform) as get_sampler:
            get = drive(platform.base_url, "GET", "/api/executions?page_size=50",
                        clients=args.clients, duration=args.duration, headers=headers,
                        body=None, keep_bodies=False)
        platform.check_alive()
        say(f"run {number}/{args.runs}: POST /api/workflows/{{id}}/execute")
        with Sampler(platform) as post_sampler:
            post = drive(platform.base_url, "POST", f"/api/workflows/{workflow.pk}/execute",
                         clients=args.clients, duration=args.duration, headers=headers,
                         body=lambda n: {"input": {"n": n}}, keep_bodies=False)
        platform.check_alive()
        runs.append({**get.figures("get"), **post.figures("post"),
                     "executions_in_database": rows,
                     "database_connections_peak": max(get_sampler.connections,
                                                      post_sampler.connections),
                     "rss_web_peak_mb": max(get_sampler.peak.get("web", 0),
                                            post_sampler.peak.get("web", 0)),
                     "_statuses": {"get": get.statuses, "post": post.statuses}})
        say(f"  {json.dumps(runs[-1])}")
    return runs


# --- (g) Webhook-triggered executions -----------------------------------------------------


def webhooks_run(args: argparse.Namespace, platform: Platform, workflow: Any,
                 token: str) -> dict[str, Any]:
    from django.db.models import Max, Min

    from executions.models import EXECUTION_TERMINAL, Execution, ExecutionStatus

    harness.Engine.reset()
    with Sampler(platform) as sampler:
        load = drive(platform.base_url, "POST", f"/api/hooks/{token}", clients=args.clients,
                     duration=args.duration, headers={}, body=lambda n: {"n": n},
                     keep_bodies=False)
    stopped = time.time()
    executions = Execution.objects.filter(workflow=workflow)
    accepted = load.statuses.get("202", 0)
    backlog = executions.exclude(status__in=EXECUTION_TERMINAL).count()
    wait_until("webhook executions", lambda: (
        (n := executions.filter(status__in=EXECUTION_TERMINAL).count()) >= accepted,
        f"{n}/{accepted} finished"), platform, args.timeout)
    failed = executions.exclude(status=ExecutionStatus.COMPLETED).count()
    if failed:
        raise BenchError(f"{failed} webhook executions did not complete")
    times = executions.aggregate(first=Min("created_at"), last=Max("finished_at"))
    window = (times["last"] - times["first"]).total_seconds()
    figures = load.figures("hook")
    return {
        "accepted_per_s": round(accepted / load.duration, 2),
        "completed_per_s": round(accepted / window, 2),
        "accepted": accepted,
        "backlog_at_stop": backlog,
        "drain_after_stop_s": round(max(0.0, times["last"].timestamp() - stopped), 2),
        **{key: value for key, value in figures.items() if "_p" in key or "non_2xx" in key},
        "database_connections_peak": sampler.connections,
        "_statuses": load.statuses,
    }


def webhooks_measure(args: argparse.Namespace, platform: Platform) -> list[dict[str, Any]]:
    from workflows.triggers.webhooks import webhook_create

    workflow = workflow_make([transform()], "bench-hooks")
    _trigger, token = webhook_create(workflow=workflow, actor=None, name="bench", rate_limit=0)
    runs = []
    for number in range(1, args.runs + 1):
        say(f"run {number}/{args.runs}: POST /api/hooks/{{token}}, {args.clients} clients, "
            f"{args.duration:g} s")
        runs.append(webhooks_run(args, platform, workflow, token))
        say(f"  {json.dumps(runs[-1])}")
    return runs


# --- Reporting ----------------------------------------------------------------------------


def target_checks(command: str, figures: dict[str, Any],
                  args: argparse.Namespace) -> list[dict[str, Any]]:
    checks = []
    for key, text, kind, limit in TARGETS[command]:
        value = figures.get(key, {}).get("median")
        if kind == "scaled_lt":
            limit = limit * args.executions / 100_000
            text += f"; here {args.executions} in < {limit:g} s"
        met = None if value is None else (value < limit if kind in ("lt", "scaled_lt")
                                          else value >= limit)
        checks.append({"target": text, "figure": key, "value": value, "met": met})
    return checks


def report_build(args: argparse.Namespace, runs: list[dict[str, Any]], *,
                 started: dt.datetime, load_before: list[float], command: str) -> dict[str, Any]:
    numeric = [{k: v for k, v in run.items() if not k.startswith("_")} for run in runs]
    figures = summary(numeric)
    settings_ = {key: value for key, value in vars(args).items()
                 if key not in ("output", "label", "smoke", "keep_database", "keep_logs")}
    return {"benchmark": args.command} | harness.report_head(
        args, started=started, load_before=load_before, command=command,
        settings=settings_ | {"profile": "production"}) | {
        "figures": figures,
        "details": [{k: v for k, v in run.items() if k.startswith("_")} for run in runs],
        "targets": target_checks(args.command, figures, args),
    }


TITLES = {
    "scale": "(e) Scale: waiting executions",
    "api": "(f) API under load",
    "webhooks": "(g) Webhook-triggered executions",
    "collab": "Co-editing: editors on one shared draft, idle sockets",
}


def markdown(report: dict[str, Any]) -> str:
    settings_, machine_ = report["settings"], report["machine"]
    lines = [f"# {TITLES[report['benchmark']]}: {report['started_at'][:10]}"
             + (f" ({report['label']})" if report["label"] else ""), ""]
    if report["smoke"]:
        lines += ["**Smoke figures**: small sizes and/or fewer than 3 runs; they show that "
                  "the harness works, not how fast the platform is.", ""]
    lines += [
        f"- command: `{report['command']}`",
        f"- {settings_['runs']} run(s), median (min - max) over the runs",
        f"- processes: web {settings_['web_workers']} uvicorn process(es); "
        f"{settings_['workers_started']} worker(s) x prefork concurrency "
        f"{settings_['concurrency']}{'; beat' if report['benchmark'] == 'scale' else ''}; "
        "PLATFORM_PROFILE=production",
        f"- machine: {machine_['cores']} cores ({machine_['cpu']}), {machine_['memory_gb']} GB, "
        f"{machine_['os']}; load average before {report['load_average']['before']}, after "
        f"{report['load_average']['after']}",
        f"- Python {machine_['python']}; " + ", ".join(
            f"{name} {version}" for name, version in report["versions"].items()),
        f"- commit {report['git']['commit']}{' (dirty)' if report['git']['dirty'] else ''}",
        "", "| figure | value |", "|---|---|",
    ]
    for key, figure in report["figures"].items():
        value = (f"{figure['median']:g}" if len(figure["runs"]) == 1 else
                 f"{figure['median']:g} ({figure['min']:g} - {figure['max']:g})")
        lines.append(f"| {key} | {value} |")
    for detail in report["details"]:
        if detail:
            lines += ["", "Details of a run: `" + json.dumps(detail) + "`"]
    lines += ["", "| target | value | met |", "|---|---|---|"]
    for target in report["targets"]:
        met = {None: "not measured", True: "yes", False: "no"}[target["met"]]
        lines.append(f"| {target['target']} | "
                     f"{'-' if target['value'] is None else target['value']} | {met} |")
    return "\n".join(lines) + "\n"


def report_write(report: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    return harness.results_write(report, directory, report["benchmark"], markdown(report))


def collab_measure(args: argparse.Namespace, platform: Platform) -> list[dict[str, Any]]:
    """`bench/collab.py` (it needs pycrdt, which only the project's venv has)."""
    from bench import collab

    return collab.collab_measure(args, platform)


MEASURES = {"scale": scale_measure, "api": api_measure, "webhooks": webhooks_measure,
            "collab": collab_measure}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, harness._stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = dt.datetime.now(dt.UTC)
    load_before = [round(v, 2) for v in os.getloadavg()]
    workers = (0 if args.command == "collab" else
               args.workers if args.command != "api" or args.with_workers else 0)
    args.workers_started = workers
    if args.command == "collab":
        from bench import collab

        collab.sockets_allow(args.sockets)
    with platform_running(args, web=True, workers=workers,
                          beat=args.command == "scale") as platform:
        runs = MEASURES[args.command](args, platform)
        report = report_build(
            args, runs, started=started, load_before=load_before,
            command=" ".join(["python3 bench/load.py", *(argv or sys.argv[1:])]))
    json_path, markdown_path = report_write(report, Path(args.output))
    print(markdown(report))
    say(f"wrote {json_path} and {markdown_path}")
    return 0


if __name__ == "__main__":
    harness.reexec_in_venv(__file__)
    try:
        raise SystemExit(main())
    except BenchError as error:
        raise SystemExit(f"[bench] {error}") from None
    except KeyboardInterrupt:
        raise SystemExit("[bench] interrupted; processes stopped, queues and database removed") \
            from None
