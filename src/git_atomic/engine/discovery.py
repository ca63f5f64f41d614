"""Finding the repository a command is about: from the current folder (and GIT_DIR /
GIT_WORK_TREE, as git sets them for `git --git-dir=... atomic`), or a folder of ours; and the
variables that would point git at another repository's parts, refused at the door."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Final

from git_atomic.core import process
from git_atomic.core.errors import ConfigError, NotARepository, UsageError
from git_atomic.engine import gitdirsearch, layoutcheck
from git_atomic.engine.git import Repo

# The variables with which git tells a command it runs (`git --git-dir=X --work-tree=Y atomic`,
# the dotfiles pattern) which repository it is about: discovery honours them, as git does.
_LOCATION: Final = ("GIT_DIR", "GIT_WORK_TREE")


def current_folder() -> str:
    """The folder the command runs in; one that was deleted (or moved away) meanwhile, as the
    user's shell can stay in a folder an operation or a rollback removed, is not a repository."""
    try:
        return os.getcwd()
    except OSError as exc:
        raise NotARepository(
            f"the current folder cannot be read ({exc.strerror}): it was deleted or moved away",
            hint="cd into the worktree again",
        ) from None


class _Discovery:
    """`discover(start)`: the repository of `start` (default: the current folder), with
    GIT_DIR/GIT_WORK_TREE. Kept per folder and variables: after a `chdir` it is a new question."""

    def __call__(self, start: str | None = None) -> Repo:
        if start is not None:  # a folder of ours (a private worktree): only the folder counts
            return _discover_cached(start, (None, None), ())
        where = tuple(os.environ.get(name) for name in _LOCATION)
        checked = tuple(os.environ.get(name) for name in _ENVIRONMENT)
        return _discover_cached(current_folder(), where, checked)

    def private(self, folder: str) -> Repo:
        """A private worktree of ours: the caller's GIT_INDEX_FILE & co. name the user's
        worktree, were checked at the door, and are pointed at this one before any child runs
        (isolation.point_git_variables_at), so they are not held against it."""
        return _discover(folder, located=False, check=False)

    def cache_clear(self) -> None:
        _discover_cached.cache_clear()


discover: Final = _Discovery()


@functools.lru_cache(maxsize=8)
def _discover_cached(
    cwd: str, where: tuple[str | None, ...], checked: tuple[str | None, ...]
) -> Repo:
    del checked  # part of the key only: the answer depends on them (check_environment)
    if not any(where):
        kept = _kept(cwd)  # a hook call's or `begin`'s answer from this folder, still true
        if kept is not None:
            return kept
    return _discover(cwd, located=any(where))


def _kept(start: str) -> Repo | None:
    """The repository and configuration kept for `start` (foundmemo.py), where nothing they
    depend on changed since; None otherwise (nothing is kept here: a command that reads the
    configuration only later, or never, would have to read it now to keep it)."""
    from git_atomic.engine import foundmemo

    found = _config_before_git(start)
    known = foundmemo.key(start, found)
    if known is None or found is None:
        return None
    return _recalled(start, found, known)


def discover_early() -> Repo:
    """`discover()` and the configuration, for `begin`, `run` and `abort` before their lock
    (early.py): both kept between calls from this folder as a hook call's are
    (`discover_with_config`): no process while nothing they depend on changed; otherwise two
    processes at once (the scan needs the filters configured before it starts)."""
    here = current_folder()
    if not _location_env():
        return _with_config(here, located=False)
    _config_before_git(here)  # (nothing is kept for a repository these variables name)
    config = process.Background(
        ["config", "-z", "--list"], cwd=here, env=_discovery_env(located=True)
    )
    try:
        repo = _discover(here, located=True)
    finally:
        settings = config.wait(check=False)
    if settings.returncode == 0:
        repo.take_config(settings.stdout)
    return repo


def discover_with_config(start: str) -> Repo:
    """`discover(start)` and the configuration, read side by side (two processes at once): a
    hook call needs both, and would otherwise read the configuration only once it is known
    where the repository is. Both answers are kept for the next hook call from `start`, which
    uses them while nothing they depend on changed (foundmemo.py): no process then."""
    return _with_config(start, located=None)


def _with_config(start: str, *, located: bool | None) -> Repo:
    """`discover_with_config`; `located`: False: found from the current folder `start` with
    the discovery variables (`discover()`, the answer not cached by it), None: from the
    folder alone (`discover(start)`)."""
    from git_atomic.engine import foundmemo  # (not before: `version` and the parser's)

    found = _config_before_git(start)
    known = foundmemo.key(start, found)
    if known is not None and found is not None:
        kept = _recalled(start, found, known)
        if kept is not None:
            return kept
    env = _discovery_env(located=False) if located is not None else None
    config = process.Background(["config", "-z", "--list"], cwd=start, env=env)
    try:
        repo = discover(start) if located is None else _discover(start, located=False)
    finally:
        settings = config.wait(check=False)
    if settings.returncode == 0:
        repo.offer_config(settings.stdout)
        if known is not None and found is not None and _same_dirs(repo, found):
            root, git_dir, common = (
                os.fsencode(p) for p in (repo.root, repo.git_dir, repo.common_dir)
            )
            answer = foundmemo.Found(root, git_dir, common, settings.stdout)
            foundmemo.keep(found[1], start, known, answer)
    return repo


def _recalled(start: str, found: tuple[Path, Path], known: bytes) -> Repo | None:
    """The repository and configuration kept for `start` under `known`, where the git dirs
    they name are the ones found without git; None otherwise."""
    from git_atomic.engine import foundmemo

    kept = foundmemo.recall(found[1], start, known)
    if kept is None:
        return None
    paths = (Path(os.fsdecode(p)) for p in (kept.root, kept.git_dir, kept.common_dir))
    repo = Repo(*paths)
    if not _same_dirs(repo, found):
        return None
    repo.offer_config(kept.config)
    if repo.config("core.worktree") is None and not _within(start, repo.real_root):
        return None  # a worktree found by walking up from `start` holds it
    check_environment(repo, start)
    return repo


def _within(start: str, root: str) -> bool:
    here = os.path.realpath(start)
    return here == root or here.startswith(root.rstrip(os.sep) + os.sep)


def _same_dirs(repo: Repo, found: tuple[Path, Path]) -> bool:
    return repo.real_git_dir == os.path.realpath(found[0]) and os.path.realpath(
        repo.common_dir
    ) == os.path.realpath(found[1])


def _location_env() -> dict[str, str]:
    return {name: os.environ[name] for name in _LOCATION if os.environ.get(name)}


_ENVIRONMENT: Final = (
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
)


# Where git stops looking for a repository: honoured by discovery as by git (every later call
# names the repository, so they matter nowhere else).
_DISCOVERY: Final = ("GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM")


def _discovery_env(*, located: bool) -> dict[str, str]:
    env = {name: os.environ[name] for name in _DISCOVERY if name in os.environ}
    return {**env, **_location_env()} if located else env


def check_environment(repo: Repo, cwd: str) -> None:
    """Refuse (exit 2, nothing changed) a variable that would have git use another index,
    object store, git dir or refs than this worktree's own: honouring one would split a
    checkpoint between two repositories, and dropping it would act on what you did not name.
    One that names the part git would use without it is no different, and passes."""

    def names(value: str, own: Path) -> bool:
        here = [os.path.join(base, value) for base in (cwd, str(repo.root))]
        return any(os.path.realpath(p) == os.path.realpath(own) for p in here)

    own = {
        "GIT_INDEX_FILE": (repo.index_path, "the index"),
        "GIT_OBJECT_DIRECTORY": (repo.common_dir / "objects", "the object store"),
        "GIT_COMMON_DIR": (repo.common_dir, "the shared git dir"),
    }
    for name, (path, what) in own.items():
        value = os.environ.get(name)
        if value and not names(value, path):
            if name == "GIT_INDEX_FILE":
                from git_atomic.engine import commitindex  # (only where one is refused)

                commitindex.refuse_a_commits_own_index(repo, value)
            raise UsageError(
                f"{name}={value} names another {what.split(' ', 1)[1]} than this worktree's "
                f"({path}): git-atomic checkpoints and restores the repository's own; "
                f"unset {name} to use it"
            )
    if os.environ.get("GIT_NAMESPACE"):
        raise UsageError(
            f"GIT_NAMESPACE={os.environ['GIT_NAMESPACE']}: git-atomic works on the repository's "
            "own branches, not a namespace's; unset GIT_NAMESPACE to use it"
        )


def _config_before_git(cwd: str) -> tuple[Path, Path] | None:
    """`layoutcheck.check_config_files` before git is asked where the repository is: every git
    process reads the configuration first, and one that is a FIFO would have it, and this
    command with it (a hook call included), wait for ever. The git dir is found without git (a
    few lstats); a layout found otherwise is left to `layoutcheck.check_layout`."""
    found = gitdirsearch.find_git_dirs(Path(cwd), as_git=True)
    if found is not None:
        layoutcheck.check_config_files(found[0], found[1], None, head=True)
    return found


_LOCATION_FLAGS: Final = ("--show-toplevel", "--git-dir", "--git-common-dir")


def _one_path(cwd: str, located: bool, flag: str) -> str:
    res = process.git(
        ["rev-parse", "--path-format=absolute", flag],
        cwd=cwd,
        env=_discovery_env(located=located) or None,
    )
    return res.stdout.decode("utf-8", "surrogateescape").removesuffix("\n")


def _refusal(stderr: bytes) -> tuple[str, str | None]:
    """git's reason for refusing a repository (its `fatal:` line, else its last line) and the
    command it says would lift the refusal (an indented `git ...` line: `safe.directory`'s
    exception). Other indented lines finish the reason: the names t1302's `unknown repository
    extension found:` lists below it (before, the first was shown as a command to run)."""
    lines = stderr.decode("utf-8", "replace").splitlines()
    fatal = [x.strip().removeprefix("fatal: ") for x in lines if x.startswith("fatal: ")]
    if not fatal:
        return next((x.strip() for x in reversed(lines) if x.strip()), ""), None
    indented = [x.strip() for x in lines if x.startswith(("\t", "    ")) and x.strip()]
    command = next((x for x in indented if x.startswith("git ")), None)
    listed = [x for x in indented if not x.startswith("git ")]
    if fatal[0].endswith(":") and listed:
        return f"{fatal[0]} {', '.join(listed)}", command
    return fatal[0], command


def git_dirs(cwd: str) -> tuple[Path, Path] | None:
    """The git dir and common git dir git finds from `cwd`, also where it finds no worktree
    (`core.bare true`): for an agent turn's hook whose call made it so (agents/turnplace.py), on
    that path only. None outside any."""
    res = process.git(
        ["rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir"],
        cwd=cwd,
        env=_discovery_env(located=False) or None,
        check=False,
    )
    lines = res.stdout.decode("utf-8", "surrogateescape").split("\n")[:-1]
    if res.returncode != 0 or len(lines) != 2:
        return None
    return Path(lines[0]), Path(lines[1])


def _bare_since(cwd: str, *, located: bool) -> str | None:
    """Where the git dir git finds is one git-atomic worked in (it holds our folder), an
    operation may have made it bare (`git config core.bare true`, coreplace.py) while it was
    open: how to set that back. None otherwise (a bare repository of yours)."""
    res = process.git(
        ["rev-parse", "--path-format=absolute", "--git-common-dir"],
        cwd=cwd,
        env=_discovery_env(located=located) or None,
        check=False,
    )
    common = res.stdout.decode("utf-8", "surrogateescape").removesuffix("\n")
    if res.returncode != 0 or not common or not os.path.isdir(os.path.join(common, "atomic")):
        return None
    return (
        "if an operation set core.bare or core.worktree (git config core.bare false, git config "
        "--unset core.worktree), set it back, then `git atomic abort` (or `recover`) here"
    )


def _environment_config(stderr: bytes) -> str:
    """The line for a configuration the environment gives (`git -c` passes it on as
    GIT_CONFIG_PARAMETERS; GIT_CONFIG_COUNT/GIT_CONFIG_KEY_n/GIT_CONFIG_VALUE_n) that git
    cannot parse: a configuration error of the caller's, not the folder's; git's reason (its
    `error:` line: "missing config key GIT_CONFIG_KEY_1") said."""
    lines = stderr.decode("utf-8", "backslashreplace").splitlines()
    why = next((x.removeprefix("error: ") for x in lines if x.startswith("error: ")), "")
    return (
        "git cannot parse the configuration given by the environment (GIT_CONFIG_PARAMETERS, "
        f"as `git -c` sets it, or GIT_CONFIG_COUNT and GIT_CONFIG_KEY_n/VALUE_n)"
        f"{': ' + why if why else ''}; mend or unset those variables"
    )


# git's refusals of a configuration it cannot read (config.c): a line it cannot parse, a value
# of the wrong kind (`core.bare = bogus`, a size with a bogus unit), a bad variable name.
# (Prefixes, not a pattern: discovery is on every hook call's way, and a pattern compiled at
# import costs each call: tests/test_hook_call_imports.py.)
_CONFIG_UNREADABLE: Final = tuple(
    b"fatal: bad " + kind + b"config " + what
    for kind in (b"", b"boolean ", b"numeric ")
    for what in (b"line", b"value", b"variable", b"file")
)


def _unreadable_config(stderr: bytes) -> str:
    """The line for a configuration git refuses to read (in the repository's config, the
    user's, one it includes, or given by the environment): a configuration error of the user's
    (exit 2), not an unusable folder (exit 3); git's reason says which file and key."""
    reason, _command = _refusal(stderr)
    return (
        f"git cannot read its configuration: {reason}; nothing was changed (mend it with an "
        "editor: git refuses every command, `git config` too, until then)"
    )


def _named_nothing(stderr: bytes) -> str | None:
    """The way out where git names the git dir it did not find (`not a git repository: PATH`,
    not `(or any of the parent directories)`): a `.git` file on the way, or GIT_DIR, names
    PATH. An operation that rewrote a `.git` file (`gitdir: /nonexistent`) left it so."""
    prefix = b"fatal: not a git repository: "
    line = next((x for x in stderr.splitlines() if x.startswith(prefix)), None)
    if line is None:
        return None
    named = line.removeprefix(prefix).decode("utf-8", "backslashreplace")
    return (
        f"git finds no git dir at {named}, which a `.git` file here (or GIT_DIR) names; if an "
        "operation rewrote that file, name the git dir yourself: GIT_DIR=<the git dir> "
        "GIT_WORK_TREE=<the worktree> git atomic abort (or recover)"
    )


def _discover(cwd: str, *, located: bool, check: bool = True) -> Repo:
    """`located`: GIT_DIR/GIT_WORK_TREE (as git sets them for `git --git-dir=... atomic`) say
    where the repository is; otherwise the folder does."""
    _config_before_git(cwd)
    res = process.git(
        ["rev-parse", "--path-format=absolute", *_LOCATION_FLAGS],
        cwd=cwd,
        env=_discovery_env(located=located) or None,
        check=False,
    )
    if res.returncode != 0:
        if b"must be run in a work tree" in res.stderr:
            raise NotARepository(
                f"{cwd} is in a bare repository or a git dir: git-atomic needs a working tree "
                "(run it in a clone or a `git worktree add` of this repository, or with "
                "git --work-tree=...)",
                hint=_bare_since(cwd, located=located),
            )
        if b"unable to parse command-line config" in res.stderr:
            raise UsageError(_environment_config(res.stderr))
        if any(line.startswith(_CONFIG_UNREADABLE) for line in res.stderr.splitlines()):
            raise ConfigError(_unreadable_config(res.stderr))
        if b"not a git repository" in res.stderr:
            raise NotARepository(
                f"not a git repository (or any parent): {cwd}", hint=_named_nothing(res.stderr)
            )
        reason, command = _refusal(res.stderr)
        from git_atomic.engine import repoformat  # (only where git refused)

        repoformat.refuse_a_format(res.stderr)
        raise NotARepository(
            f"cannot use this folder as a git worktree: {reason}"
            if reason
            else f"cannot use {cwd} as a git worktree",
            hint=f"git says to run: {command}" if command else None,
        )
    lines = res.stdout.decode("utf-8", "surrogateescape").split("\n")[:-1]
    if len(lines) != 3:  # a path with a newline in it: asked for one by one
        lines = [_one_path(cwd, located, flag) for flag in _LOCATION_FLAGS]
    root, git_dir, common = (Path(x) for x in lines)
    repo = Repo(root=root, git_dir=git_dir, common_dir=common)
    if check:
        check_environment(repo, cwd)
    return repo
