"""The warm helper's child of a rollback imports nothing the helper could have imported once
(issue 17, stop 61). Each child is a fresh fork of the helper's state: a module its command
imports that the helper has not is read, unmarshalled and executed again by every child. The
benchmark's small change (files edited, deleted and added in new nested folders) took a rollback
through what tests/test_helper.py's sequence never reaches: the folders the state moved
(foldermoves.py and what it imports) and the deletions it decides on by birth time (ctypes,
changedtimes.py): 3 ms of each warm `abort` at 10,000 files.

The oracle is the interpreter's own module table in a process that preloads as the helper does
(cli/helperd.py's PRELOAD, then `warm`) and runs the commands' `main` one after the other, with
the worktree changed between them as an agent changes it; every rollback checked on the disk.
"""

from __future__ import annotations

import json
import subprocess
import sys

from testing.gitrepo import GitRepo

SCRIPT = """
import importlib, json, os, shutil, sys
from git_atomic.cli.helperd import PRELOAD, warm
for name in PRELOAD:
    importlib.import_module(name)
warm()
from git_atomic.cli.main import main
before = set(sys.modules)

def change(round):
    # The benchmark's small change: edits, a tracked and an untracked file deleted, files
    # added in new nested folders and beside tracked ones.
    for i in range(3):
        with open(f"src/a/f{i}.txt", "ab") as fh:
            fh.write(b"edited by the operation\\n")
    os.remove("src/b/g0.txt")
    os.remove("notes.tmp")
    os.makedirs(f"newpkg/gen/g{round}", exist_ok=True)
    for i in range(2):
        with open(f"newpkg/gen/g{round}/new_{i}.txt", "wb") as fh:
            fh.write(b"added\\n")
    with open("src/a/added.txt", "wb") as fh:
        fh.write(b"added beside\\n")

for round in range(2):
    for args in (["begin", f"w{round}", "--history", "shadow", "--json"], ["abort", "--json"]):
        if args[0] == "abort":
            change(round)
        code = main(args)
        assert code == 0, (args, code)
sys.__stdout__.write("\\n" + json.dumps(sorted(set(sys.modules) - before)) + "\\n")
"""


def _tree(repo: GitRepo) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for path in sorted(repo.path.rglob("*")):
        rel = path.relative_to(repo.path).as_posix()
        if rel == ".git" or rel.startswith(".git/"):
            continue
        found[rel] = b"<folder>" if path.is_dir() else path.read_bytes()
    return found


def test_a_warm_rollback_of_edits_deletions_and_new_folders_imports_nothing_new(
    repo: GitRepo,
) -> None:
    for folder in ("a", "b"):
        for i in range(3):
            repo.write(f"src/{folder}/f{i}.txt", f"{folder} {i}\n".encode())
    repo.write("src/b/g0.txt", b"to be deleted\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "tree")
    repo.write("notes.tmp", b"untracked, deleted by the operation\n")
    repo.write("src/a/f1.txt", b"a 1, yours, unstaged\n")
    before = _tree(repo)
    proc = subprocess.run(
        [sys.executable, "-S", "-c", SCRIPT],
        cwd=repo.path,
        env={**repo.env, "GIT_ATOMIC_HELPER": "0"},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout.decode().splitlines()[-1]) == []
    assert _tree(repo) == before  # each rollback took back exactly what the change did
