"""Results for people (stderr, short lines) and for programs (one JSON object on stdout)."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, TypeAlias

from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import OpRow
from git_atomic.core.vocab import CheckpointKind, EventKind, FailedPhase, HistoryMode, OpStatus
from git_atomic.ops import results

if TYPE_CHECKING:
    from git_atomic.engine.git import Repo

SCHEMA: Final = "git-atomic/1"
JsonObject: TypeAlias = dict[str, object]


def emit(result: results.Result) -> None:
    """The result as the one JSON object on stdout."""
    _write_json(result_json(result))


def result_json(result: results.Result) -> JsonObject:
    """Every JSON result, built here; an object's keys keep the order they have always had."""
    if isinstance(result, results.OperationResult):
        return operation_json(result)
    if isinstance(result, results.StatusResult):
        return _status_json(result)
    if isinstance(result, results.LogResult):
        return {"schema": SCHEMA, "operations": [operation_json(o) for o in result.operations]}
    if isinstance(result, results.GatesResult):
        return _gates_json(result)
    if isinstance(result, results.GcResult):
        return {
            "schema": SCHEMA,
            "operations_retired": result.operations,
            "refs_retired": result.refs,
            "events_retired": result.events,
            "logs_removed": result.logs,
            "bytes_freed": result.bytes_freed,
            "prune_expire": result.expire,
        }
    obj = operation_json(result.operation)
    if isinstance(result, results.ShowResult):
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
    elif isinstance(result, results.MoveResult):
        obj["status"] = result.status
        obj["checkpoints"] = _checkpoints_json(
            dataclasses.replace(result.operation.checkpoints, rescue=result.rescue)
        )
        obj["event"] = result.event
        obj["dry_run"] = result.dry_run
        obj["target"] = {"sha": result.target.sha, "label": result.target.label}
        obj["paths"] = list(result.paths) or None
        obj.update(_facts_json(result.facts))
        obj["problems"] = list(result.problems)
    elif isinstance(result, results.RefusedMove):
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
    elif isinstance(result, results.NothingFurther):
        obj.update(
            event=EventKind.ROLLBACK,
            dry_run=False,
            target=None,
            changes=[],
            head=None,
            branches=[],
            index=[],
            problems=[],
        )
    elif isinstance(result, results.RecoverResult):
        r = result.recovery
        lock, done = r.lock_broken, r.restore_finished
        obj["recovery"] = {
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
            "duration_s": r.duration_s,
        }
    else:
        i = result.isolated
        obj["isolated"] = {
            "applied": i.applied,
            "merged": i.merged,
            "not_applied": i.not_applied,
            "why": i.why,
            "conflicts": list(i.conflicts),
            "result": i.result,
            "private_worktree": i.private_worktree,
            "apply_by_hand": list(i.apply_by_hand),
        }
    return obj


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
    if r.changed_since_rescue is not None:
        obj["changed_since_rescue"] = r.changed_since_rescue
    if r.refs_moved_since_rescue is not None:
        obj["refs_moved_since_rescue"] = r.refs_moved_since_rescue
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


def _gates_json(g: results.GatesResult) -> JsonObject:
    def gate(e: results.GateEntry) -> JsonObject:
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


def _status_json(s: results.StatusResult) -> JsonObject:
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
    }
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
    return obj


def _facts_json(f: results.MoveFacts) -> JsonObject:
    def from_to(ft: results.FromTo | None) -> dict[str, str | None] | None:
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


def _write_json(obj: Mapping[str, object]) -> None:
    sys.stdout.write(json.dumps(obj, sort_keys=False) + "\n")
    sys.stdout.flush()


def say(text: str) -> None:
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
    for gate in journal.gates(op.id):
        if not gate.passed:
            say(f"git-atomic: gate {gate.name} failed: {gate.message}")
            if gate.output_tail:
                say("  " + gate.output_tail.replace("\n", "\n  "))
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
    return f"the command exited with status {code}"


# What a rollback's promise covers: what git-atomic captures, not ignored files.
AS_BEFORE: Final = "files, index and branches are as before (ignored files are not restored)"


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
        if repo is not None and not _took_back(repo, journal, op):
            return f"{head} rolled back ({why}); it had changed nothing"
        return (
            f"{head} rolled back ({why}); {AS_BEFORE}. "
            "Its changes are saved: `git atomic undo` brings them back"
        )
    return f"{head} {op.status}"


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
    return (a.files_tree, a.index_key(), a.head_ref, a.head_oid, a.branches) != (
        b.files_tree,
        b.index_key(),
        b.head_ref,
        b.head_oid,
        b.branches,
    )
