"""A fourth batch of scenarios from git's own test suite, run the five ways of
tests/test_git_cases_more.py (a failed run, a kept one in commits mode rolled back and undone,
an effect taken back under the user's later files, `begin` ... `abort` and `rollback --op`):
checkout and switch (t2017 orphan, t2060 switch, t2070 restore, t2004 checkout-index), worktrees
(t2400), the index by plumbing (t2107 update-index, t1000/t1001 read-tree, t4108 apply --3way),
sequencers stopped with commits made (t3510 cherry-pick, t3509 revert, t3404 rebase -i), `am`
(t4150), notes (t3301), fetch (t5510), repack (t7700), stash (t3903), reset (t7102/t7110),
`merge --squash` (t7600) and absorbgitdirs (t7412).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import test_git_cases_more as more

from testing.gitrepo import GitRepo

Case = more.Case
CASES: list[Case] = []
FLAVOURS = Case("", "", "").flavours
HALF = ("shadow", "commits", "begin")


def case(name: str, setup: str, op: str, **kw: object) -> None:
    CASES.append(Case(name, setup, op, **kw))  # type: ignore[arg-type]


# Two branches that change `c` differently, `side` two commits ahead of the fork, the user's
# work in progress beside them.
FORK = r"""printf 'base\n' > c; printf 'o\n' > other; git add -A; git commit -qm base
git checkout -qb side; printf 'one\n' > s1; git add s1; git commit -qm s1
printf 'side\n' > c; git commit -qam side; printf 'three\n' > s3; git add s3; git commit -qm s3
git checkout -q main; printf 'main\n' > c; git commit -qam main
printf 'wip\n' > untracked; printf 'staged\n' > staged; git add staged"""
# The same with nothing staged: git refuses a merge, `am` or `read-tree -m` over a dirty index.
CLEAN = FORK.replace("printf 'staged\\n' > staged; git add staged", "")

# --- t0003-attributes, t0020-crlf: the repository's own attributes, `.git/info/attributes`.
# An operation that wrote one and was rolled back left it: `git status` then listed a file the
# rollback had put back byte for byte as modified (its CRLF read through the operation's
# `eol=lf`), and every later checkout and diff went by the operation's rules.
ATTRIBUTES = r"""printf 'a\r\nb\r\n' > crlf.txt; printf 'x\n' > lf.txt; printf '\0b' > data.bin
git add -A; git commit -qm files; printf 'w\n' > wip"""
case(
    "t0003-info-attributes-by-the-operation",
    ATTRIBUTES,
    r"""printf '*.txt text eol=lf\n*.bin -diff\n' > .git/info/attributes
    printf 'op\r\n' > crlf.txt; printf 'op\n' > lf.txt; git add lf.txt""",
    flavours=(*FLAVOURS, "turn"),  # an agent turn's take-back too
)
case(
    "t0003-info-attributes-changed",
    ATTRIBUTES
    + r"""
    printf '*.bin binary\n' > .git/info/attributes""",
    r"""printf '*.txt text eol=lf\n' >> .git/info/attributes; printf 'op\r\n' > crlf.txt""",
)
case(
    "t0003-info-attributes-removed",
    ATTRIBUTES
    + r"""
    printf '*.txt -text\n' > .git/info/attributes""",
    r"""rm .git/info/attributes; printf 'op\n' > lf.txt""",
)

# --- t2017-checkout-orphan, t2060-switch ----------------------------------------------------
case(
    "t2017-checkout-orphan-and-commit",
    FORK,
    r"""git checkout -q --orphan fresh; git rm -q --cached other; git commit -qm fresh
    printf 'x\n' > after-orphan""",
)
case(
    "t2060-switch-detach-and-create",
    FORK,
    r"""git switch -q --detach side~1; printf 'd\n' > d; git add d; git commit -qm detached
    git switch -q -c made; git switch -q -C side main""",
)
case(
    "t2060-switch-orphan",
    FORK,
    r"""git switch -q --orphan lonely; printf 'l\n' > l; git add l; git commit -qm lonely""",
)

# --- t2070-restore ------------------------------------------------------------------------
RESTORE = r"""mkdir -p dir; printf 'a\n' > dir/a; printf 'b\n' > dir/b; printf 'f\n' > f
git add -A; git commit -qm one; git rm -q dir/b; printf 'n\n' > dir/n; git add dir/n
printf 'A\n' > dir/a; git commit -qm two; printf 'wip\n' > f; printf 'u\n' > dir/untracked"""
case(
    "t2070-restore-overlay-and-not",
    RESTORE,
    r"""git restore --overlay --source=HEAD~1 --staged --worktree dir
    git restore --source=HEAD~1 -- f; git restore --no-overlay --source=HEAD~1 -W dir/n""",
)
case(
    "t2070-restore-staged-only",
    RESTORE,
    r"""git add f; git restore --staged --source=HEAD~1 dir; git restore -S f""",
)

# --- t2004-checkout-cache-temp, t2003-checkout-cache-mkdir ---------------------------------
case(
    "t2004-checkout-index-prefix",
    RESTORE,
    r"""git checkout-index -a --prefix=out/; git checkout-index --prefix=pre- -- f dir/a
    git checkout-index -f -u -- f; mkdir -p made/empty
    git checkout-index -a -f --prefix=dir/nested/""",
)

# --- t2107-update-index-basic, t3000-ls-files-others: the index by plumbing ----------------
case(
    "t2107-update-index-cacheinfo-and-force-remove",
    FORK,
    r"""b=$(git rev-parse side:s1); git update-index --add --cacheinfo 100755,$b,exec/s1
    git update-index --add --cacheinfo 120000,$b,link-not-on-disk
    git update-index --force-remove other; git update-index --add --cacheinfo 100644,$b,c
    git update-index --really-refresh >/dev/null || true""",
)
case(
    "t2107-index-info-stages",
    FORK,
    r"""b1=$(git rev-parse main~1:c); b2=$(git rev-parse main:c); b3=$(git rev-parse side:c)
    { printf '0 %s\tc\n' 0000000000000000000000000000000000000000
      printf '100644 %s 1\tc\n100644 %s 2\tc\n100644 %s 3\tc\n' $b1 $b2 $b3
    } | git update-index --index-info""",
    halfway=True,
    flavours=HALF,
)

# --- t1000-read-tree-m-3way, t1004-read-tree-m-u-wf -----------------------------------------
case(
    "t1000-read-tree-m-u-3way-clean",
    CLEAN.replace("printf 'side\\n' > c; git commit -qam side", "git commit -q --allow-empty -m e"),
    r"""git read-tree -m -u main~1 main side""",
)
case(
    "t1000-read-tree-m-u-3way-conflict",
    CLEAN,
    r"""git read-tree -m -u main~1 main side""",
    halfway=True,
    flavours=HALF,
)

# --- t4108-apply-threeway ------------------------------------------------------------------
case(
    "t4108-apply-index-3way-conflict",
    CLEAN
    + r"""
    git diff main~1 side -- c > ../$(basename "$PWD").patch""",
    r"""git apply --index --3way ../$(basename "$PWD").patch""",
    halfway=True,
    flavours=HALF,
)
case(
    "t4108-apply-3way-clean",
    FORK
    + r"""
    git diff main~1 side -- s1 s3 > ../$(basename "$PWD").patch""",
    r"""git apply --3way ../$(basename "$PWD").patch""",
)

# --- t3510-cherry-pick-sequence, t3509-cherry-pick-merge-df, t3404-rebase-interactive -----
case(
    "t3510-cherry-pick-range-stops-after-a-commit",
    CLEAN,
    r"""git cherry-pick main..side""",
    halfway=True,
    flavours=HALF,
)
case(
    "t3510-revert-range-stops",
    CLEAN
    + r"""
    git merge -q -X theirs --no-edit side; printf 'again\n' > c; git commit -qam again""",
    r"""git revert --no-edit HEAD~1 HEAD~2""",
    halfway=True,
    flavours=HALF,
)
case(
    "t3404-rebase-i-stopped-at-edit",
    CLEAN,
    r"""git checkout -q side; GIT_SEQUENCE_EDITOR="sed -i 2s/^pick/edit/" git rebase -q -i main~1 \
      --onto main -X theirs""",
    halfway=True,
    flavours=HALF,
)
case(
    "t3404-rebase-i-finished",
    CLEAN,
    r"""git checkout -q side; GIT_SEQUENCE_EDITOR="sed -i 1s/^pick/reword/" GIT_EDITOR=: \
      git rebase -q -i -X theirs main; git checkout -q main""",
)

# --- t4150-am -----------------------------------------------------------------------------
case(
    "t4150-am-two-patches-stops-on-the-second",
    CLEAN
    + r"""
    git format-patch -q -o ../$(basename "$PWD")-patches main..side""",
    r"""git am -q ../$(basename "$PWD")-patches/*.patch""",
    halfway=True,
    flavours=HALF,
)
case(
    "t4150-am-clean",
    CLEAN
    + r"""
    git format-patch -q -o ../$(basename "$PWD")-patches side~1..side""",
    r"""git am -q ../$(basename "$PWD")-patches/*.patch""",
)

# --- t3301-notes, t5510-fetch: shared refs stay, files come back ----------------------------
case(
    "t3301-notes-add-and-commit",
    FORK,
    r"""git notes add -m note HEAD; git notes --ref=other add -m n2 HEAD~1
    printf 'x\n' > c; git commit -qam c""",
)
case(
    "t5510-fetch-from-a-local-remote",
    FORK
    + r"""
    git clone -q . ../$(basename "$PWD")-remote
    (cd ../$(basename "$PWD")-remote; git commit -q --allow-empty -m remote)
    git remote add origin ../$(basename "$PWD")-remote""",
    r"""git fetch -q origin; git fetch -q origin main:fetched; git merge -q --no-edit FETCH_HEAD""",
)

# --- t7700-repack, t6500-gc ---------------------------------------------------------------
case(
    "t7700-repack-ad-and-prune",
    FORK
    + r"""
    printf 'dangling\n' | git hash-object -w --stdin > /dev/null""",
    r"""printf 'x\n' > c; git add c; git stash -q; git stash drop -q
    git reflog expire --expire=now --all; git repack -q -a -d -f; git prune --expire=now
    git prune-packed; git commit -q --allow-empty -m e""",
)

# --- t3903-stash --------------------------------------------------------------------------
case(
    "t3903-stash-keep-index-and-include-untracked",
    FORK,
    r"""printf 'edit\n' >> other; git stash push -q --keep-index -u; printf 'mine\n' > n
    git add n; git stash push -q -m second -- n; git stash apply -q stash@{1}""",
)
case(
    "t3903-stash-branch",
    FORK,
    r"""printf 'edit\n' >> other; git stash -q; git stash branch from-stash > /dev/null""",
)

# --- t7102-reset, t7110-reset-merge -------------------------------------------------------
case(
    "t7102-reset-soft-mixed",
    FORK,
    r"""git reset -q --soft HEAD~1; printf 'e\n' > e; git add e; git reset -q HEAD -- staged
    git reset -q --mixed side -- s1""",
)
case(
    "t7110-reset-keep-and-merge",
    FORK
    + r"""
    printf 'edit\n' >> other""",
    r"""git reset -q --keep side~1; git reset -q --merge main""",
)

# --- t7600-merge --------------------------------------------------------------------------
case(
    "t7600-merge-squash",
    CLEAN.replace("printf 'side\\n' > c; git commit -qam side", "git commit -q --allow-empty -m e"),
    r"""git merge -q --squash side""",
)
case(
    "t7600-merge-squash-committed",
    CLEAN.replace("printf 'side\\n' > c; git commit -qam side", "git commit -q --allow-empty -m e"),
    r"""git merge -q --squash side; git commit -q --no-edit""",
)

# --- t7412-submodule-absorbgitdirs ----------------------------------------------------------
case(
    "t7412-absorbgitdirs",
    r"""git init -q ../$(basename "$PWD")-up; (cd ../$(basename "$PWD")-up; printf 's\n' > s
    git add s; git commit -qm s)
    git clone -q ../$(basename "$PWD")-up sub; git add sub; git commit -qm 'sub (no .gitmodules)'
    printf 'w\n' > wip""",
    r"""git submodule absorbgitdirs 2>/dev/null; printf 'x\n' > new""",
    undo=False,
)


def _params() -> list[object]:
    """Every case in every flavour under --slow; without it one flavour a case, turning over
    from one case to the next so that each flavour meets a share of the cases (and an agent
    turn's, where a case names it), which keeps the suite's time in CI."""
    out: list[object] = []
    for i, c in enumerate(CASES):
        kept = {c.flavours[i % len(c.flavours)], "turn"}
        for f in c.flavours:
            marks = [] if f in kept else [pytest.mark.slow]
            out.append(pytest.param(c, f, id=f"{c.name}-{f}", marks=marks))
    return out


# A case's cells here do not all run in CI (_params): its `begin-commits` keeps its own abort.
RUN = {**more.RUN, "begin-commits": more.begin_commits_whole}


@pytest.mark.parametrize(("case", "flavour"), _params())
def test_git_case(tmp_path: Path, case: Case, flavour: str) -> None:
    RUN[flavour](tmp_path, case)


def halfway_undo(tmp_path: Path, case: Case) -> None:
    """git left half way by the operation: the failed run is exact, and `undo` brings git's
    half way state back as the operation left it (its files, index, in-progress files)."""
    repo = more._make(tmp_path, "repo", case)
    before = more.state(repo)
    more._atomic(repo, case, "run", *more._op(case), code=1)
    more.base.same(before, more.state(repo), "after the failed run")
    expected = more._twin(tmp_path, case, case.op)
    more._atomic(repo, case, "undo")
    more.base.same(expected, more.state(repo), "after undo")


@pytest.mark.parametrize("case", [c for c in CASES if c.halfway], ids=lambda c: c.name)
def test_git_left_half_way_comes_back_with_undo(tmp_path: Path, case: Case) -> None:
    halfway_undo(tmp_path, case)


LATER_STAGED = more.LATER + "; git add later-file; git add -N later-dir/l"


def staged_later(tmp_path: Path, case: Case, history: str) -> None:
    """A kept operation, then the user stages a file of theirs (and marks one intent-to-add):
    `rollback --op` takes back the operation's effect and keeps the user's index entries."""
    repo = more._make(tmp_path, "repo", case)
    out = more._atomic(repo, case, "run", "--history", history, "--json", *more._op(case))
    more.base.sh(repo, LATER_STAGED)
    op_id = json.loads(out)["op_id"]
    more._atomic(repo, case, "rollback", "--op", op_id)
    expected = more._twin(tmp_path, case, LATER_STAGED)
    got = more.state(repo, refs=case.refs)
    more.base.same(expected, got, "after rollback --op")


@pytest.mark.parametrize("history", ["shadow", "commits"])
@pytest.mark.parametrize("case", [c for c in CASES if not c.halfway], ids=lambda c: c.name)
def test_rollback_op_keeps_what_the_user_staged_since(
    tmp_path: Path, case: Case, history: str
) -> None:
    staged_later(tmp_path, case, history)


# t1510-repo-setup, t1500-rev-parse: `core.bare` and `core.worktree` decide whether git finds
# a worktree here, and where. An operation that set `core.bare true` and failed was rolled back
# "files, index and branches as before" with the repository bare: every git command (and
# `git atomic undo`) refused the folder, "must be run in a work tree". One that exited 0 was
# kept so, its worktree no worktree for anyone.
CORE_PLACE = {
    "bare": "git config core.bare true",
    "worktree-elsewhere": "mkdir -p ../elsewhere\n"
    'git config core.worktree "$(cd ../elsewhere; pwd)"',
    "bare-in-config-worktree": "git config extensions.worktreeConfig true\n"
    "git config --worktree core.bare true",
}


@pytest.mark.parametrize("exit_code", [1, 0])
@pytest.mark.parametrize("op", list(CORE_PLACE))
def test_an_operation_that_moved_the_worktree_away_from_git_is_rolled_back(
    tmp_path: Path, op: str, exit_code: int
) -> None:
    case = Case(op, "printf 'w\\n' > wip; printf 's\\n' > staged; git add staged", "")
    repo = more._make(tmp_path, "repo", case)
    before = more.state(repo)
    script = f"printf 'x\\n' >> README; {CORE_PLACE[op]}\nexit {exit_code}"
    res = repo.atomic("run", "--", "bash", "-c", script)
    assert res.returncode == 1, res.stderr
    name = "core.worktree" if "worktree-" in op else "core.bare"
    assert name in res.stderr, res.stderr
    status = repo.git("status", "--porcelain", check=False)
    assert status.splitlines() == ["A  staged", "?? wip"], status
    more.base.same(before, more.state(repo), "after the run")
    # And git-atomic itself takes the worktree as one again: undo brings the files back.
    more._atomic(repo, case, "undo")
    assert (repo.path / "README").read_bytes() == b"hello\nx\n"


# t1091-sparse-checkout-builtin: `git sparse-checkout` writes the worktree's patterns
# (info/sparse-checkout), its entries' skip-worktree flags and the files, and two settings in
# config.worktree (core.sparseCheckout, core.sparseCheckoutCone). A rollback put back all but
# the settings: a `disable` taken back left a worktree with its patterns and skip-worktree
# entries, not sparse (`git sparse-checkout list`: "this worktree is not sparse", and the next
# checkout wrote the files it leaves out); a `set` taken back left one sparse with no patterns;
# and index.sparse, which `disable` sets false, stayed so.
SPARSE = {
    "disable": ("git sparse-checkout set in", "git sparse-checkout disable"),
    "set": ("", "git sparse-checkout set in"),
    "cone-to-patterns": ("git sparse-checkout set in", "git sparse-checkout set --no-cone '/in/'"),
    # and index.sparse, in config.worktree's [index] (the index kept sparse: `out/` one entry)
    "disable-sparse-index": (
        "git sparse-checkout set --sparse-index in",
        "git sparse-checkout disable",
    ),
}


def _sparse_state(repo: GitRepo) -> tuple[object, ...]:
    def setting(name: str) -> str:
        return repo.git("config", "--get", name, check=False).strip()

    patterns = repo.path / ".git" / "info" / "sparse-checkout"
    return (
        setting("core.sparseCheckout"),
        setting("core.sparseCheckoutCone"),
        setting("index.sparse"),
        setting("extensions.worktreeConfig"),  # which `set` turns on to write config.worktree
        patterns.read_bytes() if patterns.exists() else None,
        repo.git("ls-files", "-v", "--sparse"),
        sorted(
            str(p.relative_to(repo.path)) for p in repo.path.rglob("*") if ".git" not in p.parts
        ),
    )


@pytest.mark.parametrize("how", ["failed-run", "rollback-op", "abort"])
@pytest.mark.parametrize("op", list(SPARSE))
def test_a_sparse_checkout_the_operation_changed_comes_back_sparse(
    tmp_path: Path, op: str, how: str
) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    more.base.sh(
        repo,
        "mkdir -p in out; printf 'i\\n' > in/i; printf 'o\\n' > out/o; git add -A\n"
        "git commit -qm t\n" + SPARSE[op][0],
    )
    before = _sparse_state(repo)
    script = f"{SPARSE[op][1]}; printf 'x\\n' >> README"
    if how == "failed-run":
        res = repo.atomic("run", "--", "bash", "-c", script + "\nexit 1")
        assert res.returncode == 1, res.stderr
    elif how == "abort":
        more.base.atomic(repo, "begin", "b")
        more.base.sh(repo, script)
        res = repo.atomic("abort")
        assert res.returncode == 0, res.stderr
    else:
        res = repo.atomic("run", "--json", "--", "bash", "-c", script)
        assert res.returncode == 0, res.stderr
        after_op = _sparse_state(repo)
        assert after_op != before
        res = repo.atomic("rollback", "--op", json.loads(res.stdout)["op_id"])
        assert res.returncode == 0, res.stderr
        assert _sparse_state(repo) == before
        # `undo` makes the operation's settings again with its files and flags, and back.
        undone = repo.atomic("undo")
        assert undone.returncode == 0, undone.stderr
        assert _sparse_state(repo) == after_op
        undone = repo.atomic("undo")
        assert undone.returncode == 0, undone.stderr
    assert "core.sparseCheckout" in res.stderr, res.stderr
    assert _sparse_state(repo) == before
    # Your next checkout keeps your sparse view (or your whole tree).
    repo.git("checkout", "-q", "-b", "next")
    assert _sparse_state(repo) == before


# t1300-config, t0001-init's repository format: an operation that leaves git refusing the
# repository itself (a bad config line, `core.repositoryformatversion 1` with an extension git
# does not know). Its rollback cannot run git: it stops, the operation interrupted, as the
# README says. It said "checkpoint ... cannot be restored: git no longer has it; something took
# away what kept it (its ref under refs/atomic/ deleted and the objects pruned ...)": no object
# was missing, and git's own line, which names what to mend, was not said.
GIT_REFUSES = {
    "bad-config-line": ("printf '[core\\n' >> .git/config", "bad config line"),
    "unknown-extension": (
        "git config core.repositoryformatversion 1; git config extensions.bogus true",
        "unknown repository extension found: bogus",
    ),
}


@pytest.mark.parametrize("op", list(GIT_REFUSES))
def test_a_configuration_git_refuses_is_named_and_recover_finishes(tmp_path: Path, op: str) -> None:
    case = Case(op, "printf 'w\\n' > wip; printf 's\\n' > staged; git add staged", "")
    repo = more._make(tmp_path, "repo", case)
    before = more.state(repo)
    config = (repo.path / ".git" / "config").read_bytes()
    script, said = GIT_REFUSES[op]
    res = repo.atomic("run", "--", "bash", "-c", f"printf 'x\\n' >> README; {script}; exit 1")
    assert res.returncode == 3, res.stderr
    assert "git refuses this repository now" in res.stderr and said in res.stderr, res.stderr
    assert "cannot be restored" not in res.stderr, res.stderr
    (repo.path / ".git" / "config").write_bytes(config)  # mended
    more._atomic(repo, case, "recover")
    more.base.same(before, more.state(repo), "after recover")


# t2400-worktree-add, t2407: a linked worktree's lock (`git worktree lock`) is a file in the
# common git dir, `worktrees/<name>/locked`. One the operation locked stayed locked after its
# rollback, said nowhere (`git worktree remove` refused it, `prune` skipped it), and one it
# unlocked stayed unlocked, for the next `prune` to drop.
def _locks(repo: GitRepo) -> dict[str, str]:
    found = sorted((repo.path / ".git" / "worktrees").glob("*/locked"))
    return {p.parent.name: p.read_text() for p in found}


@pytest.mark.parametrize("how", ["failed-run", "rollback", "rollback-op", "abort"])
def test_a_worktree_lock_the_operation_changed_comes_back(tmp_path: Path, how: str) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    one, two = tmp_path / "one", tmp_path / "two"
    repo.git("worktree", "add", "-q", "-b", "one", str(one))
    repo.git("worktree", "add", "-q", "-b", "two", str(two))
    repo.git("worktree", "lock", "--reason", "on a usb disk", str(two))
    before = _locks(repo)
    assert before == {"two": "on a usb disk\n"}
    op = f"git worktree lock --reason mine {one}; git worktree unlock {two}; echo x >> README"
    said = ""
    if how == "failed-run":
        res = repo.atomic("run", "--", "bash", "-c", op + "\nexit 1")
        assert res.returncode == 1, res.stderr
        said = res.stderr
    elif how == "abort":
        more.base.atomic(repo, "begin", "b")
        more.base.sh(repo, op)
        res = repo.atomic("abort")
        assert res.returncode == 0, res.stderr
        said = res.stderr
    else:
        res = repo.atomic("run", "--json", "--", "bash", "-c", op)
        assert res.returncode == 0, res.stderr
        assert _locks(repo) == {"one": "mine\n"}
        if how == "rollback":
            back = repo.atomic("rollback")
        else:
            more.base.sh(repo, more.LATER)
            back = repo.atomic("rollback", "--op", json.loads(res.stdout)["op_id"])
        assert back.returncode == 0, back.stderr
        said = back.stderr
    assert _locks(repo) == before
    assert "which the operation locked, is unlocked again" in said, said
    assert "which the operation unlocked, is locked again" in said, said


@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_the_lock_of_a_worktree_the_operation_moved_comes_back(tmp_path: Path, how: str) -> None:
    """The operation moved a linked worktree and locked it (or unlocked one of yours, then
    moved it): the worktree stays where it was moved (outside this one), and its lock stayed
    as the operation left it, said nowhere: the `git worktree move` the rollback names to move
    it back refused ("cannot move a locked working tree"), and one you had locked could be
    pruned. Each lock is put back as it was; the way back named moves it, lock or none."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    one, two = tmp_path / "one", tmp_path / "two"
    repo.git("worktree", "add", "-q", "-b", "one", str(one))
    repo.git("worktree", "add", "-q", "-b", "two", str(two))
    repo.git("worktree", "lock", "--reason", "on a usb disk", str(two))
    before = _locks(repo)
    op = (
        f"git worktree move {one} {one}2 && git worktree lock --reason mine {one}2 && "
        f"git worktree unlock {two} && git worktree move {two} {two}2 && echo x >> README"
    )
    if how == "failed-run":
        res = repo.atomic("run", "--", "bash", "-c", op + "\nexit 1")
        assert res.returncode == 1, res.stderr
    else:
        done = repo.atomic("run", "--json", "--", "bash", "-c", op)
        assert done.returncode == 0, done.stderr
        res = repo.atomic("rollback", "--op", json.loads(done.stdout)["op_id"])
        assert res.returncode == 0, res.stderr
    assert _locks(repo) == before, res.stderr
    assert "which the operation locked, is unlocked again" in res.stderr, res.stderr
    assert "which the operation unlocked, is locked again" in res.stderr, res.stderr
    ways = [line.split("`")[1] for line in res.stderr.splitlines() if "git worktree move" in line]
    assert len(ways) == 2, res.stderr
    for way in ways:  # each moves it back, as said
        more.base.sh(repo, way)
    listed = repo.git("worktree", "list", "--porcelain").splitlines()
    assert [line for line in listed if line.startswith("worktree ")][1:] == [
        f"worktree {one}",
        f"worktree {two}",
    ]
    assert _locks(repo) == before


def test_an_open_operation_that_made_the_repository_bare_names_the_way_back(
    tmp_path: Path,
) -> None:
    """`begin`, then the operation sets core.bare: `abort` cannot find the worktree (git
    refuses it), and said only that git-atomic needs one. It names the setting to put back,
    and `abort` then rolls the operation back."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    more.base.atomic(repo, "begin", "b")
    more.base.sh(repo, "echo x >> README; git config core.bare true")
    res = repo.atomic("abort")
    assert res.returncode == 3, res.stderr
    assert "git config core.bare false" in res.stderr, res.stderr
    repo.git("config", "core.bare", "false")
    more.base.atomic(repo, "abort")
    assert repo.read("README") == b"hello\n"
