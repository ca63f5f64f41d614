"""The system's attributes file, which git reads before every other one (git-facts 7): its
rules (`* text eol=crlf`, a macro a `.gitattributes` of yours uses) convert files as yours do.

Where it is depends on how that git was built (ETC_GITATTRIBUTES): `$(sysconfdir)/
gitattributes`, that is `/etc/gitattributes` for a git installed in `/usr` (a distribution's),
`<prefix>/etc/gitattributes` for another prefix, found from the program's own place where git
was built with RUNTIME_PREFIX. Not read where GIT_ATTR_NOSYSTEM is true.

git 2.42 and later say where (`git var GIT_ATTR_SYSTEM`). An older git says it nowhere, and
two places stand for it (`places`), each as git's Makefile derives it:
- beside its system configuration file, which the Makefile puts in the same folder
  (`$(sysconfdir)/gitconfig`): `git config --system --edit` with `printf` for its editor
  names that file (nothing is edited, nothing written), or, where its folder is not there,
  git's refusal to read it does (`config --system --list`);
- `etc/gitattributes` of the prefix its `--exec-path` is in (`<prefix>/libexec/git-core`,
  Debian's `/usr/lib/git-core`), `/etc/` for `/usr`: a build that put its configuration file
  elsewhere (`ETC_GITCONFIG=share/git-core/gitconfig`) keeps this one there.
The system's rules are those of every place that names a conversion: one place too many
costs a capture time only where a file stands there. A git that names no place at all counts
as one whose system file converts: every capture then reads the files' raw bytes (exact).

Asked once per git program: kept in `.git/atomic/system-attributes`, by the identity of the git
`PATH` finds (foundmemo.program: another git, or an upgraded one, is asked again), and in this
process; a capture looks at the file itself each time (an `open`, and its read where it is
there), so one made or changed since counts at once.

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

_NAME: Final = "system-attributes"
_TAG: Final = b"git-atomic system attributes 2\n"
_REFUSED: Final = b"unable to read config file '"  # git's words, under LC_ALL=C (process.py)
_EXEC_DIRS: Final = (b"/libexec/git-core", b"/lib/git-core")  # gitexecdir under its prefix
# Where a system configuration file or the programs' folder is not ours to ask for: git's.
_NOT_THESE: Final = ("GIT_CONFIG_SYSTEM", "GIT_EXEC_PATH")
_MOST: Final = 1 << 20  # the file's bytes read to look for a conversion; past this, counted as one
_known: dict[tuple[object, ...], tuple[str, ...]] = {}


def read_by_git() -> bool:
    """Whether git reads a system attributes file at all (GIT_ATTR_NOSYSTEM not true, as git
    reads a boolean)."""
    value = os.environ.get("GIT_ATTR_NOSYSTEM")
    return value is None or not gitconfig.git_bool(value)


def places(repo: Repo) -> tuple[str, ...] | None:
    """Where the system attributes file of the git `PATH` finds is (one place, or the two an
    older git may mean: module docstring); None where git reads none (GIT_ATTR_NOSYSTEM), ()
    where that git names no place at all."""
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
        body = data[len(key) : -1]
        found = tuple(os.fsdecode(p) for p in body.split(b"\0")) if body else ()
    else:
        found = _asked(str(repo.root))
        body = b"\0".join(os.fsencode(p) for p in found)
        # A cache: not kept, the next capture asks again (a dry run's is kept nowhere).
        with contextlib.suppress(OSError):
            if repo.quarantine is None:
                wholefile.replace(memo, key + body + b"\n", durable=False)
    _known[program] = found
    return found


def _asked(cwd: str) -> tuple[str, ...]:
    """Where git says its system attributes file is, or the places an older git may mean
    (module docstring). The variables that name another system configuration file or another
    programs' folder than the build's are not given to these calls."""
    said = process.git(["var", "GIT_ATTR_SYSTEM"], cwd=cwd, check=False)
    if said.returncode == 0 and said.stdout.strip():
        return (os.fsdecode(said.stdout.removesuffix(b"\n")),)
    edit = {"GIT_EDITOR": "printf %s"}
    config = process.git(
        ["config", "--system", "--edit"], cwd=cwd, env=edit, check=False, unset=_NOT_THESE
    )
    named = config.stdout if config.returncode == 0 else b""
    if not named:
        listed = process.git(
            ["config", "--system", "--list"], cwd=cwd, check=False, unset=_NOT_THESE
        )
        refused = listed.stderr.partition(_REFUSED)[2] if listed.returncode != 0 else b""
        named = refused.rpartition(b"': ")[0]
    found = [os.path.join(os.path.dirname(named), b"gitattributes")]
    programs = process.git(["--exec-path"], cwd=cwd, check=False, unset=_NOT_THESE).stdout
    programs = programs.removesuffix(b"\n").rstrip(b"/")
    for folder in _EXEC_DIRS:
        if programs.endswith(folder):
            prefix = programs[: -len(folder)]
            found.append(
                b"/etc/gitattributes" if prefix == b"/usr" else prefix + b"/etc/gitattributes"
            )
    kept = [p for p in found if p.startswith(b"/") and b"\n" not in p and b"\0" not in p]
    return tuple(os.fsdecode(p) for p in dict.fromkeys(kept))


def mentions(repo: Repo, words: tuple[bytes, ...]) -> bool:
    """Whether the system attributes file git reads may ask for a conversion: one of its
    places holds one of `words` (a substring, as conversion.py reads every attributes file)
    or cannot be read as a regular file (git waits on a FIFO, which stalls.py does not refuse
    here), or the git found names no place."""
    found = places(repo)
    if found is None:
        return False
    return not found or any(_mentions(place, words) for place in found)


def _mentions(place: str, words: tuple[bytes, ...]) -> bool:
    try:  # (followed through a link, as git follows it; never waited on)
        fd = os.open(place, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
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
