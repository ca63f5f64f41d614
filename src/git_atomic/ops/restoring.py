"""The Engine's moves of the worktree (operation.py's `Engine` is a `Restoring`): save the state
now as a rescue checkpoint, then bring the tree to a checkpoint, each step recorded in the
journal before it is done, so that `recover` finishes one a crash stopped and `undo` finds
the rescue. Every move of this project goes through `rollback_to`."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from git_atomic.core import failpoints, records, wholefile
from git_atomic.core.errors import GitError
from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import Intent
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import CheckpointKind, EventKind, IntentAction, OpKind
from git_atomic.engine import checkpoint, scanindex
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.ops import rescue, samefolder
from git_atomic.ops.context import Context

if TYPE_CHECKING:  # a checkpoint never restores: the restore's modules load on a rollback
    from git_atomic.engine import restore
    from git_atomic.engine.git import Repo


@dataclass(frozen=True)
class RollbackResult:
    rescue: str
    target: str
    outcome: restore.Outcome


def op_ref(op_id: str, kind: CheckpointKind, seq: int) -> str:
    return f"refs/atomic/ops/{op_id}/{seq:03d}-{kind.replace('_', '-')}"


class Restoring:
    """The Engine's moves of the worktree (operation.py): a rescue checkpoint of the state now,
    then the restore to a checkpoint, each step recorded before it is done (`recover` finishes
    one a crash stopped); and the new files too large to hold, named once per operation."""

    ctx: Context
    repo: Repo
    journal: Journal
    _too_large: set[bytes]

    def tell_too_large(self) -> None:
        """One line per operation: the new files no checkpoint holds, as they are too large."""
        found, self._too_large = sorted(self._too_large), set()
        if not found:
            return
        from git_atomic.ops import output

        shown = ", ".join(p.decode("utf-8", "backslashreplace") for p in found[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        output.say(
            f"git-atomic: not protected (larger than max_new_file_size): {shown}{more}; "
            "no checkpoint holds them, and a rollback leaves them as they are"
        )

    def rollback_to(
        self,
        op_id: str | None,
        target_sha: str,
        *,
        event: EventKind,
        paths: Sequence[bytes] = (),
        with_refs: bool = True,
        own_branches: bool = False,
        rescue_sha: str | None = None,
        probe: Snapshot | None = None,
        made_within: tuple[tuple[float, float], ...] = (),
        started_from: str | None = None,
        folders_known: Mapping[bytes, tuple[int, int]] | None = None,
        folders_effect: tuple[Mapping[bytes, tuple[int, int]], Sequence[str]] | None = None,
    ) -> RollbackResult:
        """Save the current state as a rescue checkpoint, then bring the tree to `target_sha`.

        With `rescue_sha` (a restore that a crash interrupted), the state before it was saved
        already; the half-restored tree is only probed, so `undo` still finds the original.
        `probe`: a capture of this instant that the caller already took (to preview the move);
        it becomes the rescue itself, so the tree is scanned once, not twice.
        `made_within`: an effect's windows (effect.Outcome), when the target does not name them.
        `started_from`: the state a restore a crash interrupted before its rescue was recorded
        had its target worked out from (its intent's `from`): what changed since is not its own.
        `folders_known`: where folders were in the target that its capture could not see
        (foldermoves.known_from: an `undo` of a restore that moved them back).
        `folders_effect`: an effect taken back (or made again): the folders it moved, where
        each goes, and the lines for those that stay (effectfolders.py); only those move.
        """
        if rescue_sha is None and partial_clone(self.repo):  # (not one recorded already)
            from git_atomic.engine import checkpointgone

            checkpointgone.fetched_first(self.repo, target_sha)
        intent = self.intend_restore(
            op_id,
            target_sha,
            event=event,
            paths=paths,
            with_refs=with_refs,
            own_branches=own_branches,
            rescue_sha=rescue_sha,
            started_from=probe.commit if probe is not None else started_from,
            made_within=made_within,
        )
        failpoints.hit(f"{event}:before-rescue")
        try:
            target, set_aside, refs_listed = rescue.load_target(
                self.ctx, target_sha, op_id, probed=probe is not None
            )
        except GitError:
            self._gone(target_sha)
            raise
        if made_within:  # the target's own windows, and the move's (an undo's reach its end)
            windows = tuple(dict.fromkeys((*target.made_within, *made_within)))
            target = records.replace(target, made_within=windows)
        if set_aside:
            probe = None  # what was just set aside belongs in the rescue: capture it
        since: Snapshot | None = None  # what a killed restore started from (recover)
        if rescue_sha is None:
            try:
                current = self._save_rescue(
                    op_id, target, event=event, paths=paths, probe=probe, refs_listed=refs_listed
                )
            except GitError:
                self._gone(target_sha)
                raise
            rescue_sha = current.commit
            intent["rescue"] = rescue_sha
            self._set_pending(op_id, intent)
            if started_from is not None:
                since = self._loaded(started_from)
        else:
            current = rescue.probe_half_restored(self.ctx, target, paths)
            since = checkpoint.load(self.repo, rescue_sha)
        failpoints.hit(f"{event}:after-rescue")
        # Folders the operation moved, with the files no checkpoint holds in them: moved back.
        current, moved = rescue.folders_back(
            self.ctx, current, target, paths, folders_known, effect=folders_effect
        )
        # The scan index follows the restore, made while the files are written.
        following = (
            None if paths else scanindex.follow(self.repo, current.files_tree, target.files_tree)
        )
        done = False
        try:
            outcome = self._restore(
                current,
                target,
                event=event,
                paths=paths,
                with_refs=with_refs,
                own_branches=own_branches,
                since=since,
            )
            rescue.tell_folders_back(moved, outcome)
            self._record_restore(op_id, event, rescue_sha, target_sha, outcome)
            done = True
            if current.captured_at is not None and self._turns_here():
                self._note_move(op_id, event, rescue_sha, target_sha, current.captured_at)
        finally:
            if following is not None:
                following.finish(keep=done)
        if op_id is None:
            self.tell_too_large()
        return RollbackResult(rescue_sha, target_sha, outcome)

    def intend_restore(
        self,
        op_id: str | None,
        target_sha: str,
        *,
        event: EventKind,
        paths: Sequence[bytes] = (),
        with_refs: bool = True,
        own_branches: bool = False,
        rescue_sha: str | None = None,
        started_from: str | None = None,
        made_within: tuple[tuple[float, float], ...] = (),
    ) -> dict[str, object]:
        """The restore's intent, recorded before anything of it is done (`recover` finishes
        it, with the effect's windows `made_within` too); returned for the restore to add its
        rescue to."""
        intent: dict[str, object] = {
            "action": IntentAction.RESTORE,
            "target": target_sha,
            "event": event,
            "paths": [p.decode("utf-8", "surrogateescape") for p in paths],
            "with_refs": with_refs,
            "own_branches": own_branches,
            "rescue": rescue_sha,
            "from": started_from,
        }
        if made_within:
            intent["within"] = [list(w) for w in made_within]
        if op_id is None:  # no operation's record names the folder: `recover` finds it here
            with contextlib.suppress(OSError):
                intent[samefolder.ROOT_KEY] = samefolder.root_identity(self.repo)
        self._set_pending(op_id, intent)
        return intent

    def _gone(self, target_sha: str) -> None:
        """After git failed before anything was written: where the target is no longer whole
        in the object store (an operation deleted our refs and pruned, replaced `.git`,
        removed an alternate), one line saying so, not git's failure."""
        from git_atomic.engine import checkpointgone

        checkpointgone.check(self.repo, target_sha)

    def _loaded(self, sha: str) -> Snapshot | None:
        """The checkpoint `sha`, or None where git no longer has it (a probe no ref kept)."""
        try:
            return checkpoint.load(self.repo, sha)
        except GitError:
            return None

    def _save_rescue(
        self,
        op_id: str | None,
        target: Snapshot,
        *,
        event: EventKind,
        paths: Sequence[bytes],
        probe: Snapshot | None,
        refs_listed: bytes | None,
    ) -> Snapshot:
        """The rescue checkpoint of the state about to be replaced (rescue.py), its new files
        too large to hold named with this operation's others."""
        ref = self._rescue_ref(op_id)
        current, too_large = rescue.save(
            self.ctx,
            op_id,
            ref,
            target,
            event=event,
            paths=paths,
            probe=probe,
            refs_listed=refs_listed,
        )
        self._too_large |= too_large
        return current

    def _restore(
        self,
        current: Snapshot,
        target: Snapshot,
        *,
        event: EventKind,
        paths: Sequence[bytes],
        with_refs: bool,
        own_branches: bool,
        since: Snapshot | None = None,
    ) -> restore.Outcome:
        """From the state now to the target, writing only what differs (restoreplan.py).
        `since`: the rescue of a restore a crash interrupted; what others changed after it is
        left as they made it, and named."""
        from git_atomic.engine import restore, restoreplan, restorerefs

        the_plan = restoreplan.plan(
            self.repo, current, target, with_refs=with_refs, paths=paths, own_branches=own_branches
        )
        later = restoreplan.LaterWrites()
        if since is not None:
            the_plan, later = restoreplan.without_later_writes(self.repo, the_plan, since, current)
        outcome = restore.apply(
            self.repo, current, target, the_plan, reason=f"git-atomic: {event}", paths=paths
        )
        restorerefs.tell_later_writes(later, outcome)
        if current.unholdable:  # names no checkpoint holds (statuslist.py): left, and said
            from git_atomic.engine import statuslist

            outcome.problems += statuslist.left_lines(current.unholdable, paths)
        if outcome.notes:  # the restore's own (stashfiles.py: ignored files written back)
            from git_atomic.ops import output

            for line in outcome.notes:
                output.say(f"git-atomic: note: {line}")
        if target.too_large is not None:
            from git_atomic.ops import largegone  # only where a capture left files out

            largegone.note(self.repo, target, paths, outcome, current)
        if the_plan.ref_lines:
            from git_atomic.ops import output, published  # only where a branch moved

            tips = [*target.branches.values(), target.head_oid or ""]
            for line in published.lines(self.repo, the_plan.ref_lines, outcome.refs_left, tips):
                output.say(f"git-atomic: note: {line}")
                outcome.notes.append(line)
        failpoints.hit(f"{event}:after-restore")
        return outcome

    def _record_restore(
        self,
        op_id: str | None,
        event: EventKind,
        rescue_sha: str,
        target_sha: str,
        outcome: restore.Outcome,
    ) -> None:
        """The restore done: its event recorded (`undo` reverses it), its intent cleared, in one
        transaction where the intent is the journal's."""
        self.journal.add_event(
            op_id=op_id,
            worktree=self.ctx.worktree,
            kind=event,
            rescue=rescue_sha,
            target=target_sha,
            detail=_event_detail(self.repo, op_id, outcome),
            clearing=op_id,
        )
        if op_id is None:
            self._set_pending(op_id, None)  # (the intent file beside the journal)

    def _set_pending(self, op_id: str | None, intent: Intent | None) -> None:
        if op_id is not None:
            self.journal.set_pending(op_id, intent)
        else:
            pending_file = self.repo.git_dir / "atomic-pending.json"
            if intent is None:
                pending_file.unlink(missing_ok=True)
            else:
                wholefile.replace(pending_file, json.dumps(intent).encode("utf-8"))

    def _rescue_ref(self, op_id: str | None) -> str:
        if op_id is None:
            return f"refs/atomic/rescue/{int(time.time() * 1000):x}-{os.urandom(2).hex()}"
        return op_ref(op_id, CheckpointKind.RESCUE, len(self.journal.checkpoints(op_id)) + 1)

    def _note_move(
        self, op_id: str | None, event: EventKind, rescue_sha: str, target_sha: str, began: float
    ) -> None:
        """The move, for the agent turns' windows (ops/windowlog.py): a turn's take-back at its
        end always; one run in an agent's shell call is left in that call's window."""
        from git_atomic.ops import windowlog

        op = self.journal.op(op_id) if op_id is not None else None
        if (op is not None and op.kind == OpKind.AGENT_TURN) or not windowlog.in_an_agents_shell():
            windowlog.note(self.repo, f"move:{event}", rescue_sha, target_sha, began)

    def _turns_here(self) -> bool:
        """Whether agent turns were ever recorded here (ops/windowlog.py, loaded only then)."""
        return os.path.isdir(os.path.join(self.repo.state_dir, "turns"))


def _event_detail(
    repo: Repo, op_id: str | None, outcome: restore.Outcome
) -> dict[str, object] | None:
    """A restore's event detail: its problems, and for one of no operation (`emergency`,
    `rollback --to`, their `undo`) the worktree's folder, which no operation's record holds:
    its `undo`, and `rollback --to` its rescue, write there only (samefolder.same_event_folder)."""
    detail: dict[str, object] = {"problems": outcome.problems} if outcome.problems else {}
    if outcome.bits or outcome.fifos_made or outcome.specials_removed:  # for its `undo`
        from git_atomic.ops import effectbeside, gitdirredo  # (effectbeside.reverse, fifos)

        detail[gitdirredo.KEY] = effectbeside.noted(
            outcome.bits, outcome.fifos_made, outcome.specials_removed
        )
    if outcome.folders_moved:  # for its `undo` to move them again (foldermoves.py)
        from git_atomic.engine import foldermoves

        detail[foldermoves.DETAIL_KEY] = foldermoves.noted(outcome.folders_moved)
    if op_id is None:
        with contextlib.suppress(OSError):
            detail[samefolder.ROOT_KEY] = samefolder.root_identity(repo)
    return detail or None


def partial_clone(repo: Repo) -> bool:
    """Whether objects may be promised, not here: `extensions.partialClone` (newer gits), or a
    pack fetched from a promisor remote (its `.promisor` file: what git 2.39's clone leaves).
    A listing of `objects/pack`, no git process."""
    if repo.config("extensions.partialClone"):
        return True
    try:
        with os.scandir(repo.common_dir / "objects" / "pack") as found:
            return any(e.name.endswith(".promisor") for e in found)
    except OSError:
        return False
