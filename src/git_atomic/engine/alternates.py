"""`objects/info/alternates` an operation added or changed: named by its rollback, never removed;
one it removed: written back.

The file tells git to read objects from other repositories' stores (`git clone --shared`, `git
clone --reference`, an `echo /elsewhere/.git/objects >> .git/objects/info/alternates`). An
operation that adds it has git read objects from outside this repository from then on, also
after a rollback that changed nothing else. Removing it would be exact, and could lose what no
store here holds: git writes no object it finds there (a fetch, a checkout, our own captures
of the state the operation left, which the rescue and `undo` need), so a ref or a checkpoint
may name objects that only the other store has. So a rollback leaves it, and says so, with the
way to take it away that loses nothing (`git repack -a -d` copies the objects here first).

An operation notes the file's text at its PRE-OP (`BEFORE`, in its journal detail: "" for
none; one lstat where there is none, the usual case). Never through a link: read folder by
folder from the common git dir (a link there is refused before anything else: stalls.py)."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from typing import Final

from git_atomic.engine import safefs
from git_atomic.engine.git import Repo

BEFORE: Final = "alternates"  # op detail: the file's text at PRE-OP, "" for none
REL: Final = "objects/info/alternates"
_MOST: Final = 1 << 16


def read(repo: Repo) -> str | None:
    """The file's text, "" where there is none; None where it cannot be noted (not a regular
    file, too long, not text)."""
    with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
        kind = tree.kind(REL.encode())
        if kind is None:
            return ""
        data = tree.read(REL.encode()) if kind == stat.S_IFREG else None
    if data is None or len(data) > _MOST:
        return None
    return data.decode("utf-8", "surrogateescape")


def lines(repo: Repo, details: Mapping[str, object]) -> list[str]:
    """One line where the file is not what the operation's PRE-OP had: what git reads from
    now, that it stays, and how to take it away."""
    before = details.get(BEFORE)
    if not isinstance(before, str):
        return []
    now = read(repo)
    if now is None or now == before:
        return []
    where = repo.common_dir / REL
    stores = [s.strip() for s in now.splitlines() if s.strip() and not s.startswith("#")]
    shown = ", ".join(stores[:3]) + (", ..." if len(stores) > 3 else "") or "no store"
    what = "added" if not before else "changed"
    undo = (
        f"`git repack -a -d && rm {where}`"
        if not before
        else f"`git repack -a -d`, then edit {where}"
    )
    return [
        f"the operation {what} {where}: git reads objects from {shown}; it stays (objects "
        f"written since may be only there, and removing it could lose them): {undo} takes it "
        "away, the objects copied here first"
    ]


def put_back(repo: Repo, details: Mapping[str, object], *, dry_run: bool = False) -> list[str]:
    """Write the file back where the operation's PRE-OP had one and it removed it (a `clone
    --shared` whose objects are all there: without it, `git status` says "bad object HEAD").
    Adding a store back loses nothing: git only finds more objects. One line, or none.
    `dry_run`: the line alone, nothing written."""
    before = details.get(BEFORE)
    if not isinstance(before, str) or not before or read(repo) != "":
        return []
    stores = [s.strip() for s in before.splitlines() if s.strip() and not s.startswith("#")]
    line = (
        f"the operation removed {repo.common_dir / REL} (git reads objects from "
        f"{', '.join(stores[:3]) or 'no store'} there)"
    )
    if dry_run:
        return [f"{line}: written back"]
    with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
        try:
            tree.make_folders(os.path.dirname(REL.encode()))
            tree.write(REL.encode(), before.encode("utf-8", "surrogateescape"), 0o644)
        except (OSError, safefs.Blocked):
            return [f"{line}; it could not be written back: write it back by hand"]
    return [f"{line}; it is written back, as before the operation"]


def removed(repo: Repo, details: Mapping[str, object]) -> str | None:
    """Where the operation's PRE-OP had the file and it is gone now: the line that says so, by
    name (a checkpoint git cannot read without it: checkpointgone.py); None otherwise."""
    before = details.get(BEFORE)
    if not isinstance(before, str) or not before or read(repo) != "":
        return None
    stores = [s.strip() for s in before.splitlines() if s.strip() and not s.startswith("#")]
    return (
        f"the operation removed {repo.common_dir / REL}, which had git read objects from "
        f"{', '.join(stores[:3]) or 'no store'} (a `clone --shared` or `--reference`): "
        "without it git cannot read the commits and files this repository borrows from there"
    )
