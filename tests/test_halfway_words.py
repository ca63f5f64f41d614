"""`rollback --op` of a commits-mode operation that removed the file of your intent-to-add
entry (`git add -N`) and staged a new one, with a change of yours to the index since: refused
(an index only its bytes describe is not worked out on top of another), but said as "git's
half-way state (a merge, rebase, cherry-pick...) is in this worktree now: finish or abort it
first", though nothing was in progress. It names the entries, whose doing their files' removal
was, that no merge or rebase is in progress, and what lets the take-back go; nothing changes."""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo


def _op_removed_the_ita_file(repo: GitRepo) -> str:
    repo.write("ita.txt", b"intent\n")
    repo.git("add", "-N", "ita.txt")
    repo.atomic("run", "--no-gates", "--", "true", check=0)
    script = "rm ita.txt; echo n > new.txt; git add new.txt"
    repo.atomic("run", "--no-gates", "--history", "commits", "--", "sh", "-c", script, check=0)
    op_id: str = repo.atomic_json("log")["operations"][0]["op_id"]
    repo.write("mine.txt", b"yours, since\n")
    repo.git("add", "-N", "mine.txt")  # your change to the index since
    return op_id


@pytest.mark.parametrize("file_back", [False, True], ids=["file gone", "file made again"])
def test_an_intent_to_add_entry_without_its_file_is_named_not_a_merge(
    repo: GitRepo, file_back: bool
) -> None:
    op_id = _op_removed_the_ita_file(repo)
    if file_back:
        repo.write("ita.txt", b"yours again\n")
    before = repo.fingerprint()
    for dry in ([], ["--dry-run"]):
        res = repo.atomic("rollback", "--op", op_id, *dry, check=3)
        assert "finish or abort it first" not in res.stderr, res.stderr
        assert "a merge, rebase, cherry-pick" not in res.stderr, res.stderr
        assert "intent-to-add entries without their files (ita.txt" in res.stderr, res.stderr
        assert "no merge or rebase is in progress" in res.stderr, res.stderr
        if not file_back:
            assert "the operation removed their files" in res.stderr, res.stderr
    assert repo.fingerprint().diff(before) == []


def test_with_your_index_change_taken_back_the_effect_is_taken_back(repo: GitRepo) -> None:
    """What the refusal says lets it go does: your `git add -N` taken back, the index is the
    operation's again, and `rollback --op` brings the file back, its entry intent-to-add."""
    op_id = _op_removed_the_ita_file(repo)
    res = repo.atomic("rollback", "--op", op_id, check=3)
    assert "with your later change to the index taken back" in res.stderr, res.stderr
    repo.git("rm", "-q", "--cached", "mine.txt")
    repo.atomic("rollback", "--op", op_id, check=0)
    assert repo.read("ita.txt") == b"intent\n" and not repo.exists("new.txt")
    assert repo.read("mine.txt") == b"yours, since\n"
    assert repo.git("status", "--porcelain").splitlines() == [" A ita.txt", "?? mine.txt"]
