"""A `run --isolate` that passes after its command moved your checked-out branch (adversary
55). The private worktree shares your branches: `git update-ref refs/heads/main HEAD~` there
moves yours. The result was then applied on top of the moved branch, so your commit `b`
silently left it, the rescue taken before the apply had `init` for its parent, and a later
`rollback` said "main has moved since (later commits)" and left main on the operation's own
commit. Now, where your branch no longer holds the commit the run started from (moved back,
to an unrelated commit, deleted), the result is not applied (`not_applied` "branch", your
worktree untouched, the result kept with its recipes) and the move is named with the
`git update-ref` that puts it back (a deleted branch is made again where it was). A branch
moved forward loses nothing: the result goes on top, as on top of a commit of yours."""

from __future__ import annotations

from typing import Any

import pytest

from testing.gitrepo import GitRepo


def two_commits(repo: GitRepo) -> tuple[str, str]:
    init = repo.head()
    repo.write("b.txt", b"b\n")
    repo.git("add", "b.txt")
    repo.git("commit", "-qm", "b")
    return init, repo.head()


def reachable(repo: GitRepo, ref: str) -> set[str]:
    return set(repo.git("rev-list", ref).split())


def isolated(repo: GitRepo, script: str, *extra: str, check: int) -> dict[str, Any]:
    return repo.atomic_json("run", "--isolate", *extra, "--", "sh", "-c", script, check=check)


USER_COMMITS = (
    'cd "$ROOT" && echo m > mine.txt && git add mine.txt && git commit -qm mine && cd - >/dev/null'
)


@pytest.mark.parametrize("history", ["commits", "shadow"])
@pytest.mark.parametrize(
    "move",
    [
        "git update-ref refs/heads/main HEAD~",
        "git update-ref refs/heads/main $(git commit-tree -m other $(git mktree </dev/null))",
        "git update-ref -d refs/heads/main",
    ],
    ids=["back", "unrelated", "deleted"],
)
def test_a_result_is_not_applied_where_the_command_took_commits_off_your_branch(
    repo: GitRepo, history: str, move: str
) -> None:
    _init, b = two_commits(repo)
    before = repo.fingerprint()
    res = isolated(repo, f"{move}; echo n > n.txt", "--history", history, check=1)
    iso = res["isolated"]
    assert not iso["applied"] and iso["not_applied"] == "branch", res
    assert "main" in iso["why"] and b[:12] in iso["why"], iso
    assert iso["apply_by_hand"], iso
    assert not repo.exists("n.txt")
    assert repo.read("b.txt") == b"b\n"
    now = repo.git("rev-parse", "-q", "--verify", "refs/heads/main", check=False).strip()
    if "-d" in move:
        # Made again where it was: creating a ref loses nothing.
        assert now == b
        assert repo.fingerprint().diff(before) == []
    else:
        assert b not in reachable(repo, "main")
    # Taking the result as it is (its first recipe) brings b back under it.
    take = iso["apply_by_hand"][0].split("#")[0].split()
    repo.atomic(*take[2:], check=0)
    assert b in reachable(repo, "main")
    assert repo.read("n.txt") == b"n\n" and repo.read("b.txt") == b"b\n"


def test_the_move_of_your_branch_is_named_with_its_way_back(repo: GitRepo) -> None:
    _init, b = two_commits(repo)
    res = repo.atomic(
        "run", "--isolate", "--", "sh", "-c", "git update-ref refs/heads/main HEAD~; echo n > n.txt"
    )
    assert res.returncode == 1, res.stderr
    assert "not applied" in res.stderr and "main" in res.stderr, res.stderr
    back = [line for line in res.stderr.splitlines() if "git update-ref refs/heads/main" in line]
    assert len(back) == 1 and b in back[0], res.stderr
    assert "applied to your worktree" not in res.stderr
    assert not repo.exists("n.txt")


def test_your_commit_meanwhile_on_the_moved_branch_stays_and_nothing_is_applied(
    repo: GitRepo,
) -> None:
    init, b = two_commits(repo)
    script = f"git update-ref refs/heads/main HEAD~; {USER_COMMITS}; echo n > n.txt"
    res = isolated(repo, f'ROOT="{repo.path}"; {script}', check=1)
    assert res["isolated"]["not_applied"] == "branch", res
    log = repo.git("log", "--format=%s", "main").split("\n")
    assert log[:2] == ["mine", "initial"], log  # your commit stays; b is named, not applied over
    assert repo.read("mine.txt") == b"m\n" and not repo.exists("n.txt")
    assert init in reachable(repo, "main") and b not in reachable(repo, "main")


@pytest.mark.parametrize("mine", [False, True], ids=["alone", "you-commit-meanwhile"])
def test_a_branch_moved_forward_keeps_every_commit_and_takes_the_result(
    repo: GitRepo, mine: bool
) -> None:
    init, b = two_commits(repo)
    if mine:  # you commit, then the command puts a commit on top of yours
        script = (
            f'ROOT="{repo.path}"; {USER_COMMITS}; '
            "git update-ref refs/heads/main $(git commit-tree -p main -m fwd main^{tree})"
        )
    else:  # the command fast-forwards your branch to its own commit
        script = "echo c > c.txt && git add c.txt && git commit -qm c"
        script += " && git update-ref refs/heads/main HEAD"
    res = isolated(repo, f"{script}; echo n > n.txt", check=0)
    assert res["isolated"]["applied"], res
    assert {init, b} <= reachable(repo, "main")
    assert repo.read("n.txt") == b"n\n"
    if mine:
        assert repo.read("mine.txt") == b"m\n"
        assert repo.git("log", "-1", "--format=%s", "main~").strip() == "fwd"
    else:
        assert repo.read("c.txt") == b"c\n"
    assert repo.git("status", "--porcelain", "--untracked-files=all") == ""


def test_a_commit_of_yours_meanwhile_alone_is_applied_over_as_before(repo: GitRepo) -> None:
    two_commits(repo)
    res = isolated(repo, f'ROOT="{repo.path}"; {USER_COMMITS}; echo n > n.txt', check=0)
    assert res["isolated"]["applied"], res
    subjects = repo.git("log", "--format=%s", "main").split("\n")
    assert subjects[1:4] == ["mine", "b", "initial"], subjects
    assert repo.read("n.txt") == b"n\n" and repo.read("mine.txt") == b"m\n"


def test_a_later_rollback_takes_back_only_the_operation(repo: GitRepo) -> None:
    """The adversary's last step: after a run whose command moved main, `rollback` ends on a
    branch that holds b (nothing of the operation applied over a moved main)."""
    _init, b = two_commits(repo)
    isolated(repo, "git update-ref refs/heads/main HEAD~; echo n > n.txt", check=1)
    repo.git("update-ref", "refs/heads/main", b)
    repo.atomic("rollback")
    assert b in reachable(repo, "main") and repo.read("b.txt") == b"b\n"
    assert not repo.exists("n.txt")


def test_a_failed_run_that_deleted_your_branch_says_only_that_it_is_made_again(
    repo: GitRepo,
) -> None:
    _init, b = two_commits(repo)
    before = repo.fingerprint()
    res = repo.atomic(
        "run", "--isolate", "--", "sh", "-c", "git update-ref -d refs/heads/main; exit 1", check=1
    )
    assert repo.git("rev-parse", "main").strip() == b
    assert repo.fingerprint().diff(before) == []
    said = [line for line in res.stderr.splitlines() if "main" in line]
    assert len(said) == 1 and "made again" in said[0], res.stderr
