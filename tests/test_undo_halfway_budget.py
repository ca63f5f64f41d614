"""`undo` right after a rollback that took back git's half-way state (a merge, cherry-pick,
revert, rebase, `am` or `stash pop` stopped on a conflict) while files over `max_new_file_size`
came, went or stayed: nothing changed since, so it is the exact move back to the state the
rollback replaced, the half-way state with it, and a second `undo` the rollback again.

Found by the differential test (commits mode, a conflict at a name not UTF-8, a budget): the
files over the budget the rollback left (the operation's new ones) or could not bring back
(one the operation wrote over or deleted: no checkpoint holds its bytes) differ from the list
the state it went to kept, and `undo` took that, the rollback's own doing, for a change made
since: no exact move, and a half-way state cannot be made again on top of later changes, so
it refused, exit 3. A file over the budget you move or make after the rollback is a change
since: `undo` still refuses then, nothing changed. Every check reads the disk and the git dir.
"""

from __future__ import annotations

import os
import pickle
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo, State, fingerprint, git_dir_paths

BIG = b"larger than the budget of ten bytes\n"
KEEP = b"keep\xff.bin"  # over the budget, untouched by every operation (names not UTF-8)
NEW = b"new\xfd.bin"  # a file over the budget the operation makes
MOVED = b"moved\xfc.bin"


def _sh(name: bytes) -> str:
    """A name for the shell, its bytes as they are (printf's octal escapes)."""
    return "\"$(printf '" + "".join(f"\\{b:03o}" for b in name) + "')\""


def _gone(kind: str) -> bytes:
    """The file over the budget, there before, that the step `kind` acts on."""
    return b"gone-" + kind.encode() + b"\xfe.bin"


# What the operation does to the files over the budget, beside its half-way state; each acts
# on a file of its own ("all": every one of them).
BIG_STEPS = {
    "deleted": f"rm {_sh(_gone('deleted'))}",
    "overwritten": f"printf small > {_sh(_gone('overwritten'))}",
    "committed": (
        f"printf small > {_sh(_gone('committed'))} && "
        f"git add -- {_sh(_gone('committed'))} && git commit -qm small"
    ),
    "new": f"printf '%s' {shlex.quote(BIG.decode())} > {_sh(NEW)}",
    "moved": f"mv {_sh(_gone('moved'))} {_sh(MOVED)}",
}
BIG_STEPS["all"] = " && ".join(BIG_STEPS.values())
HALFWAY = ["merge", "cherry-pick", "revert", "rebase", "am", "stash"]


def _halfway_steps(repo: GitRepo, how: str, tmp: Path) -> str:
    """A script that leaves git half way (`how`), stopped on a conflict in `a`."""
    if how == "revert":
        return (
            "echo two > a && git commit -qam two && echo three > a && git commit -qam three && "
            "git revert --no-edit HEAD~1"
        )
    repo.git("checkout", "-q", "-b", "theirs")
    repo.write("a", b"theirs\n")
    repo.git("commit", "-qam", "theirs")
    repo.git("checkout", "-q", "main")
    theirs = "theirs"
    ours = "echo ours > a && git commit -qam ours"
    if how == "am":
        mbox = tmp / "theirs.mbox"
        mbox.write_bytes(repo.git("format-patch", "-1", "--stdout", theirs).encode())
        return f"{ours} && git am -3 {mbox}"
    if how == "stash":
        return f"echo stashed > a && git stash -q && {ours} && git stash pop"
    return f"{ours} && git {how} {theirs}"  # merge, cherry-pick, rebase


# Left out of the git dir's files: the reflogs (a move writes its own lines there), ORIG_HEAD
# (`undo` leaves you yours: README, "Git's memo files") and ours while the run is on.
_NOT_COMPARED = ("logs/", "ORIG_HEAD", "atomic.lock", "atomic-child.json")


def _seen(repo: GitRepo) -> tuple[State, set[str]]:
    """The worktree, index, HEAD and branches, and the git dir's files (_NOT_COMPARED aside)."""
    paths = {p for p in git_dir_paths(repo.path / ".git") if not p.startswith(_NOT_COMPARED)}
    return fingerprint(repo.path, repo.env), paths


_SAVE = (
    "import os, pickle, sys, pathlib; from testing.gitrepo import fingerprint, git_dir_paths; "
    "root = pathlib.Path.cwd(); "
    f"paths = {{p for p in git_dir_paths(root / '.git') if not p.startswith({_NOT_COMPARED})}}; "
    "pathlib.Path(sys.argv[1]).write_bytes(pickle.dumps((fingerprint(root, os.environ), paths)))"
)


@pytest.mark.parametrize(
    ("mode", "route"),
    [("commits", "failed run"), ("shadow", "failed run"), ("commits", "abort")],
)
# Each step with a merge; every step at once with each kind of half-way state.
@pytest.mark.parametrize(
    ("how", "big"),
    [("merge", big) for big in BIG_STEPS] + [(how, "all") for how in HALFWAY[1:]],
)
def test_undo_of_a_rollback_of_a_half_way_state_beside_large_files(
    repo: GitRepo, tmp_path: Path, how: str, big: str, mode: str, route: str
) -> None:
    """`route`: the run fails (its own rollback), or `begin`, the steps, then `abort` (a
    half-way state is never kept: a run that leaves one is rolled back)."""
    repo.write(".git-atomic.toml", b"max_new_file_size = 10\n")
    repo.write("a", b"one\n")
    repo.git("add", "a", ".git-atomic.toml")
    repo.git("commit", "-qm", "a")
    for name in (KEEP, *(_gone(kind) for kind in BIG_STEPS)):
        (repo.path / os.fsdecode(name)).write_bytes(BIG)
    halfway = _halfway_steps(repo, how, tmp_path)
    before = _seen(repo)
    saved = tmp_path / "after.pickle"
    script = (
        f"{BIG_STEPS[big]} && {{ {halfway}; }} >/dev/null 2>&1; "
        f"{shlex.quote(sys.executable)} -c {shlex.quote(_SAVE)} {saved}; exit 1"
    )
    if route == "failed run":
        repo.atomic("run", "--history", mode, "--no-gates", "--", "sh", "-c", script, check=1)
    else:
        repo.atomic("begin", "--history", mode, "op", check=0)
        subprocess.run(["sh", "-c", script], cwd=repo.path, env=repo.env, check=False)
        res = repo.atomic("abort")
        # (exit 3: a file over the budget the steps deleted cannot come back, and it says so)
        assert res.returncode == (3 if "cannot come back" in res.stderr else 0), res.stderr
    after: tuple[State, set[str]] = pickle.loads(saved.read_bytes())
    assert after[0].index != before[0].index, "the operation left no conflict"
    rolled = _seen(repo)
    assert rolled[0].head == before[0].head and rolled[0].branches == before[0].branches
    assert rolled[1] == before[1], "the rollback left git's half-way state"
    res = repo.atomic("undo")
    assert res.returncode == 0, res.stderr
    now = _seen(repo)
    assert now[0] == after[0], "\n".join(now[0].diff(after[0]))
    assert now[1] == after[1], f"git dir after undo: {now[1] ^ after[1]}"
    res = repo.atomic("undo")
    assert res.returncode == 0, res.stderr
    again = _seen(repo)
    assert again[0] == rolled[0], "\n".join(again[0].diff(rolled[0]))
    assert again[1] == rolled[1], f"git dir after the second undo: {again[1] ^ rolled[1]}"


@pytest.mark.parametrize("since", ["moved", "made"])
def test_a_large_file_you_move_or_make_after_the_rollback_is_a_change_since(
    repo: GitRepo, tmp_path: Path, since: str
) -> None:
    """The other side: a file over the budget moved or made after the rollback is yours, a
    change since; the half-way state cannot be made again on top of it: refused, exit 3,
    nothing changed."""
    repo.write(".git-atomic.toml", b"max_new_file_size = 10\n")
    repo.write("a", b"one\n")
    repo.git("add", "a", ".git-atomic.toml")
    repo.git("commit", "-qm", "a")
    (repo.path / os.fsdecode(KEEP)).write_bytes(BIG)
    script = f"{BIG_STEPS['new']} && {{ {_halfway_steps(repo, 'merge', tmp_path)}; }}; exit 1"
    repo.atomic("run", "--history", "commits", "--no-gates", "--", "sh", "-c", script, check=1)
    if since == "moved":
        (repo.path / os.fsdecode(KEEP)).rename(repo.path / "mine.bin")
    else:
        (repo.path / "mine.bin").write_bytes(BIG)
    edited = _seen(repo)
    res = repo.atomic("undo", check=3)
    assert "half-way" in res.stderr
    assert _seen(repo) == edited


_WAY_OUT = {
    "merge": ["merge", "--abort"],
    "cherry-pick": ["cherry-pick", "--abort"],
    "revert": ["revert", "--abort"],
    "rebase": ["rebase", "--abort"],
    "am": ["am", "--abort"],
}


@pytest.mark.parametrize("how", list(_WAY_OUT))
def test_git_s_way_out_of_the_half_way_state_undo_brought_back(tmp_path: Path, how: str) -> None:
    """`undo` brings git's half-way state back with the ORIG_HEAD the command left, which it
    goes by: without it `git am --abort` deleted the branch checked out and emptied the index
    (git takes no ORIG_HEAD for "there was no commit before"). The rollback gives you your
    ORIG_HEAD back (README, "Git's memo files"); `undo` writes the operation's again only with
    its half-way state, and a second `undo` yours again. The oracle: a twin repository where
    the same steps ran without git-atomic (the same commits: fixed dates), then git's way
    out, in both."""
    repos = []
    for name in ("ours", "twin"):
        repo = GitRepo.create(tmp_path / name / "r", tmp_path / name / "home")
        repo.write("a", b"one\n")
        repo.git("add", "a")
        repo.git("commit", "-qm", "a")
        repo.git("update-ref", "ORIG_HEAD", "HEAD~")  # yours, from a reset of yours
        repos.append((repo, _halfway_steps(repo, how, tmp_path / name)))
    (ours, script), (twin, _same) = repos
    yours = (ours.path / ".git" / "ORIG_HEAD").read_bytes()
    subprocess.run(["sh", "-c", script], cwd=twin.path, env=twin.env, capture_output=True)
    left = (twin.path / ".git" / "ORIG_HEAD").read_bytes()
    # (a merge, rebase and `am` write one; a cherry-pick or revert of one commit does not)
    assert (left != yours) == (how in ("merge", "rebase", "am"))
    run = ("run", "--history", "shadow", "--no-gates", "--", "sh", "-c", f"{{ {script}; }}; exit 1")
    ours.atomic(*run, check=1)
    assert (ours.path / ".git" / "ORIG_HEAD").read_bytes() == yours
    ours.atomic("undo", check=0)
    assert (ours.path / ".git" / "ORIG_HEAD").read_bytes() == left
    ours.atomic("undo", check=0)
    assert (ours.path / ".git" / "ORIG_HEAD").read_bytes() == yours
    ours.atomic("undo", check=0)
    assert (ours.path / ".git" / "ORIG_HEAD").read_bytes() == left
    for repo in (ours, twin):
        repo.git(*_WAY_OUT[how])
    got, want = fingerprint(ours.path, ours.env), fingerprint(twin.path, twin.env)
    assert got == want, "\n".join(got.diff(want))
