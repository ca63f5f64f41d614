"""`run --isolate` and submodules (stop 53's adversary).

The private worktree checks out no submodule: a command that wrote into one's folder there
(`echo x >> sub/s.txt`) wrote into a folder git takes for an unpopulated submodule, no capture
listed it, and the run said "applied to your worktree" with that work gone with the private
worktree. It is named now, with the files, and that it is not applied; the user's submodule
is left as it was (their uncommitted edit there too).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

SAID = "sub: the command wrote into this submodule's folder"


def _submodule(repo: GitRepo, tmp_path: Path, layout: str) -> Path:
    upstream = GitRepo.create(tmp_path / "upstream", tmp_path / "home")
    if layout == "git-folder":
        repo.git("-c", "protocol.file.allow=always", "clone", "-q", str(upstream.path), "sub")
    repo.git(
        "-c", "protocol.file.allow=always", "submodule", "-q", "add", str(upstream.path), "sub"
    )
    repo.git("commit", "-qm", "sub")
    (repo.path / "sub" / "README").write_bytes(b"yours, not committed\n")
    return repo.path / "sub"


@pytest.mark.parametrize("layout", ["git-file", "git-folder"])
@pytest.mark.parametrize("history", ["shadow", "commits"])
def test_what_an_isolated_command_wrote_into_a_submodule_is_named(
    repo: GitRepo, tmp_path: Path, layout: str, history: str
) -> None:
    sub = _submodule(repo, tmp_path, layout)
    script = "echo x >> sub/README; echo n > sub/new; echo y > y"
    argv = ("run", "--isolate", "--no-gates", "--history", history, "--", "sh", "-c", script)
    res = repo.atomic(*argv, check=0)
    assert repo.read("y") == b"y\n"  # the rest is applied
    assert f"{SAID} (README, new)" in res.stderr, res.stderr
    assert "is not applied" in res.stderr
    assert (sub / "README").read_bytes() == b"yours, not committed\n"
    assert not (sub / "new").exists()


def test_an_isolated_command_that_left_the_submodule_alone_names_nothing(
    repo: GitRepo, tmp_path: Path
) -> None:
    _submodule(repo, tmp_path, "git-file")
    argv = ("run", "--isolate", "--no-gates", "--", "sh", "-c", "echo y > y")
    res = repo.atomic(*argv, check=0)
    assert "submodule" not in res.stderr, res.stderr
