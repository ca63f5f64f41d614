"""Checkpoint cost on repositories with the features that used to switch the fast path off.

    python benchmarks/variants.py --files 1000,10000 --rounds 5 [--src DIR ...]

For each size and variant (plain; `* text eol=lf` in .gitattributes; one intent-to-add entry and
20 skip-worktree entries) it builds a repository of that many small text files with a few
uncommitted edits and untracked files, then measures, interleaved, the median of `git status`
and of `git atomic begin` (a checkpoint; the `abort` after it is not timed) for each `--src`
(a folder holding git_atomic: the default is this checkout's src/). Ratios are to `git status`
of the same round, so a loaded machine shows in both. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = ("plain", "attributes", "flagged")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def build(root: Path, files: int, variant: str) -> Path:
    repo = root / f"{variant}-{files}"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "b")
    git(repo, "config", "user.email", "b@example.com")
    for i in range(files):
        path = repo / f"d{i % 97}" / f"e{i % 7}" / f"f{i}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"line %d\n" % i * (1 + i % 20))
    if variant == "attributes":
        (repo / ".gitattributes").write_bytes(b"* text eol=lf\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "files")
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
    return repo


def timed(argv: list[str], repo: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=repo, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", default="1000,10000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--src", action="append", default=None)
    args = parser.parse_args()
    sources = args.src or [str(here / "src")]
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        for files in (int(n) for n in args.files.split(",")):
            for variant in VARIANTS:
                repo = build(Path(tmp), files, variant)
                status: list[float] = []
                ga: dict[str, list[float]] = {s: [] for s in sources}
                for _ in range(args.rounds + 1):  # the first round warms the scan state
                    status.append(timed(["git", "status", "--porcelain"], repo, dict(os.environ)))
                    for src in sources:
                        env = {**os.environ, "PYTHONPATH": src}
                        cli = [sys.executable, "-m", "git_atomic"]
                        ga[src].append(
                            timed([*cli, "begin", "b", "--history", "shadow"], repo, env)
                        )
                        subprocess.run([*cli, "abort"], cwd=repo, env=env, capture_output=True)
                floor = statistics.median(status[1:])
                cells = [f"status {floor * 1000:.0f} ms"]
                for src in sources:
                    m = statistics.median(ga[src][1:])
                    cells.append(f"{src}: {m * 1000:.0f} ms = {m / floor:.1f}x")
                print(f"{files:>6} {variant:<10} " + " | ".join(cells), flush=True)
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
