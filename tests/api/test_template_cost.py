"""A template's cost is bounded: checking a definition computes nothing, so the web process
stays responsive while the heaviest definition is validated."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest

from tests.conftest import PASSWORD
from tests.servers import web_server

# Constant arithmetic and filters a compiler folding constants would compute on the spot:
# minutes of one core, or gigabytes.
HEAVY = ["9**(9**8) > 1", "'x' * (10**9) == ''", "('x' | center(999999999)) == ''",
         "('%0999999999d' % 1) == ''"]


def _post(url: str, body: dict, token: str | None = None, timeout: float = 120) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read())


@pytest.mark.django_db(transaction=True)
def test_health_answers_while_the_heaviest_definition_is_validated(viewer, tmp_path):
    # given the web server, and a viewer (workflow.read) logged in
    with web_server(tmp_path) as server:
        base = server.origin
        token = _post(f"{base}/api/auth/login",
                      {"username": viewer.username, "password": PASSWORD})["token"]
        definition = {"name": "heavy", "nodes": [
            {"id": f"c{index}", "type": "Conditional", "data": {"expression": expression}}
            for index, expression in enumerate(HEAVY)], "edges": []}
        answers: list[dict] = []
        # when the viewer validates a definition made of the heaviest constant expressions,
        # several times at once
        senders = [threading.Thread(target=lambda: answers.append(
            _post(f"{base}/api/workflows/validate", {"definition": definition}, token)))
            for _ in range(3)]
        for sender in senders:
            sender.start()
        # then /health on the same process answers within a second all along
        slowest = 0.0
        while any(sender.is_alive() for sender in senders):
            started = time.monotonic()
            urllib.request.urlopen(f"{base}/health", timeout=10).close()  # noqa: S310
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.05)
        for sender in senders:
            sender.join()
    assert slowest < 1.0
    # and the definition was checked (it parses; the values are refused when it runs)
    assert len(answers) == 3 and all(answer["valid"] for answer in answers)


@pytest.mark.django_db
@pytest.mark.parametrize("expression", ["(" * 5000 + "1" + ")" * 5000, "1" * 5000])
def test_an_expression_nesting_too_deeply_is_a_problem_of_its_node_not_a_500(
        client_for, viewer, expression):
    # given a Conditional whose expression nests deeper than Python compiles, or holds a
    # number longer than Python reads
    definition = {"name": "deep", "nodes": [
        {"id": "deep", "type": "Conditional", "data": {"expression": expression}}], "edges": []}
    # when it is validated
    response = client_for(viewer).post("/api/workflows/validate", {"definition": definition},
                                       format="json")
    # then the answer names the node and the field
    assert response.status_code == 200
    [problem] = response.json()["errors"]
    assert (problem["code"], problem["node"], problem["field"]) == (
        "expression_syntax", "deep", "nodes[0].data.expression")
