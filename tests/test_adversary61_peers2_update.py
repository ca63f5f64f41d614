"""Peers' reports on an "update" that merged upstream over uncommitted work, played against
git-atomic: GitButler's Update, after a branch touching the same file was merged upstream,
lost uncommitted changes without a warning, overwritten by the merge
(gitbutlerapp/gitbutler#5015); a tool switched branches outside GitButler and the
uncommitted work went with it (gitbutlerapp/gitbutler#3339). An operation that merges upstream
with your edits set aside (`--autostash`, whose putting back meets a conflict and keeps your
changes in a stash) or thrown away (`reset --hard` then `merge`) is taken back by
`rollback --op` (the autostash's conflict: by the run itself, which refuses the unmerged
paths it left): the branch where it was, your edits and what you staged as they were, no
stash left behind. The oracle: the disk by lstat, the index's entries, the refs."""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo
from testing.oracle import disk


@pytest.mark.parametrize(
    "update",
    ["git merge -q --autostash up; true", "git reset -q --hard && git merge -q up"],
    ids=["autostash", "hard"],
)
def test_an_update_over_your_uncommitted_work_is_taken_back(repo: GitRepo, update: str) -> None:
    """Upstream `up` changes line 1 of `a.txt`; you changed line 1 and line 9, staged `b.txt`
    and have an untracked `notes.txt`. After the update and its `rollback --op`, all of it is
    as before, `main` where it was, the stash list empty."""
    repo.write("a.txt", b"".join(b"line %d\n" % i for i in range(10)))
    repo.git("add", "a.txt")
    repo.git("commit", "-qm", "a")
    repo.git("checkout", "-qb", "up")
    repo.write("a.txt", repo.read("a.txt").replace(b"line 1\n", b"upstream 1\n"))
    repo.git("commit", "-qam", "upstream")
    repo.git("checkout", "-q", "main")
    main = repo.head()
    repo.write("a.txt", repo.read("a.txt").replace(b"line 1\n", b"mine 1\n") + b"mine 10\n")
    repo.write("b.txt", b"staged\n")
    repo.git("add", "b.txt")
    repo.write("b.txt", b"staged, then edited\n")
    repo.write("notes.txt", b"notes\n", mode=0o600)
    before = disk(repo.path, modes=True)
    index = repo.git("ls-files", "-s")
    ran = repo.atomic(
        "run", "--no-gates", "--history", "shadow", "--", "sh", "-c", update, check=None
    )
    if "autostash" in update:
        # Its putting back left unmerged paths in the index: the run refuses that and takes
        # itself back at once (exit 1, one line).
        assert ran.returncode == 1 and "left unmerged paths" in ran.stderr, ran
    else:
        assert ran.returncode == 0 and repo.head() != main, ran
        op_id = repo.atomic_json("log", "-n", "1")["operations"][0]["op_id"]
        repo.atomic("rollback", "--op", op_id, check=0)
    assert disk(repo.path, modes=True) == before
    assert repo.git("ls-files", "-s") == index and repo.head() == main
    assert repo.git("stash", "list").strip() == ""
    assert repo.git("rev-parse", "up") != main
