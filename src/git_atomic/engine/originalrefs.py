"""The copies `git filter-branch` keeps of the branches it rewrites, `refs/original/refs/heads/`.

An operation whose command ran `git filter-branch` (t7003) left, beside the branch it
rewrote, `refs/original/refs/heads/<branch>` naming the branch as it was. Its rollback put the
branch back there, and the copy stayed: a backup of nothing, naming the commit the branch names
again, and your next `git filter-branch` refused ("A previous backup already exists in
refs/original/", until `-f`). And a `filter-branch -f` deletes every copy there first: yours,
of another branch, the one ref to its old commits, was gone after the rollback. So an
operation notes at its PRE-OP whether `refs/original/` was there (gitfolders.py's lstat) and,
where it was, its copies (`BEFORE`: read from git's files, loose and packed, no git process),
and when it closes the copies it leaves (`LEFT`, where there were or may be any); whatever takes
its effect back deletes each copy it made that names what its branch names again, and puts
back each of yours it deleted or wrote over (its own rollback; a later `rollback --op`: each
still as it left it), and says so. `undo` of that rollback writes them as the operation left
them again (gitdirredo.py). Where no copies were noted, one in a `packed-refs` there before the
operation may be yours (filter-branch, then `git gc`): left. Our own refs' copies are
heldrefs.py's.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from typing import Final

from git_atomic.core.errors import AtomicError
from git_atomic.engine.git import Repo

ABSENT: Final = "common_folders_absent"  # gitfolders.COMMON_ABSENT: refs/original/ among them
BEFORE: Final = "original_refs_before"  # op detail: {copy: commit} at PRE-OP, where there were
LEFT: Final = "original_refs_left"  # op detail: {copy: commit} as the operation left them
REDONE: Final = "original_refs"  # gitdirredo's: {copy: [as it was, as written]}
_FOLDER: Final = "refs/original"
_ALL: Final = "refs/original/"
_COPIES: Final = "refs/original/refs/heads/"
_OURS: Final = "refs/original/refs/atomic/"  # heldrefs.py's


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


def note_on_disk(repo: Repo) -> dict[str, str] | None:
    """The copies there are, read from git's files (a PRE-OP's, where `refs/original/` is
    there: no git process); None where they cannot be read so (a link, a symbolic ref)."""
    from git_atomic.engine import replacerefs

    found = replacerefs.on_disk(repo, _ALL)
    return None if found is None else {k: v for k, v in found.items() if not k.startswith(_OURS)}


def note(repo: Repo) -> dict[str, str]:
    """The copies there are (ours, heldrefs.py's, left out): {copy: commit}."""
    found = note_on_disk(repo)
    if found is None:
        found = {k: v for k, v in repo.refs(_ALL).items() if not k.startswith(_OURS)}
    return found


def put_back(
    repo: Repo,
    details: Mapping[str, object],
    *,
    own: bool,
    dry_run: bool = False,
    changed: dict[str, list[str | None]] | None = None,
) -> list[str]:
    """Each copy as the operation's PRE-OP had it, where it changed it (`own`: its rollback;
    else where still as it left it): one it made of a branch goes where the branch names its
    commit again, one of yours it deleted or wrote over (`filter-branch -f` deletes them all)
    is back where git still has its commit. The lines that say so. `changed`: filled with
    {copy: [as it was, as written]} for an `undo` to write back. A dry run, before any
    branch is back, names each copy it made of a branch."""
    before = details.get(BEFORE)
    if not isinstance(before, dict) and not maybe_made(repo, details):
        return []
    was = {str(k): str(v) for k, v in before.items()} if isinstance(before, dict) else {}
    refs = repo.refs(_ALL, "refs/heads/")
    now = {k: v for k, v in refs.items() if k.startswith(_ALL) and not k.startswith(_OURS)}
    left = details.get(LEFT)
    kept = _packed_before(repo, details) if not isinstance(before, dict) else set()
    if kept is None:
        return []
    moves: list[tuple[str, str | None, str | None]] = []
    for name in sorted(set(now) | set(was)):
        want, have = was.get(name), now.get(name)
        if want == have or name.startswith(_OURS):
            continue
        if not own and (not isinstance(left, dict) or left.get(name) != have):
            continue  # made, moved or deleted since the operation closed: yours
        if want is None:  # one it made: only a copy of a branch that is back at it
            if not name.startswith(_COPIES) or name in kept:
                continue
            if refs.get(name.removeprefix("refs/original/")) != have and not dry_run:
                continue
        moves.append((name, want, have))
    wanted = {want for _, want, _ in moves if want is not None}
    if wanted:  # one of yours whose commit git no longer has cannot come back
        asked = "".join(f"{sha}\n" for sha in sorted(wanted)).encode()
        listed = repo.run("cat-file", "--batch-check", input=asked, check=False).stdout
        gone = {line.split()[0].decode() for line in listed.splitlines() if b"missing" in line}
        moves = [m for m in moves if m[1] not in gone]
    done = moves if dry_run else move(repo, moves)
    if changed is not None and not dry_run:
        changed.update({name: [have, want] for name, want, have in done})
    return [_said(name, want, have) for name, want, have in done]


def _said(name: str, want: str | None, have: str | None) -> str:
    if want is None:
        return (
            f"{name}, the copy git filter-branch kept of {name.removeprefix(_COPIES)} as it "
            "was, is deleted: the branch is there again (your next filter-branch would "
            "refuse, 'A previous backup already exists')"
        )
    how = "deleted" if have is None else "wrote over"
    return (
        f"{name}, your copy (git filter-branch's backup), which the operation {how}, is "
        f"back at {want[:12]}"
    )


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
