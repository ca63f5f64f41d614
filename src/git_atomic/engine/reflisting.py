"""A worktree's last refs listing (`Repo.refs_listing`), kept with the ref updates this
process made since through `Repo.update_refs`: a caller that needs the same refs again (a
turn's end after its capture, a rollback's target after its probe) takes them from here, not
from another `for-each-ref`.

Only what is certain is kept. Any other git command of ours that may move a ref forgets the
listing (`keeps`: the commands that never do); an update this cannot follow exactly (through
a symbolic ref listed, of the ref one names, a verb it does not know) forgets it too. What
others do meanwhile (your git in another terminal) is what any listing taken a moment before
would miss: a caller asks only where nothing of the kind runs in between (under the worktree's
lock, no command of yours, no gate).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

# Git commands of ours that never move a ref (a capture's, a probe's): the listing stays.
_READ_ONLY: Final = frozenset(
    {
        "cat-file",
        "check-attr",
        "check-ignore",
        "commit-tree",
        "diff-files",
        "diff-index",
        "diff-tree",
        "for-each-ref",
        "hash-object",
        "ls-files",
        "ls-tree",
        "mktree",
        "rev-parse",
        "status",
        "update-index",
        "write-tree",
    }
)


def keeps(args: Sequence[str]) -> bool:
    """Whether the git command `args` (as `Repo.run` takes them) leaves every ref as it was:
    its name, past git's own options (`-c name=value`, which a command that moves no ref
    moves none with), is one of `_READ_ONLY`."""
    at = 0
    while at < len(args) and args[at].startswith("-"):
        at += 2 if args[at] in ("-c", "-C") else 1
    return at < len(args) and args[at] in _READ_ONLY


class Listing:
    """The refs under `prefixes` as one `for-each-ref --format=REFS_FORMAT` listed them, with
    the updates since applied (`moved`); `lines`: refname -> the listing's line."""

    def __init__(self, prefixes: Sequence[str], listed: bytes) -> None:
        self.prefixes = tuple(prefixes)
        self.lines: dict[bytes, bytes] = {}
        for line in listed.splitlines():
            self.lines[line.split(b" ", 2)[1]] = line

    def moved(self, commands: Iterable[str]) -> bool:
        """Apply one `update-ref --stdin` transaction that succeeded; False where it cannot be
        followed exactly (the listing is then to be forgotten)."""
        symrefs = {}
        for name, line in self.lines.items():
            target = line.split(b" ", 2)[2]
            if target:
                symrefs[name] = target
        for command in commands:
            verb, _, rest = command.partition(" ")
            fields = rest.encode("utf-8", "surrogateescape").split(b" ")
            if verb == "verify":
                continue
            if verb not in ("create", "update", "delete") or not fields[0]:
                return False
            name = fields[0]
            if name in symrefs or name in symrefs.values():
                return False  # through a symbolic ref, or of one a symbolic ref shows
            if not self._covers(_text(name)):
                if not name.startswith(b"refs/atomic/"):
                    return False  # HEAD, or another's ref: it may move a listed one through it
                continue
            if verb == "delete" or (len(fields) >= 2 and not fields[1].strip(b"0")):
                self.lines.pop(name, None)
            elif len(fields) >= 2 and fields[1]:
                self.lines[name] = b"%s %s " % (fields[1], name)
            else:
                return False
        return True

    def under(self, prefixes: Sequence[str]) -> bytes | None:
        """The listing of `prefixes`, as `for-each-ref` would give it now; None where they are
        not all within what was listed."""
        if not all(self._covers(p) for p in prefixes):
            return None
        names = sorted(n for n in self.lines if any(_matches(_text(n), p) for p in prefixes))
        return b"".join(self.lines[n] + b"\n" for n in names)

    def _covers(self, name: str) -> bool:
        return any(_matches(name, p) for p in self.prefixes)


def _matches(name: str, prefix: str) -> bool:
    """Whether `for-each-ref`'s pattern `prefix` takes the ref (or pattern) `name`."""
    if prefix.endswith("/"):
        return name.startswith(prefix)
    return name == prefix or name.startswith(prefix + "/")


def _text(name: bytes) -> str:
    return name.decode("utf-8", "surrogateescape")
