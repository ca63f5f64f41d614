"""Peers' reports on an undo that met a commit the user made between the tool's own, played
against git-atomic's agent turns: kishu's undo after a manual commit checked out the last
commit whoever made it, so the user's commit was what it took back and the tool's execution
stayed (illinoisdata/kishu#419, fixed by going back to the last automatic commit in
illinoisdata/kishu#422). A turn's call commits, you commit between its calls, a later call
commits again and the gate fails: the take-back moves the branch off the turn's later commit
only, keeps yours on the branch with its file, and takes back the commit under yours in the
files and the index (the branch is not rewritten), saying so. Kept instead, `rollback --op`
of the turn after a commit of yours does the same. The oracle: the branch's commits, the
disk, the index."""

from __future__ import annotations

from testing.agents import shell_turn
from testing.gitrepo import GitRepo

FIRST = "echo agent1 > one.txt && git add one.txt && git commit -qm agent1"
SECOND = "echo agent2 > two.txt && git add two.txt && git commit -qm agent2"
YOURS = "echo mine > mine.txt && git add mine.txt && git commit -qm mine"


def _subjects(repo: GitRepo) -> list[str]:
    return repo.git("log", "--format=%s", "main").split()


def test_your_commit_between_a_failed_turns_commits_stays(repo: GitRepo) -> None:
    """agent1, your `mine`, agent2, then the gate fails: the branch ends at `mine`; `one.txt`
    and `two.txt` are gone from the disk, `one.txt`'s removal staged; `mine.txt` is yours,
    committed, and the answer says the branch moved since."""
    answer = shell_turn(repo, FIRST, SECOND + " && echo x > bad", between=YOURS)
    assert answer.get("decision") == "block", answer
    assert "moved since" in answer["reason"], answer
    assert _subjects(repo)[:3] == ["mine", "agent1", "initial"]
    assert repo.read("mine.txt") == b"mine\n"
    assert not repo.exists("one.txt") and not repo.exists("two.txt") and not repo.exists("bad")
    assert repo.git("status", "--porcelain").splitlines() == ["D  one.txt"]


def test_rollback_of_a_kept_turn_after_your_commit_keeps_it(repo: GitRepo) -> None:
    """The same turn kept (its gate passes), then your commit on top: `rollback --op` of the
    turn leaves your commit on the branch and takes the turn's two commits back in the files
    and the index; `undo` gives the turn's files back and leaves your commit."""
    answer = shell_turn(repo, FIRST, SECOND)
    assert answer.get("decision") != "block", answer
    op_id = repo.atomic_json("log", "-n", "1")["operations"][0]["op_id"]
    repo.write("mine.txt", b"mine\n")
    repo.git("add", "mine.txt")
    repo.git("commit", "-qm", "mine")
    tip = repo.head()
    repo.atomic("rollback", "--op", op_id, check=0)
    assert repo.head() == tip and repo.read("mine.txt") == b"mine\n"
    assert not repo.exists("one.txt") and not repo.exists("two.txt")
    assert sorted(repo.git("status", "--porcelain").splitlines()) == ["D  one.txt", "D  two.txt"]
    repo.atomic("undo", check=0)
    assert repo.head() == tip and repo.read("two.txt") == b"agent2\n"
    assert repo.git("status", "--porcelain") == ""
