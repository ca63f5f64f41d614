"""The system's attributes file, which git reads before every other one (git-facts 7): its
rules (`* text eol=crlf`, a macro a `.gitattributes` of yours uses) convert files as yours do.

Where it is depends on how that git was built: `$(sysconfdir)/gitattributes`, that is
`/etc/gitattributes` for a git installed in `/usr` (a distribution's), `<prefix>/etc/` for
another prefix, found beside the program where git was built with RUNTIME_PREFIX. Not read
where GIT_ATTR_NOSYSTEM is true. git 2.42 and later say where (`git var GIT_ATTR_SYSTEM`); an
older git is asked where its system configuration file is, which its Makefile puts in the same
folder (`$(sysconfdir)/gitconfig`): `git config --system --edit` with `printf` for its editor
(nothing is edited, nothing written), or, where that folder is not there, the name git's
refusal to read the file gives. A git that answers neither counts as one whose system file
converts (`UNKNOWN`): every capture then reads the files' raw bytes, which is exact.

Asked once per git program: kept in `.git/atomic/system-attributes`, by the identity of the git
`PATH` finds (foundmemo.program: another git, or an upgraded one, is asked again), and in this
process; a capture looks at the file itself each time (one `open`, and its read where it is there),
so one made or changed since counts at once.

Where git is told to read the `.gitattributes` from a tree, not from the worktree
(`GIT_ATTR_SOURCE`, which `git --attr-source=<tree> atomic` sets too, git 2.41; `attr.tree`,
git 2.43), the rules there are not read here: a conversion is counted as possible
(`from_tree`). An older git reads neither; counting them costs that capture time, never
exactness."""

from __future__ import annotations

import contextlib
import os
import stat
from typing import Final

from git_atomic.core import process, wholefile
from git_atomic.engine import foundmemo, gitconfig
from git_atomic.engine.git import Repo

UNKNOWN: Final = ""  # the git found said nowhere where its system file is
_NAME: Final = "system-attributes"
_TAG: Final = b"git-atomic system attributes 1\n"
_REFUSED: Final = b"unable to read config file '"  # git's words, under LC_ALL=C (process.py)
_MOST: Final = 1 << 20  # the file's bytes read to look for a conversion; past this, counted as one
_known: dict[tuple[object, ...], str] = {}


def read_by_git() -> bool:
    """Whether git reads a system attributes file at all (GIT_ATTR_NOSYSTEM not true, as git
    reads a boolean)."""
    value = os.environ.get("GIT_ATTR_NOSYSTEM")
    return value is None or not gitconfig.git_bool(value)


def path(repo: Repo) -> str | None:
    """The system attributes file the git `PATH` finds reads; None where it reads none
    (GIT_ATTR_NOSYSTEM), `UNKNOWN` where that git would not say."""
    if not read_by_git():
        return None
    program = foundmemo.program()
    if program in _known:
        return _known[program]
    key = _TAG + repr(program).encode("utf-8", "surrogateescape") + b"\n"
    memo = repo.state_dir / _NAME
    try:  # never through a link, never waited on (a state file: wholefile.py)
        data = wholefile.read(memo, limit=1 << 16)
    except OSError:
        data = b""
    if data.startswith(key) and data.endswith(b"\n"):
        found = os.fsdecode(data[len(key) : -1])
    else:
        found = _asked(str(repo.root))
        # A cache: not kept, the next capture asks again (a dry run's is kept nowhere).
        with contextlib.suppress(OSError):
            if repo.quarantine is None:
                wholefile.replace(memo, key + os.fsencode(found) + b"\n", durable=False)
    _known[program] = found
    return found


def _asked(cwd: str) -> str:
    """Where git says its system attributes file is (module docstring); `UNKNOWN` where it
    does not. A system configuration file named by GIT_CONFIG_SYSTEM is not the one beside it:
    not given to these calls."""
    said = process.git(["var", "GIT_ATTR_SYSTEM"], cwd=cwd, check=False)
    if said.returncode == 0 and said.stdout.strip():
        return os.fsdecode(said.stdout.removesuffix(b"\n"))
    config = process.git(
        ["config", "--system", "--edit"],
        cwd=cwd,
        env={"GIT_EDITOR": "printf %s"},
        check=False,
        unset=("GIT_CONFIG_SYSTEM",),
    )
    named = config.stdout if config.returncode == 0 else b""
    if not named:
        listed = process.git(
            ["config", "--system", "--list"], cwd=cwd, check=False, unset=("GIT_CONFIG_SYSTEM",)
        )
        refused = listed.stderr.partition(_REFUSED)[2] if listed.returncode != 0 else b""
        named = refused.rpartition(b"': ")[0]
    if not named.startswith(b"/") or b"\n" in named:
        return UNKNOWN
    return os.fsdecode(os.path.join(os.path.dirname(named), b"gitattributes"))


def mentions(repo: Repo, words: tuple[bytes, ...]) -> bool:
    """Whether the system attributes file git reads may ask for a conversion: it names one of
    `words` (a substring, as conversion.py reads every attributes file), cannot be read as a
    regular file (git waits on a FIFO, which stalls.py does not refuse here), or the git
    found would not say where it is."""
    found = path(repo)
    if found is None:
        return False
    if found == UNKNOWN:
        return True
    try:  # (followed through a link, as git follows it; never waited on)
        fd = os.open(found, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError, PermissionError, ValueError):
        return False  # nothing there, or nothing git reads either (it opens it as we do)
    except OSError:
        return True
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return True
        data = os.read(fd, _MOST + 1)
    except OSError:
        return True
    finally:
        os.close(fd)
    return len(data) > _MOST or any(word in data for word in words)


def from_tree(repo: Repo) -> bool:
    """Whether git is told to read the `.gitattributes` from a tree (module docstring)."""
    return "GIT_ATTR_SOURCE" in os.environ or repo.config("attr.tree") is not None
