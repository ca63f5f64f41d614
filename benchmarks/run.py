#!/usr/bin/env python3
"""Benchmark git-atomic against the floor (`git status`) and the classic git recipes.

Builds synthetic repositories (nested folders, a few large binaries, ignored build output, one
commit, then a messy uncommitted state: staged, unstaged, partially staged, deleted, untracked),
then measures in interleaved rounds, on every size given:

* `git status --porcelain` (the floor: one stat pass) and `git status --porcelain -uall`;
* the classic `git add -A && git commit` checkpoint and `git reset --hard HEAD~1` rollback;
* a `git stash push -u` + `git stash apply --index` round trip and the stash rollback;
* git-atomic through its CLI: `begin` (checkpoint), `abort` (rollback), `undo`, whole
  `run -- true` in both history modes, and a failing `run` (checkpoint + change + rollback);

for a small change (10 edited, 2 deleted, 5 added) and a large one (1 % of the files edited,
0.2 % deleted, 0.5 % added). Every git-atomic measurement is verified afterwards against the
expected state (HEAD, branches, index entries, `git status` and a hash of every file on disk);
a command that fails or leaves the wrong state is reported as "n/a (error: ...)", never timed.

Standard library only; matplotlib, when installed, adds a PNG plot. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import functools
import hashlib
import json
import os
import platform
import random
import shlex
import shutil
import signal
import stat
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

try:
    import resource
except ImportError:  # not on Windows: CPU times are then reported as 0
    resource = None  # type: ignore[assignment]

LAYOUT_VERSION: Final = 1  # bump when the synthetic repository changes (invalidates the cache)
SEED: Final = 20_251_125
BENCH_DIR: Final = Path(__file__).resolve().parent
PROJECT_ROOT: Final = BENCH_DIR.parent
DEFAULT_SIZES: Final = (1_000, 10_000)
BRANCH: Final = "main"
NO_HOOKS: Final = ("-c", f"core.hooksPath={os.devnull}")
IDENTITY: Final = {
    "GIT_AUTHOR_NAME": "Bench Author",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench Author",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}
FIXED_DATE: Final = "2025-01-01T00:00:00+00:00"
FILES_PER_FOLDER: Final = (10, 30)
BINARIES: Final = (("assets/model.bin", 4), ("assets/video.bin", 3), ("assets/archive.bin", 2))
EXTENSIONS: Final = (".py", ".py", ".txt", ".md", ".json", ".c", ".h", ".rs")
TOP_FOLDERS: Final = ("src", "lib", "tests", "docs", "tools", "pkg")
# Files besides the text files: README.md, .gitignore, 3 binaries, a symlink, a script.
EXTRA_TRACKED: Final = 4 + len(BINARIES)

# ---------------------------------------------------------------------------------------------
# Operations (rows of the tables)


@dataclass(frozen=True)
class Op:
    key: str
    approach: str
    label: str
    per_change: bool  # measured once per change size ("small"/"large") or once ("-")
    rollback_like: bool = False  # the "exact?" column is about this row


OPS: Final = (
    Op("status", "git", "status --porcelain (the floor)", False),
    Op("status_uall", "git", "status --porcelain -uall", False),
    Op("classic_ckpt", "classic", "checkpoint: add -A && commit", False),
    Op("classic_rb", "classic", "rollback: reset --hard HEAD~1", True, True),
    Op("stash_ckpt", "stash", "checkpoint: stash push -u && stash apply --index", False, True),
    Op("stash_rb", "stash", "rollback: reset --hard, clean -fd, stash apply --index", True, True),
    Op("ga_version", "git-atomic", "--version", False),
    Op("ga_status", "git-atomic", "status", False),
    Op("ga_begin", "git-atomic", "checkpoint: begin --history shadow", False),
    Op("ga_abort_noop", "git-atomic", "abort, nothing changed", False, True),
    Op("ga_abort", "git-atomic", "rollback: abort after the change", True, True),
    Op("ga_undo", "git-atomic", "undo (of that rollback)", True, True),
    Op("ga_run_true_shadow", "git-atomic", "run --history shadow -- true", False, True),
    Op("ga_run_true_commits", "git-atomic", "run -- true (commits mode)", False),
    Op("ga_run_fail", "git-atomic", "failing run, shadow (checkpoint+change+rollback)", True, True),
    # --watchman: the same commands where Watchman watches the worktree (watcher.py).
    Op("ga_begin_watchman", "git-atomic", "checkpoint, Watchman watching: begin", False),
    Op("ga_abort_watchman", "git-atomic", "rollback, Watchman watching: abort", True, True),
    Op("ga_hook_post", "git-atomic", "hook: PostToolUse of one Write (turn open)", False),
    Op("ga_turn10", "git-atomic", "hook: a turn of 10 Writes + Stop (21 calls)", False),
    # The same commands answered by the worktree's warm helper (core/helper.py); the rows above
    # run with GIT_ATOMIC_HELPER=0. CPU: the client's and the helper's children's.
    Op("ga_status_warm", "git-atomic", "status, warm helper", False),
    Op("ga_begin_warm", "git-atomic", "checkpoint: begin --history shadow, warm helper", False),
    Op("ga_abort_warm", "git-atomic", "rollback: abort after the change, warm helper", True, True),
    Op("ga_hook_post_warm", "git-atomic", "hook: PostToolUse of one Write, warm helper", False),
    Op("ga_turn10_warm", "git-atomic", "hook: a turn of 10 Writes + Stop, warm helper", False),
    # --watchman, answered by the warm helper: what a user's second and later calls cost.
    Op("ga_begin_watchman_warm", "git-atomic", "checkpoint, Watchman watching, warm helper", False),
    Op(
        "ga_abort_watchman_warm",
        "git-atomic",
        "rollback, Watchman watching, warm helper",
        True,
        True,
    ),
)
OPS_BY_KEY: Final = {op.key: op for op in OPS}
CHANGE_KINDS: Final = ("small", "large")
# The agent hook cells: Claude Code's payloads (docs/agents.md), one session, Write calls.
HOOK_AGENT: Final = "claude-code"
HOOK_EVENTS: Final = ("PreToolUse", "PostToolUse", "Stop")
TURN_CALLS: Final = 10

# ---------------------------------------------------------------------------------------------
# Small helpers


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_size(text: str) -> int:
    t = text.strip().lower().replace("_", "")
    mult = 1
    if t.endswith("k"):
        mult, t = 1_000, t[:-1]
    elif t.endswith("m"):
        mult, t = 1_000_000, t[:-1]
    value = int(float(t) * mult)
    if value < 100:
        raise argparse.ArgumentTypeError(f"--files {text}: at least 100 files")
    return value


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms" if seconds >= 0.001 else f"{seconds * 1000:.2f} ms"
    return f"{seconds:.3g} s"


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return ""
    sign = "-" if n < 0 else ""
    v = abs(float(n))
    for unit in ("B", "KB", "MB", "GB"):
        if v < 1024 or unit == "GB":
            return f"{sign}{v:.0f} {unit}" if unit == "B" else f"{sign}{v:.1f} {unit}"
        v /= 1024
    return f"{sign}{v:.1f} GB"  # unreachable, keeps type checkers happy


def fmt_int(n: int) -> str:
    return f"{n:,}"


def shorten(text: str, width: int = 90) -> str:
    one = " ".join(text.split())
    return one if len(one) <= width else one[: width - 1] + "…"


def du(path: Path) -> tuple[int, int]:
    """(allocated bytes as `du` counts them, apparent bytes) of everything under path."""
    allocated = apparent = 0
    stack = [str(path)]
    while stack:
        current = stack.pop()
        try:
            it = os.scandir(current)
        except OSError:
            continue
        with it:
            for entry in it:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                allocated += getattr(st, "st_blocks", 0) * 512
                apparent += st.st_size
                if stat.S_ISDIR(st.st_mode):
                    stack.append(entry.path)
    return allocated, apparent


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


# ---------------------------------------------------------------------------------------------
# Processes


@dataclass(frozen=True)
class CmdResult:
    argv: tuple[str, ...]
    returncode: int | None  # None: could not start or timed out (see error)
    stdout: bytes
    stderr: bytes
    seconds: float
    error: str | None = None
    cpu_seconds: float = 0.0  # user + sys of the whole process tree (the children it waited for)

    def last_stderr_line(self) -> str:
        lines = [ln for ln in self.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines[-1].strip() if lines else ""

    def describe_failure(self) -> str:
        if self.error:
            return self.error
        detail = self.last_stderr_line() or self.stdout.decode("utf-8", "replace").strip()[-200:]
        return f"exit {self.returncode}" + (f": {detail}" if detail else "")


def run_cmd(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    stdin: bytes | None = None,
) -> CmdResult:
    helper = _helper_pid(cwd) if env.get("GIT_ATOMIC_HELPER") == "1" else None
    cpu0 = _children_cpu() + _helper_cpu(helper)
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            env=dict(env),
            input=stdin if stdin is not None else b"",
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        return CmdResult(tuple(argv), None, b"", b"", time.perf_counter() - start, f"{exc}")
    except subprocess.TimeoutExpired:
        return CmdResult(
            tuple(argv), None, b"", b"", time.perf_counter() - start, f"timed out after {timeout}s"
        )
    except OSError as exc:
        return CmdResult(tuple(argv), None, b"", b"", time.perf_counter() - start, f"{exc}")
    seconds = time.perf_counter() - start
    cpu = _children_cpu() + _helper_cpu(helper, settle=True) - cpu0
    return CmdResult(tuple(argv), proc.returncode, proc.stdout, proc.stderr, seconds, None, cpu)


def _helper_pid(cwd: Path) -> int | None:
    """The warm helper serving the repository at cwd (cli/helperd.py), if one runs."""
    try:
        return int((cwd / ".git" / "atomic" / "helper" / "main.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _helper_cpu(pid: int | None, *, settle: bool = False) -> float:
    """CPU seconds of the children the helper has reaped (each served command and its git
    processes), once those of the last call are reaped (settle)."""
    if pid is None:
        return 0.0
    try:
        deadline = time.monotonic() + 2.0
        while settle and time.monotonic() < deadline:
            with open(f"/proc/{pid}/task/{pid}/children") as fh:
                if not fh.read().split():
                    break
            time.sleep(0.002)
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _children_cpu() -> float:
    """CPU seconds used so far by the children we waited for (and theirs): a noisy machine
    stretches wall time, much less the CPU a command needs."""
    if resource is None:
        return 0.0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class HarnessError(RuntimeError):
    """Our own machinery failed (not git-atomic): the repository size is abandoned."""


def hermetic_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(IDENTITY)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_PAGER="cat",
        PAGER="cat",
        LC_ALL="C",
        LANG="C",
    )
    return env


class Git:
    """git in one repository, hooks off, hermetic environment."""

    def __init__(self, repo: Path, env: Mapping[str, str], timeout: float) -> None:
        self.repo = repo
        self.env = dict(env)
        self.quiet_env = {**self.env, "GIT_OPTIONAL_LOCKS": "0"}
        self.timeout = timeout

    def argv(self, *args: str) -> list[str]:
        return ["git", *NO_HOOKS, *args]

    def run(self, *args: str, stdin: bytes | None = None, read_only: bool = False) -> CmdResult:
        env = self.quiet_env if read_only else self.env
        return run_cmd(self.argv(*args), self.repo, env, self.timeout, stdin)

    def ok(self, *args: str, stdin: bytes | None = None, read_only: bool = False) -> bytes:
        res = self.run(*args, stdin=stdin, read_only=read_only)
        if res.returncode != 0:
            raise HarnessError(f"git {' '.join(args)}: {res.describe_failure()}")
        return res.stdout


# ---------------------------------------------------------------------------------------------
# The synthetic repository: plan (pure, deterministic) and build


@dataclass(frozen=True)
class MessyPlan:
    staged_edit: tuple[str, ...]
    unstaged_edit: tuple[str, ...]
    partial: str
    staged_delete: str
    unstaged_delete: str
    chmod_x: str
    staged_new: tuple[str, ...]
    untracked: tuple[str, ...]


@dataclass(frozen=True)
class ChangePlan:
    kind: str
    edited: tuple[str, ...]
    deleted: tuple[str, ...]
    added: tuple[str, ...]

    def counts(self) -> str:
        return f"{len(self.edited)} edited / {len(self.deleted)} deleted / {len(self.added)} added"

    def script(self, marker: Path) -> str:
        q = shlex.quote
        lines = ["set -e"]
        lines += [f"printf '%s\\n' 'edited by the operation' >> {q(p)}" for p in self.edited]
        lines += [f"rm -f -- {q(p)}" for p in self.deleted]
        for folder in sorted({os.path.dirname(p) for p in self.added if os.path.dirname(p)}):
            lines.append(f"mkdir -p -- {q(folder)}")
        lines += [
            f"printf '%s\\n' {q('added by the operation: ' + p)} > {q(p)}" for p in self.added
        ]
        lines.append(f": > {q(str(marker))}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class RepoPlan:
    files: int
    text_paths: tuple[str, ...]
    messy: MessyPlan
    changes: Mapping[str, ChangePlan]


def folder_path(k: int) -> str:
    top = TOP_FOLDERS[k % len(TOP_FOLDERS)]
    rest = k // len(TOP_FOLDERS)
    parts: list[str] = []
    while True:
        parts.append(f"{'abcdefghij'[len(parts)]}{rest % 8}")
        rest //= 8
        if rest == 0 and len(parts) >= 2:
            break
    return "/".join([top, *parts])


def plan_text_paths(count: int) -> list[str]:
    rng = random.Random(SEED + count)
    paths: list[str] = []
    folder = 0
    while len(paths) < count:
        n = min(rng.randint(*FILES_PER_FOLDER), count - len(paths))
        base = folder_path(folder)
        for i in range(n):
            paths.append(f"{base}/f{i:02d}_{folder}{EXTENSIONS[rng.randrange(len(EXTENSIONS))]}")
        folder += 1
    return paths


def make_plan(files: int) -> RepoPlan:
    text = plan_text_paths(files - EXTRA_TRACKED)
    edits_large = max(10, files // 100)
    deletes_large = max(2, files // 500)
    adds_large = max(5, files // 200)
    rng = random.Random(SEED * 7 + files)
    picks = [
        text[i] for i in rng.sample(range(len(text)), 14 + (edits_large - 1) + (deletes_large - 1))
    ]
    messy = MessyPlan(
        staged_edit=tuple(picks[0:5]),
        unstaged_edit=tuple(picks[5:10]),
        partial=picks[10],
        staged_delete=picks[11],
        unstaged_delete=picks[12],
        chmod_x=picks[13],
        staged_new=("wip/feature_0.py", "wip/feature_1.py"),
        untracked=(
            "scratch/notes_0.txt",
            "scratch/notes_1.txt",
            "scratch/notes_2.txt",
            "scratch/deep/todo.txt",
            f"{os.path.dirname(picks[0])}/untracked_0.tmp",
            f"{os.path.dirname(picks[5])}/untracked_1.tmp",
            "UNTRACKED.md",
        ),
    )
    edit_pool = picks[14 : 14 + edits_large - 1]
    delete_pool = picks[14 + edits_large - 1 :]
    changes: dict[str, ChangePlan] = {}
    for kind, n_edit, n_delete, n_add in (
        ("small", 10, 2, 5),
        ("large", edits_large, deletes_large, adds_large),
    ):
        added: list[str] = []
        n_new_folder = (n_add + 1) // 2
        for i in range(n_new_folder):
            added.append(f"newpkg/gen/g{i // 20}/new_{kind}_{i}.txt")
        for i in range(n_add - n_new_folder):
            folder = os.path.dirname(edit_pool[i % len(edit_pool)])
            added.append(f"{folder}/added_{kind}_{i}.txt")
        changes[kind] = ChangePlan(
            kind=kind,
            # The operation also edits the partially staged file and deletes an untracked one:
            # a rollback must bring back both exactly.
            edited=(messy.partial, *edit_pool[: n_edit - 1]),
            deleted=(messy.untracked[0], *delete_pool[: n_delete - 1]),
            added=tuple(added),
        )
    return RepoPlan(files=files, text_paths=tuple(text), messy=messy, changes=changes)


def _corpus(rng: random.Random) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 10))) for _ in range(3000)]
    out: list[str] = []
    line: list[str] = []
    for _ in range(60_000):
        line.append(rng.choice(words))
        if len(line) >= rng.randint(4, 14):
            out.append(" ".join(line))
            line = []
    return "\n".join(out) + "\n"


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def apply_messy(repo: Path, git: Git, messy: MessyPlan) -> None:
    """From a clean checkout of the base commit, make the messy uncommitted state (S0)."""
    for p in messy.staged_edit:
        _append(repo / p, b"staged edit\n")
    _append(repo / messy.partial, b"staged part of a partial edit\n")
    for i, p in enumerate(messy.staged_new):
        _write(repo / p, f"def feature_{i}():\n    return {i}\n".encode())
    git.ok("add", "--", *messy.staged_edit, messy.partial, *messy.staged_new)
    git.ok("rm", "-q", "--", messy.staged_delete)
    _append(repo / messy.partial, b"unstaged part of a partial edit\n")
    for p in messy.unstaged_edit:
        _append(repo / p, b"unstaged edit\n")
    (repo / messy.unstaged_delete).unlink()
    os.chmod(repo / messy.chmod_x, 0o755)
    for p in messy.untracked:
        _write(repo / p, f"untracked work in progress: {p}\n".encode())


@dataclass
class BuildInfo:
    files: int
    path: str
    base_commit: str
    text_files: int
    binary_bytes: int
    ignored_files: int
    built_now: bool
    build_seconds: float | None
    objects_bytes: int


def build_template(dest: Path, plan: RepoPlan, env: Mapping[str, str], timeout: float) -> BuildInfo:
    """Write the repository with Python, `git add -A` + one commit, pack, then the messy state."""
    start = time.perf_counter()
    tmp = dest.with_name(f"{dest.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    build_env = {**env, "GIT_AUTHOR_DATE": FIXED_DATE, "GIT_COMMITTER_DATE": FIXED_DATE}
    git = Git(tmp, build_env, timeout)
    git.ok("init", "-q")
    git.ok("symbolic-ref", "HEAD", f"refs/heads/{BRANCH}")
    git.ok("config", "gc.auto", "0")  # no surprise auto-gc in the middle of a measurement
    rng = random.Random(SEED + 1 + plan.files)
    corpus = _corpus(rng)
    made: set[str] = set()
    for p in plan.text_paths:
        folder = os.path.dirname(p)
        if folder not in made:
            os.makedirs(tmp / folder, exist_ok=True)
            made.add(folder)
        size = rng.randint(100, 3000)
        offset = rng.randrange(0, len(corpus) - size)
        with open(tmp / p, "wb") as fh:
            fh.write(f"# {p}\n{corpus[offset : offset + size]}\n".encode())
    binary_bytes = 0
    for name, mb in BINARIES:
        data = rng.randbytes(mb * 1024 * 1024)
        binary_bytes += len(data)
        _write(tmp / name, data)
    _write(tmp / "README.md", b"# synthetic repository for git-atomic benchmarks\n")
    _write(tmp / ".gitignore", b"build/\n*.log\n*.o\n")
    _write(tmp / "scripts/build.sh", b"#!/bin/sh\necho build\n")
    os.chmod(tmp / "scripts/build.sh", 0o755)
    os.symlink("../README.md", tmp / "scripts/README.link")
    ignored = max(50, plan.files // 20)
    for i in range(ignored):
        _write(tmp / f"build/out/{i // 25}/obj_{i}.o", f"object {i}\n".encode() * 20)
    for i in range(10):
        _write(tmp / f"{os.path.dirname(plan.text_paths[i * 7])}/run_{i}.log", b"log line\n" * 50)
    git.ok("add", "-A")
    git.ok("commit", "-q", "--no-verify", "-m", "initial commit of the synthetic repository")
    git.ok("repack", "-adq")
    git.ok("prune-packed")
    base = git.ok("rev-parse", "HEAD").decode().strip()
    tracked = len(git.ok("ls-files", "-z").split(b"\0")) - 1
    if tracked != plan.files:
        raise HarnessError(f"built {tracked} tracked files, planned {plan.files}")
    apply_messy(tmp, git, plan.messy)
    git.ok("update-index", "-q", "--refresh")
    objects = du(tmp / ".git" / "objects")[0]
    info = BuildInfo(
        files=plan.files,
        path=str(dest),
        base_commit=base,
        text_files=len(plan.text_paths),
        binary_bytes=binary_bytes,
        ignored_files=ignored + 10,
        built_now=True,
        build_seconds=round(time.perf_counter() - start, 2),
        objects_bytes=objects,
    )
    (tmp / ".git" / "bench-info.json").write_text(json.dumps(info.__dict__, indent=1))
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)
    return info


def load_or_build(cache: Path, plan: RepoPlan, env: Mapping[str, str], timeout: float) -> BuildInfo:
    dest = cache / f"repo-v{LAYOUT_VERSION}-{plan.files}"
    info_file = dest / ".git" / "bench-info.json"
    if info_file.is_file():
        with contextlib.suppress(ValueError, TypeError, KeyError):
            data = json.loads(info_file.read_text())
            info = BuildInfo(**data)
            info.built_now, info.build_seconds = False, None
            return info
    log(f"building the {fmt_int(plan.files)}-file repository in {dest} ...")
    return build_template(dest, plan, env, timeout)


def copy_tree(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    cp = shutil.which("cp")
    if cp and sys.platform.startswith("linux"):
        res = subprocess.run([cp, "-a", str(src), str(dst)], capture_output=True, check=False)
        if res.returncode == 0:
            return
        shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, symlinks=True)


# ---------------------------------------------------------------------------------------------
# Fingerprint of the whole repository state


@dataclass(frozen=True)
class Fingerprint:
    head: str
    refs: tuple[str, ...]
    index: tuple[str, ...]
    status: tuple[str, ...]
    files: Mapping[str, str] = field(compare=True)

    def differences(
        self,
        other: Fingerprint,
        *,
        files_only: bool = False,
        brief: bool = False,
        ignore_stash: bool = False,
    ) -> list[str]:
        """What differs in other (the actual state) from self (the expected one)."""
        out: list[str] = []
        if not files_only:
            if self.head != other.head:
                out.append("HEAD moved" if brief else f"HEAD {other.head} instead of {self.head}")
            mine, theirs = self.refs, other.refs
            if ignore_stash:
                mine = tuple(r for r in mine if not r.startswith("refs/stash "))
                theirs = tuple(r for r in theirs if not r.startswith("refs/stash "))
            if mine != theirs:
                out.append(_set_diff("branches", mine, theirs, brief))
            if self.index != other.index:
                out.append(_set_diff("index entries", self.index, other.index, brief))
            if self.status != other.status:
                out.append(_set_diff("status lines", self.status, other.status, brief))
        if self.files != other.files:
            keys = set(self.files) | set(other.files)
            bad = sorted(k for k in keys if self.files.get(k) != other.files.get(k))
            shown = []
            for k in bad[: 2 if brief else 4]:
                if k not in other.files:
                    shown.append(f"missing {k}")
                elif k not in self.files:
                    shown.append(f"extra {k}")
                else:
                    shown.append(f"differs {k}")
            more = f", +{len(bad) - len(shown)} more" if len(bad) > len(shown) else ""
            out.append(f"{len(bad)} paths on disk ({', '.join(shown)}{more})")
        return out


def _tail(line: str) -> str:
    """The telling part of a line: the path after a tab (index) or the end (status)."""
    if "\t" in line:
        return line.split("\t", 1)[1]
    return line if len(line) <= 60 else "…" + line[-59:]


def _set_diff(what: str, expected: Iterable[str], actual: Iterable[str], brief: bool) -> str:
    e, a = set(expected), set(actual)
    missing, extra = sorted(e - a), sorted(a - e)
    head = f"{what}: {len(missing)} missing, {len(extra)} unexpected"
    if brief:
        return head
    parts = [f"-{_tail(x)!r}" for x in missing[:2]] + [f"+{_tail(x)!r}" for x in extra[:2]]
    return f"{head} [{', '.join(parts)}]"


def walk_files(root: Path) -> dict[str, str]:
    """Every path under root except .git: dirs, symlink targets, exec bit + sha1 of bytes."""
    out: dict[str, str] = {}
    stack: list[tuple[str, str]] = [("", str(root))]
    while stack:
        rel, folder = stack.pop()
        with os.scandir(folder) as it:
            for entry in it:
                if not rel and entry.name == ".git":
                    continue
                name = rel + entry.name
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    out[name + "/"] = "dir"
                    stack.append((name + "/", entry.path))
                elif stat.S_ISLNK(st.st_mode):
                    out[name] = "link:" + os.readlink(entry.path)
                elif stat.S_ISREG(st.st_mode):
                    with open(entry.path, "rb") as fh:
                        digest = hashlib.sha1(fh.read()).hexdigest()
                    out[name] = ("x:" if st.st_mode & 0o111 else "-:") + digest
                else:
                    out[name] = f"other:{stat.S_IFMT(st.st_mode)}"
    return out


def fingerprint(git: Git) -> Fingerprint:
    sym = git.run("symbolic-ref", "-q", "HEAD", read_only=True).stdout.decode().strip()
    sha = git.run("rev-parse", "-q", "--verify", "HEAD", read_only=True).stdout.decode().strip()
    refs = git.ok(
        "for-each-ref",
        "--format=%(refname) %(objectname)",
        "refs/heads",
        "refs/stash",
        read_only=True,
    )
    index = git.ok("ls-files", "-s", "-v", "-z", read_only=True)
    status = git.ok(
        "status", "--porcelain=v2", "-z", "--untracked-files=all", "--branch", read_only=True
    )
    return Fingerprint(
        head=f"{sym or '(detached)'} {sha}",
        refs=tuple(refs.decode("utf-8", "replace").splitlines()),
        index=tuple(x.decode("utf-8", "replace") for x in index.split(b"\0") if x),
        status=tuple(sorted(x.decode("utf-8", "replace") for x in status.split(b"\0") if x)),
        files=walk_files(git.repo),
    )


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class Series:
    files: int
    op: str
    change: str  # "small" | "large" | "-"
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    objects_added: list[int] = field(default_factory=list)
    git_added: list[int] = field(default_factory=list)
    exact: list[bool] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def median_s(self) -> float | None:
        return None if self.error else median(self.seconds)

    @property
    def median_cpu(self) -> float | None:
        return None if self.error else median(self.cpu_seconds)

    def note(self, text: str) -> None:
        if text not in self.notes and len(self.notes) < 5:
            self.notes.append(text)


class CellError(Exception):
    def __init__(self, op: str, change: str, message: str) -> None:
        super().__init__(message)
        self.op = op
        self.change = change
        self.message = message


@dataclass
class Measured:
    seconds: float
    objects_added: int
    git_added: int
    cpu_seconds: float = 0.0
    result: CmdResult | None = None
    data: dict[str, Any] | None = None


# ---------------------------------------------------------------------------------------------
# One repository size: the cells of a round


@dataclass(frozen=True)
class Cli:
    argv: tuple[str, ...]
    env: Mapping[str, str]
    description: str


class SizeBench:
    def __init__(
        self,
        plan: RepoPlan,
        info: BuildInfo,
        work: Path,
        env: Mapping[str, str],
        scratch: Path,
        cli: Cli | None,
        cli_error: str | None,
        timeout: float,
    ) -> None:
        self.plan = plan
        self.info = info
        self.work = work
        self.git = Git(work, env, timeout)
        self.scratch = scratch
        self.cli = cli
        self.cli_error = cli_error
        self.timeout = timeout
        self.marker = scratch / f"marker-{plan.files}"
        self.scripts: dict[str, Path] = {}
        self.series: dict[tuple[str, str], Series] = {}
        self.skipped: set[str] = set()
        self.state_ok = False  # the last cell verified that the repository is exactly S0
        self.s0: Fingerprint | None = None
        self.s1: dict[str, Fingerprint] = {}
        self.broken: str | None = None
        self.gc: dict[str, Any] | None = None
        # Every other row is the usual scan, even where Watchman watches the cache folder.
        self.ga_env = {
            **env,
            **(cli.env if cli else {}),
            "GIT_ATOMIC_WATCHMAN": "0",
            "GIT_ATOMIC_HELPER": "0",  # the warm helper has rows of its own (warm_cells)
        }
        self.watchman = False  # --watchman: the cells of watchman_cells
        self.only: tuple[str, ...] = ()  # --only: the cells whose names hold one of these
        self.trace2: Path | None = None  # --trace2: each git-atomic command's git trace there
        self.traced = 0
        self.watching = False
        self.hook_lines: dict[str, str] | None = None  # event -> the installed command line
        self.s_agent: dict[int, Fingerprint] = {}  # S0 plus the first N files an agent wrote
        self.sessions = 0
        for op in OPS:
            for change in CHANGE_KINDS if op.per_change else ("-",):
                self.series[(op.key, change)] = Series(plan.files, op.key, change)

    # --- state ---------------------------------------------------------------------------

    def setup(self) -> None:
        for kind, change in self.plan.changes.items():
            path = self.scratch / f"change-{self.plan.files}-{kind}.sh"
            path.write_text(change.script(self.marker))
            self.scripts[kind] = path
        self.git.ok("update-index", "-q", "--refresh")
        self.git.ok("status", "--porcelain")  # warm the page cache and the stat data
        self.s0 = fingerprint(self.git)
        for kind in CHANGE_KINDS:
            self.apply_change(kind)
            self.s1[kind] = fingerprint(self.git)
            self.restore()
        if self.cli is not None:
            for count in (1, TURN_CALLS):
                for i in range(count):
                    self.agent_write(i)
                self.s_agent[count] = fingerprint(self.git)
                self.restore()
        self.state_ok = True

    def expect_s0(self) -> Fingerprint:
        assert self.s0 is not None
        return self.s0

    def restore(self) -> None:
        """Back to S0 by our own means: base commit, clean, messy state re-applied."""
        g = self.git
        g.ok("symbolic-ref", "HEAD", f"refs/heads/{BRANCH}")
        g.ok("reset", "-q", "--hard", self.info.base_commit)
        g.ok("clean", "-ffdq")
        for line in g.ok("for-each-ref", "--format=%(refname:short)", "refs/heads").splitlines():
            name = line.decode().strip()
            if name and name != BRANCH:
                g.ok("branch", "-q", "-D", name)
        g.ok("stash", "clear")
        apply_messy(self.work, g, self.plan.messy)
        g.ok("update-index", "-q", "--refresh")
        self.state_ok = False

    def ensure_s0(self) -> None:
        if self.state_ok:
            return
        if fingerprint(self.git) == self.expect_s0():
            self.state_ok = True
            return
        self.restore()
        diff = self.expect_s0().differences(fingerprint(self.git))
        if diff:
            raise HarnessError("could not restore the messy state: " + "; ".join(diff))
        self.state_ok = True

    def apply_change(self, kind: str) -> None:
        res = run_cmd(["sh", str(self.scripts[kind])], self.work, self.git.env, self.timeout)
        if res.returncode != 0:
            raise HarnessError(f"change script ({kind}): {res.describe_failure()}")

    def agent_write(self, i: int) -> Path:
        """What an agent's `Write` call does: a new file (in a new folder for the first)."""
        path = self.work / "agent" / f"note_{i}.py"
        _write(path, f"# written by the agent, call {i}\nVALUE = {i}\n".encode())
        return path

    def disk(self) -> tuple[int, int]:
        git_dir = self.work / ".git"
        return du(git_dir / "objects")[0], du(git_dir)[0]

    # --- measuring -----------------------------------------------------------------------

    def timed(self, commands: Sequence[Sequence[str]], op: str, change: str) -> Measured:
        """Run git commands one after the other (timed together); any failure is an error."""
        obj0, git0 = self.disk()
        total = cpu = 0.0
        for args in commands:
            res = self.git.run(*args)
            total += res.seconds
            cpu += res.cpu_seconds
            if res.returncode != 0:
                raise CellError(op, change, f"git {' '.join(args)}: {res.describe_failure()}")
        obj1, git1 = self.disk()
        return Measured(total, obj1 - obj0, git1 - git0, cpu)

    def ga(
        self,
        op: str,
        change: str,
        args: Sequence[str],
        codes: Iterable[int] = (0,),
        status: str | None = None,
        json_out: bool = True,
    ) -> Measured:
        if self.cli is None:
            raise CellError(op, change, self.cli_error or "git-atomic CLI not available")
        obj0, git0 = self.disk()
        env = self.ga_env
        if self.trace2 is not None:  # every git process of this command, in one file
            self.traced += 1
            name = f"{self.plan.files}-{self.traced:04d}-{op}-{change}.json"
            env = {**env, "GIT_TRACE2_EVENT": str(self.trace2 / name)}
        res = run_cmd([*self.cli.argv, *args], self.work, env, self.timeout)
        obj1, git1 = self.disk()
        shown = "git-atomic " + " ".join(args[:3])
        if res.returncode is None or res.returncode not in set(codes):
            raise CellError(op, change, f"{shown}: {res.describe_failure()}")
        data: dict[str, Any] | None = None
        if json_out:
            try:
                loaded = json.loads(res.stdout.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise CellError(
                    op,
                    change,
                    f"{shown}: exit {res.returncode}, stdout is not one JSON object:"
                    f" {res.stdout[:80]!r}; stderr: {res.last_stderr_line()!r}",
                ) from None
            if not isinstance(loaded, dict):
                raise CellError(op, change, f"{shown}: JSON is not an object")
            data = loaded
            if status is not None and data.get("status") != status:
                raise CellError(
                    op, change, f"{shown}: status {data.get('status')!r}, expected {status!r}"
                )
        return Measured(res.seconds, obj1 - obj0, git1 - git0, res.cpu_seconds, res, data)

    def check_checkpoint(self, op: str, change: str, data: Mapping[str, Any] | None) -> None:
        """The PRE-OP checkpoint named in the JSON is a commit kept under refs/atomic/."""
        checkpoints = (data or {}).get("checkpoints")
        pre_op = checkpoints.get("pre_op") if isinstance(checkpoints, dict) else None
        if not isinstance(pre_op, str) or not pre_op:
            raise CellError(op, change, f"no checkpoints.pre_op in the JSON result: {data}")
        kind = self.git.run("cat-file", "-t", pre_op, read_only=True).stdout.decode().strip()
        if kind != "commit":
            raise CellError(op, change, f"checkpoints.pre_op {pre_op} is not a commit ({kind!r})")
        holders = self.git.run(
            "for-each-ref",
            "--contains",
            pre_op,
            "--format=%(refname)",
            "refs/atomic/",
            read_only=True,
        ).stdout
        if not holders.strip():
            raise CellError(op, change, f"no ref under refs/atomic/ keeps the checkpoint {pre_op}")

    def verify(
        self, op: str, change: str, expected: Fingerprint, *, files_only: bool = False
    ) -> None:
        diff = expected.differences(fingerprint(self.git), files_only=files_only)
        if diff:
            self.state_ok = False
            raise CellError(op, change, "wrong state afterwards: " + "; ".join(diff))

    def record(self, op: str, change: str, m: Measured, exact: bool | None = None) -> None:
        s = self.series[(op, change)]
        s.seconds.append(m.seconds)
        s.cpu_seconds.append(m.cpu_seconds)
        s.objects_added.append(m.objects_added)
        s.git_added.append(m.git_added)
        if exact is not None:
            s.exact.append(exact)

    def is_s0(self, op: str, change: str, *, ignore_stash: bool = False) -> bool:
        diff = self.expect_s0().differences(
            fingerprint(self.git), brief=True, ignore_stash=ignore_stash
        )
        if diff:
            self.series[(op, change)].note("not exact: " + "; ".join(diff))
        return not diff

    # --- cells ---------------------------------------------------------------------------

    def cells(self, with_ga: bool) -> list[tuple[str, list[tuple[str, str]], Callable[[], None]]]:
        """(name, the (op, change) rows it measures, function)."""
        # The floor is measured twice a round, at opposite ends of the (rotating) cell order and
        # in both orders of its two variants: every ratio in the report divides by it.
        floor_rows = [("status", "-"), ("status_uall", "-")]
        out: list[tuple[str, list[tuple[str, str]], Callable[[], None]]] = []
        for kind in CHANGE_KINDS:
            out.append(
                (
                    f"classic-{kind}",
                    [("classic_ckpt", "-"), ("classic_rb", kind)],
                    functools.partial(self.cell_classic, kind),
                )
            )
            out.append(
                (
                    f"stash-{kind}",
                    [("stash_ckpt", "-"), ("stash_rb", kind)],
                    functools.partial(self.cell_stash, kind),
                )
            )
        if with_ga:
            self._ga_cells(out)
            warm_cells(self, out)
            if self.watchman:
                watchman_cells(self, out)
        if self.only:
            out = [cell for cell in out if _chosen(cell[0], self.only)]
        middle = len(out) // 2
        return [
            ("status-a", floor_rows, functools.partial(self.cell_status, False)),
            *out[:middle],
            ("status-b", floor_rows, functools.partial(self.cell_status, True)),
            *out[middle:],
        ]

    def _ga_cells(self, out: list[tuple[str, list[tuple[str, str]], Callable[[], None]]]) -> None:
        out.append(("ga-info", [("ga_version", "-"), ("ga_status", "-")], self.cell_ga_info))
        out.append(
            (
                "ga-begin-abort",
                [("ga_begin", "-"), ("ga_abort_noop", "-")],
                self.cell_ga_begin_abort,
            )
        )
        out.append(("ga-run-shadow", [("ga_run_true_shadow", "-")], self.cell_ga_run_shadow))
        out.append(("ga-hook", [("ga_hook_post", "-")], self.cell_ga_hook))
        out.append(("ga-turn", [("ga_turn10", "-")], self.cell_ga_turn))
        out.append(("ga-run-commits", [("ga_run_true_commits", "-")], self.cell_ga_run_commits))
        for kind in CHANGE_KINDS:
            out.append(
                (
                    f"ga-abort-undo-{kind}",
                    [("ga_abort", kind), ("ga_undo", kind)],
                    functools.partial(self.cell_ga_abort_undo, kind),
                )
            )
            out.append(
                (
                    f"ga-fail-{kind}",
                    [("ga_run_fail", kind)],
                    functools.partial(self.cell_ga_fail, kind),
                )
            )

    def cell_status(self, uall_first: bool) -> None:
        variants = [
            ("status", ["status", "--porcelain"]),
            ("status_uall", ["status", "--porcelain", "--untracked-files=all"]),
        ]
        for key, args in reversed(variants) if uall_first else variants:
            m = self.timed([args], key, "-")
            self.record(key, "-", m)
        self.state_ok = False  # status may refresh the index; cheap to re-check

    def cell_classic(self, kind: str) -> None:
        self.state_ok = False
        m = self.timed(
            [["add", "-A"], ["commit", "-q", "--no-verify", "-m", "PRE-OP: bench"]],
            "classic_ckpt",
            "-",
        )
        self.record("classic_ckpt", "-", m)
        self.apply_change(kind)
        self.git.ok("add", "-A")
        self.git.ok("commit", "-q", "--no-verify", "-m", "OP-EXEC: bench")
        m = self.timed([["reset", "-q", "--hard", "HEAD~1"]], "classic_rb", kind)
        self.record("classic_rb", kind, m, exact=self.is_s0("classic_rb", kind))

    def cell_stash(self, kind: str) -> None:
        self.state_ok = False
        m = self.timed(
            [["stash", "push", "-u", "-q"], ["stash", "apply", "--index", "-q"]], "stash_ckpt", "-"
        )
        self.record("stash_ckpt", "-", m, exact=self.is_s0("stash_ckpt", "-", ignore_stash=True))
        self.apply_change(kind)
        m = self.timed(
            [["reset", "-q", "--hard"], ["clean", "-fdq"], ["stash", "apply", "--index", "-q"]],
            "stash_rb",
            kind,
        )
        self.record("stash_rb", kind, m, exact=self.is_s0("stash_rb", kind, ignore_stash=True))
        self.git.ok("stash", "drop", "-q")

    def cell_ga_info(self) -> None:
        m = self.ga("ga_version", "-", ["--version"], json_out=False)
        if not m.result or not m.result.stdout.strip():
            raise CellError("ga_version", "-", "--version printed nothing on stdout")
        self.record("ga_version", "-", m)
        m = self.ga("ga_status", "-", ["status", "--json"])
        assert m.data is not None
        if not {"open", "interrupted", "lock"} <= set(m.data):
            raise CellError(
                "ga_status", "-", f"status --json lacks open/interrupted/lock: {m.data}"
            )
        if m.data.get("open") or m.data.get("interrupted"):
            raise CellError("ga_status", "-", f"an operation is open or interrupted: {m.data}")
        self.record("ga_status", "-", m)
        self.state_ok = False

    def cell_ga_begin_abort(self) -> None:
        self.state_ok = False
        m = self.ga(
            "ga_begin",
            "-",
            ["begin", "bench-checkpoint", "--history", "shadow", "--json"],
            status="open",
        )
        self.check_checkpoint("ga_begin", "-", m.data)
        self.verify("ga_begin", "-", self.expect_s0())
        self.record("ga_begin", "-", m)
        m = self.ga("ga_abort_noop", "-", ["abort", "--json"], codes=(0, 1), status="rolled_back")
        self.verify("ga_abort_noop", "-", self.expect_s0())
        self.record("ga_abort_noop", "-", m, exact=True)
        self.state_ok = True

    def cell_ga_abort_undo(self, kind: str) -> None:
        self.state_ok = False
        self.ga(
            "ga_abort",
            kind,
            ["begin", f"bench-rollback-{kind}", "--history", "shadow", "--json"],
            status="open",
        )
        self.apply_change(kind)
        m = self.ga("ga_abort", kind, ["abort", "--json"], codes=(0, 1), status="rolled_back")
        self.verify("ga_abort", kind, self.expect_s0())
        self.record("ga_abort", kind, m, exact=True)
        if self.series[("ga_undo", kind)].error:  # undo broke in an earlier round: rollback only
            self.state_ok = True
            return
        m = self.ga("ga_undo", kind, ["undo", "--json"], status="undone")
        self.verify("ga_undo", kind, self.s1[kind])
        self.record("ga_undo", kind, m, exact=True)

    def cell_ga_run_shadow(self) -> None:
        self.state_ok = False
        m = self.ga(
            "ga_run_true_shadow",
            "-",
            ["run", "-n", "bench-true", "--history", "shadow", "--json", "--", "true"],
            status="committed",
        )
        self.check_checkpoint("ga_run_true_shadow", "-", m.data)
        self.verify("ga_run_true_shadow", "-", self.expect_s0())
        self.record("ga_run_true_shadow", "-", m, exact=True)
        self.state_ok = True

    def cell_ga_run_commits(self) -> None:
        self.state_ok = False
        m = self.ga(
            "ga_run_true_commits",
            "-",
            ["run", "-n", "bench-commits", "--json", "--", "true"],
            status="committed",
        )
        self.check_checkpoint("ga_run_true_commits", "-", m.data)
        # Commits mode may move the branch and the index; the files must be untouched.
        self.verify("ga_run_true_commits", "-", self.expect_s0(), files_only=True)
        count = self.git.run(
            "rev-list", "--count", f"{self.info.base_commit}..HEAD", read_only=True
        )
        self.series[("ga_run_true_commits", "-")].note(
            f"commits added to {BRANCH}: {count.stdout.decode().strip() or '?'}"
        )
        self.record("ga_run_true_commits", "-", m)

    def cell_ga_fail(self, kind: str) -> None:
        self.state_ok = False
        self.marker.unlink(missing_ok=True)
        script = shlex.quote(str(self.scripts[kind]))
        m = self.ga(
            "ga_run_fail",
            kind,
            [
                "run",
                "-n",
                f"bench-fail-{kind}",
                "--history",
                "shadow",
                "--json",
                "--",
                "sh",
                "-c",
                f"sh {script}; exit 1",
            ],
            codes=(1,),
            status="rolled_back",
        )
        if not self.marker.exists():
            raise CellError("ga_run_fail", kind, "the command never ran (no marker file)")
        assert m.data is not None
        if m.data.get("failed_phase") not in (None, "exec"):
            raise CellError("ga_run_fail", kind, f"failed_phase {m.data.get('failed_phase')!r}")
        self.verify("ga_run_fail", kind, self.expect_s0())
        self.record("ga_run_fail", kind, m, exact=True)
        self.state_ok = True

    def hook_commands(self) -> dict[str, str]:
        """The command line `hooks install` writes into `.claude/settings.json` for each event
        (installed in a scratch repository), its program word replaced by how this run calls
        git-atomic; run as the agent runs it, by `sh -c`."""
        if self.hook_lines is not None:
            return self.hook_lines
        assert self.cli is not None
        where = self.scratch / f"hooks-{self.plan.files}"
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir(parents=True)
        Git(where, self.git.env, self.timeout).ok("init", "-q")
        res = run_cmd(
            [*self.cli.argv, "hooks", "install", HOOK_AGENT], where, self.ga_env, self.timeout
        )
        if res.returncode != 0:
            raise CellError("ga_hook_post", "-", f"hooks install: {res.describe_failure()}")
        settings = json.loads((where / ".claude" / "settings.json").read_text())
        lines: dict[str, str] = {}
        for event in HOOK_EVENTS:
            for group in settings["hooks"][event]:
                for handler in group["hooks"]:
                    command = handler["command"]
                    words = shlex.split(command)
                    if "hook" in words:
                        # Only the program word is replaced: the rest (its guard, `|| echo
                        # ...`, for a PATH without git-atomic) runs as the agent runs it.
                        rest = command.lstrip()[len(shlex.quote(words[0])) :]
                        lines[event] = shlex.join(self.cli.argv) + rest
        if set(lines) != set(HOOK_EVENTS):
            raise CellError("ga_hook_post", "-", f"hooks install wrote no command for {lines}")
        self.hook_lines = lines
        return lines

    def hook(self, op: str, event: str, session: str, call: int | None) -> Measured:
        """One hook call with Claude Code's payload on stdin (a `Write` of `agent_write(call)`)."""
        payload: dict[str, Any] = {
            "session_id": session,
            "transcript_path": "",
            "cwd": str(self.work),
            "hook_event_name": event,
        }
        if call is not None:
            content = f"# written by the agent, call {call}\nVALUE = {call}\n"
            payload.update(
                tool_name="Write",
                tool_use_id=f"toolu_bench_{call}",
                tool_input={
                    "file_path": str(self.work / "agent" / f"note_{call}.py"),
                    "content": content,
                },
            )
            if event == "PostToolUse":
                payload["tool_response"] = {"type": "create", "filePath": str(self.work)}
        else:
            payload["stop_hook_active"] = False
        env = {**self.ga_env, "CLAUDE_PROJECT_DIR": str(self.work)}
        line = self.hook_commands()[event]
        obj0, git0 = self.disk()
        res = run_cmd(
            ["/bin/sh", "-c", line], self.work, env, self.timeout, json.dumps(payload).encode()
        )
        obj1, git1 = self.disk()
        if res.returncode != 0:
            raise CellError(op, "-", f"hook {event}: {res.describe_failure()}")
        said = (res.stdout + res.stderr).decode("utf-8", "replace").strip()
        # A tool call's hook says nothing when it took its checkpoint ("not protected" or
        # "deferred" otherwise); Stop with no gates keeps the turn and says so.
        if (event == "Stop") != ("is kept" in said) or (event != "Stop" and said):
            raise CellError(op, "-", f"hook {event} said: {shorten(said, 160)!r}")
        return Measured(res.seconds, obj1 - obj0, git1 - git0, res.cpu_seconds, res)

    def atomic_refs(self) -> int:
        return len(self.git.ok("for-each-ref", "refs/atomic/", read_only=True).splitlines())

    def cell_ga_hook(self, op: str = "ga_hook_post") -> None:
        """Target 2 of issue 17: one PostToolUse inside an open turn, the whole command line."""
        self.state_ok = False
        self.sessions += 1
        session = f"bench-{self.plan.files}-{self.sessions}"
        self.hook(op, "PreToolUse", session, 0)
        self.agent_write(0)
        before = self.atomic_refs()
        m = self.hook(op, "PostToolUse", session, 0)
        if self.atomic_refs() <= before:
            raise CellError(op, "-", "PostToolUse left no checkpoint ref")
        self.verify(op, "-", self.s_agent[1])
        self.hook(op, "Stop", session, None)
        self.verify(op, "-", self.s_agent[1])
        self.record(op, "-", m)

    def cell_ga_turn(self, op: str = "ga_turn10") -> None:
        """A whole turn's overhead: PreToolUse and PostToolUse around 10 Writes, then Stop."""
        self.state_ok = False
        self.sessions += 1
        session = f"bench-{self.plan.files}-{self.sessions}"
        calls: list[Measured] = []
        for i in range(TURN_CALLS):
            calls.append(self.hook(op, "PreToolUse", session, i))
            self.agent_write(i)
            calls.append(self.hook(op, "PostToolUse", session, i))
        calls.append(self.hook(op, "Stop", session, None))
        self.verify(op, "-", self.s_agent[TURN_CALLS])
        total = Measured(
            sum(c.seconds for c in calls),
            sum(c.objects_added for c in calls),
            sum(c.git_added for c in calls),
            sum(c.cpu_seconds for c in calls),
        )
        self.record(op, "-", total)

    def recover_ga(self) -> None:
        """After a git-atomic error: close whatever it left open, then our own restore."""
        if self.cli is None:
            return
        run_cmd([*self.cli.argv, "abort", "--json"], self.work, self.ga_env, self.timeout)
        res = run_cmd([*self.cli.argv, "status", "--json"], self.work, self.ga_env, self.timeout)
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            data = json.loads(res.stdout.decode())
            if isinstance(data, dict) and data.get("interrupted"):
                run_cmd([*self.cli.argv, "recover", "--json"], self.work, self.ga_env, self.timeout)
        self.state_ok = False

    # --- gc ------------------------------------------------------------------------------

    def measure_gc(self) -> None:
        """Objects kept by git-atomic, then `git atomic gc --older-than 0`, then git's prune."""
        g = self.git
        self.ensure_s0()

        def refs() -> int:
            return len(g.ok("for-each-ref", "refs/atomic", read_only=True).splitlines())

        out: dict[str, Any] = {"base_objects_bytes": self.info.objects_bytes}
        # Drop the garbage of the classic and stash baselines so what is left is git-atomic's.
        g.ok("reflog", "expire", "--expire=now", "--all")
        g.ok("prune", "--expire=now")
        out["atomic_refs_before"] = refs()
        out["objects_before_bytes"] = self.disk()[0]
        if self.cli is None:
            out["error"] = self.cli_error or "git-atomic CLI not available"
            self.gc = out
            return
        res = run_cmd(
            [*self.cli.argv, "gc", "--older-than", "0"], self.work, self.ga_env, self.timeout
        )
        out["gc_seconds"] = round(res.seconds, 4)
        if res.returncode != 0:
            out["error"] = f"git-atomic gc --older-than 0: {res.describe_failure()}"
        out["atomic_refs_after"] = refs()
        out["objects_after_gc_bytes"] = self.disk()[0]
        g.ok("prune", "--expire=now")
        out["objects_after_git_prune_bytes"] = self.disk()[0]
        diff = self.expect_s0().differences(fingerprint(g))
        if diff:
            out["error"] = (
                out.get("error", "") + " gc changed the tree: " + "; ".join(diff)
            ).strip()
            self.state_ok = False
        self.gc = out


# ---------------------------------------------------------------------------------------------
# --watchman: checkpoint and rollback where Watchman watches the worktree

WATCHMAN_ABSENT: Final = "skipped: Watchman is not installed (--watchman)"


# The cells every ratio of the others divides by (the floor is always measured): the
# checkpoints, cold and warm, and the stash peer's.
_DIVISORS: Final = ("ga-begin-abort", "ga-warm-small", "stash-small")


def _chosen(cell: str, only: Sequence[str]) -> bool:
    return cell in _DIVISORS or any(word in cell for word in only)


def warm_cells(
    bench: SizeBench, out: list[tuple[str, list[tuple[str, str]], Callable[[], None]]]
) -> None:
    """The routed commands answered by the worktree's warm helper (core/helper.py): each cell
    first makes sure the helper runs (untimed), then measures as the cold cells do."""
    out.append(("ga-warm-status", [("ga_status_warm", "-")], lambda: cell_ga_warm_status(bench)))
    for kind in CHANGE_KINDS:
        out.append(
            (
                f"ga-warm-{kind}",
                [("ga_begin_warm", "-"), ("ga_abort_warm", kind)],
                functools.partial(cell_ga_warm_rollback, bench, kind),
            )
        )
    out.append(
        ("ga-warm-hook", [("ga_hook_post_warm", "-")], lambda: _warm(bench, bench.cell_ga_hook))
    )
    out.append(
        ("ga-warm-turn", [("ga_turn10_warm", "-")], lambda: _warm(bench, bench.cell_ga_turn))
    )


WARM_ENV: Final = {"GIT_ATOMIC_HELPER": "1", "GIT_ATOMIC_HELPER_IDLE": "900"}


def _warm_up(bench: SizeBench) -> None:
    """Untimed: a routed command, until the worktree's helper answers (the first one starts it).
    A `Stop` hook call of a session with no turn open: it changes nothing, and starts the
    helper (`status`, which only reads, is served by one but never starts one)."""
    assert bench.cli is not None
    if not (bench.work / ".git" / "atomic").is_dir():
        # No operation ran here yet (`--only` a few cells, a warm one first): a helper is
        # started only where one did (core/helper.py). An untimed `begin` and `abort`, which
        # leave the state as it was.
        for args in (["begin", "bench-warm-up", "--history", "shadow"], ["abort"]):
            res = run_cmd([*bench.cli.argv, *args], bench.work, bench.ga_env, bench.timeout)
            if res.returncode != 0:
                raise CellError("ga_status_warm", "-", f"{args[0]}: {res.describe_failure()}")
    deadline = time.monotonic() + 60
    payload = {"session_id": "bench-warm-up", "hook_event_name": "Stop", "cwd": str(bench.work)}
    payload["stop_hook_active"] = False
    while True:
        run_cmd(
            [*bench.cli.argv, "hook", HOOK_AGENT, "Stop"],
            bench.work,
            bench.ga_env,
            bench.timeout,
            json.dumps(payload).encode(),
        )
        pid = _helper_pid(bench.work)
        sock = bench.work / ".git" / "atomic" / "helper" / "main.sock"
        if pid is not None and sock.exists() and Path(f"/proc/{pid}").exists():
            return
        if time.monotonic() > deadline:
            raise CellError("ga_status_warm", "-", "no warm helper came up in 60 s")
        time.sleep(0.2)


def _warm(bench: SizeBench, cell: Callable[[str], None]) -> None:
    saved = bench.ga_env
    bench.ga_env = {**saved, **WARM_ENV}
    try:
        _warm_up(bench)
        cell("ga_hook_post_warm" if cell == bench.cell_ga_hook else "ga_turn10_warm")
    finally:
        bench.ga_env = saved


def cell_ga_warm_status(bench: SizeBench) -> None:
    saved = bench.ga_env
    bench.ga_env = {**saved, **WARM_ENV}
    try:
        _warm_up(bench)
        m = bench.ga("ga_status_warm", "-", ["status", "--json"])
        bench.record("ga_status_warm", "-", m)
    finally:
        bench.ga_env = saved


def cell_ga_warm_rollback(bench: SizeBench, kind: str) -> None:
    bench.state_ok = False
    saved = bench.ga_env
    bench.ga_env = {**saved, **WARM_ENV}
    try:
        _warm_up(bench)
        m = bench.ga(
            "ga_begin_warm",
            "-",
            ["begin", f"bench-warm-{kind}", "--history", "shadow", "--json"],
            status="open",
        )
        bench.check_checkpoint("ga_begin_warm", "-", m.data)
        bench.verify("ga_begin_warm", "-", bench.expect_s0())
        if kind == "small":
            bench.record("ga_begin_warm", "-", m)
        bench.apply_change(kind)
        m = bench.ga("ga_abort_warm", kind, ["abort", "--json"], codes=(0, 1), status="rolled_back")
        bench.verify("ga_abort_warm", kind, bench.expect_s0())
        bench.record("ga_abort_warm", kind, m, exact=True)
        bench.state_ok = True
    finally:
        bench.ga_env = saved


def watchman_cells(
    bench: SizeBench, out: list[tuple[str, list[tuple[str, str]], Callable[[], None]]]
) -> None:
    warm = bench.cli is not None
    if shutil.which("watchman") is None:
        for suffix in ("", "_warm") if warm else ("",):
            keys = [(f"ga_begin_watchman{suffix}", "-")]
            keys += [(f"ga_abort_watchman{suffix}", k) for k in CHANGE_KINDS]
            for key in keys:
                bench.series[key].error = WATCHMAN_ABSENT
        return
    for kind in CHANGE_KINDS:
        out.append(
            (
                f"ga-watchman-{kind}",
                [("ga_begin_watchman", "-"), ("ga_abort_watchman", kind)],
                functools.partial(cell_ga_watchman, bench, kind),
            )
        )
        if warm:
            out.append(
                (
                    f"ga-watchman-warm-{kind}",
                    [("ga_begin_watchman_warm", "-"), ("ga_abort_watchman_warm", kind)],
                    functools.partial(cell_ga_watchman, bench, kind, warm=True),
                )
            )


def _watchman(bench: SizeBench, *args: str) -> None:
    res = run_cmd(["watchman", *args], bench.work, bench.git.env, bench.timeout)
    if res.returncode != 0 or b'"error"' in res.stdout:
        raise CellError("ga_begin_watchman", "-", f"watchman {args[0]}: {res.describe_failure()}")


def cell_ga_watchman(bench: SizeBench, kind: str, *, warm: bool = False) -> None:
    """Untimed: Watchman watches the worktree (set up once), and a `begin` + `abort` keep its
    clock with the scan state (the other cells' captures ran without it). Then the edited files
    of the change are written again with the same bytes (Watchman reports them: the scan reads
    them again), a timed `begin`, the change, a timed `abort`, every state verified. `warm`:
    every command answered by the worktree's warm helper."""
    bench.state_ok = False
    env = {**bench.ga_env, "GIT_ATOMIC_WATCHMAN": "1", **(WARM_ENV if warm else {})}
    begin_key, abort_key = (
        ("ga_begin_watchman_warm", "ga_abort_watchman_warm")
        if warm
        else ("ga_begin_watchman", "ga_abort_watchman")
    )
    if not bench.watching:
        _watchman(bench, "watch", str(bench.work))
        bench.watching = True
    saved = bench.ga_env
    bench.ga_env = env
    try:
        if warm:
            _warm_up(bench)
        bench.ga(begin_key, "-", ["begin", "warm", "--history", "shadow", "--json"])
        bench.ga(begin_key, "-", ["abort", "--json"], codes=(0, 1))
        for rel in bench.plan.changes["small"].edited[:10]:
            path = bench.work / rel
            with contextlib.suppress(OSError):
                path.write_bytes(path.read_bytes())
        m = bench.ga(
            begin_key,
            "-",
            ["begin", "bench-watchman", "--history", "shadow", "--json"],
            status="open",
        )
        bench.check_checkpoint(begin_key, "-", m.data)
        bench.verify(begin_key, "-", bench.expect_s0())
        bench.record(begin_key, "-", m)
        bench.apply_change(kind)
        m = bench.ga(abort_key, kind, ["abort", "--json"], codes=(0, 1), status="rolled_back")
        bench.verify(abort_key, kind, bench.expect_s0())
        bench.record(abort_key, kind, m, exact=True)
        bench.state_ok = True
    finally:
        bench.ga_env = saved


def unwatch(bench: SizeBench) -> None:
    if bench.watching:
        run_cmd(["watchman", "watch-del", str(bench.work)], bench.work, bench.git.env, 60)
        bench.watching = False


# ---------------------------------------------------------------------------------------------
# Reporting


def ratio(value: float | None, floor: float | None) -> str:
    if value is None or not floor:
        return ""
    return f"{value / floor:.2f}x"


def exact_text(op: Op, s: Series) -> str:
    if not op.rollback_like or s.error:
        return ""
    if not s.exact:
        return ""
    if all(s.exact):
        return "yes" + (" (verified)" if op.approach == "git-atomic" else "")
    if not any(s.exact):
        return "no"
    return f"{sum(s.exact)}/{len(s.exact)}"


def cell_text(s: Series, floor: float | None) -> str:
    if s.error:
        return f"n/a (error: {shorten(s.error, 40)})"
    m = s.median_s
    if m is None:
        return "not run"
    return f"{fmt_time(m)} ({ratio(m, floor)})" if floor else fmt_time(m)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(cells)) + " |"

    sep = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([line(headers), sep, *[line(r) for r in rows]])


def ordered_series(bench: SizeBench) -> list[tuple[Op, Series]]:
    out = []
    for op in OPS:
        for change in CHANGE_KINDS if op.per_change else ("-",):
            out.append((op, bench.series[(op.key, change)]))
    return out


def floor_of(bench: SizeBench) -> float | None:
    return bench.series[("status", "-")].median_s


def report(benches: Sequence[SizeBench], with_ga: bool) -> str:
    parts: list[str] = []
    for b in benches:
        floor = floor_of(b)
        cpu_floor = b.series[("status", "-")].median_cpu
        ch = b.plan.changes
        parts.append(
            f"### {fmt_int(b.plan.files)} tracked files"
            f" — git status {fmt_time(floor)}; small change = {ch['small'].counts()},"
            f" large change = {ch['large'].counts()}"
        )
        if b.broken:
            parts.append(f"(abandoned: {b.broken})")
        rows = []
        for op, s in ordered_series(b):
            if op.approach == "git-atomic" and not with_ga:
                continue
            m = s.median_s
            obj = median(s.objects_added) if not s.error else None
            rows.append(
                [
                    op.approach,
                    op.label,
                    s.change,
                    f"n/a (error: {shorten(s.error, 50)})" if s.error else fmt_time(m),
                    "" if s.error else ratio(m, floor),
                    fmt_time(s.median_cpu) if s.cpu_seconds and not s.error else "",
                    "" if s.error else ratio(s.median_cpu, cpu_floor),
                    exact_text(op, s),
                    fmt_bytes(obj) if s.seconds and not s.error else "",
                    fmt_bytes(median(s.git_added)) if s.seconds and not s.error else "",
                    str(len(s.seconds)),
                ]
            )
        parts.append(
            table(
                [
                    "approach",
                    "operation",
                    "change",
                    "median",
                    "x status",
                    "cpu",
                    "cpu x status",
                    "exact?",
                    ".git/objects added",
                    "all of .git",
                    "n",
                ],
                rows,
            )
        )
        notes = [
            f"- {OPS_BY_KEY[s.op].label} [{s.change}]: {n}"
            for _, s in ordered_series(b)
            for n in ([f"error: {s.error}"] if s.error else []) + s.notes
        ]
        if notes:
            parts.append("Notes:\n" + "\n".join(notes))
        parts.append("")
    if len(benches) > 1:
        parts.append("### Growth with repository size (median, x git status of the same size)")
        rows = []
        for op in OPS:
            if op.approach == "git-atomic" and not with_ga:
                continue
            for change in CHANGE_KINDS if op.per_change else ("-",):
                cells = [cell_text(b.series[(op.key, change)], floor_of(b)) for b in benches]
                first = benches[0].series[(op.key, change)].median_s
                last = benches[-1].series[(op.key, change)].median_s
                growth = f"{last / first:.1f}x" if first and last else ""
                rows.append([op.approach, op.label, change, *cells, growth])
        span = f"{fmt_int(benches[0].plan.files)}→{fmt_int(benches[-1].plan.files)}"
        parts.append(
            table(
                [
                    "approach",
                    "operation",
                    "change",
                    *[fmt_int(b.plan.files) for b in benches],
                    f"growth {span}",
                ],
                rows,
            )
        )
        parts.append("")
    parts.append("### Growth with change size (large / small, same repository)")
    rows = []
    for b in benches:
        for op in OPS:
            if not op.per_change or (op.approach == "git-atomic" and not with_ga):
                continue
            small, large = b.series[(op.key, "small")], b.series[(op.key, "large")]
            g = (
                f"{large.median_s / small.median_s:.2f}x"
                if small.median_s and large.median_s
                else ""
            )
            rows.append(
                [
                    fmt_int(b.plan.files),
                    op.approach,
                    op.label,
                    cell_text(small, None),
                    cell_text(large, None),
                    g,
                ]
            )
    parts.append(table(["files", "approach", "operation", "small", "large", "large/small"], rows))
    parts.append("")
    if with_ga:
        parts.append("### Disk kept by git-atomic and `git atomic gc --older-than 0`")
        rows = []
        for b in benches:
            gc = b.gc or {}
            base = gc.get("base_objects_bytes")

            def rel(key: str, gc: Mapping[str, Any] = gc, base: Any = base) -> str:
                v = gc.get(key)
                return fmt_bytes(v - base) if isinstance(v, int) and isinstance(base, int) else ""

            rows.append(
                [
                    fmt_int(b.plan.files),
                    str(gc.get("atomic_refs_before", "")),
                    rel("objects_before_bytes"),
                    f"n/a (error: {shorten(str(gc['error']), 60)})"
                    if gc.get("error")
                    else fmt_time(gc.get("gc_seconds")),
                    str(gc.get("atomic_refs_after", "")),
                    rel("objects_after_gc_bytes"),
                    rel("objects_after_git_prune_bytes"),
                ]
            )
        parts.append(
            table(
                [
                    "files",
                    "refs/atomic before",
                    "objects over base before",
                    "gc time",
                    "refs/atomic after",
                    "over base after gc",
                    "after git prune --expire=now",
                ],
                rows,
            )
        )
        parts.append("")
        parts.append(targets(benches))
        parts.append("")
        parts.append(targets17(benches))
    return "\n".join(parts)


def targets(benches: Sequence[SizeBench]) -> str:
    """The targets of issue 5, judged on the largest size measured (and --version/status on the
    smallest). The verdict is on wall time; the CPU ratio is there to tell a slow engine from a
    busy machine."""
    big, small_repo = benches[-1], benches[0]
    floor = floor_of(big)
    cpu_floor = big.series[("status", "-")].median_cpu
    rows: list[list[str]] = []

    def judge(label: str, s: Series, limit: float, abs_limit: float | None = None) -> None:
        m = s.median_s
        if m is None or not floor:
            rows.append([label, cell_text(s, None), "", "", "n/a"])
            return
        r = m / floor
        ok = r <= limit and (abs_limit is None or m < abs_limit)
        rows.append([label, fmt_time(m), f"{r:.2f}x", ratio(s.median_cpu, cpu_floor), _verdict(ok)])

    n = fmt_int(big.plan.files)
    judge(f"checkpoint ≤ 1.3x status ({n} files)", big.series[("ga_begin", "-")], 1.3)
    judge(
        f"rollback of a small change ≤ 1.5x and < 2 s ({n})",
        big.series[("ga_abort", "small")],
        1.5,
        2.0,
    )
    judge(f"run -- true, shadow ≤ 3x ({n})", big.series[("ga_run_true_shadow", "-")], 3.0)
    judge(f"run -- true, commits ≤ 3x ({n})", big.series[("ga_run_true_commits", "-")], 3.0)
    for key, label in (("ga_version", "--version"), ("ga_status", "status")):
        s = small_repo.series[(key, "-")]
        m = s.median_s
        rows.append(
            [
                f"{label} < 100 ms ({fmt_int(small_repo.plan.files)} files)",
                cell_text(s, None),
                "",
                f"cpu {fmt_time(s.median_cpu)}" if m is not None else "",
                "n/a" if m is None else _verdict(m < 0.1),
            ]
        )
    return "### Targets of issue 5\n" + table(
        ["target", "median", "x status", "cpu x status", "verdict"], rows
    )


def targets17(benches: Sequence[SizeBench]) -> str:
    """The targets of issue 17 that this script measures, each on every size it applies to,
    against the peer named in the target, measured in the same rounds. The verdict is on wall
    time; the CPU ratio beside it tells a slow engine from a busy machine."""
    rows: list[list[str]] = []

    def judge(label: str, s: Series, peer: Series, peer_name: str, limit: float) -> None:
        m, p = s.median_s, peer.median_s
        if m is None or not p:
            why = s.error or peer.error or "not measured"
            rows.append([label, f"n/a ({shorten(why, 50)})", "", "", "", "n/a"])
            return
        cpu = ratio(s.median_cpu, peer.median_cpu)
        rows.append(
            [
                label,
                fmt_time(m),
                f"{peer_name} {fmt_time(p)}",
                f"{m / p:.2f}x",
                cpu,
                _verdict(m / p <= limit),
            ]
        )

    for b in benches:
        n = fmt_int(b.plan.files)
        if b.plan.files > 10_000:
            continue
        stash_ckpt, stash_rb = b.series[("stash_ckpt", "-")], b.series[("stash_rb", "small")]
        begin = b.series[("ga_begin", "-")]
        judge(f"1. checkpoint ≤ 0.6x stash ({n} files)", begin, stash_ckpt, "stash", 0.6)
        judge(
            f"1. small rollback ≤ 0.6x stash round trip ({n})",
            b.series[("ga_abort", "small")],
            stash_rb,
            "stash",
            0.6,
        )
        judge(
            f"2. one hook call ≤ 1.5x checkpoint ({n})",
            b.series[("ga_hook_post", "-")],
            begin,
            "begin",
            1.5,
        )
        judge(
            f"2. {TURN_CALLS}-call turn + Stop ≤ {TURN_CALLS} checkpoints ({n})",
            b.series[("ga_turn10", "-")],
            begin,
            "begin",
            float(TURN_CALLS),
        )
        warm = b.series[("ga_begin_warm", "-")]
        judge(f"1. checkpoint ≤ 0.6x stash ({n}), warm", warm, stash_ckpt, "stash", 0.6)
        judge(
            f"1. small rollback ≤ 0.6x stash round trip ({n}), warm",
            b.series[("ga_abort_warm", "small")],
            stash_rb,
            "stash",
            0.6,
        )
        judge(
            f"2. one hook call ≤ 1.5x checkpoint ({n}), warm",
            b.series[("ga_hook_post_warm", "-")],
            warm,
            "begin",
            1.5,
        )
        judge(
            f"2. {TURN_CALLS}-call turn + Stop ≤ {TURN_CALLS} checkpoints ({n}), warm",
            b.series[("ga_turn10_warm", "-")],
            warm,
            "begin",
            float(TURN_CALLS),
        )
    for b in benches:
        if b.plan.files < 100_000:
            continue
        n = fmt_int(b.plan.files)
        floor = b.series[("status", "-")]
        judge(
            f"3. checkpoint ≤ 1.3x status ({n})", b.series[("ga_begin", "-")], floor, "status", 1.3
        )
        judge(
            f"3. small rollback ≤ 1.5x status ({n})",
            b.series[("ga_abort", "small")],
            floor,
            "status",
            1.5,
        )
        judge(
            f"3. large rollback ≤ 2x status ({n})",
            b.series[("ga_abort", "large")],
            floor,
            "status",
            2.0,
        )
        watched = b.series[("ga_begin_watchman", "-")]
        if watched.seconds or watched.error:
            for key, suffix in (("ga_begin_watchman", ""), ("ga_begin_watchman_warm", ", warm")):
                series = b.series[(key, "-")]
                if series.seconds or series.error:
                    label = f"4. checkpoint, Watchman watching ≤ 0.5x status ({n}){suffix}"
                    judge(label, series, floor, "status", 0.5)
        else:
            rows.append([f"4. Watchman ({n})", "not in this run (--watchman)", "", "", "", "n/a"])
    if not any(b.plan.files >= 100_000 for b in benches):
        rows.append(
            ["3., 4. at 100,000 files", "not in this run (--files 100k)", "", "", "", "n/a"]
        )
    rows.append(
        [
            "5., 6. first checkpoint; attributes, flags, LFS",
            "benchmarks/variants.py",
            "",
            "",
            "",
            "see there",
        ]
    )
    return "### Targets of issue 17 (ratio to the peer named, same rounds)\n" + table(
        ["target", "median", "peer", "ratio", "cpu ratio", "verdict"], rows
    )


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def results_json(
    benches: Sequence[SizeBench], args: argparse.Namespace, cli: Cli | None, cli_error: str | None
) -> dict[str, Any]:
    git_version = subprocess.run(
        ["git", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    results = []
    for b in benches:
        floor = floor_of(b)
        cpu_floor = b.series[("status", "-")].median_cpu
        for op, s in ordered_series(b):
            m = s.median_s
            results.append(
                {
                    "files": b.plan.files,
                    "key": op.key,
                    "approach": op.approach,
                    "operation": op.label,
                    "change": s.change,
                    "median_s": m,
                    "ratio_to_status": (m / floor) if m is not None and floor else None,
                    "samples_s": [round(x, 6) for x in s.seconds],
                    "cpu_median_s": s.median_cpu,
                    "cpu_ratio_to_status": (
                        s.median_cpu / cpu_floor if s.median_cpu is not None and cpu_floor else None
                    ),
                    "cpu_samples_s": [round(x, 6) for x in s.cpu_seconds],
                    "objects_added_bytes": s.objects_added,
                    "git_dir_added_bytes": s.git_added,
                    "objects_added_median_bytes": median(s.objects_added),
                    "exact": s.exact,
                    "error": s.error,
                    "notes": s.notes,
                }
            )
    return {
        "schema": 1,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(shlex.quote(a) for a in sys.argv),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "git": git_version,
        },
        "rounds": args.rounds,
        "sizes": [b.plan.files for b in benches],
        "git_atomic_cli": cli.description if cli else None,
        "project": args.project,
        "git_atomic_cli_error": cli_error,
        "repos": [
            {
                **b.info.__dict__,
                "changes": {k: c.counts() for k, c in b.plan.changes.items()},
                "abandoned": b.broken,
            }
            for b in benches
        ],
        "results": results,
        "gc": {str(b.plan.files): b.gc for b in benches},
    }


def plot(results: Sequence[Mapping[str, Any]], path: Path) -> str | None:
    """Cost vs. repository size per approach (PNG) from the "results" rows of the JSON file;
    returns why not, or None when drawn."""
    try:
        import matplotlib  # type: ignore[import-not-found,unused-ignore]

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # type: ignore[import-not-found,unused-ignore]
        from matplotlib.ticker import NullLocator  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return "matplotlib is not installed: no plot"
    shown = [
        ("status", "-"),
        ("classic_ckpt", "-"),
        ("classic_rb", "small"),
        ("stash_ckpt", "-"),
        ("stash_rb", "small"),
        ("ga_begin", "-"),
        ("ga_abort", "small"),
        ("ga_abort", "large"),
        ("ga_run_true_shadow", "-"),
        ("ga_run_true_commits", "-"),
        ("ga_run_fail", "small"),
    ]
    by_key = {(r["files"], r["key"], r["change"]): r for r in results}
    sizes = sorted({int(r["files"]) for r in results})
    try:
        colors = [plt.get_cmap("tab20")(i) for i in range(20)]
        fig, (ax_abs, ax_rel) = plt.subplots(1, 2, figsize=(13, 6.5))
        for i, (key, change) in enumerate(shown):
            op = OPS_BY_KEY[key]
            xs, ys, rs = [], [], []
            for files in sizes:
                row = by_key.get((files, key, change))
                if row and row.get("median_s") is not None and row.get("ratio_to_status"):
                    xs.append(files)
                    ys.append(row["median_s"])
                    rs.append(row["ratio_to_status"])
            if not xs:
                continue
            label = f"{op.approach}: {op.label}" + (f" [{change}]" if change != "-" else "")
            style = dict(
                linestyle="-" if op.approach == "git-atomic" else "--",
                marker="o" if op.approach == "git-atomic" else "s",
                linewidth=3.0 if key == "status" else 1.5,
                color="black" if key == "status" else colors[(2 * i) % len(colors)],
            )
            ax_abs.plot(xs, ys, label=label, **style)
            ax_rel.plot(xs, rs, **style)
        for ax in (ax_abs, ax_rel):
            ax.set_xscale("log")
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xticks(sizes)
            ax.set_xticklabels([fmt_int(s) for s in sizes])
            ax.set_xlabel("tracked files")
            ax.grid(True, which="both", alpha=0.3)
        ax_abs.set_yscale("log")
        ax_abs.set_ylabel("median wall time (s)")
        ax_abs.set_title("cost vs. repository size")
        ax_rel.set_yscale("log")
        ax_rel.set_ylabel("x git status --porcelain (same run)")
        ax_rel.set_title("ratio to git status")
        fig.suptitle(
            "git-atomic benchmark: messy working tree; small change = 10 edited, 2 deleted, 5 added"
        )
        fig.legend(loc="lower center", ncol=3, fontsize=7, frameon=False)
        fig.tight_layout(rect=(0, 0.12, 1, 1))
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
    except Exception as exc:  # a plot is a bonus: never fail the run for it
        return f"plot failed: {type(exc).__name__}: {exc}"
    return None


# ---------------------------------------------------------------------------------------------
# Main


def snapshot_source(dest: Path) -> Path | None:
    """Copy this checkout's src/ so the whole run measures one version of the engine, even
    while someone edits the tree. Returns the copy's src folder, or None without a src/."""
    src = PROJECT_ROOT / "src"
    if not (src / "git_atomic").is_dir():
        return None
    shutil.copytree(
        src, dest, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    # Byte-compile it, as `pip install` does: otherwise every call would compile every module
    # again (more so where PYTHONDONTWRITEBYTECODE is set), which no installed copy pays.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(dest)], check=False, capture_output=True
    )
    return dest


def source_version() -> dict[str, Any]:
    """Which commit of the project was measured, and whether src/ had uncommitted edits."""

    def git_out(*args: str) -> str:
        res = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, check=False
        )
        return res.stdout.strip() if res.returncode == 0 else ""

    dirty = git_out("status", "--porcelain", "--", "src")
    return {
        "commit": git_out("rev-parse", "HEAD") or None,
        "src_uncommitted_paths": len(dirty.splitlines()) if dirty else 0,
    }


def detect_cli(
    spec: str | None, env: Mapping[str, str], snapshot: Path | None, *, no_site: bool = False
) -> tuple[Cli | None, str | None]:
    if spec:
        cli = Cli(tuple(shlex.split(spec)), {}, spec)
    elif snapshot is not None:
        extra = env.get("PYTHONPATH")
        # -S: no site-packages processing (the copy is found through PYTHONPATH), to show what
        # a machine whose site-packages runs no `.pth` code at start-up would measure.
        flags = ("-S",) if no_site else ()
        cli = Cli(
            (sys.executable, *flags, "-m", "git_atomic"),
            {"PYTHONPATH": str(snapshot) + (os.pathsep + extra if extra else "")},
            f"{Path(sys.executable).name} {'-S ' * no_site}-m git_atomic (a copy of"
            f" {PROJECT_ROOT / 'src'} taken at start)",
        )
    elif exe := shutil.which("git-atomic"):
        cli = Cli((exe,), {}, exe)
    else:
        cli = Cli((sys.executable, "-m", "git_atomic"), {}, "python -m git_atomic")
    probe = run_cmd([*cli.argv, "--version"], Path.cwd(), {**env, **cli.env}, 60)
    if probe.returncode != 0:
        return None, f"git-atomic CLI not runnable ({cli.description}): {probe.describe_failure()}"
    return cli, None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark git-atomic against git status and the classic git recipes.",
    )
    p.add_argument(
        "--files",
        action="append",
        metavar="N[,N...]",
        help="repository sizes in tracked files (repeatable or comma list; 1k, 100k"
        " accepted); default 1000,10000",
    )
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5)")
    p.add_argument("--quick", action="store_true", help="smoke test: 1000 files, 2 rounds")
    p.add_argument(
        "--json",
        dest="json_path",
        type=Path,
        default=None,
        help="results file (default benchmarks/results/<timestamp>.json)",
    )
    p.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="PNG plot (default next to the JSON file; needs matplotlib)",
    )
    p.add_argument("--no-plot", action="store_true", help="do not draw the PNG plot")
    p.add_argument(
        "--replot",
        type=Path,
        default=None,
        metavar="JSON",
        help="only draw the plot of an earlier results file (to --plot, or beside it)",
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=BENCH_DIR / ".cache",
        help="where built repositories are kept (default benchmarks/.cache)",
    )
    p.add_argument(
        "--cli",
        default=None,
        help="how to run git-atomic (default: python -m git_atomic from this checkout's"
        " src/, else the git-atomic console script)",
    )
    p.add_argument("--no-git-atomic", action="store_true", help="measure the git baselines only")
    p.add_argument(
        "--watchman",
        action="store_true",
        help="also checkpoint and rollback where Watchman watches the worktree (rows skipped,"
        " with a note, where Watchman is not installed)",
    )
    p.add_argument(
        "--no-site",
        action="store_true",
        help="run the copy of src/ with python -S (no site-packages start-up: what a machine"
        " without .pth start-up code measures)",
    )
    p.add_argument(
        "--only",
        metavar="WORD[,WORD...]",
        default="",
        help="measure only the cells whose names hold one of these words (turn, hook, warm,"
        " stash, ...), beside the floor and the checkpoints every ratio of theirs divides by",
    )
    p.add_argument("--timeout", type=float, default=900.0, help="per command, seconds")
    p.add_argument(
        "--trace2",
        metavar="DIR",
        type=Path,
        help="write the GIT_TRACE2_EVENT trace of each timed git-atomic command (its git"
        " processes only) to a file of its own in DIR (a post-mortem: tracing costs time)",
    )
    p.add_argument("--keep-work", action="store_true", help="keep the working copies afterwards")
    args = p.parse_args(argv)
    sizes: list[int] = []
    for chunk in args.files or []:
        for part in chunk.split(","):
            if part.strip():
                try:
                    sizes.append(parse_size(part))
                except (ValueError, argparse.ArgumentTypeError) as exc:
                    p.error(str(exc))
    if not sizes:
        sizes = [1_000] if args.quick else list(DEFAULT_SIZES)
    args.sizes = sorted(set(sizes))
    args.only = tuple(word.strip() for word in args.only.split(",") if word.strip())
    if args.rounds is None:
        args.rounds = 2 if args.quick else 5
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    return args


def _signals_as_an_agent_leaves_them() -> None:
    """A benchmark started in a script's background (`nohup run.py &`) inherits SIGINT and
    SIGTERM ignored, and so would every command it times: the warm helper serves no command
    started so (core/helper.py), and every warm cell waited 60 s for one in vain. An agent's
    commands are not started so: the timed ones get the default handling back (a handler of
    ours is reset to it in each child at exec)."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    _signals_as_an_agent_leaves_them()
    if args.replot is not None:
        try:
            results = json.loads(args.replot.read_text())["results"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"--replot {args.replot}: {exc}", file=sys.stderr)
            return 2
        plot_path = args.plot or args.replot.with_suffix(".png")
        problem = plot(results, plot_path)
        print(f"plot: {problem}" if problem else f"plot: {plot_path}")
        return 0
    args.project = source_version()
    cache: Path = args.cache_dir.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=cache))
    home = run_dir / "home"
    home.mkdir()
    env = hermetic_env(home)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    json_path: Path = args.json_path or (BENCH_DIR / "results" / f"{stamp}.json")
    with_ga = not args.no_git_atomic
    cli: Cli | None = None
    cli_error: str | None = "skipped (--no-git-atomic)"
    if with_ga:
        snapshot = None if args.cli else snapshot_source(run_dir / "src")
        cli, cli_error = detect_cli(args.cli, env, snapshot, no_site=args.no_site)
        log(f"git-atomic: {cli.description if cli else cli_error}")
    benches: list[SizeBench] = []
    try:
        for files in args.sizes:
            plan = make_plan(files)
            info = load_or_build(cache, plan, env, args.timeout)
            if info.built_now:
                log(f"  built in {info.build_seconds} s")
            work = run_dir / f"work-{files}"
            copy_tree(Path(info.path), work)
            bench = SizeBench(plan, info, work, env, run_dir, cli, cli_error, args.timeout)
            bench.watchman = args.watchman
            bench.only = args.only
            if args.trace2 is not None:
                args.trace2.mkdir(parents=True, exist_ok=True)
                bench.trace2 = args.trace2.resolve()
            try:
                bench.setup()
            except HarnessError as exc:
                bench.broken = str(exc)
                log(f"{files} files: setup failed: {exc}")
            benches.append(bench)
        for rnd in range(args.rounds):
            for bench in benches:
                if bench.broken:
                    continue
                cells = bench.cells(with_ga)
                shift = rnd % len(cells)
                for name, rows, fn in cells[shift:] + cells[:shift]:
                    if name in bench.skipped:
                        continue
                    run_cell(bench, name, rows, fn)
                    if bench.broken:
                        break
                log(
                    f"round {rnd + 1}/{args.rounds}, {fmt_int(bench.plan.files)} files: "
                    f"git status {fmt_time(median(bench.series[('status', '-')].seconds))}"
                )
        if with_ga:
            for bench in benches:
                if bench.broken:
                    continue
                try:
                    bench.measure_gc()
                except HarnessError as exc:
                    bench.gc = {"error": str(exc)}
    finally:
        for bench in benches:
            unwatch(bench)
        text = report(benches, with_ga)
        print(
            f"git-atomic benchmark — {len(benches)} size(s), {args.rounds} round(s), medians;"
            f" git-atomic: {cli.description if cli else cli_error}\n"
        )
        print(text)
        data = results_json(benches, args, cli, cli_error)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(data, indent=1) + "\n")
        print(f"\nJSON results: {json_path}")
        if not args.no_plot:
            plot_path = args.plot or json_path.with_suffix(".png")
            problem = plot(data["results"], plot_path)
            print(f"plot: {problem}" if problem else f"plot: {plot_path}")
        if not args.keep_work:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            print(f"working copies kept in {run_dir}")
    return 0


def run_cell(
    bench: SizeBench, name: str, rows: Sequence[tuple[str, str]], fn: Callable[[], None]
) -> None:
    try:
        # Every cell starts from S0 with a fresh stat cache, as a user's index usually is.
        bench.git.ok("update-index", "-q", "--refresh")
        fn()
    except CellError as exc:
        s = bench.series[(exc.op, exc.change)]
        s.error = s.error or exc.message
        log(f"  {fmt_int(bench.plan.files)} files, {name}: error: {shorten(exc.message, 200)}")
        label = OPS_BY_KEY[exc.op].label
        for key in rows:
            other = bench.series[key]
            if not other.seconds and not other.error:
                other.error = f"not measured: {label!r} failed before it"
        if all(bench.series[key].error for key in rows):
            bench.skipped.add(name)  # nothing left to measure in this cell
        if OPS_BY_KEY[exc.op].approach == "git-atomic":
            bench.recover_ga()
        bench.state_ok = False
    except HarnessError as exc:
        # Our own restore failed: everything of this cell is suspect.
        for key in rows:
            s = bench.series[key]
            s.error = s.error or f"harness: {exc}"
        bench.skipped.add(name)
        bench.state_ok = False
    except Exception as exc:  # never crash: report the cell and go on
        for key in rows:
            s = bench.series[key]
            s.error = s.error or f"{type(exc).__name__}: {exc}"
        bench.skipped.add(name)
        bench.state_ok = False
    try:
        bench.ensure_s0()
    except HarnessError as exc:
        bench.broken = str(exc)
        log(f"  {fmt_int(bench.plan.files)} files abandoned: {exc}")


if __name__ == "__main__":
    raise SystemExit(main())
