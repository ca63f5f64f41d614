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
import stat
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from git_atomic.engine import safefs
    from git_atomic.engine.gitconfig import RepoConfig

IN_EVERY_FOLDER: Final = (b".gitignore", b".gitattributes")
# The configuration keys that name a rule file, and the kind of rules it holds (also the name
# of the file git reads in your XDG config folder `git/` when the key is not set).
CONFIGURED: Final = (("core.excludesFile", "ignore"), ("core.attributesFile", "attributes"))


def configured_in_tree(repo: RepoConfig, key: str) -> bytes | None:
    """Where in the worktree the file `key` names is (bytes, from the top), when it is there:
    a file a checkpoint holds and a restore writes back like any other (unset: the file of your
    XDG config folder git reads, in the worktree where that is your home folder). None when it
    is elsewhere (your global excludes file: configuration, never ours), or when its path
    steps out (`..`) of a folder of the worktree that is a link or no folder (`_spelled`)."""
    root = os.fsencode(repo.root)
    spelled = _spelled(root, _named(repo, key))
    if spelled.rel is None or (spelled.left and _stepped_out(root, spelled.left) is not None):
        return None
    return spelled.rel


class _Spelled(NamedTuple):
    """A path as its text says, from the top of the worktree. `rel`: where it leads (None:
    elsewhere, or the top itself). `left`: the folders of the worktree a `..` steps out of, in
    order: the text is where the kernel goes only if each is a folder reached through no link
    (the kernel follows a link, and takes `..` from where it leads: `conf/../x`, `conf` a link
    to a folder outside, is a file outside, never the worktree's `x`)."""

    rel: bytes | None
    left: tuple[bytes, ...]


def _named(repo: RepoConfig, key: str) -> bytes:
    """The path git reads for `key`, as written: the setting (`~` expanded), or where it is not
    set the file of your XDG config folder (`~/.config/git/ignore`), which is a file of the
    worktree where the worktree is your home folder (a repository of your dot files)."""
    configured = repo.config(key)
    if configured:
        return os.fsencode(os.path.expanduser(configured))
    return os.fsencode(configured_file(repo, key, dict(CONFIGURED)[key]))


def _spelled(root: bytes, named: bytes) -> _Spelled:
    top = [part for part in os.path.abspath(root).split(b"/") if part]
    at: list[bytes] = []  # from `/`: the folders above the top are yours, taken as the text
    left: list[bytes] = []
    for part in os.path.join(root, named).split(b"/"):
        if part in (b"", b"."):
            continue
        if part != b"..":
            at.append(part)
            continue
        if len(at) > len(top) and at[: len(top)] == top:
            left.append(b"/".join(at[len(top) :]))
        if at:
            at.pop()
    inside = len(at) > len(top) and at[: len(top)] == top
    return _Spelled(b"/".join(at[len(top) :]) if inside else None, tuple(left))


def _stepped_out(root: bytes, folders: Iterable[bytes]) -> bool | None:
    """None when each of `folders` is a folder reached from the top through no link: `..`
    steps out of it where its text says. True when one, or a folder on its way, is a link (the
    path goes where the link leads), False when one is missing or no folder (git opens
    nothing there)."""
    from git_atomic.engine import safefs  # (a path with `..` alone: not on a hook's way)

    try:
        with safefs.Tree(root) as tree:
            for folder in folders:
                found = _walk(tree, folder)
                if not isinstance(found, os.stat_result):
                    return found
                if not stat.S_ISDIR(found.st_mode):
                    return False
    except (OSError, ValueError):  # not ours to search (git cannot), or a NUL in a name
        return False
    return None


def _walk(tree: safefs.Tree, rel: bytes) -> os.stat_result | bool:
    """What is at `rel` itself, each folder on its way looked at, none followed: True where it
    or a folder on the way is a link, False where nothing is there (or no folder on the
    way)."""
    parts = rel.split(b"/")
    found: os.stat_result | None = None
    for i in range(1, len(parts) + 1):
        found = tree.lstat(b"/".join(parts[:i]))
        if found is not None and stat.S_ISLNK(found.st_mode):
            return True
        if found is None or (i < len(parts) and not stat.S_ISDIR(found.st_mode)):
            return False
    assert found is not None
    return found


def configured_file(repo: RepoConfig, key: str, default: str) -> str:
    """The file `key` names, as git reads it: `~` expanded, a relative path from the top of
    the worktree wherever the command runs (a capture run in `sub/` reads the top's `.myattrs`,
    not `sub/.myattrs`); unset, `default` in your XDG config folder (`git/attributes`)."""
    configured = repo.config(key)
    if configured:
        return os.path.join(repo.root, os.path.expanduser(configured))
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return os.path.join(xdg, "git", default)


class Configured(NamedTuple):
    """The file a key names, as `configured_file` says, and what stands there. `in_tree`: where
    in the worktree it is (None: elsewhere, your configuration). `st`: one in the worktree looked
    at itself, reached folder by folder with no link followed (safefs.py), as the worktree's
    other files are; one elsewhere with `stat`, as git opens it. None: nothing there (or, in the
    worktree, something that is no folder on the way). `linked`: its path goes through a
    symbolic link of the worktree (it, a folder on its way, or one its `..` steps out of): git
    reads what the link leads to (outside the worktree, maybe), which is never read or trusted
    here (the exact way then; stalls.py alone asks `stat` of it, which reads no byte, as git
    would wait on a FIFO there). `in_tree` is then None where a `..` made the text elsewhere."""

    path: str
    in_tree: bytes | None
    st: os.stat_result | None
    linked: bool


def configured(repo: RepoConfig, key: str, default: str) -> Configured:
    """The file `key` names and what is there (`Configured`). Never through a link of the
    worktree: its path is worked out as the kernel does, folder by folder."""
    path = configured_file(repo, key, default)
    root = os.fsencode(repo.root)
    spelled = _spelled(root, _named(repo, key))
    if spelled.left:
        past = _stepped_out(root, spelled.left)
        if past is not None:
            return Configured(path, None, None, past)
    if spelled.rel is None:
        try:
            return Configured(path, None, os.stat(path), False)
        except (OSError, ValueError):  # (a NUL in the name: no file git opens either)
            return Configured(path, None, None, False)
    from git_atomic.engine import safefs  # (the worktree's one alone: not on a hook's way)

    rel = spelled.rel
    try:
        with safefs.Tree(root) as tree:
            found = _walk(tree, rel)
    except (OSError, ValueError):  # a folder on the way not ours to search: git cannot either
        return Configured(path, rel, None, False)
    if isinstance(found, bool):
        return Configured(path, rel, None, found)
    return Configured(path, rel, found, False)


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
