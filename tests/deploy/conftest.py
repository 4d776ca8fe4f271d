"""What the checks of deploy/ share: Prometheus's promtool."""

from __future__ import annotations

import shutil

import pytest

from tests.workers import unavailable


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    unavailable("promtool is not installed (apt-get install prometheus; .ci/run does)")
