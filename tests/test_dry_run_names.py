"""Each command with `--dry-run` (`rollback`, `rollback --op`, `undo`, `emergency`) names every
path the real command then changes on the disk, and how, and no other: the dry run's `--json`
`changes` against the difference of the worktree before and after the real command, read from
the disk (kind, permission bits, bytes, a link's target; a folder's bits), over operations
drawn from a family of changes: bytes, deletions, new files, permission bits opened on files
and folders, a file made a link, a rename, a folder of clean files removed, `git stash --all`.

It had missed the bits a rollback closes (a clause, not `mode` lines), the files a stash
write-back restores, and what an `undo` takes back into a stash made again."""

from __future__ import annotations

import os
import random
import stat
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo
from testing.oracle import walk_exact

Disk = dict[str, tuple[str, int, bytes]]

# One shell step each: what an operation may do (drawn several at a time).
STEPS = [
    "echo changed >> src/a.txt",
    "rm -f src/b.txt",
    "echo new > made.txt",
    "chmod 644 key.pem",
    "chmod 644 notes.txt",
    "chmod 755 private",
    "rm -f docs/c.md && ln -s ../src/a.txt docs/c.md",
    "mv src/a.txt src/renamed.txt",
    "rm -rf private",
    "chmod +x docs/d.md",
    "git stash push --all -q",
    "echo more >> notes.txt",
]


def _disk(root: Path) -> Disk:
    """Every file, link and folder of the worktree but `.git`: kind, bits, bytes or target."""
    found: Disk = {}
    for folder, dirs, files in os.walk(root):
        if folder == str(root):
            dirs[:] = [d for d in dirs if d != ".git"]
        for name in [*files, *dirs]:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", 0, os.readlink(path).encode())
            elif stat.S_ISDIR(st.st_mode):
                found[rel + "/"] = ("folder", stat.S_IMODE(st.st_mode), b"")
            else:
                found[rel] = ("file", stat.S_IMODE(st.st_mode), Path(path).read_bytes())
    return found


def _differing(a: Disk, b: Disk) -> set[str]:
    """The paths that differ; a folder only where both have it and its bits differ (one made
    or removed goes with the files in it)."""
    out = set()
    for path in a.keys() | b.keys():
        if a.get(path) == b.get(path):
            continue
        if path.endswith("/") and (path not in a or path not in b):
            continue
        out.add(path.rstrip("/") if path.endswith("/") else path)
    return out


def _setup(repo: GitRepo) -> None:
    repo.write(".gitignore", b".env\nbuild/\n")
    repo.write("src/a.txt", b"a\n")
    repo.write("src/b.txt", b"b\n")
    repo.write("docs/c.md", b"c\n")
    repo.write("docs/d.md", b"d\n")
    repo.write("private/token.txt", b"clean, tracked\n")
    repo.write("key.pem", b"KEY\n", mode=0o600)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    os.chmod(repo.path / "private", 0o700)
    os.chmod(repo.path / "key.pem", 0o600)
    repo.write("notes.txt", b"untracked\n", mode=0o600)
    repo.write(".env", b"TOKEN=1\n", mode=0o600)
    repo.write("build/out.o", b"\x7fELF\n")
    repo.atomic("run", "--no-gates", "--", "true", check=0)  # seen by a scan before


def _named(repo: GitRepo, *args: str) -> set[str]:
    """What the dry run names; it leaves the repository as it was, to the byte and the mtime
    (test_dry_run_writes_nothing.py)."""
    before = walk_exact(repo.path)
    changes = repo.atomic_json(*args, "--dry-run")["changes"]
    after = walk_exact(repo.path)
    changed = [p for p in before.keys() | after.keys() if before.get(p) != after.get(p)]
    # The warm helper a command run as a new interpreter started (`begin`, cli/helperd.py)
    # writes its socket and pid file on its own time, maybe while the dry run runs.
    assert [p for p in changed if not p.startswith(b".git/atomic/helper")] == [], args
    return {c["path"].rstrip("/") for c in changes}


def _check(repo: GitRepo, *args: str) -> None:
    named = _named(repo, *args)
    before = _disk(repo.path)
    repo.atomic(*args, check=None)
    done = _differing(before, _disk(repo.path))
    assert named == done, f"{' '.join(args)}: named only {named - done}, not named {done - named}"


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize(
    "command",
    ["rollback", "rollback --op", "undo", "emergency", "rollback --to --whole", "rollback --to"],
)
def test_a_dry_run_names_what_the_command_changes(repo: GitRepo, command: str, seed: int) -> None:
    _setup(repo)
    drawn = random.Random(seed).sample(STEPS, 4)
    script = "; ".join(drawn) + "; true"
    if command == "emergency":
        repo.atomic("begin", "work", check=0)
        os.system(f"cd '{repo.path}' && {{ {script}; }} >/dev/null 2>&1")
        _check(repo, "emergency")
        return
    pre = _disk(repo.path)
    repo.atomic("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script, check=0)
    op = repo.atomic_json("log")["operations"][0]
    op_id = op["op_id"]
    if command == "rollback --to --whole":
        repo.write("later.txt", b"yours, since\n")
        _check(repo, "rollback", "--to", op["checkpoints"]["pre_op"][:12], "--whole")
    elif command == "rollback --to":  # those paths alone
        paths = ["key.pem", "notes.txt", "src/a.txt", "private/token.txt"]
        _check(repo, "rollback", "--to", op["checkpoints"]["pre_op"][:12], *paths)
        # As they were, bits too (a key whose bytes were as they were kept its 0644).
        after = _disk(repo.path)
        assert {p: after.get(p) for p in paths} == {p: pre.get(p) for p in paths}, drawn
    elif command == "rollback":
        _check(repo, "rollback")
    elif command == "rollback --op":
        repo.write("later.txt", b"yours, since\n")
        _check(repo, "rollback", "--op", op_id)
    else:
        repo.atomic("rollback", check=None)
        _check(repo, "undo")


@pytest.mark.parametrize("paths", [["--whole"], ["key.pem"]], ids=["whole", "the path alone"])
def test_bits_alone_are_closed_and_said_by_rollback_to(repo: GitRepo, paths: list[str]) -> None:
    """Where the key's 0644 was all that differed from the checkpoint, `rollback --to` said
    "already at ...; nothing to do" and left it open. It closes it, says so, and `undo` opens
    it again."""
    _setup(repo)
    repo.atomic("run", "--no-gates", "--history", "shadow", "--", "chmod", "644", "key.pem")
    pre = repo.atomic_json("log")["operations"][0]["checkpoints"]["pre_op"][:12]
    assert _named(repo, "rollback", "--to", pre, *paths) == {"key.pem"}
    res = repo.atomic("rollback", "--to", pre, *paths, check=0)
    assert "closed again: key.pem (600)" in res.stderr, res.stderr
    assert stat.S_IMODE(os.lstat(repo.path / "key.pem").st_mode) == 0o600
    repo.atomic("undo", check=0)
    assert stat.S_IMODE(os.lstat(repo.path / "key.pem").st_mode) == 0o644
