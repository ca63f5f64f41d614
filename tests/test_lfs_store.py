"""Git LFS content the LFS store holds is never copied into .git/objects (issue 17, target 6),
and every rollback is still exact.

The LFS setup is synthetic (git-lfs need not be installed), as a clone with git-lfs leaves it:
`*.bin filter=lfs`, a clean filter that stores the content in `.git/lfs/objects/<aa>/<bb>/<sha256>`
and gives git the pointer, a smudge filter that gives the content back. Oracles: the bytes on
disk, and whether git stores a blob of the content (`cat-file -e` of its id, hashed here).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from git_atomic.engine import discovery, lfskeep, scanindex
from testing.differential import lfs_filter
from testing.gitrepo import GitRepo
from testing.oracle import blob_id

BIG = 40 << 10  # over lfskeep.MIN_SIZE


@pytest.fixture
def lfs(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    lfs_filter(repo, tmp_path)  # `*.bin filter=lfs`, as git-lfs's clean and smudge work
    for name in ("a", "b", "c"):
        repo.write(f"assets/{name}.bin", os.urandom(BIG))
    repo.write("assets/small.bin", os.urandom(100))  # under MIN_SIZE: stored as any file
    repo.write("code.txt", b"code\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "lfs")
    return repo


def _stored(repo: GitRepo, data: bytes) -> bool:
    """Whether git stores a blob of exactly `data` (loose or packed)."""
    out = repo.git("cat-file", "--batch-check", input=(blob_id(data) + "\n").encode())
    return not out.strip().endswith("missing")


def _contents(repo: GitRepo) -> dict[str, bytes]:
    return {p: repo.read(f"assets/{p}") for p in ("a.bin", "b.bin", "c.bin")}


def _commit_blobs(repo: GitRepo, rev: str) -> list[bytes]:
    listing = repo.git("ls-tree", "-r", "--format=%(objectname)", rev).split()
    return [repo.git("cat-file", "blob", oid).encode("utf-8", "surrogateescape") for oid in listing]


def test_a_checkpoint_keeps_lfs_content_out_of_git_objects_and_rollback_is_exact(
    lfs: GitRepo,
) -> None:
    content = _contents(lfs)
    before = lfs.fingerprint()
    lfs.atomic("begin", "op", check=0)
    for data in content.values():
        assert not _stored(lfs, data)  # the store holds it: a marker in the checkpoint
    assert _stored(lfs, lfs.read("assets/small.bin"))  # a small file is stored as any
    # The operation: new bytes in one, one deleted, one back to its pointer (not smudged).
    lfs.write("assets/a.bin", os.urandom(BIG))
    os.unlink(lfs.path / "assets/b.bin")
    lfs.write("assets/c.bin", lfs.git("cat-file", "blob", "HEAD:assets/c.bin").encode())
    work = {p: lfs.read(f"assets/{p}") for p in ("a.bin", "c.bin")}
    lfs.atomic("abort", check=0)
    assert _contents(lfs) == content
    assert lfs.fingerprint().diff(before) == []
    # `undo` brings the work back: each kept file is removed or written over only once it is
    # checked to be the kept content (unchanged.py).
    lfs.atomic("undo", check=0)
    assert {p: lfs.read(f"assets/{p}") for p in ("a.bin", "c.bin")} == work
    assert not lfs.exists("assets/b.bin")
    for data in content.values():
        assert not _stored(lfs, data)


def test_content_pruned_from_the_lfs_store_is_still_restored(lfs: GitRepo) -> None:
    content = _contents(lfs)
    before = lfs.fingerprint()
    lfs.atomic("begin", "op", check=0)
    shutil.rmtree(lfs.path / ".git" / "lfs")  # as `git lfs prune` may, after the checkpoint
    for name in content:
        lfs.write(f"assets/{name}", b"changed\n")
    lfs.atomic("abort", check=0)
    assert _contents(lfs) == content
    assert lfs.fingerprint().diff(before) == []


@pytest.mark.parametrize("others", [3, 400])  # the scan's few-files path, and update-index's
def test_lfs_files_the_scan_reads_again_are_not_stored(lfs: GitRepo, others: int) -> None:
    lfs.atomic("begin", "warm", check=0)
    lfs.atomic("abort", check=0)
    content = _contents(lfs)
    for name in content:  # their stat data change, not their bytes: the scan reads them
        os.utime(lfs.path / "assets" / name, ns=(1, 1))
    for i in range(others):
        lfs.write(f"many/f{i}.txt", b"%d\n" % i)
    before = lfs.fingerprint()
    lfs.atomic("begin", "op", check=0)
    for data in content.values():
        assert not _stored(lfs, data)
    lfs.write("assets/a.bin", b"replaced\n")
    lfs.atomic("abort", check=0)
    assert _contents(lfs) == content
    assert lfs.fingerprint().diff(before) == []


def test_a_store_file_that_does_not_hold_its_name_is_not_trusted(lfs: GitRepo) -> None:
    content = _contents(lfs)
    digest = hashlib.sha256(content["a.bin"]).hexdigest()
    store = lfs.path / ".git" / "lfs" / "objects" / digest[:2] / digest[2:4] / digest
    store.write_bytes(os.urandom(BIG))  # damaged: other bytes under the content's name
    before = lfs.fingerprint()
    lfs.atomic("begin", "op", check=0)
    assert _stored(lfs, content["a.bin"])
    assert not _stored(lfs, content["b.bin"])
    lfs.write("assets/a.bin", b"x\n")
    lfs.write("assets/b.bin", b"y\n")
    lfs.atomic("abort", check=0)
    assert _contents(lfs) == content
    assert lfs.fingerprint().diff(before) == []


def test_a_commit_of_commits_mode_holds_the_pointer_never_a_marker(lfs: GitRepo) -> None:
    content = _contents(lfs)
    # The operation copies one LFS file's content to a new one (the store holds it) and
    # writes new content into another.
    res = lfs.atomic_json(
        "run",
        "-n",
        "copy",
        "-g",
        "true",
        "--",
        "sh",
        "-c",
        "cp assets/a.bin assets/copy.bin; printf new > assets/b.bin; echo more >> code.txt",
    )
    assert res["status"] == "committed"
    blobs = _commit_blobs(lfs, "HEAD")
    assert not any(b"git-atomic: Git LFS content" in blob for blob in blobs)
    copy = lfs.git("cat-file", "blob", "HEAD:assets/copy.bin")
    assert copy == lfs.git("cat-file", "blob", "HEAD:assets/a.bin")  # the same pointer
    assert "oid sha256:" + hashlib.sha256(content["a.bin"]).hexdigest() in copy
    assert lfs.read("assets/copy.bin") == content["a.bin"]


def test_gc_drops_a_link_only_once_no_marker_for_it_is_stored(lfs: GitRepo) -> None:
    lfs.atomic("begin", "op", check=0)
    lfs.atomic("abort", check=0)
    discovery.discover.cache_clear()
    repo = discovery.discover(str(lfs.path))
    kept = lfs.path / ".git" / "atomic" / "lfs" / "objects"
    assert len(os.listdir(kept)) == 3
    recorded = lfskeep.markers(repo)
    assert len({k.sha256 for k in recorded.values()}) == 3
    assert lfskeep.retire(repo, list(recorded)) == 0  # every marker stored: all stay
    assert len(os.listdir(kept)) == 3
    shutil.rmtree(lfs.path / ".git" / "lfs")
    freed = lfskeep.retire(repo, [])  # no marker stored any more: the links go
    assert os.listdir(kept) == [] and freed == 3 * BIG


def test_the_scans_own_filter_makes_what_git_lfs_makes(lfs: GitRepo) -> None:
    """scanindex.lfs_pointers: git runs our filter (lfspointer.py) through its long-running
    filter protocol; what it makes of each content is git-lfs's pointer, computed here."""
    discovery.discover.cache_clear()
    options = scanindex.lfs_pointers(discovery.discover(str(lfs.path)))
    assert options
    pointer_text = lfs.git("cat-file", "blob", "HEAD:assets/a.bin").encode()
    large = os.urandom(200_000)  # more than one pkt-line each way
    for data, expected in (
        (b"", b""),  # nothing is made of no bytes
        (pointer_text, pointer_text),  # a pointer stays as it is
        (b"small\n", None),
        (large, None),
    ):
        if expected is None:
            digest = hashlib.sha256(data).hexdigest()
            expected = b"version https://git-lfs.github.com/spec/v1\n" + (
                f"oid sha256:{digest}\nsize {len(data)}\n".encode()
            )
        oid = lfs.git(
            *options, "hash-object", "-w", "--stdin", "--path=assets/new.bin", input=data
        ).strip()
        assert lfs.git("cat-file", "blob", oid).encode() == expected
        assert not _stored(lfs, data) or data in (b"", pointer_text)


def test_an_attributes_file_git_still_applies_is_honoured(lfs: GitRepo, tmp_path: Path) -> None:
    """git reads a `.gitattributes` gone from the disk from the index, and applies one a rule
    ignores: the scan then holds git-lfs's pointers, and the capture must hold the bytes."""
    before = lfs.fingerprint()
    lfs.atomic("begin", "op", check=0)
    os.unlink(lfs.path / ".gitattributes")
    lfs.write("assets/a.bin", os.urandom(30_000))
    work = lfs.read("assets/a.bin")
    lfs.atomic("abort", check=0)
    assert lfs.fingerprint().diff(before) == []
    lfs.atomic("undo", check=0)
    assert lfs.read("assets/a.bin") == work and not lfs.exists(".gitattributes")
    # An untracked attributes file that a rule ignores.
    lfs.git("rm", "-q", "--cached", ".gitattributes")
    lfs.write(".gitattributes", b"*.bin filter=lfs diff=lfs merge=lfs -text\n")
    (lfs.path / ".git" / "info" / "exclude").write_text(".gitattributes\n")
    lfs.write("new.bin", os.urandom(40_000))
    new = lfs.read("new.bin")
    lfs.atomic("begin", "op2", check=0)
    os.unlink(lfs.path / "new.bin")
    lfs.atomic("abort", check=0)
    assert lfs.read("new.bin") == new


def test_kept_content_lost_is_read_from_the_store_or_the_file_is_left(lfs: GitRepo) -> None:
    content = _contents(lfs)
    kept = lfs.path / ".git" / "atomic" / "lfs"
    lfs.atomic("begin", "op", check=0)
    lfs.write("assets/a.bin", b"work\n")
    for name in os.listdir(kept / "objects"):
        os.unlink(kept / "objects" / name)  # our links gone: the LFS store still has it
    lfs.atomic("abort", check=0)
    assert _contents(lfs) == content
    # The whole of .git/atomic/lfs gone (its record too): a marker is still never written.
    lfs.atomic("begin", "op2", check=0)
    shutil.rmtree(kept)
    lfs.write("assets/b.bin", b"work\n")
    lfs.atomic("abort", check=0)
    assert _contents(lfs) == content
    # Neither our link nor the store: the file is left as it is, and the abort says so.
    lfs.atomic("begin", "op3", check=0)
    lfs.write("assets/c.bin", b"work\n")
    shutil.rmtree(kept)
    shutil.rmtree(lfs.path / ".git" / "lfs")
    res = lfs.atomic("abort")
    assert res.returncode == 3, res.stderr
    assert lfs.read("assets/c.bin") == b"work\n"
    assert "assets/c.bin" in res.stderr + res.stdout


def test_a_file_that_is_the_stores_own_file_is_stored_as_a_blob(lfs: GitRepo) -> None:
    """A dedup tool's hard link from the worktree to the store: a write in place changes both,
    so the kept link could not keep the old bytes."""
    data = lfs.read("assets/a.bin")
    digest = hashlib.sha256(data).hexdigest()
    store = lfs.path / ".git" / "lfs" / "objects" / digest[:2] / digest[2:4] / digest
    os.unlink(lfs.path / "assets" / "a.bin")
    os.link(store, lfs.path / "assets" / "a.bin")
    lfs.atomic("begin", "op", check=0)
    with open(lfs.path / "assets" / "a.bin", "r+b") as fh:
        fh.seek(10)
        fh.write(b"XX")
    lfs.atomic("abort", check=0)
    assert lfs.read("assets/a.bin") == data


def test_a_failing_filter_commits_the_bytes_never_our_pointer(lfs: GitRepo) -> None:
    lfs.git("config", "--unset", "filter.lfs.clean")
    lfs.git("config", "filter.lfs.process", "/nonexistent/git-lfs filter-process")
    lfs.git("config", "filter.lfs.required", "false")
    res = lfs.atomic_json(
        "run", "-n", "m", "-g", "true", "--", "sh", "-c", "printf 'new bytes' > assets/a.bin"
    )
    assert res["status"] == "committed"
    assert lfs.git("cat-file", "blob", "HEAD:assets/a.bin") == "new bytes"


def test_the_same_bytes_are_held_alike_before_and_after_the_store_gets_them(
    lfs: GitRepo,
) -> None:
    """An operation's new bytes are stored as a blob (no store holds them); a commit of yours
    puts them in the LFS store; a later capture must hold them as the same blob, or taking
    the operation back would see a change of yours in that file."""
    lfs.atomic(
        "run",
        "--history",
        "shadow",
        "-n",
        "mod",
        "--no-gates",
        "--",
        "sh",
        "-c",
        "head -c 40000 /dev/urandom > assets/a.bin",
        check=0,
    )
    lfs.git("commit", "-qam", "mine")  # the clean filter puts them in the store
    os.utime(lfs.path / "assets" / "a.bin")  # read again by the next capture
    res = lfs.atomic("rollback", "--dry-run")
    assert res.returncode == 0, res.stdout + res.stderr


def test_a_turn_committed_holds_the_bytes_never_a_marker(lfs: GitRepo) -> None:
    """An agent turn in commits mode merges its checkpoints' files onto HEAD: a copy of kept
    LFS content is committed as its bytes (as before), never as our marker."""
    lfs.atomic("hooks", "install", "claude-code", "--history", "commits", check=0)
    lfs.git("add", "-A")
    lfs.git("commit", "-qm", "hooks")
    where = {"session_id": "s1", "cwd": str(lfs.path)}
    call = {"tool_name": "Bash", "tool_input": {"command": "cp"}, "tool_use_id": "t1"}

    def hook(event: str, **payload: object) -> None:
        data = json.dumps({**where, "hook_event_name": event, **payload}).encode()
        lfs.atomic("hook", "claude-code", event, "--history", "commits", input=data, check=0)

    hook("PreToolUse", **call)
    shutil.copy(lfs.path / "assets" / "a.bin", lfs.path / "assets" / "copy.bin")
    hook("PostToolUse", **call)
    hook("Stop", stop_hook_active=False)
    committed = lfs.git("cat-file", "blob", "HEAD:assets/copy.bin").encode(
        "utf-8", "surrogateescape"
    )
    assert committed == lfs.read("assets/a.bin")


def test_a_garbled_marker_record_costs_nothing_but_its_lines(lfs: GitRepo) -> None:
    """A record line that is no marker (cut short, or not text) is left out, never a
    traceback: the lines around it still count."""
    content = _contents(lfs)
    lfs.atomic("begin", "op", check=0)
    record = lfs.path / ".git" / "atomic" / "lfs" / "markers"
    record.write_bytes(b"\xff\xfe " + b"a" * 64 + b" 12\n" + record.read_bytes() + b"12ab")
    for name in content:
        lfs.write(f"assets/{name}", b"work\n")
    lfs.atomic("abort", check=0)
    assert _contents(lfs) == content
