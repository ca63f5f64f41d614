"""Files git opens to read its rules where a FIFO (or a socket or a device) would keep it
waiting for ever.

git reads every `.gitignore` and `.gitattributes` of the tree it looks into, the git dir's
`info/exclude`, `info/attributes` and `info/sparse-checkout`, and the files `core.excludesFile`
and `core.attributesFile` name, with a plain `open()`: a FIFO
there has it wait for a writer that never comes (`git status` itself hangs), and a device git
reaches through a link (`/dev/zero`) never ends. An operation that leaves one (`mkfifo
.gitignore`, a tool's named pipe under that name) would hang every capture, and with it the
rollback, `abort` and `recover`, with nothing said. So a capture looks at these names before
git reads them, and refuses by name, exit 3, nothing changed; the git processes it had started
are stopped (the walk of the folders sees each rule file of the tree beside the scan, and
Watchman names the ones that changed).

git opens the tree's rule files without following a link (a link there is no rule file to it:
nothing is looked at through one), and the git dir's through one: those are looked at with
`stat`, which reads no byte of what the link leads to.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from typing import Final

from git_atomic.core.errors import RefusedError
from git_atomic.engine import rulefiles, safefs
from git_atomic.engine.git import Repo

RULE_FILES: Final = (b".gitignore", b".gitattributes")
# The git dir's own rule files: (of the common git dir, else the worktree's own, name).
_GIT_DIR_FILES: Final = (
    (True, "info/exclude"),
    (True, "info/attributes"),
    (False, "info/sparse-checkout"),
)


# Other files of the git dir git reads through a link: where a shallow clone's history is cut,
# and where more objects are.
_READ_THROUGH: Final = ((True, "shallow"), (True, "objects/info/alternates"))


class Stalled(RefusedError):
    """A file git would read its rules from, that would keep it waiting for ever."""


def stalls(mode: int) -> bool:
    """Whether git would wait for ever reading a file of this mode: anything but a regular
    file, a folder (git says it cannot read one) or a link (followed or refused)."""
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode))


def refusal(shown: str, mode: int) -> Stalled:
    kind = (
        "a FIFO (named pipe)"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
    )
    return Stalled(
        f"{shown} is {kind}: git reads its rules from there and would wait for ever, so no "
        "checkpoint can be made; git-atomic changed nothing",
        hint="remove it or make it a regular file, then run this again (`git atomic "
        "recover` where `git atomic status` shows an operation interrupted)",
    )


def unusable(shown: str) -> RefusedError:
    """An ignore file git cannot read at all: a folder at `info/exclude` or `core.excludesFile`
    (t0008) stops every git that looks at the tree ("cannot use ... as an exclude file"), where a
    folder at another rule file's name is only passed over."""
    return RefusedError(
        f"{shown} is a folder: git cannot read its ignore rules from it (every git status "
        "stops: 'cannot use it as an exclude file'), so no checkpoint can be made; "
        "git-atomic changed nothing",
        hint="remove the folder or make it a file of rules, then run this again (`git atomic "
        "recover` where `git atomic status` shows an operation interrupted)",
    )


def linked(shown: str) -> RefusedError:
    return RefusedError(
        f"{shown} is a symbolic link: git would read what it names (outside the repository, "
        "maybe) as its own, and nothing is ever read through a link, so no checkpoint can be "
        "made; git-atomic changed nothing",
        hint="make it a regular file or remove it, then run this again (`git atomic recover` "
        "where `git atomic status` shows an operation interrupted)",
    )


def check_git_dir(repo: Repo) -> None:
    """Refuse, first, a file of the git dir git reads that is a link (or is in a folder that
    is one), from its `lstat`: git reads through it, we never do (`info/exclude`,
    `info/attributes`, `info/sparse-checkout`, `shallow`, `objects/info/alternates`). Then a
    rule file of the git dir, or one the configuration names (`core.excludesFile`,
    `core.attributesFile`, or their defaults), that would stall git. The files the
    configuration names are yours, wherever they are: a link there is followed, as git
    follows it."""
    # Links first, from an `lstat`: what one names is never looked at, not even by `stat` (one
    # to a device is refused as a link: git would read it, we never do).
    for common, name in (*_GIT_DIR_FILES, *_READ_THROUGH):
        base = repo.common_dir if common else repo.git_dir
        with safefs.Tree(os.fsencode(base)) as tree:
            rel = os.fsencode(name)
            for part in (*_folders_of(rel), rel):
                # (`objects` itself, a link to a store elsewhere, is a layout of yours: git
                # reads its objects, not its rules, there.)
                if part != b"objects" and tree.kind(part) == stat.S_IFLNK:
                    raise linked(os.path.join(base, os.fsdecode(part)))
    # Then what stalls git, now that none of the git dir's is a link.
    places = [
        os.path.join(repo.common_dir if common else repo.git_dir, name)
        for common, name in _GIT_DIR_FILES
    ]
    # As git reads them: a relative path from the top of the worktree (rulefiles.py). One in
    # the worktree that is a link, or past one, is looked at with `stat` too (git opens what
    # it leads to): no byte of it is read.
    for key, default in rulefiles.CONFIGURED:
        places.append(rulefiles.configured_file(repo, key, default))
    excludes = (places[0], places[len(_GIT_DIR_FILES)])  # info/exclude, core.excludesFile
    for path in places:
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            continue
        if stalls(st.st_mode) and not _null_device(st):
            raise refusal(path, st.st_mode)
        if stat.S_ISDIR(st.st_mode) and path in excludes:
            raise unusable(path)


def _null_device(st: os.stat_result) -> bool:
    """Whether `st` is the null device (`core.excludesFile=/dev/null`, the usual way to turn
    your global rules off): git reads its end at once and never waits."""
    try:
        null = os.stat(os.devnull)
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == null.st_rdev


def _folders_of(rel: bytes) -> list[bytes]:
    parts = rel.split(b"/")[:-1]
    return [b"/".join(parts[: i + 1]) for i in range(len(parts))]


def check_tree(root: bytes, paths: Iterable[bytes]) -> None:
    """Refuse any of `paths` (of the tree, relative to `root`) that is a rule file that would
    stall git; each reached folder by folder, no link followed."""
    rules = [p for p in paths if p.rpartition(b"/")[2] in RULE_FILES]
    if not rules:
        return
    try:
        with safefs.Tree(root) as tree:
            found = tree.lstat_many(sorted(rules))
    except OSError:  # a folder on the way not ours to search: git cannot read there either
        return
    for path, st in zip(sorted(rules), found, strict=True):
        if st is not None and stalls(st.st_mode):
            raise refusal(path.decode("utf-8", "backslashreplace"), st.st_mode)
