"""The state git keeps in a worktree's git dir while a multi-step command waits for the user.

A merge, rebase, cherry-pick, revert, am or bisect that stops half way leaves files in the git
dir (MERGE_HEAD, rebase-merge/, sequencer/, BISECT_*...), refs of its own (refs/bisect/) and,
with conflicts, unmerged index entries. Before an operation starts, such a state is refused at
the door (nothing of it is ours to judge). An operation that leaves one behind is rolled back
like any other: the rescue checkpoint keeps these files and refs as a `gitstate` tree (and the
raw index, for its unmerged entries), the restore removes them, and `undo` writes them back.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from git_atomic.core import patterns, wholefile
from git_atomic.core.records import dataclass
from git_atomic.engine import capturerefs, gitlinks, gitlockheld, safefs
from git_atomic.engine.git import Repo

# What the door refuses: git waits for the user to finish or abort it.
IN_PROGRESS: Final = (
    ("MERGE_HEAD", "a merge"),
    ("CHERRY_PICK_HEAD", "a cherry-pick"),
    ("REVERT_HEAD", "a revert"),
    ("BISECT_LOG", "a bisect"),
    ("rebase-merge", "a rebase"),
    ("rebase-apply", "a rebase or am"),
    ("sequencer", "a cherry-pick or revert"),
)
# How a user gets out of each: named when a command of ours refuses one it did not leave.
WAY_OUT: Final = {
    "a merge": "git merge --abort",
    "a cherry-pick": "git cherry-pick --abort",
    "a revert": "git revert --abort",
    "a bisect": "git bisect reset",
    "a rebase": "git rebase --abort",
    "a rebase or am": "git rebase --abort or git am --abort",
    "a cherry-pick or revert": "git cherry-pick --abort or git revert --abort",
}
# Everything such a command leaves in the worktree's git dir, saved and cleared together.
FILES: Final = frozenset(
    {
        "MERGE_HEAD",
        "MERGE_MSG",
        "MERGE_MODE",
        "MERGE_RR",
        "MERGE_AUTOSTASH",
        "AUTO_MERGE",
        "SQUASH_MSG",
        "CHERRY_PICK_HEAD",
        "REVERT_HEAD",
        "REBASE_HEAD",
        "BISECT_LOG",
        "BISECT_START",
        "BISECT_TERMS",
        "BISECT_NAMES",
        "BISECT_EXPECTED_REV",
        "BISECT_ANCESTORS_OK",
        "BISECT_RUN",
        "BISECT_FIRST_PARENT",
        "BISECT_HEAD",
        # `git notes merge` stopped by conflicts (t3310): its next one refuses until
        # `--commit` or `--abort`; the worktree is not its (no door refuses it)
        "NOTES_MERGE_PARTIAL",
        "NOTES_MERGE_REF",
    }
)
FOLDERS: Final = frozenset({"rebase-merge", "rebase-apply", "sequencer", "NOTES_MERGE_WORKTREE"})
# A lock the operation's git left behind: saved for `git show`, removed, never written back.
INDEX_LOCK: Final = gitlockheld.INDEX_LOCK
# The index made a link (to a file outside, say): never read through, saved as the link itself,
# and replaced by the regular index the restore writes (snapshot.put_index). Only a link: a
# regular index is the checkpoint's `staged` and `index` entries.
INDEX: Final = "index"
# HEAD, refs and reflogs an operation made links, set aside (gitlinks.py): saved, removed by the
# restore, never made again.
ASIDE: Final = gitlinks.ASIDE
REF_PREFIXES: Final = capturerefs.IN_PROGRESS
_REFS_ENTRY: Final = "refs"  # in the gitstate tree: `<oid> <ref>` lines
_FILES_DIR: Final = "git"  # in the gitstate tree: the files, as they were in the git dir
_OBJECTS_DIR: Final = "objects"  # in the gitstate tree: the trees its files name, kept
_OID: Final = patterns.keep(rb"\b(?:[0-9a-f]{64}|[0-9a-f]{40})\b")  # SHA-256 or SHA-1


@dataclass(frozen=True)
class Saved:
    tree: str  # the `gitstate` entry of a checkpoint
    keep: tuple[str, ...]  # commits its files name: parents of the checkpoint, kept reachable


def waiting_in(repo: Repo, tree: str | None) -> tuple[tuple[str, str], ...]:
    """What of a checkpoint's `gitstate` tree has git wait for the user (IN_PROGRESS: a merge's
    MERGE_HEAD, a rebase's folder...), by name and object: not the files such a command leaves
    behind when it is done (`MERGE_RR`, which `rerere` keeps after every commit; `SQUASH_MSG`)."""
    if tree is None:
        return ()
    top = {e.path: e for e in repo.ls_tree(tree)}
    files = top.get(_FILES_DIR.encode())
    if files is None:
        return ()
    names = {name.encode() for name, _ in IN_PROGRESS}
    found = [(e.path.decode(), e.oid) for e in repo.ls_tree(files.oid) if e.path in names]
    return tuple(sorted(found))


def only_leftovers(repo: Repo, tree: str) -> bool:
    """Whether a `gitstate` tree holds only what git leaves once a command is done (SQUASH_MSG,
    MERGE_RR...): regular files, no state in progress, no lock, link, set-aside HEAD or ref.
    The trees its files name (AUTO_MERGE's, kept reachable as `objects/<id>`) are no state."""
    top = {os.fsdecode(e.path): e for e in repo.ls_tree(tree)}
    if _FILES_DIR not in top or set(top) - {_FILES_DIR, _OBJECTS_DIR}:
        return False  # refs of its own (a bisect)
    waiting = {name for name, _ in IN_PROGRESS}
    return all(
        e.mode == "100644" and os.fsdecode(e.path) in FILES - waiting
        for e in repo.ls_tree(top[_FILES_DIR].oid)
    )


def in_progress(repo: Repo) -> str | None:
    """What git waits for the user to finish in this worktree ("a merge"), or None."""
    for name, what in IN_PROGRESS:
        if os.path.lexists(repo.git_dir / name):
            return what
    return None


def present(repo: Repo) -> list[str]:
    """The names of FILES, FOLDERS, index.lock and ASIDE that exist in the worktree's git dir,
    and the index when it is a link."""
    try:
        names = os.listdir(repo.git_dir)
    except OSError:
        return []
    found = [n for n in names if n in FILES or n in FOLDERS or n in (INDEX_LOCK, ASIDE)]
    if INDEX in names and os.path.islink(repo.git_dir / INDEX):
        found.append(INDEX)
    if _NOTES_WORKTREE in found and _empty_folder(repo.git_dir / _NOTES_WORKTREE):
        found.remove(_NOTES_WORKTREE)  # what `git notes merge --abort` leaves: no merge to git
    return sorted(found)


_NOTES_WORKTREE: Final = "NOTES_MERGE_WORKTREE"


def _empty_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode) and not os.listdir(path)
    except OSError:
        return False


def capture(repo: Repo, refs: Mapping[str, str]) -> Saved | None:
    """The in-progress state now (`refs`: this worktree's refs under REF_PREFIXES), or None."""
    names = present(repo)
    own_refs = {n: o for n, o in refs.items() if n.startswith(REF_PREFIXES)}
    if not names and not own_refs:
        return None
    files = _read(repo, names)
    lines = "".join(f"{oid} {name}\n" for name, oid in sorted(own_refs.items()))
    listing = lines.encode("utf-8", "surrogateescape")  # a ref name's bytes, as git gave them
    oids = repo.write_blobs([*(data for _, data in files.values()), *([listing] * bool(own_refs))])
    entries = {
        _FILES_DIR.encode() + b"/" + os.fsencode(rel): (mode, oid)  # any bytes git allows
        for (rel, (mode, _)), oid in zip(files.items(), oids[: len(files)], strict=True)
    }
    if own_refs:
        entries[_REFS_ENTRY.encode()] = (_FILE, oids[-1])
    mentioned = set(own_refs.values())
    for mode, data in files.values():
        if mode == _FILE and len(data) < 1 << 20:
            mentioned.update(m.decode() for m in re.findall(_OID, data))
    kinds = _kinds(repo, sorted(mentioned))
    # AUTO_MERGE names a tree: kept reachable from this one, as `objects/<its id>`.
    trees = [o for o, k in kinds.items() if k == "tree"]
    entries.update({f"{_OBJECTS_DIR}/{o}".encode(): ("040000", o) for o in trees})
    tree = repo.tree_of(entries)
    return Saved(tree, tuple(o for o, k in kinds.items() if k == "commit"))


_FILE: Final = "100644"
_LINK: Final = "120000"


def _read(repo: Repo, names: Sequence[str]) -> dict[str, tuple[str, bytes]]:
    """The regular files (mode, bytes) and links (mode, target) among `names` in the git dir
    and in those of them that are folders, each reached without following a link (safefs.py):
    git leaves no link there, and what one an operation left points to is never ours to read
    into a rescue; the link itself is saved, as a link."""
    found: dict[str, tuple[str, bytes]] = {}
    with safefs.Tree(os.fsencode(repo.git_dir)) as tree:
        todo = [os.fsencode(n) for n in names]
        while todo:
            rel = todo.pop()
            kind = tree.kind(rel)
            if kind == stat.S_IFDIR:
                fd = tree.folder(rel)
                assert fd is not None
                with os.scandir(fd) as entries:
                    todo += [rel + b"/" + os.fsencode(e.name) for e in entries]
                continue
            if kind == stat.S_IFLNK:
                target = tree.readlink(rel)
                if target is not None:
                    found[os.fsdecode(rel)] = (_LINK, target)
                continue
            data = tree.read(rel)
            if data is not None:
                found[os.fsdecode(rel)] = (_FILE, data)
    return dict(sorted(found.items()))


def describe(repo: Repo, tree: str | None) -> str | None:
    """What a saved state was ("a merge"), for people; None when there was none."""
    if tree is None:
        return None
    names = {rel.split("/", 1)[0] for rel in _saved(repo, tree)[0]}
    for name, what in IN_PROGRESS:
        if name in names:
            return what
    if names == {INDEX}:
        return "the index made a link"
    if names == {ASIDE}:
        return "HEAD or refs made links"
    if names == {INDEX_LOCK}:
        return "a stale index.lock"
    if names <= FILES:  # what a finished command leaves: AUTO_MERGE, SQUASH_MSG, MERGE_RR
        return "git's leftover files (" + ", ".join(sorted(names)) + ")"
    return "git's in-progress files"


def _saved(repo: Repo, tree: str) -> tuple[dict[str, tuple[str, bytes]], dict[str, str]]:
    """The files and links (by path in the git dir: mode, bytes or target) and refs a
    `gitstate` tree holds."""
    top = {os.fsdecode(e.path): e for e in repo.ls_tree(tree)}
    entries = repo.ls_tree(top[_FILES_DIR].oid, recursive=True) if _FILES_DIR in top else []
    refs_oid = top[_REFS_ENTRY].oid if _REFS_ENTRY in top else None
    blobs = dict(repo.cat_blobs([*(e.oid for e in entries), *([refs_oid] if refs_oid else [])]))
    files = {
        os.fsdecode(e.path): (_LINK if e.mode == _LINK else _FILE, blobs[e.oid]) for e in entries
    }
    refs: dict[str, str] = {}
    if refs_oid is not None:
        for line in blobs[refs_oid].decode("utf-8", "surrogateescape").splitlines():
            oid, _, name = line.partition(" ")
            refs[name] = oid
    return files, refs


def put(repo: Repo, target: str | None) -> None:
    """Make the worktree's in-progress state `target`'s: remove what it lacks, write what it has.

    Idempotent (a crash half way is finished by running it again). index.lock is never written
    back, and is removed only once no git process has let go of it within a grace period: a
    lock the operation's own git left (killed mid-write) is stale, a live one goes by itself.
    """
    wanted, wanted_refs = _saved(repo, target) if target is not None else ({}, {})
    tops = {rel.split("/", 1)[0] for rel in wanted}
    for name in present(repo):
        if name == INDEX_LOCK:
            if INDEX_LOCK not in tops:
                _drop_stale_lock(repo, repo.git_dir / name)
            continue
        if name == ASIDE or name not in tops or os.path.islink(repo.git_dir / name):
            _remove(repo.git_dir / name)  # a link: never written through, made anew below
    for rel, (mode, data) in sorted(wanted.items()):
        if rel == INDEX_LOCK:
            continue
        if mode == _LINK and rel.split("/", 1)[0] in FILES | FOLDERS | {INDEX}:
            _write_link(repo.git_dir / rel, data)
        elif rel.split("/", 1)[0] in FILES | FOLDERS:
            _write(repo.git_dir / rel, data)
    now = repo.refs(*REF_PREFIXES)
    lines = [f"delete {n} {o}" for n, o in sorted(now.items()) if n not in wanted_refs]
    lines += [
        f"update {n} {o} {now.get(n, '0' * len(o))}"  # a new ref: the zero id of its format
        for n, o in sorted(wanted_refs.items())
        if now.get(n) != o
    ]
    repo.update_refs(lines, message="git-atomic: in-progress state")


def _kinds(repo: Repo, oids: Sequence[str]) -> dict[str, str]:
    """The commits and trees among `oids` (in their order): those stored loose read without a
    process (AUTO_MERGE's tree, MERGE_HEAD's commit: most often all of them), the rest by one
    `cat-file --batch-check`."""
    if not oids:
        return {}
    found = repo.loose_kinds(oids)
    rest = [o for o in oids if o not in found]
    if rest:
        out = repo.out(
            "cat-file", "--batch-check=%(objectname) %(objecttype)", input="\n".join(rest).encode()
        )
        for line in out.decode().splitlines():
            oid, _, kind = line.partition(" ")
            found[oid] = kind
    return {o: found[o] for o in oids if found.get(o) in ("commit", "tree")}


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)  # a link in it is removed itself, never followed
    else:
        path.unlink(missing_ok=True)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    wholefile.write_new(tmp, data)
    os.replace(tmp, path)


def _tmp(path: Path) -> Path:
    """The name a file of the git dir is written under before its rename: the writer's pid in
    it, a dot first (git passes over it); one a killed process left is removed by `recover`
    and `gc` (gitlinks.remove_left), never another's."""
    return path.with_name(f".{path.name}.{os.getpid()}.atomic-tmp")


def _write_link(path: Path, target: bytes) -> None:
    """The link itself, made anew (a rename over what is there: never written through)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, path)


def stale_index_lock(repo: Repo, since: str | None) -> bool:
    """Whether an index.lock is in the git dir that no git process lets go of within the grace
    period, that no git still running may hold (lockholder.py: `git commit -a` keeps it while
    your editor is open), and that the `gitstate` tree `since` (the operation's PRE-OP's) did
    not hold: one the operation's git left (killed mid-write, say), past which git writes no
    index. One that goes in time, or that a live git may hold, is not the operation's; one from
    before the operation is yours, and a rollback leaves it too (`put`)."""
    lock = repo.git_dir / INDEX_LOCK
    if not os.path.lexists(lock):
        return False
    if since is not None:
        top = {e.path: e for e in repo.ls_tree(since)}
        files = top.get(_FILES_DIR.encode())
        held = repo.ls_tree(files.oid) if files is not None else []
        if any(e.path == INDEX_LOCK.encode() for e in held):
            return False
    return not gitlockheld.let_go(lock) and gitlockheld.holder(repo, lock) is None


def wait_for_index_lock(repo: Repo, target: str | None) -> None:
    """Before a restore that writes the index writes anything: an index.lock it would not drop
    (`put`) is waited for, then refused (BusyError: nothing written yet). That is one a live git
    may hold (your `git commit -a`, its editor open), or yours from before the state restored
    to (the `gitstate` tree `target` has it). One no git holds is the operation's, dropped."""
    lock = repo.git_dir / INDEX_LOCK
    if not os.path.lexists(lock) or gitlockheld.let_go(lock):
        return
    holder = gitlockheld.holder(repo, lock)
    if holder is not None and gitlockheld.let_go(lock, gitlockheld.live_wait()):
        return
    if holder is None:
        if target is None:
            return
        files = {e.path: e for e in repo.ls_tree(target)}.get(_FILES_DIR.encode())
        if files is None or all(e.path != INDEX_LOCK.encode() for e in repo.ls_tree(files.oid)):
            return
    from git_atomic.core.errors import IndexLockHeld

    who = holder or "a git command (or one that died)"
    raise IndexLockHeld(
        f"{lock} exists: {who} is writing the index, so the restore that must write it "
        "has written nothing",
        hint="let it finish (close its editor), then run `git atomic recover`, which does the "
        "restore; if no git command is running, remove that file first",
    )


def _drop_stale_lock(repo: Repo, lock: Path) -> None:
    """Remove a lock no git lets go of; not one a git still running may hold (your `git commit
    -a` with its editor open): that one is left to it (a restore that writes the index has
    waited for it first: `wait_for_index_lock`)."""
    if not gitlockheld.let_go(lock) and gitlockheld.holder(repo, lock) is None:
        lock.unlink(missing_ok=True)
