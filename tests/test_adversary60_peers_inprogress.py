"""Peers' reports on git's half-finished states and conflict markers around a checkpoint,
played against git-atomic: jj's snapshot in a colocated repository that wiped the state of a
rebase the user had stopped (jj-vcs/jj#9906), a `stash pop` that met a conflict and kept the
stash while leaving the index unmerged (desktop/desktop#7383, gitui-org/gitui#2372), and files
whose bytes hold conflict markers that a tool took for a conflict of its own (jj-vcs/jj#3975).
The oracle is the disk (bytes), the raw index entries, the stash list and git's own files of
the rebase, byte for byte."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from testing.agents import claude_hook, write_call
from testing.gitrepo import GitRepo
from testing.oracle import index_entries


def tree_bytes(top: Path) -> dict[str, bytes]:
    return {str(p.relative_to(top)): p.read_bytes() for p in sorted(top.rglob("*")) if p.is_file()}


def test_a_turn_during_your_stopped_rebase_leaves_the_rebase_as_it_was(repo: GitRepo) -> None:
    """jj-vcs/jj#9906: in a colocated repository, a jj command run while a `git rebase -i`
    was stopped at a `break` took a snapshot that removed git's record of the rebase. The
    same stop here; a Claude Code turn's `Write` call and its Stop (whose gate fails): each
    call says in one line that it is not protected and why, and neither `.git/rebase-merge`,
    HEAD, the index nor your files change under it; `git rebase --continue` then ends the
    rebase as git would have."""
    for n in (1, 2, 3):
        repo.write(f"f{n}", b"%d\n" % n)
        repo.git("add", f"f{n}")
        repo.git("commit", "-qm", f"c{n}")
    repo.git("rebase", "-q", "-i", "HEAD~2", env={"GIT_SEQUENCE_EDITOR": "sed -i '1i break'"})
    rebase = repo.path / ".git" / "rebase-merge"
    state, stopped = tree_bytes(rebase), repo.fingerprint()
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    call = write_call(repo, 1, "bad", "x\n")
    said = [claude_hook(repo, "s1", "PreToolUse", **call)]
    repo.write("bad", b"x\n")
    said.append(claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True}))
    said.append(claude_hook(repo, "s1", "Stop"))
    for ran in said[:2]:
        assert "a rebase is in progress" in json.loads(ran.stdout)["systemMessage"]
        assert ran.stderr.count("\n") == 1, ran.stderr
    assert tree_bytes(rebase) == state
    diff = repo.fingerprint().diff(stopped)
    assert all("bad" in d or ".git-atomic.toml" in d for d in diff), diff
    (repo.path / "bad").unlink()
    repo.git("rebase", "--continue")
    assert not rebase.exists()
    assert repo.git("log", "--format=%s").split() == ["c3", "c2", "c1", "initial"]


def test_a_stash_pop_that_conflicted_is_taken_back_and_brought_again(repo: GitRepo) -> None:
    """desktop/desktop#7383 and gitui-org/gitui#2372: a `stash pop` that meets a conflict
    leaves unmerged entries in the index and keeps the stash; tools then dropped the stash or
    lost track of it. An operation pops your stash onto a file you changed since: git leaves
    `f` unmerged (the command exits 0 all the same). The run is rolled back (exit 1): the
    index, `f`'s bytes and the stash list as before. `undo` brings the conflict back, its
    three stages and markers, the stash still listed, and `git checkout --theirs` then works."""
    repo.write("f", b"base\n")
    repo.git("add", "f")
    repo.git("commit", "-qm", "f")
    repo.write("f", b"stashed\n")
    repo.git("stash", "-q")
    repo.write("f", b"other\n")
    repo.git("commit", "-qam", "other")
    stashes, before = repo.git("stash", "list"), repo.fingerprint()
    ran = repo.atomic("run", "--no-gates", "--", "sh", "-c", "git stash pop; true", check=1)
    assert "unmerged" in ran.stderr
    assert repo.fingerprint().diff(before) == [] and repo.git("stash", "list") == stashes
    repo.atomic("undo", check=0)
    stages = sorted(e[3] for e in index_entries(repo.env, repo.path) if e[0] == b"f")
    assert stages == [1, 2, 3] and repo.git("stash", "list") == stashes
    assert repo.read("f").startswith(b"<<<<<<< ") and b"stashed\n" in repo.read("f")
    repo.git("checkout", "--theirs", "f")
    assert repo.read("f") == b"stashed\n"


def test_bytes_that_look_like_a_conflict_are_only_bytes(repo: GitRepo) -> None:
    """jj-vcs/jj#3975 (jj could not hold its own tutorial, whose text shows conflict markers):
    a file whose content holds `<<<<<<<`, `=======` and `>>>>>>>` lines is a file like any
    other. An operation changes its first line; you change its last: `rollback --op` takes
    the first back and keeps yours and the markers; `undo` brings the operation's back."""
    text = b"top\n<<<<<<< ours\nx\n=======\ny\n>>>>>>> theirs\n" + b"m\n" * 4 + b"bottom\n"
    repo.write("conflicts.md", text)
    repo.git("add", "conflicts.md")
    repo.git("commit", "-qm", "doc")
    script = "sed -i 's/^top$/TOP/' conflicts.md"
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    repo.write("conflicts.md", repo.read("conflicts.md").replace(b"bottom", b"BOTTOM"))
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    assert repo.read("conflicts.md") == text.replace(b"bottom", b"BOTTOM")
    repo.atomic("undo", check=0)
    assert repo.read("conflicts.md") == text.replace(b"bottom", b"BOTTOM").replace(b"top", b"TOP")
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo.path, env=repo.env)
    assert status.returncode == 0
