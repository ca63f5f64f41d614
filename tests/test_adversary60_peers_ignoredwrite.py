"""Peers' reports on an agent's file tool writing a file git ignores, played against
git-atomic's agent turns: checkpoints that follow `.gitignore` hold nothing of an ignored
`.env` an edit tool overwrote, so a restore that said it restored the project left that file
as the agent wrote it (google-gemini/gemini-cli#1761 and #11243, a `/restore` after which the
edited file was unchanged); Codex's ghost commits force-included the ignored paths its tools
touched for that reason (openai/codex#3914). git-atomic neither captures nor touches ignored
files (SPEC), so the call that overwrote or deleted one is told so at once, in one line that
names the file and the blob holding its bytes before the call; a file git tracks, or an
ignored file the call made, is not named. The oracle: the hook's answer, the blob's bytes and
the disk."""

from __future__ import annotations

import json

from testing.agents import claude_hook, write_call
from testing.gitrepo import GitRepo


def write(repo: GitRepo, n: int, rel: str, data: bytes) -> str:
    """A Claude Code `Write` of `data` at `rel` as session s1's `n`th call: what its
    PostToolUse said to the agent ('' for nothing)."""
    call = write_call(repo, n, rel, data.decode())
    assert claude_hook(repo, "s1", "PreToolUse", **call).stdout == ""
    repo.write(rel, data)
    after = claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
    said: str = json.loads(after.stdout)["systemMessage"] if after.stdout else ""
    assert "\n" not in said and after.stderr.count("\n") == (1 if said else 0), after.stderr
    return said


def test_a_write_over_your_ignored_file_is_named_with_its_old_bytes(repo: GitRepo) -> None:
    """Your ignored `.env` (`SECRET=1`), overwritten by the turn's `Write`: that call's answer
    names `.env` as not protected, and the blob it names holds `SECRET=1`; the turn's gate
    then fails and the turn is taken back, `.env` left as the agent wrote it, as the answer
    said; so is an `Edit` of your ignored `app.log`. A `Write` of a tracked file and one that
    makes a new ignored file name nothing."""
    repo.write(".gitignore", b".env\n*.log\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    repo.write(".env", b"SECRET=1\n")
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    assert write(repo, 1, "README", b"tracked\n") == ""
    assert write(repo, 2, "new.log", b"made\n") == ""
    said = write(repo, 3, ".env", b"SECRET=agent\n")
    assert ".env" in said and "ignored" in said, said
    oid = said.rsplit("git cat-file -p ", 1)[1].split()[0].strip("`).;")
    assert repo.git("cat-file", "-p", oid) == "SECRET=1\n"
    repo.write("app.log", b"line 1\nline 2\n")  # an `Edit` of another ignored file of yours
    edit = {
        "tool_name": "Edit",
        "tool_input": {
            "file_path": str(repo.path / "app.log"),
            "old_string": "line 2",
            "new_string": "edited",
        },
        "tool_use_id": "e1",
    }
    claude_hook(repo, "s1", "PreToolUse", **edit)
    repo.write("app.log", b"line 1\nedited\n")
    done = claude_hook(repo, "s1", "PostToolUse", **edit, tool_response={"success": True})
    assert "not protected (ignored): app.log" in json.loads(done.stdout)["systemMessage"]
    assert write(repo, 4, "bad", b"x\n") == ""
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert answer["decision"] == "block", answer
    assert repo.read("README") == b"hello\n" and not repo.exists("bad")
    assert repo.read(".env") == b"SECRET=agent\n" and repo.read("new.log") == b"made\n"
    assert repo.read("app.log") == b"line 1\nedited\n"
