"""Files of the git dir that git itself opens at (nearly) every command, where a FIFO, a socket
or a device would keep it waiting for ever, and a link would have it read outside the
repository: looked at with lstat before git is asked anything (never opened).

- `HEAD` (every git finds the repository by it), `commondir` of a linked worktree (where its
  shared git dir is), `packed-refs` (every ref read), `objects/info/alternates` (every object
  looked up): `check` refuses one of these, by name, before any git process runs (discovery.py).
  So is a link there to a file (git would read it), and at the other files of the git dir git
  reads through a link at nearly every command, `shallow` and `info/attributes`: a `status`,
  a `log`, the first `for-each-ref` of a `begin` or a hook call read them before a capture
  could refuse them. A link at `packed-refs` at the start of a command only: `abort` and
  `recover` set one aside where an operation is open, and a rollback under way before it reads
  a ref (gitlinks.py).
  A HEAD that is not a HEAD is what git itself refuses ("not a git repository"): said as such,
  so that `abort` and `recover` set it aside and put the operation's HEAD back (gitlinks.py).
- `index`, and the `sharedindex.*` file a split index names: git reads them in most commands,
  but a rollback must get past one an operation left (it puts a regular index back), so they
  are not refused here. `index_blocked` says when git must not be given them: every git call
  of ours is then pointed at no index at all (gitrunner.py), and a capture that would start an
  operation from it refuses (snapshot.py).

A few lstats of known names per command, and one per git call for the index (with an lstat of
the git dir, whose listing is read again only when it changed).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

from git_atomic.core.errors import NotARepository, RefusedError

_SHARED: Final = "sharedindex."


def kind_of(mode: int) -> str:
    """What a file of this mode is, in words, for one that is not a regular file."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a device"


def _waits(mode: int) -> bool:
    """Whether git, opening a file of this mode to read it, may wait for ever."""
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode)


def _what(mode: int) -> str:
    reads = "read through it" if stat.S_ISLNK(mode) else "wait for ever reading it"
    return f"{kind_of(mode)}: git would {reads}"


def _shown(path: Path, root: Path | None) -> str:
    if root is not None and path.is_relative_to(root / ".git"):
        return str(path.relative_to(root))
    return os.fsdecode(path)


def _hint(shown: str) -> str:
    if shown.endswith("commondir"):  # its text is git's: the shared git dir, from here
        return (
            "where an operation open here (`begin`, an interrupted `run`) made it, `git "
            "atomic abort` (or `recover`) sets it aside and writes it again; otherwise "
            f"make {shown} a regular file again holding the shared git dir's path, as git "
            f"wrote it (`printf '../..\\n' > {shown}` for a worktree `git worktree add` made), "
            "then run this again"
        )
    return (
        f"make {shown} a regular file again (as git wrote it), then run "
        "this again (`git atomic recover` where an operation was interrupted)"
    )


class ForeignPackedRefs(RefusedError):
    """`packed-refs` is no file of git's (a link, a FIFO, a device, a folder) at the start of a
    command: git would read every ref through it, wait for ever, or fail. `abort` and `recover`
    set it aside where an operation is open (gitlinks.py) and go on."""


# Files of the common git dir git reads through a link at nearly every command, a link there
# refused whatever it leads to (before, a capture refused it, after a `git status`, a `git log`
# or a `for-each-ref` of ours had read what it names): every object looked up, every history
# walked, every diff's attributes.
_READ_THROUGH: Final = ("objects/info/alternates", "shallow", "info/attributes")


def check(
    git_dir: Path, common_dir: Path, root: Path | None, *, head: bool, aside: bool = False
) -> None:
    """Refuse (exit 3, nothing read or changed) a file git opens at every command that would
    keep it waiting for ever or that it would read through a link. `root`: the worktree, to
    show `.git/HEAD` as a person finds it (None where it is not known yet). `head`: at the
    start of a command, before git is asked where the repository is: HEAD too, and a
    `packed-refs` that is no regular file, whatever it is (ForeignPackedRefs). `aside`: the
    caller sets such a `packed-refs` aside before git reads a ref (a capture, a rollback:
    gitlinks.py), so it is not refused."""
    if head:
        _check_head(git_dir, root)
    packed = common_dir / "packed-refs"
    try:
        mode = os.lstat(packed).st_mode
    except OSError:
        mode = stat.S_IFREG  # none: git reads none
    if not stat.S_ISREG(mode):
        if head:
            raise _foreign_refs(_shown(packed, root), _packed_kind(packed, mode))
        if aside:
            mode = stat.S_IFREG
    # (`commondir` looked at also where it made the git dir seem a repository's own: one that
    # is no regular file is not read by gitdirsearch.find_git_dirs.)
    places = [
        *([packed] if not stat.S_ISREG(mode) else []),
        *(common_dir / name for name in _READ_THROUGH),
        git_dir / "commondir",
    ]
    for path in places:
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            continue  # none (or not ours to look at): git reads none either
        if stat.S_ISLNK(mode) and path.name not in ("commondir", "packed-refs"):
            # Refused from its `lstat`: what it names is never looked at, not even by `stat`
            # (a FIFO, a device, a file outside, nothing: git would read through it).
            _refuse(path, root, kind_of(mode), waits=False)
        elif stat.S_ISLNK(mode) and path.name == "packed-refs":
            # One to a FIFO or a device keeps git waiting: looked at with stat, which reads
            # nothing of it; any other a capture sets aside before git reads a ref
            # (gitlinks.py). The one `stat` through a link left (docs/limits.md).
            try:
                target = os.stat(path).st_mode
            except OSError:
                continue  # leads nowhere: git reads nothing
            if _waits(target):
                _refuse(path, root, f"a symbolic link to {kind_of(target)}", waits=True)
        elif _waits(mode) or stat.S_ISLNK(mode):
            _refuse(path, root, kind_of(mode), waits=_waits(mode))
        elif stat.S_ISDIR(mode) and path.name == "commondir":
            # git says at once that it cannot read it, and refuses the repository: named here
            # rather than as a configuration an operation changed.
            _refuse(path, root, kind_of(mode), waits=False, does="cannot read it")
        # (a regular file; a folder elsewhere, which git says it cannot read, at once)


def _refuse(
    path: Path, root: Path | None, kind: str, *, waits: bool, does: str | None = None
) -> None:
    shown = _shown(path, root)
    if does is None:
        does = "would wait for ever reading it" if waits else "would read through it"
    raise RefusedError(
        f"this repository's {shown} is {kind}: git {does} at every command; nothing was "
        "read or changed",
        hint=_hint(shown),
    )


def _packed_kind(path: Path, mode: int) -> str:
    if not stat.S_ISLNK(mode):
        return kind_of(mode)
    try:
        target = os.stat(path).st_mode  # stat reads nothing of it
    except OSError:
        return "a symbolic link that leads nowhere"
    return "a symbolic link" + ("" if stat.S_ISREG(target) else f" to {kind_of(target)}")


def _foreign_refs(shown: str, kind: str) -> ForeignPackedRefs:
    if kind == "a symbolic link":
        does = "would read every ref through it, outside this repository"
    elif "nowhere" in kind:
        does = "would write refs through it, outside this repository"
    elif kind.endswith("a folder"):
        does = "cannot read the refs in it"
    else:
        does = "would wait for ever reading it"
    return ForeignPackedRefs(
        f"this repository's {shown} is {kind}: git {does}; nothing was read or changed",
        hint=f"where an operation open here (`begin`, an interrupted `run`) made it, `git atomic "
        f"abort` (or `recover`) sets it aside; otherwise make {shown} a regular file again (a "
        "link: one holding what it points to), then run this again",
    )


def _check_head(git_dir: Path, root: Path | None) -> None:
    """A HEAD git would wait on (a FIFO, a device) or read through a link (to anything but
    `refs/...`, git's own symbolic ref): git refuses the repository all the same, or should."""
    path = git_dir / "HEAD"
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return  # none: git says it is no repository, at once
    if stat.S_ISLNK(mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = ""
        if target.startswith("refs/") and ".." not in target.split("/"):
            return  # core.preferSymlinkRefs: git's own, inside the git dir
    elif not _waits(mode):
        return
    shown = _shown(path, root)
    raise NotARepository(
        f"this worktree's {shown} is {kind_of(mode)}: git would "
        + ("read through it" if stat.S_ISLNK(mode) else "wait for ever reading it")
        + ", so it is no repository to git; nothing was read or changed",
        hint=f"where an operation is open here, `git atomic abort` (or `recover`) puts its "
        f"HEAD back; otherwise {_hint(shown)}",
    )


# The git dir's last answer: (its lstat key, the index's) -> what blocks the index.
_blocked: dict[tuple[tuple[int, ...], tuple[int, ...]], str | None] = {}


def index_blocked(git_dir: Path) -> str | None:
    """Where git must not read the worktree's index: `index` (`git_dir/index`) or its shared
    index is a FIFO, a socket, a device (git would wait for ever) or a link (git would read
    through it): that file and what it is, in words; None where git may read it (a regular
    file, none, or a folder, which git says it cannot read)."""
    index = git_dir / "index"
    try:
        st = os.lstat(index)
    except OSError:
        return None
    if stat.S_ISLNK(st.st_mode) or _waits(st.st_mode):
        return f"{index} is {_what(st.st_mode)}"
    if not stat.S_ISREG(st.st_mode):
        return None
    try:
        folder = os.lstat(git_dir)
    except OSError:
        return None
    key = (
        (folder.st_ino, folder.st_mtime_ns, folder.st_ctime_ns),
        (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns),
    )
    if key not in _blocked:
        if len(_blocked) > 16:
            _blocked.clear()
        _blocked[key] = _shared_blocked(git_dir, index)
    return _blocked[key]


def _shared_blocked(git_dir: Path, index: Path) -> str | None:
    """A `sharedindex.*` of the git dir that is no regular file and that the index names."""
    odd: dict[bytes, tuple[Path, int]] = {}
    try:
        with os.scandir(git_dir) as found:
            for entry in found:
                if entry.name.startswith(_SHARED) and not entry.is_file(follow_symlinks=False):
                    try:
                        oid = bytes.fromhex(entry.name[len(_SHARED) :])
                        mode = entry.stat(follow_symlinks=False).st_mode
                    except (ValueError, OSError):
                        continue
                    if stat.S_ISLNK(mode) or _waits(mode):
                        odd[oid] = (Path(entry.path), mode)
    except OSError:
        return None
    if not odd:
        return None
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        with open(os.open(index, flags), "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    for oid, (path, mode) in odd.items():
        if oid and oid in data:
            return f"{path}, the shared index of {index}, is {_what(mode)}"
    return None


def no_index(state_dir: Path) -> str:
    """A name at which no index is, nor can be written (its folder is never made): git given
    it reads no index, and writes none."""
    return str(state_dir / "tmp" / "no-index" / "index")
