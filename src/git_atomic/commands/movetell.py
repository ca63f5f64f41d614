"""What `rollback`, `undo` and `emergency` say of a move: still to do (a dry run, a refusal)
or done, in words or JSON, and the exit code of what it left (commands/moving.py moves)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from git_atomic.core import records
from git_atomic.core.errors import Exit
from git_atomic.core.journalrows import OpRow
from git_atomic.core.printable import printable
from git_atomic.core.vocab import EventKind, HistoryMode
from git_atomic.engine import restoreplan, statuslist
from git_atomic.ops import context, dryrun, movefacts, moveresults, moves, output

UNDO_HINT: Final = "`git atomic undo` brings back what it replaced"


def report_still(
    ctx: context.Context,
    move: moves.Move,
    prev: moves.Preview,
    subject: OpRow | None,
    *,
    status: str,
    dry_run: bool,
    json_out: bool,
    git_dir: Sequence[str] = (),
    beside: Sequence[str] = (),
    modes: Sequence[bytes] = (),
    warned: Sequence[str] = (),
    specials: Sequence[restoreplan.PathChange] = (),
) -> int:
    """`git_dir`: what the move would write back in the git dir beside the plan (foreseen);
    `beside`: what it would do beside the trees (effectbeside.foresee), said as notes;
    `modes`: the paths whose permission bits it would set (no tree holds them), listed with
    the files it would change; `warned`: what it would leave and warn of (inside_foreseen);
    `specials`: the FIFOs it would make again and the special files it would take away
    (specials_moved), listed with the files too."""
    facts = movefacts.describe(
        ctx.repo,
        prev,
        kept=move.kept,
        checked_out=move.checked_out,
        left_on=move.left_on,
        foresee=dry_run,
    )
    facts = movefacts.with_modes(facts, modes, specials)
    if git_dir:
        facts = records.replace(facts, git_dir=(*facts.git_dir, *git_dir))
    # What the real move says of the repositories of their own it meets (restorefiles.py):
    # said by its dry run too.
    problems: Sequence[str] = ()
    if dry_run:  # and the names no checkpoint holds it leaves (restoring.py)
        left = statuslist.left_lines(prev.current.unholdable, move.paths)
        problems = (*prev.plan.nested_said, *left, *warned, *prev.left)
    else:  # the files over the budget it leaves as they are: a restore says so (moves.py)
        problems = prev.left
    notes: list[str] = []
    if dry_run and facts.dropped_commits:  # as the move itself will say it (ops/published.py)
        from git_atomic.ops import published

        tips = [*prev.target.branches.values(), prev.target.head_oid or ""]
        notes = published.lines(ctx.repo, prev.plan.ref_lines, (), tips, dry_run=True)
    notes = [*notes, *beside, *(dryrun.folders(ctx, prev, move) if dry_run else ())]
    if json_out:
        output.emit(
            movefacts.result(
                ctx.journal,
                subject,
                status=status if dry_run else (subject.status if subject else status),
                move=move,
                rescue=None,
                facts=facts,
                dry_run=dry_run,
                problems=problems,
                notes=notes,
            )
        )
    elif dry_run:
        for line in movefacts.listing(facts):
            print(line)
    if dry_run:
        for problem in problems:
            output.say(f"git-atomic: warning: {problem}")
        for line in notes:
            output.say(f"git-atomic: note: {line}")
        n = len(facts.changes)
        parts = [
            *_entries(facts),
            *_index_shape(prev),
            *(["what the git lines above say"] if facts.git_dir else []),
        ]
        also = f" (and {' and '.join(parts)})" if parts else ""
        output.say(
            f"git-atomic: dry run: {move.event} to {move.label} would change {n} "
            f"path{'s' if n != 1 else ''}{also}{_dropping(facts)}; nothing was changed"
        )
    else:
        from git_atomic.engine.restorerefs import left_where

        for name in facts.branches_left:  # as a restore says it (restore.py)
            where = left_where(prev.current, prev.target, f"refs/heads/{name}")
            output.say(
                f"git-atomic: warning: branch {name} is checked out in another worktree; "
                f"left as it is{where}"
            )
        tell_kept(ctx, move)
        for problem in prev.left:
            output.say(f"git-atomic: warning: {problem}")
        output.say(f"git-atomic: the tree is already at {move.label}; nothing to do")
    return 0


def large_moves(
    ctx: context.Context, prev: moves.Preview, paths: Sequence[bytes] = ()
) -> list[str]:
    """Where the state a move goes to had a file over the budget at another name, the same
    file now (an `undo` of the rollback that moved it back, largegone.py): what the move's
    restore moves there (largegone.note), so a move with nothing else to do is one all the
    same, with its event for `undo`. So is one whose target had such a file that is gone now
    (the operation deleted your large file): its restore names it as not put back, never
    "nothing to do" (NousResearch/hermes-agent#95207, shisa-ai/shisad#131). One line each;
    none where none is."""
    if prev.target.too_large is None:
        return []
    from git_atomic.engine import checkpoint
    from git_atomic.ops import largegone

    big = sorted(checkpoint.load_too_large(ctx.repo, prev.target))
    gone = largegone.displaced(ctx.repo, prev.target, big)
    pairs = largegone.moves(ctx.repo, prev.target, prev.current, gone) if gone else []
    moved = {to for _, to in pairs}
    lost = [p for p in largegone.unheld_gone(ctx.repo, prev.target, paths) if p not in moved]
    return [
        *(
            f"{to.decode('utf-8', 'backslashreplace')}: the file over max_new_file_size at "
            f"{frm.decode('utf-8', 'backslashreplace')} moved there"
            for frm, to in pairs
        ),
        *(
            f"{p.decode('utf-8', 'backslashreplace')}: over max_new_file_size, in no "
            "checkpoint, and gone now: it cannot come back"
            for p in lost
        ),
    ]


def specials_moved(
    ctx: context.Context, prev: moves.Preview, paths: Sequence[bytes]
) -> tuple[list[restoreplan.PathChange], list[str]]:
    """What the move does of FIFOs, sockets and devices (under `paths`, where given), which no
    tree holds: the FIFOs of the state it goes to that are not there now (made again: created)
    and, where it goes to a whole state that knew all of its own, those there now that it does
    not hold (taken away: deleted); and a line for each of its sockets and devices not there
    as it was (none can be made again: the restore names it). So a move with nothing else to
    do is one all the same (restorespecials.Specials does it)."""
    if prev.target.specials == prev.current.specials:
        return [], []
    import stat

    from git_atomic.engine import checkpoint, restorespecials

    def under(path: bytes) -> bool:
        return not paths or any(path == p or path.startswith(p.rstrip(b"/") + b"/") for p in paths)

    now = checkpoint.load_specials(ctx.repo, prev.current)
    held = checkpoint.load_specials(ctx.repo, prev.target)
    changes: list[restoreplan.PathChange] = []
    named: list[str] = []
    for path, mode in sorted(held.items()):
        if now.get(path) == mode or not under(path):
            continue
        if stat.S_ISFIFO(mode) and stat.S_ISFIFO(now.get(path, 0)):  # its bits put back
            changes.append(restoreplan.PathChange(path, restoreplan.Action.MODE))
        elif stat.S_IFMT(now.get(path, 0)) == stat.S_IFMT(mode):
            continue
        elif stat.S_ISFIFO(mode):
            changes.append(restoreplan.PathChange(path, restoreplan.Action.CREATE))
        else:
            what = restorespecials.kind_words(stat.S_IFMT(mode))
            shown = path.decode("utf-8", "backslashreplace")
            named.append(f"{shown}: {what}, not there as it was (none can be made again)")
    if restorespecials.knows_all(prev.target) and not prev.target.made_within:  # whole state
        changes += [
            restoreplan.PathChange(path, restoreplan.Action.DELETE)
            for path, mode in sorted(now.items())
            if stat.S_IFMT(held.get(path, 0)) != stat.S_IFMT(mode) and under(path)
        ]
    return changes, named


def report_done(
    ctx: context.Context,
    move: moves.Move,
    prev: moves.Preview,
    done: moves.Done,
    subject: OpRow | None,
    *,
    status: str,
    json_out: bool,
    said: str,
    history: HistoryMode | None = None,
    git_dir: Sequence[str] = (),
) -> int:
    """`git_dir`: what the move put back in the git dir beside the plan (moving.py): named, as
    its dry run names it (a `git` line there), in the JSON's `git_dir` too."""
    facts = movefacts.describe(
        ctx.repo,
        prev,
        done.changes,
        kept=move.kept,
        checked_out=move.checked_out,
        left_on=move.left_on,
        left=[p.decode("utf-8", "surrogateescape") for p in done.left],
        refs_left=done.refs_left,
        failed=[p.decode("utf-8", "surrogateescape") for p in done.failed],
    )
    if git_dir:
        facts = records.replace(facts, git_dir=(*facts.git_dir, *git_dir))
    if json_out:
        output.emit(
            movefacts.result(
                ctx.journal,
                subject,
                status=status,
                move=move,
                rescue=done.rescue,
                facts=facts,
                dry_run=False,
                problems=done.problems,
                notes=done.notes,
                history=history,
            )
        )
    for problem in done.problems:
        output.say(f"git-atomic: warning: {problem}")
    for line in git_dir:  # (the reflogs it wrote back: in the summary, mended_words)
        # (a line already said as a warning above, a pruned commit the reflogs name: once)
        if not line.startswith("reflog of ") and line not in done.problems:
            output.say(f"git-atomic: git dir: {printable(line)}")
    tell_kept(ctx, move)
    n = len(facts.changes)
    hint = "" if move.event == EventKind.UNDO else f"; {UNDO_HINT}"
    also = [
        *_entries(facts),
        *_index_shape(prev),
        *([".git/info/exclude"] if prev.plan.exclude_changes else []),
        *([".git/info/attributes"] if prev.plan.attributes_changes else []),
        *([".git/shallow"] if prev.plan.shallow_changes else []),
    ]
    index = f" (and {' and '.join(also)})" if also else ""
    # A branch checked out in another worktree, or one another worktree may have moved, stays
    # where it is, named above: the summary must not say "exactly its PRE-OP state" bare (t1407).
    stayed = facts.branches_left or prev.plan.branches_not_ours
    named = (done.left, done.refs_left, done.failed, done.in_repositories, done.kept_here)
    if stayed or any(named):
        said += ", except what the warnings above name"
    output.say(f"git-atomic: {said}; {n} path{'s' if n != 1 else ''} changed{index}{hint}")
    return left_exit(len(done.left) + len(done.refs_left), failed=len(done.failed))


def _entries(facts: moveresults.MoveFacts) -> list[str]:
    """The index entries a move puts back, counted beside its paths (its listing's `index  N
    staged entries restored`): one that only unstages what an operation staged changes them
    alone (before: "0 paths changed")."""
    n = len(facts.index)
    return [f"{n} index entr{'ies' if n != 1 else 'y'}"] if n else []


def _index_shape(prev: moves.Preview) -> list[str]:
    """What a move says of the index beside the paths it changes: its dry run as the move."""
    return ["the index's flags or format"] if prev.index_shape_changes else []


def left_exit(left: int, *, failed: int = 0) -> int:
    """Exit 3 when another writer's paths or refs were left as they are, or paths could not be
    put back (`failed`): the move is not all done (the warnings above name each one). Of the
    exit codes (docs/reference.md) 3 is the one a script must not take for success: a busy
    state that made us refuse; here for those paths only, the rest is done."""
    if not left and not failed:
        return 0
    if left:
        output.say(
            f"git-atomic: {left} path{'s' if left != 1 else ''} or ref{'s' if left != 1 else ''} "
            "changed by someone else while this ran were left as they are: the tree is not "
            "entirely at the target (exit 3)"
        )
    if failed:
        output.say(
            f"git-atomic: {failed} path{'s' if failed != 1 else ''} could not be put back "
            "(the warnings above say why): the tree is not entirely at the target (exit 3)"
        )
    return int(Exit.REFUSED)


def _dropping(facts: moveresults.MoveFacts) -> str:
    n = len(facts.dropped_commits)
    return f" and drop {n} commit{'s' if n != 1 else ''} from its branch" if n else ""


def tell_kept(ctx: context.Context, move: moves.Move) -> None:
    """One line per ref the move leaves as it is (`move.kept`): why, and what that means for
    the files. Said whether the move wrote anything or found the tree already there."""
    lines = movefacts.kept_lines(
        ctx.repo, move.kept, checked_out=move.checked_out, left_on=move.left_on
    )
    for line in lines:
        output.say(f"git-atomic: {line}")
