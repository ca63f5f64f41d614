"""The suite's fork server (testing/forkserver.py) answers as a new interpreter would: the same
exit codes, output and errors, a kill at a failpoint, standard input, and a call whose start-up
environment differs runs as a new interpreter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from testing import gitrepo
from testing.gitrepo import GitRepo

CALLS: list[tuple[tuple[str, ...], bytes | None, dict[str, str]]] = [
    (("status",), None, {}),
    (("begin", "work", "--json"), None, {}),
    (("checkpoint", "-m", "one"), None, {}),
    (("status", "--json"), None, {}),
    (("rollback", "--to", "refs/atomic/nope"), None, {}),
    (("abort",), None, {}),
    (("log",), None, {}),
    (("undo", "--json"), None, {}),
    (("no-such-command",), None, {}),
    (("hook", "claude-code", "UserPromptSubmit"), b'{"session_id": "s", "cwd": "."}', {}),
    (("begin", "killed"), None, {"GIT_ATOMIC_FAILPOINT": "begin:after-journal@1"}),
    (("recover",), None, {}),
]


def _plain(text: str) -> str:
    text = re.sub(r"\b[0-9a-f]{7,64}\b", "<id>", text)
    text = re.sub(r"/tmp/\S+", "<path>", text)
    text = re.sub(r"\d+(\.\d+)?", "<n>", text)
    return re.sub(r"<n> (second|minute|hour|day)s?\b", r"<n> \1", text)


def _session(repo: GitRepo) -> list[tuple[int, str, str]]:
    (repo.path / "file.txt").write_bytes(b"changed\n")
    said = []
    for args, stdin, env in CALLS:
        res = repo.atomic(*args, input=stdin, env=env)
        said.append((res.returncode, _plain(res.stdout), _plain(res.stderr)))
    return said


def test_a_forked_call_says_what_a_new_interpreter_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forked = GitRepo.create(tmp_path / "a" / "repo", tmp_path / "a" / "home")
    assert gitrepo.forked(["--version"], forked.path, forked.env, None, 60) is not None
    by_fork = _session(forked)
    monkeypatch.setattr(gitrepo, "FORK", False)
    fresh = GitRepo.create(tmp_path / "b" / "repo", tmp_path / "b" / "home")
    assert _session(fresh) == by_fork
    codes = [code for code, _, _ in by_fork]
    assert codes[-2] == -9 and codes[0] == 0 and 0 not in (codes[4], codes[8])


def test_a_call_started_otherwise_is_a_new_interpreter(repo: GitRepo) -> None:
    assert gitrepo.forked(["--version"], repo.path, repo.env, None, 60) is not None
    other = {**repo.env, "PYTHONIOENCODING": "latin-1"}
    assert gitrepo.forked(["--version"], repo.path, other, None, 60) is None
