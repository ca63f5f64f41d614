"""A journal gone while checkpoints of operations remain (`rm -rf .git/atomic`), told from
refs/atomic/ copied from another repository (a mirror clone, a fetch of refs/*)."""

from __future__ import annotations

import contextlib
import os
from typing import Final

from git_atomic.core.errors import AtomicError
from git_atomic.engine import git, refsfiles

# Beside our folder, in the common git dir: this repository has kept a journal. `rm -rf
# .git/atomic` leaves it, so a journal gone is told from one never kept here (a repository
# whose refs/atomic/ were copied from another by a mirror clone or a fetch of refs/*: git
# copies refs, never this file).
KEPT_HERE: Final = "atomic-journal-kept"


def kept_here(repo: git.Repo) -> bool:
    return os.path.lexists(repo.common_dir / KEPT_HERE)


def made_here(repo: git.Repo, checkpoint: str) -> bool:
    """Whether `checkpoint` was taken in a worktree of this repository: its meta names the
    folder (realpath) of this worktree or of one git lists beside it. So a journal removed
    before a version that marks `KEPT_HERE` ever opened it (an upgrade) is told from
    refs/atomic/ copied from another repository, made elsewhere. Read only when a journal is
    missing while operations' checkpoints remain (one git process)."""
    import json

    try:
        meta = json.loads(repo.out("cat-file", "blob", f"{checkpoint}:meta"))
    except (AtomicError, ValueError):
        return False
    where = meta.get("worktree") if isinstance(meta, dict) else None
    if not isinstance(where, str) or not os.path.isabs(where):
        return False
    roots = {os.path.realpath(repo.root)}
    with contextlib.suppress(OSError):
        for name in os.listdir(repo.common_dir / "worktrees"):
            with contextlib.suppress(OSError):
                gitfile = (repo.common_dir / "worktrees" / name / "gitdir").read_text()
                roots.add(os.path.realpath(os.path.dirname(gitfile.strip())))
    return os.path.realpath(where) in roots


def mark_kept_here(repo: git.Repo) -> None:
    if kept_here(repo):
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(repo.common_dir / KEPT_HERE, flags, 0o644)
    except OSError:
        return  # made meanwhile, or a git dir we cannot write: as before this file was
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(
            "git-atomic keeps its journal in atomic/journal.sqlite3 of this git dir; while this "
            "file is here, a journal missing there was removed\n"
        )


def journal_gone(repo: git.Repo) -> tuple[str, str] | None:
    """The newest operation's PRE-OP and name when this repository's journal is gone while
    checkpoints of its operations remain; None otherwise (a journal there, or never kept here)."""
    if os.path.lexists(repo.state_dir / "journal.sqlite3"):
        return None
    newest = orphaned_pre_op(repo)
    if newest is None or kept_here(repo) or made_here(repo, newest[0]):
        return newest
    return None


def journal_gone_line(sha: str, name: str) -> str:
    """What `recover` and `emergency` say when they start a new journal (`journal_gone`)."""
    return (
        "the journal was gone: a new one is started. The newest operation's PRE-OP, "
        f"{name}, is checkpoint {sha[:12]}: `git atomic rollback --to {sha[:12]} "
        "--whole --dry-run` lists what going back to it would change"
    )


def orphaned_pre_op(repo: git.Repo) -> tuple[str, str] | None:
    """The PRE-OP checkpoint of the newest operation under refs/atomic/ops/ and its subject
    (`git-atomic PRE-OP: NAME [ID]`), for a journal that is gone; None when there is none.
    Asked of git only where the refs' files may hold one (refsfiles.py): a repository's first
    operation, or an agent's first turn's end, lists no refs for it."""
    if not refsfiles.may_hold(repo, "refs/atomic/ops/"):
        return None
    listed = repo.run(
        "for-each-ref",
        "--sort=-committerdate",
        "--count=1",
        "--format=%(objectname) %(subject)",
        "refs/atomic/ops/*/001-pre-op",
        check=False,
    )
    line = listed.stdout.decode("utf-8", "replace").strip()
    if listed.returncode != 0 or not line:
        return None
    sha, _, subject = line.partition(" ")
    return sha, subject.removeprefix("git-atomic PRE-OP: ")
