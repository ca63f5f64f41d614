"""More scenarios from git's own test suite, in the manner of tests/test_git_cases.py (its
state reader and its twin oracle): ignore rules (t0008), odd names (t0060), odd objects
(t1006, t1450), where the repository is found (t1510), submodules and subprojects (t2013,
t3040, t3600, t7001), `add` (t2200, t3700), worktrees (t2405-t2407), `apply` (t4129), merges
over untracked files (t6436), `mv` (t7001), status (t7064), checkout (t7201), commit (t7502),
branches and refs (t3200, t1400), gc (t5304) and core.ignoreCase (t0050).

Each runs four ways: a failed `run` is exact, and `undo` gives the operation's state back
(`shadow`); a kept run in commits mode, its rollback and its undo (`commits`); a run kept in
shadow mode, the user's files, then its rollback and undo (`effect`); and an operation opened
with `begin`, committed, the user's files, then `rollback --op` (`begin`, `begin-commits`).
Besides the state test_git_cases reads, the refs are read as files: a branch that is a
symbolic ref, HEAD a link, packed-refs.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import test_git_cases as base

from testing import oracle
from testing.gitrepo import GitRepo

LATER = base.LATER


def _symbolic_refs(git_dir: Path) -> tuple[tuple[str, str], ...]:
    """The branches that are symbolic refs, read as files (a loose ref `ref: ...` or a link):
    a rollback must keep them so, and never move the branch they name in their place."""
    out: list[tuple[str, str]] = []
    heads = git_dir / "refs" / "heads"
    for path in sorted(heads.rglob("*")) if heads.is_dir() else ():
        if path.is_symlink():
            out.append((str(path.relative_to(git_dir)), "link " + os.readlink(path)))
        elif path.is_file() and path.read_bytes().startswith(b"ref:"):
            out.append((str(path.relative_to(git_dir)), path.read_text().strip()))
    return tuple(out)


def state(repo: GitRepo, *, refs: bool = True) -> dict[str, object]:
    out = base.disk_state(repo.path, repo.env)
    # HEAD as git reads it: a link to the branch (t7201) is the branch.
    branch = repo.git("symbolic-ref", "-q", "HEAD", check=False).strip()
    out["head"] = f"ref: {branch}" if branch else out["head"]
    if refs:
        out["symbolic_refs"] = _symbolic_refs(repo.path / ".git")
    return out


@dataclass(frozen=True)
class Case:
    name: str
    setup: str
    op: str
    flavours: tuple[str, ...] = ("shadow", "commits", "effect", "begin", "begin-commits")
    undo: bool = True
    halfway: bool = False
    cwd: str = ""  # where git-atomic runs, below the top
    refs: bool = True  # compare the refs as files too


def _make(tmp_path: Path, name: str, case: Case) -> GitRepo:
    return base.made(tmp_path, name, case.setup)  # a copy of this process's first, if it can


def _twin(tmp_path: Path, case: Case, *scripts: str) -> dict[str, object]:
    """Built once per worker for the flavours that ask for it (test_git_cases.TWINS)."""
    key = ("more", case.setup, case.refs, scripts)
    if key not in base.TWINS:
        twin = _make(tmp_path, "twin", case)
        for script in scripts:
            base.sh(twin, script, check=False)
        base.TWINS[key] = state(twin, refs=case.refs)
        # The twin's folder and those its setup made beside it (a linked worktree).
        for path in tmp_path.glob("twin*"):
            subprocess.run(["rm", "-rf", str(path)], check=True)
    return base.TWINS[key]


def _atomic(repo: GitRepo, case: Case, *args: str, code: int | None = 0) -> str:
    res = repo.atomic(*args, cwd=repo.path / case.cwd if case.cwd else None)
    if code is not None:
        assert res.returncode == code, f"{args[0]}: exit {res.returncode}\n{res.stdout}{res.stderr}"
    return res.stdout


def _op(case: Case, tail: str = "") -> list[str]:
    # The operation's script runs at the top, wherever git-atomic was started.
    return ["--", "bash", "-c", 'cd "$(git rev-parse --show-toplevel)"\n' + case.op + tail]


def shadow(tmp_path: Path, case: Case) -> None:
    repo = _make(tmp_path, "repo", case)
    before = state(repo, refs=case.refs)
    _atomic(repo, case, "run", "--history", "shadow", *_op(case, "\nexit 1"), code=1)
    base.same(before, state(repo, refs=case.refs), "after the failed run")
    if case.undo and not case.halfway:
        expected = _twin(tmp_path, case, case.op)
        _atomic(repo, case, "undo")
        base.same(expected, state(repo, refs=case.refs), "after undo")


def commits(tmp_path: Path, case: Case) -> None:
    repo = _make(tmp_path, "repo", case)
    before = state(repo, refs=case.refs)
    if case.halfway:
        _atomic(repo, case, "run", "--history", "commits", *_op(case), code=1)
        base.same(before, state(repo, refs=case.refs), "after the run git left half way")
        return
    _atomic(repo, case, "run", "--history", "commits", *_op(case))
    expected = _twin(tmp_path, case, case.op)
    base.same(base.files_only(expected), base.files_only(state(repo)), "after the run")
    _atomic(repo, case, "rollback")
    base.same(before, state(repo, refs=case.refs), "after the rollback")
    if case.undo:
        _atomic(repo, case, "undo")
        base.same(base.files_only(expected), base.files_only(state(repo)), "after undo")


def effect(tmp_path: Path, case: Case) -> None:
    repo = _make(tmp_path, "repo", case)
    _atomic(repo, case, "run", "--history", "shadow", *_op(case))
    base.sh(repo, LATER)
    _atomic(repo, case, "rollback")
    base.same(_twin(tmp_path, case, LATER), state(repo, refs=case.refs), "after the rollback")
    if case.undo:
        expected = _twin(tmp_path, case, case.op, LATER)
        _atomic(repo, case, "undo")
        base.same(expected, state(repo, refs=case.refs), "after undo of that rollback")


def _begin(tmp_path: Path, case: Case, history: str, *, whole: bool = False) -> None:
    """begin, the operation, the user's file (the operation's while it is open: abort is
    exact); again, commit, the user's file, `rollback --op`: the operation's effect only.

    In commits mode the first half (to the abort) runs only where there is no second, which
    then starts from the set-up (its `begin` captures the state the first half's would have):
    the first half runs the lines it runs in shadow mode (`begin`, the same case) and those a
    commits-mode PRE-OP adds (its effect base), which the second half's `begin` runs on the same
    state. Measured by coverage for each of the 100 cases of the three files that have both
    flavours (stop 51): `abort` ran the same lines in both modes but for the caches kept past
    git's racy window (the kept walk, the kept ignore answer, the racy index check), which
    differ as much between two runs in one mode and follow a sleep before the abort; every line
    `begin --history commits` ran beyond shadow mode's ran in `run --history commits` too, but
    for the same caches. `whole`: the first half in commits mode too, for a file whose cells do
    not all run (tests/test_git_cases_t2_t7.py)."""
    repo = _make(tmp_path, "repo", case)
    if history == "shadow" or case.halfway or whole:
        before = state(repo, refs=case.refs)
        _atomic(repo, case, "begin", "first", "--history", history)
        base.sh(repo, case.op, check=False)
        base.sh(repo, LATER)
        _atomic(repo, case, "abort")
        base.same(before, state(repo, refs=case.refs), "after abort")
    if case.halfway:
        return
    out = _atomic(repo, case, "begin", "second", "--history", history, "--json")
    op_id = json.loads(out)["op_id"]
    base.sh(repo, case.op, check=False)
    _atomic(repo, case, "commit", "--no-gates")
    base.sh(repo, LATER)
    expected = _twin(tmp_path, case, LATER)
    _atomic(repo, case, "rollback", "--op", op_id)
    got = state(repo, refs=case.refs)
    if history == "commits":  # the branch's commits stay out of it: a file compare
        expected, got = base.files_only(expected), base.files_only(got)
    base.same(expected, got, "after rollback --op")


def begin(tmp_path: Path, case: Case) -> None:
    _begin(tmp_path, case, "shadow")


def begin_commits(tmp_path: Path, case: Case) -> None:
    _begin(tmp_path, case, "commits")


def begin_commits_whole(tmp_path: Path, case: Case) -> None:
    _begin(tmp_path, case, "commits", whole=True)


def turn(tmp_path: Path, case: Case) -> None:
    """An agent turn does the operation (test_git_cases.turn): its own changes are taken back
    at Stop, the user's stay; undo brings the turn's back."""
    base.turn(tmp_path, base.Case(case.name, case.setup, case.op, undo=case.undo))


RUN = {
    "turn": turn,
    "shadow": shadow,
    "commits": commits,
    "effect": effect,
    "begin": begin,
    "begin-commits": begin_commits,
}
CASES: list[Case] = []


def case(name: str, setup: str, op: str, **kw: object) -> None:
    CASES.append(Case(name, setup, op, **kw))  # type: ignore[arg-type]


# --- t0008-ignores -----------------------------------------------------------------------
case(
    "t0008-nested-gitignore-negation",
    r"""printf 'one\nignored-*\ntop-level-dir/\n' > .gitignore; mkdir -p a/b/ignored-dir
    printf 'two*\n*three\n!two-keep\n' > a/.gitignore; printf '!*.x\nseven\n' > a/b/.gitignore
    printf 'x\n' > a/two-keep; git add -A; git commit -qm rules
    printf 'u\n' > a/two-user; printf 'u\n' > a/b/seven; printf 'v\n' > a/b/ignored-dir/f
    printf 'n\n' > a/b/new.x; printf 'o\n' > one""",
    r"""printf 'changed\n' > a/two-keep; printf '*.x\n' >> a/b/.gitignore; printf 'm\n' > a/b/m.x
    printf '!two-user\n' >> a/.gitignore; printf 'k\n' > a/four; git add -A""",
)
case(
    "t0008-global-excludes-and-info-exclude",
    r"""printf '*.swp\nglobal-dir/\n' > "$HOME/global-excludes"
    git config core.excludesFile "$HOME/global-excludes"; printf 'per-repo\n' > .git/info/exclude
    printf 's\n' > a.swp; printf 'p\n' > per-repo; printf 't\n' > tracked; git add tracked
    git commit -qm t""",
    r"""printf 'op\n' > b.swp; git add -f b.swp; printf 'changed\n' > tracked
    printf 'new\n' > visible; printf 'global-dir/\n' > .gitignore; git add .gitignore""",
)
case(
    "t0008-escaped-patterns",
    r"""printf '\\#hash\n\\!bang\ntrailing\\ \n**/deep\na/**/b\n' > .gitignore
    printf 'h\n' > '#hash'; printf 'b\n' > '!bang'; printf 't\n' > 'trailing '
    mkdir -p x/y/deep a/q/r/b; printf 'd\n' > x/y/deep/f; printf 'ab\n' > a/q/r/b/f
    git add .gitignore; git commit -qm rules; printf 'n\n' > '#not-hash'""",
    r"""git add -f '#hash' '!bang'; printf 'c\n' > '#hash2'; printf 'x\n' > 'trailing  '
    git add -f a/q/r/b/f; rm '#not-hash'""",
)
case(
    "t0008-tracked-in-ignored-dir",
    r"""printf 'ignored/\n' > .gitignore; mkdir ignored; printf 't\n' > ignored/tracked
    git add .gitignore; git add -f ignored/tracked; git commit -qm t
    printf 'u\n' > ignored/user""",
    r"""printf 'edit\n' > ignored/tracked; git rm -q --cached ignored/tracked
    printf 'other\n' > other; git add other""",
)

# --- t0060-path-utils: names path normalisation would fold --------------------------------
case(
    "t0060-dot-names",
    r"""printf 'a\n' > '...'; printf 'b\n' > '..a'; printf 'c\n' > 'a..'; printf 'd\n' > '.a.'
    printf 'e\n' > ' lead'; printf 'f\n' > 'trail '
    mkdir -p '..../..b'; printf 'g\n' > '..../..b/c'
    mkdir '.hidden'; printf 'h\n' > '.hidden/.x'; git add -A; git commit -qm dots
    printf 'u\n' > '.....'; mkdir '. '; printf 'v\n' > '. /v'""",
    r"""printf 'X\n' > '...'; git mv '..a' '.a..'; rm 'a..'; rm -r '..../..b'
    printf 'n\n' > '..../n'
    rm -r '. '; printf 'n\n' > '..'"'"'x'"'"; mkdir -p '..d/...'; printf 'y\n' > '..d/.../y'
    git add -A""",
)

# --- t1006-cat-file / t1450-fsck: odd objects in HEAD -------------------------------------
case(
    "t1450-old-tree-mode-100664",
    r"""printf 'x\n' > f; b=$(git hash-object -w f); r=$(git rev-parse HEAD:README)
    t=$(printf '100664 blob %s\tf\n100644 blob %s\tREADME\n' $b $r | git mktree)
    c=$(git commit-tree -p HEAD -m odd $t); git reset -q --hard $c; printf 'w\n' > wip""",
    r"""printf 'edited\n' > f; git commit -qam edit; printf 'y\n' > g; git add g""",
)
case(
    "t1006-empty-blob-and-tree-commits",
    r""": > empty; git add empty; git commit -qm empty; git commit -q --allow-empty -m nothing
    : > empty-untracked""",
    r"""printf 'now\n' > empty; : > empty2; git add -A; git commit -qm full
    git commit -q --allow-empty -m again; rm empty-untracked""",
)
case(
    "t3040-gitlink-without-submodule",
    r"""c=$(git rev-parse HEAD); git update-index --add --cacheinfo 160000,$c,sub
    git commit -qm gitlink; printf 'w\n' > wip""",
    r"""git rm -q --cached sub; mkdir sub; printf 'f\n' > sub/f; git add sub
    git commit -qm file""",
)
case(
    "t3040-nested-repository-added-as-gitlink",
    r"""git init -q sub; (cd sub; printf 's\n' > s; git add s; git commit -qm s)
    printf 'x\n' > top""",
    r"""git add sub top; git commit -qm 'subproject'; (cd sub; printf 's2\n' > s
    git commit -qam s2)""",
    undo=False,
)

# --- t1510-repo-setup: run from below the top, core.worktree set --------------------------
case(
    "t1510-from-a-subfolder",
    r"""mkdir -p sub/deeper; printf 'x\n' > sub/x; git add -A; git commit -qm sub
    printf 'u\n' > sub/u""",
    r"""printf 'X\n' > sub/x; rm sub/u; printf 'n\n' > top-new; mkdir made sub/deeper/e
    git add -A""",
    cwd="sub/deeper",
)
case(
    "t1510-core-worktree-set-to-itself",
    r"""git config core.worktree "$PWD"; printf 'x\n' > x; git add x; git commit -qm x
    printf 'u\n' > u""",
    r"""printf 'X\n' > x; rm u; printf 'n\n' > n; git add -A""",
)

# --- t2013-checkout-submodule, t3600-rm, t7001-mv: submodules -----------------------------
SUB = r"""[ -d ../up ] || { git init -q ../up; (cd ../up; printf 's\n' > s
git add s; git commit -qm s; printf 's2\n' > s; git commit -qam s2); }
git -c protocol.file.allow=always submodule -q add ../up sub
git commit -qm sub; git checkout -qb nosub; git rm -q sub; git commit -qm nosub
git checkout -q main; git submodule -q update; printf 'w\n' > wip"""
case(
    "t2013-checkout-branch-without-the-submodule",
    SUB,
    r"""git checkout -q nosub; printf 'n\n' > n; git add n""",
    undo=False,
)
case(
    "t3600-rm-cached-submodule",
    SUB,
    r"""git rm -q --cached sub; git commit -qm 'drop sub'""",
    undo=False,
)
case(
    "t7001-mv-submodule-into-new-folders",
    SUB,
    r"""mkdir -p deep/er; git mv sub deep/er/sub; git commit -qm moved""",
)
case(
    "t2013-submodule-head-moved",
    SUB,
    r"""(cd sub; git checkout -q HEAD~1); git add sub; git commit -qm 'sub back'""",
    undo=False,
)

# --- t2200-add-update, t3700-add ----------------------------------------------------------
case(
    "t3700-add-chmod",
    r"""printf 'a\n' > a; printf '#!/bin/sh\n' > b; chmod +x b; git add a b; git commit -qm t
    git add --chmod=+x a; git update-index --chmod=-x b""",
    r"""git add --chmod=-x a; git update-index --chmod=+x b; chmod +x a; printf 'c\n' > c
    git add --chmod=+x c""",
)
case(
    "t3700-filemode-false",
    r"""git config core.filemode false; printf 'a\n' > a; printf 'b\n' > b; git add a b
    git commit -qm t; chmod +x a""",
    r"""chmod -x a; chmod +x b; printf 'x\n' >> b; printf 'n\n' > n; chmod +x n; git add -A""",
)
case(
    "t2200-add-u-and-ignore-removal",
    r"""mkdir -p dir1 dir2; for f in dir1/a dir1/b dir2/c top; do printf "$f\n" > $f; done
    printf '*.ign\n' > .gitignore; printf 'i\n' > t.ign; git add -A; git add -f t.ign
    git commit -qm t; rm dir1/a; printf 'm\n' > dir2/c; printf 'u\n' > untracked""",
    r"""git add -u dir1; printf 'n\n' > dir2/new; git add --ignore-removal dir2
    printf 'j\n' > t.ign; rm top; git add -u; printf 'k\n' > k.ign; git add -f k.ign""",
)

# --- t2405/t2406/t2407 worktrees ----------------------------------------------------------
WT = r"""wt=../$(basename "$PWD")-wt; git worktree add -q -b wtb "$wt"
printf 'x\n' > x; git add x; git commit -qm x"""
case(
    "t2407-branch-checked-out-elsewhere",
    WT,
    r"""git worktree lock --reason busy ../$(basename "$PWD")-wt
    git commit -q --allow-empty -m c; printf 'y\n' > x""",
)
case(
    "t2406-prune-then-delete-its-branch",
    WT
    + r"""
    rm -rf ../$(basename "$PWD")-wt""",
    r"""git worktree prune; git branch -q -D wtb; printf 'y\n' > x""",
)
case(
    "t2406-worktree-inside-the-worktree",
    r"""git worktree add -q -b inb inner; printf 'x\n' > x; git add x; git commit -qm x
    printf '/inner/\n' > .git/info/exclude""",
    r"""printf 'i\n' > inner/made-there; printf 'y\n' > x; git worktree lock inner""",
    undo=False,
)

# --- t4129-apply-samemode -----------------------------------------------------------------
PATCHES = r"""printf 'a\n' > file; printf 'd\n' > gone; git add -A; git commit -qm t
printf 'diff --git a/file b/file\nold mode 100644\nnew mode 100755\n' > ../$(basename "$PWD").mode
printf 'diff --git a/new b/new\nnew file mode 100755\nindex 0000000..e69de29\n' \
 > ../$(basename "$PWD").new"""
case(
    "t4129-apply-mode-change-with-index",
    PATCHES,
    r"""git apply --index ../$(basename "$PWD").mode; git apply ../$(basename "$PWD").new
    git rm -q gone""",
)
case(
    "t4129-apply-mode-change-cached",
    PATCHES,
    r"""git apply --cached ../$(basename "$PWD").mode
    git apply --cached ../$(basename "$PWD").new""",
)

# --- t6436-merge-overwrite ----------------------------------------------------------------
MERGE = r"""printf 'a\n' > a.c; git add a.c; git commit -qm c0; git checkout -qb c1
printf 'b\n' > b.c; mkdir sub; printf 's\n' > sub/f; git add -A; git commit -qm c1
git checkout -q main; printf 'x\n' > a.c; git add a.c; git commit -qm c2; git checkout -q c1~1
git checkout -q main; git branch -q ff c1"""
case(
    "t6436-merge-after-removing-untracked",
    MERGE
    + r"""
    printf 'b\n' > b.c; printf 'w\n' > wip""",
    r"""git merge -q c1 || true; rm b.c; git merge -q --no-edit c1""",
)
case(
    "t6436-merge-into-unborn",
    r"""printf 'a\n' > a; git add a; git commit -qm a; git checkout -q --orphan unborn
    git rm -rqf .; printf 'w\n' > wip""",
    r"""git merge -q main""",
)
case(
    "t6436-fast-forward-with-staged-changes",
    MERGE
    + r"""
    git checkout -q -b topic c1~1; printf 'staged\n' > st; git add st; printf 'u\n' > unst""",
    r"""git merge -q ff""",
)

# --- t7001-mv -----------------------------------------------------------------------------
case(
    "t7001-mv-folder-with-untracked-files",
    r"""mkdir -p path0/inner; printf 'c\n' > path0/COPYING; printf 'i\n' > path0/inner/i
    git add -A; git commit -qm t; printf 'u\n' > path0/untracked; mkdir path0/empty
    printf 'v\n' > path0/inner/untracked""",
    r"""git mv path0 path2""",
)
case(
    "t7001-mv-force-and-kinds",
    r"""printf 'a\n' > a; printf 'b\n' > b; ln -s a link; printf 'c\n' > c; git add -A
    git commit -qm t; printf 'u\n' > untracked""",
    r"""git mv -f a b; git mv -f link c; git mv -k missing nowhere; git mv -k untracked x
    git mv README readme""",
)
# --- t7060/t7064 status porcelain v2 ------------------------------------------------------
case(
    "t7064-typechange-and-rename-staged",
    r"""printf 'f\n' > f; printf 'r\n%.0s' $(seq 1 20) > r; git add -A; git commit -qm t
    rm f; ln -s README f; git add f; git mv r r2; printf 'n\n' > ita; git add -N ita""",
    r"""rm f; printf 'file again\n' > f; git add f; git mv r2 r3; git mv ita ita2""",
)

# --- t7201-co -----------------------------------------------------------------------------
CO = r"""printf 'one\ntwo\nthree\n' > same; printf 'a\nb\nc\nd\ne\nf\n' > two
git add -A; git commit -qm A; git checkout -qb side; printf 'a\nb\nc\nd\ne\nF\n' > two
mkdir dir; printf 'd\n' > dir/d; git add -A; git commit -qm side; git checkout -q main"""
case(
    "t7201-checkout-m-with-dirty-tree",
    CO
    + r"""
    printf 'A\nb\nc\nd\ne\nf\n' > two; printf 'u\n' > untracked""",
    r"""git checkout -q -m side""",
)
case(
    "t7201-checkout-m-conflict",
    CO
    + r"""
    printf 'a\nb\nc\nd\ne\nG\n' > two""",
    r"""git checkout -q -m side""",
    halfway=True,  # unmerged entries, no merge named
    flavours=("shadow", "commits", "begin"),
)
case(
    "t7201-checkout-paths-from-another-branch",
    CO
    + r"""
    printf 'local\n' > same""",
    r"""git checkout side -- dir two; git checkout -q -B other side~1; git checkout --detach""",
)
case(
    "t7201-head-a-symbolic-link",
    CO
    + r"""
    ln -sf refs/heads/main .git/HEAD""",
    r"""git checkout -q --detach side""",
    flavours=("shadow", "effect", "begin"),
)
case(
    "t7201-failing-checkout-b",
    CO
    + r"""
    printf 'A\nb\nc\nd\ne\nf\n' > two""",
    r"""git checkout -q -b new side || true; git checkout -q -b new2 side~1; printf 'q\n' > q""",
)

# --- t7502-commit-porcelain ---------------------------------------------------------------
case(
    "t7502-amend",
    r"""printf 'a\n' > a; git add a; git commit -qm a; printf 'b\n' > b; git add b""",
    r"""git commit -q --amend -m amended; printf 'c\n' > a""",
)
case(
    "t7502-commit-only-paths-and-ita",
    r"""printf 'a\n' > a; printf 'b\n' > b; git add a b; git commit -qm t; printf 'A\n' > a
    printf 'B\n' > b; git add b; printf 'i\n' > ita; git add -N ita""",
    r"""git commit -q --only a -m only-a; printf 'BB\n' > b; git commit -qam all""",
)

# --- t3200-branch, t1400-update-ref -------------------------------------------------------
case(
    "t3200-rename-the-current-branch",
    r"""git branch -q other; printf 'w\n' > wip""",
    r"""git branch -m main renamed; git branch -c renamed copy; git branch -q 'a/b/c'
    git branch -q 'x.y@z'; git branch -q 'ü-name'; git branch -q -D other
    git commit -q --allow-empty -m on-renamed""",
)
case(
    "t3200-branch-named-like-head",
    r"""printf 'w\n' > wip""",
    r"""git update-ref refs/heads/HEAD HEAD; git branch -q -- -dash HEAD
    git commit -q --allow-empty -m more""",
)
case(
    "t1400-branch-that-is-a-symbolic-ref",
    r"""git symbolic-ref refs/heads/alias refs/heads/main; printf 'w\n' > wip""",
    r"""git commit -q --allow-empty -m one; git commit -q --allow-empty -m two
    git update-ref refs/heads/alias HEAD~1""",
)
case(
    "t1400-head-on-a-symbolic-ref",
    r"""git symbolic-ref refs/heads/alias refs/heads/main; git symbolic-ref HEAD refs/heads/alias
    printf 'w\n' > wip""",
    r"""printf 'x\n' > f; git add f; git commit -qm f; printf 'y\n' > g""",
)
case(
    "t1400-packed-refs",
    r"""git branch -q p1; git branch -q p2; git commit -q --allow-empty -m two; git branch -q p3
    git pack-refs --all; git commit -q --allow-empty -m three; printf 'w\n' > wip""",
    r"""git branch -q -D p1; git branch -q -f p2 HEAD; git pack-refs --all; git branch -q loose
    git update-ref -d refs/heads/p3""",
)

# --- t5304-prune --------------------------------------------------------------------------
case(
    "t5304-gc-prune-now",
    r"""printf 'a\n' > a; git add a; git commit -qm a; printf 'staged only\n' > s; git add s
    printf 'worktree\n' > s; printf 'u\n' > untracked""",
    r"""git add -A; git commit -qm c; git reset -q --hard HEAD~1
    git reflog expire --expire=now --all; git gc -q --prune=now""",
)

# --- t0050-filesystem: core.ignoreCase on a filesystem that tells cases apart -------------
case(
    "t0050-ignorecase-rename",
    r"""git config core.ignorecase true; printf 'c\n' > camel; git add camel; git commit -qm c
    printf 'u\n' > Untracked""",
    r"""mv camel CamelCase; git add -A; mv Untracked untracked; printf 'r\n' > readme""",
)


# --- settings git's tests turn on (t4013-diff-various, t7502-commit-porcelain, t6402-merge,
# t5304-prune's gc.auto): the operation's git and ours both read them ------------------------
ORDINARY = r"""mkdir -p src; printf 'a\nb\nc\nd\ne\nf\ng\n' > src/a; printf 'x\n' > x
printf 'y\n' > 'ünï cödé'; git add -A; git commit -qm base; printf 'a\nb\nC\nd\ne\nf\ng\n' > src/a
printf 'u\n' > untracked; printf 's\n' > staged; git add staged"""
ORDINARY_OP = r"""printf 'a\nb\nC\nd\ne\nf\nG\n' > src/a; rm x; printf 'z\n' > 'ünï cödé'
    git mv staged moved
printf 'n\n' > src/new; chmod +x src/new; git add -A; git commit -qm op; printf 'w\n' > after"""
case(
    "t4013-diff-settings",
    ORDINARY
    + r"""
    git config diff.noprefix true; git config diff.mnemonicPrefix true; git config color.ui always
    git config diff.relative true; git config diff.external false; git config diff.renames copies
    git config core.quotePath false; git config diff.context 0; git config diff.algorithm patience
    git config diff.suppressBlankEmpty true; git config core.abbrev 5
    git config diff.colorMoved zebra
    git config status.relativePaths true; git config status.showUntrackedFiles no
    git config status.short true; git config status.branch true; git config log.showSignature true
    git config diff.ignoreSubmodules all; git config core.pager false""",
    ORDINARY_OP,
)
case(
    "t7502-commit-settings",
    ORDINARY
    + r"""
    printf '#!/bin/sh\ncat >/dev/null\necho "[GNUPG:] SIG_CREATED " >&2\necho SIGNED\n' > ../gpg
    chmod +x ../gpg; git config gpg.program "$PWD/../gpg"  # signs: our commits are signed too
    git config commit.gpgSign true; git config commit.cleanup verbatim
    printf 'template\n' > ../template; git config commit.template ../template
    git config core.commentChar ';'; git config i18n.commitEncoding ISO-8859-1
    git config user.useConfigOnly true; git config commit.verbose true
    git config commit.status false""",
    ORDINARY_OP.replace("git commit -qm op", "git commit --no-gpg-sign -qm op"),
)
case(
    "t6402-merge-settings",
    ORDINARY
    + r"""
    git config merge.conflictStyle zdiff3; git config merge.renormalize true
    git config merge.ff false
    git config merge.renames false; git config rerere.enabled true
    git config rerere.autoUpdate true
    git config merge.directoryRenames true; git config pull.rebase true""",
    ORDINARY_OP,
)
case(
    "t5304-auto-gc-prunes-at-once",
    ORDINARY
    + r"""
    git config gc.auto 1; git config gc.autoPackLimit 1; git config gc.pruneExpire now
    git config gc.autoDetach false; git config gc.reflogExpire now
    git config gc.reflogExpireUnreachable now""",
    ORDINARY_OP + "; for i in 1 2 3; do git commit -q --allow-empty -m e$i; done",
)

# --- second batch: links in leading paths (t6436, t3600, t7001), a .gitignore made a link
# (t0008), odd tree entries (t1450), untracked files git status is told not to show (t7508),
# history rewritten (t7502 --fixup with t3415's autosquash) --------------------------------------
case(
    "t6436-untracked-link-in-leading-path",
    MERGE
    + r"""
    ln -s /nonexistent sub; printf 'w\n' > wip""",
    r"""git merge -q ff || true; rm sub; git merge -q ff""",
)
case(
    "t3600-rm-when-the-folder-became-a-dangling-link",
    r"""mkdir -p d e; printf 'f\n' > d/f; printf 'g\n' > e/g; printf 'h\n' > h; git add -A
    git commit -qm t; rm -r d; ln -s nowhere d; rm e/g; mkdir e/g; printf 'i\n' > e/g/inner""",
    r"""git rm -q --cached d/f; git rm -q --cached e/g; rm h; mkdir h; printf 'x\n' > h/x""",
)
case(
    "t7001-mv-through-a-linked-leading-path",
    r"""mkdir -p real; printf 'f\n' > real/f; printf 'g\n' > g; git add -A; git commit -qm t
    ln -s real link""",
    r"""git mv link/f here 2>/dev/null || true; git mv -f g link/g 2>/dev/null || true
    git mv real/f real/f2; mv link elsewhere""",
)
case(
    "t0008-gitignore-made-a-link",
    r"""printf '*.o\n' > .gitignore; printf '*.tmp\n' > rules; git add -A; git commit -qm t
    printf 'o\n' > a.o""",
    r"""rm .gitignore; ln -s rules .gitignore; printf 't\n' > b.tmp; printf 'p\n' > c.o
    git add -A""",
)
case(
    "t1450-zero-padded-mode-in-head",
    r"""printf 'x\n' > f; b=$(git hash-object -w f); r=$(git rev-parse HEAD:README)
    t=$(python3 -c 'import sys; r, b = map(bytes.fromhex, sys.argv[1:]); sys.stdout.buffer.write(
    b"100644 README\0" + r + b"0100644 f\0" + b)' $r $b |
    git hash-object -t tree -w --literally --stdin); git ls-tree $t | grep -q "blob $b"
    c=$(git commit-tree -p HEAD -m padded $t); git reset -q --hard $c; printf 'w\n' > wip""",
    r"""printf 'edited\n' > f; git commit -qam edit; printf 'y\n' > g; git add g""",
)
case(
    "t7508-untracked-files-not-shown",
    r"""git config status.showUntrackedFiles no; git config core.untrackedCache true
    mkdir -p u/v; printf 'u\n' > u/v/file; printf 't\n' > top-untracked""",
    r"""rm -r u; printf 'changed\n' > top-untracked; printf 'n\n' > new-untracked""",
)
case(
    "t7502-fixup-and-autosquash",
    r"""printf 'a\n' > a; git add a; git commit -qm a; printf 'b\n' > b; git add b; git commit -qm b
    printf 'w\n' > wip""",
    r"""printf 'A\n' > a; git add a; git commit -q --fixup HEAD~1
    git stash -q -u; GIT_SEQUENCE_EDITOR=: git rebase -q -i --autosquash HEAD~2
    git stash pop -q""",
)
case(
    "t3200-branch-M-over-an-existing-branch",
    r"""git branch -q other; git commit -q --allow-empty -m two; git checkout -qb topic
    git commit -q --allow-empty -m three; git checkout -q main; printf 'w\n' > wip""",
    r"""git branch -M topic other; git branch -m main topic; git commit -q --allow-empty -m four""",
)


# t3200-branch: git takes any bytes but a few in a branch's name, not only UTF-8 (`git branch
# $'lat\351n'`). The rollback of an operation that made, moved or deleted one stopped on an
# internal error (UnicodeEncodeError), and left the operation interrupted: `recover` too.
case(
    "t3200-branch-names-not-utf8",
    r"""git branch "$(printf 'lat\351n')"; git branch "$(printf 'mo\351v')"
    git commit -q --allow-empty -m two; printf 'w\n' > wip""",
    r"""git branch -D "$(printf 'lat\351n')"; git branch "$(printf 'new\351')"
    git branch -f "$(printf 'mo\351v')" HEAD; git commit -q --allow-empty -m c
    git checkout -q -b "$(printf 'head\351')"; printf 'x\n' > f""",
)


# --- third batch: names that differ only in case with core.ignoreCase (t0050), index
# extensions (t1700's end-of-index and offset table, the untracked cache), objects borrowed
# from another repository (t5304 with alternates) -------------------------------------------
case(
    "t0050-names-differing-in-case-with-ignorecase",
    r"""printf 'l\n' > readme; printf 'u\n' > Readme; mkdir -p dir Dir; printf 'd\n' > dir/f
    printf 'D\n' > Dir/f; git add -A; git commit -qm cases; git config core.ignorecase true
    printf 'x\n' > README""",
    # No `git add -A` here: with core.ignoreCase on a filesystem that is not, which of
    # `readme` and `Readme` git itself stages varies from run to run (the twin too).
    r"""printf 'L\n' > readme; rm Readme; rm -r Dir; printf 'n\n' > dir/F
    printf 'X\n' > README""",
)
case(
    "t1700-index-extensions",
    r"""git config index.recordEndOfIndexEntries true; git config index.recordOffsetTable true
    git config index.threads 2; git config core.untrackedCache true
    for i in $(seq 1 30); do printf "$i\n" > f$i; done; git add -A; git commit -qm many
    git update-index --untracked-cache; git status -s > /dev/null; printf 's\n' > f3; git add f3
    printf 'u\n' > untracked""",
    r"""printf 'o\n' > f1; git add f1; git rm -q --cached f2; printf 'n\n' > new; git add new
    rm untracked; git status -s > /dev/null""",
)
case(
    "t5304-objects-from-an-alternate",
    r"""git init -q ../alt; (cd ../alt; printf 'a\n' > a; git add a; git commit -qm alt
    git branch -q -m alt) || true
    echo "$(cd ../alt && pwd)/.git/objects" > .git/objects/info/alternates
    git update-ref refs/heads/alt "$(git -C ../alt rev-parse alt)"; printf 'w\n' > wip""",
    r"""git checkout -q alt -- a; git commit -qm 'from alt'; git reset -q --hard alt
    git gc -q --prune=now""",
)

# --- case: branches whose names differ in case (t3200), `git mv` and `add -u` of a case-only
# rename under core.ignoreCase on a filesystem that tells cases apart (t0050, t7001) ----------
case(
    "t3200-branches-differing-in-case",
    r"""git branch -q Main; git branch -q MAIN; git pack-refs --all; git branch -q mAin
    git commit -q --allow-empty -m two; printf 'w\n' > wip""",
    r"""git branch -q -D Main; git branch -q -f MAIN HEAD; git branch -q -m mAin maiN
    git commit -q --allow-empty -m three""",
)
case(
    "t0050-case-only-rename-under-ignorecase",
    r"""git config core.ignorecase true; printf 'c\n' > camel; printf 'd\n' > Dromedary
    mkdir sub; printf 's\n' > sub/x; git add -A; git commit -qm c; printf 'u\n' > Untracked""",
    r"""git mv camel Camel; mv Dromedary dromedary; git add -u; git mv sub SUB
    printf 'n\n' > untracked""",
)

# The families an agent turn runs over too.
TURNS = (
    "t0008-global-excludes-and-info-exclude",
    "t1400-branch-that-is-a-symbolic-ref",
    "t3200-branch-names-not-utf8",
    "t7001-mv-folder-with-untracked-files",
    "t3700-add-chmod",
)


def _params() -> list[object]:
    return [
        pytest.param(c, flavour, id=f"{c.name}-{flavour}")
        for c in CASES
        for flavour in ((*c.flavours, "turn") if c.name in TURNS else c.flavours)
    ]


@pytest.mark.parametrize(("case", "flavour"), _params())
def test_git_case(tmp_path: Path, case: Case, flavour: str) -> None:
    RUN[flavour](tmp_path, case)


# t1400-update-ref: symbolic refs among the branches. An operation that makes one (`git
# symbolic-ref refs/heads/s refs/heads/b`) had its rollback delete it through git's deref, which
# deleted `b`; one that moves a branch through one had the rollback move the branch back twice
# (the second time refused: "branch main was moved by someone else", exit 3).
SYMREF_OPS = {
    "made": "git symbolic-ref refs/heads/s refs/heads/b; git commit -q --allow-empty -m c",
    "made-and-moved-through": "git symbolic-ref refs/heads/s refs/heads/b\n"
    "git update-ref refs/heads/s HEAD; git commit -q --allow-empty -m c",
    "moved-through": "git commit -q --allow-empty -m c; git commit -q --allow-empty -m d\n"
    "git update-ref refs/heads/alias HEAD~1",
    "deleted-its-target": "git branch -q -D b; git commit -q --allow-empty -m c",
}


@pytest.mark.parametrize("history", ["shadow", "commits"])
@pytest.mark.parametrize("op", list(SYMREF_OPS))
def test_symbolic_branch_refs(tmp_path: Path, op: str, history: str) -> None:
    """Every branch comes back, a symbolic one still names its branch; one the operation made
    stays (README: a symbolic ref moves with the branch it names)."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    base.sh(repo, "git branch -q b; git symbolic-ref refs/heads/alias refs/heads/main")
    base.sh(repo, "git commit -q --allow-empty -m two; printf 'w\\n' > wip")
    before = state(repo)
    code = 1 if history == "shadow" else 0
    tail = "\nexit 1" if history == "shadow" else ""
    res = repo.atomic("run", "--history", history, "--", "bash", "-c", SYMREF_OPS[op] + tail)
    assert res.returncode == code, res.stderr
    if history == "commits":
        base.atomic(repo, "rollback")
    after = state(repo)
    made = ("refs/heads/s", "ref: refs/heads/b")
    if made in after["symbolic_refs"]:  # type: ignore[operator]
        after["symbolic_refs"] = tuple(r for r in after["symbolic_refs"] if r != made)  # type: ignore[attr-defined]
        after["branches"] = tuple(b for b in after["branches"] if not b.startswith("refs/heads/s "))  # type: ignore[attr-defined]
    base.same(before, after, "after the rollback")


# t0008-ignores: a file the operation made and added with `git add -f` although a rule ignores
# its name stayed after the rollback wherever the operation changed a `.gitignore` too: the
# restore took it for an ignored file the rescue had held, not one the operation's state tracked.
RULE_SOURCES = {
    "global-excludes": 'printf "*.swp\\n" > "$HOME/gx"; git config core.excludesFile "$HOME/gx"',
    "gitignore": "printf '*.swp\\n' > .gitignore; git add .gitignore; git commit -qm i",
    "info-exclude": "printf '*.swp\\n' >> .git/info/exclude",
    "nested-gitignore": "mkdir d; printf '*.swp\\n' > d/.gitignore; git add d; git commit -qm i",
}
RULE_CHANGES = {
    "new-gitignore": "printf 'other/\\n' > new/.gitignore",
    "edited-gitignore": "printf 'other/\\n' >> d/.gitignore",
}


@pytest.mark.parametrize("change", list(RULE_CHANGES))
@pytest.mark.parametrize("source", list(RULE_SOURCES))
def test_force_added_ignored_file_goes(tmp_path: Path, source: str, change: str) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    base.sh(repo, "mkdir -p d new; printf 'k\\n' > d/keep; git add d; git commit -qm d")
    base.sh(repo, RULE_SOURCES[source] + "; printf 'mine\\n' > d/mine.swp")
    before = state(repo)
    op = "printf 'x\\n' > b.swp; printf 'y\\n' > d/c.swp; git add -f b.swp d/c.swp\n"
    base.atomic(repo, "run", "--", "bash", "-c", op + RULE_CHANGES[change] + "\nexit 1", code=1)
    base.same(before, state(repo), "after the failed run")
    base.atomic(repo, "undo")
    assert (repo.path / "b.swp").read_bytes() == b"x\n"
    base.atomic(repo, "undo")
    base.same(before, state(repo), "after the second undo")


@pytest.mark.parametrize(
    "how",
    [
        ["emergency", "--to", "HEAD~1"],
        ["emergency"],
        ["run", "--isolate", "--", "bash", "-c", "printf i > i; git add i; git commit -qm i"],
        ["run", "--history", "commits", "--", "bash", "-c", "printf c > c"],
    ],
    ids=["emergency-to", "emergency", "isolate", "commits"],
)
def test_head_on_a_symbolic_branch_ref(tmp_path: Path, how: list[str]) -> None:
    """HEAD on `refs/heads/alias`, which names `refs/heads/main`: what moves HEAD's branch moves
    main, and `undo` (or a rollback) puts it back. A state made from a commit (`emergency
    --to`) took the alias for a branch of its own: "branch alias was moved by someone else",
    exit 3, the files at the commit and main where it was."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    first = repo.git("rev-parse", "HEAD").strip()
    base.sh(repo, "git commit -q --allow-empty -m two")
    base.sh(repo, "git symbolic-ref refs/heads/alias refs/heads/main")
    base.sh(repo, "git symbolic-ref HEAD refs/heads/alias; printf 'w\\n' > wip")
    base.sh(repo, "printf 'x\\n' >> README")
    before = state(repo)
    base.atomic(repo, *how)
    moved = repo.git("rev-parse", "main").strip()
    if how[0] == "emergency":
        assert moved == (first if len(how) > 1 else before["head_commit"])
        assert not (repo.path / "wip").exists()
        base.atomic(repo, "undo")
    else:
        assert moved != before["head_commit"]
        assert (repo.path / ".git" / "refs" / "heads" / "alias").read_text() == (
            "ref: refs/heads/main\n"
        )
        base.atomic(repo, "rollback")
    base.same(before, state(repo), "back")


def _linked_state(repo: GitRepo) -> dict[str, object]:
    """A linked worktree's state (its `.git` is a file): files, index, HEAD, branches."""
    files, empty = base._walk(repo.path)
    return {
        "files": files,
        "empty_folders": empty,
        "index": oracle.index_entries(repo.env, repo.path),
        "head": repo.git("symbolic-ref", "-q", "HEAD", check=False),
        "head_commit": repo.git("rev-parse", "HEAD"),
        "branches": repo.git("for-each-ref", "refs/heads/"),
    }


@pytest.mark.parametrize("history", ["shadow", "commits"])
def test_linked_worktree_named_not_utf8(tmp_path: Path, history: str) -> None:
    """t2400-worktree-add with a folder whose name is not UTF-8 (its worktree id is that name):
    every command there stopped on an internal error (UnicodeEncodeError: the journal's text).
    A failed run is exact, a kept one rolls back exactly, undo brings it back."""
    main = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    where = os.fsdecode(os.fsencode(str(tmp_path)) + b"/wt\xe9")
    main.git("worktree", "add", "-q", "-b", "wtb", where)
    repo = GitRepo(Path(where), main.env)
    base.sh(repo, "printf 'u\\n' > untracked; printf 's\\n' > staged; git add staged")
    before = _linked_state(repo)
    op = "printf 'x\\n' >> README; rm untracked; printf 'n\\n' > new; git add -A; git commit -qm c"
    base.atomic(repo, "run", "--history", history, "--", "bash", "-c", op + "\nexit 1", code=1)
    assert _linked_state(repo) == before
    base.atomic(repo, "undo")
    assert (repo.path / "new").read_bytes() == b"n\n"
    base.atomic(repo, "undo")  # the rollback again
    assert _linked_state(repo) == before
    base.atomic(repo, "run", "--history", history, "--", "bash", "-c", op)
    base.atomic(repo, "rollback")
    assert _linked_state(repo) == before


@pytest.mark.parametrize("how", ["run", "isolate", "repository-at-such-a-path"])
def test_other_worktree_at_a_path_not_utf8(tmp_path: Path, how: str) -> None:
    """Another worktree of the repository at a path that is not UTF-8 (t2400): the rollback of a
    failed run stopped on an internal error (UnicodeDecodeError reading git's `gitdir` file),
    the operation's files left and the operation interrupted; `run --isolate` too, also where
    the repository itself is at such a path (its private worktree's `gitdir` names it)."""
    top = os.fsdecode(os.fsencode(str(tmp_path)) + b"/r\xe9")
    repo = GitRepo.create(
        Path(top) if how.startswith("repo") else tmp_path / "repo", tmp_path / "h"
    )
    repo.git(
        "worktree", "add", "-q", "-b", "wtb", os.fsdecode(os.fsencode(str(tmp_path)) + b"/w\xe9")
    )
    base.sh(repo, "printf 'u\\n' > untracked; printf 's\\n' > staged; git add staged")
    before = state(repo)
    op = "printf 'x\\n' >> README; rm untracked; printf 'n\\n' > new; git add -A"
    if how == "run":
        base.atomic(repo, "run", "--", "bash", "-c", op + "\nexit 1", code=1)
    else:
        base.atomic(repo, "run", "--isolate", "--", "bash", "-c", op + "\nexit 1", code=1)
    base.same(before, state(repo), "after the failed run")
    if how != "run":
        base.atomic(repo, "run", "--isolate", "--", "bash", "-c", op)
        assert (repo.path / "new").read_bytes() == b"n\n"


@pytest.mark.parametrize("history", ["shadow", "commits"])
def test_command_line_and_folder_not_utf8(tmp_path: Path, history: str) -> None:
    """t3902-quoted's names on the command line and in the repository's path: a command whose
    arguments are not UTF-8 (`touch $'f\\351'`) was rolled back on an internal error once it
    had run (its checkpoint's message, the quoted command, could not go in the journal), exit 3;
    so was an operation of such a name (`-n`, `begin`), and a gate in a repository at such a
    path (its log's path). Now they are kept, the journal holding `\\xe9` for the byte."""
    top = os.fsdecode(os.fsencode(str(tmp_path)) + b"/r\xe9")
    repo = GitRepo.create(Path(top), tmp_path / "home")
    name, made = os.fsdecode(b"n\xe9"), os.fsdecode(b"f\xe9")
    base.atomic(repo, "run", "--history", history, "-n", name, "--", "touch", made)
    assert (repo.path / made).exists()
    assert "n\\xe9" in repo.atomic("log", "--name", name).stdout
    gate = "test -e " + made
    base.atomic(repo, "run", "--history", history, "-g", gate, "--", "bash", "-c", "rm f*", code=1)
    assert (repo.path / made).exists()
    base.atomic(repo, "begin", name, "--history", history)
    (repo.path / made).unlink()
    base.atomic(repo, "abort")
    assert (repo.path / made).exists()
    base.atomic(
        repo,
        "rollback",
        "--op",
        json.loads(repo.atomic("log", "--json").stdout)["operations"][-1]["op_id"],
    )
    assert not (repo.path / made).exists()


# t3200-branch: `git branch -D` removes the branch's own configuration (its upstream, its
# description) and `git branch -m` moves it to the new name. The rollback made the branches
# again without it (`git pull`: "There is no tracking information"), and left the renamed
# one's behind for a branch that was not there.
BRANCH_CONFIG_OP = "git branch -q -D topic; git branch -m keep kept; git branch -q made"


def _branch_config(repo: GitRepo) -> list[str]:
    listed = repo.git("config", "--local", "--get-regexp", r"^branch\.", check=False)
    return sorted(listed.splitlines())


@pytest.mark.parametrize("how", ["failed-run", "kept-run", "abort", "rollback-op"])
def test_a_branch_made_again_gets_its_configuration_back(tmp_path: Path, how: str) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    base.sh(repo, "git branch -q topic; git branch -q --set-upstream-to=main topic")
    base.sh(repo, "git config branch.topic.description 'my notes'; git branch -q keep")
    base.sh(repo, "git config branch.keep.rebase true; git config branch.keep.pushRemote x")
    before = _branch_config(repo)
    assert len(before) == 5, before
    if how == "rollback-op":  # taken back as an effect, after a file of the user's
        op = ["--", "bash", "-c", BRANCH_CONFIG_OP]
        out = _atomic(repo, Case("b", "", ""), "run", "--json", *op)
        base.sh(repo, LATER)
        _atomic(repo, Case("b", "", ""), "rollback", "--op", json.loads(out)["op_id"])
    elif how == "abort":
        _atomic(repo, Case("b", "", ""), "begin", "b")
        base.sh(repo, BRANCH_CONFIG_OP + "; git config branch.made.rebase true")
        _atomic(repo, Case("b", "", ""), "abort")
    else:
        tail = "; exit 1" if how == "failed-run" else ""
        res = repo.atomic("run", "--", "bash", "-c", BRANCH_CONFIG_OP + tail)
        assert res.returncode == (1 if tail else 0), res.stderr
        after_op = _branch_config(repo)
        if not tail:
            _atomic(repo, Case("b", "", ""), "rollback")
    assert _branch_config(repo) == before
    assert "[main]" in repo.git("branch", "-vv").split("topic", 1)[1].splitlines()[0]
    if how == "kept-run":  # undo takes them where the operation had them
        _atomic(repo, Case("b", "", ""), "undo")
        assert _branch_config(repo) == after_op
