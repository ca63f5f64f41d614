"""Peers' reports on ignore rules in a folder above the repository, played against git-atomic:
git reads no `.gitignore` outside the worktree (git-for-windows/git#2602), while editors and
agents' tools that honoured one there (zed-industries/zed#5456, acrotron/aye-chat#4) saw a
different set of untracked files than git does. A `.gitignore` in the repository's parent
folder that names everything an operation makes decides nothing: `rollback --op` takes back
what the operation made (git lists those files as untracked), `undo` makes them again, and
the parent's rule file is never written. The oracle: the disk by lstat, the rule file's
bytes."""

from __future__ import annotations

from testing.gitrepo import GitRepo
from testing.oracle import disk


def test_rules_above_the_worktree_decide_nothing(repo: GitRepo) -> None:
    """The parent folder's `.gitignore` ignores `*.log`, `node_modules/`, `/repo/` and `*`;
    an operation writes a log, a module, a new folder and edits a tracked file. The rollback
    after your later file leaves the disk as before plus that file; `undo` brings the
    operation's files back byte for byte; the parent rule file keeps its bytes and time."""
    parent_rules = repo.path.parent / ".gitignore"
    parent_rules.write_bytes(b"*.log\nnode_modules/\n/repo/\n*\n")
    rules_stat = parent_rules.stat()
    repo.write("a.txt", b"a\n")
    repo.git("add", "a.txt")
    repo.git("commit", "-qm", "a")
    before = disk(repo.path, modes=True)
    script = (
        "mkdir -p node_modules/pkg new && echo log > run.log && echo m > node_modules/pkg/i.js"
        " && echo n > new/x && echo b >> a.txt"
    )
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    after = disk(repo.path, modes=True)
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"later.txt")[1] == b"yours\n"
    assert now == before
    repo.atomic("undo", check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"later.txt")[1] == b"yours\n"
    assert now == after
    assert parent_rules.read_bytes() == b"*.log\nnode_modules/\n/repo/\n*\n"
    assert parent_rules.stat().st_mtime_ns == rules_stat.st_mtime_ns
