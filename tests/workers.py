"""Real Celery worker processes for tests, on the broker and database of the test run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
from django.db import connection

from tests.nodetypes import TEST_NODE_TYPES

ROOT = Path(__file__).resolve().parent.parent


def unavailable(reason: str) -> NoReturn:
    """A tool or service a test needs is missing: a failure in CI (CI=true), where every
    part must be there, and a skip with `reason` elsewhere."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(reason)
    pytest.skip(reason)


def process_stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a process a test started: SIGTERM, and SIGKILL when it has not ended within
    `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_database_url() -> str:
    """The URL of the database pytest-django created, for processes outside this one."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    credentials = settings["USER"] or ""
    if settings["PASSWORD"]:
        credentials += f":{settings['PASSWORD']}"
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{settings['NAME']}"


@dataclass
class Worker:
    """A running `celery worker` process and the file its log lines go to."""

    name: str
    process: subprocess.Popen
    log: Path

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def wait_idle(self, timeout: float = 15) -> None:
        """Until the worker holds no task (twice in a row): what a test started is done."""
        from config.celery import app

        deadline, quiet = time.monotonic() + timeout, 0
        while quiet < 2 and time.monotonic() < deadline:
            inspect = app.control.inspect(destination=[self.name], timeout=0.5)
            busy = [*(inspect.active() or {}).get(self.name, []),
                    *(inspect.reserved() or {}).get(self.name, [])]
            quiet = 0 if busy else quiet + 1
            time.sleep(0.1)


@contextmanager
def celery_worker(log_dir: Path, concurrency: int = 1) -> Iterator[Worker]:
    """Start a worker against the test database and wait until it answers a ping."""
    from config.celery import app

    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    log = log_dir / f"{name}.log"
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "LOG_FORMAT": "json",
        "WORKFLOW_NODE_TYPES": TEST_NODE_TYPES,
        # The tests' own HTTP, SMTP and FTP peers listen on loopback.
        "WORKFLOW_HTTP_ALLOWED_HOSTS": os.environ.get("WORKFLOW_HTTP_ALLOWED_HOSTS",
                                                      "127.0.0.1,::1,localhost"),
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
             "--concurrency", str(concurrency), "--hostname", name, "--without-gossip",
             "--without-mingle"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    worker = Worker(name, process, log)
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[name], timeout=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the test worker did not start:\n" + "\n".join(worker.lines()))
        yield worker
    finally:
        process_stop(process)


@contextmanager
def celery_beat(directory: Path, **env: str) -> Iterator[tuple[subprocess.Popen, Path]]:
    """A `celery beat` process with the default scheduler and its own schedule file, on the
    test database and this run's broker and Redis; its log goes to `directory/beat.log`."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "beat.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
             "-s", str(directory / "schedule")],
            cwd=ROOT, env={**os.environ, "DATABASE_URL": test_database_url(), **env},
            stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        yield process, log
    finally:
        process_stop(process, timeout=10)
