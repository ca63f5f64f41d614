"""The submodules checked out when an operation begins, noted for its rollback
(submodulesback.py puts back the ones it de-initialised): by path, each one's name and the text
of its `.git` file; one whose `.git` is a folder of its own is noted with the `.git` file git
writes when it absorbs that folder into `modules/<name>`. Read with git at `begin` (`note`), or
from the files alone at an agent turn's first call (`note_on_disk`). Split from
submodulesback.py.
"""

from __future__ import annotations

import os
import stat
from typing import Final

from git_atomic.engine import configtext, safefs
from git_atomic.engine.git import Repo

KEY: Final = "submodules"  # op detail: {path: [name, its `.git` file's text]} at PRE-OP
SINCE: Final = "submodules_since"  # op detail: when they were noted (a ctime to compare)
_MOST: Final = 4096


def note(repo: Repo) -> dict[str, list[str]]:
    """The submodules checked out now, by path: their name and their `.git` file's text."""
    listed = repo.run(
        "config",
        "-z",
        "--blob",
        ":.gitmodules",
        "--get-regexp",
        r"^submodule\..*\.path$",
        check=False,
    )
    if listed.returncode != 0:
        return {}
    found: dict[str, list[str]] = {}
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for item in listed.stdout.split(b"\0"):
            key, _, path = item.partition(b"\n")
            if not path or not key.endswith(b".path"):
                continue
            name = key[len(b"submodule.") : -len(b".path")]
            dotgit = path + b"/.git"
            kind = tree.kind(dotgit)
            if kind == stat.S_IFDIR:  # its git dir inside it: noted as git would absorb it
                own = tree.kind(dotgit + b"/HEAD") == stat.S_IFREG
                data = _absorbed(repo, path, name) if own else None
            else:
                data = tree.read(dotgit) if kind == stat.S_IFREG else None
            if data is None or len(data) > _MOST or not data.startswith(b"gitdir: "):
                continue
            try:
                found[path.decode("utf-8")] = [name.decode("utf-8"), data.decode("utf-8")]
            except UnicodeDecodeError:
                continue
    return found


def _absorbed(repo: Repo, path: bytes, name: bytes) -> bytes:
    """The `.git` file git writes into a submodule whose git dir was a folder inside it once
    it moves that folder to `modules/<name>` (`git submodule absorbgitdirs`, and `git
    submodule deinit`, which absorbs it first): what a rollback writes back where the
    operation emptied its folder."""
    root = os.fsencode(repo.root)
    modules = os.path.join(os.fsencode(repo.common_dir), b"modules", name)
    return b"gitdir: " + os.path.relpath(modules, os.path.join(root, path)) + b"\n"


def clock() -> float:
    """Now, as a ctime to compare with: the kernel stamps files from a clock that may lag by a
    tick (at most 10 ms). A change made within that margin before the operation began may be
    named too; on a file system that keeps whole seconds, one made in the operation's first
    second may not be."""
    import time

    return time.time() - 0.01


def note_on_disk(repo: Repo) -> dict[str, list[str]]:
    """As `note`, read from the files alone, no git process (an agent turn's first call: its
    hooks run on every tool call): each submodule's git dir under the common git dir's
    `modules/` whose config's `core.worktree` names a folder of this worktree that holds a
    `.git` file (read as git reads it: configtext.py). One whose config has an include is not
    noted: its rollback then leaves it as it is, as one not checked out. One whose `.git` is
    a folder of its own is found from `.gitmodules` (its `path` lines)."""
    modules = repo.common_dir / "modules"
    top = os.path.normpath(repo.root)
    found: dict[str, list[str]] = {}
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        found.update(_own_git_dirs_on_disk(repo, tree))
        if not os.path.isdir(modules) or os.path.islink(modules):
            return found
        for folder, subfolders, files in os.walk(modules):  # (links are not followed)
            if "HEAD" not in files or "config" not in files:
                continue
            subfolders[:] = []  # a git dir: its own submodules are its business
            worktree = _core_worktree(os.path.join(folder, "config"))
            if worktree is None:
                continue
            where = os.path.normpath(os.path.join(folder, worktree))
            if not where.startswith(top + os.sep):
                continue
            path = os.path.relpath(where, top)
            dotgit = os.fsencode(path) + b"/.git"
            data = tree.read(dotgit) if tree.kind(dotgit) == stat.S_IFREG else None
            if data is None or len(data) > _MOST or not data.startswith(b"gitdir: "):
                continue
            try:
                found[path] = [os.path.relpath(folder, modules), data.decode("utf-8")]
            except UnicodeDecodeError:
                continue
    return found


def _own_git_dirs_on_disk(repo: Repo, tree: safefs.Tree) -> dict[str, list[str]]:
    """As `note` notes the submodules whose `.git` is a folder of their own, from the
    `.gitmodules` file alone (no git process): each `path` of a `[submodule "name"]` section,
    read as git reads it (configtext.py: one git wrote quoted or escaped as well), whose
    folder holds a `.git` folder with a `HEAD`."""
    text = tree.read(b".gitmodules")
    if text is None or len(text) > _MOST * 256:
        return {}
    found: dict[str, list[str]] = {}
    for name, path in configtext.submodule_paths(text):
        path = path.rstrip(b"/")
        if not path or path.startswith(b"/") or b".." in path.split(b"/"):
            continue
        if b".." in name.split(b"/"):  # git refuses such a name
            continue
        dotgit = path + b"/.git"
        if tree.kind(dotgit) != stat.S_IFDIR or tree.kind(dotgit + b"/HEAD") != stat.S_IFREG:
            continue
        try:
            found[path.decode("utf-8")] = [
                name.decode("utf-8"),
                _absorbed(repo, path, name).decode("utf-8"),
            ]
        except UnicodeDecodeError:
            continue
    return found


def _core_worktree(config: str) -> str | None:
    """`core.worktree` of a git config file (its last value, read as git reads it:
    configtext.py), where the file holds no include (whose settings would be git's too);
    None otherwise."""
    try:
        fd = os.open(config, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)  # never through a link
        with open(fd, "rb") as fh:
            data = fh.read(_MOST * 16)
    except OSError:
        return None
    listed = configtext.entries(data) or []
    if any(k.startswith(b"include") and k.endswith(b".path") for k, _ in listed):
        return None
    said = [v for k, v in listed if k == b"core.worktree"]
    if not said or not said[-1]:
        return None
    try:
        return said[-1].decode("utf-8")
    except UnicodeDecodeError:
        return None
