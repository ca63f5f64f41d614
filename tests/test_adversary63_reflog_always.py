"""t1400/t1417-reflog with `core.logAllRefUpdates=always`: git logs every ref it moves, ours too.

The scan's ref (`refs/atomic/scan/<worktree>`, scanindex.py) names a tree, not a commit, and
moves at nearly every command: under `always` each move was a line of its reflog. Every `git
gc` and `git reflog expire --all` of yours then printed two errors ("Object ... not a
commit", "... is a commit, not a tree"), and the reflog held every tree the scan ever named,
so the bytes of untracked files you deleted long ago stayed in the store, out of reach of
`git gc --prune=now` and of `git atomic gc`. Our own refs are now moved with no reflog
(`core.logAllRefUpdates=false` for a transaction of refs of ours alone), and one such log
left by an earlier version is removed by `git atomic gc`; your branches' reflogs are git's
as before.

The oracle: the files under `.git/logs/`, git's stderr, git's store.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from testing.gitrepo import GitRepo


def _ours_logged(repo: GitRepo) -> list[str]:
    logs = repo.path / ".git" / "logs" / "refs" / "atomic"
    return sorted(str(p.relative_to(logs)) for p in logs.rglob("*") if p.is_file())


def _quiet(repo: GitRepo, *args: str) -> None:
    res = subprocess.run(
        ["git", *args], cwd=repo.path, env=repo.env, capture_output=True, text=True
    )
    assert res.returncode == 0 and not res.stderr, (args, res.stderr)


def test_no_reflog_of_ours_under_always(repo: GitRepo) -> None:
    """A kept run, a failed one, `undo`, begin/abort, status: no reflog of a ref of ours, your
    `git gc` and `git reflog expire --all` say nothing, main's reflog has its lines."""
    repo.git("config", "core.logAllRefUpdates", "always")
    repo.write("big", b"x" * 100_000)
    repo.atomic("run", "--", "sh", "-c", "printf 'a\\n' > a; git add a; git commit -qm a", check=0)
    repo.atomic("run", "--", "sh", "-c", "printf 'b\\n' > b; exit 1", check=1)
    repo.atomic("undo", check=0)
    repo.atomic("begin", "x", check=0)
    repo.write("c", b"c\n")
    repo.atomic("abort", check=0)
    repo.atomic("status", check=0)
    assert _ours_logged(repo) == []
    assert b"commit: a" in (repo.path / ".git" / "logs" / "refs" / "heads" / "main").read_bytes()
    _quiet(repo, "gc", "-q")
    _quiet(repo, "reflog", "expire", "--all")


def test_a_scan_reflog_left_before_is_removed_by_gc(repo: GitRepo) -> None:
    """A reflog of the scan's ref an earlier version left (written here as git wrote it):
    `git atomic gc` removes it, and then the bytes of an untracked file you deleted go with
    your `git gc --prune=now`."""
    repo.write("secret.txt", b"an untracked secret\n")
    repo.atomic("run", "--", "true", check=0)
    blob = repo.git("hash-object", "secret.txt").strip()
    scan = repo.git("for-each-ref", "--format=%(refname)", "refs/atomic/scan/").split()
    assert scan, "no scan ref"
    tree = repo.git("rev-parse", scan[0]).strip()
    log = repo.path / ".git" / "logs" / Path(scan[0])
    log.parent.mkdir(parents=True, exist_ok=True)
    zero = "0" * 40
    log.write_text(f"{zero} {tree} Dev Eloper <dev@example.com> 1 +0000\tgit-atomic: scan\n")
    (repo.path / "secret.txt").unlink()
    repo.atomic("run", "--", "true", check=0)  # the scan moves on: the old tree only logged
    repo.atomic("gc", "--older-than", "0", check=0)  # the checkpoints holding it go too
    assert _ours_logged(repo) == []
    repo.git("gc", "-q", "--prune=now")
    assert "missing" in repo.git("cat-file", "--batch-check", input=f"{blob}\n".encode())
