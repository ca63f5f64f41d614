"""Tags are left alone by a rollback (README, "Tags, notes and remote refs"), but an operation
that changed only tags was said to have "changed nothing" (`git tag -d v1; exit 1`: v1 gone).
Now each tag it made, deleted or moved is named on a warning line, with the `update-ref` that
puts a deleted or moved one back; the tags stay as the operation left them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

_CASES = {
    "annotated deleted": ("git tag -d v1", "tag v1 deleted by the operation"),
    "light deleted": ("git tag -d v2", "tag v2 deleted by the operation"),
    "moved": ("git tag -f v2 HEAD~1", "tag v2 moved by the operation"),
    "made": ("git tag v9", "tag v9 made by the operation"),
}


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    for n in (1, 2):
        repo.write("a.txt", b"%d\n" % n)
        repo.git("add", "-A")
        repo.git("commit", "-qm", f"c{n}")
    repo.git("tag", "-a", "-m", "t", "v1")
    repo.git("tag", "v2")
    return repo


def _tags(repo: GitRepo) -> str:
    return repo.git("for-each-ref", "--format=%(objectname) %(refname)", "refs/tags/")


@pytest.mark.parametrize("case", sorted(_CASES))
def test_a_failed_run_that_changed_tags_names_them(repo: GitRepo, case: str) -> None:
    line, said = _CASES[case]
    before = _tags(repo)
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", f"{line}; exit 1", check=1)
    after = _tags(repo)
    assert after != before  # left as the operation left them
    assert "changed nothing" not in res.stderr, res.stderr
    warned = [x for x in res.stderr.splitlines() if "warning: tag " in x]
    assert len(warned) == 1 and said in warned[0], res.stderr
    assert "left as it is (tags are left alone)" in warned[0]
    if "`git update-ref" in warned[0]:  # doing as it says puts the tag back
        command = warned[0].split("`")[1].split()
        repo.git(*command[1:])
        assert _tags(repo) == before


def test_rollback_op_of_a_kept_operation_names_its_tags(repo: GitRepo) -> None:
    done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", "git tag -d v1")
    repo.git("tag", "mine")  # made since, by you: not the operation's
    res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    warned = [x for x in res.stderr.splitlines() if "warning: tag " in x]
    assert len(warned) == 1 and "tag v1 deleted by the operation" in warned[0], res.stderr


def test_a_run_that_changed_no_tag_says_none(repo: GitRepo) -> None:
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", "echo x > n.txt; exit 1", check=1)
    assert "warning: tag" not in res.stderr, res.stderr


def test_a_repository_with_many_packed_tags_lists_none_at_each_capture(
    repo: GitRepo, tmp_path: Path
) -> None:
    """20,000 tags cost each `for-each-ref` 30 ms, and every capture (a hook call's too) lists
    the refs once: past about a thousand packed tags, none is listed or recorded, and a
    rollback names none (as before tags were named); the tags stay as the operation left them."""
    head = repo.git("rev-parse", "HEAD").strip()
    made = "".join(f"create refs/tags/many{n:05d} {head}\n" for n in range(2000))
    subprocess.run(["git", "update-ref", "--stdin"], input=made, text=True, cwd=repo.path,
                   env=repo.env, check=True)  # fmt: skip
    repo.git("pack-refs", "--all")
    packed = repo.path / ".git" / "packed-refs"
    assert packed.stat().st_size > 64 << 10
    trace = tmp_path / "trace.json"
    res = repo.atomic(
        "run", "--", "sh", "-c", "git tag -d v1; exit 1", check=1,
        env={"GIT_TRACE2_EVENT": str(trace)},
    )  # fmt: skip
    listings = [line for line in trace.read_text().splitlines() if "for-each-ref" in line]
    assert listings and not [line for line in listings if "refs/tags/" in line], listings
    assert "tag v1" not in res.stderr
    assert "refs/tags/v1" not in _tags(repo)  # left as the operation left it
