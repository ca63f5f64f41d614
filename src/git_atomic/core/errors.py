"""Our exception base and the exit codes, in one place."""

from __future__ import annotations

import enum
from typing import Final


class Exit(enum.IntEnum):
    OK = 0
    FAILED = 1  # the operation failed and was rolled back
    USAGE = 2  # usage or configuration error; nothing changed
    REFUSED = 3  # unsafe or busy repository state; nothing changed
    SIGINT = 130
    SIGTERM = 143


class AtomicError(Exception):
    """Base of every error we raise on purpose: one line for the user and an exit code."""

    exit_code: int = Exit.REFUSED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message: Final = message
        self.hint: Final = hint

    def __str__(self) -> str:
        return self.message


class UsageError(AtomicError):
    exit_code = Exit.USAGE


class ConfigError(UsageError):
    """A malformed configuration file; the message names the file and the key."""


class RefusedError(AtomicError):
    exit_code = Exit.REFUSED


class NotARepository(RefusedError):
    pass


class UnholdableName(RefusedError):
    """A name in the worktree git refuses to track whatever its settings (`.git` in another
    letter case, a `.gitmodules` link): no checkpoint can hold it."""

    def __init__(self, shown: str, what: str) -> None:
        super().__init__(
            f"{shown}: git refuses to track {what}, so no checkpoint can hold it; "
            "nothing was changed",
            hint="rename it (or move it out of the worktree), then run this again",
        )
        self.shown: Final = shown
        self.what: Final = what


class SigningFailed(RefusedError):
    """`commit.gpgSign` is set and git could not sign a commit we were to put on the branch:
    nothing was committed (a commit left unsigned would break your signing policy)."""

    def __init__(self, why: str) -> None:
        super().__init__(
            f"commit.gpgSign is set and signing the commit failed ({why}): nothing was committed",
            hint="fix signing (gpg.program, user.signingKey) or turn it off "
            "(git config commit.gpgSign false), or use --history shadow",
        )


class BusyError(RefusedError):
    """Another operation is open, interrupted, or holds the lock in this worktree."""


class LockBusy(BusyError):
    """A live git-atomic holds the worktree's lock: waiting for it (`--wait`) would get it. A
    caller that has no `--wait` (a hook, which waited already) says so in its own words."""


class IndexLockHeld(BusyError):
    """A restore that must write the index found a git holding index.lock, and wrote nothing:
    its intent is recorded, `recover` finishes it (not tried again in the same command)."""


class RolledBackError(AtomicError):
    """The operation could not go on, for a reason the message names, and was rolled back:
    exit 1, as a failed command."""

    exit_code = Exit.FAILED


class Interrupted(AtomicError):
    """SIGINT or SIGTERM arrived before anything changed (a wait for the lock): exit 130/143."""

    def __init__(self, message: str, *, signum: int) -> None:
        super().__init__(message)
        self.exit_code = Exit.SIGINT if signum == 2 else Exit.SIGTERM


class GitError(AtomicError):
    """git itself failed where it should not have; carries everything needed to see why."""

    exit_code = Exit.REFUSED

    def __init__(self, argv: list[str], returncode: int, stdout: bytes, stderr: bytes) -> None:
        # Not git's advice (`hint: Disable this message with ...`, or the paragraph a lock's
        # refusal ends with: "remove the file manually to continue."): its last `fatal:` line,
        # else its last `error:` line, else its last line, which says what went wrong.
        detail = [
            line
            for line in stderr.decode("utf-8", "replace").strip().splitlines()
            if line.strip() and not line.startswith("hint:")
        ]
        fatal = [x for x in detail if x.startswith("fatal: ")]
        errors = [x for x in detail if x.startswith("error: ")]
        said = fatal or errors or detail
        last = said[-1] if said else _exit_status(returncode)
        super().__init__(f"git {' '.join(_command(argv)[:2])} failed: {last}")
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def _exit_status(returncode: int) -> str:
    """How a git that said nothing ended: killed by a signal (a negative status) is named so;
    past a file size limit (SIGXFSZ), that limit."""
    import signal

    if returncode >= 0:
        return f"exit status {returncode}"
    if returncode == -getattr(signal, "SIGXFSZ", 0) and size_limit() is not None:
        return f"stopped by {size_limit_said()}; raise it (`ulimit -f unlimited`)"
    try:
        return f"killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"killed by signal {-returncode}"


def size_limit() -> int | None:
    """This process's file size limit (RLIMIT_FSIZE, `ulimit -f`) in bytes; None: none."""
    try:
        import resource
    except ImportError:  # (not on Windows)
        return None
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def size_limit_said() -> str:
    return f"the file size limit (`ulimit -f`: {size_limit()} bytes)"


def _command(argv: list[str]) -> list[str]:
    """git's command and what follows it in `argv`, past the options before it (our `-c
    KEY=VALUE` pairs, `--config-env=...`): the words that say which command failed."""
    rest = argv[1:]
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] == "-c" else rest[1:]
    return rest or argv[1:]


def system_refusal(exc: BaseException) -> AtomicError | None:
    """What the system refused where we write, said as its state, not as a bug: a full disk
    (or quota), a file or folder we may not write (`chmod`, `chattr +i`, a read-only file
    system), one line naming it and what to do (a call of an agent's turn that did it to
    `.git/atomic`, say); None for any other error. sqlite says only "database or disk is
    full" or "disk I/O error" for its own writes."""
    import errno

    hint = "free some space on that disk, then run it again"
    too_big = isinstance(exc, OSError) and exc.errno == errno.EFBIG
    # A write past `ulimit -f` (which sqlite says as a disk I/O error): no disk is full.
    sqlite_full = type(exc).__module__ == "sqlite3" and any(
        words in str(exc) for words in ("disk is full", "disk I/O error")
    )
    if size_limit() is not None and (too_big or sqlite_full):
        where = f" writing {exc.filename}" if isinstance(exc, OSError) and exc.filename else ""
        return RefusedError(
            f"{size_limit_said()} stopped a write{where} ({exc})",
            hint="raise it (`ulimit -f unlimited`), then run it again (`git atomic status` "
            "says whether an operation waits for `git atomic recover`)",
        )
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        what = f"{exc.strerror}" + (f" writing {exc.filename}" if exc.filename else "")
    elif isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        what = f"{exc.filename or 'a file'}: {exc.strerror}"
        hint = "make it writable again (`chmod u+w`, `chattr -i`), then run it again"
    elif type(exc).__module__ == "sqlite3" and "readonly database" in str(exc):
        # A repository this user can only read (another's clone, `chmod -R a-w .git`, a
        # read-only mount): its disk is not full, and freeing space would not help.
        what = f"the journal could not be written ({exc}): this user cannot write the git dir"
        hint = "run it as the repository's owner, or make .git writable (`chmod -R u+w .git`)"
    elif type(exc).__module__ == "sqlite3" and any(
        words in str(exc) for words in ("disk is full", "disk I/O error")
    ):
        what = f"the journal could not be written ({exc}: is the disk full, or read-only?)"
    else:
        return None
    return RefusedError(
        what,
        hint=f"{hint} (`git atomic status` says whether an operation waits for "
        "`git atomic recover`)",
    )
