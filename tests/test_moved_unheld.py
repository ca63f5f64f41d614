"""A folder the operation renamed or moved, holding files no checkpoint holds (ignored ones),
is moved back whole by its rollback (foldermoves.py), and `undo` moves it again.

`mv build out && mkdir build` with `/build/` ignored left `build/` empty: `out/cache.bin`,
which no rule ignored there, went with the rollback (the rescue its only copy); with `*.bin`,
`mv F out` brought `F/keep.txt` back and left `out/cache.bin`; and where the operation also
made a file in `out/`, the folder's rename mark was gone and `out/cache.bin` stayed. Each
capture keeps every folder's device and inode: the folder is found where it went, and put
back, with what no checkpoint holds in it. Oracle: the disk, by lstat (oracle.disk)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from git_atomic.engine import discovery, folderfound, folderwalk, safefs
from testing import oracle
from testing.gitrepo import GitRepo

# How git sees your folder `F`: ignored whole, its `.bin` files ignored, or untracked.
KINDS = {"folder rule": "/F/\n", "pattern": "*.bin\n", "untracked": None}
# What the operation does with `F` (and `other`, another folder of yours), and where `F`'s
# files are once it did.
MOVES = {
    "renamed": ("mv F out && mkdir F", "out"),
    "swapped": ("mv F t && mv other F && mv t other", "other"),
    "into another folder": ("mkdir dest && mv F dest/", "dest/F"),
    "into an ignored folder": ("mv F junk/", "junk/F"),
    # deeper, through a folder it made there (which stays: an ignored folder it made)
    "into a new folder in an ignored one": (
        "mkdir -p junk/new/er && mv F junk/new/er/",
        "junk/new/er/F",
    ),
    # A folder of its own put in its place (the place is taken by a folder that moves too),
    # and `F` swapped with a folder inside it: each goes back where it was.
    "a folder of it in its place": ("mv F out && mv out/deep F", "out"),
    "swapped with a folder in it": ("mv F/deep D && mv F D/deep && mv D F", "F/deep"),
    # F/deep/er turned inside out: `deep` stays at its path, in a folder that moves.
    "turned inside out": ("mv F/deep/er X && mv F/deep X && mv F X/deep && mv X F", "F/deep/F"),
    # A link or a file of its own put in its place: the rescue holds it, so it can go.
    "renamed, a link in its place": ("mv F out && ln -s out F", "out"),
    "renamed, a file in its place": ("mv F out && echo theirs > F", "out"),
    "deeper in an ignored folder": ("mv F junk/a/b/", "junk/a/b/F"),
}
IGNORED_DEST = (
    "into an ignored folder",
    "into a new folder in an ignored one",
    "deeper in an ignored folder",
)
INNER = ("a folder of it in its place", "swapped with a folder in it", "turned inside out")
# What else it does in the folder it moved.
ALSO = {"nothing else": "", "adds and removes": " && echo new > {at}/made.txt && rm {at}/keep.txt"}


def walk(top: Path) -> oracle.Disk:
    return oracle.disk(top, modes=True)


def _setup(repo: GitRepo, kind: str) -> None:
    """Your folder `F` with files at two depths, some no checkpoint holds, and `other/`."""
    rule = KINDS[kind]
    repo.write("src/app.py", b"app\n")
    repo.write(".gitignore", f"/junk/\n{rule or ''}".encode())
    repo.git("add", "-A")
    repo.git("commit", "-qm", "tree")
    repo.write("F/cache.bin", b"cache\n", mode=0o600)
    repo.write("F/deep/er/cache.bin", b"deep cache\n")
    repo.write("F/deep/d.bin", b"in the middle\n")
    repo.write("F/keep.txt", b"yours\n")
    repo.write("other/o.txt", b"other\n")
    repo.write("junk/j.o", b"yours too\n")  # a folder a rule ignores (`/junk/`)
    repo.write("junk/a/b/deep.o", b"deeper\n")
    time.sleep(0.1)  # made well before PRE-OP (more than the clock's lag)


def _as_the_operation_leaves_it(repo: GitRepo, script: str, tmp: Path) -> oracle.Disk:
    copy = tmp / "copy"
    subprocess.run(["cp", "-a", str(repo.path), str(copy)], check=True)
    subprocess.run(["sh", "-c", script], cwd=copy, check=True)
    return walk(copy)


def _inode(path: Path) -> int:
    return path.lstat().st_ino


@pytest.mark.parametrize("how", ["failed run", "abort"])
@pytest.mark.parametrize("also", ALSO)
@pytest.mark.parametrize("move", MOVES)
@pytest.mark.parametrize("kind", KINDS)
def test_a_folder_the_operation_moved_comes_back_whole_and_undo_moves_it_again(
    repo: GitRepo, tmp_path: Path, kind: str, move: str, also: str, how: str
) -> None:
    _setup(repo, kind)
    script, at = MOVES[move]
    script += ALSO[also].format(at=at)
    after_op = _as_the_operation_leaves_it(repo, script, tmp_path)
    before = walk(repo.path)
    folder = _inode(repo.path / "F")
    if how == "failed run":
        res = repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1)
    else:
        repo.atomic("begin", "op", check=0)
        subprocess.run(["sh", "-c", script], cwd=repo.path, check=True)
        res = repo.atomic("abort", check=0)
    if kind == "folder rule" and also == "adds and removes":
        # Your ignored `F/keep.txt` the operation deleted: no checkpoint held it ("What it
        # does not do"); the rest of `F/` is back.
        del before[b"F/keep.txt"]
    if move == "into a new folder in an ignored one":
        before[b"junk/new"] = before[b"junk/new/er"] = ("dir",)
    # (the operation made `made.txt` where a rule hid it: in a folder it moved into an
    # ignored one, or into `F` which `/F/` ignores whole)
    hidden = move in IGNORED_DEST or (kind == "folder rule" and at.startswith("F/"))
    if hidden and also == "adds and removes":
        # `made.txt`, made where a rule hid it, is in no checkpoint: left in `F/` (said where
        # no rule hides it there; one there is an ignored file the operation made, as any)
        before[b"F/made.txt"] = after_op[at.encode() + b"/made.txt"]
        if kind != "folder rule":
            assert "F/made.txt: in no checkpoint as the operation left it" in res.stderr
    assert walk(repo.path) == before
    assert _inode(repo.path / "F") == folder  # the folder itself, not one made again
    assert f"F/: found at {at}/ (the same folder, moved since); moved back" in res.stderr
    repo.atomic("undo", check=0)
    if hidden and also == "adds and removes":
        # Known gap: the file left makes the state differ from the rollback's target, so the
        # undo is worked out on top of it (a state of trees knows no folders): `F/` stays at
        # its name. Nothing is lost: every file the operation left is on disk.
        now = Counter(e for e in walk(repo.path).values() if e[0] == "file")
        assert not Counter(e for e in after_op.values() if e[0] == "file") - now
        return
    assert walk(repo.path) == after_op
    assert _inode(repo.path / at) == folder


def test_a_folder_whose_place_is_taken_stays_and_the_rollback_says_so(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The operation moved `F` away and put files of its own where it was: `F` cannot go back
    (those are not yours to remove, nor to mix with yours). It stays where the operation put
    it, the rollback says so, and what the rollback takes from there is in the rescue."""
    _setup(repo, "folder rule")
    # (`other` moved too, and back: a second round of moves tried F again, said twice)
    script = "mv F out && mkdir F && echo theirs > F/made.o && mv other o2"
    out = repo.atomic_json("run", "--", "sh", "-c", script + "; exit 1", check=1)
    said = [p for p in out.get("problems", []) if "F/: found at out/" in p]
    assert len(said) == 1, said
    assert "F/: found at out/ (the same folder, moved since), and F is not free" in said[0]
    assert (repo.path / "other/o.txt").read_bytes() == b"other\n"
    assert (repo.path / "F/made.o").read_bytes() == b"theirs\n"
    # out/ is no ignored folder: its files are the operation's state, held by the rescue
    rescue = out["checkpoints"]["rescue"]
    assert repo.git("show", f"{rescue}:files/out/cache.bin") == "cache\n"
    assert repo.git("show", f"{rescue}:files/out/deep/er/cache.bin") == "deep cache\n"
    repo.atomic("undo", check=0)
    assert (repo.path / "out/cache.bin").read_bytes() == b"cache\n"


def test_a_folder_made_after_pre_op_is_never_taken_for_yours(repo: GitRepo) -> None:
    """An inode freed by the operation (`rm -rf F`) may be given to a folder it makes: that
    folder was born after PRE-OP, and is not moved to `F`."""
    _setup(repo, "folder rule")
    folder = _inode(repo.path / "F")
    script = "rm -rf F && mkdir new && echo n > new/n.txt && stat -c %i new > ../new.ino; exit 1"
    repo.atomic("run", "--", "sh", "-c", script, check=1)
    if int((repo.path.parent / "new.ino").read_text()) != folder:
        pytest.skip("this filesystem gave the new folder another inode")
    assert not (repo.path / "new").exists()
    assert not (repo.path / "F").exists()  # your ignored files deleted: not held, not back


KILLED = {
    "renamed": "mv F out && mkdir F",
    # Two folders aside, the inner one first: `recover` must put `F` in place before `F/deep`
    # (put first, it made a new `F` for it, and yours stayed aside in our scratch folder).
    "parent and child apart": "mkdir -p a/b && mv F/deep a/b/D && mv F top",
    # the operation's link in its place, which the rescue holds: it goes for `F`
    "a link in its place": "mv F top && ln -s top F",
}


@pytest.mark.parametrize("move", KILLED)
@pytest.mark.parametrize("kind", KINDS)
def test_a_move_back_killed_half_way_is_finished_by_recover(
    repo: GitRepo, tmp_path: Path, kind: str, move: str
) -> None:
    """Killed once the folder is aside (in our scratch folder) and before it is in its place:
    no checkpoint holds your ignored files in it, so no sweep of that folder removes it, and
    `recover` puts it in its place and finishes the rollback."""
    _setup(repo, kind)
    before = walk(repo.path)
    folder = _inode(repo.path / "F")
    killed = repo.atomic(
        "run",
        "--",
        "sh",
        "-c",
        KILLED[move] + "; exit 1",
        env={"GIT_ATOMIC_FAILPOINT": "foldermoves:aside"},
    )
    assert killed.returncode not in (0, 1)
    assert not (repo.path / "out").exists() and not (repo.path / "top").exists()  # aside
    assert not (repo.path / "F").exists() or _inode(repo.path / "F") != folder
    res = repo.atomic("recover", check=0)
    assert "F/: a move back killed half way had left it aside; put back" in res.stderr
    assert walk(repo.path) == before
    assert _inode(repo.path / "F") == folder


def test_the_dry_runs_say_the_folder_would_be_moved_back(repo: GitRepo) -> None:
    """`rollback --dry-run` and `undo --dry-run` say the move they would make first; nothing
    moves."""
    _setup(repo, "folder rule")
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", "mv F out && mkdir F", check=0)
    after_op = walk(repo.path)
    res = repo.atomic("rollback", "--dry-run", check=0)
    assert "F/: found at out/ (the same folder, moved since); it would be moved back" in res.stderr
    assert walk(repo.path) == after_op
    repo.atomic("rollback", check=0)
    before = walk(repo.path)
    res = repo.atomic("undo", "--dry-run", check=0)
    assert "out/: found at F/ (the same folder, moved since); it would be moved back" in res.stderr
    assert walk(repo.path) == before


def test_a_rollback_that_only_moved_a_folder_back_does_not_say_it_changed_nothing(
    repo: GitRepo,
) -> None:
    """`F/` holds only files `*.bin` ignores: moved, it changes no checkpoint's files, and
    the failed run's rollback said "it had changed nothing" while it moved `F/` back."""
    repo.write(".gitignore", b"*.bin\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    repo.write("F/cache.bin", b"cache\n")
    time.sleep(0.1)
    res = repo.atomic("run", "--", "sh", "-c", "mv F out; exit 1", check=1)
    assert (repo.path / "F/cache.bin").read_bytes() == b"cache\n"
    assert not (repo.path / "out").exists()
    assert "changed nothing" not in res.stderr
    assert "`git atomic undo` brings them back" in res.stderr


@pytest.mark.parametrize("shared", ["group", "0640", "everybody"])
def test_a_repository_a_group_shares_keeps_the_folders(repo: GitRepo, shared: str) -> None:
    """There git writes its objects with the bits the setting gives them: the folders' blob
    was left out (it would have been a `hash-object` process), so a folder the operation moved
    was not moved back (its ignored files gone with the abort). It is written loose as git
    writes it there (the bits: tests/test_objectformat_shared.py), with no process."""
    repo.git("config", "core.sharedRepository", shared)
    _setup(repo, "folder rule")
    before = walk(repo.path)
    folder = _inode(repo.path / "F")

    out = repo.atomic_json("begin", "op")
    tree = repo.git("ls-tree", "--name-only", out["checkpoints"]["pre_op"])
    assert "folder-ids" in tree.split()
    subprocess.run(["sh", "-c", "mv F out && mkdir F"], cwd=repo.path, check=True)
    res = repo.atomic("abort", check=0)
    assert "F/: found at out/ (the same folder, moved since); moved back" in res.stderr
    assert walk(repo.path) == before
    assert _inode(repo.path / "F") == folder


def _git_listings_of_ignored(trace: Path) -> int:
    """The `ls-files --ignored` of every ignored folder (not the rule files' own, by name)."""
    return sum(
        "--ignored" in e["argv"] and "ls-files" in e["argv"] and "--" not in e["argv"]
        for e in map(json.loads, trace.read_text().splitlines())
        if e["event"] == "start"
    )


@pytest.mark.parametrize("script", ["rm -rf F", "mv F junk/a/b/"])
def test_a_folder_looked_for_in_ignored_folders_asks_git_nothing_where_the_walk_met_them(
    repo: GitRepo, tmp_path: Path, script: str
) -> None:
    """A folder of the state gone from where the walk saw it (removed, or moved deeper into a
    folder a rule ignores) is looked for in the ignored folders: those the rescue's walk met,
    not a `git ls-files --ignored` (half a `git status`) at every rollback of an `rm -rf`."""
    _setup(repo, "pattern")
    time.sleep(3.1)  # the rule files older than a walk keeps verdicts under (folderwalk.py)
    before = walk(repo.path)
    folder = _inode(repo.path / "F")
    repo.atomic("begin", "op")
    subprocess.run(["sh", "-c", script], cwd=repo.path, check=True)
    trace = tmp_path / "trace.json"
    repo.atomic("abort", check=0, env={"GIT_TRACE2_EVENT": str(trace)})
    assert _git_listings_of_ignored(trace) == 0
    if script.startswith("mv"):  # found there all the same, moved back whole
        assert walk(repo.path) == before
        assert _inode(repo.path / "F") == folder


def test_a_folder_looked_for_where_no_walk_was_kept_is_found_by_gits_listing(
    repo: GitRepo,
) -> None:
    """Where no walk kept its verdicts (none yet here), git lists the ignored folders, and a
    folder moved deep into one is found all the same."""
    _setup(repo, "pattern")
    ident = (os.lstat(repo.path / "F").st_dev, _inode(repo.path / "F"))
    junk = os.lstat(repo.path / "junk")
    since = time.time()
    subprocess.run(["sh", "-c", "mv F junk/a/b/"], cwd=repo.path, check=True)
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    assert folderwalk.ignored_met(g) is None
    with safefs.Tree(os.fsencode(repo.path)) as tree:
        now = {b"junk": (junk.st_dev, junk.st_ino)}
        found = folderfound.in_ignored(g, tree, {b"F": ident}, now, since)
    assert found.get(b"junk/a/b/F") == ident


@pytest.mark.parametrize("how", ["failed run", "abort"])
def test_a_tracked_file_over_the_budget_at_its_folders_new_name_goes_back_with_it(
    repo: GitRepo, how: str
) -> None:
    """`mv dir newdir` makes `newdir/f.bin` a new untracked file, over a small
    `max_new_file_size`: no checkpoint holds the bytes the operation then wrote in it. The
    folder goes back whole, and the file with it, as the operation left it (its only copy),
    never PRE-OP's bytes over it; the rollback names it. Oracle: the disk."""
    (repo.path / "dir").mkdir()
    repo.write("dir/f.bin", b"original contents of f\n")
    repo.write("dir/c", b"c\n")
    repo.write(".git-atomic.toml", b"max_new_file_size = 10\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "tracked")
    folder = _inode(repo.path / "dir")
    script = "mv dir newdir && printf 'the operation wrote this\\n' >> newdir/f.bin"
    if how == "failed run":
        res = repo.atomic("run", "--no-gates", "--", "sh", "-c", script + "; exit 1", check=1)
    else:
        repo.atomic("begin", "op", check=0)
        subprocess.run(["sh", "-c", script], cwd=repo.path, check=True)
        res = repo.atomic("abort", check=0)
    assert not os.path.lexists(repo.path / "newdir")
    assert _inode(repo.path / "dir") == folder
    assert (repo.path / "dir/f.bin").read_bytes() == (
        b"original contents of f\nthe operation wrote this\n"
    )
    assert (repo.path / "dir/c").read_bytes() == b"c\n"
    assert "dir/f.bin: in no checkpoint as the operation left it" in res.stderr
    assert "made while a rule hid it" not in res.stderr
