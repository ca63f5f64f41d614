"""HEAD, refs and reflogs an operation made links (or, for HEAD, anything but a HEAD): set aside
before git is asked anything.

git reads a loose ref, `packed-refs` or a reflog *through* a symbolic link (a link to a file
outside gives git that file's bytes as the branch, and `update-ref` appends its log line to the
file outside), and a `.git/HEAD` that is a link to anything but `refs/...`, a folder, or a file
that names no ref makes git refuse the repository ("not a git repository"), so no rollback and
no `recover` could run. Before a capture reads a ref, and before a rollback asks git anything,
each such entry is looked at with lstat (never through a link) and moved into `atomic-aside/`
in the worktree's git dir: a link is made again there as the link itself (its target as text;
what it points to is never read), anything else is renamed there. The rescue holds that folder
(gitstate.py), the restore removes it, and `undo` never makes it again: git would read outside
the repository, or refuse it, once more.

What is put back: a ref from the last line of its own reflog (what git last wrote to it); a
ref without one is gone, and the restore makes the branches its target has; HEAD from the
rollback's target. A link git itself may make (`core.preferSymlinkRefs`: a link whose text is
`refs/...`, a symbolic ref git never reads through) is left alone. (The walk that finds them:
gitlinkwalk.py.)
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from git_atomic.core import patterns
from git_atomic.core.errors import RefusedError
from git_atomic.core.lock import common_held
from git_atomic.engine import gitlinkwalk, safefs
from git_atomic.engine.branchesours import branches_off_ours as branches_off_ours
from git_atomic.engine.branchesours import branches_on_ours as branches_on_ours
from git_atomic.engine.gitlinkwalk import HEAD, STATE, Thorough

ASIDE: Final = "atomic-aside"  # in the worktree's git dir
_COMMON: Final = b"common/"  # in the aside folder, a linked worktree's shared git dir's entries
# A HEAD on one of our own refs is damaged too: a commit on it would move a checkpoint's ref,
# and `git atomic gc`, retiring that ref, would take the commits made on it with it.
_HEAD_TEXT: Final = patterns.keep(
    rb"(ref:[ \t]*refs/(?!atomic/)[^\0\n]*|[0-9a-f]{40}|[0-9a-f]{64})\n?"
)
_OID: Final = patterns.keep(rb"[0-9a-f]{40}|[0-9a-f]{64}")
_TMP: Final = b".atomic-tmp"
_LEFT: Final = patterns.keep(rb"\.[^/]+\.(\d+)" + re.escape(_TMP))  # `_replace`'s names
# What is renamed aside where it is no link (a FIFO, a file, a folder), never opened.
_RENAMED: Final = (STATE, b"packed-refs")
_COMMONDIR: Final = b"commondir"  # a linked worktree's git dir: where its shared git dir is
# Not looked into for our leftovers: objects, our own folders (scratch.py sweeps them), the
# submodules' git dirs, LFS objects.
_NOT_SWEPT: Final = frozenset({"objects", "atomic", "atomic-aside", "modules", "lfs"})


def head_damaged(git_dir: Path) -> bool:
    """Whether git would refuse the worktree's HEAD, or read it through a link (lstat only),
    or it names one of our refs under refs/atomic/."""
    with safefs.Tree(os.fsencode(git_dir)) as tree:
        return _head_damaged(tree)


def _head_damaged(tree: safefs.Tree) -> bool:
    kind = tree.kind(HEAD)
    if kind == stat.S_IFLNK:
        return not gitlinkwalk.git_own_symref(tree.readlink(HEAD) or b"")
    if kind != stat.S_IFREG:
        return True  # gone, a folder, a fifo
    data = tree.read(HEAD)
    return data is None or re.fullmatch(_HEAD_TEXT, data) is None


def packed_refs_foreign(common_dir: Path) -> bool:
    """Whether `packed-refs` is there and no regular file (lstat only): set aside, as a link."""
    try:
        return not stat.S_ISREG(os.lstat(common_dir / "packed-refs").st_mode)
    except OSError:
        return False


def packed_refs_unread(git_dir: Path, common_dir: Path) -> bool:
    """Whether `packed-refs` is no regular file, or one was set aside into `atomic-aside/`
    (two lstats): what is in it is read by no one (packedrefs.unchecked says so)."""
    return packed_refs_foreign(common_dir) or os.path.lexists(git_dir / ASIDE / "packed-refs")


def commondir_back(git_dir: Path, common_dir: Path) -> bool:
    """A linked worktree's `commondir` an operation made no regular file (a FIFO git would wait
    on at every command, a link it would read through, a folder it cannot read): renamed into
    `atomic-aside/` unopened (the rescue holds it), and written again as git writes it, the
    shared git dir's path from the worktree's git dir (`../..`). True when it was."""
    if git_dir == common_dir:
        return False
    with safefs.Tree(os.fsencode(git_dir)) as own:
        if own.kind(_COMMONDIR) in (None, stat.S_IFREG):
            return False
        _rename_aside(own, _COMMONDIR, own, _COMMONDIR)
        _replace(own, _COMMONDIR, os.fsencode(os.path.relpath(common_dir, git_dir)) + b"\n")
    return True


def aside_holds_head(git_dir: Path) -> bool:
    """Whether HEAD was set aside and what stands there now is ours, to be made the target's."""
    return os.path.lexists(git_dir / ASIDE / "HEAD")


def refuse_found(git_dir: Path, common_dir: Path) -> None:
    """Where an operation or an agent's turn starts, a link in refs, logs or `packed-refs` is
    yours (no operation made it): set aside, it would leave your layout changed (and a branch
    whose reflog is off gone from the repository), kept, every ref update would be written
    outside the repository. Refused by name, nothing changed."""
    linked = git_dir != common_dir
    with safefs.Tree(os.fsencode(git_dir)) as own, safefs.Tree(os.fsencode(common_dir)) as shared:
        found = [
            (git_dir, rel)
            for rel in gitlinkwalk.found(own, worktree=True, common=not linked, thorough=False)
        ]
        if linked:
            found += [
                (common_dir, rel)
                for rel in gitlinkwalk.found(shared, worktree=False, common=True, thorough=False)
            ]
    # (Links in our own folder are ours to set aside; HEAD and the pseudo-refs are judged
    # by their own rules.)
    found = [(w, r) for w, r in found if r.startswith((b"refs", b"logs")) or r == b"packed-refs"]
    if found:
        where, rel = found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        path = os.path.join(where, os.fsdecode(rel))
        raise RefusedError(
            f"{path} is a symbolic link{more}: git reads and writes refs through it, outside "
            "this repository, and a rollback could not take such a write back; nothing was "
            "changed (make it a regular file or folder holding what it points to, then run "
            "this again)"
        )


def set_aside(
    git_dir: Path,
    common_dir: Path,
    *,
    head: bytes | None = None,
    thorough: Thorough = False,
) -> bool:
    """Move every such entry aside (see the module's docstring); True when one was.

    `head`: what to write in a damaged HEAD's place (`ref: refs/heads/x` or an object id); None
    leaves a damaged HEAD where it is. `thorough`: look into our checkpoint refs' folders too:
    all of them (`recover`), or those of the operations named (a rollback reads and writes its
    own operation's refs: every operation's would cost a walk of as many folders as there
    were operations); a capture looks into none (see gitlinkwalk.py)."""
    if not _any_found(git_dir, common_dir, thorough) and (
        head is None or not head_damaged(git_dir)
    ):
        return False  # (the usual case: lstat calls alone, no lock)
    # Looked at again, and set aside, under the common git dir's lock: `packed-refs` and the
    # refs there are every worktree's, and a process in another worktree (which holds its
    # own worktree's lock alone) may be setting the same file aside.
    with common_held(common_dir):
        return _set_aside(git_dir, common_dir, head=head, thorough=thorough)


def _any_found(git_dir: Path, common_dir: Path, thorough: Thorough) -> bool:
    linked = git_dir != common_dir
    with safefs.Tree(os.fsencode(git_dir)) as own, safefs.Tree(os.fsencode(common_dir)) as shared:
        if gitlinkwalk.found(own, worktree=True, common=not linked, thorough=thorough):
            return True
        return linked and bool(
            gitlinkwalk.found(shared, worktree=False, common=True, thorough=thorough)
        )


def _set_aside(git_dir: Path, common_dir: Path, *, head: bytes | None, thorough: Thorough) -> bool:
    moved = False
    linked = git_dir != common_dir
    with safefs.Tree(os.fsencode(git_dir)) as own, safefs.Tree(os.fsencode(common_dir)) as shared:
        places = [(own, b"", True, not linked)]
        if linked:
            places.append((shared, _COMMON, False, True))
        for tree, prefix, worktree, common in places:
            for rel in gitlinkwalk.found(tree, worktree=worktree, common=common, thorough=thorough):
                if rel in _RENAMED and tree.kind(rel) != stat.S_IFLNK:
                    # never opened: a FIFO there would hang a read
                    _rename_aside(tree, rel, own, prefix + rel)
                else:
                    _move_link(tree, rel, own, prefix + rel)
                _put_back(tree, rel)
                moved = True
        if head is not None and _head_damaged(own):
            if own.kind(HEAD) is not None:
                _rename_aside(own, HEAD, own, HEAD)
            write_head(git_dir, head)
            moved = True
    return moved


def write_head(git_dir: Path, text: bytes) -> None:
    """Make HEAD a regular file holding `text` (a rename over what is there: never through)."""
    with safefs.Tree(os.fsencode(git_dir)) as tree:
        _replace(tree, HEAD, text.rstrip(b"\n") + b"\n")


def head_text(ref: str | None, oid: str | None) -> bytes:
    """HEAD's text for a branch (`ref: refs/heads/x`) or a detached commit."""
    if ref is not None:
        return b"ref: " + os.fsencode(ref)
    return os.fsencode(oid or "0" * 40)


def _aside(rel: bytes) -> bytes:
    return os.fsencode(ASIDE) + b"/" + rel


def _clear(tree: safefs.Tree, rel: bytes) -> None:
    """Remove what stands at `rel` (a link itself; a folder with what is in it)."""
    import shutil

    kind = tree.kind(rel)
    if kind == stat.S_IFDIR:
        parent = tree._parent(rel)
        assert parent is not None
        shutil.rmtree(rel.rsplit(b"/", 1)[-1], dir_fd=parent[0])  # links in it: removed only
        tree.forget(rel)
    elif kind is not None:
        tree.unlink(rel)


def _move_link(tree: safefs.Tree, rel: bytes, own: safefs.Tree, dest: bytes) -> None:
    target = tree.readlink(rel)
    if target is None:
        return
    dest = _aside(dest)
    own.make_folders(os.path.dirname(dest))
    _clear(own, dest)
    own.symlink(dest, target)
    tree.unlink(rel)


def _rename_aside(tree: safefs.Tree, rel: bytes, own: safefs.Tree, dest: bytes) -> None:
    """Rename what stands at `rel` in `tree` to `dest` in the worktree's aside folder (`own`)."""
    dest = _aside(dest)
    folder = own.make_folders(os.path.dirname(dest))
    _clear(own, dest)
    parent = tree._parent(rel)
    assert parent is not None
    os.rename(parent[1], os.path.basename(dest), src_dir_fd=parent[0], dst_dir_fd=folder)
    tree.forget(rel)


def _put_back(tree: safefs.Tree, rel: bytes) -> None:
    """After the link at `rel` went: `refs` itself made again (git needs it), and each ref
    under it (or all, for `packed-refs`) that has no file now from its reflog's last line."""
    if rel in (b"refs", STATE):
        tree.make_folders(rel)
    if rel == b"packed-refs" or rel == b"refs":
        logs = b"logs/refs"
    elif rel.startswith(b"refs/"):
        logs = b"logs/" + rel
    else:
        return
    for log in _files(tree, logs):
        ref = log.removeprefix(b"logs/")
        if tree.kind(ref) is not None:
            continue
        oid = _last_value(tree.read(log) or b"")
        if oid is None:
            continue
        with contextlib.suppress(safefs.Blocked):
            tree.make_folders(os.path.dirname(ref))
            _replace(tree, ref, oid + b"\n")


def _files(tree: safefs.Tree, top: bytes) -> Iterator[bytes]:
    kind = tree.kind(top)
    if kind == stat.S_IFREG:
        yield top
        return
    fd = tree.folder(top) if kind == stat.S_IFDIR else None
    if fd is None:
        return
    with os.scandir(fd) as entries:
        names = sorted(os.fsencode(e.name) for e in entries)
    for name in names:
        yield from _files(tree, top + b"/" + name)


def _last_value(log: bytes) -> bytes | None:
    lines = log.rstrip(b"\n").rsplit(b"\n", 1)
    fields = lines[-1].split(b" ", 2)
    if len(fields) < 2 or not re.fullmatch(_OID, fields[1]) or not fields[1].strip(b"0"):
        return None  # no line, or the last one deleted the ref
    return fields[1]


def _replace(tree: safefs.Tree, rel: bytes, data: bytes) -> None:
    # A name git passes over: in refs/ a file `main.atomic-tmp` is a branch of that name,
    # which a process killed before the rename left listed; one starting with a dot is none
    # (git's loose refs skip it). With the writer's pid: `recover` and `gc` remove those of
    # dead processes (remove_left).
    folder, base = os.path.split(rel)
    tmp = os.path.join(folder, b".%s.%d%s" % (base, os.getpid(), _TMP))
    tree.unlink(tmp)
    tree.write(tmp, data, 0o644)
    from git_atomic.core import failpoints  # (not imported on a checkpoint's path)

    failpoints.hit("gitlinks:aside")
    parent = tree._parent(rel)
    assert parent is not None
    os.replace(os.path.basename(tmp), parent[1], src_dir_fd=parent[0], dst_dir_fd=parent[0])


def remove_left(git_dir: Path, common_dir: Path) -> list[str]:
    """What our writers of the git dir's files, killed before their rename, left
    (`.<name>.<pid>.atomic-tmp`, its writer dead): `_replace`'s (HEAD, commondir, a branch
    written back from its reflog), the in-progress state's (gitstate.py: `MERGE_HEAD`,
    `rebase-merge/...`), `info/exclude`'s (infoexclude.py), a worktree's `locked`
    (worktreelocks.py): anywhere in the git dirs but the object store, our own folder and
    the submodules' and other worktrees' git dirs (whose top alone, `worktrees/<name>/`, is
    looked at). Regular files and links (the link itself: gitstate writes one so), never
    through a link. For `recover` and `gc`, never a checkpoint's path. The paths removed."""
    from git_atomic.core.lock import process_alive

    removed: list[str] = []
    for top in dict.fromkeys((git_dir, common_dir)):
        with contextlib.suppress(OSError):
            if not stat.S_ISDIR(os.lstat(top).st_mode):
                continue
            for here, folders, names in os.walk(top):  # links to folders not entered
                if here == os.fspath(top):
                    folders[:] = [f for f in folders if f not in _NOT_SWEPT]
                elif os.path.dirname(here) == os.path.join(top, "worktrees"):
                    folders.clear()  # another worktree's git dir: its top alone
                for name in names:
                    m = re.fullmatch(_LEFT, os.fsencode(name))
                    if m is None or process_alive(int(m.group(1)), None):
                        continue
                    path = os.path.join(here, name)
                    with contextlib.suppress(OSError):
                        mode = os.lstat(path).st_mode
                        if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
                            os.unlink(path)
                            removed.append(path)
    return sorted(removed)
