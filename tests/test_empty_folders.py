"""Empty folders both ways: an empty folder you had stays, empty folders an operation made go.

Every case is judged by the disk (lstat, bytes, link targets; folders, empty ones included),
after a rollback, an `undo` of it and a second `undo`, in both history modes."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from git_atomic.engine import checkpoint, discovery, snapshot
from testing import oracle
from testing.gitrepo import GitRepo

HISTORIES = ["commits", "shadow"]
Walk = oracle.Disk


def walk(top: Path) -> Walk:
    """Every entry under `top` but `.git`, empty folders too, by lstat: oracle.disk."""
    return oracle.disk(top)


def _tree(repo: GitRepo) -> None:
    """Tracked files at depth, an untracked one, and empty folders of yours at depth 1 to 4."""
    repo.write("src/app.py", b"app\n")
    repo.write("src/lib/util.py", b"util\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "tree")
    repo.write("notes.txt", b"untracked\n")
    for folder in ("top", "src/e1", "src/lib/e2/e3", "src/lib/x/y/z", "new/only/empty"):
        (repo.path / folder).mkdir(parents=True)


def _run(repo: GitRepo, history: str, script: str, *, check: int = 1) -> None:
    repo.atomic("run", "--history", history, "--", "sh", "-c", script, check=check)


@pytest.mark.parametrize("history", HISTORIES)
def test_empty_folders_an_operation_made_go_and_come_back_with_undo(
    repo: GitRepo, history: str
) -> None:
    """Nested empty folders at a new path, one inside a folder of yours, one inside a folder
    of untracked files the operation made."""
    _tree(repo)
    before = walk(repo.path)
    script = "mkdir -p made/a/b made/c src/lib/e2/e3/deeper && mkdir -p fresh/q && echo x > fresh/f"
    _run(repo, history, script + "; exit 1")
    assert walk(repo.path) == before
    assert not (repo.path / "made").exists()
    repo.atomic("undo", check=0)
    now = walk(repo.path)
    for folder in (b"made/a/b", b"made/c", b"src/lib/e2/e3/deeper", b"fresh/q"):
        assert now[folder] == ("dir",), folder
    assert now[b"fresh/f"] == ("file", b"x\n")
    assert b"src/lib/e2/e3" in now
    repo.atomic("undo", check=0)
    assert walk(repo.path) == before


@pytest.mark.parametrize("history", HISTORIES)
@pytest.mark.parametrize(
    ("kind", "make", "expected"),
    [
        ("file", "printf op > {p}", {b"": ("file", b"op")}),
        ("link", "ln -s elsewhere {p}", {b"": ("link", b"elsewhere")}),
        ("folder", "mkdir {p}/in && printf op > {p}/in/f", {b"/in/f": ("file", b"op")}),
    ],
)
def test_an_empty_folder_of_yours_the_operation_used_comes_back(
    repo: GitRepo, history: str, kind: str, make: str, expected: dict[bytes, tuple[object, ...]]
) -> None:
    """Your empty folder at depth 4 becomes a file, a link, or a folder with files in it."""
    _tree(repo)
    p = "src/lib/x/y/z"
    before = walk(repo.path)
    rm = f"rmdir {p} && " if kind != "folder" else ""
    script = rm + make.format(p=p)
    _run(repo, history, script + "; exit 1")
    assert walk(repo.path) == before, f"the empty folder is not back where a {kind} was"
    repo.atomic("undo", check=0)
    now = walk(repo.path)
    for suffix, entry in expected.items():
        assert now[p.encode() + suffix] == entry
    repo.atomic("undo", check=0)
    assert walk(repo.path) == before


@pytest.mark.parametrize("history", HISTORIES)
def test_an_empty_folder_of_yours_the_operation_removed_comes_back(
    repo: GitRepo, history: str
) -> None:
    _tree(repo)
    before = walk(repo.path)
    _run(repo, history, "rmdir src/lib/x/y/z src/lib/x/y src/e1 top; exit 1")
    assert walk(repo.path) == before
    repo.atomic("undo", check=0)
    now = walk(repo.path)
    assert b"src/lib/x/y" not in now and b"src/e1" not in now and b"top" not in now
    assert now[b"src/lib/x"] == ("dir",)  # what the operation left: x, empty
    repo.atomic("undo", check=0)
    assert walk(repo.path) == before


@pytest.mark.parametrize("history", HISTORIES)
def test_the_effect_on_empty_folders_is_taken_back_and_your_later_ones_stay(
    repo: GitRepo, history: str
) -> None:
    """An operation that succeeded made empty folders, removed one of yours and put a file
    where another was; since then you edited a file and made empty folders of your own. Its
    rollback takes back its effect on folders and leaves yours; undo re-applies it."""
    _tree(repo)
    before = walk(repo.path)
    _run(
        repo,
        history,
        "mkdir -p made/a/b && rmdir top && rmdir src/e1 && printf op > src/e1",
        check=0,
    )
    repo.write("src/app.py", b"app, edited since\n")
    (repo.path / "mine" / "deep").mkdir(parents=True)
    (repo.path / "src" / "lib" / "mine2").mkdir()
    repo.atomic("rollback", check=0)
    now = walk(repo.path)
    expected = dict(before)
    expected[b"src/app.py"] = ("file", b"app, edited since\n")
    expected.update({b"mine": ("dir",), b"mine/deep": ("dir",), b"src/lib/mine2": ("dir",)})
    assert now == expected
    repo.atomic("undo", check=0)
    now = walk(repo.path)
    assert now[b"made/a/b"] == ("dir",)
    assert b"top" not in now
    assert now[b"src/e1"] == ("file", b"op")
    assert now[b"mine/deep"] == ("dir",) and now[b"src/lib/mine2"] == ("dir",)
    assert now[b"src/app.py"] == ("file", b"app, edited since\n")


# Your folders beside a tracked file, of each kind: what a rollback must leave as it found.
BESIDE = {
    "empty folder": ["pkg/e"],
    "empty ignored folder": ["pkg/cache"],
    "nested empty folders": ["pkg/n1/n2/n3", "pkg/n1/m"],
    "nested ignored and not": ["pkg/n1/cache/deep", "pkg/n1/e"],
}


@pytest.mark.parametrize("history", HISTORIES)
@pytest.mark.parametrize("kind", BESIDE)
@pytest.mark.parametrize("how", ["failed run", "rollback --op"])
def test_folders_of_yours_where_the_operation_removed_files_stay_in_both_modes(
    repo: GitRepo, history: str, kind: str, how: str
) -> None:
    """The operation removed the tracked files of a folder that also holds folders of yours,
    empty or ignored (`cache`, a rule's). The capture after it held the ignored one as an
    empty folder (found where the files went, never asked of the rules): a shadow-mode
    rollback (a failed run in either mode) deleted your ignored folder, which `undo` then made
    again, where commits mode's `rollback --op` kept it. Now each mode leaves them as they
    were, `undo` gives the operation's state, and a second `undo` yours again."""
    repo.write(".gitignore", b"cache\n")
    repo.write("pkg/mod.py", b"mod\n")
    repo.write("pkg/sub/util.py", b"util\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "pkg")
    for folder in BESIDE[kind]:
        (repo.path / folder).mkdir(parents=True)
    before = walk(repo.path)
    script = "rm pkg/mod.py pkg/sub/util.py && rmdir pkg/sub"
    if how == "failed run":
        _run(repo, history, script + "; exit 1")
    else:
        done = repo.atomic_json("run", "--history", history, "--", "sh", "-c", script)
        repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert walk(repo.path) == before
    repo.atomic("undo", check=0)
    after_op = {p: e for p, e in before.items() if not p.startswith((b"pkg/mod", b"pkg/sub"))}
    assert walk(repo.path) == after_op
    repo.atomic("undo", check=0)
    assert walk(repo.path) == before


# Ways an operation changes which of your empty folders a rule ignores.
RULES_CHANGED = {
    "its .gitignore removed": "rm .gitignore",
    "its line taken out": "printf 'other\\n' > .gitignore",
    "info/exclude's line taken out": ": > .git/info/exclude",
    "another folder ignored": "printf 'cache\\npkg/e\\n' > .gitignore",
}


@pytest.mark.parametrize("history", HISTORIES)
@pytest.mark.parametrize("rules", RULES_CHANGED)
@pytest.mark.parametrize("how", ["failed run", "rollback --op"])
def test_your_empty_folders_stay_when_the_operation_changed_what_git_ignores(
    repo: GitRepo, history: str, rules: str, how: str
) -> None:
    """The operation took away the rule that ignored your empty folders (or ignored one more):
    after it they read as empty folders PRE-OP did not list, made by it, and the rollback
    deleted them (`undo` made them again). Untouched since PRE-OP was captured, they are
    yours: they stay, as your ignored files do; the empty folder it made goes."""
    repo.write(".gitignore", b"cache\n")
    (repo.path / ".git" / "info" / "exclude").write_bytes(b"xcache\n")
    repo.write("pkg/mod.py", b"mod\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "pkg")
    for folder in ("pkg/cache", "cache/deep", "pkg/xcache", "pkg/e"):
        (repo.path / folder).mkdir(parents=True)
    # Made before the operation by more than the coarse clock's lag (ignores._CLOCK_LAG): a
    # folder made in the same instant as PRE-OP's capture may be the operation's.
    time.sleep(0.1)
    before = walk(repo.path)
    script = RULES_CHANGED[rules] + "; mkdir made"
    if how == "failed run":
        _run(repo, history, script + "; exit 1")
    else:
        done = repo.atomic_json("run", "--history", history, "--", "sh", "-c", script)
        repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert walk(repo.path) == before
    repo.atomic("undo", check=0)
    assert walk(repo.path)[b"made"] == ("dir",)
    assert {b"pkg/cache", b"cache/deep", b"pkg/xcache", b"pkg/e"} <= set(walk(repo.path))


def test_a_capture_lists_every_empty_folder_and_no_ignored_one(repo: GitRepo) -> None:
    """What the checkpoint holds: the innermost empty folders, in tracked folders, in
    untracked ones and in new ones; none that a rule ignores, none in a repository inside."""
    _tree(repo)
    repo.write(".gitignore", b"ignored/\n*.log\n")
    (repo.path / "ignored" / "e").mkdir(parents=True)
    (repo.path / "untracked" / "e").mkdir(parents=True)
    repo.write("untracked/f", b"f\n")
    inner = GitRepo.create(repo.path / "inner", repo.path.parent / "home2")
    (inner.path / "empty-in-inner").mkdir()
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    for _ in range(2):  # seeded from the index, then from the scan index the first one left
        snap = snapshot.capture(g, message="t", ref=None).snapshot
        assert snap.all_empty_folders
        assert checkpoint.load_empty_folders(g, snap) == {
            b"top",
            b"src/e1",
            b"src/lib/e2/e3",
            b"src/lib/x/y/z",
            b"new/only/empty",
            b"untracked/e",
        }


@pytest.mark.parametrize("history", HISTORIES)
def test_an_isolated_run_brings_its_empty_folders_home_and_rollback_takes_them_back(
    repo: GitRepo, history: str
) -> None:
    """`run --isolate`: the private worktree starts with your empty folders; what the command
    did to them comes home, and the rollback takes back exactly that."""
    _tree(repo)
    before = walk(repo.path)
    repo.atomic(
        "run",
        "--isolate",
        "--history",
        history,
        "--",
        "sh",
        "-c",
        "mkdir -p made/x && rmdir top && test -d src/lib/x/y/z",
        check=0,
    )
    now = walk(repo.path)
    assert now[b"made/x"] == ("dir",) and b"top" not in now
    assert now[b"src/lib/x/y/z"] == ("dir",) and now[b"new/only/empty"] == ("dir",)
    repo.atomic("rollback", check=0)
    assert walk(repo.path) == before


def _ignored_files_tree(repo: GitRepo) -> None:
    """`logs/` holds ignored files only (`*.log`), an empty folder of yours at depth 1 and 2,
    and a folder a rule ignores (`cache/`) with an empty folder in it; `tmp/`, ignored, is
    empty; `mixed/` holds an untracked file and a folder of ignored files with an empty one."""
    repo.write(".gitignore", b"*.log\ncache/\ntmp/\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    repo.write("logs/a.log", b"log\n")
    repo.write("logs/old/b.log", b"log\n")
    repo.write("mixed/u.txt", b"untracked\n")
    repo.write("mixed/logs/c.log", b"log\n")
    for folder in ("logs/archive", "logs/old/empty", "logs/cache/e", "tmp", "mixed/logs/e"):
        (repo.path / folder).mkdir(parents=True)


def test_empty_folders_beside_ignored_files_are_captured_and_ignored_ones_not(
    repo: GitRepo,
) -> None:
    """Before, a folder holding ignored files only (and no untracked one) was never looked
    into: `logs/archive` beside `logs/a.log` was in no checkpoint. A folder a rule ignores
    (`logs/cache/`, `tmp/`) still is not (nothing in it is yours to lose, as for files)."""
    _ignored_files_tree(repo)
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    for _ in range(2):  # seeded from the index, then from the scan index the first one left
        snap = snapshot.capture(g, message="t", ref=None).snapshot
        assert snap.all_empty_folders
        assert checkpoint.load_empty_folders(g, snap) == {
            b"logs/archive",
            b"logs/old/empty",
            b"mixed/logs/e",
        }


@pytest.mark.parametrize("history", HISTORIES)
def test_empty_folders_beside_ignored_files_stay_and_go_as_yours(
    repo: GitRepo, history: str
) -> None:
    """An operation removes your empty folders beside ignored files and makes others there:
    the rollback brings yours back and takes its own away (before, neither); ignored files and
    ignored empty folders are left as they are, those of yours and those it made alike."""
    _ignored_files_tree(repo)
    before = walk(repo.path)
    _run(
        repo,
        history,
        "rmdir logs/archive logs/old/empty mixed/logs/e && mkdir -p logs/new/deep logs/old/n "
        "mixed/logs/n && mkdir tmp/made; exit 1",
    )
    # The empty folder the operation made in `tmp/` (ignored) is not seen, and stays.
    assert walk(repo.path) == {**before, b"tmp/made": ("dir",)}
    repo.atomic("undo", check=0)
    op_state = walk(repo.path)
    for gone in (b"logs/archive", b"logs/old/empty", b"mixed/logs/e"):
        assert gone not in op_state
    for made in (b"logs/new/deep", b"logs/old/n", b"mixed/logs/n"):
        assert op_state[made] == ("dir",)
    repo.atomic("undo", check=0)
    assert walk(repo.path) == {**before, b"tmp/made": ("dir",)}


def test_a_fifo_put_where_an_empty_folder_was_makes_way_and_undo_makes_it_again(
    repo: GitRepo,
) -> None:
    """git does not see an untracked FIFO at all; one the operation put where your empty
    folder was is in the way of the folder coming back: the rescue holds it, the rollback
    removes it and makes the folder, `undo` makes the FIFO again (adversarial review: it stayed
    a FIFO, said "changed nothing")."""
    (repo.path / "e").mkdir()
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", "rmdir e; mkfifo e; exit 1")
    assert res.returncode == 1, res.stderr
    assert (repo.path / "e").is_dir() and not list((repo.path / "e").iterdir())
    repo.atomic("undo", check=0)
    assert stat.S_ISFIFO((repo.path / "e").lstat().st_mode)
