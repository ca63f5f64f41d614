"""Peers' reports on paths an operation removed and made again, brought back, or made by the
thousand, played against git-atomic: Copilot's agent-mode undo that could not bring back a
file the agent had deleted and then created again (microsoft/vscode#317021), a rewind that
left files the checkpoint had as deleted (entireio/cli#1408), checkpoints in a workspace
where a package manager writes thousands of files (cline/cline#4519), and an undo after the
branch had received commits of yours since (git-town/git-town#3096). The oracle is the disk
(bytes, modes, link targets), the index and the branch. Also a working-set undo of one file
that left the file an agent had made (microsoft/vscode#264707)."""

from __future__ import annotations

import json
import os
import sys

import pytest

from testing.agents import claude_hook, write_call
from testing.gitrepo import GitRepo
from testing.oracle import disk

TEN = b"".join(b"line %d\n" % i for i in range(1, 11))
GATE = b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n'


def commit_all(repo: GitRepo) -> None:
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")


def with_three_kinds(repo: GitRepo) -> None:
    """A committed executable script, a link to a committed file, an untracked file."""
    repo.write("f.sh", b"#!/bin/sh\necho original\n", mode=0o755)
    repo.write("g.txt", b"g\n")
    commit_all(repo)
    os.symlink("g.txt", repo.path / "ln")
    repo.write("u.txt", b"untracked\n")


def test_a_turn_that_deleted_files_then_wrote_them_again_is_taken_back(repo: GitRepo) -> None:
    """microsoft/vscode#317021: the agent deleted a file and created it again; undo left it
    deleted, its first content lost. A Claude Code turn removes an executable script, a link
    and an untracked file with a shell call, then `Write`s each name again as a plain file;
    its gate fails: each comes back as it was (bytes, 0755, the link's target)."""
    with_three_kinds(repo)
    before = disk(repo.path, modes=True)
    repo.write(".git-atomic.toml", GATE)
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    call = {"tool_name": "Bash", "tool_input": {"command": "rm f.sh ln u.txt"}, "tool_use_id": "b"}
    claude_hook(repo, "s1", "PreToolUse", **call)
    for rel in ("f.sh", "ln", "u.txt"):
        os.unlink(repo.path / rel)
    claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
    for n, rel in enumerate(("f.sh", "ln", "u.txt", "bad")):
        fields = write_call(repo, n, rel, "new\n")
        claude_hook(repo, "s1", "PreToolUse", **fields)
        repo.write(rel, b"new\n")
        claude_hook(repo, "s1", "PostToolUse", **fields, tool_response={"success": True})
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}")
    assert answer.get("decision") == "block", answer
    now = disk(repo.path, modes=True)
    now.pop(b".git-atomic.toml")
    assert now == before


def test_files_deleted_and_made_again_by_a_kept_operation_come_back(repo: GitRepo) -> None:
    """microsoft/vscode#317021 for a kept `run`: it deletes the same three and makes each
    name again; `rollback --op` over a later file of yours brings each back as it was."""
    with_three_kinds(repo)
    before = disk(repo.path, modes=True)
    script = "rm f.sh ln u.txt && for f in f.sh ln u.txt; do echo new > $f; done"
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"later.txt")[1] == b"yours\n" and now == before


def test_files_you_had_deleted_that_the_operation_brought_back_go_again(repo: GitRepo) -> None:
    """entireio/cli#1408: a rewind did not remove files that were deleted at the checkpoint.
    You deleted `a.txt` (not staged) and `git rm`ed `b.txt`; an operation brings both back
    (`git reset --hard`) and fails: both are gone again and the index stages b's deletion as
    before. A kept one (`git checkout HEAD -- a.txt b.txt`), then `rollback --op` over a later
    file of yours: the same."""
    repo.write("a.txt", b"a\n")
    repo.write("b.txt", b"b\n")
    commit_all(repo)
    os.unlink(repo.path / "a.txt")
    repo.git("rm", "-q", "b.txt")
    state = repo.fingerprint()
    repo.atomic("run", "--", "sh", "-c", "git reset -q --hard; exit 1", check=1)
    assert repo.fingerprint().diff(state) == []
    script = "git checkout -q HEAD -- a.txt b.txt"
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    os.unlink(repo.path / "later.txt")
    assert repo.fingerprint().diff(state) == []


def test_thousands_of_files_an_install_made_go_and_yours_among_them_stays(
    repo: GitRepo,
) -> None:
    """cline/cline#4519: a package manager's thousands of files made every checkpoint slow.
    An operation writes 300 files in 20 new folders (not ignored); you then add a file in
    one of them: `rollback --op` removes the operation's files and the folders they alone
    filled, and yours stays with its folder."""
    before = disk(repo.path, modes=True)
    make = (
        "import os\nfor i in range(300):\n    d = 'node_modules/p%d' % (i % 20)\n"
        "    os.makedirs(d, exist_ok=True)\n    open('%s/f%d' % (d, i), 'w').write(str(i))\n"
    )
    out = repo.atomic_json(
        "run", "--no-gates", "--history", "shadow", "--", sys.executable, "-c", make
    )
    repo.write("node_modules/p3/mine.txt", b"mine\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"node_modules/p3/mine.txt")[1] == b"mine\n"
    assert {now.pop(b"node_modules"), now.pop(b"node_modules/p3")} == {("dir",)}
    assert now == before


@pytest.mark.parametrize("yours", ["amend", "rebase"])
def test_a_commit_of_the_operations_you_rewrote_stays_on_your_branch(
    repo: GitRepo, yours: str
) -> None:
    """git-town/git-town#3096: an undo reset a branch that had received other commits since.
    In commits mode an operation commits its change; you then rewrite that commit (`commit
    --amend` with your words, or a rebase over it and a commit of yours): `rollback --op`
    leaves the branch on your commit and takes the change back in the files and the index."""
    repo.write("f.txt", TEN)
    commit_all(repo)
    script = "echo x > x.txt && sed -i 's/^line 2$/TWO/' f.txt"
    out = repo.atomic_json("run", "--no-gates", "--history", "commits", "--", "sh", "-c", script)
    if yours == "amend":
        repo.git("commit", "-q", "--amend", "-m", "my words")
    else:
        repo.write("y.txt", b"y\n")
        commit_all(repo)
        repo.git("rebase", "-q", "--force-rebase", "HEAD~2")
    head = repo.head()
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    assert repo.head() == head and repo.git("symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert repo.read("f.txt") == TEN and not repo.exists("x.txt")
    assert repo.git("diff", "--cached", "--name-status", "--no-renames") == "M\tf.txt\nD\tx.txt\n"


def test_a_file_it_made_taken_back_alone_goes_with_its_folders(repo: GitRepo) -> None:
    """microsoft/vscode#264707: undoing one file of an agent's change emptied a file it had
    created instead of removing it. An operation makes and stages `new/dir/f.txt`, makes
    `keep.txt` and edits `README`: `rollback --to PRE-OP -- new/dir/f.txt` removes that file,
    its index entry and the folders it alone filled, and nothing else; `undo` brings the file
    back, staged."""
    before = disk(repo.path, modes=True)
    script = "mkdir -p new/dir && echo n > new/dir/f.txt && git add new && echo k > keep.txt"
    script += " && echo e >> README"
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    repo.atomic("rollback", "--to", out["checkpoints"]["pre_op"], "--", "new/dir/f.txt", check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"keep.txt")[1] == b"k\n" and now.pop(b"README")[1] == b"hello\ne\n"
    before.pop(b"README")
    assert now == before
    assert repo.git("status", "--porcelain") == " M README\n?? keep.txt\n"
    repo.atomic("undo", check=0)
    assert repo.read("new/dir/f.txt") == b"n\n"
    assert "A  new/dir/f.txt" in repo.git("status", "--porcelain")
