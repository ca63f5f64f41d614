"""git's object formats, computed here so that a few objects cost no process: a tree's id,
a loose blob, and the trees of an edit written all at once (their ids known before git
answers)."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, Protocol

EMPTY_TREE: Final = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # SHA-1's
EMPTY_TREE_SHA256: Final = "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321"


# Below this many bytes an object is hashed by Python's own SHA code: hashlib's import loads
# OpenSSL (2-3 ms of every command), and the trees and small blobs a capture writes are hashed
# in microseconds either way. Above it OpenSSL is several times faster.
_SMALL: Final = 1 << 18


def object_id(kind: bytes, data: bytes, *, sha256: bool) -> str:
    """The id git gives `data` as an object of `kind` (b"blob", b"tree"...)."""
    raw = kind + b" %d\0" % len(data) + data
    return _hasher(sha256, len(raw))(raw).hexdigest()


def checksum(data: bytes | bytearray | memoryview, *, sha256: bool) -> bytes:
    """The raw hash of `data`, as an index file's last bytes hold it for the bytes before."""
    return _hasher(sha256, len(data))(data).digest()


class _Digest(Protocol):
    def hexdigest(self) -> str: ...

    def digest(self) -> bytes: ...


_Hasher = Callable[[bytes | bytearray | memoryview], _Digest]
# The own module's function found for SHA-256 (True) and SHA-1: found once, since a module
# that is not there is looked for again on every import of it (along the whole sys.path).
_OWN: Final[dict[bool, _Hasher]] = {}


def _hasher(sha256: bool, size: int) -> _Hasher:
    if size < _SMALL:
        if sha256 in _OWN:
            return _OWN[sha256]
        # Python's own modules: _sha1, _sha2 (3.12 and later) or _sha256 (3.11); a Python
        # built with OpenSSL's alone has none of them.
        own = (("_sha2", "sha256"), ("_sha256", "sha256")) if sha256 else (("_sha1", "sha1"),)
        for module, name in own:
            try:
                found: _Hasher = getattr(__import__(module), name)
            except (ImportError, AttributeError):
                continue
            _OWN[sha256] = found
            return found
    import hashlib

    return hashlib.sha256 if sha256 else hashlib.sha1


def sha256_hex(data: bytes) -> str:
    """SHA-256 of `data` in hex (not a git object's id): by Python's own code for a short one,
    so that a hook call that only names its session's files loads no OpenSSL (hashlib)."""
    return _hasher(True, len(data))(data).hexdigest()


def write_trees(
    mktree_batch: Callable[[bytes], bytes],
    dirs: set[bytes],
    children: dict[bytes, dict[bytes, bytes]],
) -> str:
    """Write the folders `dirs` (their entries in `children`: name -> b"mode kind oid"), deepest
    first, and return the root's tree. Each tree's id is computed here from git's tree format
    before it is written, so its parent can name it at once: one `mktree --batch` writes them
    all. git's answer is checked against every id computed; should one differ, the trees are
    written again one depth at a time, each depth naming what git answered for the one below."""

    def depth(d: bytes) -> int:
        return d.count(b"/") + 1 if d else 0

    levels = sorted({depth(d) for d in dirs}, reverse=True)
    root, batch, known = planned_trees(dirs, children)
    if not known:
        return root
    made = mktree_batch(batch).decode().split()
    if made == known:
        return root
    for folder in dirs:  # back to the entries as they were: each depth names git's answer
        for name, head in list(children[folder].items()):
            if head.startswith(b"040000 tree ") and folder + b"/" * bool(folder) + name in dirs:
                del children[folder][name]
    written = EMPTY_TREE.encode()
    for level in levels:
        batch, order = b"", list[bytes]()
        for folder in sorted(x for x in dirs if depth(x) == level):
            entries = children[folder]
            if not entries and folder:
                continue
            batch += b"".join(h + b"\t" + n + b"\0" for n, h in entries.items()) + b"\0"
            order.append(folder)
        if order:
            answer = mktree_batch(batch).split()
            for folder, tree_oid in zip(order, answer, strict=True):
                if not folder:
                    written = tree_oid
                    continue
                parent, _, name = folder.rpartition(b"/")
                children[parent][name] = b"040000 tree " + tree_oid
    return written.decode()


def planned_trees(
    dirs: set[bytes], children: dict[bytes, dict[bytes, bytes]]
) -> tuple[str, bytes, list[str]]:
    """The trees of the folders `dirs`, deepest first, as `write_trees` writes them: the root's
    id, the input of a `mktree -z --batch` that writes them all, and the id of each tree in
    it, computed here. `children` gains each folder's entry in its parent."""

    def depth(d: bytes) -> int:
        return d.count(b"/") + 1 if d else 0

    known: list[str] = []
    batch, root = b"", EMPTY_TREE
    for level in sorted({depth(d) for d in dirs}, reverse=True):
        for folder in sorted(x for x in dirs if depth(x) == level):
            entries = children[folder]
            if not entries and folder:
                continue  # an empty folder is no folder
            batch += b"".join(h + b"\t" + n + b"\0" for n, h in entries.items()) + b"\0"
            known.append(tree_id(entries))
            if not folder:
                root = known[-1]
                continue
            parent, _, name = folder.rpartition(b"/")
            if name in children[parent]:
                raise ValueError(f"tree_edit: {folder!r} is both a file and a folder")
            children[parent][name] = b"040000 tree " + known[-1].encode()
    return root, batch, known


def tree_id(entries: Mapping[bytes, bytes]) -> str:
    """The id git gives the tree of these entries (name -> b"mode kind oid"): its entries
    sorted as git sorts them (a folder as if its name ended in "/"), modes without leading
    zeros, ids in binary; SHA-1 or SHA-256 by the length of the ids."""
    body, sha256 = tree_body(entries)
    return object_id(b"tree", body, sha256=sha256)


def tree_body(entries: Mapping[bytes, bytes]) -> tuple[bytes, bool]:
    """A tree object's content (see `tree_id`), and whether its ids are SHA-256."""
    items = []
    size = 40
    for name, head in entries.items():
        mode, kind, oid = head.split(b" ")
        size = len(oid)
        key = name + b"/" if kind == b"tree" else name
        items.append((key, mode.lstrip(b"0") + b" " + name + b"\0" + bytes.fromhex(oid.decode())))
    return b"".join(entry for _, entry in sorted(items)), size == 64


def write_loose_tree(objects_dir: Path, entries: Mapping[bytes, bytes]) -> str:
    """A small tree written as git writes a loose object (`mktree`), without a process: its
    entries' objects must exist (the caller wrote them)."""
    body, sha256 = tree_body(entries)
    return write_loose(objects_dir, b"tree", body, sha256=sha256)


def write_loose_blob(objects_dir: Path, data: bytes, *, sha256: bool, shared: int = 0) -> str:
    """One blob written as git writes a loose object (`hash-object -w`): no process for the
    few a capture stores."""
    return write_loose(objects_dir, b"blob", data, sha256=sha256, shared=shared)


def write_loose(
    objects_dir: Path, kind: bytes, data: bytes, *, sha256: bool, shared: int = 0
) -> str:
    """An object written loose, as git writes one. An object already there is only
    freshened (its mtime), as git does, so that a `gc` running now does not take it for old.
    `shared`: `core.sharedRepository` as `shared_perm` reads it (not 0: the folder made and
    the object get the bits git gives them, `shared_mode`)."""
    import zlib

    raw = kind + b" %d\0" % len(data) + data
    oid = _hasher(sha256, len(raw))(raw).hexdigest()
    folder = objects_dir / oid[:2]
    final = folder / oid[2:]
    try:
        os.utime(final, follow_symlinks=False)  # (a link there: never its target's time)
        return oid
    except FileNotFoundError:
        pass
    try:
        folder.mkdir()
        if shared:
            made = os.stat(folder).st_mode & 0o7777
            os.chmod(folder, shared_mode(made, shared, folder=True))
    except FileExistsError:
        pass
    tmp = folder / f"tmp_obj_atomic_{os.getpid()}_{oid[:8]}"
    try:
        tmp.unlink(missing_ok=True)  # made anew, never written through a link there
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with open(os.open(tmp, flags, 0o666), "wb") as fh:
            fh.write(zlib.compress(raw, 1))  # core.looseCompression's default
            # git makes it 0444 less the umask (here: its read bits), then as it shares
            bits = shared_mode(os.fstat(fh.fileno()).st_mode & 0o444, shared) if shared else 0
            os.fchmod(fh.fileno(), bits or 0o444)
        with contextlib.suppress(FileExistsError):  # written meanwhile: the same bytes
            os.link(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return oid


def shared_perm(value: str | None) -> int | None:
    """`core.sharedRepository` as git reads it (`git_config_perm`): 0 (the umask's bits),
    0o660 (group), 0o664 (everybody), or an exact mode, negated (`0640`: -0o640). None for a
    value this does not read as git does (git is asked to write then)."""
    text = (value if value is not None else "umask").strip().lower()
    named = {"umask": 0, "group": 0o660, "all": 0o664, "world": 0o664, "everybody": 0o664}
    if text in named:
        return named[text]
    if text in ("true", "yes", "on"):
        return 0o660
    if text in ("false", "no", "off"):
        return 0
    if not text or text.strip("01234567"):
        return None
    number = int(text, 8)
    if number in (0, 1, 2):  # git's old values: umask, group, everybody
        return (0, 0o660, 0o664)[number]
    return -(number & 0o666) if number & 0o600 == 0o600 else None


def shared_mode(mode: int, perm: int, *, folder: bool = False) -> int:
    """The bits git gives a file (or a folder) it made with `mode` in a repository shared as
    `perm` says (`calc_shared_perm`, `adjust_shared_perm`: a folder's read bits copied to its
    execute bits, and setgid where its group gets more)."""
    tweak = -perm if perm < 0 else perm
    if not mode & 0o200:
        tweak &= ~0o222
    if mode & 0o100:
        tweak |= (tweak & 0o444) >> 2
    mode = (mode & ~0o777) | tweak if perm < 0 else mode | tweak
    if folder:
        mode |= (mode & 0o444) >> 2
        if mode & 0o060:
            mode |= 0o2000
    return mode


def freshen_loose(objects_dir: Path, kind: bytes, data: bytes, *, sha256: bool) -> str | None:
    """The id of `data` as an object of `kind`, when that object is already stored loose: its
    mtime freshened, as git does before it would write it again, so that a `gc` running now
    does not take it for old. None when it is not stored loose (or cannot be freshened)."""
    oid = object_id(kind, data, sha256=sha256)
    try:
        os.utime(objects_dir / oid[:2] / oid[2:])
    except OSError:
        return None
    return oid


def read_loose(objects_dir: Path, oid: str) -> tuple[bytes, bytes] | None:
    """(kind, content) of an object stored loose, read without a process and checked against
    its id; None when it is not there loose (packed, in another store, or not what its name
    says): ask git then."""
    import zlib

    if len(oid) not in (40, 64) or oid.strip("0123456789abcdef"):
        return None
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        # Never through a link (to /dev/zero, say), never more than the header says: a file
        # that inflates past it is not read on. (The name as a string: a restore asks for
        # every blob it writes here first, most of them packed.)
        name = f"{os.fspath(objects_dir)}/{oid[:2]}/{oid[2:]}"
        with os.fdopen(os.open(name, flags), "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            packed = fh.read()
            inflating = zlib.decompressobj()
            head = inflating.decompress(packed, 64)
            header, sep, body = head.partition(b"\0")
            kind, _, size = header.partition(b" ")
            # No deflate stream grows more than about 1,032 times: a size past that is a lie.
            if not sep or not size.isdigit() or len(size) > 18:
                return None
            if len(body) > int(size) or int(size) > 1032 * len(packed) + 64:
                return None
            more = int(size) - len(body)
            body += inflating.decompress(inflating.unconsumed_tail, more + 1) if more else b""
    except (OSError, zlib.error):
        return None
    if len(body) != int(size):
        return None
    raw = header + b"\0" + body
    if _hasher(len(oid) == 64, len(raw))(raw).hexdigest() != oid:
        return None
    return kind, body


def parse_tree(body: bytes, *, sha256: bool) -> list[tuple[str, str, str, bytes]]:
    """A tree object's entries (mode, kind, id, name) as `ls-tree` prints them: modes as git
    reads them (a regular file 100644 or 100755 whatever else its bits say), six digits."""
    entries = []
    width = 32 if sha256 else 20
    pos = 0
    while pos < len(body):
        space = body.index(b" ", pos)
        nul = body.index(b"\0", space)
        raw_mode = int(body[pos:space], 8)
        oid = body[nul + 1 : nul + 1 + width]
        if len(oid) != width:
            raise ValueError("a tree cut short")
        kind_bits = raw_mode & 0o170000
        if kind_bits == 0o100000:
            mode, kind = ("100755" if raw_mode & 0o100 else "100644"), "blob"
        elif kind_bits == 0o120000:
            mode, kind = "120000", "blob"
        elif kind_bits == 0o040000:
            mode, kind = "040000", "tree"
        else:
            mode, kind = "160000", "commit"
        entries.append((mode, kind, oid.hex(), body[space + 1 : nul]))
        pos = nul + 1 + width
    return entries
