"""Flower behind the platform's login: a real Flower process (`--url_prefix=flower`, on this
run's broker) served at /flower/ of a real web server to staff users only; what the web
server passes to Flower, seen by a peer that records it; the page in a real browser under
the platform's Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import flower as flower_package
import httpx
import pytest
from django.conf import settings
from django.test import Client

from monitoring.models import AuditLog
from tests.servers import free_port, http_ready, web_server
from tests.workers import ROOT, process_stop
from tests.workers import test_database_url as _database_url

pytestmark = pytest.mark.django_db(transaction=True)

FLOWER_LOGIN = "weft:flower-test-password"
CHROMIUM = os.environ.get("WEFT_CHROMIUM", "/usr/bin/chromium")
# Sources a policy may name without naming another origin.
OWN_SOURCES = {"'self'", "'none'", "'unsafe-inline'", "data:", "blob:"}


@dataclass
class FlowerProcess:
    """A running `celery flower` process and the file its output goes to."""

    process: subprocess.Popen
    port: int
    log: Path

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def flower_server(log_dir: Path) -> Iterator[FlowerProcess]:
    """Flower as dev.py and docker-compose start it: under /flower/, with a basic-auth login
    from its environment. It does not switch on the events of the workers it sees (other
    test runs may share the broker)."""
    port = free_port()
    log = log_dir / f"flower-{port}.log"
    env = {**os.environ, "DATABASE_URL": _database_url(), "LOG_FORMAT": "json",
           "FLOWER_BASIC_AUTH": FLOWER_LOGIN}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "flower", "--url_prefix=flower",
             f"--port={port}", "--address=127.0.0.1", "--enable_events=False"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    running = FlowerProcess(process, port, log)
    try:
        http_ready(f"{running.origin}/flower/healthcheck", process,
                   lambda: "Flower did not start:\n" + log.read_text(errors="replace"))
        yield running
    finally:
        process_stop(process)


class Recorder(ThreadingHTTPServer):
    """An HTTP peer that records each request it gets and answers 200 `recorded`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.requests: list[dict[str, Any]] = []

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _RecordingHandler(BaseHTTPRequestHandler):
    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.requests.append({
            "method": self.command, "path": self.path,
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "body": self.rfile.read(length)})
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Set-Cookie", "sessionid=from-upstream; Path=/")
        self.send_header("Content-Length", "8")
        self.end_headers()
        self.wfile.write(b"recorded")

    do_GET = do_POST = _record

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def flower(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock(), flower_server(tmp_path_factory.mktemp("flower")) as running:
        yield running


@pytest.fixture(scope="module")
def platform(flower, django_db_setup, django_db_blocker, tmp_path_factory):
    """The web server, serving that Flower at /flower/."""
    with django_db_blocker.unblock(), web_server(
            tmp_path_factory.mktemp("web-flower"), FLOWER_INTERNAL_URL=flower.origin,
            FLOWER_BASIC_AUTH=FLOWER_LOGIN) as running:
        yield running


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def recorded_platform(recorder, django_db_setup, django_db_blocker, tmp_path_factory):
    """A web server whose Flower is the recording peer."""
    with django_db_blocker.unblock(), web_server(
            tmp_path_factory.mktemp("web-recorded"), FLOWER_INTERNAL_URL=recorder.origin,
            FLOWER_BASIC_AUTH=f"{FLOWER_LOGIN},second:login") as running:
        yield running


@pytest.fixture
def staff(user_factory):
    return user_factory(username="operations", is_staff=True)


def _session(user: Any) -> dict[str, str]:
    """The session cookie of `user`, signed in as through the login page."""
    client = Client()
    client.force_login(user)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


def _inline_scripts(html: str) -> list[str]:
    return re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, flags=re.DOTALL)


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def _policy(header: str) -> dict[str, list[str]]:
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


# --- who may open it -------------------------------------------------------------------------


def test_a_staff_user_gets_flowers_dashboard_and_its_static_files(platform, staff):
    # given a staff user signed in to the platform
    with httpx.Client(base_url=platform.origin, cookies=_session(staff), timeout=30) as browser:
        # when they open /flower/
        page = browser.get("/flower/")

        # then they get Flower's dashboard, its links and assets under /flower/
        assert page.status_code == 200, page.text[:300]
        assert page.headers["content-type"].startswith("text/html")
        assert "<title>Workers · Flower</title>" in page.text
        assets = re.findall(r'(?:src|href)="(/flower/static/[^"]+)"', page.text)
        assert any("/js/flower.js" in asset for asset in assets), assets
        # and neither Flower's cookie nor its server's name come along
        assert "set-cookie" not in page.headers
        assert "Tornado" not in page.headers.get("server", "")

        # when the page's script is fetched
        script = browser.get(next(asset for asset in assets if "/js/flower.js" in asset))

    # then it is Flower's own file, byte for byte
    installed = Path(flower_package.__file__).parent / "static" / "js" / "flower.js"
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert script.content == installed.read_bytes()


def test_a_signed_in_user_who_is_not_staff_is_refused_and_it_is_audited(platform, viewer):
    # given a user of the platform who is not staff
    with httpx.Client(base_url=platform.origin, cookies=_session(viewer), timeout=30) as browser:
        # when they open Flower's dashboard and its API
        statuses = [browser.get(path).status_code for path in ("/flower/", "/flower/api/workers")]

    # then both are refused, and each refusal is a security event of the audit log
    assert statuses == [403, 403]
    refused = AuditLog.objects.filter(action="permission_denied", actor=viewer)
    assert sorted(refused.values_list("object_repr", flat=True)) == [
        "GET /flower/", "GET /flower/api/workers"]


def test_an_anonymous_browser_is_sent_to_sign_in(platform):
    # when someone without a session opens Flower
    response = httpx.get(platform.url("/flower/"), timeout=30)

    # then they are sent to the login page, and back to Flower afterwards
    assert response.status_code == 302
    assert response.headers["location"] == "/login/?next=/flower/"


def test_the_ui_links_the_platforms_flower_for_staff(settings, admin_client):
    # given the platform serving Flower and no other Flower address
    settings.FLOWER_INTERNAL_URL, settings.FLOWER_URL = "http://127.0.0.1:5555", ""

    # when a staff user opens the web UI
    page = admin_client.get("/").content.decode()

    # then its frame links /flower/
    assert '<a href="/flower/">Flower</a>' in page


# --- Flower's API through the platform -------------------------------------------------------


def test_flowers_api_answers_a_staff_user_through_the_platform(platform, worker, staff):
    # given a staff user's browser on the platform, and a worker of this run
    with httpx.Client(base_url=platform.origin, cookies=_session(staff), timeout=30) as browser:
        # when it asks Flower's API for the workers (Flower asks them over the broker)
        workers = browser.get("/flower/api/workers", params={"refresh": "1"})
        # and posts the tasks table's query, as Flower's page does, from the platform's page
        table = browser.post("/flower/tasks/datatable", headers={"Origin": platform.origin},
                             data={"draw": "3", "start": "0", "length": "10",
                                   "search[value]": "", "order[0][column]": "0",
                                   "order[0][dir]": "asc", "columns[0][data]": "name"})

    # then Flower's answers come back as JSON: the worker among the workers, the table's page
    assert workers.status_code == 200, workers.text[:300]
    assert workers.headers["content-type"].startswith("application/json")
    assert worker.name in workers.json()
    assert table.status_code == 200, table.text[:300]
    assert table.json()["draw"] == 3 and "recordsTotal" in table.json()


def test_a_post_from_another_site_is_refused(platform, staff):
    # given a staff user's session, used by a page of another site (or by no page at all)
    cookies = _session(staff)
    attempts = [{"Origin": "https://elsewhere.example"}, {"Sec-Fetch-Site": "cross-site"},
                {"Sec-Fetch-Site": "same-site", "Origin": platform.origin}, {}]

    # when each posts to Flower's API through the platform
    with httpx.Client(base_url=platform.origin, cookies=cookies, timeout=30) as browser:
        statuses = [browser.post("/flower/api/task/revoke/0", headers=headers).status_code
                    for headers in attempts]

    # then each is refused before it reaches Flower
    assert statuses == [403, 403, 403, 403]


# --- what reaches Flower ---------------------------------------------------------------------


def test_flower_gets_the_request_but_never_the_users_credentials(recorded_platform, recorder,
                                                                 staff):
    # given a staff user's browser, which also holds other cookies of the platform and sends
    # an Authorization of its own
    cookies = {**_session(staff), "csrftoken": "a" * 32}
    headers = {"Authorization": "Bearer the-users-token", "Origin": recorded_platform.origin,
               "Content-Type": "application/json", "Accept": "application/json",
               "Referer": recorded_platform.url("/flower/")}
    recorder.requests.clear()

    # when it posts JSON to Flower through the platform
    with httpx.Client(base_url=recorded_platform.origin, cookies=cookies, timeout=30) as browser:
        response = browser.post("/flower/api/task/async-apply/demo?countdown=5",
                                content=b'{"args": [1, 2]}', headers=headers)

    # then Flower got the method, path, query, body and what the content is
    assert response.status_code == 200 and response.text == "recorded"
    (received,) = recorder.requests
    assert (received["method"], received["path"], received["body"]) == (
        "POST", "/flower/api/task/async-apply/demo?countdown=5", b'{"args": [1, 2]}')
    assert received["headers"]["content-type"] == "application/json"
    assert received["headers"]["accept"] == "application/json"
    # and the platform's login to Flower (the first one), not the user's cookies or token,
    # nor where the browser came from
    login = base64.b64encode(FLOWER_LOGIN.encode()).decode()
    assert received["headers"]["authorization"] == f"Basic {login}"
    assert "cookie" not in received["headers"]
    assert not {"origin", "referer"} & received["headers"].keys()
    # and Flower's cookies stay off the platform's origin
    assert "set-cookie" not in response.headers


# --- the pages under the platform's Content-Security-Policy ----------------------------------


def test_the_policy_admits_no_other_origin_and_only_flowers_known_inline_script(platform, staff):
    # given Flower's dashboard through the platform
    cookies = _session(staff)
    page = httpx.get(platform.url("/flower/"), cookies=cookies, timeout=30)

    # when its policy and its inline scripts are read
    policy = _policy(page.headers["content-security-policy"])
    inline = _inline_scripts(page.text)

    # then no directive names another origin: only the platform's own, data: and blob:, and
    # the hashes of scripts
    named = {source for sources in policy.values() for source in sources}
    assert {source for source in named if not source.startswith("'sha256-")} <= OWN_SOURCES
    # and the page's inline script is admitted by its hash, nothing else inline
    assert inline and {_sha256(script) for script in inline} <= set(policy["script-src"])
    assert "'unsafe-inline'" not in policy["script-src"]
    # and every script and style comes from the platform's origin
    loaded = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page.text)
    assert loaded and all(ref.startswith("/flower/static/") for ref in loaded), loaded


def test_flowers_pages_work_in_a_browser_under_the_policy(platform, staff):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    # given a staff user's session (made before the browser's event loop runs)
    cookie = _session(staff)[settings.SESSION_COOKIE_NAME]
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        context = browser.new_context(base_url=platform.origin)
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie,
                              "url": platform.origin}])
        page = context.new_page()
        page.on("console", lambda message: problems.append(message.text)
                if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
        other_origins: list[str] = []
        page.on("request", lambda request: other_origins.append(request.url)
                if not request.url.startswith((platform.origin, "data:")) else None)

        # when they open the workers and the tasks pages and the tables fill in
        for path in ("/flower/", "/flower/tasks"):
            page.goto(path)
            page.wait_for_selector("table tbody tr")
            page.wait_for_load_state("networkidle")
        browser.close()

    # then nothing was refused by the policy, failed or loaded from another origin
    assert problems == [] and other_origins == []


# --- when Flower is not there ----------------------------------------------------------------


def test_without_flowers_address_the_page_says_so(settings, admin_client):
    settings.FLOWER_INTERNAL_URL = ""
    response = admin_client.get("/flower/")
    assert response.status_code == 404 and b"FLOWER_INTERNAL_URL" in response.content


def test_an_unreachable_flower_is_a_bad_gateway(settings, admin_client):
    settings.FLOWER_INTERNAL_URL = f"http://127.0.0.1:{free_port()}"
    response = admin_client.get("/flower/")
    assert response.status_code == 502 and b"cannot be reached" in response.content


def test_flower_refusing_the_platforms_login_is_a_bad_gateway(settings, admin_client, flower):
    # given the real Flower, which asks for a login, and a platform that has none for it
    settings.FLOWER_INTERNAL_URL, settings.FLOWER_BASIC_AUTH = flower.origin, []
    response = admin_client.get("/flower/api/workers")
    # then the staff user is told what to set, and no login prompt is passed on
    assert response.status_code == 502 and b"FLOWER_BASIC_AUTH" in response.content
    assert "WWW-Authenticate" not in response.headers


def test_a_body_over_the_limit_is_refused(settings, admin_client):
    settings.FLOWER_INTERNAL_URL, settings.FLOWER_PROXY_MAX_BODY_BYTES = "http://flower:5555", 16
    response = admin_client.post("/flower/api/task/async-apply/demo", data=b"x" * 17,
                                 content_type="application/json",
                                 headers={"Origin": "http://testserver"})
    assert response.status_code == 413 and b"FLOWER_PROXY_MAX_BODY_BYTES" in response.content
