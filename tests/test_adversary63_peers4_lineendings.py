"""Peers' reports on line endings a restore changed, played against git-atomic: Cline's
`apply_patch` rewrote every CRLF file it touched to LF (cline/cline#13512, the "wrong line
endings" investigation it closes), and a Claude Code session rewound `w/crlf` files through
`sed -i` that came back LF-only while `git diff` stayed silent (day8/re-frame2#10087). Here an
operation adds a rule git converts by (`* text eol=crlf`, `eol=lf`, `ident`) and writes the
index (`git add`, a `checkout --`), then fails. Its rollback's rescue held your untracked
CRLF file, which nobody touched, as git's clean filter converts it (LF): the rollback named it
"changed by another writer" and `undo` wrote it back LF-only, its bytes changed. The rescue
holds the bytes on disk: nothing is named, and `undo` leaves the file's bytes as they were.

The suite checks every edited scan tree against git's (GIT_ATOMIC_VERIFY_SCAN, which also
brings the scan index of a rescue up to date): these run without it, as a user's command
does, and with it. The oracle: the disk's bytes."""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo

MINE = b"u\r\nmixed\n$Id: kept as it is $\n"
OPS = {
    "git add": "git add .gitattributes; exit 1",
    "checkout": "rm README; git checkout -- README; exit 1",
}
# The class: every attribute under which git's clean side stores other bytes than the disk's.
RULES = ["* text eol=crlf", "*.txt text eol=lf", "*.txt ident"]


@pytest.mark.parametrize("verify", ["0", "1"], ids=["as users run it", "suite's check"])
@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("rule", RULES)
def test_a_rule_that_converts_leaves_your_untouched_files_bytes(
    repo: GitRepo, op: str, verify: str, rule: str
) -> None:
    env = {"GIT_ATOMIC_VERIFY_SCAN": verify}
    repo.write("notes.txt", MINE)
    command = f"echo '{rule}' > .gitattributes; {OPS[op]}"
    ran = repo.atomic("run", "-n", "eol", "--no-gates", "--", "sh", "-c", command, env=env)
    assert ran.returncode == 1, ran.stderr
    assert "another writer" not in ran.stderr, ran.stderr
    assert repo.read("notes.txt") == MINE
    assert not repo.exists(".gitattributes")
    undone = repo.atomic("undo", env=env)
    assert undone.returncode == 0, undone.stderr
    assert repo.read(".gitattributes") == rule.encode() + b"\n"
    assert repo.read("notes.txt") == MINE
    again = repo.atomic("undo", env=env)
    assert again.returncode == 0, again.stderr
    assert repo.read("notes.txt") == MINE and not repo.exists(".gitattributes")
