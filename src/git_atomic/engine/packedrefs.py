"""git's `packed-refs` an operation made where there was none before it, undone.

`git pack-refs --all` (or a `git gc`) moves every loose ref into `.git/packed-refs`, and
deleting the last packed ref (`git tag t; git pack-refs; git tag -d t`) leaves the file with
only its `# pack-refs with: ...` line. To git the refs are the same either way, but on the disk
a file the operation made, the loose ref files the PRE-OP had gone. An operation records at its
PRE-OP that there was none (`ABSENT`, in its journal detail: one lstat, no git), so every ref
was a loose file then; when it closes, the refs the file names (`LEFT`). Its rollback (and
`recover`) writes each ref the file names as a loose file again and removes the file; any
later move that takes its effect back does so for the refs the operation left packed, and
leaves packed those someone packed since (made after it: yours, another session's), with the
file; a file made after an operation that closed with none (your `git branch -D`) is not its
at all, header-only or not (`its_own`). Each ref keeps the commit it names now: nothing
moves, for git nothing changes. One there before the operation, header-only or not, is never
touched.

Under git's own locks (`packed-refs.lock`, and `<ref>.lock` for a loose ref written, taken
O_EXCL as git takes them): a git writing meanwhile keeps what it writes, and the file is read
again under the lock. A loose ref is written before the packed line that it replaces goes, so
no reader finds the ref missing. Never through a link."""

from __future__ import annotations

import os
import stat
from collections.abc import Collection
from pathlib import Path
from typing import Final

from git_atomic.engine import safefs
from git_atomic.engine.git import Repo

ABSENT: Final = "packed_refs_absent"  # op detail (Engine.begin): PRE-OP had no packed-refs
LEFT: Final = "packed_refs_left"  # op detail (Engine.close): the refs it named then
_NAME: Final = b"packed-refs"


def unchecked(git_dir: Path, common_dir: Path, *, since: float) -> str | None:
    """Where `packed-refs` is no regular file as an operation's rollback starts (a folder, a
    FIFO, a link: its rescue sets it aside unread, gitlinks.py), or was set aside so already
    since the operation began at `since` (by `abort` or `recover` before they could find the
    repository, ops/setaside.py: the rename is its last change, ctime), the
    line that says what was not checked then: what the operation left in it. Its notes of
    what it left (gitdirnoted.note_at_close) are not taken where it is there: git would read
    every ref through it, or wait for ever. Two lstats; None where it is a file or none."""
    from git_atomic.engine import gitdirfiles, gitlinks

    for path in (common_dir / "packed-refs", git_dir / gitlinks.ASIDE / "packed-refs"):
        try:
            st = os.lstat(path)
        except OSError:
            continue
        mode = st.st_mode
        if path.parent == common_dir and stat.S_ISREG(mode):
            continue
        if path.parent != common_dir and st.st_ctime < since:
            continue  # set aside before it began (a turn's call): not what it left
        return (
            f"packed-refs was {gitdirfiles.kind_of(mode)} when the operation ended, set aside "
            "unread (the rescue holds it): what the operation left in it was not checked, so "
            "a replace ref (`git replace`), a copy `git filter-branch` keeps in refs/original/ "
            "or a tag it made, moved or deleted there is not named here"
        )
    return None


NOT_ITS: Final[frozenset[str]] = frozenset()  # its_own: none of the file is its (by identity)


def its_own(left: object, *, own: bool) -> Collection[str] | None:
    """The refs of `packed-refs` a move that takes an operation's effect back may write loose
    again (`unpack`'s `only`): all of them in its own rollback (None: everything since PRE-OP is
    its own), else those it left packed (`left`: LEFT, noted as it closed). Where it closed
    with no `packed-refs` (no LEFT), the file now was made since (yours: a `git branch -D`
    writes one with git's header alone): NOT_ITS, nothing of it is touched."""
    if own:
        return None
    return set(left) if isinstance(left, list) else NOT_ITS


def _header_only(data: bytes) -> bool:
    return all(not line or line.startswith(b"#") for line in data.split(b"\n"))


def names(repo: Repo) -> list[str] | None:
    """The refs `packed-refs` names now; None where there is none (or a link)."""
    with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
        data = tree.read(_NAME)
    return None if data is None else sorted(_entries(data))


def foresee(repo: Repo, only: Collection[str] | None) -> tuple[int, bool] | None:
    """What `unpack` would do (a dry run's): the refs it would write loose and whether the file
    would go; None where it would do nothing."""
    if (repo.config("extensions.refstorage") or "files").lower() != "files":
        return None
    with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
        data = tree.read(_NAME)
    if data is None:
        return None
    entries = _entries(data)
    asked = [n for n in entries if only is None or n in only]
    if not asked and not _header_only(data):
        return None
    return len(asked), _header_only(_without(data, asked))


def unpack(repo: Repo, only: Collection[str] | None) -> bool:
    """Write the refs `packed-refs` names (`only` those, where given) as loose files where
    there is none, drop their lines, and the file where no line is left. True: it changed."""
    if (repo.config("extensions.refstorage") or "files").lower() != "files":
        return False
    lock = _NAME + b".lock"
    with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
        try:
            tree.write(lock, b"", 0o644)  # O_EXCL: git's lock; a git holding it: left
        except (OSError, safefs.Blocked):
            return False
        try:
            data = tree.read(_NAME)  # under the lock
            if data is None:
                return False
            entries = _entries(data)
            asked = [n for n in entries if only is None or n in only]
            done = {n for n in asked if _loose(tree, n, entries[n])}
            if not done and not _header_only(data):
                return False
            kept = _without(data, done)
            if _header_only(kept):
                return tree.unlink(_NAME)
            tree.unlink(_NAME + b".git-atomic-new")
            tree.write(_NAME + b".git-atomic-new", kept, 0o644)
            parent = tree.folder(b"")
            if parent is None:
                return False
            os.rename(_NAME + b".git-atomic-new", _NAME, src_dir_fd=parent, dst_dir_fd=parent)
            return True
        except (OSError, safefs.Blocked):
            return False
        finally:
            tree.unlink(lock)


def _entries(data: bytes) -> dict[str, str]:
    out = {}
    for line in data.split(b"\n"):
        if not line or line[:1] in (b"#", b"^"):
            continue
        oid, _, name = line.partition(b" ")
        out[name.decode("utf-8", "surrogateescape")] = oid.decode("ascii", "replace")
    return out


def _without(data: bytes, names: Collection[str]) -> bytes:
    """The file's lines but for those naming `names` (and the peeled line after each)."""
    out, dropping = [], False
    for line in data.split(b"\n"):
        if line[:1] == b"^" and dropping:
            continue
        _oid, _, name = line.partition(b" ")
        dropping = (
            bool(line) and line[:1] != b"#" and name.decode("utf-8", "surrogateescape") in names
        )
        if not dropping:
            out.append(line)
    return b"\n".join(out)


def _loose(tree: safefs.Tree, name: str, oid: str) -> bool:
    """The ref `name` as a loose file holding `oid`, under its lock; True where one is there
    now (written, or one there already, which git reads before the packed line)."""
    rel = os.fsencode(name)
    if not name.startswith("refs/") or b".." in rel.split(b"/"):
        return False
    kind = tree.kind(rel)
    if kind is not None:
        return kind == stat.S_IFREG
    lock = rel + b".lock"
    try:
        tree.make_folders(os.path.dirname(rel))
        tree.write(lock, f"{oid}\n".encode(), 0o644)  # O_EXCL: git's lock of the ref
    except (OSError, safefs.Blocked):
        return False
    try:
        parent = tree.folder(os.path.dirname(rel))
        if parent is None or tree.kind(rel) is not None:
            return False
        base = os.path.basename(rel)
        os.rename(base + b".lock", base, src_dir_fd=parent, dst_dir_fd=parent)
        return True
    except OSError:
        return False
    finally:
        tree.unlink(lock)


MOST_KEPT: Final = 1 << 20  # a packed-refs file kept in an event for `repack`: at most this


def raw(repo: Repo) -> bytes | None:
    """The bytes of `packed-refs` now, where there is one (not a link) of at most MOST_KEPT."""
    with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
        st = tree.lstat(_NAME)
        if st is None or not stat.S_ISREG(st.st_mode) or st.st_size > MOST_KEPT:
            return None
        return tree.read(_NAME)


def repack(repo: Repo, data: bytes, *, dry_run: bool = False) -> list[str]:
    """`packed-refs` made again from `data` (the file a rollback removed), where there is none
    now: with the lines of the refs whose loose file still names what `data` packs (each then
    removed, under its lock, after the file is written: no reader finds one missing), and no
    other (a ref moved or deleted since is as it is now). The refs packed again."""
    if (repo.config("extensions.refstorage") or "files").lower() != "files":
        return []
    entries = _entries(data)
    with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
        if tree.kind(_NAME) is not None:
            return []
        same = sorted(n for n, oid in entries.items() if _loose_holds(tree, n, oid))
        if not same or dry_run:
            return same
        lock = _NAME + b".lock"
        try:
            tree.write(lock, _without(data, set(entries) - set(same)), 0o644)  # O_EXCL
        except (OSError, safefs.Blocked):
            return []
        try:
            parent = tree.folder(b"")
            if parent is None or tree.kind(_NAME) is not None:
                tree.unlink(lock)
                return []
            os.rename(lock, _NAME, src_dir_fd=parent, dst_dir_fd=parent)
        except OSError:
            tree.unlink(lock)
            return []
        return [n for n in same if _drop_loose(tree, n, entries[n])]


def _loose_holds(tree: safefs.Tree, name: str, oid: str) -> bool:
    rel = os.fsencode(name)
    if not name.startswith("refs/") or b".." in rel.split(b"/"):
        return False
    if tree.kind(rel) != stat.S_IFREG:
        return False
    data = tree.read(rel)
    return data is not None and data.strip() == oid.encode()


def _drop_loose(tree: safefs.Tree, name: str, oid: str) -> bool:
    """The loose file of `name`, where it still names `oid`, removed under its lock."""
    rel = os.fsencode(name)
    lock = rel + b".lock"
    try:
        tree.write(lock, b"", 0o644)  # O_EXCL: git's lock of the ref
    except (OSError, safefs.Blocked):
        return False
    try:
        return _loose_holds(tree, name, oid) and tree.unlink(rel)
    finally:
        tree.unlink(lock)
