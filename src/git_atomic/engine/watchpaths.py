"""The paths Watchman reported changed since a scan's clock, read as `git status` would list
them (watcher.py asks, this sorts): files gone, files that may differ, new files that no rule
ignores; and the rule files among them, looked at before git reads them (stalls.py). None where
git must look its own way: a submodule or a repository of its own on the way, a file with
another name (a hard link: its other names changed unreported), a listing git could not give.
Split from watcher.py.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence

from git_atomic.engine import rulefiles, safefs
from git_atomic.engine.git import Repo


def rule_files(names: list[object]) -> list[bytes]:
    found = []
    for name in names:
        if not isinstance(name, str):
            continue
        with contextlib.suppress(UnicodeEncodeError):
            path = name.encode("utf-8")
            if path.rpartition(b"/")[2] in rulefiles.IN_EVERY_FOLDER:
                found.append(path)
    return found


def classify(
    repo: Repo, tree: str, paths: Sequence[bytes]
) -> tuple[list[bytes], list[bytes], list[bytes]] | None:
    """(gone, may differ, new and not in `tree`) for paths Watchman reported. Each path's
    folders are looked up too: one that is a submodule in `tree` sends the scan the usual
    way. Looked up by the entries' modes in the loose trees on the way (a scan's own, mostly:
    no process), else by git's `ls-tree`."""
    if not paths:
        return [], [], []
    asked: dict[bytes, None] = {}
    for path in paths:
        parts = path.split(b"/")
        for i in range(1, len(parts)):
            asked[b"/".join(parts[:i])] = None
        asked[path] = None
    kinds = repo.kinds_at(tree, list(asked))
    if _verify():  # (under test: git lists the same)
        told = repo.told_kinds_at(tree, list(asked))
        if kinds != told:
            raise AssertionError(f"watchpaths: {kinds} from the loose trees, git says {told}")
    if any(kind == b"commit" for kind in kinds.values()):
        return None  # a submodule on the way: git status looks at it its own way
    deleted: list[bytes] = []
    changed: list[bytes] = []
    new: list[bytes] = []
    with safefs.Tree(os.fsencode(repo.root)) as disk:
        for path in paths:
            st = disk.lstat(path)  # beyond a link: not there
            if st is not None and st.st_nlink > 1 and stat.S_ISREG(st.st_mode):
                # One file under several names: inotify reported the name written through,
                # never the others (a hard link's write is seen at every name by git status).
                return None
            tracked = kinds[path] == b"blob"
            if st is None or stat.S_ISDIR(st.st_mode):
                if tracked:
                    deleted.append(path)  # a folder now: its files are reported themselves
            elif tracked:
                changed.append(path)
            elif stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                new.append(path)
            # (anything else that is new: git lists no socket or fifo either)
    # A new file in a folder that holds a repository of its own: `git status` lists that
    # folder, not its files.
    folders = {p.rpartition(b"/")[0] for p in new}
    for folder in list(folders):
        parts = folder.split(b"/") if folder else []
        folders.update(b"/".join(parts[:i]) for i in range(1, len(parts)))
    folders.discard(b"")
    with safefs.Tree(os.fsencode(repo.root)) as disk:
        if any(disk.lstat(f + b"/.git") is not None for f in folders):
            return None
    return deleted, changed, new


def _verify() -> bool:
    """Under test (scantree.py's switch), the kinds read from the loose trees are checked
    against git's listing."""
    return os.environ.get("GIT_ATOMIC_VERIFY_SCAN") == "1"


def not_ignored(repo: Repo, paths: Sequence[bytes]) -> list[bytes] | None:
    """Those of `paths` (new, untracked) that git lists as untracked: neither they nor a folder
    above them ignored (git does not look inside an ignored folder, whatever a later `!` rule
    says, and `check-ignore` alone answers for the path it is given)."""
    if not paths:
        return []
    asked: dict[bytes, None] = {}
    for path in paths:
        parts = path.split(b"/")
        for i in range(1, len(parts)):
            asked[b"/".join(parts[:i]) + b"/"] = None
        asked[path] = None
    found = repo.ignored(asked)
    if found is None:
        return None
    hit = {p.rstrip(b"/") for p in found}
    kept = []
    for path in paths:
        parts = path.split(b"/")
        if any(b"/".join(parts[:i]) in hit for i in range(1, len(parts) + 1)):
            continue
        kept.append(path)
    return kept
