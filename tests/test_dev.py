"""dev.py: its help lists the settings a first run needs, and `up` prints its URLs only
once each server listens."""

from __future__ import annotations

import importlib.util
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_dev(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "dev.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="module")
def dev():
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("flag", ["--help", "-h", "help"])
def test_help_prints_the_usage_and_the_settings_and_succeeds(flag):
    # when a person asks dev.py for help
    result = run_dev(flag)
    # then it prints the commands and the settings `up` reads, and exits 0
    assert result.returncode == 0, result.stderr
    for text in ["dev.py up", "dev.py test", "PORT=8000", "FLOWER_PORT=5555",
                 "EMBEDDED_REDIS_PORT=6399", "WORKFLOW_HTTP_ALLOWED_HOSTS="]:
        assert text in result.stdout
    # and every setting it names is documented
    documented = (ROOT / "docs" / "configuration.md").read_text()
    named = re.findall(r"^  ([A-Z_]+)=", result.stdout, flags=re.MULTILINE)
    assert len(named) >= 10
    assert [name for name in named if f"`{name}`" not in documented] == []


def test_an_unknown_command_prints_the_usage_and_fails():
    result = run_dev("start")
    assert result.returncode == 2 and "PORT=8000" in result.stderr


def test_the_urls_are_printed_once_the_server_listens(dev, capsys):
    # given a server's port that is bound but does not listen yet
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    pending = [("127.0.0.1", port, [("admin", f"http://127.0.0.1:{port}/admin/")])]
    try:
        # when dev.py looks, then it prints nothing and keeps waiting
        assert dev.announce(pending) == pending
        assert "/admin/" not in capsys.readouterr().out
        # when the server listens, then its URLs are printed, once
        server.listen()
        assert dev.announce(pending) == []
        assert f"http://127.0.0.1:{port}/admin/" in capsys.readouterr().out
    finally:
        server.close()
