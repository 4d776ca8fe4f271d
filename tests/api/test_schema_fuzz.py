"""Property-based requests generated from the OpenAPI schema never get a server error.

Schemathesis builds requests for every operation the schema publishes, valid and
invalid, and sends them to the WSGI application as an authenticated superuser (so the
requests reach the views instead of stopping at permission checks). Any 5xx, or a
response that contradicts the schema's documented statuses and content types, fails.

CI sends the same 15 examples per operation every run. A longer, random search, for a
hunt before a release: `WEFT_FUZZ_EXAMPLES=500 python3 dev.py test tests/api/test_schema_fuzz.py`
(each run draws new examples; a failure prints the request that reproduces it).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from config.tokens import access_token_issue

EXAMPLES_PER_OPERATION = int(os.environ.get("WEFT_FUZZ_EXAMPLES", "15"))
SEARCH = "WEFT_FUZZ_EXAMPLES" in os.environ  # a hunt draws new examples; CI repeats its own

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()


@pytest.fixture
def superuser_token(django_user_model) -> str:
    user = django_user_model.objects.create_superuser("fuzz", "fuzz@example.com", "fuzz-pass")
    return str(access_token_issue(user=user))


@pytest.fixture
def _in_test_transaction(db):
    """Like Django's test client: requests must not close the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.usefixtures("_in_test_transaction")
@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=not SEARCH,
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_with_a_server_error(case, superuser_token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {superuser_token}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance],
    )
