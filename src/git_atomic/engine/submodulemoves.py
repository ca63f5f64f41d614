"""A submodule a restore finds moved (`git mv sub sub2`), moved back to where the state it
restores has it; and a repository of its own (a clone, no submodule) a restore finds moved
(`mv lib lib2`), known by its HEAD's commit, which the checkpoint holds as a gitlink.

`git mv` of a checked-out submodule renames its folder, rewrites its `.git` file and the
`core.worktree` of its git dir (`.git/modules/<name>`), and its path in `.gitmodules`. A
restore of the state before puts the gitlink and `.gitmodules` back, but a submodule's
contents are never captured: it found the folder `sub2` a repository the state lacks (left,
with its files) and `sub` gone (made again, empty), the git dir still naming `sub2` as its
worktree. `git submodule update --init -- sub`, as the restore advised, then checked `sub`
out again and left `sub2` behind, a second folder on the same git dir.

Where a folder the restored state has no gitlink at holds a `.git` file naming a git dir
under the common git dir's `modules/` (no link on the way) whose `core.worktree` is that
folder, and the restored `.gitmodules` puts that submodule at a path where the state has a
gitlink and nothing is on disk, the folder is renamed there (its files untouched, none
captured), its `.git` file and the git dir's `core.worktree` written as git writes them, and
the restore says so. The same holds the other way for an `undo` of such a rollback.

A clone is not in `.gitmodules`: a folder holding a `.git` folder whose HEAD names the commit
of the restored state's gitlink at a path where nothing is on disk, the only such folder for
that path, is renamed there, its `.git` with it. Before, a rollback of `mv lib lib2` left the
clone at the new name and an empty folder at the old one."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from git_atomic.engine import safefs
from git_atomic.engine.git import RawChange, Repo

_MOST: Final = 4096
CLONE: Final = "clone"  # the git dir of a repository of its own found moved: its `.git` in it


def moved(
    repo: Repo,
    tree: safefs.Tree,
    staying: Sequence[bytes],
    targets: Sequence[bytes],
    changes: Sequence[RawChange],
) -> list[tuple[bytes, bytes, str]]:
    """(folder now, path the restored state has, its git dir) of each submodule found moved:
    `staying` are the repositories the restored state lacks that stay, `targets` its
    gitlinks, `changes` the restore's (its `.gitmodules`: before the restore writes it, for
    a dry run, or after)."""
    absent = [t for t in targets if tree.kind(t) is None]
    if not staying or not absent:
        return []
    paths = _module_paths(repo, tree, changes)
    modules = os.path.join(os.path.normpath(repo.common_dir), "modules")
    found: list[tuple[bytes, bytes, str]] = []
    before: dict[bytes, bytes] | None = None  # the `.gitmodules` the restore replaces
    clones: list[tuple[bytes, bytes]] = []  # (folder, path the state has): known by HEAD
    for root in staying:
        if tree.kind(root + b"/.git") == stat.S_IFDIR:
            # Its git dir a folder inside it (a repository there before `git submodule add`,
            # one an older git cloned): `git mv` (2.39) renames the folder, its `.git` in it,
            # and its path in `.gitmodules`; the submodule is known by its name there.
            if tree.kind(root + b"/.git/HEAD") != stat.S_IFREG:
                continue
            if before is None:
                before = _module_paths_before(repo, changes)
            name = next((n for n, p in before.items() if p == root), None)
            to = paths.get(name) if name is not None else None
            if to is not None and to in absent and all(to != t for _, t, _ in found):
                found.append((root, to, ""))
            elif name is None:
                clones += [(root, t) for t in _same_head(tree, root, absent, changes)]
            continue
        data = tree.read(root + b"/.git")
        if data is None or len(data) > _MOST or not data.startswith(b"gitdir: "):
            continue
        where = os.path.normpath(os.path.join(os.fsencode(repo.root), root, data[8:].rstrip(b"\n")))
        git_dir = os.fsdecode(where)
        if not git_dir.startswith(modules + os.sep) or os.path.realpath(git_dir) != git_dir:
            continue
        if not _is_folder(git_dir) or _worktree(repo, git_dir) != repo.root / os.fsdecode(root):
            continue
        to = paths.get(os.path.relpath(git_dir, modules).encode())
        if to is not None and to in absent and all(to != t for _, t, _ in found):
            found.append((root, to, git_dir))
    # A clone goes back only where it alone fits that path and that path alone fits it: two
    # clones at one commit are told apart by nothing the checkpoint holds.
    for root, to in clones:
        alone = sum(t == to for _, t in clones) == 1 == sum(r == root for r, _ in clones)
        if alone and all(to != t for _, t, _ in found):
            found.append((root, to, CLONE))
    return found


def _same_head(
    tree: safefs.Tree, root: bytes, absent: Sequence[bytes], changes: Sequence[RawChange]
) -> list[bytes]:
    """The paths of `absent` whose gitlink in the restored state names the commit the
    repository at `root` has checked out (its `.git/HEAD`, read without following a link)."""
    head = _head(tree, root + b"/.git/")
    if head is None:
        return []
    links = {c.path: c.new_oid for c in changes if c.new_mode == "160000"}
    return [to for to in absent if links.get(to) == head]


def _head(tree: safefs.Tree, git_dir: bytes) -> str | None:
    """The commit HEAD names in the git dir `git_dir` (a loose or packed branch, or
    detached); None where it names none (an unborn branch) or is not plain."""
    data = tree.read(git_dir + b"HEAD")
    if data is None or len(data) > _MOST:
        return None
    data = data.strip()
    if data.startswith(b"ref: "):
        ref = data[5:]
        if not ref.startswith(b"refs/") or b".." in ref.split(b"/"):
            return None
        loose = tree.read(git_dir + ref)
        if loose is not None:
            data = loose.strip()
        else:
            packed = tree.read(git_dir + b"packed-refs") or b""
            line = next((x for x in packed.splitlines() if x.endswith(b" " + ref)), b"")
            data = line.partition(b" ")[0]
    text = data.decode("ascii", "replace")
    return text if len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text) else None


def move_back(
    repo: Repo, tree: safefs.Tree, found: Sequence[tuple[bytes, bytes, str]]
) -> list[str]:
    """Rename each folder found to its path, write its `.git` file and its git dir's
    `core.worktree` as `git mv` does (none where its git dir is in it: `git_dir` ""); one
    line each."""
    lines = []
    for root, to, git_dir in found:
        try:
            tree.make_folders(os.path.dirname(to))
            if not tree.rename(root, to):
                continue
        except (OSError, safefs.Blocked):
            continue
        if not git_dir or git_dir == CLONE:  # its `.git` a folder: moved with it
            lines.append(said(root, to, git_dir))
            continue
        here = os.path.join(repo.root, os.fsdecode(to))
        dotgit = ("gitdir: " + os.path.relpath(git_dir, here) + "\n").encode()
        if tree.read(to + b"/.git") != dotgit:  # deeper or shallower: another way up
            with contextlib.suppress(OSError, safefs.Blocked):
                tree.unlink(to + b"/.git")
                tree.write(to + b"/.git", dotgit, 0o644)
        repo.run(
            "config",
            "--file",
            os.path.join(git_dir, "config"),
            "core.worktree",
            os.path.relpath(here, git_dir),
            check=False,
        )
        lines.append(said(root, to, git_dir))
    return lines


def said(root: bytes, to: bytes, git_dir: str) -> str:
    """The line a move back says; `git_dir` as `moved` found it ("" or CLONE: in it)."""
    if git_dir == CLONE:
        return (
            f"{_show(to)}: the repository of its own there is at {_show(root)} now (moved), at "
            f"the commit the state restored has; it is moved back to {_show(to)}, with its "
            "files and its .git folder (its contents are not captured, so nothing in it changes)"
        )
    how = (
        "its .git folder in it"
        if not git_dir
        else "its .git file and its git dir's core.worktree as git writes them"
    )
    return (
        f"{_show(to)}: the submodule is at {_show(root)} (moved by `git mv`); it is moved "
        f"back to {_show(to)}, where the state restored has it, with its files ({how})"
    )


def _module_paths(
    repo: Repo, tree: safefs.Tree, changes: Sequence[RawChange]
) -> dict[bytes, bytes]:
    """The restored `.gitmodules`: submodule name -> path. Its blob where the restore
    changes it, else the file (read without following a link)."""
    change = next((c for c in changes if c.path == b".gitmodules"), None)
    where: tuple[str, ...]
    data = None
    if change is not None:
        if change.status == "D" or change.new_mode not in ("100644", "100755"):
            return {}
        where = ("--blob", change.new_oid)
    else:
        data = tree.read(b".gitmodules")
        if data is None or tree.kind(b".gitmodules") != stat.S_IFREG:
            return {}
        where = ("--file", "-")  # from stdin: a dry run writes no object
    return _paths_in(repo, where, data)


def _module_paths_before(repo: Repo, changes: Sequence[RawChange]) -> dict[bytes, bytes]:
    """The `.gitmodules` the restore replaces (its blob before): name -> path; none where
    the restore does not change it or there was none."""
    change = next((c for c in changes if c.path == b".gitmodules"), None)
    if change is None or change.status == "A" or change.old_mode not in ("100644", "100755"):
        return {}
    return _paths_in(repo, ("--blob", change.old_oid))


def _paths_in(repo: Repo, where: tuple[str, ...], data: bytes | None = None) -> dict[bytes, bytes]:
    """A `.gitmodules` (`--blob <oid>`, or `--file -` with `data`): name -> path."""
    pattern = r"^submodule\..*\.path$"
    listed = repo.run("config", "-z", *where, "--get-regexp", pattern, input=data, check=False)
    out: dict[bytes, bytes] = {}
    for item in listed.stdout.split(b"\0") if listed.returncode == 0 else ():
        key, _, path = item.partition(b"\n")
        if path and key.endswith(b".path"):
            out[key[len(b"submodule.") : -len(b".path")]] = path.rstrip(b"/")
    return out


def _worktree(repo: Repo, git_dir: str) -> Path | None:
    """The folder a submodule's git dir names as its worktree (`core.worktree`), or None."""
    said = repo.run(
        "config", "--file", os.path.join(git_dir, "config"), "core.worktree", check=False
    )
    if said.returncode != 0:
        return None
    return Path(os.path.normpath(os.path.join(git_dir, os.fsdecode(said.stdout.strip()))))


def _is_folder(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode) and os.path.isfile(os.path.join(path, "HEAD"))
    except OSError:
        return False


def _show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")
