"""The files read by `git add -A` on a copy of your index, where a scan cannot say.

git refuses some worktrees whole where a checkpoint must still hold every file: a tracked path
that is now a FIFO, a socket or a device, an untracked repository without a commit, a name
that is `.git` in another letter case, a file its `working-tree-encoding` cannot convert. Each
is left out (or held as its bytes on disk) and `add -A` runs again (`finish`).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from git_atomic.core import process
from git_atomic.engine import conversion, heldanyway, safefs, scanindex, statuslist
from git_atomic.engine.git import Repo

# The copy of your index that `add -A` reads the files into is thrown away: written whole, never
# split by your `core.splitIndex` (a split one would leave a shared index of its own in your git
# dir, which no index uses, at each capture of a repository that has no index file yet).
UNSPLIT: Final = ("-c", "core.splitIndex=false")


def command(repo: Repo) -> tuple[str, ...]:
    """`add -A`'s arguments: `--sparse`: in a sparse checkout, new files outside its patterns
    are read too (the skip-worktree entries stay as they are)."""
    pointers = scanindex.lfs_pointers(repo)
    return (*conversion.AS_ON_DISK, *UNSPLIT, *pointers, "add", "-A", "--sparse", "--", ".")


def finish(
    repo: Repo, adding: process.Background, index: Path
) -> tuple[dict[bytes, int], frozenset[bytes]]:
    """`add -A` refuses, exit 1, when every path it matched is a skip-worktree entry (a sparse
    checkout, or a tree whose only files are marked so): it had nothing else to add, and those
    entries are captured from disk separately, so that refusal is a finished scan.

    It also refuses, adding nothing, when a tracked path is now a FIFO, a socket or a device:
    git can hold none of them. Such paths are taken out of the index copy (they are not files
    as far as a checkpoint can say, as for git an untracked FIFO is not there) and `add -A`
    runs again. Returns them (path -> st_mode).

    And it refuses, adding nothing, for an untracked repository inside the worktree that has no
    commit yet (`git init sub`): git can hold a nested repository only as the commit it has
    checked out. Nested repositories are not captured (a rollback leaves them alone): such
    folders are left out of the reading, and it runs again.

    And it dies at a name that is `.git` in another letter case (`sub/.GIT/config`), which git
    refuses to track whatever its settings (statuslist.dot_git_variant): such a folder or file
    is left out as a scan leaves it out, and returned with the special paths."""
    res = adding.wait(check=False)
    statuslist.refuse_unreadable(res.stderr, repo.root)
    if res.returncode == 0 or b"outside of your sparse-checkout definition" in res.stderr:
        return {}, frozenset()
    special = {}
    if b"can only add regular files" in res.stderr:
        special = heldanyway.special_entries(repo, index)
    unborn = _unborn_repositories(res.stderr) | _dot_git_variants(res.stderr)
    raw = _unconvertible(res.stderr)
    if not special and not unborn and not raw:
        adding.wait()  # raises, with git's message
    env = {"GIT_INDEX_FILE": str(index)}
    stdin = b"".join(p + b"\0" for p in sorted(special))
    repo.run("update-index", "--force-remove", "-z", "--stdin", input=stdin, env=env)
    lfs = scanindex.lfs_pointers(repo)
    for _ in range(64):  # each round leaves out at least one more such folder or file
        left_out = [f":(exclude,literal){os.fsdecode(p)}" for p in sorted(unborn | raw)]
        add_all = (
            *conversion.AS_ON_DISK,
            *UNSPLIT,
            *lfs,
            *("add", "-A", "--sparse", "--", ".", *left_out),
        )
        again = repo.run(*add_all, env=env, check=False)
        statuslist.refuse_unreadable(again.stderr, repo.root)
        if again.returncode == 0 or b"outside of your sparse-checkout" in again.stderr:
            _add_as_on_disk(repo, env, raw)
            unholdable = (
                p for p in unborn if statuslist.dot_git_variant(p) or statuslist.gitmodules_link(p)
            )
            return special, frozenset(unholdable)
        more = (_unborn_repositories(again.stderr) | _dot_git_variants(again.stderr)) - unborn
        more_raw = _unconvertible(again.stderr) - raw
        if not more and not more_raw:
            break
        unborn |= more
        raw |= more_raw
    repo.run(*add_all, env=env)  # raises
    return special, frozenset()


# git's words (LC_ALL=C) for a file its `working-tree-encoding` cannot convert: it refuses to
# store it at all (`add` dies), where a checkpoint must hold the bytes on disk.
_UNCONVERTIBLE: Final = (
    re.compile(rb"BOM is (?:required|prohibited) in '(.+?)' if encoded as ", re.S),
    re.compile(rb"failed to encode '(.+?)' from ", re.S),
    re.compile(rb"encoding '(.+?)' from \S+ to \S+ and back is not the same", re.S),
)


def _unconvertible(stderr: bytes) -> set[bytes]:
    return {m.group(1) for pattern in _UNCONVERTIBLE for m in pattern.finditer(stderr)}


def _add_as_on_disk(repo: Repo, env: Mapping[str, str], paths: set[bytes]) -> None:
    """The files git could not convert, held as the bytes on disk (no attribute applies to
    `hash-object --no-filters`), as a restore writes them back."""
    found: list[tuple[bytes, bytes, bytes]] = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:  # never through a link
        for path in sorted(paths):
            st = tree.lstat(path)
            data = tree.read(path) if st is not None and stat.S_ISREG(st.st_mode) else None
            if st is not None and data is not None:
                found.append((b"100755" if st.st_mode & 0o100 else b"100644", path, data))
    oids = repo.write_blobs([data for _, _, data in found]) if found else []
    entries = [
        mode + b" " + oid.encode() + b"\t" + path + b"\0"
        for (mode, path, _), oid in zip(found, oids, strict=True)
    ]
    if entries:
        repo.run("update-index", "-z", "--index-info", input=b"".join(entries), env=env)


# git's words for a path it refuses to track: the same path twice, so a name holding a quote or
# a newline is still read whole.
_INVALID_PATH: Final = re.compile(rb"error: invalid path '(.+?)'\nerror: unable to add '\1'", re.S)


def _dot_git_variants(stderr: bytes) -> set[bytes]:
    """The outermost component that is `.git` in another letter case, of each path `add -A`
    refused (`sub/.GIT/config` -> `sub/.GIT`): the whole folder is left out in one round."""
    found = set()
    for m in _INVALID_PATH.finditer(stderr):
        if statuslist.gitmodules_link(m.group(1)):  # a `.gitmodules` link: refused as well
            found.add(m.group(1))
            continue
        parts = m.group(1).split(b"/")
        for at, part in enumerate(parts):
            if part.lower() == b".git" and part != b".git":
                found.add(b"/".join(parts[: at + 1]))
                break
    return found


def _unborn_repositories(stderr: bytes) -> set[bytes]:
    """The folders `add -A` named as repositories without a commit (git speaks English to us:
    process.py sets LC_ALL=C): `error: 'sub/' does not have a commit checked out`."""
    found = set()
    head, tail = b"error: '", b"' does not have a commit checked out"
    # Split on the message, not on lines: a folder's name may hold a newline.
    for chunk in stderr.split(tail)[:-1]:
        at = chunk.rfind(head)
        if at >= 0:
            found.add(chunk[at + len(head) :].rstrip(b"/"))
    return found
