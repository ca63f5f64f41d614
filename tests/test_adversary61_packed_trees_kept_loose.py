"""A tree edit on the way of a change reads the folders there from loose trees without a process,
and asks git's `ls-tree` where one of them is packed (gittrees.py). In a repository whose
history is packed (every clone, the benchmark's), the scan's tree shares its untouched folders
with the packed commit: the rescue's capture of every `abort` after the same small change asked
git again, round after round (issue 17, stop 61). The trees git lists are now written loose as
they are, once the top's id worked out from them is the tree's own: the next edit on the same
way reads them itself.

Oracles: the process count (GIT_TRACE2_EVENT), `git fsck` of the repository, each loose tree
written being git's own (`git cat-file` of its id gives the same bytes as the pack's), and each
rollback exact on the disk.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from testing.gitrepo import GitRepo


def _ls_trees(trace: Path) -> list[list[str]]:
    """The arguments of each `ls-tree` without `-r` (the tree edit's) a trace saw start."""
    found = []
    for event in map(json.loads, trace.read_text().splitlines()):
        if event["event"] == "start":
            args = [a for a in event["argv"][1:] if not a.startswith("-c") and "=" not in a]
            if "ls-tree" in args and "-r" not in args:
                found.append(args)
    return found


def _files(root: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not (folder == str(root) and d == ".git")]
        for name in names:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = open(path, "rb").read()  # noqa: SIM115
        for name in dirs:
            found[os.path.relpath(os.path.join(folder, name), root) + "/"] = b""
    return found


def _change(repo: GitRepo, round: int) -> None:
    """Files edited deep in the packed folders, one deleted, one added in a new folder."""
    with open(repo.path / "src/a/b/c/f0.txt", "ab") as fh:
        fh.write(f"edited {round}\n".encode())
    with open(repo.path / "src/a/x.txt", "ab") as fh:
        fh.write(b"edited\n")
    os.remove(repo.path / "src/d/g1.txt")
    repo.write("src/a/b/new/made.txt", b"made\n")


def test_a_rollback_after_the_same_change_reads_the_packed_folders_once(
    repo: GitRepo, tmp_path: Path
) -> None:
    for i in range(3):
        repo.write(f"src/a/b/c/f{i}.txt", f"c {i}\n".encode())
        repo.write(f"src/d/g{i}.txt", f"d {i}\n".encode())
    repo.write("src/a/x.txt", b"x\n")
    repo.write("src/a/b/y.txt", b"y\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "tree")
    repo.git("repack", "-adq")
    repo.git("prune-packed")
    repo.write("src/d/g0.txt", b"yours, unstaged\n")
    before = _files(repo.path)
    trace = tmp_path / "trace.json"
    env = {"GIT_TRACE2_EVENT": str(trace), "GIT_ATOMIC_HELPER": "0"}
    asked = []
    for round in range(3):
        repo.atomic_json("begin", f"r{round}", "--history", "shadow")
        _change(repo, 0)  # the same change each round: the same folders of the same trees
        trace.unlink(missing_ok=True)
        repo.atomic_json("abort", env=env)
        asked.append(len(_ls_trees(trace)))
        assert _files(repo.path) == before  # each rollback exact
    assert asked[0] >= 1 and asked[1:] == [0, 0], asked
    fsck = subprocess.run(
        ["git", "fsck", "--no-dangling", "--strict"],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        check=False,
    )
    assert fsck.returncode == 0, fsck.stderr.decode()
    # Every loose tree is git's own: the pack holds the same object under the same id.
    loose = sorted(
        f"{d.name}{o.name}"
        for d in (repo.path / ".git" / "objects").iterdir()
        if len(d.name) == 2
        for o in d.iterdir()
    )
    packed = subprocess.run(
        ["git", "show-index"],
        input=next((repo.path / ".git" / "objects" / "pack").glob("*.idx")).read_bytes(),
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        check=True,
    ).stdout.decode()
    in_pack = {line.split()[1] for line in packed.splitlines()}
    trees_in_both = [oid for oid in loose if oid in in_pack]
    assert trees_in_both, "no packed tree was written loose"
    for oid in trees_in_both:
        assert repo.git("cat-file", "-t", oid).strip() == "tree"
