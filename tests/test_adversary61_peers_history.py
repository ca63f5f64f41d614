"""Peers' reports on history tools' undo around fetches, stacked branches and rebases,
played against git-atomic: jj's `op restore` that left bookmarks and the remote out of step
after a push and a fetch (jj-vcs/jj#6642), git-branchless's `undo` of a rebase that a conflict
stopped and an abort ended, which deleted the main branch (arxanas/git-branchless#700), and
stacked branches a rebase moves together (`--update-refs`, which stack tools wrap: the stack
left half moved is what ejoffe/spr#279 and jonassaa/platypusgit#240 are about). A take-back
moves back the branches the operation moved and no other ref: remote-tracking refs and tags
stay as fetched, your commit made since stays. The oracle: every ref, and the disk."""

from __future__ import annotations

from pathlib import Path

from testing.gitrepo import GitRepo
from testing.oracle import disk


def commit(repo: GitRepo, name: str, data: bytes) -> str:
    repo.write(name, data)
    repo.git("add", name)
    repo.git("commit", "-qm", name)
    return repo.head()


def refs(repo: GitRepo, prefix: str) -> dict[str, str]:
    out = repo.git("for-each-ref", "--format=%(refname) %(objectname)", prefix)
    return dict(line.split(" ") for line in out.splitlines())


def test_a_fetch_and_fast_forward_taken_back_leave_what_was_fetched(
    repo: GitRepo, tmp_path: Path
) -> None:
    """jj-vcs/jj#6642: after an `op restore` the local bookmarks and what the tool knew of the
    remote disagreed with the remote itself. An operation that fetches (a commit and a tag)
    and fast-forwards `main` onto it: its rollback (a failed run; `rollback --op` of a kept
    one, after you fetched again) moves `main` back and the files with it, leaves
    `origin/main` and the tag as fetched (they say what the remote has), and names the commit
    the remote keeps; `undo` moves `main` forward again."""
    up = GitRepo.create(tmp_path / "up", tmp_path / "home")
    repo.git("remote", "add", "origin", str(up.path))
    repo.git("fetch", "-q", "origin")
    ahead = commit(up, "u.txt", b"u\n")
    up.git("tag", "v1")
    before, state = disk(repo.path, modes=True), repo.fingerprint()
    pull = "git fetch -q --tags origin && git merge -q --ff-only origin/main"
    ran = repo.atomic("run", "--", "sh", "-c", pull + " && exit 1", check=1)
    assert ahead[:12] in ran.stderr and "v1" in ran.stderr, ran.stderr
    assert disk(repo.path, modes=True) == before and repo.fingerprint().diff(state) == []
    assert refs(repo, "refs/remotes/")["refs/remotes/origin/main"] == ahead
    assert refs(repo, "refs/tags/") == {"refs/tags/v1": ahead}
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", pull)
    assert repo.head() == ahead
    later = commit(up, "u2.txt", b"u2\n")
    repo.git("fetch", "-q", "origin")
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"later.txt")[1] == b"yours\n" and now == before
    assert repo.head() == state.head_commit
    assert refs(repo, "refs/remotes/")["refs/remotes/origin/main"] == later
    repo.atomic("undo", check=0)
    assert repo.head() == ahead and repo.read("u.txt") == b"u\n"


def test_a_rebase_a_conflict_stopped_and_an_abort_ended_moves_no_branch(repo: GitRepo) -> None:
    """arxanas/git-branchless#700: a rebase started by a sync stopped on a conflict, was
    aborted, and the undo that followed deleted `main`. An operation that starts that rebase,
    aborts it and then edits a file, kept; you commit on `main` since: `rollback --op` takes
    the edit back, and every branch is where it was (`main` with your commit), none deleted;
    `undo` brings the edit back and still moves no branch."""
    repo.git("checkout", "-qb", "feat")
    commit(repo, "README", b"feat\n")
    repo.git("checkout", "-q", "main")
    commit(repo, "README", b"main\n")
    repo.git("checkout", "-q", "feat")
    script = "git rebase -q main >/dev/null 2>&1; git rebase --abort && echo edit > notes.txt"
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    assert repo.read("notes.txt") == b"edit\n"
    repo.git("worktree", "add", "-q", "../side", "main")
    side = GitRepo(repo.path.parent / "side", repo.env)
    commit(side, "yours.txt", b"yours\n")
    branches = refs(repo, "refs/heads/")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    assert not repo.exists("notes.txt") and refs(repo, "refs/heads/") == branches
    assert repo.git("status", "--porcelain") == ""
    repo.atomic("undo", check=0)
    assert repo.read("notes.txt") == b"edit\n" and refs(repo, "refs/heads/") == branches


def test_a_stack_rebased_with_update_refs_goes_back_whole(repo: GitRepo) -> None:
    """A stack of branches (`base` under `top`) rebased onto a newer `main` by one `git rebase
    --update-refs`: a failed run puts both back; a kept one taken back by `rollback --op`
    after your commit on `main` moves both back (each still where the operation left it) and
    leaves `main` with your commit; `undo` moves both again, to the same commits."""
    repo.git("checkout", "-qb", "base")
    commit(repo, "a.txt", b"a\n")
    repo.git("checkout", "-qb", "top")
    commit(repo, "b.txt", b"b\n")
    repo.git("checkout", "-q", "main")
    commit(repo, "m.txt", b"m\n")
    repo.git("checkout", "-q", "top")
    before, branches = disk(repo.path, modes=True), refs(repo, "refs/heads/")
    rebase = "git rebase -q --update-refs main >/dev/null"
    repo.atomic("run", "--", "sh", "-c", rebase + " && exit 1", check=1)
    assert refs(repo, "refs/heads/") == branches and disk(repo.path, modes=True) == before
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", rebase)
    moved = refs(repo, "refs/heads/")
    assert moved["refs/heads/base"] != branches["refs/heads/base"]
    repo.git("worktree", "add", "-q", "../side", "main")
    side = GitRepo(repo.path.parent / "side", repo.env)
    mine = commit(side, "yours.txt", b"yours\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    assert refs(repo, "refs/heads/") == {**branches, "refs/heads/main": mine}
    assert disk(repo.path, modes=True) == before
    repo.atomic("undo", check=0)
    assert refs(repo, "refs/heads/") == {**moved, "refs/heads/main": mine}
    assert repo.read("m.txt") == b"m\n"


def test_a_fixup_absorbed_into_an_older_commit_goes_back_with_your_work_kept(
    repo: GitRepo,
) -> None:
    """facebook/sapling#453 (`absorb` folds a change into an older commit of a stack and the
    commits above are restacked) and arxanas/git-branchless#386 (an undo that must bring
    back the working copy as it was before the amend). An operation that commits a fixup of
    an older commit and squashes it in (`rebase -i --autosquash --autostash`, your unstaged
    line in the same file stashed and put back): a failed run and `rollback --op` of a kept
    one (after your later file) put `main`, the index and every byte back, your unstaged line
    with them; `undo` rewrites the stack again."""
    commit(repo, "a.txt", b"1\n2\n3\n4\n5\n6\n7\n8\n")
    commit(repo, "b.txt", b"b\n")
    repo.write("a.txt", b"1\n2\n3\n4\n5\n6\n7\n8\nyours\n")
    repo.write("u.txt", b"untracked\n")
    before, state = disk(repo.path, modes=True), repo.fingerprint()
    script = (
        "git stash -q && sed -i 's/^1$/one/' a.txt && git commit -qam 'fixup! a.txt' && "
        "git stash pop -q && GIT_SEQUENCE_EDITOR=: git rebase -q -i --autosquash --autostash "
        "HEAD~3"
    )
    repo.atomic("run", "--", "sh", "-c", script + " && exit 1", check=1)
    assert disk(repo.path, modes=True) == before and repo.fingerprint().diff(state) == []
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    rewritten = repo.head()
    assert repo.git("show", "HEAD~:a.txt").startswith("one\n")
    assert repo.read("a.txt") == b"one\n2\n3\n4\n5\n6\n7\n8\nyours\n"
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"later.txt")[1] == b"yours\n" and now == before
    assert repo.head() == state.head_commit
    repo.atomic("undo", check=0)
    assert repo.head() == rewritten and repo.read("later.txt") == b"yours\n"
