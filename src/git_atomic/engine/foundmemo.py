"""Discovery's answer and the configuration, remembered between an agent's hook calls (and
`begin`, `run` and `abort`'s, before their lock: early.py).

Every hook call asks git where the repository of its folder is (`rev-parse`) and what is
configured (`config --list`): two processes of a later `PreToolUse`'s two, of a `PostToolUse`'s
four. Their answers are kept in a file of ours (`.git/atomic/found-<folder's hash>`) with
everything they depend on, read before git was asked (`key`), and used again only while all
of it reads the same, byte for byte (never a file's times):

- the folder, as given and resolved, and for each folder between it and the one whose `.git`
  git finds, that it holds no `.git` git would take nor a `HEAD` (a git dir git would take
  for a bare repository);
- the variables git reads (every `GIT_*` but its tracing, a commit's identity and ours,
  `HOME`, `XDG_CONFIG_HOME`, `PATH`, `SUDO_UID`), the user we run as, and the git program
  `PATH` finds (its inode, size and times: another git, or an upgraded one, is asked again);
- the `.git` found (its kind and owner, a `gitdir:` file's text, a link's target), the owners
  of the worktree's folder and of its git dir (`safe.directory`), the git dir's `HEAD` (its
  text: a branch switched, a detached HEAD), its `commondir`, and that the shared git dir's
  `objects` and `refs` are there (what makes a git dir one for git);
- every configuration file git reads (the system's, yours, the repository's, the worktree's
  `config.worktree`): their bytes, or that there is none.

A configuration that includes anything (`include.path`, `includeIf`: in one of those files or
in `GIT_CONFIG_*`) is never remembered: what it reads then depends on more. Nor is a folder git
is pointed at by GIT_DIR or GIT_WORK_TREE, nor an answer git refused. And what is remembered is
used only where the git dirs git named are the ones found here without git (gitdirsearch.py).

The file holds the key's SHA-256, never the key (it has your configuration's bytes and the
`GIT_*` variables' values), and a configuration that holds a credential (a URL with a user
part, `https://user:token@host/`, or a setting named for a password, token, secret or an
extra header) is never kept: nothing of ours copies a token out of your configuration.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from pathlib import Path
from typing import Final

from git_atomic.core import patterns
from git_atomic.engine import configfiles, objectformat

_TAG: Final = b"git-atomic found 2\n"
_MOST: Final = 1 << 20  # a configuration file read whole for the key; past this: not kept
_LEVELS: Final = 64
# Variables of git's that change no answer of `rev-parse` or `config` (and ours): its
# tracing, and who makes a commit and when (GIT_AUTHOR_NAME/EMAIL/DATE, GIT_COMMITTER_...:
# `git help git` ENVIRONMENT, "Git Commits"), read only where git writes a commit, a tag or a
# reflog entry, and read by us from the environment where we write one (gitconfig.py,
# commitbody.py), never from what is kept here. An agent that sets them per call (its own
# identity, a fixed date) is no new repository. Any other GIT_* variable stays in the key.
_IGNORED_PREFIXES: Final = ("GIT_TRACE", "GIT_ATOMIC_", "GIT_AUTHOR_", "GIT_COMMITTER_")
_OTHER_VARIABLES: Final = ("HOME", "XDG_CONFIG_HOME", "PATH", "SUDO_UID")
# What in `config -z --list` (`name\nvalue\0`) may be a credential: a URL with a user part,
# or a setting named for one. Compiled where discovery's answer is kept, not by every hook
# call's import (core/patterns.py; `(?i)`: its flags are re's default).
_CREDENTIAL: Final = patterns.keep(
    rb"(?i)://[^/@\s\0]*@|(?:^|\0)[^\n\0]*(?:password|token|secret|extraheader)[^\n\0]*\n"
)


class Found:
    """What discovery found from a folder, as kept: the three paths and `config -z --list`."""

    def __init__(self, root: bytes, git_dir: bytes, common_dir: bytes, config: bytes) -> None:
        self.root, self.git_dir, self.common_dir, self.config = root, git_dir, common_dir, config


def key(start: str, found: tuple[Path, Path] | None) -> bytes | None:
    """Everything git's answers from `start` depend on (module doc), read now; None where they
    are not remembered. `found`: the git dirs `find_git_dirs(start, as_git=True)` found."""
    if found is None or os.environ.get("GIT_DIR") or os.environ.get("GIT_WORK_TREE"):
        return None
    git_dir, common = found
    parts: list[object] = [start]
    real = os.path.realpath(start)
    parts.append(real)
    env = sorted(
        (name, value)
        for name, value in os.environ.items()
        if (name.startswith("GIT_") and not name.startswith(_IGNORED_PREFIXES))
        or name in _OTHER_VARIABLES
    )
    if any("include" in f"{n}={v}".lower() for n, v in env if n.startswith("GIT_CONFIG")):
        return None
    parts += [env, os.geteuid(), program()]
    folder = Path(real)
    for _ in range(_LEVELS):
        dot = _kind(folder / ".git", follow=True)
        if dot in (stat.S_IFDIR, stat.S_IFREG):
            break
        if os.path.lexists(folder / "HEAD") or folder.parent == folder:
            return None  # a folder git may take for a git dir; or none found
        parts.append((str(folder), dot))
        folder = folder.parent
    else:
        return None
    parts += [str(folder), _owner(folder), _entry(folder / ".git")]
    parts += [_owner(git_dir), _entry(git_dir / "HEAD"), _entry(git_dir / "commondir")]
    parts += [os.access(common / name, os.X_OK) for name in ("objects", "refs")]
    files = configfiles.config_files(common, git_dir)
    system = os.environ.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig"
    for file in dict.fromkeys([*files, system]):
        text = _text(file)
        if text is False:
            return None
        if isinstance(text, bytes) and b"include" in text.lower():
            return None
        parts.append((file, text))
    return _TAG + repr(parts).encode("utf-8", "surrogateescape")


def recall(common: Path, start: str, known: bytes) -> Found | None:
    """What was kept for `start` under the key `known`; None where nothing was, or another."""
    data = _read(_place(common, start), follow=False)
    if data is None or not data.startswith(_TAG):
        return None
    digest, _, rest = data[len(_TAG) :].partition(b"\n")
    if digest != _digest(known):
        return None
    fields = rest.split(b"\0", 3)
    if len(fields) != 4:
        return None
    return Found(*fields)


def keep(common: Path, start: str, known: bytes, found: Found) -> None:
    """Keep `found` under `known` (its key read before git was asked), where our folder is
    (never made here); nothing where it cannot be written."""
    folder = common / "atomic"
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return
    except OSError:
        return
    place = _place(common, start)
    if re.search(_CREDENTIAL, found.config):  # (one kept before it was there goes)
        with contextlib.suppress(OSError):
            os.unlink(place)
        return
    data = b"".join(
        [
            _TAG,
            _digest(known),
            b"\n",
            b"\0".join([found.root, found.git_dir, found.common_dir, found.config]),
        ]
    )
    tmp = place.with_name(f"{place.name}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, place)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _digest(known: bytes) -> bytes:
    return objectformat.sha256_hex(known).encode()


def _place(common: Path, start: str) -> Path:
    name = objectformat.sha256_hex(os.fsencode(start))[:24]
    return common / "atomic" / f"found-{name}"


def _read(path: Path | str, most: int = 4 * _MOST, *, follow: bool = True) -> bytes | None:
    """A regular file's bytes (never a FIFO's wait: opened without blocking); None where it is
    not one or is longer than `most`. `follow`: through a link (your configuration files, as git
    reads them), else never (a file of ours)."""
    nofollow = 0 if follow else os.O_NOFOLLOW
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | nofollow)
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > most:
            return None
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(most + 1)
        return data if len(data) <= most else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _text(file: str) -> bytes | int | bool | None:
    """A configuration file as git reads it: its bytes; None where there is none; its kind
    where it is not a regular file; False where it is too long to key on."""
    kind = _kind(Path(file), follow=True)
    if kind is None or kind != stat.S_IFREG:
        return kind
    data = _read(file, _MOST)
    return False if data is None else data


def _kind(path: Path, *, follow: bool) -> int | None:
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except (OSError, ValueError):
        return None
    return stat.S_IFMT(st.st_mode)


def _owner(path: Path) -> int | None:
    try:
        return os.stat(path).st_uid
    except OSError:
        return None


def _entry(path: Path) -> tuple[object, ...]:
    """A file as git takes it: its kind and owner, a link's target, a regular file's text."""
    try:
        st = os.lstat(path)
    except OSError:
        return (None,)
    kind = stat.S_IFMT(st.st_mode)
    if kind == stat.S_IFLNK:
        try:
            return (kind, st.st_uid, os.readlink(path))
        except OSError:
            return (kind, st.st_uid, None)
    if kind == stat.S_IFREG:
        return (kind, st.st_uid, _read(path, _MOST, follow=False))
    return (kind, st.st_uid)


def program() -> tuple[object, ...]:
    """The git `PATH` finds (as the processes we start find it), by its file's identity."""
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        path = os.path.join(folder or ".", "git")
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            continue
        if stat.S_ISREG(st.st_mode) and os.access(path, os.X_OK):
            return (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return ()
