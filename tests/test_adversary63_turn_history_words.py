"""An agent turn in commits mode (hooks installed with `--history commits`) with no git
identity (user.name unset since) is kept, its changes left in the working tree, and the agent
was told "not committed (... or use --history shadow)": no command the turn ran takes that
option. It now says the hooks' own: `git atomic hooks install claude-code --history shadow`.
The oracle: the Stop answer's message, the branch, the files on disk."""

from __future__ import annotations

from testing.gitrepo import GitRepo
from tests.test_agents_hooks import ClaudeCode, edit, repo, stop

__all__ = ["repo"]

IDENTITY = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")


def test_a_commits_mode_turn_with_no_identity_names_the_hooks_history(repo: GitRepo) -> None:
    repo.atomic("hooks", "install", "claude-code", "--history", "commits", check=0)
    repo.git("config", "user.name", "Dev Eloper")
    repo.git("config", "user.email", "dev@example.com")
    repo.write("app.py", b"def answer():\n    x\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "app, hooks in commits mode")
    head = repo.head()
    for name in IDENTITY:
        repo.env.pop(name, None)
    repo.git("config", "--unset", "user.name")
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "return 42")])
    [answer] = claude.send(stop())
    said = answer.json()["systemMessage"]
    assert "not committed (commits mode needs your git identity" in said, said
    assert "`git atomic hooks install claude-code --history shadow`" in said, said
    assert "use --history shadow" not in said, said
    assert repo.head() == head
    assert repo.read("app.py") == b"def answer():\n    return 42\n"
