"""The files an operation's commits leave out because they were there before it: held by its
PRE-OP, or hidden then by a rule the operation changed since (`.env` behind a line it took out of
`.gitignore`). Split from ignores.py, which lists what a capture holds though git ignores it; this
is asked by a commit only (ops/phasecommit.py, a turn's commit), never by a checkpoint.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Sequence
from typing import NamedTuple

from git_atomic.engine import infoexclude, rulefiles
from git_atomic.engine.git import Repo
from git_atomic.engine.gitoutput import parse_raw_diff


class Before(NamedTuple):
    """What an operation's PRE-OP knew of the files its commits must leave out: when it captured
    the disk, the files it held (its files tree: tracked ones, and the ignored ones it holds,
    `.gitignore` files among them), `info/exclude` and the branch HEAD named (None: detached),
    which picks the rules an `includeIf "onbranch:"` include brings."""

    began: float
    files_tree: str
    info_exclude: infoexclude.Rules
    head_ref: str | None


def there_before(
    repo: Repo, paths: Sequence[bytes], before: Before, files_tree: str
) -> list[bytes]:
    """Of `paths` (untracked now, not before the operation; `files_tree`: the capture now),
    those there before the operation, which its commits leave out: a file PRE-OP held (tracked
    then, and the operation took it out of the index; or ignored and held, as `protect` does),
    or one a rule hid then that the operation changed since (`.env` behind a line it took out of
    `.gitignore`). A file born after PRE-OP (statx's birth, else ctime) is none of them. One born
    before it where PRE-OP held nothing, with no rule changed, was moved there by the operation
    (`mv src lib`: a rename keeps a file's birth): the operation's, committed. With a rule
    changed, one is still the operation's where it is, bytes and mode, a file PRE-OP held that
    the operation took away (a file a rule hid is no copy of one that went), or, where only
    `.gitignore` files changed, one git pairs as a rename with such a file where PRE-OP's
    `.gitignore` files ignored none (`mv pkg lib` of a folder holding its own `.gitignore`,
    its files edited after; an ignored file moved along and shown stays out)."""
    from git_atomic.engine import changedtimes  # (a restore's, not a capture's)

    older = changedtimes.older_than(repo, paths, before.began)
    if not older:
        return []
    held = {entry.path for entry in repo.ls_tree_at(before.files_tree, older)}
    unheld = [path for path in older if path not in held]
    changed = _rules_changed(repo, before, files_tree) if unheld else _Changed.NONE
    if changed is _Changed.NONE:
        return [path for path in older if path in held]
    moved = _moved_here(repo, unheld, before.files_tree, files_tree)
    if changed is _Changed.GITIGNORE:
        renamed = _renamed_here(repo, [p for p in unheld if p not in moved], before, files_tree)
        moved |= _not_ignored_then(repo, renamed, before.files_tree)
    return [path for path in older if path not in moved]


def _moved_here(repo: Repo, paths: Sequence[bytes], before: str, now: str) -> set[bytes]:
    """Those of `paths` (in the files tree `now`) whose entry, mode and blob, is that of a
    file the files tree `before` held and `now` does not: the same file under another name."""
    gone = {
        (change.old_mode, change.old_oid)
        for change in repo.diff_trees(before, now)
        if change.status == "D"
    }
    if not gone:
        return set()
    return {e.path for e in repo.ls_tree_at(now, paths) if (e.mode, e.oid) in gone}


def _renamed_here(repo: Repo, paths: Sequence[bytes], before: Before, now: str) -> list[bytes]:
    """Those of `paths` git's rename detection pairs with a file the files tree of `before`
    held and `now` does not (`mv pkg lib`, then its files edited)."""
    if not paths:
        return []
    env = {"GIT_INDEX_FILE": str(repo.state_dir / "no-index")}
    args = ("diff-tree", "-r", "-z", "-M", "--diff-filter=R", "--name-status")
    fields = repo.out(*args, before.files_tree, now, env=env).split(b"\0")
    targets = {fields[i + 2] for i in range(0, len(fields) - 2, 3) if fields[i].startswith(b"R")}
    return [path for path in paths if path in targets]


def _not_ignored_then(repo: Repo, paths: Sequence[bytes], before: str) -> set[bytes]:
    """Those of `paths` that no `.gitignore` of the files tree `before` ignores (asked of git
    in a scratch folder holding those files alone; `info/exclude` and `core.excludesFile` are
    as they were then, or this is not asked). Where git cannot say, none."""
    if not paths:
        return set()
    import shutil  # only a commit where a rule changed asks: never on a checkpoint's way

    env = {"GIT_INDEX_FILE": str(repo.state_dir / "no-index")}
    args = ("diff-tree", "-r", "-z", "--raw", "--no-renames", "--full-index", repo.empty_tree)
    listing = repo.out(*args, before, "--", ":(glob)**/.gitignore", env=env)
    rules = [c for c in parse_raw_diff(listing) if c.new_mode in ("100644", "100755")]
    scratch = repo.scratch_path("rules")
    try:
        scratch.mkdir()
        contents = dict(repo.cat_blobs({e.new_oid for e in rules}))
        for entry in rules:
            target = os.path.join(os.fsencode(scratch), entry.path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as out:
                out.write(contents[entry.new_oid])
        ignored = repo.ignored(paths, work_tree=str(scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return set() if ignored is None else set(paths) - ignored


class _Changed(enum.Enum):
    NONE = "none"
    GITIGNORE = "only .gitignore files"
    MORE = "info/exclude or the configuration, or unknown"


def _rules_changed(repo: Repo, before: Before, files_tree: str) -> _Changed:
    """Whether an ignore rule may have changed since PRE-OP: a `.gitignore` it held is not as
    it was, `info/exclude` either, or the configuration or `core.excludesFile` was written
    since (which file and `core.ignoreCase`), or HEAD names another branch where an
    `includeIf "onbranch:"` include is configured. Where it cannot tell, it may have (MORE)."""
    if not before.info_exclude.known:
        return _Changed.MORE
    if infoexclude.changes(infoexclude.read(repo), before.info_exclude):
        return _Changed.MORE
    if before.head_ref != repo.head_names()[0] and repo.includes_by_branch():
        return _Changed.MORE  # the operation switched branch: an include's rules went with it
    for path in _rule_settings(repo):
        try:
            if os.stat(path).st_ctime >= before.began:
                return _Changed.MORE
        except OSError:
            continue
    # The excludes file: one of the worktree looked at itself, never through a link (one that
    # is a link, or past one, holds rules the tree does not say: they may have changed).
    excludes = rulefiles.configured(repo, "core.excludesFile", "ignore")
    if excludes.linked or (excludes.st is not None and excludes.st.st_ctime >= before.began):
        return _Changed.MORE
    env = {"GIT_INDEX_FILE": str(repo.state_dir / "no-index")}
    args = ("diff-tree", "-r", "-z", "--name-only", before.files_tree, files_tree)
    if repo.out(*args, "--", ":(glob)**/.gitignore", env=env):
        return _Changed.GITIGNORE
    return _Changed.NONE


def _rule_settings(repo: Repo) -> list[str]:
    """The files that say which ignore rules git reads beside the tree's: the configuration
    files (core.excludesFile, core.ignoreCase). (The excludes file: `_rules_changed`.)"""
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return [
        str(repo.common_dir / "config"),
        str(repo.git_dir / "config.worktree"),
        os.path.expanduser("~/.gitconfig"),
        os.path.join(xdg, "git", "config"),
    ]
