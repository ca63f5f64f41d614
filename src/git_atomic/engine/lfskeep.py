"""Git LFS content that a checkpoint holds without a second copy in `.git/objects`.

A clone made with git-lfs has each LFS file's content twice already: on disk and in the LFS
store (`.git/lfs/objects/<aa>/<bb>/<sha256>`). A checkpoint holds the bytes on disk
(conversion.py), so it used to copy that content into `.git/objects` a third time. Now, when a
file's bytes are exactly an object of the LFS store (same SHA-256, same size, and the same bytes,
compared, never trusted by name), the checkpoint holds a small *marker* blob in its place, and
the content is kept by a hard link into `.git/atomic/lfs/objects/<sha256>`: a `git lfs prune`
that removes the store's name leaves ours, so nothing a checkpoint holds can go. Where no hard
link can be made (another file system), the content is stored as any other blob.

A marker names the content's SHA-256 and size and a key of this repository, made at random
once (`.git/atomic/lfs/key`): no file of yours holds those bytes unless copied from one. Every
marker is recorded in `.git/atomic/lfs/markers` before any checkpoint names it. A restore
(restorefiles.py), its check that a file is still what the rescue saw (unchanged.py), a commit
of commits mode (commitview.py) and an agent turn's commit (`without_markers`) read
the kept content for it (or the LFS store's, where our link is gone), checked against its
SHA-256; a merge of trees sees a marker and the blob of the same bytes alike (`alike`).
`git atomic gc` removes the links that no marker still stored names. (The capture's side, the
markers made and recorded: lfskeeper.py.)
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from git_atomic.core import patterns
from git_atomic.core.errors import AtomicError
from git_atomic.core.records import dataclass
from git_atomic.engine.git import Repo

# Smaller files cost little to store twice, and every file read would be hashed once more.
MIN_SIZE: Final = 16 << 10
_HEX64: Final = re.compile(rb"[0-9a-f]{64}")
_OID: Final = patterns.keep(rb"[0-9a-f]{40}(?:[0-9a-f]{24})?")
MAGIC: Final = b"git-atomic: Git LFS content kept outside .git/objects (.git/atomic/lfs)\n"


@dataclass(frozen=True)
class Kept:
    """Content kept by a hard link: its SHA-256 (hex) and size."""

    sha256: str
    size: int


class DamagedContent(AtomicError):
    """Kept content whose bytes are no longer the ones it was kept for."""


def kept_folder(repo: Repo) -> Path:
    return repo.state_dir / "lfs"


def lfs_objects(repo: Repo) -> Path | None:
    """The LFS store's objects folder (`lfs.storage`, relative to the git dir, or `.git/lfs`),
    or None when there is none: then a capture does nothing of this module's."""
    storage = repo.config("lfs.storage")
    base = repo.common_dir / os.path.expanduser(storage) if storage else repo.common_dir / "lfs"
    objects = base / "objects"
    return objects if objects.is_dir() else None


def blob_id(data: bytes, *, sha256: bool) -> str:
    digest = hashlib.sha256() if sha256 else hashlib.sha1()
    digest.update(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()


def git_stores(repo: Repo, oids: list[str]) -> set[str]:
    """Those of `oids` git stores (loose: one stat each; else one `cat-file --batch-check`)."""
    found = {oid for oid in oids if repo.is_loose(oid)}
    rest = [oid for oid in oids if oid not in found]
    if rest:
        answer = repo.out(
            "cat-file", "--batch-check", input="".join(o + "\n" for o in rest).encode()
        )
        found |= {
            line.split()[0] for line in answer.decode().splitlines() if not line.endswith("missing")
        }
    return found


def markers(repo: Repo) -> dict[str, Kept]:
    """Every marker recorded (blob id -> content): {} in a repository without them, at the
    cost of one failed open."""
    folder = kept_folder(repo)
    try:  # never through a link (lfskeeper.py: a marker is never made through one)
        if stat.S_ISLNK(os.lstat(folder).st_mode):
            return {}
        fd = os.open(folder / "markers", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with open(fd, "rb") as fh:
            raw = fh.read()
    except OSError:  # none, or unreadable: no marker is known (a restore reads one anyway)
        return {}
    found: dict[str, Kept] = {}
    for line in raw.split(b"\n"):
        fields = line.split(b" ")
        # A line cut by a crash is left out; ids and names are only ever hex digits.
        if (
            len(fields) == 3
            and re.fullmatch(_OID, fields[0])
            and _HEX64.fullmatch(fields[1])
            and fields[2].isdigit()
        ):
            found[fields[0].decode()] = Kept(fields[1].decode(), int(fields[2]))
    return found


def parse_marker(data: bytes) -> Kept | None:
    """The content a blob's bytes stand for, when they are a marker whose record is lost (a
    removed `.git/atomic/lfs`, whose key went with it: any key then). None for other bytes."""
    if not data.startswith(MAGIC) or len(data) > 512:
        return None
    fields = dict(line.split(b" ", 1) for line in data[len(MAGIC) :].splitlines() if b" " in line)
    digest = fields.get(b"oid", b"").removeprefix(b"sha256:")
    size = fields.get(b"size", b"")
    if not _HEX64.fullmatch(digest) or not size.isdigit() or b"key" not in fields:
        return None
    return Kept(digest.decode(), int(size))


def content(repo: Repo, kept: Kept) -> bytes:
    """The kept bytes, checked against their SHA-256 and size: from our hard link, else from
    the LFS store itself."""
    places = [kept_folder(repo) / "objects" / kept.sha256]
    store = lfs_objects(repo)
    if store is not None:
        places.append(store / kept.sha256[:2] / kept.sha256[2:4] / kept.sha256)
    for path in places:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if len(data) == kept.size and hashlib.sha256(data).hexdigest() == kept.sha256:
            return data
    raise DamagedContent(
        f"the Git LFS content {kept.sha256} is neither kept in {places[0].parent} nor in the "
        "LFS store (or not with those bytes)"
    )


def noted_blobs(repo: Repo, contents: Sequence[bytes]) -> list[str]:
    """Blobs of `contents` (files an agent turn notes without a capture), each held as the
    captures hold those bytes: the marker recorded for them when there is one, its content
    kept and git not storing the bytes themselves; else the bytes, stored."""
    recorded = markers(repo)
    by_digest = {k.sha256: (oid, k) for oid, k in recorded.items()}
    folder = kept_folder(repo) / "objects"
    chosen: dict[int, str] = {}
    for i, data in enumerate(contents):
        if len(data) >= MIN_SIZE:
            found = by_digest.get(hashlib.sha256(data).hexdigest())
            size = found[1].size if found is not None else -1
            if found is not None and size == len(data) and (folder / found[1].sha256).is_file():
                chosen[i] = found[0]
    if chosen:
        ids = {i: blob_id(contents[i], sha256=repo.sha256) for i in chosen}
        stored = git_stores(repo, [*ids.values(), *chosen.values()])
        chosen = {i: m for i, m in chosen.items() if m in stored and ids[i] not in stored}
    rest = [i for i in range(len(contents)) if i not in chosen]
    written = dict(zip(rest, repo.write_blobs([contents[i] for i in rest]), strict=True))
    return [chosen[i] if i in chosen else written[i] for i in range(len(contents))]


def alike(repo: Repo, base: str, *others: str) -> tuple[str, ...]:
    """The trees `base` and `others`, to be merged, with each marker where they differ that
    stands for bytes git also stores as a blob replaced by that blob: the same bytes then have
    the same id on every side, and a file one side holds as a marker and another as its blob
    is no change. (A tree holds a blob only when git stores it.)"""
    trees = (base, *others)
    kept = markers(repo)
    if not kept:
        return trees
    paths = sorted(
        {
            c.path
            for other in others
            for c in repo.diff_trees(base, other)
            if c.old_oid in kept or c.new_oid in kept
        }
    )
    if not paths:
        return trees
    entries = {tree: repo.ls_tree_at(tree, paths) for tree in set(trees)}
    ids: dict[str, str] = {}
    for oid in {e.oid for found in entries.values() for e in found if e.oid in kept}:
        try:
            ids[oid] = blob_id(content(repo, kept[oid]), sha256=repo.sha256)
        except DamagedContent:
            continue
    stored = git_stores(repo, list(ids.values()))
    swap = {marker: blob for marker, blob in ids.items() if blob in stored}
    if not swap:
        return trees
    alike_trees = []
    for tree in trees:
        edits = {e.path: (e.mode, swap[e.oid]) for e in entries[tree] if e.oid in swap}
        alike_trees.append(repo.tree_edit(tree, edits) if edits else tree)
    return tuple(alike_trees)


def without_markers(repo: Repo, base: str, tree: str) -> str:
    """`tree` with each marker it holds where it differs from `base` replaced by the blob of
    the content: a visible commit holds the bytes, never a marker."""
    kept = markers(repo)
    if not kept:
        return tree
    changes = [
        c
        for c in repo.diff_trees(base, tree)
        if c.new_oid in kept and c.new_mode in ("100644", "100755")
    ]
    if not changes:
        return tree
    oids = repo.write_blobs([content(repo, kept[c.new_oid]) for c in changes])
    return repo.tree_edit(
        tree, {c.path: (c.new_mode, oid) for c, oid in zip(changes, oids, strict=True)}
    )


def retire(repo: Repo, still_stored: Iterable[str]) -> int:
    """`gc`: remove the links that no marker git still stores names (`still_stored`: the
    recorded marker ids git has), and those no marker was recorded for a day after they were
    made (a capture killed in between). The record itself only grows, by one line per
    content: a capture in another worktree may be adding to it. Returns the bytes freed."""
    recorded = markers(repo)
    needed = {recorded[oid].sha256 for oid in still_stored if oid in recorded}
    named = {k.sha256 for k in recorded.values()}
    folder = kept_folder(repo) / "objects"
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return 0
    freed = 0
    day_ago = time.time() - 86400
    for name in names:
        if name in needed:
            continue
        path = folder / name
        try:
            st = path.lstat()
            # A link's ctime is when it was made (making it changes the file's ctime).
            if (name not in named and st.st_ctime > day_ago) or not stat.S_ISREG(st.st_mode):
                continue
            path.unlink()
        except OSError:
            continue
        if st.st_nlink == 1:  # the store's name is gone too: the bytes are freed
            freed += st.st_size
    return freed
