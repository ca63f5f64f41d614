"""Index entries git reads otherwise than their bytes say, from git's own tests: a
skip-worktree entry whose path is on disk in a sparse checkout (t1092, t7012, t2070
`--ignore-skip-worktree-bits`), ... Each is an operation over such a tree, then a failure,
`abort`, a rollback or `rollback --op`, compared with what is on disk (lstat, readlink, bytes)
and the index's entries and flags (`ls-files -s --debug`), and, in commits mode, with what
your own `git add -A; git commit` would have committed."""

from __future__ import annotations

from pathlib import Path

import pytest
import test_git_cases as base
import test_git_cases_more as more

from testing.gitrepo import GitRepo

# --- t1092-sparse-checkout-compatibility ("sparse.expectFilesOutsideOfPatterns"), t7012 and
# t2070-restore ("--ignore-skip-worktree-bits"): in a sparse checkout git reads an entry
# outside the patterns whose path is on disk as an ordinary one, and writes it so at its next
# write of the index (any `git status`). The capture after an operation that put such a file
# there took the flags it had remembered for the index's unchanged bytes: commits mode
# committed nothing of the operation's edit of it ("nothing to commit"), and once your `git
# status` had written the index, the rollback took the operation's files away and kept the
# entries unflagged (`git status`: " D out/o").
SPARSE = r"""mkdir -p in out; printf 'i\n' > in/i; printf 'o\n' > out/o; printf 'p\n' > out/p
git add -A; git commit -qm files; git sparse-checkout set in"""
PUT_OUTSIDE = {
    "restore": "git restore --ignore-skip-worktree-bits --source=HEAD -- out\n"
    "printf 'x\\n' >> out/o",
    "write": "mkdir -p out; printf 'mine\\n' > out/o",
    "link": "mkdir -p out; ln -s ../in/i out/p",
}


def _committed(repo: GitRepo) -> str:
    return repo.git("ls-tree", "-r", "HEAD")


@pytest.mark.parametrize("history", ["commits", "shadow"])
@pytest.mark.parametrize("how", list(PUT_OUTSIDE))
def test_a_file_put_where_a_sparse_checkout_skips_is_taken_back_after_your_git_status(
    tmp_path: Path, how: str, history: str
) -> None:
    case = more.Case(how, SPARSE, PUT_OUTSIDE[how])
    repo = more._make(tmp_path, "repo", case)
    before = more.state(repo)
    more._atomic(repo, case, "run", "--history", history, *more._op(case))
    if history == "commits":
        # The operation's change is committed, as `git add --sparse -A` stages it (and as a
        # new file it made there always was); git's own `add -A` leaves it to you, unstaged.
        twin = more._make(tmp_path, "twin", case)
        base.sh(twin, case.op + "\ngit add --sparse -A; git commit -qm twin")
        assert _committed(repo) == _committed(twin)
    base.sh(repo, "git status >/dev/null")  # git writes the index: the entry unflagged
    assert "H " in repo.git("ls-files", "-t", "out")
    more._atomic(repo, case, "rollback")
    base.same(before, more.state(repo), "after the rollback")
    assert repo.git("status", "--porcelain") == ""


# --- t0008-ignores ("a .gitignore that is a folder": git reads no rules from it, and lists
# what is in it as untracked): an operation that made a `.gitignore` a folder of files was
# rolled back without it ("a folder is in the way"), and your ignored files, judged by no rule,
# were deleted with the operation's (`undo` alone brought them back).
RULES_MADE_FOLDERS = more.Case(
    "t0008-gitignore-made-a-folder",
    r"""printf '*.log\n' > .gitignore; mkdir -p sub; printf 'tmp/\n' > sub/.gitignore
    printf 's\n' > sub/s; git add -A; git commit -qm rules; printf 'l\n' > a.log
    mkdir -p sub/tmp; printf 't\n' > sub/tmp/t; printf 'w\n' > wip""",
    r"""rm .gitignore; mkdir .gitignore; printf 'x\n' > .gitignore/x
    rm sub/.gitignore; mkdir -p sub/.gitignore/deeper
    printf '*\n' > sub/.gitignore/.gitignore; printf 'y\n' > sub/.gitignore/deeper/y
    printf 'op\n' >> wip""",
)


@pytest.mark.parametrize("flavour", RULES_MADE_FOLDERS.flavours)
def test_a_gitignore_the_operation_made_a_folder_comes_back_and_your_ignored_files_stay(
    tmp_path: Path, flavour: str
) -> None:
    more.RUN[flavour](tmp_path, RULES_MADE_FOLDERS)


# --- t0008-ignores: git reads `info/exclude` and `core.excludesFile` as files of rules, and a
# folder there stops it ("fatal: cannot use .git/info/exclude as an exclude file"): an operation
# that made `info/exclude` a folder had its rollback end on git's error with a traceback file,
# the operation interrupted, and `recover` failed the same way. Refused by name now, before
# any git reads it (stalls.py), as a FIFO or a link there is; once it is a file, `recover` is
# exact. A folder at another rule file's name (`info/attributes`) git passes over.
@pytest.mark.parametrize("where", ["info/exclude", "core.excludesFile"])
def test_an_exclude_file_made_a_folder_is_refused_by_name_then_recovered(
    tmp_path: Path, where: str
) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    base.sh(repo, "printf '*.log\\n' > .git/info/exclude; printf 'l\\n' > a.log")
    base.sh(repo, "printf 'w\\n' > wip; printf 'x\\n' >> README")
    before = more.state(repo)
    if where == "info/exclude":
        folder = repo.path / ".git" / "info" / "exclude"
        make = "rm .git/info/exclude; mkdir .git/info/exclude; printf 'k\\n' > .git/info/exclude/k"
    else:
        folder = tmp_path / "home" / "excludes"
        make = f"mkdir '{folder}'; git config --global core.excludesFile '{folder}'"
    op = f"printf 'op\\n' >> wip; printf 'n\\n' > new; {make}; exit 1"
    res = repo.atomic("run", "--", "bash", "-c", op)
    assert res.returncode == 3, res.stderr
    assert f"{folder} is a folder" in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert (repo.path / "new").read_bytes() == b"n\n"  # nothing taken back, nothing read
    base.sh(repo, f"rm -r '{folder}'")
    if where == "info/exclude":
        base.sh(repo, "printf '*.log\\n' > .git/info/exclude")
    more._atomic(repo, more.Case(where, "", ""), "recover")
    base.same(before, more.state(repo), "after recover")
    # One there before an operation opens none.
    base.sh(repo, f"if [ -e '{folder}' ]; then mv '{folder}' '{folder}.file'; fi; mkdir '{folder}'")
    res = repo.atomic("begin", "again")
    assert res.returncode == 3 and f"{folder} is a folder" in res.stderr, res.stderr
    assert "no operation is open" in repo.atomic("status").stdout
