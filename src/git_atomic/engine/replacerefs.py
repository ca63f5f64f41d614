"""Replace refs (`git replace`) an operation made, moved or deleted, taken back with it.

`git replace A B` makes every git command of yours see commit (or blob, tree) B where A is:
`git log`, `git status`, a checkout. An operation that made one and was rolled back left it:
the files and the index came back as PRE-OP had them, and `git status` then showed changes you
never made (HEAD's commit read as the replacement's), after a rollback that said it "had
changed nothing". Unlike a tag or a remote-tracking ref, a replace ref is not published by a
push; it changes what this repository shows, and it is the operation's change. (git-atomic's
own git calls never read replacements: GIT_NO_REPLACE_OBJECTS.)

An operation notes the replace refs at its PRE-OP (`BEFORE`, in its journal detail: read from
their files, loose and packed, no git process; none with one `lstat` where there is no
`refs/replace/` folder and no `packed-refs`, the usual case) and those it left when it closes
(`LEFT`); an agent turn, before and after each of its calls that takes a checkpoint (those a
call changed: agents/turnsteps.py). Its own rollback (a failed run, `abort`,
`recover`) puts them back as PRE-OP had them; a later move that takes its effect back does so
for each one still as the operation left it (one you changed since is yours, left). By
compare-and-swap in one `update-ref --stdin` transaction, else one by one (a ref moved
meanwhile is left). What a rollback moved is kept in its event (`changed`), and `undo` of that
rollback moves each back where it is still as the rollback left it (gitdirredo.py)."""

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
_MOST_LOOSE: Final = 10_000  # more: asked of git (for-each-ref reads them faster)


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
    """The replace refs now, by name: read from git's files where they can be (`on_disk`),
    else asked of git (`for-each-ref`)."""
    found = on_disk(repo)  # (one read of packed-refs, where there is one)
    if found is not None:
        return found
    return repo.refs(_PREFIX) if any_there(repo) else {}


def on_disk(repo: Repo, prefix: str = _PREFIX) -> dict[str, str] | None:
    """The replace refs read from git's files alone, no git process (an agent turn notes them
    at each call that may run `git replace`): the loose ones under `refs/replace/` over the
    packed ones of `packed-refs`. None where that reading cannot be trusted: a file that is no
    object id (a symbolic ref, one half written), a link, a `packed-refs` that cannot be
    read, too many to list. Never through a link (safefs)."""
    found: dict[str, str] = {}
    with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
        if tree.lstat(b"packed-refs") is not None:
            data = tree.read(b"packed-refs")
            if data is None:
                return None
            for line in data.splitlines():
                oid, _, name = line.partition(b" ")
                if name.startswith(prefix.encode()):
                    if not _an_oid(oid):
                        return None
                    found[os.fsdecode(name)] = oid.decode()
        folder = prefix.rstrip("/").encode()  # (originalrefs.py: refs/original/ too)
        if tree.lstat(folder) is None:
            return found
        todo = [folder]
        while todo:
            rel = todo.pop()
            fd = tree.folder(rel)
            if fd is None:
                return None  # a link, or a file where the folder was
            with os.scandir(fd) as entries:
                listed = [(os.fsencode(e.name), e.is_dir(follow_symlinks=False)) for e in entries]
            if len(found) + len(listed) > _MOST_LOOSE:
                return None
            for name, is_dir in listed:
                if is_dir:
                    todo.append(rel + b"/" + name)
                    continue
                if name.endswith(b".lock"):
                    continue  # git's, being written: the ref is as its file says
                data = tree.read(rel + b"/" + name)
                oid = data.rstrip(b"\n") if data is not None else b""
                if not _an_oid(oid):
                    return None
                found[os.fsdecode(rel + b"/" + name)] = oid.decode()
    return found


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


def put_back(
    repo: Repo,
    details: Mapping[str, object],
    *,
    own: bool,
    changed: dict[str, list[str | None]] | None = None,
) -> list[str]:
    """Put the replace refs back as the operation's PRE-OP had them (`own`: all of them; else
    each still as it left it); one line per replacement taken back or made again. `changed`:
    filled with each moved, {ref: [as it was, as it is now]}."""
    done = move(repo, _moves(repo, details, own=own))
    if changed is not None:
        changed.update({name: [have, want] for name, want, have in done})
    return [_said(name, want, have) for name, want, have in done]


def move(
    repo: Repo, moves: list[tuple[str, str | None, str | None]]
) -> list[tuple[str, str | None, str | None]]:
    """Each (ref, to, from) moved by compare-and-swap, in one transaction, else one by one (a
    ref moved meanwhile is left); those moved."""
    if not moves:
        return []
    zero = repo.zero_oid
    lines = [f"update {n} {w or zero} {h or zero}" for n, w, h in moves]
    done = moves
    try:
        repo.update_refs(lines, message="git-atomic: rollback of a replacement")
    except AtomicError:  # one moved meanwhile: the others one by one
        done = []
        for one, line in zip(moves, lines, strict=True):
            try:
                repo.update_refs([line], message="git-atomic: rollback of a replacement")
            except AtomicError:
                continue
            done.append(one)
    return done


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


def _an_oid(text: bytes) -> bool:
    """Whether `text` is an object id as git writes one (SHA-1 or SHA-256, lower case)."""
    return len(text) in (40, 64) and not text.strip(b"0123456789abcdef")
