"""Folders an operation renamed or moved, moved back whole before a restore, with the files in
them that no checkpoint holds.

A checkpoint holds the files git lists, never the ignored ones (`build/cache.bin` with
`/build/`, `F/cache.bin` with `*.bin`). An operation that renames such a folder (`mv build
out`, `mv F lib/F`, two folders swapped) took them along: the restore put the files it holds
back where they were and left the others at the operation's names, or took one a rule no
longer ignored there (`out/cache.bin`) away as the operation's, the rescue its only copy.

Each capture keeps where each folder was by device and inode (folderids.py), which a rename
keeps. Where the target records a folder at one path and the state the restore starts from
has that same folder (device and inode) at another, born before the target was captured (an
inode freed and given to a folder made since is another folder), it is renamed back: first
aside (one rename, looked at there: still that folder), then to its place, so folders that
swapped names go back too. Its place must be free, or hold nothing but empty folders (the
operation's `mkdir build`): those go, and a restore that makes that state again (`undo`)
makes them again (the target records them where the folder it moves away was). Where the
place is taken, the folder stays and the rollback says so (the rescue holds what it takes
from there). The restore then starts from the disk as the moves left it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from git_atomic.core import failpoints
from git_atomic.core.records import dataclass, field
from git_atomic.engine import (
    changedtimes,
    checkpoint,
    folderfound,
    folderids,
    folderplace,
    nestedrepos,
    safefs,
    scratch,
)
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo

_ROUNDS: Final = 8  # a folder moved inside a folder moved, and so on


@dataclass(frozen=True)
class Moved:
    """What `take_back` did: the folders moved back (where they were, where they go), the
    ones it left, said why, and the empty folders it made again."""

    back: tuple[tuple[bytes, bytes], ...] = ()
    left: tuple[str, ...] = ()
    made: tuple[bytes, ...] = ()
    notes: tuple[str, ...] = field(default=())
    was: dict[bytes, tuple[int, int]] = field(default_factory=dict)  # where each was: identity
    # Those whose place was taken (where they are, where they were), said once the restore is
    # done (folderplace.refused_line: what it took of them), in the worktree at `root`.
    refused: tuple[tuple[bytes, bytes], ...] = ()
    root: bytes = b""


def take_back(
    repo: Repo,
    current: Snapshot,
    target: Snapshot,
    known: folderids.Ids | None = None,
    *,
    only: folderids.Ids | None = None,
) -> Moved:
    """Move each folder `current` has where `target` had it elsewhere back there (the module's
    rules). Nothing when either does not know its folders or `target` was not captured.
    `known`: where folders were in `target` that its capture could not see (in a folder a rule
    ignores), as the restore that replaced it found them (`noted`, in its event). `only`:
    the folders to move, instead of all the target records (an effect's)."""
    recorded = folderids.load(repo, target.folder_ids) | (known or {})
    now = folderids.load(repo, current.folder_ids)
    want = recorded if only is None else _with_inner(only, recorded, now)
    if not want or not now or target.captured_at is None:
        return Moved()
    back: list[tuple[bytes, bytes]] = []
    left: list[str] = []
    refused: list[tuple[bytes, bytes]] = []
    aside = os.fsencode(repo.state_dir / "tmp")
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        back += _from_aside(tree, want, aside, folderplace.Held(repo, current.files_tree))
        now = folderfound.in_ignored(repo, tree, want, now, target.captured_at)
        for _ in range(_ROUNDS):
            pairs = _pairs(want, now)
            if not pairs:
                break
            held = folderplace.Held(repo, current.files_tree)
            done, taken, lines = _move(tree, pairs, want, target.captured_at, aside, held)
            left += [line for line in lines if line not in left]  # (tried again each round)
            refused += [pair for pair in taken if pair not in refused]
            back += done
            now = _moved(now, done)
            if not done:
                break
        # (the folders the target records where one moved away was: all of them, an
        # effect's `mkdir build` too)
        made = _make_again(tree, recorded, [frm for frm, _ in back])
        if only is None:
            left += from_nowhere(repo, tree, target, recorded, now)
    notes = tuple(
        f"{_show(to)}/: found at {_show(frm)}/ (the same folder, moved since); moved back "
        "whole, with the files no checkpoint holds in it (ignored ones)"
        if frm
        else f"{_show(to)}/: a move back killed half way had left it aside; put back"
        for frm, to in back
        if frm != to  # one set aside and put back at its path, in a folder moved back
    )
    was = {frm: want[to] for frm, to in back if frm and to in want}
    root = os.fsencode(repo.root)
    return Moved(tuple(back), tuple(left), tuple(made), notes, was, tuple(refused), root)


_NOWHERE_AT_MOST: Final = 256  # folders the target did not know, looked at for their birth


def from_nowhere(
    repo: Repo, tree: safefs.Tree, target: Snapshot, recorded: folderids.Ids, now: folderids.Ids
) -> list[str]:
    """A line for each folder `now` has that is older than the target (its birth, where the
    filesystem tells: a folder copied with its times is no older) and that the target knew
    nowhere, nor a folder it is in: it came from where no capture looked (deeper in a folder
    a rule ignores than a walk lists, `mv node_modules/a/b/F F2`, or from outside the
    worktree), so no move takes it back, and the restore takes what the state holds in it
    away as the operation's. The rescue has that: said, with the way back."""
    known = set(recorded.values())
    # (a repository of its own in the target, its `.git` gone since: known, as a repository,
    # whose folder no capture records; the rollback says what it does with it, gitdirback.py)
    repositories = checkpoint.paths_of(repo, target.repositories)
    unknown = sorted(p for p, i in now.items() if i not in known and p not in repositories)
    captured_at = target.captured_at or 0.0
    empty: frozenset[bytes] | None = None  # (no capture keeps an empty folder's identity)
    named: list[bytes] = []
    for path in unknown[:_NOWHERE_AT_MOST]:
        above = [path[:n] for n in range(len(path)) if path[n : n + 1] == b"/"]
        if any(now.get(a) in known or a in named for a in above):
            continue  # in a folder the target knew (it moves, or stays, with it)
        parent = tree.folder(os.path.dirname(path))
        born = None if parent is None else changedtimes.birth_time(parent, os.path.basename(path))
        if born is None or born >= captured_at - folderfound.CLOCK_LAG:
            continue
        if empty is None:
            empty = checkpoint.load_empty_folders(repo, target)
            # One of them gone from its path may be this one, moved and filled (`mv E E2 &&
            # touch E2/f`): unknown by identity, so nothing can be said of any.
            if any(tree.lstat(p) is None for p in sorted(empty)[:_NOWHERE_AT_MOST]):
                return []
        if path in empty:
            continue  # an empty folder of the target's, filled since
        named.append(path)
    if named and target.files_tree:
        # (one the target holds as a repository of its own, its `.git` gone since: known, as a
        # repository; nestedrepos.py says what the restore does with it)
        listed = repo.ls_tree_at(target.files_tree, named)
        kept = {e.path for e in listed if e.mode == nestedrepos.GITLINK}
        named = [p for p in named if p not in kept]
    return [
        f"{_show(path)}/: an older folder than the state the rollback goes back to, which knew "
        "it nowhere (from deep in a folder a rule ignores, or from outside the worktree): not "
        "moved back; what the restore takes away from it, the rescue has (`git atomic undo` "
        "brings it back)"
        for path in named
    ]


def _with_inner(only: folderids.Ids, recorded: folderids.Ids, now: folderids.Ids) -> folderids.Ids:
    """`only` (an effect's folders), with each folder the target records inside one of them
    that is still at its own path now (`F/deep` when `F/deep/er` was turned inside out): its
    own move, or it would travel with the folder around it. One you moved since is not."""
    if not only:
        return only
    roots = tuple(p + b"/" for p in only)
    inner = {
        p: i
        for p, i in recorded.items()
        if p not in only and now.get(p) == i and p.startswith(roots)
    }
    return only | inner


DETAIL_KEY: Final = "folders_moved"


def noted(moved: dict[bytes, tuple[int, int]]) -> list[list[object]]:
    """The folders a restore moved back, where each was before it, for its event's detail."""
    return [[p.decode("utf-8", "surrogateescape"), d, i] for p, (d, i) in sorted(moved.items())]


def known_from(detail: str | None) -> folderids.Ids:
    """`noted`'s folders, read back from an event's detail (none where it has none)."""
    import json

    try:
        listed = json.loads(detail or "{}").get(DETAIL_KEY, [])
    except (ValueError, AttributeError):
        return {}
    found: folderids.Ids = {}
    for item in listed if isinstance(listed, list) else ():
        if (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], str)
            and isinstance(item[1], int)
            and isinstance(item[2], int)
        ):
            found[item[0].encode("utf-8", "surrogateescape")] = (item[1], item[2])
    return found


def foresee(
    repo: Repo,
    current: Snapshot,
    target: Snapshot,
    known: folderids.Ids | None = None,
    *,
    only: folderids.Ids | None = None,
) -> list[str]:
    """What `take_back` would move, for a dry run to say (changing nothing)."""
    want = folderids.load(repo, target.folder_ids) | (known or {}) if only is None else only
    now = folderids.load(repo, current.folder_ids)
    if not want or not now or target.captured_at is None:
        return []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        now = folderfound.in_ignored(repo, tree, want, now, target.captured_at)
        return [
            f"{_show(to)}/: found at {_show(frm)}/ (the same folder, moved since); it would "
            "be moved back whole first, with the files no checkpoint holds in it"
            for frm, to, ident in _pairs(want, now)
            if frm != to and _born_before(tree, frm, ident, target.captured_at)
        ]


def _from_aside(
    tree: safefs.Tree, want: folderids.Ids, aside: bytes, held_only: folderplace.Held
) -> list[tuple[bytes, bytes]]:
    """The folders a move back killed between its two steps left aside (a dead process's, in
    our scratch folder) that `want` records, put in their place where it is free or holds
    only what the state now holds there as it is (`held_only`: the operation's link): no
    checkpoint holds what no rule lets git see in them, and this is the only way back.
    (where it was, its place) of each; a listing of that folder."""
    left = [n for n in scratch.aside_left(Path(os.fsdecode(aside))) if "folder-" in n]
    if not left:
        return []
    wanted = {ident: path for path, ident in want.items()}
    done: list[tuple[bytes, bytes]] = []
    try:
        fd = os.open(aside, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        found = []
        for name in map(os.fsencode, left):
            st = safefs.lstat_at(fd, name)
            to = None if st is None else wanted.get((st.st_dev, st.st_ino))
            if st is not None and to is not None and stat.S_ISDIR(st.st_mode):
                found.append((to, name))
        # the outermost first: one that goes inside another goes in once that one is there
        # (never into a folder made for it, which would take the other's place)
        for to, name in sorted(found, key=lambda f: f[0].count(b"/")):
            folder = os.dup(fd)
            if folderplace.place(tree, folder, name, to, want, held_only):
                done.append((b"", to))  # (from nowhere in the worktree)
            else:
                os.close(folder)
    finally:
        os.close(fd)
    return done


def _pairs(want: folderids.Ids, now: folderids.Ids) -> list[tuple[bytes, bytes, tuple[int, int]]]:
    """(where it is now, where `want` has it, its identity) of each folder that must move, but
    for one the innermost folder it is in that moves takes to its place (at the same place in
    it: it follows it). A folder moved out of one that moved too, or into the place of one
    (`mv F out && mv out/deep F`, `F` swapped with `F/deep`), is a pair of its own, and so is
    one still at its path in a folder that moves (`A/B` once `A` and `A/B/C` swapped): all
    are set aside first."""
    where = {ident: path for path, ident in now.items()}
    known = [(where[i], p, i) for p, i in want.items() if i in where]
    movers = {frm: (frm, to, i) for frm, to, i in known if frm != to}
    grew = bool(movers)
    while grew:
        grew = False
        for frm, to, i in known:
            if frm not in movers and _follows(frm, movers) not in (None, to):
                movers[frm] = (frm, to, i)
                grew = True
    return [m for m in movers.values() if _follows(m[0], movers) != m[1]]


def _follows(
    path: bytes, movers: dict[bytes, tuple[bytes, bytes, tuple[int, int]]]
) -> bytes | None:
    """Where the innermost folder of `movers` that `path` is in takes it; None where none."""
    at = path
    while b"/" in at:
        at = at.rsplit(b"/", 1)[0]
        if at in movers:
            return movers[at][1] + path[len(at) :]
    return None


def _moved(ids: folderids.Ids, done: Sequence[tuple[bytes, bytes]]) -> folderids.Ids:
    """`ids` once each folder `frm` of `done` and everything below it is at its `to` (the
    moves made together, through the folder aside: each path goes with the innermost folder
    moved that holds it); what was at or below a `to` and moved with none is gone."""
    out: folderids.Ids = {}
    for path, ident in ids.items():
        mover = max(
            ((frm, to) for frm, to in done if path == frm or path.startswith(frm + b"/")),
            key=lambda m: len(m[0]),
            default=None,
        )
        if mover is not None:
            out[mover[1] + path[len(mover[0]) :]] = ident
        elif not any(path == to or path.startswith(to + b"/") for _, to in done):
            out[path] = ident
    return out


def _move(
    tree: safefs.Tree,
    pairs: Sequence[tuple[bytes, bytes, tuple[int, int]]],
    want: folderids.Ids,
    captured_at: float,
    aside: bytes,
    held_only: folderplace.Held,
) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]], list[str]]:
    """Each folder of `pairs` still that folder and born before `captured_at`, moved aside
    (the innermost first: one moved out of a folder that moved too is taken from where it
    is), then to its place (the outermost first: a folder moved into one that goes back
    goes in after it); the pairs moved, those whose place is taken (put back where they
    were: said once the restore is done), and a line for each that could not be."""
    held: list[tuple[bytes, bytes, int, bytes]] = []  # from, to, folder aside, name there
    left: list[str] = []
    for frm, to, ident in sorted(pairs, key=lambda p: -p[0].count(b"/")):
        if not _born_before(tree, frm, ident, captured_at):
            continue
        taken = folderplace.aside(tree, frm, ident, aside)
        if taken is not None:
            held.append((frm, to, *taken))
    if held:
        failpoints.hit("foldermoves:aside")
    done: list[tuple[bytes, bytes]] = []
    refused: list[tuple[bytes, bytes, int, bytes]] = []
    for frm, to, folder, name in sorted(held, key=lambda h: h[1].count(b"/")):
        in_refused = any(to.startswith(r + b"/") for _, r, _, _ in refused)
        if not in_refused and folderplace.place(tree, folder, name, to, want, held_only):
            done.append((frm, to))
            continue
        refused.append((frm, to, folder, name))
    not_back: list[tuple[bytes, bytes]] = []
    for frm, to, folder, name in sorted(refused, key=lambda h: h[0].count(b"/")):
        if not folderplace.place(tree, folder, name, frm, {}, None):  # where the operation left it
            left.append(f"{_show(frm)}/ could not be put back either: it is in {_show(aside)}")
            os.close(folder)
        else:
            not_back.append((frm, to))
    return done, not_back, left


def _born_before(tree: safefs.Tree, path: bytes, ident: tuple[int, int], at: float) -> bool:
    """Whether the folder at `path` is the one `ident` names and was there before `at`: born
    before it where the filesystem tells, else its entries unchanged since (its mtime)."""
    st = tree.lstat(path)
    if st is None or not stat.S_ISDIR(st.st_mode) or (st.st_dev, st.st_ino) != ident:
        return False
    parent = tree.folder(os.path.dirname(path))
    born = None if parent is None else changedtimes.birth_time(parent, os.path.basename(path))
    return (born if born is not None else st.st_mtime) < at - folderfound.CLOCK_LAG


def _make_again(tree: safefs.Tree, want: folderids.Ids, vacated: Sequence[bytes]) -> list[bytes]:
    """The folders `want` records at or below a path a folder moved back from that are not
    there now: made again, empty (the operation's `mkdir build` where your `build/` was, when
    `undo` puts that back)."""
    made: list[bytes] = []
    if not vacated:
        return made  # (no folder moved back: none of the thousands `want` looked at in turn)
    for path in sorted(want):
        if not any(path == v or path.startswith(v + b"/") for v in vacated):
            continue
        if tree.lstat(path) is not None:
            continue
        with contextlib.suppress(safefs.Blocked, OSError):
            tree.make_folders(path)
            made.append(path)
    return made


def _show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")
