"""A new file over `max_new_file_size` that an agent's call makes is in no checkpoint: taking
the turn back leaves it. The turn was told so only at its Stop, after the fact (B, stop 56);
now the call's own PostToolUse says it, to the person and to the model, once."""

from __future__ import annotations

from testing.gitrepo import GitRepo
from tests.test_agents_hooks import ClaudeCode, bash, repo, stop, tool_call

__all__ = ["repo"]


def test_the_call_that_makes_a_file_too_large_to_hold_is_told_at_once(repo: GitRepo) -> None:
    repo.write(".git-atomic.toml", b"max_new_file_size = 100\n" + repo.read(".git-atomic.toml"))
    repo.git("commit", "-qam", "budget")
    claude = ClaudeCode(repo)
    pre, post = bash(repo, 1, "make data", lambda: None)[0]
    claude.send(pre)
    repo.write("data.bin", b"x" * 5000)
    repo.write("small.txt", b"s\n")
    [answer] = claude.send(post)
    said = answer.json()
    text = said["systemMessage"]
    assert "not protected (larger than max_new_file_size): data.bin" in text, said
    assert "small.txt" not in text
    assert "data.bin" in said["hookSpecificOutput"]["additionalContext"], said
    # Told once: a later call that leaves it there says nothing of it.
    pre2, post2 = tool_call("Bash", {"command": "echo y > other.txt"}, 2)
    claude.send(pre2)
    repo.write("other.txt", b"y\n")
    answers = claude.send(post2)
    assert all("data.bin" not in a.stdout for a in answers), answers
    claude.send(stop())
    assert repo.read("data.bin") == b"x" * 5000  # left, as said
