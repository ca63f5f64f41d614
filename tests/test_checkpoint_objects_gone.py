"""The operation attacks what a rollback stands on: the checkpoint's objects in git's store.

An operation can take a checkpoint away (our refs deleted, then `git gc --prune=now`; the
alternate object store of a `clone --shared` removed). The rollback cannot be honoured then:
one line that says which checkpoint and what is missing, exit 3, nothing changed, and a way
out (`recover` once it is put back, `recover --accept` to keep the tree), never git's failure
and an error log, never a `recover` that fails for ever.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from testing import agents
from testing.gitrepo import GitRepo

PRUNE_OURS = (
    "git for-each-ref --format='delete %(refname)' refs/atomic | git update-ref --stdin; "
    "git reflog expire --expire=now --all; git gc -q --prune=now"
)


def _files(repo: GitRepo) -> dict[str, bytes]:
    return {
        str(p.relative_to(repo.path)): p.read_bytes()
        for p in sorted(repo.path.rglob("*"))
        if ".git" not in p.relative_to(repo.path).parts and p.is_file()
    }


def test_a_pre_op_the_operation_pruned_is_one_line_and_accept_keeps_the_tree(
    repo: GitRepo,
) -> None:
    """Before: `git ls-tree -z failed: fatal: not a tree object — git's full output in
    /tmp/...log`, and `recover` and `recover --accept` failed the same way for ever (every new
    operation refused)."""
    repo.write("README", b"work in progress\n")  # held by PRE-OP only
    res = repo.atomic(
        "run", "--", "sh", "-c", f"echo op > README; echo n > new; {PRUNE_OURS}; exit 1"
    )
    assert res.returncode == 3, res.stderr
    assert "cannot be restored: git no longer has it" in res.stderr, res.stderr
    assert "failed:" not in res.stderr and ".log" not in res.stderr, res.stderr
    after_op = _files(repo)
    assert after_op["README"] == b"op\n"  # nothing was changed by the refused rollback
    res = repo.atomic("recover")
    assert res.returncode == 3, res.stderr
    assert "cannot be restored" in res.stderr and "recover --accept" in res.stderr, res.stderr
    assert _files(repo) == after_op
    res = repo.atomic_json("recover", "--accept")
    assert res["recovery"]["action"] == "kept"
    assert "nothing is recorded" in " ".join(res["recovery"]["problems"])
    assert _files(repo) == after_op
    assert repo.atomic_json("status")["interrupted"] is None
    repo.atomic("run", "--", "true", check=0)  # the worktree takes operations again


def test_an_alternate_the_operation_removed_is_written_back_before_its_rollback(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A `clone --shared`: the checkpoint's blobs that the borrowed store already had are not
    copied. Before: `git diff-tree -r failed: fatal: bad object ...` and a log file; then its
    rollback was refused (exit 3, the operation left interrupted) until you put the file back
    and ran `recover`. The file the PRE-OP had is written back first (adding a store loses
    nothing), and the rollback goes on: exit 1, the tree as before, said."""
    clone = GitRepo(tmp_path / "clone", repo.env)
    repo.write("lib.txt", b"borrowed\n")
    repo.git("add", "lib.txt")
    repo.git("commit", "-qm", "lib")
    repo.git("clone", "-q", "--shared", str(repo.path), str(clone.path))
    clone.write("README", b"wip\n")
    before = clone.fingerprint()
    alternates = clone.path / ".git" / "objects" / "info" / "alternates"
    had = alternates.read_bytes()
    res = clone.atomic(
        "run", "--", "sh", "-c", f"echo op > README; rm lib.txt; rm {alternates}; exit 1"
    )
    assert res.returncode == 1, res.stderr
    assert ".log" not in res.stderr, res.stderr
    assert "it is written back, as before the operation" in res.stderr, res.stderr
    assert alternates.read_bytes() == had
    assert clone.fingerprint().diff(before) == []
    clone.atomic("undo", check=0)
    assert clone.read("README") == b"op\n" and not clone.exists("lib.txt")


@pytest.mark.parametrize("swap", ["link", "file"])
def test_a_git_dir_moved_away_leaves_the_lock_of_the_repository_now_named_alone(
    repo: GitRepo, tmp_path: Path, swap: str
) -> None:
    """The operation moves `.git` away and leaves a link to, or a `gitdir:` file naming,
    another repository whose own git-atomic holds its lock. Before: our run removed that
    lock through the link (another repository's live lock), or ended in `internal error:
    NotADirectoryError: .../.git/atomic.lock` with the `.git` file."""
    other = GitRepo.create(tmp_path / "other", tmp_path / "home")
    theirs = other.path / ".git" / "atomic.lock"
    theirs.write_bytes(b'{"pid": 1, "since": "now", "command": "run"}')
    repo.write("README", b"wip\n")
    before = repo.fingerprint()
    moved = tmp_path / "moved-git"
    put = {
        "link": f"ln -s {other.path / '.git'} .git",
        "file": f"echo 'gitdir: {other.path / '.git'}' > .git",
    }[swap]
    res = repo.atomic("run", "--", "sh", "-c", f"echo op > README; mv .git {moved}; {put}; exit 1")
    assert res.returncode == 3, res.stderr
    assert "internal error" not in res.stderr, res.stderr
    assert "is gone" in res.stderr or "leads to" in res.stderr, res.stderr
    assert theirs.read_bytes() == b'{"pid": 1, "since": "now", "command": "run"}'
    (repo.path / ".git").unlink()
    moved.rename(repo.path / ".git")
    repo.atomic("recover", check=0)
    assert repo.fingerprint().diff(before) == []


@pytest.mark.parametrize("history", ["commits", "shadow"])
@pytest.mark.parametrize("swap", ["away", "link"])
def test_a_command_that_moves_the_git_dir_and_succeeds_is_refused_in_one_line(
    repo: GitRepo, tmp_path: Path, history: str, swap: str
) -> None:
    """The command exits 0 after moving `.git` away (or leaving a link to another repository
    in its place). Before: `internal error: FileNotFoundError: .../.git` (moved away), and in
    commits mode `git ls-tree -z failed: not a tree object` (PRE-OP looked up in the other
    repository)."""
    other = GitRepo.create(tmp_path / "other", tmp_path / "home")
    repo.write("README", b"wip\n")
    before = repo.fingerprint()
    moved = tmp_path / "moved-git"
    link = f"; ln -s {other.path / '.git'} .git" if swap == "link" else ""
    res = repo.atomic(
        "run", "--history", history, "--", "sh", "-c", f"echo op > README; mv .git {moved}{link}"
    )
    assert res.returncode == 3, res.stderr
    assert "internal error" not in res.stderr and "failed:" not in res.stderr, res.stderr
    assert "this worktree's git dir" in res.stderr, res.stderr
    if swap == "link":
        (repo.path / ".git").unlink()
    moved.rename(repo.path / ".git")
    repo.atomic("recover", check=0)
    assert repo.fingerprint().diff(before) == []


@pytest.mark.parametrize("removal", ["rm -f .git/atomic/journal.sqlite3*", "rm -rf .git/atomic"])
def test_a_journal_the_command_removed_is_put_back_with_its_records(
    repo: GitRepo, removal: str
) -> None:
    """Before: the run said "Its changes are saved: `git atomic undo` brings them back", having
    written that record into a file no name led to; `undo` then said "nothing to undo" and
    `log` knew no operation at all."""
    repo.atomic("run", "-n", "earlier", "--", "true", check=0)
    repo.write("README", b"wip\n")
    before = repo.fingerprint()
    res = repo.atomic("run", "-n", "t", "--", "sh", "-c", f"{removal}; echo op > README; exit 1")
    assert res.returncode == 1, res.stderr
    assert repo.fingerprint().diff(before) == []
    names = [op["name"] for op in repo.atomic_json("log")["operations"]]
    assert names == ["t", "earlier"]
    repo.atomic("undo", check=0)
    assert repo.read("README") == b"op\n"


def test_a_journal_removed_between_begin_and_abort_is_said_and_its_pre_op_named(
    repo: GitRepo,
) -> None:
    """`rm -rf .git/atomic` inside a `begin` session. Before: `abort` said "no operation is
    open in this worktree" (exit 2) and `status` the same: the session was forgotten with its
    PRE-OP (still under refs/atomic/ops/) named nowhere."""
    repo.write("README", b"wip\n")
    before = repo.fingerprint()
    repo.atomic("begin", "s", check=0)
    repo.write("README", b"op\n")
    shutil.rmtree(repo.path / ".git" / "atomic")
    for args in (["abort"], ["status"], ["undo"]):
        res = repo.atomic(*args)
        assert res.returncode == 3, (args, res.stderr)
        assert "journal.sqlite3 is gone" in res.stderr and "git atomic recover" in res.stderr
    assert repo.read("README") == b"op\n"
    pre = repo.git("rev-parse", repo.checkpoint_refs("%(refname)").split()[0]).strip()
    res = repo.atomic_json("recover")
    assert any(pre[:12] in p and "--whole" in p for p in res["recovery"]["problems"]), res
    repo.atomic("rollback", "--to", pre[:12], "--whole", check=0)
    assert repo.fingerprint().diff(before) == []


def test_a_turn_whose_bash_call_pruned_its_checkpoints_is_told_in_one_line(repo: GitRepo) -> None:
    """An agent's Bash call deletes our refs and prunes. Before: Stop said "this turn is not
    judged: git ls-tree -z failed: fatal: not a tree object", and `recover` failed the same way
    (with a log) for ever."""
    repo.write("app.py", b"ok\n")
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "app"\nrun = "! grep -q BUG app.py"\n')
    repo.git("add", "-A")
    repo.git("commit", "-qm", "app and its gate")

    def hook(event: str, **fields: object) -> subprocess.CompletedProcess[str]:
        return agents.claude_hook(repo, "s40-prune", event, **fields)

    call = {
        "tool_name": "Bash",
        "tool_input": {"command": PRUNE_OURS},
        "tool_use_id": "toolu_0001",
    }
    hook("PreToolUse", **call)
    repo.write("app.py", b"BUG\n")
    subprocess.run(["sh", "-c", PRUNE_OURS], cwd=repo.path, env=repo.env, check=True)
    hook("PostToolUse", **call, tool_response={"success": True})
    said = hook("Stop", stop_hook_active=False).stdout
    assert "not judged" in said and "cannot be restored" in said, said
    assert "failed:" not in said, said
    res = repo.atomic("recover")
    assert res.returncode == 3 and "cannot be restored" in res.stderr, res.stderr
    assert ".log" not in res.stderr, res.stderr
    repo.atomic("recover", "--accept", check=0)
    assert repo.read("app.py") == b"BUG\n"


def test_commands_after_an_operation_pruned_the_checkpoints_say_so_in_one_line(
    repo: GitRepo,
) -> None:
    """A kept operation, then one whose command (exit 0, commits mode) deletes our refs and
    prunes. Before: that run, `show --diff`, `rollback --op`, `rollback` and `emergency` each
    ended in `git ... failed: fatal: not a tree object` (or `path 'files' does not exist`) and a
    log file."""
    repo.atomic("run", "--history", "shadow", "-n", "good", "--", "sh", "-c", "echo g > g", check=0)
    good = repo.atomic_json("log")["operations"][0]["op_id"]
    res = repo.atomic("run", "-n", "evil", "--", "sh", "-c", f"echo e > e; {PRUNE_OURS}")
    assert res.returncode == 3 and "cannot be restored" in res.stderr, res.stderr
    repo.atomic("recover", "--accept", check=0)
    after = _files(repo)
    for args, verb in (
        (["show", good, "--diff"], "cannot be read"),
        (["rollback", "--op", good], "cannot be restored"),
        (["rollback"], "cannot be restored"),
        (["emergency"], "emergency --to COMMIT"),
    ):
        res = repo.atomic(*args)
        assert res.returncode == 3, (args, res.stderr)
        assert verb in res.stderr and "failed:" not in res.stderr, (args, res.stderr)
        assert _files(repo) == after
    repo.atomic("emergency", "--to", "HEAD", check=0)  # the way out it names
    assert not repo.exists("g") and not repo.exists("e")


ONTO_OURS = (
    "git symbolic-ref HEAD $(git for-each-ref --format='%(refname)' refs/atomic/ops | head -1)"
)


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_a_command_that_puts_head_on_our_own_ref_is_rolled_back(
    repo: GitRepo, history: str
) -> None:
    """Before: the run was kept (exit 0), HEAD left on refs/atomic/ops/<id>/001-pre-op, and in
    commits mode "left uncommitted: ... meta, staged/README, files/README" (the checkpoint's
    own tree taken for your files); your next commits would move our ref, which `git atomic
    gc` later deletes with them."""
    repo.write("README", b"wip\n")
    before = repo.fingerprint()
    res = repo.atomic("run", "--history", history, "--", "sh", "-c", f"{ONTO_OURS}; echo x > n")
    assert res.returncode == 1, res.stderr
    assert "refs/atomic/" in res.stderr and "meta" not in res.stderr, res.stderr
    assert repo.fingerprint().diff(before) == []
    repo.atomic("undo", check=0)
    assert repo.read("n") == b"x\n"
    assert (repo.path / ".git" / "HEAD").read_bytes() == b"ref: refs/heads/main\n"


def test_a_session_whose_head_was_put_on_our_own_ref_refuses_its_steps(repo: GitRepo) -> None:
    """Before: `checkpoint` and `commit` went on, the commit kept "nothing to commit" and
    listed the checkpoint's tree (meta, staged/..., files/...) as your uncommitted files."""
    repo.write("README", b"wip\n")
    before = repo.fingerprint()
    repo.atomic("begin", "s", check=0)
    subprocess.run(["sh", "-c", f"{ONTO_OURS}; echo x > n"], cwd=repo.path, env=repo.env)
    for step in ("checkpoint", "commit"):
        res = repo.atomic(step)
        assert res.returncode == 3 and "refs/atomic/" in res.stderr, (step, res.stderr)
    repo.atomic("abort", check=0)
    assert repo.fingerprint().diff(before) == []


def test_a_branch_made_a_symbolic_ref_to_our_own_ref_is_a_branch_again(repo: GitRepo) -> None:
    """`git symbolic-ref refs/heads/main refs/atomic/ops/<id>/001-pre-op`. Before: kept (exit
    0) with "left uncommitted: ... meta, staged/..., files/..."; on exit 1 the rollback said
    "branch main was moved by someone else; left as it is", main still led to our ref (its tip
    a checkpoint commit; `git atomic gc` would delete it)."""
    repo.write("README", b"wip\n")
    before = repo.fingerprint()
    onto = ONTO_OURS.replace("HEAD", "refs/heads/main", 1)
    res = repo.atomic("run", "--", "sh", "-c", f"{onto}; echo x > n")
    assert res.returncode == 1, res.stderr
    assert "refs/atomic/" in res.stderr and "someone else" not in res.stderr, res.stderr
    assert repo.fingerprint().diff(before) == []
    assert repo.git("symbolic-ref", "-q", "refs/heads/main", check=False) == ""
    repo.atomic("undo", check=0)  # brings back the file, never the symbolic ref or a deletion
    assert repo.read("n") == b"x\n"
    assert repo.fingerprint().branches == before.branches


def test_gc_never_deletes_our_ref_a_branch_points_at(repo: GitRepo) -> None:
    """An agent turn whose shell call made main a symbolic ref to one of our refs is taken back
    (main a branch of its own again, as `run` does). One made so outside any operation: your
    next commit moves that ref. `git atomic gc` then deleted it: main named nothing ("No commits
    yet"), the commit dangling until git's prune. The ref stays, and gc says why."""
    run = repo.atomic_json("run", "--", "true")["op_id"]
    main = repo.head()
    call = {"tool_name": "Bash", "tool_input": {"command": "x"}, "tool_use_id": "t1"}
    agents.claude_hook(repo, "s40-sym", "UserPromptSubmit", prompt="p")
    agents.claude_hook(repo, "s40-sym", "PreToolUse", **call)
    repo.write("y", b"y\n")
    onto = ONTO_OURS.replace("HEAD", "refs/heads/main", 1)
    subprocess.run(["sh", "-c", onto], cwd=repo.path, env=repo.env, check=True)
    agents.claude_hook(repo, "s40-sym", "PostToolUse", **call, tool_response={"success": True})
    stop = agents.claude_hook(repo, "s40-sym", "Stop", stop_hook_active=False)
    assert "symbolic ref" in stop.stdout
    assert (repo.path / ".git" / "refs" / "heads" / "main").read_text() == main + "\n"
    assert not repo.exists("y")
    # By hand, onto the run's ref (the turn's take-back keeps the newest rescue, and with it
    # its operation's refs: not one gc would retire).
    by_hand = onto.replace("refs/atomic/ops", f"refs/atomic/ops/{run}/")
    subprocess.run(["sh", "-c", by_hand], cwd=repo.path, env=repo.env, check=True)
    ours = (repo.path / ".git" / "refs" / "heads" / "main").read_text().removeprefix("ref: ")
    repo.write("y", b"y\n")
    repo.git("add", "y")
    repo.git("commit", "-q", "-m", "my work")
    mine = repo.head()
    res = repo.atomic("gc", "--older-than", "0", check=0)
    assert f"{ours.strip()} kept" in res.stderr, res.stderr
    assert (repo.path / ".git" / ours.strip()).read_text() == mine + "\n"
    assert repo.git("rev-parse", "main").strip() == mine


def test_an_operation_that_made_the_clone_shallow_is_rolled_back_with_its_history(
    repo: GitRepo, tmp_path: Path
) -> None:
    """`git fetch --depth=1` in a full clone writes `.git/shallow`: the history behind the tip
    is cut off. Before: the failed run said "files, index and branches are as before" and left
    the file, so `git log` showed one commit and the next `git gc --prune=now` deleted the rest
    (the origin gone, for good)."""
    for n in (1, 2):
        repo.write("README", f"{n}\n".encode())
        repo.git("commit", "-qam", f"c{n}")
    clone = GitRepo(tmp_path / "clone", repo.env)
    repo.git("clone", "-q", f"file://{repo.path}", str(clone.path))
    clone.write("README", b"wip\n")
    before = clone.fingerprint()
    shallow = clone.path / ".git" / "shallow"
    cut = "git fetch -q --depth=1 origin main"
    clone.atomic("run", "--", "sh", "-c", f"{cut} && test -f .git/shallow; exit 1", check=1)
    assert not shallow.exists()
    assert clone.fingerprint().diff(before) == []
    clone.atomic("run", "-n", "kept", "--", "sh", "-c", cut, check=0)
    assert shallow.exists()
    clone.atomic("rollback", check=0)
    assert not shallow.exists()
    clone.git("reflog", "expire", "--expire=now", "--all")
    clone.git("gc", "-q", "--prune=now")
    assert len(clone.git("log", "--oneline").splitlines()) == 3
    clone.git("fsck", "--no-dangling")
