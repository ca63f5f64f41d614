"""A restore's folders: those on the way to a file it writes made (never through a file or a
link in the way), those its removals left empty removed, but never the folder this command
runs in, and the folder of a nested repository of the target's made again, empty, and named.
Reached as every path of a restore is (safefs.py)."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from git_atomic.engine import nestedrepos, safefs
from git_atomic.engine.git import RawChange
from git_atomic.engine.restoreplan import Outcome


def make_parents(tree: safefs.Tree, path: bytes, outcome: Outcome) -> bool:
    parent = os.path.dirname(path)
    try:
        tree.make_folders(parent)
    except safefs.Blocked as exc:
        # An ignored file or a link stands where a folder must be; the snapshot says the
        # folder is ours, the ignored file is not captured: move nothing, report it.
        outcome.cannot(path, f"{_show(exc.path)} is in the way")
        return False
    return True


def prune_empty_dirs(
    tree: safefs.Tree, dirs: set[bytes], *, keep: set[bytes], outcome: Outcome
) -> None:
    """Remove the folders `dirs` that are empty, and those they leave empty, but those in
    `keep`. One the system refuses to remove (an immutable or read-only folder above it) is
    reported: the target does not have it."""
    refused: list[tuple[bytes, OSError]] = []
    here = _where_you_are(tree.root)
    for d in sorted(dirs, key=len, reverse=True):
        while d and d not in keep:
            if here is not None and (d == here or here.startswith(d + b"/")):
                # The folder this command runs in (your shell's, or a tool's): left, empty,
                # as git leaves its own (t2501); removed, every later command from it fails.
                # Named only where it is left for that alone: one that holds a file (yours,
                # the run started in `src/`) was never to go (t2300).
                if here not in outcome.kept_here and tree.empty_folders(d) is not None:
                    outcome.kept_here.append(here)
                    shown = here.decode("utf-8", "backslashreplace")
                    outcome.problems.append(_kept_words(shown))
                break
            if not tree.rmdir(d, refused=refused):
                break
            d = os.path.dirname(d)
    for folder, exc in dict(refused).items():
        outcome.cannot(folder + b"/", _why(exc))


def _kept_words(shown: str) -> str:
    return f"kept {shown}/, empty: this command runs in it (remove it once you have left it)"


def gone_here(tree: safefs.Tree, outcome: Outcome) -> None:
    """The folder this command runs in, kept above, that a file or link of the target took
    the place of (a file the operation made a folder, the command started in it, t2501): it is
    gone, and the state is the target's. Said so, as a note, never "kept, empty"."""
    for here in list(outcome.kept_here):
        if tree.kind(here) == stat.S_IFDIR:
            continue
        shown = here.decode("utf-8", "backslashreplace")
        outcome.kept_here.remove(here)
        outcome.problems.remove(_kept_words(shown))
        outcome.notes.append(
            f"{shown}/, the folder this command runs in, is gone: the state put back has a file "
            "there (`cd` out of it: your shell is in a folder that is no more)"
        )


def _where_you_are(root: bytes) -> bytes | None:
    """The folder this process runs in, as a path in the worktree at `root` (None: the
    worktree itself, a folder outside it, or one that cannot be told)."""
    try:
        here = os.fsencode(os.getcwd())
        top = os.fsencode(os.path.realpath(root))
    except OSError:
        return None
    if not here.startswith(top.rstrip(b"/") + b"/"):
        return None
    return here[len(top.rstrip(b"/")) + 1 :] or None


def nested_repositories(
    tree: safefs.Tree, nested: Sequence[bytes], changes: Sequence[RawChange], outcome: Outcome
) -> None:
    """Say what a restore cannot do where the target has a nested repository: make its
    contents again (its folder is made, for `git submodule update`), or its `.git`."""
    for root in nested:
        if tree.kind(root) is None:
            try:
                tree.make_folders(root)
            except safefs.Blocked as exc:
                outcome.cannot(root + b"/", f"{_show(exc.path)} is in the way")
                continue
            except OSError as exc:
                outcome.cannot(root + b"/", _why(exc))
                continue
            outcome.problems.append(nestedrepos.folder_made(root))
        elif nestedrepos.git_gone(root, changes):
            outcome.problems.append(nestedrepos.files_left(root))


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")
