"""Families of git's own tests not played before (stop 63's helper B), run through the matrix
of tests/test_adversary59_git_merges.py (a failed run, commits mode, `rollback --op` over your
files, `begin`/`abort`, an agent turn, `recover` after a kill). Each was played in every
flavour when written and found without a defect there; each keeps the flavours that say most
of the state it leaves:

- t2500-untracked-overwriting: `reset --hard` over your untracked files (a folder of them, a
  file of the same name), `checkout -m` refused then `checkout -f`, `switch --discard-changes`
  over your untracked folder where a file comes;
- t7900-maintenance: the gc, loose-objects, incremental-repack, commit-graph and pack-refs
  tasks and a `prune --expire=now` run by the operation; `gc --auto` under `gc.auto=1`
  after the operation deleted a branch; the same tasks (and your purge of the reflogs) run by
  you between the operation and its `rollback --op`, `undo` (test below);
- t1600-index: `.git/index` removed and made again under GIT_INDEX_VERSION=4 over
  `index.version=3`; `feature.manyFiles` then an out-of-range `index.version=1`;
- t1415-worktree-refs: per-worktree refs (`refs/worktree/`, `refs/bisect/`) made, moved and
  deleted with a soft reset: left as the operation left them (SPEC: only branches and HEAD
  move back), the rest exact;
- t1601-index-bogus: a gitlink of the null id in your index (GIT_ALLOW_NULL_SHA1 read-tree):
  `run` and `begin` refused, one line, exit 3, nothing changed; `emergency` and `undo` exact
  (test below);
- t0034-root-safe-directory: a repository git finds of another owner (git's
  GIT_TEST_ASSUME_DIFFERENT_OWNER): every command refused, one line naming git's
  `safe.directory` remedy, exit 3; an operation opened before stays open, untouched, and is
  aborted exactly once git trusts the folder again (test below).

Found and fixed while playing t7900 with your purge: tests/test_adversary63_reflog_expired_since.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import test_adversary59_git_merges as merges
import test_git_cases_more as more
from test_adversary63_reflog_expired_since import fsck_clean

CASES: list[more.Case] = []


def case(name: str, setup: str, op: str, flavours: tuple[str, ...], **kw: object) -> None:
    CASES.append(more.Case(name, setup, op, flavours=flavours, **kw))  # type: ignore[arg-type]


YOURS = "\nprintf 'w\\n' > wip; printf 'dirty\\n' >> README"

# --- t2500-untracked-overwriting -----------------------------------------------------------
IN_THE_WAY = (
    r"""printf 'f\n' > filler; git add filler; git commit -qm filler; git branch stable
git checkout -qb work; mkdir -p foo/bar; printf 'w\n' > foo/bar/baz; printf 'n\n' > notes.txt
git add foo notes.txt; git commit -qm work; git checkout -q main
mkdir -p foo/bar; printf 'mine\n' > foo/bar/baz; printf 'mine too\n' > foo/bar/other
printf 'my notes\n' > notes.txt"""
    + YOURS
)
case(
    "t2500-reset-hard-nukes-untracked",
    IN_THE_WAY,
    "git reset -q --hard work",
    ("shadow", "turn", "recover"),
)
case(
    "t2500-checkout-m-refused-then-forced",
    IN_THE_WAY,
    "git checkout -q -m work || git checkout -q -f work",
    ("commits", "effect"),
)
case(
    "t2500-switch-discard-over-untracked-folder",
    IN_THE_WAY.replace(
        "printf 'my notes\\n' > notes.txt", "mkdir notes.txt; printf 'd\\n' > notes.txt/d"
    ),
    "git switch -q --discard-changes work || { rm -rf notes.txt foo; git switch -q work; }",
    ("begin",),
)

# --- t7900-maintenance ---------------------------------------------------------------------
TASKS = (
    "git maintenance run --task=gc --task=loose-objects --task=incremental-repack"
    " --task=commit-graph --task=pack-refs"
)
HISTORY = (
    r"""for i in 1 2 3; do printf "$i\n" > f$i; git add f$i; git commit -qm c$i; done
git branch side HEAD~1; printf 'staged\n' > s; git add s"""
    + YOURS
)
case(
    "t7900-maintenance-tasks-in-the-op",
    HISTORY,
    "printf 'op\\n' > op; git add op; git commit -qm op; " + TASKS + "; git prune --expire=now",
    ("shadow", "effect", "recover"),
)
case(
    "t7900-gc-auto-by-a-commit",
    HISTORY
    + "\ngit config gc.auto 1; git config gc.autoDetach false; git config gc.autoPackLimit 1",
    "printf 'op\\n' > op; git add op; git commit -qm op; git branch -q -D side; git gc --auto -q",
    ("commits", "begin-commits"),
)

# --- t1600-index ---------------------------------------------------------------------------
case(
    "t1600-index-removed-and-made-again-v4",
    "git config index.version 3; printf 'a\\n' > a; git add a; git commit -qm a" + YOURS,
    "rm -f .git/index; printf 'b\\n' > b; GIT_INDEX_VERSION=4 git add a b",
    ("shadow", "turn"),
)
case(
    "t1600-many-files-then-bogus-version",
    "git config feature.manyFiles true; printf 'a\\n' > a; git add a; git commit -qm a" + YOURS,
    "git config index.version 1; rm -f .git/index; printf 'b\\n' > b; git add b 2>/dev/null",
    ("begin", "recover"),
)

# --- t1415-worktree-refs -------------------------------------------------------------------
case(
    "t1415-per-worktree-refs",
    r"""git worktree add -q -b wtb ../$(basename "$PWD")-wt; git commit -q --allow-empty -m two
git update-ref refs/worktree/foo HEAD; git update-ref refs/bisect/good HEAD~"""
    + YOURS,
    r"""git update-ref -d refs/worktree/foo; git update-ref refs/worktree/bar HEAD~
git update-ref refs/bisect/bad HEAD; git reset -q --soft HEAD~; printf 'x\n' > x""",
    ("effect", "begin"),
)


def _params() -> list[object]:
    return [pytest.param(c, f, id=f"{c.name}-{f}") for c in CASES for f in c.flavours]


@pytest.mark.parametrize(("case", "flavour"), _params())
def test_family(tmp_path: Path, case: more.Case, flavour: str) -> None:
    merges.RUN[flavour](tmp_path, case)


def _named(name: str) -> more.Case:
    return next(c for c in CASES if c.name == name)


# A commit only the reflogs name (a secret committed, reset away): what your purge is for.
PURGED = (
    "printf 's\\n' > secret; git add secret; git commit -qm secret; git reset -q --hard HEAD~\n"
)
YOUR_MAINTENANCE = (
    TASKS + "; git reflog expire --expire=now --all; git gc -q --prune=now; git prune --expire=now"
)


@pytest.mark.parametrize("move", ["rollback --op", "undo"])
def test_your_maintenance_between_the_operation_and_its_take_back(
    tmp_path: Path, move: str
) -> None:
    """t7900: an operation kept (shadow mode: its commit and files), then your maintenance
    (every task, a purge of the reflogs, `gc --prune=now`), then its `rollback --op`, or a
    failed run, your maintenance, and `undo` of its rollback: the state is the twin's (your
    maintenance's on the state without the operation / with it), `git fsck` finds nothing
    missing and no reflog line naming a pruned commit (the commit your purge took is not
    named again: tests/test_adversary63_reflog_expired_since.py)."""
    case = more.Case("t7900-yours-between", PURGED + HISTORY, "", flavours=())
    op = "printf 'op\\n' > op; git add op; git commit -qm op; printf 'u\\n' > untracked"
    repo = more._make(tmp_path, "repo", case)
    if move == "rollback --op":
        out = more._atomic(repo, case, "run", "--history", "shadow", "--json", "--", "sh", "-c", op)
        more.base.sh(repo, YOUR_MAINTENANCE)
        more._atomic(repo, case, "rollback", "--op", json.loads(out)["op_id"])
        expected = more._twin(tmp_path, case, YOUR_MAINTENANCE)
    else:
        more._atomic(repo, case, "run", "--", "sh", "-c", op + "; exit 1", code=1)
        more.base.sh(repo, YOUR_MAINTENANCE)
        more._atomic(repo, case, "undo")
        expected = more._twin(tmp_path, case, YOUR_MAINTENANCE, op)
    more.base.same(expected, more.state(repo), f"after {move}")
    fsck_clean(repo)


NULL_GITLINK = (
    "t=$(printf '160000 commit 0000000000000000000000000000000000000000\\tbroken\\n' | git mktree)"
    "; GIT_ALLOW_NULL_SHA1=1 git read-tree $t" + YOURS
)


def test_a_null_gitlink_in_your_index_is_refused_then_emergency_and_undo(tmp_path: Path) -> None:
    """t1601: a gitlink of the null id in your index, which `write-tree` refuses: `run` and
    `begin` refuse, one line, exit 3, nothing changed; `emergency` saves it all and goes back
    to HEAD's commit; `undo` brings the index with its null entry back exactly."""
    repo = more.base.made(tmp_path, "repo", NULL_GITLINK)
    before = more.state(repo)
    for args in (["run", "--", "sh", "-c", ": > made"], ["begin", "x"]):
        res = repo.atomic(*args)
        assert res.returncode == 3 and len(res.stderr.splitlines()) == 1, res.stderr
        more.base.same(before, more.state(repo), f"after {args[0]}")
    repo.atomic("emergency", check=0)
    assert "broken" not in repo.git("ls-files", "-s")
    repo.atomic("undo", check=0)
    more.base.same(before, more.state(repo), "after undo of the emergency")


def test_a_folder_git_does_not_trust_is_refused(tmp_path: Path) -> None:
    """t0034: git takes the repository for another owner's (GIT_TEST_ASSUME_DIFFERENT_OWNER,
    as root's sudo case): every command is refused, exit 3, one line naming git's remedy, the
    operation opened before left open and untouched; trusted again, its abort is exact."""
    repo = more.base.made(
        tmp_path, "repo", "printf 'a\\n' > a; git add a; git commit -qm a" + YOURS
    )
    before = more.state(repo)
    repo.atomic("begin", "x", check=0)
    more.base.sh(repo, "printf 'op\\n' > a; printf 'n\\n' > new")
    during = more.state(repo)
    untrusted = {"GIT_TEST_ASSUME_DIFFERENT_OWNER": "1"}
    for args in (["commit", "--no-gates"], ["abort"], ["status"], ["run", "--", "true"]):
        res = repo.atomic(*args, env=untrusted)
        assert res.returncode == 3 and len(res.stderr.splitlines()) == 1, res.stderr
        assert "safe.directory" in res.stderr, res.stderr
        more.base.same(during, more.state(repo), f"after {args[0]} refused")
    repo.atomic("abort", check=0)
    more.base.same(before, more.state(repo), "after the abort")
