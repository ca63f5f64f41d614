"""Replace refs (`git replace`) an operation made, moved or deleted, taken back with it.

`git replace A B` makes every git command of yours see commit (or blob, tree) B where A is:
`git log`, `git status`, a checkout. An operation that made one and was rolled back left it:
the files and the index came back as PRE-OP had them, and `git status` then showed changes you
never made (HEAD's commit read as the replacement's), after a rollback that said it "had
changed nothing". Unlike a tag or a remote-tracking ref, a replace ref is not published by a
push; it changes what this repository shows, and it is the operation's change. (git-atomic's
own git calls never read replacements: GIT_NO_REPLACE_OBJECTS.)

An operation notes the replace refs at its PRE-OP (`BEFORE`, in its journal detail: none
without a git process where there is no `refs/replace/` folder and no packed one, the usual
case) and those it left when it closes (`LEFT`). Its own rollback (a failed run, `abort`,
`recover`) puts them back as PRE-OP had them; a later move that takes its effect back does so
for each one still as the operation left it (one you changed since is yours, left). By
compare-and-swap in one `update-ref --stdin` transaction, else one by one (a ref moved
meanwhile is left). `undo` does not make the operation's replacement again: say it with `git
replace` where you want it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

from git_atomic.core.errors import AtomicError
from git_atomic.engine import safefs
from git_atomic.engine.git import Repo

BEFORE: Final = "replace_refs"  # op detail: {ref: object id} at PRE-OP
LEFT: Final = "replace_refs_left"  # op detail: {ref: object id} when it closed
_PREFIX: Final = "refs/replace/"


def any_there(repo: Repo) -> bool:
    """Whether there may be a replace ref: a `refs/replace` folder, or a packed one (or a
    `packed-refs` that cannot be read here: asked of git then)."""
    common = repo.common_dir
    if os.path.lexists(common / "refs" / "replace"):
        return True
    if not os.path.lexists(common / "packed-refs"):
        return False
    with safefs.Tree(os.fsencode(common)) as tree:
        data = tree.read(b"packed-refs")
    return data is None or b" refs/replace/" in data


def note(repo: Repo) -> dict[str, str]:
    """The replace refs now, by name."""
    return repo.refs(_PREFIX) if any_there(repo) else {}


def foresee(repo: Repo, details: Mapping[str, object], *, own: bool) -> list[str]:
    """What `put_back` would do now (a dry run's: nothing written), one line each."""
    return [_said(name, want, have) for name, want, have in _moves(repo, details, own=own)]


def _moves(
    repo: Repo, details: Mapping[str, object], *, own: bool
) -> list[tuple[str, str | None, str | None]]:
    """(ref, as PRE-OP had it, as it is now) for each replace ref to put back."""
    noted, noted_left = details.get(BEFORE), details.get(LEFT)
    if not isinstance(noted, dict):
        return []
    if not own and not isinstance(noted_left, dict):
        return []  # an operation closed before this was noted: nothing known of its own
    before = {str(k): str(v) for k, v in noted.items()}
    left = {str(k): str(v) for k, v in noted_left.items()} if isinstance(noted_left, dict) else {}
    now = note(repo)
    moves: list[tuple[str, str | None, str | None]] = []  # (ref, want, now)
    for name in sorted(set(before) | set(now) | set(left)):
        want, have = before.get(name), now.get(name)
        if want == have:
            continue
        if not own and have != left.get(name):
            continue  # changed since the operation left it: yours
        moves.append((name, want, have))
    return moves


def put_back(repo: Repo, details: Mapping[str, object], *, own: bool) -> list[str]:
    """Put the replace refs back as the operation's PRE-OP had them (`own`: all of them; else
    each still as it left it); one line per replacement taken back or made again."""
    moves = _moves(repo, details, own=own)
    if not moves:
        return []
    zero = repo.zero_oid
    lines = [f"update {n} {w or zero} {h or zero}" for n, w, h in moves]
    done = moves
    try:
        repo.update_refs(lines, message="git-atomic: rollback of a replacement")
    except AtomicError:  # one moved meanwhile: the others one by one
        done = []
        for move, line in zip(moves, lines, strict=True):
            try:
                repo.update_refs([line], message="git-atomic: rollback of a replacement")
            except AtomicError:
                continue
            done.append(move)
    return [_said(name, want, have) for name, want, have in done]


def _said(name: str, want: str | None, have: str | None) -> str:
    replaced = name.removeprefix(_PREFIX)[:12]
    if want is None:
        return (
            f"the replacement of {replaced} the operation made (`git replace`) is removed: git "
            "shows that object as it is again"
        )
    if have is None:
        return f"the replacement of {replaced} the operation removed (`git replace -d`) is back"
    return f"the replacement of {replaced} is {want[:12]} again, as before the operation"
