"""A scan seeded from a copy of your index, where there is no scan index to start from.

The copy is made ours before git reads it: no split index of yours under it (ours must never
depend on your shared index), and its entries taken in the second your index was written
smudged (scanracy.py). A scan seeded early (early.py, before the capture linked your index)
is then checked to have started from the very file the capture linked: `file_key` tells an
index file from another, and from itself rewritten.
"""

from __future__ import annotations

import os
from pathlib import Path

from git_atomic.engine import scanindex, scanracy, splitindex
from git_atomic.engine.git import Repo


def seeded(repo: Repo, seed: Path, scratch: Path, env: dict[str, str]) -> tuple[int, bool] | None:
    """`seed` linked at `scratch` and made a scan's to start from: (the second the scan starts
    looking in, whether it is kept as a split index: it is scanned whole,
    scan.Scan.split_when_kept); None when it cannot be."""
    try:
        seed_written = seed.stat().st_mtime_ns // 1_000_000_000
    except OSError:
        return None
    scanindex.share(seed, scratch)
    since = scanracy.since_now(scratch)
    # Your index is a split index: ours must never depend on your shared index.
    if (
        splitindex.shared_of(repo, scratch) is not None
        and repo.run(
            *scanindex.git_config(False),
            "update-index",
            "--no-split-index",
            env=env,
            check=False,
        ).returncode
        != 0
    ):
        scratch.unlink(missing_ok=True)
        return None
    # Your index's entries taken in the second it was written may hide a change made later
    # in that second: its bytes are compared by this scan (git's rule, for the ctime too).
    if not scanracy.smudge(scratch, min(seed_written, since), sha256=repo.sha256):
        scratch.unlink(missing_ok=True)
        return None
    split = repo.quarantine is None and scratch.stat().st_size >= scanindex.split_at()
    return since, split


def file_key(path: Path) -> tuple[int | bytes, ...]:
    """What tells an index file from another, and from itself rewritten: its inode, size and
    mtime, and its last 32 bytes (the checksum of its content, unless `index.skipHash`). Not
    its ctime: each hard link made to it (the seed's, the scan's, the capture's) changes that."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        tail = os.pread(fd, 32, max(0, st.st_size - 32))
    finally:
        os.close(fd)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, tail)
