"""`recover` after a kill, where the operation changed only what git keeps beside the files:
it pushed a stash (`git stash` takes its own change off the disk), dropped one of yours,
or wrote a line to `.git/info/exclude`. `recover` looked only at the files, the index, HEAD,
the branches and git's in-progress state before restoring, found "nothing to do" and said
"back at its exact PRE-OP state" with the operation's stash on your list (yours dropped, its
exclude line kept), where a failed run's rollback and `abort` put them back.
"""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo

OPS = {
    "stash-pushed": "echo x >> README && git stash -q",
    "stash-dropped": "git stash drop -q",
    "exclude-line": "echo '*.tmp' >> .git/info/exclude",
}


@pytest.mark.parametrize("op", list(OPS))
def test_recover_puts_back_what_git_keeps_beside(repo: GitRepo, op: str) -> None:
    repo.write("README", b"stashed\n")
    repo.git("stash", "-q")
    repo.write("wip", b"yours\n")
    exclude = repo.path / ".git" / "info" / "exclude"
    before, stashes, rules = repo.fingerprint(), repo.git("stash", "list"), exclude.read_bytes()
    failpoint = {"GIT_ATOMIC_FAILPOINT": "checkpoint:op_exec:after-journal"}
    killed = repo.atomic("run", "--no-gates", "--", "sh", "-c", OPS[op], env=failpoint)
    assert killed.returncode == -9, killed.stderr
    res = repo.atomic("recover", check=0)
    assert repo.fingerprint().diff(before) == [], res.stderr
    assert repo.git("stash", "list") == stashes, res.stderr
    assert exclude.read_bytes() == rules, res.stderr
