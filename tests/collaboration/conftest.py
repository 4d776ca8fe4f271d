import pytest

from tests.servers import collaboration_settle


@pytest.fixture(autouse=True)
def _collaboration_settles(request):
    """After a test with live sockets, let the server record their leaving first."""
    yield
    if "web" in request.fixturenames:
        collaboration_settle()
