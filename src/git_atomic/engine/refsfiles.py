"""Whether a ref may be under a prefix, read from the files git keeps refs in (no git
process): the loose refs' folder and `packed-refs` in the shared git dir. For a caller that
asks git for those refs only where there may be one (an agent's turn's end, a journal that
is not there yet).

Never read through a link (a link at `packed-refs` or in `refs/` to a file outside the
repository), never waited on (a FIFO there): both answer "there may be", and git, asked,
decides (its own checks refuse such files: gitlinks.py, gitdirfiles.py). Where refs are not
files (reftable), or cannot be read, there may be.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection
from typing import TYPE_CHECKING

from git_atomic.engine import safefs

if TYPE_CHECKING:
    from git_atomic.engine.git import Repo


def may_hold(repo: Repo, prefix: str, *, but: Collection[str] = ()) -> bool:
    """Whether a ref may be under `prefix` ("refs/atomic/turns/"), other than those under a
    folder of it that `but` names (the first name past `prefix`)."""
    if (repo.config("extensions.refstorage") or "files").lower() != "files":
        return True
    folder = prefix.rstrip("/").encode()
    try:
        with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
            fd = tree.folder(folder)
            if fd is not None:
                if any(name not in but for name in os.listdir(fd)):
                    return True
            elif _there(tree, folder):
                return True  # a link or a file in the place of the folder: git decides
            st = tree.lstat(b"packed-refs")
            if st is None:
                return False
            if not stat.S_ISREG(st.st_mode):
                return True
            data = tree.read(b"packed-refs")
    except OSError:
        return True
    return data is None or b" " + prefix.encode() in data


def _there(tree: safefs.Tree, folder: bytes) -> bool:
    """Whether something is at `folder` or at a folder above it, where a link or a file
    stands in the way (safefs reaches neither through it)."""
    parts = folder.split(b"/")
    for n in range(1, len(parts) + 1):
        st = tree.lstat(b"/".join(parts[:n]))
        if st is None:
            return False
        if not stat.S_ISDIR(st.st_mode):
            return True
    return False
