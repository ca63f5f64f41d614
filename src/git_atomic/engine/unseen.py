"""Files on disk that a capture did not see, because git ignores them now, and that a restore
would write over or take away: a rescue must hold them too, or they would be lost
(`rescue.save` asks, restore.py acts). An ignored link or file where the restore needs a
folder, a file where it writes one, and files the state being left hid behind ignore rules it
changed (a virtualenv's own `.gitignore`)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence

from git_atomic.core.config import capture_settings
from git_atomic.engine import (
    changedtimes,
    checkpoint,
    ignores,
    infoexclude,
    rulefiles,
    safefs,
    scantree,
)
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import RawChange, Repo
from git_atomic.engine.restoreplan import GITLINK, folders_on_the_way
from git_atomic.engine.rulefiles import excludes_file_in_tree as excludes_file_in_tree


def overwritten_ignored(
    repo: Repo, current_tree: str, target: Snapshot, paths: Sequence[bytes] = ()
) -> list[bytes]:
    """Files on disk that the restore would create over, though the capture did not see them
    (git ignores them now): the rescue must hold them too, or they would be lost. So must an
    ignored link or file that stands where the restore needs a folder: the restore removes it
    (the link itself), and `undo` puts it back."""
    changes = repo.diff_trees(current_tree, target.files_tree, paths)
    held = {c.path for c in changes if c.status in ("D", "T")}
    found: dict[bytes, None] = {}
    held_there: set[bytes] = set()  # paths where the target holds a file or link itself
    in_the_way: list[bytes] = []  # folders where a file or link comes back
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for c in changes:
            if c.status != "A" or c.new_mode == GITLINK:
                continue
            blocker, open_way = _blocker(tree, folders_on_the_way(c.path))
            if blocker is not None and blocker not in held:
                found[blocker] = None
            if not open_way:
                continue
            kind = tree.kind(c.path)  # beyond a link: not there (never read through it)
            if kind == stat.S_IFDIR:
                in_the_way.append(c.path)
            elif kind is not None:
                found[c.path] = None
                held_there.add(c.path)
        # The target's empty folders: a FIFO, a socket or an ignored file where one comes back,
        # or where a folder on its way does (`sub/` of `sub/empty/`), is in its way too (git
        # does not see an untracked FIFO at all).
        for folder in checkpoint.load_empty_folders(repo, target):
            if paths and not any(folder == p or folder.startswith(p + b"/") for p in paths):
                continue
            blocker, _ = _blocker(tree, [*folders_on_the_way(folder), folder])
            if blocker is not None and blocker not in held:
                found[blocker] = None
    # The ignored files in a folder that stands where a file comes back (an operation's build
    # output in the folder it put in a file's place): the folder is removed once they are
    # held; a repository of its own in it (`dir/`) is not ours, and keeps the folder.
    if in_the_way:
        ignored = ignores.ignored_in(repo, in_the_way) or []
        found.update((p, None) for p in ignored if p[-1:] != b"/")
    saved = list(found)
    saved += [p for p in _hidden_by_new_rules(repo, changes, target) if p not in found]
    limit, _ = capture_settings(repo.root)
    if limit is not None and saved:
        # The budget is for new files: one where the target holds a file or link of its own
        # (a protected `.env` link the operation wrote a large file over) is not new, and the
        # restore puts the target's back. Other large ones the restore leaves alone.
        asked = [p for p in saved if p not in held_there]
        big = set(scantree.too_large(repo, asked, limit)) if asked else set()
        saved = [p for p in saved if p not in big]
    return saved


def _blocker(tree: safefs.Tree, chain: Iterable[bytes]) -> tuple[bytes | None, bool]:
    """Along `chain` (folders, outermost first): the first that is there but no folder (a link,
    a file, a FIFO), and whether every one is a folder (False also when one is missing)."""
    for where in chain:
        kind = tree.kind(where)
        if kind is None:
            return None, False
        if kind != stat.S_IFDIR:
            return where, False
    return None, True


def _hidden_by_new_rules(repo: Repo, changes: Sequence[RawChange], target: Snapshot) -> list[bytes]:
    """Files made since the target was captured that a `.gitignore` changed since hides now
    (a `.venv/.gitignore` of `*` beside the virtualenv it came with), or `.git/info/exclude`
    or a `core.excludesFile` the tree holds changed since, or the restore switches HEAD where
    an `includeIf "onbranch:"` include may bring rules (anywhere in the tree): the capture
    did not see
    them, the restore puts the rules back, and `apply` takes back those the target's rules do
    not ignore. Only under the folders whose rules changed; only when the target knows when it
    was captured. A worked-out target (an effect taken back) names the windows in which the
    effect was made: a file made outside them (yours, after the operation or between an agent
    turn's tool calls) is not the effect's, and stays."""
    if target.captured_at is None:
        return []
    changed = [c.path for c in changes]
    folders = sorted({os.path.dirname(p) for p in changed if os.path.basename(p) == b".gitignore"})
    if infoexclude.changes(infoexclude.read(repo), target.info_exclude):
        folders = [b""]  # .git/info/exclude rules the whole tree
    excludes = excludes_file_in_tree(repo)
    if excludes is not None and (excludes in changed or _linked_excludes(repo, changed)):
        folders = [b""]  # so does a core.excludesFile the tree holds
    if target.head_ref != repo.head_names()[0] and repo.includes_by_branch():
        folders = [b""]  # and an include by branch, which the restore's HEAD switches
    if not folders:
        return []
    found = ignores.ignored_in(repo, folders)
    if found is None:
        return []
    # A repository of its own is listed as a folder (`dir/`): never ours to hold or remove.
    listed = [p for p in found if not p.endswith(b"/")]
    born = changedtimes.born_at(repo, listed)
    windows = target.made_within or ((target.captured_at, float("inf")),)
    return [p for p, t in born.items() if any(start < t <= end for start, end in windows)]


def _linked_excludes(repo: Repo, changed: Sequence[bytes]) -> bool:
    """Whether the excludes file is read through a link of the worktree (`.config` a link to
    `dotfiles/config`, as GNU Stow makes it) where files changed: which of them it leads to is
    never worked out through the link, so its rules may be among them (taken for changed)."""
    return bool(changed) and rulefiles.configured(repo, "core.excludesFile", "ignore").linked
