"""Python's garbage collector in our own processes (cli/main.py `fewer_collections`, cli/helperd.py
`settle`): a command's scan makes objects that live to its end, and at the default thresholds
every 700 of them start a collection; a child of the warm helper walked the helper's imports
again in each (6-25 ms of a warm checkpoint at 100,000 files, docs/performance.md, stop 51).

Counted from inside the processes: a `sitecustomize` on PYTHONPATH (the helper is started with
the client's environment, and a child keeps what the helper imported) notes each collection and,
at the exit handlers a command runs before it leaves, writes what it saw to a file of its pid.
"""

from __future__ import annotations

import ast
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing import gitrepo
from testing.gitrepo import GitRepo, stop_helpers

COUNTER = """
import atexit, gc, os
_seen = [0, 0, 0]
def _note(phase, info):
    if phase == "start":
        _seen[info["generation"]] += 1
def _forked():
    _seen[:] = [0, 0, 0]
gc.callbacks.append(_note)
os.register_at_fork(after_in_child=_forked)
def _say():
    out = os.environ.get("GC_COUNT_DIR")
    if out:
        with open(os.path.join(out, str(os.getpid())), "w") as fh:
            fh.write(repr({"seen": _seen, "frozen": gc.get_freeze_count(), "parent": os.getppid()}))
atexit.register(_say)
"""

FILES = 3000


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitRepo]:
    monkeypatch.setattr(gitrepo, "FORK", False)  # new interpreters, as a user's commands are
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    for i in range(FILES):
        repo.write(f"d{i % 30}/f{i}.txt", f"{i}\n".encode())
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "init")
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(COUNTER)
    counts = tmp_path / "counts"
    counts.mkdir()
    repo.env["PYTHONPATH"] = os.pathsep.join([str(site), repo.env["PYTHONPATH"]])
    repo.env["GC_COUNT_DIR"] = str(counts)
    yield repo
    stop_helpers(tmp_path)


def counted(repo: GitRepo) -> dict[int, dict[str, object]]:
    folder = Path(repo.env["GC_COUNT_DIR"])
    found = {int(p.name): ast.literal_eval(p.read_text()) for p in folder.iterdir()}
    for p in folder.iterdir():
        p.unlink()
    return found


def test_a_checkpoint_of_3000_files_collects_at_most_twice(repo: GitRepo) -> None:
    counted(repo)
    repo.atomic("begin", "x", "--history", "shadow", env={"GIT_ATOMIC_HELPER": "0"}, check=0)
    (one,) = counted(repo).values()
    seen = one["seen"]
    assert isinstance(seen, list)
    # At Python's default thresholds the imports alone start about twenty.
    assert sum(seen) <= 2 and seen[2] == 0, seen


def test_a_served_checkpoint_never_walks_what_the_helper_imported(repo: GitRepo) -> None:
    warm = {"GIT_ATOMIC_HELPER": "1", "GIT_ATOMIC_HELPER_IDLE": "600"}
    repo.atomic("checkpoint", env=warm)  # nothing open: it starts the helper (exit 2)
    pid_file = repo.path / ".git/atomic/helper/main.pid"
    deadline = time.monotonic() + 30
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    helper = int(pid_file.read_text().split()[0])
    counted(repo)
    repo.write("d0/f0.txt", b"changed\n")
    repo.atomic("begin", "x", "--history", "shadow", env=warm, check=0)
    repo.atomic("abort", env=warm, check=0)
    children = [c for c in counted(repo).values() if c["parent"] == helper]
    assert len(children) == 2, "the helper served neither command"
    for child in children:
        seen = child["seen"]
        assert child["frozen"] and isinstance(seen, list) and sum(seen) <= 1, child
