"""Branches that are symbolic refs (`git symbolic-ref refs/heads/alias refs/heads/main`, HEAD
on `alias`). An operation that pointed one elsewhere (`git symbolic-ref refs/heads/alias
refs/heads/side`) had its rollback leave it there, saying branches were as before (and remove
`side`, a branch it made: HEAD then on a branch with no commit); one it made stayed, one it
removed stayed gone, and one it made a plain branch (`git update-ref --no-deref`, `git branch
-f`), or a plain one it made symbolic, stayed so. Each comes back, by compare-and-swap (one
you pointed elsewhere since is yours, and is named), with the rollback, `abort`, `rollback
--op` and `undo`. The oracle: the ref files themselves (`.git/refs/heads/alias`'s bytes,
`packed-refs`), not only what git prints.
"""

from __future__ import annotations

from pathlib import Path

from testing.agents import failed_shell_turn, shell_turn
from testing.gitrepo import GitRepo


def _repo(tmp_path: Path) -> GitRepo:
    """`main`, `plain` (a branch of its own) and `other`; `alias` and `gone` name `main`, HEAD
    is on `alias`; `packed-refs` holds `other`."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.git("branch", "other")
    repo.git("pack-refs", "--all")
    repo.git("branch", "plain")
    repo.git("symbolic-ref", "refs/heads/alias", "refs/heads/main")
    repo.git("symbolic-ref", "refs/heads/gone", "refs/heads/main")
    repo.git("symbolic-ref", "refs/heads/mine", "refs/heads/not-yet")  # yours, naming nothing
    repo.git("symbolic-ref", "HEAD", "refs/heads/alias")
    repo.write("wip", b"yours\n")
    return repo


def _refs(repo: GitRepo) -> dict[str, bytes | None]:
    """Each branch as its files say: its loose file's bytes, else its line of `packed-refs`
    (as a loose file would say it), None where neither holds it."""
    heads = repo.path / ".git" / "refs" / "heads"
    packed = repo.path / ".git" / "packed-refs"
    lines = packed.read_bytes().splitlines() if packed.exists() else []
    out: dict[str, bytes | None] = {}
    for name in ("main", "alias", "gone", "plain", "side", "made", "other", "nowhere", "mine"):
        path = heads / name
        at = [
            line.split(b" ")[0] + b"\n"
            for line in lines
            if line.endswith(b" refs/heads/" + name.encode())
        ]
        out[name] = (
            path.read_bytes() if path.is_file() and not path.is_symlink() else (at or [None])[0]
        )
    out["HEAD"] = (repo.path / ".git" / "HEAD").read_bytes()
    return out


# What the operation does: `alias` pointed at a branch it makes, `gone` removed, `made` made,
# `plain` made a symbolic ref, `nowhere` made naming a ref that is not there (git does not list
# it); a commit through HEAD (on `alias`, so on `side` now).
CHANGE = (
    "git branch side && git symbolic-ref refs/heads/alias refs/heads/side"
    " && git symbolic-ref refs/heads/nowhere refs/heads/nothing"
    " && git symbolic-ref --delete refs/heads/gone"
    " && git symbolic-ref refs/heads/made refs/heads/main"
    " && git symbolic-ref refs/heads/plain refs/heads/other"
    " && echo x >> README && git commit -qam x"
)


def test_a_failed_run_puts_them_back_and_undo_again(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    before, files = _refs(repo), repo.fingerprint()
    repo.atomic("run", "--no-gates", "--", "sh", "-c", CHANGE + " && exit 1", check=1)
    assert _refs(repo) == before
    assert _refs(repo)["alias"] == b"ref: refs/heads/main\n"
    assert repo.fingerprint().diff(files) == []
    said = repo.atomic("undo", "--dry-run", check=0).stdout
    assert "branch alias: a symbolic ref to refs/heads/side again (now refs/heads/main)" in said
    repo.atomic("undo", check=0)
    after = _refs(repo)
    assert after["alias"] == b"ref: refs/heads/side\n"
    assert after["gone"] is None and after["made"] == b"ref: refs/heads/main\n"
    assert after["plain"] == b"ref: refs/heads/other\n"
    assert after["nowhere"] == b"ref: refs/heads/nothing\n"
    assert repo.git("log", "-1", "--format=%s", "refs/heads/side").strip() == "x"
    assert repo.git("status", "--porcelain", "-uno") == ""


def test_abort_of_a_chain_committed_through_and_made_plain(tmp_path: Path) -> None:
    """HEAD -> alias -> main, a commit through the chain; `alias` then made a plain branch
    (`update-ref --no-deref`), and `main` deleted (`gone`, naming it, then names nothing, which
    git does not list): `main`, `alias` and `gone` as they were."""
    repo = _repo(tmp_path)
    before = _refs(repo)
    repo.atomic("begin", "op", check=0)
    repo.git("commit", "-qm", "y", "--allow-empty")
    repo.git("update-ref", "--no-deref", "refs/heads/alias", "HEAD")
    repo.git("update-ref", "-d", "refs/heads/main")  # `gone` then names nothing
    repo.atomic("abort", check=0)
    assert _refs(repo) == before


def test_rollback_op_leaves_what_you_pointed_elsewhere_since(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    op_id = repo.atomic_json("run", "--no-gates", "--", "sh", "-c", CHANGE)["op_id"]
    repo.git("symbolic-ref", "refs/heads/made", "refs/heads/other")  # yours since
    res = repo.atomic("rollback", "--op", op_id, check=0)
    after = _refs(repo)
    assert after["made"] == b"ref: refs/heads/other\n"
    assert "branch made is a symbolic ref, to other, that changed since" in res.stderr
    assert after["alias"] == b"ref: refs/heads/main\n"
    assert after["gone"] == b"ref: refs/heads/main\n"
    assert after["plain"] is not None and not after["plain"].startswith(b"ref: ")
    assert after["side"] is None


def test_an_agent_turn_taken_back(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    before = _refs(repo)
    failed_shell_turn(repo, CHANGE)
    assert _refs(repo) == before
    # Your `made` pointed elsewhere between the turn's calls: yours, it stays, and is named.
    mine = "git symbolic-ref refs/heads/made refs/heads/other"
    answer = shell_turn(repo, CHANGE, "echo x > bad", between=mine)
    assert answer["decision"] == "block", answer
    after = _refs(repo)
    assert after["made"] == b"ref: refs/heads/other\n"
    assert "branch made is a symbolic ref, to other" in answer["systemMessage"], answer
    assert {**after, "made": None} == before


def test_rollback_op_leaves_alias_on_the_branch_you_committed_on(tmp_path: Path) -> None:
    """The operation pointed `alias` (HEAD's) at `side`, and you committed there since: `side`
    keeps your commit, and `alias` stays on it, as HEAD stays on a branch with your commits."""
    repo = _repo(tmp_path)
    op_id = repo.atomic_json("run", "--no-gates", "--", "sh", "-c", CHANGE)["op_id"]
    repo.write("mine", b"m\n")
    repo.git("add", "mine")
    repo.git("commit", "-qm", "mine")
    res = repo.atomic("rollback", "--op", op_id, check=0)
    after = _refs(repo)
    assert after["alias"] == b"ref: refs/heads/side\n", res.stderr
    assert repo.git("log", "-1", "--format=%s", "refs/heads/side").strip() == "mine"
    assert after["gone"] == b"ref: refs/heads/main\n" and after["made"] is None


def test_a_chain_to_a_ref_that_is_no_branch(tmp_path: Path) -> None:
    """HEAD -> alias -> refs/remotes/origin/main: a commit through the chain moves that ref,
    which comes back with a failed run, forward with its `undo`, and back with `rollback --op`
    of a kept run (where it still is as the run left it)."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    remote = repo.path / ".git" / "refs" / "remotes" / "origin" / "main"
    repo.git("update-ref", "refs/remotes/origin/main", "HEAD")
    repo.git("symbolic-ref", "refs/heads/alias", "refs/remotes/origin/main")
    repo.git("symbolic-ref", "HEAD", "refs/heads/alias")
    at = remote.read_bytes()
    commit = "echo x >> README && git commit -qam x"
    repo.atomic("run", "--no-gates", "--", "sh", "-c", commit + " && exit 1", check=1)
    assert remote.read_bytes() == at
    assert repo.git("status", "--porcelain", "-uno") == ""
    repo.atomic("undo", check=0)
    assert remote.read_bytes() != at
    assert repo.git("status", "--porcelain", "-uno") == ""
    repo.atomic("rollback", check=0)  # the undo's own rollback: back again
    assert remote.read_bytes() == at
    op_id = repo.atomic_json("run", "--no-gates", "--", "sh", "-c", commit)["op_id"]
    repo.write("wip", b"yours\n")
    repo.atomic("rollback", "--op", op_id, check=0)
    assert remote.read_bytes() == at and repo.read("wip") == b"yours\n"
    assert repo.git("status", "--porcelain", "-uno") == ""
    assert (repo.path / ".git" / "refs" / "heads" / "alias").read_bytes() == (
        b"ref: refs/remotes/origin/main\n"
    )


def test_one_another_worktree_may_have_pointed_elsewhere_stays(tmp_path: Path) -> None:
    """With another worktree, a symbolic branch that is not this worktree's (HEAD on neither
    end) and changed while the operation ran may be that worktree's doing: left, and named, as
    a branch is; the one HEAD is on comes back."""
    repo = _repo(tmp_path)
    repo.git("worktree", "add", "-q", str(tmp_path / "wt"), "other")
    before = _refs(repo)
    change = "git symbolic-ref refs/heads/gone refs/heads/other"
    change += " && git branch side && git symbolic-ref refs/heads/alias refs/heads/side"
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", change + " && exit 1", check=1)
    after = _refs(repo)
    assert after["gone"] == b"ref: refs/heads/other\n"
    assert "branch gone is a symbolic ref (to refs/heads/other)" in res.stderr, res.stderr
    assert after["alias"] == before["alias"] and after["side"] is None


def test_recover_after_a_kill(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    before = _refs(repo)
    repo.atomic("run", "--no-gates", "--", "sh", "-c", CHANGE + "; kill -9 $PPID", check=-9)
    repo.atomic("recover", check=0)
    assert _refs(repo) == before
