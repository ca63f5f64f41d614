"""t3404-rebase-interactive (`break`), t3501/t3507 (`cherry-pick -n`, `revert -n`), t4150/t4151
(`am -3`), t4200-rerere, t6030-bisect, t7600-merge (`--no-commit`, `--autostash`) (stop 56's
adversary): an operation that leaves git half way, in the ways git's own tests leave it, beside
those tests/test_git_cases*.py hold (a conflicted merge, rebase, cherry-pick, stash pop). The
run fails whatever it exits, and the failed run, and an `abort` of the same work opened with
`begin`, put back everything as it was before: files, index and stages, HEAD, the branches,
git's state files (`MERGE_HEAD`, `rebase-merge/`, `BISECT_*`...) and every other file of the
git dir, which tests/test_git_cases.py does not read: `refs/bisect/`, `MERGE_RR`,
`MERGE_AUTOSTASH`, `ORIG_HEAD`, `AUTO_MERGE` (rerere's `rr-cache/` stays, by design: README,
"Git's memo files"; so do the reflogs). `undo` brings git's half-way state back as the operation
left it. Checked right: no defect found (a pin)."""

from __future__ import annotations

from pathlib import Path

import pytest
import test_git_cases as base
import test_git_cases_more as more

from testing.gitrepo import GitRepo, git_dir_paths

HALF = r"""printf 'base\n' > c; git add c; git commit -qm base; git checkout -qb side
printf 'side\n' > c; printf 's\n' > s; git add s; git commit -qam side; git checkout -q main
printf 'main\n' > c; git commit -qam main; printf 'wip\n' > untracked"""
OPS = {
    "t6030-bisect-started": "git bisect start main main~2",
    "t7600-merge-no-commit": "git branch -q clean main~1; git checkout -q clean; printf n > n\n"
    "git add n; git commit -qm n; git checkout -q main; git merge -q --no-commit --no-ff clean",
    "t4200-rerere-merge": "git config rerere.enabled true; git merge -q side || true",
    "t3501-cherry-pick-n": "git cherry-pick -n side || true",
    "t3507-revert-n-range": "git revert -n HEAD~1 HEAD || true",
    "t3404-rebase-i-break": "GIT_SEQUENCE_EDITOR='sed -i 1ibreak' git rebase -q -i side~1 || true",
    "t4151-am-3way": "git format-patch -q -1 side -o ../p; git am -q -3 ../p/* || true",
    "t7600-merge-autostash": "printf 'dirty\\n' >> c; git merge -q --autostash side || true",
}
CASES = [more.Case(name, HALF, op, halfway=True) for name, op in OPS.items()]
# What stays as the operation left it, by design (README, "Git's memo files").
KEPT = ("logs/", "rr-cache/", "COMMIT_EDITMSG", "FETCH_HEAD")


def _git_dir(repo: GitRepo) -> set[str]:
    return {p for p in git_dir_paths(repo.path / ".git") if not p.startswith(KEPT)}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_failed_run_puts_git_back_and_undo_brings_the_half_way_state(
    tmp_path: Path, case: more.Case
) -> None:
    repo = more._make(tmp_path, "repo", case)
    before, paths = more.state(repo), _git_dir(repo)
    more._atomic(repo, case, "run", *more._op(case), code=1)
    base.same(before, more.state(repo), "after the failed run")
    assert _git_dir(repo) == paths
    expected = more._twin(tmp_path, case, case.op)
    more._atomic(repo, case, "undo")
    base.same(expected, more.state(repo), "after undo")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_an_abort_puts_git_back(tmp_path: Path, case: more.Case) -> None:
    repo = more._make(tmp_path, "repo", case)
    before, paths = more.state(repo), _git_dir(repo)
    more._atomic(repo, case, "begin", "half")
    base.sh(repo, case.op, check=False)
    more._atomic(repo, case, "abort")
    base.same(before, more.state(repo), "after abort")
    assert _git_dir(repo) == paths
