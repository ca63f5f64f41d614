"""git's locks an operation's git left behind (killed half way): `HEAD.lock`, the branch's
`refs/heads/<b>.lock`, `config.lock`, `packed-refs.lock`. Its rollback said files, index and
branches were as before, and left them: your next `git commit` (`git config`, `git branch -d`)
refused, "Unable to create '...lock': File exists". Each one written while it ran, which no
git holds, goes, said; one of yours from before stays."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from testing.gitrepo import GitRepo

# The lock, and a command of yours that needs it, run after the rollback.
LOCKS = {
    "HEAD.lock": "echo b > a && git commit -qam two",
    "refs/heads/main.lock": "echo b > a && git commit -qam two",
    "config.lock": "git config user.x y",
    "packed-refs.lock": "git branch side && git pack-refs --all && git branch -d side",
    # another branch's (a `git branch -f` killed): not only the one HEAD names
    "refs/heads/team/other.lock": "git branch -f team/other HEAD",
    # the stash's (a `git stash` killed), and rerere's (a merge or commit with rerere on)
    "refs/stash.lock": "echo s > a && git stash -q",
    "MERGE_RR.lock": "git -c rerere.enabled=true rerere",
    # a bisect's (its refs are the worktree's own)
    "refs/bisect/bad.lock": "git bisect start && git bisect bad && git bisect reset",
}


def _sh(repo: GitRepo, script: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["sh", "-c", script], cwd=repo.path, env=repo.env, capture_output=True)


@pytest.mark.parametrize("how", ["failed-run", "abort", "recover"])
@pytest.mark.parametrize("lock", list(LOCKS))
def test_a_lock_the_operations_git_left_goes_with_its_rollback(
    repo: GitRepo, lock: str, how: str
) -> None:
    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.git("commit", "-qm", "a")
    op = f"echo x > x && mkdir -p $(dirname .git/{lock}) && touch .git/{lock}"
    if how == "failed-run":
        res = repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    elif how == "abort":
        repo.atomic("begin", "op", check=0)
        assert _sh(repo, op).returncode == 0
        res = repo.atomic("abort", check=0)
    else:
        killed = repo.atomic(
            "run",
            "--",
            "sh",
            "-c",
            op,
            env={"GIT_ATOMIC_FAILPOINT": "checkpoint:op_exec:after-journal"},
        )
        assert killed.returncode == -9, killed.stderr
        res = repo.atomic("recover", check=0)
    assert not os.path.lexists(repo.path / ".git" / lock), res.stderr
    assert f".git/{lock}, a lock the operation's git left" in res.stderr, res.stderr
    assert not repo.exists("x")
    after = _sh(repo, LOCKS[lock])
    assert after.returncode == 0, after.stderr


def test_a_lock_of_yours_from_before_stays(repo: GitRepo) -> None:
    lock = repo.path / ".git" / "HEAD.lock"
    lock.write_bytes(b"")
    os.utime(lock, (1, 1))
    # (shadow mode: commits mode, which must move HEAD's branch, is refused at the door
    # while the lock is there: tests/test_adversary62_callers_hooks.py)
    res = repo.atomic("run", "--history", "shadow", "--", "sh", "-c", "echo x > x; exit 1", check=1)
    assert lock.exists() and "HEAD.lock" not in res.stderr, res.stderr


@pytest.mark.parametrize("when", ["call", "between"])
def test_a_lock_a_turns_call_left_goes_with_its_take_back(repo: GitRepo, when: str) -> None:
    """An agent turn's call whose git died half way left HEAD.lock: its take-back at Stop
    left it, and your next commit refused. It goes, said; one you left between its calls is
    yours and stays."""
    from testing.agents import claude_hook

    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    lock = repo.path / ".git" / "HEAD.lock"
    calls = ["echo m > made.txt", "echo x > bad"]
    if when == "call":
        calls[1] = "touch .git/HEAD.lock; " + calls[1]
    for n, command in enumerate(calls, start=1):
        call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": f"t{n}"}
        claude_hook(repo, "s1", "PreToolUse", **call)
        assert _sh(repo, command).returncode == 0
        claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
        if n == 1 and when == "between":  # (clear of the calls' windows and their margin)
            time.sleep(1.5)
            lock.write_bytes(b"")
            time.sleep(1.5)
    said = claude_hook(repo, "s1", "Stop").stdout
    assert not repo.exists("bad") and not repo.exists("made.txt"), said
    if when == "between":
        assert lock.exists() and "HEAD.lock" not in said, said
        return
    assert not lock.exists() and ".git/HEAD.lock, a lock" in said, said
    assert _sh(repo, "echo b > README && git commit -qam two").returncode == 0


@pytest.mark.parametrize("how", ["run", "turn"])
@pytest.mark.parametrize("lock", list(LOCKS))
def test_a_lock_a_kept_operations_git_left_goes_with_rollback_op(
    repo: GitRepo, lock: str, how: str
) -> None:
    """An operation (or an agent turn) kept whose git died half way after its commit left a
    lock: `rollback --op` of it left the lock, and with `HEAD.lock` or the branch's its move
    of the branch failed ('branch main was moved by someone else', exit 3); a kept turn whose
    call left `packed-refs.lock` was not judged ('git update-ref -m failed'). Each lock
    written within its run (its calls), which no git holds, goes first, said."""
    from testing.agents import claude_hook

    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.git("commit", "-qm", "a")
    first = repo.head()
    op = f"echo b > a && git commit -qam b && mkdir -p $(dirname .git/{lock}) && touch .git/{lock}"
    if how == "run":
        op_id = repo.atomic_json("run", "--", "sh", "-c", op)["op_id"]
    else:
        call = {"tool_name": "Bash", "tool_input": {"command": op}, "tool_use_id": "t1"}
        claude_hook(repo, "s1", "PreToolUse", **call)
        assert _sh(repo, op).returncode == 0
        claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
        made = os.lstat(repo.path / ".git" / lock).st_mtime
        # kept: its Stop removes the lock first (its own ref updates need packed-refs.lock)
        said = claude_hook(repo, "s1", "Stop").stdout
        assert not os.path.lexists(repo.path / ".git" / lock), said
        assert f".git/{lock}, a lock the operation's git left" in said, said
        op_id = repo.atomic_json("log")["operations"][0]["op_id"]
        # one a git of the call still held at Stop, that died since: within the call
        (repo.path / ".git" / lock).write_bytes(b"")
        os.utime(repo.path / ".git" / lock, (made, made))
    assert os.path.lexists(repo.path / ".git" / lock)
    res = repo.atomic("rollback", "--op", str(op_id), check=0)
    assert not os.path.lexists(repo.path / ".git" / lock), res.stderr
    assert f".git/{lock}, a lock the operation's git left" in res.stderr, res.stderr
    assert repo.head() == first and repo.read("a") == b"a\n"
    after = _sh(repo, LOCKS[lock])
    assert after.returncode == 0, after.stderr


@pytest.mark.parametrize("linked", ["refs", "refs/heads", "refs/heads/team"])
def test_a_lock_beyond_a_link_is_never_removed(repo: GitRepo, linked: str) -> None:
    """The branch's folder (or one above it) a link to a folder elsewhere (refs shared by
    hand): the lock seen through it is outside the repository, never listed nor removed,
    though it is stale and new."""
    from git_atomic.engine import discovery, gitlockheld, gitlocks

    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.git("commit", "-qm", "a")
    repo.git("checkout", "-qb", "team/x")
    moved = repo.path.parent / "shared"
    (repo.path / ".git" / linked).rename(moved)
    (repo.path / ".git" / linked).symlink_to(moved)
    assert _sh(repo, "git rev-parse -q --verify team/x").returncode == 0
    outside = moved / "/".join(["refs", "heads", "team", "x.lock"][linked.count("/") + 1 :])
    outside.write_bytes(b"")
    discovery.discover.cache_clear()
    git_repo = discovery.discover(str(repo.path))
    assert git_repo is not None
    found = gitlockheld.git_locks(git_repo)
    assert gitlocks.dropped(git_repo, [(time.time() - 60, None)], found) == []
    assert outside.exists()


def test_a_shared_lock_a_git_of_another_worktree_holds_is_left_to_it(repo: GitRepo) -> None:
    """packed-refs.lock is the repository's, not the worktree's: a git working in another
    worktree of it holds it while its transaction is prepared (`git update-ref --stdin`
    deleting a packed branch). The rollback here left it only where that git worked in this
    worktree: it removed it under the other's feet, and the other's commit failed."""
    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.git("commit", "-qm", "a")
    repo.git("branch", "gone")
    repo.git("pack-refs", "--all")
    other = repo.path.parent / "other"
    repo.git("worktree", "add", "-q", str(other), "-b", "other")
    begun = time.time()
    time.sleep(1.2)  # (past the window's margin: the lock is written while the run runs)
    holding = subprocess.Popen(
        ["git", "update-ref", "--stdin"],
        cwd=other,
        env=repo.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert holding.stdin is not None and holding.stdout is not None
        holding.stdin.write(b"start\ndelete refs/heads/gone\nprepare\n")
        holding.stdin.flush()
        assert holding.stdout.readline() == b"start: ok\n"
        assert holding.stdout.readline() == b"prepare: ok\n"
        lock = repo.path / ".git" / "packed-refs.lock"
        assert lock.exists()
        from git_atomic.engine import discovery, gitlockheld, gitlocks

        discovery.discover.cache_clear()
        git_repo = discovery.discover(str(repo.path))
        assert git_repo is not None
        said = gitlocks.dropped(git_repo, [(begun, None)], gitlockheld.git_locks(git_repo))
        assert lock.exists(), said
        assert said and "git update-ref" in said[0], said
        holding.stdin.write(b"commit\n")
        holding.stdin.close()
        assert holding.wait(timeout=10) == 0, holding.stderr.read() if holding.stderr else ""
    finally:
        holding.kill()
        holding.wait()
    assert _sh(repo, "git rev-parse -q --verify gone").returncode != 0


@pytest.mark.parametrize("lock_name", ["packed-refs.lock", "config.lock"])
def test_a_shared_lock_a_long_fetch_may_hold_is_left_to_it(repo: GitRepo, lock_name: str) -> None:
    """`git fetch` (`--prune`), `git remote remove`, `git config` write refs or the
    configuration, so may hold packed-refs.lock or config.lock: they were counted as never
    holding one (they never hold index.lock), and a rollback removed such a lock under them."""
    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.git("commit", "-qm", "a")
    begun = time.time()
    time.sleep(1.2)
    fetching = subprocess.Popen(  # (waiting on its upload-pack: no git of its own beside)
        ["git", "fetch", "--prune", "--upload-pack=sleep 30;", str(repo.path)],
        cwd=repo.path,
        env=repo.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)  # (it runs, started before the lock is written)
        lock = repo.path / ".git" / lock_name
        lock.write_bytes(b"")
        from git_atomic.engine import discovery, gitlockheld, gitlocks

        discovery.discover.cache_clear()
        git_repo = discovery.discover(str(repo.path))
        assert git_repo is not None
        said = gitlocks.dropped(git_repo, [(begun, None)], gitlockheld.git_locks(git_repo))
        assert lock.exists(), said
        assert said and "git fetch" in said[0], said
    finally:
        fetching.kill()
        fetching.wait()


def test_a_lock_made_again_while_the_stale_one_was_judged_is_left(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stale lock was looked at, its holder asked for (a grace period, a look at the
    running gits), then removed by name: a lock a git made in its place meanwhile (the stale
    one removed by hand, a `git commit` started) was the one removed, under the live git. The
    lock is now renamed aside in one step and compared with the one judged: a new one is put
    back under its name, the stale one alone goes."""
    from git_atomic.engine import discovery, gitlockheld, gitlocks

    lock = repo.path / ".git" / "HEAD.lock"
    lock.write_bytes(b"stale\n")
    judged: list[bool] = []

    def meanwhile(_repo: object, path: object) -> str:
        os.unlink(lock)  # the stale one gone, and a git of yours takes the lock again
        lock.write_bytes(b"live\n")
        judged.append(True)
        return ""  # no git holds the one judged

    monkeypatch.setattr(gitlockheld, "lock_holder_if_held", meanwhile)
    monkeypatch.chdir(repo.path)
    for name, value in repo.env.items():
        monkeypatch.setenv(name, value)
    where = discovery.discover(str(repo.path))
    said = gitlocks.dropped(where, [(time.time() - 60, None)], [lock])
    assert judged and said == []
    assert lock.read_bytes() == b"live\n"
    assert sorted(p.name for p in lock.parent.iterdir() if "atomic-stale" in p.name) == []
    # and where nothing came meanwhile, the stale one goes, said
    monkeypatch.setattr(gitlockheld, "lock_holder_if_held", lambda _repo, _path: "")
    said = gitlocks.dropped(where, [(time.time() - 60, None)], [lock])
    assert not lock.exists() and len(said) == 1 and "is removed" in said[0]


# An operation that moved a ref and whose git then died holding that ref's lock (or HEAD's,
# or packed-refs' for a branch it made and packed).
MOVED_THEN_LOCKED = {
    "commit-HEAD.lock": "echo b > a && git commit -qam b && touch .git/HEAD.lock",
    "commit-branch-lock": "echo b > a && git commit -qam b && touch .git/refs/heads/main.lock",
    "switch-HEAD.lock": "git checkout -qb side && echo b > a && git commit -qam b"
    " && touch .git/HEAD.lock",
    "packed-branch-made": "git branch made && git pack-refs --all && touch .git/packed-refs.lock",
    "branch-made-lock": "git branch made && touch .git/refs/heads/made.lock",
    "stash-pushed-lock": "echo b > a && git stash -q && touch .git/refs/stash.lock",
    "bisect-started-lock": "git bisect start && git bisect bad && touch .git/refs/bisect/bad.lock",
    "other-branch-moved-lock": "echo b > a && git commit -qam b && git branch -f team/other"
    " && touch .git/refs/heads/team/other.lock",
}


@pytest.mark.parametrize(
    ("op", "how"),
    [
        (op, how)
        for op in MOVED_THEN_LOCKED
        for how in ("failed-run", "abort", "recover")
        # (a bisect in progress: its run is rolled back before the kill's step)
        if not (op.startswith("bisect") and how == "recover")
    ],
)
def test_a_lock_left_after_the_operation_moved_a_ref_goes_before_the_ref_moves_back(
    repo: GitRepo, op: str, how: str
) -> None:
    """The operation committed (switched branch, made or moved a branch) and its git died
    holding the lock of the ref it moved: the rollback (a failed run, `abort`, `recover`) said
    'branch main was moved by someone else; left as it is', then removed the lock, and left
    the branch on the operation's commit over the PRE-OP index (your `git status` showed its
    commit's changes staged backwards); the lock of a branch HEAD does not name was not even
    looked for. The lock goes first, as `rollback --op` and a turn's take-back remove it:
    HEAD, the branches, the index and the files exactly as before."""
    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.git("commit", "-qm", "a")
    repo.git("branch", "team/other")
    before = repo.fingerprint()
    script = MOVED_THEN_LOCKED[op]
    if how == "failed-run":
        res = repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1)
    elif how == "abort":
        repo.atomic("begin", "op", check=0)
        assert _sh(repo, script).returncode == 0
        res = repo.atomic("abort", check=0)
    else:
        failpoint = {"GIT_ATOMIC_FAILPOINT": "checkpoint:op_exec:after-journal"}
        killed = repo.atomic("run", "--", "sh", "-c", script, env=failpoint)
        assert killed.returncode == -9, killed.stderr
        res = repo.atomic("recover", check=0)
    assert "by someone else" not in res.stderr, res.stderr
    assert repo.fingerprint().diff(before) == [], res.stderr
    assert repo.git("stash", "list") == "", res.stderr
    assert repo.git("for-each-ref", "refs/bisect/") == "", res.stderr
    assert not list((repo.path / ".git").rglob("*.lock")), res.stderr
