"""An agent turn as an operation in the journal, at its end: its refs moved to the operation's
place, its row and checkpoints written, and the row closed (agents/judge.py decides how)."""

from __future__ import annotations

import time
from typing import TypeAlias

from git_atomic.agents import turnkeys, turnleft, turnstopkilled
from git_atomic.agents.turnstate import TURN_REFS, Record
from git_atomic.core import failpoints
from git_atomic.core.journalrows import Owner
from git_atomic.core.vocab import CheckpointKind, FailedPhase, HistoryMode, OpKind, OpStatus, Phase
from git_atomic.engine import git
from git_atomic.engine.gitoutput import parse_refs
from git_atomic.ops.context import UNNAMED, Context, checkpoints_held, unnamed_folders
from git_atomic.ops.samefolder import ROOT_KEY, root_identity

Held: TypeAlias = Context


def adopt_refs(repo: git.Repo, record: Record, listed: bytes | None) -> dict[str, str]:
    """Move the turn's refs to its operation's place (one transaction): checkpoint -> ref. A
    step's checkpoint whose ref a call deleted (`git update-ref -d refs/atomic/turns/...`) and
    that git still has gets one again: the operation's `undo` and `show --diff` need it, and
    without a ref your next `git gc --prune=now` would take it."""
    moved: dict[str, str] = {}
    lines = []
    prefix = f"{TURN_REFS}{record.op_id}/"
    refs = repo.refs(prefix) if listed is None else parse_refs(listed)
    for name, oid in ((n, o) for n, o in refs.items() if n.startswith(prefix)):
        new = f"refs/atomic/ops/{name.removeprefix(TURN_REFS)}"
        lines += [f"create {new} {oid}", f"delete {name} {oid}"]
        moved.setdefault(oid, new)
    unheld = [sha for sha in dict.fromkeys(s for step in record.steps for s in step)]
    unheld = [sha for sha in unheld if sha not in moved]
    if unheld:
        asked = "".join(f"{sha}\n" for sha in unheld).encode()
        listed = repo.run("cat-file", "--batch-check", input=asked, check=False).stdout
        present = {
            line.split()[0].decode() for line in listed.splitlines() if b" missing" not in line
        }
        for n, sha in enumerate((s for s in unheld if s in present), start=record.refs + 1):
            new = f"refs/atomic/ops/{record.op_id}/{n:03d}-kept"
            lines.append(f"create {new} {sha}")
            moved[sha] = new
    repo.update_refs(lines, message="git-atomic: an agent turn ends")
    return moved


def record_op(
    ctx: Held,
    record: Record,
    refs: dict[str, str],
    *,
    detail: dict[str, object],
    history: HistoryMode = HistoryMode.SHADOW,
) -> None:
    quiet = turnleft.quiet(record)
    turn = {
        "platform": record.platform,
        "session": record.session,
        "calls": list(record.labels),
        "steps": [list(step) for step in record.steps],
        **({"unprotected": list(record.unprotected)} if record.unprotected else {}),
        **({turnkeys.QUIET_DETAIL: [list(w) for w in quiet]} if quiet else {}),
        **detail,
    }

    # A ref gone meanwhile (deleted by hand) leaves the row without one, not the turn. Where
    # a window was cut around another writer's change that ended inside it (turnothers.py:
    # the checkpoints at the cut are held by refs named `-other`), its rows say so: a step
    # is the time its calls ran, not a call.
    def cut(sha: str) -> bool:
        return refs.get(sha, "").endswith("-other")

    ctx.journal.create_op(
        record.op_id,
        worktree=ctx.worktree,
        name=f"{record.platform}-turn-{short(record.session)}",
        kind=OpKind.AGENT_TURN,
        history=history,
        phase=Phase.VALIDATE,
        pending=None,
        argv=None,
        started_at=record.started_at,
        # The folder it ran in (samefolder.ROOT_KEY): a later `rollback --op` of it is refused
        # where git takes another folder for this worktree (samefolder.same_worktree).
        detail={
            "turn": turn,
            **beside(ctx.repo, record),
            ROOT_KEY: root_identity(ctx.repo),
            **({UNNAMED: unnamed} if (unnamed := record.extra.get(UNNAMED)) is not None else {}),
        },
        owner=Owner.this_process(),
        # In the row's own transaction: a kill between them left a row with no PRE-OP.
        checkpoints=[
            row
            for n, (before, after) in enumerate(record.steps)
            for row in (
                (
                    CheckpointKind.PRE_OP if n == 0 else CheckpointKind.OP_EXEC,
                    before,
                    refs.get(before, ""),
                    "after another writer's change inside its window"
                    if cut(before)
                    else "before a call",
                ),
                (
                    CheckpointKind.OP_EXEC,
                    after,
                    refs.get(after, ""),
                    "before another writer's change inside its window"
                    if cut(after)
                    else "after it",
                ),
            )
        ],
    )

    turnstopkilled.recorded(ctx, record)  # out of its slot now that it is an operation


def close(
    ctx: Held,
    op_id: str,
    status: OpStatus,
    *,
    post_op: str | None = None,
    failed_phase: FailedPhase | None = None,
    why: str = "",
) -> None:
    """`why`: a turn whose gate failed is kept (not taken back): what stood in the way, for
    `log` and `show` (render.committed_gates)."""
    last: list[tuple[CheckpointKind, str, str, str | None]] = []
    if post_op is not None:
        ref = f"refs/atomic/ops/{op_id}/{len(ctx.journal.checkpoints(op_id)) + 1:03d}-post-op"
        ctx.repo.update_refs([f"create {ref} {post_op}"], message="git-atomic: post_op")
        # Killed here: a ref no row names, which `recover` drops (the state is the turn's last
        # step's, held by its own ref).
        failpoints.hit("turnop:post-op-ref")
        last.append((CheckpointKind.POST_OP, post_op, ref, "the turn's end"))
    now = time.time()
    op = ctx.journal.op(op_id)
    started = op.started_at if op is not None else now
    detail = dict(op.details) if op is not None else None
    if why and detail is not None:
        from git_atomic.views.render import NOT_TAKEN_BACK

        detail[NOT_TAKEN_BACK] = why
    ctx.journal.close_op(
        op_id,
        status=status,
        failed_phase=failed_phase,
        ended_at=now,
        duration=now - started,
        coverage=op.coverage if op is not None else None,
        detail=detail,
        # With the row's closing (one transaction): a POST-OP on a row left open was taken
        # back by `recover` as interrupted, a turn whose gates had passed.
        checkpoints=last,
    )
    failpoints.hit("turnop:closed")  # the turn closed, its refs not yet checked
    # Our refs a call deleted or rewrote (`git filter-branch -- --all`), or one no row names
    # (a rescue of no operation, an emergency's commit) it deleted: held again.
    noted = detail.get(UNNAMED) if detail is not None else None
    if not checkpoints_held(ctx.repo, ctx.journal.checkpoints(op_id)) or (
        noted is not None and noted != unnamed_folders(ctx.repo)
    ):
        from git_atomic.ops import heldrefs

        heldrefs.hold_all(ctx.repo, ctx.journal)


def beside(repo: git.Repo, record: Record) -> dict[str, object]:
    """What the turn's calls changed beside its checkpoints (turnbeside.BESIDE), as an
    operation's journal detail has it."""
    from git_atomic.agents.turnbeside import beside_detail

    return beside_detail(repo, record)


def short(session: str) -> str:
    return "".join(c for c in session if c.isalnum())[:8] or "unknown"
