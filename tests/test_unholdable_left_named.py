"""Names no checkpoint can hold that an operation makes: `.git` in another letter case (`.GIT`,
`sub/.Git/x`), a `.gitmodules` that is a symbolic link (git refuses to track either whatever its
settings), and a `.git` in a folder that is no repository after all (git never lists a `.git`).
PRE-OP refuses them; one the operation makes stays after its rollback (nothing is ever written
under such a name), but the rollback said the files were "as before" (or that the operation "had
changed nothing"), and a folder holding a `.git` that is no repository was taken for "a
repository of its own": the operation's files beside it were left too. Each is named now, on a
warning line of every rollback (a failed run, one whose command left it, `abort`, the immediate
`rollback` inside a session and its dry run, `recover`), and the files beside a stray `.git`
are taken back. (An agent turn whose call makes one is not judged until it is gone: its Stop
names it, as the checkpoint after the call did.)
"""

from __future__ import annotations

import os
import subprocess

import pytest

from testing import oracle
from testing.gitrepo import GitRepo

MAKES = (
    "mkdir .GIT; echo x > .GIT/n; echo y > .GIT/m; mkdir -p sub/.Git; echo x > sub/.Git/x; "
    "ln -s elsewhere .gitmodules; mkdir -p d/.git; echo notes > d/.git/notes; echo f > d/f; "
    "mkdir e; echo 'no gitdir line' > e/.git; mkdir l; ln -s ../nowhere l/.git; echo k > l/k; "
    "echo op >> README; echo new > new"
)
NAMED = {
    ".GIT": "a name that is .git in another letter case",
    "sub/.Git": "a name that is .git in another letter case",
    ".gitmodules": "a .gitmodules that is a symbolic link",
    "d/.git": "a .git that is no repository",
    "e/.git": "a .git that is no repository",
    "l/.git": "a .git that is no repository",
}
KINDS = ("failed run", "left by a run", "abort", "rollback in a session", "recover")


def _taken_back(repo: GitRepo, kind: str) -> str:
    """MAKES run as an operation and rolled back `kind`: what said so (stderr)."""
    if kind == "failed run":
        return repo.atomic("run", "--", "sh", "-c", MAKES + "; exit 1", check=1).stderr
    if kind == "left by a run":  # the command succeeded: its end capture cannot hold them
        return repo.atomic("run", "--", "sh", "-c", MAKES, check=1).stderr
    if kind == "recover":
        repo.atomic("run", "--", "sh", "-c", MAKES + "; kill -9 $PPID", check=-9)
        return repo.atomic("recover", check=0).stderr
    repo.atomic("begin", "work", check=0)
    subprocess.run(["sh", "-c", MAKES], cwd=repo.path, env=repo.env, check=True)
    if kind == "abort":
        return repo.atomic("abort", check=0).stderr
    dry = repo.atomic("rollback", "--dry-run", check=0).stderr  # it names them too
    said = repo.atomic("rollback", check=0).stderr
    assert _named(dry) == _named(said), dry
    repo.atomic("abort", check=0)
    return said


def _named(said: str) -> list[str]:
    return [x for x in said.splitlines() if x.startswith("git-atomic: warning: ")]


@pytest.mark.parametrize("kind", KINDS)
def test_each_name_left_is_on_a_warning_line(tmp_path: object, kind: str) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")  # type: ignore[operator]
    before = oracle.walk(repo.path)
    said = _taken_back(repo, kind)
    warnings = _named(said)
    for path, what in NAMED.items():
        line = next((x for x in warnings if x.startswith(f"git-atomic: warning: {path}: ")), "")
        assert what in line and "left as it is" in line, said
        assert os.path.lexists(repo.path / path), path  # never written, never removed
    assert not any(".GIT/" in x for x in warnings), said  # the name, not each file in it
    assert "had changed nothing" not in said, said
    assert "repository of its own" not in said, said
    if "as before" in said or "back at PRE-OP" in said:
        assert "except what the warnings above name" in said, said
    # The rest is taken back: the files beside a `.git` that is no repository too.
    after = oracle.walk(repo.path)
    left = tuple(os.fsencode(p) + b"/" for p in NAMED)
    assert {p: v for p, v in after.items() if not (p + b"/").startswith(left)} == before
    assert not repo.exists("d/f") and not repo.exists("l/k") and not repo.exists("new")
