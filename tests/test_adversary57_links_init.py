"""Family: `git atomic init` reads your project's files to find its gates (`pyproject.toml`,
`package.json`, `Makefile`, `setup.cfg`, `tox.ini`) by name: through a link (a file
elsewhere gave the gates written into this project's configuration) and a FIFO there had
`init` wait for ever. They are read as state files are (core/wholefile.py `read`): a link
is as no file, never read; a FIFO is never waited on. The file outside keeps its bytes and
mtime, and a `pyproject.toml` that is a link is still never written through (exit 3)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from testing.gitrepo import GitRepo
from tests.test_init import _gates


def test_project_files_linked_from_elsewhere_are_not_read(repo: GitRepo, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    seen = {}
    for name, data in (
        ("package.json", json.dumps({"scripts": {"test": "jest"}}).encode()),
        ("Makefile", b"lint:\n\tshellcheck *.sh\n"),
    ):
        (outside / name).write_bytes(data)
        (repo.path / name).symlink_to(outside / name)
        seen[name] = (data, (outside / name).stat().st_mtime_ns)
    repo.atomic("init", check=0)
    assert _gates(repo.path) == []
    # One linked inside the worktree is read as the file it names (as the configuration is).
    (repo.path / "Makefile").unlink()
    repo.write("build/Makefile", b"lint:\n\tshellcheck *.sh\n")
    (repo.path / "Makefile").symlink_to("build/Makefile")
    repo.atomic("init", "--force", check=0)
    assert _gates(repo.path) == [("lint", "make lint")]
    for name, (data, mtime) in seen.items():
        assert (outside / name).read_bytes() == data
        assert (outside / name).stat().st_mtime_ns == mtime


def test_a_pyproject_linked_from_elsewhere_is_refused_unread(repo: GitRepo, tmp_path: Path) -> None:
    outside = tmp_path / "pyproject.toml"
    outside.write_bytes(b"[project\n")  # read, it was "cannot read" (exit 2)
    mtime = outside.stat().st_mtime_ns
    (repo.path / "pyproject.toml").symlink_to(outside)
    res = repo.atomic("init", check=3)
    assert "symbolic link" in res.stderr and res.stderr.count("\n") == 1, res.stderr
    assert outside.read_bytes() == b"[project\n" and outside.stat().st_mtime_ns == mtime


def test_a_fifo_among_the_project_files_is_not_waited_on(repo: GitRepo) -> None:
    os.mkfifo(repo.path / "Makefile")
    repo.write("package.json", json.dumps({"scripts": {"test": "jest"}}).encode())
    repo.atomic("init", check=0, timeout=60)
    assert _gates(repo.path) == [("tests", "npm test")]
