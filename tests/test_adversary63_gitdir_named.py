"""A real take-back names what it puts back in the git dir, as its dry run does.

`rollback --op ID --dry-run` lists, beside the paths, a `git` line for each file of git's it
would put back: ORIG_HEAD, COMMIT_EDITMSG, a `packed-refs` the operation made (its refs written
as loose files again). The real `rollback --op` wrote them back and named none of them (its
JSON `git_dir` empty, its summary silent), so what a script or a person saw of the dry run was
not what the real run reported. Now each line the dry run names and the real run carries out is
said (`git-atomic: git dir: ORIG_HEAD: ...`) and is in the JSON's `git_dir`; the disk is the
oracle for what was put back.
"""

from __future__ import annotations

import json

import pytest

from testing.gitrepo import GitRepo

# Each leaves ORIG_HEAD, COMMIT_EDITMSG and a packed-refs that were not there (or were other).
OP = (
    "git reset -q --hard HEAD~1 && echo n > n && git add n && git commit -qm op"
    " && git pack-refs --all"
)


def _git_lines(dry_stdout: str) -> list[str]:
    return [
        line[8:]
        for line in dry_stdout.splitlines()
        if line.startswith("git     ") and not line[8:].startswith("reflog of ")
    ]


@pytest.mark.parametrize("orig_head", ["none-before", "one-before"])
def test_the_real_rollback_op_names_what_its_dry_run_names(repo: GitRepo, orig_head: str) -> None:
    repo.write("b.txt", b"b\n")
    repo.git("add", "b.txt")
    repo.git("commit", "-qm", "b")
    git_dir = repo.path / ".git"
    if orig_head == "one-before":
        at = repo.git("rev-parse", "HEAD~1").strip()  # (the reset writes HEAD's there)
        (git_dir / "ORIG_HEAD").write_bytes(at.encode() + b"\n")
    before = {
        name: (git_dir / name).read_bytes() if (git_dir / name).exists() else None
        for name in ("ORIG_HEAD", "COMMIT_EDITMSG", "packed-refs")
    }
    done = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", OP)
    op_id = str(done["op_id"])
    dry = repo.atomic("rollback", "--op", op_id, "--dry-run", check=0)
    named = _git_lines(dry.stdout)
    assert any(n.startswith("ORIG_HEAD: ") for n in named), dry.stdout
    assert any(n.startswith("packed-refs: ") for n in named), dry.stdout
    res = repo.atomic("rollback", "--op", op_id, "--json", check=0)
    for line in named:
        assert f"git-atomic: git dir: {line}" in res.stderr, (line, res.stderr)
    answer = json.loads(res.stdout)
    assert [g for g in answer["git_dir"] if not g.startswith("reflog of ")] == named
    for name, data in before.items():  # the disk: put back as before the operation
        path = git_dir / name
        assert (path.read_bytes() if path.exists() else None) == data, name


def test_the_immediate_rollback_names_them_too(repo: GitRepo) -> None:
    """Commits mode's immediate `rollback` of a kept run: the same rule."""
    repo.write("b.txt", b"b\n")
    repo.git("add", "b.txt")
    repo.git("commit", "-qm", "b")
    repo.atomic("run", "--no-gates", "--history", "commits", "--", "sh", "-c", OP, check=0)
    dry = repo.atomic("rollback", "--dry-run", check=0)
    named = _git_lines(dry.stdout)
    res = repo.atomic("rollback", check=0)
    for line in named:
        assert f"git-atomic: git dir: {line}" in res.stderr, (line, dry.stdout, res.stderr)
    assert not (repo.path / ".git" / "packed-refs").exists()
