"""The copies `git filter-branch` keeps of the branches it rewrites, `refs/original/refs/heads/`.

An operation whose command ran `git filter-branch` (t7003) left, beside the branch it
rewrote, `refs/original/refs/heads/<branch>` naming the branch as it was. Its rollback put the
branch back there, and the copy stayed: a backup of nothing, naming the commit the branch names
again, and your next `git filter-branch` refused ("A previous backup already exists in
refs/original/", until `-f`). So an operation notes at its PRE-OP whether `refs/original/` was
there (gitfolders.py's lstat; one there is yours, and so are its refs), and when it closes the
copies it leaves (`LEFT`: one `for-each-ref`, only where it made the folder); whatever takes its
effect back deletes each copy that names what its branch names again (its own rollback), or
that is still as it left it too (a later `rollback --op`), and says so. `undo` of that
rollback makes them again (gitdirredo.py). A copy in a `packed-refs` there before the operation
may be yours (filter-branch, then `git gc`): left. Our own refs' copies are heldrefs.py's.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from typing import Final

from git_atomic.core.errors import AtomicError
from git_atomic.engine.git import Repo

ABSENT: Final = "common_folders_absent"  # gitfolders.COMMON_ABSENT: refs/original/ among them
LEFT: Final = "original_refs_left"  # op detail: {copy: commit} as the operation left them
REDONE: Final = "original_refs"  # gitdirredo's: {copy: [as it was, as written]}
_FOLDER: Final = "refs/original"
_COPIES: Final = "refs/original/refs/heads/"


def absent(repo: Repo) -> bool:
    """Whether the repository has no `refs/original/` folder."""
    return not os.path.lexists(os.path.join(repo.common_dir, _FOLDER))


def maybe_made(repo: Repo, details: Mapping[str, object]) -> bool:
    """Whether the operation may have left a copy: noted absent, and a folder, or a
    `packed-refs` where there was none, now (a few lstat calls)."""
    noted = details.get(ABSENT)
    if not isinstance(noted, list) or _FOLDER not in noted:
        return False
    return not absent(repo) or bool(
        details.get("packed_refs_absent")  # packedrefs.ABSENT: one it packed them into
        and os.path.lexists(repo.common_dir / "packed-refs")
    )


def note(repo: Repo) -> dict[str, str]:
    """The copies there are of branches: {copy: commit}."""
    return repo.refs(_COPIES)


def put_back(
    repo: Repo,
    details: Mapping[str, object],
    *,
    own: bool,
    dry_run: bool = False,
    changed: dict[str, list[str | None]] | None = None,
) -> list[str]:
    """Delete each copy the operation made whose branch names its commit again (`own`: its
    rollback; else also still as it left it); the lines that say so. `changed`: filled with
    {copy: [commit, None]} for an `undo` to make them again. A dry run, before any branch is
    back, names each such copy of a branch (one whose branch stays moved since is named too)."""
    if not maybe_made(repo, details):
        return []
    refs = repo.refs(_COPIES, "refs/heads/")
    left = details.get(LEFT)
    kept = _packed_before(repo, details)
    if kept is None:
        return []
    gone = []
    for name, sha in sorted(refs.items()):
        branch = name.removeprefix("refs/original/")
        if not name.startswith(_COPIES) or name in kept:
            continue
        if refs.get(branch) != sha and not dry_run:  # (a dry run: the branch not back yet)
            continue
        if not own and (not isinstance(left, dict) or left.get(name) != sha):
            continue  # made or moved since the operation closed: yours
        gone.append((name, None, sha))
    done = gone if dry_run else move(repo, gone)
    if changed is not None and not dry_run:
        changed.update({name: [wrote, was] for name, was, wrote in done})
    return [
        f"{name}, the copy git filter-branch kept of {name.removeprefix(_COPIES)} as it was, "
        "is deleted: the branch is there again (your next filter-branch would refuse, "
        "'A previous backup already exists')"
        for name, _, _ in done
    ]


def move(
    repo: Repo, moves: Sequence[tuple[str, str | None, str | None]]
) -> list[tuple[str, str | None, str | None]]:
    """Each copy (name, to, from) moved from its commit `from` (None: absent) to `to` (None:
    deleted), in one transaction of compare-and-swap; those done (none where the transaction
    failed: a copy moved since, or a ref locked)."""
    lines = []
    for name, want, expect in moves:
        if want is None and expect is not None:
            lines.append(f"delete {name} {expect}")
        elif want is not None and expect is None:
            lines.append(f"create {name} {want}")
        elif want is not None and expect is not None:
            lines.append(f"update {name} {want} {expect}")
    if not lines:
        return []
    with contextlib.suppress(AtomicError):
        repo.update_refs(lines, message="git-atomic: filter-branch's copies")
        return list(moves)
    return []


def _packed_before(repo: Repo, details: Mapping[str, object]) -> set[str] | None:
    """The copies listed in a `packed-refs` the operation's PRE-OP had (yours, or written over
    by it: which, nothing says); none where it had no such file; None where the file cannot
    be read (a link, too large): every copy is left."""
    if details.get("packed_refs_absent") or not os.path.lexists(repo.common_dir / "packed-refs"):
        return set()
    from git_atomic.engine import packedrefs

    data = packedrefs.raw(repo)
    if data is None:
        return None
    prefix = _COPIES.encode()
    return {
        line.split(b" ", 1)[1].decode("utf-8", "surrogateescape")
        for line in data.splitlines()
        if b" " in line and line.split(b" ", 1)[1].startswith(prefix)
    }
