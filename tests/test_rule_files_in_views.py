"""Every ignore-rule file git reads is one to the views and to an agent turn's notes, as it is to
the engine (engine/unseen.py, tests/test_excludes_file_in_tree.py): a `.gitignore`, the
repository's `.git/info/exclude`, and a `core.excludesFile` that is a file of the worktree;
`core.attributesFile` in the worktree as a `.gitattributes`.

- `log` and `show --stat` counted `.env` (there before, ignored) as the operation's new file
  when the operation emptied `.git/info/exclude` or the worktree's excludes file: they looked
  for a changed `.gitignore` only. Its rollback leaves `.env` (the rules come back first).
- A file tool's call (Claude Code's `Write`) on the worktree's excludes file was noted as a
  file alone, no checkpoint: what its new rules show or hide was no step's.

The oracle is the disk (the bytes of `.env`, the files after a rollback)."""

from __future__ import annotations

import time

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo

# (how the rules that ignore `.env` are given, the operation's script that empties them)
RULES = {
    "gitignore": (".gitignore", ": > .gitignore", "2 files +1 -1"),
    "info/exclude": (".git/info/exclude", ": > .git/info/exclude", "1 file +1"),
    "excludesFile relative": (".myignore", ": > .myignore", "2 files +1 -1"),
    "excludesFile absolute": (".myignore", ": > .myignore", "2 files +1 -1"),
    "excludesFile in a folder": ("conf/ign", ": > conf/ign", "2 files +1 -1"),
}


def _rules(repo: GitRepo, how: str) -> None:
    where, _, _ = RULES[how]
    repo.write(where, b".env\n")
    if how.startswith("excludesFile"):
        named = f"{repo.path}/{where}" if how.endswith("absolute") else where
        repo.git("config", "core.excludesFile", named)
    if not where.startswith(".git/"):
        repo.git("add", where)
        repo.git("commit", "-qm", "rules")
    repo.write(".env", b"SECRET=hunter2\n")
    time.sleep(0.05)  # older than the operation's capture by more than the clock's grain


@pytest.mark.parametrize("how", sorted(RULES))
def test_stat_views_do_not_count_a_file_only_the_emptied_rules_show(
    repo: GitRepo, how: str
) -> None:
    _rules(repo, how)
    script = RULES[how][1] + "; echo b > b"
    done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", script)

    log = repo.atomic("log", check=0).stdout
    shown = repo.atomic("show", done["op_id"], "--stat", check=0).stdout
    diff = repo.atomic("show", done["op_id"], "--diff", check=0).stdout

    assert ".env |" not in shown, shown
    assert "not counted: .env, which the rules of the state before ignore" in shown, shown
    assert RULES[how][2] in log, log
    assert f"change    {RULES[how][2]}" in shown, shown
    assert "hunter2" not in diff, diff
    repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert repo.read(".env") == b"SECRET=hunter2\n"  # what the count said: it stays
    assert not repo.exists("b")


@pytest.mark.parametrize("setting", ["core.excludesFile", "core.attributesFile"])
def test_a_file_tool_writing_a_rule_file_of_the_worktree_takes_a_checkpoint(
    repo: GitRepo, setting: str
) -> None:
    """After the turn's first step, a `Write` names its file and is noted alone (turnfiles.py),
    but a rule file's change is more than itself: `.gitignore` and `.gitattributes` took a
    checkpoint, the worktree's excludes or attributes file did not. The turn's Stop, its gate
    failing, takes back the rule file's change: `.env`'s rule comes back, `.env` stays."""
    repo.write(".myrules", b".env\n" if setting == "core.excludesFile" else b"*.txt text\n")
    repo.git("add", ".myrules")
    repo.git("commit", "-qm", "rules")
    repo.git("config", setting, ".myrules")
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    session = "6f1d7c40-0000-4c55-9e0a-ddddddddddd1"
    claude_hook(repo, session, "UserPromptSubmit", prompt="go")
    first = {"tool_name": "Bash", "tool_input": {"command": "touch bad"}, "tool_use_id": "c1"}
    claude_hook(repo, session, "PreToolUse", **first)
    repo.write("bad", b"")
    claude_hook(repo, session, "PostToolUse", **first, tool_response={})
    path = str(repo.path / ".myrules")
    write = {
        "tool_name": "Write",
        "tool_input": {"file_path": path, "content": "\n"},
        "tool_use_id": "c2",
    }
    claude_hook(repo, session, "PreToolUse", **write)
    record = next((repo.path / ".git" / "atomic" / "turns").rglob("*.json")).read_text()
    assert '"files-noted"' not in record and "files_noted" not in record, record
    repo.write(".myrules", b"\n")
    claude_hook(repo, session, "PostToolUse", **write, tool_response={})
    claude_hook(repo, session, "Stop", stop_hook_active=False)
    assert not repo.exists("bad")
    assert repo.read(".myrules") != b"\n"
