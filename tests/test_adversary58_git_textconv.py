"""t4030-diff-textconv, t4031-diff-rewrite-binary (stop 58's adversary D): a `diff=<driver>`
attribute whose `diff.<driver>.textconv` is a program of the user's. `show --diff` and `show
--stat` (and `--json`, and the MCP server's `show`, which runs the same command) printed the
program's output as the operation's change, and ran it: a command of the user's started by
git-atomic's own git call, which `--no-ext-diff` kept out for `diff.external` only. The
change shown is the bytes the checkpoints hold, and the program never runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


def _repo(tmp_path: Path) -> tuple[GitRepo, Path, str]:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    ran = tmp_path / "textconv-ran"
    program = f"sh -c 'echo ran >> {ran}; tr a-z A-Z < \"$0\"'"
    repo.git("config", "diff.up.textconv", program)
    repo.write(".gitattributes", b"* diff=up\n")
    repo.write("a", b"old line\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "attributes")
    op = "printf 'new line\\n' > a; printf 'made\\n' > n"
    op_id = str(repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", op)["op_id"])
    return repo, ran, op_id


HOWS = [["--diff"], ["--diff", "--json"], ["--stat"], ["--diff", "--stat"]]


@pytest.mark.parametrize("how", HOWS)
def test_show_prints_the_bytes_and_runs_no_textconv(tmp_path: Path, how: list[str]) -> None:
    repo, ran, op_id = _repo(tmp_path)
    res = repo.atomic("show", op_id, *how, check=0)
    assert not ran.exists(), "the user's textconv program ran"
    assert "NEW" not in res.stdout and "MADE" not in res.stdout, res.stdout
    if how == ["--diff"]:
        assert "+new line" in res.stdout and "+made" in res.stdout, res.stdout
        assert "-old line" in res.stdout, res.stdout


def test_log_and_a_rollback_run_no_textconv(tmp_path: Path) -> None:
    repo, ran, op_id = _repo(tmp_path)
    repo.atomic("log", check=0)
    repo.atomic("rollback", "--op", op_id, "--dry-run", check=0)
    repo.atomic("rollback", "--op", op_id, check=0)
    repo.atomic("undo", check=0)
    assert not ran.exists(), "the user's textconv program ran"
    assert repo.read("a") == b"new line\n"
