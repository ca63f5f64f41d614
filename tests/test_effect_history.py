"""Effect, not state, where history moved after the operation (git's t3200-branch,
t2400-worktree-add, t7600-merge; peers: jj `op revert` of a bookmark you checked out since,
git-branchless `undo`): taking an operation back leaves what you did since as you did it, read
from the disk (HEAD's file, the branch's ref, the index file, the files)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo, read_index

# The operation makes a branch (or moves one back) it never checks out; you check it out since.
OPS = {
    "created": ("printf 'op\\n' > op.txt; git branch newb", "newb"),
    "moved": ("printf 'op\\n' > op.txt; git branch -f feature HEAD~1", "feature"),
}


@pytest.mark.parametrize("mode", ["shadow", "commits"])
@pytest.mark.parametrize("how", list(OPS))
def test_a_branch_you_checked_out_since_stays(repo: GitRepo, how: str, mode: str) -> None:
    """`rollback --op` deleted the branch HEAD was on (HEAD then named a branch that is not
    there: "No commits yet", every file staged as new), or moved it under your checkout (its
    files staged as changes you never made). The branch stays, your checkout with it."""
    op, branch = OPS[how]
    repo.write("f", b"f\n")
    repo.git("add", "f")
    repo.git("commit", "-qm", "f")
    repo.git("branch", "feature")
    done = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", op)
    repo.git("checkout", "-q", branch)
    tip = repo.git("rev-parse", f"refs/heads/{branch}").strip()
    dry = repo.atomic("rollback", "--op", done["op_id"], "--dry-run", check=0)
    assert f"keep    {branch} (checked out here since: stays)" in dry.stdout.splitlines()
    res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert (repo.path / ".git" / "HEAD").read_text() == f"ref: refs/heads/{branch}\n"
    assert repo.git("rev-parse", "-q", "--verify", f"refs/heads/{branch}").strip() == tip
    assert not repo.exists("op.txt")
    assert repo.git("status", "--porcelain", "--untracked-files=no") == ""
    assert f"branch {branch} is checked out here since" in res.stderr or (
        f"{branch} checked out here since: left as it is" in res.stderr
    ), res.stderr


@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
@pytest.mark.parametrize("op", ["git branch -q -D feature", "git branch -m feature renamed"])
def test_a_branch_made_again_has_its_reflog(repo: GitRepo, op: str, how: str) -> None:
    """t3200-branch: an operation deletes or renames a branch, and is rolled back. The branch
    came back with a reflog of one line (`git-atomic: rollback`): `feature@{1}`, the commit a
    `reset` had left behind, was known to nothing any more. Its reflog comes back, byte for
    byte, with the rollback's line after it."""
    repo.git("checkout", "-q", "-b", "feature")
    for message in ("f1", "f2"):
        repo.git("commit", "-q", "--allow-empty", "-m", message)
    left_behind = repo.head()
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.git("checkout", "-q", "main")
    log = repo.path / ".git" / "logs" / "refs" / "heads" / "feature"
    before = log.read_bytes()
    if how == "failed-run":
        repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    else:
        done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", op)
        assert not log.exists()
        repo.write("later.txt", b"yours\n")
        repo.atomic("rollback", "--op", done["op_id"], check=0)
        assert repo.read("later.txt") == b"yours\n"
    after = log.read_bytes()
    assert after.startswith(before), after
    assert after[len(before) :].count(b"\n") == 1 and b"git-atomic: rollback" in after
    assert repo.git("rev-parse", "feature@{2}").strip() == left_behind


def test_gc_retires_the_reflogs_kept_with_its_operations(repo: GitRepo) -> None:
    """The links a PRE-OP makes go with their operation (`git atomic gc`); git's own reflog,
    the same file under its own name, stays as it is."""
    repo.git("branch", "feature")
    first = repo.atomic_json("run", "--history", "shadow", "--", "true")
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", "exit 1", check=1)
    kept = repo.path / ".git" / "atomic" / "reflogs"
    assert (kept / first["op_id"]).is_dir()
    log = repo.path / ".git" / "logs" / "refs" / "heads" / "feature"
    before = log.read_bytes()
    repo.atomic("gc", "--older-than", "0", check=0)
    assert not (kept / first["op_id"]).exists()
    assert log.read_bytes() == before and os.lstat(log).st_nlink <= 2


def test_the_reflogs_folder_made_a_link_is_never_written_through(
    repo: GitRepo, tmp_path: Path
) -> None:
    """`.git/atomic/reflogs` a link to a folder outside: no PRE-OP links into it, no gc
    removes from it; the branch still comes back."""
    outside = tmp_path / "outside"
    (outside / "op").mkdir(parents=True)
    (outside / "op" / "yours").write_bytes(b"yours\n")
    repo.git("branch", "feature")
    repo.atomic("run", "--", "true", check=0)  # our folder made, with its reflogs/
    ours = repo.path / ".git" / "atomic" / "reflogs"
    for kept in ours.iterdir():
        for link in kept.iterdir():
            link.unlink()
        kept.rmdir()
    ours.rmdir()
    ours.symlink_to(outside)
    repo.atomic("run", "--", "sh", "-c", "git branch -q -D feature; exit 1", check=1)
    assert repo.git("rev-parse", "-q", "--verify", "refs/heads/feature").strip()
    assert sorted(p.name for p in outside.iterdir()) == ["op"]
    repo.atomic("gc", "--older-than", "0", check=0)
    assert sorted(p.name for p in outside.iterdir()) == ["op"]
    assert (outside / "op" / "yours").read_bytes() == b"yours\n"


def test_a_turn_taken_back_makes_its_deleted_branch_again_with_its_reflog(repo: GitRepo) -> None:
    """An agent turn whose shell call deleted a branch and broke the gate: the take-back at its
    Stop made the branch again with a one-line reflog. Its reflog comes back too."""
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\nbad\n")
    repo.git("checkout", "-q", "-b", "feature")
    repo.git("commit", "-q", "--allow-empty", "-m", "f1")
    repo.git("checkout", "-q", "main")
    _failing_turn_deletes_feature(repo)


def test_gc_during_an_open_turn_leaves_the_reflogs_its_first_call_kept(repo: GitRepo) -> None:
    """`git atomic gc` while an agent's turn is open (another terminal): the turn is in no
    journal row yet, and gc removed the reflogs its first call kept, so a branch its shell call
    deleted came back at Stop with a one-line reflog. They stay while the turn is open."""
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\nbad\n")
    repo.git("branch", "feature")
    _failing_turn_deletes_feature(
        repo, meanwhile=lambda: repo.atomic("gc", "--older-than", "0", check=0)
    )


def _failing_turn_deletes_feature(
    repo: GitRepo, *, meanwhile: Callable[[], object] | None = None
) -> None:
    """A Claude Code turn whose Bash call deletes `feature` and breaks the gate (`meanwhile`:
    run between its first call and the deletion): taken back at Stop, `feature` comes back
    with its reflog as it was, and the rollback's one line after it."""
    log = repo.path / ".git" / "logs" / "refs" / "heads" / "feature"
    before = log.read_bytes()
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="tidy up")
    call = {"tool_name": "Bash", "tool_input": {"command": "tidy"}, "tool_use_id": "t1"}
    claude_hook(repo, "s1", "PreToolUse", **call)
    if meanwhile is not None:
        meanwhile()
    repo.git("branch", "-q", "-D", "feature")
    repo.write("bad", b"x\n")
    claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
    answer = claude_hook(repo, "s1", "Stop", stop_hook_active=False).stdout
    assert json.loads(answer)["decision"] == "block", answer
    after = log.read_bytes()
    assert after.startswith(before) and after[len(before) :].count(b"\n") == 1, after


def test_a_branch_made_a_symbolic_ref_to_our_ref_keeps_its_reflog(repo: GitRepo) -> None:
    """The operation made the branch a symbolic ref to one of our refs (`git symbolic-ref
    refs/heads/main refs/atomic/ops/...`) and failed: the rollback made main a branch of its
    own again with a reflog of one line (`git-atomic: off refs/atomic/`): `main@{1}`, the
    commit a `reset` had left behind, was known to nothing any more. Its reflog comes back,
    byte for byte, with the rollback's line after it."""
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    left_behind = repo.head()
    repo.git("reset", "-q", "--hard", "HEAD~1")
    log = repo.path / ".git" / "logs" / "refs" / "heads" / "main"
    before = log.read_bytes()
    ours = "$(git for-each-ref --format='%(refname)' refs/atomic/ops | head -1)"
    repo.atomic("run", "--", "sh", "-c", f"git symbolic-ref refs/heads/main {ours}; exit 1")
    assert (repo.path / ".git" / "refs" / "heads" / "main").read_text() == repo.head() + "\n"
    after = log.read_bytes()
    assert after.startswith(before), after
    assert after[len(before) :].count(b"\n") == 1, after
    assert repo.git("rev-parse", "main@{2}").strip() == left_behind


@pytest.mark.parametrize("how", ["rollback-op", "undo"])
def test_a_branch_moved_while_you_are_on_another_keeps_out_of_your_checkout(
    repo: GitRepo, how: str
) -> None:
    """The operation moved the branch it had checked out (`reset --hard HEAD~1`; a commit, in
    commits mode), and you switched to another branch since. The branch went back, and its
    files came into your checkout too, staged (`A  f`: the change taken back twice; `undo`:
    the operation's commit back on main and its file staged on yours). Now the branch moves,
    and only what the operation did beside it (an untracked file) is taken back here."""
    repo.git("branch", "other")
    if how == "rollback-op":
        repo.write("f", b"f\n")
        repo.git("add", "f")
        repo.git("commit", "-qm", "f")
        tip = repo.head()
        op = "git reset -q --hard HEAD~1; echo op > op.txt"
        done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", op)
        repo.git("checkout", "-q", "other")
        repo.atomic("rollback", "--op", done["op_id"], check=0)
        assert repo.git("rev-parse", "main").strip() == tip
    else:
        repo.atomic("run", "-g", "false", "--", "sh", "-c", "echo op > op.txt", check=1)
        repo.git("checkout", "-q", "other")
        repo.atomic("undo", check=0)
        assert repo.git("log", "-1", "--format=%s", "main").startswith("OP-EXEC")
    assert (repo.path / ".git" / "HEAD").read_text() == "ref: refs/heads/other\n"
    assert not repo.exists("op.txt") and not repo.exists("f")
    assert repo.git("status", "--porcelain") == ""
    assert repo.git("ls-files", "-s") == repo.git(
        "ls-tree", "-r", "--format=%(objectmode) %(objectname) 0\t%(path)", "other"
    )


@pytest.mark.parametrize("how", ["rollback-op", "undo"])
def test_your_commits_on_the_branch_a_change_switched_to_stay_there(
    repo: GitRepo, how: str
) -> None:
    """An operation checked out another branch (main -> feature; `undo`: a rollback switched
    feature -> main), and you committed there since. Taking it back put HEAD back on the
    first branch with your commit's files staged on it (`A  mine.txt`), changes you never
    made there. Now your commit stays on its branch alone, HEAD goes back with only what you
    left uncommitted, and the command names the branch and its commit."""
    repo.git("branch", "feature")
    repo.write("m.txt", b"main\n")
    repo.git("add", "m.txt")
    repo.git("commit", "-qm", "m")
    start, back = ("main", "feature") if how == "rollback-op" else ("feature", "main")
    if how == "undo":
        repo.git("checkout", "-q", "feature")
    done = repo.atomic_json("run", "--history", "shadow", "--", "git", "checkout", "-q", back)
    if how == "undo":
        repo.atomic("rollback", "--op", done["op_id"], check=0)
        start, back = back, start
    repo.write("mine.txt", b"yours\n")
    repo.git("add", "mine.txt")
    repo.git("commit", "-qm", "yours")
    tip = repo.head()
    repo.write("wip.txt", b"uncommitted\n")
    args = ("undo",) if how == "undo" else ("rollback", "--op", done["op_id"])
    res = repo.atomic(*args, check=0)
    assert (repo.path / ".git" / "HEAD").read_text() == f"ref: refs/heads/{start}\n"
    assert (repo.path / ".git" / "refs" / "heads" / back).read_text().strip() == tip
    assert not repo.exists("mine.txt")
    assert repo.read("wip.txt") == b"uncommitted\n"
    index = read_index((repo.path / ".git" / "index").read_bytes())
    assert [e[0] for e in index] == [
        p.encode() for p in repo.git("ls-tree", "-r", "--name-only", start).split()
    ]
    assert f"branch {back} has commits since the change checked it out (now {tip[:7]}" in (
        res.stderr
    ), res.stderr


@pytest.mark.parametrize("mode", ["shadow", "commits"])
@pytest.mark.parametrize("to", ["feature", "detached"])
def test_a_switch_you_moved_away_from_brings_no_other_branch_s_files(
    repo: GitRepo, mode: str, to: str
) -> None:
    """An operation checked out `feature` (or detached HEAD at HEAD~1) and wrote op.txt; you
    made your own branch there since (or committed on the detached HEAD). HEAD stays where
    you took it, so the switch is not taken back, and neither are the files it checked out:
    `rollback --op` staged main's files in your checkout (`A  m.txt`: the difference between
    the two commits, as if you had made it), in both modes. Now only what the operation did
    on top of the checkout (op.txt; in commits mode, its commit's change, staged) goes."""
    repo.git("branch", "feature")
    repo.write("m.txt", b"main\n")
    repo.git("add", "m.txt")
    repo.git("commit", "-qm", "m")
    switch = "git checkout -q feature" if to == "feature" else "git checkout -q --detach HEAD~1"
    line = f"{switch} && echo op > op.txt"
    done = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", line)
    if to == "feature":
        repo.git("checkout", "-q", "-b", "mine")
    repo.write("mine.txt", b"yours\n")
    repo.git("add", "mine.txt")
    repo.git("commit", "-qm", "yours")
    tip = repo.head()
    res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    head = "ref: refs/heads/mine\n" if to == "feature" else f"{tip}\n"
    assert (repo.path / ".git" / "HEAD").read_text() == head
    assert repo.head() == tip
    assert not repo.exists("op.txt") and not repo.exists("m.txt")
    assert repo.read("mine.txt") == b"yours\n"
    # commits mode: op.txt is in the operation's commit, under yours; its deletion is staged
    index = read_index((repo.path / ".git" / "index").read_bytes())
    assert [e[0] for e in index] == [
        p.encode()
        for p in repo.git("ls-tree", "-r", "--name-only", "HEAD").split()
        if p != "op.txt"
    ]
    assert "HEAD or its branch has moved since the change switched it; HEAD stays" in (
        res.stderr
    ), res.stderr


def test_an_undo_with_nothing_to_do_names_the_branch_that_moved(repo: GitRepo) -> None:
    """An operation ran `git reset --soft HEAD~1`; `rollback --op` took it back, and you
    committed since. `undo` cannot move main back over your commit, and the reset changed no
    file: it said only "the tree is already at ...; nothing to do", never why the reset was
    not made again. Now it names the branch left as it is."""
    repo.write("b.txt", b"b\n")
    repo.git("add", "b.txt")
    repo.git("commit", "-qm", "b")
    done = repo.atomic_json(
        "run", "--history", "shadow", "--", "git", "reset", "-q", "--soft", "HEAD~1"
    )
    repo.atomic("rollback", "--op", done["op_id"], check=0)
    repo.git("commit", "-qm", "yours", "--allow-empty")
    tip = repo.head()
    res = repo.atomic("undo", check=0)
    assert "nothing to do" in res.stderr
    assert "branch main has moved since (later commits); it stays where it is" in res.stderr
    assert (repo.path / ".git" / "refs" / "heads" / "main").read_text().strip() == tip


@pytest.mark.parametrize("how", ["failed-run", "abort", "emergency"])
def test_reflogs_an_operation_expired_come_back_with_its_rollback(repo: GitRepo, how: str) -> None:
    """An operation ran `git reflog expire --expire=now --all`: every branch's reflog emptied,
    and `main@{1}`, all that named a commit a `reset` had left behind, gone (the next `git gc`
    prunes that commit). Its rollback left them empty and said "it had changed nothing". Now
    each reflog it rewrote is written back from the bytes its PRE-OP kept, followed by the lines
    written since (the rollback's own), and the summary says so. `emergency` during the open
    operation too (it left them empty)."""
    repo.git("commit", "-q", "--allow-empty", "-m", "left behind")
    left_behind = repo.head()
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.git("branch", "side")
    logs = repo.path / ".git" / "logs" / "refs" / "heads"
    before = {name: (logs / name).read_bytes() for name in ("main", "side")}
    head_log = repo.path / ".git" / "logs" / "HEAD"
    head_before = head_log.read_bytes()
    line = "git reflog expire --expire=now --all"
    if how == "failed-run":
        res = repo.atomic("run", "--", "sh", "-c", line + "; exit 1", check=1)
    else:
        repo.atomic("begin", "expire", check=0)
        subprocess.run(["sh", "-c", line], cwd=repo.path, env=repo.env, check=True)
        assert (logs / "main").read_bytes() == b""
        res = repo.atomic("abort" if how == "abort" else "emergency", check=0)
    assert (logs / "side").read_bytes() == before["side"]
    assert (logs / "main").read_bytes().startswith(before["main"])
    assert repo.git("rev-parse", "main@{1}").strip() == left_behind
    assert head_log.read_bytes().startswith(head_before)  # HEAD's too (HEAD@{n})
    assert "changed nothing" not in res.stderr
    assert "the reflogs it rewrote (main, side, HEAD) are as before too" in res.stderr, res.stderr
    assert not (repo.path / ".git" / "refs" / "heads" / "main.lock").exists()


def test_an_expire_run_in_a_linked_worktree_gives_back_every_worktrees_head_reflog(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Run in a linked worktree, `git reflog expire --expire=now --all` empties the main
    worktree's HEAD reflog and the linked one's too (logs/HEAD in its own git dir), and a
    failed run's rollback said the reflogs it rewrote were as before: only the branches' were
    kept. Each worktree's HEAD reflog is now kept and written back, byte for byte."""
    repo.git("commit", "-q", "--allow-empty", "-m", "left behind")
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.git("worktree", "add", "-q", str(tmp_path / "wt"), "-b", "side")
    wt = GitRepo(tmp_path / "wt", repo.env)
    wt.git("commit", "-q", "--allow-empty", "-m", "on side")
    main_log = repo.path / ".git" / "logs" / "HEAD"
    wt_log = repo.path / ".git" / "worktrees" / "wt" / "logs" / "HEAD"
    before = main_log.read_bytes(), wt_log.read_bytes()
    assert all(before)

    line = "git reflog expire --expire=now --all; exit 1"
    res = wt.atomic("run", "--", "sh", "-c", line, check=1)

    assert (main_log.read_bytes(), wt_log.read_bytes()) == before
    assert "worktrees/wt/HEAD" in res.stderr
    assert not (repo.path / ".git" / "HEAD.lock").exists()
    assert not (repo.path / ".git" / "worktrees" / "wt" / "HEAD.lock").exists()


def test_a_reflog_whose_ref_is_locked_is_left_and_said(repo: GitRepo) -> None:
    """A failed run expired every reflog, and `side.lock` was there when its rollback wrote them
    back (a git holding the ref, or one the run's git left): side's reflog stayed empty and
    the summary named only the reflogs written back, as if all were. Now the lock is left to
    its git, and a warning names the reflog left as it is."""
    repo.git("branch", "side")
    logs = repo.path / ".git" / "logs" / "refs" / "heads"
    before = (logs / "main").read_bytes()
    assert (logs / "side").read_bytes()
    lock = repo.path / ".git" / "refs" / "heads" / "side.lock"
    # (dated long before the run: a lock a git of the run wrote and left goes before the
    # rollback moves anything, tests/test_git_locks_left.py)
    line = "git reflog expire --expire=now --all; touch -d @1 .git/refs/heads/side.lock; exit 1"

    res = repo.atomic("run", "--", "sh", "-c", line, check=1)

    assert (logs / "main").read_bytes().startswith(before)
    assert (logs / "side").read_bytes() == b""  # never written under another git's lock
    assert lock.read_bytes() == b""  # the lock is left as it was
    assert f"the reflog of side the operation rewrote was not written back: {lock}" in res.stderr
    assert "except what the warnings above name" in res.stderr


@pytest.mark.parametrize("also", ["a file too", "reflogs only"])
def test_reflogs_a_kept_operation_expired_come_back_with_rollback_op(
    repo: GitRepo, also: str
) -> None:
    """A kept operation ran `git reflog expire --expire=now --all`; `rollback --op` of it took
    its files back and left every reflog empty (only its own rollback wrote them back): main@{1},
    all that named a commit a `reset` left behind, stayed gone for the next `git gc`. Where the
    reflogs were all its effect, it said "not in the tree; nothing further". Now the reflogs
    come back as its PRE-OP kept them, and the summary says so."""
    repo.git("commit", "-q", "--allow-empty", "-m", "left behind")
    left_behind = repo.head()
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.git("branch", "side")
    logs = repo.path / ".git" / "logs"
    before = {n: (logs / n).read_bytes() for n in ("refs/heads/main", "refs/heads/side", "HEAD")}
    line = "git reflog expire --expire=now --all" + ("; echo op > op.txt" if "file" in also else "")
    done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", line)
    assert (logs / "refs/heads/main").read_bytes() == b""

    res = repo.atomic("rollback", "--op", done["op_id"], check=0)

    assert {n: (logs / n).read_bytes()[: len(b)] for n, b in before.items()} == before
    assert repo.git("rev-parse", "main@{1}").strip() == left_behind
    assert "the reflogs it rewrote (main, side, HEAD) are as before too" in res.stderr, res.stderr
    assert not repo.exists("op.txt")
    again = repo.atomic("rollback", "--op", done["op_id"], check=0)  # nothing more: said once
    assert "reflogs" not in again.stderr
    assert {n: (logs / n).read_bytes()[: len(b)] for n, b in before.items()} == before


def test_an_undo_writes_back_the_reflog_a_lock_kept_from_the_rollback(repo: GitRepo) -> None:
    """A failed run expired every reflog and left `side.lock`, so its rollback left side's
    reflog empty. Once the lock was gone, `undo` (bringing the run's files back) and a second
    `undo` (taking them back again) left it empty for good. An undo writes it back now (its
    re-done effect never empties a reflog again: nothing is lost), and says so once."""
    repo.git("branch", "side")
    side = repo.path / ".git" / "logs" / "refs" / "heads" / "side"
    before = side.read_bytes()
    lock = repo.path / ".git" / "refs" / "heads" / "side.lock"
    lock_it = "touch -d @1 .git/refs/heads/side.lock"  # (from before: left, as above)
    line = "echo op > op.txt; git reflog expire --expire=now --all; " + lock_it
    repo.atomic("run", "--", "sh", "-c", line + "; exit 1", check=1)
    assert side.read_bytes() == b""
    lock.unlink()

    res = repo.atomic("undo", check=0)

    assert repo.read("op.txt") == b"op\n"
    assert side.read_bytes().startswith(before), res.stderr
    assert "the reflogs it rewrote (side) are as before too" in res.stderr, res.stderr
    again = repo.atomic("undo", check=0)
    assert not repo.exists("op.txt")
    assert side.read_bytes().startswith(before)
    assert "reflogs" not in again.stderr
    assert not lock.exists()


PACK_AND_DELETE = "git tag t; git pack-refs; git tag -d t"


@pytest.mark.parametrize("how", ["failed-run", "abort", "rollback-op", "recover"])
def test_a_packed_refs_left_with_only_its_header_goes_with_the_rollback(
    repo: GitRepo, how: str
) -> None:
    """An operation packed a tag and deleted it (`git tag t; git pack-refs; git tag -d t`):
    git leaves `.git/packed-refs` with only its `# pack-refs with:` header. There was none
    before the operation, and there still was one after its rollback. It goes now."""
    packed = repo.path / ".git" / "packed-refs"
    assert not os.path.lexists(packed)
    if how == "failed-run":
        repo.atomic("run", "--", "sh", "-c", PACK_AND_DELETE + "; exit 1", check=1)
    elif how == "abort":
        repo.atomic("begin", "pack", check=0)
        subprocess.run(["sh", "-c", PACK_AND_DELETE], cwd=repo.path, env=repo.env, check=True)
        repo.atomic("abort", check=0)
    elif how == "rollback-op":
        line = PACK_AND_DELETE + "; echo op > op.txt"
        done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", line)
        assert packed.read_bytes().startswith(b"# pack-refs with:")
        repo.atomic("rollback", "--op", done["op_id"], check=0)
    else:
        repo.atomic("run", "--", "sh", "-c", PACK_AND_DELETE + "; kill -9 $PPID", check=-9)
        assert packed.read_bytes().startswith(b"# pack-refs with:")
        repo.atomic("recover", check=0)
    assert not os.path.lexists(packed)
    assert not os.path.lexists(repo.path / ".git" / "packed-refs.lock")


def test_a_packed_refs_there_before_stays_byte_for_byte(repo: GitRepo) -> None:
    """Yours, with only its header (you deleted the last packed tag), is not the operation's:
    it stays, bytes and all."""
    subprocess.run(["sh", "-c", PACK_AND_DELETE], cwd=repo.path, env=repo.env, check=True)
    packed = repo.path / ".git" / "packed-refs"
    before = packed.read_bytes()
    repo.atomic("run", "--", "sh", "-c", PACK_AND_DELETE + "; exit 1", check=1)
    assert packed.read_bytes() == before


def test_an_uncommitted_edit_over_your_commit_on_a_switched_branch_is_refused_in_plain_words(
    repo: GitRepo,
) -> None:
    """An operation switched you to `other`; you committed there and left an edit of the same
    lines uncommitted. `rollback --op` checks main out again, where your edit does not apply:
    it was refused as "the effect ... and later changes overlap", with checkpoints to `git
    show`, which told nobody what happened. Now it says the switch, where your commits stay,
    and what to do; nothing changes; `git stash`, and the rollback goes through."""
    repo.write("f", b"a\n")
    repo.git("add", "f")
    repo.git("commit", "-qm", "a")
    repo.git("branch", "other")
    done = repo.atomic_json("run", "--history", "shadow", "--", "git", "checkout", "-q", "other")
    repo.write("f", b"b\n")
    repo.git("commit", "-qam", "b")
    tip = repo.head()
    repo.write("f", b"c\n")

    res = repo.atomic("rollback", "--op", done["op_id"], check=3)

    first, hint = res.stderr.splitlines()[-2:]
    assert first.startswith(
        f"git-atomic: refused, nothing changed: the effect of git [{done['op_id']}] switched "
        "you to other, and taking it back checks out main again; your commits on other stay "
        "there, but your uncommitted changes (f) were made on top of them and do not apply to "
        "main"
    ), res.stderr
    assert hint == (
        "git-atomic: hint: commit them on other or `git stash` them, then run this again; or "
        "stay on other and leave the tree as it is"
    )
    assert (repo.path / ".git" / "HEAD").read_text() == "ref: refs/heads/other\n"
    assert repo.read("f") == b"c\n"
    repo.git("stash", "-q")
    repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert (repo.path / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert repo.git("rev-parse", "other").strip() == tip
    assert repo.read("f") == b"a\n"


def _orig_head(repo: GitRepo) -> bytes | None:
    path = repo.path / ".git" / "ORIG_HEAD"
    return path.read_bytes() if os.path.lexists(path) else None


@pytest.mark.parametrize("how", ["failed-run", "abort", "rollback-op", "none-before"])
def test_orig_head_comes_back_as_before_the_operation(repo: GitRepo, how: str) -> None:
    """Your `git reset --hard HEAD~1` left ORIG_HEAD naming the commit to go back to. An
    operation ran its own `git reset` and was rolled back: ORIG_HEAD still named the
    operation's commit, so your `git reset --hard ORIG_HEAD` after the rollback went where the
    operation had been, not where your reset had left. It comes back as it was (removed where
    there was none), checked on the disk."""
    for message in ("b", "c"):
        repo.git("commit", "-q", "--allow-empty", "-m", message)
    if how == "none-before":
        assert _orig_head(repo) is None
    else:
        repo.git("reset", "-q", "--hard", "HEAD~1")
    before = _orig_head(repo)
    line = "git reset -q --hard HEAD~1"
    if how in ("failed-run", "none-before"):
        repo.atomic("run", "--", "sh", "-c", line + "; exit 1", check=1)
    elif how == "abort":
        repo.atomic("begin", "reset", check=0)
        subprocess.run(["sh", "-c", line], cwd=repo.path, env=repo.env, check=True)
        repo.atomic("abort", check=0)
    else:
        done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", line)
        assert _orig_head(repo) != before
        repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert _orig_head(repo) == before
    assert not os.path.lexists(repo.path / ".git" / "ORIG_HEAD.lock")


def test_an_orig_head_you_wrote_since_stays(repo: GitRepo) -> None:
    """ORIG_HEAD a reset of yours wrote after the operation is yours: `rollback --op` of the
    operation leaves it."""
    for message in ("b", "c"):
        repo.git("commit", "-q", "--allow-empty", "-m", message)
    done = repo.atomic_json("run", "--history", "shadow", "--", "git", "reset", "-q", "HEAD~1")
    repo.git("commit", "-q", "--allow-empty", "-m", "yours")
    repo.git("reset", "-q", "--soft", "HEAD~1")
    yours = _orig_head(repo)
    repo.atomic("rollback", "--op", done["op_id"], check=None)
    assert _orig_head(repo) == yours


def _with_submodule(repo: GitRepo, tmp_path: Path) -> Path:
    upstream = GitRepo.create(tmp_path / "upstream", tmp_path / "home")
    upstream.write("s.txt", b"s\n")
    upstream.git("add", "s.txt")
    upstream.git("commit", "-qm", "s")
    repo.git(
        "-c", "protocol.file.allow=always", "submodule", "-q", "add", str(upstream.path), "sub"
    )
    repo.git("commit", "-qm", "sub")
    return repo.path / "sub"


@pytest.mark.parametrize("how", ["failed-run", "rollback-op", "rm-rf"])
def test_a_submodule_an_operation_deinitialised_is_checked_out_again(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """`git submodule deinit -f sub` empties the submodule's folder (its files and `.git`
    file) and removes its section from .git/config; its git dir (.git/modules/sub) stays. The
    superproject's gitlink does not change, so the failed run's rollback said "it had changed
    nothing", the folder left empty. Its files and `.git` file come back now, from its own git
    dir, and the rollback says that the config section stays and how to put it back. So does
    a submodule's folder an operation removed (`rm -rf sub`), which came back empty."""
    sub = _with_submodule(repo, tmp_path)
    dot_git = (sub / ".git").read_bytes()
    files = sorted(os.listdir(sub))
    assert ".git" in files and "s.txt" in files
    line = "rm -rf sub" if how == "rm-rf" else "git submodule deinit -q -f sub"
    if how != "rollback-op":
        res = repo.atomic("run", "--", "sh", "-c", line + "; exit 1", check=1)
        assert "changed nothing" not in res.stderr
    else:
        done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", line)
        assert os.listdir(sub) == []
        dry = repo.atomic("rollback", "--op", done["op_id"], "--dry-run", check=0).stdout
        assert os.listdir(sub) == []
        assert "git     sub: the operation emptied this submodule's folder" in dry, dry
        assert "would be checked out again from its git dir" in dry, dry
        res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert sorted(os.listdir(sub)) == files
    assert (sub / ".git").read_bytes() == dot_git
    assert (sub / "s.txt").read_bytes() == b"s\n"
    assert (
        subprocess.run(
            ["git", "-C", str(sub), "status", "--porcelain"], env=repo.env, capture_output=True
        ).stdout
        == b""
    )
    assert "sub: the operation emptied this submodule" in res.stderr, res.stderr
    assert "only its folder is made again" not in res.stderr  # `rm -rf sub`: not only
    if how == "rm-rf":  # its config section stays where it was
        assert "git submodule init" not in res.stderr
        return
    assert "`git submodule init -- sub` puts it back" in res.stderr
    assert repo.git("config", "--get", "submodule.sub.url", check=False).strip() == ""


def test_a_submodule_you_had_deinitialised_stays_empty(repo: GitRepo, tmp_path: Path) -> None:
    """One not checked out when the operation began is not the operation's to check out."""
    sub = _with_submodule(repo, tmp_path)
    repo.git("submodule", "deinit", "-q", "-f", "sub")
    res = repo.atomic("run", "--", "sh", "-c", "exit 1", check=1)
    assert os.listdir(sub) == []
    assert "emptied this submodule" not in res.stderr


@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_a_submodule_checkout_the_operation_moved_is_named_not_said_as_before(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """An operation that moved a submodule's checkout (`git -C sub checkout HEAD~1`; `git
    submodule update` after a pull) and failed was rolled back "files, index and branches
    are as before" with the submodule still at the other commit (git status: ` M sub`), and
    `rollback --op` of a kept one said "the tree is already at PRE-OP; nothing to do": a
    moved checkout was silently left out of the plan, as Codex's undo leaves a submodule
    (https://github.com/openai/codex/issues/12792). Its contents are not captured, so it is
    still not moved back, but the rollback and its dry run name it and the `git -C sub
    checkout` that moves it back (https://github.com/tpope/vim-fugitive/issues/1705)."""
    sub = _with_submodule(repo, tmp_path)
    upstream = GitRepo(tmp_path / "upstream", repo.env)
    upstream.write("s.txt", b"s2\n")
    upstream.git("commit", "-qam", "s2")
    subprocess.run(["git", "-C", str(sub), "pull", "-q"], env=repo.env, check=True)
    repo.git("commit", "-qam", "sub at s2")
    at = repo.git("-C", str(sub), "rev-parse", "HEAD").strip()
    back = repo.git("-C", str(sub), "rev-parse", "HEAD~1").strip()
    line = "git -C sub checkout -q HEAD~1"
    if how == "failed-run":
        res = repo.atomic("run", "--", "sh", "-c", line + "; exit 1", check=1)
    else:
        done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", line)
        dry = repo.atomic("rollback", "--op", done["op_id"], "--dry-run", check=0)
        assert f"git -C sub checkout {at[:12]}" in dry.stderr, dry.stderr
        res = repo.atomic("rollback", "--op", done["op_id"], check=None)
        assert "nothing to do" not in res.stderr, res.stderr
    # Not moved back (a submodule's contents are not captured), and said so.
    assert repo.git("-C", str(sub), "rev-parse", "HEAD").strip() == back
    assert f"sub: a submodule checked out at {back[:12]}" in res.stderr, res.stderr
    assert f"`git -C sub checkout {at[:12]}` puts it back" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


def test_files_a_failed_run_changed_inside_a_submodule_are_named(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A failed run that edited and made files inside a submodule (`sub/s.txt`, `sub/new`)
    was rolled back saying "it had changed nothing", its edits left there: a submodule's
    contents are in no checkpoint, so Codex's undo misses them too
    (https://github.com/openai/codex/issues/12792). They are still left as they are, but the
    rollback names them; what you had changed there before the operation is not named."""
    sub = _with_submodule(repo, tmp_path)
    (sub / "yours.txt").write_bytes(b"changed before the operation\n")
    time.sleep(0.1)
    res = repo.atomic("run", "--", "sh", "-c", "echo x > sub/s.txt; echo n > sub/new; exit 1")
    assert res.returncode == 1
    assert "changed nothing" not in res.stderr, res.stderr
    assert "sub: files in this submodule changed while the operation ran (" in res.stderr
    assert "new" in res.stderr and "s.txt" in res.stderr and "yours.txt" not in res.stderr
    assert (sub / "s.txt").read_bytes() == b"x\n"  # left as it is: not captured
    res = repo.atomic("run", "--", "sh", "-c", "exit 1", check=1)
    assert "sub: files in this submodule" not in res.stderr, res.stderr


@pytest.mark.parametrize("also", ["", "echo x > top.txt; "], ids=["only there", "and a file"])
def test_rollback_op_names_the_files_an_operation_changed_inside_a_submodule(
    repo: GitRepo, tmp_path: Path, also: str
) -> None:
    """`rollback --op` of a kept operation that edited a file inside a submodule said it went
    back to "exactly its PRE-OP state" (or "nothing further"), naming nothing, while the
    submodule's file stayed as the operation left it (no checkpoint holds a submodule's
    contents). It names the files changed there while the operation ran, as its own rollback
    does, and never says "exactly" over them; what you changed there since is not named."""
    sub = _with_submodule(repo, tmp_path)
    time.sleep(0.1)
    script = also + "echo x > sub/s.txt"
    repo.atomic("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script, check=0)
    op_id = repo.atomic_json("log", "-n", "1")["operations"][0]["op_id"]
    time.sleep(0.1)
    (sub / "yours.txt").write_bytes(b"changed after the operation\n")
    # Its dry run names them too, as the real one will (it named nothing of the submodule).
    res = repo.atomic("rollback", "--op", op_id, "--dry-run", check=0)
    assert "sub: files in this submodule changed while the operation ran (s.txt)" in res.stderr
    assert "yours.txt" not in res.stderr, res.stderr
    res = repo.atomic("rollback", "--op", op_id, check=0)
    assert "sub: files in this submodule changed while the operation ran (s.txt)" in res.stderr
    assert "yours.txt" not in res.stderr, res.stderr
    assert "exactly its PRE-OP state;" not in res.stderr, res.stderr
    assert (sub / "s.txt").read_bytes() == b"x\n"  # left as it is: not captured
    assert not repo.exists("top.txt")


@pytest.mark.parametrize("how", ["failed-run", "abort"])
def test_a_git_hook_the_operation_installed_is_named_by_its_rollback(
    repo: GitRepo, how: str
) -> None:
    """A failed run that installed a git hook (`.git/hooks/pre-commit`, or one in the folder
    `core.hooksPath` names) was rolled back saying "it had changed nothing", the hook left
    to run at every commit of yours (written from a sandbox, run on the host:
    https://github.com/inoio/agents-sandbox/issues/39; detected and named, not removed, as
    https://github.com/rappdw/sandy/pull/86 does). Hooks are configuration, in no checkpoint:
    still left as they are, but its own rollback names each one it made or changed."""
    repo.git("config", "core.hooksPath", ".githooks")
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".githooks/\n")
    (repo.path / ".githooks").mkdir()
    (repo.path / ".githooks" / "pre-push").write_bytes(b"#!/bin/sh\n")  # yours, before
    (repo.path / ".git" / "hooks" / "post-checkout").write_bytes(b"#!/bin/sh\n")
    time.sleep(0.1)
    install = (
        "printf '#!/bin/sh\\nexit 1\\n' > .git/hooks/pre-commit; "
        "chmod +x .git/hooks/pre-commit; printf '#!/bin/sh\\n' > .githooks/commit-msg"
    )
    if how == "failed-run":
        res = repo.atomic("run", "--", "sh", "-c", install + "; exit 1", check=1)
    else:
        repo.atomic("begin", "x", check=0)
        subprocess.run(["sh", "-c", install], cwd=repo.path, env=repo.env, check=True)
        res = repo.atomic("abort", check=0)
    assert "changed nothing" not in res.stderr, res.stderr
    said = [line for line in res.stderr.splitlines() if "a git hook made or changed" in line]
    assert [line.split(": ")[2] for line in said] == [
        ".git/hooks/pre-commit",
        ".githooks/commit-msg",
    ], res.stderr
    assert (repo.path / ".git" / "hooks" / "pre-commit").exists()  # left: configuration
    res = repo.atomic("run", "--", "sh", "-c", "exit 1", check=1)
    assert "a git hook" not in res.stderr and "changed nothing" in res.stderr, res.stderr


# What the operation does to `.git/config` (and a worktree's `config.worktree`), and the line
# its rollback must name (a digest of every line is noted at PRE-OP, never the text).
CONFIG_CHANGES = {
    "hooks-path": ("git config core.hooksPath /tmp/elsewhere", "[core] hooksPath = /tmp/elsewhere"),
    "fsmonitor": ("git config core.fsmonitor 'sh x.sh'", "[core] fsmonitor = sh x.sh"),
    "filter": ("git config filter.f.clean 'sh x.sh'", '[filter "f"] clean = sh x.sh'),
    "remote-url": ("git config remote.origin.url https://else/r", '[remote "origin"] url = '),
    "unset": ("git config --unset user.signingkey", "removed 1 line it held before"),
    "worktree-file": (
        "git config extensions.worktreeConfig true; git config --worktree diff.external x.sh",
        "config.worktree: the operation added or changed [diff] external = x.sh",
    ),
}


@pytest.mark.parametrize("how", ["failed-run", "abort", "recover", "rollback-op"])
@pytest.mark.parametrize("change", list(CONFIG_CHANGES))
def test_a_git_setting_the_operation_made_is_named_by_its_rollback(
    repo: GitRepo, change: str, how: str
) -> None:
    """A failed run that set `core.hooksPath`, `core.fsmonitor`, a clean filter or a remote's
    URL was rolled back saying "files, index and branches are as before", the setting left in
    force (git runs the program at your next `git status`, `git add`, commit) with no word of
    it. An agent's `.git/config` is code run on the host (fwdai/fletch #564,
    tinyhumansai/openhuman #5493); Claude Code's worktree setup silently rewrote the shared
    repository's `core.hooksPath` (anthropics/claude-code #67914). Configuration is in no
    checkpoint and stays, but its own rollback names every line PRE-OP lacked (and counts
    those gone); the remote's token in its old URL is never copied into the journal."""
    command, said = CONFIG_CHANGES[change]
    repo.git("config", "remote.origin.url", "https://user:s3cret@host/r")
    repo.git("config", "user.signingkey", "ABCDEF")
    config = repo.path / ".git" / "config"
    if how == "failed-run":
        res = repo.atomic("run", "--", "sh", "-c", command + "; exit 1", check=1)
    elif how == "abort":
        repo.atomic("begin", "x", check=0)
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
        res = repo.atomic("abort", check=0)
    elif how == "rollback-op":  # kept; a setting of yours since is yours, never named
        done = repo.atomic_json("run", "--", "sh", "-c", command)
        repo.git("config", "core.editor", "vi")
        res = repo.atomic("rollback", f"--op={done['op_id']}", check=0)
        assert "editor" not in res.stderr, res.stderr
    else:  # killed half way through its rollback: `recover` finishes it
        kill = {"GIT_ATOMIC_FAILPOINT": "rollback:after-rescue"}
        run = repo.atomic("run", "--", "sh", "-c", command + "; exit 1", env=kill)
        assert run.returncode == -9, run.stderr
        res = repo.atomic("recover", check=0)
    left = config.read_bytes()
    assert "are as before (ignored files are not restored). " not in res.stderr, res.stderr
    named = [
        line for line in res.stderr.splitlines() if "configuration is in no checkpoint" in line
    ]
    assert named and said in " ".join(named), res.stderr
    assert config.read_bytes() == left  # left as it is: configuration
    journal = b"".join(
        p.read_bytes() for p in (repo.path / ".git" / "atomic").rglob("*") if p.is_file()
    )
    assert b"s3cret" not in journal
    res = repo.atomic("run", "--", "sh", "-c", "exit 1", check=1)  # one that sets nothing
    assert "configuration is in no checkpoint" not in res.stderr, res.stderr


def test_a_branch_section_a_rollback_writes_back_is_not_named_as_the_operations(
    repo: GitRepo,
) -> None:
    """A failed run that deleted a branch (`git branch -D`, its `[branch]` section with it):
    the rollback makes it again and writes its section back (branchconfig.py), git
    lower-casing the keys you wrote `Remote`, `Merge`. Those lines are yours, as before: the
    config lines a rollback names are compared without the letter case of their keys."""
    repo.git("branch", "feat")
    with (repo.path / ".git" / "config").open("a") as fh:
        fh.write('[branch "feat"]\n\tRemote = origin\n\tMerge = refs/heads/feat\n')
    res = repo.atomic("run", "--", "sh", "-c", "git branch -D feat; exit 1", check=1)
    assert repo.git("config", "branch.feat.remote").strip() == "origin"
    assert "configuration is in no checkpoint" not in res.stderr, res.stderr


def test_a_config_too_large_to_note_is_not_named_line_by_line(repo: GitRepo) -> None:
    """A config file over the size whose lines PRE-OP notes (16 KiB: a turn's window notes
    them at each call) is not named: never every line of it as the operation's."""
    config = repo.path / ".git" / "config"
    with config.open("a") as fh:
        for n in range(1000):
            fh.write(f"[alias]\n\ta{n} = log --oneline --graph --decorate -n {n}\n")
    res = repo.atomic("run", "--", "sh", "-c", "git config core.hooksPath /x; exit 1", check=1)
    assert "[alias]" not in res.stderr, res.stderr


def test_a_turn_taken_back_writes_back_the_reflogs_its_call_expired(repo: GitRepo) -> None:
    """An agent turn whose shell call ran `git reflog expire --expire=now --all` and broke the
    gate was taken back at Stop with every reflog left empty: main@{1}, all that named the
    commit a `reset` left behind, gone for the next `git gc`. They are written back now."""
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\nbad\n")
    repo.git("commit", "-q", "--allow-empty", "-m", "left behind")
    left_behind = repo.head()
    repo.git("reset", "-q", "--hard", "HEAD~1")
    log = repo.path / ".git" / "logs" / "refs" / "heads" / "main"
    before = log.read_bytes()
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="tidy up")
    call = {"tool_name": "Bash", "tool_input": {"command": "tidy"}, "tool_use_id": "t1"}
    claude_hook(repo, "s1", "PreToolUse", **call)
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.write("bad", b"x\n")
    repo.write("made.txt", b"m\n")
    claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
    answer = claude_hook(repo, "s1", "Stop", stop_hook_active=False).stdout
    assert json.loads(answer)["decision"] == "block", answer
    assert not repo.exists("made.txt")
    assert log.read_bytes().startswith(before)
    assert repo.git("rev-parse", "main@{1}").strip() == left_behind


def _a_failing_turn(
    repo: GitRepo, line: str, *, between: str = "", first: str = "echo m > made.txt"
) -> dict[str, str]:
    """A turn whose shell calls run `first`, then `line`, which breaks the gate (it makes
    `bad`); `between`, a command of yours (or another session's) after its first call. Its
    Stop's answer."""
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    for n, command in enumerate((first, f"{line}; echo x > bad"), start=1):
        call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": f"t{n}"}
        claude_hook(repo, "s1", "PreToolUse", **call)
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
        claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
        if n == 1 and between:
            subprocess.run(["sh", "-c", between], cwd=repo.path, env=repo.env, check=True)
    answer: dict[str, str] = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert answer["decision"] == "block", answer
    assert not repo.exists("made.txt") and not repo.exists("bad"), answer
    return answer


def test_a_turns_commit_another_session_built_on_stays_and_its_stop_says_so(
    repo: GitRepo,
) -> None:
    """The turn committed t.txt, another session committed on top before its Stop: main stays
    on that commit (never moved back over it) and t.txt is taken back in the files and the
    index. Its Stop said only "rolled back", as if main were as before: it says now what
    `rollback --op` says, that the branch stays and why."""
    answer = _a_failing_turn(
        repo,
        "true",
        first="echo t > t.txt; git add t.txt; git commit -qm turn",
        between="echo o > o.txt; git add o.txt; git commit -qm theirs",
    )
    assert repo.git("log", "-1", "--format=%s", "main").strip() == "theirs"
    assert repo.git("log", "-1", "--format=%s", "main~1").strip() == "turn"
    assert not repo.exists("t.txt") and repo.read("o.txt") == b"o\n"
    assert repo.git("ls-files", "t.txt") == "" and repo.git("ls-files", "o.txt") == "o.txt\n"
    assert "branch main has moved since (later commits); it stays" in answer["systemMessage"]


def test_a_turns_stash_under_one_of_yours_stays_and_its_stop_says_so(repo: GitRepo) -> None:
    """The turn stashed your staged file; you pushed a stash of your own before its Stop: your
    file comes back, both stashes stay (yours on top), and the Stop says the list stays."""
    repo.write("wip", b"w\n")
    repo.git("add", "wip")
    answer = _a_failing_turn(
        repo,
        "true",
        first="git stash -q",
        between="echo mine > mine.txt; git add mine.txt; git stash -q -m mine",
    )
    assert repo.read("wip") == b"w\n" and repo.git("ls-files", "wip") == "wip\n"
    assert repo.git("stash", "list", "--format=%gs").splitlines()[0] == "On main: mine"
    assert "your stash list changed since; it stays" in answer["systemMessage"]


@pytest.mark.parametrize("before", ["none", "yours"])
def test_a_turn_taken_back_puts_back_the_orig_head_its_call_wrote(
    repo: GitRepo, before: str
) -> None:
    """A turn's `git reset --hard HEAD~1`, taken back at Stop, left ORIG_HEAD naming the
    turn's commit (a rollback of a run puts it back): it is as before the turn now, removed
    where there was none."""
    for message in ("b", "c"):
        repo.git("commit", "-q", "--allow-empty", "-m", message)
    if before == "yours":
        repo.git("reset", "-q", "--hard", "HEAD~1")
    was = _orig_head(repo)
    _a_failing_turn(repo, "git reset -q --hard HEAD~1")
    assert _orig_head(repo) == was
    assert not os.path.lexists(repo.path / ".git" / "ORIG_HEAD.lock")


def test_an_orig_head_you_wrote_between_a_turns_calls_stays(repo: GitRepo) -> None:
    """Your own reset between the turn's calls wrote ORIG_HEAD: the turn's take-back leaves it."""
    for message in ("b", "c"):
        repo.git("commit", "-q", "--allow-empty", "-m", message)
    _a_failing_turn(repo, "true", between="git reset -q --soft HEAD~1")
    yours = _orig_head(repo)
    assert yours is not None and yours.decode().strip() == repo.git("rev-parse", "HEAD@{1}").strip()


def test_a_turn_taken_back_removes_the_header_only_packed_refs_its_call_left(
    repo: GitRepo,
) -> None:
    packed = repo.path / ".git" / "packed-refs"
    assert not os.path.lexists(packed)
    _a_failing_turn(repo, PACK_AND_DELETE)
    assert not os.path.lexists(packed)
    assert not os.path.lexists(repo.path / ".git" / "packed-refs.lock")


@pytest.mark.parametrize("line", ["git submodule deinit -q -f sub", "rm sub/.git"])
def test_a_turn_taken_back_checks_out_the_submodule_its_call_deinitialised(
    repo: GitRepo, tmp_path: Path, line: str
) -> None:
    """A turn's `git submodule deinit -f sub` (or `rm sub/.git`), taken back at Stop, left the
    submodule's folder empty (or no checkout): its `.git` file and files come back, as a
    rollback of a run has them, and the answer says so."""
    sub = _with_submodule(repo, tmp_path)
    dot_git = (sub / ".git").read_bytes()
    files = sorted(os.listdir(sub))
    answer = _a_failing_turn(repo, line)
    assert sorted(os.listdir(sub)) == files
    assert (sub / ".git").read_bytes() == dot_git
    assert (sub / "s.txt").read_bytes() == b"s\n"
    assert "sub: the operation" in answer["systemMessage"], answer


def test_a_turn_taken_back_names_the_linked_worktree_its_call_removed(
    repo: GitRepo, tmp_path: Path
) -> None:
    """No checkpoint holds another worktree's files: the take-back says it does not come back,
    and how to make it again, as a rollback of a run says it."""
    repo.git("worktree", "add", "-q", str(tmp_path / "wt"), "-b", "wtb")
    answer = _a_failing_turn(repo, f"git worktree remove --force {tmp_path / 'wt'}")
    assert f"removed the linked worktree {tmp_path / 'wt'} (branch wtb" in answer["systemMessage"]
    assert f"`git worktree add {tmp_path / 'wt'} wtb`" in answer["systemMessage"]


def test_recover_of_a_turns_take_back_leaves_the_orig_head_you_wrote_between_its_calls(
    repo: GitRepo,
) -> None:
    """The turn's `git reset --hard HEAD~1` wrote ORIG_HEAD, then your own reset wrote it
    again. Its take-back at Stop leaves yours; killed half way, its `recover` removed it, as
    if the whole ORIG_HEAD were the turn's: it leaves yours now too."""
    for message in ("b", "c"):
        repo.git("commit", "-q", "--allow-empty", "-m", message)
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    for n, command in enumerate(("git reset -q --hard HEAD~1", "echo x > bad"), start=1):
        call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": f"t{n}"}
        claude_hook(repo, "s1", "PreToolUse", **call)
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
        claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
        if n == 1:
            repo.git("reset", "-q", "--soft", "HEAD")  # yours: ORIG_HEAD names HEAD now
    yours = _orig_head(repo)
    kill = {"GIT_ATOMIC_FAILPOINT": "rollback:after-rescue"}
    assert claude_hook(repo, "s1", "Stop", env=kill, check=False).returncode == -9

    repo.atomic("recover", check=0)

    assert not repo.exists("bad")
    assert _orig_head(repo) == yours


@pytest.mark.parametrize("yours", ["deinit", "worktree-add", "packed-refs"])
def test_what_you_did_to_git_files_between_a_turns_calls_stays_yours(
    repo: GitRepo, tmp_path: Path, yours: str
) -> None:
    """Noted at the turn's start only, the submodule you de-initialised between its calls was
    checked out again by its take-back, the worktree you added was named as the turn's, and
    the header-only packed-refs you left went: only what changed within its calls is the
    turn's."""
    sub = _with_submodule(repo, tmp_path)
    between = {
        "deinit": "git submodule deinit -q -f sub",
        "worktree-add": f"git worktree add -q {tmp_path / 'wt'} -b wb",
        "packed-refs": PACK_AND_DELETE,
    }[yours]
    answer = _a_failing_turn(repo, "true", between=between)
    if yours == "deinit":
        assert os.listdir(sub) == []
        assert "sub:" not in answer["systemMessage"], answer
    elif yours == "worktree-add":
        assert (tmp_path / "wt" / "README").exists()
        assert "linked worktree" not in answer["systemMessage"], answer
    else:
        assert (repo.path / ".git" / "packed-refs").read_bytes().startswith(b"# pack-refs")


def test_reflogs_you_expired_between_a_turns_calls_stay_expired(repo: GitRepo) -> None:
    """Your `git reflog expire --expire=now --all` between the turn's calls was undone by its
    take-back (every reflog written back as the turn's start had it): only a reflog one of its
    calls rewrote is the turn's to write back."""
    repo.git("commit", "-q", "--allow-empty", "-m", "left behind")
    repo.git("reset", "-q", "--hard", "HEAD~1")
    log = repo.path / ".git" / "logs" / "refs" / "heads" / "main"
    assert log.read_bytes()
    _a_failing_turn(repo, "true", between="git reflog expire --expire=now --all")
    assert log.read_bytes() == b""
    assert (repo.path / ".git" / "logs" / "HEAD").read_bytes() == b""
