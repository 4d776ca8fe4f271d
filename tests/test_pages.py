"""The platform's HTML pages: the web UI's frame, the API docs, the admin; what they load."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from executions import services
from executions.models import Bookmark
from tests.engine import workflow_from

pytestmark = pytest.mark.django_db

ORIGIN = "http://testserver"
UI_PAGES = ["/", "/workflows/new/", "/runs/", "/inbox/", "/triggers/"]
PAGE_LIMIT = 400  # every admin page of the fixture's data is fewer than this
# Links that change state on GET or end the session; every other admin link is followed.
SKIP = re.compile(r"/logout/|/delete/|/password/")


class _References(HTMLParser):
    """Every `src`, `href`, `action` and `srcset` in a page, with the tag it is on."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "action", "srcset", "poster", "data"} and value:
                self.found.append((tag, value))


def _references(html: str) -> list[tuple[str, str]]:
    parser = _References()
    parser.feed(html)
    return parser.found


def _foreign(url: str, base: str) -> bool:
    absolute = urljoin(base, url.strip())
    parts = urlsplit(absolute)
    if parts.scheme in {"data", "blob", "javascript", "mailto"}:
        return parts.scheme == "javascript"
    return f"{parts.scheme}://{parts.netloc}" != ORIGIN


def _is_html(response) -> bool:
    return response.status_code == 200 and response["Content-Type"].startswith("text/html")


def _walk(client: Client, start: list[str]) -> dict[str, object]:
    """Every HTML page reachable from `start` through same-origin links (one per path)."""
    pages: dict[str, object] = {}
    queue, seen = list(start), set(start)
    while queue and len(pages) < PAGE_LIMIT:
        url = queue.pop(0)
        response = client.get(url, follow=True)
        if not _is_html(response):
            continue
        pages[url] = response
        for tag, reference in _references(response.content.decode()):
            if tag != "a":
                continue
            target = urlsplit(urljoin(ORIGIN + url, reference))
            path = target.path
            if (f"{target.scheme}://{target.netloc}" == ORIGIN and path.startswith("/admin/")
                    and not SKIP.search(path) and path not in seen):
                seen.add(path)
                queue.append(path)
    return pages


@pytest.fixture
def superuser_client(client, user_factory, editor):
    flow = workflow_from({"name": "pages", "nodes": [
        {"id": "ask", "type": "UserAction",
         "data": {"assignee": "role:manager", "prompt": "OK?", "outcomes": ["yes", "no"]}},
    ], "edges": []}, editor)
    execution, _ = services.execution_start(workflow=flow, input={"x": 1})
    # the wait the worker would open, so that its answer page is walked too
    Bookmark.objects.create(execution=execution, node_id="ask", kind="user_action",
                            token="t" * 32, assignee="role:manager",
                            request={"prompt": "OK?", "outcomes": ["yes", "no"], "form": None})
    admin = user_factory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_no_page_loads_anything_from_another_origin(client, superuser_client):
    # given an anonymous browser and a signed-in administrator
    anonymous = Client()
    # when they walk every HTML page: the UI's pages, the login pages, the API docs and
    # every admin page of a platform holding a workflow and an execution
    pages = {url: anonymous.get(url, follow=True) for url in ["/", "/login/", "/admin/login/"]}
    pages.update(_walk(superuser_client, [*UI_PAGES, "/api/docs/", "/admin/"]))
    # then there are many, each an HTML page, none referring to another origin
    assert len(pages) > 30
    foreign = {
        url: [ref for _, ref in _references(page.content.decode()) if _foreign(ref, ORIGIN + url)]
        for url, page in pages.items()
    }
    assert {url: refs for url, refs in foreign.items() if refs} == {}
    # and none shows a time rounded to the minute ("4:20 p.m."): times are ISO 8601
    rounded = re.compile(r"\b\d{1,2}(:\d\d)? [ap]\.m\.|\bmidnight\b|\bnoon\b")
    assert [url for url, page in pages.items() if rounded.search(page.content.decode())] == []
    assert any("/answer/" in url for url in pages)


def test_every_response_forbids_other_origins(client, superuser_client):
    # when a page, the API docs and an API answer are fetched
    for url in ["/", "/login/", "/admin/", "/api/docs/", "/api/workflows", "/admin/login/"]:
        policy = superuser_client.get(url)["Content-Security-Policy"]
        # then the policy names no other origin and runs no inline script
        directives = dict(
            (part.split()[0], part.split()[1:]) for part in policy.split(";") if part.strip())
        assert directives["default-src"] == ["'self'"]
        assert directives["script-src"] == ["'self'"]
        assert directives["frame-ancestors"] == ["'none'"]
        sources = [s for values in directives.values() for s in values]
        assert all(s.startswith("'") or s in {"data:", "blob:"} for s in sources), policy


def test_the_api_docs_are_served_from_the_platform(superuser_client):
    # when a signed-in browser opens the API docs
    page = superuser_client.get("/api/docs/")
    # then Swagger UI comes from the platform's static files, its script out of the page
    assert page.status_code == 200
    html = page.content.decode()
    scripts = [ref for tag, ref in _references(html) if tag == "script"]
    assert scripts and "<script>" not in html
    static = [ref for tag, ref in _references(html) if ref.startswith("/static/")]
    assert any("swagger-ui-bundle.js" in ref for ref in static)
    for ref in static:
        assert finders.find(ref.removeprefix("/static/")), ref
    init = superuser_client.get(next(ref for ref in scripts if "script" in ref.split("?")[-1]))
    assert init.status_code == 200 and b"SwaggerUIBundle" in init.content


def test_an_anonymous_browser_is_sent_to_log_in_and_back_to_the_docs():
    # when a browser without a session opens the API docs
    response = Client().get("/api/docs/")
    # then it is sent to the login page, which brings it back to the docs
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/api/docs/"


def test_the_schema_stays_a_401_for_api_clients(anonymous):
    response = anonymous.get("/api/schema/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_the_ui_needs_a_session_and_sends_a_browser_to_sign_in():
    for url in UI_PAGES:
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"] == f"/login/?next={url}"


def test_the_frame_links_what_the_platform_serves_to_staff(settings, superuser_client, viewer):
    # given Flower's address
    settings.FLOWER_URL = "http://127.0.0.1:5555/"
    # when a staff user and a viewer open /
    staff = superuser_client.get("/")
    viewing = Client()
    viewing.force_login(viewer)
    plain = viewing.get("/")
    # then the staff's frame links the admin, the API docs and Flower; the viewer's the docs
    links = {ref for tag, ref in _references(staff.content.decode()) if tag == "a"}
    assert {"/admin/", "/api/docs/", "http://127.0.0.1:5555/"} <= links
    links = {ref for tag, ref in _references(plain.content.decode()) if tag == "a"}
    assert "/api/docs/" in links
    assert "/admin/" not in links and "http://127.0.0.1:5555/" not in links


def test_every_page_loads_its_built_script_and_styles(superuser_client):
    for url in UI_PAGES:
        html = superuser_client.get(url).content.decode()
        assets = [ref for tag, ref in _references(html) if ref.startswith("/static/ui/")]
        assert any(ref.endswith(".js") for ref in assets) and any(
            ref.endswith(".css") for ref in assets), url
        for ref in assets:
            assert finders.find(ref.removeprefix("/static/")), ref


def test_the_admins_view_site_link_leads_to_a_page(superuser_client):
    page = superuser_client.get("/admin/").content.decode()
    site = re.search(r'<a href="([^"]+)">View site</a>', page).group(1)
    assert superuser_client.get(site).status_code == 200


def test_the_icon_is_served_for_every_page(superuser_client):
    html = superuser_client.get("/").content.decode()
    icon = next(ref for tag, ref in _references(html) if ref.endswith("favicon.svg"))
    assert finders.find(icon.removeprefix("/static/"))
    assert superuser_client.get("/favicon.ico")["Location"] == icon
