"""How every git call of one worktree runs: the repository named (never the one git would
find), the dry run's object store (quarantine.py) and our scratch files, the object format.
`git.Repo` is built on it (gitobjects.py, gittrees.py between)."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

from git_atomic.core import process
from git_atomic.engine import gitdirfiles, objectformat, reflisting
from git_atomic.engine.gitconfig import RepoConfig

if TYPE_CHECKING:
    from git_atomic.engine.quarantine import Quarantine

_scratch_names = itertools.count()

# The commands of ours that compare trees, the index and the worktree. Each of them, plumbing
# too, leaves out a submodule whose `submodule.<name>.ignore` is `all` (in `.gitmodules` or the
# configuration: git's t7506-status-submodule): an operation's change to that gitlink in the
# index was in no change listed, and every rollback left it. They are told to see every one.
_COMPARES: Final = frozenset({"diff", "diff-files", "diff-index", "diff-tree"})


def every_submodule(args: tuple[str, ...]) -> tuple[str, ...]:
    """`args` (a git command, past git's own options) with `--ignore-submodules=none` after a
    command of _COMPARES that does not say how to treat submodules itself."""
    at = 0
    while at < len(args) and args[at].startswith("-"):
        at += 2 if args[at] in ("-c", "-C") else 1
    if at >= len(args) or args[at] not in _COMPARES:
        return args
    options = args[at + 1 : args.index("--")] if "--" in args[at + 1 :] else args[at + 1 :]
    if any(a.startswith("--ignore-submodules") for a in options):
        return args
    return (*args[: at + 1], "--ignore-submodules=none", *args[at + 1 :])


class RepoRunner(RepoConfig):
    """A worktree and its git dirs, and the door through which git runs for them."""

    def __init__(self, root: Path, git_dir: Path, common_dir: Path) -> None:
        self.root = root  # the worktree's top folder
        self.git_dir = git_dir  # this worktree's git dir (.git, or .git/worktrees/<id>)
        self.common_dir = common_dir  # the repository's shared git dir
        # The last refs listing, with our updates since (reflisting.py; git.Repo keeps it).
        self.listed: reflisting.Listing | None = None
        super().__init__()
        # Every call names the repository: never the one git would find from a folder (a
        # `.git` file, GIT_DIR from `git --git-dir=... atomic`, a command run from elsewhere).
        self.git_env = {"GIT_DIR": str(git_dir), "GIT_WORK_TREE": str(root)}
        # Where the git dir really was when found: a `.git` link an operation points at
        # another repository must not have our calls write there (layoutcheck.check_layout).
        self.real_git_dir = os.path.realpath(git_dir)
        # And where the worktree's folder really was: one an operation replaced by a link
        # (elsewhere) or removed must not have a rollback write or delete there.
        self.real_root = os.path.realpath(root)
        self.quarantine: Quarantine | None = None  # a dry run's object store (`quarantined`)

    @property
    def state_dir(self) -> Path:
        """Our folder inside the common git dir: journal, logs, temporary indexes."""
        return self.common_dir / "atomic"

    @contextlib.contextmanager
    def quarantined(self) -> Iterator[None]:
        """A dry run: every object written (by git or by us) and every scratch file go into a
        temporary folder outside the repository, removed as it ends, and git refuses to move a
        ref meanwhile (quarantine.py)."""
        from git_atomic.engine.quarantine import Quarantine

        held = Quarantine(
            self.common_dir / "objects", [self.git_dir, self.common_dir], outside=self.root
        )
        plain = self.git_env
        self.quarantine, self.git_env = held, {**plain, **held.env()}
        try:
            yield
        finally:
            self.quarantine, self.git_env = None, plain
            held.close()

    @property
    def objects_out(self) -> Path:
        """The object store our own writers write into: the repository's, or a dry run's."""
        if self.quarantine is not None:
            return self.quarantine.objects
        return self.common_dir / "objects"

    def scratch_dir(self) -> Path:
        """Our folder of temporary files (made): a dry run's own, outside the repository."""
        tmp = self.quarantine.tmp if self.quarantine is not None else self.state_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp

    def scratch_path(self, stem: str) -> Path:
        """A name for a temporary file of this process in our folder (the caller removes it)."""
        return self.scratch_dir() / f"{stem}-{os.getpid()}-{next(_scratch_names)}"

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        low_priority: bool = False,
        filters: bool = False,
    ) -> process.Result:
        """`filters`: your clean/smudge filters run (never required), for commits mode's
        commits only; every other call has none (`no_filters`)."""
        if self.listed is not None and not reflisting.keeps(args):
            self.listed = None  # a command that may move a ref: the listing is no longer known
        return process.git(
            (*(self.lenient_filters() if filters else self.no_filters()), *every_submodule(args)),
            cwd=self.root,
            input=input,
            env=self._env(env),
            check=check,
            low_priority=low_priority,
        )

    def _env(self, env: Mapping[str, str] | None) -> Mapping[str, str]:
        """A call's environment: ours, with `env` over it. One that names another git dir (a
        submodule's) is given no dry run's store: that store lends ours, not the other's, so
        the other's objects would not be found there."""
        if "GIT_INDEX_FILE" not in self.git_env and "GIT_INDEX_FILE" not in (env or {}):
            blocked = gitdirfiles.index_blocked(self.git_dir)
            if blocked is not None:
                # A FIFO (or a link) at the index's name: git would wait on it for ever (or
                # read through it). Read as no index at all, as a capture reads it (staged.py).
                env = {**(env or {}), "GIT_INDEX_FILE": gitdirfiles.no_index(self.state_dir)}
        if not env:
            return self.git_env
        if (
            self.quarantine is not None
            and env.get("GIT_DIR", self.git_env["GIT_DIR"]) != (self.git_env["GIT_DIR"])
        ):
            lent = self.quarantine.env()
            return {**{k: v for k, v in self.git_env.items() if k not in lent}, **env}
        return {**self.git_env, **env}

    def start(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        input: bytes | None = None,
        low_priority: bool = False,
    ) -> process.Background:
        """Start a git command that runs while this process does other work."""
        return process.Background(
            (*self.no_filters(), *every_submodule(args)),
            cwd=self.root,
            env=self._env(env),
            input=input,
            low_priority=low_priority,
        )

    def out(
        self,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        low_priority: bool = False,
    ) -> bytes:
        return self.run(*args, input=input, env=env, low_priority=low_priority).stdout

    def line(
        self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> str:
        return self.out(*args, input=input, env=env).decode().strip()

    @property
    def sha256(self) -> bool:
        """Whether this repository's object ids are SHA-256 (else SHA-1)."""
        return (self.config("extensions.objectformat") or "sha1").lower() == "sha256"

    @property
    def zero_oid(self) -> str:
        """The id of nothing in this repository's object format (40 or 64 zeros)."""
        return "0" * (64 if self.sha256 else 40)

    @property
    def empty_tree(self) -> str:
        """The empty tree's id in this repository's object format."""
        return objectformat.EMPTY_TREE_SHA256 if self.sha256 else objectformat.EMPTY_TREE

    def shared_perm(self) -> int | None:
        """`core.sharedRepository` as git reads it (objectformat.shared_perm)."""
        return objectformat.shared_perm(self.config("core.sharedrepository"))

    def writes_loose(self) -> bool:
        """Whether objects may be written loose here without git: not in a repository shared
        by a group (`core.sharedRepository`), whose folders and objects git makes writable and
        readable by it (we would make them as our umask says)."""
        shared = (self.config("core.sharedrepository") or "false").lower()
        return shared in ("false", "umask", "0", "no", "off")
