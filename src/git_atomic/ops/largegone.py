"""Files too large for any checkpoint that a move cannot bring back, said after it.

A new untracked file over `max_new_file_size` is in no checkpoint (a capture names it: "not
protected"). One that was there when the move's target was captured and is not there now (the
operation deleted or moved it) cannot come back, and the rollback of an operation that had
deleted a 12 MB database said "it had changed nothing". Each is named as a path the move could
not put back (`Outcome.failed`), as one the system refused is.

One the operation only moved (`mv big.db data/`) is still there under its new name: a file over
the budget the state now has and the target lacks, with the device and inode the target
recorded (a rename keeps both), born before the target was captured. It is moved back: a
rename, no byte read (`moved_back`).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence

from git_atomic.core.errors import GitError
from git_atomic.engine import checkpoint, safefs
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo
from git_atomic.engine.restoreplan import Outcome


def note(
    repo: Repo,
    target: Snapshot,
    paths: Sequence[bytes],
    outcome: Outcome,
    current: Snapshot | None = None,
) -> None:
    """Each file over the budget when `target` was captured that is no regular file now (a
    selective move, `paths`, only for those it names); one `current` (the state the move
    started from) has under another name, moved back (`moved_back`), also where another of
    them took its name (`mv a.db t; mv b.db a.db; mv t b.db`)."""
    big = _named(repo, target, paths)
    if not big:
        return
    if current is not None and not paths:
        back = moved_back(repo, target, current, displaced(repo, target, big))
        for frm, to in back:
            outcome.problems.append(
                f"{_show(to)} was larger than max_new_file_size, in no checkpoint: the "
                f"operation had moved it to {_show(frm)}; moved back"
            )
    gone = gone_now(repo, target, big)
    if gone:
        for path in from_aside(repo, target, gone):
            gone.remove(path)
            outcome.problems.append(
                f"{_show(path)} was larger than max_new_file_size, in no checkpoint: a move "
                "back killed half way had left it aside; put back"
            )
    for path in gone:
        outcome.failed.append(path)
        outcome.problems.append(
            f"{_show(path)} was larger than max_new_file_size "
            "when the state it returns to was saved, so no checkpoint holds it: it is gone "
            "now (deleted or moved since), and cannot come back"
        )


def _named(repo: Repo, target: Snapshot, paths: Sequence[bytes]) -> list[bytes]:
    """The files over the budget when `target` was captured (of those `paths` names, where it
    names any)."""
    if target.too_large is None:
        return []
    try:
        big = sorted(checkpoint.load_too_large(repo, target))
    except GitError:
        return []
    if paths:
        big = [p for p in big if any(p == q or p.startswith(q.rstrip(b"/") + b"/") for q in paths)]
    return big


def gone_now(repo: Repo, target: Snapshot, big: Sequence[bytes]) -> list[bytes]:
    """Of `big` (over the budget when `target` was captured), those no regular file stands at
    now that the target brings back (`_the_targets`): a move can only name them."""
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        found = tree.lstat_many(big)
    gone = [
        p for p, st in zip(big, found, strict=True) if st is None or not stat.S_ISREG(st.st_mode)
    ]
    return _the_targets(repo, target, gone)


def unheld_gone(repo: Repo, target: Snapshot, paths: Sequence[bytes]) -> list[bytes]:
    """The files over the budget when `target` was captured that are gone now and that no move
    brings back: a move with nothing else to do is one all the same, so that it names them
    (`note`) and is not said to have had nothing to do (movetell.large_moves)."""
    big = _named(repo, target, paths)
    return gone_now(repo, target, big) if big else []


def _the_targets(repo: Repo, target: Snapshot, gone: list[bytes]) -> list[bytes]:
    """Of `gone`, those the target brings back: where it records where its files were (a
    capture does, for all of them; an effect's target, for those its changes took from
    their names: effect.py), those it records; one you moved between the changes is yours."""
    if not gone or target.too_large_ids is None:
        return gone
    try:
        ids = checkpoint.load_too_large_ids(repo, target)
    except GitError:
        return gone
    return [p for p in gone if p in ids]


def from_aside(repo: Repo, target: Snapshot, gone: Sequence[bytes]) -> list[bytes]:
    """Of `gone` (over the budget at `target`, not at their names now), those a move back
    killed between its two steps (`put_back`: moved aside, not yet linked back) left in our
    folder of files set aside, a dead process's: the same file (device and inode, as `target`
    recorded it), linked at its name where nothing is, then its name aside removed. No
    checkpoint holds such a file: this is the only way back. A listing of that folder."""
    from git_atomic.engine import scratch

    tmp = repo.state_dir / "tmp"
    left = scratch.aside_left(tmp)
    if not left:
        return []
    try:
        ids = checkpoint.load_too_large_ids(repo, target)
    except GitError:
        return []
    wanted = {ids[p][:2]: p for p in gone if p in ids}
    done: list[bytes] = []
    try:
        fd = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        with safefs.Tree(os.fsencode(repo.root)) as tree:
            for name in left:
                st = safefs.lstat_at(fd, os.fsencode(name))
                if st is None or not stat.S_ISREG(st.st_mode):
                    continue
                path = wanted.get((st.st_dev, st.st_ino))
                if path is None or tree.lstat(path) is not None:
                    continue
                try:
                    dest = tree.make_folders(os.path.dirname(path))
                    os.link(name, os.path.basename(path), src_dir_fd=fd, dst_dir_fd=dest)
                    os.unlink(name, dir_fd=fd)
                except (safefs.Blocked, OSError):
                    continue
                done.append(path)
    finally:
        os.close(fd)
    return done


def displaced(repo: Repo, target: Snapshot, big: Sequence[bytes]) -> list[bytes]:
    """Of `big` (files over the budget when `target` was captured), those whose name holds no
    regular file now, or another file than the one `target` recorded there (device and inode:
    another of them moved there, `mv -f a.db b.db`, or a swap)."""
    if not big:
        return []
    try:
        ids = checkpoint.load_too_large_ids(repo, target)
    except GitError:
        ids = {}
    from git_atomic.engine import heldanyway  # only where files over the budget were

    now = heldanyway.identities(repo, big)
    return [p for p in big if p not in now or (p in ids and now[p][:2] != ids[p][:2])]


def moves(
    repo: Repo, target: Snapshot, current: Snapshot, gone: Sequence[bytes]
) -> list[tuple[bytes, bytes]]:
    """(where it is now, where it was) for each file of `gone` (over the budget when `target`
    was captured, not at its name now: `displaced`) that is on disk under another name
    `current` has over the budget: the same file (device and inode, as `target` recorded them:
    a rename keeps both) and born before `target` was captured, never another's bytes. The
    name it is at now may be another's of them (a swap, a turn of three names)."""
    try:
        ids = checkpoint.load_too_large_ids(repo, target)
        if not ids or current.too_large is None:
            return []
        now = sorted(checkpoint.load_too_large(repo, current))
    except GitError:
        return []
    wanted = {ids[p][:2]: p for p in gone if p in ids}
    if not now or not wanted:
        return []
    from git_atomic.engine import (  # only where a file over the budget is gone
        changedtimes,
        heldanyway,
    )

    found = heldanyway.identities(repo, now).items()
    same = {p: wanted[i[:2]] for p, i in found if i[:2] in wanted and wanted[i[:2]] != p}
    if not same or target.captured_at is None:
        return []
    # Born before the target was captured: an inode freed by a deletion and given to a file
    # made since is another file.
    older = changedtimes.older_than(repo, sorted(same), target.captured_at)
    return [(path, same[path]) for path in older]


def moved_back(
    repo: Repo, target: Snapshot, current: Snapshot, gone: Sequence[bytes]
) -> list[tuple[bytes, bytes]]:
    """The files of `gone` that the operation moved (`moves`), moved back: each first moved
    aside (one rename, looked at there: still that file), then linked at its old name, never
    over a file there (one no move took away: put back where it was), the folders the old
    name needs made, and the new name's folders left empty removed where the target lacks
    them. Aside first, so files that swapped names go back too. The pairs moved."""
    return put_back(repo, moves(repo, target, current, gone), target)


def put_back(
    repo: Repo, pairs: Sequence[tuple[bytes, bytes]], target: Snapshot | None = None
) -> list[tuple[bytes, bytes]]:
    """Each file of `pairs` (where it is now, where it was: `moves`) moved back, as
    `moved_back` says; the folders left empty removed but the empty ones `target` holds."""
    done: list[tuple[bytes, bytes]] = []
    if not pairs:
        return done
    from git_atomic.engine import heldanyway

    ids = heldanyway.identities(repo, [frm for frm, _ in pairs])
    empty = checkpoint.load_empty_folders(repo, target) if target is not None else frozenset()
    aside = os.fsencode(repo.state_dir / "tmp")
    with safefs.Tree(os.fsencode(repo.root), aside=aside) as tree:
        held: list[tuple[bytes, bytes, safefs.Taken]] = []
        for frm, to in pairs:
            source = tree.folder(os.path.dirname(frm))
            if source is None or frm not in ids:
                continue
            ident = ids[frm][:2]
            hold: list[safefs.Taken] = []
            try:
                tree.take(
                    source,
                    os.path.basename(frm),
                    lambda st, ident=ident: (  # type: ignore[misc]
                        stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) == ident
                    ),
                    hold=hold,
                )
            except OSError:
                continue
            held += [(frm, to, taken) for taken in hold]
        if held:
            from git_atomic.core import failpoints

            failpoints.hit("largegone:aside")
        for frm, to, taken in held:
            if _put(tree, taken, to):
                done.append((frm, to))
            else:
                tree.give_back(taken)
        for frm, _ in done:
            folder = os.path.dirname(frm)
            while folder and folder not in empty and tree.rmdir(folder):
                folder = os.path.dirname(folder)
        _bits_of_made(repo, tree, target)
    return done


def _bits_of_made(repo: Repo, tree: safefs.Tree, target: Snapshot | None) -> None:
    """The folders a move back made again (`mv vault/big.db .; rmdir vault`) given the bits
    `target`'s capture saw (a 0700 `vault/`), as a restore gives those it makes."""
    if not tree.made or target is None:
        return
    modes = checkpoint.load_modes(repo, target)
    for folder in tree.made:
        bits = modes.get(folder + b"/")
        fd = tree.folder(folder) if bits is not None else None
        if fd is not None and bits is not None:
            with contextlib.suppress(OSError):
                os.fchmod(fd, bits)


def _put(tree: safefs.Tree, taken: safefs.Taken, to: bytes) -> bool:
    """The file `taken` holds aside, at `to`: a hard link, which never replaces anything, then
    the name aside removed. False where something is at `to` or the system refuses."""
    try:
        dest = tree.make_folders(os.path.dirname(to))
        os.link(
            taken.moved,
            os.path.basename(to),
            src_dir_fd=taken.aside,
            dst_dir_fd=dest,
            follow_symlinks=False,
        )
    except (safefs.Blocked, OSError):
        return False
    tree.drop(taken)
    return True


def _show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")
