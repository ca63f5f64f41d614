"""A repository's configuration, as git compares its keys: read once (one `config --list`,
or beside discovery), and what it decides for our own calls (no clean/smudge filter, every
merge as text, the identity of our commits)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from git_atomic.core import process
from git_atomic.core.errors import UsageError
from git_atomic.engine import configfiles


class RepoConfig:
    """The configuration side of `git.Repo` (which sets `root` and `git_env`)."""

    root: Path
    git_env: dict[str, str]  # GIT_DIR and GIT_WORK_TREE: every call names the repository

    def __init__(self) -> None:
        self._config: dict[str, list[str]] = {}
        self._no_filters: tuple[str, ...] | None = None
        self._text_merges: tuple[str, ...] | None = None
        self._icase_untrue = False  # core.ignoreCase is true on a case-sensitive filesystem
        self._files_key: list[object] = []  # the configuration files when it was read

    def read_config(self) -> None:
        """Read the configuration now (one process), not when a first key is looked up."""
        self._all_config()

    def config_current(self) -> None:
        """Forget the configuration read when one of its files changed since: a command or a
        gate of yours may have run `git config` (a filter, `core.excludesFile`), and our calls
        must go by what is configured now (no filter of it run, none of its files waited on).
        One `stat` per file; read again at the next key looked up."""
        if self._config and configfiles.files_key(self, self._config) != self._files_key:
            # Before git reads it again: a file it now includes that would keep git waiting.
            from git_atomic.engine import configincludes

            configincludes.check_includes(
                configfiles.config_files(
                    getattr(self, "common_dir", None), getattr(self, "git_dir", None)
                )
            )
            self.forget_config()

    def forget_config(self) -> None:
        """Read the configuration again at the next key looked up (our environment now sets
        keys of it: isolatedconfig.py)."""
        self._config = {}
        self._no_filters = self._text_merges = None
        self._icase_untrue = False

    def take_config(self, raw: bytes, *, files_key: list[object] | None = None) -> None:
        """The configuration as `config -z --list` printed it (read beside discovery);
        `files_key`: the files' as they were before git read them."""
        if not self._config and files_key is None:
            files_key = configfiles.files_key(self)
        parsed: dict[str, list[str]] = {"": []}
        for item in raw.split(b"\0"):
            if not item:
                continue
            key, sep, value = item.partition(b"\n")
            value = value if sep else BARE  # `[core] autocrlf` alone (no `=`): true to git
            # A key as its bytes (a filter's name need not be UTF-8, and `-c` with it must
            # name the user's filter, not another): its value, text.
            name = config_key(key.decode("utf-8", "surrogateescape"))
            parsed.setdefault(name, []).append(value.decode("utf-8", "replace"))
        icase = parsed.get("core.ignorecase")
        root, env = getattr(self, "root", None), getattr(self, "git_env", {})
        if icase and git_bool(icase[-1]) and root and _case_sensitive(root, env) is True:
            # `core.ignoreCase` says the filesystem folds case, and it does not (a repository
            # copied from macOS): git would take an untracked `README` beside a tracked `readme`
            # for it, and a capture would miss the file. Our calls go by the filesystem.
            parsed["core.ignorecase"] = ["false"]
            self._icase_untrue = True
        if files_key is not None:
            self._files_key = files_key + configfiles.included_key(self, parsed)
        self._config.update(parsed)

    def offer_config(self, raw: bytes) -> None:
        """`take_config`, unless the configuration was read already (a cached repository)."""
        if not self._config:
            self.take_config(raw)

    def filter_names(self) -> list[str]:
        """The filter drivers configured (`filter.<name>.*`)."""
        names = {
            key[7:].rsplit(".", 1)[0]
            for key in self._all_config()
            if key.startswith("filter.") and key.count(".") >= 2
        }
        return sorted(names)

    def no_filters(self) -> tuple[str, ...]:
        """`-c` options that turn every configured clean/smudge filter into no filter at all.
        Every call of ours has them: a checkpoint holds the bytes on disk, and any index write
        may run a clean filter (git compares a racily clean entry's content), so a filter that
        fails or is missing (git-lfs not installed) would fail a capture or a restore."""
        if self._no_filters is None:
            self._all_config()
            options: list[str] = ["-c", "core.ignorecase=false"] if self._icase_untrue else []
            # A write of ours that makes a shared index (a capture's copy under your
            # core.splitIndex, the index put back split) would expire the others by your
            # splitIndex.sharedIndexExpire (or git's two weeks): your index's own, a side
            # index's, one a checkpoint's index names; git reads those no more. Never ours.
            options += ["-c", "splitIndex.sharedIndexExpire=never"]
            for name in self.filter_names():
                for field in ("clean", "smudge", "process"):
                    options += process.config_option(f"filter.{name}.{field}", "")
                options += process.config_option(f"filter.{name}.required", "false")
            self._no_filters = tuple(options)
        return self._no_filters

    def text_merges(self) -> tuple[str, ...]:
        """`-c` options for `merge-tree` that merge every file as text, whatever the attributes
        (`merge=union`, a configured driver, `merge.default`) or the config say: a driver that
        "resolves" an overlap (union, "keep ours") would leave an effect in place while we
        report it taken back, or commit your work in progress. A user-defined driver of a name
        wins over git's built-in one, so `union` is redefined too; directory renames are
        reported as overlaps, never applied to your files."""
        if self._text_merges is not None:
            return self._text_merges
        # Read here, not from _all_config: a driver's name keeps its case (`merge.Keep.driver`).
        found = process.git(
            ["config", "-z", "--name-only", "--get-regexp", r"^merge\..+\.driver$"],
            cwd=self.root,
            env=self.git_env,
            check=False,
        ).stdout
        names = {k.decode("utf-8", "surrogateescape")[6:-7] for k in found.split(b"\0") if k}
        options = ["-c", "merge.directoryRenames=conflict", "-c", "merge.renormalize=false"]
        for name in sorted(names | {"union", "binary"}):
            options += process.config_option(f"merge.{name}.driver", process.TEXT_MERGE_DRIVER)
        self._text_merges = tuple(options)
        return self._text_merges

    def lenient_filters(self) -> tuple[str, ...]:
        """Your filters as configured, except that none is required (a missing one is no
        error). An empty `process` would turn `clean` off too, so the two cannot be mixed."""
        names = self.filter_names()
        icase = ("-c", "core.ignorecase=false") if self._icase_untrue else ()
        return (
            *icase,
            *(a for n in names for a in process.config_option(f"filter.{n}.required", "false")),
        )

    def config(self, key: str) -> str | None:
        values = self._all_config().get(config_key(key))
        return values[-1] if values else None

    def config_bool(self, key: str, *, default: bool = False) -> bool:
        """`key` as git reads a boolean (`on`, `2`, a bare key with no `=` are true); unset,
        `default`. One reading for every setting: a spelling taken for another (an
        `autocrlf = on` read as off) made a capture hold git's converted blob as the file."""
        value = self.config(key)
        return default if value is None else git_bool(value)

    def autocrlf(self) -> bool:
        """Whether `core.autocrlf` converts line endings: `input` (any letter case), or true
        as git reads a boolean."""
        value = self.config("core.autocrlf")
        return value is not None and (value.strip().lower() == "input" or git_bool(value))

    def includes_by_branch(self) -> bool:
        """Whether an `includeIf "onbranch:..."` include is configured: which rules (an
        excludes file), filters and settings apply then changes with the branch HEAD names."""
        return any(k.startswith("includeif.onbranch:") for k in self._all_config())

    def config_values(self, key: str) -> list[str]:
        """Every value of `key`, in git's order (ours given with `-c` come last)."""
        return list(self._all_config().get(config_key(key), []))

    def _all_config(self) -> dict[str, list[str]]:
        if not self._config:
            files_key = configfiles.files_key(self)
            listing = process.git(
                ["config", "-z", "--list"], cwd=self.root, env=self.git_env, check=False
            )
            self.take_config(listing.stdout, files_key=files_key)
        return self._config

    def sign_args(self) -> list[str]:
        """`-S` for `git commit-tree` where `commit.gpgSign` is true: a commit we put on your
        branch (commits mode, an agent turn's, an isolated run's) is signed as `git commit`
        would sign it (your `user.signingKey`, `gpg.format`, `gpg.program`). `commit-tree`
        itself never reads `commit.gpgSign`. Checkpoints under refs/atomic/ are not signed."""
        value = self.config("commit.gpgsign")
        return ["-S"] if value is not None and git_bool(value) else []

    def _signer_found(self) -> None:
        """Where our commits are to be signed, the program that signs them is there: else the
        operation is refused before anything runs (exit 2), not rolled back after its command
        ran (its commit could not be made)."""
        if not self.sign_args():
            return
        import shutil

        kind = (self.config("gpg.format") or "openpgp").strip().lower()
        default = {"openpgp": "gpg", "x509": "gpgsm", "ssh": "ssh-keygen"}.get(kind)
        program = self.config(f"gpg.{kind}.program") or (
            self.config("gpg.program") if kind == "openpgp" else None
        )
        program = program or default
        if program and shutil.which(program) is None:
            raise UsageError(
                f"commit.gpgSign is set and the program that signs ({program}) is not found: "
                "no commit could be made",
                hint="set gpg.program (or commit.gpgSign false), or use --history shadow",
            )

    def identity_env(self, *, required: bool) -> dict[str, str]:
        """Author/committer for our commits: the user's identity, else a fixed one; dated as
        told, else now (identity.py). `required` (a commit on your branch): yours, or a
        refusal, and the program that signs it found."""
        from git_atomic.engine import identity  # a commit's, not every command's

        env = identity.people(self, required=required)
        if required:
            self._signer_found()
        env.update(identity.dates(self, required=required))
        return env


def config_key(key: str) -> str:
    """A configuration key as git compares them: its section and variable name in any letter
    case, the subsection between them as written (`filter.MyFilter.clean` is not
    `filter.myfilter.clean`: a `-c` that turns the second off leaves the first running)."""
    section, _, rest = key.partition(".")
    subsection, dot, name = rest.rpartition(".")
    if not dot:
        return key.lower()
    return f"{section.lower()}.{subsection}.{name.lower()}"


# How `config -z` gives a key with no `=` (git's "true"), told apart from `key =` (an empty
# value: false to git's booleans): it prints no newline after the key.
BARE: Final = b"true"


def _true(value: str) -> bool:
    return value.strip().lower() in ("true", "yes", "on", "1")


def git_bool(value: str) -> bool:
    """A boolean as git reads one: also any integer (`010`, `0x1`, `1k`), true unless 0; ""
    (`key =`) false. A bare key with no `=` is true: read as BARE."""
    text = value.strip().lower()
    number = text[:-1] if text[-1:] in ("k", "m", "g") else text
    for base in (0, 10):
        try:
            return int(number, base) != 0
        except ValueError:
            continue
    return _true(text)


_probed: dict[int, bool | None] = {}


def _case_sensitive(root: Path, git_env: dict[str, str]) -> bool | None:
    """Whether the worktree's filesystem tells names apart by case. Asked of a name already in
    the worktree's top folder (looked up in the other case: nothing is written there), else of
    a file made in the git dir when it is on the same filesystem. None when it cannot be told."""
    try:
        device = os.stat(root).st_dev
    except OSError:
        return None
    if device not in _probed:
        found = _by_a_name_there(root)
        if found is None:
            found = _by_a_file_made(git_env.get("GIT_DIR"), device)
        if found is None:
            return None
        _probed[device] = found
    return _probed[device]


def _by_a_name_there(root: Path) -> bool | None:
    try:
        names = set(os.listdir(root))
    except OSError:
        return None
    for name in sorted(names):
        other = name.swapcase()
        if other == name or other in names:
            continue  # no letter, or both cases there (a case-sensitive filesystem, or not)
        try:
            os.lstat(os.path.join(root, other))
        except FileNotFoundError:
            return True
        except OSError:
            continue
        return False
    return None


def _by_a_file_made(git_dir: str | None, device: int) -> bool | None:
    if git_dir is None:
        return None
    try:
        if os.stat(git_dir).st_dev != device:
            return None
    except OSError:
        return None
    name = os.path.join(git_dir, f"git-atomic-case-{os.getpid()}-{os.urandom(4).hex()}")
    try:
        os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    except OSError:
        return None
    try:
        folder, base = os.path.split(name)
        return not os.path.lexists(os.path.join(folder, base.upper()))
    finally:
        os.unlink(name)
