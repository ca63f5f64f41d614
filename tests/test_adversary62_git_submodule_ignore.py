"""t7506-status-submodule: a submodule git is told to ignore (`submodule.<name>.ignore = all`,
in `.gitmodules` or the configuration). Git leaves such a gitlink out of every comparison,
plumbing too (`diff-tree`, `diff-index`, `diff-files`: a change to it, an add, a removal), so an
operation's change to it in the index (moved, removed and added again, the submodule
moved by `git mv`) was in no change git-atomic listed: a failed run, an
agent turn's take-back, `rollback --op`, `abort` and `recover` each left the index's gitlink
at the operation's commit (the state before had another). Our comparisons now see every
submodule (gitrunner.every_submodule), whatever the configuration says; `diff.ignoreSubmodules`
(read by porcelain only) never hid it.

The same reading made a `.gitmodules` git cannot parse (the operation's, or yours before it:
t7400's invalid ones) fail every capture and rollback (`git diff-tree -r failed: fatal: bad
config line 2 in file .gitmodules`): a failed run, a turn, `rollback --op`, `begin` and commits
mode each stopped there. Told to see every submodule, git reads no `.gitmodules` for a
comparison; nor the `submodule.<name>.ignore` of the configuration, whose unknown value
(`bogus`) failed them alike (`fatal: bad --ignore-submodules argument: bogus`).

Oracle: the raw index entries (`ls-files -s`), the disk, refs, through the matrix of
tests/test_adversary59_git_merges.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import test_adversary59_git_merges as merges
import test_git_cases_more as more

SUB = r"""[ -d ../up ] || { git init -q -b main ../up; (cd ../up; printf 's\n' > s; git add s
git commit -qm s); }
git -c protocol.file.allow=always submodule -q add ../up sub; git commit -qm sub"""
YOURS = "\nprintf 'w\\n' > wip; printf 'dirty\\n' >> README"
IN_CONFIG = SUB + "\ngit config submodule.sub.ignore all" + YOURS
BAD_GITMODULES = r"""printf '[submodule "sub"\n\tpath = sub\n' > .gitmodules"""  # no `]`
IN_GITMODULES = (
    SUB
    + "\ngit config -f .gitmodules submodule.sub.ignore all; git commit -qm ign .gitmodules"
    + YOURS
)
STAGE_HEAD = "git update-index --cacheinfo 160000,$(git rev-parse HEAD),sub"

CASES = [
    # the gitlink moved in the index (to a commit the submodule lacks: git-atomic never
    # checks a submodule out, the index alone)
    more.Case(
        "config-gitlink-moved",
        IN_CONFIG,
        STAGE_HEAD + "; printf 'x\\n' > x",
        flavours=("shadow", "turn", "begin"),
    ),
    # `.gitmodules` says it, committed before; the operation commits the moved gitlink
    more.Case(
        "gitmodules-committed-gitlink-committed",
        SUB
        + "\ngit config -f .gitmodules submodule.sub.ignore all; git commit -qm ign .gitmodules"
        + YOURS,
        STAGE_HEAD + "; git commit -qm bump",
        flavours=("shadow",),
    ),
    # moved (`git mv`: the gitlink and `.gitmodules`' path, the folder), and taken out of the
    # index then added again at another commit, each committed
    more.Case(
        "gitmodules-committed-submodule-moved",
        IN_GITMODULES,
        "git mv sub sub2; git commit -qm mv",
        flavours=("commits",),
    ),
    more.Case(
        "gitmodules-committed-removed-and-added-again",
        IN_GITMODULES,
        "git rm -q --cached sub; "
        + STAGE_HEAD.replace("--cacheinfo", "--add --cacheinfo")
        + "; git commit -qm again",
        flavours=("effect",),
    ),
    # a value git dies on (`fatal: bad --ignore-submodules argument: bogus`) where it reads it
    more.Case(
        "config-ignore-value-unknown",
        SUB + "\ngit config submodule.sub.ignore bogus" + YOURS,
        STAGE_HEAD + "; printf 'x\\n' > x",
        flavours=("shadow",),
    ),
    # a `.gitmodules` git cannot parse, written by the operation (with the gitlink moved) and
    # yours, before it
    more.Case(
        "gitmodules-unparsable-by-the-op",
        SUB + YOURS,
        BAD_GITMODULES + "; " + STAGE_HEAD,
        flavours=("turn", "effect"),
    ),
    more.Case(
        "gitmodules-unparsable-yours",
        SUB + YOURS + "\n" + BAD_GITMODULES,
        STAGE_HEAD + "; printf 'x\\n' > x",
        flavours=("begin",),
    ),
]


@pytest.mark.parametrize(
    ("case", "flavour"),
    [pytest.param(c, f, id=f"{c.name}-{f}") for c in CASES for f in c.flavours],
)
def test_ignored_submodule_gitlink_taken_back(
    tmp_path: Path, case: more.Case, flavour: str
) -> None:
    merges.RUN[flavour](tmp_path, case)
