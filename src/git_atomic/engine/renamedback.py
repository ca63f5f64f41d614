"""A branch renamed while another worktree had it checked out, renamed back.

`git branch -m other new`, where `other` is checked out in another worktree, moves that
worktree's HEAD to `new` with the branch (and says so in its HEAD's reflog: `Branch: renamed
refs/heads/other to refs/heads/new`). A restore leaves a branch another worktree has checked
out, so the rollback of such a rename made `other` again and left `new`: both names, the other
worktree on the operation's. The rename was the operation's, its effect the branch's name in
that worktree too: a restore that makes `other` again at the commit `new` is at, and would
remove `new` but for that worktree, renames it back there. That worktree's HEAD is switched to
`other` (under its lock, only while it still names `new`), a line saying so is added to its
HEAD's reflog as git adds one, and `new` goes (by compare-and-swap). Its files stay as they
are: the commit is the same. A checkout of `new` there by someone (its reflog's last line says
`checkout: moving...`) is not a rename: left as it is, and named, as before.

Never through a link: the other worktree's git dir is reached from the common git dir (or is
it) folder by folder (safefs.py)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from git_atomic.engine import safefs
from git_atomic.engine.git import Repo, head_text

_RENAMED: Final = re.compile(rb"\tbranch: renamed (refs/heads/\S+) to (refs/heads/\S+)$", re.I)
_MOST: Final = 1 << 16  # the end of a reflog read: its last line is all that is asked


def find(
    repo: Repo,
    left: Sequence[str],
    current: Mapping[str, str],
    target: Mapping[str, str],
) -> list[tuple[str, str, str]]:
    """Of the branches a restore leaves as checked out elsewhere (`left`), those to rename back:
    (that worktree's git dir, the branch now, the branch the target has instead)."""
    out = []
    dirs = repo.other_head_git_dirs()
    for now in left:
        git_dir = dirs.get(now)
        if git_dir is None or now in target or now not in current:
            continue
        line = _last_line(git_dir)
        found = _RENAMED.search(line) if line is not None else None
        if found is None or found[2].decode("utf-8", "surrogateescape") != now:
            continue
        was = found[1].decode("utf-8", "surrogateescape")
        if was in current or target.get(was) != current[now]:
            continue  # not made again by this restore, or at another commit
        out.append((str(git_dir), now, was))
    return out


def put(repo: Repo, renames: Sequence[tuple[str, str, str]], reason: str) -> list[str]:
    """Switch each worktree's HEAD back to the branch it had, then remove the renamed one
    (compare-and-swap). The branches left as they are (that worktree moved on meanwhile)."""
    left = []
    for git_dir, now, was in renames:
        oid = repo.rev_parse(was)
        if oid is None or not _switch(repo, Path(git_dir), now, was, oid):
            left.append(now)
            continue
        gone = repo.run("update-ref", "-m", reason, "-d", now, oid, check=False)
        if gone.returncode != 0:
            left.append(now)
    return left


def _last_line(git_dir: Path) -> bytes | None:
    with safefs.Tree(os.fsencode(git_dir)) as tree:
        data = tree.read(b"logs/HEAD")
    if not data:
        return None
    return data[-_MOST:].rstrip(b"\n").rsplit(b"\n", 1)[-1]


def _switch(repo: Repo, git_dir: Path, now: str, was: str, oid: str) -> bool:
    """That worktree's HEAD from `now` to `was`, under its lock (`HEAD.lock`, O_EXCL, as git
    takes it), only while it names `now`; its reflog says so, as git's rename does."""
    with safefs.Tree(os.fsencode(git_dir)) as tree:
        try:
            tree.write(b"HEAD.lock", f"ref: {was}\n".encode(), 0o644)
        except (OSError, safefs.Blocked):
            return False  # a git holds it: left
        try:
            if head_text(git_dir) != f"ref: {now}":
                return False
            folder = tree.folder(b"")
            if folder is None:
                return False
            os.rename(b"HEAD.lock", b"HEAD", src_dir_fd=folder, dst_dir_fd=folder)
        except OSError:
            return False
        finally:
            tree.unlink(b"HEAD.lock")
        ident = repo.line("var", "GIT_COMMITTER_IDENT") or ""
        if ident and tree.kind(b"logs/HEAD") is not None:
            line = f"{repo.zero_oid} {oid} {ident}\tBranch: renamed {now} to {was}\n"
            _append(tree, b"logs/HEAD", line.encode("utf-8", "surrogateescape"))
    return True


def _append(tree: safefs.Tree, rel: bytes, data: bytes) -> None:
    folder = tree.folder(os.path.dirname(rel))
    if folder is None:
        return
    flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(os.path.basename(rel), flags, dir_fd=folder)
    except OSError:
        return
    with os.fdopen(fd, "ab") as fh:
        fh.write(data)
