"""A `run --isolate` whose result is not applied because it overlaps with your changes
(conflict) or your worktree is busy names the branches its command moved, as a failed one and
one refused for your branch do (isolated_run.branches_moved). The private worktree shares your
branches: before, a conflict or a busy worktree closed the run with no word of the `topic` it
made, the `side` it moved, or your `main` it moved back (and no `git update-ref` to put it
back), and a branch it deleted stayed deleted."""

from __future__ import annotations

import json

import pytest

from testing.gitrepo import GitRepo

# What the command does to the branches it shares with you (your own moved back only where
# the worktree is busy: else the run is refused for that first, which names it already).
BRANCHES = "git branch tpc && git update-ref refs/heads/sd HEAD && git update-ref -d refs/heads/gn"
BACK = " && git update-ref refs/heads/main HEAD~"
# And to your worktree meanwhile: an edit of the file it changes too, or a merge left waiting.
MEANWHILE = {
    "conflict": 'echo mine > "$ROOT/f"',
    "busy": 'git rev-parse HEAD > "$(git -C "$ROOT" rev-parse --absolute-git-dir)/MERGE_HEAD"',
}


SAID = {"conflict": "conflicts with changes made in your worktree", "busy": "was not applied"}


@pytest.mark.parametrize("why", sorted(MEANWHILE))
def test_a_result_not_applied_names_the_branches_its_command_moved(repo: GitRepo, why: str) -> None:
    repo.write("f", b"base\n")
    repo.git("add", "f")
    repo.git("commit", "-qm", "f")
    init = repo.git("rev-parse", "HEAD~").strip()
    repo.git("branch", "sd", init)
    repo.git("branch", "gn")
    was = repo.head()
    back = BACK if why == "busy" else ""
    script = f'ROOT="{repo.path}"; {BRANCHES}{back} && echo op > f && {MEANWHILE[why]}'
    res = repo.atomic("run", "--isolate", "--", "sh", "-c", script)
    assert res.returncode == 1, res.stderr
    assert SAID[why] in res.stderr, res.stderr
    said = res.stderr
    assert "tpc" in said and "sd" in said, said
    assert "made again where they were: gn" in said, said
    assert repo.git("rev-parse", "gn").strip() == was, "a deleted branch is made again"
    if back:
        assert f"git update-ref refs/heads/main {was}" in said, said
        assert repo.git("rev-parse", "main").strip() == init  # named, left as it is
    shown = json.dumps(repo.atomic_json("log")["operations"][0])
    assert "tpc" in shown and "made again where they were: gn" in shown, shown
    assert repo.read("f") == (b"mine\n" if why == "conflict" else b"base\n")
