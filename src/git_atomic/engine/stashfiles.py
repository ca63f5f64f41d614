"""Files no checkpoint holds that an operation's stash took away, written back when its
rollback drops that stash.

`git stash --all` (and `push -a`, a tool's "stash everything") moves every ignored file into the
stash's third parent and deletes it from the disk: your `.env`, your build output. No
checkpoint holds an ignored file, so the rollback, which takes the operation's stash off your
stash list (stashstate.py), left them gone, in no stash you could see (only `undo` showed the
stash again). Here, after such a rollback, each file of a dropped stash's untracked tree that
git ignores now, that the state restored does not hold and where nothing stands on the disk is
written back from the stash (a link as a link), readable by its owner alone (a tree keeps no
0600: never more open than it was), and named. So is an untracked file that was over
`max_new_file_size` (`git stash -u` took it), with the bits the target kept of it. Nothing is
written over and nothing through a link (safefs.py). Only a restore that changes your stash
list pays for this.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Set as AbstractSet

from git_atomic.engine import checkpoint, safefs, stashstate
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo, TreeEntry
from git_atomic.engine.restoreplan import Outcome

_FILE_MODES = {"100644": 0o600, "100755": 0o700}
_LINK = "120000"


def bring_back(
    repo: Repo,
    current: Snapshot,
    target: Snapshot,
    outcome: Outcome | None,
    *,
    dry_run: bool = False,
) -> tuple[list[bytes], list[bytes]]:
    """The ignored files of the stashes `current` names and `target` does not, written back
    where nothing is (a note names them); and those of the stashes `target` names and
    `current` does not that stand on the disk as the stash holds them, taken away again
    (`_take_away`). The paths written, and removed (`dry_run`: that would be; none changed)."""
    if not (current.stash_known and target.stash_known):
        return [], []
    kept = set(stashstate.commits(repo, target.stash))
    was = stashstate.commits(repo, current.stash)
    dropped = [c for c in was if c not in kept]
    written: list[bytes] = []
    for commit in dropped:
        written += _from(repo, commit, target, dry_run=dry_run)
    made = [c for c in stashstate.commits(repo, target.stash) if c not in set(was)]
    removed: list[bytes] = []
    for commit in made:
        removed += _take_away(repo, commit, current, target, dry_run=dry_run)
    if written and outcome is not None:
        outcome.notes.append(
            f"files in no checkpoint (ignored, or over max_new_file_size) that the operation's "
            f"stash had taken away were written back from it: "
            f"{_names(written)} (ignored ones readable by their owner alone; `git atomic undo` "
            "makes the stash again)"
        )
    if removed and outcome is not None:
        outcome.notes.append(
            "files in no checkpoint (ignored, or over max_new_file_size) that a stash made "
            f"again holds, as they are on the disk, were taken away into it again: "
            f"{_names(removed)} (`git stash pop` writes them back)"
        )
    return written, removed


def _names(paths: list[bytes]) -> str:
    shown = ", ".join(p.decode("utf-8", "backslashreplace") for p in sorted(paths)[:10])
    return shown + (f" and {len(paths) - 10} more" if len(paths) > 10 else "")


def _entries(repo: Repo, commit: str, target: Snapshot, big: AbstractSet[bytes]) -> list[TreeEntry]:
    """The files and links of `commit`'s untracked tree (its third parent) that no checkpoint
    holds: ignored ones, and those over the budget when `target` was captured (`stash -u` of
    your 4 GB dump: `big`); and that `target` does not hold."""
    found = repo.run("rev-parse", "-q", "--verify", f"{commit}^3^{{tree}}", check=False)
    if found.returncode != 0:
        return []  # a stash of tracked changes alone
    entries = [
        e
        for e in repo.ls_tree(found.stdout.decode().strip(), recursive=True)
        if e.mode in _FILE_MODES or e.mode == _LINK
    ]
    ignored = repo.ignored([e.path for e in entries if e.path not in big]) or set()
    entries = [e for e in entries if e.path in ignored or e.path in big]
    if not entries:
        return []
    held = {e.path for e in repo.ls_tree_at(target.files_tree, [e.path for e in entries])}
    return [e for e in entries if e.path not in held]


def _too_large(repo: Repo, target: Snapshot) -> frozenset[bytes]:
    return checkpoint.load_too_large(repo, target) if target.too_large is not None else frozenset()


def _from(repo: Repo, commit: str, target: Snapshot, *, dry_run: bool) -> list[bytes]:
    """The files of `commit`'s untracked tree written back where nothing stands."""
    big = _too_large(repo, target)
    entries = _entries(repo, commit, target, big)
    if not entries:
        return []
    data = dict(repo.cat_blobs(e.oid for e in entries)) if not dry_run else {}
    kept = checkpoint.load_modes(repo, target) if big else {}
    written: list[bytes] = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for e in entries:
            if tree.lstat(e.path) is not None:
                continue  # never over anything: yours, or made since
            if dry_run:
                written.append(e.path)
                continue
            with contextlib.suppress(OSError, safefs.Blocked):
                tree.make_folders(os.path.dirname(e.path))
                if e.mode == _LINK:
                    tree.symlink(e.path, data[e.oid])
                elif e.path in big:  # its bits as the target kept them, else the tree's
                    tree.write(e.path, data[e.oid], kept.get(e.path, int(e.mode[-3:], 8)))
                else:
                    tree.write(e.path, data[e.oid], _FILE_MODES[e.mode])
                written.append(e.path)
    return written


def _take_away(
    repo: Repo, commit: str, current: Snapshot, target: Snapshot, *, dry_run: bool
) -> list[bytes]:
    """The files of `commit`'s untracked tree that stand on the disk with the bytes it holds
    (a link with its target) removed, and the folders that leaves empty: a stash a restore
    makes again (`undo` of the rollback that wrote them back, the rollback of a `stash pop`)
    holds them, and `git stash pop` refuses to write over any of them ("already exists").
    One that differs is yours: left, as is one written before `target` was captured. Over the
    budget is as the state now saw it (the rollback wrote it back over the budget)."""
    since = target.captured_at
    if since is None:
        return []
    entries = _entries(repo, commit, target, _too_large(repo, current) | _too_large(repo, target))
    if not entries:
        return []
    data = dict(repo.cat_blobs(e.oid for e in entries))
    removed: list[bytes] = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for e in entries:
            st = tree.lstat(e.path)
            # Written since the target was captured (by the move `undo` takes back, by the
            # operation's `stash pop`): one there before it is yours (a stash you applied
            # yourself, then dropped by the operation), and stays.
            if st is None or st.st_ctime < since:
                continue
            if e.mode == _LINK:
                same = stat.S_ISLNK(st.st_mode) and tree.readlink(e.path) == data[e.oid]
            else:
                same = stat.S_ISREG(st.st_mode) and st.st_size == len(data[e.oid])
                same = same and tree.read(e.path) == data[e.oid]
            if not same:
                continue
            with contextlib.suppress(OSError, safefs.Blocked):
                if dry_run or tree.unlink(e.path):
                    removed.append(e.path)
        if not dry_run:
            held = _held_folders(repo, target, removed)
            for path in removed:
                folder = os.path.dirname(path)
                while folder and folder not in held and tree.rmdir(folder):
                    folder = os.path.dirname(folder)
    return removed


def _held_folders(repo: Repo, target: Snapshot, paths: list[bytes]) -> set[bytes]:
    """The folders on the way of `paths` that `target` holds files in (or holds empty): those
    stay."""
    folders = sorted({f for p in paths for f in _above(p)})
    if not folders:
        return set()
    held = {e.path for e in repo.ls_tree_at(target.files_tree, folders)}
    return held | (checkpoint.load_empty_folders(repo, target) & set(folders))


def _above(path: bytes) -> list[bytes]:
    found = []
    folder = os.path.dirname(path)
    while folder:
        found.append(folder)
        folder = os.path.dirname(folder)
    return found
