"""Your branches' reflogs, kept through an operation that deletes or renames a branch.

`git branch -D feature` removes `logs/refs/heads/feature` with the branch, and `git branch -m
feature other` moves it to the new name, which the rollback then deletes: the rollback made
`feature` again with a reflog of one line (`git-atomic: rollback`), and what `feature@{1}` had
named (a commit a `reset` left behind) was known to nothing any more.

So an operation's PRE-OP keeps each branch's reflog by a hard link
(`.git/atomic/reflogs/<op id>/`, under the hex of the branch's name), with its size then. git
only appends to a reflog in place, and rewrites one (`reflog expire`) by rename, which leaves
the link on the old bytes: the link's first `size` bytes are the reflog as it was at PRE-OP,
whatever happened to its name since. No byte is read or copied at PRE-OP (one link per branch).
A restore that makes a branch again whose reflog is not there writes those bytes back first,
where their last line says the branch was at the commit it comes back to; git's `update-ref`
then appends the restore's own line. `git atomic gc` removes the links with the operation.

Never through a link: the reflog linked is a regular file reached folder by folder without
following one (safefs.py), the one written back is made new, never written over. A repository
whose refs are not files (reftable) is left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Final

from git_atomic.engine import safefs
from git_atomic.engine.git import Repo

_FOLDER: Final = "reflogs"
_SIZES: Final = "sizes.json"


_DIR: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | os.O_NOFOLLOW


def _folder(repo: Repo) -> Path:
    return repo.state_dir / _FOLDER


def _open_dir(name: str, parent: int, *, make: bool) -> int:
    """A folder of ours under `parent`, never through a link (one an operation made there)."""
    if make:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o700, dir_fd=parent)
    return os.open(name, _DIR, dir_fd=parent)


def _open_top(repo: Repo, stack: contextlib.ExitStack, *, make: bool) -> int:
    """Our `reflogs` folder, open (closed with `stack`), reached from the state folder
    without following a link."""
    state = os.open(repo.state_dir, _DIR)
    stack.callback(os.close, state)
    top = _open_dir(_FOLDER, state, make=make)
    stack.callback(os.close, top)
    return top


def _files_backend(repo: Repo) -> bool:
    return (repo.config("extensions.refstorage") or "files").lower() == "files"


def _with_head(repo: Repo, branches: Iterable[str]) -> list[str]:
    """The branches, and each worktree's HEAD: the main worktree's (`HEAD`, its reflog in the
    common git dir) and each linked one's (`worktrees/<id>/HEAD`). `git reflog expire --all`,
    run in any worktree, empties every one of them, and `HEAD@{1}` may be all that names a
    commit."""
    names = [*sorted(branches), "HEAD"]
    with contextlib.suppress(OSError):
        linked = sorted(os.listdir(repo.common_dir / "worktrees"))
        names += [f"worktrees/{wt}/HEAD" for wt in linked]
    return names


def _reflog(name: str) -> bytes:
    """Where the reflog of `name` (a branch, or a worktree's HEAD: `_with_head`) is, relative
    to the common git dir: a linked worktree's HEAD's is in its own git dir."""
    if name.startswith("worktrees/") and name.endswith("/HEAD"):
        return os.fsencode(name.removesuffix("HEAD")) + b"logs/HEAD"
    return b"logs/" + os.fsencode(name)


def keep(repo: Repo, op_id: str, branches: Iterable[str]) -> None:
    """Link each branch's reflog (and each worktree's HEAD's) under the operation's folder,
    and note its size. Best effort: a reflog that cannot be linked (none, a link, a file
    system without hard links) is not kept, and its branch comes back as before, with a new
    reflog."""
    names = _with_head(repo, branches)
    if not names or not _files_backend(repo):
        return
    sizes: dict[str, int] = {}
    with contextlib.ExitStack() as stack:
        try:
            top = _open_top(repo, stack, make=True)
            dest = _open_dir(op_id, top, make=True)
            stack.callback(os.close, dest)
        except OSError:
            return
        tree = stack.enter_context(safefs.Tree(os.fsencode(repo.common_dir)))
        for name in names:
            rel = _reflog(name)
            try:
                st = tree.lstat(rel)
                parent = tree.folder(os.path.dirname(rel))
            except OSError:
                continue
            if st is None or parent is None or not stat.S_ISREG(st.st_mode):
                continue
            key = os.fsencode(name).hex()
            with contextlib.suppress(OSError):
                os.link(
                    os.path.basename(rel),
                    key,
                    src_dir_fd=parent,
                    dst_dir_fd=dest,
                    follow_symlinks=False,
                )
                sizes[key] = st.st_size
        with contextlib.suppress(OSError):
            fd = os.open(
                _SIZES,
                os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o600,
                dir_fd=dest,
            )
            with os.fdopen(fd, "w") as fh:
                json.dump(sizes, fh)


def put_back(repo: Repo, name: str, oid: str) -> bool:
    """Write the reflog of `name` as a PRE-OP kept it, where the branch has none now and that
    reflog last had it at `oid` (the newest operation's first). True: written."""
    if not _files_backend(repo):
        return False
    rel = b"logs/" + os.fsencode(name)
    data = _kept(repo, os.fsencode(name).hex(), oid)
    if data is None:
        return False
    with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
        if tree.lstat(rel) is not None:
            return False  # one there now (git's or someone's): never written over
        try:
            tree.make_folders(os.path.dirname(rel))
            tree.write(rel, data, new_reflog_mode(repo))
        except (OSError, safefs.Blocked):
            return False
    return True


def new_reflog_mode(repo: Repo) -> int:
    """The bits git gives a reflog it makes: 0666 less the umask, then as the repository is
    shared (`core.sharedRepository`: objectformat.shared_mode)."""
    from git_atomic.engine import objectformat, restorespecials

    mode = 0o666 & ~restorespecials.umask()
    perm = repo.shared_perm()
    return objectformat.shared_mode(mode, perm) & 0o7777 if perm else mode


def identities(repo: Repo, names: Iterable[str], *, with_head: bool = True) -> dict[str, list[int]]:
    """Each reflog of `names` (branches; `with_head`: and each worktree's HEAD) that is a
    regular file: its inode and size (one lstat each, no byte read). git appends to a reflog
    in place and rewrites one (`reflog expire`, `reflog delete`) by rename: another inode, or
    a smaller size, says it was rewritten (an agent turn's window: turnsteps.py)."""
    found: dict[str, list[int]] = {}
    if not _files_backend(repo):
        return found
    for name in _with_head(repo, names) if with_head else names:
        with contextlib.suppress(OSError, ValueError):
            st = os.lstat(os.path.join(repo.common_dir, os.fsdecode(_reflog(name))))
            if stat.S_ISREG(st.st_mode):
                found[name] = [st.st_ino, st.st_size]
    return found


def rewritten(repo: Repo, op_id: str) -> list[str]:
    """The reflogs (branches', worktrees' HEADs') the operation's PRE-OP kept that are no
    longer that file grown in place: another inode (`reflog expire` and `reflog delete` write
    a new file and rename it), a smaller size, or none. Noted as the operation closes
    (gitdirnoted.note_at_close), so that a later move taking its effect back or making it
    again (`undo`, `rollback --op`) mends those alone (mend's `only`), never a reflog you
    expired after it ended. A few lstat calls; no byte of a reflog read."""
    if not _files_backend(repo):
        return []
    found: list[str] = []
    with contextlib.ExitStack() as stack:
        try:
            top = _open_top(repo, stack, make=False)
            where = _open_dir(op_id, top, make=False)
            stack.callback(os.close, where)
            sizes = json.loads(_read(where, _SIZES))
        except (OSError, ValueError):
            return []
        for key, size in sizes.items() if isinstance(sizes, dict) else ():
            try:
                name = os.fsdecode(bytes.fromhex(key))
                kept = os.stat(key, dir_fd=where, follow_symlinks=False)
            except (OSError, ValueError, TypeError):
                continue  # not kept: mend has nothing to write back for it
            try:
                now = os.lstat(os.path.join(repo.common_dir, os.fsdecode(_reflog(name))))
            except OSError:
                found.append(name)
                continue
            same_file = (now.st_ino, now.st_dev) == (kept.st_ino, kept.st_dev)
            if not same_file or not isinstance(size, int) or now.st_size < size:
                found.append(name)
    return sorted(found)


def mend(
    repo: Repo, op_id: str, names: Iterable[str], *, only: Collection[str] | None = None
) -> tuple[list[str], list[str]]:
    """After an operation's own rollback (a failed run, `abort`): each branch's reflog (and
    each worktree's HEAD's: `_with_head`) that the operation rewrote (`git reflog expire`, `git
    reflog delete`: it no longer starts with the bytes its PRE-OP kept) is written again as the
    PRE-OP had it, followed by the lines written since that it lacks. `branch@{1}` may be all
    that names a commit a `reset` left behind, and `git gc` prunes what nothing names. Under
    git's lock of the ref (`<ref>.lock`, as `reflog expire` takes it); a ref locked now is
    left. The names whose reflog was mended, and those it could not write back (their ref
    locked: a git holds it, or one the operation's git left). `only`: those names alone (the
    reflogs an agent turn's calls rewrote, not one you expired between them)."""
    if not _files_backend(repo):
        return [], []
    mended: list[str] = []
    left: list[str] = []
    with contextlib.ExitStack() as stack:
        try:
            top = _open_top(repo, stack, make=False)
        except OSError:
            return [], []
        tree = stack.enter_context(safefs.Tree(os.fsencode(repo.common_dir)))
        for name in _with_head(repo, names):
            if only is not None and name not in only:
                continue  # not rewritten by the change (an agent turn's: one of yours)
            kept = _read_kept(top, op_id, os.fsencode(name).hex())
            rel = _reflog(name)
            now = tree.read(rel) if tree.kind(rel) == stat.S_IFREG else None
            if not kept or now is None or now.startswith(kept):
                continue
            old = set(kept.splitlines(keepends=True))
            since = [line for line in now.splitlines(keepends=True) if line not in old]
            if _rewrite(tree, os.fsencode(name), rel, kept + b"".join(since)):
                mended.append(name)
            else:
                left.append(name)
    return mended, left


def gone(repo: Repo, names: Iterable[str]) -> list[str]:
    """The commits the reflogs of `names` name that git no longer has, in their order: what an
    operation's `git reflog expire --expire=now --all && git gc --prune=now` took for good (a
    commit only `main@{1}` named, a `reset` left behind). The reflogs written back name them
    again; nothing can make them again."""
    with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
        read = [
            tree.read(rel) if tree.kind(rel) == stat.S_IFREG else None
            for rel in map(_reflog, names)
        ]
    return _missing(repo, read)


def gone_kept(repo: Repo, op_id: str, names: Iterable[str]) -> list[str]:
    """`gone` for the reflogs `mend` would write back (a dry run's): those its PRE-OP kept."""
    with contextlib.ExitStack() as stack:
        try:
            top = _open_top(repo, stack, make=False)
        except OSError:
            return []
        read = [_read_kept(top, op_id, os.fsencode(name).hex()) for name in names]
    return _missing(repo, read)


def _missing(repo: Repo, reflogs: Iterable[bytes | None]) -> list[str]:
    """The objects the `reflogs` (their bytes) name that git does not have: one `cat-file
    --batch-check` for them all."""
    oids: dict[str, None] = {}
    for data in reflogs:
        for line in (data or b"").splitlines():
            fields = line.split(b" ", 2)
            if len(fields) == 3:
                named = (o.decode("ascii", "replace") for o in fields[:2] if o.strip(b"0"))
                oids.update(dict.fromkeys(named))
    if not oids:
        return []
    asked = "".join(f"{oid}\n" for oid in oids).encode()
    listed = repo.run("cat-file", "--batch-check", input=asked, check=False).stdout
    return [line.split()[0].decode() for line in listed.splitlines() if line.endswith(b" missing")]


def foresee(repo: Repo, op_id: str, names: Iterable[str]) -> list[str]:
    """The names whose reflog `mend` would write back now (a dry run's: nothing written)."""
    if not _files_backend(repo):
        return []
    found: list[str] = []
    with contextlib.ExitStack() as stack:
        try:
            top = _open_top(repo, stack, make=False)
        except OSError:
            return []
        tree = stack.enter_context(safefs.Tree(os.fsencode(repo.common_dir)))
        for name in _with_head(repo, names):
            kept = _read_kept(top, op_id, os.fsencode(name).hex())
            rel = _reflog(name)
            now = tree.read(rel) if tree.kind(rel) == stat.S_IFREG else None
            if kept and now is not None and not now.startswith(kept):
                found.append(name)
    return found


def _rewrite(tree: safefs.Tree, ref: bytes, rel: bytes, data: bytes) -> bool:
    """Replace the reflog `rel` by `data` (a new file renamed over it) under the ref's lock,
    with the bits and owner git gave the one it replaces (t1301: under `core.sharedRepository`
    a group's reflog is 0664, which another member's `git commit` appends to)."""
    lock = ref + b".lock"
    try:
        tree.write(lock, b"", 0o644)  # O_EXCL: git's lock of the ref; busy: left
    except (OSError, safefs.Blocked):
        return False
    try:
        parent = tree.folder(os.path.dirname(rel))
        if parent is None:
            return False
        was = tree.lstat(rel)
        name = os.path.basename(rel)
        temp = name + b".git-atomic-mend"
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=parent)
        mode, owner = 0o644, None
        if was is not None and stat.S_ISREG(was.st_mode):
            mode, owner = was.st_mode & 0o7777, (was.st_uid, was.st_gid)
        tree.write(os.path.dirname(rel) + b"/" + temp, data, mode, owner=owner)
        os.rename(temp, name, src_dir_fd=parent, dst_dir_fd=parent)
        return True
    except (OSError, safefs.Blocked):
        return False
    finally:
        tree.unlink(lock)


def forget(repo: Repo, name: str) -> None:
    """Remove the reflog `put_back` wrote for a branch that was not made after all."""
    with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
        tree.unlink(b"logs/" + os.fsencode(name))


def retire(repo: Repo, op_ids: Sequence[str]) -> None:
    """The links of operations `git atomic gc` retires."""
    import shutil  # gc only: not on a PRE-OP's way (tests/test_hot_path.py)

    top = _folder(repo)
    if top.is_symlink() or not top.is_dir():
        return  # a link an operation made: never removed through
    for op_id in op_ids:
        folder = top / op_id
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)


def _kept(repo: Repo, key: str, oid: str) -> bytes | None:
    with contextlib.ExitStack() as stack:
        try:
            top = _open_top(repo, stack, make=False)
            entries = list(os.scandir(top))
        except OSError:
            return None
        folders = []
        for e in entries:
            with contextlib.suppress(OSError):
                st = e.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    folders.append((st.st_mtime_ns, e.name))
        for _, name in sorted(folders, reverse=True):
            data = _read_kept(top, name, key)
            if data is not None and _last_new_oid(data) == oid:
                return data
    return None


def _read_kept(top: int, folder: str, key: str) -> bytes | None:
    """The first `size` bytes of the reflog an operation kept under `key`, or None."""
    try:
        where = _open_dir(folder, top, make=False)
    except OSError:
        return None
    try:
        sizes = json.loads(_read(where, _SIZES))
        size = int(sizes[key])
        data = _read(where, key)[:size]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    finally:
        os.close(where)
    return data if len(data) == size else None


def _read(folder: int, name: str) -> bytes:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def _last_new_oid(data: bytes) -> str | None:
    """The commit the last line of a reflog moved its ref to."""
    lines = data.rstrip(b"\n").split(b"\n")
    fields = lines[-1].split(b" ", 2) if lines and lines[-1] else []
    return fields[1].decode("ascii", "replace") if len(fields) == 3 else None
