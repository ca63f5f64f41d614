"""t1410/t1417-reflog: reflogs you expired after an operation ended are yours.

A purge of a commit (a secret committed, then `reset --hard HEAD~`) is git's own recipe:
`git reflog expire --expire=now --all && git gc --prune=now`. Run after an operation that
did not rewrite a reflog, it was undone by the next move that took that operation's effect
back or re-did it (`undo` of its rollback, `rollback --op`, `rollback`): each wrote back every
reflog as the operation's PRE-OP had it (reflogkeep.mend), the purged commit named again by
`main@{1}` and `HEAD@{1}`, which git no longer has: `git fsck` then fails ("invalid reflog
entry"), and the warning said the prune happened "while the operation ran". An agent turn
already mended only the reflogs its own calls rewrote (tests/test_effect_history.py); an
operation now notes, as it closes, the reflogs it rewrote while it ran (an inode or a size
that is not its PRE-OP's) and only those are written back later.

The oracle: the reflog files' bytes, `git fsck`, stderr.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

EXPIRE_AND_PRUNE = "git reflog expire --expire=now --all && git gc -q --prune=now"


def _purged(repo: GitRepo) -> str:
    """A commit only the reflogs name (`reset --hard HEAD~` after it), and a file of yours."""
    repo.write("secret", b"s\n")
    repo.git("add", "secret")
    repo.git("commit", "-qm", "secret")
    commit = repo.head()
    repo.git("reset", "-q", "--hard", "HEAD~")
    repo.write("wip", b"w\n")
    return commit


def _logs(repo: GitRepo) -> dict[str, bytes]:
    git_dir = repo.path / ".git"
    return {
        name: (git_dir / "logs" / name).read_bytes() if (git_dir / "logs" / name).exists() else b""
        for name in ("HEAD", "refs/heads/main")
    }


def _expire_and_prune(repo: GitRepo, commit: str) -> None:
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    assert "missing" in repo.git("cat-file", "--batch-check", input=f"{commit}\n".encode())


def fsck_clean(repo: GitRepo) -> None:
    """`git fsck` finds nothing wrong: no invalid reflog entry, nothing missing."""
    res = subprocess.run(
        ["git", "fsck", "--no-dangling"],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0 and "invalid" not in res.stderr, res.stderr


def _none_named(repo: GitRepo, logs: dict[str, bytes], commit: str, stderr: str) -> None:
    now = _logs(repo)
    for name, then in logs.items():
        assert now[name].startswith(then), name  # what you left, and the move's own line
        assert commit.encode() not in now[name], name
    assert commit[:12] not in stderr and "pruned" not in stderr, stderr
    fsck_clean(repo)


def test_undo_of_a_failed_run_keeps_the_reflogs_you_expired_since(repo: GitRepo) -> None:
    """A failed run that did not touch a reflog, then your purge, then `undo` (its dry run
    first): the operation's files come back, your reflogs stay as you left them."""
    commit = _purged(repo)
    repo.atomic("run", "--", "sh", "-c", "printf 'op\\n' > op; exit 1", check=1)
    _expire_and_prune(repo, commit)
    logs = _logs(repo)
    dry = repo.atomic("undo", "--dry-run", check=0)
    assert "reflog of" not in dry.stdout + dry.stderr, dry.stdout + dry.stderr
    res = repo.atomic("undo", check=0)
    assert repo.read("op") == b"op\n" and repo.read("wip") == b"w\n"
    _none_named(repo, logs, commit, res.stderr)


@pytest.mark.parametrize("how", ["rollback --op", "rollback"])
def test_taking_back_a_kept_operation_keeps_the_reflogs_you_expired_since(
    repo: GitRepo, how: str
) -> None:
    """A kept operation that committed (commits mode: main moved), then your purge, then its
    effect taken back: main goes back, its reflog is what you left plus the move's own line."""
    commit = _purged(repo)
    out = repo.atomic_json(
        "run", "--no-gates", "--", "sh", "-c", "printf 'op\\n' > op; git add op; git commit -qm op"
    )
    _expire_and_prune(repo, commit)
    logs = _logs(repo)
    if how == "rollback --op":
        dry = repo.atomic("rollback", "--op", out["op_id"], "--dry-run", check=0)
        assert "reflog of" not in dry.stdout + dry.stderr, dry.stdout + dry.stderr
        res = repo.atomic("rollback", "--op", out["op_id"], check=0)
    else:
        res = repo.atomic("rollback", check=0)
    assert not repo.exists("op") and repo.read("wip") == b"w\n"
    _none_named(repo, logs, commit, res.stderr)


def test_what_the_operation_expired_is_still_written_back_later(repo: GitRepo) -> None:
    """The guard: an operation that expired the reflogs itself (kept), then `rollback --op`:
    main's reflog is written back as its PRE-OP had it (main@{1} names the commit again)."""
    commit = _purged(repo)
    kept = _logs(repo)
    out = repo.atomic_json(
        "run", "--no-gates", "--", "sh", "-c", "git reflog expire --expire=now --all; : > op"
    )
    assert commit.encode() not in _logs(repo)["refs/heads/main"]
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    now = _logs(repo)
    for name, then in kept.items():
        assert now[name].startswith(then), name
    assert commit in repo.git("rev-list", "--walk-reflogs", "main").split()
    assert not Path(repo.path / "op").exists()
