"""Families of git's own tests not played before (stop 60's helper D), each found without a
defect in every flavour of tests/test_adversary59_git_merges.py (a failed run, commits mode,
`rollback --op` over your files, `begin`, an agent turn, `recover` after a kill) when written,
kept here as one cheap cell each:

- t3009-ls-files-others-nonsubmodule: an untracked folder holding repositories (one without a
  commit, one with), whose files are never ours;
- t3511-cherry-pick-x: `cherry-pick -x -s` of a range, and a range stopped on its second pick
  (`sequencer/`, CHERRY_PICK_HEAD), with and without `--no-commit`;
- t3601-rm-pathspec-file: `git rm --pathspec-from-file --pathspec-file-nul`;
- t3702-add-edit: `git add -e` with an editor that edits the patch;
- t4124-apply-ws-rule: `git apply --index --whitespace=fix`;
- t4252-am-options: `git am --whitespace=error` stopped (`rebase-apply/`);
- t5601-clone: a clone made inside the worktree (another repository: it stays);
- t7002-mv-sparse-checkout: `git mv --sparse` into and out of the sparse cone;
- t7501-commit-basic-functionality: `commit --include` with a path, intent-to-add beside;
  `commit --amend --only` over staged changes;
- t7509-commit-authorship: `--reset-author` on an amend and with `-C`.
- t2300-cd-to-toplevel: git-atomic run from a folder of the worktree (and through a link to
  it): a rollback that removes the operation's file there says nothing of keeping the folder,
  which holds your files and was never to go.

t7810/t7814/t7815 (grep), t7030 (verify-tag) and t1419 (for-each-ref --exclude) only read; t1460
(`git refs migrate`) is not in git 2.39; t1051 (large conversions) is stop 60's helper B's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import test_adversary59_git_merges as merges
import test_git_cases_more as more

from testing.gitrepo import GitRepo

CASES: list[more.Case] = []


def case(name: str, setup: str, op: str, flavour: str, **kw: object) -> None:
    CASES.append(more.Case(name, setup, op, flavours=(flavour,), **kw))  # type: ignore[arg-type]


YOURS = "\nprintf 'w\\n' > wip; printf 'dirty\\n' >> README"
PATCH = '../$(basename "$PWD").patch'
case(
    "t3009-untracked-folder-with-nested-repositories",
    r"""mkdir -p un/nested un/withcommit; git -C un/nested init -q; printf 'n\n' > un/nested/f
(cd un/withcommit; git init -q; printf 'c\n' > c; git add c; git commit -qm c; printf 'd\n' > d)
printf 'u\n' > un/u"""
    + YOURS,
    r"""printf 'x\n' > un/u2; rm un/u; printf 'y\n' > README; printf 'z\n' > un/withcommit/d""",
    "effect",
)
PICKS = (
    r"""printf 'c\n' > c; git add c; git commit -qm c; git checkout -qb side
printf '1\n' > s1; git add s1; git commit -qm s1; printf '2\n' > s2; git add s2
git commit -qm s2; printf 'S\n' > c; git commit -qam side-c; git checkout -q main
printf 'M\n' > c; git commit -qam main-c"""
    + YOURS
)
case("t3511-cherry-pick-x-signoff-range", PICKS, "git cherry-pick -x -s side~3..side~1", "commits")
case(
    "t3511-cherry-pick-range-stops-on-the-last",
    PICKS,
    "git cherry-pick -x side~1 side",
    "recover",
    halfway=True,
)
case(
    "t3511-cherry-pick-n-range-stops",
    PICKS,
    "git cherry-pick -n side~1 side",
    "shadow",
    halfway=True,
)
case(
    "t3601-rm-pathspec-from-file-nul",
    "printf a > a; printf b > 'b c'; printf d > d; git add -A; git commit -qm t" + YOURS,
    r"""printf 'a\0b c\0' | git rm -q --pathspec-from-file=- --pathspec-file-nul""",
    "begin",
)
case(
    "t3702-add-e",
    r"""printf 'a\nb\n' > f; git add f; git commit -qm f; printf 'A\nb\nc\n' > f""" + YOURS,
    r"""GIT_EDITOR="sed -i 's/^+c$/+C/'" git add -e f""",
    "shadow",
)
case(
    "t4124-apply-whitespace-fix-index",
    r"""printf 'a\nb\n' > f; git add f; git commit -qm f; printf 'a\nb  \n\tc \n' > f
git diff > """
    + PATCH
    + "; git checkout -q f"
    + YOURS,
    "git apply --index --whitespace=fix " + PATCH,
    "effect",
)
case(
    "t4252-am-whitespace-error-stops",
    r"""printf 'a\n' > f; git add f; git commit -qm f; git checkout -qb side
printf 'a  \nb\n' > f; git commit -qam side; git format-patch -q -1 --stdout > """
    + PATCH
    + "; git checkout -q main"
    + YOURS,
    "git am -q --whitespace=error " + PATCH,
    "commits",
    halfway=True,
)
case(
    "t5601-clone-into-the-worktree",
    "printf 'x\\n' > x" + YOURS,
    "git clone -q . inner-clone; printf 'y\\n' > y",
    "shadow",
    undo=False,
)
case(
    "t7002-mv-sparse",
    r"""mkdir -p in out; printf 'i\n' > in/i; printf 'o\n' > out/o; printf 'p\n' > out/p
git add -A; git commit -qm t; git sparse-checkout set --no-cone '/in/'"""
    + YOURS,
    r"""git mv --sparse out/o in/o; git mv --sparse in/i out/i; git commit -qm mv""",
    "effect",
)
case(
    "t7501-commit-include",
    r"""printf 'a\n' > a; printf 'b\n' > b; git add a b; git commit -qm t; printf 'A\n' > a
git add a; printf 'B\n' > b; printf 'n\n' > n; git add -N n"""
    + YOURS,
    "git commit -q -i -m inc b",
    "commits",
)
case(
    "t7501-commit-amend-only-with-staged",
    r"""printf 'a\n' > a; git add a; git commit -qm t; printf 'A\n' > a; git add a""" + YOURS,
    "git commit -q --amend --only -m reworded",
    "turn",
)
case(
    "t7509-reset-author",
    r"""printf 'a\n' > a; git add a; git commit -q --author='Other <o@x>' -m t""" + YOURS,
    r"""git commit -q --amend --reset-author --no-edit
git commit -q -C HEAD --allow-empty --reset-author""",
    "effect",
)


def _params() -> list[object]:
    return [pytest.param(c, f, id=f"{c.name}-{f}") for c in CASES for f in c.flavours]


@pytest.mark.parametrize(("case", "flavour"), _params())
def test_family(tmp_path: Path, case: more.Case, flavour: str) -> None:
    merges.RUN[flavour](tmp_path, case)


@pytest.mark.parametrize("through", ["sub", "linked"])
def test_run_from_a_folder_of_yours_keeps_it_without_a_word(tmp_path: Path, through: str) -> None:
    """t2300: run from `sub/` (or a link to it), whose command wrote `sub/x` and failed: `sub/`
    holds your tracked file, nothing would remove it; the rollback is exact and says so (it
    said "kept sub/, empty: this command runs in it", and "except what the warnings above
    name")."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.write("sub/s", b"s\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "s")
    (repo.path / "linked").symlink_to("sub")
    before = repo.fingerprint()
    argv = ["run", "--history", "shadow", "--no-gates", "--", "sh", "-c", "echo x > x; exit 1"]
    res = repo.atomic(*argv, cwd=repo.path / through, check=1)
    assert repo.fingerprint().diff(before) == []
    assert "kept" not in res.stderr and "warning" not in res.stderr, res.stderr
