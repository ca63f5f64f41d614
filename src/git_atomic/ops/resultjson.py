"""The JSON result (`--json`, schema `git-atomic/1`): every result record of results.py turned
into the one object a command prints, here and nowhere else; an object's keys keep the order
docs/reference.md shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, TypeAlias

from git_atomic.core import records
from git_atomic.core.vocab import EventKind
from git_atomic.ops import commandresults, moveresults, results

# Every record a command reports.
Result: TypeAlias = (
    results.OperationResult
    | commandresults.RecoverResult
    | commandresults.IsolatedResult
    | moveresults.MoveResult
    | moveresults.RefusedMove
    | moveresults.NothingFurther
    | commandresults.StatusResult
    | commandresults.LogResult
    | commandresults.ShowResult
    | commandresults.GatesResult
    | commandresults.GcResult
)

SCHEMA: Final = "git-atomic/1"
JsonObject: TypeAlias = dict[str, object]


def result_json(result: Result) -> JsonObject:
    """Every JSON result, built here; an object's keys keep the order they have always had."""
    if isinstance(result, results.OperationResult):
        return operation_json(result)
    if isinstance(result, commandresults.StatusResult):
        return _status_json(result)
    if isinstance(result, commandresults.LogResult):
        return {"schema": SCHEMA, "operations": [operation_json(o) for o in result.operations]}
    if isinstance(result, commandresults.GatesResult):
        return _gates_json(result)
    if isinstance(result, commandresults.GcResult):
        return _gc_json(result)
    # The rest are an operation's record and what the command adds to it.
    obj = operation_json(result.operation)
    if isinstance(result, commandresults.ShowResult):
        _add_show(obj, result)
    elif isinstance(result, moveresults.MoveResult):
        _add_move(obj, result)
    elif isinstance(result, moveresults.RefusedMove):
        _add_refused(obj, result)
    elif isinstance(result, moveresults.NothingFurther):
        obj.update(
            event=EventKind.ROLLBACK,
            dry_run=result.dry_run,
            target=None,
            changes=[],
            head=None,
            branches=[],
            index=[],
            problems=[],
            git_dir=list(result.git_dir),
        )
    elif isinstance(result, commandresults.RecoverResult):
        obj["recovery"] = _recovery_json(result.recovery)
    else:
        obj["isolated"] = _isolated_json(result.isolated)
    return obj


def _gc_json(result: commandresults.GcResult) -> JsonObject:
    return {
        "schema": SCHEMA,
        "operations_retired": result.operations,
        "refs_retired": result.refs,
        "events_retired": result.events,
        "logs_removed": result.logs,
        "bytes_freed": result.bytes_freed,
        "prune_expire": result.expire,
    }


def _add_show(obj: JsonObject, result: commandresults.ShowResult) -> None:
    obj["checkpoint_list"] = [
        {
            "seq": c.seq,
            "kind": c.kind,
            "sha": c.sha,
            "ref": c.ref,
            "message": c.message,
            "commit": c.commit,
            "at": c.at,
        }
        for c in result.checkpoint_list
    ]
    obj["gate_logs"] = [
        {"name": g.name, "log": g.log, "message": g.message} for g in result.gate_logs
    ]
    if result.diff is not None:
        obj["diff"] = result.diff


def _add_move(obj: JsonObject, result: moveresults.MoveResult) -> None:
    obj["status"] = result.status
    obj["checkpoints"] = _checkpoints_json(
        records.replace(result.operation.checkpoints, rescue=result.rescue)
    )
    obj["event"] = result.event
    obj["dry_run"] = result.dry_run
    obj["target"] = {"sha": result.target.sha, "label": result.target.label}
    obj["paths"] = list(result.paths) or None
    obj.update(_facts_json(result.facts))
    obj["problems"] = list(result.problems)
    obj["notes"] = list(result.notes)


def _add_refused(obj: JsonObject, result: moveresults.RefusedMove) -> None:
    if result.operation.op_id is None:  # as a move about no operation shows it
        obj.update(status=None, event=None, dry_run=None, target=None, paths=None)
        obj["problems"] = []
    obj.update(
        status="refused",
        event=result.event,
        dry_run=result.dry_run,
        target=None,
        changes=[],
        problems=[],
    )
    obj["conflicts"] = [
        {"path": c.path, "where": c.where, "kind": c.kind, "lines": [list(r) for r in c.lines]}
        for c in result.conflicts
    ]
    obj["error"] = result.error
    obj["hint"] = result.hint
    obj["exit_code"] = result.exit_code


def _recovery_json(r: commandresults.Recovery) -> JsonObject:
    lock, done = r.lock_broken, r.restore_finished
    return {
        "action": r.action,
        "lock_broken": {"pid": lock.pid, "since": lock.since} if lock else None,
        "stopped_group": r.stopped_group,
        "isolated_closed": list(r.isolated_closed),
        "restore_finished": (
            {
                "event": done.event,
                "target": done.target,
                "rescue": done.rescue,
                **({"op_id": done.op_id} if done.op_id is not None else {}),
            }
            if done
            else None
        ),
        "rescue": r.rescue,
        "problems": list(r.problems),
        "notes": list(r.notes),
        "duration_s": r.duration_s,
    }


def _isolated_json(i: commandresults.Isolated) -> JsonObject:
    return {
        "applied": i.applied,
        "merged": i.merged,
        "not_applied": i.not_applied,
        "why": i.why,
        "conflicts": list(i.conflicts),
        "result": i.result,
        "private_worktree": i.private_worktree,
        "apply_by_hand": list(i.apply_by_hand),
    }


def operation_json(r: results.OperationResult) -> JsonObject:
    """An operation's JSON object (docs/reference.md); the keys keep this order."""
    obj: JsonObject = {
        "schema": SCHEMA,
        "op_id": r.op_id,
        "name": r.name,
        "status": r.status,
        "failed_phase": r.failed_phase,
        "history": r.history,
        "checkpoints": _checkpoints_json(r.checkpoints),
        "command": (
            {
                "argv": list(r.command.argv),
                "exit_code": r.command.exit_code,
                "duration_s": r.command.duration_s,
            }
            if r.command is not None
            else None
        ),
        "gates": [
            {
                "name": g.name,
                "passed": g.passed,
                "exit_code": g.exit_code,
                "duration_s": g.duration_s,
                "coverage": g.coverage,
                "message": g.message,
                "output_tail": g.output_tail,
                "log": g.log,
                "command": g.command,
            }
            for g in r.gates
        ],
        "duration_s": r.duration_s,
    }
    if r.problems is not None:
        obj["problems"] = r.problems
    if r.notes is not None:
        obj["notes"] = r.notes
    if r.changed_since_rescue is not None:
        obj["changed_since_rescue"] = r.changed_since_rescue
    if r.refs_moved_since_rescue is not None:
        obj["refs_moved_since_rescue"] = r.refs_moved_since_rescue
    if r.not_restored is not None:
        obj["not_restored"] = r.not_restored
    if r.held_back is not None:
        obj["held_back"] = r.held_back
    if r.tdd is not None:
        obj["tdd"] = tdd_json(r.tdd)
    if r.times is not None:
        obj["started_at"] = r.times.started_at
        obj["ended_at"] = r.times.ended_at
    if r.phase is not None:
        obj["phase"] = r.phase
    return obj


def _checkpoints_json(c: results.Checkpoints) -> JsonObject:
    return {
        "pre_op": c.pre_op,
        "op_exec": list(c.op_exec),
        "post_op": c.post_op,
        "rescue": c.rescue,
    }


def _gates_json(g: commandresults.GatesResult) -> JsonObject:
    def gate(e: commandresults.GateEntry) -> JsonObject:
        spec, rule, r = e.spec, e.spec.coverage, e.result
        obj: JsonObject = {
            "name": spec.name,
            "run": spec.run if isinstance(spec.run, str) else list(spec.run),
            "timeout": spec.timeout,
            "coverage": (
                {"report": rule.report, "min": rule.min, "no_regression": rule.no_regression}
                if rule is not None
                else None
            ),
            "env": dict(spec.env),
            "ok_exit": list(spec.ok_exit),
        }
        if e.ran:
            obj["result"] = (
                {
                    "passed": r.passed,
                    "exit_code": r.exit_code,
                    "duration_s": round(r.duration_s, 3),
                    "coverage": r.coverage,
                    "message": r.message,
                    "output_tail": r.output_tail,
                    "log": r.log_path,
                }
                if r is not None
                else None
            )
        return obj

    test = g.tdd.test
    obj: JsonObject = {
        "schema": SCHEMA,
        "source": g.source,
        "history": g.history,
        "gates": [gate(e) for e in g.gates],
        "tdd": {
            "test": test if test is None or isinstance(test, str) else list(test),
            "coverage": g.tdd.coverage,
            "timeout": g.tdd.timeout,
        },
    }
    if g.passed is not None:
        obj.update(passed=g.passed, log_dir=g.log_dir)
    return obj


def _status_json(s: commandresults.StatusResult) -> JsonObject:
    lock = s.lock
    interrupted = operation_json(s.interrupted) if s.interrupted is not None else None
    obj: JsonObject = {
        "schema": SCHEMA,
        "open": operation_json(s.open) if s.open is not None else None,
        "interrupted": interrupted,
        "lock": (
            {"pid": lock.pid, "since": lock.since, "command": lock.command, "alive": lock.alive}
            if lock is not None
            else None
        ),
        "blocked": s.blocked,
        "turns": [
            {
                "op_id": t.op_id,
                "session": t.session,
                "platform": t.platform,
                "steps": t.steps,
                "judged_next": t.judged_next,
                "changes": _side(t.changes) if t.changes is not None else None,
            }
            for t in s.turns
        ],
    }
    if s.changes is not None and isinstance(obj["open"], dict):
        obj["open"]["changes"] = _changes_json(s.changes)
    if s.restore is not None:
        restore = {
            "op_id": None,
            "event": s.restore.event,
            "phase": "restore",
            "target": s.restore.target,
            "rescue": s.restore.rescue,
            "next": "git atomic recover",
        }
        if interrupted is not None:
            interrupted["restore"] = restore
        else:
            obj["interrupted"] = restore
    if obj["interrupted"] is None and s.killed_turns:
        turn = s.killed_turns[0]  # (the oldest: recover takes them in turn)
        obj["interrupted"] = {
            "op_id": turn.op_id,
            "event": "agent_turn",
            "phase": "stop_killed",
            "session": turn.session,
            "platform": turn.platform,
            "next": "git atomic recover",
        }
    if obj["interrupted"] is None and s.commit_stopped is not None:
        obj["interrupted"] = {
            "op_id": s.commit_stopped[0],
            "event": "agent_turn",
            "phase": "commit",
            "next": "git atomic recover",
        }
    return obj


def _changes_json(c: commandresults.OpChanges) -> JsonObject:
    """An open operation's changes since its PRE-OP (opchanges.py)."""
    return {
        "since": c.since,
        "worktree": _side(c.worktree),
        "staged": _side(c.staged),
        "unknown": c.unknown,
    }


def _side(paths: Sequence[commandresults.ChangedPath]) -> JsonObject:
    """Changed paths, cut at CHANGES_LIMIT (`truncated`; `total` is exact)."""
    limit = commandresults.CHANGES_LIMIT
    listed = [
        {"path": p.path, "action": p.action, **({"from": p.source} if p.source else {})}
        for p in paths[:limit]
    ]
    return {"paths": listed, "total": len(paths), "truncated": len(paths) > limit}


def _facts_json(f: moveresults.MoveFacts) -> JsonObject:
    def from_to(ft: moveresults.FromTo | None) -> dict[str, str | None] | None:
        return {"from": ft.before, "to": ft.after} if ft is not None else None

    return {
        "changes": [{"path": c.path, "action": c.action} for c in f.changes],
        "head": from_to(f.head),
        "branches": [{"name": b.name, "from": b.before, "to": b.after} for b in f.branches],
        "index": list(f.index),
        "branches_left": list(f.branches_left),
        "dropped_commits": [
            {"sha": d.sha, "subject": d.subject, "branch": d.branch} for d in f.dropped_commits
        ],
        "git_state": from_to(f.git_state),
        "kept": list(f.kept),
        "changed_since_rescue": list(f.changed_since_rescue),
        "refs_moved_since_rescue": list(f.refs_moved_since_rescue),
        "not_restored": list(f.not_restored),
        "git_dir": list(f.git_dir),
    }


def tdd_json(t: results.TddFacts) -> JsonObject:
    return {
        "phase": t.phase,
        "rule": t.rule,
        "message": t.message,
        "kept": t.kept,
        "why": t.why,
        "coverage": t.coverage,
        "green_coverage": t.green_coverage,
        "untouched": t.untouched,
    }
