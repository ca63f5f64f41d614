"""t7418-submodule-sparse-gitmodules: a sparse checkout that leaves `.gitmodules` out of the
worktree (git reads it from the index then, as t7418 checks for `submodule update`).

A submodule the operation de-initialised (`git submodule deinit -f`) there was left with its
folder empty by the rollback of a failed run, `rollback --op`, `abort` and `recover`, which
said the files were as before and named nothing: the submodules checked out were noted at
PRE-OP only where `.gitmodules` was on disk (gitdirnoted.py), though they are read from the
index's. They are noted now wherever the repository holds submodules' git dirs (`modules/`)
or a `.gitmodules`, and checked out again as the rollback of any deinit says (docs/limits.md,
*Submodules de-initialised*); an agent turn, which finds them from `modules/`, did so already.

`run --isolate` there (its private worktree is given the sparse patterns, `.gitmodules` left
out of it too) named nothing of what the command wrote into a submodule's folder, which is not
applied (tests/test_adversary53_isolate_submodules.py): it looked for `.gitmodules` on disk;
so did the rollback that names what an operation wrote into the folder of a submodule not
checked out (it said "it had changed nothing").

Also played there, without a defect: the gitlink moved in the index (not kept), and a
`.gitmodules` written into the worktree by the operation. Oracle: the disk (the submodule's
folder, its `.git` file), the raw index entries, refs, through the matrix of
tests/test_adversary59_git_merges.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import test_adversary59_git_merges as merges
import test_git_cases as base
import test_git_cases_more as more

SUB = r"""[ -d ../up ] || { git init -q -b main ../up; (cd ../up; printf 's\n' > s; git add s
git commit -qm s; printf 't\n' > s; git commit -qam t); }
git -c protocol.file.allow=always submodule -q add ../up sub; git commit -qm sub"""
YOURS = "\nprintf 'w\\n' > wip; printf 'dirty\\n' >> README"
SPARSE = SUB + "\ngit sparse-checkout set --no-cone '/*' '!/.gitmodules'" + YOURS
MOVED = "git update-index --cacheinfo 160000,$(git -C sub rev-parse HEAD~),sub"

CASES = [
    more.Case(
        "deinit",
        SPARSE,
        "git submodule deinit -q -f sub; printf 'x\\n' > x",
        flavours=("shadow", "turn", "begin"),
        undo=False,
    ),
]


@pytest.mark.parametrize(
    ("case", "flavour"),
    [pytest.param(c, f, id=f"{c.name}-{f}") for c in CASES for f in c.flavours],
)
def test_sparse_gitmodules(tmp_path: Path, case: more.Case, flavour: str) -> None:
    merges.RUN[flavour](tmp_path, case)


def test_isolated_write_into_a_submodule_named(tmp_path: Path) -> None:
    """`run --isolate`, `.gitmodules` out of the sparse checkout: what the command wrote into
    the submodule's folder is named and not applied; the rest is."""
    repo = base.made(tmp_path, "repo", SPARSE)
    assert not (repo.path / ".gitmodules").exists()
    script = "echo n > sub/new; echo y > y"
    res = repo.atomic("run", "--isolate", "--no-gates", "--", "sh", "-c", script)
    assert res.returncode == 0, res.stderr
    assert "sub: the command wrote into this submodule's folder (new)" in res.stderr, res.stderr
    assert (repo.path / "y").read_bytes() == b"y\n"
    assert not (repo.path / "sub" / "new").exists()


def test_files_written_into_a_submodule_not_checked_out_named(tmp_path: Path) -> None:
    """A submodule not checked out (de-initialised before), `.gitmodules` out of the sparse
    checkout: what a failed run wrote into its folder is in no checkpoint and stays, and the
    rollback names it (docs/limits.md); it said "it had changed nothing"."""
    repo = base.made(tmp_path, "repo", SPARSE + "\ngit submodule deinit -q -f sub")
    res = repo.atomic("run", "--", "sh", "-c", "echo f > sub/f; exit 1")
    assert res.returncode == 1, res.stderr
    assert "sub: a submodule with no .git in its folder" in res.stderr, res.stderr
    assert "(f)" in res.stderr and "changed nothing" not in res.stderr, res.stderr
