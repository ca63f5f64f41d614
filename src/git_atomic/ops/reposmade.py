"""A `.git` an operation put into a folder of your files, named by the rollback that leaves it.

`ln -s ../../other/.git src/.git`, a `gitdir:` file naming another git dir, `git init src`: git
never lists a `.git`, and still lists the folder's files as this repository's (the index holds
paths under it), so the files of no checkpoint differ (nor where a new folder is such a
repository without a commit yet, which no checkpoint holds) and the rollback said "it had changed
nothing". But every git command run in that folder since works on the other repository, the
folder's files for its worktree (a `git clean -fd` there removes them). A `.git` an operation
leaves stays, as every repository of its own does (nestedrepos.py), but it is named: each
checkpoint records the folders git lists as files although they hold a repository
(`repositories`, snapshot.py), and those the state the operation left records that its PRE-OP
does not are the operation's. So is one it removed (`rm -rf scratch` of your `git init
scratch` with notes in it, no commit yet): named as gone, for good.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Final

from git_atomic.engine import checkpoint, safefs
from git_atomic.engine.git import Repo

_SAID: Final = "the operation made this folder a repository of its own"
_GONE: Final = "a repository of its own was here when the operation began, and is gone"


def lines(repo: Repo, before: str | None, after: str | None, problems: Sequence[str]) -> list[str]:
    """One line for each folder the `after` checkpoint's `repositories` blob names and the
    `before` one's does not, that holds a `.git` still, and one for each the `before` one names
    and the `after` one does not, that holds none now; none that a line of `problems` names."""
    if after == before:
        return []
    had, has = _paths(repo, before), _paths(repo, after)
    out = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for root in sorted(had - has):  # yours, removed: its contents were never captured
            shown = root.decode("utf-8", "backslashreplace")
            said = any(p.startswith(f"{shown}: ") for p in problems)
            if said or tree.kind(root + b"/.git") is not None:
                continue
            out.append(
                f"{shown}: {_GONE}; no checkpoint holds it (a nested repository's contents are "
                "not captured, nor a repository's without a commit): it does not come back"
            )
        for root in sorted(has - had):
            shown = root.decode("utf-8", "backslashreplace")
            if tree.kind(root + b"/.git") is None or any(
                p.startswith(f"{shown}: ") for p in problems
            ):
                continue
            out.append(
                f"{shown}: {_SAID} (a .git there: a link, a file naming a git dir, `git init`); "
                "it stays, with what no checkpoint holds in it (a nested repository's contents "
                f"are not captured): a git command run in {shown}/ works on that repository, not "
                "this one (take its .git away if it is not yours)"
            )
    return out


def _paths(repo: Repo, blob: str | None) -> frozenset[bytes]:
    return checkpoint.paths_of(repo, blob)
