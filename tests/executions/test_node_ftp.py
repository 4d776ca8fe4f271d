"""FtpTransfer against a real FTP server on loopback (pyftpdlib), rooted in a temporary folder."""

from __future__ import annotations

import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

from executions.services.external import external_call
from tests.engine import attempt, attempt_fault, attempt_output, run
from workflows import services as workflow_services
from workflows.nodes.builtin.integration import FtpTransfer
from workflows.nodes.faults import FaultClass

USER, PASSWORD = "weft", "ftp-pa55word"


@dataclass
class FtpServer:
    home: Path
    port: int

    def url(self, password: str = PASSWORD) -> str:
        return f"ftp://{USER}:{password}@127.0.0.1:{self.port}"


@pytest.fixture
def ftp_server(tmp_path) -> Iterator[FtpServer]:
    """A real FTP server in a thread on a free port, serving a temporary folder."""
    home = tmp_path / "ftp-home"
    home.mkdir()
    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(home), perm="elradfmwMT")
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer,
                                              "auth_failed_timeout": 0.01})
    server = FTPServer(("127.0.0.1", 0), handler)
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            server.serve_forever(timeout=0.05, blocking=False)
        server.close_all()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield FtpServer(home, server.address[1])
    finally:
        stopping.set()
        thread.join(timeout=10)


@pytest.fixture
def root(settings, tmp_path) -> Path:
    settings.WORKFLOW_FILE_ROOT = tmp_path / "root"
    (tmp_path / "root").mkdir()
    return tmp_path / "root"


@pytest.fixture
def secret(db, ftp_server) -> str:
    workflow_services.secret_create(name="ftp_test", value=ftp_server.url(), actor=None)
    return "ftp_test"


context_for = partial(attempt, FtpTransfer, node_id="ftp")
execute = partial(attempt_output, FtpTransfer, node_id="ftp")
fault_of = partial(attempt_fault, FtpTransfer, node_id="ftp")


def test_upload_list_download_and_delete(ftp_server, secret, root):
    # given a local file under the file root
    (root / "out").mkdir()
    (root / "out" / "report.csv").write_bytes(b"a,b\n1,2\n")
    (ftp_server.home / "inbox").mkdir()
    (ftp_server.home / "inbox" / "old.txt").write_bytes(b"12345")
    # when it is uploaded, the folder listed, the upload downloaded again and then deleted
    uploaded = execute({"connection": secret, "action": "upload",
                        "local_path": "out/report.csv", "remote_path": "inbox/report.csv"})
    listed = execute({"connection": secret, "action": "list", "remote_path": "inbox"})
    downloaded = execute({"connection": secret, "action": "download",
                          "remote_path": "inbox/report.csv", "local_path": "in/copy.csv"})
    deleted = execute({"connection": secret, "action": "delete",
                       "remote_path": "inbox/report.csv"})
    # then the server held the exact bytes, the listing saw both files, the copy is identical
    assert uploaded == {"files": ["inbox/report.csv"], "bytes": 8}
    assert listed == {"files": ["old.txt", "report.csv"], "bytes": 13}
    assert downloaded == {"files": ["inbox/report.csv"], "bytes": 8}
    assert (root / "in" / "copy.csv").read_bytes() == b"a,b\n1,2\n"
    assert deleted == {"files": ["inbox/report.csv"], "bytes": 0}
    assert sorted(p.name for p in (ftp_server.home / "inbox").iterdir()) == ["old.txt"]


@pytest.mark.parametrize("local_path", ["../outside.txt", "/etc/passwd", "a/../../x"])
def test_local_paths_may_not_leave_the_file_root(ftp_server, secret, root, local_path):
    # when a download would write outside the root
    fault = fault_of({"connection": secret, "action": "download", "remote_path": "x",
                      "local_path": local_path})
    # then it is refused before anything is transferred
    assert fault.fault_class == FaultClass.VALIDATION
    assert "data.local_path" in fault.message
    assert not (root.parent / "outside.txt").exists()


def test_a_missing_local_file_is_a_validation_fault(ftp_server, secret, root):
    fault = fault_of({"connection": secret, "action": "upload", "local_path": "nope.txt",
                      "remote_path": "nope.txt"})
    assert fault.fault_class == FaultClass.VALIDATION
    assert "nope.txt" in fault.message


def test_server_refusals_and_outages_are_classified_without_the_password(ftp_server, root, db):
    # given a wrong password, a good one, and a port nothing listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    workflow_services.secret_create(name="ftp_wrong", value=ftp_server.url("wrong-pw"),
                                    actor=None)
    workflow_services.secret_create(name="ftp_ok", value=ftp_server.url(), actor=None)
    workflow_services.secret_create(name="ftp_down", value=f"ftp://u:hunter2@127.0.0.1:{free}",
                                    actor=None)
    # when nodes use them
    wrong = fault_of({"connection": "ftp_wrong", "action": "list", "remote_path": "."})
    missing = fault_of({"connection": "ftp_ok", "action": "download",
                        "remote_path": "missing.txt", "local_path": "m.txt"})
    down = fault_of({"connection": "ftp_down", "action": "list", "remote_path": "."})
    # then the server's refusals are external (530 login, 550 no file), the outage transient
    assert wrong.fault_class == FaultClass.EXTERNAL and "530" in wrong.message
    assert missing.fault_class == FaultClass.EXTERNAL and "550" in missing.message
    assert down.fault_class == FaultClass.TRANSIENT
    for fault in (wrong, missing, down):
        assert "Node 'ftp'" in fault.message
        assert "wrong-pw" not in fault.message and "hunter2" not in fault.message
    # and a failed download leaves no partial file behind
    assert list(root.iterdir()) == []


def test_a_secret_that_is_not_an_ftp_url_is_refused(db, root):
    workflow_services.secret_create(name="not_ftp", value="https://example.com", actor=None)
    fault = fault_of({"connection": "not_ftp", "action": "list", "remote_path": "."})
    assert fault.fault_class == FaultClass.VALIDATION
    assert "ftp:// or ftps://" in fault.message


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_a_workflow_uploads_once_and_lists_on_the_worker(ftp_server):
    # given a file under the root the worker uses, and the server's secret
    workflow_services.secret_create(name="ftp_test", value=ftp_server.url(), actor=None)
    folder = f"test-{uuid.uuid4().hex[:8]}"
    local = Path(django_settings.WORKFLOW_FILE_ROOT) / folder / "data.txt"
    local.parent.mkdir(parents=True)
    local.write_bytes(b"first version")
    upload = {"connection": "ftp_test", "action": "upload", "local_path": f"{folder}/data.txt",
              "remote_path": "data.txt"}
    definition = {
        "name": "ftp", "namespace": "nodes",
        "nodes": [
            {"id": "upload", "type": "FtpTransfer", "data": upload},
            {"id": "list", "type": "FtpTransfer",
             "data": {"connection": "ftp_test", "action": "list", "remote_path": "/"}},
        ],
        "edges": [{"source": "upload", "target": "list"}],
    }
    try:
        # when it runs on the worker
        execution = run(definition)
        # then the server has the file and the listing shows it
        assert execution.status == "completed", execution.error
        assert (ftp_server.home / "data.txt").read_bytes() == b"first version"
        assert execution.nodes.get(node_id="list").output == {"files": ["data.txt"], "bytes": 13}
        # when the upload's attempt is delivered again after the local file changed
        local.write_bytes(b"second version")
        node, context = context_for(upload, node_id="upload", execution_id=str(execution.pk),
                                    run_external=external_call)
        again = node.execute(context)
        # then nothing was uploaded again, and the first result is returned
        assert (ftp_server.home / "data.txt").read_bytes() == b"first version"
        assert again == execution.nodes.get(node_id="upload").output
    finally:
        shutil.rmtree(local.parent, ignore_errors=True)
