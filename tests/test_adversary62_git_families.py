"""Families of git's own tests not played before (stop 62's helper A), run through the matrix
of tests/test_adversary59_git_merges.py (a failed run, commits mode, `rollback --op` over your
files, `begin`/`abort`, an agent turn, `recover` after a kill). Each was played in every
flavour when written, and found without a defect there; each keeps the cell that says most of
the state it leaves:

- t3407-rebase-abort: a rebase stopped in conflict by either backend (`rebase-merge/`,
  `rebase-apply/`, REBASE_HEAD), undone whole and through `emergency`; quit within the
  operation (REBASE_HEAD left, HEAD detached); t3412-rebase-root (`--root --onto` an unrelated
  branch, `--autostash`);
- t3507-t3510 cherry-pick: one stopped (CHERRY_PICK_HEAD), a range stopped (`sequencer/`),
  t3506's `--ff`;
- t7602-merge-octopus (stopped on its last head: a MERGE_HEAD of three lines),
  t7605-merge-resolve (stopped: its markers name git's temporary files, so only `emergency`
  and `undo`, which need no twin, compare them), t7607-merge-overwrite (refused over your
  untracked file, then made with it moved aside), t6428 (a merge in a sparse checkout stopped
  outside the patterns);
- t7101/t7106/t7111 reset: `--hard` taking folders away, the first commit on an unborn
  branch in commits mode, `--keep` then `--merge`;
- t4114 apply: typechanges by `--index`;
- t7423-submodule-symlinks: a submodule's parent folder replaced by a link out of the worktree
  (the folder outside compared too: never written).

Played, not kept (no defect, a state the cells above hold): `rebase --abort` within the
operation, t3432's `--no-ff` and `--keep-base`, t3403's `--skip`, t3402's `-X theirs` and
`--empty=drop`, t3421's `--rebase-merges` then linearised, t3504's `cherry-pick -n` of a range,
t3506's `-m 1`, t3502's `--skip`, t7602's clean octopus, t7107's `reset --pathspec-from-file`
with NULs, t7106's `reset` and `reset --hard` on an unborn branch, t4127's `apply --3way`,
t7409's commit on a detached HEAD merged by `-s resolve`, t6435's file present outside the
sparse patterns, t4120's `apply --index --directory` from a subfolder, t7407/t7411's submodule
`foreach`, `summary`, `set-url`, `set-branch` and `sync`.

Found, documented already (docs/limits.md): the link of t7423 staged (`git add a`, the gitlink
taken out of the index) leaves the submodule's folder empty after the rollback; an agent turn
or a run that leaves a cherry-pick or rebase stopped is not judged, or is rolled back, and
`rollback --op` of such a turn refuses (its change holds git's half-way state); ignored files
the operation made or removed (t7521) stay as it left them.

The defects found: tests/test_adversary62_git_submodule_ignore.py (t7506, t7400) and
tests/test_adversary62_git_sparse_gitmodules.py (t7418).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import test_adversary59_git_merges as merges
import test_git_cases_more as more

CASES: list[more.Case] = []


def case(name: str, setup: str, op: str, flavours: tuple[str, ...], **kw: object) -> None:
    CASES.append(more.Case(name, setup, op, flavours=flavours, **kw))  # type: ignore[arg-type]


def stopped(name: str, setup: str, op: str, flavours: tuple[str, ...]) -> None:
    case(name, setup, op, flavours, halfway=True)


YOURS = "\nprintf 'w\\n' > wip; printf 'dirty\\n' >> README"
WIP = "\nprintf 'w\\n' > wip"  # for a rebase, which refuses over a change to a tracked file
CONFLICT = r"""printf '1\n2\n3\n' > f; git add f; git commit -qm base; git checkout -qb side
printf '1\nS\n3\n' > f; git commit -qam s1; printf 'n\n' > n; git add n; git commit -qm s2
printf 'o\n' > o; git add o; git commit -qm s3; git checkout -q main
printf '1\nM\n3\n' > f; git commit -qam m"""

# --- rebase --------------------------------------------------------------------------------
stopped(
    "t3407-rebase-merge-stopped",
    CONFLICT + WIP,
    "git checkout -q side; git rebase -q main",
    ("shadow",),
)
stopped(
    "t3407-rebase-apply-stopped",
    CONFLICT + WIP,
    "git checkout -q side; git rebase -q --apply main",
    ("shadow",),
)
case(
    "t3407-rebase-quit-in-the-op",
    CONFLICT + WIP,
    "git checkout -q side; git rebase -q main; git rebase --quit; git add f; git commit -qm q",
    ("commits",),
)
case(
    "t3412-rebase-root-onto",
    r"""git checkout -q --orphan other; git rm -q -f README; printf 'o\n' > o; git add o
git commit -qm o; git checkout -q main"""
    + YOURS,
    "git rebase -q --autostash --root --onto other; printf 'x\\n' > x",
    ("commits",),
)

# --- cherry-pick ---------------------------------------------------------------------------
stopped("t3507-cherry-pick-stopped", CONFLICT + YOURS, "git cherry-pick side~2", ("begin",))
stopped(
    "t3510-cherry-pick-sequence-stopped",
    CONFLICT + YOURS,
    "git cherry-pick side~3..side",
    ("commits",),
)
case(
    "t3506-cherry-pick-ff",
    r"""git checkout -qb ahead; printf 'a\n' > a; git add a; git commit -qm a; printf 'b\n' > b
git add b; git commit -qm b; git checkout -q main"""
    + YOURS,
    "git cherry-pick --ff ahead~1 ahead; printf 'x\\n' > x",
    ("commits",),
)

# --- merge ---------------------------------------------------------------------------------
OCTOPUS_STOPPED = (
    r"""printf '1\n2\n3\n' > f; git add f; git commit -qm base; git checkout -q -b b1 main
printf 'b1\n2\n3\n' > f; git commit -qam b1; git checkout -q -b b2 main; printf 'g\n' > g
git add g; git commit -qm b2; git checkout -q -b b3 main; printf 'b3\n2\n3\n' > f
git commit -qam b3; git checkout -q main"""
    + YOURS
)
stopped("t7602-octopus-stopped", OCTOPUS_STOPPED, "git merge -q --no-edit b2 b1 b3", ("shadow",))
stopped("t7605-merge-resolve-stopped", CONFLICT + YOURS, "git merge -q -s resolve side", ())
case(
    "t7607-merge-refused-over-untracked",
    CONFLICT + "\nprintf 'yours\\n' > n" + YOURS,
    "git merge -q side || { mv n n.mine; git merge -q --no-edit -X theirs side; }",
    ("effect",),
)
stopped(
    "t6428-merge-sparse-conflict-outside",
    r"""mkdir d; printf '1\n2\n3\n' > d/f; git add d; git commit -qm base; git checkout -qb side
printf '1\nS\n3\n' > d/f; git commit -qam s1; git checkout -q main
printf '1\nM\n3\n' > d/f; git commit -qam m
git sparse-checkout set --no-cone '/*' '!/d/'"""
    + YOURS,
    "git merge -q side",
    ("shadow",),
)

# --- reset ---------------------------------------------------------------------------------
case(
    "t7101-reset-hard-removes-subfolders",
    r"""mkdir -p p/q/r d; printf 'a\n' > p/q/r/a; printf 'd\n' > d/d; git add -A
git commit -qm deep; mkdir -p p/q/empty"""
    + YOURS,
    "git reset -q --hard HEAD~; printf 'x\\n' > x",
    ("effect",),
)
ORPHAN = "git checkout -q --orphan fresh; printf 'a\\n' > a; git add a" + YOURS
case(
    "t7106-first-commit-on-orphan",
    ORPHAN,
    "git commit -qm first -- a; git checkout -qb next; printf 'x\\n' > x; git add x",
    ("commits",),
)
case(
    "t7111-reset-keep-and-merge",
    CONFLICT + "\nprintf 'staged\\n' > s; git add s" + YOURS,
    "git reset -q --keep HEAD~; git reset -q --merge side",
    ("effect",),
)

# --- apply ---------------------------------------------------------------------------------
case(
    "t4114-apply-typechange-index",
    r"""printf 'l\n' > l; ln -s README s; mkdir d; printf 'x\n' > d/x; git add -A
git commit -qm types; rm l; ln -s s l; rm s; printf 'file\n' > s; rm -r d; printf 'f\n' > d
git add -A; git diff --cached --binary HEAD > ../t.patch; git reset -q --hard"""
    + YOURS,
    "git apply --index ../t.patch; printf 'x\\n' > x",
    ("turn",),
)

# --- submodules ----------------------------------------------------------------------------
LINKED_PARENT = (
    r"""[ -d ../up ] || { git init -q -b main ../up; (cd ../up; printf 's\n' > s; git add s
git commit -qm s); }; mkdir -p ../outside/sub; printf 'keep\n' > ../outside/sub/s
mkdir a; git -c protocol.file.allow=always submodule -q add ../up a/sub; git commit -qm sub"""
    + WIP
)
case(
    "t7423-submodule-parent-replaced-by-link",
    LINKED_PARENT,
    "rm -rf a; ln -s ../outside a",
    (),
    undo=False,
)


def _params() -> list[object]:
    return [pytest.param(c, f, id=f"{c.name}-{f}") for c in CASES for f in c.flavours]


@pytest.mark.parametrize(("case", "flavour"), _params())
def test_family(tmp_path: Path, case: more.Case, flavour: str) -> None:
    merges.RUN[flavour](tmp_path, case)


def _named(name: str) -> more.Case:
    return next(c for c in CASES if c.name == name)


@pytest.mark.parametrize(
    "name", ["t3407-rebase-apply-stopped", "t3510-cherry-pick-sequence-stopped"]
)
def test_stopped_undone_whole(tmp_path: Path, name: str) -> None:
    """The failed run of a rebase that stopped, then `undo`: git's state comes back as git
    left it (`rebase-apply/`, the stages)."""
    merges.test_stopped_merge_undone_whole(tmp_path, _named(name))


@pytest.mark.parametrize(
    "name",
    ["t3407-rebase-merge-stopped", "t7605-merge-resolve-stopped"],
)
def test_yours_stopped_through_emergency_and_undo(tmp_path: Path, name: str) -> None:
    """Yours stopped (no operation): `emergency` goes back to HEAD's commit, saving it all;
    `undo` brings the stopped state back exactly (a rebase's folder; `-s resolve`'s markers,
    which name temporary files: no twin has them)."""
    merges.test_your_stopped_merge_through_emergency_and_undo(tmp_path, _named(name))


def _outside(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.mark.parametrize("flavour", ["shadow", "turn"])
def test_submodule_parent_made_a_link_out(tmp_path: Path, flavour: str) -> None:
    """t7423: the folder holding a submodule replaced by a link to a folder outside the
    worktree that holds a `sub/` of its own: the rollback (a failed run, an agent turn's
    take-back) removes the link and checks the submodule out again in a folder of its own;
    the folder outside is never written (the same files, the same bytes)."""
    merges.RUN[flavour](tmp_path, _named("t7423-submodule-parent-replaced-by-link"))
    outside = tmp_path / "outside"
    assert _outside(outside) == {"sub/s": hashlib.sha1(b"keep\n").hexdigest()}
    assert not (tmp_path / "repo" / "a").is_symlink()
