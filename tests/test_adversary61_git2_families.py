"""Families of git's own tests not played before (stop 61's helper H), run through the matrix
of tests/test_adversary59_git_merges.py (a failed run, commits mode, `rollback --op` over your
files, `begin`/`abort`, an agent turn, `recover` after a kill). Each was played in every
flavour when written; those found without a defect keep one or two cheap cells:

- t1308-config-include: an `includeIf "onbranch:..."` include whose condition the operation's
  checkout turns on: core.autocrlf, a `core.excludesFile` hiding what the operation made (a
  defect: the rollback switched the branch back, the rules went with it and left the file the
  operation made, shown; every flavour but `recover` kept), and a `.gitignore` only the
  branch holds;
- t1300's `includeIf "hasconfig:remote.*.url:..."`: the operation's remote turns
  core.filemode off (configuration stays after a rollback, the modes on disk come back);
- t3436-rebase-more-options: `--committer-date-is-author-date`, clean, and stopped in conflict
  with `--autostash` (rebase-merge/cdate_is_adate, the autostash);
- t5319-multi-pack-index: a midx with a bitmap written again by `repack --write-midx`, and
  `multi-pack-index repack` then `expire`;
- t3002-ls-files-as-shell: `ls-files -o` with pathspecs (an exclusion among them) fed to
  `git add`;
- t5329-pack-objects-cruft: `gc --cruft --prune=now` after the reflogs expire, and a cruft
  pack made again with one more unreachable object;
- t7513-interpret-trailers: `--in-place` with configured trailers, and `commit --trailer`;
- t7514-commit-patch (fixup): `--fixup=amend:` and `--fixup=reword:` squashed by
  `rebase -i --autosquash --autostash` over your edits;
- t9350-fast-export: every ref exported and imported again under `refs/copied/` (git-atomic's
  own refs among them during a run);
- t1013-read-tree-submodule: `checkout --recurse-submodules` to a branch where a file stands
  at the submodule's path.

Also kept: `includeIf "onbranch:..."` bringing a `core.attributesFile` (eol=crlf), a filter
that `.gitattributes` names, a sparse
checkout (`read-tree -mu` then empties the folder), a split index of version 4 with the
untracked cache; t3200's `branch -c`/`-M`/`--edit-description`; t3420's autostash whose
apply conflicts; t7406's `submodule deinit -f` (its undo leaves the submodule checked out, as
docs/limits.md says: the failed run alone kept).

Found, not fixed (docs/limits.md): t1419's HEAD through a branch that is a symbolic ref
(`alias` naming `main`), which the operation points elsewhere (`git symbolic-ref
refs/heads/alias refs/heads/side`): the rollback leaves it so.

Not kept: t2402/t2408's worktree pruned after removed by hand and locked again (played as
t2406/t2407 in tests/test_git_cases_more.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import test_adversary59_git_merges as merges
import test_git_cases_more as more

ALL = ("turn", "shadow", "commits", "effect", "begin")  # `recover` too when written: 3.7 s
CASES: list[more.Case] = []


def case(name: str, setup: str, op: str, flavours: tuple[str, ...], **kw: object) -> None:
    CASES.append(more.Case(name, setup, op, flavours=flavours, **kw))  # type: ignore[arg-type]


YOURS = "\nprintf 'w\\n' > wip; printf 'dirty\\n' >> README"
case(
    "t1308-includeif-onbranch-autocrlf",
    r"""printf '[core]\n\tautocrlf = true\n' > br.cfg; printf 'a\nb\n' > t.txt
git add br.cfg t.txt; git commit -qm cfg; git config includeIf.onbranch:feature.path ../br.cfg"""
    + YOURS,
    r"""git checkout -qb feature; printf 'c\r\nd\r\n' > crlf.txt; git add crlf.txt
printf 'x\r\n' >> t.txt; git commit -qm crlf""",
    ("commits",),
)
case(
    "t1308-includeif-onbranch-excludes-file",
    r"""printf 'wip\n*.log\n' > fe.ignore; printf 'u\n' > keep.log; git add fe.ignore
printf '[core]\n\texcludesFile = %s/fe.ignore\n' "$PWD" > .git/fe.cfg
git commit -qm cfg; git config includeIf.onbranch:feature.path fe.cfg"""
    + YOURS,
    "git checkout -qb feature; rm wip keep.log; printf 'n\\n' > made.log; printf 'x\\n' > x",
    ALL,
)
case(
    "t1308-includeif-onbranch-branch-gitignore",
    r"""git checkout -qb feature; printf 'wip\n' > .gitignore; git add .gitignore
git commit -qm ign; git checkout -q main"""
    + YOURS,
    "git checkout -q feature; rm wip; printf 'x\\n' > x",
    ("effect",),
)
case(
    "t1300-includeif-hasconfig-filemode-off",
    r"""printf '[core]\n\tfilemode = false\n' > hc.cfg; printf '#!/bin/sh\n' > run.sh
git add hc.cfg run.sh; git commit -qm cfg
git config 'includeIf.hasconfig:remote.*.url:https://example.com/**.path' ../hc.cfg"""
    + YOURS,
    r"""git remote add origin https://example.com/x.git; chmod +x run.sh
printf 'n\n' > new.sh; chmod +x new.sh; git add new.sh""",
    ("effect",),
)
case(
    "t3436-rebase-committer-date-is-author-date",
    r"""printf 'b\n' > b; git add b; GIT_AUTHOR_DATE='@1000000000 +0100' git commit -qm b
git checkout -qb side; printf 's\n' > s; git add s
GIT_AUTHOR_DATE='@1100000000 -0500' git commit -qm s; git checkout -q main
printf 'm\n' > m; git add m; GIT_AUTHOR_DATE='@1200000000 +0000' git commit -qm m
git checkout -q side""",
    "git rebase -q --committer-date-is-author-date main || true",
    ("commits",),
)
case(
    "t3436-rebase-cdate-stopped",
    r"""printf '1\n' > f; git add f; git commit -qm b; git checkout -qb side; printf 'S\n' > f
GIT_AUTHOR_DATE='@1100000000 -0500' git commit -qam s; git checkout -q main
printf 'M\n' > f; git commit -qam m; git checkout -q side"""
    + YOURS,
    "git rebase -q --autostash --committer-date-is-author-date main",
    ("shadow",),
    halfway=True,
)
case(
    "t5319-multi-pack-index-rewritten",
    r"""printf 'a\n' > a; git add a; git commit -qm a; git repack -qd; printf 'b\n' > b
git add b; git commit -qm b; git repack -q; git multi-pack-index write --bitmap"""
    + YOURS,
    r"""printf 'c\n' > c; git add c; git commit -qm c; git repack -qd --write-midx
git multi-pack-index verify; printf 'x\n' > x""",
    ("effect",),
)
case(
    "t5329-gc-cruft-prune-now",
    r"""printf 'a\n' > a; git add a; git commit -qm a; printf 'lost\n' | git hash-object -w --stdin
printf 'i\n' > staged; git add staged"""
    + YOURS,
    r"""printf 'z\n' > z; git add z; git commit -qm z; git reset -q --hard HEAD~
git reflog expire --expire=now --all; git gc -q --cruft --prune=now; printf 'after\n' > after""",
    ("shadow", "turn"),
)
case(
    "t5329-cruft-pack-kept-unreachable",
    r"""printf 'a\n' > a; git add a; git commit -qm a
printf 'lost\n' | git hash-object -w --stdin; git gc -q --cruft --prune=1.year.ago"""
    + YOURS,
    r"""printf 'lost2\n' | git hash-object -w --stdin; git repack -qd --cruft
printf 'y\n' > y; git add y""",
    ("begin",),
)
case(
    "t7513-interpret-trailers-in-place",
    r"""git config trailer.sign.key 'Signed-off-by: '
git config trailer.sign.ifexists addIfDifferent
printf 'subject\n\nbody\n' > msg; git add msg; git commit -qm msg"""
    + YOURS,
    r"""git interpret-trailers --in-place --trailer sign=me --trailer 'Fixes: 1' msg
git commit -qm "$(cat msg)" --trailer 'Reviewed-by: x' msg""",
    ("begin",),
)
case(
    "t7514-fixup-amend-autosquash-autostash",
    r"""printf '1\n' > f; git add f; git commit -qm one; printf '2\n' > g; git add g
git commit -qm two"""
    + YOURS,
    r"""printf '1b\n' > f; git add f; GIT_EDITOR=: git commit -q --fixup=amend:HEAD~
GIT_EDITOR=: git commit -q --fixup=reword:HEAD~2
GIT_SEQUENCE_EDITOR=: git rebase -qi --autosquash --autostash HEAD~4""",
    ("commits",),
)
case(
    "t9350-fast-export-all-imported-under-copied",
    r"""printf 'a\n' > a; git add a; git commit -qm a; git tag -a -m v v1; git branch side"""
    + YOURS,
    r"""git fast-export --all | sed 's#^reset refs/#reset refs/copied/#
s#^commit refs/#commit refs/copied/#; s#^tag #tag copied-#' | git fast-import --quiet
printf 'f\n' > f""",
    ("shadow",),
)
case(
    "t1013-read-tree-submodule-replaced-by-file",
    r"""[ -d ../up ] || { git init -q -b main ../up; (cd ../up; printf 's\n' > s; git add s
git commit -qm s); }
git -c protocol.file.allow=always submodule -q add ../up sub; git commit -qm sub
git checkout -qb side; git rm -q sub; printf 'file\n' > sub; git add sub; git commit -qm file
git checkout -q main"""
    + "\nprintf 'w\\n' > wip",
    "git -c submodule.recurse=true checkout -q side; printf 'x\\n' > x",
    ("shadow",),
)

case(
    "t1308-includeif-onbranch-attributes-file",
    r"""printf '* text eol=crlf\n*.bin -text\n' > .git/fe.attr
printf '[core]\n\tattributesFile = %s/.git/fe.attr\n' "$PWD" > .git/fe.cfg
printf 'a\nb\n' > t.txt; git add t.txt; git commit -qm t
git config includeIf.onbranch:feature.path fe.cfg"""
    + YOURS,
    r"""git checkout -qb feature; printf 'c\nd\n' > n.txt; git add n.txt; rm t.txt
git checkout -- t.txt; printf 'x\n' >> t.txt""",
    ("effect",),
)
case(
    "t1308-includeif-onbranch-sparse-checkout",
    r"""printf '[core]\n\tsparseCheckout = true\n' > .git/sp.cfg; mkdir -p .git/info d
printf '/README\n/wip\n' > .git/info/sparse-checkout; printf 'a\n' > a; printf 'b\n' > d/b
git add a d; git commit -qm ad; git config includeIf.onbranch:feature.path sp.cfg"""
    + YOURS,
    r"""git checkout -qb feature; git read-tree -mu HEAD; printf 'x\n' > x""",
    ("shadow", "begin"),
)
case(
    "t1308-includeif-onbranch-split-index-v4-untracked-cache",
    r"""printf '[core]\n\tsplitIndex = true\n\tuntrackedCache = true\n' > .git/ix.cfg
printf '[index]\n\tversion = 4\n' >> .git/ix.cfg; printf 'a\n' > a; git add a
git commit -qm a; git config includeIf.onbranch:feature.path ix.cfg"""
    + YOURS,
    r"""git checkout -qb feature; printf 'n\n' > n; git add n; git update-index --split-index
git status -uall > /dev/null""",
    ("effect",),
)
case(
    "t3200-branch-copy-rename-describe",
    r"""git config branch.main.description 'the main one'; git branch -q other""" + YOURS,
    r"""git branch -c main copy; git branch -M main renamed; git branch -c -f other main
GIT_EDITOR="sed -i 's/.*/described/'" git branch --edit-description other; printf 'b\n' > b""",
    ("begin",),
)
case(
    "t3420-autostash-apply-conflicts",
    r"""printf '1\n' > f; git add f; git commit -qm f; git checkout -qb side; printf 'S\n' > f
git commit -qam s; git checkout -q main; printf 'm\n' > m; git add m; git commit -qm m
git checkout -q side; printf 'M\n' > f"""
    + "\nprintf 'w\\n' > wip",
    "git rebase -q --autostash main; git checkout -q main; git rebase -q --autostash side || true",
    ("commits",),
)
case(
    "t7406-submodule-deinit-f",
    r"""[ -d ../up ] || { git init -q -b main ../up; (cd ../up; printf 's\n' > s; git add s
git commit -qm s); }
git -c protocol.file.allow=always submodule -q add ../up sub; git commit -qm sub"""
    + "\nprintf 'w\\n' > wip",
    "git submodule deinit -q -f sub; printf 'x\\n' > x",
    ("shadow",),
    undo=False,
)

case(
    "t1308-includeif-onbranch-filter",
    r"""printf '[filter "up"]\n\tclean = tr a-z A-Z\n\tsmudge = tr A-Z a-z\n' > .git/fl.cfg
printf '*.txt filter=up\n' > .gitattributes; printf 'abc\n' > t.txt; git add -A
git commit -qm t; git config includeIf.onbranch:feature.path fl.cfg"""
    + YOURS,
    r"""git checkout -qb feature; printf 'def\n' > n.txt; git add n.txt; printf 'ghi\n' >> t.txt
rm t.txt; git checkout -- t.txt; git add t.txt""",
    ("effect",),
)

case(
    "t5319-midx-repack-and-expire",
    r"""for i in 1 2 3; do printf "$i\n" > f$i; git add f$i; git commit -qm $i; git repack -q; done
git multi-pack-index write"""
    + YOURS,
    r"""git multi-pack-index repack --batch-size=0; git multi-pack-index expire; printf 'e\n' > e
git add e; git commit -qm e""",
    ("effect",),
)
case(
    "t3002-ls-files-o-pathspec-added",
    r"""mkdir -p d/e; printf 'x\n' > d/x; printf 'y\n' > d/e/y; printf 'z\n' > z
printf '*.o\n' > .gitignore; git add .gitignore; git commit -qm i; printf 'o\n' > d/a.o"""
    + YOURS,
    r"""git ls-files -oz --exclude-standard -- 'd/*' ':!d/x' | xargs -0 git add
git ls-files -o --directory -- d > listing""",
    ("begin",),
)


def _params() -> list[object]:
    return [pytest.param(c, f, id=f"{c.name}-{f}") for c in CASES for f in c.flavours]


@pytest.mark.parametrize(("case", "flavour"), _params())
def test_family(tmp_path: Path, case: more.Case, flavour: str) -> None:
    merges.RUN[flavour](tmp_path, case)
