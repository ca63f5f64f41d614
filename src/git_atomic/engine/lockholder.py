"""Whether a git process that is still running may hold the worktree's `index.lock`.

git leaves no mark in its lock of who made it, and a live git may hold one for minutes: `git
commit -a` (or `git commit PATHS`) writes the index it commits to `index.lock` and keeps it
there while your editor is open, then renames it into place. A lock taken from it is a commit
broken half way ("repository has been updated, but unable to write new_index file"), so the
lock a rollback finds is only dropped where no such git can be holding it.

Linux: the processes under `/proc` that are git (the name it runs as), that work in this
repository (their current folder is in the worktree or its git dirs: git goes to the top of
the worktree before it takes the lock), and that started before the lock was last written;
for a lock of the repository's own (`packed-refs.lock`, `config.lock`, a branch's:
gitlocks.py), one working in any of its worktrees. Not ours (our plumbing's environment has
`process.OWN_MARK`), nor `git atomic`, git's daemons and readers (`_NEVER_HOLDING`).
Elsewhere, or where `/proc` cannot be read, the answer is
None: the grace period alone decides, as before.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from git_atomic.core.process import OWN_MARK
from git_atomic.engine.git import Repo

_PROC: Final = Path("/proc")
# git's commands that never hold index.lock for long: `git atomic` (the git that started us,
# waiting for us), daemons beside you, and readers (a `git log` whose pager stays open for
# hours would otherwise keep a dead git's lock for ever). What is not listed, an alias too,
# counts: a lock left a while longer is the safe side.
_NEVER_HOLDING: Final = frozenset(
    b"""atomic fsmonitor--daemon credential-cache--daemon credential daemon log show diff blame
    annotate grep shortlog whatchanged reflog cat-file ls-files ls-tree ls-remote rev-parse
    rev-list for-each-ref describe name-rev config help version var check-ignore check-attr
    format-patch range-diff archive bundle fetch push remote count-objects fsck gc maintenance
    repack prune pack-objects index-pack upload-pack receive-pack send-pack
    """.split()
)
# Of those, the ones that write refs or the configuration: for a lock of the repository's
# (`packed-refs.lock` while `git fetch --prune` or `git remote remove` deletes refs), they count.
_WRITING_REFS: Final = frozenset(
    b"""config fetch push remote gc maintenance repack prune reflog receive-pack""".split()
)
# A process's start is known to a clock tick, the boot time to a second.
_SLACK_S: Final = 1.0


def live_holder(repo: Repo, lock: Path, *, shared: bool = False) -> str | None:
    """A git process that may hold `lock` ("git commit (pid 123)"), or None. `shared`: a lock
    of the repository's (`packed-refs.lock`, `config.lock`, a branch's), which a git working
    in any of its worktrees may hold."""
    try:
        written = lock.lstat().st_mtime
        boot = _boot_time()
        pids = [name for name in os.listdir(_PROC) if name.isdigit()]
    except OSError:
        return None
    if boot is None:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    places = _places(repo) + (_worktrees(repo) if shared else ())
    me = os.getpid()
    never = _NEVER_HOLDING - _WRITING_REFS if shared else _NEVER_HOLDING
    for pid in pids:
        if int(pid) == me:
            continue
        found = _git_in(pid, places, boot, ticks, written, never)
        if found is not None:
            return f"{found} (pid {pid})"
    return None


def _places(repo: Repo) -> tuple[str, ...]:
    seen = []
    for where in (repo.root, repo.git_dir, repo.common_dir):
        try:
            seen.append(os.path.realpath(where))
        except OSError:
            continue
    return tuple(seen)


def _worktrees(repo: Repo) -> tuple[str, ...]:
    """The folders of the repository's other worktrees and their git dirs (what each
    `worktrees/<id>/gitdir` names, the `.git` file at its top), and the main worktree's."""
    seen = []
    if repo.common_dir.name == ".git":  # (a bare repository has no worktree of its own)
        seen.append(os.path.realpath(repo.common_dir.parent))
    admin = repo.common_dir / "worktrees"
    try:
        ids = os.listdir(admin)
    except OSError:
        ids = []
    for name in ids:
        seen.append(os.path.realpath(admin / name))
        try:
            with open(admin / name / "gitdir", "rb") as fh:
                dotgit = fh.read(4096).strip()
        except OSError:
            continue
        if dotgit:
            seen.append(os.path.realpath(os.path.dirname(os.fsdecode(dotgit))))
    return tuple(seen)


def _boot_time() -> float | None:
    with open(_PROC / "stat", "rb") as fh:
        for line in fh:
            if line.startswith(b"btime "):
                return float(line.split()[1])
    return None


def _git_in(
    pid: str,
    places: tuple[str, ...],
    boot: float,
    ticks: int,
    written: float,
    never: frozenset[bytes] = _NEVER_HOLDING,
) -> str | None:
    """The git command `pid` runs, where it is a git working in one of `places` that started
    before the lock was written and is not one of ours; else None."""
    base = _PROC / pid
    try:
        comm = (base / "comm").read_bytes().strip()
        if not comm.startswith(b"git") or comm.startswith((b"git-atomic", b"git-remote")):
            return None
        cwd = os.readlink(base / "cwd")
        if not any(cwd == place or cwd.startswith(place + os.sep) for place in places):
            return None
        stat = (base / "stat").read_bytes()
        # Field 22 (start time, in clock ticks since boot), counted after the name's ")".
        started = boot + int(stat.rsplit(b")", 1)[1].split()[19]) / ticks
        if started > written + _SLACK_S:
            return None  # a later git (your editor's `git status`) cannot have made it
        argv = (base / "cmdline").read_bytes().split(b"\0")
        if OWN_MARK.encode() in (base / "environ").read_bytes().split(b"\0"):
            return None
    except (OSError, ValueError, IndexError):
        return None  # gone, or not ours to read
    words, skip = [], False
    for word in argv[1:]:
        if not skip and word and not word.startswith(b"-"):
            words.append(word)
        skip = word in (b"-c", b"-C")  # an option's value, not the command
    if words and words[0] in never:
        return None
    command = os.fsdecode(words[0]) if words else ""
    return f"git {command}".rstrip()
