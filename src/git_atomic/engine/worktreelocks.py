"""Linked worktrees an operation locked or unlocked (`git worktree lock`, t2400/t2407).

git keeps a linked worktree's lock as a file in the common git dir, `worktrees/<name>/locked`
(its text the reason given). One the operation locked stayed locked after its rollback, said
nowhere: `git worktree remove` then refuses the folder ("cannot remove a locked working
tree") and `git worktree prune` never prunes it; one it unlocked could be pruned. So the
locks of the linked worktrees there when an operation begins are noted (`BEFORE`: a lstat each,
where there are any; the text of a lock), and when it closes (`LEFT`), and whatever takes its
effect back puts each lock back as it was: all it changed (its own rollback), or one still as
it left it (a later `rollback --op`), at its folder or where the operation moved it
(which stays there: its way back, `git worktree move`, refuses a locked worktree, and one of
yours it unlocked could be pruned). A worktree the operation removed or added is
worktreesgone.py's; its lock is not written. Never through a link: a `locked` that is not a
regular file is not noted, nor written over.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from typing import Final

from git_atomic.engine import safefs
from git_atomic.engine.git import Repo

BEFORE: Final = "worktree_locks"  # op detail: {git dir name: lock text, or None: unlocked}
LEFT: Final = "worktree_locks_left"  # op detail: the same when the operation closed
_MOST: Final = 1 << 16  # a reason longer than this is not noted


def _path(name: str) -> bytes:
    return b"worktrees/" + os.fsencode(name) + b"/locked"


def note(repo: Repo, names: Iterable[str]) -> dict[str, str | None]:
    """Each named worktree's lock: its text, None where it is not locked; one that cannot be
    noted (a link, a folder, too long) is left out."""
    out: dict[str, str | None] = {}
    with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
        for name in names:
            st = tree.lstat(_path(name))
            if st is None:
                out[name] = None
            elif stat.S_ISREG(st.st_mode) and st.st_size <= _MOST:
                data = tree.read(_path(name))
                if data is not None:
                    out[name] = data.decode("utf-8", "surrogateescape")
    return out


def put_back(
    repo: Repo, details: Mapping[str, object], *, own: bool, dry_run: bool = False
) -> list[str]:
    """Each lock of a linked worktree still there (the same git dir, at the same folder) as
    the operation's PRE-OP had it, where the operation changed it: the lines that say so."""
    before, left = details.get(BEFORE), details.get(LEFT)
    if not isinstance(before, dict) or not before:
        return []
    folders = {name: folder for folder, name in repo.linked_worktree_names().items()}
    began = details.get("worktree_names")  # worktreesgone.NAMES: folder -> name
    at_start = {n: f for f, n in began.items()} if isinstance(began, dict) else {}
    # The same git dir, at its folder or where the operation moved it (worktreesgone.moved:
    # the `git worktree move` its rollback names back refuses a worktree it left locked).
    now = note(repo, [n for n in before if n in folders and n in at_start])
    said: list[str] = []
    for name, current in sorted(now.items()):
        was = before.get(name)
        if current == was or not (was is None or isinstance(was, str)):
            continue
        if not own and (not isinstance(left, dict) or name not in left or left[name] != current):
            continue  # changed since the operation closed: yours
        if not dry_run and not _put(repo, name, was):
            said.append(f"the lock of the linked worktree {folders[name]} could not be put back")
            continue
        if was is None:
            what = "which the operation locked, is unlocked again"
        elif current is None:
            what = "which the operation unlocked, is locked again"
        else:
            what = "whose lock's reason the operation changed, has it back"
        said.append(
            f"the linked worktree {folders[name]}, {what}, as before the operation "
            "(`git worktree remove` and `prune` go by its lock)"
        )
    return said


def _put(repo: Repo, name: str, text: str | None) -> bool:
    with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
        if text is None:
            tree.unlink(_path(name))
            return True
        folder_rel = os.path.dirname(_path(name))
        # With the writer's pid, a name git passes over: one a killed process left is
        # removed by `recover` and `gc` (gitlinks.remove_left), never another's.
        tmp_name = b".locked.%d.atomic-tmp" % os.getpid()
        tmp = folder_rel + b"/" + tmp_name
        tree.unlink(tmp)
        try:
            tree.write(tmp, text.encode("utf-8", "surrogateescape"), 0o644)
        except (OSError, safefs.Blocked):
            return False
        folder = tree.folder(folder_rel)
        if folder is None:
            return False
        os.rename(tmp_name, b"locked", src_dir_fd=folder, dst_dir_fd=folder)
    return True
