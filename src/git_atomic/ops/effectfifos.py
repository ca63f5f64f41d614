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
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from git_atomic.engine import checkpoint, safefs
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo
from git_atomic.engine.restoreplan import Action, PathChange

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


def rebitted(
    repo: Repo, pre: Snapshot, end: Snapshot, calls: Sequence[tuple[Snapshot, Snapshot]]
) -> tuple[tuple[tuple[bytes, int], ...], tuple[bytes, ...]]:
    """The FIFOs of yours whose bits the operation changed (a `chmod`: a FIFO at both ends,
    of other bits; where `calls` are given, one of them changed them: a change of yours
    between them is yours): (path, the bits before it) where still as the operation left them,
    to set back; and those changed since (yours, or another writer's): left, named."""
    pairs = list(calls) or [(pre, end)]
    before: dict[bytes, int] = {}
    for start, stop in pairs:
        if start.specials is None or stop.specials is None:
            continue
        then = checkpoint.load_specials(repo, stop)
        for path, mode in checkpoint.load_specials(repo, start).items():
            new = then.get(path, 0)
            if stat.S_ISFIFO(mode) and stat.S_ISFIFO(new) and new != mode:
                before.setdefault(path, mode)
    if not before or end.specials is None:
        return (), ()
    left = checkpoint.load_specials(repo, end)
    back: list[tuple[bytes, int]] = []
    touched: list[bytes] = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path, mode in sorted(before.items()):
            st = tree.lstat(path)
            if st is None or not stat.S_ISFIFO(st.st_mode) or st.st_mode == mode:
                continue  # gone or replaced (`taken`'s), or as before already
            if st.st_mode == left.get(path):
                back.append((path, mode & 0o7777))
            else:
                touched.append(path)
    return tuple(back), tuple(touched)


def tell_bits(
    done: Mapping[bytes, tuple[int, int]],
    touched: Sequence[bytes],
    said: list[str],
    warned: list[str],
) -> None:
    """What setting back `rebitted`'s bits did (`done`: path -> (as they were, as written)),
    and those changed since, left."""
    if done:
        names = ", ".join(f"{_show(p)} ({new:o})" for p, (_, new) in sorted(done.items()))
        said.append(f"the bits the operation gave FIFOs set back: {names}")
    for path in touched:
        warned.append(
            f"{_show(path)}: the permission bits the operation gave the FIFO were changed "
            "since (yours, or another writer's): left as they are"
        )


def foreseen_bits(back: Sequence[tuple[bytes, int]], touched: Sequence[bytes]) -> list[str]:
    """`tell_bits`, for a dry run: one clause each."""
    said = []
    if back:
        said.append("the bits it gave FIFOs: would set back " + _names(dict(back)))
    if touched:
        names = ", ".join(_show(p) for p in touched)
        said.append(f"the bits it gave the FIFOs {names}, changed since: left as they are")
    return said


def made(
    repo: Repo, pre: Snapshot, end: Snapshot, calls: Sequence[tuple[Snapshot, Snapshot]]
) -> tuple[tuple[tuple[bytes, int], ...], tuple[tuple[bytes, int], ...]]:
    """The FIFOs, sockets and devices the operation made (its end saw them, its PRE-OP did
    not: where `calls` are given, one of them made it: one you made between them is yours):
    (those still there as it made them, to take away; those something else stands in place
    of now, yours since: named, left). One gone since is gone: nothing to do."""
    from git_atomic.engine.restorespecials import knows_all

    pairs = list(calls) or [(pre, end)]
    ours: dict[bytes, int] = {}
    for start, stop in pairs:
        if stop.specials is None or not knows_all(start):
            continue  # (none, or PRE-OP's not known: yours may be among them)
        was = checkpoint.load_specials(repo, start)
        for path, mode in checkpoint.load_specials(repo, stop).items():
            if stat.S_IFMT(was.get(path, 0)) != stat.S_IFMT(mode):
                ours[path] = mode  # (the last call's: as the operation left it)
    if not ours:
        return (), ()
    if end.specials is not None:  # one a later call of its own took away is no more its
        left = checkpoint.load_specials(repo, end)
        ours = {p: m for p, m in ours.items() if stat.S_IFMT(left.get(p, 0)) == stat.S_IFMT(m)}
    there: list[tuple[bytes, int]] = []
    replaced: list[tuple[bytes, int]] = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path, mode in sorted(ours.items()):
            st = tree.lstat(path)
            if st is None:
                continue
            if st.st_mode == mode:
                there.append((path, mode))
            else:  # another kind, or a FIFO of other bits: yours since
                replaced.append((path, mode))
    return tuple(there), tuple(replaced)


def taken_away(
    repo: Repo,
    pre: Snapshot,
    ours: Sequence[tuple[bytes, int]],
    replaced: Sequence[tuple[bytes, int]],
    said: list[str],
    warned: list[str],
    failed: list[bytes],
) -> dict[bytes, int]:
    """Those the operation made (`made`'s) taken away where still as it made them, and the
    folders that leaves empty that its PRE-OP (`pre`) did not have; those replaced since
    named, left as they are. Those taken away: path -> st_mode."""
    from git_atomic.engine import restoreplan, unchanged
    from git_atomic.engine.restorefolders import prune_empty_dirs

    removed: dict[bytes, int] = {}
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path, mode in ours:
            st = tree.lstat(path)
            if st is None or st.st_mode != mode:
                replaced = [*replaced, (path, mode)]
                continue
            try:
                if unchanged.remove_special(tree, path, mode) is unchanged.Found.SAME:
                    removed[path] = mode
            except OSError as exc:
                failed.append(path)
                warned.append(f"cannot take away {_show(path)}: {exc.strerror or exc}")
        if removed:
            pruned = restoreplan.Outcome()
            prune_empty_dirs(
                tree,
                {os.path.dirname(p) for p in removed} - {b""},
                keep=_folders_at(repo, pre, removed),
                outcome=pruned,
            )
            warned += pruned.problems
    for path, mode in replaced:
        warned.append(
            f"{_show(path)}: the {_kind(mode)} the operation made was changed since (yours, "
            "or another writer's): left as it is"
        )
    if removed:
        said.append("what it made that holds no data taken away: " + _names(removed))
    return removed


def _folders_at(repo: Repo, pre: Snapshot, paths: Iterable[bytes]) -> set[bytes]:
    """The folders on the way to `paths` that the state `pre` had: a file, a folder, a
    special file or an empty folder of its in them."""
    from git_atomic.engine.gittrees import folders_on_the_way

    folders = sorted({f for p in paths for f in folders_on_the_way(p)})
    if not folders:
        return set()
    had = {e.path for e in repo.ls_tree_at(pre.files_tree, folders)}
    inside = [*checkpoint.load_specials(repo, pre), *checkpoint.load_empty_folders(repo, pre)]
    had |= {f for f in folders if any(p == f or p.startswith(f + b"/") for p in inside)}
    return had


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
    kept_by: Snapshot | None = None,
) -> list[str]:
    """`undo` of a move: the FIFOs it made again (`made`, MADE) removed where they are
    still FIFOs of those bits (git holds none, so no tree of the undo removes them), with the
    folders that leaves empty that the state `kept_by` (the one the undo goes to) lacks, and
    those an undo removed (`taken`, TAKEN) made again where nothing is, their folders too; each
    kept in `changed` the other way round, for a second `undo`. One line each way."""
    from git_atomic.engine import unchanged
    from git_atomic.engine.restorespecials import special_not_back

    lines: list[str] = []
    lost: list[str] = []
    removed: dict[bytes, int] = {}
    remade: dict[bytes, int] = {}
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path, mode in _fifo_modes(made):
            st = tree.lstat(path)
            if st is None or not stat.S_ISFIFO(st.st_mode) or st.st_mode != mode:
                continue  # gone, or not as it made it: yours since
            if dry_run or unchanged.remove_special(tree, path, mode) is unchanged.Found.SAME:
                removed[path] = mode
        if removed and not dry_run and kept_by is not None:
            _prune(repo, tree, kept_by, removed, lines)
        for path, mode in _fifo_modes(taken, also_others=True):
            if not stat.S_ISFIFO(mode):  # a socket or a device: none can be made again
                if tree.kind(path) != stat.S_IFMT(mode):
                    lost.append(special_not_back(path, mode, tree.kind(path)))
                continue
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
    lines += lost
    if changed is not None and not dry_run:
        if removed:
            changed[TAKEN] = {_name(p): m for p, m in removed.items()}
        if remade:
            changed[MADE] = {_name(p): m for p, m in remade.items()}
    return lines


def _prune(
    repo: Repo, tree: safefs.Tree, kept_by: Snapshot, removed: Iterable[bytes], lines: list[str]
) -> None:
    """The folders the FIFOs `removed` leave empty that the state `kept_by` lacks, removed
    (a restore prunes those its writes leave so; no tree of the undo held these FIFOs)."""
    from git_atomic.engine import restoreplan
    from git_atomic.engine.restorefolders import prune_empty_dirs

    pruned = restoreplan.Outcome()
    folders = {os.path.dirname(p) for p in removed} - {b""}
    prune_empty_dirs(tree, folders, keep=_folders_at(repo, kept_by, removed), outcome=pruned)
    lines += pruned.problems


def counted(
    changes: Sequence[PathChange], made: Mapping[bytes, int], taken: Mapping[bytes, int]
) -> tuple[PathChange, ...]:
    """A move's path changes with the FIFOs it made again (`made`) and the special files it
    took away (`taken`), which no tree lists: paths it changed all the same."""
    listed = {c.path for c in changes}
    more = [PathChange(p, Action.CREATE) for p in sorted(made)]
    more += [PathChange(p, Action.DELETE) for p in sorted(taken)]
    return (*changes, *(c for c in more if c.path not in listed))


def counted_noted(
    changes: Sequence[PathChange], changed: Mapping[str, object]
) -> tuple[PathChange, ...]:
    """`counted`, of the FIFOs `reversed_by_undo` made and removed (as `changed` keeps them)."""
    made = dict(_fifo_modes(changed.get(MADE)))
    return counted(changes, made, dict(_fifo_modes(changed.get(TAKEN))))


def _fifo_modes(noted_fifos: object, *, also_others: bool = False) -> list[tuple[bytes, int]]:
    """An event's {path: st_mode} of FIFOs, as it keeps them; what is not one left out (but
    sockets and devices, `also_others`: a move took them away, none can be made again)."""
    if not isinstance(noted_fifos, dict):
        return []
    return sorted(
        (str(name).encode("utf-8", "surrogateescape"), mode)
        for name, mode in noted_fifos.items()
        if isinstance(mode, int)
        if stat.S_ISFIFO(mode) or (also_others and (stat.S_ISSOCK(mode) or _device(mode)))
    )


def _device(mode: int) -> bool:
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    return "socket" if stat.S_ISSOCK(mode) else "device"


def _names(paths: object) -> str:
    return ", ".join(_show(p) for p in sorted(paths))  # type: ignore[call-overload]


def _name(path: bytes) -> str:
    return path.decode("utf-8", "surrogateescape")


def _show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")
