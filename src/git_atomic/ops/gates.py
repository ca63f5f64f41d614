"""Quality gates: run each configured check, keep its whole output in a log, judge coverage."""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from git_atomic.core import children
from git_atomic.core.config import GateSpec
from git_atomic.core.journal import Journal
from git_atomic.core.records import dataclass

TAIL_LINES: Final = 20


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    exit_code: int | None
    duration_s: float
    coverage: float | None
    output_tail: str
    log_path: str
    message: str | None  # why it failed, in one line
    command: str = ""  # what ran: the shell command line, or the argv quoted


def record(journal: Journal, op_id: str, results: Sequence[GateResult]) -> None:
    """Each gate's result in the operation's audit trail, in the order they ran."""
    for r in results:
        journal.add_gate(
            op_id,
            name=r.name,
            passed=r.passed,
            exit_code=r.exit_code,
            duration=r.duration_s,
            coverage=r.coverage,
            output_tail=r.output_tail,
            log_path=r.log_path,
            message=r.message,
            command=r.command,
        )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:60] or "gate"


def check_programs(gates: Sequence[GateSpec], *, root: Path) -> None:
    """Refuse, before anything starts, a gate given as an argv whose program is not found
    (a shell command line cannot be checked: the shell finds its programs)."""
    from git_atomic.core.errors import UsageError

    for gate in gates:
        if isinstance(gate.run, str):
            continue
        missing = children.missing_program(gate.run, cwd=root)
        if missing is not None:
            raise UsageError(f"gate {gate.name}: cannot run {missing}; nothing was started")


def run_gates(
    gates: Sequence[GateSpec],
    *,
    root: Path,
    log_dir: Path,
    journal: Journal | None,
    worktree: str,
    all_gates: bool = False,
    progress: bool = False,
) -> list[GateResult]:
    """Run gates in order; stop at the first failure unless `all_gates`."""
    results: list[GateResult] = []
    for n, gate in enumerate(gates, 1):
        if children.INTERRUPTS.received is not None:
            break
        result = run_gate(
            gate,
            root=root,
            log_path=log_dir / f"{n:02d}-{_safe(gate.name)}.log",
            journal=journal,
            worktree=worktree,
            progress=progress,
        )
        results.append(result)
        if not result.passed and not all_gates:
            break
    return results


def run_gate(
    gate: GateSpec,
    *,
    root: Path,
    log_path: Path,
    journal: Journal | None,
    worktree: str,
    progress: bool,
) -> GateResult:
    ticker = _Progress(gate.name) if progress else None
    fd, log_path = _open_log(log_path)
    with os.fdopen(fd, "w+b") as log:
        if ticker:
            ticker.start()
        try:
            res = children.run_child(
                gate.run,
                cwd=root,
                timeout=gate.timeout,
                stdout=log.fileno(),
                stderr=log.fileno(),
                env=dict(gate.env),
                escapees_under=root,
            )
        finally:
            if ticker:
                ticker.stop()
        tail = _tail(log.fileno())  # the file written, whatever is at its name now
    message: str | None = None
    coverage: float | None = None
    passed = res.exit_code is not None and res.exit_code in gate.ok_exit
    if res.error:
        message = f"could not start: {res.error}"
    elif res.timed_out:
        message = f"timed out after {gate.timeout:g} s"
    elif children.INTERRUPTS.received is not None:
        passed = False
        message = "interrupted"
    elif not passed:
        message = f"exited with status {res.exit_code}"
    if passed and gate.coverage is not None:
        coverage, message = _judge_coverage(gate, root, journal, worktree)
        passed = message is None
    command = gate.run if isinstance(gate.run, str) else shlex.join(gate.run)
    return GateResult(
        gate.name,
        passed,
        res.exit_code,
        res.duration_s,
        coverage,
        tail,
        str(log_path),
        message,
        command,
    )


def _judge_coverage(
    gate: GateSpec, root: Path, journal: Journal | None, worktree: str
) -> tuple[float | None, str | None]:
    from git_atomic.ops.coverage import CoverageError, read_coverage

    rule = gate.coverage
    assert rule is not None
    report = Path(rule.report)
    if not report.is_absolute():
        report = root / report
    try:
        value = read_coverage(report, worktree=root)
    except CoverageError as exc:
        return None, str(exc)
    if rule.min is not None and value < rule.min:
        return value, f"coverage {value:.2f}% is below the minimum {rule.min:g}%"
    if rule.no_regression and journal is not None:
        last = journal.last_validated_coverage(worktree, gate.name)
        if last is not None and value < last - 1e-9:
            return value, (
                f"coverage {value:.2f}% is below the last validated {last:.2f}% (no_regression)"
            )
    return value, None


def _tail(fd: int, lines: int = TAIL_LINES) -> str:
    try:
        size = os.fstat(fd).st_size
        data = os.pread(fd, 16384, max(0, size - 16384))
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def _open_log(path: Path) -> tuple[int, Path]:
    """The gate's log made anew at `path`, and where it is. In our folder (`.git/atomic/logs/
    ...`) each folder on the way from the git dir is made or entered without following a link,
    and the file is no link either (safefs.py): an operation (or a gate) that made the logs
    folder, or a log's name, a link out of the repository has no file there written (the log
    is written beside then: a new file of the system's temporary folder)."""
    anchor = next((p.parent for p in path.parents if p.name == "atomic"), path.parent)
    rel = os.fsencode(os.path.relpath(path, anchor))
    folder, _, name = rel.rpartition(b"/")
    flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    from git_atomic.engine import safefs  # a gate's run alone

    try:
        with safefs.Tree(os.fsencode(anchor)) as tree:
            return os.open(name, flags, 0o666, dir_fd=tree.make_folders(folder)), path
    except (OSError, safefs.Blocked):
        import tempfile

        fd, beside = tempfile.mkstemp(prefix="git-atomic-gate-", suffix=f"-{path.name}")
        return fd, Path(beside)


class _Progress:
    """One updating line on a terminal's stderr while a gate runs longer than a moment."""

    def __init__(self, name: str) -> None:
        import threading

        self.name = name
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._shown = False

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        import time

        start = time.monotonic()
        while not self._done.wait(0.25):
            elapsed = time.monotonic() - start
            if elapsed >= 1.0:
                sys.stderr.write(f"\r\x1b[2Kgit-atomic: gate {self.name} running… {elapsed:.0f}s")
                sys.stderr.flush()
                self._shown = True

    def stop(self) -> None:
        self._done.set()
        self._thread.join()
        if self._shown:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()
