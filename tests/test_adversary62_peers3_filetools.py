"""Peers' reports on a checkpoint that held nothing of a file while its restore said it
restored the project, played against git-atomic's agent turns with Claude Code's file tools:
a pre-execution checkpoint that skipped files over its size limit and a rollback that still
said it succeeded (shisa-ai/shisad#131), and a `/restore` after which an ignored file the
agent's edit tool had written stayed as written (google-gemini/gemini-cli#1761, #11243).
git-atomic holds neither a new file over `max_new_file_size` nor an ignored file, and says so
at the call that wrote it (docs/agents.md), the turn's first call included: before, a `Write`
made such a file unsaid, as the turn's first call or any later one, and a first call's write
over an ignored file of yours was unsaid too. The oracle: each call's answer and the disk."""

from __future__ import annotations

import json
import re

import pytest

from testing.agents import claude_hook, platform_hook
from testing.gitrepo import GitRepo
from tests.test_adversary58_agents_outside import OTHER_EVENTS, _other_call
from tests.test_adversary60_peers_ignoredwrite import write  # (a Write through both hooks)

BIG = b"x" * 300  # over the budget below


@pytest.mark.parametrize("first", [True, False], ids=["first call", "after a step"])
def test_a_write_no_checkpoint_holds_is_said_at_its_call(repo: GitRepo, first: bool) -> None:
    """A `Write` over your ignored `.env`, then a `Write` that makes `big.bin` over the budget,
    as the turn's first calls or after a call that made a step: each call's own answer names
    its file (the ignored one with the blob of its bytes before), and the turn, taken back at
    Stop, leaves both as they were said to stay."""
    repo.write(".gitignore", b".env\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    repo.write(".env", b"SECRET=1\n")
    gate = b'max_new_file_size = 100\n[[gates]]\nname = "g"\nrun = "test ! -e bad"\n'
    repo.write(".git-atomic.toml", gate)
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    n = 1
    if not first:
        assert write(repo, n, "a.txt", b"a step\n") == ""
        n += 1
    said = write(repo, n, ".env", b"SECRET=agent\n")
    assert "not protected (ignored): .env" in said, said
    oid = said.rsplit("git cat-file -p ", 1)[1].split()[0].strip("`).;")
    assert repo.git("cat-file", "-p", oid) == "SECRET=1\n"
    said = write(repo, n + 1, "big.bin", BIG)
    assert "not protected (larger than max_new_file_size): big.bin" in said, said
    assert write(repo, n + 2, "bad", b"x\n") == ""
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert answer["decision"] == "block", answer
    assert not repo.exists("bad") and not repo.exists("a.txt")
    assert repo.read(".env") == b"SECRET=agent\n" and repo.read("big.bin") == BIG


def test_other_platforms_file_tools_writing_an_ignored_file_are_told(repo: GitRepo) -> None:
    """google-gemini/gemini-cli#1761 and #11243 are Gemini CLI's own: its `write_file` over
    your ignored `.env` (and Codex's `apply_patch`, which names its files in a patch) is told
    at its `AfterTool`/`PostToolUse`, with the blob of the bytes before; before, only Claude
    Code's file tools were. A write of a tracked file says nothing of it."""
    repo.write(".gitignore", b".env\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "true"\n')
    for platform in ("gemini", "codex"):
        repo.write(".env", b"S=1\n")
        before, after = OTHER_EVENTS[platform]
        for target, told in ((repo.path / ".env", True), (repo.path / "README", False)):
            platform_hook(repo, platform, before, _other_call(platform, repo, target, before))
            target.write_bytes(b"after\n")
            ran = platform_hook(repo, platform, after, _other_call(platform, repo, target, after))
            said = ran.stdout + ran.stderr
            assert ("not protected (ignored): .env" in said) == told, (platform, said)
            if told:
                oid = re.findall(r"git cat-file -p ([0-9a-f]{40})", said)[-1]
                assert repo.git("cat-file", "-p", oid) == "S=1\n"
        repo.git("checkout", "--", "README")
