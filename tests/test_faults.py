"""Crash at every step: kill git-atomic at each failpoint in turn, then `recover` must reach the
exact expected state with git, the journal and the refs all sound (README, Guarantees: crash safe).

The steps are read from the source (every `failpoints.hit("...")`), so a new step is never
forgotten: the coverage test fails until some scenario reaches it. Each scenario is first run
to completion with GIT_ATOMIC_FAILPOINT_TRACE, which lists every step it reaches and how often;
then every reached occurrence `<step>@N` is a kill point, each in a fresh copy of the scenario's
prepared repository. `pytest --slow` kills them all; the default run kills within a budget
(`budgeted`: every step, under at most two of the scenarios that reach it, restore steps under
each scenario that restores).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from testing.gitrepo import ROOT, GitRepo, State, stop_helpers

SRC = ROOT / "src" / "git_atomic"
_HIT = re.compile(r'failpoints\.hit\(\s*(f?)"([^"]+)"\s*\)')
_EVENT = re.compile(r'\bevent(?:\s*:\s*str)?\s*=\s*"([a-z_-]+)"')
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
KINDS = ("pre_op", "op_exec", "post_op")
# Expansions of a template that no command can take, each with the reason.
UNREACHABLE = {
    "apply:rescue-unrecorded",  # an apply's intent always carries its rescue: none is taken
}
# Steps the scenarios here do not reach, killed by a test of their own (the file named): a large
# file moved back (its rollback), the turns' log of windows cut once it is large.
KILLED_ELSEWHERE = {
    "largegone:aside": "test_ignore_and_budget.py",
    "windowlog:trim": "test_hostile_state_files.py",
    "wholefile:aside": "test_state_files_whole.py",
    "journal:read-copied": "test_read_only_commands.py",
    "foldermoves:aside": "test_moved_unheld.py",  # a folder the operation moved, moved back
    "dotgit:aside": "test_dotgit_tmp.py",  # a linked worktree's `.git` written back
    "gitlinks:aside": "test_git_dir_special_files.py",  # a branch written back from its reflog
    "turnpacked:aside": "test_turn_packed_refs.py",  # a turn's call setting packed-refs aside
    "turnend:closed": "test_turn_stop_killed.py",  # a Stop's last step taken, no row yet
    "judge:refs-adopted": "test_turn_stop_killed.py",  # a Stop's refs moved, no row yet
    "journal:op-row": "test_turn_row_killed.py",  # a turn's row, not yet its checkpoints
    "turnop:post-op-ref": "test_turn_keep_killed.py",  # a kept turn's POST-OP ref, no row
    "journal:post-op-row": "test_turn_keep_killed.py",  # its POST-OP, in the closing transaction
    "turnop:closed": "test_turn_keep_killed.py",  # a turn closed, its refs not yet checked
    "turncommit:before-ref": "test_turn_commit_killed.py",  # a kept turn's commit, branch not moved
    "turncommit:before-index": "test_turn_commit_killed.py",  # its branch moved, index not put
    "turncommit:before-record": "test_turn_commit_killed.py",  # index put, commit not recorded
    "turnfiles:notes-kept": "test_adversary61_faults_noted.py",  # noted bytes' ref, no record
    "turnfiles:settled": "test_adversary61_faults_noted.py",  # pending steps' refs, no record
}

# What an operation does to the tree: edits, a new file, a deletion, a new folder, the index, a
# branch, a mode change.
CHANGE = (
    "printf 'op\\n' >> README && echo new > new.txt && rm -f tool.sh && "
    "mkdir -p d/e && echo deep > d/e/f.txt && git add new.txt && chmod +x untracked.txt && "
    "git branch topic"
)


# --- the steps named in the source ----------------------------------------------------------
def declared_steps() -> set[str]:
    texts = [p.read_text() for p in SRC.rglob("*.py")]
    events = {e for t in texts for e in _EVENT.findall(t)}
    values = {"kind": KINDS, "event": tuple(sorted(events))}
    steps: set[str] = set()
    for text in texts:
        for is_f, template in _HIT.findall(text):
            names = _PLACEHOLDER.findall(template) if is_f else []
            unknown = [n for n in names if n not in values]
            assert not unknown, f"failpoint {template!r}: teach the harness {unknown}"
            expanded = [template]
            for name in names:
                expanded = [s.replace("{" + name + "}", v) for s in expanded for v in values[name]]
            steps.update(expanded)
    return steps


# --- repositories ------------------------------------------------------------------------------
def seed(repo: GitRepo) -> None:
    """A tree with every kind of state a checkpoint must keep: unstaged, staged, untracked,
    deleted, executable, symlink, ignored."""
    repo.write(".gitignore", b"*.log\n")
    repo.write("tool.sh", b"#!/bin/sh\necho tool\n", mode=0o755)
    repo.write("gone.txt", b"to be deleted\n")
    os.symlink("README", repo.path / "link")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "seed")
    repo.write("README", b"hello\nunstaged edit\n")
    repo.write("staged.txt", b"staged\n")
    repo.git("add", "staged.txt")
    repo.write("untracked.txt", b"untracked\n")
    repo.write("keep.log", b"ignored, never touched\n")
    (repo.path / "gone.txt").unlink()


def copy_repo(template: GitRepo, dest: Path) -> GitRepo:
    """The template's files and git dir, without its warm helper (core/helper.py): its socket
    cannot be copied, and a copy starts its own."""
    helpers = os.path.join(template.path, ".git", "atomic")
    shutil.copytree(
        template.path,
        dest,
        symlinks=True,
        ignore=lambda folder, names: ["helper"] if folder == helpers else [],
    )
    return GitRepo(dest, dict(template.env))


def sh(repo: GitRepo, script: str) -> None:
    subprocess.run(
        ["sh", "-c", script], cwd=repo.path, env=repo.env, check=True, capture_output=True
    )


def atomic(
    repo: GitRepo, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return repo.atomic(*args, env=env)


def invoke(repo: GitRepo, s: Scenario, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if s.python is None:
        return atomic(repo, *s.killed, env=env)
    return subprocess.run(
        [sys.executable, "-c", s.python],
        cwd=repo.path,
        env={**repo.env, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- scenarios ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    name: str
    killed: tuple[str, ...]  # the git-atomic command that is killed
    prepare: Callable[[GitRepo], None] = lambda repo: None  # after PRE-OP is fingerprinted
    recover_args: tuple[str, ...] = ()
    accept_keeps_template: bool = False  # --accept keeps the state the template was left in
    python: str | None = None  # instead of a command: a program using the Python API


def _begin(repo: GitRepo) -> None:
    repo.atomic("begin", "op", check=0)


def _begin_change(repo: GitRepo) -> None:
    _begin(repo)
    sh(repo, CHANGE)


def _begin_change_checkpoint(repo: GitRepo) -> None:
    _begin_change(repo)
    repo.atomic("checkpoint", "-m", "s1", check=0)
    sh(repo, "echo more >> new.txt && rm staged.txt")


def _killed_run(repo: GitRepo) -> None:
    res = repo.atomic(
        "run",
        "-n",
        "op",
        "--",
        "sh",
        "-c",
        CHANGE,
        env={"GIT_ATOMIC_FAILPOINT": "checkpoint:op_exec:after-journal"},
    )
    assert res.returncode == -9, res.stderr


def _run_ok(repo: GitRepo) -> None:
    repo.atomic("run", "-n", "op", "--", "sh", "-c", CHANGE, check=0)


def _run_fail(repo: GitRepo) -> None:
    repo.atomic("run", "-n", "op", "--", "sh", "-c", CHANGE + " && exit 3", check=1)


def _run_ok_then_fail(repo: GitRepo) -> None:
    _run_ok(repo)
    _run_fail(repo)


def _killed_apply(repo: GitRepo) -> None:
    res = repo.atomic(
        "run",
        "--isolate",
        "-n",
        "op",
        "--",
        "sh",
        "-c",
        ISOLATED_CHANGE,
        env={"GIT_ATOMIC_FAILPOINT": "isolate:apply:before-restore"},
    )
    assert res.returncode == -9, res.stderr


# In a private worktree: no index or branch moves (those are the user's worktree's business).
ISOLATED_CHANGE = (
    "printf 'op\\n' >> README && echo new > new.txt && rm -f tool.sh && "
    "mkdir -p d/e && echo deep > d/e/f.txt"
)


def api_program(*, fail: bool) -> str:
    body = [
        "import subprocess, git_atomic",
        "with git_atomic.operation('op', gates=['true']) as op:",
        f"    subprocess.run(['sh', '-c', {CHANGE!r}], check=True)",
        "    op.checkpoint('stage 1')",
        "    subprocess.run(['sh', '-c', 'echo more >> new.txt'], check=True)",
    ]
    if fail:
        body.append("    raise SystemExit(5)")
    return "\n".join(body) + "\n"


RUN = ("run", "-n", "op")
SCENARIOS = (
    Scenario("run-ok", (*RUN, "-g", "true", "--", "sh", "-c", CHANGE)),
    Scenario("run-fail", (*RUN, "--", "sh", "-c", CHANGE + " && exit 3")),
    Scenario("run-gate-fail", (*RUN, "-g", "false", "--", "sh", "-c", CHANGE)),
    Scenario("begin", ("begin", "op")),
    Scenario("checkpoint", ("checkpoint", "-m", "s1"), _begin_change),
    Scenario("commit", ("commit", "-g", "true"), _begin_change_checkpoint),
    Scenario("commit-fail", ("commit", "-g", "false"), _begin_change_checkpoint),
    Scenario("abort", ("abort",), _begin_change_checkpoint),
    Scenario("recover", ("recover",), _killed_run),
    Scenario(
        "recover-accept",
        ("recover", "--accept"),
        _killed_run,
        ("--accept",),
        accept_keeps_template=True,
    ),
    Scenario("gc", ("gc", "--older-than", "0"), _run_ok_then_fail),
    Scenario("api", (), python=api_program(fail=False)),
    Scenario("api-raise", (), python=api_program(fail=True)),
    Scenario(
        "isolate",
        ("run", "--isolate", "-n", "op", "-g", "true", "--", "sh", "-c", ISOLATED_CHANGE),
    ),
    Scenario("recover-apply", ("recover",), _killed_apply),
    Scenario("rollback", ("rollback",), _run_ok),
    Scenario("rollback-in-op", ("rollback",), _begin_change_checkpoint),
    Scenario("undo", ("undo",), _run_fail),
    Scenario("emergency", ("emergency",), _begin_change_checkpoint),
)


@dataclass
class Prepared:
    scenario: Scenario
    history: str
    template: GitRepo
    pre_op: State  # before the operation opened
    template_state: State
    completed: State  # the killed command, run to the end without a kill
    completed_exit: int
    completed_tracked: str  # `git status` of tracked files after the completed command
    occurrences: list[tuple[str, int]]  # every (step, N) the command reaches


def prepare(s: Scenario, history: str, base: Path) -> Prepared:
    template = GitRepo.create(base / "template", base / "home")
    (template.path / ".git-atomic.toml").write_text(f'history = "{history}"\n')
    template.git("add", ".git-atomic.toml")
    template.git("commit", "-q", "-m", "config")
    seed(template)
    pre_op = template.fingerprint()
    s.prepare(template)
    template_state = template.fingerprint()
    trace = base / "trace.txt"
    probe = copy_repo(template, base / "trace-run")
    res = invoke(probe, s, {"GIT_ATOMIC_FAILPOINT_TRACE": str(trace)})
    assert res.returncode >= 0, f"{s.name}: the trace run died: {res.stderr}"
    counts: Counter[str] = Counter()
    occurrences = []
    for step in trace.read_text().split() if trace.exists() else []:
        counts[step] += 1
        occurrences.append((step, counts[step]))
    stop_helpers(base)  # the template's and the trace run's: nothing runs in a template
    completed_tracked = tracked_changes(probe)
    return Prepared(
        s,
        history,
        template,
        pre_op,
        template_state,
        probe.fingerprint(),
        res.returncode,
        completed_tracked,
        occurrences,
    )


def tracked_changes(repo: GitRepo) -> str:
    """Tracked files that differ from HEAD or the index, without refreshing the index (a
    second recover compares it)."""
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=repo.path,
        env={**repo.env, "GIT_OPTIONAL_LOCKS": "0"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


# --- what recover must reach -----------------------------------------------------------------
@dataclass
class Journalled:
    interrupted: dict[str, Any] | None  # the open operation, if it needs recovery
    pre_op_sha: str | None
    outside_restore: bool  # a restore outside an operation, or of a closed one, was under way
    last_event: str | None  # the newest event of the interrupted operation


def read_journal(repo: GitRepo) -> Journalled:
    path = repo.path / ".git" / "atomic" / "journal.sqlite3"
    if not path.exists():  # killed before its first write (an early scan's walk): nothing
        return Journalled(None, None, False, None)
    db = sqlite3.connect(path)
    try:
        db.row_factory = sqlite3.Row
        row = db.execute(
            "SELECT * FROM operations WHERE status='open' AND worktree='main' "
            "ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
        op = dict(row) if row else None
        pre = last_event = None
        if op is not None:
            r = db.execute(
                "SELECT kind FROM events WHERE op_id=? ORDER BY id DESC LIMIT 1", (op["id"],)
            ).fetchone()
            last_event = r[0] if r else None
            r = db.execute(
                "SELECT sha FROM checkpoints WHERE op_id=? AND kind='pre_op'", (op["id"],)
            ).fetchone()
            pre = r[0] if r else None
            from git_atomic.core.lock import process_alive

            dead = op["owner_pid"] is not None and not process_alive(
                op["owner_pid"], op["owner_start"]
            )
            if not dead and op["pending"] is None:
                op = None
        closed = db.execute(
            "SELECT COUNT(*) FROM operations WHERE status!='open' AND pending IS NOT NULL"
        ).fetchone()[0]
    finally:
        db.close()
    outside = (repo.path / ".git" / "atomic-pending.json").exists() or closed > 0
    return Journalled(op, pre, outside, last_event)


@dataclass(frozen=True)
class Expected:
    state: State
    files_only: bool = False  # commits mode --accept: HEAD and index move, the files stay
    stays_open: bool = False  # a rollback inside an open session: the session goes on


def expected_after_recover(p: Prepared, j: Journalled, at_kill: State, *, accept: bool) -> Expected:
    op = j.interrupted
    if op is not None:
        intent = json.loads(op["pending"]) if op["pending"] else {}
        if j.pre_op_sha is None or op["phase"] == "pre_op":
            return Expected(p.pre_op)
        if json.loads(op["detail"] or "{}").get("isolated"):
            # `run --isolate`: an apply under way is finished, else the user's tree was never
            # touched; --accept has nothing to keep.
            applying = intent.get("action") == "restore"
            return Expected(p.completed if applying else at_kill)
        if intent.get("action") == "restore":
            if intent["event"] in ("emergency", "apply"):
                return Expected(p.completed)
            if intent["target"] != j.pre_op_sha and op["kind"] == "session":
                return Expected(p.completed, stays_open=True)
            return Expected(p.pre_op)
        if j.last_event == "emergency":
            return Expected(p.completed)
        if not accept:
            return Expected(p.pre_op)
        reference = p.template_state if p.scenario.accept_keeps_template else at_kill
        return Expected(reference, files_only=p.history == "commits")
    if j.outside_restore:
        return Expected(p.completed)
    return Expected(at_kill)


# --- one kill ------------------------------------------------------------------------------------
@dataclass
class Kill:
    label: str
    step: str
    recovery_s: float
    problems: list[str] = field(default_factory=list)


def kill_and_recover(p: Prepared, step: str, nth: int, work: Path) -> Kill:
    label = f"{p.scenario.name}/{p.history}: {step}@{nth}"
    repo = copy_repo(p.template, work)
    res = invoke(repo, p.scenario, {"GIT_ATOMIC_FAILPOINT": f"{step}@{nth}"})
    problems: list[str] = []
    if res.returncode != -9:
        return Kill(label, step, 0.0, [f"not killed (exit {res.returncode}): {res.stderr[-300:]}"])
    at_kill = repo.fingerprint()
    journalled = read_journal(repo)
    # The worktree is blocked by the dead holder's lock or by what it left half done; an
    # isolated run in its private phase holds neither (the user's worktree is not involved).
    if (
        (repo.path / ".git" / "atomic.lock").exists()
        or journalled.interrupted is not None
        or journalled.outside_restore
    ):
        refused = atomic(repo, "begin", "another")
        if refused.returncode != 3 or len(refused.stderr.strip().splitlines()) != 1:
            problems.append(
                f"a new operation was not refused: exit {refused.returncode} {refused.stderr!r}"
            )
    elif not p.scenario.name.startswith("isolate"):
        problems.append("the worktree is not blocked after the kill")
    accept = "--accept" in p.scenario.recover_args
    want = expected_after_recover(p, journalled, at_kill, accept=accept)
    expected, files_only = want.state, want.files_only
    start = time.monotonic()
    rec = atomic(repo, "recover", *p.scenario.recover_args)
    took = time.monotonic() - start
    if rec.returncode != 0:
        problems.append(f"recover: exit {rec.returncode}: {rec.stderr}")
    after = repo.fingerprint()
    if files_only:
        problems += [d for d in after.diff(expected) if d.startswith("file ")]
        # What --accept commits is the operation's effect: your uncommitted changes from
        # before it stay uncommitted, as after the same command run to its end.
        tracked = tracked_changes(repo)
        if tracked != p.completed_tracked:
            problems.append(
                f"--accept left uncommitted tracked changes {tracked!r}; the command run to "
                f"its end leaves {p.completed_tracked!r}"
            )
    else:
        problems += after.diff(expected)
    problems += soundness(repo)
    again = atomic(repo, "recover")
    if again.returncode != 0 or repo.fingerprint() != after:
        problems.append(f"a second recover was not a no-op: {again.returncode} {again.stderr}")
    is_open = _open_session(repo)
    if journalled.interrupted is not None and is_open != want.stays_open:
        problems.append(f"the operation is {'open' if is_open else 'closed'} after recover")
    if is_open:
        nxt = atomic(repo, "abort")
    else:
        nxt = atomic(repo, "run", "--no-gates", "--history", "shadow", "-n", "after", "--", "true")
    if nxt.returncode != 0:
        problems.append(f"the next operation failed: exit {nxt.returncode}: {nxt.stderr}")
    return Kill(label, step, took, [f"{label}: {x}" for x in problems])


def _open_session(repo: GitRepo) -> bool:
    status = json.loads(atomic(repo, "status", "--json").stdout)
    return status["open"] is not None


def soundness(repo: GitRepo) -> list[str]:
    """git fsck clean, every journal checkpoint resolves, SQLite intact, nothing left pending."""
    problems = []
    fsck = subprocess.run(
        ["git", "fsck", "--no-dangling", "--no-progress"],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        text=True,
    )
    if fsck.returncode != 0 or fsck.stdout.strip():
        problems.append(f"git fsck: {fsck.returncode} {fsck.stdout} {fsck.stderr}")
    db = sqlite3.connect(repo.path / ".git" / "atomic" / "journal.sqlite3")
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        shas = {
            r[0]
            for r in db.execute(
                "SELECT sha FROM checkpoints UNION SELECT commit_sha FROM checkpoints "
                "UNION SELECT rescue FROM events UNION SELECT target FROM events"
            )
            if r[0]
        }
        left = db.execute(
            "SELECT id, status, pending FROM operations WHERE pending IS NOT NULL "
            "OR (status='open' AND owner_pid IS NOT NULL)"
        ).fetchall()
    finally:
        db.close()
    if integrity != "ok":
        problems.append(f"PRAGMA integrity_check: {integrity}")
    check = subprocess.run(
        ["git", "cat-file", "--batch-check"],
        cwd=repo.path,
        env=repo.env,
        input="".join(s + "\n" for s in sorted(shas)),
        capture_output=True,
        text=True,
    )
    missing = [line for line in check.stdout.splitlines() if line.endswith("missing")]
    if missing:
        problems.append(f"journal names checkpoints that do not resolve: {missing}")
    if left:
        problems.append(f"journal still has work pending: {left}")
    if (repo.path / ".git" / "atomic-pending.json").exists():
        problems.append("atomic-pending.json is still there")
    if (repo.path / ".git" / "atomic.lock").exists():
        problems.append("the lock is still there")
    problems += [f"{name}: a dead process's temporary file is left" for name in _dead_scratch(repo)]
    return problems


def _dead_scratch(repo: GitRepo) -> list[str]:
    """Files in our temporary folder whose process (the first number in the name) is gone."""
    tmp = repo.path / ".git" / "atomic" / "tmp"
    dead = []
    for name in os.listdir(tmp) if tmp.is_dir() else []:
        pid = re.search(r"\d+", name)
        if pid is None:
            continue
        try:
            os.kill(int(pid[0]), 0)
        except ProcessLookupError:
            dead.append(name)
        except PermissionError:
            pass
    return dead


# --- the harness ---------------------------------------------------------------------------------
# The restore's own steps are the same code whatever moves the tree: the fast run kills them
# under these scenarios only (the exhaustive one, under all).
RESTORE_SCENARIOS = frozenset(
    {"run-fail", "abort", "undo", "recover", "recover-apply", "rollback-in-op"}
)


def pick(p: Prepared, *, exhaustive: bool) -> list[tuple[str, int]]:
    """Every occurrence, or (fast) the first of each step, restore steps where they belong."""
    if exhaustive:
        return p.occurrences
    base = p.scenario.name.split("+")[0]
    return [
        (step, n)
        for step, n in p.occurrences
        if n == 1 and (not step.startswith("restore:") or base in RESTORE_SCENARIOS)
    ]


Job = tuple[Prepared, str, int]


def budgeted(prepared: Sequence[Prepared]) -> list[Job]:
    """The fast run's kills: each step in two of the scenarios that reach it, the first and the
    last of them (so a step shared by many commands is killed under two different ones), and
    the restore's steps under every scenario of RESTORE_SCENARIOS (what recover must reach
    differs with each). A step one scenario reaches is killed there. `--slow` kills every
    occurrence under every scenario."""
    reaching: dict[str, list[Prepared]] = {}
    for p in prepared:
        for step, _ in pick(p, exhaustive=False):
            reaching.setdefault(step, []).append(p)
    chosen = {
        (id(p), step)
        for step, ps in reaching.items()
        for p in (ps if step.startswith("restore:") else [ps[0], ps[-1]])
    }
    return [
        (p, step, n)
        for p in prepared
        for step, n in pick(p, exhaustive=False)
        if (id(p), step) in chosen
    ]


def kill_all(jobs: Iterable[Job], base: Path) -> list[Kill]:
    work = [(p, step, n, base / f"{p.scenario.name}-{p.history}-{step}-{n}") for p, step, n in jobs]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return list(pool.map(lambda job: kill_and_recover(*job), work))


def every_occurrence(prepared: Iterable[Prepared]) -> list[Job]:
    return [(p, step, n) for p in prepared for step, n in pick(p, exhaustive=True)]


# A failing scenario's twin that passes: the same change, committed. What --accept leaves
# uncommitted is what that twin leaves (the completed failing command took its change back).
PASSING_TWIN = {"commit-fail": "commit", "run-fail": "run-ok", "run-gate-fail": "run-ok"}
PASSING_TWIN |= {"api-raise": "api"}


def accepting(p: Prepared, twin: Prepared | None = None) -> Prepared:
    """The same prepared repository, recovered with --accept; `twin`: its passing twin."""
    s = p.scenario
    return dataclasses.replace(
        p,
        scenario=dataclasses.replace(s, name=f"{s.name}+accept", recover_args=("--accept",)),
        completed_tracked=(twin or p).completed_tracked,
    )


def with_accepting(chosen: list[Prepared]) -> list[Prepared]:
    """`chosen`, and each of them recovered with --accept (but the recover scenarios)."""
    by_key = {(p.scenario.name, p.history): p for p in chosen}
    return chosen + [
        accepting(p, by_key.get((PASSING_TWIN.get(p.scenario.name, ""), p.history)))
        for p in chosen
        if not p.scenario.name.startswith("recover")
    ]


def report(kills: list[Kill], capsys: pytest.CaptureFixture[str], title: str) -> None:
    assert kills, f"{title}: no kill point"
    slowest = max(kills, key=lambda k: k.recovery_s)
    # Captured (the suite stays quiet): shown by `pytest -s` or `-rP`, and with a failure.
    per_step = Counter(k.step for k in kills)
    sys.stderr.write(
        f"\n{title}: {len(kills)} kill points exercised; longest recovery "
        f"{slowest.recovery_s:.2f} s ({slowest.label})\n  "
        + ", ".join(f"{step} x{n}" for step, n in sorted(per_step.items()))
        + "\n"
    )
    problems = [p for k in kills for p in k.problems]
    assert not problems, "\n".join(problems[:20]) + f"\n({len(problems)} problems)"


HISTORIES = ("commits", "shadow")
BY_NAME = {s.name: s for s in SCENARIOS}
EVERY = [(s.name, h) for s in SCENARIOS for h in HISTORIES]
# The fast run: commits mode (it has the most steps), its kills (budgeted) dealt into SHARDS test
# cases, so that xdist spreads them over its workers.
FAST = [(s.name, "commits") for s in SCENARIOS if s.name != "recover-accept"]
SHARDS = 8


class Scenarios:
    """Each scenario in each mode, prepared and traced once per process, when a test first
    needs it: a worker prepares only the scenarios its cases need."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.done: dict[tuple[str, str], Prepared] = {}
        self.lock = threading.Lock()

    def get(self, *keys: tuple[str, str]) -> list[Prepared]:
        with self.lock:
            missing = [k for k in dict.fromkeys(keys) if k not in self.done]
            with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
                for p in pool.map(
                    lambda k: prepare(BY_NAME[k[0]], k[1], self.base / f"{k[0]}-{k[1]}"), missing
                ):
                    self.done[(p.scenario.name, p.history)] = p
            return [self.done[k] for k in keys]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Scenarios:
    return Scenarios(tmp_path_factory.mktemp("scenarios"))


def test_every_declared_step_is_reached_by_some_scenario(prepared: Scenarios) -> None:
    declared = declared_steps()
    assert {"begin:after-journal", "restore:after-files", "recover:before-close"} <= declared
    every = {(p.scenario.name, p.history): p for p in prepared.get(*EVERY)}
    reached = {step for p in every.values() for step, _ in p.occurrences}
    missing = declared - reached - UNREACHABLE - set(KILLED_ELSEWHERE)
    assert not missing, f"steps no scenario reaches (add one): {sorted(missing)}"
    for step, test_file in KILLED_ELSEWHERE.items():
        text = (Path(__file__).parent / test_file).read_text()
        assert f'"GIT_ATOMIC_FAILPOINT": "{step}"' in text, (step, test_file)
    exits = {name: p.completed_exit for (name, _), p in every.items()}
    assert exits["run-ok"] == 0 and exits["run-fail"] == 1 and exits["run-gate-fail"] == 1
    assert exits["commit"] == 0 and exits["commit-fail"] == 1
    assert exits["api"] == 0 and exits["api-raise"] == 5
    # The fast run's budget still kills every step its scenarios reach, each shared one twice.
    fast = [every[k] for k in FAST]
    jobs = budgeted(fast)
    assert {step for _, step, _ in jobs} == {s for p in fast for s, _ in pick(p, exhaustive=False)}
    per_step = Counter(step for _, step, _ in jobs if not step.startswith("restore:"))
    assert max(per_step.values()) == 2, per_step


@pytest.mark.parametrize("shard", range(SHARDS))
def test_kill_at_every_step_then_recover(
    prepared: Scenarios, tmp_path: Path, capsys: pytest.CaptureFixture[str], shard: int
) -> None:
    """Fast: commits mode (it has the most steps), the first occurrence of each step, within
    the budget (`budgeted`); this case's share of those kills."""
    jobs = budgeted(prepared.get(*FAST))[shard::SHARDS]
    report(kill_all(jobs, tmp_path), capsys, f"crash harness (fast, shard {shard}/{SHARDS})")


def test_kill_then_recover_accept(
    prepared: Scenarios, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--accept keeps the state at the kill (shadow mode: exactly, HEAD and index too)."""
    run_ok, checkpoint, recover_accept = prepared.get(
        ("run-ok", "shadow"), ("checkpoint", "shadow"), ("recover-accept", "shadow")
    )
    chosen = [accepting(run_ok), accepting(checkpoint), recover_accept]
    report(kill_all(budgeted(chosen), tmp_path), capsys, "crash harness (--accept)")


@pytest.mark.slow
def test_kill_at_every_occurrence_both_modes_both_recoveries(
    prepared: Scenarios, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chosen = with_accepting(prepared.get(*EVERY))
    report(kill_all(every_occurrence(chosen), tmp_path), capsys, "crash harness (exhaustive)")
