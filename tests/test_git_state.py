"""Operations that leave git half way (a merge, rebase, cherry-pick, revert, am or bisect waiting
for the user, unmerged paths, a stale index.lock): the rollback saves that state in the rescue,
clears it and returns to PRE-OP; `undo` brings it back; `recover` and `emergency` work in it."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo, State, git_dir_paths, read_index

MODES = ("commits", "shadow")
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
# Everything git keeps in the git dir for a command that waits for the user.
LEFTOVERS = (
    "MERGE_HEAD",
    "MERGE_MSG",
    "MERGE_MODE",
    "AUTO_MERGE",
    "CHERRY_PICK_HEAD",
    "REVERT_HEAD",
    "REBASE_HEAD",
    "BISECT_LOG",
    "BISECT_START",
    "rebase-merge",
    "rebase-apply",
    "sequencer",
    "index.lock",
)


def same(a: State, b: State) -> None:
    assert a == b, "\n".join(a.diff(b))


def leftovers(repo: GitRepo) -> list[str]:
    return sorted(n for n in os.listdir(repo.path / ".git") if n in LEFTOVERS)


def conflicting(repo: GitRepo) -> str:
    """Branch `side` changes `c` one way, `main` another; a patch of side's commit for `am`."""
    repo.diverged("c")
    patch = repo.path.parent / "side.patch"
    patch.write_text(repo.git("format-patch", "-1", "--stdout", "side"))
    repo.write("wip.txt", b"my work in progress\n")  # untracked work that must survive
    repo.write("README", b"edited, unstaged\n")
    return str(patch)


def operations(patch: str) -> dict[str, str]:
    return {
        "merge": "git merge -q side",
        "rebase-merge": "git checkout -q -- README && git rebase side",
        "rebase-apply": "git checkout -q -- README && git rebase --apply side",
        "cherry-pick": "git cherry-pick side",
        "revert": "git revert --no-edit HEAD",
        "am": f"git checkout -q -- README && git am {patch}",
        "bisect": "git bisect start side HEAD~1",
        "index.lock": "echo x > c && touch .git/index.lock",
        "unmerged-only": "git merge -q side; rm -f .git/MERGE_HEAD .git/MERGE_MSG .git/MERGE_MODE",
    }


KINDS = tuple(operations("p"))
# Each kind in one history mode (the two alternate), the merge in both: the CI budget.
CASES = [("merge", "shadow")] + [(k, MODES[i % 2]) for i, k in enumerate(KINDS)]


@pytest.mark.parametrize(("kind", "mode"), CASES)
def test_a_failed_operation_that_leaves_git_half_way_is_rolled_back(
    repo: GitRepo, mode: str, kind: str
) -> None:
    command = operations(conflicting(repo))[kind]
    before = repo.fingerprint()
    refs_before = repo.git("for-each-ref", "--format=%(refname) %(objectname)")
    res = repo.atomic_json(
        "run", "--history", mode, "--", "sh", "-c", command + "; exit 1", check=1
    )
    assert res["status"] == "rolled_back"
    # The command did leave git half way, and the rescue holds it.
    saved = repo.git("ls-tree", "--name-only", res["checkpoints"]["rescue"]).split()
    assert ("index" if kind == "unmerged-only" else "gitstate") in saved
    same(repo.fingerprint(), before)
    assert leftovers(repo) == []
    assert repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/bisect/") == ""
    after_refs = repo.git("for-each-ref", "--format=%(refname) %(objectname)")
    assert [r for r in after_refs.splitlines() if "refs/atomic/" not in r] == [
        r for r in refs_before.splitlines() if "refs/atomic/" not in r
    ]
    # The next operation is not refused: nothing is left waiting.
    repo.atomic("run", "--history", mode, "--", "true", check=0)


@pytest.mark.parametrize(
    ("kind", "mode"), [("rebase-merge", "commits"), ("unmerged-only", "shadow")]
)
def test_an_operation_that_succeeds_half_way_is_rolled_back_not_refused(
    repo: GitRepo, mode: str, kind: str
) -> None:
    """Exit 3 means nothing changed: a command that exits 0 leaving a conflict is rolled back."""
    command = operations(conflicting(repo))[kind]
    before = repo.fingerprint()
    res = repo.atomic("run", "--history", mode, "--", "sh", "-c", command + "; exit 0", check=1)
    assert "left" in res.stderr and "rolled back" in res.stderr, res.stderr
    same(repo.fingerprint(), before)
    assert leftovers(repo) == []


@pytest.mark.parametrize("mode", MODES)
def test_a_command_that_exits_0_leaving_a_stale_index_lock_is_rolled_back(
    repo: GitRepo, mode: str
) -> None:
    """README: rolled back like any failure, exit 1 even when its command exited 0, the lock
    taken as after a failure. Was: shadow kept the operation and the lock (exit 0); commits
    waited 5 s for the lock to write the index, then exited 3."""
    before = repo.fingerprint()
    script = "echo x > README; echo junk > .git/index.lock"
    started = time.monotonic()
    res = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", script, check=1)
    assert time.monotonic() - started < 5  # one grace period for the lock, not git's wait
    assert res["status"] == "rolled_back"
    rescue = res["checkpoints"]["rescue"]
    assert repo.git("show", f"{rescue}:gitstate/git/index.lock") == "junk\n"
    same(repo.fingerprint(), before)
    assert leftovers(repo) == []
    repo.atomic("run", "--history", mode, "--", "true", check=0)


@pytest.mark.parametrize("mode", MODES)
def test_a_stale_index_lock_left_in_an_operation_in_steps_is_refused_then_aborted(
    repo: GitRepo, mode: str
) -> None:
    """`checkpoint` and `commit` refuse (exit 3, nothing changed), as they do a merge left;
    `abort` rolls back and takes the lock. Was: shadow kept it all, lock too; commits waited 5 s
    and left the operation interrupted."""
    before = repo.fingerprint()
    repo.atomic("begin", "op", "--history", mode, check=0)
    repo.write("README", b"changed\n")
    (repo.path / ".git" / "index.lock").write_bytes(b"junk\n")
    head, refs = repo.head(), repo.checkpoint_refs()
    for verb in ("checkpoint", "commit"):
        res = repo.atomic(verb, check=3)
        assert "left a stale" in res.stderr and "nothing was changed" in res.stderr, res.stderr
    assert (repo.head(), repo.checkpoint_refs()) == (head, refs)
    assert repo.read("README") == b"changed\n"
    assert "open: op" in repo.atomic("status", check=0).stdout
    repo.atomic("abort", check=0)
    same(repo.fingerprint(), before)
    assert leftovers(repo) == []


@pytest.mark.parametrize("mode", MODES)
def test_the_rescue_keeps_the_merge_and_undo_brings_it_back(repo: GitRepo, mode: str) -> None:
    conflicting(repo)
    before = repo.fingerprint()
    command = "git merge -q side; exit 1"
    res = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", command, check=1)
    rescue = res["checkpoints"]["rescue"]
    merge_head = repo.git("rev-parse", "side").strip()
    assert repo.git("show", f"{rescue}:gitstate/git/MERGE_HEAD").strip() == merge_head
    same(repo.fingerprint(), before)
    repo.atomic("undo", check=0)
    assert (repo.path / ".git" / "MERGE_HEAD").read_text().strip() == merge_head
    assert b"<<<<<<<" in repo.read("c")  # the conflict, as the operation left it on disk
    stages = {e[3] for e in read_index((repo.path / ".git" / "index").read_bytes()) if e[0] == b"c"}
    assert stages == {1, 2, 3}
    assert repo.read("wip.txt") == b"my work in progress\n"
    # And the user can finish it the usual way.
    repo.write("c", b"resolved\n")
    repo.git("add", "c")
    repo.git("commit", "-qm", "merged")
    assert repo.git("rev-parse", "HEAD^2").strip() == merge_head


def test_the_tree_auto_merge_names_is_kept_whole_by_the_rescue(repo: GitRepo) -> None:
    """A conflicted merge leaves AUTO_MERGE, the id of a tree: the rescue keeps that tree
    itself reachable (not its files under another name), so `undo` after `git gc --prune=now`
    brings back an AUTO_MERGE that names a tree git still has."""
    conflicting(repo)
    res = repo.atomic_json("run", "--", "sh", "-c", "git merge -q side; exit 1", check=1)
    rescue = res["checkpoints"]["rescue"]
    auto_merge = repo.git("show", f"{rescue}:gitstate/git/AUTO_MERGE").strip()
    kept = repo.git("ls-tree", f"{rescue}:gitstate/objects").split()
    assert kept == ["040000", "tree", auto_merge, auto_merge]
    repo.git("gc", "-q", "--prune=now")
    repo.atomic("undo", check=0)
    assert (repo.path / ".git" / "AUTO_MERGE").read_text().strip() == auto_merge
    assert repo.git("cat-file", "-t", auto_merge).strip() == "tree"


def test_an_empty_folder_git_waits_on_is_saved_as_an_empty_tree_git_has(repo: GitRepo) -> None:
    """An operation that leaves only an empty `.git/sequencer`: the rescue's `gitstate` is the
    empty tree, written, so that the repository stays whole (`git fsck`)."""
    res = repo.atomic_json("run", "--", "sh", "-c", "mkdir .git/sequencer; exit 1", check=1)
    rescue = res["checkpoints"]["rescue"]
    assert repo.git("rev-parse", f"{rescue}:gitstate").strip() == EMPTY_TREE
    fsck = subprocess.run(
        ["git", "fsck", "--full"], cwd=repo.path, env=repo.env, capture_output=True, text=True
    )
    assert fsck.returncode == 0 and "missing" not in fsck.stdout + fsck.stderr, fsck
    assert not (repo.path / ".git" / "sequencer").exists()


def test_odd_names_in_the_git_dir_come_back_with_undo(repo: GitRepo) -> None:
    """Files an operation leaves in `.git/rebase-merge` whose names hold a newline, a tab or a
    byte that is not UTF-8 are taken back and brought back by `undo`, names and bytes."""
    names = [b"a\nb", b"tab\tx", b"h\xff", b"sub/deeper/file"]
    folder = os.fsencode(repo.path / ".git" / "rebase-merge")
    script = (
        "import os, sys\n"
        + "".join(
            f"os.makedirs(os.path.dirname({folder + b'/' + n!r}), exist_ok=True)\n"
            f"open({folder + b'/' + n!r}, 'wb').write({n + b'!'!r})\n"
            for n in names
        )
        + "sys.exit(1)\n"
    )
    repo.atomic("run", "--", sys.executable, "-c", script, check=1)
    assert not os.path.lexists(folder)
    repo.atomic("undo", check=0)
    for name in names:
        with open(folder + b"/" + name, "rb") as fh:
            assert fh.read() == name + b"!", name


def test_a_rebase_comes_back_in_a_sha256_repository(tmp_path: Path) -> None:
    """`undo` of a rolled-back `rebase -r` sets its `refs/rewritten/` refs anew: in a SHA-256
    repository too (the id of no ref is 64 zeros there), and the rebase can be finished."""
    home = tmp_path / "home"
    repo = GitRepo.create(tmp_path / "r", home, initial_commit=False, object_format="sha256")
    repo.diverged("c")
    rebase = "git rebase -q -r side >/dev/null 2>&1; exit 1"
    repo.atomic("run", "--", "sh", "-c", rebase, check=1)
    assert not (repo.path / ".git" / "rebase-merge").exists()
    repo.atomic("undo", check=0)
    assert (repo.path / ".git" / "rebase-merge").is_dir()
    assert repo.git("for-each-ref", "refs/rewritten/").strip()
    repo.write("c", b"resolved\n")
    repo.git("add", "c")
    repo.git("rebase", "--continue", env={"GIT_EDITOR": "true"})
    assert repo.git("log", "--format=%s").split() == ["main", "side", "base"]


@pytest.mark.parametrize("verb", ["checkpoint", "commit"])
def test_a_merge_left_in_an_open_operation_names_abort(repo: GitRepo, verb: str) -> None:
    """t7600-merge inside `begin`: `checkpoint` and `commit` refuse (exit 3, nothing changed)
    and name the way back the README gives, `git atomic abort` (to PRE-OP, your work in it).
    They named `git atomic emergency`, which goes to the last good state and takes your work
    in progress out of the tree."""
    conflicting(repo)
    before = repo.fingerprint()
    op = repo.atomic_json("begin", "work", "--history", "shadow")
    repo.git("merge", "-q", "side", check=False)
    during, refs = repo.fingerprint(), repo.checkpoint_refs()
    res = repo.atomic(verb, check=3)
    assert f"roll the operation [{op['op_id']}] back with `git atomic abort`" in res.stderr
    assert "emergency" not in res.stderr, res.stderr
    same(repo.fingerprint(), during)
    assert repo.checkpoint_refs() == refs
    repo.atomic("abort", check=0)
    same(repo.fingerprint(), before)


def test_abort_clears_a_rebase_started_inside_the_operation(repo: GitRepo) -> None:
    conflicting(repo)
    repo.git("stash", "-q", "-u")
    before = repo.fingerprint()
    repo.atomic("begin", "work", "--history", "shadow", check=0)
    repo.git("rebase", "side", check=False)
    assert (repo.path / ".git" / "rebase-merge").is_dir()
    repo.atomic("abort", check=0)
    same(repo.fingerprint(), before)
    assert leftovers(repo) == []
    repo.atomic("undo", check=0)
    assert (repo.path / ".git" / "rebase-merge").is_dir()
    assert repo.git("symbolic-ref", "-q", "HEAD", check=False) == ""  # detached, mid-rebase
    repo.git("rebase", "--abort")
    same(repo.fingerprint(), before)


@pytest.mark.parametrize("mode", MODES)
def test_recover_works_while_the_operation_left_a_merge(repo: GitRepo, mode: str) -> None:
    conflicting(repo)
    before = repo.fingerprint()
    res = repo.atomic(
        "run",
        "--history",
        mode,
        "--",
        "sh",
        "-c",
        "git merge -q side; exit 1",
        env={"GIT_ATOMIC_FAILPOINT": "rollback:before-rescue"},
    )
    assert res.returncode < 0 or res.returncode == 137
    assert (repo.path / ".git" / "MERGE_HEAD").exists()
    repo.atomic("run", "--", "true", check=3)  # interrupted: refused until recovered
    repo.atomic("recover", check=0)
    same(repo.fingerprint(), before)
    assert leftovers(repo) == []
    repo.atomic("undo", check=0)
    assert (repo.path / ".git" / "MERGE_HEAD").exists()


def test_emergency_works_during_a_merge_conflict(repo: GitRepo) -> None:
    conflicting(repo)
    head = repo.head()
    repo.git("merge", "-q", "side", check=False)
    conflict = repo.fingerprint()
    dry = repo.atomic("emergency", "--dry-run", check=0)
    assert "a merge in progress: saved, cleared" in dry.stdout, dry.stdout
    res = repo.atomic_json("emergency")
    assert res["git_state"] == {"from": "a merge", "to": None}
    assert leftovers(repo) == []
    assert repo.head() == head and repo.read("c") == b"main\n"
    assert repo.git("status", "--porcelain", "--untracked-files=no") == ""
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), conflict)
    assert (repo.path / ".git" / "MERGE_HEAD").exists()


def test_a_live_index_lock_is_not_taken_from_its_owner(repo: GitRepo, tmp_path: Path) -> None:
    """A lock the operation's git still holds when the rollback runs goes by itself."""
    before = repo.fingerprint()
    script = "echo x > README; touch .git/index.lock; (sleep 0.3; rm .git/index.lock) & exit 1"
    repo.atomic("run", "--", "sh", "-c", script, check=1)
    same(repo.fingerprint(), before)
    assert leftovers(repo) == []


def test_a_live_index_lock_after_a_command_that_exits_0_is_waited_for(repo: GitRepo) -> None:
    """A lock a git the command started still holds when the command exits, and lets go of:
    the operation goes on, as after any success. (That git in a session of its own, which the
    end of the command's process group does not stop, nor the stop of what left it: git's own
    work is left running, core/escapees.py.) Here a `git commit -a` holds the index's lock
    while its editor runs, then lets go (an empty message: no commit)."""
    editor = "sleep 0.5; :"
    command = (
        "echo x > README; "
        f"setsid git -c core.editor={shlex.quote(editor)} commit -qa >/dev/null 2>&1 & "
        "while [ ! -e .git/index.lock ]; do sleep 0.01; done"
    )
    repo.atomic("run", "--", "sh", "-c", command, check=0)
    assert repo.read("README") == b"x\n"
    assert leftovers(repo) == []


# --- undo and rollback while git waits for the user ----------------------------------------
USER_STARTED = {
    "merge": ("git merge -q side", "git merge --abort"),
    "rebase": ("git checkout -q -- README && git rebase -q side", "git rebase --abort"),
    "cherry-pick": ("git cherry-pick side", "git cherry-pick --abort"),
    "revert": ("git revert --no-edit side", "git revert --abort"),
    "bisect": ("git bisect start side HEAD~1", "git bisect reset"),
}


@pytest.mark.parametrize("kind", USER_STARTED)
def test_undo_and_rollback_refuse_a_state_the_user_started(repo: GitRepo, kind: str) -> None:
    """A merge (rebase, ...) the user started after the last rollback is the user's to finish
    or abort: undo and rollback change nothing (exit 3) and say how to get out of it."""
    conflicting(repo)
    op = repo.atomic_json(
        "run", "--history", "shadow", "--", "sh", "-c", "echo x > x; exit 1", check=1
    )
    assert op["status"] == "rolled_back"
    start, way_out = USER_STARTED[kind]
    subprocess.run(["sh", "-c", start], cwd=repo.path, env=repo.env, capture_output=True)
    waiting = leftovers(repo)
    assert set(waiting) - {"AUTO_MERGE"}, kind
    before = repo.fingerprint()
    for argv in (["undo"], ["rollback"]):
        res = repo.atomic(*argv, check=3)
        assert res.stderr.count("\n") == 1 and way_out in res.stderr, res.stderr
        assert "in progress" in res.stderr
        same(repo.fingerprint(), before)
        assert leftovers(repo) == waiting


@pytest.mark.parametrize("mode", MODES)
def test_undo_twice_takes_the_merge_back_out(repo: GitRepo, mode: str) -> None:
    """The first undo brings back the merge the rollback cleared; the second re-does the
    rollback, as always: that merge is git-atomic's own doing, not the user's."""
    conflicting(repo)
    before = repo.fingerprint()
    repo.atomic("run", "--history", mode, "--", "sh", "-c", "git merge -q side; exit 1", check=1)
    repo.atomic("undo", check=0)
    assert "MERGE_HEAD" in leftovers(repo)
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), before)
    assert leftovers(repo) == []


@pytest.mark.parametrize("verb", ["undo", "rollback-op"])
@pytest.mark.parametrize("kind", ["merge", "cherry-pick"])
def test_a_half_way_state_you_aborted_since_is_nothing_to_do(
    repo: GitRepo, kind: str, verb: str
) -> None:
    """t3510-cherry-pick-sequence, t7600-merge: `undo` brought back the sequence (or merge)
    the rollback had cleared, and you aborted it (`git cherry-pick --abort`): the tree is
    where a second undo, or `rollback --op`, goes. Both refused (exit 3: "git's half-way state
    ... cannot be made again", and named `--whole`); now there is nothing to do (exit 0)."""
    conflicting(repo)
    repo.git("commit", "-q", "--allow-empty", "-m", "more")
    before = repo.fingerprint()
    command = {"merge": "git merge -q side", "cherry-pick": "git cherry-pick side~1 side"}[kind]
    op = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", command, check=1)
    repo.atomic("undo", check=0)
    assert leftovers(repo) != []
    repo.git(kind, "--abort")
    same(repo.fingerprint(), before)
    args = ["undo"] if verb == "undo" else ["rollback", "--op", op["op_id"]]
    res = repo.atomic(*args, check=0)
    assert "nothing" in res.stderr and "half-way" not in res.stderr, res.stderr
    same(repo.fingerprint(), before)
    assert leftovers(repo) == []


# --- half-way state and changes made since (effect, not state) ---------------------------
@pytest.mark.parametrize("kind", ["merge", "rebase-merge", "bisect", "unmerged-only"])
def test_undo_on_top_of_later_changes_never_drops_a_half_way_state(
    repo: GitRepo, kind: str
) -> None:
    """The rollback cleared what the command left half way; the user changed a file since.
    Worked out on top of that change, the undo would bring back the files but not git's
    half-way state (nor the conflict's stages): it changes nothing and says why (exit 3)."""
    command = operations(conflicting(repo))[kind]
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", command + "; exit 1", check=1)
    repo.write("wip.txt", b"edited after the rollback\n")
    before = repo.fingerprint()
    res = repo.atomic("undo", check=3)
    assert "half-way state" in res.stderr and "--whole" in res.stderr, res.stderr
    same(repo.fingerprint(), before)
    assert leftovers(repo) == []
    # With the later change gone again, the undo is the rescue exactly: all of it comes back.
    repo.write("wip.txt", b"my work in progress\n")
    repo.atomic("undo", check=0)
    assert leftovers(repo) != [] or kind == "unmerged-only"
    assert any(e[3] for e in read_index((repo.path / ".git" / "index").read_bytes())) or kind in (
        "bisect",
        "rebase-merge",
    )


def test_unmerged_entries_of_yours_refuse_rollback_and_undo(repo: GitRepo) -> None:
    """`git stash pop` that conflicts leaves unmerged entries and no MERGE_HEAD: they are the
    user's, and neither a rollback of an earlier operation nor an undo may drop them."""
    repo.write("c", b"base\n")
    repo.git("add", "c")
    repo.git("commit", "-qm", "c")
    repo.write("c", b"stashed change\n")
    repo.git("stash", "-q")
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", "echo op > op.txt", check=0)
    repo.write("c", b"committed change\n")
    repo.git("commit", "-qam", "user's commit")
    popped = subprocess.run(["git", "stash", "pop"], cwd=repo.path, env=repo.env, check=False)
    assert popped.returncode != 0
    before = repo.fingerprint()
    assert {e[3] for e in read_index((repo.path / ".git" / "index").read_bytes())} == {0, 1, 2, 3}
    res = repo.atomic("rollback", check=3)
    assert "half-way state" in res.stderr, res.stderr
    same(repo.fingerprint(), before)
    res = repo.atomic("begin", "next", check=3)  # the way out named works without a merge
    assert "git reset --merge" in res.stderr, res.stderr
    repo.git("reset", "-q", "--merge")
    assert repo.git("status", "--porcelain", "--", "c") == ""


def test_a_merge_undo_brought_back_is_git_s_to_abort(repo: GitRepo) -> None:
    """The index put back as its bytes gets the stat data of the files the restore wrote:
    git's own `merge --abort` works on it (it refused stale entries), and a read-only `git
    status` in between does not make the second undo take it for another index."""
    conflicting(repo)
    repo.write("new-on-side", b"x\n")  # a file the merge brings in, written by the restore
    repo.git("checkout", "-q", "side")
    repo.git("add", "new-on-side")
    repo.git("commit", "-qm", "side adds a file")
    repo.git("checkout", "-q", "main")
    before = repo.fingerprint()
    repo.atomic(
        "run", "--history", "shadow", "--", "sh", "-c", "git merge -q side; exit 1", check=1
    )
    repo.atomic("undo", check=0)
    assert "MERGE_HEAD" in leftovers(repo)
    repo.git("status", "--porcelain")  # reads, and may refresh, the index
    repo.atomic("undo", check=0)  # the merge taken back out again
    same(repo.fingerprint(), before)
    time.sleep(1.1)  # the files written anew after the index's second: not racily clean
    repo.atomic("undo", check=0)
    aborted = subprocess.run(["git", "merge", "--abort"], cwd=repo.path, env=repo.env)
    assert aborted.returncode == 0
    assert leftovers(repo) == []
    same(repo.fingerprint(), before)


def test_rerere_leftovers_are_not_a_half_way_state(repo: GitRepo) -> None:
    """`rerere.enabled` leaves an empty MERGE_RR after every commit: no merge waits, and an
    operation's effect is taken back on top of later changes as always."""
    repo.git("config", "rerere.enabled", "true")
    repo.git("commit", "-q", "--allow-empty", "-m", "rerere writes MERGE_RR")
    assert (repo.path / ".git" / "MERGE_RR").exists()
    op = repo.atomic_json("run", "--", "sh", "-c", "echo new > n.txt")
    repo.write("u.txt", b"yours\n")
    repo.atomic("rollback", "--op", op["op_id"], check=0)
    assert not repo.exists("n.txt") and repo.read("u.txt") == b"yours\n"


def test_your_own_stale_index_lock_stops_a_commits_mode_step_before_its_commit(
    repo: GitRepo,
) -> None:
    """Your `index.lock` from before the operation is yours (left as it is), but a commits-mode
    step's commit writes the index: `checkpoint` and `commit` refuse before moving the branch
    (was: the branch moved, the index did not, and the operation was left interrupted)."""
    (repo.path / ".git" / "index.lock").write_bytes(b"yours\n")
    repo.atomic("begin", "op", "--history", "commits", check=0)
    repo.write("README", b"changed\n")
    head = repo.head()
    for verb in ("checkpoint", "commit"):
        res = repo.atomic(verb, check=3)
        assert "nothing was changed" in res.stderr, res.stderr
    assert repo.head() == head
    assert "open: op" in repo.atomic("status", check=0).stdout
    (repo.path / ".git" / "index.lock").unlink()
    repo.atomic("commit", "--no-gates", check=0)
    assert repo.head() != head and repo.git("status", "--porcelain") == ""


def test_an_operation_whose_only_trace_is_a_leftover_is_taken_back(repo: GitRepo) -> None:
    """A kept operation ran `git stash; git stash pop`: the tree is as it was, but git left
    AUTO_MERGE in the git dir (git 2.39). `rollback --op` said "the effect ... is not in the
    tree; nothing further to roll back" and left it. Now the leftover goes, as it does where
    the operation changed files too; the work in progress stays as it is."""
    repo.write("README", b"edited, unstaged\n")
    done = repo.atomic_json(
        "run", "--history", "shadow", "--", "sh", "-c", "git stash -q && git stash pop -q"
    )
    assert (repo.path / ".git" / "AUTO_MERGE").exists()
    res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert "nothing further" not in res.stderr, res.stderr
    assert not os.path.lexists(repo.path / ".git" / "AUTO_MERGE")
    assert repo.read("README") == b"edited, unstaged\n"
    assert repo.git("stash", "list") == ""


@pytest.mark.parametrize(
    ("kind", "mode"),
    [
        ("merge", "shadow"),
        ("rebase-merge", "commits"),
        ("rebase-apply", "shadow"),
        ("cherry-pick", "commits"),
        ("revert", "shadow"),
        ("am", "commits"),
        ("bisect", "shadow"),
    ],
)
def test_rollback_op_takes_back_a_half_way_state_undo_brought_back(
    repo: GitRepo, kind: str, mode: str
) -> None:
    """A failed run left a merge (rebase, am, bisect...) half way; its rollback cleared it and
    `undo` brought it back, conflicts and all. `rollback --op` of that operation was refused
    ("a rebase is in progress in this worktree; finish it, or abort it"), as if you had
    started it: the state is exactly what the operation left, and taking it back goes to its
    exact PRE-OP, as its own rollback did. A later edit of yours refuses it again."""
    command = operations(conflicting(repo))[kind]
    if kind == "revert":  # one that stops on a conflict
        command = "git revert --no-edit side"
    before = repo.fingerprint()
    op = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", command + "; exit 1", check=1)
    repo.atomic("undo", check=0)
    waiting = leftovers(repo)
    assert set(waiting) - {"AUTO_MERGE"}, waiting

    repo.atomic("rollback", "--op", op["op_id"], check=0)

    same(repo.fingerprint(), before)
    assert leftovers(repo) == []
    assert repo.git("for-each-ref", "refs/bisect/") == ""
    repo.atomic("undo", check=0)  # and back again: the rollback is undone like any other
    assert leftovers(repo) == waiting
    repo.write("wip.txt", b"yours, after the undo\n")
    mine = repo.fingerprint()
    res = repo.atomic("rollback", "--op", op["op_id"], check=3)
    assert "in progress" in res.stderr, res.stderr
    same(repo.fingerprint(), mine)


def test_rollback_op_takes_back_a_rebase_undo_brought_back_in_a_linked_worktree(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The same in a linked worktree, whose rebase state lives in its own git dir
    (`.git/worktrees/<id>/rebase-merge`)."""
    repo.diverged("c")
    other = tmp_path / "wt"
    repo.git("worktree", "add", "-q", "--detach", str(other), "side")
    wt = GitRepo(other, repo.env)
    wt.git("checkout", "-q", "-b", "topic")
    (other / "wip.txt").write_bytes(b"untracked work\n")
    state_dir = repo.path / ".git" / "worktrees" / "wt"

    def state() -> tuple[str, ...]:
        return (
            (state_dir / "HEAD").read_text(),
            wt.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/"),
            wt.git("ls-files", "-s"),
            (other / "c").read_text(),
            (other / "wip.txt").read_text(),
            " ".join(sorted(os.listdir(state_dir))),
        )

    before = state()
    op = wt.atomic_json("run", "--", "sh", "-c", "git rebase -q main; exit 1", check=1)
    wt.atomic("undo", check=0)
    assert (state_dir / "rebase-merge").is_dir()

    wt.atomic("rollback", "--op", op["op_id"], check=0)

    assert state() == before
    assert not os.path.lexists(state_dir / "rebase-merge")
    assert (state_dir / "HEAD").read_text() == "ref: refs/heads/topic\n"


@pytest.mark.parametrize("where", ["main", "linked"])
def test_a_bisect_rolled_back_leaves_no_folder_of_its_refs(
    repo: GitRepo, tmp_path: Path, where: str
) -> None:
    """git's t6030-bisect-porcelain: a bisect writes its refs in the worktree's git dir
    (`refs/bisect/`; a linked worktree's `worktrees/<id>/refs/bisect/`, with `refs/` made for
    it). Its rollback deleted the refs and left the folders, empty: every file and folder under
    the git dir is as at PRE-OP after the rollback, the second `undo` and `rollback --op`."""
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    here, git_dir = repo, repo.path / ".git"
    if where == "linked":
        repo.git("worktree", "add", "-q", "--detach", str(tmp_path / "wt"))
        here = GitRepo(tmp_path / "wt", repo.env)
    before = git_dir_paths(git_dir)
    op = here.atomic_json("run", "--", "sh", "-c", "git bisect start HEAD HEAD~1", check=1)
    assert git_dir_paths(git_dir) == before
    here.atomic("undo", check=0)  # the bisect again, its refs and folders
    assert here.git("for-each-ref", "refs/bisect/") != ""
    here.atomic("undo", check=0)
    assert git_dir_paths(git_dir) == before
    here.atomic("undo", check=0)
    here.atomic("rollback", "--op", op["op_id"], check=0)
    assert git_dir_paths(git_dir) == before
    assert here.git("for-each-ref", "refs/bisect/") == ""


def test_a_bisect_folder_you_had_stays(repo: GitRepo) -> None:
    """`git bisect reset` itself leaves `refs/bisect/` empty: one there before the operation is
    yours, and stays after its rollback."""
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    repo.git("bisect", "start", "HEAD", "HEAD~1")
    repo.git("bisect", "reset")
    assert (repo.path / ".git" / "refs" / "bisect").is_dir()
    before = git_dir_paths(repo.path / ".git")
    repo.atomic("run", "--", "sh", "-c", "git bisect start HEAD HEAD~1", check=1)
    assert git_dir_paths(repo.path / ".git") == before


@pytest.mark.parametrize("how", ["failed-run", "kept-run", "abort"])
def test_orig_head_comes_back(repo: GitRepo, how: str) -> None:
    """t7102-reset: `git reset`, `merge`, `rebase` and `am` write ORIG_HEAD, the way back from
    your own reset (`git reset --hard ORIG_HEAD`). A rollback of an operation that reset left
    the operation's there: that way back went where the operation's reset started. It comes
    back as it was, and `undo` (the operation's files and HEAD again) leaves it yours."""
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    repo.git("branch", "-q", "side")
    repo.git("reset", "-q", "--hard", "HEAD~1")  # yours: ORIG_HEAD names "two"
    orig_head = repo.path / ".git" / "ORIG_HEAD"
    orig = orig_head.read_bytes()
    op = "git reset -q --hard side; cp .git/ORIG_HEAD ../op-orig-head"
    if how == "abort":
        repo.atomic("begin", "b", check=0)
        subprocess.run(["sh", "-c", op], cwd=repo.path, env=repo.env, check=True)
        repo.atomic("abort", check=0)
    else:
        repo.atomic("run", "--", "sh", "-c", op + ("; exit 1" if how == "failed-run" else ""))
        if how == "kept-run":
            assert orig_head.read_bytes() != orig
            repo.atomic("rollback", check=0)
    ours = (repo.path.parent / "op-orig-head").read_bytes()
    assert ours != orig
    assert orig_head.read_bytes() == orig
    repo.atomic("undo", check=0)
    assert repo.head() == repo.git("rev-parse", "side").strip()
    assert orig_head.read_bytes() == orig


@pytest.mark.parametrize("how", ["failed-run", "abort"])
def test_a_notes_merge_the_operation_left_half_way_goes_with_it(repo: GitRepo, how: str) -> None:
    """git's t3310-notes-merge-manual-resolve: a `git notes merge` stopped by conflicts leaves
    NOTES_MERGE_PARTIAL, NOTES_MERGE_REF and NOTES_MERGE_WORKTREE/; after the operation's
    rollback they stayed, and your next `git notes merge` refused ("use 'git notes merge
    --commit' or 'git notes merge --abort'"). They go with the rest (saved in the rescue:
    `undo` brings the notes merge back, and `git notes merge --abort` ends it)."""
    repo.git("notes", "add", "-m", "mine", "HEAD")
    repo.git("notes", "--ref=other", "add", "-m", "theirs", "HEAD")
    op = "git notes merge other >/dev/null 2>&1; echo x > x"
    if how == "failed-run":
        repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    else:
        repo.atomic("begin", "notes", check=0)
        subprocess.run(["sh", "-c", op], cwd=repo.path, env=repo.env, check=True)
        repo.atomic("abort", check=0)
    git_dir = repo.path / ".git"
    assert not [n for n in os.listdir(git_dir) if n.startswith("NOTES_MERGE")]
    assert repo.git("notes", "show", "HEAD").strip() == "mine"
    again = subprocess.run(  # git does next what it did before the operation: a notes merge
        ["git", "notes", "merge", "other"], cwd=repo.path, env=repo.env, capture_output=True
    )
    assert b"CONFLICT" in again.stdout and b"previous merge" not in again.stderr, again
    repo.git("notes", "merge", "--abort")
    repo.atomic("undo", check=0)
    assert os.listdir(git_dir / "NOTES_MERGE_WORKTREE")  # the operation's conflict, back
    assert (git_dir / "NOTES_MERGE_PARTIAL").is_file()
    repo.git("notes", "merge", "--abort")  # (which leaves the folder, empty: git's way)
    assert [n for n in os.listdir(git_dir) if n.startswith("NOTES_MERGE")] == [
        "NOTES_MERGE_WORKTREE"
    ]
