"""git's `packed-refs` left with only its header where there was none before the operation.

`git tag t; git pack-refs; git tag -d t` (or any deletion of the last packed ref) leaves
`.git/packed-refs` holding the `# pack-refs with: ...` line and nothing else: to git the same
as no file, but on the disk a file the operation made. An operation records at its PRE-OP
that there was none (`ABSENT`, in its journal detail: one lstat, no git), and its rollback
(and any later move that takes its effect back, and `recover`) removes such a file, so the git
dir is as it was. One there before the operation, header-only or not, is never touched.

Under git's own lock (`packed-refs.lock`, taken O_EXCL as git takes it): a git writing the file
meanwhile keeps it, and the file is read again under the lock. Never through a link."""

from __future__ import annotations

import os
from typing import Final

from git_atomic.engine import safefs
from git_atomic.engine.git import Repo

ABSENT: Final = "packed_refs_absent"  # op detail (Engine.begin): PRE-OP had no packed-refs
_NAME: Final = b"packed-refs"


def _header_only(data: bytes) -> bool:
    return all(not line or line.startswith(b"#") for line in data.split(b"\n"))


def drop_header_only(repo: Repo) -> bool:
    """Remove `packed-refs` where it names no ref (only its header, or empty); True: removed.
    A file that names one, a link, a lock held by a git: left."""
    if (repo.config("extensions.refstorage") or "files").lower() != "files":
        return False
    lock = _NAME + b".lock"
    with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
        data = tree.read(_NAME)
        if data is None or not _header_only(data):
            return False
        try:
            tree.write(lock, b"", 0o644)  # O_EXCL: git's lock; a git holding it: left
        except (OSError, safefs.Blocked):
            return False
        try:
            data = tree.read(_NAME)  # again, under the lock
            return data is not None and _header_only(data) and tree.unlink(_NAME)
        except OSError:
            return False
        finally:
            tree.unlink(lock)
