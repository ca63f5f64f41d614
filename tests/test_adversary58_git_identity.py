"""t7517-per-repo-email and `git var` (t0007) (stop 58's adversary D): `author.name`,
`author.email`, `committer.name` and `committer.email` (git 2.21+) say who authors and who
commits, ahead of `user.name` and `user.email`. The commits git-atomic puts on the branch
(commits mode, an agent turn's) and its checkpoints took `user.*` alone: a commit `git commit`
would have made as "Au <au@x>", committed by "U <co@x>", was made as "U <u@x>" twice; and
with `author.*` and `committer.*` set but no `user.*`, where git commits, commits mode was
refused for want of an identity. Each commit now names whom `git var GIT_AUTHOR_IDENT` and
`GIT_COMMITTER_IDENT` name (the environment's GIT_AUTHOR_NAME... first, as before; EMAIL
where no email is set, which git takes too).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

CONFIGS = {
    "author-and-committer-over-user": {
        "user.name": "U",
        "user.email": "u@x",
        "author.name": "Au",
        "author.email": "au@x",
        "committer.email": "co@x",
    },
    "no-user-at-all": {
        "author.name": "Au",
        "author.email": "au@x",
        "committer.name": "Co",
        "committer.email": "co@x",
    },
}


def _repo(tmp_path: Path, config: dict[str, str]) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    for key in ("NAME", "EMAIL"):
        for who in ("AUTHOR", "COMMITTER"):
            del repo.env[f"GIT_{who}_{key}"]
    for key, value in config.items():
        repo.git("config", key, value)
    return repo


def _who(repo: GitRepo, rev: str) -> tuple[str, str]:
    author, committer = repo.git("log", "-1", "--format=%an <%ae>%n%cn <%ce>", rev).split("\n")[:2]
    return author, committer


def _git_would(repo: GitRepo) -> tuple[str, str]:
    author, committer = (
        repo.git("var", f"GIT_{who}_IDENT").rsplit(" ", 2)[0] for who in ("AUTHOR", "COMMITTER")
    )
    return author, committer


def test_the_email_variable_where_no_email_is_configured(tmp_path: Path) -> None:
    """git takes EMAIL where no GIT_*_EMAIL, author/committer.email or user.email is set."""
    repo = _repo(tmp_path, {"user.name": "U"})
    repo.env["EMAIL"] = "from-env@x"
    expected = _git_would(repo)
    assert expected == ("U <from-env@x>", "U <from-env@x>")
    repo.atomic("run", "--history", "commits", "--", "sh", "-c", "echo y > a", check=0)
    assert _who(repo, "HEAD") == expected


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_commits_mode_and_checkpoints_name_whom_git_would(
    tmp_path: Path, config: dict[str, str]
) -> None:
    repo = _repo(tmp_path, config)
    expected = _git_would(repo)
    repo.atomic("run", "--history", "commits", "--", "sh", "-c", "echo y > a", check=0)
    assert _who(repo, "HEAD") == expected
    pre_op = repo.atomic_json("log")["operations"][0]["checkpoints"]["pre_op"]
    assert _who(repo, pre_op) == expected


def test_the_environment_still_comes_first(tmp_path: Path) -> None:
    repo = _repo(tmp_path, CONFIGS["author-and-committer-over-user"])
    env = {"GIT_AUTHOR_NAME": "Env", "GIT_COMMITTER_EMAIL": "env@x"}
    repo.env.update(env)
    expected = _git_would(repo)
    assert expected == ("Env <au@x>", "U <env@x>")
    repo.atomic("run", "--history", "commits", "--", "sh", "-c", "echo y > a", check=0)
    assert _who(repo, "HEAD") == expected
