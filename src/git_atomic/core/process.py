"""The one door to subprocess for git: every plumbing call of ours, with the environment that
keeps it on our repository and off your hooks (the user's commands and gates: children.py)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from typing import IO, Final, NamedTuple

from git_atomic.core.errors import GitError

# Variables that would point git at another repository, index or object store than the one we
# resolved. The user's command and gates keep their environment; only our own git calls drop them.
# Those that name where a repository's parts are (discovery.check_environment) are honoured or
# refused at discovery, never silently dropped: GIT_ALTERNATE_OBJECT_DIRECTORIES only adds stores
# to read from, and is kept.
_GIT_LOCATION_VARS: Final = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
        "GIT_CEILING_DIRECTORIES",
        "GIT_DISCOVERY_ACROSS_FILESYSTEM",
        "GIT_QUARANTINE_PATH",
        "GIT_REFLOG_ACTION",
        "GIT_EDITOR",
        "GIT_SEQUENCE_EDITOR",
        "GIT_PAGER",
        "GIT_LITERAL_PATHSPECS",
        "GIT_GLOB_PATHSPECS",
        "GIT_NOGLOB_PATHSPECS",
        "GIT_ICASE_PATHSPECS",
    }
)

# In the environment of every git of ours: a lock such a git left is never taken for a live
# git's of yours (engine/lockholder.py).
OWN_MARK: Final = "GIT_ATOMIC_PLUMBING=1"

# The merge driver our calls give every file (gitconfig.text_merges): a plain text merge.
TEXT_MERGE_DRIVER: Final = "git merge-file --marker-size=%L %A %O %B"

# git splits `-c KEY=VALUE` at its first "=": a key whose subsection holds one (a filter or a
# merge driver named `a=b`, which `* filter=a=b` names) cannot be set so, and the `-c` would set
# another key. `--config-env=KEY=VARIABLE` is split at its last "=" and takes the value from the
# variable: every call of ours has these, one for each value our calls set that way.
_CONFIG_VALUES: Final = {
    "": "GIT_ATOMIC_CONFIG_EMPTY",
    "false": "GIT_ATOMIC_CONFIG_FALSE",
    TEXT_MERGE_DRIVER: "GIT_ATOMIC_CONFIG_TEXT_MERGE",
}


def config_option(key: str, value: str) -> tuple[str, ...]:
    """The option that sets `key` to `value` for one call (`value` one of _CONFIG_VALUES
    where the key holds "=")."""
    if "=" not in key:
        return ("-c", f"{key}={value}")
    return (f"--config-env={key}={_CONFIG_VALUES[value]}",)


# Hooks never run for our plumbing: checkpoints are not validation (that is what gates are for).
_EMPTY_HOOKS: Final = os.devnull


# git's tracing (GIT_TRACE, GIT_TRACE2_EVENT, ...: `git help git`) writes to a file, or a file
# per process in a folder, where the variable's value is an absolute path. One inside the
# worktree our call works on is a file of yours there (git's own tests trace into
# `$(pwd)/trace.normal`): our calls appending to it changed it under each checkpoint and
# rollback of ours, so a rollback refused over a file only we had written to. Such a variable
# is not given to our calls (your command and gates keep it: what its git traced there is the
# operation's); one naming a place outside the worktree (how contributing.md counts our git
# processes), or a file descriptor, is.
_TRACE: Final = "GIT_TRACE"

# The three trace2 targets also have a setting (`trace2.normalTarget`, `eventTarget`,
# `perfTarget`: `git help config`), read from your global and the system's configuration alone,
# which the variable overrides. Where a setting names a file in the worktree, our calls wrote to
# it as the variables' did. A call of ours gets each variable you did not set (or that names a
# place in the worktree) as "0": no target of a setting traces it; yours, from the variables,
# still do.
_TRACE2_TARGETS: Final = ("GIT_TRACE2", "GIT_TRACE2_EVENT", "GIT_TRACE2_PERF")

# A trace variable naming a standard stream by path (`GIT_TRACE=/dev/stdout`, as one sees
# git's trace inline): in a call of ours, whose output and errors we read from pipes, its
# lines went into them, and the first answer read a trace line as a path ("internal error:
# No such file or directory: b'00:49:48 git.c:460 trace: ...'"). Not given to our calls
# (your command and gates keep it).
_STREAM_FOLDERS: Final = ("/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/")
_STREAMS: Final = frozenset(
    {"/dev/stdin", "/dev/stdout", "/dev/stderr"}
    | {f"{folder}{fd}" for folder in _STREAM_FOLDERS for fd in (0, 1, 2)}
)


def _names_a_stream(value: str) -> bool:
    return value.startswith(("/dev/", "/proc/")) and os.path.normpath(value) in _STREAMS


def _worktree_of(folder: str) -> str:
    """The nearest of `folder` and the folders above it that holds a `.git` (the worktree a git
    started there works on, but for GIT_DIR's: ours are started at its top); `folder` where
    none does."""
    here = folder
    while True:
        if os.path.lexists(os.path.join(here, ".git")):
            return here
        up = os.path.dirname(here)
        if up == here:
            return folder
        here = up


def _traces_inside(env: Mapping[str, str], cwd: str | os.PathLike[str]) -> list[str]:
    """The trace variables of `env` that name a place reached through the worktree of `cwd`,
    but for its `.git` (what git writes there is no file of the worktree). Placed as the kernel
    would place them (core/linkplace.py): `$(pwd)/trace` of a worktree reached through a link
    is in it, and so is a path whose `..` follows a link; one through a link of the worktree
    that leads out is dropped too (our git calls write nothing through a link out), and
    nothing past that link is looked at."""
    named = [k for k, v in env.items() if k.startswith(_TRACE) and v.startswith("/")]
    if not named:
        return []
    from git_atomic.core import linkplace  # only where a trace variable names a path

    root = _worktree_of(os.path.realpath(os.fsdecode(cwd)))
    inside: list[str] = []
    for key in named:
        entered, rel = linkplace.reached(root, env[key])
        if entered and rel != ".git" and not (rel or "").startswith(".git/"):
            inside.append(key)
    return inside


class Result(NamedTuple):
    returncode: int
    stdout: bytes
    stderr: bytes


def _git_env(
    extra: Mapping[str, str] | None,
    unset: Sequence[str] = (),
    *,
    cwd: str | os.PathLike[str],
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS and k not in unset}
    for key in _traces_inside(env, cwd):
        del env[key]
    for key in [k for k, v in env.items() if k.startswith(_TRACE) and _names_a_stream(v)]:
        del env[key]
    for key in _TRACE2_TARGETS:
        if not env.get(key):  # (git takes an empty one for none: the setting's target)
            env[key] = "0"
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_OPTIONAL_LOCKS"] = "0"
    # Your replace refs (`git replace`) would have git read other bytes for an object than
    # the ones its id names: a checkpoint put back would write the replacement's.
    env["GIT_NO_REPLACE_OBJECTS"] = "1"
    env["LC_ALL"] = "C"
    env["GIT_ATOMIC_PLUMBING"] = "1"  # OWN_MARK
    for value, name in _CONFIG_VALUES.items():
        env[name] = value
    if extra:
        env.update(extra)
    return env


def _argv(args: Sequence[str]) -> list[str]:
    return [
        "git",
        "-c",
        f"core.hooksPath={_EMPTY_HOOKS}",
        "-c",
        "advice.addEmbeddedRepo=false",
        # Its hints for paths outside the sparse-checkout patterns name options of git's, not
        # ours (and our calls that may meet such paths say `--sparse`).
        "-c",
        "advice.updateSparsePath=false",
        # Your fsmonitor is a hook too (a command, or the daemon): it never runs for our calls,
        # and what it would say is not trusted either (an answer of "nothing changed" would hide
        # an operation's edits from the capture).
        "-c",
        "core.fsmonitor=false",
        # With core.ignoreStat, git marks every entry it adds or updates assume-unchanged: an
        # index we write would carry flags you never set.
        "-c",
        "core.ignoreStat=false",
        # Names only Windows' NTFS takes for `.git` (`GIT~1`, `.git.`, `.git::$DATA`) are your
        # files on this system: git's default refusal to track them would keep them out of
        # every checkpoint. (`.git` in another letter case git refuses whatever the setting.)
        "-c",
        "core.protectNTFS=false",
        # So are names only HFS+ takes for `.git`, once it drops their ignorable characters
        # (`.g\u200cit`): git's default on macOS refused them, and a capture left them out.
        "-c",
        "core.protectHFS=false",
        *args,
    ]


def git(
    args: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    low_priority: bool = False,
    unset: Sequence[str] = (),
) -> Result:
    """Run one git command; raise GitError (with git's stderr) when it fails and check is set.

    `low_priority`: work that runs beside a scan of the tree and must not slow it down.
    `unset`: variables of the environment this call does not get."""
    if not low_priority:
        proc = subprocess.run(
            _argv(args),
            cwd=cwd,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            env=_git_env(env, unset, cwd=cwd),
            check=False,
        )
        result = Result(proc.returncode, proc.stdout, proc.stderr)
    else:
        with subprocess.Popen(
            _argv(args),
            cwd=cwd,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_git_env(env, unset, cwd=cwd),
        ) as running:
            _lower_priority(running.pid)
            out, err = running.communicate(input)
        result = Result(running.returncode, out, err)
    if check and result.returncode != 0:
        raise GitError(["git", *args], result.returncode, result.stdout, result.stderr)
    return result


def _lower_priority(pid: int) -> None:
    """The process `pid` (a child just started) made nicer by 10. From here, not in the child
    before it runs git: code run there would make every start a full fork, and the start would
    wait for a child whose low priority already holds it back on a busy machine."""
    with contextlib.suppress(OSError):
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, pid, min(19, mine + 10))


def _unnamed_file(data: bytes) -> IO[bytes]:
    """A file that no name reaches holding `data`, to be read from its start: a memory file
    where the system makes one (Linux), else tempfile's (whose import, with shutil's and
    random's, costs 4 ms of each command that feeds git this way)."""
    create = getattr(os, "memfd_create", None)
    fh: IO[bytes] | None = None
    if create is not None:
        with contextlib.suppress(OSError):
            fh = os.fdopen(create("git-atomic-input", os.MFD_CLOEXEC), "w+b")
    if fh is None:
        import tempfile

        fh = tempfile.TemporaryFile()  # noqa: SIM115 (the caller closes it)
    try:
        fh.write(data)
        fh.seek(0)
    except BaseException:
        fh.close()
        raise
    return fh


class Background:
    """A git command started now and awaited later: two scans of the tree share the cores."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        cwd: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        input: bytes | None = None,
        low_priority: bool = False,
    ) -> None:
        self._args = list(args)
        self._low = low_priority
        if input is None:
            self._proc: subprocess.Popen[bytes] | None = self._spawn(cwd, env, subprocess.DEVNULL)
        else:
            # From a file, not a pipe: nothing to feed later, nothing to deadlock on.
            with _unnamed_file(input) as stdin:
                self._proc = self._spawn(cwd, env, stdin)
        self._result: Result | None = None

    def _spawn(
        self, cwd: str | os.PathLike[str], env: Mapping[str, str] | None, stdin: int | IO[bytes]
    ) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            _argv(self._args),
            cwd=cwd,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_git_env(env, cwd=cwd),
        )
        if self._low:
            _lower_priority(proc.pid)
        return proc

    def wait(self, *, check: bool = True) -> Result:
        if self._result is None:
            assert self._proc is not None
            out, err = self._proc.communicate()
            self._result = Result(self._proc.returncode, out, err)
            self._proc = None
        if check and self._result.returncode != 0:
            raise GitError(
                ["git", *self._args],
                self._result.returncode,
                self._result.stdout,
                self._result.stderr,
            )
        return self._result

    def stop(self) -> None:
        """End it now if it still runs, and take its result: SIGTERM first (git removes its
        lock and temporary files on it), SIGKILL when it is still there a moment later. For a
        git that would never end (one waiting on a FIFO: stalls.py)."""
        if self._result is not None or self._proc is None:
            return
        with contextlib.suppress(OSError):
            self._proc.terminate()
        try:
            out, err = self._proc.communicate(timeout=_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            out, err = self._proc.communicate()
        self._result = Result(self._proc.returncode, out, err)
        self._proc = None


_STOP_GRACE_S: Final = 2.0


class Program(Background):
    """Another program than git (a file watcher's client), started now and awaited later, with
    the caller's environment less git's location variables."""

    def _spawn(
        self, cwd: str | os.PathLike[str], env: Mapping[str, str] | None, stdin: int | IO[bytes]
    ) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            self._args,
            cwd=cwd,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_git_env(env, cwd=cwd),
        )
        if self._low:
            _lower_priority(proc.pid)
        return proc

    def answer(self, *, timeout: float) -> Result:
        """Its result, or a failed one (-9) after `timeout` seconds: it is killed then."""
        if self._result is None and self._proc is not None:
            try:
                out, err = self._proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                out, err = self._proc.communicate()
                self._result = Result(-9, out, err)
            else:
                self._result = Result(self._proc.returncode, out, err)
            self._proc = None
        return self.wait(check=False)


def git_out(
    args: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> bytes:
    return git(args, cwd=cwd, input=input, env=env).stdout
