"""Tree shapes and settings from git's own tests (stop 56's adversary), beside those of
tests/test_git_cases*.py: t2007-checkout-symlink and t6415-merge-dir-to-symlink (a link made a
folder with files in it, a folder made a link out of the worktree, whose target must never be
written through), t4115-apply-symlink (a typechange by `apply --index`), t2102/t0001
`core.symlinks=false` (a link checked out as a file, edited; a real link beside it), t3910 and
t3902 names (NFC and NFD twins, pathspec magic, trailing spaces, a leading dash as a folder),
and settings an operation sets on its way (`core.symlinks=false`, `core.fileMode=false`,
`core.ignoreStat=true`, which hide from git what it then changes).

Each runs a failed run (exact: disk, raw index, HEAD, refs) and `undo` (the twin's state), and
a recover after kill -9 (exact). Checked right: no defect found (a pin)."""

from __future__ import annotations

from pathlib import Path

import pytest
import test_git_cases as base
import test_git_cases_more as more

Case = more.Case
CASES = [
    Case(
        "t2007-link-made-a-folder-with-files",
        r"""mkdir t; printf 'x\n' > t/f; ln -s t l; git add -A; git commit -qm t
        printf 'w\n' > wip""",
        r"""rm l; mkdir l; printf 'y\n' > l/f; printf 'z\n' > l/g; git add -A; mkdir l/empty""",
    ),
    Case(
        "t6415-folder-made-a-link-out-of-the-worktree",
        r"""mkdir d; printf 'a\n' > d/a; printf 'u\n' > d/untracked; git add d/a
        git commit -qm t; mkdir -p ../outside; printf 'OUT\n' > ../outside/a""",
        r"""rm -rf d; ln -s ../outside d; git add -A""",
    ),
    Case(
        "t6415-merge-dir-to-symlink",
        r"""mkdir -p a/b; printf 'x\n' > a/b/x; printf 'y\n' > a/b-2; git add -A; git commit -qm t
        git checkout -qb side; git rm -q -r a/b; ln -s b-2 a/b; git add a/b; git commit -qm link
        git checkout -q main; printf 'w\n' > wip""",
        r"""git merge -q side""",
    ),
    Case(
        "t4115-apply-symlink-typechange",
        r"""printf 't\n' > t; printf 'f\n' > f; git add -A; git commit -qm t; git checkout -qb side
        rm f; ln -s t f; git commit -qam link; git diff main side > ../p.diff
        git checkout -q main""",
        r"""git apply --index ../p.diff""",
    ),
    Case(
        "t2102-symlinks-false-link-edited",
        r"""printf 't\n' > target; ln -s target l; ln -s target l2; git add -A; git commit -qm t
        git config core.symlinks false; rm l; git checkout -- l""",
        r"""printf 'other' > l; git add l; rm l2; ln -s README l2; ln -s target newlink
        git add newlink""",
    ),
    Case(
        "t3910-names-nfc-nfd-and-magic",
        r"""printf 'a\n' > ':!x'; printf 'b\n' > ':^y'; printf 'c\n' > '@{-1}'; printf 'd\n' > HEAD
        mkdir -- -d; printf 'e\n' > -d/-f; printf 'f\n' > "$(printf 'caf\xc3\xa9')"
        printf 'g\n' > "$(printf 'cafe\xcc\x81')"; printf 'h\n' > 'trail '; printf 'i\n' > 'a\'
        git add -A; git commit -qm n; printf 'u\n' > '~u'""",
        r"""printf 'X\n' > ':!x'; rm ':^y'; printf 'Y\n' > "$(printf 'cafe\xcc\x81')"
        rm "$(printf 'caf\xc3\xa9')"; git add -A; rm -rf -- -d; printf 'n\n' > -d
        mv 'trail ' 'trail  '; rm '~u'; printf 'z\n' > "$(printf 'nf\xcc\x81d')" """,
    ),
]
SETTINGS = r"""printf 't\n' > t; ln -s t link; printf 'x\n' > x; chmod +x x; printf 'aaaa\n' > a
mkdir d; printf 'dd\n' > d/f; git add -A; git commit -qm t; printf 'u\n' > untracked"""
CASES += [
    Case(
        "t0001-operation-sets-symlinks-false",
        SETTINGS,
        r"""git config core.symlinks false; rm link; printf 'file now' > link; rm t
        ln -s x t2""",
    ),
    Case(
        "t3700-operation-sets-filemode-false",
        SETTINGS,
        r"""git config core.fileMode false; chmod -x x; chmod +x a; printf 'n\n' > n; chmod +x n""",
    ),
    Case(
        "t2106-operation-sets-ignorestat",
        SETTINGS,
        r"""git config core.ignoreStat true; git add -A; printf 'edit\n' > a; printf 'e\n' > d/f""",
    ),
]


def _outside(tmp_path: Path) -> bytes | None:
    """What a link out of the worktree points at (`../outside/a`): never written through."""
    path = tmp_path / "outside" / "a"
    return path.read_bytes() if path.exists() else None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_failed_run_is_exact_and_undo_brings_it_back(tmp_path: Path, case: Case) -> None:
    more.shadow(tmp_path, case)
    assert _outside(tmp_path) in (None, b"OUT\n")


@pytest.mark.parametrize("case", CASES[:3] + CASES[4:5], ids=lambda c: c.name)
def test_a_recover_after_kill_9_is_exact(tmp_path: Path, case: Case) -> None:
    repo = more._make(tmp_path, "repo", case)
    before = more.state(repo)
    killed = repo.atomic("run", "--no-gates", *more._op(case, "\nkill -9 $PPID"))
    assert killed.returncode == -9, killed.stderr
    recovered = repo.atomic("recover")
    assert recovered.returncode == 0, recovered.stderr
    base.same(before, more.state(repo), "after recover")
    assert _outside(tmp_path) in (None, b"OUT\n")
