"""Checkpoint cost on repositories with the features that used to switch the fast path off.

    python benchmarks/variants.py --files 1000,10000 --rounds 5 [--src DIR ...] [--only V,V]
    python benchmarks/variants.py --processes --files 10000 [--src DIR ...] [--only V,V]

For each size and variant it builds a repository of that many small text files with a few
uncommitted edits and untracked files, then measures, interleaved, the median of `git status`
and of `git atomic begin` (a checkpoint; the `abort` after it is not timed) for each `--src`
(a folder holding git_atomic: the default is this checkout's src/), and how much `.git/objects`
grew with that checkpoint (a capture adds the files that changed; LFS content must not be
added where the LFS store holds it). Ratios are to `git status` of the same round, so a loaded
machine shows in both. Standard library only.

`--processes` counts instead of timing: the git processes the third `begin` starts (after two
`begin` + `abort`, the steady state of an agent's session; `GIT_TRACE2_EVENT` start events,
`GIT_ATOMIC_HELPER=0`), a number a loaded machine does not blur.

Variants (issue 17, target 6; `--only` picks some):
- plain: nothing special;
- attributes: `* text eol=lf` in .gitattributes;
- flagged: one intent-to-add entry and 20 skip-worktree entries;
- sparse: a cone-mode sparse checkout that leaves a tenth of the folders out (skip-worktree);
- ita-assume: three intent-to-add entries and 50 assume-unchanged entries;
- filter: `* text=auto eol=lf` and `*.bin filter=lfs ...` with git-lfs not installed;
- lfs: a synthetic Git LFS setup, no git-lfs needed: `*.bin filter=lfs`, the commit holds
  pointer files, the disk the content (three 2 MB files), `.git/lfs/objects/` the content
  under its SHA-256, as a clone with git-lfs leaves it;
- project: a synthetic tree with the attributes and flags of a real project (babel-like
  `* text eol=lf` plus binary and LFS rules, nested .gitignore files, a symlink, an executable,
  intent-to-add, assume-unchanged and skip-worktree entries);
- fresh-clone: the first checkpoint in a clone of the plain repository (no scan state yet);
  each round clones anew, and `git status` is timed on that clone right after;
- watchman: plain, with Watchman watching the worktree (skipped, with a note, where it is
  not installed).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = (
    "plain",
    "attributes",
    "flagged",
    "sparse",
    "ita-assume",
    "filter",
    "lfs",
    "project",
    "fresh-clone",
    "watchman",
)
LFS_FILES = 3
LFS_BYTES = 2 << 20


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _lfs_pointer(data: bytes) -> tuple[str, bytes]:
    oid = hashlib.sha256(data).hexdigest()
    return oid, (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(data)}\n"
    ).encode()


def build(root: Path, files: int, variant: str) -> Path:
    repo = root / f"{variant}-{files}"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "b")
    git(repo, "config", "user.email", "b@example.com")
    git(repo, "config", "gc.auto", "0")  # no packing in the background while we measure
    for i in range(files):
        path = repo / f"d{i % 97}" / f"e{i % 7}" / f"f{i}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"line %d\n" % i * (1 + i % 20))
    lfs: list[tuple[Path, bytes, str]] = []
    if variant == "attributes":
        (repo / ".gitattributes").write_bytes(b"* text eol=lf\n")
    if variant in ("filter", "project"):
        (repo / ".gitattributes").write_bytes(
            b"* text=auto eol=lf\n*.png binary\n*.bin filter=lfs diff=lfs merge=lfs -text\n"
        )
        (repo / "assets").mkdir()
        (repo / "assets" / "logo.png").write_bytes(os.urandom(4096))
    if variant in ("lfs", "project"):
        if variant == "lfs":
            (repo / ".gitattributes").write_bytes(b"*.bin filter=lfs diff=lfs merge=lfs -text\n")
        (repo / "assets").mkdir(exist_ok=True)
        for n in range(LFS_FILES):
            data = os.urandom(LFS_BYTES)
            oid, pointer = _lfs_pointer(data)
            path = repo / "assets" / f"model{n}.bin"
            path.write_bytes(pointer)  # committed as git-lfs's clean filter would
            lfs.append((path, data, oid))
    if variant == "project":
        (repo / "d1" / ".gitignore").write_bytes(b"*.cache\n")
        (repo / "d2" / "e0" / ".gitignore").write_bytes(b"build/\n")
        (repo / "tool.sh").write_bytes(b"#!/bin/sh\necho hi\n")
        (repo / "tool.sh").chmod(0o755)
        os.symlink("d0/e0/f0.txt", repo / "link")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "files")
    for path, data, oid in lfs:  # as a clone with git-lfs leaves it: content on disk and in
        path.write_bytes(data)  # the store, the index's stat data refreshed by the smudge
        store = repo / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_bytes(data)
    if lfs:
        # git-lfs's clean filter, as far as a pointer goes (git-lfs itself need not be
        # installed): git status then finds the files clean, as in a clone made with it.
        clean = root / "lfs-clean.py"
        clean.write_text(
            "import hashlib, sys\n"
            "data = sys.stdin.buffer.read()\n"
            "sys.stdout.write('version https://git-lfs.github.com/spec/v1\\n'"
            " f'oid sha256:{hashlib.sha256(data).hexdigest()}\\nsize {len(data)}\\n')\n"
        )
        git(repo, "config", "filter.lfs.clean", f"{sys.executable} {clean}")
        git(repo, "config", "filter.lfs.required", "true")
        # As git-lfs's checkout leaves the index: the entries' stat data are the content's.
        git(repo, "add", "--", *[str(path.relative_to(repo)) for path, _, _ in lfs])
    for i in range(5):
        with open(repo / f"d{i}" / f"e{i % 7}" / f"f{i}.txt", "ab") as fh:
            fh.write(b"edited\n")
    for i in range(3):
        (repo / f"new{i}.txt").write_bytes(b"new\n")
    if variant == "flagged":
        git(repo, "add", "-N", "new0.txt")
        git(
            repo,
            "update-index",
            "--skip-worktree",
            *[f"d9/e{i % 7}/f{i}.txt" for i in range(9, min(files, 9 + 97 * 20), 97)],
        )
    if variant == "sparse":
        keep = [f"d{k}" for k in range(97) if k % 10]
        git(repo, "sparse-checkout", "set", "--cone", *keep)
    if variant in ("ita-assume", "project"):
        git(repo, "add", "-N", "new0.txt", "new1.txt", "new2.txt")
        git(
            repo,
            "update-index",
            "--assume-unchanged",
            *[f"d8/e{i % 7}/f{i}.txt" for i in range(8, min(files, 8 + 97 * 50), 97)],
        )
    if variant == "project":
        git(
            repo,
            "update-index",
            "--skip-worktree",
            *[f"d9/e{i % 7}/f{i}.txt" for i in range(9, min(files, 9 + 97 * 20), 97)],
        )
    return repo


def timed(argv: list[str], repo: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=repo, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def objects_size(repo: Path) -> int:
    total = 0
    for dirpath, _dirs, names in os.walk(repo / ".git" / "objects"):
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def fresh_clone(tmp: Path, origin: Path, n: int) -> Path:
    clone = tmp / f"clone-{n}"
    subprocess.run(
        ["git", "clone", "-q", "--no-hardlinks", str(origin), str(clone)],
        check=True,
        capture_output=True,
    )
    return clone


def measure(
    root: Path, files: int, variant: str, sources: list[str], rounds: int
) -> tuple[str, list[str]]:
    """One printed line for this size and variant."""
    base_env = {**os.environ, "GIT_ATOMIC_WATCHMAN": "0"}
    if variant == "watchman":
        if shutil.which("watchman") is None:
            return "skipped: Watchman is not installed", []
        base_env["GIT_ATOMIC_WATCHMAN"] = "1"
    repo = build(root, files, "plain" if variant in ("fresh-clone", "watchman") else variant)
    if variant == "watchman":
        subprocess.run(["watchman", "watch", str(repo)], check=True, capture_output=True)
    status: list[float] = []
    ga: dict[str, list[float]] = {s: [] for s in sources}
    grown: dict[str, list[int]] = {s: [] for s in sources}
    first: dict[str, int] = {}  # objects the first checkpoint added (LFS content, say)
    notes: list[str] = []
    try:
        for n in range(rounds + 1):  # the first round warms the scan state (not fresh-clone's)
            where = repo
            if variant == "fresh-clone":
                where = fresh_clone(root, repo, n)
            for src in sources:
                env = {**base_env, "PYTHONPATH": src}
                cli = [sys.executable, "-m", "git_atomic"]
                if variant == "fresh-clone" and src != sources[0]:
                    shutil.rmtree(where)
                    where = fresh_clone(root, repo, n)
                before = objects_size(where)
                took = timed([*cli, "begin", "b", "--history", "shadow"], where, env)
                added = objects_size(where) - before
                first.setdefault(src, added)
                if variant == "fresh-clone" or n > 0:
                    ga[src].append(took)
                    grown[src].append(added)
                subprocess.run([*cli, "abort"], cwd=where, env=env, capture_output=True)
            took = timed(["git", "status", "--porcelain"], where, dict(os.environ))
            if variant == "fresh-clone" or n > 0:
                status.append(took)
            if variant == "fresh-clone":
                shutil.rmtree(where)
    finally:
        if variant == "watchman":
            subprocess.run(["watchman", "watch-del", str(repo)], capture_output=True)
        shutil.rmtree(repo, ignore_errors=True)
    floor = statistics.median(status)
    cells = [f"status {floor * 1000:.0f} ms"]
    for src in sources:
        m = statistics.median(ga[src])
        g = statistics.median(grown[src])
        cells.append(
            f"{src}: {m * 1000:.0f} ms = {m / floor:.2f}x, objects +{g / 1024:.0f} KiB"
            f" (first checkpoint +{first[src] / 1024:.0f} KiB)"
        )
    return " | ".join(cells), notes


def processes(root: Path, files: int, variant: str, sources: list[str]) -> str:
    """The git commands the third `begin` runs on this variant, for each source."""
    if variant in ("fresh-clone", "watchman"):
        return "skipped: counted on plain"
    repo = build(root, files, variant)
    cells = []
    try:
        for src in sources:
            env = {**os.environ, "GIT_ATOMIC_WATCHMAN": "0", "GIT_ATOMIC_HELPER": "0"}
            env["PYTHONPATH"] = src
            cli = [sys.executable, "-m", "git_atomic"]
            for _ in range(2):
                timed([*cli, "begin", "b", "--history", "shadow"], repo, env)
                subprocess.run([*cli, "abort"], cwd=repo, env=env, capture_output=True)
            trace = root / "trace.json"
            trace.unlink(missing_ok=True)
            traced = {**env, "GIT_TRACE2_EVENT": str(trace)}
            timed([*cli, "begin", "b", "--history", "shadow"], repo, traced)
            subprocess.run([*cli, "abort"], cwd=repo, env=env, capture_output=True)
            commands = [
                next(a for a in e["argv"][1:] if not a.startswith("-") and "=" not in a)
                for e in map(json.loads, trace.read_text().splitlines())
                if e.get("event") == "start"
            ]
            cells.append(f"{src}: {len(commands)} ({' '.join(commands)})")
            if os.environ.get("VARIANTS_ARGV"):
                print(trace.read_text())
    finally:
        shutil.rmtree(repo, ignore_errors=True)
    return " | ".join(cells)


def main() -> int:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", default="1000,10000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--src", action="append", default=None)
    parser.add_argument("--only", default=",".join(VARIANTS), help="comma list of variants")
    parser.add_argument("--processes", action="store_true", help="count git processes instead")
    args = parser.parse_args()
    sources = args.src or [str(here / "src")]
    chosen = [v for v in args.only.split(",") if v]
    unknown = set(chosen) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for files in (int(n) for n in args.files.split(",")):
            for variant in chosen:
                if args.processes:
                    line = processes(Path(tmp), files, variant, sources)
                else:
                    line, _ = measure(Path(tmp), files, variant, sources, args.rounds)
                print(f"{files:>6} {variant:<11} {line}", flush=True)
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
