"""A folder as the walk of the folders reads it (folderwalk.py): one `fstat`, and its listing
only when its stat data is not as the last walk kept it (a folder's entries change only with its
mtime). What the record holds is read from the listing alone (`d_type`): the folders in it and
their inodes, its rule files, its FIFOs, sockets and devices, whether it holds a `.git`.
"""

from __future__ import annotations

import os
from typing import Final

from git_atomic.engine import stalls

# The rule files whose place a walk notes (ignores.py asks git which of them it ignores).
RULE_FILES: Final = stalls.RULE_FILES

# A folder as a walk read it: (st_dev, st_ino, st_mtime_ns, st_ctime_ns, nothing in it, holds a
# `.git`, the names of the folders in it (not links), the names of the rule files in it, its
# permission bits, the inodes of the folders in it as its entries name them, the names of the
# FIFOs, sockets and devices in it). A `chmod` changes its ctime: a record kept by its stat data
# keeps its bits.
Record = tuple[
    int,
    int,
    int,
    int,
    bool,
    bool,
    tuple[bytes, ...],
    tuple[bytes, ...],
    int,
    tuple[int, ...],
    tuple[bytes, ...],
]
EMPTY: Final = 4
OWN: Final = 5
FOLDERS: Final = 6
RULES: Final = 7
BITS: Final = 8
INODES: Final = 9
SPECIALS: Final = 10


def read(folder: bytes, fd: int, old: Record | None, *, icase: bool) -> Record:
    """The folder `folder`, open as `fd`: `old` (the record a walk kept of it) while its stat
    data is as `old` says, else read anew. `icase`: core.ignoreCase (`.GIT` holds a repository
    too)."""
    st = os.fstat(fd)
    if old is not None and old[:4] == (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns):
        return old
    key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
    bits = st.st_mode & 0o7777
    try:
        with os.scandir(fd) as listing:
            entries = list(listing)
    except PermissionError:  # opened but not listable: not empty as far as anyone can say
        return (-1, -1, -1, -1, False, False, (), (), bits, (), ())  # never kept
    if not entries:
        return (*key, True, False, (), (), bits, (), ())
    # Per entry, as little as can be: most are files, of which only the names are looked at.
    # The kind is the listing's own (`d_type`), but where a filesystem gives none.
    # One call an entry, as when only the folders were picked: the few that are not files
    # (folders, links, FIFOs, sockets, devices) looked at again.
    names = {e.name for e in entries}
    others = [e for e in entries if not e.is_file(follow_symlinks=False)]
    folders = sorted(
        (os.fsencode(e.name), e.inode()) for e in others if e.is_dir(follow_symlinks=False)
    )
    specials = [
        os.fsencode(e.name)
        for e in others
        if not (e.is_dir(follow_symlinks=False) or e.is_symlink())
    ]
    # A repository of its own, as git's walk tells one: a `.git` there (`.GIT` too with
    # core.ignoreCase). It is not looked into.
    own = ".git" in names or (icase and any(n.lower() == ".git" for n in names if len(n) == 4))
    if not folder:  # the top: its `.git` is the repository's own
        folders = [f for f in folders if (f[0].lower() if icase else f[0]) != b".git"]
        specials = [n for n in specials if (n.lower() if icase else n) != b".git"]
        own = False
    rules = tuple(n for n in RULE_FILES if os.fsdecode(n) in names)
    return (
        *key,
        False,
        own,
        tuple(n for n, _ in folders),
        rules,
        bits,
        tuple(i for _, i in folders),
        tuple(sorted(specials)),
    )
