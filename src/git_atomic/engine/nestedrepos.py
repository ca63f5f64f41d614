"""Repositories of their own inside the worktree, as a restore meets them: their contents are
never captured, so a restore removes nothing from them and writes nothing into them
(restorefiles.py), and what it leaves there is no change it makes. Worked out from the disk
both by the plan (restoreplan.py: what a dry run lists and warns) and by the restore itself
when it runs, so the two say the same."""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Iterable, Sequence

from git_atomic.core.records import dataclass
from git_atomic.engine import safefs
from git_atomic.engine.git import RawChange, Repo

GITLINK = "160000"


@dataclass(frozen=True)
class Found:
    """`now`: folders above the changed paths that hold a `.git` now, not as the target has
    them (`git init sub`, a clone, where a folder of files was), outermost first; `targets`:
    the target's nested repositories (a submodule, a repository, a linked worktree kept
    inside): one whose `.git` the operation removed shows its files as the operation's."""

    now: tuple[bytes, ...]
    targets: tuple[bytes, ...]
    # Folders the target records as repositories of their own git read as folders (their files
    # captured: `repositories`, snapshot.py) that are still folders, without a `.git` now (the
    # operation renamed it aside, `.git_disabled`, or removed it): the restore writes the
    # files the target holds there, and removes none (the renamed git folder's are no file of
    # the operation's).
    aside: tuple[bytes, ...] = ()

    def holds(self, path: bytes) -> bool:
        """Whether a restore leaves `path` as it is (a repository's own file)."""
        return inside(path, self.now) or inside(path, self.targets)

    def keeps(self, path: bytes) -> bool:
        """Whether a restore leaves `path` there (it removes nothing from such a folder)."""
        return self.holds(path) or inside(path, self.aside)


def find(
    tree: safefs.Tree, changes: Sequence[RawChange], repositories: Iterable[bytes] = ()
) -> Found:
    """`repositories`: the folders the target records as repositories git read as folders
    (`Found.aside`)."""
    targets = tuple(c.path for c in changes if c.new_mode == GITLINK and c.status in ("A", "T"))
    folders = sorted(folders_above(c.path for c in changes).difference(targets))
    now: list[bytes] = []
    looks = tree.lstat_many([f + b"/.git" for f in folders])
    for folder, st in zip(folders, looks, strict=True):
        if st is None or inside(folder, now) or nothing_to_git(tree, folder):
            continue
        if _a_repository(tree, folder):
            now.append(folder)
    return Found(tuple(now), targets, _aside(tree, changes, repositories, now, targets))


def _aside(
    tree: safefs.Tree,
    changes: Sequence[RawChange],
    repositories: Iterable[bytes],
    now: Sequence[bytes],
    targets: Sequence[bytes],
) -> tuple[bytes, ...]:
    """Those of `repositories` that are folders without a `.git` now and that the restore would
    remove a file from."""
    roots = sorted(set(repositories).difference(now, targets))
    if not roots:
        return ()
    removed = [c.path for c in changes if c.status == "D"]
    return tuple(
        root
        for root in roots
        if not inside(root, now)
        and any(path.startswith(root + b"/") for path in removed)
        and tree.kind(root) == stat.S_IFDIR
        and tree.lstat(root + b"/.git") is None
    )


def _a_repository(tree: safefs.Tree, folder: bytes) -> bool:
    """Whether `folder/.git` is one git takes for a repository: notes kept in a `.git` folder,
    a `.git` file with no `gitdir:` line or a link to nothing are not (git lists the folder's
    files as any folder's, and a capture held them): the restore takes the operation's files
    there back as any, and leaves the `.git` alone, named (statuslist.left_line)."""
    from git_atomic.engine import straydotgit

    return straydotgit.is_repository(tree, tree.root, folder)


def nothing_to_git(tree: safefs.Tree, folder: bytes) -> bool:
    """straydotgit.nothing_to_git, imported only where a `.git` is met (a restore's usual way
    meets none)."""
    from git_atomic.engine import straydotgit

    return straydotgit.nothing_to_git(tree, folder)


def staying(
    repo: Repo, tree: safefs.Tree, changes: Sequence[RawChange], found: Found
) -> list[bytes]:
    """The repositories of their own the target lacks that stay (a submodule or a clone the
    operation made): a folder that holds more than nothing. A linked worktree of this
    repository is said where the worktrees are (worktreesgone.py)."""
    ours = os.fsencode(str(repo.common_dir / "worktrees")) + b"/"
    roots = sorted(
        c.path
        for c in changes
        if c.status == "D" and c.old_mode == GITLINK and c.path not in found.now
    )
    out: list[bytes] = []
    for root in roots:
        fd = tree.folder(root)
        if fd is None or not any(True for _ in os.scandir(fd)):
            continue  # gone, or empty: the restore removes an empty one
        if ours in (tree.read(root + b"/.git") or b""):
            continue
        out.append(root)
    return out


def foreseen(
    repo: Repo, tree: safefs.Tree, changes: Sequence[RawChange], found: Found
) -> list[str]:
    """What a restore of `changes` would say of the repositories it meets, in its order."""
    said = [there_now(root) for root in found.now] + [files_left(root) for root in found.aside]
    stay = staying(repo, tree, changes, found)
    back: dict[bytes, str] = {}  # a submodule `git mv` moved: moved back (submodulemoves.py)
    if stay and found.targets:
        from git_atomic.engine import submodulemoves

        moves = submodulemoves.moved(repo, tree, stay, found.targets, changes)
        back = {to: submodulemoves.said(root, to, gd) for root, to, gd in moves}
        stay = [root for root in stay if root not in {root for root, _, _ in moves}]
    said += [stays(tree, root) for root in stay] + list(back.values())
    for root in found.targets:
        if root in back:
            continue
        if tree.kind(root) is None:
            said.append(folder_made(root))
        elif git_gone(root, changes):
            said.append(files_left(root))
    said += [checkout_moved(c) for c in moved(changes)]
    return said


def moved(changes: Sequence[RawChange]) -> list[RawChange]:
    """The submodules checked out at another commit now than in the target (`old`: now):
    the restore never moves one (its contents are not captured), so it says so."""
    return [
        c
        for c in changes
        if c.status == "M" and c.old_mode == GITLINK == c.new_mode and c.old_oid != c.new_oid
    ]


def checkout_moved(c: RawChange) -> str:
    root = _show(c.path)
    return (
        f"{root}: a submodule checked out at {c.old_oid[:12]}, where the state restored has "
        f"{c.new_oid[:12]}; its checkout is left as it is (a nested repository's contents are "
        f"not captured): `git -C {shlex.quote(root)} checkout {c.new_oid[:12]}` puts it back"
    )


def git_gone(root: bytes, changes: Sequence[RawChange]) -> bool:
    """Whether the target's nested repository at `root` shows files of its own as changes."""
    return any(inside(c.path, [root]) for c in changes if c.status in ("D", "T"))


def there_now(root: bytes) -> str:
    return (
        f"{_show(root)}: a repository of its own is there now (it has a .git); its files are "
        "left as they are and nothing is written into it (what the folder held before stays "
        "in the checkpoint)"
    )


def stays(tree: safefs.Tree, root: bytes) -> str:
    if tree.kind(root + b"/.git") is None or nothing_to_git(tree, root):
        # A gitlink with no repository in its folder (`git update-index --cacheinfo 160000,...`
        # then files written there): git lists none of its files, so no capture holds them.
        return (
            f"{_show(root)}: a folder the index held as a submodule (a gitlink), with no "
            "repository in it, which the state restored lacks; git lists none of its files, so "
            "no checkpoint holds them and they stay as they are (untracked now)"
        )
    return (
        f"{_show(root)}: a repository of its own is there (a submodule, a clone), which the "
        "state restored lacks; it stays, with its files (a nested repository's contents are "
        "not captured)"
    )


def folder_made(root: bytes) -> str:
    return (
        f"{_show(root)}: a nested repository (a submodule?) was here; its contents are not "
        "captured, so only its folder is made again (`git submodule update --init -- "
        f"{shlex.quote(_show(root))}` for a submodule)"
    )


def files_left(root: bytes) -> str:
    return (
        f"{_show(root)}: a nested repository was here and its .git is gone; its files are left "
        "as they are (a nested repository's contents are not captured)"
    )


def inside(path: bytes, roots: Sequence[bytes]) -> bool:
    return any(path.startswith(root + b"/") for root in roots)


def folders_above(paths: Iterable[bytes]) -> set[bytes]:
    """Every folder above any of `paths` (not the top): each path's way up is followed only to
    the first folder already found, whose own way up is in already (a restore's 1,700 paths
    share most of theirs)."""
    found: set[bytes] = set()
    for path in paths:
        folder = path.rpartition(b"/")[0]
        while folder and folder not in found:
            found.add(folder)
            folder = folder.rpartition(b"/")[0]
    return found


def _show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")
