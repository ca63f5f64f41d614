"""The clean files' bits record (scanbits.py) follows the scan index a large restore makes for
its target (scanindex.Following), and is trusted there as anywhere.

Issue 17, stop 59: after the benchmark's large rollback and its undo, the scan index had
followed the restore to the target's tree while the bits record still named the tree it was
made from: the next `begin` trusted no record and lstat'ed every file (at 100,000 files, split
scan index, 0.5 s of processor time: 1.25 s against 0.72 s for the engine before stop 58, which
kept no bits for a split index). Here: the record names the tree the scan index names after an
abort and an undo that followed, and what it keeps is right (GIT_ATOMIC_VERIFY_SCAN: every
file not looked at again is checked on disk), a file's bits changed after the restore among
them, on a whole and a split scan index; so is the raw record under a line-ending rule, which
trusts what the bits record's scan says (conversion.Settled).
"""

from __future__ import annotations

from git_atomic.engine import scanbits
from git_atomic.engine.git import Repo
from git_atomic.engine.scanindex import EDIT_AT_MOST
from testing.gitrepo import GitRepo

MANY = EDIT_AT_MOST + 20  # files an operation edits: a restore the scan index follows


def _record_tree(repo: GitRepo) -> str | None:
    git_dir = repo.path / ".git"
    kept = scanbits.load(Repo(repo.path, git_dir, git_dir))
    return kept.tree if kept is not None else None


def _scan_tree(repo: GitRepo) -> str:
    return repo.git("rev-parse", "refs/atomic/scan/main").strip()


def _mode(repo: GitRepo, rel: str) -> int:
    return (repo.path / rel).stat().st_mode & 0o7777


def test_the_bits_record_follows_a_restore_and_holds(repo: GitRepo, scan_index_kind: str) -> None:
    for i in range(MANY):
        repo.write(f"d{i // 40}/f{i:03d}.txt", f"file {i}\n".encode())
    repo.write(".gitattributes", b"*.txt text eol=lf\n")  # the raw record too (conversion.py)
    for name in ("keep", "later", "edited"):
        repo.write(f"private/{name}", b"mine\n", mode=0o600)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    repo.atomic("begin", "op")
    for i in range(MANY):
        repo.write(f"d{i // 40}/f{i:03d}.txt", f"edited by the operation {i}\n".encode())
    (repo.path / "private" / "edited").write_bytes(b"the operation's\n")
    repo.atomic("abort")
    assert _scan_tree(repo) == _record_tree(repo)  # (before: the tree it was made from)
    repo.atomic("undo")
    assert _scan_tree(repo) == _record_tree(repo)
    assert repo.path.joinpath("d0/f000.txt").read_bytes() == b"edited by the operation 0\n"
    # A clean file's bits changed after the restore, and raw bytes git's filtered view does
    # not tell from the restore's: the next capture holds the new ones.
    (repo.path / "private" / "later").chmod(0o640)
    crlf = b"edited by the operation 1\r\n"
    repo.path.joinpath("d0/f001.txt").write_bytes(crlf)
    repo.atomic("begin", "next")
    repo.path.joinpath("d0/f001.txt").write_bytes(b"the next operation's\n")
    (repo.path / "private" / "later").unlink()
    (repo.path / "private" / "keep").unlink()
    repo.write("private/edited", b"again\n", mode=0o644)
    repo.atomic("abort")
    assert (_mode(repo, "private/later"), _mode(repo, "private/keep")) == (0o640, 0o600)
    assert _mode(repo, "private/edited") == 0o600
    assert repo.path.joinpath("private/edited").read_bytes() == b"the operation's\n"
    assert repo.path.joinpath("d0/f001.txt").read_bytes() == crlf
