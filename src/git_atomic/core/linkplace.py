"""Where a path someone named really is in the worktree, found without touching anything outside
it: what `os.path.realpath` answers for a path that stays inside, but where realpath would go on
through a link out of the worktree (an `lstat` of each folder of the link's target, of a file
of another project), this stops at the link and says "outside".

An agent's file tool, or a path given on the command line, may name a file through a link: the
file it reaches is the one that changes. Each name inside the worktree is `lstat`-ed, a link's
text read (`readlink`, of the link itself) and followed as text; a step that leaves the
worktree ends the walk, and nothing past it is asked."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from typing import Final

_HOPS: Final = 40  # links followed at most (the kernel's own limit): past it, a loop


def within(root: str, path: str, *, spellings: Iterable[str] = ()) -> str | None:
    """`path` (absolute) as a path from the top of the worktree `root` (its real path; "." for
    the top itself), links inside followed as the kernel would; None where it leads out of the
    worktree (by its name, a `..` above the top, or a link), or loops. `spellings`: other paths
    of the top (through links on the way to it, as a caller spells it), taken as the top."""
    return placed(root, path, spellings=spellings)[0]


def placed(root: str, path: str, *, spellings: Iterable[str] = ()) -> tuple[str | None, str]:
    """`within`'s answer, and the path it reached as text: where one that leads out goes (the
    text of the last link, normalized, never looked at), to name it to a person."""
    tops = [root, *(os.path.normpath(s) for s in spellings)]
    hops = 0
    todo = _from_top(tops, path)
    if todo is None:
        return None, os.path.normpath(path)
    done: list[str] = []
    while todo:
        name = todo.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            if not done:
                return None, os.path.normpath(os.path.join(root, name, *todo))
            done.pop()
            continue
        here = os.path.join(root, *done, name)
        try:
            st = os.lstat(here)
        except OSError:
            st = None  # not there (yet): a name, taken as written
        if st is None or not stat.S_ISLNK(st.st_mode):
            done.append(name)
            continue
        hops += 1
        if hops > _HOPS:
            return None, here
        text = os.readlink(here)
        if os.path.isabs(text):
            restart = _from_top(tops, text)
            if restart is None:
                return None, os.path.normpath(os.path.join(text, *todo))
            done, todo = [], restart + todo
        else:
            todo = text.split(os.sep) + todo
    return (os.path.join(*done) if done else "."), os.path.join(root, *done)


def reached(root: str, path: str) -> tuple[bool, str | None]:
    """Whether `path` (absolute, spelled from anywhere) reaches into the worktree `root` (its
    real path), and `within`'s answer from there. Its part outside the worktree is resolved as
    the kernel would (your own links, on your way in: a home folder that is a link, macOS's
    /tmp); from the first name inside, it is placed as `within` places it, nothing looked at
    past a link out. (False, None) where it never enters, or loops."""
    parts = [p for p in path.split(os.sep) if p not in ("", ".")]
    here, hops = os.sep, 0
    while True:
        if here == root or here.startswith(root.rstrip(os.sep) + os.sep):
            return True, within(root, os.path.join(here, *parts))
        if not parts:
            return False, None
        name = parts.pop(0)
        if name == "..":
            here = os.path.dirname(here)
            continue
        step = os.path.join(here, name)
        try:
            st = os.lstat(step)
        except OSError:
            return False, None  # not there: nothing inside it is (an outside name)
        if not stat.S_ISLNK(st.st_mode):
            here = step
            continue
        hops += 1
        if hops > _HOPS:
            return False, None
        text = os.readlink(step)
        parts = [p for p in text.split(os.sep) if p not in ("", ".")] + parts
        if os.path.isabs(text):
            here = os.sep


def spelled_tops(given: str, real_root: str) -> tuple[str, ...]:
    """The top of the worktree as a caller spells it, through the links on the way to it (a
    home folder that is a link, `~/src -> /data/src`): the path git-atomic was given, the
    project folder an agent platform names (CLAUDE_PROJECT_DIR, GEMINI_PROJECT_DIR) and the
    shell's `PWD`, each one that is the worktree's top (`reached`: those links are the way to
    the worktree, not out of it; one that goes in through a link of the worktree and out again
    is not looked at past that link). A path spelled any other way is placed from its text."""
    tops = [os.path.normpath(given)]
    for key in ("CLAUDE_PROJECT_DIR", "GEMINI_PROJECT_DIR", "PWD"):
        named = os.environ.get(key, "")
        if os.path.isabs(named) and os.path.normpath(named) not in tops:
            try:
                if reached(real_root, named) == (True, "."):
                    tops.append(os.path.normpath(named))
            except (OSError, ValueError):
                continue
    return tuple(tops)


def _from_top(tops: list[str], path: str) -> list[str] | None:
    """`path`'s names after the top it starts with (as written: no `..` taken yet); None where
    it starts with none of them."""
    parts = [p for p in path.split(os.sep) if p not in ("", ".")]
    for top in tops:
        head = [p for p in top.split(os.sep) if p not in ("", ".")]
        if parts[: len(head)] == head:
            return parts[len(head) :]
    return None
