"""t7508-status's `status.showStash` (stop 58's adversary D): with it set and a stash entry,
`git status --porcelain=v2` adds a `# stash N` line, which the scan took for output a scan
index never shows: every capture gave up its scan and staged the whole tree again with `git
add -A` (a second walk of every file: the cost the scan is there to save, checkpoint after
checkpoint, for as long as the user keeps a stash). The scan asks git for no stash count; the
git commands a capture runs are the same as without the setting, and the capture is right.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


def _commands(repo: GitRepo, *args: str, check: int) -> list[str]:
    """The git commands a git-atomic command ran (GIT_TRACE), without the helper or the check
    of an edited scan against git's."""
    trace = repo.path.parent / "trace.txt"
    trace.unlink(missing_ok=True)
    env = {"GIT_TRACE": str(trace), "GIT_ATOMIC_HELPER": "0", "GIT_ATOMIC_VERIFY_SCAN": "0"}
    repo.atomic(*args, check=check, env=env)
    lines = trace.read_text().splitlines()
    return [x.split("trace: built-in: git ", 1)[1] for x in lines if "built-in: git " in x]


@pytest.mark.parametrize("show_stash", [False, True])
def test_a_stash_count_costs_no_second_walk(tmp_path: Path, show_stash: bool) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.git("config", "status.showStash", "true" if show_stash else "false")
    repo.write("README", b"stashed\n")
    repo.git("stash", "-q")
    repo.write("wip", b"w\n")
    before = repo.fingerprint()
    op = "echo y > README; echo n > n; exit 1"
    commands = _commands(repo, "run", "--", "sh", "-c", op, check=1)
    assert repo.fingerprint().diff(before) == []
    assert not [c for c in commands if c.startswith("add ") or " add " in c], commands
    repo.atomic("undo", check=0)
    assert (repo.read("README"), repo.read("n")) == (b"y\n", b"n\n")
