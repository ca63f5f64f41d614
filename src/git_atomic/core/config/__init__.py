"""The configuration: `.git-atomic.toml`, or `[tool.git-atomic]` in pyproject.toml, validated.

Where it is read from is here; what it holds is schema.py, its check reader.py, and the gates
given on the command line commandline.py. Every name the rest of git-atomic uses is imported
from this package.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

from git_atomic.core.config.commandline import (
    command_line_gates,
    gate_from_command_line,
    gates_to_run,
    parse_ok_exit,
)
from git_atomic.core.config.reader import ConfigReader
from git_atomic.core.config.schema import (
    DEFAULT_MAX_NEW_FILE_SIZE,
    Config,
    CoverageRule,
    GateSpec,
    TddConfig,
)
from git_atomic.core.errors import ConfigError, UsageError

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_MAX_NEW_FILE_SIZE",
    "PYPROJECT_FILE",
    "PYPROJECT_TABLE",
    "Config",
    "CoverageRule",
    "GateSpec",
    "TddConfig",
    "capture_settings",
    "command_line_gates",
    "gate_from_command_line",
    "gates_to_run",
    "load_config",
    "parse_ok_exit",
]

CONFIG_FILE: Final = ".git-atomic.toml"
PYPROJECT_FILE: Final = "pyproject.toml"
PYPROJECT_TABLE: Final = "tool.git-atomic"


def load_config(root: Path) -> Config:
    """The configuration of the repository whose top level is `root`; defaults if it has none."""
    own = root / CONFIG_FILE
    if _there(own):
        return ConfigReader(own, prefix="").config(_parse(own, CONFIG_FILE))
    pyproject = root / PYPROJECT_FILE
    if not _there(pyproject):
        return Config()
    data = _parse(pyproject, PYPROJECT_FILE, only_if_mentioned=True)
    tool = data.get("tool")
    section = tool.get("git-atomic") if isinstance(tool, dict) else None
    if section is None:
        return Config()
    reader = ConfigReader(pyproject, prefix=PYPROJECT_TABLE)
    if not isinstance(section, dict):
        reader.fail("", "expected a table", section)
    return reader.config(section)


def budget_of(own: bytes | None, pyproject: bytes | None) -> int | None:
    """`max_new_file_size` as configuration files of these bytes say (a checkpoint's, not the
    disk's); the default when they say nothing or cannot be read."""
    import tomllib

    from git_atomic.core.bomtext import utf8_text

    try:
        if own is not None:
            data = tomllib.loads(utf8_text(own))
            return ConfigReader(Path(CONFIG_FILE), prefix="").config(data).max_new_file_size
        if pyproject is not None and _may_name_us(pyproject):
            tool = tomllib.loads(utf8_text(pyproject)).get("tool")
            section = tool.get("git-atomic") if isinstance(tool, dict) else None
            if isinstance(section, dict):
                reader = ConfigReader(Path(PYPROJECT_FILE), prefix=PYPROJECT_TABLE)
                return reader.config(section).max_new_file_size
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, UsageError):
        pass
    return DEFAULT_MAX_NEW_FILE_SIZE


_capture_memo: dict[tuple[Path, int, int], tuple[int | None, tuple[str, ...]]] = {}


def capture_settings(root: Path) -> tuple[int | None, tuple[str, ...]]:
    """`max_new_file_size` and `protect`, for a capture: never an error (a malformed
    configuration is refused by the command that reads it; a rescue must still be taken)."""
    for name in (CONFIG_FILE, PYPROJECT_FILE):
        st = _looked_at(root / name)
        if st is None:
            continue
        key = (root / name, st.st_mtime_ns, st.st_size)
        if key not in _capture_memo:
            try:
                config = load_config(root)
            except UsageError:
                config = Config()
            _capture_memo[key] = (config.max_new_file_size, config.protect)
        return _capture_memo[key]
    return DEFAULT_MAX_NEW_FILE_SIZE, ()


def _looked_at(path: Path) -> os.stat_result | None:
    """The file at `path` (a file of the worktree's top), as `stat` sees it where it is in the
    worktree; a link out of it is looked at itself (`lstat`), never what it names. None: none."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISLNK(st.st_mode):
        return st
    from git_atomic.core import linkplace  # (a link there only: off the hot path)

    top = os.path.realpath(path.parent)
    rel = linkplace.within(top, os.path.join(top, path.name))
    try:
        return st if rel is None else os.lstat(os.path.join(top, rel))
    except OSError:
        return None  # a link to nothing in the worktree: as `exists()` said, none


def _linked(path: Path) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def _there(path: Path) -> bool:
    """Whether the configuration file is there: one that is a link out of the worktree is (it
    is then refused by name, unread), one that leads to nothing in it is not."""
    return _looked_at(path) is not None


def _parse(path: Path, label: str, *, only_if_mentioned: bool = False) -> dict[str, object]:
    import errno

    from git_atomic.core import wholefile

    # Never read through a link out of the worktree (an operation can make the file one: a
    # limit read from elsewhere would govern what its own rollback holds), nor a FIFO; where a
    # link leads is worked out from its text, nothing outside looked at (core/linkplace.py). A
    # link in it is read as the file it names: that file's real path, opened folder by folder
    # from the top with no link followed, so a link swapped in after the check is never read
    # through.
    top = os.path.realpath(path.parent)
    rel: str | None = path.name
    real = os.path.join(top, path.name)
    if _linked(path):
        from git_atomic.core import linkplace  # (a link there only: off the hot path)

        rel, real = linkplace.placed(top, real)
    if rel is None:
        if only_if_mentioned:
            return {}  # a project file of yours, shared from elsewhere: never ours to read
        raise ConfigError(f"{label}: a link to {real}, outside the worktree: not read")
    try:
        raw = wholefile.read_beneath(top, rel)
    except OSError as e:
        if e.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise ConfigError(f"{label}: cannot read: {e.strerror or e}") from None
        if only_if_mentioned:
            return {}
        raise ConfigError(f"{label}: a link came on its way while it was read: not read") from None
    if only_if_mentioned and not _may_name_us(raw):
        return {}  # (the parser's import alone costs 4 to 6 ms of a command's start)
    known = _parsed_before(raw, top)
    if known is not None:
        return known
    import tomllib

    from git_atomic.core.bomtext import utf8_text

    try:
        # Past a byte order mark (Notepad's, PowerShell's `Out-File`), which tomllib takes for
        # an invalid statement: the configuration was refused, and every operation with it.
        data = tomllib.loads(utf8_text(raw))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        # A pyproject.toml that never mentions us is someone else's problem: no gate is lost
        # by ignoring it, and refusing would block every operation in that repository.
        if only_if_mentioned and b"git-atomic" not in raw:
            return {}
        what = "not UTF-8" if isinstance(e, UnicodeDecodeError) else str(e)
        raise ConfigError(f"{label}: invalid TOML: {what}") from None
    _remember_parsed(raw, data, top)
    return data


# A file's parse is kept in your cache folder, under its bytes: the parser's import costs a
# command that reads the configuration 5 to 8 ms, a cached parse a small file's read. An entry
# is used only for the very bytes it was made from (compared whole), so it is never stale;
# one that cannot be read is parsed anew. TOML dates and times are not kept (marshal has none).
# The cache folder (`$XDG_CACHE_HOME`, `~/.cache`) is yours, followed as any program keeping a
# cache there follows it (often a link to another disk), unless that link is a name of the
# worktree (your dot files' repository, `_through`); its `git-atomic` folder is ours: one
# that is a link, or not your own, is no cache. Entries are state files (wholefile.py): read
# and written never through a link, under an aside name made anew.
_CACHE_VERSION: Final = b"git-atomic config cache 1\n"
_CACHE_LIMIT: Final = 1 << 24


def _cache_file(raw: bytes, top: str | None = None) -> Path | None:
    """Where the parse of `raw` is kept; None where the cache folder is in the worktree at
    `top`, when given (a repository of your dot files, your home folder its worktree): a file
    we wrote there would be taken for the operation's (committed in commits mode, left
    untracked). So is one reached through the worktree (`~/.cache` a link of it to another
    disk): nothing outside the worktree is written through a link of the worktree."""
    import os
    import zlib

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base) or (top is not None and _through(os.path.normpath(base), top)):
        return None
    return Path(base) / "git-atomic" / f"config-{zlib.crc32(raw):08x}-{len(raw)}"


def _through(path: str, top: str) -> bool:
    """Whether `path` or a folder above it is, once its links are followed, the folder `top`
    or in it: then `path` is reached by way of a name of that worktree."""
    import os

    inside = top.rstrip("/") + "/"
    while True:
        if (os.path.realpath(path) + "/").startswith(inside):
            return True
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent


def _cache_folder(path: Path, *, make: bool) -> int | None:
    """A descriptor of our folder in the cache (`path`'s), opened without following a link
    and only where it is your own (another's could hold a parse of its making); None where
    it is not one (made where missing, when `make`)."""
    import contextlib
    import os

    try:
        if make:
            os.makedirs(path.parent.parent, mode=0o700, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.mkdir(path.parent, 0o700)
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if os.fstat(fd).st_uid == os.geteuid():
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _parsed_before(raw: bytes, top: str | None = None) -> dict[str, object] | None:
    import marshal
    import os

    from git_atomic.core import wholefile

    path = _cache_file(raw, top)
    folder = None if path is None else _cache_folder(path, make=False)
    if path is None or folder is None:
        return None
    try:
        data = wholefile.read_at(folder, path.name, limit=_CACHE_LIMIT)
        if not data.startswith(_CACHE_VERSION):
            return None
        kept, parsed = marshal.loads(data[len(_CACHE_VERSION) :])
    except (OSError, ValueError, EOFError, TypeError):
        return None
    finally:
        os.close(folder)
    return parsed if kept == raw and isinstance(parsed, dict) else None


def _remember_parsed(raw: bytes, data: dict[str, object], top: str | None = None) -> None:
    import contextlib
    import marshal
    import os

    from git_atomic.core import wholefile

    path = _cache_file(raw, top)
    if path is None:
        return
    try:
        blob = _CACHE_VERSION + marshal.dumps((raw, data))
    except ValueError:
        return  # a date or time in it: parsed each time
    if len(blob) > _CACHE_LIMIT:
        return
    folder = _cache_folder(path, make=True)
    if folder is None:
        return
    # A read-only home, a full disk: a cache costs time, never correctness.
    with contextlib.suppress(OSError):
        wholefile.replace_at(folder, path.name, blob, mode=0o600, durable=False, state=False)
    os.close(folder)


def _may_name_us(raw: bytes) -> bool:
    """Whether a TOML file's bytes can hold a key `git-atomic`: spelled out (bare, quoted or
    dotted), or in a quoted key's escapes (`"git\\u002datomic"`); no other way spells it."""
    return b"git-atomic" in raw or b"\\u" in raw or b"\\U" in raw
