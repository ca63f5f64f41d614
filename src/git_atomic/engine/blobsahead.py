"""The blobs a large restore writes, read ahead: git's `cat-file --batch` (and the loose ones,
read here) in a thread of its own, started before the restore removes what goes, so that on
two cores the reading and the removals run together. Nothing depends on it: where git failed
(a blob gone), they are all read again where they are written (restorefiles.py), which fails
there as it would have without it."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Final

from git_atomic.core.errors import GitError
from git_atomic.engine.git import Repo

AHEAD_AT: Final = 100  # blobs: fewer are read where they are written, as a small restore's


class Blobs:
    """Blob id -> bytes, once read (`taken`): None where git failed."""

    def __init__(self, repo: Repo, oids: Sequence[str]) -> None:
        import threading

        self._found: dict[str, bytes] | None = None
        self._thread = threading.Thread(target=self._read, args=(repo, oids), daemon=True)
        self._thread.start()

    def _read(self, repo: Repo, oids: Sequence[str]) -> None:
        with contextlib.suppress(GitError, OSError):
            self._found = dict(repo.cat_blobs(oids))

    def taken(self) -> dict[str, bytes] | None:
        """What was read: all of it, or None where git failed."""
        self._thread.join()
        return self._found


def start(repo: Repo, oids: Sequence[str]) -> Blobs | None:
    """The reading of `oids` started, for a large restore; None for a small one."""
    return Blobs(repo, oids) if len(oids) >= AHEAD_AT else None
