"""An operation's effect, as steps: `Step(before, after)`, a change between two checkpoints;
one from an operation's PRE-OP to the state it left (in commits mode worked out: `end_state`),
or an agent turn's tool calls' steps (`turn_steps`). Split from effect.py, which takes them
back or makes them again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from git_atomic.core import records
from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import CheckpointRow, OpRow
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import CheckpointKind, OpKind
from git_atomic.engine import checkpoint, indexstate
from git_atomic.engine.git import Repo
from git_atomic.ops import effecttarget, treemerge
from git_atomic.ops.refsafter import RefsAfter

T = TypeVar("T")


@dataclass(frozen=True)
class Step:
    """A change between two checkpoints (commit shas), `before` then `after`."""

    before: str
    after: str


def operation_steps(repo: Repo, journal: Journal, op: OpRow) -> list[Step]:
    """An operation's effect, as steps; [] when it never got a PRE-OP.

    An agent turn that recorded its calls' steps (`turn.steps` in its detail): those steps,
    so what happened between its calls stays; in commits mode one more, from its last call's
    end to the state its commit left (the branch moved, the index took the commit's entries).
    Any other operation, and a turn recorded before turns kept their steps: one step, from
    its PRE-OP to the state it left, i.e. its newest OP-EXEC, POST-OP or rescue checkpoint (a
    rescue: what a rollback of it replaced)."""
    rows = journal.checkpoints(op.id)
    pre = next((c for c in rows if c.kind == CheckpointKind.PRE_OP), None)
    if pre is None:
        return []
    calls = turn_steps(op)
    if calls:
        post = next((c for c in rows if c.kind == CheckpointKind.POST_OP), None)
        if post is not None and post.commit_sha is not None:
            calls.append(Step(post.sha, end_state(repo, post)))
        return calls
    later = [
        c
        for c in rows
        if c.kind in (CheckpointKind.OP_EXEC, CheckpointKind.POST_OP, CheckpointKind.RESCUE)
        and c.seq > pre.seq
    ]
    later = before_apply(op, later)
    return [Step(pre.sha, end_state(repo, later[-1]) if later else pre.sha)]


def before_apply(op: OpRow, rows: list[CheckpointRow]) -> list[CheckpointRow]:
    """`run --isolate`: its effect is what its private worktree made of PRE-OP, not the state
    its apply left in yours, which holds what you did while it ran: its checkpoints from the
    rescue the apply took on are cut (any other operation's are as they are)."""
    if not op.details.get("isolated"):
        return rows
    applied = next((c.seq for c in rows if c.message == isolation_apply_note()), None)
    if applied is None:
        return rows
    rescues = [c.seq for c in rows if c.kind == CheckpointKind.RESCUE and c.seq < applied]
    return [c for c in rows if c.seq < max(rescues, default=applied)]


def isolation_apply_note() -> str:
    """The note of the checkpoint an isolated run's apply leaves in your worktree (its
    POST-OP), after the rescue of what it replaced."""
    from git_atomic.ops import isolation_apply

    return isolation_apply.APPLIED_NOTE


def turn_steps(op: OpRow) -> list[Step]:
    """An agent turn's recorded (before, after) steps, oldest first; [] for anything else."""
    turn = op.details.get("turn") if op.kind == OpKind.AGENT_TURN else None
    pairs = turn.get("steps") if isinstance(turn, dict) else None
    if not isinstance(pairs, list):
        return []
    return [Step(str(b), str(a)) for b, a in pairs if b and a]


# The key of an agent turn's journal detail (agents/turnkeys.QUIET_DETAIL) that holds the spans
# of its calls that are no step.
QUIET_DETAIL = "quiet_windows"


def quiet_windows(op: OpRow) -> tuple[tuple[float, float], ...]:
    """The spans of an agent turn's calls that changed nothing a checkpoint holds (its journal
    detail; () for anything else): a shell call whose new files a rule written by an earlier
    call hides (`make` writes `gen.out`, which `*.out` ignores) is such a call, and what it
    made is the turn's all the same (unseen.py takes those files within the effect's windows)."""
    turn = op.details.get("turn") if op.kind == OpKind.AGENT_TURN else None
    spans = turn.get(QUIET_DETAIL) if isinstance(turn, dict) else None
    found = []
    for span in spans if isinstance(spans, list) else []:
        if isinstance(span, list) and len(span) == 2 and all(isinstance(t, float) for t in span):
            found.append((float(span[0]), float(span[1])))
    return tuple(found)


def within_windows(found: T, windows: Sequence[tuple[float, float]]) -> T:
    """A take-back's worked-out target (effect.Outcome) with `windows` among those its effect
    was made in; as it was where it names none (any file made since its capture is taken)."""
    made_within = getattr(found, "made_within", ())
    if not windows or not made_within:
        return found
    return records.replace(found, made_within=tuple(dict.fromkeys((*made_within, *windows))))


def end_state(repo: Repo, row: CheckpointRow) -> str:
    """The state a checkpoint's phase left. In commits mode a phase's checkpoint is captured
    just before its visible commit moves the branch and merges the commit into the index
    (phasecommit.py: the index is then `merge(base=HEAD's tree, ours=the index, theirs=the
    commit's tree)`, and an intent-to-add entry the commit made real is an ordinary entry):
    the state after that is worked out here, as a checkpoint object with no ref (it only
    serves to compare with and as a merge base). The files on disk are the checkpoint's."""
    if row.commit_sha is None:
        return row.sha
    snap = checkpoint.load(repo, row.sha)
    if snap.head_oid == row.commit_sha:
        return row.sha
    branches = dict(snap.branches)
    if snap.head_ref is not None:
        branches[repo.branch_of(snap.head_ref, branches)] = row.commit_sha
    head_tree = (
        repo.line("rev-parse", f"{snap.head_oid}^{{tree}}") if snap.head_oid else repo.empty_tree
    )
    commit_tree = repo.line("rev-parse", f"{row.commit_sha}^{{tree}}")
    merged = treemerge.merge(repo, base=head_tree, ours=snap.staged_tree, theirs=commit_tree).tree
    staged = merged or commit_tree  # the commit was planned so that this merge is clean
    flags = checkpoint.load_flags(repo, snap)
    changed = repo.diff_trees(snap.staged_tree, staged)
    added = {c.path for c in changed if c.status == "A"}
    # An entry the commit removed (a file a sparse checkout left off the disk, committed as
    # deleted) takes its skip-worktree and assume-unchanged flags with it, as in the index.
    gone = {c.path for c in changed if c.status == "D"}
    # The index put in place (indexbuild.rebuild) makes each intent-to-add entry again as it
    # was, whatever the operation did to its file (indexbuild.add_intents).
    kept = indexstate.IndexFlags(
        {p: m for p, m in flags.intent_to_add.items() if p not in added},
        flags.skip_worktree - gone,
        flags.assume_unchanged - gone,
        flags.resolve_undo,
    )
    flags_blob = repo.write_blob(kept.encode()) if kept else None
    refs = RefsAfter(records.replace(snap, branches=branches, head_oid=row.commit_sha))
    return effecttarget.write_target(
        repo,
        files_tree=snap.files_tree,
        staged_tree=staged,
        refs=refs,
        flags=flags_blob,
        folders=(snap.empty_folders, snap.all_empty_folders),
        # The rest is the checkpoint's: the commit changes none of it. A target that did not
        # know the sparse-checkout patterns, the index format or the stashes would never be
        # the state now, and taking the effect back would leave the operation's patterns.
        captured_at=snap.captured_at,
        index_version=snap.index_version,
        index_shared=snap.index_shared,
        too_large=snap.too_large,
        info_exclude=snap.info_exclude,
        info_attributes=snap.info_attributes,
        sparse_checkout=snap.sparse_checkout,
        shallow=snap.shallow,
        branch_config=snap.branch_config,
        stash=effecttarget.StashAfter(snap),
    ).commit
