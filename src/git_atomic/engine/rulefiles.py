"""Which files of the worktree are rule files git reads beside the tracked ones: a `.gitignore`
and a `.gitattributes` in any folder, and the file `core.excludesFile` or `core.attributesFile`
names where that file is in the worktree (a relative one is read from the top: reconcile.py's
`rules_key`). A change of one is more than a change of itself: what git ignores, or how it
converts other files, changes with it. `.git/info/exclude` and `info/attributes` are rule
files too, of the git dir (infoexclude.py): never a path of the tree.

The engine (unseen.py, restore.py, the scan's conversion.py and scantree.py, watcher.py),
the views (`log`, `show --stat`: views/rulechange.py) and a turn's notes of a file tool's
files (agents/turnfiles.py) ask here, so that they agree (a capture run in `sub/` read
`sub/.myattrs` for the top's, and missed its line-ending rule). Tiny (os alone): a hook call
and the scan import it."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from git_atomic.engine.gitconfig import RepoConfig

IN_EVERY_FOLDER: Final = (b".gitignore", b".gitattributes")
# The configuration keys that name a rule file, and the kind of rules it holds.
CONFIGURED: Final = (("core.excludesFile", "ignore"), ("core.attributesFile", "attributes"))


def configured_in_tree(repo: RepoConfig, key: str) -> bytes | None:
    """Where in the worktree the file `key` names is (bytes, from the top), when it is there:
    a file a checkpoint holds and a restore writes back like any other. None when it is not
    set or elsewhere (your global excludes file: configuration, never ours)."""
    configured = repo.config(key)
    if not configured:
        return None
    root = os.fsencode(repo.root)
    full = os.path.normpath(os.path.join(root, os.fsencode(os.path.expanduser(configured))))
    rel = os.path.relpath(full, root)
    if rel in (b".", b"..") or rel.startswith(b"../"):
        return None
    return rel


def configured_file(repo: RepoConfig, key: str, default: str) -> str:
    """The file `key` names, as git reads it: `~` expanded, a relative path from the top of
    the worktree wherever the command runs (a capture run in `sub/` reads the top's `.myattrs`,
    not `sub/.myattrs`); unset, `default` in your XDG config folder (`git/attributes`)."""
    configured = repo.config(key)
    if configured:
        return os.path.join(repo.root, os.path.expanduser(configured))
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return os.path.join(xdg, "git", default)


def excludes_file_in_tree(repo: RepoConfig) -> bytes | None:
    return configured_in_tree(repo, "core.excludesFile")


def in_tree(repo: RepoConfig, kind: str | None = None) -> set[bytes]:
    """The configured rule files in the worktree (of `kind`, "ignore" or "attributes", or
    both)."""
    found = (configured_in_tree(repo, key) for key, what in CONFIGURED if kind in (None, what))
    return {rel for rel in found if rel is not None}


def ignore_rules_among(repo: RepoConfig, paths: Iterable[bytes]) -> bool:
    """Whether one of `paths` holds ignore rules: a `.gitignore`, or the excludes file."""
    excludes = excludes_file_in_tree(repo)
    return any(os.path.basename(p) == b".gitignore" or p == excludes for p in paths)


def attributes_among(repo: RepoConfig, paths: Iterable[bytes]) -> bool:
    """Whether one of `paths` holds attributes: a `.gitattributes`, or the attributes file."""
    named = configured_in_tree(repo, "core.attributesFile")
    return any(os.path.basename(p) == b".gitattributes" or p == named for p in paths)


def is_rule_file(repo: RepoConfig, rel: bytes) -> bool:
    """Whether the path `rel` (from the top) is a rule file of any kind."""
    return os.path.basename(rel) in IN_EVERY_FOLDER or rel in in_tree(repo)
