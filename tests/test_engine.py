"""The snapshot engine against the pitfalls measured in docs/git-facts.md, one test each."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from git_atomic.core.errors import GitError, NotARepository
from git_atomic.engine import (
    capturerefs,
    checkpoint,
    conversion,
    discovery,
    git,
    gitoutput,
    objectformat,
    scanindex,
    scanracy,
    snapshot,
    splitindex,
    staged,
)
from git_atomic.ops import context
from git_atomic.ops.operation import Engine
from testing import oracle
from testing.gitrepo import GitRepo, hermetic_env


def _engine(repo: GitRepo) -> Engine:
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    return Engine(context.Context(g, context.open_journal(g), None))  # type: ignore[arg-type]


def _capture(repo: GitRepo, ref: str | None = "refs/atomic/test/x") -> checkpoint.Snapshot:
    return snapshot.capture(_engine(repo).repo, message="t", ref=ref).snapshot


def test_racy_same_second_edit_is_captured(repo: GitRepo) -> None:
    """git-facts 1: an edit in the same second as the index write must not be missed."""
    for trial in range(3):
        repo.write("f", f"{trial}aaa\n".encode())
        repo.git("add", "f")
        repo.git("commit", "-qm", f"c{trial}")
        # Same size, same second: only the racy-git check tells git to look again.
        repo.write("f", f"{trial}bbb\n".encode())
        snap = _capture(repo, ref=None)
        assert repo.git("cat-file", "-p", f"{snap.files_tree}:f") == f"{trial}bbb\n"


def test_capture_never_rewrites_the_real_index(repo: GitRepo) -> None:
    """git-facts 2: write-tree on the real index would rewrite it; we work on a copy."""
    repo.write("a", b"1")
    repo.git("add", "a")
    # Make the cache-tree stale so a write-tree on the real index would rewrite it.
    repo.write("b/c", b"2")
    repo.git("update-index", "--add", "b/c")
    index = repo.path / ".git" / "index"
    before = (index.stat().st_ino, index.stat().st_mtime_ns, index.read_bytes())
    _capture(repo)
    after = (index.stat().st_ino, index.stat().st_mtime_ns, index.read_bytes())
    assert after == before


def test_index_flags_survive_rollback(repo: GitRepo) -> None:
    """git-facts 3: intent-to-add, skip-worktree and assume-unchanged are not in a tree."""
    repo.write("ita", b"intent\n")
    repo.git("add", "-N", "ita")
    repo.write("sk", b"skip\n")
    repo.write("au", b"assume\n")
    repo.git("add", "sk", "au")
    repo.git("commit", "-qm", "two")
    repo.git("update-index", "--skip-worktree", "sk")
    repo.git("update-index", "--assume-unchanged", "au")
    flags_before = repo.git("ls-files", "-v", "-t", "--debug")
    before = repo.fingerprint()
    eng = _engine(repo)
    pre = snapshot.capture(eng.repo, message="pre", ref="refs/atomic/test/pre").snapshot
    repo.git("add", "-A")
    repo.git("update-index", "--no-skip-worktree", "sk")
    repo.git("commit", "-qm", "op")
    eng.rollback_to(None, pre.commit, event="rollback")
    assert repo.fingerprint().diff(before) == []
    assert repo.git("ls-files", "-v", "-t", "--debug") == flags_before


def _tree_files(repo: GitRepo, tree: str) -> dict[str, bytes]:
    out = repo.git("ls-tree", "-r", "-z", "--name-only", tree)
    return {
        p: subprocess.run(
            ["git", "cat-file", "blob", f"{tree}:{p}"], cwd=repo.path, capture_output=True
        ).stdout
        for p in out.split("\0")
        if p
    }


@pytest.mark.parametrize("sparse", [False, True])
def test_flagged_entries_take_the_scan_and_are_captured_as_on_disk(
    repo: GitRepo, sparse: bool
) -> None:
    """One flagged entry no longer costs a full `git add -A`: the scan index (which has no
    flags) sees every file as it is on disk, captures after captures."""
    for i in range(6):
        repo.write(f"in/f{i}", b"in %d\n" % i)
        repo.write(f"out/g{i}", b"out %d\n" % i)
    repo.write(".gitignore", b"*.ign\n")
    repo.write("out/h.ign", b"tracked although ignored\n")
    repo.git("add", "-A")
    repo.git("add", "-f", "out/h.ign")
    repo.git("commit", "-qm", "files")
    if sparse:
        repo.git("sparse-checkout", "set", "in")  # every out/ entry skip-worktree, files gone
        repo.write("out/g2", b"back on disk\n")
        repo.write("out/h.ign", b"ignored, on disk\n")
    else:
        repo.git("update-index", "--skip-worktree", "out/g1", "out/g2", "out/h.ign")
        repo.git("update-index", "--assume-unchanged", "in/f1")
        (repo.path / "out" / "g1").unlink()
        repo.write("out/g2", b"skip, edited\n")
        repo.write("out/h.ign", b"ignored, edited\n")
        repo.write("in/f1", b"assumed, edited\n")
    repo.write("ita", b"intent\n")
    repo.git("add", "-N", "ita")
    key = git.worktree_key(_engine(repo).repo)
    for round_ in range(2):
        repo.write("in/f3", b"round %d\n" % round_)
        snap = _capture(repo, f"refs/atomic/test/r{round_}")
        on_disk = {
            str(p.relative_to(repo.path)): p.read_bytes()
            for p in repo.path.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(repo.path).parts
        }
        assert _tree_files(repo, snap.files_tree) == on_disk
        assert repo.git("for-each-ref", f"refs/atomic/scan/{key}") != ""  # the scan was kept


def test_a_checkpoint_stores_no_copy_of_the_index(repo: GitRepo) -> None:
    """Disk grows with the change, not the repository: after a `git status` that rewrote the
    index (new stat data), a checkpoint adds a handful of small objects, no index file."""
    for i in range(300):
        repo.write(f"d{i % 7}/f{i}", b"line %d\n" % i)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "many")
    repo.write("d1/f1", b"edited\n")
    os.utime(repo.path / "d2" / "f2", ns=(1, 1))
    repo.git("status", "--porcelain")  # refreshes and rewrites the index
    before = _loose_objects(repo)
    snap = _capture(repo)
    added = _loose_objects(repo) - before
    names = {e.path for e in _engine(repo).repo.ls_tree(snap.commit)}
    assert b"index" not in names and b"index-flags" not in names
    assert snap.index_blob is None and snap.index_present
    # meta, the edited file's blob, its tree and folder tree, files tree, root tree, commit
    assert len(added) <= 8, sorted(added)
    sizes = [int(repo.git("cat-file", "-s", oid).strip()) for oid in added]
    assert max(sizes) < 2000


def test_the_staged_side_is_reused_only_for_the_same_index(repo: GitRepo) -> None:
    """The staged tree of an index whose bytes did not change is taken from the small cache;
    a cache naming a tree that is gone, or another index, is never used."""
    repo.write("staged", b"one\n")
    repo.git("add", "staged")
    first = _capture(repo, None)
    cache = repo.path / ".git" / "atomic" / staged.STAGED_CACHE
    assert json.loads(cache.read_text())["tree"] == first.staged_tree
    staged._staged_memo.clear()
    assert _capture(repo, None).staged_tree == first.staged_tree  # from the file
    repo.write("staged", b"two\n")
    repo.git("add", "staged")
    second = _capture(repo, None)
    assert second.staged_tree != first.staged_tree
    assert second.staged_tree == repo.git("write-tree").strip()
    data = json.loads(cache.read_text())
    data["tree"] = "1" * 40  # a tree that does not exist
    cache.write_text(json.dumps(data))
    staged._staged_memo.clear()
    assert _capture(repo, None).staged_tree == second.staged_tree
    repo.atomic_json("gc", "--older-than", "0")
    assert not cache.exists()


def test_a_capture_after_a_capture_sees_what_changed_between(repo: GitRepo) -> None:
    """The second capture starts from the scan index the first one left (scan.py); edits,
    deletions, new files, a rule that now ignores an untracked file, and a file the user now
    tracks although it is ignored all count."""
    repo.write("tracked", b"one\n")
    repo.write(".gitignore", b"*.log\n")
    repo.git("add", "tracked", ".gitignore")
    repo.git("commit", "-qm", "t")
    repo.write("untracked", b"u\n")
    repo.write("soon-ignored", b"s\n")
    repo.write("gone", b"g\n")
    repo.write("forced.log", b"f\n")
    first = _capture(repo, None)
    eng = _engine(repo)
    known = repo.git("rev-parse", scanindex.ref_name(eng.repo)).strip()
    assert known == first.files_tree and scanindex.index_file(eng.repo, known).exists()
    repo.write("tracked", b"two\n")
    os.unlink(repo.path / "gone")
    repo.write("new", b"n\n")
    repo.write(".git/info/exclude", b"soon-ignored\n")
    repo.git("add", "-f", "forced.log")
    second = _capture(repo, None)
    listed = set(repo.git("ls-tree", "-r", "--name-only", second.files_tree).split())
    assert listed == {"README", ".gitignore", "tracked", "untracked", "new", "forced.log"}
    assert repo.git("show", f"{second.files_tree}:tracked") == "two\n"
    assert first.files_tree != second.files_tree
    # Only the newest scan index is kept, and the ref names it.
    assert repo.git("rev-parse", scanindex.ref_name(eng.repo)).strip() == second.files_tree
    kept = sorted(p.name for p in eng.repo.state_dir.glob("scan-*"))
    assert kept == [scanindex.index_file(eng.repo, second.files_tree).name]
    # The user stops tracking it: ignored again, so out of the next capture.
    repo.git("rm", "-q", "--cached", "forced.log")
    third = _capture(repo, None)
    assert "forced.log" not in repo.git("ls-tree", "-r", "--name-only", third.files_tree)


def test_a_scan_index_without_its_ref_is_not_trusted(repo: GitRepo) -> None:
    """The ref keeps the scan index's objects from `git gc`; with the ref gone (and its objects
    pruned), the next capture seeds a fresh scan index and misses nothing."""
    repo.write("a", b"1\n")
    first = _capture(repo, None)  # a probe: nothing but the scan ref keeps its objects
    eng = _engine(repo)
    repo.git("update-ref", "-d", scanindex.ref_name(eng.repo))
    repo.git("-c", "gc.pruneExpire=now", "gc", "-q", "--prune=now")
    snap = _capture(repo)
    assert snap.files_tree == first.files_tree
    assert repo.git("fsck", "--no-dangling", "--connectivity-only", check=False).strip() == ""
    assert repo.git("show", f"{snap.files_tree}:a") == "1\n"
    assert scanindex.tidy(eng.repo, snap.files_tree) == 0  # the stale file was replaced, not left


def _loose_objects(repo: GitRepo) -> set[str]:
    root = repo.path / ".git" / "objects"
    return {d.name + f.name for d in root.glob("??") for f in d.iterdir()}


@pytest.mark.parametrize("then", ["rm", "chmod", "link", "folder"])
def test_an_intent_to_add_entry_whatever_its_file_became_is_kept_as_tree_and_flags(
    repo: GitRepo, then: str
) -> None:
    """`git add -N` makes an entry from its file; this one's file is gone, executable, a link
    or a folder now. The checkpoint keeps the index as its tree and flags all the same (no
    raw index), and a restore makes the entry again as it was (indexbuild.add_intents: from
    a scratch work tree), the disk left as it is."""
    repo.write("gone", b"soon changed\n")
    repo.git("add", "-N", "gone")
    path = repo.path / "gone"
    if then == "chmod":
        os.chmod(path, 0o755)
    else:
        os.unlink(path)
    if then == "link":
        os.symlink("elsewhere", path)
    elif then == "folder":
        repo.write("gone/inner", b"a file in a folder\n")
    before = repo.fingerprint()
    snap = _capture(repo, "refs/atomic/test/pre")
    assert snap.index_blob is None
    repo.git("rm", "-q", "--cached", "-f", "gone")
    repo.write("new", b"x\n")
    repo.git("add", "new")
    _engine(repo).rollback_to(None, snap.commit, event="rollback")
    assert repo.fingerprint().diff(before) == []
    entry = [e for e in oracle.index_entries(repo.env, repo.path) if e[0] == b"gone"]
    assert [(mode, flags & (1 << 29)) for _p, mode, _o, _s, flags in entry] == [("100644", 1 << 29)]


def test_an_intent_to_add_file_a_folder_now_blocks_comes_back_its_ignored_files_held(
    repo: GitRepo,
) -> None:
    """A folder of ignored files where a file comes back: as with an ignored file where a
    folder comes back, the rescue holds them and the folder makes way; `undo` brings them
    back."""
    repo.write(".gitignore", b"*.log\n")
    repo.write("x", b"intent\n")
    repo.git("add", "-N", "x")
    snap = _capture(repo, "refs/atomic/test/pre")
    repo.git("rm", "-q", "--cached", "x")
    os.unlink(repo.path / "x")
    repo.write("x/kept.log", b"ignored, held by the rescue\n")
    eng = _engine(repo)
    res = eng.rollback_to(None, snap.commit, event="rollback")
    assert res.outcome.problems == [] and res.outcome.failed == []
    assert repo.read("x") == b"intent\n"
    assert repo.git("ls-files", "-t", "-v", "--", "x").split()[1] == "x"
    assert repo.git("cat-file", "-p", f"{res.rescue}:files/x/kept.log") == (
        "ignored, held by the rescue\n"
    )
    eng.rollback_to(None, res.rescue, event="undo")
    assert repo.read("x/kept.log") == b"ignored, held by the rescue\n"


def test_a_repository_where_a_file_comes_back_is_reported_not_fatal(repo: GitRepo) -> None:
    """A folder holding a repository of its own where a file comes back: not ours to remove;
    the file is named as not put back, the rest is done."""
    repo.write("x", b"tracked\n")
    repo.write("y", b"y\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "x")
    snap = _capture(repo, "refs/atomic/test/pre")
    os.unlink(repo.path / "x")
    subprocess.run(["git", "init", "-q", str(repo.path / "x")], check=True, env=repo.env)
    repo.write("x/inner.txt", b"another repository's\n")
    repo.write("y", b"changed\n")
    res = _engine(repo).rollback_to(None, snap.commit, event="rollback")
    assert res.outcome.failed == [b"x"]
    assert any("a folder is in the way, holding files" in p for p in res.outcome.problems)
    assert repo.read("x/inner.txt") == b"another repository's\n"
    assert repo.read("y") == b"y\n"


def test_no_index_file_and_back(empty_repo: GitRepo) -> None:
    """A repository without an index file gets none back; one made by the operation goes."""
    assert not (empty_repo.path / ".git" / "index").exists()
    empty_repo.write("a", b"a\n")
    before = empty_repo.fingerprint()
    eng = _engine(empty_repo)
    pre = snapshot.capture(eng.repo, message="pre", ref="refs/atomic/test/pre").snapshot
    assert not pre.index_present
    empty_repo.git("add", "a")
    res = eng.rollback_to(None, pre.commit, event="rollback")
    assert empty_repo.fingerprint().diff(before) == []
    eng.rollback_to(None, res.rescue, event="undo")
    assert empty_repo.git("ls-files", "-s").split()[1] == "78981922613b2afb6025042ff6bd878ac1994e85"


def test_a_version_1_checkpoint_with_a_raw_index_is_still_restored(repo: GitRepo) -> None:
    """Checkpoints written before the index was kept as entries and flags stay usable."""
    repo.write("staged", b"staged\n")
    repo.git("add", "staged")
    repo.write("staged", b"unstaged on top\n")
    before = repo.fingerprint()
    eng = _engine(repo)
    new = snapshot.capture(eng.repo, message="pre", ref=None).snapshot
    raw = eng.repo.line("hash-object", "-w", str(repo.path / ".git" / "index"))
    mtime = os.stat(repo.path / ".git" / "index").st_mtime_ns
    meta = {
        "version": 1,
        "head": {"ref": new.head_ref, "oid": new.head_oid},
        "branches": dict(new.branches),
        "index_mtime_ns": mtime,
        "worktree": str(repo.path),
        "created_at": time.time(),
    }
    meta_blob = eng.repo.line("hash-object", "-w", "--stdin", input=json.dumps(meta).encode())
    tree = eng.repo.mktree(
        [
            git.TreeEntry("100644", "blob", meta_blob, b"meta"),
            git.TreeEntry("040000", "tree", new.staged_tree, b"staged"),
            git.TreeEntry("040000", "tree", new.files_tree, b"files"),
            git.TreeEntry("100644", "blob", raw, b"index"),
        ]
    )
    old = eng.repo.line("commit-tree", tree, "-m", "version 1")
    eng.repo.update_refs([f"create refs/atomic/test/old {old}"], message="test")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "op")
    eng.rollback_to(None, old, event="rollback")
    assert repo.fingerprint().diff(before) == []
    assert (repo.path / ".git" / "index").read_bytes() == eng.repo.cat_blob(raw)


@pytest.mark.parametrize("flag", ["--skip-worktree", "--assume-unchanged"])
def test_bytes_of_a_file_git_is_told_not_to_look_at_come_back(repo: GitRepo, flag: str) -> None:
    """`add -A` trusts the index for these entries; the capture reads the disk itself."""
    repo.write("f", b"committed\n")
    repo.git("add", "f")
    repo.git("commit", "-qm", "f")
    repo.git("update-index", flag, "f")
    repo.write("f", b"local edit the index does not know\n")
    before = repo.fingerprint()
    snap = _capture(repo, "refs/atomic/test/pre")
    repo.write("f", b"the operation's edit\n")
    res = _engine(repo).rollback_to(None, snap.commit, event="rollback")
    assert repo.read("f") == b"local edit the index does not know\n"
    assert repo.fingerprint().diff(before) == []
    _engine(repo).rollback_to(None, res.rescue, event="undo")
    assert repo.read("f") == b"the operation's edit\n"


def test_restore_keeps_the_stat_cache(repo: GitRepo) -> None:
    """git-facts 4: putting the saved index back keeps stat data (no read-tree)."""
    for i in range(50):
        repo.write(f"d/f{i}", b"x" * i)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "many")
    time.sleep(1.1)  # out of the racy window, so stat data is trusted
    repo.git("status", "--porcelain")  # refresh the stat cache as a user's status would
    eng = _engine(repo)
    pre = snapshot.capture(eng.repo, message="pre", ref="refs/atomic/test/pre").snapshot
    repo.write("d/f1", b"changed")
    eng.rollback_to(None, pre.commit, event="rollback")
    entries = repo.git("ls-files", "--debug", "d/f2")
    assert "mtime: 0:0" not in entries and "size: 2" in entries


def test_restore_writes_only_what_differs(repo: GitRepo) -> None:
    for i in range(20):
        repo.write(f"f{i}", b"same")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")
    eng = _engine(repo)
    pre = snapshot.capture(eng.repo, message="pre", ref="refs/atomic/test/pre").snapshot
    inodes = {i: os.stat(repo.path / f"f{i}").st_ino for i in range(20)}
    mtimes = {i: os.stat(repo.path / f"f{i}").st_mtime_ns for i in range(20)}
    repo.write("f3", b"changed")
    res = eng.rollback_to(None, pre.commit, event="rollback")
    assert [c.path for c in res.outcome.changed] == [b"f3"]
    for i in range(20):
        if i != 3:
            st = os.stat(repo.path / f"f{i}")
            assert (st.st_ino, st.st_mtime_ns) == (inodes[i], mtimes[i])


@pytest.mark.parametrize("autocrlf", ["true", "input"])
def test_bytes_round_trip_under_autocrlf(repo: GitRepo, autocrlf: str) -> None:
    """git-facts 7: git add stores filtered blobs; the checkpoint must hold raw bytes."""
    repo.git("config", "core.autocrlf", autocrlf)
    repo.write("dos.txt", b"a\r\nb\r\n")
    repo.write("mixed.txt", b"a\r\nb\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "crlf")
    repo.write("dos.txt", b"x\r\ny\r\n")
    before = repo.fingerprint()
    eng = _engine(repo)
    pre = snapshot.capture(eng.repo, message="pre", ref="refs/atomic/test/pre").snapshot
    repo.write("dos.txt", b"changed\n")
    repo.write("mixed.txt", b"changed\n")
    eng.rollback_to(None, pre.commit, event="rollback")
    assert repo.read("dos.txt") == b"x\r\ny\r\n"
    assert repo.read("mixed.txt") == b"a\r\nb\n"
    assert repo.fingerprint().diff(before) == []


def test_bytes_round_trip_with_clean_smudge_filter(repo: GitRepo) -> None:
    repo.write(".gitattributes", b"*.up filter=upper\n")
    repo.git("config", "filter.upper.clean", "tr a-z A-Z")
    repo.git("config", "filter.upper.smudge", "cat")
    repo.write("x.up", b"lower case\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "filtered")
    assert repo.git("show", "HEAD:x.up") == "LOWER CASE\n"
    before = repo.fingerprint()
    eng = _engine(repo)
    pre = snapshot.capture(eng.repo, message="pre", ref="refs/atomic/test/pre").snapshot
    repo.write("x.up", b"other\n")
    eng.rollback_to(None, pre.commit, event="rollback")
    assert repo.read("x.up") == b"lower case\n"
    assert repo.fingerprint().diff(before) == []


@pytest.mark.parametrize("where", ["sub/.gitattributes", "sub/deeper/.gitattributes"])
def test_an_untracked_attributes_file_is_honoured(repo: GitRepo, where: str) -> None:
    """Attribute files are found in the index listing and among the files the scan added."""
    repo.git("config", "filter.upper.clean", "tr a-z A-Z")
    repo.git("config", "filter.upper.smudge", "cat")
    repo.write(where, b"*.up filter=upper\n")  # never added: untracked
    repo.write(where.rsplit("/", 1)[0] + "/x.up", b"lower case\n")
    before = repo.fingerprint()
    snap = _capture(repo, "refs/atomic/test/pre")
    shown = repo.git("show", f"{snap.files_tree}:{where.rsplit('/', 1)[0]}/x.up")
    assert shown == "lower case\n"  # the bytes on disk, not the clean filter's upper case
    repo.write(where.rsplit("/", 1)[0] + "/x.up", b"other\n")
    _engine(repo).rollback_to(None, snap.commit, event="rollback")
    assert repo.fingerprint().diff(before) == []


def _hashed_raw(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Records the files each capture hashes raw (they are still hashed, by git)."""
    seen: list[bytes] = []
    original = conversion._hash_copies

    def hash_copies(*args: Any) -> Any:
        seen.extend(args[2])
        return original(*args)

    monkeypatch.setattr(conversion, "_hash_copies", hash_copies)
    return seen


@pytest.mark.parametrize(
    ("rule", "old", "new"),
    [
        # The same size and the same filtered bytes: `git status` sees no change.
        ("* text eol=lf\n", b"a\r\nb\n", b"a\nb\r\n"),
        ("*.txt filter=upper\n", b"abc\n", b"ABC\n"),
    ],
)
def test_raw_bytes_are_hashed_again_only_where_they_may_have_changed(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, rule: str, old: bytes, new: bytes
) -> None:
    """A conversion rule costs in proportion to what changed, and a change that `git status`
    cannot see (the same filtered bytes) is still captured."""
    # no second's wait for the record
    monkeypatch.setattr("git_atomic.engine.conversion._RACY_NS", 0)
    repo.git("config", "filter.upper.clean", "tr a-z A-Z")
    repo.git("config", "filter.upper.smudge", "cat")
    repo.write(".gitattributes", rule.encode())
    for i in range(30):
        repo.write(f"d{i % 3}/f{i}.txt", old)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    _capture(repo, "refs/atomic/test/one")
    hashed = _hashed_raw(monkeypatch)
    repo.write("d1/f4.txt", new)
    repo.write("d2/new.txt", b"x\r\n")
    assert "f4" not in repo.git("status", "--porcelain")  # git sees no change there
    snap = _capture(repo, "refs/atomic/test/two")
    assert sorted(hashed) == [b"d1/f4.txt", b"d2/new.txt"]
    for rel in (b"d1/f4.txt", b"d2/new.txt", b"d0/f0.txt"):
        shown = subprocess.run(
            ["git", "cat-file", "blob", f"{snap.files_tree}:{rel.decode()}"],
            cwd=repo.path,
            capture_output=True,
            check=True,
        ).stdout
        assert shown == (repo.path / rel.decode()).read_bytes()
    # Without its ref (which keeps its blobs from gc) the record is not trusted.
    repo.git("update-ref", "-d", f"refs/atomic/raw/{git.worktree_key(_engine(repo).repo)}")
    hashed.clear()
    again = _capture(repo, "refs/atomic/test/three")
    assert len(hashed) > 30 and again.files_tree == snap.files_tree


def test_checkpoints_survive_aggressive_gc(repo: GitRepo) -> None:
    """A checkpoint is reachable from refs/atomic/: the harshest gc loses none of it."""
    repo.write("staged-only", b"staged blob\n")
    repo.git("add", "staged-only")
    repo.write("staged-only", b"worktree bytes\n")
    repo.write("untracked", b"untracked\n")
    before = repo.fingerprint()
    repo.atomic_json("begin", "gc-proof", "--history", "shadow")
    repo.git("reset", "-q", "--hard")
    repo.git("clean", "-qfd")
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    repo.git("fsck", "--no-dangling", "--strict")
    assert not list((repo.path / ".git" / "objects").glob("??/*"))  # all packed or pruned
    repo.atomic_json("abort")
    assert repo.fingerprint().diff(before) == []


def test_capture_runs_no_hooks(repo: GitRepo) -> None:
    hooks = repo.path / ".git" / "hooks"
    marker = repo.path.parent / "hook-ran"
    for name in ("pre-commit", "post-commit", "reference-transaction", "post-index-change"):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\necho {name} >> {marker}\n")
        hook.chmod(0o755)
    repo.write("a", b"x")
    repo.atomic("run", "--history", "commits", "--", "sh", "-c", "echo y > b", check=0)
    repo.atomic("run", "--", "false", check=1)
    assert not marker.exists(), marker.read_text()


def test_ignored_files_are_never_touched(repo: GitRepo) -> None:
    repo.write(".gitignore", b"*.log\nbuild/\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "ignore")
    repo.write("a.log", b"keep me")
    repo.write("build/out.bin", b"\x00build")
    repo.atomic("run", "--", "sh", "-c", "echo new > a.log; echo more > build/new; exit 1", check=1)
    # The operation changed ignored files; git-atomic neither saved nor restored them.
    assert repo.read("a.log") == b"new\n"
    assert repo.read("build/new") == b"more\n"
    assert repo.read("build/out.bin") == b"\x00build"


def test_ignored_file_that_a_rule_change_exposed_is_kept(repo: GitRepo) -> None:
    repo.write(".gitignore", b"*.ign\n")
    repo.write("secret.ign", b"ignored, not captured")
    before = repo.fingerprint()
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", "rm .gitignore; exit 1", check=1)
    assert repo.fingerprint().diff(before) == []


def test_file_overwritten_from_ignored_is_rescued(repo: GitRepo) -> None:
    repo.write("x.log", b"tracked although ignored\n")
    repo.git("add", "x.log")
    repo.git("commit", "-qm", "log")
    repo.write(".gitignore", b"*.log\n")
    before = repo.fingerprint()
    res = repo.atomic_json(
        "run",
        "--history",
        "shadow",
        "--",
        "sh",
        "-c",
        "git rm -q --cached x.log && echo op-work > x.log && exit 1",
        check=1,
    )
    assert repo.fingerprint().diff(before) == []
    rescue = res["checkpoints"]["rescue"]
    assert repo.git("cat-file", "-p", f"{rescue}:files/x.log") == "op-work\n"


def test_nested_repository_contents_are_not_touched(repo: GitRepo, tmp_path: Path) -> None:
    nested = GitRepo.create(repo.path / "vendor" / "lib", tmp_path / "home2")
    nested.write("inner.txt", b"inner dirty state\n")
    repo.atomic(
        "run",
        "--history",
        "shadow",
        "--",
        "sh",
        "-c",
        "echo changed > vendor/lib/inner.txt; rm vendor/lib/README; exit 1",
        check=1,
    )
    assert nested.read("inner.txt") == b"changed\n"
    assert not nested.exists("README")


def test_unmerged_paths_are_refused_before_anything_changes(repo: GitRepo) -> None:
    repo.diverged("c")
    repo.git("merge", "side", check=False)
    repo.git("update-ref", "-d", "MERGE_HEAD")  # unmerged entries without a merge state file
    before = repo.fingerprint()
    res = repo.atomic("run", "--", "true", check=3)
    assert "unmerged" in res.stderr and res.stderr.count("\n") == 1
    assert repo.fingerprint() == before
    assert repo.checkpoint_refs() == ""


def test_rollback_cost_does_not_rescan_per_file(repo: GitRepo) -> None:
    """A rollback runs a fixed number of git processes, whatever the size of the change."""
    for i in range(200):
        repo.write(f"many/f{i}", b"x")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")
    log = repo.path.parent / "trace"
    cmd = "for i in $(seq 0 199); do echo y > many/f$i; done; exit 1"
    repo.atomic("run", "--", "sh", "-c", cmd, check=1, env={"GIT_TRACE": str(log)})
    spawned = log.read_text().count("trace: built-in: git")
    assert spawned < 40, spawned
    subprocess.run(["true"], check=True)


def test_raw_bytes_of_odd_names_under_autocrlf(repo: GitRepo) -> None:
    """Names with a newline cannot go through --stdin-paths; they must still round-trip."""
    repo.git("config", "core.autocrlf", "true")
    repo.write(b"odd\nname.txt", b"a\r\nb\r\n")
    repo.write("plain.txt", b"c\r\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "odd")
    before = repo.fingerprint()
    eng = _engine(repo)
    pre = snapshot.capture(eng.repo, message="pre", ref="refs/atomic/test/pre").snapshot
    repo.write(b"odd\nname.txt", b"changed\n")
    eng.rollback_to(None, pre.commit, event="rollback")
    assert repo.read(b"odd\nname.txt") == b"a\r\nb\r\n"
    assert repo.fingerprint().diff(before) == []


def test_tree_without_matches_what_an_index_would_write(repo: GitRepo) -> None:
    """Commits mode leaves files out of a tree by editing only the folders on their way; the
    result must be the very tree that removing them from an index and `write-tree` gives."""
    names = [
        b"a",
        b"b c",
        b"\xff-raw",
        b"-dash",
        b"d/e",
        b"d/f/g",
        b"d/f/h",
        b"d/ff",
        b"x/y/z/w",
        b"x/y/v",
        b"q.gitattributes",
        b"only/one",
    ]
    for i, name in enumerate(names):
        repo.write(os.fsdecode(name), b"%d\n" % i)
    os.symlink("a", repo.path / "link")
    os.chmod(repo.path / "a", 0o755)
    repo.git("add", "-A")
    tree = repo.git("write-tree").strip()
    eng = _engine(repo)
    rng = random.Random(5)
    every = [*names, b"link"]
    cases = [[b"only/one"], [b"d/f/g", b"d/f/h"], every, [b"x/y/z/w", b"a", b"\xff-raw"]]
    cases += [rng.sample(every, rng.randint(1, len(every))) for _ in range(12)]
    for gone in cases:
        scratch = repo.path / ".git" / "scratch-index"
        env = {"GIT_INDEX_FILE": str(scratch)}
        eng.repo.run("read-tree", tree, env=env)
        eng.repo.run(
            "update-index",
            "--force-remove",
            "-z",
            "--stdin",
            input=b"".join(p + b"\0" for p in gone),
            env=env,
        )
        expected = eng.repo.line("write-tree", env=env)
        scratch.unlink()
        assert eng.repo.tree_without(tree, gone) == expected, gone


def test_tree_edit_matches_what_an_index_would_write(repo: GitRepo) -> None:
    """A scan edits its last tree (scan.py): files set, left out, a file where a folder was and
    a folder where a file was; the result must be the tree an index with those entries writes."""
    names = [b"a", b"b c", b"\xff-raw", b"d/e", b"d/f/g", b"d/f/h", b"x/y/z/w", b"x/y/v"]
    for i, name in enumerate(names):
        repo.write(os.fsdecode(name), b"%d\n" % i)
    repo.git("add", "-A")
    tree = repo.git("write-tree").strip()
    eng = _engine(repo)
    blob = eng.repo.line("hash-object", "-w", "--stdin", input=b"new\n")
    link = eng.repo.line("hash-object", "-w", "--stdin", input=b"a")
    candidates: list[tuple[bytes, tuple[str, str] | None]] = [
        (b"a", ("100755", blob)),
        (b"a", None),
        (b"new/deep/file", ("100644", blob)),
        (b"b c", ("120000", link)),
        (b"x/y/z/w", None),
        (b"x/y/v", None),
        (b"\xff-raw", None),
        (b"top", ("100644", blob)),
        (b"d/f/g", ("100644", blob)),
        (b"d/e", None),
    ]
    rng = random.Random(7)
    cases: list[dict[bytes, tuple[str, str] | None]] = [
        {b"d/f/g": None, b"d/f/h": None, b"d/f": ("100644", blob)},  # folder -> file
        {b"a": None, b"a/inside": ("100644", blob)},  # file -> folder
        {n: None for n in names},  # everything goes
    ]
    for _ in range(12):
        cases.append(dict(rng.sample(candidates, rng.randint(1, len(candidates)))))
    for edits in cases:
        scratch = repo.path / ".git" / "scratch-index"
        env = {"GIT_INDEX_FILE": str(scratch)}
        eng.repo.run("read-tree", tree, env=env)
        info = b"".join(
            (f"{new[0]} {new[1]}".encode() if new else b"0 " + b"0" * 40) + b"\t" + path + b"\0"
            for path, new in edits.items()
        )
        eng.repo.run("update-index", "-z", "--index-info", input=info, env=env)
        expected = eng.repo.line("write-tree", env=env)
        scratch.unlink()
        assert eng.repo.tree_edit(tree, edits) == expected, edits


def test_tree_edit_writes_every_depth_in_one_mktree_and_checks_each_id(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ids of the folders are computed before git writes them, so one `mktree --batch`
    writes all depths; an id git answers differently makes it write them again depth by depth,
    never a tree that names a folder that does not exist."""
    tree = _tree_of(repo, ("a/b/c/d", "a/b/e", "a/f", "g"))
    eng = _engine(repo)
    blob = eng.repo.line("hash-object", "-w", "--stdin", input=b"new\n")
    edits: dict[bytes, tuple[str, str] | None] = {
        b"a/b/c/d": ("100755", blob),
        b"a/b/c/new/deeper": ("100644", blob),
        b"a/f": None,
    }
    scratch = repo.path / ".git" / "scratch-index"
    env = {"GIT_INDEX_FILE": str(scratch)}
    eng.repo.run("read-tree", tree, env=env)
    info = b"".join(
        (f"{new[0]} {new[1]}".encode() if new else b"0 " + b"0" * 40) + b"\t" + path + b"\0"
        for path, new in edits.items()
    )
    eng.repo.run("update-index", "-z", "--index-info", input=info, env=env)
    expected = eng.repo.line("write-tree", env=env)
    calls = _git_commands(monkeypatch, eng)
    assert eng.repo.tree_edit(tree, edits) == expected
    assert calls.count("mktree") == 0  # five trees: written loose by Python
    assert "missing" not in repo.git("fsck", "--connectivity-only", expected)
    # Where objects are not written loose (a shared repository), git's `mktree` writes them.
    monkeypatch.setattr(eng.repo, "writes_loose", lambda: False)

    def trees(of: str) -> set[str]:
        return {of, *(line.split()[2] for line in repo.git("ls-tree", "-r", "-d", of).splitlines())}

    for made in trees(expected) - trees(tree):  # not the trees the loose write made
        (repo.path / ".git" / "objects" / made[:2] / made[2:]).unlink()
    calls.clear()
    assert eng.repo.tree_edit(tree, edits) == expected
    assert calls.count("mktree") == 1  # five folders, one at each depth
    calls.clear()
    monkeypatch.setattr(objectformat, "tree_id", lambda entries: "1" * 40)  # every id "wrong"
    assert eng.repo.tree_edit(tree, edits) == expected
    assert calls.count("mktree") == 1 + 5  # the batch, then one call per depth
    fsck = repo.git("fsck", "--connectivity-only", expected)
    assert "missing" not in fsck


@pytest.mark.parametrize("shared", [False, True])
def test_tree_edits_are_each_edit_made_on_its_own_with_one_mktree_or_none(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, *, shared: bool
) -> None:
    """Several edits of one tree (a turn's steps built at its end) give what each edit gives
    alone, also where one edit puts a file where another goes into a folder, or the other way
    round: their few trees written loose by no process, as `tree_edit` writes them; many
    trees, or any in a group-shared repository, by one `mktree --batch`."""
    if shared:
        repo.git("config", "core.sharedRepository", "group")
    tree = _tree_of(repo, ("a/b/c", "a/d", "e", "f/g"))
    eng = _engine(repo)
    one = eng.repo.line("hash-object", "-w", "--stdin", input=b"one\n")
    two = eng.repo.line("hash-object", "-w", "--stdin", input=b"two\n")
    rng = random.Random(17)
    # Paths under files and over folders too: a file where a folder is, and the other way.
    paths = [b"a/b/c", b"a/d", b"e", b"e/f", b"new/deep/file", b"a/b", b"a/b/new", b"f/g", b"f"]
    choices: list[tuple[str, str] | None] = [None, ("100644", one), ("100755", two)]
    calls = _git_commands(monkeypatch, eng)
    for _ in range(30):
        edits = [
            {p: rng.choice(choices) for p in rng.sample(paths, rng.randint(1, 4))}
            for _ in range(rng.randint(2, 5))
        ]
        edits = [e for e in edits if not _file_and_folder(e)]  # tree_edit refuses those
        try:
            expected = [eng.repo.tree_edit(tree, e) for e in edits]
        except ValueError:
            continue
        calls.clear()
        assert eng.repo.tree_edits(tree, edits) == expected, edits
        # One edit alone is `tree_edit`'s: its few trees written loose, by no process.
        assert calls.count("mktree") == (shared and len(edits) >= 1), calls
    # A file where the folder `a` is, beside an edit that goes into it: still one batch.
    clash: list[dict[bytes, tuple[str, str] | None]] = [
        {b"a": ("100644", one)},
        {b"a/x": ("100644", two), b"e": None},
    ]
    expected = [eng.repo.tree_edit(tree, e) for e in clash]
    calls.clear()
    assert eng.repo.tree_edits(tree, clash) == expected
    assert calls.count("mktree") == shared
    # Many trees (a long turn's steps, each in a folder of its own): one batch.
    many: list[dict[bytes, tuple[str, str] | None]] = [
        {b"new/d%d/deep/x" % n: ("100644", one)} for n in range(30)
    ]
    expected = [eng.repo.tree_edit(tree, e) for e in many]
    calls.clear()
    assert eng.repo.tree_edits(tree, many) == expected
    assert calls.count("mktree") == 1
    repo.git("fsck", "--no-dangling")


@pytest.mark.parametrize("shared", [False, True])
def test_a_tree_made_from_entries_is_the_tree_git_writes(repo: GitRepo, shared: bool) -> None:
    """`Repo.tree_of` (a checkpoint's `gitstate`): files at any depth, a link and a tree kept as
    an entry, written loose or, in a group-shared repository, by `mktree`: the id git's
    index gives the same files, with the tree as a subtree, and whole objects (`fsck`)."""
    if shared:
        repo.git("config", "core.sharedRepository", "group")
    eng = _engine(repo)
    one, two, link = (
        eng.repo.line("hash-object", "-w", "--stdin", input=data)
        for data in (b"one\n", b"two\n", b"target")
    )
    kept = _tree_of(repo, ("k/a", "k/b/c"))
    entries = {
        b"git/MERGE_HEAD": ("100644", one),
        b"git/rebase-merge/done": ("100644", two),
        b"git/rebase-merge/deep/er": ("100755", one),
        b"git/a-link": ("120000", link),
        b"refs": ("100644", two),
        b"objects/" + kept.encode(): ("040000", kept),
    }
    made = eng.repo.tree_of(entries)
    listed = {e.path: (e.mode, e.oid) for e in eng.repo.ls_tree(made, recursive=True)}
    files = {p: m for p, m in entries.items() if m[0] != "040000"}
    assert {p: m for p, m in listed.items() if not p.startswith(b"objects/")} == files
    # The kept tree is one entry, its own id: what keeps it reachable, not its files.
    top = {e.path: (e.mode, e.oid) for e in eng.repo.ls_tree(made + ":objects")}
    assert top == {kept.encode(): ("040000", kept)}
    assert kept in repo.git("rev-list", "--objects", "--no-object-names", made).split()
    fsck = repo.git("fsck", "--full", "--strict")
    assert "error" not in fsck and "missing" not in fsck, fsck
    with pytest.raises(ValueError):
        eng.repo.tree_of({b"git/x": ("100644", one), b"git/x/y": ("100644", two)})


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
@pytest.mark.parametrize(
    "zone", ["UTC", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham", "UTC+5:30:30"]
)
def test_a_checkpoint_commit_written_without_git_is_the_one_git_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, object_format: str, zone: str
) -> None:
    """`Repo.commit_tree` writes the commit `git commit-tree -m` writes, byte for byte, where
    it writes it itself (now, or at a date git is told in a form read here); where git would
    decide something (a date in another form, a name it would trim, text that is not UTF-8),
    git writes it."""
    import time

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    repo = GitRepo(tmp_path / "r", hermetic_env(tmp_path / "home"))
    (tmp_path / "r").mkdir()
    repo.git("init", "-q", "-b", "main", f"--object-format={object_format}")
    repo.write("f", b"x\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    head = repo.git("rev-parse", "HEAD").strip()
    undated = {k: v for k, v in repo.env.items() if not k.endswith("_DATE")}

    def by_git(message: str, env: dict[str, str]) -> str:
        args = ["git", "commit-tree", tree, "-p", head, "-m", message]
        done = subprocess.run(
            args, cwd=repo.path, env={**undated, **env, "TZ": zone}, capture_output=True
        )
        return done.stdout.decode().strip() if done.returncode == 0 else "refused"

    def ours(message: str, identity: dict[str, str], dates: dict[str, str]) -> str:
        for who in ("AUTHOR", "COMMITTER"):
            monkeypatch.delenv(f"GIT_{who}_DATE", raising=False)
        for name, value in dates.items():
            monkeypatch.setenv(name, value)
        try:
            return _engine(repo).repo.commit_tree(tree, [head], message, identity=identity)
        except GitError:
            return "refused"

    try:
        people = [
            ("Ann Example", "ann@example.com", "one line"),
            ("Zoë Ünïcode", "zoe@exämple.org", "two\nlines\n"),
            ("B", "b@b", ""),
            ("Trailing dot.", "t@t", "m"),  # git trims it
            (" Spaced", "s@s", "m"),
            ("Angle <x>", "a@a", "m"),
            ("Ann", "ann@example.com", "bytes \udce9 not UTF-8"),  # git rewrites them
            ("Non\ufdd0char", "n@n", "and \U0001fffe"),  # git takes them for Latin-1 too
        ]
        for name, email, message in people:
            identity = {
                "GIT_AUTHOR_NAME": name,
                "GIT_AUTHOR_EMAIL": email,
                "GIT_COMMITTER_NAME": name,
                "GIT_COMMITTER_EMAIL": email,
            }
            made = ours(message, identity, {})
            written = repo.git("cat-file", "commit", made)
            stamp = re.search(r"^author .* (\d+ [+-]\d{4})$", written, re.M)
            assert stamp is not None, written
            if "\udce9" not in message:  # git's own commit of that moment is the same object
                dated = {"GIT_AUTHOR_DATE": stamp[1], "GIT_COMMITTER_DATE": stamp[1]}
                assert made == by_git(message, {**identity, **dated}), (name, written)
            # The zone is the one git gives the moment by itself.
            plain = repo.git("cat-file", "commit", by_git("z", identity))
            theirs = re.search(r"^committer .* \d+ ([+-]\d{4})$", plain, re.M)
            assert theirs is not None and stamp[1].split()[1] == theirs[1], (zone, stamp[1])
        identity = {"GIT_AUTHOR_NAME": "Ann", "GIT_AUTHOR_EMAIL": "a@a"}
        identity |= {"GIT_COMMITTER_NAME": "Bo", "GIT_COMMITTER_EMAIL": "b@b"}
        for told in (
            "2026-01-01T00:00:00Z",
            "2026-01-01 10:00:00+05:30",
            "2026-06-30T23:59:59-0330",
            "@1112904793 +0200",
            "1112904793 -0000",
            "2026-01-01T00:00:00",  # local time: git's
            "Thu, 07 Apr 2005 22:13:13 +0200",
            "2026-02-30T00:00:00Z",
            "2024-02-29T12:00:00Z",  # leap days: counted here, not by calendar
            "2000-02-29T23:00:00-0100",
            "2023-02-29T00:00:00Z",
            "2099-12-31T23:59:59+1400",
            "1999-12-31T23:59:59Z",
            "4102444800 +0000",  # 2100 without `@`: git refuses it, so must we
        ):
            dates = {"GIT_AUTHOR_DATE": told, "GIT_COMMITTER_DATE": "@1700000000 +0100"}
            assert ours("d", identity, dates) == by_git("d", {**identity, **dates}), told
        fsck = repo.git("fsck", "--full", "--strict")
        assert "error" not in fsck and "warning" not in fsck, fsck
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_trees_and_blobs_read_loose_are_what_git_reads(tmp_path: Path, object_format: str) -> None:
    """Trees, a commit's tree and blobs stored loose are read without a process: the same
    entries (modes as git reads them, a file's odd bits too), folders and bytes as git gives,
    for objects loose, packed, or loose but not what their name says (read from the pack)."""
    repo = GitRepo(tmp_path / "r", hermetic_env(tmp_path / "home"))
    (tmp_path / "r").mkdir()
    repo.git("init", "-q", "-b", "main", f"--object-format={object_format}")
    rng = random.Random(5)
    repo.write("f0", b"0\n")
    for i in range(1, 40):
        path = "/".join(rng.choice(["a", "b", "c d", "é"]) for _ in range(rng.randint(0, 3)))
        mode = rng.choice([0o644, 0o755])
        repo.write(f"{path}/f{i}" if path else f"f{i}", b"%d\n" % i, mode=mode)
    os.symlink("f1", repo.path / "link")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")
    eng = _engine(repo)
    objects = eng.repo.common_dir / "objects"
    blob = repo.git("rev-parse", "HEAD:f0").strip()
    odd = objectformat.write_loose_tree(objects, {b"x": b"100664 blob " + blob.encode()})
    commit = repo.git("rev-parse", "HEAD").strip()
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    folders = {b"", b"a", b"a/b", b"c d", b"\xc3\xa9", b"f0", b"none", b"none/deeper"}

    def by_git() -> tuple[list[Any], ...]:
        listed = {}
        for treeish in (commit, tree, odd):
            listed[treeish] = gitoutput.tree_entries(
                eng.repo.out("ls-tree", "-z", "--full-tree", treeish)
            )
        whole = eng.repo.out("ls-tree", "-z", "-r", "--full-tree", tree)
        blobs = [e.oid for e in gitoutput.tree_entries(whole)]
        return listed, blobs

    def ours() -> tuple[Any, ...]:
        listed = {t: eng.repo.ls_tree(t) for t in (commit, tree, odd)}
        return listed, dict(eng.repo.cat_blobs(blobs))

    listed, blobs = by_git()
    contents = {o: eng.repo.out("cat-file", "blob", o) for o in blobs}
    assert listed[odd][0].mode == "100644"
    with pytest.MonkeyPatch.context() as patch:  # git's own listing of the folders
        patch.setattr(eng.repo, "_loose_listing", lambda *args: None)
        expected_folders = eng.repo._listing(tree, folders)
    for state in ("loose", "packed", "garbled"):
        if state == "packed":
            repo.git("gc", "-q")
            assert not eng.repo.is_loose(blob)
        if state == "garbled":  # a loose file under the name of a packed object: not read
            (objects / blob[:2]).mkdir(exist_ok=True)
            (objects / blob[:2] / blob[2:]).write_bytes(
                __import__("zlib").compress(b"blob 4\0evil")
            )
        got_listed, got_blobs = ours()
        assert got_listed == listed, state
        assert got_blobs == contents, state
        assert eng.repo.cat_blob(blob) == b"0\n", state
        assert eng.repo._listing(tree, folders) == expected_folders, state
    assert expected_folders[b"f0"] == {} and expected_folders[b"none/deeper"] == {}


def test_a_loose_object_is_read_only_as_far_as_its_header_says(repo: GitRepo) -> None:
    """A loose object file that is a link (to /dev/zero, say), or whose stream inflates far
    past the size its header gives, is not read here (git is asked, and says what it finds)."""
    import zlib

    eng = _engine(repo)
    objects = eng.repo.common_dir / "objects"
    oid = eng.repo.line("hash-object", "-w", "--stdin", input=b"a\n")
    path = objects / oid[:2] / oid[2:]
    assert objectformat.read_loose(objects, oid) == (b"blob", b"a\n")
    path.chmod(0o644)
    squeeze = zlib.compressobj(9)
    bomb = squeeze.compress(b"blob 2\0a\n") + squeeze.compress(bytes(64 << 20)) + squeeze.flush()
    path.write_bytes(bomb)
    assert objectformat.read_loose(objects, oid) is None
    for header in (b"blob 99999999999999999999999999\0a\n", b"blob 4000000\0a\n"):
        path.write_bytes(zlib.compress(header))  # a size no stream of these bytes can give
        assert objectformat.read_loose(objects, oid) is None
    path.unlink()
    path.symlink_to("/dev/zero")
    assert objectformat.read_loose(objects, oid) is None
    # A name that is no object id of ours is never made a path (its letters, a way up).
    path.unlink()
    path.write_bytes(zlib.compress(b"blob 2\0a\n"))
    assert objectformat.read_loose(objects, oid) == (b"blob", b"a\n")
    for other in (oid.upper(), oid[:2] + "/../" + oid[6:], oid[:-1] + "g", oid[:-1]):
        assert objectformat.read_loose(objects, other) is None


def _tree_of(repo: GitRepo, names: tuple[str, ...]) -> str:
    """The tree of the index once these files (each "x") are added."""
    for name in names:
        repo.write(name, b"x\n")
    repo.git("add", "-A")
    return repo.git("write-tree").strip()


def _git_commands(monkeypatch: pytest.MonkeyPatch, eng: Engine) -> list[str]:
    """The git commands the engine's repository runs with output from now on, as they run."""
    calls: list[str] = []
    out = eng.repo.out

    def counting(*args: str, **kwargs: Any) -> bytes:
        calls.append(args[0])
        return out(*args, **kwargs)

    monkeypatch.setattr(eng.repo, "out", counting)
    return calls


def _file_and_folder(edit: dict[bytes, tuple[str, str] | None]) -> bool:
    """Whether an edit asks for a file at a path and another file under it."""
    return any(
        new is not None and any(o.startswith(p + b"/") for o in edit) for p, new in edit.items()
    )


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_a_checkpoints_own_tree_written_without_git_is_the_tree_git_writes(
    tmp_path: Path, object_format: str
) -> None:
    """A checkpoint's top tree (meta, staged, files, ...) is written loose by the engine, with
    no `git mktree`: the same id and bytes git writes for the same entries, in either object
    format, and a checkpoint git reads back whole (`fsck`)."""
    repo = GitRepo(tmp_path / "r", hermetic_env(tmp_path / "home"))
    (tmp_path / "r").mkdir()
    repo.git("init", "-q", "-b", "main", f"--object-format={object_format}")
    repo.write("README", b"hello\n")
    repo.write("sub/x", b"x\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "initial")
    repo.write("sub/y", b"y\n")
    snap = _capture(repo)
    eng = _engine(repo)
    entries = eng.repo.ls_tree(snap.commit)
    listing = b"".join(f"{e.mode} {e.kind} {e.oid}\t".encode() + e.path + b"\0" for e in entries)
    assert (
        repo.git("mktree", "-z", input=listing).strip()
        == repo.git("rev-parse", f"{snap.commit}^{{tree}}").strip()
    )
    assert {e.path for e in entries} >= {b"meta", b"staged", b"files"}
    fsck = repo.git("fsck", "--full", "--strict")
    assert "error" not in fsck and "missing" not in fsck, fsck
    assert checkpoint.load(eng.repo, snap.commit).files_tree == snap.files_tree


def test_an_unreadable_scan_index_falls_back_and_is_seeded_again(repo: GitRepo) -> None:
    """A scan index git cannot read (damaged, or split with its shared part expired) costs one
    capture the older way; the next capture seeds a fresh one. Nothing is missed."""
    repo.write("a", b"1\n")
    _capture(repo, None)
    eng = _engine(repo)
    known = repo.git("rev-parse", scanindex.ref_name(eng.repo)).strip()
    scanindex.index_file(eng.repo, known).write_bytes(b"DIRC damaged")
    repo.write("b", b"2\n")
    second = _capture(repo, None)
    assert set(repo.git("ls-tree", "--name-only", second.files_tree).split()) == {
        "README",
        "a",
        "b",
    }
    assert not scanindex.index_file(eng.repo, known).exists()
    repo.write("c", b"3\n")
    third = _capture(repo, None)
    assert set(repo.git("ls-tree", "--name-only", third.files_tree).split()) == {
        "README",
        "a",
        "b",
        "c",
    }
    assert scanindex.index_file(eng.repo, third.files_tree).exists()


@pytest.mark.parametrize(
    ("version", "object_format", "split"),
    [
        ("2", "sha1", False),
        ("3", "sha1", False),
        ("4", "sha1", False),
        ("2", "sha1", True),
        ("2", "sha256", False),
        ("4", "sha256", True),
    ],
)
def test_racy_entries_are_smudged_in_every_index_format(
    tmp_path: Path, version: str, object_format: str, split: bool
) -> None:
    """scanracy.smudge: the file entries whose ctime or mtime second is not before `since` get
    git's smudge (size 0: git compares their bytes), in index versions 2 to 4 (3: an
    intent-to-add entry's extended flags), split or not, for both object formats; the others
    keep their stat data, the file its mtime. A damaged file is refused, never given a new
    checksum."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home", object_format=object_format)
    split_option = f"core.splitIndex={str(split).lower()}"
    config = ("-c", split_option, "-c", "splitIndex.maxPercentChange=100")
    for i in range(40):
        repo.write(f"old/{'n' * (i % 9)}{i}", b"old\n" * i)
    (repo.path / ".git" / "index").unlink()  # a new index is written in `index.version`
    repo.git(*config, "-c", f"index.version={version}", "add", "-A")
    time.sleep(1.02 - time.time() % 1)
    since = int(time.time())
    repo.write("new.txt", b"new\n")
    os.utime(repo.path / "new.txt", (1_577_836_800, 1_577_836_800))  # its ctime alone is new
    repo.git(*config, "add", "new.txt")  # split: in the index's own part
    if version == "3":
        repo.write("later.txt", b"later\n")
        repo.git(*config, "add", "-N", "later.txt")
    index = repo.path / ".git" / "index"
    mtime = index.stat().st_mtime_ns
    assert scanracy.smudge(index, since, sha256=object_format == "sha256")
    assert index.stat().st_mtime_ns == mtime
    assert int.from_bytes(index.read_bytes()[4:8], "big") == int(version)
    sizes = dict(
        re.findall(r"(?m)^(\S+)\n(?:  .*\n)*?  size: (\d+)", repo.git("ls-files", "--debug"))
    )
    assert sizes.pop("new.txt") == "0"
    assert sizes.pop("later.txt", "0") == "0"  # intent-to-add: no stat data at all
    assert sizes == {p: str(os.path.getsize(repo.path / p)) for p in sizes}
    # Damaged, with an entry to smudge: refused as it is.
    repo.write("new.txt", b"NEW\n")
    repo.git("add", "new.txt")
    data = bytearray(index.read_bytes())
    data[len(data) // 2] ^= 0xFF
    index.write_bytes(data)
    assert not scanracy.smudge(index, since, sha256=object_format == "sha256")
    assert index.read_bytes() == data


def test_the_smudge_never_writes_through_a_link_at_its_scratch_name(tmp_path: Path) -> None:
    """The smudged index is written under a name beside it: a link an operation left at that
    name (the git dir is the tree's too) is replaced, never written through."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    time.sleep(1.02 - time.time() % 1)
    since = int(time.time())
    repo.write("new.txt", b"new\n")
    repo.git("add", "new.txt")
    index = repo.path / ".git" / "index"
    outside = tmp_path / "outside"
    outside.write_bytes(b"not yours\n")
    (index.parent / "index.smudged").symlink_to(outside)
    assert scanracy.smudge(index, since, sha256=False)
    assert outside.read_bytes() == b"not yours\n"
    assert "size: 0" in repo.git("ls-files", "--debug", "new.txt")


def _many_files_changed(repo: GitRepo) -> tuple[Engine, checkpoint.Snapshot]:
    """320 committed files, a checkpoint of them, then every one of them changed."""
    for i in range(320):
        repo.write(f"d{i % 7}/f{i}.txt", b"%d\n" % i)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "many")
    eng = _engine(repo)
    pre = snapshot.capture(eng.repo, message="pre", ref="refs/atomic/test/pre").snapshot
    for i in range(320):
        repo.write(f"d{i % 7}/f{i}.txt", b"changed %d\n" % i)
    return eng, pre


def test_a_large_restore_carries_the_scan_index_to_the_restored_tree(repo: GitRepo) -> None:
    """After a rollback that rewrote hundreds of files, the scan index describes the restored
    tree (scanindex.follow), so the next capture does not take the rewritten files for changes; it
    still sees a change made after the rollback."""
    eng, pre = _many_files_changed(repo)
    before = repo.fingerprint()
    eng.rollback_to(None, pre.commit, event="rollback")
    assert repo.read("d0/f0.txt") == b"0\n" and repo.fingerprint() != before
    assert repo.git("rev-parse", scanindex.ref_name(eng.repo)).strip() == pre.files_tree
    assert scanindex.index_file(eng.repo, pre.files_tree).exists()
    repo.write("d1/f1.txt", b"after\n")
    after = _capture(repo, None)
    assert repo.git("show", f"{after.files_tree}:d1/f1.txt") == "after\n"
    assert repo.git("show", f"{after.files_tree}:d2/f2.txt") == "2\n"


@pytest.mark.parametrize("split", [False, True])
def test_a_rollback_to_the_tree_its_scan_started_from_takes_that_scan_index_back(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, split: bool
) -> None:
    """An abort's rescue scans from the scan index of the state it goes back to: that index
    (the very file) becomes the worktree's again once the files are back, with nothing
    written (no `update-index`, no `write-tree` of its copy), and its shared index with it
    (split: the rescue's own may have been made anew). The next capture still sees, exactly,
    every kind of change made after the rollback, in its second, with the sizes kept."""
    if split:
        monkeypatch.setenv("GIT_ATOMIC_SPLIT_SCAN_AT", "1")
    eng, pre = _many_files_changed(repo)
    repo.write("gone.txt", b"was here\n")
    repo.write("d3/new.txt", b"made by the operation\n")
    os.chmod(repo.path / "d2/f2.txt", 0o755)
    pre_index = scanindex.index_file(eng.repo, pre.files_tree)
    inode = pre_index.stat().st_ino
    eng.rollback_to(None, pre.commit, event="rollback")
    assert repo.git("rev-parse", scanindex.ref_name(eng.repo)).strip() == pre.files_tree
    assert pre_index.stat().st_ino == inode
    env = {"GIT_INDEX_FILE": str(pre_index)}
    listed = subprocess.run(
        ["git", "ls-files", "-s"], cwd=repo.path, env={**repo.env, **env}, capture_output=True
    )
    assert listed.returncode == 0, listed.stderr  # its shared index is there
    shared = {p.name for p in (repo.path / ".git").glob("sharedindex.*")}
    assert shared == ({splitindex.shared_of(eng.repo, pre_index)} if split else set())
    assert not list((eng.repo.state_dir / "tmp").glob("scan-follow-*"))
    # Changes right after, in the same second: a restored file and one the restore left
    # alone, each edited to the same size; one deleted, one made, a mode changed.
    repo.write("d0/f0.txt", b"x\n")
    repo.write("d1/f300.txt", b"y\n")
    (repo.path / "d4/f4.txt").unlink()
    repo.write("d5/later.txt", b"later\n")
    os.chmod(repo.path / "d6/f6.txt", 0o755)
    after = _capture(repo, None)
    scratch = repo.path.parent / "oracle-index"
    oracle = {**repo.env, "GIT_INDEX_FILE": str(scratch)}
    subprocess.run(["git", "add", "-A"], cwd=repo.path, env=oracle, check=True)
    expected = (
        subprocess.run(
            ["git", "write-tree"], cwd=repo.path, env=oracle, capture_output=True, check=True
        )
        .stdout.decode()
        .strip()
    )
    assert after.files_tree == expected


def test_a_scan_index_an_earlier_rollback_left_aside_is_never_taken_back(repo: GitRepo) -> None:
    """Earlier versions set the target's scan index aside for a restore (a process that runs
    many rollbacks, the MCP server, could leave one where a rollback failed before its
    restore). Nothing sets one aside now (scan.goes_back), and a file left at that name is
    never taken back: a rollback to that tree whose rescue scanned from another index (a
    capture since) makes the scan index follow by git; the file is a dead process's scratch,
    which `recover` and `gc` sweep (scratch.remove_dead)."""
    eng, pre = _many_files_changed(repo)
    _capture(repo, "refs/atomic/test/since")  # the scan ref names another tree now
    aside = eng.repo.state_dir / "tmp" / f"scan-follow-{os.getpid()}-{pre.files_tree}"
    aside.parent.mkdir(exist_ok=True)
    aside.write_bytes(b"left by a rollback that failed\n")
    eng.rollback_to(None, pre.commit, event="rollback")
    assert repo.git("rev-parse", scanindex.ref_name(eng.repo)).strip() == pre.files_tree
    made = scanindex.index_file(eng.repo, pre.files_tree)
    assert made.read_bytes() != b"left by a rollback that failed\n"
    repo.write("d1/f1.txt", b"after\n")
    assert repo.git("show", f"{_capture(repo, None).files_tree}:d1/f1.txt") == "after\n"


def test_a_rescue_asks_git_what_the_restore_changes_beside_the_reconciliation(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rescue's capture starts git's diff of its tree against the restore's target as soon
    as it has the tree, in a thread beside the diff of your entries (two cores): the diff the
    restore is planned from is that one, the same as asked alone; a diff started so that git
    fails is asked again, and fails, where it is asked for."""
    eng, pre = _many_files_changed(repo)
    started: list[tuple[str, str]] = []
    beside = git.Repo.diff_trees_beside

    def spy(self: git.Repo, a: str, b: str) -> None:
        started.append((a, b))
        beside(self, a, b)

    monkeypatch.setattr(git.Repo, "diff_trees_beside", spy)
    done = eng.rollback_to(None, pre.commit, event="rollback")
    rescue = checkpoint.load(eng.repo, done.rescue)
    assert started == [(rescue.files_tree, pre.files_tree)]
    alone = git.Repo(eng.repo.root, eng.repo.git_dir, eng.repo.common_dir)
    asked = alone.diff_trees(rescue.files_tree, pre.files_tree)
    assert len(asked) == 320 and asked == eng.repo.diff_trees(rescue.files_tree, pre.files_tree)
    bad = "1" * len(pre.files_tree)
    alone.diff_trees_beside(bad, pre.files_tree)
    with pytest.raises(GitError):
        alone.diff_trees(bad, pre.files_tree)


@pytest.mark.parametrize("gone", [False, True])
def test_a_large_restore_reads_the_bytes_it_writes_beside_its_removals(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, gone: bool
) -> None:
    """A restore that writes 100 blobs or more has git read them in a thread of its own,
    started before it removes anything (blobsahead.py); each file gets its own bytes. Where a
    blob is gone from the store, the restore fails where it did, before any file is written."""
    from git_atomic.engine import blobsahead

    eng, pre = _many_files_changed(repo)
    repo.write("d0/gone.txt", b"made by the operation\n")
    started: list[int] = []
    start = blobsahead.start

    def spy(r: git.Repo, oids: list[str]) -> blobsahead.Blobs | None:
        started.append(len(oids))
        assert repo.read("d0/gone.txt") == b"made by the operation\n"  # nothing removed yet
        return start(r, oids)

    monkeypatch.setattr(blobsahead, "start", spy)
    if gone:
        oid = repo.git("rev-parse", f"{pre.files_tree}:d3/f3.txt").strip()
        (repo.path / ".git" / "objects" / oid[:2] / oid[2:]).unlink()
        with pytest.raises(GitError):
            eng.rollback_to(None, pre.commit, event="rollback")
        assert all(repo.read(f"d{i % 7}/f{i}.txt") == b"changed %d\n" % i for i in range(320))
        return
    eng.rollback_to(None, pre.commit, event="rollback")
    assert started == [320]
    assert all(repo.read(f"d{i % 7}/f{i}.txt") == b"%d\n" % i for i in range(320))
    assert not (repo.path / "d0/gone.txt").exists()
    assert start(eng.repo, ["0" * 40] * 99) is None  # a small restore reads them inline


@pytest.mark.parametrize("keep", [True, False])
def test_the_scan_index_is_made_to_follow_beside_the_restore_and_kept_only_after_it(
    repo: GitRepo, keep: bool
) -> None:
    """`scanindex.follow` starts git on a copy of the scan index in a thread of its own (the
    restore writes the files meanwhile); `finish` makes it the worktree's only once the
    restore ended without an error, and leaves no copy behind either way."""
    eng, pre = _many_files_changed(repo)
    now = snapshot.capture(eng.repo, message="now", ref="refs/atomic/test/now").snapshot
    following = scanindex.follow(eng.repo, now.files_tree, pre.files_tree)
    assert following is not None and following.scratch.exists()
    following.finish(keep=keep)
    named = repo.git("rev-parse", scanindex.ref_name(eng.repo)).strip()
    assert named == (pre.files_tree if keep else now.files_tree)
    assert scanindex.index_file(eng.repo, named).exists()
    assert not following.scratch.exists()
    # A small restore is left to the next scan.
    assert scanindex.follow(eng.repo, now.files_tree, now.files_tree) is None


def test_core_untracked_cache_false_is_honoured_by_the_scan(repo: GitRepo) -> None:
    """The scan keeps git's untracked cache (it trusts folder mtimes) unless you set
    core.untrackedCache=false; then every folder is listed, and untracked files are still
    all found."""
    repo.write("one", b"1\n")
    first = _capture(repo, None)
    eng = _engine(repo)
    assert b"UNTR" in scanindex.index_file(eng.repo, first.files_tree).read_bytes()
    repo.git("config", "core.untrackedCache", "false")
    discovery.discover.cache_clear()
    eng = _engine(repo)
    repo.write("deep/two", b"2\n")
    second = _capture(repo, None)
    assert b"UNTR" not in scanindex.index_file(eng.repo, second.files_tree).read_bytes()
    assert set(repo.git("ls-tree", "-r", "--name-only", second.files_tree).split()) == {
        "README",
        "one",
        "deep/two",
    }


def test_an_early_scan_honours_core_untracked_cache_false(repo: GitRepo) -> None:
    """The scan `begin` starts before reading the configuration leaves the setting to git:
    with core.untrackedCache=false its scan index loses the cache, and still finds every
    untracked file."""
    repo.atomic("begin", "one", "--history", "shadow", check=0)
    repo.atomic("abort", check=0)
    eng = _engine(repo)
    known = eng.repo.refs(scanindex.SCAN_REFS)[scanindex.ref_name(eng.repo)]
    assert b"UNTR" in scanindex.index_file(eng.repo, known).read_bytes()
    repo.git("config", "core.untrackedCache", "false")
    repo.atomic("begin", "two", "--history", "shadow", check=0)  # nothing changed
    known = eng.repo.refs(scanindex.SCAN_REFS)[scanindex.ref_name(eng.repo)]
    assert b"UNTR" not in scanindex.index_file(eng.repo, known).read_bytes()
    repo.atomic("abort", check=0)
    repo.write("deep/new.txt", b"new\n")
    repo.atomic("begin", "three", "--history", "shadow", check=0)
    known = eng.repo.refs(scanindex.SCAN_REFS)[scanindex.ref_name(eng.repo)]
    assert b"UNTR" not in scanindex.index_file(eng.repo, known).read_bytes()
    assert "deep/new.txt" in repo.git("ls-tree", "-r", "--name-only", known).split()


def test_the_early_listing_pairs_each_ref_with_its_object(repo: GitRepo, tmp_path: Path) -> None:
    """`begin`'s discovery (early.py) from a subfolder, and the refs it lists with the lock:
    each scan ref with its object, packed or loose, none outside the prefix."""
    tree = repo.git("write-tree").strip()
    head = repo.git("rev-parse", "HEAD").strip()
    repo.git("update-ref", "refs/atomic/scan/main", tree)
    repo.git("update-ref", "refs/atomic/scan/other", head)
    repo.git("pack-refs", "--all")
    repo.git("update-ref", "refs/atomic/scan/zzz", tree)  # one loose, two packed
    repo.git("update-ref", "refs/atomic/scanner", head)  # not under the prefix
    repo.write("sub/file", b"x\n")
    old = os.getcwd()
    os.chdir(repo.path / "sub")
    try:
        found_repo = discovery.discover_early()
    finally:
        os.chdir(old)
    assert (found_repo.root, found_repo.git_dir) == (repo.path, repo.path / ".git")
    refs = gitoutput.parse_refs(capturerefs.listing(found_repo))
    assert {n: o for n, o in refs.items() if n.startswith("refs/atomic/")} == {
        "refs/atomic/scan/main": tree,
        "refs/atomic/scan/other": head,
        "refs/atomic/scan/zzz": tree,
    }
    # Outside a repository: the error discover() gives.
    os.chdir(tmp_path)
    try:
        with pytest.raises(NotARepository):
            discovery.discover_early()
    finally:
        os.chdir(old)


def test_an_early_scan_from_a_scan_index_replaced_since_is_dropped(repo: GitRepo) -> None:
    """A scan started with the lock (early.py) is used only if it started from the scan index
    the capture would use; otherwise it is waited for, removed, and the capture scans anew."""
    from git_atomic.engine import early

    repo.write("a", b"1\n")
    _capture(repo, None)
    discovery.discover.cache_clear()
    old = os.getcwd()
    os.chdir(repo.path)
    try:
        with early.started("test") as ready:
            assert ready is not None and ready.scanning is not None
            started_from = ready.scanning.base_tree
            scratch = ready.scanning.index
            assert ready.scanning.status is not None
            ready.scanning.status.wait()  # it has looked: it cannot have seen b
            repo.write("b", b"2\n")
            moved = _capture(repo, None)  # the scan ref now names another tree
            assert moved.files_tree != started_from
            snap = snapshot.capture(ready.repo, message="t", ref=None, early=ready).snapshot
            assert ready.scanning is None and not scratch.exists()
    finally:
        os.chdir(old)
    assert snap.files_tree == moved.files_tree
    assert not (repo.path / ".git" / "atomic.lock").exists()


@pytest.mark.parametrize("flagged", [False, True])
@pytest.mark.parametrize("how", ["kept", "replaced", "rewritten in place"])
def test_an_early_scan_seeded_from_your_index_is_used_only_from_that_very_file(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, flagged: bool
) -> None:
    """With no scan index yet (a fresh clone), the scan starts with the lock too, seeded from a
    link to your index (early.py); the capture keeps it only when the index it links is that
    same file, unchanged. An index replaced in between (a `git add`), or written over in place
    (`cat saved > .git/index`, not git's way), costs a new scan, never a wrong one. `flagged`:
    the seed has `tracked` skip-worktree (git does not look at it; a seed with flags is seeded
    again without them), the index written over has not, and the file on disk was edited."""
    from git_atomic.engine import early

    repo.write("tracked", b"t\n")
    repo.git("add", "tracked")
    repo.git("commit", "-qm", "tracked")
    unflagged = (repo.path / ".git" / "index").read_bytes()
    if flagged:
        repo.git("update-index", "--skip-worktree", "tracked")
    repo.write("tracked", b"edited on disk\n")
    repo.write("untracked", b"u\n")
    assert not (repo.path / ".git" / "atomic").exists() or not list(
        (repo.path / ".git" / "atomic").glob("scan-*")
    )
    discovery.discover.cache_clear()
    old = os.getcwd()
    os.chdir(repo.path)
    trace = tmp_path / "trace"
    try:
        with early.started("test") as ready:
            assert ready is not None and ready.scanning is not None
            assert ready.scanning.base_tree is None and ready.scanning.seed is not None
            seed = ready.scanning.seed
            assert ready.scanning.status is not None
            ready.scanning.status.wait()  # it has looked
            if how == "replaced":
                repo.write("added", b"a\n")
                repo.git("add", "added")  # a new index file
            elif how == "rewritten in place":
                inode = os.stat(repo.path / ".git" / "index").st_ino
                with open(repo.path / ".git" / "index", "r+b") as fh:
                    fh.write(unflagged)
                    fh.truncate()
                assert os.stat(repo.path / ".git" / "index").st_ino == inode
            monkeypatch.setenv("GIT_TRACE", str(trace))
            snap = snapshot.capture(ready.repo, message="t", ref=None, early=ready).snapshot
            monkeypatch.delenv("GIT_TRACE")
            assert ready.scanning is None and not seed.exists()
    finally:
        os.chdir(old)
    statuses = [line for line in trace.read_text().splitlines() if " status " in line]
    # Kept: no scan of its own; otherwise one (seeded again without the flag where it had one).
    assert bool(statuses) == (how != "kept" or flagged), statuses
    usual = _capture(repo, None)
    assert (snap.files_tree, snap.staged_tree) == (usual.files_tree, usual.staged_tree)
    files = {e.path for e in ready.repo.ls_tree(snap.files_tree, recursive=True)}
    assert {b"tracked", b"untracked"} <= files and (b"added" in files) == (how == "replaced")
    assert repo.git("show", f"{snap.files_tree}:tracked") == "edited on disk\n"
    assert not [p for p in (repo.path / ".git" / "atomic" / "tmp").iterdir() if "seed" in p.name]


def test_the_remembered_reconciliation_brings_the_changes_too(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A capture of the trees the last one saw reads the changes between them from the
    reconciliation's memo, not from `diff-tree`: the same untracked files, one process less."""
    repo.write("untracked", b"u\n")
    repo.write("deep/also", b"a\n")
    repo.write("README", b"edited\n")
    repo.git("add", "README")
    first = snapshot.capture(_engine(repo).repo, message="t", ref=None)
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    again = snapshot.capture(_engine(repo).repo, message="t", ref=None)  # a new Repo: no cache
    assert again.snapshot.files_tree == first.snapshot.files_tree
    assert again.untracked == first.untracked == {b"untracked", b"deep/also"}
    assert "diff-tree" not in trace.read_text()
    # A memo from an older version, without the changes, is worked out again.
    memo = repo.path / ".git" / "atomic" / "reconciled-main.json"
    data = json.loads(memo.read_text())
    del data["changes"]
    memo.write_text(json.dumps(data))
    trace.unlink()
    third = snapshot.capture(_engine(repo).repo, message="t", ref=None)
    assert third.untracked == first.untracked and "diff-tree" in trace.read_text()


def test_the_remembered_reconciliation_still_sees_rules_and_ignored_files(repo: GitRepo) -> None:
    """Between two captures of the same trees, the answer of the last reconciliation is reused
    (scan.py); what could change it without changing those trees is still seen: a rule in
    info/exclude or core.excludesFile that now ignores an untracked file, and a file you track
    although ignored that is back on disk."""
    repo.write(".gitignore", b"*.ign\n")
    repo.write("forced.ign", b"f\n")
    repo.git("add", ".gitignore")
    repo.git("add", "-f", "forced.ign")
    repo.git("commit", "-qm", "t")
    os.unlink(repo.path / "forced.ign")  # tracked, ignored, absent
    repo.write("untracked", b"u\n")
    repo.write("other", b"o\n")
    first = _capture(repo, None)
    assert _capture(repo, None).files_tree == first.files_tree  # remembered, and reused
    names = set(repo.git("ls-tree", "-r", "--name-only", first.files_tree).split())
    assert {"untracked", "other"} <= names and "forced.ign" not in names
    repo.write("forced.ign", b"back\n")
    back = _capture(repo, None)
    assert repo.git("show", f"{back.files_tree}:forced.ign") == "back\n"
    repo.write(".git/info/exclude", b"untracked\n")
    excluded = _capture(repo, None)
    assert "untracked" not in repo.git("ls-tree", "-r", "--name-only", excluded.files_tree)
    home_rules = repo.path.parent / "more-rules"
    home_rules.write_bytes(b"other\n")
    repo.git("config", "core.excludesFile", str(home_rules))
    discovery.discover.cache_clear()
    names = set(repo.git("ls-tree", "-r", "--name-only", _capture(repo, None).files_tree).split())
    assert "other" not in names and "forced.ign" in names


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_blobs_stored_loose_are_not_written_again_in_a_pack(
    tmp_path: Path, object_format: str
) -> None:
    """Past a few blobs, one `fast-import` stores them (in a pack past its `unpackLimit`, 100).
    It leaves out only what a pack holds, so the blobs already stored loose (as the scan's
    `update-index` stores a file's bytes, an LFS file's 2 MiB among them) are only freshened:
    the pack holds the others alone, and every id is git's, in either object format."""
    repo = GitRepo(tmp_path / "r", hermetic_env(tmp_path / "home"))
    (tmp_path / "r").mkdir()
    repo.git("init", "-q", "-b", "main", f"--object-format={object_format}")
    contents = [b"content %d\n" % i * (i % 7 + 1) for i in range(330)]
    loose = contents[::3]
    for data in loose:
        repo.git("hash-object", "-w", "--stdin", input=data)
    old = time.time() - 3 * 86400
    objects = repo.path / ".git" / "objects"
    for folder in objects.iterdir():
        for f in folder.iterdir() if len(folder.name) == 2 else ():
            os.utime(f, (old, old))
    oids = _engine(repo).repo.write_blobs(contents)
    for data, oid in zip(contents, oids, strict=True):
        assert oid == repo.git("hash-object", "--stdin", input=data).strip()
        assert repo.git("cat-file", "blob", oid) == data.decode()
    packs = list((objects / "pack").glob("*.idx"))
    assert len(packs) == 1
    listed = repo.git("verify-pack", "-v", str(packs[0])).splitlines()
    in_pack = {line.split()[0] for line in listed if " blob " in line}
    assert in_pack == {oid for data, oid in zip(contents, oids, strict=True) if data not in loose}
    for data in loose:  # freshened, as git does before it would write one again
        oid = oids[contents.index(data)]
        assert (objects / oid[:2] / oid[2:]).stat().st_mtime > old + 86400


@pytest.mark.parametrize("appears", ["nothing", "file", "folder", "link-to-folder", "file-on-way"])
def test_sparse_flags_are_remembered_only_while_no_skipped_file_is_on_disk(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, appears: str
) -> None:
    """In a sparse checkout git reads a skip-worktree entry whose path is on disk as an
    ordinary one (path_found: an lstat, through a link on the way), so the flags a capture
    remembers for an unchanged index hold only while none of those paths is there. Nothing
    there: remembered, no listing of the index's flags. Something there, however it got there
    (a file, a folder at a file's path, a link where a folder left out was): the flags are
    git's reading of them now."""
    for path in ("out/a", "out/sub/b", "in/c"):
        repo.write(path, path.encode())
    repo.git("add", "-A")
    repo.git("commit", "-qm", "dirs")
    repo.git("sparse-checkout", "set", "in")
    assert not (repo.path / "out").exists()
    _capture(repo, None)  # the flags are remembered for this index
    made = {
        "nothing": lambda: None,
        "file": lambda: repo.write("out/a", b"written outside\n"),
        "folder": lambda: (repo.path / "out" / "sub" / "b").mkdir(parents=True),
        "link-to-folder": lambda: (repo.path / "out").symlink_to("in"),
        "file-on-way": lambda: repo.write("out", b"a file where the folder was\n"),
    }
    if appears == "link-to-folder":
        repo.write("in/a", b"seen through the link\n")
    made[appears]()
    trace = tmp_path / "trace.json"
    monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))
    snap = _capture(repo, None)
    monkeypatch.delenv("GIT_TRACE2_EVENT")
    listed = [
        e["argv"]
        for e in map(json.loads, trace.read_text().splitlines())
        if e["event"] == "start" and "ls-files" in e["argv"] and "-v" in e["argv"]
    ]
    assert bool(listed) == (appears != "nothing"), listed  # a file on the way: git is asked
    gits = {
        line[2:].encode()
        for line in repo.git("ls-files", "-v").splitlines()
        if line.startswith("S ")
    }
    flags = checkpoint.load_flags(_engine(repo).repo, snap)
    assert flags.skip_worktree == gits, (appears, sorted(flags.skip_worktree), sorted(gits))
    if appears == "nothing":
        assert gits == {b"out/a", b"out/sub/b"} and not listed


@pytest.mark.parametrize("where", ["refs/heads/linked", "packed-refs", "logs/refs/heads/main"])
def test_begin_lists_no_ref_through_a_link_before_it_refuses_it(
    repo: GitRepo, tmp_path: Path, where: str
) -> None:
    """`begin` lists the refs a capture reads with its lock, before its scan (early.py): never
    where git would read one through a link (a ref, `packed-refs` or a reflog made a link to
    a file outside), which the command then refuses by name, having asked git no listing."""
    head = repo.git("rev-parse", "HEAD").strip()
    outside = tmp_path / "outside"
    text = f"{head} refs/heads/packed\n" if where == "packed-refs" else f"{head}\n"
    outside.write_text(text)
    link = repo.path / ".git" / where
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to(outside)
    trace = tmp_path / "trace.json"
    res = repo.atomic("begin", "linked", env={"GIT_TRACE2_EVENT": str(trace)})
    assert res.returncode == 3 and "symbolic link" in res.stderr, (res.stdout, res.stderr)
    # (a link at packed-refs is refused before any git runs: no trace at all then)
    lines = trace.read_text().splitlines() if trace.exists() else []
    listings = [
        json.loads(line)["argv"]
        for line in lines
        if json.loads(line)["event"] == "start" and "for-each-ref" in json.loads(line)["argv"]
    ]
    assert not [a for a in listings if "refs/heads/" in a], listings
    assert outside.read_text() == text
