"""Families of git's own tests not played before (stop 61's helper D), each found without a
defect in every flavour of tests/test_adversary59_git_merges.py (a failed run, commits mode,
`rollback --op` over your files, `begin`, an agent turn, `recover` after a kill) when written,
kept here as one cheap cell each:

- t1012-read-tree-df: `read-tree -m -u` three ways over a file/folder clash, leaving unmerged
  entries with no merge in progress;
- t1015-read-index-unmerged: a modify/delete merge over a file/folder clash, stopped;
- t1021-rerere-in-workdir: a merge stopped with rerere on (MERGE_RR, rr-cache/);
- t1309-early-config: an `include.path` to a file of the worktree the operation edits
  (core.autocrlf turned on);
- t2024-checkout-dwim: `git checkout foo` making a branch from `refs/remotes/origin/foo`;
- t2025-checkout-no-overlay: files the source lacks removed;
- t3011-common-prefixes-and-directory-traversal: an untracked folder holding an empty `.git`
  folder, one holding only ignored files, a link to a folder swapped;
- t3904-stash-patch: `git stash -p`, one hunk of two;
- t4058-diff-duplicates: HEAD on a commit whose tree holds duplicate entries;
- t5613-info-alternate: every object in a chain of two alternates;
- t7611-merge-abort: a stopped merge, more edits, `merge --abort`.

Not kept: t7518 (ident corner cases: commits mode refuses a name of only crud, exit 2, as
SPEC says); t3011's untracked `.git` file naming nowhere is refused at the door (docs/limits.md);
t1406/t1419's HEAD on a ref that is no branch had a defect (tests/test_adversary61_git_refs.py),
as had t7516's killed ref updates (tests/test_git_locks_left.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import test_adversary59_git_merges as merges
import test_git_cases_more as more

CASES: list[more.Case] = []


def case(name: str, setup: str, op: str, flavour: str, **kw: object) -> None:
    CASES.append(more.Case(name, setup, op, flavours=(flavour,), **kw))  # type: ignore[arg-type]


YOURS = "\nprintf 'w\\n' > wip; printf 'dirty\\n' >> README"
case(
    "t1012-read-tree-3way-df-unmerged-no-merge",
    r"""mkdir -p t; echo 0 > t-0; echo 1 > t/1; echo 2 > t/2; echo 3 > t=3; git add -A
git commit -qm O; git tag O; git rm -rq t; echo t > t; git add t; git commit -qm A; git tag A
git checkout -q O; git rm -q t-0 t/2; echo 1b > t/1; git add -A; git commit -qm B; git tag B
git checkout -q main; git reset -q --hard A"""
    + YOURS,
    "git read-tree -m -u O A B || true; printf 'x\\n' > after",
    "commits",
    halfway=True,
)
case(
    "t1015-df-modify-delete-stopped",
    r"""printf 'a\nb\nc\nd\n' > letters; git add letters; git commit -qm initial
git checkout -qb modify; echo i >> letters; echo 'version 2' > letters.txt
git add letters letters.txt; git commit -qm modified; git checkout -qb delete HEAD^
git rm -q letters; mkdir letters; : > letters/file; echo 'version 1' > letters.txt
git add letters letters.txt; git commit -qm deleted; git checkout -q main"""
    + YOURS,
    "git checkout -q delete; git merge -q modify",
    "recover",
    halfway=True,
)
case(
    "t1021-rerere-stopped",
    r"""git config rerere.enabled true; printf '1\n2\n3\n' > f; git add f; git commit -qm base
git checkout -qb side; printf '1\nS\n3\n' > f; git commit -qam side; git checkout -q main
printf '1\nM\n3\n' > f; git commit -qam main"""
    + YOURS,
    "git merge -q side",
    "shadow",
    halfway=True,
)
case(
    "t1309-include-in-the-worktree-turns-autocrlf-on",
    r"""printf '[core]\n\tautocrlf = false\n' > proj.cfg; printf 'a\nb\n' > t.txt
git add proj.cfg t.txt; git commit -qm cfg; git config include.path ../proj.cfg"""
    + YOURS,
    r"""printf '[core]\n\tautocrlf = true\n' > proj.cfg; printf 'c\r\nd\r\n' > crlf.txt
git add crlf.txt; printf 'x\r\n' >> t.txt""",
    "begin",
)
case(
    "t2024-checkout-dwim-remote",
    r"""git update-ref refs/remotes/origin/foo HEAD; git config remote.origin.url ../nowhere
git config remote.origin.fetch '+refs/heads/*:refs/remotes/origin/*'"""
    + YOURS,
    "git checkout -q foo; printf 'f\\n' > f; git add f; git commit -qm f",
    "commits",
)
case(
    "t2025-checkout-no-overlay",
    r"""mkdir d; echo 1 > d/1; echo 2 > d/2; git add d; git commit -qm d; git rm -q d/2
echo 3 > d/3; git add d/3; git commit -qm d3"""
    + YOURS,
    "git checkout --no-overlay HEAD~ -- d; git checkout --no-overlay HEAD -- README",
    "begin-commits",
)
case(
    "t3011-untracked-folders-odd",
    r"""mkdir -p emptygit/.git onlyign plain; echo '*.o' > .gitignore; git add .gitignore
git commit -qm ign; echo o > onlyign/a.o; echo u > emptygit/u; echo g > plain/g
ln -s onlyign lnk"""
    + YOURS,
    "echo v > emptygit/v; rm emptygit/u; echo h > plain/h; echo p > onlyign/p; rm lnk\n"
    "ln -s emptygit lnk",
    "effect",
)
case(
    "t3904-stash-p",
    r"""printf '1\n2\n3\n4\n5\n6\n7\n8\n9\n' > f; git add f; git commit -qm f
printf 'A\n2\n3\n4\n5\n6\n7\n8\nB\n' > f; printf 'w\n' > wip""",
    "printf 'y\\nn\\n' | git stash -p -q; printf 'x\\n' > x",
    "turn",
)
case(
    "t4058-duplicate-entries-at-head",
    r"""one=$(echo one | git hash-object -w --stdin); two=$(echo two | git hash-object -w --stdin)
mk() { printf '%s %s\0' "$1" "$2"; echo "$3" | xxd -r -p; }
inner=$( { mk 100644 inner $one; mk 100644 inner $two; mk 100644 inner $two; } \
  | git hash-object --literally -w -t tree --stdin)
outer=$( { mk 100644 README $(git rev-parse HEAD:README); mk 40000 outer $inner
  mk 40000 outer $inner; } | git hash-object --literally -w -t tree --stdin)
git branch base $(git commit-tree -p HEAD -m dup $outer); git checkout -q base"""
    + YOURS,
    "printf 'x\\n' > x; printf 'o\\n' > outer/inner; git add -A",
    "shadow",
)
case(
    "t5613-alternates-chain",
    r"""mv .git/objects .git/alt2; mkdir -p .git/alt1/info .git/alt1/pack .git/objects/info
mkdir .git/objects/pack; echo ../alt2 > .git/alt1/info/alternates
echo ../alt1 > .git/objects/info/alternates; git fsck > /dev/null"""
    + YOURS,
    "printf 'c\\n' > c; git add c; printf 'R\\n' > README; git commit -qam c",
    "commits",
)
case(
    "t7611-merge-abort-with-more-edits",
    r"""printf '1\n2\n3\n' > f; git add f; git commit -qm base; git checkout -qb side
printf '1\nS\n3\n' > f; git commit -qam s; git checkout -q main; printf '1\nM\n3\n' > f
git commit -qam m"""
    + YOURS,
    "git merge -q side; printf 'more\\n' >> README; git merge --abort; printf 'z\\n' > z",
    "turn",
)


def _params() -> list[object]:
    return [pytest.param(c, f, id=f"{c.name}-{f}") for c in CASES for f in c.flavours]


@pytest.mark.parametrize(("case", "flavour"), _params())
def test_family(tmp_path: Path, case: more.Case, flavour: str) -> None:
    merges.RUN[flavour](tmp_path, case)
