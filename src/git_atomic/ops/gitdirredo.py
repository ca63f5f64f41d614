"""What a move wrote in the git dir beside its checkpoints, kept in its event, for `undo`.

A rollback puts back what no checkpoint holds (gitdirback.py): a replace ref the operation
made goes, `info/grafts` is written as its PRE-OP had it, the refs it packed are written loose
again. `undo` of that rollback brings back what the rollback replaced, files and branches from
its rescue; these came back too, or the undo was not the rollback's inverse: `git log` and `git
status` then showed the history without the operation's replacement (or grafts) it had before
the rollback.

So each move that writes them keeps in its event what it wrote (`KEY`: [as it was, as it
wrote it] for each), and `undo` of that event writes each back as it was, where it is still as
the move wrote it (one changed since is yours, or another session's: left). The undo keeps
what it wrote in its own event the same way, so a second `undo` takes them back again.

Not git's memo files, ORIG_HEAD and COMMIT_EDITMSG: the rollback gave you yours back (your
way back from your last reset, your message a hook refused), and `undo` leaves them yours;
but where the state the rollback replaced held git's half-way state, which `undo` brings back,
ORIG_HEAD is part of it (`git am --abort` goes by it: without one, it deletes the branch checked
out), and is written again as the rollback found it (memofiles.HALFWAY).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from git_atomic.core.journal import Journal
    from git_atomic.engine.checkpoint import Snapshot
    from git_atomic.engine.git import Repo

KEY: Final = "git_dir_changed"  # event detail: {what: [before, after]} (gitdirback's keys)
_GRAFTS: Final = "grafts"  # memofiles.GRAFTS
_REPACKED: Final = "packed_refs_made"  # an undo's: the refs it packed again
_PACKED: Final = "packed_refs_left"  # packedrefs.LEFT: the bytes of the file it removed
_REPLACE: Final = "replace_refs"  # replacerefs.BEFORE: {ref: [before, after]}
_SPARSE: Final = "sparse_settings"  # coreplace.REDONE: {file: {setting: [before, after]}}
_BITS: Final = "permission_bits"  # effectbeside.BITS: {path: [before, after]}
_ORIGINAL: Final = "original_refs"  # originalrefs.REDONE: {copy: [before, after]}
_SUBMODULES: Final = "submodules_checked_out"  # submodulesback.REDONE: [path]
_ORIG_HEAD: Final = "orig_head_halfway"  # memofiles.HALFWAY: [before, after]
_FIFOS_MADE: Final = "fifos_made"  # effectfifos.MADE: {path: st_mode}
_FIFOS_TAKEN: Final = "fifos_removed"  # effectfifos.TAKEN: {path: st_mode}
_MERGED: Final = (_BITS, _FIFOS_MADE, _FIFOS_TAKEN)  # path-keyed: one move's two parts joined


def remember(
    journal: Journal, worktree: str, rescue: str | None, changed: Mapping[str, object]
) -> None:
    """Into the event of the move whose rescue is `rescue` (this worktree's newest): what it
    wrote in the git dir, added to what is noted there already."""
    if not changed or rescue is None:
        return
    events = journal.events(worktree, limit=1)
    if not events or events[0].rescue != rescue:
        return
    detail = json.loads(events[0].detail) if events[0].detail else {}
    had_noted = detail.get(KEY)
    noted: dict[str, object] = had_noted if isinstance(had_noted, dict) else {}
    for key, value in changed.items():
        had = noted.get(key)
        if key in _MERGED and isinstance(had, dict) and isinstance(value, dict):
            noted[key] = {**had, **value}
        elif key == _REPLACE and isinstance(had, dict) and isinstance(value, dict):
            both = {**had, **value}
            for name in set(had) & set(value):  # moved twice: from as it was first
                both[name] = [had[name][0], value[name][1]]
            noted[key] = both
        elif not isinstance(had, list):
            noted[key] = value
    detail[KEY] = noted
    journal.set_event_detail(events[0].id, detail)


def reverse(
    repo: Repo,
    event_detail: str | None,
    *,
    what: str,
    dry_run: bool,
    changed: dict[str, object] | None = None,
    bits: bool = True,
    halfway: bool = False,
    goes_to: Snapshot | None = None,
) -> list[str]:
    """Write back what the event wrote in the git dir, each where it is still as the event
    wrote it (`dry_run`: nothing written); one line each. `what`: the event, for people
    ("the last rollback"). `changed`: filled as `remember` takes it. `bits=False`: not the
    permission bits it changed in the worktree (a dry run lists those with the files:
    `bits_back`). `halfway`: the move brings git's half-way state back or takes it out (the
    ORIG_HEAD that goes with it, memofiles.HALFWAY; one you finished or aborted since took
    it with it: left). `goes_to`: the state the move goes to (the event's rescue), whose
    folders stay where a FIFO taken away again leaves them empty."""
    noted = _noted(event_detail)
    if not noted:
        return []
    lines = _grafts(repo, noted, what=what, dry_run=dry_run, changed=changed)
    if halfway:
        orig = noted.get(_ORIG_HEAD)
        lines += _orig_head(repo, orig, what=what, dry_run=dry_run, changed=changed)
    lines += _packed(repo, noted.get(_PACKED), what=what, dry_run=dry_run, changed=changed)
    lines += _unpacked(repo, noted.get(_REPACKED), what=what, dry_run=dry_run, changed=changed)
    lines += _replace_refs(repo, noted.get(_REPLACE), what=what, dry_run=dry_run, changed=changed)
    lines += _original_refs(repo, noted.get(_ORIGINAL), what=what, dry_run=dry_run, changed=changed)
    if noted.get(_SPARSE):
        from git_atomic.engine import coreplace

        said, done = coreplace.redo(repo, noted[_SPARSE], what=what, dry_run=dry_run)
        lines += said
        if done and changed is not None:
            changed[_SPARSE] = done
    if noted.get(_SUBMODULES):  # checked out again: not emptied again, named
        from git_atomic.ops import submodulesback

        lines += submodulesback.undo_lines(repo, noted[_SUBMODULES], what=what)
    if bits and noted.get(_BITS):  # in the worktree, not the git dir: no tree holds them
        from git_atomic.ops import effectbeside

        lines += effectbeside.reverse(
            repo, noted[_BITS], what=what, dry_run=dry_run, changed=changed
        )
    if noted.get(_FIFOS_MADE) or noted.get(_FIFOS_TAKEN):  # in the worktree: no tree holds them
        from git_atomic.ops import effectfifos

        lines += effectfifos.reversed_by_undo(
            repo,
            noted.get(_FIFOS_MADE),
            noted.get(_FIFOS_TAKEN),
            what=what,
            dry_run=dry_run,
            changed=changed,
            kept_by=goes_to,
        )
    return lines


def bits_back(repo: Repo, event_detail: str | None) -> list[bytes]:
    """The paths whose permission bits `reverse` would set back (effectbeside.wanted_back)."""
    noted = _noted(event_detail)
    if not noted or not noted.get(_BITS):
        return []
    from git_atomic.ops import effectbeside

    return sorted(effectbeside.wanted_back(repo, noted[_BITS]))


def _grafts(
    repo: Repo,
    noted: Mapping[str, object],
    *,
    what: str,
    dry_run: bool,
    changed: dict[str, object] | None,
) -> list[str]:
    """`info/grafts` as the event found it, where it is still as the event wrote it."""
    from git_atomic.engine import memofiles

    pair = _pair(noted.get(_GRAFTS))
    if pair is None:
        return []
    was, wrote = pair
    if memofiles.read_grafts(repo) != wrote or was == wrote:
        return []
    if not dry_run and not memofiles.put_again(repo, _GRAFTS, want=was, expect=wrote):
        return []
    if changed is not None:
        changed[_GRAFTS] = [wrote, was]
    return [
        f".git/info/grafts is written again as before {what} (it cuts or rewrites your "
        "history for every git command)"
        if was
        else f"the .git/info/grafts {what} wrote is removed"
    ]


def _orig_head(
    repo: Repo, noted: object, *, what: str, dry_run: bool, changed: dict[str, object] | None
) -> list[str]:
    """ORIG_HEAD as the event found it with git's half-way state, where it is still as the
    event wrote it; said by a dry run only (it goes with the half-way state the move brings
    back, no warning)."""
    from git_atomic.engine import memofiles

    pair = _pair(noted)
    if pair is None or pair[0] == pair[1]:
        return []
    was, wrote = pair
    if memofiles.read(repo) != wrote:
        return []
    if not dry_run and not memofiles.put_orig_head_again(repo, want=was, expect=wrote):
        return []
    if changed is not None:
        changed[_ORIG_HEAD] = [wrote, was]
    if not dry_run:
        return []
    return [f"ORIG_HEAD: {was.strip()[:12] or 'none'} again, as {what} found it (git goes by it)"]


def _packed(
    repo: Repo, noted: object, *, what: str, dry_run: bool, changed: dict[str, object] | None
) -> list[str]:
    """A `packed-refs` the event removed (its refs written loose: packedrefs.unpack) made again
    with the refs still as it packed them; one line. An undo of this undo unpacks them again
    as the rollback did (gitdirback.put_back_git_files)."""
    if not isinstance(noted, str) or not noted:
        return []
    from git_atomic.engine import packedrefs

    packed = packedrefs.repack(repo, noted.encode("utf-8", "surrogateescape"), dry_run=dry_run)
    if not packed:
        return []
    if changed is not None:
        changed[_REPACKED] = packed
    n = len(packed)
    return [f"packed-refs: {n} ref{'s' if n != 1 else ''} {what} wrote as loose files packed again"]


def _unpacked(
    repo: Repo, noted: object, *, what: str, dry_run: bool, changed: dict[str, object] | None
) -> list[str]:
    """The refs an undo packed again (`_packed`) written loose again, as the rollback it undid
    wrote them, and the file removed where no other ref is left in it; one line."""
    if not isinstance(noted, list) or not noted:
        return []
    from git_atomic.engine import packedrefs

    names = {str(n) for n in noted}
    found = packedrefs.foresee(repo, names)
    if found is None or not found[0]:
        return []
    data = packedrefs.raw(repo)
    if not dry_run and not packedrefs.unpack(repo, names):
        return []
    gone = not dry_run and not os.path.lexists(repo.common_dir / "packed-refs")
    if changed is not None and data is not None and gone:
        changed[_PACKED] = data.decode("utf-8", "surrogateescape")
    n = found[0]
    return [f"packed-refs: {n} ref{'s' if n != 1 else ''} {what} packed written as loose files"]


def _replace_refs(
    repo: Repo, noted: object, *, what: str, dry_run: bool, changed: dict[str, object] | None
) -> list[str]:
    if not isinstance(noted, dict) or not noted:
        return []
    from git_atomic.engine import replacerefs

    now = replacerefs.note(repo)
    moves = []
    for name, pair in sorted(noted.items()):
        if not isinstance(pair, list) or len(pair) != 2:
            continue
        was, wrote = pair
        if now.get(str(name)) == wrote and was != wrote:
            moves.append((str(name), was, wrote))
    done = moves if dry_run else replacerefs.move(repo, moves)
    if done and changed is not None:
        changed[_REPLACE] = {name: [wrote, was] for name, was, wrote in done}
    lines = []
    for name, was, _wrote in done:
        replaced = name.removeprefix("refs/replace/")[:12]
        if was is None:
            lines.append(f"the replacement of {replaced} {what} made is removed")
        else:
            lines.append(
                f"the replacement of {replaced} {what} took back (`git replace`) is made "
                f"again: git shows {str(was)[:12]} where that object is"
            )
    return lines


def _original_refs(
    repo: Repo, noted: object, *, what: str, dry_run: bool, changed: dict[str, object] | None
) -> list[str]:
    """The copies of branches `git filter-branch` kept (refs/original/) that the event deleted
    made again, or those it made deleted, each where it is still as the event left it."""
    if not isinstance(noted, dict) or not noted:
        return []
    from git_atomic.engine import originalrefs

    now = originalrefs.note(repo)
    moves = []
    for name, pair in sorted(noted.items()):
        if isinstance(pair, list) and len(pair) == 2 and pair[0] != pair[1]:
            was, wrote = pair
            if now.get(str(name)) == wrote:
                moves.append((str(name), was, wrote))
    done = moves if dry_run else originalrefs.move(repo, moves)
    if done and changed is not None:
        changed[_ORIGINAL] = {name: [wrote, was] for name, was, wrote in done}
    return [
        f"{name}, the copy git filter-branch kept, "
        + (f"is made again ({str(was)[:12]})" if was else "is deleted")
        + f", as before {what}"
        for name, was, _wrote in done
    ]


def _noted(event_detail: str | None) -> dict[str, object]:
    if not event_detail:
        return {}
    try:
        detail = json.loads(event_detail)
    except ValueError:
        return {}
    noted = detail.get(KEY) if isinstance(detail, dict) else None
    return noted if isinstance(noted, dict) else {}


def _pair(value: object) -> tuple[str, str] | None:
    """[before, after] as texts ("" for none), or None where the event noted no such pair."""
    if not isinstance(value, list) or len(value) != 2:
        return None
    before, after = value
    if not isinstance(before, str) or not isinstance(after, str):
        return None
    return before, after
