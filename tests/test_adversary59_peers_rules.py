"""Peers' reports on ignore rules changed around a checkpoint restore, played against
git-atomic: Cline's restore that put back an older `.gitignore` and then ran `git clean -fd`,
which deleted for good the files the newer rules had hidden (cline/cline#14367), with the
rules in a `.gitignore` you had not committed yet or in `.git/info/exclude`, taken back by a
failed run, `rollback --op`, a whole restore, `emergency` and an agent turn. The oracle is
the disk: bytes and permission bits, by lstat."""

from __future__ import annotations

import os
import stat

import pytest

from testing.agents import shell_turn
from testing.gitrepo import GitRepo
from testing.oracle import disk

RULES = b"out/\n*.log\n"


def commit_all(repo: GitRepo) -> None:
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")


def hidden_files(repo: GitRepo) -> None:
    """Files the rules hide: build output, a log, and your `.env` (0600)."""
    repo.write("out/big.bin", b"\0build output")
    repo.write("run.log", b"log\n")
    repo.write(".env", b"SECRET=1\n", mode=0o600)


@pytest.mark.parametrize("where", ["uncommitted", "info/exclude"])
def test_a_rule_the_operation_dropped_takes_none_of_the_files_it_hid(
    repo: GitRepo, where: str
) -> None:
    """cline/cline#14367: a restore reverted an uncommitted `.gitignore`, then cleaned the
    files no rule hid any more, and the user's untracked files were gone for good. Here an
    operation drops the rules (a `.gitignore` you had not committed yet, the repository's own
    `.git/info/exclude`) and appends to a file they hid: its failed run, and
    `rollback --op` of a kept one over a later file of yours, bring the rules back and delete
    none of the files they hid (the log keeps at least its first bytes: no checkpoint held it)."""
    if where == "info/exclude":
        (repo.path / ".git" / "info" / "exclude").write_bytes(RULES + b".env\n")
        drop = "printf '' > .git/info/exclude"
    else:
        repo.write(".gitignore", RULES + b".env\n")
        drop = "printf 'other\\n' > .gitignore"
    hidden_files(repo)
    before = disk(repo.path, modes=True)
    script = f"{drop} && echo more >> run.log && echo x > new.txt"
    repo.atomic("run", "--", "sh", "-c", f"{script}; exit 1", check=1)
    now = disk(repo.path, modes=True)
    assert now.pop(b"run.log")[1].startswith(b"log\n")
    before.pop(b"run.log")
    assert now == before
    op = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", op["op_id"], check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"later.txt")[1] == b"yours\n"
    assert now.pop(b"run.log")[1].startswith(b"log\n")
    assert now == before


def test_a_whole_restore_names_the_hidden_files_it_drops_and_undo_brings_them_back(
    repo: GitRepo,
) -> None:
    """cline/cline#14367 again, where going back to the whole earlier state is what you ask
    for: rules you added since (and the files they hide) are "what came after". `rollback
    --whole --dry-run` names each such file; the restore drops them, and `undo` brings each
    back byte for byte with its permission bits (`.env` stays 0600); `emergency` the same."""
    repo.write(".gitignore", b"*.tmp\n")
    commit_all(repo)
    op = repo.atomic_json(
        "run", "--no-gates", "--history", "shadow", "--", "sh", "-c", "echo x > x"
    )
    repo.write(".gitignore", b"*.tmp\n" + RULES + b".env\n")
    hidden_files(repo)
    before = disk(repo.path, modes=True)
    listed = repo.atomic("rollback", "--op", op["op_id"], "--whole", "--dry-run", check=0)
    for name in ("out/big.bin", "run.log", ".env"):
        assert f"delete  {name}" in listed.stdout, listed.stdout
    assert disk(repo.path, modes=True) == before
    for command in (("rollback", "--op", op["op_id"], "--whole"), ("emergency",)):
        repo.atomic(*command, check=0)
        assert not repo.exists(".env") and not repo.exists("out/big.bin")
        repo.atomic("undo", check=0)
        assert disk(repo.path, modes=True) == before
        assert stat.S_IMODE(os.lstat(repo.path / ".env").st_mode) == 0o600


def test_a_turn_that_put_back_the_committed_rules_leaves_your_hidden_files(
    repo: GitRepo,
) -> None:
    """The same report through an agent: a Claude Code turn's shell call checks out the
    committed `.gitignore` over the rules you had added to it uncommitted (`git checkout --
    .gitignore`), so your `out/` and `.env` show as untracked; its gate fails and the turn is
    taken back at Stop: your rules come back and every file they hide stays as it was."""
    repo.write(".gitignore", b"*.tmp\n")
    commit_all(repo)
    repo.write(".gitignore", b"*.tmp\n" + RULES + b".env\n")
    hidden_files(repo)
    before = disk(repo.path, modes=True)
    answer = shell_turn(repo, "git checkout -- .gitignore", "echo x > bad")
    assert answer["decision"] == "block", answer
    now = disk(repo.path, modes=True)
    now.pop(b".git-atomic.toml")
    assert now == before


@pytest.mark.parametrize("case", ["it-revealed", "you-hid"])
def test_a_file_a_rule_hides_now_is_named_as_there_never_as_gone(repo: GitRepo, case: str) -> None:
    """cline/cline#14367's other side: what the take-back says of a file a rule hides now.
    An operation drops the `build/` rule, so your `build/out.o` shows in its checkpoints, and
    you put the rule back by hand; or it writes `out.log` and you then ignore `*.log`.
    `rollback --op` leaves the file as it is (no checkpoint of the state now holds it), and
    says so: never that it is "gone from there since", which it is not."""
    repo.write(".gitignore", b"build/\n")
    commit_all(repo)
    if case == "it-revealed":
        repo.write("build/out.o", b"\x7fELF yours")
        script, name = "printf '' > .gitignore && echo x > x.txt", "build/out.o"
    else:
        script, name = "echo log > out.log && echo x > x.txt", "out.log"
    op = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    repo.write(".gitignore", b"build/\n*.log\n" if case == "you-hid" else b"build/\n")
    kept = repo.read(name)
    dry = repo.atomic("rollback", "--op", op["op_id"], "--dry-run", check=0)
    res = repo.atomic("rollback", "--op", op["op_id"], check=0)
    assert repo.read(name) == kept and not repo.exists("x.txt")
    for said in (dry.stderr, res.stderr):
        assert "gone" not in said, said
        assert f"{name}, which its checkpoints held, is ignored now: left as it is" in said, said
