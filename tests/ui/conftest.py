"""The web UI in a real browser: Debian's Chromium driven by Playwright, against the real
platform (the session's uvicorn web server and Celery worker on the test database)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import collaboration_settle
from tests.workers import ROOT, unavailable

CHROMIUM = os.environ.get("WEFT_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("WEFT_SCREENSHOTS", ROOT / "build" / "screenshots"))
# Playwright's synchronous API keeps an event loop in this thread; the tests' own ORM calls
# (given: a user, a workflow) are synchronous all the same, so Django is told they are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _chromium_or_skip() -> str:
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return CHROMIUM
    reason = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    unavailable(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking"],
        )
        yield launched
        launched.close()


class BrowserErrors(list):
    """What the page reported as broken: uncaught exceptions, console errors (a script or
    a style refused by the Content-Security-Policy shows up here), failed requests."""

    def assert_none(self) -> None:
        assert list(self) == [], "\n".join(self)


@pytest.fixture
def open_page(browser, web, transactional_db) -> Iterator[Callable[..., Any]]:
    """`open_page(user, path)`: a new browser context signed in as `user` (a session made
    as the login form would), at `path`; the page's errors are collected and must stay
    empty unless the test cleared them. A designer on a saved workflow is present on it
    (docs/collaboration.md): once the pages are closed, the server records their leaving
    before the test's tables are emptied."""
    from django.conf import settings
    from django.test import Client

    contexts: list[Any] = []
    collected: list[BrowserErrors] = []

    def make(user: Any, path: str = "/", *, viewport: dict | None = None) -> Any:
        context = browser.new_context(base_url=web.origin,
                                      viewport=viewport or {"width": 1400, "height": 900})
        contexts.append(context)
        if user is not None:
            client = Client()
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME]
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value,
                                  "url": web.origin}])
        page = context.new_page()
        errors = BrowserErrors()
        collected.append(errors)
        page.errors = errors
        page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
        page.on("console", lambda message: errors.append(f"console {message.type}: {message.text}")
                if message.type == "error" and not _expected(message.text) else None)
        page.set_default_timeout(15_000)
        page.goto(path)
        return page

    yield make
    for context in contexts:
        context.close()
    collaboration_settle()
    for errors in collected:
        errors.assert_none()


def _expected(text: str) -> bool:
    """Console errors a test provokes on purpose: the API's own 4xx answers are shown on the
    page, and Chromium logs the failed fetch as well."""
    return "the server responded with a status of 4" in text


@pytest.fixture
def screenshot(request) -> Callable[[Any, str], Path]:
    """`screenshot(page, name)`: a full-page PNG under build/screenshots/ (not in git)."""

    def take(page: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


# A workflow of two nodes for two people's pages, side by side, so that the fitted view
# keeps them clear of the minimap (bottom right).
TOGETHER = {"name": "together", "nodes": [
    {"id": "fetch", "type": "Logger", "data": {"message": "fetch"}, "position": {"x": 0, "y": 0}},
    {"id": "report", "type": "Logger", "data": {"message": "report"},
     "position": {"x": 320, "y": 0}}],
    "edges": [{"source": "fetch", "target": "report"}]}


def serious_accessibility_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            f"{[node['target'] for node in violation['nodes']][:3]}"
            for violation in results.response["violations"]
            if violation["impact"] in {"serious", "critical"}]
