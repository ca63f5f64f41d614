"""The gates' results on a state without an agent turn's changes, cached by tree.

Asked only when a gate fails at the end of a turn: would it fail without the turn? That state
(the tree as it is now with the turn's changes taken back, or the state the turn started from)
is brought into a private worktree (as `run --isolate` does) and the gate runs there, never in
the user's tree. The answer depends only on the files and the gate, so it is kept per
(files tree, gate) in `<common git dir>/atomic/turns/baseline.json`: the next turn started from
the same tree (the user's work in progress, unchanged) does not run it again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from git_atomic.core import wholefile
from git_atomic.core.config import GateSpec
from git_atomic.core.errors import AtomicError
from git_atomic.engine import checkpoint, git, isolation

_CACHE: Final = "turns/baseline.json"
_KEEP: Final = 256  # entries; the oldest go first


def results(repo: git.Repo, start: str, specs: Sequence[GateSpec]) -> dict[str, bool]:
    """gate name -> whether it passed on checkpoint `start`; a gate that could not be run
    there is left out (and so counts as having passed: the turn is judged strictly)."""
    if not specs:
        return {}
    return results_of(repo, checkpoint.load(repo, start), specs)


def results_of(
    repo: git.Repo, state: checkpoint.Snapshot, specs: Sequence[GateSpec]
) -> dict[str, bool]:
    """The same for a state that need not be a checkpoint of its own (the tree as it is now
    without a turn's changes: judge.py)."""
    if not specs:
        return {}
    cache = _load(repo)
    answers: dict[str, bool] = {}
    missing = []
    for spec in specs:
        key = _key(state.files_tree, spec)
        if key in cache:
            answers[spec.name] = cache[key]
        else:
            missing.append(spec)
    if missing and state.head_oid is not None:
        found = _run_at(repo, state.head_oid, state, missing)
        answers.update(found)
        for spec in missing:
            if spec.name in found:
                cache[_key(state.files_tree, spec)] = found[spec.name]
        _save(repo, cache)
    return answers


def runnable(repo: git.Repo, specs: Sequence[GateSpec]) -> dict[str, bool]:
    """gate name -> whether it can pass in a private worktree at all: run at HEAD's commit,
    where a project's gates usually pass (kept per commit and gate). A gate that needs what a
    private worktree lacks (ignored files: `node_modules`, a `.venv` it names by path, a
    build) fails there whatever the files say, so its failure there tells nothing: the turn
    is then judged as if it had not been looked up (strictly). An unborn HEAD, or a gate that
    fails at HEAD too: not runnable."""
    head = repo.run("rev-parse", "HEAD^{commit}", "HEAD^{tree}", check=False)
    ids = head.stdout.decode().split() if head.returncode == 0 else []
    if not specs or len(ids) != 2:
        return {spec.name: False for spec in specs}
    commit, tree = ids
    cache = _load(repo)
    answers: dict[str, bool] = {}
    missing = []
    for spec in specs:
        if _key(tree, spec) in cache:  # asked at this commit already (the answer is its files')
            answers[spec.name] = cache[_key(tree, spec)]
        else:
            missing.append(spec)
    if missing:
        found = _run_at(repo, commit, None, missing)
        for spec in missing:
            answers[spec.name] = found.get(spec.name, False)
            if spec.name in found or not _interrupted():  # (an interrupt's gap: no answer)
                cache[_key(tree, spec)] = answers[spec.name]
        _save(repo, cache)
    return answers


def _run_at(
    repo: git.Repo,
    head_oid: str,
    state: checkpoint.Snapshot | None,
    specs: Sequence[GateSpec],
) -> dict[str, bool]:
    """Each gate run in a private worktree at `head_oid`, its files `state`'s (None: the
    commit's own)."""
    from git_atomic.ops import gates

    path = isolation.worktree_path(repo, f"baseline-{os.getpid()}-{os.urandom(3).hex()}")
    found: dict[str, bool] = {}
    try:
        private = isolation.add_worktree(repo, path, head_oid)
        if state is not None:
            isolation.bring_to(private, state)
        with tempfile.TemporaryDirectory(prefix="git-atomic-baseline-") as logs:
            for n, spec in enumerate(specs, 1):
                if _interrupted():
                    break
                result = gates.run_gate(
                    spec,
                    root=private.root,
                    log_path=Path(logs) / f"{n:02d}.log",
                    journal=None,
                    worktree=private.worktree_id,
                    progress=False,
                )
                if _interrupted():
                    # Stopped by SIGINT or SIGTERM (a platform's hook timeout), not failed:
                    # no answer (counted as passed there: the turn is judged strictly), and
                    # none kept for a later turn.
                    break
                found[spec.name] = result.passed
    except AtomicError:
        pass  # no answer: judged as if it had passed there
    finally:
        isolation.remove_worktree(repo, path)
    return found


def _interrupted() -> bool:
    from git_atomic.core.children import INTERRUPTS

    return INTERRUPTS.received is not None


def _key(files_tree: str, spec: GateSpec) -> str:
    run = spec.run if isinstance(spec.run, str) else "\0".join(spec.run)
    what = json.dumps([run, sorted(spec.env.items()), repr(spec.coverage)])
    return f"{files_tree}:{hashlib.sha256(what.encode()).hexdigest()[:16]}"


def _load(repo: git.Repo) -> dict[str, bool]:
    try:
        data = json.loads(wholefile.read(repo.state_dir / _CACHE, limit=1 << 20))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, bool)}


def _save(repo: git.Repo, cache: dict[str, bool]) -> None:
    path = repo.state_dir / _CACHE
    kept = dict(list(cache.items())[-_KEEP:])
    with contextlib.suppress(OSError):  # a cache: without it the next turn asks again
        path.parent.mkdir(parents=True, exist_ok=True)
        wholefile.replace(path, json.dumps(kept).encode("utf-8"))
