"""t1305-config-include (stop 59's helper E): configuration a conditional include brings in.

- `includeIf "gitdir:..."` is matched against the git dir of the worktree git runs in, and
  `includeIf "onbranch:..."` against the branch checked out there. `run --isolate` runs the
  command in a private worktree, detached, whose git dir is `.git/worktrees/<op>`: an include
  for `gitdir:/path/to/repo/.git` or `onbranch:main` held for the user's worktree and not
  there, and the command (and its gates) saw another configuration than in the user's tree
  (`git config x.y` said nothing; a `git commit` had no identity). The command now sees the
  values the user's worktree sees (a key the user's local configuration sets after the
  include keeps the local value).
- The same for the identity of the commits an isolated run in commits mode puts on the
  branch: one only a `gitdir:` include for `.git` gives was refused in the private worktree
  (exit 2, "commits mode needs your git identity") though the user's worktree has it.
- Our own calls go by the identity a `gitdir:` include gives the repository, reached through a
  link to a folder above it or from a linked worktree: commits mode commits as that identity.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

IDENTITY = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")


def _include(repo: GitRepo, condition: str, body: str, *, where: str = "local") -> None:
    included = repo.path.parent / f"{condition.replace('/', '_').replace(':', '_')}.inc"
    included.write_text(body)
    config = f"includeIf.{condition}.path"
    if where == "local":
        repo.git("config", config, str(included))
    else:
        repo.git("config", "--global", config, str(included))


@pytest.mark.parametrize("condition", ["onbranch:main", "gitdir:{git_dir}", "gitdir/i:{git_dir}"])
def test_isolated_command_sees_the_worktree_s_conditional_includes(
    tmp_path: Path, condition: str
) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    condition = condition.format(git_dir=repo.path / ".git")
    where = "local" if condition.startswith("onbranch") else "global"
    _include(repo, condition, "[x]\n\ty = included\n\tz = included\n", where=where)
    # set after the include in the local configuration: the local value is the one seen
    repo.git("config", "x.z", "local")
    assert repo.git("config", "x.y").strip() == "included"
    line = "{ git config x.y; git config x.z; } > seen"
    repo.atomic("run", "--isolate", "--no-gates", "--", "sh", "-c", line, check=0)
    assert repo.read("seen") == b"included\nlocal\n"
    # and a gate, run in the private worktree too
    gate = 'test "$(git config x.y)" = included'
    repo.atomic("run", "--isolate", "-g", gate, "--", "sh", "-c", "echo 2 > two", check=0)
    assert repo.read("two") == b"2\n"


def test_isolated_command_keeps_the_caller_s_config_variables(tmp_path: Path) -> None:
    """`GIT_CONFIG_COUNT` the caller set is kept: the carried values come after its own."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    _include(repo, "onbranch:main", "[x]\n\ty = included\n")
    env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "a.b", "GIT_CONFIG_VALUE_0": "c"}
    line = "{ git config a.b; git config x.y; } > seen"
    repo.atomic("run", "--isolate", "--no-gates", "--", "sh", "-c", line, env=env, check=0)
    assert repo.read("seen") == b"c\nincluded\n"


@pytest.mark.parametrize("where", ["through a link", "linked worktree"])
def test_identity_from_a_gitdir_include(tmp_path: Path, where: str) -> None:
    home = tmp_path / "home"
    repo = GitRepo.create(tmp_path / "work" / "repo", home)
    bare = {k: v for k, v in repo.env.items() if k not in IDENTITY}
    (home / "id.inc").write_text("[user]\n\tname = Inc Luded\n\temail = inc@x\n")
    repo.git("config", "--global", f"includeIf.gitdir:{tmp_path / 'work'}/.path", "id.inc")
    if where == "through a link":
        os.symlink(tmp_path / "work", tmp_path / "ln")
        there = GitRepo(tmp_path / "ln" / "repo", bare)
    else:
        repo.git("worktree", "add", "-q", "-b", "wtb", str(tmp_path / "work" / "wt"))
        there = GitRepo(tmp_path / "work" / "wt", bare)
    line = "echo x > x"
    there.atomic("run", "--history", "commits", "--no-gates", "--", "sh", "-c", line, check=0)
    assert there.git("log", "-1", "--format=%an <%ae>|%cn <%ce>").strip() == (
        "Inc Luded <inc@x>|Inc Luded <inc@x>"
    )


def test_isolated_commits_by_the_identity_a_gitdir_include_gives(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    bare = GitRepo(repo.path, {k: v for k, v in repo.env.items() if k not in IDENTITY})
    _include(repo, f"gitdir:{repo.path / '.git'}", "[user]\n\tname = Inc\n\temail = inc@x\n")
    argv = ("run", "--isolate", "--history", "commits", "--no-gates", "--", "sh", "-c", "echo x>x")
    bare.atomic(*argv, check=0)
    assert repo.read("x") == b"x\n"
    assert (
        repo.git("log", "-1", "--format=%an <%ae>|%cn <%ce>|%s")
        .strip()
        .startswith("Inc <inc@x>|Inc <inc@x>|OP-EXEC")
    )
