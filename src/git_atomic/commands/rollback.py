"""`rollback`, `emergency`, `undo`: every way back, each reversible, each with a dry run.

Immediate `rollback` (no --op, no --to) works on the newest operation of this worktree. Its
*steps* are its PRE-OP and OP-EXEC checkpoints, then POST-OP for a committed one (rescue
checkpoints are never steps); an operation that was rolled back has a single step, its PRE-OP.
The target is the newest step whose files differ from the worktree's now: "where the tree
already equals it, to the checkpoint before that", and so on past steps that changed no file
(in commits mode OP-EXEC and POST-OP often hold the same files, and going to one of them would
only move HEAD). Files decide, not HEAD or the index: in commits mode a checkpoint is captured
just before its visible commit moves the branch, so HEAD never equals its checkpoint afterwards.
A step is restored exactly as captured (HEAD, branches, index, files).
  - Inside an open operation the operation stays open; at its PRE-OP there is nothing further:
    the command says so, changes nothing and exits 0 (the tree is where the request leads).
  - For a closed operation, reaching its PRE-OP marks it rolled_back (undo marks it back).
  - No operation at all in this worktree: exit 2, nothing to roll back.

`rollback --op ID` brings the whole operation back to its PRE-OP; its status becomes
rolled_back (an open one is closed). `rollback --to CHECKPOINT` goes to any checkpoint exactly;
with paths, only those paths' files and index entries (HEAD and branches untouched).
While an operation is open, a whole-tree move may only target its own checkpoints.

`emergency` saves everything as a rescue checkpoint, then goes to the POST-OP state of the
newest committed operation of this worktree, else to HEAD's commit (while an operation is open:
HEAD's commit before it began, since its own commits are not validated), or to `--to COMMIT`. For a
commit: HEAD (branch or detached) moves to it, no other branch moves, the index and the files
become its tree, and untracked files go — they are in the rescue, and `undo` brings them back.
Ignored files are never touched. An open operation is closed as rolled_back.

`undo` reverses the newest event of this worktree (rollback, abort, emergency, recover, undo):
it restores that event's rescue checkpoint exactly, after taking a rescue of its own, so a
second `undo` re-does what the first undid. A move that has nothing to change takes no rescue
and writes no event.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from git_atomic import context, moves, output, pathcheck, scan, snapshot, steps
from git_atomic.commands.query import resolve_op
from git_atomic.config import load_config
from git_atomic.errors import BusyError, RefusedError, UsageError
from git_atomic.journal import CheckpointRow, OpRow
from git_atomic.operation import Engine

_UNDO_HINT: Final = "`git atomic undo` brings back what it replaced"


def rollback(
    *, op: str | None, to: str | None, paths: Sequence[str], dry_run: bool, json_out: bool
) -> int:
    if op is not None and to is not None:
        raise UsageError("rollback: give --op or --to, not both")
    if paths and to is None:
        raise UsageError("rollback: paths need a checkpoint: rollback --to CHECKPOINT -- PATH...")
    with context.opened("rollback") as ctx:
        wanted = pathcheck.worktree_paths(ctx.repo.root, Path.cwd(), paths) if paths else ()
        open_op = _guard(ctx)
        subject: OpRow | None
        current = None
        if op is not None:
            subject = resolve_op(ctx.journal, op)
            move = _whole_op(ctx, subject, open_op)
        elif to is not None:
            move, subject = _to_checkpoint(ctx, to, wanted, open_op)
        else:
            current = moves.probe(ctx.repo)
            found = _immediate(ctx, open_op, current.files_tree, json_out=json_out)
            if found is None:
                return 0
            move, subject = found
        stays_open = (
            open_op is not None and subject is not None and subject.id == open_op.id and op is None
        )
        return _go(
            ctx,
            move,
            subject,
            open_op if stays_open else None,
            current,
            dry_run=dry_run,
            json_out=json_out,
            close_open=op is not None and open_op is not None,
        )


def emergency(*, to: str | None, dry_run: bool, json_out: bool) -> int:
    with context.opened("emergency") as ctx:
        repo, journal = ctx.repo, ctx.journal
        open_op = _guard(ctx)
        from_commit = True
        if to is not None:
            commit = repo.rev_parse(to)
            if commit is None:
                raise UsageError(f"emergency --to: {to!r} is not a commit in this repository")
            target, label = moves.commit_checkpoint(repo, commit), f"commit {commit[:12]}"
        else:
            post = steps.last_validated(journal, ctx.worktree)
            if post is not None:
                row, owner = post
                target, label = row.sha, f"POST-OP of {owner.name} [{owner.id}]"
                from_commit = False
            else:
                head = _head_before(ctx, open_op)
                if head is None:
                    raise UsageError(
                        "emergency: no validated state and no commit to return to "
                        "(HEAD is unborn); name one with --to COMMIT"
                    )
                target, label = moves.commit_checkpoint(repo, head), f"HEAD's commit {head[:12]}"
        move = moves.Move("emergency", target, label, open_op.id if open_op else None)
        prev = moves.preview(repo, move)
        if dry_run or (prev.empty and open_op is None):
            return _report_still(
                ctx, move, prev, open_op, status="rolled_back", dry_run=dry_run, json_out=json_out
            )
        if from_commit:
            moves.keep(repo, target)
        engine = Engine(ctx)
        with _owning(ctx, open_op):
            done = moves.carry_out(engine, move, probe=prev.current)
            closed = None
            if open_op is not None:
                closed = engine.close(
                    open_op.id, status="rolled_back", detail=_detail(open_op, done, emergency=True)
                )
        history = closed.history if closed else load_config(repo.root).history.value
        return _report_done(
            ctx,
            move,
            prev,
            done,
            closed,
            status="rolled_back",
            json_out=json_out,
            history=history,
            said=f"emergency: everything was saved as rescue "
            f"{output.short(done.rescue)}; back to {label}",
        )


def undo(*, dry_run: bool, json_out: bool) -> int:
    with context.opened("undo") as ctx:
        journal = ctx.journal
        open_op = _guard(ctx)
        events = journal.events(ctx.worktree, limit=1)
        if not events or events[0].rescue is None:
            raise UsageError(
                "undo: nothing to undo in this worktree (no rollback, abort, "
                "emergency or recover yet)"
            )
        event = events[0]
        if open_op is not None and event.at < open_op.started_at:
            raise BusyError(
                f"operation {open_op.id} ({open_op.name}) is open and the last "
                f"{event.kind} happened before it began",
                hint="commit or abort it first",
            )
        rescue = event.rescue
        assert rescue is not None
        subject = journal.op(event.op_id) if event.op_id else None
        move = moves.Move(
            "undo",
            rescue,
            f"the state before the last {event.kind}",
            open_op.id if open_op else None,
        )
        prev = moves.preview(ctx.repo, move)
        if dry_run or prev.empty:
            return _report_still(
                ctx, move, prev, subject, status="undone", dry_run=dry_run, json_out=json_out
            )
        engine = Engine(ctx)
        with _owning(ctx, open_op):
            reverse = steps.reverse_status(journal, event.detail)
            done = moves.carry_out(engine, move, detail=reverse, probe=prev.current)
            if reverse is not None:
                change = reverse["op_status"]
                journal.update_op(change["op"], status=change["to"])
        subject = journal.op(event.op_id) if event.op_id else None
        again = "re-does it" if event.kind == "undo" else "undoes this"
        return _report_done(
            ctx,
            move,
            prev,
            done,
            subject,
            status="undone",
            json_out=json_out,
            said=f"undid the last {event.kind}; `git atomic undo` again {again}",
        )


# --- choosing where to go ----------------------------------------------------------------------
def _guard(ctx: context.Context) -> OpRow | None:
    """The open operation, refusing (exit 3) while anything half done waits for `recover`."""
    op = context.refuse_if_interrupted(ctx)
    if op is not None and op.pending is not None:
        raise BusyError(
            f"a step of operation {op.id} ({op.name}) was interrupted half way",
            hint="run `git atomic recover` to finish it",
        )
    return op


def _immediate(
    ctx: context.Context, open_op: OpRow | None, now: str, *, json_out: bool
) -> tuple[moves.Move, OpRow] | None:
    journal = ctx.journal
    newest = journal.ops(worktree=ctx.worktree, limit=1)
    if not newest:
        raise UsageError("rollback: no operation in this worktree yet; nothing to roll back")
    op = newest[0]
    walk = steps.steps(journal, op)
    files = {row.sha: snapshot.load(ctx.repo, row.sha).files_tree for row in walk}
    pos = steps.position(journal, ctx.worktree, walk)
    candidates = (
        []
        if not walk
        else [walk[pos]]
        if files[walk[pos].sha] != now
        else [row for row in reversed(walk[:pos]) if files[row.sha] != now]
    )
    if candidates:
        row = candidates[0]
        return moves.Move(
            "rollback", row.sha, steps.label(journal, row, op), open_op.id if open_op else None
        ), op
    where = steps.label(journal, walk[0], op) if walk else f"{op.name} [{op.id}]"
    hint = (
        " (`git atomic undo` brings back what the last rollback replaced)"
        if journal.events(ctx.worktree, limit=1)
        else ""
    )
    if json_out:
        obj = output.op_object(journal, op)
        obj.update(
            event="rollback",
            dry_run=False,
            target=None,
            changes=[],
            head=None,
            branches=[],
            index=[],
            problems=[],
        )
        output.emit_json(obj)
    output.say(f"git-atomic: the tree is at {where}; nothing further to roll back{hint}")
    return None


def _whole_op(ctx: context.Context, op: OpRow, open_op: OpRow | None) -> moves.Move:
    if op.worktree != ctx.worktree:
        raise UsageError(
            f"operation {op.id} ({op.name}) belongs to worktree {op.worktree}; roll it back there"
        )
    if open_op is not None and open_op.id != op.id:
        raise BusyError(
            f"operation {open_op.id} ({open_op.name}) is open in this worktree",
            hint="commit or abort it before rolling back an earlier one",
        )
    pre = next((c for c in ctx.journal.checkpoints(op.id) if c.kind == "pre_op"), None)
    if pre is None:
        raise UsageError(
            f"operation {op.id} ({op.name}) has no PRE-OP checkpoint: it never "
            "started (`git atomic recover` closes it)"
        )
    return moves.Move(
        "rollback",
        pre.sha,
        steps.label(ctx.journal, pre, op),
        op.id if op.status == "open" else None,
    )


def _to_checkpoint(
    ctx: context.Context, text: str, paths: tuple[bytes, ...], open_op: OpRow | None
) -> tuple[moves.Move, OpRow | None]:
    sha, row = _resolve_checkpoint(ctx, text)
    owner = ctx.journal.op(row.op_id) if row is not None else None
    if not paths and open_op is not None and (owner is None or owner.id != open_op.id):
        raise BusyError(
            f"operation {open_op.id} ({open_op.name}) is open in this worktree and "
            f"{output.short(sha)} is not one of its checkpoints",
            hint="commit or abort it first, or restore only some paths: "
            "rollback --to CHECKPOINT -- PATH...",
        )
    if paths:
        _check_paths_match(ctx, sha, paths)
    label = (
        steps.label(ctx.journal, row, owner)
        if row is not None and owner is not None
        else f"checkpoint {output.short(sha)}"
    )
    subject = open_op if open_op is not None else owner
    return moves.Move(
        "rollback", sha, label, open_op.id if open_op else None, paths, with_refs=not paths
    ), subject


def _resolve_checkpoint(ctx: context.Context, text: str) -> tuple[str, CheckpointRow | None]:
    repo, journal = ctx.repo, ctx.journal
    if text.startswith(("refs/atomic/", "atomic/")):
        ref = text if text.startswith("refs/") else f"refs/{text}"
        found = repo.refs(ref).get(ref)
        if found is None:
            raise UsageError(f"rollback --to: no ref {ref} (see `git atomic show ID`)")
        shas = {found}
    elif re.fullmatch(r"[0-9a-fA-F]{4,40}", text):
        prefix = text.lower()
        shas = {c.sha for c in journal.find_checkpoint(prefix)}
        shas |= {
            sha
            for name, sha in repo.refs("refs/atomic/").items()
            if sha.startswith(prefix) and not name.startswith(scan.SCAN_REFS)
        }
    else:
        raise UsageError(
            f"rollback --to: expected a checkpoint id (4 or more hex digits) or a "
            f"ref under refs/atomic/, got {text!r}"
        )
    if not shas:
        raise UsageError(f"rollback --to: unknown checkpoint {text!r} (see `git atomic show ID`)")
    if len(shas) > 1:
        raise UsageError(
            f"rollback --to: {text!r} is ambiguous: " + ", ".join(sorted(s[:12] for s in shas)[:5])
        )
    sha = shas.pop()
    try:
        snapshot.load(repo, sha)
    except RefusedError:
        raise UsageError(f"rollback --to: {text} is not a git-atomic checkpoint") from None
    rows = [c for c in journal.find_checkpoint(sha) if c.sha == sha]
    return sha, (rows[0] if rows else None)


def _check_paths_match(ctx: context.Context, sha: str, paths: tuple[bytes, ...]) -> None:
    """A path that is nowhere (checkpoint, index, worktree) is a typo: refuse, like git."""
    repo = ctx.repo
    snap = snapshot.load(repo, sha)
    root = os.fsencode(repo.root)
    for path in paths:
        spec = os.fsdecode(path)
        if path == b"." or os.path.lexists(root + b"/" + path):
            continue
        if any(
            repo.out("ls-tree", "-r", "--name-only", "--full-tree", tree, "--", spec)
            for tree in (snap.files_tree, snap.staged_tree)
        ):
            continue
        if repo.out("ls-files", "-z", "--", spec):
            continue
        raise UsageError(
            f"{spec}: matches nothing at checkpoint {output.short(sha)}, in the "
            "index or in the worktree"
        )


def _head_before(ctx: context.Context, open_op: OpRow | None) -> str | None:
    """HEAD's commit; while an operation is open, as it was before the operation began: in
    commits mode the operation's own commits are on the branch, and none of them is validated."""
    pre = (
        next((c for c in ctx.journal.checkpoints(open_op.id) if c.kind == "pre_op"), None)
        if open_op is not None
        else None
    )
    if pre is not None:
        return snapshot.load(ctx.repo, pre.sha).head_oid
    return ctx.repo.read_head()[1]


# --- carrying out ------------------------------------------------------------------------------
def _go(
    ctx: context.Context,
    move: moves.Move,
    subject: OpRow | None,
    stays_open: OpRow | None,
    current: snapshot.Snapshot | None,
    *,
    dry_run: bool,
    json_out: bool,
    close_open: bool,
) -> int:
    """One rollback: preview, then (unless a dry run or nothing to do) the move and its record."""
    journal = ctx.journal
    status = "open" if stays_open is not None else "rolled_back"
    prev = moves.preview(ctx.repo, move, current=current)
    if dry_run or (prev.empty and not close_open):
        return _report_still(
            ctx, move, prev, subject, status=status, dry_run=dry_run, json_out=json_out
        )
    engine = Engine(ctx)
    with _owning(ctx, subject if subject is not None and subject.status == "open" else None):
        flip = steps.status_flip(journal, move.target, subject, selective=bool(move.paths))
        detail = dict(flip or {})
        if move.paths:
            detail["paths"] = [p.decode("utf-8", "surrogateescape") for p in move.paths]
        done = moves.carry_out(engine, move, detail=detail or None, probe=prev.current)
        if close_open and subject is not None:
            subject = engine.close(subject.id, status="rolled_back", detail=_detail(subject, done))
        elif flip is not None:
            journal.update_op(flip["op_status"]["op"], status="rolled_back")
    subject = journal.op(subject.id) if subject is not None else None
    return _report_done(
        ctx,
        move,
        prev,
        done,
        subject,
        status=status,
        json_out=json_out,
        said=f"rolled back to {move.label}" + _only(move.paths),
    )


def _only(paths: Sequence[bytes]) -> str:
    if not paths:
        return ""
    shown = ", ".join(p.decode("utf-8", "backslashreplace") for p in paths[:3])
    return f" (only {shown}{', ...' if len(paths) > 3 else ''})"


def _detail(op: OpRow, done: moves.Done, *, emergency: bool = False) -> str | None:
    import json

    detail = dict(op.details)
    if done.problems:
        detail["problems"] = list(done.problems)
    if emergency:
        detail["emergency"] = True
    return json.dumps(detail) if detail else None


@contextmanager
def _owning(ctx: context.Context, op: OpRow | None) -> Iterator[None]:
    """While we work on an open operation it names us, so a crash shows as interrupted."""
    if op is None:
        yield
        return
    ctx.journal.update_op(op.id, **context.owner_fields())
    try:
        yield
    finally:
        current = ctx.journal.op(op.id)
        if current is not None and current.status == "open":
            ctx.journal.update_op(op.id, owner_pid=None, owner_start=None)


# --- telling -----------------------------------------------------------------------------------
def _report_still(
    ctx: context.Context,
    move: moves.Move,
    prev: moves.Preview,
    subject: OpRow | None,
    *,
    status: str,
    dry_run: bool,
    json_out: bool,
) -> int:
    facts = moves.describe(prev)
    if json_out:
        output.emit_json(
            moves.result_object(
                ctx.journal,
                subject,
                status=status if dry_run else (subject.status if subject else status),
                event=move.event,
                label=move.label,
                target=move.target,
                rescue=None,
                facts=facts,
                dry_run=dry_run,
                paths=move.paths,
            )
        )
    elif dry_run:
        for line in moves.listing(facts):
            print(line)
    if dry_run:
        n = len(facts["changes"])
        output.say(
            f"git-atomic: dry run: {move.event} to {move.label} would change {n} "
            f"path{'s' if n != 1 else ''}; nothing was changed"
        )
    else:
        output.say(f"git-atomic: the tree is already at {move.label}; nothing to do")
    return 0


def _report_done(
    ctx: context.Context,
    move: moves.Move,
    prev: moves.Preview,
    done: moves.Done,
    subject: OpRow | None,
    *,
    status: str,
    json_out: bool,
    said: str,
    history: str | None = None,
) -> int:
    facts = moves.describe(prev, done.changes)
    if json_out:
        output.emit_json(
            moves.result_object(
                ctx.journal,
                subject,
                status=status,
                event=move.event,
                label=move.label,
                target=move.target,
                rescue=done.rescue,
                facts=facts,
                dry_run=False,
                problems=done.problems,
                paths=move.paths,
                history=history,
            )
        )
    for problem in done.problems:
        output.say(f"git-atomic: warning: {problem}")
    n = len(facts["changes"])
    hint = "" if move.event == "undo" else f"; {_UNDO_HINT}"
    output.say(f"git-atomic: {said}; {n} path{'s' if n != 1 else ''} changed{hint}")
    return 0
