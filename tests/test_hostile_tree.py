"""Hostile trees: symbolic links to folders outside the repository, at every position, swapped
in before an operation, by it, and between a rollback and its undo. Whatever the way back
(rollback, abort, undo, selective rollback, emergency, recover, `run --isolate`'s apply), a
marker folder outside the repository stays byte for byte as it was (walked with lstat, bytes,
readlink, mtimes), and the repository is what it must be, read from the disk, not from git."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from testing import oracle
from testing.gitrepo import GitRepo, hermetic_env

POSITIONS = ["a/b/c", "a/b", "a"]  # the folder holding the file, its parent, its grandparent
# Both history modes at every position for the main case; elsewhere two positions, one mode
# each, and the third with --slow.
SPREAD = [
    ("a/b/c", "commits"),
    ("a", "shadow"),
    pytest.param("a/b", "commits", marks=pytest.mark.slow),
]
ONE = [SPREAD[0], *(pytest.param(*p, marks=pytest.mark.slow) for p in SPREAD[1:2])]
KILL_AFTER_OP_EXEC = {"GIT_ATOMIC_FAILPOINT": "checkpoint:op_exec:after-journal"}

Walk = dict[bytes, tuple[object, ...]]


def walk(top: Path, *, exact: bool) -> Walk:
    """Every entry under `top` (not `.git`): kind, bytes or link target, folders too (empty
    ones count). `exact`: also the full mode and mtime (the marker must not even be touched)."""
    out: Walk = {}
    base = os.fsencode(top)

    def visit(folder: bytes, rel: bytes) -> None:
        for name in sorted(os.listdir(folder)):
            if not rel and name == b".git":
                continue
            full, here = folder + b"/" + name, rel + name
            st = os.lstat(full)
            extra: tuple[object, ...] = (st.st_mode, st.st_mtime_ns) if exact else ()
            if stat.S_ISLNK(st.st_mode):
                out[here] = ("link", os.readlink(full), *extra)
            elif stat.S_ISDIR(st.st_mode):
                out[here] = ("dir", *extra)
                visit(full, here + b"/")
            else:
                with open(full, "rb") as fh:
                    out[here] = ("file", bool(st.st_mode & 0o100), fh.read(), *extra)

    visit(base, b"")
    return out


class Scene:
    """A repository with a/b/c/f.txt, a/b/g.txt, a/h.txt (tracked) and a/b/c/u.txt
    (untracked), and a marker folder outside holding the same names at every depth, so that
    anything written, read or deleted through a link to it lands on one of its files."""

    def __init__(self, tmp_path: Path, history: str) -> None:
        self.repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
        self.history = history
        self.outside = tmp_path / "outside"
        for rel in ("f.txt", "g.txt", "h.txt", "u.txt", "c/f.txt", "c/u.txt", "b/c/f.txt"):
            path = self.outside / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"OUTSIDE-MARKER " + rel.encode() + b"\n")
        os.symlink("f.txt", self.outside / "c" / "link")
        for rel in ("a/b/c/f.txt", "a/b/g.txt", "a/h.txt"):
            self.repo.write(rel, rel.encode() + b"\n")
        self.repo.git("add", "-A")
        self.repo.git("commit", "-q", "-m", "tree")
        self.repo.write("a/b/c/u.txt", b"untracked\n")
        self.marker = walk(self.outside, exact=True)

    def swap(self, position: str) -> str:
        """The shell words that replace the folder at `position` by a link to the marker."""
        return f"rm -rf {position} && ln -s {self.outside} {position}"

    def swap_now(self, position: str) -> None:
        full = self.repo.path / position
        for dirpath, dirs, files in os.walk(full, topdown=False):
            for name in files:
                os.unlink(os.path.join(dirpath, name))
            for name in dirs:
                os.rmdir(os.path.join(dirpath, name))
        os.rmdir(full)
        os.symlink(self.outside, full)

    def state(self) -> Walk:
        return walk(self.repo.path, exact=False)

    def run(self, command: str, *, check: int, extra: tuple[str, ...] = ()) -> None:
        self.repo.atomic(
            "run", "--history", self.history, *extra, "--", "sh", "-c", command, check=check
        )

    def assert_marker_untouched(self) -> None:
        assert walk(self.outside, exact=True) == self.marker
        # Nothing outside was read into a checkpoint either.
        refs = self.repo.git("for-each-ref", "--format=%(objectname)", "refs/atomic/ops/").split()
        if refs:
            hits = self.repo.git("grep", "-l", "OUTSIDE-MARKER", *refs, check=False)
            assert hits == "", f"a checkpoint holds a file from outside: {hits}"


@pytest.mark.parametrize("history", ["commits", "shadow"])
@pytest.mark.parametrize("position", POSITIONS)
def test_an_operation_swaps_a_folder_for_a_link_then_fails(
    tmp_path: Path, position: str, history: str
) -> None:
    """The issue's first example: the rollback wrote src/app.py through the link."""
    scene = Scene(tmp_path, history)
    before = scene.state()
    scene.run(scene.swap(position) + "; exit 1", check=1)
    scene.assert_marker_untouched()
    assert scene.state() == before
    scene.repo.atomic("undo", check=0)
    scene.assert_marker_untouched()
    after_op = scene.state()
    assert after_op[position.encode()] == ("link", os.fsencode(scene.outside))
    assert not any(p.startswith(position.encode() + b"/") for p in after_op)
    scene.repo.atomic("undo", check=0)
    scene.assert_marker_untouched()
    assert scene.state() == before


@pytest.mark.parametrize(("position", "history"), SPREAD)
def test_the_user_swaps_a_folder_for_a_link_between_rollback_and_undo(
    tmp_path: Path, position: str, history: str
) -> None:
    """The issue's undo example: undo wrote the operation's files through the user's link."""
    scene = Scene(tmp_path, history)
    scene.run(
        "echo op > a/b/c/f.txt && echo op > a/b/c/new.txt && echo op > a/h.txt; exit 1", check=1
    )
    scene.repo.atomic("undo", check=0)
    op_state = scene.state()
    scene.repo.atomic("undo", check=0)  # back before the operation: undo takes it back again
    scene.swap_now(position)
    swapped = scene.state()
    res = scene.repo.atomic("undo")
    scene.assert_marker_untouched()
    if res.returncode == 0:
        assert scene.state() == op_state
        scene.repo.atomic("undo", check=0)
        scene.assert_marker_untouched()
        assert scene.state() == swapped
    else:  # refused (effect cannot be re-applied over the link): nothing changed
        assert scene.state() == swapped


@pytest.mark.parametrize(("position", "history"), SPREAD)
def test_a_link_at_pre_op_replaced_by_a_folder_comes_back_as_the_link(
    tmp_path: Path, position: str, history: str
) -> None:
    scene = Scene(tmp_path, history)
    scene.swap_now(position)
    before = scene.state()
    # The operation replaces the link by a real folder holding the marker's names.
    make = f"rm {position} && mkdir -p {position}/c && echo op > {position}/f.txt"
    scene.run(
        make + f" && echo op > {position}/c/f.txt && echo op > {position}/u.txt; exit 1", check=1
    )
    scene.assert_marker_untouched()
    assert scene.state() == before
    scene.repo.atomic("undo", check=0)
    scene.assert_marker_untouched()
    assert scene.state()[position.encode() + b"/c/f.txt"] == ("file", False, b"op\n")
    scene.repo.atomic("undo", check=0)
    scene.assert_marker_untouched()
    assert scene.state() == before


@pytest.mark.parametrize(("position", "history"), ONE)
def test_abort_after_a_link_was_swapped_in(tmp_path: Path, position: str, history: str) -> None:
    scene = Scene(tmp_path, history)
    before = scene.state()
    scene.repo.atomic("begin", "swap", "--history", history, check=0)
    scene.repo.write("a/b/c/f.txt", b"edited\n")
    scene.repo.atomic("checkpoint", check=0)
    scene.swap_now(position)
    scene.repo.atomic("abort", check=0)
    scene.assert_marker_untouched()
    assert scene.state() == before


@pytest.mark.parametrize(("position", "history"), ONE)
def test_immediate_rollback_inside_an_operation_steps_back_over_a_link(
    tmp_path: Path, position: str, history: str
) -> None:
    scene = Scene(tmp_path, history)
    before = scene.state()
    scene.repo.atomic("begin", "swap", "--history", history, check=0)
    scene.swap_now(position)
    scene.repo.atomic("rollback", check=0)
    scene.assert_marker_untouched()
    assert scene.state() == before
    scene.repo.atomic("abort", check=0)
    scene.assert_marker_untouched()


@pytest.mark.parametrize(("position", "history"), SPREAD)
def test_selective_rollback_of_a_folder_holding_a_link(
    tmp_path: Path, position: str, history: str
) -> None:
    scene = Scene(tmp_path, history)
    before = scene.state()
    res = scene.repo.atomic_json("run", "--history", history, "--", "sh", "-c", "echo op > top")
    pre = res["checkpoints"]["pre_op"]
    scene.swap_now(position)
    swapped = scene.state()
    for named in ("a/b/c/f.txt", position):  # through the link, or the link itself
        refused = scene.repo.atomic("rollback", "--to", pre, "--", named, check=2)
        assert "symbolic link" in refused.stderr
    assert scene.state() == swapped
    if position == "a":
        return  # no folder above the link to name
    scene.repo.atomic("rollback", "--to", pre, "--", "a", check=0)
    scene.assert_marker_untouched()
    now = scene.state()
    assert {p: v for p, v in now.items() if p.startswith(b"a")} == {
        p: v for p, v in before.items() if p.startswith(b"a")
    }
    assert now[b"top"] == ("file", False, b"op\n")
    scene.repo.atomic("undo", check=0)
    scene.assert_marker_untouched()
    assert scene.state() == swapped


@pytest.mark.parametrize(("position", "history"), SPREAD)
def test_emergency_over_a_link(tmp_path: Path, position: str, history: str) -> None:
    scene = Scene(tmp_path, history)
    scene.run("echo op > a/b/c/f.txt", check=0)
    good = scene.state()
    scene.swap_now(position)
    swapped = scene.state()
    scene.repo.atomic("emergency", check=0)
    scene.assert_marker_untouched()
    assert scene.state() == good
    scene.repo.atomic("undo", check=0)
    scene.assert_marker_untouched()
    assert scene.state() == swapped


@pytest.mark.parametrize(("position", "history"), SPREAD)
def test_recover_after_a_crash_that_left_a_link(
    tmp_path: Path, position: str, history: str
) -> None:
    scene = Scene(tmp_path, history)
    before = scene.state()
    res = scene.repo.atomic(
        "run", "--history", history, "--", "sh", "-c", scene.swap(position), env=KILL_AFTER_OP_EXEC
    )
    assert res.returncode == -9, res.stderr
    scene.repo.atomic("recover", check=0)
    scene.assert_marker_untouched()
    assert scene.state() == before
    scene.repo.atomic("undo", check=0)
    scene.assert_marker_untouched()
    assert scene.state()[position.encode()] == ("link", os.fsencode(scene.outside))


@pytest.mark.parametrize(("position", "history"), SPREAD)
def test_isolated_result_with_a_link_is_applied_without_following_it(
    tmp_path: Path, position: str, history: str
) -> None:
    scene = Scene(tmp_path, history)
    before = scene.state()
    scene.run(scene.swap(position), check=0, extra=("--isolate",))
    scene.assert_marker_untouched()
    now = scene.state()
    assert now[position.encode()] == ("link", os.fsencode(scene.outside))
    # The user's untracked file under it was the user's: a rescue holds it, undo brings it back.
    scene.repo.atomic("undo", check=0)
    scene.assert_marker_untouched()
    assert scene.state() == before


@pytest.mark.parametrize(("position", "history"), SPREAD)
def test_isolated_apply_after_the_user_swapped_in_a_link(
    tmp_path: Path, position: str, history: str
) -> None:
    scene = Scene(tmp_path, history)
    user = scene.repo.path
    # While the command runs in its private worktree, the user's folder becomes a link.
    command = (
        f"rm -rf {user}/{position} && ln -s {scene.outside} {user}/{position} && "
        "echo op > a/b/c/f.txt && echo op > a/b/c/new.txt"
    )
    res = scene.repo.atomic("run", "--isolate", "--history", history, "--", "sh", "-c", command)
    assert res.returncode in (0, 1), res.stderr
    scene.assert_marker_untouched()
    assert scene.state()[position.encode()] == ("link", os.fsencode(scene.outside))


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_an_ignored_link_where_a_folder_was_is_saved_and_removed(
    tmp_path: Path, history: str
) -> None:
    """A rule that ignores the name (`b` in a/.gitignore) hides the link from the capture: the
    rescue still holds it, the restore removes it, undo brings it back."""
    scene = Scene(tmp_path, history)
    scene.repo.write("a/.gitignore", b"b\n")
    scene.repo.git("add", "a/.gitignore")
    scene.repo.git("commit", "-q", "-m", "ignore b")
    os.unlink(scene.repo.path / "a/b/c/u.txt")  # ignored now: not ours to bring back
    before = scene.state()
    scene.run(scene.swap("a/b") + "; exit 1", check=1)
    scene.assert_marker_untouched()
    assert scene.state() == before
    scene.repo.atomic("undo", check=0)
    scene.assert_marker_untouched()
    assert scene.state()[b"a/b"] == ("link", os.fsencode(scene.outside))
    scene.repo.atomic("undo", check=0)
    scene.assert_marker_untouched()
    assert scene.state() == before


# --- kinds swap both ways ------------------------------------------------------------------------
KINDS = ["file", "empty folder", "folder", "link"]
MAKE = {
    "file": "printf op > {p}",
    "empty folder": "mkdir {p}",
    "folder": "mkdir {p} && printf op > {p}/inner2",
    "link": "ln -s elsewhere {p}",
}
PAIRS = [(a, b) for a in KINDS for b in KINDS if a != b]


def _expected(p: bytes, kind: str) -> Walk:
    return {
        "file": {p: ("file", False, b"op")},
        "empty folder": {p: ("dir",)},
        "folder": {p: ("dir",), p + b"/inner2": ("file", False, b"op")},
        "link": {p: ("link", b"elsewhere")},
    }[kind]


def _swap_case(tmp_path: Path, before_kind: str, after_kind: str, depth: int, history: str) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    path = "/".join([*["k1", "k2"][: depth - 1], "p"])
    full = repo.path / path
    full.parent.mkdir(parents=True, exist_ok=True)
    repo.write("keep.txt", b"keep\n")
    if before_kind == "file":
        full.write_bytes(b"before\n")
    elif before_kind == "link":
        os.symlink("before-target", full)
    else:
        full.mkdir()
        if before_kind == "folder":
            (full / "inner").write_bytes(b"before\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "before")
    before = walk(repo.path, exact=False)
    command = f"rm -rf {path} && " + MAKE[after_kind].format(p=path) + "; exit 1"
    repo.atomic("run", "--history", history, "--", "sh", "-c", command, check=1)
    assert walk(repo.path, exact=False) == before, "the rollback is not exact"
    repo.atomic("undo", check=0)
    p = path.encode()
    expected = {k: v for k, v in before.items() if k != p and not k.startswith(p + b"/")}
    expected.update(_expected(p, after_kind))
    assert walk(repo.path, exact=False) == expected, "undo does not bring the operation back"
    repo.atomic("undo", check=0)
    assert walk(repo.path, exact=False) == before, "a second undo is not exact"


@pytest.mark.parametrize(
    ("pair", "depth", "history"),
    [(pair, 1 + i % 3, ("commits", "shadow")[i % 2]) for i, pair in enumerate(PAIRS)],
)
def test_kinds_swap_both_ways(
    tmp_path: Path, pair: tuple[str, str], depth: int, history: str
) -> None:
    """file <-> empty folder <-> folder <-> link, at depths 1 to 3, rolled back and undone."""
    _swap_case(tmp_path, *pair, depth, history)


@pytest.mark.slow
@pytest.mark.parametrize("history", ["commits", "shadow"])
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("pair", PAIRS)
def test_kinds_swap_both_ways_everywhere(
    tmp_path: Path, pair: tuple[str, str], depth: int, history: str
) -> None:
    _swap_case(tmp_path, *pair, depth, history)


# --- paths git never checks out ------------------------------------------------------------------
@pytest.mark.parametrize("name", [".git", ".GIT", "a/.git"])
def test_a_commit_holding_a_git_folder_is_refused_by_emergency(tmp_path: Path, name: str) -> None:
    """A tree made by hand (`git mktree`; git fetches one unchecked by default) can hold
    `.git/hooks/post-commit`: `emergency --to` it must write nothing, least of all a hook."""
    scene = Scene(tmp_path, "shadow")
    git = scene.repo.git
    hook = git("hash-object", "-w", "--stdin", input=b"#!/bin/sh\necho pwned\n").strip()
    tree = git("mktree", input=f"100755 blob {hook}\tpost-commit\n".encode()).strip()
    tree = git("mktree", input=f"040000 tree {tree}\thooks\n".encode()).strip()
    *parents, last = name.split("/")
    tree = git("mktree", input=f"040000 tree {tree}\t{last}\n".encode()).strip()
    for folder in reversed(parents):
        tree = git("mktree", input=f"040000 tree {tree}\t{folder}\n".encode()).strip()
    commit = git("commit-tree", tree, "-m", "made by hand").strip()
    before = scene.state()
    hooks = walk(scene.repo.path / ".git" / "hooks", exact=True)
    res = scene.repo.atomic("emergency", "--to", commit, check=3)
    assert "git never checks out" in res.stderr
    assert walk(scene.repo.path / ".git" / "hooks", exact=True) == hooks
    assert scene.state() == before  # no .GIT, no a/.git either


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_links_an_operation_leaves_in_the_git_dir_are_not_followed(
    tmp_path: Path, history: str
) -> None:
    """git's in-progress files are saved in the rescue: a link an operation puts among them
    (`.git/MERGE_MSG`, `.git/rebase-merge/msg` to a file outside, `.git/rebase-merge/d` to a
    folder outside) is removed itself; what it points to is neither read nor touched."""
    scene = Scene(tmp_path, history)
    before = scene.state()
    out = scene.outside
    scene.run(
        f"ln -s {out}/f.txt .git/MERGE_MSG && mkdir .git/rebase-merge && "
        "printf refs/heads/main > .git/rebase-merge/head-name && "
        f"ln -s {out}/g.txt .git/rebase-merge/msg && ln -s {out}/c .git/rebase-merge/d; exit 1",
        check=1,
    )
    scene.assert_marker_untouched()
    objects = scene.repo.git("cat-file", "--batch-all-objects", "--batch")
    assert "OUTSIDE-MARKER" not in objects
    git_dir = scene.repo.path / ".git"
    assert not os.path.lexists(git_dir / "MERGE_MSG")
    assert not os.path.lexists(git_dir / "rebase-merge")
    assert scene.state() == before
    # The rescue holds the links as links (their targets as text), and undo makes them again.
    scene.repo.atomic("undo", check=0)
    scene.assert_marker_untouched()
    assert sorted(os.listdir(git_dir / "rebase-merge")) == ["d", "head-name", "msg"]
    assert (git_dir / "rebase-merge" / "head-name").read_bytes() == b"refs/heads/main"
    assert os.readlink(git_dir / "MERGE_MSG") == f"{out}/f.txt"
    assert os.readlink(git_dir / "rebase-merge" / "d") == f"{out}/c"
    scene.repo.atomic("undo", check=0)
    scene.assert_marker_untouched()
    assert scene.state() == before and not os.path.lexists(git_dir / "MERGE_MSG")


GIT_DIR_RULE_LINKS = {
    "exclude": "ln -sf {out}/u.txt .git/info/exclude",
    "attributes": "ln -sf {out}/u.txt .git/info/attributes",
    "info": "mv .git/info {out}/../info && ln -s {out}/../info .git/info",
    "alternates": "mkdir -p .git/objects/info && ln -sf {out}/f.txt .git/objects/info/alternates",
    "shallow": "git rev-parse HEAD > {out}/../shallow && ln -s {out}/../shallow .git/shallow",
}


@pytest.mark.parametrize("history", ["commits", "shadow"])
@pytest.mark.parametrize("made", sorted(GIT_DIR_RULE_LINKS))
def test_a_git_dir_file_git_reads_made_a_link_is_refused_not_read_through(
    tmp_path: Path, history: str, made: str
) -> None:
    """An operation that made `.git/info/exclude` (or `info/attributes`, `info` itself,
    `objects/info/alternates`) a link to a file outside: every later git call of the capture
    (and so the rollback) read its rules, or looked for objects, outside the repository
    through it. The capture now refuses such a link by name (exit 3, nothing changed, the
    operation interrupted); once it is a file again, `recover` is exact."""
    scene = Scene(tmp_path, history)
    (scene.repo.path / ".git/info").mkdir(exist_ok=True)
    before = scene.state()
    out = scene.outside
    res = scene.repo.atomic(
        "run",
        "--history",
        history,
        "--",
        "sh",
        "-c",
        "echo op > a/h.txt && " + GIT_DIR_RULE_LINKS[made].format(out=out) + "; exit 1",
        check=3,
    )
    assert "is a symbolic link" in res.stderr and ".git/" in res.stderr, res.stderr
    assert scene.repo.read("a/h.txt") == b"op\n"  # nothing taken back, nothing read
    scene.assert_marker_untouched()
    link = {
        "info": ".git/info",
        "alternates": ".git/objects/info/alternates",
        "shallow": ".git/shallow",
    }.get(made, f".git/info/{made}")
    os.unlink(scene.repo.path / link)
    if made == "info":
        shutil.move(tmp_path / "info", scene.repo.path / ".git/info")
    scene.repo.atomic("recover", check=0)
    assert scene.state() == before
    # One there before an operation opens none.
    os.symlink(out / "u.txt", scene.repo.path / ".git/info/exclude.tmp")
    os.replace(scene.repo.path / ".git/info/exclude.tmp", scene.repo.path / ".git/info/exclude")
    res = scene.repo.atomic("begin", "op", check=3)
    assert "no operation is open" in scene.repo.atomic("status").stdout


@pytest.mark.parametrize("history", ["commits", "shadow"])
@pytest.mark.parametrize("name", ["index", "index.lock"])
def test_an_index_the_operation_made_a_link_comes_back_a_file(
    tmp_path: Path, history: str, name: str
) -> None:
    """`.git/index` (or its lock) swapped for a link to a file outside: the capture never reads
    through it, the rollback puts a regular index back (never writing through the link), the
    rescue holds the link itself, and undo makes it again."""
    scene = Scene(tmp_path, history)
    scene.repo.git("add", "a/b/c/u.txt")
    before = scene.repo.fingerprint()
    out, git_dir = scene.outside, scene.repo.path / ".git"
    # The outside file holds an index too (another repository's, say): the same entries but one.
    scene.repo.git("rm", "-q", "--cached", "a/h.txt")
    shutil.copy(git_dir / "index", out / "idx")
    scene.repo.git("add", "a/h.txt")
    scene.marker = walk(out, exact=True)
    res = scene.repo.atomic_json(
        "run",
        "--history",
        history,
        "--",
        "sh",
        "-c",
        f"echo changed > a/h.txt && ln -sf {out}/idx .git/{name}; exit 1",
        check=1,
    )
    scene.assert_marker_untouched()
    assert not os.path.islink(git_dir / "index") and not os.path.lexists(git_dir / "index.lock")
    assert scene.repo.fingerprint() == before  # its entries, read from the file itself
    rescue = res["checkpoints"]["rescue"]
    listing = scene.repo.git("ls-tree", "-r", f"{rescue}:gitstate/git")
    assert listing.startswith("120000 ") and listing.rstrip().endswith(f"\t{name}"), listing
    assert scene.repo.git("cat-file", "-p", f"{rescue}:gitstate/git/{name}") == f"{out}/idx"
    scene.repo.atomic("undo", check=0)
    scene.assert_marker_untouched()
    assert scene.repo.read("a/h.txt") == b"changed\n"
    if name == "index":
        assert os.readlink(git_dir / name) == f"{out}/idx"
        scene.repo.atomic("undo", check=0)  # and back again
        scene.assert_marker_untouched()
        assert not os.path.islink(git_dir / "index")
        assert scene.repo.fingerprint().index == before.index
    else:  # a lock is not state: never made again
        assert not os.path.lexists(git_dir / name)


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_a_hard_link_to_a_file_outside_is_replaced_not_changed(
    tmp_path: Path, history: str
) -> None:
    """An operation swaps a script for a hard link to a file outside with the same bytes and
    another mode: the rollback's mode change must not reach the file outside (one inode)."""
    scene = Scene(tmp_path, history)
    outside = scene.outside / "script"
    outside.write_bytes(b"#!/bin/sh\n")
    os.chmod(outside, 0o755)
    scene.repo.write("a/h.txt", b"#!/bin/sh\n")
    scene.repo.git("commit", "-qam", "same bytes as outside")
    scene.marker = walk(scene.outside, exact=True)
    before = scene.state()
    scene.run(f"rm a/h.txt && ln {outside} a/h.txt; exit 1", check=1)
    scene.assert_marker_untouched()
    assert scene.state() == before
    assert os.stat(scene.repo.path / "a/h.txt").st_nlink == 1


_SWAPPING_GIT = """#!/bin/sh
# Real git, but the first call handed worktree paths to read by name, once armed, finds the
# folder `a` swapped for a link to the marker first: the race between our lstat and git's read.
if [ -e "$SWAP_ARMED" ]; then
    case " $* " in
    *" hash-object "*|*" update-index "*|*" fast-import "*|*" add "*|*" check-attr "*)
        input=$(mktemp)
        cat > "$input"
        if grep -q "a/b/c/f.txt" "$input"; then
            rm -f "$SWAP_ARMED"
            mv "$SWAP_TOP/a" "$SWAP_TOP/a.moved" && ln -s "$SWAP_TO" "$SWAP_TOP/a"
        fi
        exec "$REAL_GIT" "$@" < "$input"
        ;;
    esac
fi
exec "$REAL_GIT" "$@"
"""


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_a_folder_swapped_for_a_link_while_git_hashes_is_not_followed(
    tmp_path: Path, history: str
) -> None:
    """A capture reads each changed file from its folder's descriptor and hands git the bytes:
    before, it handed git the names (`hash-object --stdin-paths`), and a folder swapped for a
    link between our look and git's read had the marker's file stored in the checkpoint."""
    scene = Scene(tmp_path, history)
    scene.run("true", check=0)  # a scan to start from: the next capture hashes only changes
    wrapper = tmp_path / "bin" / "git"
    wrapper.parent.mkdir()
    wrapper.write_text(_SWAPPING_GIT)
    wrapper.chmod(0o755)
    armed = tmp_path / "armed"
    env = {
        "PATH": f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}",
        "REAL_GIT": shutil.which("git") or "git",
        "SWAP_ARMED": str(armed),
        "SWAP_TOP": str(scene.repo.path),
        "SWAP_TO": str(scene.outside),
    }
    scene.repo.atomic(
        "run",
        "--history",
        history,
        "--",
        "sh",
        "-c",
        f"echo mine > a/b/c/f.txt && touch {armed}",
        env=env,
        check=None,
    )
    assert not armed.exists() and os.path.islink(scene.repo.path / "a")  # the swap happened
    scene.assert_marker_untouched()
    objects = scene.repo.git("cat-file", "--batch-all-objects", "--batch", check=False)
    assert "OUTSIDE-MARKER" not in objects


# --- HEAD, refs and reflogs made links (or, for HEAD, anything git refuses) -------------------

KILL_BEFORE_RESCUE = {"GIT_ATOMIC_FAILPOINT": "rollback:before-rescue"}
HEAD_SWAPS = {
    "link": "ln -sf {out}/head {git_dir}/HEAD",  # git: "not a git repository"
    "folder": "rm {git_dir}/HEAD && mkdir {git_dir}/HEAD && echo x > {git_dir}/HEAD/f",
    "nonsense": "echo nonsense > {git_dir}/HEAD",
    "gone": "rm {git_dir}/HEAD",
}


def operate(
    scene: Scene,
    command: str,
    way: str,
    history: str,
    *,
    after_crash: Callable[[], None] | None = None,
) -> str:
    """Run `command` as an operation that `succeeds` (exits 0; the state it leaves fails it:
    exit 1), `fails` (exits 1), or fails and is killed before its rescue (`crash`), then
    recovered. Returns what git-atomic said."""
    if way == "fails":
        scene.run(command + "; exit 1", check=1)
        return ""
    argv = ["run", "--history", history, "--", "sh", "-c"]
    if way == "succeeds":
        return scene.repo.atomic(*argv, command, check=1).stderr
    res = scene.repo.atomic(*argv, command + "; exit 1", env=KILL_BEFORE_RESCUE)
    assert res.returncode == -9, res.stderr
    if after_crash is not None:
        after_crash()
    scene.repo.atomic("recover", check=0)
    return res.stderr


def _git_dir_walk(git_dir: Path) -> Walk:
    """HEAD and every ref but ours, by lstat (a link is a link, never followed)."""
    out = {b"HEAD": walk_one(git_dir / "HEAD")}
    if (git_dir / "refs").is_dir() and not (git_dir / "refs").is_symlink():
        refs = walk(git_dir / "refs", exact=False).items()
        out.update({b"refs/" + k: v for k, v in refs if not k.startswith(b"atomic")})
    return out


def walk_one(path: Path) -> tuple[object, ...]:
    if not os.path.lexists(path):
        return ("gone",)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(path))
    return ("file", path.read_bytes()) if stat.S_ISREG(st.st_mode) else ("other",)


def _rescue_aside(scene: Scene) -> dict[str, str]:
    """What the newest rescue holds set aside: path -> `mode target-or-bytes`."""
    refs = scene.repo.git("for-each-ref", "--sort=-creatordate", "--format=%(refname)")
    rescues = [r for r in refs.split() if "rescue" in r]
    assert rescues, refs
    listing = scene.repo.git("ls-tree", "-r", f"{rescues[0]}:gitstate/git/atomic-aside")
    held = {}
    for line in listing.splitlines():
        info, path = line.split("\t", 1)
        mode, _, oid = info.split()
        held[path] = f"{mode} {scene.repo.git('cat-file', 'blob', oid)}"
    return held


@pytest.mark.parametrize(
    ("swap", "way", "history"),
    [
        ("link", "fails", "shadow"),
        ("link", "fails", "commits"),
        ("link", "succeeds", "shadow"),
        ("link", "crash", "commits"),
        ("link", "crash", "shadow"),
        ("folder", "fails", "commits"),
        ("folder", "crash", "shadow"),
        ("nonsense", "succeeds", "commits"),
        ("gone", "crash", "shadow"),
        pytest.param("nonsense", "crash", "shadow", marks=pytest.mark.slow),
        pytest.param("gone", "fails", "commits", marks=pytest.mark.slow),
    ],
)
def test_a_head_git_refuses_is_set_aside_and_put_back(
    tmp_path: Path, swap: str, way: str, history: str
) -> None:
    """An operation makes `.git/HEAD` a link to a file outside (or a folder, nonsense, nothing):
    git then says "not a git repository". Before, the rollback failed on git's first call, the
    operation stayed interrupted, and `recover` failed too (discovery asks git). Now HEAD is
    looked at with lstat before git is asked anything and put back from the target; the rescue
    holds what stood there (a link as the link), and `undo` never makes it again."""
    scene = Scene(tmp_path, history)
    (scene.outside / "head").write_bytes(b"ref: refs/heads/main\n")
    scene.marker = walk(scene.outside, exact=True)
    git_dir = scene.repo.path / ".git"
    before, refs_before = scene.state(), _git_dir_walk(git_dir)
    command = "echo op > a/h.txt && " + HEAD_SWAPS[swap].format(out=scene.outside, git_dir=".git")

    def still_damaged() -> None:
        assert walk_one(git_dir / "HEAD") != refs_before[b"HEAD"]  # as the operation left it

    said = operate(scene, command, way, history, after_crash=still_damaged)
    if way == "succeeds":
        assert ".git/HEAD" in said
    scene.assert_marker_untouched()
    assert _git_dir_walk(git_dir) == refs_before
    assert scene.state() == before
    assert not os.path.lexists(git_dir / "atomic-aside")
    scene.repo.git("status")  # git takes the repository again
    if swap == "link":
        assert _rescue_aside(scene) == {"HEAD": f"120000 {scene.outside}/head"}
    scene.repo.atomic("undo", check=0)
    scene.assert_marker_untouched()
    assert scene.repo.read("a/h.txt") == b"op\n"
    assert _git_dir_walk(git_dir) == refs_before  # what git refuses is never made again
    scene.repo.atomic("undo", check=0)
    assert scene.state() == before


INDEX_DAMAGES = {
    "garbage": "echo garbage > .git/index",
    "cut": "head -c 60 .git/index > .git/cut && mv .git/cut .git/index",
    "bad-version": "printf 'DIRC\\000\\000\\000\\143' | dd of=.git/index conv=notrunc 2>/dev/null",
    "missing-object": "git update-index --add --cacheinfo 100644,"
    + "1234567890" * 4
    + ",ghost.txt",
}


@pytest.mark.parametrize(
    ("damage", "way", "history"),
    [
        ("garbage", "fails", "shadow"),
        ("cut", "succeeds", "commits"),
        ("cut", "succeeds", "shadow"),
        ("bad-version", "crash", "shadow"),
        ("missing-object", "succeeds", "shadow"),
        pytest.param("garbage", "crash", "commits", marks=pytest.mark.slow),
        pytest.param("missing-object", "fails", "commits", marks=pytest.mark.slow),
        pytest.param("cut", "crash", "shadow", marks=pytest.mark.slow),
    ],
)
def test_an_index_git_cannot_read_is_rolled_back_and_undone(
    tmp_path: Path, damage: str, way: str, history: str
) -> None:
    """An operation leaves `.git/index` as git cannot read it (garbage, cut short, a version
    git does not know, an entry naming an object that is not there). Before, the rescue's
    capture failed on it: the operation stayed interrupted, and `recover` failed the same way.
    Now the rescue holds the index as its bytes, the rollback puts PRE-OP's back, and `undo`
    makes the damaged one again, byte for byte. A command that exits 0 but leaves such an
    index is rolled back (exit 1) and says why."""
    scene = Scene(tmp_path, history)
    scene.repo.git("add", "a/b/c/u.txt")
    before, index_before = scene.state(), scene.repo.fingerprint()
    command = "echo op > a/h.txt && echo new > n.txt && " + INDEX_DAMAGES[damage]
    said = operate(scene, command, way, history)
    if way == "succeeds":
        assert "left an index git cannot" in said, said  # read, or write a tree of
        assert "staged-" not in said  # your index, never our scratch copy, is named
    assert scene.state() == before
    assert scene.repo.fingerprint() == index_before
    scene.repo.git("status")  # git takes the index again
    scene.repo.atomic("undo", check=0)
    assert scene.repo.read("a/h.txt") == b"op\n" and scene.repo.read("n.txt") == b"new\n"
    # The operation's index is back, as it left it: git cannot read it, or (cut short) it
    # fails its own checksum, which git reads past.
    index = (scene.repo.path / ".git" / "index").read_bytes()
    unreadable = subprocess.run(
        ["git", "write-tree"], cwd=scene.repo.path, env=scene.repo.env, capture_output=True
    ).returncode
    assert unreadable or hashlib.sha1(index[:-20]).digest() != index[-20:]
    scene.repo.atomic("undo", check=0)
    assert scene.state() == before
    assert scene.repo.fingerprint() == index_before


def test_an_operation_cannot_start_from_an_index_git_cannot_read(repo: GitRepo) -> None:
    """Refused, with git's reason and nothing changed: no state to start from (exit 3)."""
    (repo.path / ".git" / "index").write_bytes(b"garbage\n")
    res = repo.atomic("run", "--", "true", check=3)
    assert "git cannot read the index (index file smaller than expected)" in res.stderr
    assert (repo.path / ".git" / "index").read_bytes() == b"garbage\n"
    assert repo.git("for-each-ref", "refs/atomic/checkpoints/") == ""


@pytest.mark.parametrize("way", ["fails", "crash"])
def test_a_linked_worktree_whose_head_the_operation_made_a_link(tmp_path: Path, way: str) -> None:
    """The same in a linked worktree: its HEAD is in `.git/worktrees/<name>/`, found from the
    worktree's `.git` file without git (git refuses the worktree)."""
    scene = Scene(tmp_path, "shadow")
    (scene.outside / "head").write_bytes(b"ref: refs/heads/main\n")
    scene.marker = walk(scene.outside, exact=True)
    other = tmp_path / "other"
    scene.repo.git("worktree", "add", "-q", "-b", "side", str(other))
    git_dir = scene.repo.path / ".git" / "worktrees" / "other"
    before = _git_dir_walk(git_dir)
    command = f"echo op > a/h.txt && ln -sf {scene.outside}/head {git_dir}/HEAD; exit 1"
    argv = ("run", "--history", "shadow", "--", "sh", "-c", command)
    if way == "fails":
        scene.repo.atomic(*argv, cwd=other, check=1)
    else:
        res = scene.repo.atomic(*argv, cwd=other, env=KILL_BEFORE_RESCUE)
        assert res.returncode == -9, res.stderr
        scene.repo.atomic("recover", cwd=other / "a", check=0)
    scene.assert_marker_untouched()
    assert _git_dir_walk(git_dir) == before
    assert (other / "a/h.txt").read_bytes() == b"a/h.txt\n"
    assert scene.repo.git("-C", str(other), "rev-parse", "--abbrev-ref", "HEAD") == "side\n"


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_refs_and_reflogs_the_operation_made_links_are_not_read_through(
    tmp_path: Path, history: str
) -> None:
    """An operation replaces a branch, a tag, a reflog and `packed-refs` by links to files
    outside. Before, git read the branch and tag through them (the outside file's bytes were
    the branch in the rescue) and the rollback's `update-ref` appended its log line to the file
    outside. Now each is set aside as the link itself before any ref is read, the branch comes
    back from its reflog, and the file outside is byte for byte as it was."""
    scene = Scene(tmp_path, history)
    repo, out = scene.repo, scene.outside
    first = repo.git("rev-list", "--max-parents=0", "HEAD").strip()
    repo.git("branch", "side")
    repo.git("tag", "v1")
    (out / "ref").write_bytes(first.encode() + b"\n")
    (out / "log").write_bytes(b"OUTSIDE-MARKER a reflog\n")
    (out / "packed").write_bytes(f"{first} refs/heads/ghost\n".encode())
    scene.marker = walk(out, exact=True)
    git_dir = repo.path / ".git"
    before, refs_before = scene.state(), _git_dir_walk(git_dir)
    res = repo.atomic_json(
        "run",
        "--history",
        history,
        "--",
        "sh",
        "-c",
        # side moves (its reflog says so), then its reflog, main, v1, packed-refs become links
        f"echo op > a/h.txt && git branch -f side {first} && "
        f"ln -sf {out}/log .git/logs/refs/heads/side && "
        f"ln -sf {out}/ref .git/refs/heads/main && ln -sf {out}/ref .git/refs/tags/v1 && "
        f"ln -sf {out}/packed .git/packed-refs; exit 1",
        check=1,
    )
    scene.assert_marker_untouched()
    # A tag has no reflog to come back from, and its value went with the operation's `ln -sf`:
    # it is gone (the rescue holds the link). The branches are as before.
    del refs_before[b"refs/tags/v1"]
    assert _git_dir_walk(git_dir) == refs_before
    assert not os.path.lexists(git_dir / "packed-refs")
    assert scene.state() == before
    rescue = res["checkpoints"]["rescue"]
    meta = json.loads(repo.git("cat-file", "blob", f"{rescue}:meta"))
    assert "refs/heads/ghost" not in meta["branches"]  # packed-refs outside was never read
    assert meta["branches"]["refs/heads/main"] != first  # nor main's link
    assert _rescue_aside(scene) == {
        "logs/refs/heads/side": f"120000 {out}/log",
        "packed-refs": f"120000 {out}/packed",
        "refs/heads/main": f"120000 {out}/ref",
        "refs/tags/v1": f"120000 {out}/ref",
    }
    repo.atomic("undo", check=0)
    scene.assert_marker_untouched()
    assert not any(v[0] == "link" for v in _git_dir_walk(git_dir).values())


@pytest.mark.parametrize(
    ("name", "history"), [("atomic", "shadow"), ("atomic/tmp", "commits"), ("atomic", "commits")]
)
def test_our_own_folder_made_a_link_is_not_written_through(
    tmp_path: Path, name: str, history: str
) -> None:
    """An operation replaces `.git/atomic` (the journal, scan indexes, scratch files) or a
    folder in it by a link to a folder outside: before, the captures after it wrote their
    scan index and scratch files there. Now the link is set aside (saved in the rescue) and
    the folder made anew before anything is written."""
    scene = Scene(tmp_path, history)
    scene.run("true", check=0)  # our folder, with a scan index and its scratch folder
    before = scene.state()
    scene.run(
        f"echo op > a/h.txt && rm -rf .git/{name} && ln -s {scene.outside}/c .git/{name}; exit 1",
        check=1,
    )
    scene.assert_marker_untouched()
    assert scene.state() == before
    assert not os.path.islink(scene.repo.path / ".git" / name)
    assert _rescue_aside(scene) == {name: f"120000 {scene.outside}/c"}


@pytest.mark.parametrize("how", ["core.worktree", "GIT_WORK_TREE"])
def test_an_open_operation_is_never_rolled_back_into_another_folder(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """Nothing outside the worktree, ever: with git pointed at another folder since `begin`
    (the operation set core.worktree, or this shell sets GIT_WORK_TREE), abort, commit and
    recover refuse (exit 3) and touch neither folder; put back, abort works. Before, abort
    wrote PRE-OP's files over the other folder's and deleted the rest (adversarial review)."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "README").write_text("precious\n")
    (victim / "new.txt").write_text("also precious\n")
    repo.atomic("begin", "x", check=0)
    repo.write("README", b"the op's\n")
    env: dict[str, str] = {}
    if how == "core.worktree":
        repo.git("config", "core.worktree", str(victim))
    else:
        env = {"GIT_WORK_TREE": str(victim), "GIT_DIR": str(repo.path / ".git")}
    for args in (["abort"], ["commit", "-g", "false"], ["recover"]):
        res = repo.atomic(*args, env=env)
        assert res.returncode == 3, (args, res.stderr)
        assert "was begun in the worktree at" in res.stderr
    assert (victim / "README").read_text() == "precious\n"
    assert (victim / "new.txt").read_text() == "also precious\n"
    assert repo.read("README") == b"the op's\n"
    if how == "core.worktree":
        repo.git("config", "--unset", "core.worktree")
    repo.atomic("abort", check=0)
    assert repo.read("README") == b"hello\n"


@pytest.mark.parametrize("how", ["core.worktree", "GIT_WORK_TREE"])
def test_moves_of_no_operation_are_never_made_in_another_folder(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """`emergency` (to a POST-OP), `undo` of an emergency, and `rollback --to` its rescue, with
    git pointed at another folder since: they wrote the states of this worktree's folder over
    the other's (an operation's own moves refused, naming it; these, of no operation, did not
    look). Now each refuses, exit 3, naming the folder, and neither folder is touched; put
    back, each works."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "README").write_text("precious\n")
    repo.atomic("run", "--", "sh", "-c", "echo good > good.txt", check=0)
    repo.write("bad.txt", b"bad\n")

    def pointed_elsewhere() -> dict[str, str]:
        if how == "core.worktree":
            repo.git("config", "core.worktree", str(victim))
            return {}
        return {"GIT_WORK_TREE": str(victim), "GIT_DIR": str(repo.path / ".git")}

    def put_back() -> None:
        if how == "core.worktree":
            repo.git("config", "--unset", "core.worktree")

    def refused(*args: str, env: dict[str, str]) -> None:
        res = repo.atomic(*args, env=env)
        assert res.returncode == 3, (args, res.stderr)
        assert f"in the worktree at {repo.path}" in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert sorted(os.listdir(victim)) == ["README"]
        assert (victim / "README").read_text() == "precious\n"

    env = pointed_elsewhere()
    refused("emergency", env=env)
    put_back()
    repo.atomic("emergency", check=0)
    assert not repo.exists("bad.txt")
    rescue = repo.git("for-each-ref", "--format=%(refname)", "refs/atomic/rescue").split()
    env = pointed_elsewhere()
    refused("undo", env=env)
    refused("undo", "--dry-run", env=env)
    refused("rollback", "--to", rescue[0], "--whole", env=env)
    put_back()
    assert not repo.exists("bad.txt") and repo.read("good.txt") == b"good\n"
    repo.atomic("undo", check=0)
    assert repo.read("bad.txt") == b"bad\n"


def test_an_interrupted_emergency_is_never_finished_in_another_folder(
    repo: GitRepo, tmp_path: Path
) -> None:
    """`emergency` killed after its rescue, git pointed at another folder, then `recover`: it
    finished the restore there (the intent of a move of no operation named no folder). It
    refuses, exit 3, naming the folder; put back, it finishes here."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "README").write_text("precious\n")
    repo.atomic("run", "--", "sh", "-c", "echo good > good.txt", check=0)
    repo.write("bad.txt", b"bad\n")
    killed = repo.atomic("emergency", env={"GIT_ATOMIC_FAILPOINT": "emergency:after-rescue"})
    assert killed.returncode == -9, killed.stderr
    repo.git("config", "core.worktree", str(victim))
    res = repo.atomic("recover", check=3)
    assert f"in the worktree at {repo.path}" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert sorted(os.listdir(victim)) == ["README"]
    repo.git("config", "--unset", "core.worktree")
    repo.atomic("recover", check=0)
    assert not repo.exists("bad.txt") and repo.read("good.txt") == b"good\n"


def test_a_worktree_moved_elsewhere_is_still_its_operations(repo: GitRepo, tmp_path: Path) -> None:
    repo.atomic("begin", "x", check=0)
    repo.write("README", b"the op's\n")
    moved = tmp_path / "moved"
    repo.path.rename(moved)
    res = subprocess.run(
        [sys.executable, "-m", "git_atomic", "abort"],
        cwd=moved,
        env=repo.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert (moved / "README").read_text() == "hello\n"


@pytest.mark.parametrize("scanned_before", [False, True])
def test_a_nested_repository_without_a_commit_is_left_out_not_an_error(
    repo: GitRepo, scanned_before: bool
) -> None:
    """`git init sub` inside the worktree (a new project's first step): git can hold a nested
    repository only as the commit it has checked out, and this one has none. Before, every
    capture failed ("adding files failed", exit 3), a failed run was not rolled back, and
    recover failed the same way (adversarial review). Nested repositories are not captured:
    it is left out, and left alone."""
    if scanned_before:
        repo.atomic("run", "--", "true", check=0)  # a scan index exists
    repo.git("init", "-q", "other")
    (repo.path / "other" / "x.txt").write_text("mine\n")
    repo.git("init", "-q", "new\nline")  # a name with a newline: git's message spans two lines
    res = repo.atomic(
        "run", "--no-gates", "--", "sh", "-c", "echo op > README; git init -q newproj; exit 1"
    )
    assert res.returncode == 1, res.stderr
    assert repo.read("README") == b"hello\n"  # the operation's change: taken back
    assert (repo.path / "other" / "x.txt").read_text() == "mine\n"
    assert (repo.path / "newproj" / ".git").is_dir()  # a nested repository: not touched
    assert repo.atomic("recover").returncode == 0
    repo.atomic("run", "--", "true", check=0)


def _listing(folder: Path) -> list[tuple[str, int, int]]:
    return sorted(
        (str(p.relative_to(folder)), p.lstat().st_mtime_ns, p.lstat().st_size)
        for p in folder.rglob("*")
    )


@pytest.mark.parametrize("part", ["atomic", "atomic/journal.sqlite3", "atomic/tmp"])
def test_our_folder_made_a_link_is_never_read_or_written_through(
    repo: GitRepo, tmp_path: Path, part: str
) -> None:
    """The operation moves our folder (or the journal, or the scratch folder) outside and
    leaves a link in its place: the next command refuses (exit 3) and nothing outside changes;
    put back, abort works. Before, abort opened the journal and wrote scratch files there."""
    repo.atomic("begin", "x", env={"GIT_ATOMIC_HELPER": "0"}, check=0)
    repo.write("README", b"the op's\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    real = repo.path / ".git" / part
    moved = outside / real.name
    real.rename(moved)
    real.symlink_to(moved)
    before = _listing(outside)
    for args in (["abort"], ["status"], ["begin", "y"], ["recover"]):
        res = repo.atomic(*args, env={"GIT_ATOMIC_HELPER": "0"})
        assert res.returncode == 3, (args, res.stdout, res.stderr)
        assert "is a symbolic link" in res.stderr
    assert _listing(outside) == before
    real.unlink()
    moved.rename(real)
    repo.atomic("abort", env={"GIT_ATOMIC_HELPER": "0"}, check=0)
    assert repo.read("README") == b"hello\n"


@pytest.mark.parametrize("swap", ["link", "folder", "nonsense", "gone"])
def test_a_session_whose_head_git_refuses_is_aborted(
    repo: GitRepo, tmp_path: Path, swap: str
) -> None:
    """In a `begin` session the work makes .git/HEAD something git refuses: `abort` sets it
    aside, puts PRE-OP's HEAD back and takes the work back (before: "not a git repository",
    exit 3, from abort, recover and emergency alike; adversarial review)."""
    (tmp_path / "head").write_text("ref: refs/heads/main\n")
    head_before = (repo.path / ".git" / "HEAD").read_bytes()
    repo.atomic("begin", "x", check=0)
    repo.write("README", b"the op's\n")
    subprocess.run(
        ["sh", "-c", HEAD_SWAPS[swap].format(out=tmp_path, git_dir=".git")],
        cwd=repo.path,
        check=True,
    )
    res = repo.atomic("abort")
    assert res.returncode == 0, res.stderr
    assert repo.read("README") == b"hello\n"
    assert (repo.path / ".git" / "HEAD").read_bytes() == head_before
    assert not (repo.path / ".git" / "HEAD").is_symlink()
    repo.git("status")  # git takes the repository again
    repo.atomic("undo", check=0)
    assert repo.read("README") == b"the op's\n"
    assert (repo.path / ".git" / "HEAD").read_bytes() == head_before  # never made again


def test_a_copy_of_the_whole_repository_is_its_own(repo: GitRepo, tmp_path: Path) -> None:
    """A repository copied whole (cp -a) with an operation open: the copy's abort takes the
    copy back, and the original is not touched."""
    repo.atomic("begin", "x", check=0)
    repo.write("README", b"the op's\n")
    copy = tmp_path / "copy"
    shutil.copytree(repo.path, copy, symlinks=True)
    res = subprocess.run(
        [sys.executable, "-m", "git_atomic", "abort"],
        cwd=copy,
        env={**repo.env, "GIT_ATOMIC_HELPER": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert (copy / "README").read_text() == "hello\n"
    assert repo.read("README") == b"the op's\n"


def test_a_damaged_journal_or_an_index_made_a_folder_is_one_clear_line(repo: GitRepo) -> None:
    """Never "internal error": a journal written over with garbage, and an index made a folder,
    each end a command with one line that says what and where, exit 3 (adversarial review)."""
    repo.atomic("begin", "x", check=0)
    journal = repo.path / ".git" / "atomic" / "journal.sqlite3"
    for part in journal.parent.glob("journal.sqlite3*"):
        part.unlink()
    journal.write_bytes(b"not a database, really\n" * 100)
    for args in (["status"], ["abort"], ["recover"]):
        res = repo.atomic(*args, env={"GIT_ATOMIC_HELPER": "0"})
        assert res.returncode == 3 and "internal error" not in res.stderr, res.stderr
        assert "journal.sqlite3 is damaged" in res.stderr
    journal.unlink()  # moved aside, as the hint says: recover starts a new journal
    assert "git atomic recover" in repo.atomic("status", check=3).stderr
    repo.atomic("recover", check=0)
    repo.atomic("status", check=0)
    (repo.path / ".git" / "index").unlink()
    (repo.path / ".git" / "index").mkdir()
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", "exit 1")
    assert res.returncode in (1, 3) and "internal error" not in res.stderr, res.stderr


@pytest.mark.parametrize("layout", ["separate-git-dir", "linked-worktree"])
@pytest.mark.parametrize(
    "damage",
    [
        "rm .git",
        "echo 'gitdir: {other}/.git' > .git",
        "rm .git && ln -s {other}/.git .git",
    ],
)
def test_a_dot_git_file_the_operation_broke_is_put_back(
    tmp_path: Path, layout: str, damage: str
) -> None:
    """A worktree whose `.git` is a file (`--separate-git-dir`, a linked worktree): an
    operation that removes it, points it at another repository or makes it a link left the
    folder no worktree of this repository after the rollback (`git status` failed, or answered
    for the other one). The rollback puts its bytes back; `undo` brings the operation's files
    back but never makes the worktree another repository's again."""
    env = hermetic_env(tmp_path / "home")
    other = GitRepo.create(tmp_path / "other", tmp_path / "home")
    if layout == "separate-git-dir":
        repo = GitRepo.create(tmp_path / "w", tmp_path / "home", git_dir=tmp_path / "gd")
    else:
        main = GitRepo.create(tmp_path / "main", tmp_path / "home")
        main.git("worktree", "add", "-q", "-b", "side", str(tmp_path / "w"))
        repo = GitRepo(tmp_path / "w", env)
    gitfile = (repo.path / ".git").read_bytes()
    before = oracle.walk(repo.path)
    command = "echo op > a && " + damage.format(other=other.path) + "; exit 1"
    repo.atomic("run", "--", "sh", "-c", command, check=1)
    assert not (repo.path / ".git").is_symlink()
    assert (repo.path / ".git").read_bytes() == gitfile
    assert oracle.walk(repo.path) == before
    repo.git("status")
    repo.atomic("undo", check=0)
    assert repo.read("a") == b"op\n"
    assert (repo.path / ".git").read_bytes() == gitfile  # never another repository's again
    repo.atomic("undo", check=0)
    assert oracle.walk(repo.path) == before


def test_a_rollback_looks_into_its_own_operations_refs_only(tmp_path: Path) -> None:
    """A rollback sets aside a link in the refs of the operation whose rescue it writes, and
    looks at (not into) every other operation's folder: looking into all of them cost a walk
    of as many folders as there were operations, at every rollback (400 folders, 10 to 20 ms, in
    a repository with 259 operations kept). `recover` still looks into all."""
    from git_atomic.engine import gitlinks

    repo = GitRepo.create(tmp_path / "r", tmp_path / "home")
    outside = tmp_path / "outside"
    outside.write_text("0" * 40 + "\n")
    ops = repo.path / ".git" / "refs" / "atomic" / "ops"
    for op in ("aaaa", "bbbb"):
        (ops / op).mkdir(parents=True)
        os.symlink(outside, ops / op / "001-pre-op")
    git_dir = repo.path / ".git"
    assert gitlinks.set_aside(git_dir, git_dir, thorough=frozenset({b"bbbb"}))
    assert (ops / "aaaa" / "001-pre-op").is_symlink()
    assert not os.path.lexists(ops / "bbbb" / "001-pre-op")
    assert gitlinks.set_aside(git_dir, git_dir, thorough=True)
    assert not os.path.lexists(ops / "aaaa" / "001-pre-op")
    assert outside.read_text() == "0" * 40 + "\n"


def test_fifos_where_our_small_state_files_are_never_block_a_command(repo: GitRepo) -> None:
    """The record of Watchman's last "not watched" and the stash's checked commits, made FIFOs
    (by an operation, say): read as regular files only, so a command never waits on one while
    it holds the worktree's lock."""
    repo.write("a.txt", b"stashed\n")
    repo.git("add", "a.txt")
    repo.git("stash", "push", "-q")
    state = repo.path / ".git" / "atomic"
    repo.atomic("run", "--", "true", check=0)
    for name in ("unwatched-main", "stash-parents.json"):
        (state / name).unlink(missing_ok=True)
        os.mkfifo(state / name)
    repo.write("b.txt", b"changed\n")
    res = repo.atomic("run", "--", "sh", "-c", "git stash drop -q; exit 1", timeout=30)
    assert res.returncode == 1, res.stderr
    assert len(repo.git("stash", "list").splitlines()) == 1


def _deep(repo: GitRepo, names: list[bytes], file: bytes) -> None:
    """Folders `names`, made one from another (no path is given to the system whole), with
    `file` at the bottom."""
    fd = os.open(repo.path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in names:
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        out = os.open(file, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(out, b"mine\n")
        os.close(out)
    finally:
        os.close(fd)


def _read_deep(repo: GitRepo, names: list[bytes], file: bytes) -> bytes | None:
    fd = os.open(repo.path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in names:
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        data = os.open(file, os.O_RDONLY, dir_fd=fd)
        try:
            return os.read(data, 100)
        finally:
            os.close(data)
    except FileNotFoundError:
        return None
    finally:
        os.close(fd)


# A folder git cannot open (its path past 4096 bytes), a file in a folder it can whose own
# path is past it.
TOO_DEEP = {
    "folder": ([b"d" * 200] * 24, b"precious"),
    "file": ([b"d" * 200] * 19 + [b"e" * 80], b"f" * 250),
}


@pytest.mark.parametrize("what", list(TOO_DEEP))
def test_a_path_too_long_for_git_to_open_is_refused_not_lost(repo: GitRepo, what: str) -> None:
    """An untracked folder whose path is longer than the system lets git open (4096 bytes):
    git warns that it could not open it (its message cut short before the reason) and lists
    nothing in it, so no checkpoint held its files. An operation that deleted it had them
    gone after a rollback that said the files were as before. Now it is refused, nothing
    changed; a folder git cannot list for want of permission is neither captured nor touched,
    as before (test_hostile_layouts.py). A file whose own path is that long git dies at: refused
    with a 4,000-byte line of git's, now the same one line."""
    names, file = TOO_DEEP[what]
    _deep(repo, names, file)
    res = repo.atomic("run", "--", "sh", "-c", "rm -rf dddd*; echo x > README; exit 1", check=3)
    assert "a path too long for git to open" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and len(res.stderr) < 400, res.stderr
    assert _read_deep(repo, names, file) == b"mine\n"
    assert repo.read("README") == b"hello\n"  # (the walk of the oracle cannot go that deep)


MADE_TOO_DEEP = {"a file in it": TOO_DEEP["folder"], "folders only": ([b"d" * 70] * 60, None)}


@pytest.mark.parametrize("what", list(MADE_TOO_DEEP))
def test_a_path_too_long_the_operation_made_names_the_way_out(
    repo: GitRepo, tmp_path: Path, what: str
) -> None:
    """An operation that made a path longer than git can open (`mkdir -p` 60 x 70 bytes): its
    rollback stops before it writes anything (no rescue could hold what is there) and the
    operation is left interrupted, but the line said "then run this again", which a `run`
    left interrupted refuses. It says now that `recover` finishes it; doing as it says (the
    folder moved out of the worktree) ends rolled back, the tree as before."""
    names, file = MADE_TOO_DEEP[what]
    before = oracle.disk(repo.path)
    script = tmp_path / "deep.py"  # folder by folder (no path given whole), then the file
    script.write_text(
        "import os\nfd = os.open('.', os.O_RDONLY)\n"
        f"for n in {[n.decode() for n in names]!r}:\n"
        "    os.mkdir(n, dir_fd=fd); fd = os.open(n, os.O_RDONLY, dir_fd=fd)\n"
        + (
            f"os.close(os.open({file.decode()!r}, os.O_WRONLY | os.O_CREAT, dir_fd=fd))\n"
            if file
            else ""
        )
    )
    line = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", line, check=3)
    assert "a path too long for git to open" in res.stderr, res.stderr
    assert "`git atomic recover`" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    os.rename(repo.path / names[0].decode(), tmp_path / "kept")  # as the line says
    repo.atomic("recover", check=0)
    assert oracle.disk(repo.path) == before
    assert "interrupted" not in repo.atomic("status", check=0).stdout


@pytest.mark.parametrize("how", ["core.worktree", "GIT_WORK_TREE"])
@pytest.mark.parametrize("target", ["--to", "open", "rolled back"])
def test_emergency_to_a_commit_is_never_made_in_another_folder(
    repo: GitRepo, tmp_path: Path, how: str, target: str
) -> None:
    """`emergency --to COMMIT`, and `emergency` going to HEAD's commit (an operation open, or
    none validated), with git pointed at another folder since this worktree's last operation:
    it wrote the commit's tree over the other folder and deleted its files (only the way to a
    POST-OP looked). Each refuses, exit 3, naming the folder; neither folder is touched."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "README").write_text("precious\n")
    (victim / "new.txt").write_text("also precious\n")
    head = repo.git("rev-parse", "HEAD").strip()
    args = ["emergency"]
    if target == "open":
        repo.atomic("begin", "x", check=0)
    else:
        if target == "--to":
            repo.atomic("run", "--", "sh", "-c", "echo op > op.txt", check=0)
            args += ["--to", head]
        else:  # none committed, the last one rolled back: HEAD's commit
            repo.atomic("run", "--", "sh", "-c", "echo op > op.txt; exit 1", check=1)
    repo.write("bad.txt", b"bad\n")
    env: dict[str, str] = {}
    if how == "core.worktree":
        repo.git("config", "core.worktree", str(victim))
    else:
        env = {"GIT_WORK_TREE": str(victim), "GIT_DIR": str(repo.path / ".git")}
    res = repo.atomic(*args, env=env)
    assert res.returncode == 3, (args, res.stdout, res.stderr)
    assert f"in the worktree at {repo.path}" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert sorted(os.listdir(victim)) == ["README", "new.txt"]
    assert (victim / "README").read_text() == "precious\n"
    assert repo.read("bad.txt") == b"bad\n"


@pytest.mark.parametrize(
    "swap",
    [
        "rm -rf pkg && echo x > pkg",
        "rm -rf pkg && ln -s nowhere pkg",
        "mv pkg pkg.real && ln -s pkg.real pkg",
        "rm -rf pkg/sub && ln -s .. pkg/sub",
    ],
    ids=["file", "dangling link", "link to the folder moved", "inner folder a link"],
)
@pytest.mark.parametrize("way", ["failed run", "rollback --op"])
def test_a_folder_holding_a_gitignore_replaced_by_a_file_or_link_comes_back_whole(
    repo: GitRepo, swap: str, way: str
) -> None:
    """git-lfs's `t/` made a link to a moved copy (or a file, a link at a folder inside): the
    rollback wrote the `.gitignore` files first, found the file or link the operation left on
    their way, and said "cannot restore pkg/sub/.gitignore: pkg is in the way; left as it is",
    the folder coming back without it. What stands on the way of a rule goes with the rules."""
    repo.write("pkg/sub/.gitignore", b"*.log\n")
    repo.write("pkg/sub/a.txt", b"a\n")
    repo.write("pkg/.gitattributes", b"*.c diff\n")
    repo.write("pkg/b.txt", b"b\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "pkg")
    before = repo.fingerprint()
    if way == "failed run":
        res = repo.atomic("run", "--", "sh", "-c", f"{swap}; exit 1", check=1)
    else:
        op_id = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", swap)["op_id"]
        res = repo.atomic("rollback", "--op", op_id, check=0)
    assert "in the way" not in res.stderr, res.stderr
    same_state = repo.fingerprint()
    assert same_state == before, "\n".join(before.diff(same_state))
    assert (repo.path / "pkg" / "sub" / ".gitignore").read_bytes() == b"*.log\n"
    assert stat.S_ISDIR(os.lstat(repo.path / "pkg").st_mode)
