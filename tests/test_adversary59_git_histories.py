"""Families of git's own tests that rewrite or bring in history over a working tree (stop 59's
helper E), through the matrix of tests/test_git_cases_more.py and a `recover` after git-atomic
is killed (tests/test_adversary59_git_merges.py).

- t3401-rebase-and-am-rename: a rebase and an `am` carrying an edit through the other side's
  rename.
- t7402-submodule-rebase: a rebase that drops a commit under one moving a submodule, whose
  checkout has edits of its own (never ours: the gitlink is).
- t5572-pull-submodule: `pull --recurse-submodules` (fast-forward, and `--rebase` over a commit
  of the operation's) from an upstream that moved the submodule.
- t1050-large: `core.bigFileThreshold` below the files' sizes: git stores and diffs them as
  binary; a rollback's three-way merge of such a file over your later edit is still a text
  merge.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import test_adversary59_git_merges as merges
import test_git_cases_more as more

from testing.gitrepo import GitRepo

FLAVOURS = merges.FLAVOURS
CASES: list[more.Case] = []


def case(name: str, setup: str, op: str, **kw: object) -> None:
    kw.setdefault("flavours", FLAVOURS)
    CASES.append(more.Case(name, setup, op, **kw))  # type: ignore[arg-type]


RENAME = r"""seq 1 20 > a; git add a; git commit -qm base; git checkout -qb side; git mv a b
git commit -qm rename; git checkout -q main; sed -i 's/^3$/three/' a; git commit -qam three
git format-patch -q -1 --stdout > ../$(basename "$PWD").patch; printf 'w\n' > wip"""
case("t3401-rebase-through-a-rename", RENAME, "git rebase -q side")
case(
    "t3401-am-through-a-rename",
    RENAME,
    'git checkout -q side; git am -q -3 ../$(basename "$PWD").patch',
)

SUB = r"""git config --global protocol.file.allow always
[ -d ../up ] || { git init -q -b main ../up; (cd ../up; printf 's\n' > s
git add s; git commit -qm s; printf 's2\n' > s; git commit -qam s2); }
git submodule -q add ../up sub; git commit -qm sub"""
case(
    "t7402-rebase-under-a-submodule-move",
    SUB
    + r"""
printf 'f\n' > f; git add f; git commit -qm f; (cd sub; git checkout -q HEAD~1)
git commit -qam 'sub back'; (cd sub; printf 'dirty\n' > s); printf 'w\n' > wip""",
    "git rebase -q --onto HEAD~2 HEAD~1",
    undo=False,
)

PULL = (
    SUB
    + r"""
up=../$(basename "$PWD")-upstream; git clone -q --recurse-submodules "$PWD" "$up"
(cd "$up/sub"; git checkout -q HEAD~1); (cd "$up"; printf 'u\n' > u; git add -A
git commit -qm 'upstream moves sub'); git remote add origin "$up"; printf 'w\n' > wip"""
)
case(
    "t5572-pull-recurse-submodules-fast-forward",
    PULL,
    "git pull -q --recurse-submodules origin main",
    undo=False,
)
case(
    "t5572-pull-rebase-recurse-submodules",
    PULL,
    r"""printf 'o\n' > o; git add o; git commit -qm o
git pull -q --rebase --recurse-submodules origin main""",
    undo=False,
)

BIG = r"""git config core.bigFileThreshold 100; seq 1 300 > big; seq 1000 1300 > other
git add -A; git commit -qm big; printf 'w\n' > wip"""
case(
    "t1050-files-above-bigfilethreshold",
    BIG,
    r"""sed -i 's/^2$/two/' big; seq 1 400 > new-big; rm other; git add -A; git commit -qm op""",
)


def _params() -> list[object]:
    return [pytest.param(c, f, id=f"{c.name}-{f}") for c in CASES for f in c.flavours]


@pytest.mark.parametrize(("case", "flavour"), _params())
def test_family(tmp_path: Path, case: more.Case, flavour: str) -> None:
    merges.RUN[flavour](tmp_path, case)


def test_big_file_merged_as_text_over_your_edit(tmp_path: Path) -> None:
    """t1050: above `core.bigFileThreshold`, `rollback --op` takes the operation's edit out of
    a file you edited since (another line): both lines as they should be, nothing refused."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    more.base.sh(repo, BIG)
    line = "sed -i 's/^2$/two/' big"
    run = repo.atomic("run", "--history", "shadow", "--no-gates", "--json", "--", "sh", "-c", line)
    op_id = json.loads(run.stdout)["op_id"]
    more.base.sh(repo, "sed -i 's/^290$/yours/' big")
    repo.atomic("rollback", "--op", op_id, check=0)
    lines = repo.read("big").decode().splitlines()
    assert (lines[1], lines[289], len(lines)) == ("2", "yours", 300)
