"""git-lfs's pointer of a file's bytes, made by a filter of our own that stores nothing.

Where git-lfs's filter is configured, a `git add` stores a `filter=lfs` file as a small pointer
(`version ...`, `oid sha256:...`, `size ...`) and the content in the LFS store. The scan's git
calls (scanindex.lfs_pointers) run this file as their `filter.lfs.process`, git's long-running
filter protocol, for `clean` only: so the scan index holds the pointer too, as your index does,
git never stores the content (the checkpoint's raw side holds the bytes on disk, or a marker for
content the LFS store holds: lfskeep.py), and `git status` finds a file whose stat data changed
but whose bytes did not clean. Your git-lfs never runs; nothing is written anywhere.

Run as a script (`python -I -S lfspointer.py`): the standard library only, no package import.
"""

from __future__ import annotations

import hashlib
import sys
from typing import BinaryIO

_VERSION = b"version https://git-lfs.github.com/spec/v1\n"
_PKT_MAX = 65516  # the most a pkt-line carries
_SMALL = 1024  # a pointer is shorter: larger bytes are hashed, never held


def pointer(data: bytes) -> bytes:
    """What git-lfs's clean filter makes of `data`: a pointer is left as it is, and nothing is
    made of no bytes (both as git-lfs does)."""
    if not data or is_pointer(data):
        return data
    return _pointer_of(hashlib.sha256(data).hexdigest(), len(data))


def is_pointer(data: bytes) -> bool:
    """Whether `data` is a git-lfs pointer in the canonical form that git-lfs writes."""
    if len(data) >= _SMALL or not data.startswith(_VERSION):
        return False
    lines = data[len(_VERSION) :].split(b"\n")
    return (
        len(lines) == 3
        and lines[2] == b""
        and lines[0].startswith(b"oid sha256:")
        and len(lines[0]) == 75
        and lines[1].startswith(b"size ")
        and lines[1][5:].isdigit()
    )


def _pointer_of(digest: str, size: int) -> bytes:
    return _VERSION + b"oid sha256:%s\nsize %d\n" % (digest.encode(), size)


def _read_pkt(stream: BinaryIO) -> bytes | None:
    """One pkt-line's payload; None for a flush packet. EOFError when git is done."""
    head = stream.read(4)
    if len(head) < 4:
        raise EOFError
    length = int(head, 16)
    return None if length == 0 else stream.read(length - 4)


def _read_list(stream: BinaryIO) -> list[bytes]:
    items = []
    while (item := _read_pkt(stream)) is not None:
        items.append(item)
    return items


def _write(out: BinaryIO, *packets: bytes | None) -> None:
    for packet in packets:
        out.write(b"0000" if packet is None else b"%04x" % (len(packet) + 4) + packet)


def serve(stream: BinaryIO, out: BinaryIO) -> None:
    """git's long-running filter protocol, version 2, `clean` only."""
    _read_list(stream)  # git-filter-client, version=2
    _write(out, b"git-filter-server\n", b"version=2\n", None)
    out.flush()
    _read_list(stream)  # the capabilities git offers
    _write(out, b"capability=clean\n", None)
    out.flush()
    while True:
        try:
            header = _read_list(stream)
        except EOFError:
            return
        digest, size, small = hashlib.sha256(), 0, bytearray()
        while (chunk := _read_pkt(stream)) is not None:
            digest.update(chunk)
            size += len(chunk)
            if size < _SMALL:
                small += chunk
        if b"command=clean\n" not in header:
            _write(out, b"status=error\n", None)
        else:
            if size < _SMALL and (not small or is_pointer(bytes(small))):
                made = bytes(small)
            else:
                made = _pointer_of(digest.hexdigest(), size)
            _write(out, b"status=success\n", None)
            _write(out, *[made[i : i + _PKT_MAX] for i in range(0, len(made), _PKT_MAX)])
            _write(out, None, None)  # the content's end; the status stays "success"
        out.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
