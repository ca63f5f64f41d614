"""The walk of the folders (engine/folderwalk.py), with what it keeps from one walk to the next,
against a fresh look at the disk (`os.lstat`, `os.listdir`, nothing kept) and git's verdict on
each folder and each of the folders above it, asked one by one; and the listing of ignored rule
files it lets git make over a few paths, against git's listing over the whole tree."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from git_atomic.engine import discovery, folderwalk, folderwalker, ignores
from testing.gitrepo import GitRepo

NAMES = ["a", "b", "c", "logs", "build", ".venv", ":odd", "sp ace", ".Git"]
RULES = ["build/", "*.log", "logs/", "*", "!*/", "c", "b/", ".venv/", ":odd"]


def _steps() -> st.SearchStrategy[list[tuple[str, ...]]]:
    folder = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map("/".join)
    return st.lists(
        st.one_of(
            st.tuples(st.just("mkdir"), folder),
            st.tuples(st.just("file"), folder),
            st.tuples(st.just("remove"), folder),
            st.tuples(st.just("rules"), folder, st.lists(st.sampled_from(RULES), max_size=3)),
            st.tuples(st.just("repo"), folder),
            st.tuples(st.just("outlink"), folder),
            st.tuples(st.just("exclude"), st.lists(st.sampled_from(RULES), max_size=2)),
        ),
        min_size=1,
        max_size=8,
    )


def _rules_of(step: tuple[object, ...]) -> list[str] | None:
    found = step[2] if step[0] == "rules" else step[1] if step[0] == "exclude" else None
    return list(found) if isinstance(found, list) else None


def _apply(root: Path, outside: Path, step: tuple[str, ...], rules: list[str] | None) -> None:
    kind, rel = step[0], step[1]
    target = root / rel if isinstance(rel, str) else root
    try:
        if kind == "mkdir":
            target.mkdir(parents=True, exist_ok=True)
        elif kind == "file":
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.is_dir() or target.is_symlink():
                target.unlink(missing_ok=True)
                target.write_bytes(b"x\n")
        elif kind == "remove":
            if target.is_symlink() or target.is_file():
                target.unlink()
            elif target.is_dir():
                shutil.rmtree(target)
        elif kind == "rules":
            target.mkdir(parents=True, exist_ok=True)
            (target / ".gitignore").write_text("".join(r + "\n" for r in rules or []))
        elif kind == "repo":
            (target / ".git").mkdir(parents=True, exist_ok=True)
            (target / "inside" / "empty").mkdir(parents=True, exist_ok=True)
        elif kind == "outlink":
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            target.symlink_to(outside)
        elif kind == "exclude":
            info = root / ".git" / "info"
            info.mkdir(exist_ok=True)
            (info / "exclude").write_text("".join(r + "\n" for r in rules or []))
    except (FileExistsError, NotADirectoryError, FileNotFoundError):
        pass  # a file where a folder is asked for, or the other way round: nothing done


def _ignored(repo: GitRepo, paths: list[str]) -> set[str]:
    """git's verdict on each of `paths`, asked one at a time, with each folder above it."""
    out = set()
    for path in paths:
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            res = subprocess.run(
                ["git", "check-ignore", "--no-index", "-q", "./" + "/".join(parts[:depth])],
                cwd=repo.path,
                env=repo.env,
                capture_output=True,
            )
            if res.returncode == 0:
                out.add(path)
                break
    return out


def _empty_on_disk(root: Path) -> list[str]:
    """Every folder with nothing in it, not in a repository of its own, nor beyond a link."""
    found: list[str] = []

    def visit(folder: Path, rel: str) -> None:
        names = os.listdir(folder)
        if rel and ".git" in names:  # as git's walk tells a repository (no core.ignoreCase)
            return
        if rel and not names:
            found.append(rel)
        for name in names:
            if not rel and name == ".git":
                continue
            full = folder / name
            if stat.S_ISDIR(os.lstat(full).st_mode):
                visit(full, f"{rel}/{name}" if rel else name)

    visit(root, "")
    return found


def _expected_empty(repo: GitRepo) -> set[bytes]:
    empty = _empty_on_disk(repo.path)
    return {os.fsencode(p) for p in set(empty) - _ignored(repo, empty)}


@pytest.fixture
def racy_short(monkeypatch: pytest.MonkeyPatch) -> float:
    """A walk keeps what changed more than 30 ms before it (not 3 s), so that these tests
    exercise what it keeps; they wait that long between a walk and the next change."""
    monkeypatch.setattr(folderwalk, "_RACY_NS", 30_000_000)
    return 0.04


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=_steps())
def test_each_walk_finds_the_empty_folders_git_does_not_ignore(
    tmp_path_factory: pytest.TempPathFactory, racy_short: float, steps: list[tuple[str, ...]]
) -> None:
    base = tmp_path_factory.mktemp("walk")
    repo = GitRepo.create(base / "repo", base / "home")
    outside = base / "outside"
    (outside / "empty-outside").mkdir(parents=True)
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    for step in steps:
        _apply(repo.path, outside, step, _rules_of(step))
        walked = folderwalk.walk(g)
        assert walked is not None
        assert walked.empty == _expected_empty(repo), step
        time.sleep(racy_short)
    # What it kept is right once more from nothing kept.
    cache = folderwalk.cache_file(g)
    assert cache is not None and cache.exists()
    cache.unlink()
    again = folderwalk.walk(g)
    assert again is not None and again.empty == _expected_empty(repo)


def test_a_folder_changed_in_the_tick_it_was_read_is_read_again(repo: GitRepo) -> None:
    """With the usual margin: a folder made just before a walk is not kept by it, so an entry
    made in it just after (which may leave its mtime as it was) is seen."""
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    for i in range(20):
        (repo.path / f"f{i}").mkdir()
        assert folderwalk.walk(g) is not None
        (repo.path / f"f{i}" / "e").mkdir()
        walked = folderwalk.walk(g)
        assert walked is not None and os.fsencode(f"f{i}/e") in walked.empty
        assert os.fsencode(f"f{i}") not in walked.empty


def test_a_rule_changed_in_the_tree_is_asked_about_again(repo: GitRepo, racy_short: float) -> None:
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    (repo.path / "x" / "e").mkdir(parents=True)
    repo.write("sub/.gitignore", b"")
    (repo.path / "sub" / "y").mkdir()
    first = folderwalk.walk(g)
    assert first is not None and first.empty == {b"x/e", b"sub/y"}
    time.sleep(racy_short)
    again = folderwalk.walk(g)  # from what it kept, its rules now older than the racy window
    assert again is not None and again._replace(rules_stamp=None) == first
    assert first.rules_stamp is None and again.rules_stamp is not None
    repo.write("sub/.gitignore", b"y\n")  # the folder holding it does not change
    walked = folderwalk.walk(g)
    assert walked is not None and walked.empty == {b"x/e"}
    assert walked.ignored == (b"sub/y",)
    time.sleep(racy_short)
    (repo.path / ".git" / "info").mkdir(exist_ok=True)
    (repo.path / ".git" / "info" / "exclude").write_text("x/\n")
    walked = folderwalk.walk(g)
    assert walked is not None and walked.empty == frozenset()


def test_a_damaged_walk_kept_is_no_harm(repo: GitRepo) -> None:
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    (repo.path / "x" / "e").mkdir(parents=True)
    cache = folderwalk.cache_file(g)
    assert cache is not None
    cache.parent.mkdir(parents=True, exist_ok=True)
    for junk in (b"", b"\x00\x01garbage", b"\xfb" * 64, b"N", b")\x05\xe9\x01"):
        cache.write_bytes(junk)
        walked = folderwalk.walk(g)
        assert walked is not None and walked.empty == {b"x/e"}


def test_the_walk_never_goes_through_a_link(repo: GitRepo, tmp_path: Path) -> None:
    """A link to a folder outside (with an empty folder in it), where a folder was, in a
    folder the walk kept: nothing outside is listed, and the walk does not open it."""
    outside = tmp_path / "outside"
    (outside / "e").mkdir(parents=True)
    os.chmod(outside, 0o311)  # not listable: opening it to read would fail the walk
    (repo.path / "d" / "e").mkdir(parents=True)
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    try:
        assert (walked := folderwalk.walk(g)) is not None and walked.empty == {b"d/e"}
        shutil.rmtree(repo.path / "d")
        (repo.path / "d").symlink_to(outside)
        walked = folderwalk.walk(g)
        assert walked is not None and walked.empty == frozenset()
    finally:
        os.chmod(outside, 0o755)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=_steps(), tracked=st.lists(st.sampled_from(NAMES), max_size=2))
def test_the_rule_files_listed_where_the_walk_found_them_are_those_of_the_whole_tree(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, ...]], tracked: list[str]
) -> None:
    """Ignored rule files: git asked about the rule files the walk found and the ignored
    folders it did not look into lists what its listing over the whole tree lists, with files
    forced into the index inside ignored folders too."""
    base = tmp_path_factory.mktemp("rules")
    repo = GitRepo.create(base / "repo", base / "home")
    outside = base / "outside"
    outside.mkdir()
    for step in steps:
        _apply(repo.path, outside, step, _rules_of(step))
    for name in tracked:  # a folder's file forced into the index, ignored or not
        folder = repo.path / name
        if folder.is_dir() and not folder.is_symlink() and not (folder / ".git").exists():
            (folder / "kept.txt").write_bytes(b"k\n")
            repo.git("add", "-f", f"{name}/kept.txt", check=False)
            (folder / ".gitignore").write_text("*\n")
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    walked = folderwalk.walk(g)
    assert walked is not None
    narrow = ignores.listed(ignores.start_listing(g, protect=(), walked=walked))
    whole = ignores.listed(ignores.start_listing(g, protect=()))
    assert narrow is not None and whole is not None
    files = sorted(p for p in whole if not p.endswith(b"/"))
    assert sorted(p for p in narrow if not p.endswith(b"/")) == files


def test_no_empty_folder_where_your_index_has_a_submodule(repo: GitRepo) -> None:
    """A submodule not checked out is an empty folder: git never lists it, nor do we hold it."""
    head = repo.head()
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{head},mod")
    (repo.path / "mod").mkdir()
    (repo.path / "mod2" / "e").mkdir(parents=True)
    res = repo.atomic_json("begin", "t")
    empty = repo.git("show", res["checkpoints"]["pre_op"] + ":empty-folders")
    assert [p for p in empty.replace("\0", "\n").split("\n") if p] == ["mod2/e"]


def test_a_damaged_walk_kept_is_never_decoded(repo: GitRepo, racy_short: float) -> None:
    """Bytes of a kept walk flipped at random (a crash of the machine, a bad disk): its
    checksum fails, nothing of it is used (`marshal` may crash on such bytes), and the walk is
    right all the same."""
    import random

    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    for folder in ("a/b/c", "a/e", "x/y"):
        (repo.path / folder).mkdir(parents=True)
    time.sleep(racy_short)  # old enough to be kept: records to damage
    assert folderwalk.walk(g) is not None
    cache = folderwalk.cache_file(g)
    assert cache is not None
    good = cache.read_bytes()
    rng = random.Random(17)
    for _ in range(200):
        data = bytearray(good)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data))
            data[at] ^= 1 << rng.randrange(8)
        cache.write_bytes(bytes(data))
        walked = folderwalk.walk(g)
        assert walked is not None and walked.empty == {b"a/b/c", b"a/e", b"x/y"}
    cache.unlink()
    cache.mkdir()  # not a file at all
    assert (walked := folderwalk.walk(g)) is not None and walked.empty == {b"a/b/c", b"a/e", b"x/y"}


def test_the_rules_outside_the_tree_as_git_reads_them(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative `core.excludesFile` is read from the top of the worktree, wherever the
    command runs; a rule file written again with its old mtime and size is still another."""
    from git_atomic.engine import reconcile

    repo.write("myignore", b"tmp/\n")
    repo.git("config", "core.excludesFile", "myignore")
    (repo.path / "sub").mkdir()
    monkeypatch.chdir(repo.path / "sub")
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path / "sub"))
    before = reconcile.rules_key(g)
    assert [str(repo.path / "myignore")] != before[2] and str(repo.path / "myignore") in before[2]
    st = os.stat(repo.path / "myignore")
    time.sleep(0.02)
    repo.write("myignore", b"xyz/\n")  # the same size
    os.utime(repo.path / "myignore", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert reconcile.rules_key(g) != before


@pytest.fixture
def folding(monkeypatch: pytest.MonkeyPatch) -> None:
    """The filesystem taken for one that folds case, as `core.ignoreCase` says (a true setting
    on this case-sensitive one is otherwise not trusted: gitconfig.py)."""
    from git_atomic.engine import gitconfig

    monkeypatch.setattr(gitconfig, "_case_sensitive", lambda root, env: False)


@pytest.mark.parametrize("icase", [False, True])
def test_a_dot_git_in_another_case_is_a_repository_only_with_ignorecase(
    repo: GitRepo, icase: bool, folding: None
) -> None:
    if icase:
        repo.git("config", "core.ignoreCase", "true")
    (repo.path / "y" / ".Git").mkdir(parents=True)
    (repo.path / "y" / "e").mkdir()
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    walked = folderwalk.walk(g)
    assert walked is not None
    if icase:
        assert walked.empty == frozenset() and walked.own_repositories == (b"y",)
    else:
        assert walked.empty == {b"y/.Git", b"y/e"} and walked.own_repositories == ()


def test_a_deep_tree_is_walked_over_a_few_captures(
    repo: GitRepo, racy_short: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """150 folders deep, none seen before: a walk asks git about one depth at a time, and
    stops after 64 (the capture then asks git's listing), keeping what it read; the next ones
    go on from there, and the third finds the empty folder at the bottom. Never a traceback,
    nor folders left open. (No folder read ahead: the depths a round asks about are what is
    counted here.)"""
    monkeypatch.setattr(folderwalker, "_AHEAD_AT_MOST", 0)
    fd = os.open(repo.path, os.O_RDONLY)
    for _ in range(150):
        os.mkdir("d", dir_fd=fd)
        below = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = below
    os.close(fd)
    time.sleep(racy_short)
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    open_before = len(os.listdir("/proc/self/fd"))
    assert folderwalk.walk(g) is None
    assert folderwalk.walk(g) is None
    walked = folderwalk.walk(g)
    assert walked is not None and walked.empty == {b"/".join([b"d"] * 150)}
    assert len(os.listdir("/proc/self/fd")) == open_before


def test_a_walk_stopped_part_way_keeps_no_verdict_a_rule_change_made_stale(
    repo: GitRepo, racy_short: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`build/` was ignored; the rule goes while 70 new depths of folders come: the walk that
    stops after 64 depths must not keep the old verdict with the new rule file's stat data.
    (No folder read ahead, as above.)"""
    monkeypatch.setattr(folderwalker, "_AHEAD_AT_MOST", 0)
    repo.write(".gitignore", b"build/\n")
    (repo.path / "build" / "e").mkdir(parents=True)
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    time.sleep(racy_short)
    for _ in range(2):
        walked = folderwalk.walk(g)
        assert walked is not None and walked.ignored == (b"build",)
    repo.write(".gitignore", b"\n")
    (repo.path / "/".join(["d"] * 70)).mkdir(parents=True)
    time.sleep(racy_short)
    assert folderwalk.walk(g) is None  # 64 depths, then git's listing
    time.sleep(racy_short)
    walked = folderwalk.walk(g)
    assert walked is not None and b"build/e" in walked.empty and walked.ignored == ()


def test_what_holds_a_git_is_read_again_when_core_ignorecase_changes(
    repo: GitRepo, racy_short: float, folding: None
) -> None:
    (repo.path / "y" / ".Git").mkdir(parents=True)
    (repo.path / "y" / "e").mkdir()
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    time.sleep(racy_short)
    assert (walked := folderwalk.walk(g)) is not None and walked.own_repositories == ()
    repo.git("config", "core.ignoreCase", "true")
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    walked = folderwalk.walk(g)
    assert walked is not None and walked.own_repositories == (b"y",) and not walked.empty


@pytest.mark.parametrize("walking", [True, False])
def test_the_walk_and_gits_listing_hold_the_same_empty_folders(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, walking: bool
) -> None:
    """Where no walk can be made, the capture asks git's listing: it must hold the same empty
    folders, or a rollback whose rescue was taken one way and PRE-OP the other would take away
    what one of them did not see. `a/` holds only an ignored empty folder (`tmp/`), which git
    lists `a/` for."""
    from git_atomic.engine import checkpoint, snapshot

    repo.write(".gitignore", b"tmp/\n")
    (repo.path / "a" / "tmp").mkdir(parents=True)
    (repo.path / "b" / "e").mkdir(parents=True)
    (repo.path / "logs" / "cache" / "e").mkdir(parents=True)
    repo.write("logs/x.log", b"log\n")
    repo.write(".gitignore", b"tmp/\n*.log\ncache/\n")
    if not walking:
        monkeypatch.setattr(folderwalk, "walk", lambda _repo: None)
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    snap = snapshot.capture(g, message="t", ref=None).snapshot
    assert snap.all_empty_folders
    assert checkpoint.load_empty_folders(g, snap) == {b"b/e"}


def _questions(repo: GitRepo, g: object, monkeypatch: pytest.MonkeyPatch) -> tuple[object, int]:
    """A walk, and how many `check-ignore` processes it started (GIT_TRACE)."""
    trace = repo.path.parent / "walk-trace"
    trace.unlink(missing_ok=True)
    monkeypatch.setenv("GIT_TRACE", str(trace))
    try:
        walked = folderwalk.walk(g)  # type: ignore[arg-type]
    finally:
        monkeypatch.delenv("GIT_TRACE")
    text = trace.read_text() if trace.exists() else ""
    return walked, text.count("built-in: git check-ignore")


@pytest.mark.parametrize(
    "made",
    [
        ["newpkg/gen/g0/e"],  # `mkdir -p` of a new package: three depths
        ["a/b/c/d/e/f/g"],  # deeper
        ["x/y/e", "x/z/w/e", "q/e"],  # several new trees side by side
        ["m/build/out/e", "m/keep/e"],  # an ignored folder inside a new one (below: none)
        ["n/.venv/lib/site/e", "n/src/e"],  # a new folder's own rule file ignores one in it
        ["r/sub/.git/e", "r/sub/inside/e", "r/other/e"],  # a repository of its own inside
    ],
)
def test_a_new_tree_of_folders_is_one_question_to_git(
    repo: GitRepo, racy_short: float, monkeypatch: pytest.MonkeyPatch, made: list[str]
) -> None:
    """Folders made since the last walk, any depth: git is asked about all of them in one
    `check-ignore` (the folders below each new one read ahead), not once per depth; the empty
    folders found are git's, folder by folder (what a rule in a new folder ignores, what is in
    a repository of its own, stays out)."""
    repo.write(".gitignore", b"build/\n")
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    assert folderwalk.walk(g) is not None
    time.sleep(racy_short)
    for path in made:
        (repo.path / path).mkdir(parents=True)
    if any(p.startswith("n/") for p in made):
        repo.write("n/.gitignore", b".venv/\n")
    time.sleep(racy_short)  # a rule file changed just before a walk is asked about again
    walked, asked = _questions(repo, g, monkeypatch)
    assert walked is not None and asked == 1
    assert walked.empty == _expected_empty(repo)
    time.sleep(racy_short)
    again, asked = _questions(repo, g, monkeypatch)
    assert again == walked and asked == 0  # all kept


def test_a_new_ignored_tree_is_read_ahead_only_so_far(
    repo: GitRepo, racy_short: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new `node_modules/` of many folders, ignored: before git says so, at most
    `_AHEAD_AT_MOST` of its folders are read, none of them again, nothing of it is found."""
    repo.write(".gitignore", b"node_modules/\n")
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    assert folderwalk.walk(g) is not None
    time.sleep(racy_short)
    for i in range(60):
        (repo.path / "node_modules" / f"p{i}" / "lib" / "e").mkdir(parents=True)
    read: list[bytes] = []
    record = folderwalker.Walker._record

    def counted(self: folderwalker.Walker, folder: bytes, fd: int) -> object:
        read.append(folder)
        return record(self, folder, fd)

    monkeypatch.setattr(folderwalker.Walker, "_record", counted)
    walked, asked = _questions(repo, g, monkeypatch)
    assert walked is not None and asked == 1
    assert walked.ignored == (b"node_modules",) and not walked.empty
    inside = [f for f in read if f.startswith(b"node_modules")]
    assert 0 < len(inside) <= folderwalker._AHEAD_AT_MOST


def test_a_rule_file_that_would_stall_git_in_a_new_tree_is_refused_before_git_is_asked(
    repo: GitRepo, racy_short: float
) -> None:
    """A `.gitignore` made a fifo in a folder read ahead (`a/b/.gitignore`, `a/` new): git
    asked about `a/b/c` would wait on it for ever; refused first, as in any folder walked."""
    from git_atomic.engine import stalls

    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    assert folderwalk.walk(g) is not None
    time.sleep(racy_short)
    (repo.path / "a" / "b" / "c" / "e").mkdir(parents=True)
    os.mkfifo(repo.path / "a" / "b" / ".gitignore")
    with pytest.raises(stalls.Stalled):
        folderwalk.walk(g)


def test_a_rule_file_git_never_reads_in_a_new_ignored_tree_is_no_refusal(
    repo: GitRepo, racy_short: float
) -> None:
    """A `.gitignore` made a fifo inside a new folder a rule ignores (`cache/`): git never
    reads it (it reads no rule file below an ignored folder), so the walk, reading ahead,
    does not refuse it either; the folder is ignored, nothing below it is looked at."""
    repo.write(".gitignore", b"cache/\n")
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    assert folderwalk.walk(g) is not None
    time.sleep(racy_short)
    (repo.path / "cache" / "b" / "c").mkdir(parents=True)
    os.mkfifo(repo.path / "cache" / ".gitignore")
    os.mkfifo(repo.path / "cache" / "b" / ".gitignore")
    walked = folderwalk.walk(g)
    assert walked is not None and walked.ignored == (b"cache",) and not walked.empty


def _rule_steps() -> st.SearchStrategy[list[tuple[str, str]]]:
    kinds = ("rule", "rule", "track", "untrack", "ignored-folder", "rule-inside", "exclude", "attr")
    return st.lists(
        st.tuples(st.sampled_from(kinds), st.sampled_from(("", "a", "build", "a/b"))),
        min_size=1,
        max_size=8,
    )


def _apply_rule_step(repo: GitRepo, kind: str, where: str) -> None:
    folder = repo.path / where
    if kind == "rule":  # a rule file that ignores something, itself at times
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".gitignore").write_text(
            {"": "build/\n", "a": ".gitignore\n", "build": "*\n", "a/b": "*.log\n"}[where]
        )
    elif kind in ("track", "untrack"):
        rel = f"{where}/.gitignore" if where else ".gitignore"
        if (repo.path / rel).exists():
            if kind == "track":
                repo.git("add", "-f", rel)
            else:
                repo.git("rm", "-q", "--cached", "--ignore-unmatch", rel)
    elif kind == "ignored-folder":  # a folder the root rule ignores, a file in it
        (repo.path / "build" / "out").mkdir(parents=True, exist_ok=True)
        (repo.path / "build" / "out" / "x.o").write_bytes(b"o")
    elif kind == "rule-inside":  # a rule file where git does not look, unless tracked there
        (repo.path / "build" / "deep").mkdir(parents=True, exist_ok=True)
        (repo.path / "build" / "deep" / ".gitignore").write_text("*\n")
    elif kind == "exclude":
        (repo.path / ".git" / "info").mkdir(exist_ok=True)
        with open(repo.path / ".git" / "info" / "exclude", "a") as fh:
            fh.write({"": ".gitattributes\n", "a": "a/\n"}.get(where, "*.tmp\n"))
    else:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".gitattributes").write_text("* text\n")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=_rule_steps())
def test_the_rule_files_git_ignores_are_remembered_only_while_nothing_they_depend_on_changed(
    tmp_path_factory: pytest.TempPathFactory, racy_short: float, steps: list[tuple[str, str]]
) -> None:
    """ignores.py keeps git's answer about which rule files are ignored (the benchmark's
    tracked `.gitignore` beside an ignored `build/`, asked at every checkpoint) by the walk's
    `rules_stamp` and the index. After each step (a rule written, a rule file tracked or
    untracked, an ignored folder, a rule file inside one, `info/exclude`, an attributes file),
    once its rules are out of the racy window, what a capture is told equals git's own answer
    (the memo removed), twice: the second from the memo where it holds."""
    base = tmp_path_factory.mktemp("rules")
    repo = GitRepo.create(base / "repo", base / "home")
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    memo = Path(ignores._answer_file(g))
    for kind, where in steps:
        _apply_rule_step(repo, kind, where)
        time.sleep(racy_short)
        for _ in range(2):
            walked = folderwalk.walk(g)
            assert walked is not None
            told = ignores.listed(ignores.start_listing(g, protect=(), walked=walked))
            kept = memo.read_bytes() if memo.exists() else None
            memo.unlink(missing_ok=True)
            fresh = ignores.listed(ignores.start_listing(g, protect=(), walked=walked))
            assert told == fresh, (kind, where)
            if kept is not None:
                memo.write_bytes(kept)
