"""Where `rollback` goes: the newest step of the open operation that differs from the tree,
an operation's whole PRE-OP, or a checkpoint named by `--to` (with paths: those paths only);
and what it says where there is nothing further to take back (commands/rollback.py)."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence

from git_atomic.core.errors import BusyError, RefusedError, UsageError
from git_atomic.core.journalrows import CheckpointRow, OpRow
from git_atomic.core.vocab import CheckpointKind, EventKind, OpStatus
from git_atomic.engine import checkpoint, restorespecials, scanindex
from git_atomic.ops import context, moveresults, moves, output, results, samefolder, steps


def nothing_further(
    ctx: context.Context,
    op: OpRow,
    where: str,
    *,
    json_out: bool,
    git_dir: Sequence[str] | None = None,
) -> int:
    """`git_dir`: a dry run's (None: no dry run), the git-dir repairs the real one makes."""
    hint = (
        " (`git atomic undo` brings back what the last rollback replaced)"
        if ctx.journal.events(ctx.worktree, limit=1)
        else ""
    )
    if json_out:
        output.emit(
            moveresults.NothingFurther(
                results.operation(ctx.journal, op),
                dry_run=git_dir is not None,
                git_dir=tuple(git_dir or ()),
            )
        )
    output.say(f"git-atomic: {where}; nothing further to roll back{hint}")
    return 0


def immediate(
    ctx: context.Context, op: OpRow, current: checkpoint.Snapshot, *, json_out: bool
) -> tuple[moves.Move, OpRow] | None:
    """Inside the open operation `op`: the newest of its steps whose files or index differ
    from the state now (`current`), or whose FIFOs, sockets and devices do (no tree holds
    one): one it holds that is not there now (a restore to it makes a FIFO again, names a
    socket or a device, but where the last rollback came to that step already and named it),
    or one there now that it does not hold (a restore to it takes that away)."""
    journal = ctx.journal
    walk = steps.steps(journal, op)
    loaded = {row.sha: checkpoint.load(ctx.repo, row.sha) for row in walk}
    now: dict[bytes, int] | None = None
    last = journal.events(ctx.worktree, limit=1)
    came_to = last[0].target if last and last[0].kind == EventKind.ROLLBACK else None

    def differs(sha: str) -> bool:
        nonlocal now
        snap = loaded[sha]
        if snap.files_tree != current.files_tree or snap.index_key() != current.index_key():
            return True  # (the index too: a `git add` since is a step to take back)
        if snap.specials == current.specials:
            return False
        if now is None:
            now = checkpoint.load_specials(ctx.repo, current)
        held = checkpoint.load_specials(ctx.repo, snap)
        # A FIFO not there as it holds it (gone, or with other bits: made again, its bits
        # put back); a socket or a device gone, but where the last rollback named it.
        if any(
            now.get(path) != mode
            if stat.S_ISFIFO(mode)
            else stat.S_IFMT(now.get(path, 0)) != stat.S_IFMT(mode) and sha != came_to
            for path, mode in held.items()
        ):
            return True
        return restorespecials.knows_all(snap) and any(
            stat.S_IFMT(held.get(path, 0)) != stat.S_IFMT(mode) for path, mode in now.items()
        )

    pos = steps.position(journal, ctx.worktree, walk)
    candidates = (
        []
        if not walk
        else [walk[pos]]
        if differs(walk[pos].sha)
        else [row for row in reversed(walk[:pos]) if differs(row.sha)]
    )
    if candidates:
        row = candidates[0]
        return moves.Move(EventKind.ROLLBACK, row.sha, steps.label(journal, row, op), op.id), op
    where = steps.label(journal, walk[0], op) if walk else f"{op.name} [{op.id}]"
    nothing_further(ctx, op, f"the tree is at {where}", json_out=json_out)
    return None


def whole_op(ctx: context.Context, op: OpRow, open_op: OpRow | None) -> moves.Move:
    if op.worktree != ctx.worktree:
        raise UsageError(
            f"operation {op.id} ({op.name}) belongs to worktree {op.worktree}; roll it back there"
        )
    samefolder.same_worktree(ctx.repo, op)
    if open_op is not None and open_op.id != op.id:
        raise BusyError(
            f"operation {open_op.id} ({open_op.name}) is open in this worktree",
            hint="commit or abort it before rolling back an earlier one",
        )
    pre = next((c for c in ctx.journal.checkpoints(op.id) if c.kind == CheckpointKind.PRE_OP), None)
    if pre is None:
        raise UsageError(
            f"operation {op.id} ({op.name}) has no PRE-OP checkpoint: it never "
            "started (`git atomic recover` closes it)"
        )
    return moves.Move(
        EventKind.ROLLBACK,
        pre.sha,
        steps.label(ctx.journal, pre, op),
        op.id if op.status == OpStatus.OPEN else None,
    )


def to_checkpoint(
    ctx: context.Context,
    text: str,
    paths: tuple[bytes, ...],
    open_op: OpRow | None,
    *,
    whole: bool,
) -> tuple[moves.Move, OpRow | None]:
    sha, row = resolve_checkpoint(ctx, text)
    owner = ctx.journal.op(row.op_id) if row is not None else None
    if owner is not None and owner.worktree == ctx.worktree:
        samefolder.same_worktree(ctx.repo, owner)  # its state, never written into another folder
    elif row is None:  # a rescue of no operation (`emergency`, `rollback --to`): its event's
        saved = [e for e in ctx.journal.events(ctx.worktree, limit=200) if e.rescue == sha]
        samefolder.same_event_folder(ctx.repo, saved[0] if saved else None)
    own_step = open_op is not None and owner is not None and owner.id == open_op.id
    if not paths and not whole and not own_step:
        raise UsageError(
            f"rollback --to {text}: going back to a whole earlier state drops what came after "
            "it; ask for it with --whole (--dry-run lists what it would drop), take back one "
            "operation's effect with --op ID, or restore some paths: --to CHECKPOINT -- PATH..."
        )
    if not paths and open_op is not None and not own_step:
        raise BusyError(
            f"operation {open_op.id} ({open_op.name}) is open in this worktree and "
            f"{output.short(sha)} is not one of its checkpoints",
            hint="commit or abort it first, or restore only some paths: "
            "rollback --to CHECKPOINT -- PATH...",
        )
    if paths:
        check_paths_match(ctx, sha, paths)
    label = (
        steps.label(ctx.journal, row, owner)
        if row is not None and owner is not None
        else f"checkpoint {output.short(sha)}"
    )
    subject = open_op if open_op is not None else owner
    return moves.Move(
        EventKind.ROLLBACK, sha, label, open_op.id if open_op else None, paths, with_refs=not paths
    ), subject


def resolve_checkpoint(ctx: context.Context, text: str) -> tuple[str, CheckpointRow | None]:
    repo, journal = ctx.repo, ctx.journal
    if text.startswith(("refs/atomic/", "atomic/")):
        ref = text if text.startswith("refs/") else f"refs/{text}"
        found = repo.refs(ref).get(ref)
        if found is None:
            raise UsageError(f"rollback --to: no ref {ref} (see `git atomic show ID`)")
        shas = {found}
    elif re.fullmatch(r"[0-9a-fA-F]{4,64}", text):  # SHA-1 or SHA-256
        prefix = text.lower()
        shas = {c.sha for c in journal.find_checkpoint(prefix)}
        shas |= {
            sha
            for name, sha in repo.refs("refs/atomic/").items()
            if sha.startswith(prefix) and not name.startswith(scanindex.SCAN_REFS)
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
        checkpoint.load(repo, sha)
    except RefusedError:
        raise UsageError(f"rollback --to: {text} is not a git-atomic checkpoint") from None
    rows = [c for c in journal.find_checkpoint(sha) if c.sha == sha]
    return sha, (rows[0] if rows else None)


def check_paths_match(ctx: context.Context, sha: str, paths: tuple[bytes, ...]) -> None:
    """A path that is nowhere (checkpoint, index, worktree) is a typo: refuse, like git."""
    repo = ctx.repo
    snap = checkpoint.load(repo, sha)
    root = os.fsencode(repo.root)
    literal = {"GIT_LITERAL_PATHSPECS": "1"}  # a path is a name, never a pattern
    for path in paths:
        spec = os.fsdecode(path)
        if path == b"." or os.path.lexists(root + b"/" + path):
            continue
        if any(
            repo.out("ls-tree", "-r", "--name-only", "--full-tree", tree, "--", spec, env=literal)
            for tree in (snap.files_tree, snap.staged_tree)
        ):
            continue
        if repo.out("ls-files", "-z", "--", spec, env=literal):
            continue
        patterned = any(c in spec for c in "*?[")
        raise UsageError(
            f"{spec}: matches nothing at checkpoint {output.short(sha)}, in the "
            "index or in the worktree"
            + (" (paths are names, not patterns: name each file or folder)" * patterned)
        )
