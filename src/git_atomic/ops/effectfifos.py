"""The FIFOs, sockets and devices an operation's effect removed (effectbeside.py), and what
`undo` does with the FIFOs a move made again.

git holds none of them, so no tree of an effect does: a move worked out from trees (`rollback
--op` on top of later changes, a turn's take-back) reads them from the checkpoints' `specials`
(PRE-OP's that its end did not see as they were, and that are not there now). A FIFO is made
again, with its bits; a socket or a device cannot be, and is named. The FIFOs a move made again
are kept in its event (gitdirredo.KEY, `MADE`), so that its `undo` removes them again where they
are still as it made them, and keeps those (`TAKEN`) for a second `undo` to make again."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from typing import Final

from git_atomic.engine import checkpoint, safefs
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo

MADE: Final = "fifos_made"  # gitdirredo's: {path: st_mode} of the FIFOs a move made again
TAKEN: Final = "fifos_removed"  # and of those an undo removed (a second undo makes them)


def taken(
    repo: Repo, pre: Snapshot, end: Snapshot, calls: Sequence[tuple[Snapshot, Snapshot]]
) -> tuple[tuple[tuple[bytes, int], ...], tuple[tuple[bytes, int], ...]]:
    """The FIFOs, sockets and devices PRE-OP saw that its end did not see as they were (where
    `calls` are given, that one of them took away: one you removed between them is yours), and
    that are not there as they were now: (FIFOs with nothing in their place, the others)."""
    pairs = list(calls) or [(pre, end)]
    taken: dict[bytes, int] = {}
    for start, stop in pairs:
        if start.specials is None:
            continue
        was = checkpoint.load_specials(repo, start)
        then = checkpoint.load_specials(repo, stop) if stop.specials is not None else {}
        for path, mode in was.items():
            if stat.S_IFMT(then.get(path, 0)) != stat.S_IFMT(mode):
                taken.setdefault(path, mode)
    if not taken:
        return (), ()
    fifos: list[tuple[bytes, int]] = []
    lost: list[tuple[bytes, int]] = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path, mode in sorted(taken.items()):
            there = tree.kind(path)
            if there == stat.S_IFMT(mode):
                continue  # back already (a restore made it again, or you did)
            if there is None and stat.S_ISFIFO(mode):
                fifos.append((path, mode))
            else:
                lost.append((path, mode))
    return tuple(fifos), tuple(lost)


def made_again(
    repo: Repo,
    fifos: Sequence[tuple[bytes, int]],
    lost: Sequence[tuple[bytes, int]],
    said: list[str],
    warned: list[str],
    failed: list[bytes],
) -> dict[bytes, int]:
    """The FIFOs the operation removed (`fifos`, `taken`'s) made again (with their bits, their
    folders too) where nothing is still; the rest (`lost`) named
    (restorespecials.special_not_back). The FIFOs made: path -> st_mode."""
    from git_atomic.engine.restorespecials import special_not_back

    made: dict[bytes, int] = {}
    lost = list(lost)
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path, mode in fifos:
            try:
                if tree.kind(path) is not None:
                    lost.append((path, mode))
                    continue
                tree.make_folders(os.path.dirname(path))
                tree.mkfifo(path, mode)
            except safefs.Blocked as exc:
                failed.append(path)
                warned.append(f"cannot restore {_show(path)}: {_show(exc.path)} is in the way")
                continue
            except OSError as exc:
                failed.append(path)
                warned.append(f"cannot restore {_show(path)}: {exc.strerror or exc}")
                continue
            made[path] = mode
        for path, mode in sorted(lost):
            warned.append(special_not_back(path, mode, tree.kind(path)))
    if made:
        said.append("the FIFOs it removed made again: " + ", ".join(_show(p) for p in made))
    return made


def reversed_by_undo(
    repo: Repo,
    made: object,
    taken: object,
    *,
    what: str,
    dry_run: bool,
    changed: dict[str, object] | None,
) -> list[str]:
    """`undo` of a move: the FIFOs it made again (`made`, MADE) removed where they are
    still FIFOs of those bits (git holds none, so no tree of the undo removes them), and those
    an undo removed (`taken`, TAKEN) made again where nothing is; each kept in
    `changed` the other way round, for a second `undo`. One line each way."""
    from git_atomic.engine import unchanged

    lines: list[str] = []
    removed: dict[bytes, int] = {}
    remade: dict[bytes, int] = {}
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path, mode in _fifo_modes(made):
            st = tree.lstat(path)
            if st is None or not stat.S_ISFIFO(st.st_mode) or st.st_mode != mode:
                continue  # gone, or not as it made it: yours since
            if dry_run or unchanged.remove_special(tree, path, mode) is unchanged.Found.SAME:
                removed[path] = mode
        for path, mode in _fifo_modes(taken):
            if tree.kind(path) is not None:
                continue
            if not dry_run:
                try:
                    tree.make_folders(os.path.dirname(path))
                    tree.mkfifo(path, mode)
                except (OSError, safefs.Blocked):
                    continue
            remade[path] = mode
    if removed:
        names = ", ".join(_show(p) for p in sorted(removed))
        lines.append(f"the FIFOs {what} made again are removed{' (would be)' * dry_run}: {names}")
    if remade:
        names = ", ".join(_show(p) for p in sorted(remade))
        lines.append(f"the FIFOs {what} removed are made again{' (would be)' * dry_run}: {names}")
    if changed is not None and not dry_run:
        if removed:
            changed[TAKEN] = {_name(p): m for p, m in removed.items()}
        if remade:
            changed[MADE] = {_name(p): m for p, m in remade.items()}
    return lines


def _fifo_modes(noted_fifos: object) -> list[tuple[bytes, int]]:
    """An event's {path: st_mode} of FIFOs, as it keeps them; what is not one left out."""
    if not isinstance(noted_fifos, dict):
        return []
    return sorted(
        (str(name).encode("utf-8", "surrogateescape"), mode)
        for name, mode in noted_fifos.items()
        if isinstance(mode, int) and stat.S_ISFIFO(mode)
    )


def _name(path: bytes) -> str:
    return path.decode("utf-8", "surrogateescape")


def _show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")
