"""Submodules an operation de-initialised (`git submodule deinit -f sub`), checked out again.

`deinit` empties the submodule's folder (its files and its `.git` file) and removes its section
from `.git/config`; the submodule's own git dir (`.git/modules/<name>`: its commits, HEAD and
index) stays. To git the superproject is unchanged (the gitlink in the index is the same, an
empty folder is an unpopulated submodule), so no checkpoint sees a change, and its rollback
said "it had changed nothing" while the submodule's checkout was gone.

An operation notes, when it begins, each submodule that is checked out (its folder's `.git`
file, which names its git dir) where the repository has a `.gitmodules` or submodules' git
dirs (`modules/`: a sparse checkout may leave `.gitmodules` out of the worktree). One whose
`.git` is a folder of its own (a repository that was there before `git submodule add`, one
an older git cloned) is noted with the `.git` file git writes when it moves that folder to
`modules/<name>` (`absorbgitdirs`; `deinit` does so before it empties the folder): its files
changed while the operation ran are named from the folder where the git dir is, and one
emptied is checked out again from `modules/<name>`, as one with a `.git` file is. Its rollback
(and a later one that takes its effect back, and `recover`) writes that `.git` file again into a
folder that is empty now and checks the submodule's files out from its own index
(`checkout-index`: what it had staged, as deinit left its git dir), and says so. Where the
folder holds its files but no `.git` (`rm sub/.git`: git sees no change, never looking into a
gitlink's folder), the `.git` file alone is written back. Nothing else is written where the
folder holds anything, and nothing where the git dir named is not a folder under the common
git dir's `modules/` reached without a link. The config section is configuration,
which a rollback does not take back: the line says so, and `git submodule init` puts it back.
Uncommitted changes a forced deinit threw away are nobody's to give back: no checkpoint holds a
submodule's files.

One checked out since the operation began (`git submodule update --init` filled its empty
folder: git sees no change, the gitlink the same) stays, as every repository of its own does,
but is named: a rollback never says such an operation "changed nothing"."""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Mapping, Sequence
from typing import Final

from git_atomic.core.errors import AtomicError
from git_atomic.engine import safefs
from git_atomic.engine.git import Repo
from git_atomic.ops.submodulesnoted import KEY, SINCE, note

# In a move's event (gitdirredo.KEY): the submodules it checked out again, for its `undo`
REDONE: Final = "submodules_checked_out"
# The words of `changed_inside`'s lines, which a summary that would say "exactly" looks for
CHANGED_INSIDE: Final = "files in this submodule changed while the operation ran"


def changed_inside(
    repo: Repo, details: Mapping[str, object], *, until: float | None = None
) -> list[str]:
    """The submodules noted whose own files changed while the operation ran (their ctime
    since it was noted; `until`: no later than when it ended, for a move that takes its effect
    back later, `rollback --op`): a submodule's contents are in no checkpoint, so its rollback
    said "it had changed nothing" or "as before" (and `rollback --op` "exactly its PRE-OP
    state") over files it edited there. One line each; the files are left as they are."""
    noted, since = details.get(KEY), details.get(SINCE)
    if not isinstance(noted, dict) or not isinstance(since, (int, float)):
        return []
    lines = []
    for path, entry in sorted(noted.items()):
        if not isinstance(entry, list) or len(entry) != 2:
            continue
        git_dir = _module_dir(repo, str(path), str(entry[1])) or _own_git_dir(repo, str(path))
        changed = _changed_since(repo, str(path), git_dir, float(since), until) if git_dir else []
        if changed:
            more = f" and {len(changed) - 3} more" if changed[3:] else ""
            shown = ", ".join(changed[:3]) + more
            lines.append(
                f"{path}: {CHANGED_INSIDE} ({shown}); "
                "a submodule's contents are not captured, so they are left as they are "
                f"(`git -C {shlex.quote(path)} status` lists them)"
            )
    return lines


def _changed_since(
    repo: Repo, path: str, git_dir: str, since: float, until: float | None = None
) -> list[str]:
    """What git lists as changed in the submodule at `path` whose ctime (or, for a file gone,
    its folder's) is `since` or later (and `until` or earlier, a clock's tick allowed); none
    where its folder is not reached without a link."""
    rel = os.fsencode(path)
    # (GIT_OPTIONAL_LOCKS: `status` writes no refreshed index of the submodule's: we only look)
    env = {"GIT_DIR": git_dir, "GIT_WORK_TREE": str(repo.root / path), "GIT_OPTIONAL_LOCKS": "0"}
    listed = repo.run(
        "status", "--porcelain=v1", "-z", "--no-renames", "--untracked-files=all",
        "--ignore-submodules=all", env=env, check=False,
    )  # fmt: skip
    if listed.returncode != 0:
        return []
    out = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        if tree.folder(rel) is None:
            return []
        for item in listed.stdout.split(b"\0"):
            name = item[3:]
            if not name:
                continue
            where = rel + b"/" + name.rstrip(b"/")
            st = tree.lstat(where) or tree.lstat(os.path.dirname(where))
            if st is not None and since <= st.st_ctime <= (until or st.st_ctime) + 0.01:
                out.append(name.decode("utf-8", "backslashreplace"))
    return out


def put_back(
    repo: Repo, details: Mapping[str, object], end: str | None, *, dry_run: bool = False
) -> list[str]:
    """Check out again each submodule noted that is an empty folder now, and write back the
    `.git` file of one whose files are there without it; one line each.
    `end`: the checkpoint of the state the operation left; a submodule it took out of the
    index (`git rm sub`) is not one it emptied, and `undo` must find its folder empty to
    remove it again."""
    noted = details.get(KEY)
    if not isinstance(noted, dict):
        return []
    staged = _staged_tree(repo, end)
    lines = []
    for path, entry in sorted(noted.items()):
        if not isinstance(entry, list) or len(entry) != 2:
            continue
        if staged is not None and not _gitlink(repo, staged, str(path)):
            continue
        name, dotgit = str(entry[0]), str(entry[1])
        line = _check_out(repo, str(path), dotgit, dry_run=dry_run)
        if line is None:
            elsewhere = _left_at(repo, str(path), dotgit, staged)
            lines += [elsewhere] if elsewhere else []
            continue
        if repo.config(f"submodule.{name}.url") is None:
            line += (
                f"; its section in .git/config stays removed (configuration an operation "
                "changes is not taken back): "
                f"`git submodule init -- {shlex.quote(path)}` puts it back"
            )
        lines.append(line)
    # A submodule keeps its name where `git mv` moves it: one noted under another path is the
    # same one (its rollback or `undo` moved it), never one checked out since.
    names = {str(entry[0]) for entry in noted.values() if isinstance(entry, list) and entry}
    now = note(repo)
    for path in sorted(set(now) - set(noted)):
        if now[path][0] in names:
            continue
        lines.append(
            f"{path}: {_CHECKED_OUT}; it stays, with its files (a submodule's contents are not "
            f"captured): `git submodule deinit -f -- {shlex.quote(path)}` empties its folder again"
        )
    return lines


def remember(lines: Sequence[str], changed: dict[str, object] | None) -> None:
    """Into `changed` (what an `undo` of the move reads back: gitdirredo.py), the submodules
    `put_back`'s `lines` say it checked out again."""
    done = f": {_EMPTIED}; its files are checked out again"
    paths = [line.split(done, 1)[0] for line in lines if done in line]
    if paths and changed is not None:
        changed[REDONE] = paths


def undo_lines(repo: Repo, noted: object, *, what: str) -> list[str]:
    """An `undo` of a move that checked submodules out again (`remember`) does not empty
    them again: a submodule's files are in no checkpoint, and what you changed there since
    would go. One line for each still checked out, saying how to empty it yourself."""
    if not isinstance(noted, list):
        return []
    lines = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path in noted:
            fd = tree.folder(os.fsencode(path)) if isinstance(path, str) else None
            if fd is None or not os.listdir(fd):
                continue
            lines.append(
                f"{path}: {what} checked this submodule out again (the operation had emptied "
                "its folder: `git submodule deinit`); it stays checked out (a submodule's files "
                "are in no checkpoint, and what you changed there since would go): "
                f"`git submodule deinit -- {shlex.quote(path)}` empties it again (it refuses "
                "while the submodule holds changes of yours; files it ignores go with it)"
            )
    return lines


def _check_out(repo: Repo, path: str, dotgit: str, *, dry_run: bool = False) -> str | None:
    """`dry_run`: the line alone, nothing written (a folder not there yet is one the restore
    makes again, empty)."""
    rel = os.fsencode(path)
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        fd = tree.folder(rel)
        if fd is None and not (dry_run and tree.kind(rel) is None):
            return None  # not a folder reached without a link: never written into
        git_dir = _module_dir(repo, path, dotgit)
        if git_dir is None:
            return None
        if fd is not None and os.listdir(fd):
            # Its files there but not its `.git` file (`rm sub/.git`): git sees no change
            # (it never looks into a gitlink's folder), and the folder is no checkout of the
            # submodule any more. The file alone is written back; the files stay as they are.
            if tree.kind(rel + b"/.git") is not None:
                return None  # its checkout, or a repository of its own: left
            if dry_run:
                return f"{path}: {_GIT_FILE_GONE}; it would be written back"
            try:
                tree.write(rel + b"/.git", dotgit.encode("utf-8"), 0o644)
            except (OSError, safefs.Blocked):
                return None
            return f"{path}: {_GIT_FILE_GONE}; it is written back (its files are left as they are)"
        if dry_run:
            return f"{path}: {_EMPTIED}; it would be checked out again from its git dir"
        try:
            tree.write(rel + b"/.git", dotgit.encode("utf-8"), 0o644)
        except (OSError, safefs.Blocked):
            return None
    env = {"GIT_DIR": git_dir, "GIT_WORK_TREE": str(repo.root / path)}
    done = repo.run("checkout-index", "-a", "-f", env=env, check=False)
    if done.returncode != 0:
        return (
            f"{path}: {_EMPTIED}; its .git file is back but its files could not be checked out "
            f"(`git -C {shlex.quote(path)} checkout-index -a -f`)"
        )
    repo.run("update-index", "-q", "--refresh", env=env, check=False)
    return (
        f"{path}: {_EMPTIED}; its files are checked out again from its git dir, as its index "
        "had them (what it had not staged is gone: no checkpoint holds a submodule's files)"
    )


_CHECKED_OUT: Final = (
    "this submodule is checked out now, and was not when the operation began (`git submodule "
    "update --init`)"
)
_EMPTIED: Final = "the operation emptied this submodule's folder (`git submodule deinit`, `rm -rf`)"
_GIT_FILE_GONE: Final = "the operation removed this submodule's .git file"
_MADE_AGAIN: Final = ": a nested repository (a submodule?) was here"  # nestedrepos.py's line
_GONE_SAID: Final = ": a submodule with no .git in its folder"  # restore.py's line
_STAYS_AT: Final = "this submodule's checkout stays at"
_MOVED_SAID: Final = ": a submodule checked out at"  # nestedrepos.checkout_moved's line


def superseded(problems: Sequence[str], lines: Sequence[str]) -> list[str]:
    """`problems` without the restore's "only its folder is made again" of a submodule these
    `lines` say is checked out again, nor its "with no .git in its folder" of one whose `.git` file
    they say is written back, nor its "checked out at" of one whose checkout they say stays
    at the commit the operation recorded (one submodule, one line)."""
    done = {line.split(f": {_EMPTIED}", 1)[0] for line in lines if f": {_EMPTIED}" in line}
    back = {line.split(f": {_GIT_FILE_GONE}", 1)[0] for line in lines if _GIT_FILE_GONE in line}
    stays = {line.split(f": {_STAYS_AT}", 1)[0] for line in lines if f": {_STAYS_AT}" in line}
    return [
        p
        for p in problems
        if not any(p.startswith(d + _MADE_AGAIN) for d in done)
        and not any(p.startswith(b + _GONE_SAID) for b in back)
        and not any(p.startswith(s + _MOVED_SAID) for s in stays)
    ]


def _module_dir(repo: Repo, path: str, dotgit: str) -> str | None:
    """The git dir the `.git` text names, where it is a folder under the common git dir's
    `modules/` with no link on the way; None otherwise."""
    named = dotgit.removeprefix("gitdir: ").rstrip("\n")
    where = os.path.normpath(os.path.join(repo.root, path, named))
    modules = os.path.join(os.path.normpath(repo.common_dir), "modules") + os.sep
    if not where.startswith(modules) or os.path.realpath(where) != where:
        return None
    try:
        if not stat.S_ISDIR(os.lstat(where).st_mode) or not os.path.isfile(
            os.path.join(where, "HEAD")
        ):
            return None
    except OSError:
        return None
    return where


def _own_git_dir(repo: Repo, path: str) -> str | None:
    """The git dir inside the submodule's folder (`sub/.git` a folder: a repository that was
    there before `git submodule add`, or one an older git cloned), where it is one reached
    without a link; None otherwise."""
    where = os.path.normpath(os.path.join(repo.root, path, ".git"))
    if os.path.realpath(where) != where:
        return None
    try:
        if not stat.S_ISDIR(os.lstat(where).st_mode) or not stat.S_ISREG(
            os.lstat(os.path.join(where, "HEAD")).st_mode
        ):
            return None
    except OSError:
        return None
    return where


def _staged_tree(repo: Repo, end: str | None) -> str | None:
    if end is None:
        return None
    from git_atomic.engine import checkpoint

    try:
        return checkpoint.load(repo, end).staged_tree
    except (AtomicError, OSError):  # one that cannot be read: no submodule is told apart
        return None


def _gitlink(repo: Repo, tree: str, path: str) -> bool:
    return _gitlink_oid(repo, tree, path) is not None


def _gitlink_oid(repo: Repo, tree: str, path: str) -> str | None:
    literal = {"GIT_LITERAL_PATHSPECS": "1"}  # a path is a name, never a pattern (`s[1]`)
    listed = repo.run("ls-tree", "-z", tree, "--", path, env=literal, check=False)
    if listed.returncode != 0 or not listed.stdout.startswith(b"160000 "):
        return None
    return listed.stdout.split(b"\t", 1)[0].split()[-1].decode()


def _left_at(repo: Repo, path: str, dotgit: str, end_tree: str | None) -> str | None:
    """The line for a submodule whose checkout stays at the commit the operation recorded
    (`git add sub` after a checkout in it, `git submodule update` after a pull), where the
    state restored records another: a submodule's checkout is not part of a checkpoint."""
    left = _gitlink_oid(repo, end_tree, path) if end_tree is not None else None
    if left is None:
        return None
    restored = repo.run("rev-parse", "-q", "--verify", f":{path}", check=False)
    was = restored.stdout.decode().strip()
    git_dir = _module_dir(repo, path, dotgit)
    if restored.returncode != 0 or was == left or git_dir is None:
        return None
    head = repo.run("rev-parse", "-q", "--verify", "HEAD", env={"GIT_DIR": git_dir}, check=False)
    if head.stdout.decode().strip() != left:
        return None
    return (
        f"{path}: {_STAYS_AT} {left[:12]}, the commit the operation "
        f"recorded; the state restored records {was[:12]} (a submodule's checkout is not part "
        f"of a checkpoint): `git submodule update -- {shlex.quote(path)}` checks that out"
    )
