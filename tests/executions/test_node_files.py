"""FileOperation: files under the root, and no path, template or symlink that leaves it."""

from __future__ import annotations

import shutil
import uuid
from functools import partial
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.engine import attempt_fault, attempt_output, run
from workflows.nodes.builtin.integration import FileOperation
from workflows.nodes.faults import FaultClass

execute = partial(attempt_output, FileOperation, node_id="files")


fault_of = partial(attempt_fault, FileOperation, node_id="files")


@pytest.fixture
def root(settings, tmp_path) -> Path:
    settings.WORKFLOW_FILE_ROOT = tmp_path / "root"
    return tmp_path / "root"


def test_write_then_read_append_exists_and_delete(root):
    # given an empty file root that does not exist yet
    # when a file is written in a new directory, appended to and read
    written = execute({"action": "write", "path": "out/report.txt", "content": "héllo"})
    appended = execute({"action": "append", "path": "out/report.txt", "content": " world"})
    read = execute({"action": "read", "path": "out/report.txt"})
    # then the root and the directory were created and the content is the sum
    assert written == {"path": "out/report.txt", "bytes": len("héllo".encode())}
    assert appended == {"path": "out/report.txt", "bytes": 6}
    assert read == {"path": "out/report.txt", "content": "héllo world"}
    assert (root / "out" / "report.txt").read_text() == "héllo world"
    # and exists says so until the file is deleted
    assert execute({"action": "exists", "path": "out/report.txt"})["exists"] is True
    assert execute({"action": "delete", "path": "out/report.txt"}) == {
        "path": "out/report.txt", "deleted": True}
    assert execute({"action": "exists", "path": "out/report.txt"})["exists"] is False


def test_the_encoding_is_used_both_ways(root):
    # given text written as latin-1
    execute({"action": "write", "path": "l1.txt", "content": "café", "encoding": "latin-1"})
    # then the file holds latin-1 bytes, reads back with that encoding, and not as utf-8
    assert (root / "l1.txt").read_bytes() == b"caf\xe9"
    assert execute({"action": "read", "path": "l1.txt", "encoding": "latin-1"})["content"] == "café"
    fault = fault_of({"action": "read", "path": "l1.txt"})
    assert fault.fault_class == FaultClass.VALIDATION
    assert "utf-8" in fault.message
    # and an unknown encoding is named
    fault = fault_of({"action": "write", "path": "x.txt", "content": "a", "encoding": "klingon"})
    assert "data.encoding" in fault.message


def test_list_gives_sorted_paths_relative_to_the_root(root):
    # given a few files in nested directories
    for name in ("b/2.csv", "b/1.csv", "b/notes.txt", "a.csv", "b/deep/3.csv"):
        execute({"action": "write", "path": name, "content": name})
    # when a directory and globs are listed
    directory = execute({"action": "list", "path": "b"})
    glob = execute({"action": "list", "path": "b/*.csv"})
    recursive = execute({"action": "list", "path": "**/*.csv"})
    everything = execute({"action": "list", "path": "."})
    # then paths are relative to the root and sorted
    assert directory["paths"] == ["b/1.csv", "b/2.csv", "b/deep", "b/notes.txt"]
    assert glob["paths"] == ["b/1.csv", "b/2.csv"]
    assert recursive["paths"] == ["a.csv", "b/1.csv", "b/2.csv", "b/deep/3.csv"]
    assert everything["paths"] == ["a.csv", "b"]


def test_missing_files_are_validation_faults_naming_the_path(root):
    # given nothing under the root
    for action in ("read", "delete"):
        # when a missing file is read or deleted
        fault = fault_of({"action": action, "path": "nope/missing.txt"})
        # then the node fails without retries, naming the node and the path
        assert fault.fault_class == FaultClass.VALIDATION
        assert "Node 'files' data.path: 'nope/missing.txt' does not exist" in fault.message
    assert "not a directory" in fault_of({"action": "list", "path": "nope"}).message


@pytest.mark.parametrize("path", [
    "/etc/passwd", "../outside.txt", "a/../../outside.txt", "\\etc\\passwd", "../*",
])
def test_literal_paths_that_leave_the_root_are_refused(root, path):
    # when a path that leaves the root is used by any action
    for action in ("read", "write", "exists", "list"):
        fault = fault_of({"action": action, "path": path, "content": "x"})
        # then it is a validation fault naming data.path, and nothing was written outside
        assert fault.fault_class == FaultClass.VALIDATION
        assert "data.path" in fault.message
    assert not (root.parent / "outside.txt").exists()


def test_rendered_templates_that_leave_the_root_are_refused(root):
    # given a path built from the input
    data = {"action": "write", "path": "uploads/{{ input.name }}", "content": "x"}
    # when the input tries to climb out, or to become absolute
    for name in ("../../escaped.txt", "/../../escaped.txt"):
        fault = fault_of(data, name=name)
        # then the node refuses and writes nothing
        assert fault.fault_class == FaultClass.VALIDATION
        assert "leaves the file root" in fault.message
    assert not (root.parent / "escaped.txt").exists()
    fault = fault_of({"action": "read", "path": "{{ input.path }}"}, path="/etc/hostname")
    assert "must be relative to the file root" in fault.message
    # while a harmless name is written
    assert execute(data, name="ok.txt")["path"] == "uploads/ok.txt"


def test_symlinks_that_point_outside_the_root_are_refused(root, tmp_path):
    # given a secret outside the root, and links to it (a file and a directory) inside
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    root.mkdir()
    (root / "link.txt").symlink_to(secret)
    (root / "linkdir").symlink_to(tmp_path)
    # when a node reads, writes or lists through the links
    for data in ({"action": "read", "path": "link.txt"},
                 {"action": "write", "path": "link.txt", "content": "overwritten"},
                 {"action": "read", "path": "linkdir/secret.txt"}):
        fault = fault_of(data)
        # then it is refused, and the outside file is untouched
        assert fault.fault_class == FaultClass.VALIDATION, data
        assert "leaves the file root" in fault.message
    assert secret.read_text() == "top secret"
    assert execute({"action": "list", "path": "*"})["paths"] == []
    assert execute({"action": "list", "path": "**/*.txt"})["paths"] == []


def test_a_symlink_inside_the_root_is_followed(root):
    # given a link to a file that is itself under the root
    execute({"action": "write", "path": "real.txt", "content": "inside"})
    (root / "alias.txt").symlink_to(root / "real.txt")
    # then reading through it works, and deleting it removes the link, not the file
    assert execute({"action": "read", "path": "alias.txt"})["content"] == "inside"
    execute({"action": "delete", "path": "alias.txt"})
    assert not (root / "alias.txt").exists()
    assert (root / "real.txt").read_text() == "inside"


def test_definitions_refuse_literal_escapes_when_validated():
    # a literal absolute path or '..' is refused before anything runs
    assert FileOperation.validate_data({"action": "read", "path": "../x"})
    assert FileOperation.validate_data({"action": "read", "path": "/x"})
    assert FileOperation.validate_data({"action": "read", "path": "a/b.txt"}) == []


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_a_workflow_writes_appends_and_reads_a_file_on_the_worker():
    # given a directory of its own under the file root the worker uses (the same setting)
    folder = f"test-{uuid.uuid4().hex[:8]}"
    root = Path(django_settings.WORKFLOW_FILE_ROOT)
    definition = {
        "name": "files", "namespace": "nodes",
        "nodes": [
            {"id": "write", "type": "FileOperation",
             "data": {"action": "write", "path": f"{folder}/{{{{ input.name }}}}.txt",
                      "content": "one"}},
            {"id": "append", "type": "FileOperation",
             "data": {"action": "append", "path": "{{ nodes.write.path }}", "content": ",two"}},
            {"id": "read", "type": "FileOperation",
             "data": {"action": "read", "path": "{{ nodes.write.path }}"}},
            {"id": "list", "type": "FileOperation",
             "data": {"action": "list", "path": f"{folder}/*.txt"}},
            {"id": "escape", "type": "FileOperation",
             "data": {"action": "read", "path": "{{ input.sneaky }}"}},
        ],
        "edges": [{"source": "write", "target": "append"}, {"source": "append", "target": "read"},
                  {"source": "read", "target": "list"}, {"source": "list", "target": "escape"}],
    }
    try:
        # when it runs
        execution = run(definition, {"name": "notes", "sneaky": "../../etc/passwd"})
        # then the file holds both parts and the outputs say so
        outputs = {node.node_id: node.output for node in execution.nodes.all()}
        assert outputs["read"] == {"path": f"{folder}/notes.txt", "content": "one,two"}
        assert outputs["list"]["paths"] == [f"{folder}/notes.txt"]
        assert (root / folder / "notes.txt").read_text() == "one,two"
        # and the escaping read failed the execution at once, without retries
        assert execution.status == "failed"
        escape = execution.nodes.get(node_id="escape")
        assert escape.attempt == 1
        assert escape.error["fault"] == "validation"
        assert "leaves the file root" in escape.error["message"]
    finally:
        shutil.rmtree(root / folder, ignore_errors=True)
