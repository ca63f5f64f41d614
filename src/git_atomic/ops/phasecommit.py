"""Commits mode: what a phase's commit holds, and what the index holds after it.

A commit holds HEAD plus the operation's *effect*: the change from its `Base` (PRE-OP's files as
a commit would hold them, the files untracked then left out) to the files being committed,
applied onto HEAD's tree by git's three-way merge (`merge-tree --write-tree`, per hunk for
text). Once the operation has committed, its next commit holds the change since then: its base
is the files its newest commit that HEAD still holds was measured to (`measured_to` in its
record); measured from PRE-OP, a file the operation created and then edited again would be a
change of its own commit's against itself.

Your work in progress from before the operation is on both sides of that change, so it
cancels out: it is never committed. The index keeps it as it was, staged or not: the commit's
change is merged into the index three-way too, so only the paths the commit changed are
rewritten there.

Where the operation changed a file you had changed too and the two do not merge cleanly (or the
result would not merge into what you staged), that path is *held back*: the commit keeps
HEAD's version, the file stays on disk as it is and uncommitted, and the operation's record
names it. Nothing of yours is ever committed to make a commit possible.

A phase that judges the tree as it stands (`tdd` without a command) has no PRE-OP effect: its
change is your edits. It measures from HEAD, and leaves out the files untracked when it commits
(as `git commit -a` does: `git add` a new file to put it in). Staged or not, your edits are the
commit, so the index then holds the commit's files, as `git commit -a` leaves it: a file with a
staged edit and a further unstaged one is committed as it stands, not held back.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from typing import Final

from git_atomic.core import failpoints, records
from git_atomic.core.errors import GitError, SigningFailed
from git_atomic.core.journal import Journal
from git_atomic.core.printable import printable
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import CheckpointKind, IntentAction
from git_atomic.engine import (
    checkpoint,
    ignoredthen,
    indexerrors,
    indexfile,
    indexstate,
    isolation,
    snapshot,
)
from git_atomic.engine import staged as staged_side
from git_atomic.engine.git import RawChange, Repo
from git_atomic.engine.gitobjects import as_utf8

SUBJECT_WIDTH: Final = 72
UNTRACKED_NAMED: Final = 5  # a phase commit's untracked files named in its record, at most
MEASURED_TO: Final = "measured_to"  # the record's key: where the next commit measures from
_MEASURED_KEPT: Final = 64  # of an operation's commits, the newest this many are measured from


@dataclass(frozen=True)
class Base:
    """What an operation's commits are measured from."""

    tree: str
    untracked: frozenset[bytes] | None  # None: every file untracked at commit time stays out
    # What PRE-OP knew of the files there before it: one untracked now that was there then
    # (tracked, or ignored) is not the operation's to commit. None: not known.
    before: ignoredthen.Before | None = None


@dataclass(frozen=True)
class Made:
    """A phase's visible commit, and the entries of the index it left."""

    commit: str
    staged: str


@dataclass(frozen=True)
class Plan:
    tree: str  # the commit's tree
    staged: str  # the index's entries once the commit is made
    held_back: tuple[bytes, ...]  # changed by the operation and by you: left uncommitted
    measured_to: str  # the files this change was measured to, held paths as in the base


def base_of(repo: Repo, pre_op: str) -> Base:
    """The `Base` a PRE-OP checkpoint keeps (snapshot.capture's `effect_base`); a PRE-OP without
    one belongs to a phase that commits the tree as it stands: HEAD's tree then."""
    snap = checkpoint.load(repo, pre_op)
    if snap.commit_base is not None:
        untracked = checkpoint.load_untracked(repo, snap)
        before = None
        if snap.captured_at is not None:
            before = ignoredthen.Before(
                snap.captured_at, snap.files_tree, snap.info_exclude, snap.head_ref
            )
        return Base(snap.commit_base, untracked, before)
    return Base(tree_of(repo, snap.head_oid), None)


def tree_of(repo: Repo, commit: str | None) -> str:
    return repo.line("rev-parse", f"{commit}^{{tree}}") if commit else repo.empty_tree


def plan(
    repo: Repo,
    *,
    base: str,
    head_tree: str,
    files: str,
    staged: str,
    adopted: frozenset[bytes] = frozenset(),
    as_it_stands: bool = False,
) -> Plan:
    """The commit of `files`' change since `base` onto `head_tree`, and the index it leaves
    (`staged`: the index's entries now). `adopted`: files untracked before the operation that
    it started tracking; they are its to commit as they are now (whatever it committed of them
    itself is HEAD's), so they are measured from HEAD.

    Each conflict holds the paths it names back (their change is taken out of `files`) and the
    merges run again; every round holds back at least one more path, and with all of them held
    back both merges are trivial, so this ends.

    `as_it_stands`: `files` is the change itself (`base` is HEAD's tree then: a phase that
    commits the tree as it stands), so nothing staged is yours to keep apart from it: the index
    holds the commit's files, as `git commit -a` leaves it; a held path keeps what was staged.
    """
    if adopted:
        held_by_head = _entries(repo, head_tree, adopted)
        base = repo.tree_edit(base, {p: held_by_head.get(p) for p in adopted})
    effect = repo.diff_trees(base, files)
    held: set[bytes] = set()
    while True:
        theirs = _without(repo, files, effect, held)
        merged = isolation.merge_trees(repo, base=base, ours=head_tree, theirs=theirs)
        conflicts = merged.conflicts
        if merged.oid is not None and as_it_stands:
            return Plan(
                merged.oid,
                _staged_as_committed(repo, merged.oid, staged, held),
                tuple(sorted(held)),
                theirs,
            )
        if merged.oid is not None:
            index = isolation.merge_trees(repo, base=head_tree, ours=staged, theirs=merged.oid)
            if index.oid is not None:
                return Plan(merged.oid, index.oid, tuple(sorted(held)), theirs)
            conflicts = index.conflicts
        more = _named(effect, held, conflicts)
        if not more:  # everything held back and still no clean merge: commit nothing at all
            return Plan(head_tree, staged, tuple(sorted(held)), base)
        held |= more


def _staged_as_committed(repo: Repo, tree: str, staged: str, held: set[bytes]) -> str:
    """The index after a commit of the tree as it stands: the commit's files, the `held` paths
    (the commit keeps HEAD's there) as they were staged."""
    if not held:
        return tree
    kept = _entries(repo, staged, frozenset(held))
    return repo.tree_edit(tree, {p: kept.get(p) for p in held})


def _named(effect: Sequence[RawChange], held: set[bytes], conflicts: Sequence[str]) -> set[bytes]:
    """The changes a conflict names (the path, a folder holding it, a file where it is a folder);
    all the rest when it names none of them (a name git made up, `path~HEAD`)."""
    names = [c.encode("utf-8", "surrogateescape") for c in conflicts]
    left = [c.path for c in effect if c.path not in held]
    named = {
        p
        for p in left
        if any(p == n or p.startswith(n + b"/") or n.startswith(p + b"/") for n in names)
    }
    return named or set(left)


def _without(repo: Repo, files: str, effect: Sequence[RawChange], held: set[bytes]) -> str:
    """`files` with the effect on the `held` paths taken out: those paths as they were in base."""
    edits: dict[bytes, tuple[str, str] | None] = {
        c.path: None if c.status == "A" else (c.old_mode, c.old_oid)
        for c in effect
        if c.path in held
    }
    return repo.tree_edit(files, edits)


def _entries(repo: Repo, tree: str, paths: frozenset[bytes]) -> dict[bytes, tuple[str, str]]:
    """The files among `paths` that `tree` holds: path -> (mode, object)."""
    return {
        e.path: (e.mode, e.oid)
        for e in repo.ls_tree_at(tree, sorted(paths))
        if e.kind in ("blob", "commit") and e.path in paths
    }


def signed_commit(
    repo: Repo, tree: str, parents: Sequence[str], message: str, *, env: dict[str, str]
) -> str:
    """A commit for the branch (`parents` as `-p` arguments), signed where `commit.gpgSign` is
    set, as `git commit` would; a signature git could not make raises SigningFailed."""
    sign = repo.sign_args()
    try:
        return repo.line(
            *as_utf8(message), "commit-tree", *sign, tree, *parents, "-m", message, env=env
        )
    except GitError as exc:
        if not sign:
            raise
        raise SigningFailed(str(exc).partition(" failed: ")[2] or str(exc)) from exc


def commit_phase(
    repo: Repo,
    journal: Journal,
    op_id: str,
    captured: snapshot.Captured,
    message: str,
    base: Base,
) -> Made | None:
    """Commits mode: a visible commit of the operation's effect on the branch, only when
    there is something to commit; the index keeps what you staged (see above). The
    journal holds the commit as the intent until the branch and the index name it."""
    snap = captured.snapshot
    assert captured.commit_tree is not None
    base = _since_last_commit(repo, journal, op_id, base, snap.head_oid)
    head_tree = tree_of(repo, snap.head_oid)
    planned = plan(
        repo,
        base=base.tree,
        head_tree=head_tree,
        files=captured.commit_tree,
        staged=snap.staged_tree,
        adopted=_adopted(repo, journal, op_id, base, head_tree, captured.untracked),
        as_it_stands=base.untracked is None,
    )
    if planned.held_back:
        _note(journal, op_id, "held_back", planned.held_back)
    if base.untracked is None and captured.untracked:
        _note(journal, op_id, "left_untracked", sorted(captured.untracked)[:UNTRACKED_NAMED])
    if planned.tree == head_tree:
        return None  # measured again next time: the same paths held, the same merges clean
    parents = ["-p", snap.head_oid] if snap.head_oid else []
    commit = signed_commit(
        repo, planned.tree, parents, message, env=repo.identity_env(required=True)
    )
    journal.set_pending(op_id, {"action": IntentAction.ADVANCE, "commit": commit})
    failpoints.hit("commit-phase:before-ref")
    old = snap.head_oid or repo.zero_oid
    if snap.head_ref is not None:
        repo.update_refs(
            [f"update {snap.head_ref} {commit} {old}"],
            message=f"git-atomic: {message.splitlines()[0]}",
        )
    else:
        repo.run("update-ref", "--no-deref", "-m", "git-atomic", "HEAD", commit, old)
    failpoints.hit("commit-phase:before-index")
    put_index(repo, snap, captured.flags, planned.staged)
    journal.set_pending(op_id, None)
    # Only now: a crash before this measures the next commit from further back, which holds
    # back at worst; never from further on, which would leave part of the effect out.
    _measured(journal, op_id, planned.measured_to, commit)
    return Made(commit, planned.staged)


def _adopted(
    repo: Repo,
    journal: Journal,
    op_id: str,
    base: Base,
    head_tree: str,
    untracked: frozenset[bytes],
) -> frozenset[bytes]:
    """The files the operation started tracking that the base does not hold: untracked there,
    or made and committed by the operation's own command (`git add f && git commit`, then `f`
    changed or removed again): what it committed is HEAD's, and only the change since is still
    to commit. A file HEAD held before the operation (deleted on disk then) is not one."""
    if base.untracked is None:
        return frozenset()
    gained = {c.path for c in repo.diff_trees(base.tree, head_tree) if c.status == "A"}
    if gained:
        pre_op = next(c for c in journal.checkpoints(op_id) if c.kind == CheckpointKind.PRE_OP)
        before = tree_of(repo, checkpoint.load(repo, pre_op.sha).head_oid)
        gained -= {e.path for e in repo.ls_tree_at(before, sorted(gained))}
    return frozenset(base.untracked | gained) - untracked


def _since_last_commit(
    repo: Repo, journal: Journal, op_id: str, base: Base, head: str | None
) -> Base:
    """The base of the operation's next commit: the files its newest commit that HEAD still
    holds (HEAD is that commit or descends from it: not one a rollback inside the operation
    took the branch back over) was measured to, if that tree is still there; else `base`,
    PRE-OP (the branch reset or rewritten over every one of them, or the tree pruned)."""
    op = journal.op(op_id)
    recorded = op.details.get(MEASURED_TO) if op is not None else None
    if head is None or not isinstance(recorded, list):
        return base
    for entry in reversed(recorded):
        if not isinstance(entry, dict):
            continue
        tree, at = entry.get("tree"), entry.get("head")
        if not isinstance(tree, str) or not isinstance(at, str):
            continue
        if at != head and repo.run("merge-base", "--is-ancestor", at, head, check=False).returncode:
            continue
        if not repo.is_loose(tree) and repo.run("cat-file", "-e", tree, check=False).returncode:
            return base
        return Base(tree, base.untracked, base.before)
    return base


def _measured(journal: Journal, op_id: str, tree: str, head: str) -> None:
    """Record what the operation's commit `head` was measured to (one entry per commit: a
    rollback inside the operation may take the branch back to an earlier one)."""
    op = journal.op(op_id)
    assert op is not None
    recorded = op.details.get(MEASURED_TO)
    entries = [*(recorded if isinstance(recorded, list) else []), {"tree": tree, "head": head}]
    journal.set_detail(op_id, {**op.details, MEASURED_TO: entries[-_MEASURED_KEPT:]})


def _note(journal: Journal, op_id: str, key: str, paths: Sequence[bytes]) -> None:
    """Name paths in the operation's record (what a commit of it left out, and why)."""
    op = journal.op(op_id)
    assert op is not None
    detail = dict(op.details)
    names = [p.decode("utf-8", "surrogateescape") for p in paths]
    detail[key] = sorted({*detail.get(key, ()), *names})
    journal.set_detail(op_id, detail)


def put_index(
    repo: Repo, current: checkpoint.Snapshot, flags: indexstate.IndexFlags, staged: str
) -> None:
    """Make the index hold `staged`'s entries, where it held `current`'s; only the entries that
    differ are rewritten, every other keeps its stat data and flags. An intent-to-add entry the
    commit made real is an ordinary entry from now on."""
    if staged == current.staged_tree:
        return
    added = {c.path for c in repo.diff_trees(current.staged_tree, staged) if c.status == "A"}
    intents = {p: m for p, m in flags.intent_to_add.items() if p not in added}
    from git_atomic.engine import indexbuild  # (a commit that changes the index: not a checkpoint)

    scratch = repo.scratch_path("index")
    try:
        try:
            indexbuild.rebuild(
                repo,
                current_tree=current.staged_tree if current.index_present else None,
                current_flags=flags,
                target_tree=staged,
                target_flags=records.replace(flags, intent_to_add=intents),
                scratch=scratch,
            )
        except GitError as error:
            # An index cut short or written over reads to git as other entries, which it
            # cannot write again: no state to go on from (the operation is rolled back).
            if not staged_side.checksum_holds(repo.index_path, sha256=repo.sha256):
                reason = "its checksum does not hold"
                raise indexerrors.UnreadableIndex(error, reason) from error
            raise
        indexfile.install_index(repo, scratch)
    finally:
        scratch.unlink(missing_ok=True)


def short_command(argv: Sequence[str], width: int) -> str:
    """A command as a person reads it on one line: as the shell would take it when that is short
    and plain, otherwise its words without the shell's quoting (the program without its folder),
    cut at `width`."""
    quoted = shlex.join(argv)
    if len(quoted) <= width and "\n" not in quoted and "'\"'\"'" not in quoted:
        return quoted
    return _cut(" ".join([os.path.basename(argv[0]) or argv[0], *argv[1:]]), width)


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(1, width - 1)].rstrip() + "…"


def message(label: str, name: str, what: str, *, argv: Sequence[str] | None) -> str:
    """`LABEL: name - what` on one short line; the whole command in the body."""
    head = f"{label}: {printable(name)} - "
    first = printable(what.strip().splitlines()[0]) if what.strip() else ""
    return head + _cut(first, max(12, SUBJECT_WIDTH - len(head))) + body(argv)


def command_message(label: str, name: str, argv: Sequence[str]) -> str:
    """The message of the commit of a command's change (a run's OP-EXEC)."""
    width = max(12, SUBJECT_WIDTH - len(f"{label}: {name} - "))
    shown = short_command(argv, width)
    if shown == shlex.join(argv):  # as the shell takes it: to the character, its spaces too
        return f"{label}: {printable(name)} - {printable(shown)}{body(argv)}"
    return message(label, name, shown, argv=argv)


def phase_message(label: str, text: str, argv: Sequence[str] | None) -> str:
    """`LABEL: text` (a TDD phase's commit: its `-m`, or its command as `short_command` shows
    it), each line's control characters written `\\xNN`, its lines kept; the whole command in
    the body."""
    shown = "\n".join(printable(line) for line in text.split("\n"))
    return f"{label}: {shown}{body(argv)}"


def body(argv: Sequence[str] | None) -> str:
    """What follows a subject: the whole command, exactly (a control character in it written
    `\\xNN`: core/printable.py), when there is one."""
    return f"\n\nCommand: {printable(shlex.join(argv))}" if argv else ""
