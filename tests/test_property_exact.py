"""Exactness, the heart: random messy trees x random operations -> rollback -> identical state.

Each example builds a real repository (nested folders, exec bits, symlinks, binary, non-UTF-8
and odd names, staged / unstaged / partially staged / untracked / ignored / intent-to-add
files, unborn or detached HEAD, extra branches), checkpoints it, applies random operations
(edits, deletes, creates, file<->folder swaps, mode flips, symlinks, git add/rm, entry flags,
commits, branch creation/deletion/switches), rolls back, and compares HEAD, branches, every
index entry (path, mode, object, stage and flags, read from the raw index file) and every
file's bytes and mode. Then it restores the rescue checkpoint and expects the operation's
state back exactly (that is what `undo` relies on).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from git_atomic.engine import discovery, snapshot
from git_atomic.ops import context
from git_atomic.ops.operation import Engine
from testing.differential import PLAIN_SETTINGS, SETTINGS, attributes
from testing.gitrepo import GitRepo

NAMES = [
    b"a",
    b"b",
    b"dir",
    b"sub",
    "ü".encode(),
    b"sp ace",
    b"\xff\xfe",
    b"-dash",
    b"x.txt",
    b"tab\there",
    b"new\nline",
    b"q?",
    b"UPPER",
    b"deep",
]
IGNORED = [b"zz.ign", b"ignored-dir/keep.ign"]

paths = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map(b"/".join)
contents = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b"", b"line\n", b"crlf\r\nline\r\n", b"\x00\x01binary\xff", b"same\n"]),
)
step = st.one_of(
    st.tuples(st.just("write"), paths, contents, st.booleans()),
    st.tuples(st.just("delete"), paths),
    st.tuples(st.just("chmod"), paths),
    st.tuples(
        st.just("symlink"), paths, st.sampled_from([b"a", b"../outside", b"dir/sub", b"missing"])
    ),
    st.tuples(st.just("add"), paths),
    st.tuples(st.just("add-all")),
    st.tuples(st.just("add-intent"), paths),
    st.tuples(
        st.just("flag"),
        paths,
        st.sampled_from(
            ["--assume-unchanged", "--no-assume-unchanged", "--skip-worktree", "--no-skip-worktree"]
        ),
    ),
    st.tuples(st.just("rm-cached"), paths),
    st.tuples(st.just("commit")),
    st.tuples(st.just("branch"), st.sampled_from(["feature", "other", "tmp"])),
    st.tuples(st.just("delete-branch"), st.sampled_from(["feature", "other", "tmp"])),
    st.tuples(st.just("switch"), st.sampled_from(["feature", "other", "main"])),
    st.tuples(st.just("detach")),
)
# Tracking an ignored file (`git add -f`) happens only in the set-up: an operation that did so
# and then switched branches would delete that file, which no checkpoint holds (ignored files
# are never captured). It makes the checkpoint's scan index lack a file the user tracks.
setup_step = st.one_of(step, st.tuples(st.just("add-force"), st.sampled_from(IGNORED)))


def _full(repo: GitRepo, rel: bytes) -> bytes:
    return os.path.join(os.fsencode(repo.path), rel)


def _clear(path: bytes) -> None:
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def apply_step(repo: GitRepo, s: tuple[object, ...]) -> None:
    kind = s[0]
    if kind in ("write", "symlink"):
        rel = s[1]
        assert isinstance(rel, bytes)
        full = _full(repo, rel)
        # Make room: a file standing where a folder must be is swapped for one (file->folder).
        parts = rel.split(b"/")
        for i in range(1, len(parts)):
            prefix = _full(repo, b"/".join(parts[:i]))
            if os.path.islink(prefix) or (os.path.lexists(prefix) and not os.path.isdir(prefix)):
                os.unlink(prefix)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)  # folder->file swap
        elif os.path.lexists(full):
            os.unlink(full)
        if kind == "write":
            data, exe = s[2], s[3]
            assert isinstance(data, bytes)
            with open(full, "wb") as fh:
                fh.write(data)
            os.chmod(full, 0o755 if exe else 0o644)
        else:
            target = s[2]
            assert isinstance(target, bytes)
            os.symlink(target, full)
    elif kind == "delete":
        rel = s[1]
        assert isinstance(rel, bytes)
        _clear(_full(repo, rel))
    elif kind == "chmod":
        rel = s[1]
        assert isinstance(rel, bytes)
        full = _full(repo, rel)
        if os.path.isfile(full) and not os.path.islink(full):
            os.chmod(full, os.stat(full).st_mode ^ 0o111)
    elif kind == "add":
        repo.git("add", "--", os.fsdecode(s[1]), check=False)  # type: ignore[arg-type]
    elif kind == "add-all":
        repo.git("add", "-A", check=False)
    elif kind == "add-force":
        repo.git("add", "-f", "--", os.fsdecode(s[1]), check=False)  # type: ignore[arg-type]
    elif kind == "add-intent":
        repo.git("add", "-N", "--", os.fsdecode(s[1]), check=False)  # type: ignore[arg-type]
    elif kind == "flag":
        repo.git(
            "update-index",
            str(s[2]),
            "--",
            os.fsdecode(s[1]),  # type: ignore[arg-type]
            check=False,
        )
    elif kind == "rm-cached":
        repo.git(
            "rm",
            "-q",
            "-r",
            "--cached",
            "--",
            os.fsdecode(s[1]),  # type: ignore[arg-type]
            check=False,
        )
    elif kind == "commit":
        repo.git("commit", "-q", "--no-verify", "-m", "step", check=False)
    elif kind == "branch":
        repo.git("branch", "-f", str(s[1]), check=False)
    elif kind == "delete-branch":
        repo.git("branch", "-D", str(s[1]), check=False)
    elif kind == "switch":
        repo.git("checkout", "-q", "-f", str(s[1]), check=False)
    elif kind == "detach":
        repo.git("checkout", "-q", "-f", "--detach", check=False)


# Settings that tell git to look less closely or write files otherwise, and attributes (in
# `info/attributes`, out of the operations' reach), as the differential test draws them.
chosen_settings = st.dictionaries(
    st.sampled_from([*PLAIN_SETTINGS, "attributes"]), st.none(), max_size=3
).flatmap(lambda keys: st.fixed_dictionaries({k: st.sampled_from(SETTINGS[k]) for k in keys}))


def _scenario(
    unborn: bool,
    setup: list[tuple[object, ...]],
    op: list[tuple[object, ...]],
    chosen: dict[str, str] | None = None,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        repo = GitRepo.create(base / "r", base / "home", initial_commit=not unborn)
        for key, value in sorted((chosen or {}).items()):
            if key == "attributes":
                attributes(repo, value, info=True)
            else:
                repo.git("config", key, value)
        # The ignore rule lives where no random operation can reach it: an operation that
        # deleted a .gitignore and then the files it had protected destroys what no checkpoint
        # can hold (ignored files are never captured); test_engine covers rule changes.
        (repo.path / ".git" / "info" / "exclude").write_bytes(b"*.ign\n")
        for rel in IGNORED:
            repo.write(rel, b"ignored " + rel)
        g = discovery.discover(str(repo.path))
        ctx = context.Context(g, context.open_journal(g), None)  # type: ignore[arg-type]
        try:
            # A probe halfway through the set-up leaves a scan index (scan.py) that the
            # checkpoint below must bring up to date, not one seeded from the index just now.
            # Shared indexes git made for the user's own steps (your core.splitIndex), not ours.
            theirs: set[str] = set()
            for i, s in enumerate(setup):
                if i == len(setup) // 2:
                    snapshot.capture(g, message="probe", ref=None)
                _user_step(repo, s, theirs)
            before = repo.fingerprint()
            pre = snapshot.capture(g, message="pre", ref="refs/atomic/test/pre").snapshot
            assert repo.fingerprint() == before, "capture changed the worktree or index"
            for s in op:
                _user_step(repo, s, theirs)
            after_op = repo.fingerprint()
            engine = Engine(ctx)
            result = engine.rollback_to(None, pre.commit, event="rollback")
            # Your index, written split by git as your core.splitIndex says: its shared index
            # is git's to expire once no longer used, as after your own git's writes.
            theirs.add(_shared_index_of(repo, repo.path / ".git" / "index"))
            diff = repo.fingerprint().diff(before)
            assert not diff, "rollback is not exact:\n" + "\n".join(diff)
            engine.rollback_to(None, result.rescue, event="undo")
            # One thing may differ, by design: a file the operation took away that is ignored
            # (one the set-up tracked with `add -f`) stays, since no checkpoint can tell an
            # ignored file that was absent from one that was there and not captured, and a
            # restore never deletes ignored files (git-facts 6).
            kept = [f"file {p!r}: " for p in IGNORED]
            diff = [
                d
                for d in repo.fingerprint().diff(after_op)
                if not (d.startswith(tuple(kept)) and d.endswith(" != None"))
            ]
            assert not diff, "rescue restore is not exact:\n" + "\n".join(diff)
            # Shared indexes of split scan indexes: only those still in use are left (and those
            # of the user's own git).
            used = {
                _shared_index_of(repo, p)
                for p in [*(repo.path / ".git" / "atomic").glob("scan-*"), repo.path / ".git/index"]
            }
            present = _shared_indexes(repo) - theirs
            assert present <= used, f"shared indexes left behind: {present - used}"
        finally:
            ctx.journal.close()
            discovery.discover.cache_clear()


def _shared_index_of(repo: GitRepo, index: Path) -> str:
    path = repo.git("rev-parse", "--shared-index-path", env={"GIT_INDEX_FILE": str(index)})
    return path.strip().rsplit("/", 1)[-1]


def _shared_indexes(repo: GitRepo) -> set[str]:
    return {p.name for p in (repo.path / ".git").glob("sharedindex.*")}


def _user_step(repo: GitRepo, s: tuple[object, ...], theirs: set[str]) -> None:
    before = _shared_indexes(repo)
    apply_step(repo, s)
    theirs |= _shared_indexes(repo) - before


# How many examples: the hypothesis profile (tests/conftest.py): 120 by default, 2,000 with
# --slow, or GIT_ATOMIC_PROPERTY_EXAMPLES; drawn in SHARDS cases, which xdist runs side by side
# (each case draws its own examples: Hypothesis keys each parametrized case apart).
SHARDS = 4


@pytest.mark.parametrize("shard", range(SHARDS))
@settings(
    max_examples=max(1, -(-settings.default.max_examples // SHARDS)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    unborn=st.booleans(),
    setup=st.lists(setup_step, max_size=12),
    op=st.lists(step, max_size=10),
    split=st.booleans(),
    chosen=st.one_of(st.just({}), chosen_settings),
)
def test_rollback_restores_exactly(
    shard: int,
    unborn: bool,
    setup: list[tuple[object, ...]],
    op: list[tuple[object, ...]],
    split: bool,
    chosen: dict[str, str],
) -> None:
    # `split`: the scan index is a split index, as past about 40,000 files (scan.py).
    saved = os.environ.get("GIT_ATOMIC_SPLIT_SCAN_AT")
    os.environ["GIT_ATOMIC_SPLIT_SCAN_AT"] = "1" if split else str(1 << 40)
    try:
        _scenario(unborn, setup, op, chosen)
    finally:
        if saved is None:
            del os.environ["GIT_ATOMIC_SPLIT_SCAN_AT"]
        else:
            os.environ["GIT_ATOMIC_SPLIT_SCAN_AT"] = saved


def test_intent_to_add_then_chmod_concrete() -> None:
    """Found by the property test: `add -N`, then a mode change on disk; the entry keeps the
    mode it was added with, which `add -N` alone cannot make again."""
    _scenario(False, [], [("write", b"a", b"", False), ("add-intent", b"a"), ("chmod", b"a")])
    _scenario(
        False,
        [("write", b"a", b"", False), ("add-intent", b"a"), ("chmod", b"a")],
        [("write", b"b", b"x", False)],
    )


def test_only_skip_worktree_entries_concrete() -> None:
    """Found by the property test: when every path is a skip-worktree entry, `git add -A`
    refuses (exit 1, "outside of your sparse-checkout definition"); that is a finished scan."""
    _scenario(
        True, [], [("write", b"a", b"", False), ("add-all",), ("flag", b"a", "--skip-worktree")]
    )


def test_found_with_the_scan_index_concrete() -> None:
    """Found by the property test: a path beyond what is now a symlink (git refuses to look
    there); an assume-unchanged entry whose file was deleted (the disk has no file, so the
    checkpoint holds none); a file tracked although ignored, added after the last scan."""
    _scenario(
        False,
        [("write", b"a/a", b"", False)],
        [("write", b"a", b"", False), ("symlink", b"a", b"../outside")],
    )
    _scenario(
        False,
        [],
        [
            ("write", b"a", b"", False),
            ("write", b"b", b"", False),
            ("add", b"b"),
            ("delete", b"b"),
            ("flag", b"b", "--assume-unchanged"),
        ],
    )
    _scenario(
        False,
        [("write", b"a", b"", False), ("write", b"b", b"x", False), ("add-force", b"zz.ign")],
        [("rm-cached", b"a"), ("commit",)],
    )


def test_found_with_split_scan_indexes_concrete(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the property test: a shared index written from your index's very entries has
    your index's checksum for its name, which must not read as your index using it."""
    monkeypatch.setenv("GIT_ATOMIC_SPLIT_SCAN_AT", "1")
    _scenario(
        True, [("write", b"a", b"", False), ("symlink", b"a", b"a"), ("add-force", b"zz.ign")], []
    )


def test_file_folder_swaps_and_modes_concrete(tmp_path: Path) -> None:
    """A fixed case of every kind of change, so a failure here reads plainly."""
    _scenario(
        False,
        [
            ("write", b"a", b"one\n", False),
            ("write", b"dir/sub", b"two", True),
            ("add-all",),
            ("commit",),
            ("write", b"a", b"staged\n", False),
            ("add", b"a"),
            ("write", b"a", b"unstaged\n", False),
            ("write", b"sp ace", b"untracked", False),
            ("add-intent", b"sp ace"),
            ("symlink", b"link", b"a"),
        ],
        [
            ("write", b"a/inner", b"a became a folder", False),
            ("write", b"dir", b"dir became a file", False),
            ("chmod", b"link"),
            ("symlink", b"sp ace", b"dir"),
            ("write", b"\xff\xfe/new", b"new", True),
            ("add-all",),
            ("commit",),
            ("branch", "feature"),
            ("switch", "feature"),
            ("delete-branch", "main"),
        ],
    )


def test_split_index_setting_without_an_index_file_concrete() -> None:
    """Found by the property test once it drew settings: with `core.splitIndex` (yours) and no
    index file yet, each capture's `add -A` and `write-tree` on its throwaway copies wrote a
    split index, which left a shared index in the git dir that no index uses (one more a
    capture). A split index of yours is read as git reads it (testing/gitrepo.py)."""
    _scenario(True, [], [], {"core.splitIndex": "true"})
    _scenario(True, [("write", b"a", b"x", False)], [], {"core.splitIndex": "true"})
    _scenario(False, [], [("add-all",), ("write", b"a", b"", False)], {"core.splitIndex": "true"})


def test_intent_to_add_in_a_split_index_concrete() -> None:
    """Found by the property test once it drew settings: an intent-to-add entry the operation
    made in a split index (`core.splitIndex`), whose own file says version 2, stayed after the
    rollback (tests/test_settings_layouts.py has the command line's case)."""
    for unborn in (False, True):
        _scenario(
            unborn,
            [],
            [("write", b"a", b"", False), ("add-intent", b"a"), ("write", b"a", b"", False)],
            {"core.splitIndex": "true"},
        )
