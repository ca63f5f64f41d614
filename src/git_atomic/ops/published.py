"""Commits a move takes off a branch that a remote already has, said after it.

A rollback (of a run whose command pushed, of an operation you pushed since, an `emergency`,
`rollback --to`) moves a branch back over commits that may be on a remote already: they go
from your branch only, the remote keeps them, and a `git pull` brings them back (a `git push`
is refused until then). The move is right, and nothing is pushed or fetched; but a careful user
expects to be told, as `git reset` over a pushed commit is a thing one does knowingly. Named by
the remote-tracking refs (`refs/remotes/`) as your last fetch or push left them: nothing asks the
remote itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from git_atomic.engine.git import Repo, is_zero

# Commits looked at per move: a move drops an operation's own commits, few; beyond this many
# the oldest are not looked at (their remote would hold the newer ones too).
_AT_MOST: Final = 200


def lines(
    repo: Repo,
    ref_lines: Sequence[str],
    left: Iterable[str],
    tips: Iterable[str],
    *,
    dry_run: bool = False,
) -> list[str]:
    """One line per branch the move took back (its `update-ref --stdin` lines, less the `left`
    ones it did not move) whose dropped commits a remote-tracking ref holds; `tips`: the
    commits the branches and HEAD point at after the move; `dry_run`: said of a move foreseen."""
    kept = set(left)
    moved: list[tuple[str, str]] = []
    for line in ref_lines:
        _verb, name, _new, old = line.split()
        if name not in kept and not is_zero(old):
            moved.append((name, old))
    if not moved:
        return []
    after = [t for t in dict.fromkeys(tips) if t and not is_zero(t)]
    out = []
    for name, old in moved:
        dropped = repo.out(
            "rev-list", f"--max-count={_AT_MOST}", old, "--not", *after, "--"
        ).split()
        if not dropped:
            continue
        listed = repo.out(
            "for-each-ref",
            "--format=%(refname:short)",
            *(f"--contains={sha.decode()}" for sha in dropped),
            "refs/remotes/",
        )
        remotes = [r for r in listed.decode("utf-8", "replace").splitlines() if r]
        remotes = [r for r in remotes if not r.endswith("/HEAD")] or remotes
        if not remotes:
            continue
        branch = name.removeprefix("refs/heads/")
        n = len(dropped)
        which = f"{n} commits" if n > 1 else f"commit {dropped[0].decode()[:12]}"
        them, are = ("them", "are") if n > 1 else ("it", "is")
        out.append(
            f"{which} ({'to be ' if dry_run else ''}taken off {branch}) {are} on "
            f"{', '.join(remotes)} already (pushed or fetched): the remote keeps {them}, a "
            f"`git pull` brings {them} back, and a `git push` of the branch is refused until "
            "then (or needs --force)"
        )
    return out
