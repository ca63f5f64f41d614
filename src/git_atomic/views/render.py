"""What the human views share: colour as git decides it, times, the words of a state.

The views themselves are logview.py (`log`), showview.py (`show`) and statusview.py (`status`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Final, TextIO

from git_atomic.core.errors import GitError
from git_atomic.core.journalrows import CheckpointRow, EventRow, GateRow, OpRow
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import CheckpointKind, EventKind, HistoryMode, OpKind, OpStatus, Phase
from git_atomic.engine.git import Repo

STATUS_WORD: Final[dict[str, str]] = {
    OpStatus.COMMITTED: "committed",
    OpStatus.ROLLED_BACK: "rolled back",
    OpStatus.OPEN: "open",
    OpStatus.RECOVERED: "recovered",
    "undone": "undone",  # a move's result (undo), not an operation's status
}


def op_word(op: OpRow, checkpoints: Sequence[CheckpointRow]) -> str:
    """An operation's status in words: a kept operation that committed nothing (shadow mode,
    or commits mode with nothing to commit) is "kept", as `run` says (output.summary_line),
    though its status is `committed`."""
    if op.status == OpStatus.COMMITTED and (
        op.history == HistoryMode.SHADOW or not any(c.commit_sha for c in checkpoints)
    ):
        return "kept"
    return STATUS_WORD.get(op.status, op.status)


def not_applied(op: OpRow) -> str | None:
    """Why an isolated run that passed was never applied to your worktree ("conflict",
    "busy", "branch"), in words; None for any other operation. Such a run is rolled back in the
    journal (isolated_run.not_applied), though nothing of your worktree was touched."""
    reason = op.details.get("not_applied")
    if not isinstance(reason, str) or not reason:
        return None
    why = op.details.get("why")
    return f"not applied ({reason}{': ' + why if isinstance(why, str) and why else ''})"


PHASE_WORD: Final[dict[str, str]] = {
    Phase.PRE_OP: "PRE-OP",
    Phase.EXEC: "OP-EXEC",
    CheckpointKind.OP_EXEC: "OP-EXEC",
    Phase.VALIDATE: "POST-OP (gates)",
    Phase.POST_OP: "POST-OP",
    Phase.DONE: "done",
}
_SGR: Final = {
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "cyan": "36",
    "bold": "1",
    "dim": "2",
}
_STATUS_COLOUR: Final[dict[str, str]] = {
    OpStatus.COMMITTED: "green",
    OpStatus.ROLLED_BACK: "red",
    OpStatus.OPEN: "yellow",
    OpStatus.RECOVERED: "cyan",
    "undone": "cyan",
    "interrupted": "red",
}


class Style:
    """ANSI colour, or plain text when colour is off."""

    def __init__(self, *, colour: bool) -> None:
        self.colour = colour

    def paint(self, text: str, *names: str) -> str:
        if not self.colour or not names or not text:
            return text
        codes = ";".join(_SGR[n] for n in names)
        return f"\x1b[{codes}m{text}\x1b[m"

    def status(self, status: str, text: str | None = None) -> str:
        return self.paint(
            text if text is not None else STATUS_WORD.get(status, status),
            _STATUS_COLOUR.get(status, "bold"),
        )


def want_colour(
    repo: Repo | None, stream: TextIO | None = None, env: Mapping[str, str] | None = None
) -> bool:
    """As git decides: color.atomic, then color.ui (never/always/auto); auto means a terminal.

    NO_COLOR (https://no-color.org) and TERM=dumb switch it off whatever the config says. When
    git started a pager for us (`git -p atomic log`, pager.atomic) it sets GIT_PAGER_IN_USE.
    """
    env = os.environ if env is None else env
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    setting = None
    if repo is not None:
        setting = repo.config("color.atomic") or repo.config("color.ui")
    setting = (setting or "auto").lower()
    if setting in ("never", "false", "off", "no", "0"):
        return False
    if setting == "always":
        return True
    stream = stream or sys.stdout
    return bool(stream.isatty()) or env.get("GIT_PAGER_IN_USE", "").lower() in ("true", "1")


# In a kept turn's journal row: why a gate it failed did not take it back (turnop.close).
NOT_TAKEN_BACK: Final = "not_taken_back"


def not_judged(op: OpRow) -> str:
    """Why an agent turn was recorded without being judged (no gate ran, nothing taken back):
    something stood in the way at its end (an operation open, git half way), or it ended
    without its end event; '' for any other operation."""
    turn = op.details.get("turn")
    if not isinstance(turn, dict):
        return ""
    for key in ("not_judged", "ended"):
        why = turn.get(key)
        if isinstance(why, str) and why:
            return f"not judged ({why})"
    return ""


# --- times -------------------------------------------------------------------------------------
def committed_gates(op: OpRow, gates: list[GateRow]) -> str:
    """How a committed operation's gates ended, in a few words ("" with none). Only an agent
    turn is kept with a gate failing: one that failed where the turn started too (the turn did
    not make it worse), or that could not be taken back: its effect overlaps later changes, or
    a git held the index (the reason recorded then is said)."""
    unjudged = not_judged(op)
    if unjudged:
        return unjudged
    if not gates:
        return ""
    failed = [g.name for g in gates if not g.passed]
    if not failed:
        return f"{len(gates)} gate{'s' if len(gates) != 1 else ''} passed"
    said = f"gate{'s' if len(failed) != 1 else ''} {', '.join(failed)} failed"
    if op.failed_phase is not None:
        why = op.details.get(NOT_TAKEN_BACK)
        if isinstance(why, str) and why:
            return f"{said}; not taken back: {why}"
        return f"{said}; not taken back, as its effect overlaps later changes"
    return f"{said}, as where the turn started"


def relative(ts: float, now: float | None = None) -> str:
    """As `git log --date=relative` says it: 5 seconds ago, 3 minutes ago, 2 weeks ago."""
    delta = max(0.0, (time.time() if now is None else now) - ts)
    for limit, size, unit in (
        (90, 1, "second"),
        (90 * 60, 60, "minute"),
        (36 * 3600, 3600, "hour"),
        (14 * 86400, 86400, "day"),
        (70 * 86400, 7 * 86400, "week"),
        (365 * 86400, 30 * 86400, "month"),
    ):
        if delta < limit:
            n = int((delta + size / 2) // size) if size > 1 else int(delta)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    years = int((delta + 182 * 86400) // (365 * 86400))
    return f"{years} year{'s' if years != 1 else ''} ago"


def duration(seconds: float | None) -> str:
    """0.42s, 12.3s, 3m05s, 1h02m; `-` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"
    return f"{int(seconds // 86400)}d{int(seconds % 86400 // 3600):02d}h"


def clock(ts: float) -> str:
    """A local time as git prints one: 2026-11-25 21:36:32 +0100."""
    from datetime import datetime

    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


# --- the size of a change ----------------------------------------------------------------------
@dataclass(frozen=True)
class Stat:
    files: int
    added: int
    removed: int

    def text(self, style: Style) -> str:
        if not self.files:
            return "no change"
        return (
            f"{self.files} file{'s' if self.files != 1 else ''} "
            f"{style.paint(f'+{self.added}', 'green')} "
            f"{style.paint(f'-{self.removed}', 'red')}"
        )


def end_checkpoint(op: OpRow, checkpoints: list[CheckpointRow]) -> CheckpointRow | None:
    """Where an operation's change ended: POST-OP or its last stage; for one that was rolled
    back or recovered, the rescue taken just before going back (it holds the operation's
    result). None while nothing but PRE-OP exists. An isolated run's ends where its private
    worktree's did: what its apply left in yours holds your edits made while it ran."""
    if op.details.get("isolated"):
        from git_atomic.ops import effect

        checkpoints = effect.before_apply(op, checkpoints)
    steps = [c for c in checkpoints if c.kind != CheckpointKind.RESCUE]
    if op.status not in (OpStatus.COMMITTED, OpStatus.OPEN):
        last_step = steps[-1].seq if steps else 0
        rescues = [c for c in checkpoints if c.kind == CheckpointKind.RESCUE and c.seq > last_step]
        if rescues:
            return rescues[0]
    later = [c for c in steps if c.kind in (CheckpointKind.POST_OP, CheckpointKind.OP_EXEC)]
    return later[-1] if later else None


@dataclass(frozen=True)
class Change:
    """What an operation changed, as two tree-ishes, and how to name them to a person."""

    before: str
    after: str
    name: str  # "PRE-OP -> POST-OP"
    header: str  # "PRE-OP 1a2b3c4d5e6f -> POST-OP 6f5e4d3c2b1a"


def change_of(op: OpRow, checkpoints: list[CheckpointRow]) -> Change | None:
    """PRE-OP -> where the operation ended (end_checkpoint). A phase that committed the tree as
    it stood (`tdd` without a command) changed nothing itself: its change is its commit's."""
    pre = next((c for c in checkpoints if c.kind == CheckpointKind.PRE_OP), None)
    end = end_checkpoint(op, checkpoints)
    if pre is None or end is None:
        return None
    made = [c.commit_sha for c in checkpoints if c.commit_sha]
    if op.kind == OpKind.TDD and op.argv is None and op.status == OpStatus.COMMITTED and made:
        sha = made[-1]
        return Change(f"{sha}^^{{tree}}", f"{sha}^{{tree}}", "its commit", f"commit {sha[:12]}")
    word = end.kind.label
    return Change(
        f"{pre.sha}:files",
        f"{end.sha}:files",
        f"PRE-OP -> {word}",
        f"PRE-OP {pre.sha[:12]} -> {word} {end.sha[:12]}",
    )


def own_change(repo: Repo, op: OpRow, checkpoints: list[CheckpointRow]) -> Change | None:
    """What the operation itself changed: for an agent turn that recorded its calls' steps,
    PRE-OP with each step merged in (what happened between its calls is not shown as its own);
    where the steps do not merge cleanly on PRE-OP, and for every other operation, change_of."""
    from git_atomic.engine import checkpoint
    from git_atomic.ops import effect, treemerge

    pre = next((c for c in checkpoints if c.kind == CheckpointKind.PRE_OP), None)
    calls = effect.turn_steps(op)
    if pre is None or not calls:
        return change_of(op, checkpoints)
    try:
        tree = checkpoint.load(repo, pre.sha).files_tree
        for step in calls:
            base, theirs = (
                checkpoint.load(repo, sha).files_tree for sha in (step.before, step.after)
            )
            merged = treemerge.merge(repo, base=base, ours=tree, theirs=theirs)
            if merged.tree is None:
                return change_of(op, checkpoints)
            tree = merged.tree
    except GitError:
        # A checkpoint of it git no longer has (its ref deleted and pruned, by a call of the
        # turn itself): shown as any other operation's, which says so.
        return change_of(op, checkpoints)
    # A step is the time its calls ran (a window: one call, or several at once), cut where
    # another writer's change ended inside it: never a count of its calls.
    n = len(calls)
    steps = "" if n == 1 else f", in {n} steps (while its calls ran, less others' changes)"
    return Change(
        f"{pre.sha}:files", tree, "its calls", f"PRE-OP {pre.sha[:12]} + its calls' changes{steps}"
    )


def brought_back(
    checkpoints: list[CheckpointRow], events: list[EventRow], op_id: str | None = None
) -> bool:
    """Whether `undo` brought a rolled-back operation's result back (and no later undo, or
    rollback of it, took it away again). `events`: the worktree's, oldest first. An undo
    restores a rescue; a second undo restores the rescue the first one took, and so on."""
    absent = {c.sha for c in checkpoints if c.kind == CheckpointKind.RESCUE}
    present: set[str] = set()
    state = False
    for e in events:
        if e.kind != EventKind.UNDO:
            if op_id is not None and f'"takes_back": "{op_id}"' in (e.detail or ""):
                state = False  # taken back again (`rollback --op`): undoing that brings it back
                if e.rescue:
                    absent.add(e.rescue)
            continue
        if e.undid is None:
            continue
        if e.undid in absent:
            state = True
            if e.rescue:
                present.add(e.rescue)
        elif e.undid in present:
            state = False
            if e.rescue:
                absent.add(e.rescue)
    return state


# A file moved is one change, as git shows it (`-M`: a rename, its lines changed counted),
# never a deletion and an addition. Within a view's budget whatever `diff.renameLimit` says:
# past that many files added or deleted, only exact renames are paired (git's own rule).
