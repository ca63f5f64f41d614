"""The MCP tools' output schemas: the CLI's `--json` results (docs/reference.md) plus `exit_code`.

Each schema names the fields an agent may rely on and lets the CLI add more
(`additionalProperties` stays open): a newer CLI's extra field must not turn a good result into
a client-side validation error. The tests validate every `structuredContent` the server returns
against these schemas.
"""

from __future__ import annotations

from typing import Any, Final

from git_atomic.core.vocab import FailedPhase, HistoryMode, OpStatus

Schema = dict[str, Any]

STRING: Final[Schema] = {"type": "string"}
SHA: Final[Schema] = {"type": "string", "pattern": "^[0-9a-f]{40,64}$"}
NUMBER: Final[Schema] = {"type": "number"}
INTEGER: Final[Schema] = {"type": "integer"}
BOOLEAN: Final[Schema] = {"type": "boolean"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(
    properties: dict[str, Schema],
    *,
    optional: dict[str, Schema] | None = None,
    description: str | None = None,
) -> Schema:
    """An object with these properties always present (the CLI writes them all) and maybe those."""
    schema: Schema = {
        "type": "object",
        "properties": {**properties, **(optional or {})},
        "required": list(properties),
    }
    if description:
        schema["description"] = description
    return schema


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


STATUS: Final = enum(*(s.value for s in OpStatus), "undone")  # undone: an undo's result
FAILED_PHASE: Final = nullable(enum(*(p.value for p in FailedPhase)))
HISTORY: Final = enum(*(m.value for m in HistoryMode))
EXIT_CODE: Final[Schema] = {
    "type": "integer",
    "description": "the CLI's exit code: 0 done, 1 rolled back (isError is then true)",
}

GATE_RESULT: Final = obj(
    {
        "passed": BOOLEAN,
        "exit_code": nullable(INTEGER),
        "duration_s": NUMBER,
        "coverage": nullable(NUMBER),
    }
)
GATE: Final = obj({"name": STRING, **GATE_RESULT["properties"]})

OPERATION_FIELDS: Final[dict[str, Schema]] = {
    "op_id": nullable(STRING),
    "name": nullable(STRING),
    "status": nullable(STATUS),
    "failed_phase": FAILED_PHASE,
    "history": nullable(HISTORY),
    "checkpoints": obj(
        {
            "pre_op": nullable(SHA),
            "op_exec": array(SHA),
            "post_op": nullable(SHA),
            "rescue": nullable(SHA),
        }
    ),
    "command": nullable(
        obj({"argv": array(STRING), "exit_code": nullable(INTEGER), "duration_s": NUMBER})
    ),
    "gates": array(GATE),
    "duration_s": NUMBER,
}
OPERATION: Final = obj(OPERATION_FIELDS, description="one operation, as `--json` prints it")


def result(
    extra: dict[str, Schema] | None = None, *, optional: dict[str, Schema] | None = None
) -> Schema:
    """An operation's JSON result plus `exit_code`, plus the fields this command adds."""
    return obj({**OPERATION_FIELDS, **(extra or {}), "exit_code": EXIT_CODE}, optional=optional)


CHANGES: Final[dict[str, Schema]] = {
    "event": enum("rollback", "undo", "emergency"),
    "dry_run": BOOLEAN,
    "changes": array(obj({"path": STRING, "action": STRING})),
    "problems": array(STRING),
}
# Absent, or null, where there was nothing further to roll back.
CHANGES_MAYBE: Final[dict[str, Schema]] = {
    "target": nullable(obj({"sha": SHA, "label": STRING})),
    "paths": nullable(array(STRING)),
    "branches": array(obj({"name": STRING, "from": nullable(SHA), "to": nullable(SHA)})),
    "index": array(STRING),
    "dropped_commits": {
        "description": "what a whole-state move drops (kept in the rescue checkpoint)",
        **array(obj({"sha": SHA, "subject": STRING, "branch": nullable(STRING)})),
    },
    "notes": {
        "description": "what the move did that you should know: a commit a remote already has,"
        " taken off a branch (a `git pull` brings it back)",
        **array(STRING),
    },
}
ISOLATED: Final = obj(
    {
        "applied": BOOLEAN,
        "merged": BOOLEAN,
        "why": nullable(STRING),
        "conflicts": array(STRING),
        "private_worktree": nullable(STRING),
    },
    description="run with isolate: whether the private worktree's result reached yours, and why",
)
TDD: Final = obj(
    {
        "phase": enum("red", "green", "refactor"),
        "rule": STRING,
        "message": nullable(STRING),
        # Null while no verdict was reached (the command failed first, or was interrupted).
        "kept": nullable(BOOLEAN),
        "why": nullable(STRING),
    }
)
RECOVERY: Final = obj(
    {
        "action": nullable(STRING),
        "rescue": nullable(SHA),
        "problems": array(STRING),
    },
    optional={"notes": array(STRING)},
)
LOGGED: Final[dict[str, Schema]] = {"started_at": STRING, "ended_at": nullable(STRING)}
CHECKPOINT_ROW: Final = obj(
    {
        "seq": INTEGER,
        "kind": STRING,
        "sha": SHA,
        "message": nullable(STRING),
        "at": STRING,
    }
)

_CHANGED_PATHS: Final = obj(
    {
        "paths": array(
            obj(
                {
                    "path": STRING,
                    "action": enum(
                        "added", "modified", "deleted", "mode", "type", "renamed", "unmerged"
                    ),
                },
                optional={"from": {**STRING, "description": "renamed: its path at PRE-OP"}},
            )
        ),
        "total": INTEGER,
        "truncated": BOOLEAN,
    }
)
OP_CHANGES: Final = obj(
    {
        "since": SHA,
        "worktree": _CHANGED_PATHS,
        "staged": _CHANGED_PATHS,
        "unknown": nullable(STRING),
    },
    description="the paths the open operation changed since its PRE-OP checkpoint: on disk"
    " (tracked or not) and in the index; unknown: why they could not be worked out",
)

OUTPUT: Final[dict[str, Schema]] = {
    "run": result(optional={"isolated": ISOLATED}),
    "begin": result(),
    "checkpoint": result(),
    "commit": result(),
    "abort": result(),
    "rollback": result(CHANGES, optional=CHANGES_MAYBE),
    "undo": result(CHANGES, optional=CHANGES_MAYBE),
    "tdd": result({"tdd": TDD}),
    "recover": result({"recovery": RECOVERY}),
    "status": obj(
        {
            "open": nullable(
                obj({**OPERATION_FIELDS, "phase": STRING}, optional={"changes": OP_CHANGES})
            ),
            "interrupted": nullable(OPERATION),
            "lock": nullable(obj({"pid": INTEGER, "since": STRING})),
            "blocked": {
                **nullable(STRING),
                "description": "why git's own state (a merge, a rebase... left half way) "
                "refuses new operations here, with the ways out; null when nothing does",
            },
            "turns": array(
                obj(
                    {
                        "op_id": STRING,
                        "session": STRING,
                        "platform": STRING,
                        "steps": INTEGER,
                        "judged_next": {
                            **BOOLEAN,
                            "description": "its Stop could not wait for the worktree's lock:"
                            " not judged yet; its session's next prompt (or end) judges it",
                        },
                        "changes": {
                            **nullable(_CHANGED_PATHS),
                            "description": "the files its finished calls changed so far;"
                            " null: not known",
                        },
                    }
                ),
            ),
            "exit_code": EXIT_CODE,
        }
    ),
    "log": obj({"operations": array(obj({**OPERATION_FIELDS, **LOGGED})), "exit_code": EXIT_CODE}),
    "show": result(
        {**LOGGED, "phase": STRING, "checkpoint_list": array(CHECKPOINT_ROW)},
        optional={
            "diff": {"type": "string", "description": "the diff, or with stat the stat"},
            "diff_truncated": {
                "description": "present when the diff was cut at a line to fit a tool result:"
                " how much is shown of how much (stat lists every file; the CLI's"
                " `git atomic show ID --diff` prints it whole)",
                **obj({"shown_chars": INTEGER, "total_chars": INTEGER}),
            },
        },
    ),
    "gates": obj(
        {
            "source": nullable(STRING),
            "history": HISTORY,
            "gates": array(
                obj(
                    # `run`: a shell command line, or the argv list the configuration gave.
                    {
                        "name": STRING,
                        "run": {"anyOf": [STRING, array(STRING)]},
                        "timeout": nullable(NUMBER),
                    },
                    optional={"result": GATE_RESULT},
                )
            ),
            "exit_code": EXIT_CODE,
        },
        # With run: the verdict and the folder of the gates' logs.
        optional={"passed": BOOLEAN, "log_dir": STRING},
    ),
}
# A failed call's (exit 1, isError) one line, what failed and where the tree is, which is also
# its first text item: a client that shows the model only structuredContent keeps it.
FAILURE: Final[Schema] = {
    "type": "string",
    "description": "only when the call failed (isError): what failed and where the tree is",
}
# What a command the call ran printed (run's, tdd's), where it printed anything.
PRINTED: Final[dict[str, Schema]] = {
    "output": {
        "type": "string",
        "description": "what the command printed, stdout and stderr as they came (with"
        " git-atomic's own notes); its end where long",
    },
    "output_truncated": {
        "description": "present when output is only the end of what was printed: how much"
        " is shown of how much",
        **obj({"shown_chars": INTEGER, "total_chars": INTEGER}),
    },
}
for _name in ("run", "tdd"):
    OUTPUT[_name]["properties"].update(PRINTED)
for _schema in OUTPUT.values():
    _schema["properties"]["failure"] = FAILURE
