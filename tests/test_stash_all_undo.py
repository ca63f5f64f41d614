"""`git stash push --all` (or `-u` of a file over `max_new_file_size`) as the operation, its
rollback writing the files no checkpoint holds back from the stash it drops, then `undo` of
that rollback: the stash came back on the list but its files stayed on the disk, and `git
stash pop` refused ("already exists, no checkout"), though nothing was lost. The undo takes
back what the rollback did: the files it wrote back that are still as the stash holds them
go into the stash made again (one you changed since stays), and `git stash pop` works. Each
dry run names every file the real command writes or removes, compared with the disk."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


def _disk(root: Path) -> dict[str, tuple[str, int, bytes]]:
    """Every file and link of the worktree (not .git): kind, bits, bytes or link target."""
    found: dict[str, tuple[str, int, bytes]] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not (folder == str(root) and d == ".git")]
        for name in [*files, *(d for d in dirs if os.path.islink(os.path.join(folder, d)))]:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", 0, os.readlink(path).encode())
            else:
                found[rel] = ("file", stat.S_IMODE(st.st_mode), Path(path).read_bytes())
    return found


def _differing(
    a: dict[str, tuple[str, int, bytes]], b: dict[str, tuple[str, int, bytes]]
) -> set[str]:
    return {p for p in a.keys() | b.keys() if a.get(p) != b.get(p)}


def _named(repo: GitRepo, *args: str) -> set[str]:
    return {c["path"] for c in repo.atomic_json(*args, "--dry-run")["changes"]}


@pytest.mark.parametrize("flag", ["--all", "-u"])
def test_stash_pop_works_after_undo_of_the_rollback_of_a_stash(repo: GitRepo, flag: str) -> None:
    if flag == "-u":
        repo.write(".git-atomic.toml", b"max_new_file_size = 4096\n")
        with open(repo.path / ".git" / "info" / "exclude", "ab") as fh:
            fh.write(b".git-atomic.toml\n")
        repo.write("dump.sql", bytes(range(256)) * 40, mode=0o640)
    else:
        repo.write(".gitignore", b".env\nbuild/\n")
        repo.git("add", ".gitignore")
        repo.git("commit", "-qm", "ignore")
        repo.write(".env", b"TOKEN=secret\n", mode=0o600)
        repo.write("build/lib/out.o", b"\x7fELF\0object\n")
        os.symlink("lib/out.o", repo.path / "build" / "latest")
    repo.write("draft.txt", b"untracked\n")
    before = _disk(repo.path)
    repo.atomic(
        "run", "--no-gates", "--history", "shadow", "--", "git", "stash", "push", flag, "-q"
    )
    stashed = _disk(repo.path)
    named = _named(repo, "rollback")
    repo.atomic("rollback", check=0)
    back = _disk(repo.path)
    assert named == _differing(stashed, back), (named, _differing(stashed, back))
    assert repo.git("stash", "list") == ""
    named = _named(repo, "undo")
    res = repo.atomic("undo", check=0)
    assert _disk(repo.path) == stashed, _differing(stashed, _disk(repo.path))
    assert named == _differing(back, stashed), (named, _differing(back, stashed))
    assert "taken away into it again" in res.stderr, res.stderr
    popped = subprocess.run(
        ["git", "stash", "pop"], cwd=repo.path, capture_output=True, env=repo.env, check=False
    )
    assert popped.returncode == 0, popped.stderr
    after = _disk(repo.path)
    for name in before:  # as git writes them: bits by the umask where no tree kept them
        assert after[name][::2] == before[name][::2], name
    assert repo.git("stash", "list") == ""


def test_a_file_you_changed_since_stays_at_the_undo(repo: GitRepo) -> None:
    """A file the rollback wrote back from the stash and you changed since is yours: the undo
    leaves it, and its dry run does not name it."""
    repo.write(".gitignore", b".env\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "ignore")
    repo.write(".env", b"TOKEN=secret\n", mode=0o600)
    repo.atomic(
        "run", "--no-gates", "--history", "shadow", "--", "git", "stash", "push", "--all", "-q"
    )
    repo.atomic("rollback", check=0)
    repo.write(".env", b"TOKEN=yours, since\n", mode=0o600)
    assert ".env" not in _named(repo, "undo")
    repo.atomic("undo", check=0)
    assert repo.read(".env") == b"TOKEN=yours, since\n"


def test_your_files_of_a_stash_you_applied_stay_at_the_rollback_of_its_drop(
    repo: GitRepo,
) -> None:
    """Effect, not state: you stashed everything (`stash --all`) and applied it back; the
    operation dropped that stash. Its rollback puts the stash back on the list, and leaves your
    `.env` on the disk, where it was before the operation (it is no file the rollback wrote)."""
    repo.write(".gitignore", b".env\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "ignore")
    repo.write(".env", b"TOKEN=secret\n", mode=0o600)
    repo.git("stash", "push", "--all", "-q")
    repo.git("stash", "apply", "-q")
    repo.atomic("run", "--no-gates", "--", "true", check=0)
    before = _disk(repo.path)
    repo.atomic("run", "--no-gates", "--history", "shadow", "--", "git", "stash", "drop", "-q")
    assert ".env" not in _named(repo, "rollback")
    repo.atomic("rollback", check=0)
    assert repo.git("stash", "list") != ""
    assert _disk(repo.path) == before, _differing(before, _disk(repo.path))


def test_the_rollback_of_a_stash_pop_takes_its_files_back_into_the_stash(repo: GitRepo) -> None:
    """The operation popped your `stash --all`: its ignored files came back onto the disk, in
    no checkpoint. Its rollback makes the stash again and takes them back into it, as they
    were before the operation (named by its dry run), so your own `git stash pop` works."""
    repo.write(".gitignore", b".env\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "ignore")
    repo.write(".env", b"TOKEN=secret\n", mode=0o600)
    repo.git("stash", "push", "--all", "-q")
    repo.atomic("run", "--no-gates", "--", "true", check=0)
    before = _disk(repo.path)
    repo.atomic("run", "--no-gates", "--history", "shadow", "--", "git", "stash", "pop", "-q")
    assert repo.exists(".env")
    assert ".env" in _named(repo, "rollback")
    repo.atomic("rollback", check=0)
    assert _disk(repo.path) == before, _differing(before, _disk(repo.path))
    repo.git("stash", "pop", "-q")
    assert repo.read(".env") == b"TOKEN=secret\n"
