"""A real web server process (uvicorn on `config.asgi`) for tests, on the test database and
the run's real channel layer, and a websocket client for it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.workers import ROOT, process_stop, test_database_url


@contextmanager
def json_peer(answer: Callable[[str], tuple[int, Any]]) -> Iterator[str]:
    """A local HTTP peer in a thread, standing in for a service whose answer a test must
    choose: `answer(path)` gives (status, JSON body) for each GET. Yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            status, document = answer(self.path)
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class WebServer:
    """A running uvicorn process and the file its output goes to."""

    process: subprocess.Popen
    port: int
    log: Path

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @asynccontextmanager
    async def websocket(self, path: str, **kwargs: Any) -> Any:
        """A websocket to `path`, sent with the server's own origin as a browser would."""
        async with connect(self.ws_url(path), origin=self.origin, open_timeout=10,
                           ping_interval=None, **kwargs) as websocket:
            yield websocket


async def receive_json(websocket: ClientConnection, timeout: float = 10) -> Any:
    """The next text frame, parsed."""
    import asyncio

    return json.loads(await asyncio.wait_for(websocket.recv(), timeout))


async def receive_presence(websocket: ClientConnection, timeout: float = 10) -> Any:
    """The next frame of the collaboration socket that is not a collaboration `event`
    (joins and leaves are events as well as presence frames)."""
    while (frame := await receive_json(websocket, timeout))["type"] == "event":
        pass
    return frame


async def receive_event(websocket: ClientConnection, kinds: set[str],
                        timeout: float = 10) -> Any:
    """The next collaboration `event` frame of one of `kinds`, skipping other frames."""
    while True:
        frame = await receive_json(websocket, timeout)
        if frame["type"] == "event" and frame["event"]["kind"] in kinds:
            return frame


def collaboration_settle(timeout: float = 10) -> None:
    """Wait until every person who joined a workflow's collaboration has been recorded as
    having left, and every draft's last edit validated: the web server writes both after
    the client has gone, and a test's database flush must not run into those writes."""
    import time

    from django.db.models import Count, F, Q

    from collaboration.models import CollaborationEvent, Draft

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = CollaborationEvent.objects.aggregate(
            joined=Count("id", filter=Q(kind="joined")), left=Count("id", filter=Q(kind="left")))
        validating = Draft.objects.filter(report_seq__lt=F("last_seq")).exists()
        if counts["joined"] <= counts["left"] and not validating:
            return
        time.sleep(0.05)


# The token the tests' web servers admit scrapers of /metrics with, and what a scraper sends.
METRICS_TOKEN = "metrics-token-of-the-tests"
METRICS_HEADERS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def http_ready(url: str, process: subprocess.Popen, failure: Callable[[], str],
               timeout: float = 60) -> None:
    """Wait until `url` answers 200; RuntimeError(`failure()`) when `process` ends first or
    `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(failure())
        time.sleep(0.2)


@contextmanager
def web_server(log_dir: Path, *, access_log: bool = False, **env: str) -> Iterator[WebServer]:
    """Start the ASGI web server against the test database, wait until it answers;
    `access_log` keeps uvicorn's line per request in its output."""
    port = free_port()
    log = log_dir / f"web-{port}.log"
    environment = {**os.environ, "DATABASE_URL": test_database_url(), "LOG_FORMAT": "json",
                   "METRICS_TOKEN": METRICS_TOKEN, **env}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1",
             *([] if access_log else ["--no-access-log"])],
            cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT,
        )
    server = WebServer(process, port, log)
    try:
        http_ready(server.url("/health"), process, lambda: "the test web server did not "
                   "start:\n" + server.output())
        yield server
    finally:
        process_stop(process)
