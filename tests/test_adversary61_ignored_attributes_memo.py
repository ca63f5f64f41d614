"""Which `.gitattributes` may stand beside tracked files in folders a rule ignores is git's answer
to one `ls-tree -r -d` of the staged tree (conversion.in_ignored_folders), and a tree's id names
its entries: the answer for the same tree and the same ignored folders never changes. It was
kept in the process only, so every capture of a worktree with an ignored `build/` ran it again
(the benchmark's `begin` and the rescue of its `abort`, each hook call's checkpoint; issue 17,
stop 61). It is now kept in `.git/atomic` (engine/ignoredattrs.py) for the last few trees.

Each case checks the process count (GIT_TRACE2_EVENT) and the answer's effect on the disk's
side: a CRLF file force-added under an ignored folder whose `.gitattributes` says `eol=crlf`
is still taken through git's conversion (the checkpoint's blob is git's, LF), whichever way the
answer came, and a damaged or foreign record is git's answer again.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

LISTING = "ls-tree"


def _listings(trace: Path) -> list[list[str]]:
    """The arguments of each `ls-tree -r -d` a GIT_TRACE2_EVENT file saw start."""
    found = []
    for event in map(json.loads, trace.read_text().splitlines()):
        if event["event"] == "start":
            args = [a for a in event["argv"][1:] if not a.startswith("-c") and "=" not in a]
            if LISTING in args and "-d" in args:
                found.append(args)
    return found


def _begin_abort(repo: GitRepo, trace: Path, name: str) -> list[list[str]]:
    trace.unlink(missing_ok=True)
    env = {"GIT_TRACE2_EVENT": str(trace), "GIT_ATOMIC_HELPER": "0"}
    repo.atomic_json("begin", name, "--history", "shadow", env=env, timeout=60)
    repo.atomic_json("abort", env=env, timeout=60)
    return _listings(trace)


def _memo_files(repo: GitRepo) -> list[Path]:
    return sorted((repo.path / ".git" / "atomic").glob("attrs-ignored-*"))


def test_the_ignored_folders_attributes_are_asked_once_per_tree(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.write(".gitignore", b"build/\n")
    repo.write("build/out/x.o", b"object\n")
    repo.write("a.txt", b"a\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "rules")
    trace = tmp_path / "trace.json"
    # The first capture asks git; every later one of the same staged tree does not.
    first = _begin_abort(repo, trace, "one")
    assert len(first) == 1 and first[0][-1] == "build", first
    assert _begin_abort(repo, trace, "two") == []
    assert len(_memo_files(repo)) == 1

    # A damaged record (any byte) is no record: git is asked again, and the answer kept anew.
    memo = _memo_files(repo)[0]
    data = bytearray(memo.read_bytes())
    data[-1] ^= 0x01
    memo.write_bytes(bytes(data))
    assert len(_begin_abort(repo, trace, "three")) == 1
    assert _begin_abort(repo, trace, "four") == []

    # Another staged tree: a CRLF file force-added in the ignored folder. Asked again.
    repo.write("build/keep.txt", b"kept\r\n")
    repo.git("add", "-f", "build/keep.txt")
    assert len(_begin_abort(repo, trace, "five")) == 1
    # Then a `.gitattributes` beside it that says `eol=crlf`, on disk only (ignored, as the
    # folder is): git applies it to the tracked file. The same staged tree, so no process
    # asks; the answer names the file whether it was there or not, and the capture reads it:
    # a rule converts the file, so the checkpoint holds its bytes on disk (CRLF), not the LF
    # blob git's conversion makes (which an answer without the file gave: a restore would
    # then write LF).
    repo.write("build/.gitattributes", b"*.txt eol=crlf\n")
    repo.write("build/keep.txt", b"kept\r\nmore\r\n")
    trace.unlink(missing_ok=True)
    env = {"GIT_TRACE2_EVENT": str(trace), "GIT_ATOMIC_HELPER": "0"}
    pre_op = repo.atomic_json("begin", "six", "--history", "shadow", env=env)
    assert _listings(trace) == []
    commit = pre_op["checkpoints"]["pre_op"]
    raw = subprocess.run(
        ["git", "cat-file", "blob", f"{commit}:files/build/keep.txt"],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        check=True,
    ).stdout
    assert raw == b"kept\r\nmore\r\n"
    repo.write("build/keep.txt", b"changed by the operation\r\n")
    repo.atomic_json("abort")
    assert repo.read("build/keep.txt") == b"kept\r\nmore\r\n"
    assert repo.read("build/.gitattributes") == b"*.txt eol=crlf\n"


def test_another_ignored_folder_is_asked_about(repo: GitRepo, tmp_path: Path) -> None:
    """The record names the folders it answered for: a folder newly ignored (the same staged
    tree) is git's answer again, never the last one's."""
    repo.write(".gitignore", b"build/\ndist/\n")
    repo.write("build/x.o", b"o\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "rules")
    trace = tmp_path / "trace.json"
    assert [args[-1] for args in _begin_abort(repo, trace, "one")] == ["build"]
    repo.write("dist/y.o", b"o\n")
    asked = _begin_abort(repo, trace, "two")
    assert len(asked) == 1 and asked[0][-2:] == ["build", "dist"], asked


@pytest.mark.parametrize("kind", ["fifo", "link"])
def test_a_record_that_is_a_fifo_or_a_link_is_no_record(
    repo: GitRepo, tmp_path: Path, kind: str
) -> None:
    """As every state file of ours (tests/test_state_memos_not_followed.py): never waited on,
    never read or written through a link; git is asked instead."""
    repo.write(".gitignore", b"build/\n")
    repo.write("build/x.o", b"o\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "rules")
    trace = tmp_path / "trace.json"
    _begin_abort(repo, trace, "one")
    path = _memo_files(repo)[0]
    outside = tmp_path / "elsewhere"
    outside.write_bytes(path.read_bytes())
    before = outside.stat()
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(outside)
    try:
        # Asked by the begin, whose answer then stands at the name (the link itself replaced,
        # never followed): the abort's.
        assert len(_begin_abort(repo, trace, "two")) == 1
    except subprocess.TimeoutExpired:
        pytest.fail(f"waited on the {kind}")
    assert path.is_file() and not path.is_symlink()
    after = outside.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)
