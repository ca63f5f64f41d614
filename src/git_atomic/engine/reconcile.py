"""The scan index's set of paths made the user's.

The scan index describes the worktree, not the user's index: a file the user tracks although it is
ignored must be in the scan's tree, and a file only the scan index tracks (since an earlier scan)
must not be ignored now. This module says which paths the scan index must add or drop; scan.py
applies them.

Reconciling costs a `diff-tree` and a `check-ignore`, and its answer is almost always one of the
last two: same staged tree, same scan tree, nothing to add or remove (a `begin` and an `abort`
take turns with two trees: the state and the state with the operation's change). Those answers
are remembered in `reconciled-<worktree>.json` with what else could change them: the ignore
rules that live outside the tree (info/exclude, core.excludesFile), and your tracked paths the
scan lacks, which are looked at again (one that is now a file on disk is a file to add). The
changes between the two trees go with each (two trees' difference never changes): the capture
lists them too.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence, Set
from pathlib import Path
from typing import Any, NamedTuple

from git_atomic.core import wholefile
from git_atomic.engine import rulefiles, safefs
from git_atomic.engine.git import RawChange, Repo, worktree_key


class Mismatch(NamedTuple):
    must_add: list[bytes]  # tracked by the user although ignored
    must_remove: list[bytes]  # tracked by the scan index only, and ignored now


def mismatch(
    repo: Repo, staged_tree: str, tree: str, untracked: Set[bytes], *, base: str | None = None
) -> Mismatch | None:
    """What the scan index (whose tree is `tree`; `untracked`: what its scan found untracked)
    must add and drop to hold the paths of the user's entries (`staged_tree`); None when the
    scan cannot say (a submodule the scan index lacks, an odd file: the caller scans the older
    way). `base`: the tree the scan edited into `tree`, if it did."""
    root = os.fsencode(repo.root)
    memo = repo.state_dir / f"reconciled-{worktree_key(repo)}.json"
    rules = rules_key(repo)
    known = _still_reconciled(root, memo, staged_tree, tree, rules)
    if known is not None:
        repo.remember_diff(staged_tree, tree, known)  # the capture lists the same changes
        return Mismatch([], [])
    must_add: list[bytes] = []
    only_ours: list[bytes] = []
    absent: list[bytes] = []  # yours, not on disk as a file
    changes = _composed(repo, memo, staged_tree, base, tree)
    if changes is None:
        changes = repo.diff_trees(staged_tree, tree)
    with safefs.Tree(root) as on_disk:
        for c in changes:
            if c.status == "A" and c.path not in untracked:
                only_ours.append(c.path)  # tracked by the scan index since an earlier scan
            elif c.status == "D":
                absent.append(c.path)
                st = on_disk.lstat(c.path)  # beyond a link: not there
                if st is None:
                    continue  # deleted: gone from both
                mode = st.st_mode
                if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
                    if c.old_mode == "160000":
                        return None
                    must_add.append(c.path)  # tracked by the user although ignored
                elif not stat.S_ISDIR(mode) or c.old_mode == "160000":
                    return None  # a submodule the scan index lacks, or an odd file
    must_remove = ignored(repo, only_ours)
    if not must_add and not must_remove and repo.quarantine is None:  # (a dry run keeps none)
        _remember_reconciled(memo, staged_tree, tree, rules, absent, changes)
    return Mismatch(must_add, must_remove)


def _composed(
    repo: Repo, memo: Path, staged_tree: str, base: str | None, tree: str
) -> list[RawChange] | None:
    """How `staged_tree` becomes `tree`, without `diff-tree`, where the scan edited `base` into
    `tree` (the edit's changes known: Repo.tree_edit) and the last reconciliation remembered how
    `staged_tree` becomes `base`: path by path, what your index has against what the scan has
    now. None when either is not known."""
    edit = repo.known_diff(base, tree) if base is not None else None
    if edit is None:
        return None
    data = next(
        (e for e in _remembered(memo) if [e.get("staged"), e.get("tree")] == [staged_tree, base]),
        None,
    )
    if data is None:
        return None
    try:
        known = {
            os.fsencode(f[5]): RawChange(f[0], f[1], f[2], f[3], f[4], os.fsencode(f[5]))
            for f in data["changes"]
        }
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    for change in edit:
        before = known.pop(change.path, None)
        # What your index has at this path: as the memo says, or what `base` had there.
        if before is None:
            old = (change.old_mode, change.old_oid)
        elif (before.new_mode, before.new_oid) != (change.old_mode, change.old_oid):
            return None  # not the `base` the memo describes
        else:
            old = (before.old_mode, before.old_oid)
        new = (change.new_mode, change.new_oid)
        if old == new:
            continue
        if old[0] == "000000":
            status = "A"
        elif new[0] == "000000":
            status = "D"
        else:
            status = "TM"[int(old[0], 8) & 0o170000 == int(new[0], 8) & 0o170000]
        known[change.path] = RawChange(old[0], new[0], old[1], new[1], status, change.path)
    composed = [known[p] for p in sorted(known)]
    checked = os.environ.get("GIT_ATOMIC_VERIFY_SCAN") == "1"  # under test: git says the same
    if checked and composed != repo.diff_trees_told(staged_tree, tree):
        raise AssertionError(f"reconcile: composed {staged_tree}..{tree} is not git's")
    repo.remember_diff(staged_tree, tree, composed)
    return composed


def rules_key(repo: Repo) -> list[object]:
    """What the ignore rules that live outside the tree are now (info/exclude,
    core.excludesFile, core.ignoreCase): equal keys, same rules. An excludes file of the
    worktree is looked at itself, never through a link (rulefiles.py); one that is a link, or
    past one, holds rules from where the tree does not say: a key no other equals (the answer
    is worked out every time, the exact way)."""
    excludes = rulefiles.configured(repo, "core.excludesFile", "ignore")
    key: list[object] = [repo.config("core.ignoreCase") or ""]
    info_exclude = repo.common_dir / "info" / "exclude"
    for path, st in (
        (str(info_exclude), _stat(info_exclude)),
        (excludes.path, excludes.st),
    ):
        # The ctime too: a file written again with its old mtime put back (`cp -p`,
        # `touch -r`) and the same size is another file all the same.
        found = [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino] if st else []
        key.append([path, *found])
    if excludes.linked:
        key.append(["through a link", os.urandom(8).hex()])
    return key


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def _still_reconciled(
    root: bytes, memo: Path, staged_tree: str, tree: str, rules: list[object]
) -> list[RawChange] | None:
    """The changes from the staged tree to the scan's when the answer is still one of those
    remembered; None when it must be worked out."""
    wanted = [staged_tree, tree, rules]
    data = next(
        (
            e
            for e in _remembered(memo)
            if [e.get("staged"), e.get("tree"), e.get("rules")] == wanted
        ),
        None,
    )
    if data is None:
        return None
    try:
        absent = [os.fsencode(p) for p in data["absent"]]
        changes = [
            RawChange(f[0], f[1], f[2], f[3], f[4], os.fsencode(f[5])) for f in data["changes"]
        ]
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    absent.sort()  # a folder's together: each looked up once (a sparse checkout: many)
    with safefs.Tree(root) as on_disk:
        found = on_disk.lstat_many(absent)
    if any(st is not None and not stat.S_ISDIR(st.st_mode) for st in found):
        return None
    return changes


def _remembered(memo: Path) -> list[dict[str, Any]]:
    """The answers remembered, the last one first: the file holds it, and the one before it
    under "before" (a file written before that holds the last alone)."""
    import json

    try:
        data = json.loads(wholefile.read(memo))
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    before = data.pop("before", None)
    return [data, before] if isinstance(before, dict) else [data]


def _remember_reconciled(
    memo: Path,
    staged_tree: str,
    tree: str,
    rules: list[object],
    absent: Sequence[bytes],
    changes: Sequence[RawChange],
) -> None:
    import json

    if len(absent) > 20_000 or len(changes) > 20_000:
        return  # looking at them again, or reading them back, would cost what it saves
    kept: dict[str, object] = {
        "staged": staged_tree,
        "tree": tree,
        "rules": rules,
        "absent": [os.fsdecode(p) for p in absent],
        "changes": [[*c[:5], os.fsdecode(c.path)] for c in changes],
    }
    last = next(iter(_remembered(memo)), None)
    if last is not None and [last.get("staged"), last.get("tree")] != [staged_tree, tree]:
        kept["before"] = last  # the other of two states a begin and an abort take turns with
    scratch = memo.with_name(f"{memo.name}.{os.getpid()}")
    with contextlib.suppress(OSError):
        wholefile.write_new(scratch, json.dumps(kept).encode())
        from git_atomic.core import failpoints  # not before the early scan (test_hot_path)

        failpoints.hit("reconcile:aside")  # a kill leaves it: recover's sweep (scratch.py)
        os.replace(scratch, memo)


def ignored(repo: Repo, paths: Sequence[bytes]) -> list[bytes]:
    """Those of `paths` that git's ignore rules match now, whatever any index says (none when
    git could not say)."""
    found = repo.ignored(paths)
    return [p for p in paths if p in found] if found else []
