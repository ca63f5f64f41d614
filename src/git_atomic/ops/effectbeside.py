"""What an operation's effect holds beside its trees, taken back by a move that takes that
effect back (`rollback --op`, the immediate rollback of a kept run, their `undo`).

Three things no tree holds: files over `max_new_file_size` it moved (largegone.py), the
permission bits it opened (`chmod 644` of a 0600 key; a tree keeps 644 and 755 only), and the
FIFOs, sockets and devices it removed (checkpoint.load_specials: a FIFO is made again, a socket
or a device cannot be and is named). Its own
rollback (a failed run, `abort`, `recover`) goes to its exact PRE-OP, whose capture's bits and
device and inode numbers the restore puts back. A move on top of later changes goes to a state
worked out from trees, which hold neither: the effect is read from the operation's PRE-OP and
end instead. Bits it opened on a file whose bytes and mode are as it left them are closed again;
where a later writer changed the file, or its bits, they are that writer's: left, and said.

What is closed is kept in the move's event (gitdirredo.KEY, `BITS`), so `undo` opens it again
where it is still as the move left it (`reverse`), as it brings back anything else the move
replaced."""

from __future__ import annotations

import os
import stat
from collections.abc import Collection, Mapping, Sequence
from typing import Final

from git_atomic.core.errors import GitError
from git_atomic.core.records import dataclass, field
from git_atomic.engine import checkpoint, safefs
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo
from git_atomic.ops import effectfifos

BITS: Final = "permission_bits"  # gitdirredo's: {path: [bits as they were, as written]}
FIFOS_MADE: Final = effectfifos.MADE


@dataclass(frozen=True)
class Beside:
    """What taking an effect back would do beside the trees."""

    moves: tuple[tuple[bytes, bytes], ...] = ()  # (where it is now, where it was)
    gone: tuple[bytes, ...] = ()  # over the budget, displaced by the operation, nowhere now
    close: tuple[tuple[bytes, int], ...] = ()  # (path, the bits it gets)
    touched: tuple[bytes, ...] = ()  # bits it opened that a later writer changed: left
    fifos: tuple[tuple[bytes, int], ...] = ()  # FIFOs it removed, nothing there now: made again
    # Sockets and devices it removed or replaced, not back (none can be made again), and FIFOs
    # something else stands in place of now: (path, st_mode), named.
    lost: tuple[tuple[bytes, int], ...] = ()
    # FIFOs, sockets and devices it made, still as it made them: taken away; and those
    # something else stands in place of now (yours since): named, left (effectfifos.made).
    made: tuple[tuple[bytes, int], ...] = ()
    replaced: tuple[tuple[bytes, int], ...] = ()
    # The bits it gave FIFOs of yours (a `chmod`), still as it left them: (path, the bits
    # before), set back; and those changed since: left, named (effectfifos.rebitted).
    fifo_bits: tuple[tuple[bytes, int], ...] = ()
    fifo_touched: tuple[bytes, ...] = ()

    @property
    def anything(self) -> bool:
        found = self.moves or self.gone or self.close or self.fifos or self.made
        return bool(found or self.fifo_bits)


def take_back(
    repo: Repo,
    steps: tuple[str, str],
    rescue: str,
    *,
    named: Collection[bytes] = (),
    calls: Sequence[tuple[str, str]] = (),
) -> Done:
    """After the move whose rescue is `rescue` took back the effect from `steps` (PRE-OP, the
    state it left): what it holds beside the trees, taken back too (`carry_out`). `named`:
    paths the move named already. `calls`: an agent turn's steps within `steps`, where its
    effect is theirs alone (the bits you changed between them are yours). The caller keeps the
    bits closed in the move's event (gitdirredo.remember, `noted`), for `undo`."""
    from git_atomic.core import records

    pre, end = (checkpoint.load(repo, sha) for sha in steps)
    found = find(repo, pre, end, checkpoint.load(repo, rescue), calls=loaded(repo, calls))
    found = records.replace(found, gone=tuple(p for p in found.gone if p not in named))
    return carry_out(repo, pre, found)


def loaded(repo: Repo, calls: Sequence[tuple[str, str]]) -> list[tuple[Snapshot, Snapshot]]:
    """Each of `calls` (an agent turn's steps: checkpoints at their two ends), loaded."""
    return [(checkpoint.load(repo, a), checkpoint.load(repo, b)) for a, b in calls]


def find(
    repo: Repo,
    pre: Snapshot,
    end: Snapshot,
    current: Snapshot,
    *,
    calls: Sequence[tuple[Snapshot, Snapshot]] = (),
) -> Beside:
    """What the effect from `pre` to `end` holds beside the trees, seen from `current`; the
    bits only those `calls` opened, where given (an agent turn's steps: what changed between
    them is yours)."""
    moves, gone = _large(repo, pre, end, current, calls)
    if not calls:
        close, touched = _opened(repo, pre, end, current)
    else:
        closing: dict[bytes, int] = {}
        seen: set[bytes] = set()
        for start, stop in calls:
            shut, left = _opened(repo, start, stop, current)
            for path, bits in shut:
                closing.setdefault(path, bits)  # the bits before the first call opened them
            seen.update(left)
        close = sorted(closing.items())
        touched = sorted(seen - set(closing))
    fifos, lost = effectfifos.taken(repo, pre, end, calls)
    made, replaced = effectfifos.made(repo, pre, end, calls)
    chmods = effectfifos.rebitted(repo, pre, end, calls)  # (a FIFO's bits)
    found = (tuple(moves), tuple(gone), tuple(close), tuple(touched), fifos, lost)
    return Beside(*found, made, replaced, *chmods)


def _large(
    repo: Repo,
    pre: Snapshot,
    end: Snapshot,
    current: Snapshot,
    calls: Sequence[tuple[Snapshot, Snapshot]] = (),
) -> tuple[list[tuple[bytes, bytes]], list[bytes]]:
    """The files over the budget the operation took from their names (the device and inode
    PRE-OP saw there are not there at its end; where `calls` are given, one of them took it:
    one you moved between them is yours): those found under another name, and those
    nowhere."""
    if pre.too_large is None:
        return [], []
    from git_atomic.ops import largegone

    try:
        ours = _taken(repo, pre, end)
        if calls and ours:
            by_calls: set[bytes] = set()
            for start, stop in calls:
                if start.too_large is not None:
                    by_calls.update(_taken(repo, start, stop))
            ours = [p for p in ours if p in by_calls]
    except GitError:
        return [], []
    displaced = largegone.displaced(repo, pre, ours)
    moves = largegone.moves(repo, pre, current, displaced) if displaced else []
    back = {to for _, to in moves}
    away = {frm for frm, _ in moves}  # left empty by a move back (`mv -f a.db b.db`'s b.db)
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        gone = [p for p in displaced if p not in back and (p in away or tree.lstat(p) is None)]
    return moves, gone


def _taken(repo: Repo, pre: Snapshot, end: Snapshot) -> list[bytes]:
    """The names over the budget at `pre` that do not hold the same file at `end`."""
    was = checkpoint.load_too_large_ids(repo, pre)
    then = checkpoint.load_too_large_ids(repo, end)
    return sorted(p for p, i in was.items() if then.get(p, (-1, -1, -1))[:2] != i[:2])


def _opened(
    repo: Repo, pre: Snapshot, end: Snapshot, current: Snapshot
) -> tuple[list[tuple[bytes, int]], list[bytes]]:
    """The bits the operation opened (its PRE-OP saw them closed, its end did not) on files and
    folders as it left them: (path, bits to close them to); and those a later writer changed."""
    was = checkpoint.load_modes(repo, pre)
    if not was:
        return [], []
    then = checkpoint.load_modes(repo, end)
    opened = {p: bits for p, bits in was.items() if then.get(p) != bits}
    if not opened:
        return [], []
    files = sorted(p for p in opened if p[-1:] != b"/")
    left = {e.path: (e.mode, e.oid) for e in repo.ls_tree_at(end.files_tree, files)}
    now = {e.path: (e.mode, e.oid) for e in repo.ls_tree_at(current.files_tree, files)}
    close: list[tuple[bytes, int]] = []
    touched: list[bytes] = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path, bits in sorted(opened.items()):
            folder = path[-1:] == b"/"
            st = tree.lstat(path.rstrip(b"/"))
            if st is None or not (stat.S_ISDIR if folder else stat.S_ISREG)(st.st_mode):
                continue
            mode = st.st_mode & 0o7777
            if mode & ~bits == 0 and bits & 0o7000 & ~mode == 0:
                continue  # as closed as PRE-OP saw it already
            if not folder and (mode ^ bits) & 0o100:
                continue  # its executable bit is the tree's own
            # As the operation left it: the bits its end saw (not listed: git's own).
            as_left = mode == then[path] if path in then else mode in (0o644, 0o755)
            if not as_left or (not folder and (path not in left or now.get(path) != left[path])):
                touched.append(path)
                continue
            close.append((path, bits & (mode | 0o7000)))
    return close, touched


@dataclass(frozen=True)
class Done:
    """What `carry_out` did: lines said, lines warned (left, or gone for good), the bits
    changed (path -> (as they were, as written)) and the paths not put back."""

    said: tuple[str, ...]
    warned: tuple[str, ...]
    changed: Mapping[bytes, tuple[int, int]]
    failed: tuple[bytes, ...]
    made: Mapping[bytes, int] = field(default_factory=dict)  # FIFOs made again: path -> mode
    taken: Mapping[bytes, int] = field(default_factory=dict)  # those it made, taken away


def carry_out(repo: Repo, pre: Snapshot, found: Beside) -> Done:
    """Do what `found` says: the files moved back, the bits closed."""
    said: list[str] = []
    warned: list[str] = []
    failed: list[bytes] = []
    if found.moves:
        from git_atomic.ops import largegone

        for frm, to in largegone.put_back(repo, found.moves, pre):
            said.append(
                f"{_show(to)} was larger than max_new_file_size, in no checkpoint: the "
                f"operation had moved it to {_show(frm)}; moved back"
            )
    for path in found.gone:
        failed.append(path)
        warned.append(
            f"{_show(path)} was larger than max_new_file_size when the operation began, so no "
            "checkpoint holds it: it is gone now (deleted or moved since), and cannot come back"
        )
    made: dict[bytes, int] = {}
    taken: dict[bytes, int] = {}
    if found.made or found.replaced:
        taken = effectfifos.taken_away(repo, pre, found.made, found.replaced, said, warned, failed)
    if found.fifos or found.lost:
        made = effectfifos.made_again(repo, found.fifos, found.lost, said, warned, failed)
    changed = set_bits(repo, dict(found.close), failed, warned)
    if changed:
        names = ", ".join(f"{_show(p)} ({new:o})" for p, (_, new) in sorted(changed.items()))
        said.append(f"the permission bits the operation opened closed again: {names}")
    for path in found.touched:
        warned.append(
            f"{_show(path)}: the permission bits the operation opened were changed since "
            "(yours, or another writer's): left as they are"
        )
    fifo_bits = set_bits(repo, dict(found.fifo_bits), failed, warned)
    changed.update(fifo_bits)  # kept with the rest, for `undo`
    effectfifos.tell_bits(fifo_bits, found.fifo_touched, said, warned)
    return Done(tuple(said), tuple(warned), changed, tuple(failed), made, taken)


def foresee(found: Beside) -> list[str]:
    """What `carry_out` would do, for a dry run: one clause each."""
    said = []
    if found.made:
        said.append(
            "what it made that holds no data (a FIFO, a socket): would take away "
            + ", ".join(_show(p) for p, _ in found.made)
        )
    if found.replaced:
        said.append(
            "what it made that holds no data, changed since: left as it is "
            + ", ".join(_show(p) for p, _ in found.replaced)
        )
    if found.fifos:
        said.append(
            "the FIFOs it removed: would make again " + ", ".join(_show(p) for p, _ in found.fifos)
        )
    if found.lost:
        said.append(
            "what it removed that cannot be made again (a socket, a device) or that stands "
            "replaced: " + ", ".join(_show(p) for p, _ in found.lost)
        )
    if found.moves:
        names = ", ".join(f"{_show(frm)} to {_show(to)}" for frm, to in found.moves)
        said.append(
            f"the file over max_new_file_size it moved, which no checkpoint holds: would move "
            f"back {names}"
        )
    if found.close:
        said.append(
            "the permission bits it opened: would close again "
            + ", ".join(_show(p) for p, _ in found.close)
        )
    if found.touched:
        said.append(
            "the permission bits it opened on "
            + ", ".join(_show(p) for p in found.touched)
            + ", changed since: left as they are"
        )
    if found.fifo_bits:
        said.append(
            "the bits it gave FIFOs: would set back "
            + ", ".join(_show(p) for p, _ in found.fifo_bits)
        )
    if found.fifo_touched:
        said.append(
            "the bits it gave the FIFOs "
            + ", ".join(_show(p) for p in found.fifo_touched)
            + ", changed since: left as they are"
        )
    return said


def set_bits(
    repo: Repo, wanted: Mapping[bytes, int], failed: list[bytes], lines: list[str]
) -> dict[bytes, tuple[int, int]]:
    """Each path of `wanted` (a folder's ending in a slash) given its bits, never through a
    link. The bits changed: path -> (as they were, as written)."""
    changed: dict[bytes, tuple[int, int]] = {}
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path, bits in sorted(wanted.items()):
            rel = path.rstrip(b"/")
            st = tree.lstat(rel)
            if st is None or st.st_mode & 0o7777 == bits:
                continue
            try:
                if path[-1:] == b"/":
                    fd = tree.folder(rel)
                    if fd is None:
                        continue
                    os.fchmod(fd, bits)
                elif stat.S_ISFIFO(st.st_mode):  # (a FIFO whose bits a restore put back)
                    if not tree.chmod_fifo(rel, bits):
                        continue
                elif not tree.chmod(rel, bits):
                    continue
            except OSError as exc:
                failed.append(path)
                lines.append(f"cannot restore {_show(path)}: {exc.strerror or exc}; left as it is")
                continue
            changed[path] = (st.st_mode & 0o7777, bits)
    return changed


def noted(
    changed: Mapping[bytes, tuple[int, int]],
    made: Mapping[bytes, int] | None = None,
    taken: Mapping[bytes, int] | None = None,
) -> dict[str, object]:
    """`changed` (bits), `made` (FIFOs made again) and `taken` (FIFOs, sockets and devices
    taken away) as an event keeps them (under gitdirredo.KEY)."""
    kept: dict[str, object] = {}
    if changed:
        kept[BITS] = {_name(p): [was, now] for p, (was, now) in changed.items()}
    if made:
        kept[FIFOS_MADE] = {_name(p): mode for p, mode in made.items()}
    if taken:
        kept[effectfifos.TAKEN] = {_name(p): mode for p, mode in taken.items()}
    return kept


def wanted_back(repo: Repo, noted_bits: object) -> dict[bytes, int]:
    """The paths whose bits an event changed (`noted`) that are still as it wrote them, and
    the bits they had before it (a folder's path ends with a slash)."""
    wanted: dict[bytes, int] = {}
    if not isinstance(noted_bits, dict) or not noted_bits:
        return wanted
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for name, pair in sorted(noted_bits.items()):
            if not isinstance(pair, list) or len(pair) != 2:
                continue
            was, wrote = pair
            path = str(name).encode("utf-8", "surrogateescape")
            st = tree.lstat(path.rstrip(b"/"))
            if st is not None and st.st_mode & 0o7777 == wrote and was != wrote:
                wanted[path] = int(was)
    return wanted


def reverse(
    repo: Repo, noted_bits: object, *, what: str, dry_run: bool, changed: dict[str, object] | None
) -> list[str]:
    """The bits an event changed (`noted`) set back as they were, where they are still as it
    wrote them (one changed since is yours: left); one line."""
    wanted = wanted_back(repo, noted_bits)
    if not wanted:
        return []
    if dry_run:
        done = {p: (0, bits) for p, bits in wanted.items()}
    else:
        done = set_bits(repo, wanted, [], [])
    if not done:
        return []
    if changed is not None and not dry_run:
        changed[BITS] = {
            p.decode("utf-8", "surrogateescape"): [was, bits] for p, (was, bits) in done.items()
        }
    names = ", ".join(f"{_show(p)} ({bits:o})" for p, (_, bits) in sorted(done.items()))
    return [f"the permission bits {what} changed are set back: {names}"]


def _name(path: bytes) -> str:
    return path.decode("utf-8", "surrogateescape")


def _show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")
