"""Effect, not state, where HEAD went after the operation: you checked out its own commits.

An operation moved the branch it had checked out (a commit of its own, commits mode's commit, a
`reset --hard HEAD~1` and a commit), and you then detached HEAD there (`git checkout
--detach`), made a branch there (`git switch -c mine`), or committed on top of it detached.
`rollback --op` moved the branch back and replayed the operation's change onto the commit now
checked out, as for a switch to another branch (effectswitch.ends_on_the_checkout): but that
commit holds the operation's own commits, so the replay dropped the whole change out of the
files and the index, and the rollback said "its effect taken back; 0 paths changed", the
operation's files left in place, unsaid. Now the change is taken back in the files and the
index too, HEAD stays where you put it, and one line says so (`HEAD has moved since (now
detached at ...)`); `undo` brings back the state you had, exactly. Read from the disk: HEAD's
file, the branch's ref file, the raw index, every file's bytes.
"""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo, State

# (history mode, the operation's command): each moves `main`, which HEAD is on.
OPS = {
    "commits-mode": ("commits", "echo op >> README && echo new > n.txt"),
    "its-commit": (
        "shadow",
        "echo op >> README && echo new > n.txt && git add -A && git commit -qm op",
    ),
    "reset-and-commit": (
        "shadow",
        "git reset -q --hard HEAD~1 && echo new > n.txt && git add -A && git commit -qm op",
    ),
}
# What you do since, each leaving HEAD on a commit that holds the operation's.
YOURS = {
    "detach": ["git checkout -q --detach"],
    "switch": ["git switch -q -c mine"],
    "detach-and-commit": [
        "git checkout -q --detach",
        "echo u > u.txt && git add u.txt && git commit -qm u",
    ],
}


def _sh(repo: GitRepo, line: str) -> None:
    import subprocess

    subprocess.run(["sh", "-c", line], cwd=repo.path, env=repo.env, check=True)


def _head_file(repo: GitRepo) -> bytes:
    return (repo.path / ".git" / "HEAD").read_bytes()


def _without(state: State, path: bytes) -> tuple[set[object], set[object]]:
    files = {f for f in state.files if f[0] != path}
    index = {e for e in (state.index or ()) if e[0] != path}
    return files, index


@pytest.mark.parametrize("yours", list(YOURS))
@pytest.mark.parametrize("op", list(OPS))
def test_rollback_op_takes_its_commits_out_of_the_checkout_you_moved_to(
    repo: GitRepo, op: str, yours: str
) -> None:
    repo.write("b.txt", b"b\n")
    repo.git("add", "b.txt")
    repo.git("commit", "-qm", "b")
    pre = repo.fingerprint()
    main = (repo.path / ".git" / "refs" / "heads" / "main").read_bytes()
    mode, line = OPS[op]
    done = repo.atomic_json("run", "--no-gates", "--history", mode, "--", "sh", "-c", line)
    for step in YOURS[yours]:
        _sh(repo, step)
    mid, head = repo.fingerprint(), _head_file(repo)
    dry = repo.atomic("rollback", "--op", done["op_id"], "--dry-run", check=0)
    assert "keep    HEAD" in dry.stdout, dry.stdout
    assert repo.fingerprint() == mid
    res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert _head_file(repo) == head  # yours: stays
    assert (repo.path / ".git" / "refs" / "heads" / "main").read_bytes() == main
    after = repo.fingerprint()
    # Every file and index entry as before the operation, but for your u.txt (kept).
    assert _without(after, b"u.txt") == _without(pre, b"u.txt"), after.diff(pre)
    assert {f for f in after.files if f[0] == b"u.txt"} == {
        f for f in mid.files if f[0] == b"u.txt"
    }
    where = "now on branch mine" if yours == "switch" else "now detached at "
    assert f"HEAD has moved since ({where}" in res.stderr, res.stderr
    assert "0 paths changed" not in res.stderr, res.stderr
    repo.atomic("undo", check=0)
    assert repo.fingerprint() == mid, repo.fingerprint().diff(mid)
    assert _head_file(repo) == head


def test_a_branch_of_yours_elsewhere_keeps_its_files(repo: GitRepo) -> None:
    """The other side of the rule: the commit you checked out since holds none of the
    operation's commits (where a `reset --hard HEAD~1` left the branch, no commit of its
    own): the branch's move is the branch's, and only what it did beside it goes."""
    repo.git("branch", "other")
    repo.write("f", b"f\n")
    repo.git("add", "f")
    repo.git("commit", "-qm", "f")
    line = "git reset -q --hard HEAD~1 && echo op > op.txt"
    done = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", line)
    repo.git("checkout", "-q", "other")
    res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert _head_file(repo) == b"ref: refs/heads/other\n"
    assert not repo.exists("op.txt") and not repo.exists("f")
    assert repo.git("status", "--porcelain") == ""
    assert "HEAD has moved since" not in res.stderr, res.stderr
    # said, not silent: "0 paths changed" alone hid that main moved and your files stay
    assert "HEAD has left the branch the change moved since (now on branch other)" in res.stderr


def test_undo_of_a_failed_run_after_you_detached_says_the_branch_moves_alone(
    repo: GitRepo,
) -> None:
    """A failed run (commits mode: its OP-EXEC commit on main) rolled back; you detached HEAD
    at main since; `undo` makes main's commit again and leaves your detached checkout as it
    is. It said only "0 paths changed"; now one line says the branch moves alone."""
    line = "echo op >> README && echo new > n.txt"
    repo.atomic("run", "-g", "false", "--history", "commits", "--", "sh", "-c", line, check=1)
    repo.git("checkout", "-q", "--detach")
    mid, head = repo.fingerprint(), _head_file(repo)
    dry = repo.atomic("undo", "--dry-run", check=0)
    assert "keep    HEAD (it left the branch since; the branch moves alone: stays)" in dry.stdout
    res = repo.atomic("undo", check=0)
    assert _head_file(repo) == head
    assert repo.git("log", "-1", "--format=%s", "main").startswith("OP-EXEC")
    after = repo.fingerprint()
    assert (after.files, after.index) == (mid.files, mid.index), after.diff(mid)
    assert "HEAD has left the branch the change moved since (now detached at " in res.stderr


def test_head_on_a_symbolic_branch_detached_since(repo: GitRepo) -> None:
    """HEAD on `alias`, a branch that is a symbolic ref to main: the operation's commit moved
    main through it; you detached HEAD there since. The same rule, read through `alias`."""
    repo.git("symbolic-ref", "refs/heads/alias", "refs/heads/main")
    repo.git("symbolic-ref", "HEAD", "refs/heads/alias")
    pre = repo.fingerprint()
    main = (repo.path / ".git" / "refs" / "heads" / "main").read_bytes()
    line = "echo op >> README && echo new > n.txt"
    done = repo.atomic_json("run", "--no-gates", "--history", "commits", "--", "sh", "-c", line)
    _sh(repo, "git checkout -q --detach")
    head = _head_file(repo)
    res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert _head_file(repo) == head
    assert (repo.path / ".git" / "refs" / "heads" / "main").read_bytes() == main
    assert (
        repo.path / ".git" / "refs" / "heads" / "alias"
    ).read_bytes() == b"ref: refs/heads/main\n"
    after = repo.fingerprint()
    assert (after.files, after.index) == (pre.files, pre.index), after.diff(pre)
    assert "HEAD has moved since (now detached at " in res.stderr, res.stderr


def test_a_turn_taken_back_after_you_detached_between_its_calls(repo: GitRepo) -> None:
    """A Claude Code turn: its first call commits on main, you detach HEAD there between its
    calls, its last call breaks the gate. Its Stop takes the turn's calls back: main moves
    back, README and the index come back, HEAD stays detached where you put it."""
    from testing.agents import shell_turn

    pre = repo.fingerprint()
    main = (repo.path / ".git" / "refs" / "heads" / "main").read_bytes()
    answer = shell_turn(
        repo,
        "echo op >> README && git commit -qam op",
        "echo x > bad",
        between="git checkout -q --detach",
    )
    assert answer.get("decision") == "block", answer
    assert (repo.path / ".git" / "refs" / "heads" / "main").read_bytes() == main
    assert _head_file(repo) != b"ref: refs/heads/main\n"  # yours: detached, stays
    assert repo.read("README") == b"hello\n", answer
    after = repo.fingerprint()
    assert after.index == pre.index, after.diff(pre)
    assert not repo.exists("bad")
