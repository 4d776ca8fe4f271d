"""What the monitoring tests share: the metrics token their `/metrics` requests send."""

from __future__ import annotations

import pytest

from tests.servers import METRICS_TOKEN


@pytest.fixture(autouse=True)
def _metrics_token(settings):
    """This process's `/metrics` admits the tests' token (tests.servers.METRICS_HEADERS), as
    the tests' web servers do."""
    settings.METRICS_TOKEN = METRICS_TOKEN
