"""Families of git's own tests on refs (stop 60's helper D): t1404-update-ref-errors (a branch
and a folder of branches cannot share a name), t1405-main-ref-store (a symbolic branch among
packed ones), t1408-packed-refs and t1409-avoid-packing-refs (a branch both packed and loose,
`pack-refs` over a `packed-refs` already there), and t6040-tracking-info (a tracking branch
made with its `[branch]` section).

A take-back that must make a branch again whose name a later branch of yours holds as a folder
(`a` where you made `a/c`, or the other way round) cannot: git keeps no `a` beside `a/c`. It is
refused before anything changes, as an overlap of files is, never carried out half (the files
taken back, the branch deleted, and "branch a was moved by someone else")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import test_adversary59_git_merges as merges
import test_git_cases_more as more

from testing.gitrepo import GitRepo

CASES: list[more.Case] = []


def case(name: str, setup: str, op: str, **kw: object) -> None:
    # Every flavour of tests/test_adversary59_git_merges.py (and begin) passed for each when
    # written (stop 60): kept, the ones that read most of each family.
    kw.setdefault("flavours", ("effect",))
    CASES.append(more.Case(name, setup, op, **kw))  # type: ignore[arg-type]


YOURS = "\nprintf 'w\\n' > wip; printf 'dirty\\n' >> README"
case(
    "t1404-branch-replaced-by-a-deeper-one",
    "git branch a; git branch keep" + YOURS,
    "git branch -D a; git branch a/b; printf 'x\\n' > x; git add x",
    flavours=("turn", "commits", "effect"),
)
case(
    "t1404-deeper-branches-replaced-by-their-folder",
    "git branch a/b; git branch a/c/d" + YOURS,
    "git branch -D a/b a/c/d; git branch a; printf 'x\\n' > x",
)
case(
    "t1404-current-branch-renamed-into-its-own-folder",
    "git branch other" + YOURS,
    "git branch -m main main/x; printf 'x\\n' > x; git add x; git commit -qm x",
)
case(
    "t1408-branch-packed-and-loose-deleted",
    r"""git commit -q --allow-empty -m two; git branch p HEAD~1; git tag -a -m t v1
git pack-refs --all; git update-ref refs/heads/p HEAD"""
    + YOURS,
    "git branch -D p; printf 'x\\n' > x; git add x",
)
case(
    "t1409-pack-refs-over-packed-refs-with-a-symbolic-branch",
    r"""git branch p1; git pack-refs --all; git branch loose1
git symbolic-ref refs/heads/sym refs/heads/main"""
    + YOURS,
    "git branch loose2; git pack-refs --all --prune; printf 'x\\n' > x",
)
case(
    "t6040-tracking-branch-made-and-checked-out",
    "git branch up" + YOURS,
    "git checkout -q --track -b topic up; printf 'x\\n' > x; git add x; git commit -qm x",
)


def _params() -> list[object]:
    return [pytest.param(c, f, id=f"{c.name}-{f}") for c in CASES for f in c.flavours]


@pytest.mark.parametrize(("case", "flavour"), _params())
def test_family(tmp_path: Path, case: more.Case, flavour: str) -> None:
    merges.RUN[flavour](tmp_path, case)


def _run(repo: GitRepo, script: str) -> str:
    res = repo.atomic_json("run", "--history", "shadow", "--no-gates", "--", "sh", "-c", script)
    return str(res["op_id"])


# (the operation, what you do after it): the branch a take-back makes again is in a folder
# of yours, or is the folder of yours.
CLASHES = {
    "made-again-where-your-folder-is": ("git branch -D a; git branch a/b", "git branch a/c"),
    "made-again-inside-your-branch": (
        "git branch -D a/b; git branch a",
        "git commit -q --allow-empty -m yours; git branch -f a HEAD",
    ),
}


@pytest.mark.parametrize("clash", sorted(CLASHES))
def test_branch_name_held_by_a_later_branch_refuses(tmp_path: Path, clash: str) -> None:
    """t1404: `rollback --op` (and its dry run) over a later branch that holds the name of one
    it would make again, as a folder or as a branch: exit 3, nothing changed, both named; then
    that branch of yours deleted, the rollback goes through."""
    op, later = CLASHES[clash]
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.git("branch", "a/b" if "D a/b" in op else "a")
    op_id = _run(repo, op + "; printf 'x\\n' > x")
    more.base.sh(repo, later + "; printf 'l\\n' > later")
    before = repo.fingerprint()
    for dry in (("--dry-run",), ()):
        res = repo.atomic("rollback", "--op", op_id, *dry, check=3)
        assert "refused, nothing changed" in res.stderr, res.stderr
        assert "branch a/" in res.stderr and "Traceback" not in res.stderr, res.stderr
        assert repo.fingerprint().diff(before) == []
    theirs = "a/c" if "a/c" in later else "a"
    repo.git("branch", "-D", theirs)
    repo.atomic("rollback", "--op", op_id, check=0)
    assert not repo.exists("x") and repo.read("later") == b"l\n"


def test_branch_name_held_again_after_the_rollback_refuses_undo(tmp_path: Path) -> None:
    """t1404, the other way: a run made `a/b` where `a` was, its rollback made `a` again, you
    moved `a` since; `undo` would make `a/b` beside your `a`: exit 3, nothing changed."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.git("branch", "a")
    script = "git branch -D a; git branch a/b; printf 'x\\n' > x; exit 1"
    res = repo.atomic("run", "--history", "shadow", "--no-gates", "--", "sh", "-c", script)
    assert res.returncode == 1, res.stderr
    more.base.sh(repo, "git commit -q --allow-empty -m yours; git branch -f a HEAD")
    before = repo.fingerprint()
    res = repo.atomic("undo", check=3)
    assert "refused, nothing changed" in res.stderr and "a/b" in res.stderr, res.stderr
    assert repo.fingerprint().diff(before) == []
    assert json.loads(repo.atomic("status", "--json", check=0).stdout)["interrupted"] is None


def test_header_only_packed_refs_foreseen_in_words(tmp_path: Path) -> None:
    """t1408: `git branch -D` of a loose branch writes a `packed-refs` holding git's header
    alone (none was there): the dry run of its rollback says that file goes, not "0 refs
    written as loose files again"."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.git("branch", "a")
    op_id = _run(repo, "git branch -D a; printf 'x\\n' > x")
    assert (repo.path / ".git" / "packed-refs").exists()
    res = repo.atomic("rollback", "--op", op_id, "--dry-run", check=0)
    assert "0 refs" not in res.stdout, res.stdout
    assert "packed-refs: removed (git's header alone" in res.stdout, res.stdout


def test_a_clash_git_was_given_is_not_the_take_back_s(tmp_path: Path) -> None:
    """A `packed-refs` written by hand with both `a` and `a/b` (git lists both): the take-back
    of an operation that touched neither is not refused for them."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    head = repo.head()
    packed = f"# pack-refs with: peeled fully-peeled sorted \n{head} refs/heads/a\n"
    (repo.path / ".git" / "packed-refs").write_text(packed + f"{head} refs/heads/a/b\n")
    op_id = _run(repo, "printf 'x\\n' > x; git branch -q new")
    repo.write("later", b"yours\n")  # (the effect's way, not the exact one)
    repo.atomic("rollback", "--op", op_id, check=0)
    assert not repo.exists("x") and "refs/heads/new" not in repo.git("for-each-ref")
