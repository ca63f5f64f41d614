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

from git_atomic.engine import checkpoint, safefs, stashstate
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo
from git_atomic.engine.restoreplan import Outcome

_FILE_MODES = {"100644": 0o600, "100755": 0o700}
_LINK = "120000"


def bring_back(repo: Repo, current: Snapshot, target: Snapshot, outcome: Outcome) -> None:
    """The ignored files of the stashes `current` names and `target` does not, written back
    where nothing is (a note names them)."""
    if not (current.stash_known and target.stash_known):
        return
    kept = set(stashstate.commits(repo, target.stash))
    dropped = [c for c in stashstate.commits(repo, current.stash) if c not in kept]
    written: list[bytes] = []
    for commit in dropped:
        written += _from(repo, commit, target)
    if written:
        shown = ", ".join(p.decode("utf-8", "backslashreplace") for p in sorted(written)[:10])
        more = f" and {len(written) - 10} more" if len(written) > 10 else ""
        outcome.notes.append(
            f"files in no checkpoint (ignored, or over max_new_file_size) that the operation's "
            f"stash had taken away were written back from it: "
            f"{shown}{more} (ignored ones readable by their owner alone; `git atomic undo` "
            "makes the stash again)"
        )


def _from(repo: Repo, commit: str, target: Snapshot) -> list[bytes]:
    """The files of `commit`'s untracked tree (its third parent) written back."""
    found = repo.run("rev-parse", "-q", "--verify", f"{commit}^3^{{tree}}", check=False)
    if found.returncode != 0:
        return []  # a stash of tracked changes alone
    entries = [
        e
        for e in repo.ls_tree(found.stdout.decode().strip(), recursive=True)
        if e.mode in _FILE_MODES or e.mode == _LINK
    ]
    # Ignored ones, and those over the budget when the target was captured (`stash -u` of
    # your 4 GB dump): no checkpoint holds either.
    big = checkpoint.load_too_large(repo, target) if target.too_large is not None else set()
    ignored = repo.ignored([e.path for e in entries if e.path not in big]) or set()
    entries = [e for e in entries if e.path in ignored or e.path in big]
    if not entries:
        return []
    held = {e.path for e in repo.ls_tree_at(target.files_tree, [e.path for e in entries])}
    entries = [e for e in entries if e.path not in held]
    data = dict(repo.cat_blobs(e.oid for e in entries))
    kept = checkpoint.load_modes(repo, target) if big else {}
    written: list[bytes] = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for e in entries:
            if tree.lstat(e.path) is not None:
                continue  # never over anything: yours, or made since
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
