"""Results for people (stderr, short lines), and the JSON result written (one object on
stdout, built by resultjson.py)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Final

from git_atomic.core.errors import AtomicError
from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import OpRow
from git_atomic.core.printable import printable
from git_atomic.core.vocab import CheckpointKind, FailedPhase, HistoryMode, OpStatus

if TYPE_CHECKING:
    from git_atomic.engine.git import Repo
    from git_atomic.ops.resultjson import Result


def emit(result: Result) -> None:
    """The result as the one JSON object on stdout (resultjson.py, which imports every kind of
    record, is imported only for it)."""
    from git_atomic.ops import resultjson

    _write_json(resultjson.result_json(result))


def _write_json(obj: Mapping[str, object]) -> None:
    text = json.dumps(obj)
    if "\\ud" in text:  # a name that is not UTF-8 (a surrogate): written so strict parsers read it
        from git_atomic.core import jsontext

        text = jsontext.dumps(obj)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def say(text: str) -> None:
    """One line for people on stderr. A name may hold any byte but `/` and NUL: a newline, tab
    or ESC a path, a branch or a command brings is written `\\xNN` (core/printable.py), so
    the line stays one line and never drives the terminal."""
    say_lines(printable(text))


@contextlib.contextmanager
def told_if_refused(done: Sequence[str]) -> Iterator[None]:
    """`done`: lines of what was done already (git's stale locks removed before a move, as its
    ref updates need: gitlocks.removed), which were to join the move's result; where what
    follows is refused (one of our errors), each is said first, a warning line, then the
    refusal's one line: a file gone from .git is never said nowhere. Read when raised: a list
    the block fills is said as it stands then."""
    try:
        yield
    except AtomicError:
        for line in done:
            say(f"git-atomic: warning: {line}")
        raise


def say_lines(text: str) -> None:
    """`text` on stderr as it is, lines and all: what a gate printed, a recipe of lines."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


_C_ESCAPES: Final = {7: "a", 8: "b", 9: "t", 10: "n", 11: "v", 12: "f", 13: "r", 34: '"', 92: "\\"}


def quote_path(path: str) -> str:
    """A path for people as git shows one (core.quotePath): as it is when plain ASCII, else in
    double quotes with C escapes and octal for every other byte, never a replacement character."""
    raw = path.encode("utf-8", "surrogateescape")
    if all(0x20 <= b < 0x7F and b not in (34, 92) for b in raw):
        return path
    body = "".join(
        "\\" + _C_ESCAPES[b] if b in _C_ESCAPES else chr(b) if 0x20 <= b < 0x7F else f"\\{b:03o}"
        for b in raw
    )
    return f'"{body}"'


def short(sha: str | None) -> str:
    return sha[:12] if sha else "-"


def tell_outcome(journal: Journal, op: OpRow, *, repo: Repo | None = None) -> None:
    """For people, after run/commit: each failed gate with its output's tail, then one line."""
    for problem in op.details.get("problems") or ():
        say(f"git-atomic: warning: {problem}")
    for gate in journal.gates(op.id):
        if not gate.passed:
            say(f"git-atomic: gate {gate.name} failed: {gate.message}")
            if gate.output_tail:
                say_lines("  " + gate.output_tail.replace("\n", "\n  "))
            say(f"  full output: {gate.log_path}")
    say(summary_line(journal, op, repo=repo))
    held = held_back_line(op)
    if held is not None:
        say(held)


def held_back_line(op: OpRow) -> str | None:
    """Commits mode: the files the operation changed where you had uncommitted changes that its
    change could not be told apart from (phasecommit.py). None when there are none."""
    held = op.details.get("held_back")
    if not held or op.status != OpStatus.COMMITTED:
        return None
    return (
        f"git-atomic: left uncommitted, as they are on disk: {', '.join(held)} (changed by the "
        "operation and by you before it; `git diff` shows both)"
    )


def failure_words(op: OpRow, *, otherwise: str) -> str:
    """Why an operation was rolled back, in a few words (`otherwise`: no phase failed)."""
    words: dict[FailedPhase | None, str] = {
        FailedPhase.EXEC: command_failure(op),
        FailedPhase.VALIDATE: "a gate failed",
        FailedPhase.TIMEOUT: "the command timed out",
        FailedPhase.INTERRUPT: "interrupted",
    }
    return words.get(op.failed_phase, otherwise)


def command_failure(op: OpRow) -> str:
    """Why the command failed, as far as its exit status tells."""
    import signal

    code = op.exit_code
    if code is None:
        return "the command could not start"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the command was killed by {name}"
    if code == 0:  # it succeeded, and left what no checkpoint can hold (said just before)
        return f"the command exited 0, but {not_kept(op)}"
    if op.details.get(EXIT_OK):  # a status --ok-exit counts as success
        return f"the command exited with status {code}, which counts as success, but {not_kept(op)}"
    return f"the command exited with status {code}"


# An operation's detail: its command's exit status was one `--ok-exit` (or `[ok_exit]`) counts
# as success, and it was rolled back for what it left (a merge in progress).
EXIT_OK: Final = "exit_ok"
# An operation's detail: why what the command left could not be kept, where it is not a state
# no checkpoint can hold (its commit, which `commit.gpgSign` asks to sign, could not be signed).
NOT_KEPT: Final = "not_kept"


def not_kept(op: OpRow) -> str:
    """Why a command that succeeded was rolled back all the same, in the words of its views."""
    why = op.details.get(NOT_KEPT)
    return str(why) if why else "left a state no checkpoint can hold"


# What a rollback's promise covers: what git-atomic captures, not ignored files.
AS_BEFORE: Final = "files, index and branches are as before (ignored files are not restored)"


def as_before(repo: Repo | None) -> str:
    """AS_BEFORE, naming the ignored files a `protect` setting makes every checkpoint hold."""
    if repo is None:
        return AS_BEFORE
    from git_atomic.core.config import capture_settings

    if not capture_settings(repo.root)[1]:
        return AS_BEFORE
    return (
        "files, index and branches are as before"
        " (ignored files are not restored, except those `protect` names)"
    )


def summary_line(journal: Journal, op: OpRow, *, repo: Repo | None = None) -> str:
    """One line after the fact: what happened and how to undo it. With `repo`, a rollback of an
    operation that changed nothing says so instead of offering `undo`."""
    gates = journal.gates(op.id)
    head = f"git-atomic: {op.name} [{op.id}]"
    if op.status == OpStatus.COMMITTED:
        passed = f", {len(gates)} gate{'s' if len(gates) != 1 else ''} passed" if gates else ""
        took = f"({op.duration or 0:.1f}s)"
        if op.history == HistoryMode.SHADOW:
            return (
                f"{head} kept{passed} {took}; shadow mode: nothing committed, "
                "the result is in your working tree"
            )
        if not any(c.commit_sha for c in journal.checkpoints(op.id)):
            return f"{head} kept{passed} {took}; nothing to commit"
        return f"{head} committed{passed} {took}"
    if op.status == OpStatus.ROLLED_BACK:
        why = failure_words(op, otherwise="aborted")
        failed = [g for g in gates if not g.passed]
        if failed:
            why = f"gate {failed[0].name} failed: {failed[0].message or ''}".rstrip(": ")
        mended = op.details.get("reflogs_mended") or []
        if (
            repo is not None
            and not op.details.get("problems")
            and not mended
            and not _took_back(repo, journal, op)
        ):
            # but for what no checkpoint holds: an `rm -rf` of your ignored `.env` or
            # `node_modules/` is neither seen nor taken back (as_before's words say so)
            ignored = as_before(repo).removeprefix("files, index and branches are as before")
            return f"{head} rolled back ({why}); it had changed nothing{ignored}"
        unless = ", except what the warnings above name" if left_named(op.details) else ""
        if mended:  # reflogs it rewrote (`reflog expire`), written back (reflogkeep.mend)
            unless += f"; {mended_words(mended)}"
        return (
            f"{head} rolled back ({why}); {as_before(repo)}{unless}. "
            "Its changes are saved: `git atomic undo` brings them back"
        )
    return f"{head} {op.status}"


# An operation's detail: the lines of its `problems` that only say what its rollback put back
# as it was (a setting set back, grafts removed: rollbackop.py): said, but no exception to "as
# before".
PUT_BACK: Final = "problems_put_back"


def left_named(details: Mapping[str, object]) -> bool:
    """Whether a rollback's warnings name something it left or could not put back: not only
    what it put back as it was (PUT_BACK)."""
    problems = details.get("problems")
    put_back = details.get(PUT_BACK)
    done = set(put_back) if isinstance(put_back, list) else set()
    return isinstance(problems, list) and any(p not in done for p in problems)


def _took_back(repo: Repo, journal: Journal, op: OpRow) -> bool:
    """Whether the rollback changed anything: the state it replaced (its rescue) differs from
    the PRE-OP state it went back to."""
    from git_atomic.engine import checkpoint

    cps = journal.checkpoints(op.id)
    pre = next((c.sha for c in cps if c.kind == CheckpointKind.PRE_OP), None)
    rescue = next((c.sha for c in reversed(cps) if c.kind == CheckpointKind.RESCUE), None)
    if pre is None or rescue is None:
        return rescue is not None
    a, b = checkpoint.load(repo, pre), checkpoint.load(repo, rescue)
    if (a.files_tree, a.index_key(), a.head_ref, a.head_oid, a.branches) != (
        b.files_tree,
        b.index_key(),
        b.head_ref,
        b.head_oid,
        b.branches,
    ):
        return True
    # The rest of the state, as far as both checkpoints hold it: git's state left half way,
    # the stashes, the worktree's `.git` file, its sparse-checkout patterns, info/exclude and
    # info/attributes.
    stash = a.stash_known and b.stash_known and a.stash != b.stash
    known = [
        (a.sparse_checkout, b.sparse_checkout),
        (a.info_exclude, b.info_exclude),
        (a.info_attributes, b.info_attributes),
        (a.shallow, b.shallow),
    ]
    rules = any(x.known and y.known and x != y for x, y in known)
    if stash or rules or a.git_state != b.git_state or a.dot_git != b.dot_git:
        return True
    if a.shared_differs(b):  # the index split again, made whole again, or moved back
        return True
    if a.folder_ids is not None:  # a folder moved back, holding only ignored files
        from git_atomic.engine import foldermoves

        events = journal.events(op.worktree, limit=8)
        if any(foldermoves.known_from(e.detail) for e in events if e.rescue == rescue):
            return True
    # The permission bits PRE-OP kept beside its tree that the rescue saw otherwise (its
    # `chmod 644` of a 0600 key, which the rollback closed again).
    if a.modes is not None and a.modes != b.modes:
        then = checkpoint.load_modes(repo, b)
        if any(then.get(p) != bits for p, bits in checkpoint.load_modes(repo, a).items()):
            return True
    # The FIFOs, sockets and devices each saw (git holds none): a FIFO it removed, made again.
    if a.specials != b.specials and checkpoint.load_specials(repo, a) != checkpoint.load_specials(
        repo, b
    ):
        return True
    # Its empty folders, where both know them all (a `mkdir -p` the rollback took back).
    return (
        a.all_empty_folders
        and b.all_empty_folders
        and checkpoint.load_empty_folders(repo, a) != checkpoint.load_empty_folders(repo, b)
    )


def mended_words(mended: Sequence[object]) -> str:
    """How a summary says the reflogs written back."""
    names = ", ".join(str(n).removeprefix("refs/heads/") for n in mended)
    return f"the reflogs it rewrote ({names}) are as before too"
