"""Under a line-ending rule, a capture keeps each file's raw bytes (conversion.raw_tree), and it
no longer lstats every file to know which changed: a file the scan did not look at again keeps
the raw record's entry when the capture that checked the record is the one the scan's bits
record comes from (conversion.Settled). Here, a change of the raw bytes alone (the filtered
bytes stay: `x\\r\\n` for `x\\n` under `eol=lf`) is made by another writer at each moment
that trust could miss: in the same second as the last capture, a second later, keeping the
size and putting the mtime back, by a rename of a new file and of one older than the record.
Each time the operation then writes the file and fails: the rollback must bring back the raw
bytes, compared on disk. (Under test every kept entry is also checked against an lstat:
GIT_ATOMIC_VERIFY_SCAN, conftest.py.) Each test failed with the trust made blind (every
entry kept without a look).
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

# Each test on a whole scan index and on a split one (conftest.py).
pytestmark = pytest.mark.usefixtures("scan_index_kind")

FILES = [f"d{i % 4}/f{i}.txt" for i in range(40)]
TARGET = "d1/f5.txt"
LF = b"one\ntwo\n"


def _raw_only(repo: GitRepo, how: str) -> bytes:
    """Change TARGET so that only its raw bytes differ (git's filtered view stays `LF`); the
    bytes it now holds."""
    path = repo.path / TARGET
    if how == "crlf in place":
        path.write_bytes(b"one\r\ntwo\r\n")
        return b"one\r\ntwo\r\n"
    if how == "same size, mtime put back":
        # b"one\r\ntwo\n" -> b"one\ntwo\r\n": the same size, the same filtered bytes
        before = os.lstat(path)
        path.write_bytes(b"one\ntwo\r\n")
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        return b"one\ntwo\r\n"
    if how == "renamed over":
        (repo.path / "new.tmp").write_bytes(b"one\r\ntwo\r\n")
        os.replace(repo.path / "new.tmp", path)
        return b"one\r\ntwo\r\n"
    assert how == "old file renamed over"
    os.replace(repo.path / "aside.keep", path)
    return b"one\r\ntwo\r\n"


def _setup(repo: GitRepo, how: str) -> None:
    _build(repo, how)
    time.sleep(1.1)  # older than a second: the record keeps them (a timestamp's granularity)
    _captures(repo)


def _build(repo: GitRepo, how: str) -> None:
    repo.write(".gitattributes", b"* text eol=lf\n")
    for name in FILES:
        repo.write(name, LF)
    if how == "same size, mtime put back":
        repo.write(TARGET, b"one\r\ntwo\n")  # clean to git: filtered, it is LF
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    # Made before the record, renamed over the file later (its ctime is not the rename's on
    # every filesystem).
    repo.write("aside.keep", b"one\r\ntwo\r\n")
    repo.write(".git/info/exclude", b"aside.keep\n")


def _captures(repo: GitRepo) -> None:
    """Two captures: the first keeps the raw record, the second checks it and stamps it."""
    repo.atomic("run", "--no-gates", "--", "true")
    repo.atomic("run", "--no-gates", "--", "true")
    stamps = [p for p in (repo.path / ".git" / "atomic").iterdir() if p.name.endswith(".since")]
    assert stamps, "the raw record's stamp: the next capture trusts it"


HOWS = ["crlf in place", "same size, mtime put back", "renamed over", "old file renamed over"]


def _after(started: float, wait: float = 1.1) -> None:
    """Sleep until `wait` seconds have passed since `started` (time.monotonic())."""
    time.sleep(max(0.0, started + wait - time.monotonic()))


@pytest.mark.parametrize("wait", [False, True], ids=["same second", "a second later"])
def test_a_raw_only_change_is_taken_back_exactly(tmp_path: Path, wait: bool) -> None:
    """Each way of a raw-only change (HOWS) in a repository of its own, set up side by side, so
    that the waits overlap: each repository's files are still 1.1 s older than its first
    capture, and with `wait` its change still comes 1.1 s or more after its last capture."""
    repos = {
        how: GitRepo.create(tmp_path / f"r{i}", tmp_path / "home") for i, how in enumerate(HOWS)
    }
    built = {}
    for how, repo in repos.items():
        _build(repo, how)
        built[how] = time.monotonic()
    captured = {}
    wrong = []
    for how, repo in repos.items():
        _after(built[how])  # older than a second: the record keeps them
        _captures(repo)
        captured[how] = time.monotonic()
        if not wait:
            wrong += _raw_only_taken_back(repo, how)
    for how, repo in repos.items() if wait else ():
        _after(captured[how])
        wrong += _raw_only_taken_back(repo, how)
    assert not wrong, "\n".join(wrong)


def _raw_only_taken_back(repo: GitRepo, how: str) -> list[str]:
    """A raw-only change `how`, then a run that writes TARGET and fails: what is not as it was."""
    raw = _raw_only(repo, how)
    if how == "same size, mtime put back":
        assert repo.git("status", "--porcelain", "--", TARGET) == "", "git sees no change"
    repo.atomic(
        "run", "--no-gates", "--", "sh", "-c", f"printf 'op\\n' > {TARGET}; exit 1", check=1
    )
    wrong = [f"{how}: {TARGET} {repo.read(TARGET)!r}"] if repo.read(TARGET) != raw else []
    return wrong + [f"{how}: {name}" for name in FILES if name != TARGET and repo.read(name) != LF]


def test_the_change_is_seen_by_the_capture_after_a_trusted_one(repo: GitRepo) -> None:
    """Two raw-only changes, a trusting capture between them: each capture holds the bytes of
    its moment (the second by the checkpoint it takes back to)."""
    _setup(repo, "crlf in place")
    first = _raw_only(repo, "crlf in place")
    repo.atomic("run", "--no-gates", "--", "true")
    time.sleep(1.1)
    (repo.path / TARGET).write_bytes(LF)  # back to LF: the same filtered bytes
    repo.atomic(
        "run", "--no-gates", "--", "sh", "-c", f"printf 'op\\n' > {TARGET}; exit 1", check=1
    )
    assert repo.read(TARGET) == LF
    assert first != LF


@pytest.mark.parametrize("wait", [False, True], ids=["same second", "a second later"])
def test_a_folder_renamed_in_brings_files_older_than_the_record(repo: GitRepo, wait: bool) -> None:
    """A folder renamed over another keeps its files' ctimes (only the folder's changes): each
    file now at a path is another inode, older than the record, its filtered bytes and size
    the same. git takes its stat data anew without a change to report; the raw record's entry
    and the kept bits are of the file that was there (its raw bytes, its 0644)."""
    repo.write(".gitattributes", b"* text eol=lf\n")
    for name in FILES:
        repo.write(name, b"one\r\ntwo\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    for name in FILES:
        if name.startswith("d1/"):  # the same size, the same filtered bytes: clean to git
            repo.write("alt/" + name[3:], b"one\ntwo\r\n", mode=0o600)
    repo.write(".git/info/exclude", b"alt/\nold/\n")
    time.sleep(1.1)  # older than a second: the record keeps them
    repo.atomic("run", "--no-gates", "--", "true")
    repo.atomic("run", "--no-gates", "--", "true")
    if wait:
        time.sleep(1.1)
    os.rename(repo.path / "d1", repo.path / "old")
    os.rename(repo.path / "alt", repo.path / "d1")
    assert repo.git("status", "--porcelain") == "", "git sees no change"
    script = f"printf 'op\\n' > {TARGET}; rm d1/f1.txt; exit 1"
    repo.atomic("run", "--no-gates", "--", "sh", "-c", script, check=1)
    for name in FILES:
        moved = name.startswith("d1/")
        assert repo.read(name) == (b"one\ntwo\r\n" if moved else b"one\r\ntwo\n"), name
    assert os.lstat(repo.path / "d1/f1.txt").st_mode & 0o7777 == 0o600


def _since(repo: GitRepo, name: str) -> int | None:
    """The second a state file of `.git/atomic` says its scan began (the raw record's stamp,
    `raw-<worktree>.since`; the bits record, `bits-<worktree>`): None when there is none."""
    for path in (repo.path / ".git" / "atomic").iterdir():
        if not path.name.startswith(name) or path.name.endswith(".tmp"):
            continue
        data = path.read_bytes()
        if name == "bits-":  # its magic line, then its body's CRC-32: 4 bytes, any of which
            data = data[data.index(b"\n") + 5 :]  # may be a newline byte
        elif not path.name.endswith(".since"):
            continue  # the raw record itself (`v2 <tree>`, its entries)
        head = data.split(b"\n")[0]
        return int(head.rsplit(b" ", 1)[1])
    return None


def test_a_capture_without_a_rule_between_in_the_same_second(repo: GitRepo) -> None:
    """A capture under `core.autocrlf`, a folder renamed in, a capture with the setting off
    (no raw record kept: its scan index takes the moved files' stat data), in one second; the
    setting on again. The record's stamp names the second the bits record names too, but the
    scan index is not the one the record was checked against: the moved files are read."""
    repo.git("config", "core.autocrlf", "true")
    for name in FILES:
        repo.write(name, b"one\r\ntwo\r\n")  # LF in git, CRLF on disk
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    repo.write(".git/info/exclude", b"alt/\n")
    swap = repo.path / "swap"
    for _ in range(5):
        other = LF if repo.read(TARGET) != LF else b"one\r\ntwo\r\n"  # the same bytes in git
        for name in FILES:
            if name.startswith("d1/"):
                repo.write("alt/" + name[3:], other)
        time.sleep(1.1)  # older than a second: the record keeps them
        repo.atomic("run", "--no-gates", "--", "true")
        time.sleep(1 - time.time() % 1 + 0.02)  # early in a second
        repo.atomic("run", "--no-gates", "--", "true")
        stamped = _since(repo, "raw-")
        os.rename(repo.path / "d1", swap)
        os.rename(repo.path / "alt", repo.path / "d1")
        os.rename(swap, repo.path / "alt")
        repo.git("config", "core.autocrlf", "false")
        repo.atomic("run", "--no-gates", "--", "true")
        repo.git("config", "core.autocrlf", "true")
        if _since(repo, "bits-") == stamped:
            break
    else:
        pytest.skip("no two captures in the same second")
    on_disk = {name: repo.read(name) for name in FILES}
    script = f"printf 'op\\n' > {TARGET}; exit 1"
    repo.atomic("run", "--no-gates", "--", "sh", "-c", script, check=1)
    assert {name: repo.read(name) for name in FILES} == on_disk


_COUNTED = """
import os, runpy, sys
from git_atomic.engine import safefs
real = safefs.Tree.lstat_many
def counted(self, paths):
    with open(os.environ["LOOKED"], "ab") as out:
        out.writelines(p + b"\\n" for p in paths)
    return real(self, paths)
safefs.Tree.lstat_many = counted
sys.argv[0] = "git-atomic"
runpy.run_module("git_atomic", run_name="__main__")
"""


def test_a_steady_capture_looks_at_the_files_that_changed_alone(repo: GitRepo) -> None:
    """The trust is what makes a capture under a rule cost what changed: with one file edited
    (and one new) since the last capture, the capture lstats those, not the 200 files (each
    path `safefs.Tree.lstat_many` is asked about, counted in the command's own process)."""
    repo.write(".gitattributes", b"* text eol=lf\n")
    files = [f"d{i % 8}/f{i}.txt" for i in range(200)]
    for name in files:
        repo.write(name, LF)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    time.sleep(1.1)  # older than a second: the record keeps them
    repo.atomic("run", "--no-gates", "--", "true")
    repo.atomic("run", "--no-gates", "--", "true")
    time.sleep(1.1)  # the record's second is over: a file of it is not looked at for that
    repo.write(files[7], b"one\r\ntwo\r\n")  # a raw-only change
    repo.write("d1/new.txt", LF)
    counts = _counted_failed_run(repo, files[7])
    assert repo.read(files[7]) == b"one\r\ntwo\r\n"
    tracked = {p: n for p, n in counts.items() if p.decode() in files}
    assert set(tracked) <= {files[7].encode()}, sorted(tracked)


def _counted_failed_run(repo: GitRepo, target: str) -> collections.Counter[bytes]:
    """A run that writes `target` and fails, in a process that counts each path the capture
    lstats (`_COUNTED`); those counts. (Its check of each kept entry, GIT_ATOMIC_VERIFY_SCAN,
    is what a user's capture skips.)"""
    looked = repo.path.parent / "looked"
    looked.unlink(missing_ok=True)
    env = {**repo.env, "LOOKED": str(looked), "GIT_ATOMIC_HELPER": "0"}
    env["GIT_ATOMIC_VERIFY_SCAN"] = "0"
    argv = [sys.executable, "-c", _COUNTED, "run", "--no-gates", "--", "sh", "-c"]
    script = f"printf 'op\\n' > {target}; exit 1"
    res = subprocess.run([*argv, script], cwd=repo.path, env=env, capture_output=True)
    assert res.returncode == 1, res.stderr
    return collections.Counter(looked.read_bytes().splitlines())


@pytest.mark.parametrize("how", ["crlf in place", "folder renamed in"])
def test_after_a_rollback_in_a_later_second_the_record_is_trusted_and_exact(
    repo: GitRepo, how: str
) -> None:
    """A failed run whose command outlasts its second: its rescue checks the record in a
    later second than the scan index it goes back to was kept in, and the next capture trusts
    that check (it lstats the files the restore wrote, not the 40), and still sees a raw-only
    change made after it: of a file in place, or of a folder renamed in."""
    _setup(repo, "crlf in place" if how == "crlf in place" else "same size, mtime put back")
    # made before the record (an old ctime), the size and the filtered bytes of d1/f5.txt's
    repo.write("alt/f5.txt", b"one\ntwo\r\n")
    repo.write(".git/info/exclude", b"aside.keep\nalt/\nold/\n")
    time.sleep(1.1)
    repo.atomic("run", "--no-gates", "--", "true")
    script = f"sleep 1.1; printf 'op\\n' > {FILES[0]}; exit 1"
    repo.atomic("run", "--no-gates", "--", "sh", "-c", script, check=1)
    if how == "crlf in place":
        raw = _raw_only(repo, how)
    else:  # the rest of d1 comes along: the same bytes, other inodes
        for name in FILES:
            if name.startswith("d1/") and name != TARGET:
                os.link(repo.path / name, repo.path / "alt" / name[3:])
        time.sleep(1.1)  # the links' ctimes are older than the next capture's scan
        os.rename(repo.path / "d1", repo.path / "old")
        os.rename(repo.path / "alt", repo.path / "d1")
        raw = b"one\ntwo\r\n"
        assert repo.git("status", "--porcelain") == "", "git sees no change"
    counts = _counted_failed_run(repo, TARGET)
    assert repo.read(TARGET) == raw
    for name in FILES:
        if name != TARGET:
            assert repo.read(name) == LF, name
    tracked = {p for p in counts if p.decode() in FILES}
    if how == "crlf in place":
        assert tracked <= {FILES[0].encode(), TARGET.encode()}, sorted(tracked)
