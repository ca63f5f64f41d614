"""After a rollback whose rescue's scan started from the scan index of the state it goes back to
(an `abort`, a failed `run`), that index stays the worktree's: the rescue's own is not kept nor
brought up to date (scan.goes_back). Before, the rescue's was kept, and the next capture found
every file the restore wrote changed against it: it read them, edited its tree back and ran
`update-index` on the scan index again. Now it reads only those files' bytes (`git status`
compares them), and trusts nothing more than git does: each checkpoint is compared with the
disk.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from testing.gitrepo import GitRepo


def _traced(repo: GitRepo, *args: str) -> tuple[list[str], dict[str, object]]:
    """The git commands a git-atomic command ran (GIT_TRACE), and its JSON answer."""
    trace = repo.path.parent / "trace.txt"
    trace.unlink(missing_ok=True)
    env = {"GIT_TRACE": str(trace), "GIT_ATOMIC_HELPER": "0", "GIT_ATOMIC_VERIFY_SCAN": "0"}
    answer = repo.atomic_json(*args, env=env)
    calls = [
        line.split("trace: built-in: ", 1)[1]
        for line in trace.read_text().splitlines()
        if "trace: built-in: git" in line
    ]
    return calls, answer


def _disk_tree(repo: GitRepo) -> dict[str, str]:
    """Every file on disk but .git, by git's own reading: its object id (`hash-object`)."""
    paths = []
    for folder, dirs, files in os.walk(repo.path):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            paths.append(os.path.relpath(os.path.join(folder, name), repo.path))
    ids = subprocess.run(
        ["git", "hash-object", "--no-filters", "--stdin-paths"],
        cwd=repo.path,
        env=repo.env,
        input="\n".join(paths).encode() + b"\n",
        capture_output=True,
        check=True,
    ).stdout.split()
    return dict(zip(paths, (i.decode() for i in ids), strict=True))


def _held(repo: GitRepo, commit: str) -> dict[str, str]:
    listing = repo.git("ls-tree", "-r", "-z", f"{commit}:files")
    held = {}
    for entry in listing.split("\0"):
        if entry:
            meta, path = entry.split("\t", 1)
            held[path] = meta.split()[2]
    return held


def _setup(repo: GitRepo) -> None:
    for n in range(6):
        repo.write(f"src/m{n}.py", f"module {n}\n".encode())
    repo.write("README", b"readme\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    repo.write("src/m0.py", b"module 0, edited\n")  # unstaged
    repo.write("notes.txt", b"untracked\n")
    repo.atomic("run", "--", "true")  # a scan index of this state


def _change(repo: GitRepo) -> None:
    repo.write("src/m1.py", b"changed by the operation\n")
    repo.write("src/m0.py", b"module 0, edited again\n")
    os.unlink(repo.path / "src" / "m2.py")
    os.unlink(repo.path / "notes.txt")
    repo.write("new/deep/made.py", b"made\n")


@pytest.mark.parametrize("rounds", [1, 3])
def test_the_next_checkpoint_after_an_abort_reads_only_what_the_restore_wrote(
    repo: GitRepo, rounds: int
) -> None:
    _setup(repo)
    state = repo.fingerprint()
    first = repo.atomic_json("begin", "x")["checkpoints"]["pre_op"]
    for n in range(rounds):
        _change(repo)
        calls, _ = _traced(repo, "abort")
        assert not [c for c in calls if c.startswith("git update-index")], calls
        assert repo.fingerprint() == state
        calls, answer = _traced(repo, "begin", f"y{n}")
        assert not [c for c in calls if c.startswith(("git update-index", "git write-tree"))], calls
        pre_op = answer["checkpoints"]["pre_op"]
        assert _held(repo, pre_op) == _held(repo, first) == _disk_tree(repo)
    repo.atomic("abort")
    assert repo.fingerprint() == state


def test_a_file_written_after_the_abort_is_seen(repo: GitRepo) -> None:
    """The scan index kept describes the state the restore went back to: a file changed after
    the restore (in the same second, same size) is read, not taken for the restored one."""
    _setup(repo)
    repo.atomic("begin", "x")
    _change(repo)
    repo.atomic("abort")
    repo.write("src/m1.py", b"module 1\n".replace(b"1", b"9"))  # restored, then written again
    repo.write("src/m3.py", b"module 8\n")  # not touched by the operation
    repo.write("new/other.py", b"yours\n")
    pre_op = repo.atomic_json("begin", "y")["checkpoints"]["pre_op"]
    held = _held(repo, pre_op)
    assert held == _disk_tree(repo)
    assert held["src/m1.py"] == repo.git("hash-object", "src/m1.py").strip()
    repo.atomic("abort")
    assert repo.read("src/m1.py") == b"module 9\n" and repo.read("new/other.py") == b"yours\n"


def test_a_failed_run_leaves_the_scan_index_it_went_back_to(repo: GitRepo) -> None:
    _setup(repo)
    state = repo.fingerprint()
    script = "echo x > src/m1.py; rm src/m2.py; mkdir -p new; echo n > new/n.py; exit 1"
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", script, check=None)
    assert repo.fingerprint() == state
    calls, answer = _traced(repo, "begin", "y")
    assert not [c for c in calls if c.startswith(("git update-index", "git write-tree"))], calls
    assert _held(repo, answer["checkpoints"]["pre_op"]) == _disk_tree(repo)
