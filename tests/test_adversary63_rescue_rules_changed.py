"""A failed operation that changed the ignore rules git reads from outside the tree (a line
added to `.git/info/exclude`, as cline/cline#14367's restore met an ignore file that changed
under it) and wrote a tracked file: its rollback said "files, index and branches are as
before" and left the file as the operation wrote it, and its rescue held the file as it was
before the operation (nothing could bring the operation's bytes back).

The rescue's scan starts from the scan index its restore goes back to and does not bring that
index up to date (scan.goes_back); a rule changed since makes the scan reconcile its tree with
your index's paths, and that reconcile wrote the tree from the scan index: the file's change
the scan had found was lost. The suite's GIT_ATOMIC_VERIFY_SCAN brings that index up to date
anyway, which hid it (tests/test_git_cases.py's `ignored-by-a-new-info-exclude-rule` passes
with it, fails without). Run here without it, as users run it, and with it. The oracle: the
disk's bytes and `undo`'s."""

from __future__ import annotations

import pytest

from testing.agents import shell_turn
from testing.gitrepo import GitRepo

RULES = {
    "info/exclude gains a rule": "printf '*.log\\n' >> .git/info/exclude",
    "info/exclude loses one": "printf '' > .git/info/exclude",
    "core.excludesFile set": "printf '*.log\\n' > ../ignores; "
    "git config core.excludesFile ../ignores",
}


@pytest.mark.parametrize("verify", ["0", "1"], ids=["as users run it", "suite's check"])
@pytest.mark.parametrize("history", ["shadow", "commits"])
@pytest.mark.parametrize("rule", sorted(RULES))
def test_a_failed_operation_that_changed_the_rules_is_rolled_back_whole(
    repo: GitRepo, rule: str, history: str, verify: str
) -> None:
    env = {"GIT_ATOMIC_VERIFY_SCAN": verify}
    (repo.path / ".git" / "info" / "exclude").write_bytes(b"secret/\n*.tmp\n")
    repo.write("secret/key", b"s\n")
    repo.write("user.log", b"u\n")
    repo.write("keep.tmp", b"t\n")
    command = f"{RULES[rule]}; printf 'x\\n' > debug.log; printf 'y\\n' >> README; exit 1"
    ran = repo.atomic(
        "run", "-n", "op", "--history", history, "--no-gates", "--", "sh", "-c", command, env=env
    )
    assert ran.returncode == 1, ran.stderr
    assert repo.read("README") == b"hello\n", ran.stderr
    # (A file a rule outside the worktree ignored when the operation ended is no checkpoint's:
    # left, as every ignored file is; .git/info/exclude is the repository's own, restored.)
    outside = rule.startswith("core.")
    assert repo.exists("debug.log") == outside
    assert repo.read("user.log") == b"u\n" and repo.read("keep.tmp") == b"t\n"
    if outside:  # configuration is in no checkpoint: left, and said (docs/limits.md)
        assert "excludesFile = ../ignores" in ran.stderr, ran.stderr
    undone = repo.atomic("undo", env=env)
    assert undone.returncode == 0, undone.stderr
    assert repo.read("README") == b"hello\ny\n"
    assert repo.read("debug.log") == b"x\n"
    if not outside:
        undone = repo.atomic("undo", env=env)
        assert undone.returncode == 0, undone.stderr
        assert repo.read("README") == b"hello\n" and not repo.exists("debug.log")


@pytest.mark.parametrize("verify", ["0", "1"], ids=["as users run it", "suite's check"])
@pytest.mark.parametrize("rule", sorted(r for r in RULES if not r.startswith("core.")))
def test_a_failed_turn_that_changed_the_rules_is_taken_back_whole(
    repo: GitRepo, rule: str, verify: str
) -> None:
    """The same through an agent's turn (Claude Code's `Bash` calls, a gate that fails at
    Stop): the turn's take-back restores README and `undo` brings the turn's bytes back."""
    repo.env["GIT_ATOMIC_VERIFY_SCAN"] = verify  # every hook call and command of the test
    (repo.path / ".git" / "info" / "exclude").write_bytes(b"secret/\n*.tmp\n")
    repo.write("user.log", b"u\n")
    answer = shell_turn(
        repo, RULES[rule], "printf 'x\\n' > debug.log; printf 'y\\n' >> README; echo x > bad"
    )
    assert answer.get("decision") == "block", answer
    assert repo.read("README") == b"hello\n" and not repo.exists("bad")
    assert repo.read("user.log") == b"u\n"
    undone = repo.atomic("undo")
    assert undone.returncode == 0, undone.stderr
    assert repo.read("README") == b"hello\ny\n"


@pytest.mark.parametrize("verify", ["0", "1"], ids=["as users run it", "suite's check"])
@pytest.mark.parametrize("how", ["abort", "step back"])
def test_an_open_operation_that_changed_the_rules_goes_back_whole(
    repo: GitRepo, how: str, verify: str
) -> None:
    """`begin`, your edits under a new .git/info/exclude rule, then `abort` (which said "the
    tree is back at PRE-OP" and left README as edited: failed before e7582d00) or a step
    back to a checkpoint (`rollback` inside the operation)."""
    repo.env["GIT_ATOMIC_VERIFY_SCAN"] = verify
    repo.write("user.log", b"u\n")
    assert repo.atomic("begin", "op").returncode == 0
    if how == "step back":
        assert repo.atomic("checkpoint", "-m", "s1").returncode == 0
    (repo.path / ".git" / "info" / "exclude").write_bytes(b"*.log\n")
    repo.write("debug.log", b"x\n")
    repo.write("README", b"hello\ny\n")
    ran = repo.atomic("abort" if how == "abort" else "rollback")
    assert ran.returncode == 0, ran.stderr
    assert repo.read("README") == b"hello\n" and not repo.exists("debug.log")
    assert repo.atomic("undo").returncode == 0
    assert repo.read("README") == b"hello\ny\n" and repo.read("debug.log") == b"x\n"
