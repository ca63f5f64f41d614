"""Who our commits are by, and when: the user's identity where git takes it, else a fixed one
(a checkpoint needs none of yours), and the date git is told (GIT_AUTHOR_DATE...) where git
reads it, else now. A commit on your branch (commits mode, an agent turn's, an isolated
run's) needs yours: an identity or a date git would refuse is refused first, in one line
(exit 2), never a `commit-tree` that fails after the command ran. The checks cost nothing
but where git's answer is needed (a name of dots, a date in a form not read here): `git var`,
as strict as `commit-tree`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final, Protocol

from git_atomic.core import process
from git_atomic.core.errors import UsageError


class RepoConfig(Protocol):
    """What is read here of a repository (gitconfig.RepoConfig, which calls this module)."""

    root: Path
    git_env: dict[str, str]

    def config(self, key: str) -> str | None: ...


FALLBACK_IDENTITY: Final = ("git-atomic", "git-atomic@localhost")

# What git strips from the ends of a name (ident.c `crud`, git 2.39; `.` until 2.46).
_CRUD: Final = frozenset(map(chr, range(33))) | frozenset(".,:;<>\"\\'")


def people(repo: RepoConfig, *, required: bool) -> dict[str, str]:
    """GIT_AUTHOR/COMMITTER_NAME/EMAIL for our commits: the user's, else the fixed ones. Read
    as git reads it: the environment, then `author.*` / `committer.*`, then `user.*`."""
    name, email = _ident(repo, "AUTHOR", "author")
    cname, cemail = _ident(repo, "COMMITTER", "committer")
    refused = next((n for n in (name, cname) if n and not _name_taken(repo, n)), None)
    if refused is not None and required:
        raise UsageError(
            f"commits mode needs a git identity git accepts: the name {refused!r} "
            "(user.name, or GIT_AUTHOR_NAME/GIT_COMMITTER_NAME) is only characters git "
            "strips from a name",
            hint="set user.name to your name, or use --history shadow",
        )
    if refused is not None:  # no commit of ours can bear it: our own name instead
        name = name if name and _name_taken(repo, name) else None
        cname = cname if cname and _name_taken(repo, cname) else None
    if not (name and email and cname and cemail):
        if required:
            raise UsageError(
                "commits mode needs your git identity: set user.name and user.email "
                "(git config user.email you@example.com), or use --history shadow"
            )
        name, email = name or FALLBACK_IDENTITY[0], email or FALLBACK_IDENTITY[1]
        cname, cemail = cname or FALLBACK_IDENTITY[0], cemail or FALLBACK_IDENTITY[1]
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": cname,
        "GIT_COMMITTER_EMAIL": cemail,
    }


def _ident(repo: RepoConfig, variable: str, section: str) -> tuple[str | None, str | None]:
    """(name, email) of the author or committer: GIT_<variable>_NAME, `<section>.name`,
    `user.name` (and so for the email, then the EMAIL variable), the first set (git's
    `ident.c`, 2.21+)."""

    def first(field: str) -> str | None:
        return (
            os.environ.get(f"GIT_{variable}_{field.upper()}")
            or repo.config(f"{section}.{field}")
            or repo.config(f"user.{field}")
            or (os.environ.get("EMAIL") if field == "email" else None)
        )

    return first("name"), first("email")


def dates(repo: RepoConfig, *, required: bool) -> dict[str, str]:
    """A GIT_*_DATE git cannot read, which fails every commit: now instead (a checkpoint's),
    or refused (`required`)."""
    env: dict[str, str] = {}
    for who in ("AUTHOR", "COMMITTER"):
        told = os.environ.get(f"GIT_{who}_DATE")
        if told is None or _date_taken(repo, who, told):
            continue
        if required:
            raise UsageError(
                f"commits mode cannot commit: GIT_{who}_DATE is set to {told!r}, a date "
                "git cannot read",
                hint=f"unset GIT_{who}_DATE, or use --history shadow",
            )
        from git_atomic.engine import commitbody  # (only where a date is told)

        env[f"GIT_{who}_DATE"] = commitbody.now_told()  # a checkpoint is dated now
    return env


def _date_taken(repo: RepoConfig, who: str, told: str) -> bool:
    """Whether git reads `told` as GIT_<who>_DATE: a form commitbody reads, or one this git
    takes (RFC 2822 and the rest)."""
    from git_atomic.engine import commitbody  # (only where a date is told)

    if told and commitbody.read_here(told):
        return True
    env = {**repo.git_env, f"GIT_{who}_NAME": "x", f"GIT_{who}_EMAIL": "x@y"}
    env[f"GIT_{who}_DATE"] = told
    ran = process.git(["var", f"GIT_{who}_IDENT"], cwd=repo.root, env=env, check=False)
    return ran.returncode == 0


def _name_taken(repo: RepoConfig, name: str) -> bool:
    """Whether git puts `name` in a commit: it refuses one made only of the characters it
    strips from a name's ends ("name consists only of disallowed characters"). git 2.46
    stopped stripping `.`: a name of those and dots is asked of this git."""
    if any(c not in _CRUD for c in name):
        return True
    if "." not in name:
        return False
    env = {**repo.git_env, "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": "x@y"}
    ran = process.git(["var", "GIT_COMMITTER_IDENT"], cwd=repo.root, env=env, check=False)
    return ran.returncode == 0
