"""The UI's built files: what the source and the lockfile build, within their size budget."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.workers import ROOT, unavailable
from ui.templatetags.vite import entry_files

FRONTEND = ROOT / "frontend"
BUILT = ROOT / "ui" / "static" / "ui"
PAGES = ["workflows", "designer", "runs", "monitor", "inbox", "triggers", "dashboard"]
# The most JavaScript one page may load, gzipped (the designer is the largest).
BUDGET = 400 * 1024


def _files(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes()
            for path in sorted(directory.rglob("*")) if path.is_file()}


def test_the_committed_build_is_what_the_source_and_lockfile_build(tmp_path):
    npm = shutil.which("npm")
    if npm is None:
        reason = "npm is not installed: the committed build cannot be rebuilt here"
        unavailable(reason)
    # given a copy of the front end's source and lockfile, without installed packages
    source = tmp_path / "frontend"
    shutil.copytree(FRONTEND, source, ignore=shutil.ignore_patterns("node_modules"))
    out = tmp_path / "built"
    # when it is installed from the lockfile and built
    for command in (["ci", "--no-audit", "--no-fund", "--loglevel=error"], ["run", "build"]):
        result = subprocess.run([npm, *command], cwd=source, capture_output=True, text=True,
                                env={**os.environ, "WEFT_UI_OUT_DIR": str(out)}, timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
    # then it is, file for file, what is committed under ui/static/ui
    built, committed = _files(out), _files(BUILT)
    assert sorted(built) == sorted(committed), "run `npm run build` in frontend/ and commit"
    assert [name for name in built if built[name] != committed[name]] == []


@pytest.mark.parametrize("page", PAGES)
def test_each_page_loads_less_javascript_than_the_budget(page):
    script, imports, _ = entry_files(f"src/pages/{page}.tsx")
    size = sum(len(gzip.compress((BUILT.parent / name).read_bytes(), 9))
               for name in [script, *imports])
    assert 0 < size < BUDGET
