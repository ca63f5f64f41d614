"""The differential test: what a checkpoint holds and what a rollback leaves, compared with an
oracle that never asks git about the files (testing/oracle.py reads the disk, the index
entries and the checkpoint's raw tree objects).

Each example builds a repository in one of the layouts git supports (a plain one, a linked
worktree, a `--separate-git-dir` one, a submodule's checkout, the dotfiles pattern with
GIT_DIR/GIT_WORK_TREE run from inside another repository, GIT_DIR with a `core.worktree`
relative to it as in t1501, a worktree reached through a link to a folder above it, sparse
patterns of the older kind (`--no-cone`, `!*.bin`), a repository or a linked worktree in a
folder named with a space and bytes not UTF-8, which Watchman cannot watch), writes
a random tree (bytes, executable bits, symbolic links;
committed, staged or untracked), turns on random settings
that tell git to look less closely (docs/design.md, "Settings the capture does not trust"),
and runs a random failing operation with the real CLI. Then:
- the PRE-OP checkpoint holds exactly the files on disk before, the rescue exactly those the
  operation left;
- the rollback leaves the files, the index entries (modes, objects, stages, flags), HEAD and
  the branches exactly as before, and `undo` brings back exactly what the operation left;
- none of the user's hooks (fsmonitor included) ran for git-atomic, nor (shadow mode) a clean
  or smudge filter of theirs (a drawn one is named `up=per\\351` too: t0021);
- a marker folder outside the repository, which the tree or the operation links to (in place
  of a folder, a folder in a folder, a file), is byte for byte as it was, mtimes included, and
  nothing of it entered the object store;
- with `protect` drawn (`*.env` and `build/` ignored, `*.env` protected), the protected files,
  in an ignored folder too, are held like any other, and an ignored file nobody protects is
  neither held nor touched;
- with `budget` drawn (`max_new_file_size` of 10 bytes, the contents 0 to 20 bytes), the new
  untracked files over it, found by their size on disk, are in no checkpoint, and the rollback
  and `undo` leave them as they are.
The sparse layout drawn with `core.splitIndex` has a full index (git refuses a split index
with a sparse one), and says so in hypothesis's statistics.
Layouts include a repository whose commits live in GIT_ALTERNATE_OBJECT_DIRECTORIES only.
Where Watchman is installed, half the examples have it watch the worktree, so that their
captures are answered by it (watcher.py) instead of `git status`; tests/test_watcher.py runs
named examples that way every time.

It also draws names with a space and letters not ASCII, your own `core.excludesFile`,
assume-unchanged and skip-worktree entries, `index.skipHash`, your own `core.attributesFile`,
`index.recordOffsetTable`, `core.bigFileThreshold`, the settings written to your global config,
the worktree's own (`extensions.worktreeConfig`) or a file `includeIf "gitdir:..."` includes,
or `includeIf "onbranch:..."` for the branch at the start or the operation's own, a shared
index that expires at once, an automatic `gc` that the operation's commits run in the
foreground and that prunes at once (two packs made first, t5304), `core.fsmonitor=true` (the
daemon, which this git lacks), `core.precomposeUnicode`, sparse checkout turned off with its
skip-worktree entries left, `A` beside `a` (one file to
a git that believed a drawn `core.ignoreCase`),
a write where the sparse layout's cone leaves a file out (t1092),
writes that change the line ends alone or keep the times (`cp -p`: the file's mtime and its
folder's, which the untracked cache trusts), and steps that rename, make empty
folders, swap a file or a link for a folder and check out a branch of the operation's own;
empty folders are compared too, and steps that leave git half way (a merge, rebase or
cherry-pick stopped on a conflict, a `stash pop` that conflicted). A second property
(`test_differential_with_another_writer`) keeps the operation, has another writer change other
files, commit, amend or reset the branch one back, or leave unmerged entries (the rollback
refuses them, nothing changed, until they are resolved), `git stash` an edit of theirs, run
`git gc --prune=now`, commit in a second worktree of the repository, or widen their sparse
checkout (git writes `out/`, and takes away a tracked file outside the patterns: theirs too),
or flag README skip-worktree (left as it was: the stash list, the sparse patterns, that
worktree's files, index and HEAD), then takes the operation's effect back and brings it again
(testing/differential.py, scenario_kept).

Examples: 25 by default (about 20 s of CPU), 300 with --slow, or
GIT_ATOMIC_DIFFERENTIAL_EXAMPLES; the second property half of that.
"""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from testing.differential import (
    CONTENTS,
    LAYOUTS,
    OTHER_STEPS,
    OUTLINK_AT,
    PATHS,
    SETTINGS,
    TREE_PATHS,
    scenario,
    scenario_kept,
)

files = st.dictionaries(
    st.sampled_from(TREE_PATHS),
    st.tuples(
        st.sampled_from(["file", "exec", "link", "outlink", "hardlink"]),
        st.sampled_from(CONTENTS),
        st.sampled_from(["commit", "stage", "untracked"]),
    ),
    max_size=len(TREE_PATHS),
)
op_step = st.one_of(
    st.tuples(
        st.just("write"), st.sampled_from(PATHS), st.sampled_from(CONTENTS), st.sampled_from("x-t")
    ),
    st.tuples(st.just("delete"), st.sampled_from(PATHS)),
    # A file where the sparse layout's cone leaves one out (t1092: git then reads its
    # skip-worktree entry as an ordinary one, and writes it so at its next index write).
    st.tuples(
        st.just("write"), st.just("out/deep/b"), st.sampled_from(CONTENTS), st.sampled_from("x-")
    ),
    st.tuples(st.just("chmod"), st.sampled_from(PATHS)),
    st.tuples(st.just("same-size"), st.sampled_from(PATHS)),
    st.tuples(st.just("symlink"), st.sampled_from(PATHS), st.sampled_from(["a", "dir", "nowhere"])),
    st.tuples(st.just("commit")),
    st.tuples(st.just("outlink"), st.sampled_from(OUTLINK_AT)),
    st.tuples(st.just("fifo"), st.sampled_from([*PATHS, "dir", "dir/sub"])),
    # A rule in .git/info/exclude (one no drawn path matches: the oracle knows no ignore rules).
    st.tuples(st.just("exclude"), st.sampled_from(["*.nomatch", "/nowhere/"])),
    # The repository's config made a link to a file outside (its rollback refused until it is
    # a file again, then `recover`).
    st.tuples(st.just("configlink")),
    # A file, link or folder moved to a free name; an empty folder made; a file or link
    # swapped for a folder; a branch of the operation's own checked out.
    st.tuples(st.just("rename"), st.sampled_from([*PATHS, "dir"]), st.sampled_from(PATHS)),
    st.tuples(st.just("mkdir"), st.sampled_from(["mt", "dir/sub/mt", "sp ace/mt"])),
    st.tuples(st.just("tofolder"), st.sampled_from(PATHS)),
    st.tuples(st.just("branch"), st.sampled_from(["side", "op/nested"])),
    # git left half way: a merge, rebase or cherry-pick stopped on a conflict at a path, or a
    # `stash pop` that conflicted (unmerged entries, no merge named).
    st.tuples(
        st.just("conflict"),
        st.sampled_from(PATHS),
        st.sampled_from(["merge", "rebase", "cherry-pick", "stash"]),
    ),
)
# GIT_ATOMIC_DIFFERENTIAL_SETTINGS=core.fileMode,core.fsmonitor draws from those only (and
# GIT_ATOMIC_DIFFERENTIAL_LAYOUTS=plain,dotfiles from those layouts).
DRAWN = sorted(
    (os.environ.get("GIT_ATOMIC_DIFFERENTIAL_SETTINGS") or ",".join(SETTINGS)).split(",")
)
chosen_settings = st.dictionaries(st.sampled_from(DRAWN), st.none(), max_size=5).flatmap(
    lambda keys: st.fixed_dictionaries({k: st.sampled_from(SETTINGS[k]) for k in keys})
)


def _watchman() -> bool:
    """Whether examples may have Watchman watch (installed, and not turned off for the run by
    GIT_ATOMIC_DIFFERENTIAL_WATCH=0: on a loaded machine its answers come too late, and the
    capture rightly asks `git status`, which the watch check takes for a fault)."""
    return bool(shutil.which("watchman")) and os.environ.get("GIT_ATOMIC_DIFFERENTIAL_WATCH") != "0"


def _examples(config: pytest.Config) -> int:
    return int(
        os.environ.get("GIT_ATOMIC_DIFFERENTIAL_EXAMPLES")
        or (300 if config.getoption("--slow") else 25)
    )


def test_differential(request: pytest.FixtureRequest) -> None:
    @settings(
        max_examples=_examples(request.config),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        # Shrinking a failure costs minutes at a second an example: with --slow only (the
        # example found is printed either way).
        phases=[p for p in Phase if p is not Phase.shrink or request.config.getoption("--slow")],
    )
    @given(
        layout=st.sampled_from(
            (os.environ.get("GIT_ATOMIC_DIFFERENTIAL_LAYOUTS") or ",".join(LAYOUTS)).split(",")
        ),
        history=st.sampled_from(["shadow", "commits"]),
        tree=files,
        chosen=chosen_settings,
        ops=st.lists(op_step, min_size=1, max_size=6),
        watch=st.booleans() if _watchman() else st.just(False),
        protect=st.booleans(),
        budget=st.booleans(),
    )
    def check(
        layout: str,
        history: str,
        tree: dict[str, tuple[str, str, str]],
        chosen: dict[str, str],
        ops: list[tuple[str, ...]],
        watch: bool,
        protect: bool,
        budget: bool,
    ) -> None:
        if layout == "sparse" and "core.splitIndex" in chosen:
            event("sparse layout with core.splitIndex: a full index (git refuses a sparse one)")
        scenario(layout, history, tree, chosen, ops, watch=watch, protect=protect, budget=budget)

    check()


# The kept operation's steps: all but a FIFO (a special file a kept operation leaves is its
# own business, tests/test_hostile_tree.py), a conflict and a config made a link (its run is
# refused: no operation kept).
kept_step = op_step.filter(lambda op: op[0] not in ("fifo", "conflict", "configlink"))


def _kept_examples(config: pytest.Config) -> int:
    return max(1, _examples(config) // 2)


def test_differential_with_another_writer(request: pytest.FixtureRequest) -> None:
    """The same layouts, trees and settings; the operation succeeds and is kept, then another
    writer (you, a second session) writes files no step touches, edits a tracked one, makes a
    link; `rollback` takes the operation's effect back and `undo` brings it again: the disk,
    the index, HEAD and every branch are checked against the oracle after each, the other
    writer's changes kept (testing/differential.py, scenario_kept). Examples: half of the
    differential test's."""

    @settings(
        max_examples=_kept_examples(request.config),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        phases=[p for p in Phase if p is not Phase.shrink or request.config.getoption("--slow")],
    )
    @given(
        layout=st.sampled_from(
            (os.environ.get("GIT_ATOMIC_DIFFERENTIAL_LAYOUTS") or ",".join(LAYOUTS)).split(",")
        ),
        history=st.sampled_from(["shadow", "commits"]),
        tree=files,
        chosen=chosen_settings,
        ops=st.lists(kept_step, min_size=1, max_size=6),
        other=st.lists(st.integers(0, len(OTHER_STEPS) - 1), min_size=1, max_size=3),
        protect=st.booleans(),
    )
    def check(
        layout: str,
        history: str,
        tree: dict[str, tuple[str, str, str]],
        chosen: dict[str, str],
        ops: list[tuple[str, ...]],
        other: list[int],
        protect: bool,
    ) -> None:
        scenario_kept(layout, history, tree, chosen, ops, other, protect=protect)

    check()


def test_found_by_the_differential_concrete() -> None:
    """With core.ignoreStat, the index a rollback wrote marked the entries it rewrote
    assume-unchanged (git sets that flag on every entry it updates under that setting)."""
    scenario(
        "sparse",
        "commits",
        {"dir/c": ("link", "", "commit"), "b.sh": ("file", "", "stage")},
        {"core.ignoreStat": "true", "index.version": "4"},
        [("symlink", "dir/c", "dir"), ("commit",)],
    )


def test_hooks_drawn_before_a_missing_filter_concrete() -> None:
    """The harness's own commit of the filter's attributes ran the user's drawn hooks, which
    refuse anyone but the user: the set-up must commit as the user."""
    scenario(
        "plain",
        "commits",
        {},
        {
            "core.fileMode": "false",
            "core.hooksPath": "HOOKS",
            "core.eol": "crlf",
            "filter": "missing",
            "core.trustctime": "false",
        },
        [
            ("delete", "dir/c"),
            ("delete", "g"),
            ("commit",),
            ("write", "g", "version https://lfs\n", "-"),
            ("chmod", "e.txt"),
        ],
    )


def test_hooks_drawn_before_replace_refs_concrete() -> None:
    """Found by CI's draw: the harness made the replace refs after the drawn hooks, whose
    reference-transaction hook refuses anyone but the user: the set-up must do it as the user."""
    scenario(
        "plain",
        "shadow",
        {"a": ("file", "one\n", "commit"), "e.txt": ("file", "two\r\nlines\r\n", "stage")},
        {"core.hooksPath": "HOOKS", "replace": "objects"},
        [("write", "a", "two\n", "-"), ("delete", "e.txt")],
    )


def test_sparse_checkout_with_a_split_index_concrete() -> None:
    """git refuses a split index with a sparse index; the harness dropped the setting from
    sparse examples without a word. Now such an example has a full index, split."""
    scenario(
        "sparse",
        "shadow",
        {"dir/c": ("file", "one\n", "commit"), "b.sh": ("exec", "", "stage")},
        {"core.splitIndex": "true", "index.version": "4"},
        [("write", "dir/c", "two\r\nlines\r\n", "x"), ("delete", "b.sh"), ("commit",)],
        budget=True,
    )


def test_budget_when_a_fifo_sends_the_capture_the_older_way_concrete() -> None:
    """A FIFO where a tracked link was sends the capture to `git add -A`, which left a new file
    over the budget out of the files it read but not out of the raw tree the checkpoint is
    made of: the rescue held `e.txt` (20 bytes, budget 10) after all."""
    scenario(
        "plain",
        "shadow",
        {
            "e.txt": ("file", "version https://lfs\n", "untracked"),
            "dir/f.bin": ("outlink", "one\n", "stage"),
        },
        {},
        [("fifo", "dir/f.bin"), ("commit",)],
        budget=True,
    )


def test_budget_for_a_file_grown_past_it_concrete() -> None:
    """An untracked file PRE-OP held (small) that the operation grows past the budget is held
    by the rescue: the budget is for new files. The oracle had it left out, while the rollback
    puts back PRE-OP's bytes, so the rescue is the only copy of the operation's."""
    scenario(
        "plain",
        "shadow",
        {"build/y.env": ("exec", "", "untracked"), "a": ("file", "one\n", "commit")},
        {},
        [("write", "build/y.env", "#!/bin/sh\necho hi\n", "x")],
        budget=True,
    )


@pytest.mark.parametrize(
    "ops",
    [
        [("rename", "e.txt", "dir/e2.txt")],
        [("mkdir", "dir/sub/mt"), ("rename", "e.txt", "dir/sub/mt/e.txt")],
        [("delete", "a"), ("rename", "e.txt", "sp ace/e.txt"), ("write", "b", "x" * 20, "-")],
    ],
)
def test_budget_for_a_file_the_operation_only_moved_concrete(ops: list[tuple[str, ...]]) -> None:
    """An untracked file over the budget (in no checkpoint) that the operation moved: the
    rollback moves it back, found by its inode (largegone.py); the oracle had it left moved."""
    scenario(
        "plain",
        "shadow",
        {"e.txt": ("file", "y" * 20, "untracked"), "a": ("file", "one\n", "commit")},
        {},
        ops,
        budget=True,
    )


def test_budget_with_a_protected_link_concrete() -> None:
    """Found when the budget was first drawn: `x.env` (ignored, protected) is a link to the
    marker folder, the operation makes `dir/sub` a link to the same folder and writes `x.env`
    as a file over the budget. The rescue lacked `x.env` and the rollback left the operation's
    file there (with a warning): the budget was applied to a file written where PRE-OP held a
    link of its own. The budget is for new files: the rescue holds it, the rollback puts the
    link back, and `undo` the file."""
    scenario(
        "plain",
        "commits",
        {"x.env": ("outlink", "", "untracked")},
        {},
        [("outlink", "dir/sub"), ("write", "x.env", "two\r\nlines\r\n", "-")],
        protect=True,
        budget=True,
    )


@pytest.mark.parametrize("before", ["file", "exec", "outlink"])
def test_budget_for_a_protected_file_written_past_it_concrete(before: str) -> None:
    """The family of the one above: a protected ignored file or link PRE-OP held, which the
    operation grows or writes over past the budget, in place or at a depth: held by the rescue
    and put back by the rollback."""
    for path in ("x.env", "build/deep/y.env"):
        scenario(
            "plain",
            "shadow",
            {path: (before, "one\n", "untracked"), "a": ("file", "one\n", "commit")},
            {},
            [("write", path, "longer than the budget\n", "-")],
            protect=True,
            budget=True,
        )


@pytest.mark.parametrize("watch", [False, True])
def test_a_new_file_outside_the_sparse_cone_when_the_scan_cannot_say_concrete(
    watch: bool,
) -> None:
    """Found by the random drawing, present before it was added: in a sparse checkout, an
    operation makes a tracked path a FIFO (so the capture reads the tree with `git add -A`,
    a scan cannot say) and writes a new file outside the sparse patterns. `add -A` leaves
    such a file out ("outside of your sparse-checkout definition"), so the rescue lacked the
    operation's new file. `add -A --sparse` reads it."""
    if watch and not shutil.which("watchman"):
        pytest.skip("Watchman is not installed")
    scenario(
        "sparse",
        "shadow",
        {"a": ("outlink", "", "commit")},
        {},
        [("write", "build/y.env", "one\n", "-"), ("fifo", "a")],
        watch=watch,
    )


_CRLF_FILTER_MISSING = {"dir/f.bin": ("file", "two\r\nlines\r\n", "commit")}
_MINIMAL_AND_MISSING = {"core.checkStat": "minimal", "filter": "missing"}


@pytest.mark.parametrize(
    ("ops", "watch"), [([("delete", "dir/f.bin")], False), ([("commit",)], True)]
)
def test_a_missing_filter_with_crlf_and_a_budget_concrete(
    ops: list[tuple[str, ...]], watch: bool
) -> None:
    """Found by `pytest --slow` (random examples): a committed
    file with CRLF line ends under a `filter=` attribute whose driver is not configured,
    `core.checkStat=minimal`, and a size budget. Deleted by the operation and put back by its
    rollback, the file was untracked to the scan (its last reading saw it gone), so the budget
    left it out of the raw reading and the checkpoint held git-lfs's pointer for it: `undo`
    was refused. The budget now spares every file your index tracks."""
    if watch and not shutil.which("watchman"):
        pytest.skip("Watchman is not installed")
    scenario(
        "plain",
        "shadow",
        _CRLF_FILTER_MISSING,
        _MINIMAL_AND_MISSING,
        ops,
        watch=watch,
        budget=True,
    )


@pytest.mark.parametrize("history", ["shadow", "commits"])
def test_a_filter_named_with_an_equals_sign_and_not_utf8_concrete(history: str) -> None:
    """A clean filter (upper case) named `up=per\\351`: no `-c` could turn it off (git splits
    one at its first "="), and its name was read with U+FFFD for the byte: the captures held
    the filter's bytes, not the disk's; commits mode stopped on an internal error."""
    scenario(
        "plain",
        history,
        {"a": ("file", "one\n", "commit"), "e.txt": ("file", "two\r\nlines\r\n", "untracked")},
        {"attributes": "odd-name"},
        [("write", "a", "two\n", "-"), ("write", "dir/c", "one\n", "x")],
    )


@pytest.mark.parametrize("history", ["shadow", "commits"])
def test_another_writer_beside_every_new_step_concrete(history: str) -> None:
    """A fixed example of what the drawing added: flagged entries and your own excludes file,
    an operation that renames, swaps a file for a folder, makes an empty folder and checks out
    a branch of its own, kept; then another writer edits and stages README, writes new files
    and a link, and a second session keeps an operation of its own. `rollback --op` and `undo`
    leave every one of the other writer's changes and take back, then bring back, the
    operation's (testing/differential.py, scenario_kept)."""
    scenario_kept(
        "plain",
        history,
        {
            "a": ("file", "one\n", "commit"),
            "dir/c": ("exec", "#!/bin/sh\necho hi\n", "commit"),
            "g": ("link", "x", "commit"),
            "build/o": ("file", "ignored by your excludes\n", "untracked"),
            "sp ace/\u00fc \u00e9.txt": ("file", "caf\u00e9\n", "stage"),
        },
        {"entries": "skip-worktree", "core.excludesFile": "FILE"},
        [
            ("rename", "sp ace/\u00fc \u00e9.txt", "e.txt"),
            ("tofolder", "g"),
            ("mkdir", "dir/sub/mt"),
            ("write", "a", "two\n", "x"),
            ("branch", "side"),
            ("commit",),
        ],
        list(range(len(OTHER_STEPS))),
    )


@pytest.mark.parametrize("how", ["merge", "rebase", "cherry-pick", "stash"])
@pytest.mark.parametrize("then", [[], [("fifo", "g")]], ids=["scan", "add-all"])
def test_a_conflict_in_a_new_file_over_the_budget_concrete(
    how: str, then: list[tuple[str, ...]]
) -> None:
    """Found by drawing operations that leave git half way: a file the operation made, then
    left in conflict (its entries unmerged, at stages 1 to 3 only), over the size budget. The
    rescue left it out as a new untracked file (the budget looked for it in the tree of the
    index's merged entries), so the rollback did not take it away and `undo` could not bring
    it back. Unmerged entries are tracked: read whatever their size, by the scan and by `git
    add -A` (a FIFO sends the capture there)."""
    scenario("plain", "shadow", {}, {}, [("conflict", "e.txt", how), *then], budget=True)


@pytest.mark.parametrize("history", ["shadow", "commits"])
def test_a_missing_filter_an_operations_branch_includes_concrete(history: str) -> None:
    """Found once the drawing put the settings in a file `includeIf "onbranch:side"`
    includes: the operation checks `side` out, which brings in a required filter that cannot
    run (git-lfs not installed). The rollback's capture went by the configuration read before
    the command (none of the config files had changed), ran that filter, and failed: exit 3,
    the operation left interrupted with its files in place."""
    scenario(
        "plain",
        history,
        {"dir/f.bin": ("file", "one\n", "commit")},
        {"config.in": "opbranch", "filter": "missing"},
        [("write", "dir/f.bin", "two\n", "-"), ("commit",), ("branch", "side")],
    )


def test_ignorecase_an_operations_branch_includes_concrete() -> None:
    """Found once the drawing had `A` beside `a` and settings an operation's branch includes:
    `core.ignoreCase=true` comes in with `side` (this filesystem tells names apart by case).
    The rescue lacked the operation's `A` (git took it for `a`, the configuration read before
    the command not being read again), and the rollback left it in place."""
    scenario(
        "plain",
        "shadow",
        {"a": ("file", "one\n", "commit")},
        {"config.in": "opbranch", "core.ignoreCase": "true"},
        [("branch", "side"), ("write", "A", "two\n", "-"), ("write", "a", "x", "-")],
    )


@pytest.mark.parametrize("layout", ["plain", "worktree", "dotfiles"])
def test_config_made_a_link_concrete(layout: str) -> None:
    """The repository's config made a link to a copy outside, beside a write, a new file and a
    commit: the rollback had git read the settings there, and left the link. Refused now (exit
    3, the marker untouched); the config put back, `recover` is exact, and `undo` too."""
    scenario(
        layout,
        "commits",
        {"a": ("file", "one\n", "commit"), "g": ("file", "", "untracked")},
        {},
        [
            ("write", "a", "two\nlines\n", "-"),
            ("configlink",),
            ("write", "e.txt", "", "-"),
            ("commit",),
        ],
    )


@pytest.mark.parametrize("history", ["shadow", "commits"])
def test_a_file_where_the_cone_leaves_one_out_then_your_git_add_concrete(history: str) -> None:
    """A fixed example of the step the drawing added: the operation writes `out/deep/b`, which
    the sparse layout's cone leaves out; then the other writer stages README (git writes the
    index, the entry unflagged). The rollback took the file away and left the entry unflagged
    (`git status`: ' D out/deep/b'); undo brings the file back."""
    scenario_kept(
        "sparse",
        history,
        {"a": ("file", "one\n", "commit")},
        {},
        [("write", "out/deep/b", "two\n", "-")],
        [OTHER_STEPS.index(("stage", "README", "staged\n"))],
    )


@pytest.mark.parametrize("how", ["merge", "rebase", "cherry-pick", "stash"])
def test_undo_of_a_conflict_beside_files_over_the_budget_concrete(how: str) -> None:
    """Found by a random draw (commits mode, `budget` and `watch` drawn): an untracked file
    over the budget at a name not UTF-8, which the operation writes and commits, then leaves
    in conflict; then it writes a new file over the budget. Its rollback could not bring the
    first back (no checkpoint held it) and left the second: `undo` took the list of files over
    the budget, which differed by the rollback's own doing, for a change since, and refused
    to make the half-way state again (exit 3). tests/test_undo_halfway_budget.py has the
    family."""
    scenario(
        "subdir",
        "commits",
        {"\udcff\udcfe": ("file", "two\r\nlines\r\n", "untracked")},
        {},
        [("conflict", "\udcff\udcfe", how), ("write", "g", "version https://lfs\n", "x")],
        # As drawn, where Watchman is installed; the budget's family holds without it too.
        watch=shutil.which("watchman") is not None,
        budget=True,
    )


@pytest.mark.parametrize("history", ["shadow", "commits"])
def test_a_protected_name_made_a_folder_in_an_ignored_one_concrete(history: str) -> None:
    """Found by a random draw: the operation swaps `build/y.env` (ignored, protected) for a
    folder holding `inner`. A protect pattern that names a folder holds what is in it
    (tests/test_ignore_and_budget.py), so the rescue holds `build/y.env/inner`; the oracle
    had only names ending in `.env` protected, and took that for a file the rescue should
    not hold."""
    scenario(
        "plain",
        history,
        {"build/y.env": ("file", "one\n", "untracked")},
        {},
        [("tofolder", "build/y.env")],
        protect=True,
    )


def test_flagged_entries_drawn_with_a_filter_that_cannot_run_concrete() -> None:
    """Found by a random draw: the harness flagged the drawn entries (`update-index
    --assume-unchanged`, as the user) after the drawn filter that cannot run was configured;
    a racily clean `*.bin` staged made git start it, and the set-up failed before any
    operation. The user's command goes past it, as the other writer's do (_lax)."""
    scenario(
        "plain",
        "commits",
        {
            "dir/sub/d.bin": ("exec", "#!/bin/sh\necho hi\n", "stage"),
            "a": ("file", "one\n", "stage"),
        },
        {"filter": "missing", "entries": "assume-unchanged"},
        [("commit",)],
    )


def test_a_file_over_the_budget_in_a_folder_a_step_took_away_then_recover_concrete() -> None:
    """Found by a random draw: an untracked file over the budget in `dir`, which the operation
    replaces with a FIFO, then makes the config a link (its rollback refused until `recover`).
    `recover` cannot bring the file back, says so and exits 3; the oracle allowed that only
    for a step on the file itself, not on a folder above it."""
    scenario(
        "plain",
        "shadow",
        {"dir/f.bin": ("file", "two\r\nlines\r\n", "untracked"), "a": ("file", "one\n", "commit")},
        {},
        [("fifo", "dir"), ("configlink",)],
        budget=True,
    )
