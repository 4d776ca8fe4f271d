"""Project-wide checks: migrations, the OpenAPI schema, settings safety, documentation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


def test_openapi_schema_builds_without_warnings(tmp_path):
    # --fail-on-warn turns every warning of drf-spectacular into a failure
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ["/api/workflows:", "/api/workflows/{id}/diff:", "/api/nodes/types:",
                 "/api/secrets:", "/api/audit:", "/api/auth/login:"]:
        assert path in text


@pytest.mark.django_db
def test_every_operation_documents_the_errors_any_page_may_answer(client_for, viewer):
    from drf_spectacular.generators import SchemaGenerator

    # given the published schema, and a page whose view itself never refuses its input
    schema = SchemaGenerator().get_schema(request=None, public=True)
    refused = client_for(viewer).get("/api/workflows?%00=1")
    # then the 400 a NUL in any query gets is documented on every operation, and the 413
    # of a body over the limit on every operation that reads a body
    assert refused.status_code == 400 and refused.json()["details"]["fields"]
    operations = [(method, path, operation) for path, item in schema["paths"].items()
                  for method, operation in item.items()]
    assert len(operations) > 50
    assert [f"{method} {path}" for method, path, operation in operations
            if "400" not in operation["responses"]] == []
    assert [f"{method} {path}" for method, path, operation in operations
            if "requestBody" in operation and "413" not in operation["responses"]] == []


@pytest.mark.django_db
def test_schema_and_docs_need_authentication(client, client_for, viewer):
    assert client.get("/api/schema/").status_code == 401
    assert client.get("/api/docs/")["Location"] == "/login/?next=/api/docs/"
    assert client_for(viewer).get("/api/schema/").status_code == 200


def _settings_import(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=ROOT, env={**clean, **env}, capture_output=True, text=True,
    )


def test_production_refuses_the_development_secret_key():
    result = _settings_import(PLATFORM_PROFILE="production", SECRETS_KEYS="x" * 44)
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_production_refuses_debug():
    result = _settings_import(
        PLATFORM_PROFILE="production", SECRET_KEY="k" * 50, DEBUG="true", SECRETS_KEYS="x" * 44
    )
    assert result.returncode != 0 and "DEBUG" in result.stderr


def test_production_needs_secrets_keys():
    result = _settings_import(PLATFORM_PROFILE="production", SECRET_KEY="k" * 50)
    assert result.returncode != 0 and "SECRETS_KEYS" in result.stderr


def test_a_channel_layer_timeout_within_its_blocking_read_is_refused():
    # the layer's blocking read is the one channels_redis uses
    from channels_redis.core import RedisChannelLayer
    from django.conf import settings

    assert RedisChannelLayer.brpop_timeout == settings.CHANNELS_REDIS_BLOCKING_READ
    # and a socket timeout that would cut it short stops the start
    result = _settings_import(CHANNEL_LAYER_SOCKET_TIMEOUT="5")
    assert result.returncode != 0 and "CHANNEL_LAYER_SOCKET_TIMEOUT" in result.stderr


def test_production_starts_with_safe_values():
    result = _settings_import(
        PLATFORM_PROFILE="production", SECRET_KEY="k" * 50, SECRETS_KEYS="x" * 44
    )
    assert result.returncode == 0, result.stderr


def test_every_environment_variable_is_documented():
    from config.env import VARIABLES

    documented = (ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in VARIABLES if f"`{name}`" not in documented]
    assert missing == []


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout():
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip(f"checks the embedded default's SQLite; this run uses {connection.vendor}")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal = cursor.fetchone()[0]
        cursor.execute("PRAGMA busy_timeout")
        busy_timeout = cursor.fetchone()[0]
    assert journal == "wal" and busy_timeout >= 5000


def test_the_web_server_borrows_database_connections_from_a_bounded_pool():
    # Under ASGI each request's sync code runs in a thread of its own; persistent
    # per-thread connections would pile up to PostgreSQL's max_connections.
    script = ("import json, django; django.setup(); from django.conf import settings; "
              "db = settings.DATABASES['default']; "
              "print(json.dumps([db['CONN_MAX_AGE'], db.get('OPTIONS', {}).get('pool')]))")
    inherited = {k: v for k, v in os.environ.items() if k != "WEFT_ASGI"}
    env = {**inherited, "DATABASE_URL": "postgres://weft@db.invalid:5432/weft",
           "DJANGO_SETTINGS_MODULE": "config.settings"}

    def database_settings(**extra: str) -> list:
        result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**env, **extra},
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    assert database_settings(WEFT_ASGI="1", DATABASE_POOL_MAX_SIZE="7") == [
        0, {"min_size": 1, "max_size": 7, "timeout": 10}]
    assert database_settings()[1] is None  # workers keep a persistent connection each
