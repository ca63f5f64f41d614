"""A failing git call keeps git's words: one line for the user, the whole story in a log file."""

from __future__ import annotations

import json
from pathlib import Path

from git_atomic.core.errors import GitError
from testing.gitrepo import GitRepo


def _corrupt_index(repo: GitRepo) -> None:
    repo.write("a", b"a\n")
    repo.git("add", "a")
    (repo.path / ".git" / "index").write_bytes(b"DIRC\0\0\0\2\0\0\0\1garbage")


def test_git_failure_is_one_line_pointing_at_a_log_with_git_s_output(
    repo: GitRepo, tmp_path: Path
) -> None:
    _corrupt_index(repo)
    logs = tmp_path / "logs"
    logs.mkdir()
    res = repo.atomic("begin", "x", check=3, env={"GIT_ATOMIC_LOG_DIR": str(logs)})
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    (log,) = logs.iterdir()
    assert lines[0].endswith(f"git's full output in {log}")
    text = log.read_text()
    # The full command, its exit code, git's stderr whole, and the versions.
    assert "argv: ['git', " in text and "exit code: 128" in text
    assert "index file smaller than expected" in text
    assert "git: git version " in text and "python: 3." in text and "git-atomic: " in text
    assert "command: git-atomic begin x" in text


def test_json_error_names_the_log(repo: GitRepo, tmp_path: Path) -> None:
    _corrupt_index(repo)
    res = repo.atomic("begin", "x", "--json", check=3, env={"GIT_ATOMIC_LOG_DIR": str(tmp_path)})
    out = json.loads(res.stdout)
    assert out["exit_code"] == 3 and Path(out["log"]).parent == tmp_path
    assert "index file" in Path(out["log"]).read_text()


def test_unwritable_log_folder_still_gives_one_true_line(repo: GitRepo, tmp_path: Path) -> None:
    _corrupt_index(repo)
    res = repo.atomic("begin", "x", check=3, env={"GIT_ATOMIC_LOG_DIR": str(tmp_path / "none")})
    assert "(no log written: No such file or directory)" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_git_s_advice_is_never_the_line_shown() -> None:
    """git ends many refusals with its advice (`hint: Disable this message with ...`), which
    was all the user read of why the call failed."""
    stderr = (
        b"The following paths and/or pathspecs matched paths that exist\n"
        b"outside of your sparse-checkout definition, so will not be\n"
        b"updated in the index:\nita\n"
        b"hint: If you intend to update such entries, try one of the following:\n"
        b'hint: Disable this message with "git config advice.updateSparsePath false"\n'
    )
    error = GitError(["git", "add", "-N", "-f"], 1, b"", stderr)
    assert error.message == "git add -N failed: ita"
    assert GitError(["git", "add"], 1, b"", b"hint: only advice\n").message == (
        "git add failed: exit status 1"
    )
