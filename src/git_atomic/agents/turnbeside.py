"""What an agent turn's calls change in the git dir beside its checkpoints, noted call by call.

An operation notes these at its PRE-OP and when it closes (ops/gitdirback.py); a turn's windows
(turnsteps.py) note them at the start and the end of each call that takes a checkpoint, from
files alone (no git process), so that only what changed within its calls is the turn's: its
take-back at Stop and a later `rollback --op` of it put that back as a rollback puts back an
operation's (gitdirback.put_back_beside), and what you did between its calls stays yours.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Final

from git_atomic.agents.turnstate import Record
from git_atomic.core import records
from git_atomic.engine import git

# What the turn's checkpoints do not hold, in `Record.extra`, as the keys of an operation's
# journal detail (the turn's becomes one at its end, judge.py), so that its take-back, and a
# later `rollback --op` of it, put back what a rollback puts back (gitdirback.put_back_beside).
# Only what changed *within* its windows is the turn's (what you do between its calls is
# yours): each window that takes a checkpoint notes them at its start (`beside_now`: files
# and folders read, no git process) and, when it closes, what changed meanwhile is added
# (`written_in`): ORIG_HEAD's text before the turn's first window that wrote it and the
# one its last left (the take-back writes the first back only while ORIG_HEAD is still the one
# the turn left; so COMMIT_EDITMSG's), a `packed-refs` one made where there was none, each
# submodule one emptied (or whose `.git` file it removed), each linked worktree one removed,
# added or moved, the lock of each linked worktree one locked or unlocked (worktreelocks.py),
# and the `[core]` lines of `config` and `config.worktree` one changed (coreplace.py: a
# `git config core.bare true` leaves no worktree here for git, nor for the next hook call).
BESIDE: Final = "beside"
ORIG_HEAD: Final = "orig_head"
EDITMSG: Final = "commit_editmsg"  # memofiles.EDITMSG: COMMIT_EDITMSG, as ORIG_HEAD
_PACKED: Final = "packed_refs"  # in a window's note: whether the file was there
_REFLOGS: Final = "reflogs"  # in a window's note: each reflog's [inode, size]
REFLOGS_REWRITTEN: Final = "reflogs_rewritten"  # gitdirback.REFLOGS_REWRITTEN
_TURN_WORKTREES: Final = "turn_worktrees"  # in BESIDE: {"removed", "added", "moved": {...}}
_NAMES: Final = "worktree_names"  # in a window's note: their git dirs' names (worktreesgone)
_CORE: Final = "core_lines"  # in a window's note: coreplace.note (_git_files_now)
_LOCKS: Final = "locks"  # in a window's note: worktreelocks.note, a lstat per linked worktree
# In BESIDE: each file's `[core]` lines / each linked worktree's lock a window changed ->
# [as before the turn's first window that changed it, as its last one left it]; beside_detail
# makes of them an operation's coreplace.BEFORE and LEFT, worktreelocks.BEFORE and LEFT.
_TURN_CORE: Final = "turn_core_place"
_TURN_LOCKS: Final = "turn_worktree_locks"


def beside_now(repo: git.Repo, branches: Iterable[str] | None = None) -> dict[str, object]:
    """What a window notes at its start (and its end). `branches`: whose reflogs (and each
    worktree's HEAD's) to note, at its start; at its end, those it noted."""
    from git_atomic.engine import reflogkeep

    noted: dict[str, object] = {
        ORIG_HEAD: _orig_head(repo),
        EDITMSG: _commit_editmsg(repo),
        _REFLOGS: reflogkeep.identities(repo, branches) if branches is not None else {},
        "worktrees": repo.linked_worktrees(),
        _PACKED: os.path.lexists(repo.common_dir / "packed-refs"),
    }
    if noted["worktrees"]:  # their git dirs' names: one a call moves keeps its name
        noted[_NAMES] = names = repo.linked_worktree_names()
        from git_atomic.engine import worktreelocks  # their locks: a lstat each

        noted[_LOCKS] = worktreelocks.note(repo, names.values())
    # (`modules/` too: a sparse checkout may leave `.gitmodules` out of the worktree, t7418)
    if os.path.lexists(repo.root / ".gitmodules") or os.path.lexists(repo.common_dir / "modules"):
        from git_atomic.ops import submodulesnoted

        noted["submodules"] = submodulesnoted.note_on_disk(repo)
    return {**noted, **_git_files_now(repo)}


# In a window's note, as a PRE-OP notes them (gitdirnoted.note_at_begin), read from files alone
# where there is nothing of their kind (the usual case: a few lstat calls): `info/grafts`'s
# text, `objects/info/alternates`'s, the replace refs (read from their files: replacerefs.py)
# and the ref folders git leaves empty that are not there (gitfolders.py).
_GRAFTS: Final = "grafts"
_ALTERNATES: Final = "alternates"
_REPLACE: Final = "replace_refs"
_FOLDERS: Final = "git_folders_absent"
# In a window's note: the folders of the common git dir git leaves empty that are not there
# (`git replace`'s refs/replace/, `git filter-branch`'s refs/original/: two lstat calls), and
# filter-branch's copies of the branches it rewrote (originalrefs.py), read from the files
# where refs/original/ is there. In BESIDE: each copy a window changed -> [as before the
# turn's first window that changed it, as its last one left it] (None: there was none);
# beside_detail makes of it an operation's originalrefs.BEFORE and LEFT.
_COMMON_FOLDERS: Final = "common_folders_not_there"
_ORIGINAL: Final = "original_copies"
_TURN_ORIGINAL: Final = "turn_original_refs"
# In a window's note: the digests of the config files' lines (coreplace.note_with_lines); in
# BESIDE, per file, those the turn's windows added and removed (configmade.turn_lines names
# them at its take-back: a setting you made between its calls is yours).
_CONFIG: Final = "config_lines"
CONFIG_MADE: Final = "turn_config_lines"
# In BESIDE: each replace ref a window changed -> [as before the turn's first window that
# changed it, as its last one left it] (None: there was none); beside_detail makes of it an
# operation's `replace_refs` and `replace_refs_left`.
_REPLACED: Final = "turn_replace_refs"


def _git_files_now(repo: git.Repo) -> dict[str, object]:
    from git_atomic.engine import coreplace, gitfolders, memofiles

    common = repo.common_dir
    # The config files read once: their [core] and [index] lines, and each line's digest.
    core, lines = coreplace.note_with_lines(repo)
    noted: dict[str, object] = {
        _CORE: core,
        _CONFIG: lines,
        _GRAFTS: memofiles.read_grafts(repo) if os.path.lexists(common / "info" / "grafts") else "",
        _FOLDERS: gitfolders.absent(repo.git_dir),
        _COMMON_FOLDERS: gitfolders.absent_common(common),
        _ORIGINAL: {},
        _REPLACE: {},
        _ALTERNATES: "",
    }
    if os.path.lexists(common / "refs" / "replace") or os.path.lexists(common / "packed-refs"):
        from git_atomic.engine import replacerefs

        noted[_REPLACE] = replacerefs.note(repo)
    if os.path.lexists(common / "refs" / "original"):  # (rare: a filter-branch's)
        from git_atomic.engine import originalrefs

        noted[_ORIGINAL] = originalrefs.note_on_disk(repo)
    if os.path.lexists(common / "objects" / "info" / "alternates"):
        from git_atomic.engine import alternates

        noted[_ALTERNATES] = alternates.read(repo)
    return noted


def _orig_head(repo: git.Repo) -> str | None:
    from git_atomic.engine import memofiles

    return memofiles.read(repo)


def _commit_editmsg(repo: git.Repo) -> str | None:
    from git_atomic.engine import memofiles

    return memofiles.read_memo(repo, memofiles.EDITMSG)


def written_in(repo: git.Repo, record: Record, window: object) -> Record:
    """The record with what the window that closes changed beside its checkpoints noted."""
    was = window.get(BESIDE) if isinstance(window, dict) else None
    if not isinstance(was, dict):
        return record
    now = beside_now(repo)
    held = record.extra.get(BESIDE)
    noted = dict(held) if isinstance(held, dict) else {}
    logs = was.get(_REFLOGS)
    if isinstance(logs, dict) and logs:
        from git_atomic.engine import reflogkeep

        seen = reflogkeep.identities(repo, list(logs), with_head=False)
        rewritten = [
            name
            for name, ident in logs.items()
            if name not in seen or seen[name][0] != ident[0] or seen[name][1] < ident[1]
        ]
        if rewritten:
            mine = noted.get(REFLOGS_REWRITTEN)
            noted[REFLOGS_REWRITTEN] = sorted(
                {*rewritten, *(mine if isinstance(mine, list) else [])}
            )
    if _text_changed(was, now, ORIG_HEAD) or _text_changed(was, now, EDITMSG):
        from git_atomic.engine import memofiles

        _first_and_last(was, now, ORIG_HEAD, noted, memofiles.BEFORE, memofiles.LEFT)
        _first_and_last(was, now, EDITMSG, noted, memofiles.EDITMSG, memofiles.EDITMSG_LEFT)
    if was.get(_PACKED) is False and now.get(_PACKED) is True:
        noted["packed_refs_absent"] = True  # packedrefs.ABSENT
        # The refs it names now (a file read): those the take-back writes loose again, as an
        # operation's close notes them (packedrefs.LEFT); refs packed since are not the turn's.
        from git_atomic.engine import packedrefs

        packed = packedrefs.names(repo)
        if packed is not None:
            mine = noted.get(packedrefs.LEFT)
            had = [str(n) for n in mine] if isinstance(mine, list) else []
            noted[packedrefs.LEFT] = sorted({*had, *packed})
    then, still = was.get("submodules"), now.get("submodules")
    if isinstance(then, dict) and then:
        still = still if isinstance(still, dict) else {}
        emptied = {path: entry for path, entry in then.items() if path not in still}
        if emptied:
            mine = noted.get("submodules")
            noted["submodules"] = {**emptied, **(mine if isinstance(mine, dict) else {})}
    noted = _git_files_written(was, now, noted)
    noted = _changed_pairs(noted, _TURN_CORE, was.get(_CORE), now.get(_CORE), absent="")
    then, still = _dict(was.get(_LOCKS)), _dict(now.get(_LOCKS))
    if then:  # of the worktrees there at both ends (one it added or removed is worktreesgone's)
        both = [name for name in then if name in still]
        noted = _changed_pairs(
            noted, _TURN_LOCKS, {n: then[n] for n in both}, {n: still[n] for n in both}, absent=None
        )
    then, still = was.get("worktrees"), now.get("worktrees")
    if isinstance(then, dict) and isinstance(still, dict) and then != still:
        noted[_TURN_WORKTREES] = _worktrees_changed(was, now, then, still, noted)
    return records.replace(record, extra={**record.extra, BESIDE: noted})


def _worktrees_changed(
    was: Mapping[str, object],
    now: Mapping[str, object],
    then: Mapping[str, object],
    still: Mapping[str, object],
    noted: Mapping[str, object],
) -> dict[str, dict[str, object]]:
    """The linked worktrees the turn's windows removed, added and moved (`git worktree move`:
    the same git dir, by its name, at another folder; first folder -> folder now), with what
    the window that closes did to them."""
    mine = noted.get(_TURN_WORKTREES)
    held = dict(mine) if isinstance(mine, dict) else {}
    names_then, names_now = was.get(_NAMES), now.get(_NAMES)
    moves_now: dict[str, str] = {}
    if isinstance(names_then, dict) and isinstance(names_now, dict):
        by_name = {name: folder for folder, name in names_now.items()}
        moves_now = {
            str(f): str(by_name[n])
            for f, n in names_then.items()
            if n in by_name and by_name[n] != f
        }
    removed = {
        **{k: v for k, v in then.items() if k not in still and k not in moves_now},
        **_dict(held.get("removed")),
    }
    added = {
        **_dict(held.get("added")),
        **{k: v for k, v in still.items() if k not in then and k not in moves_now.values()},
    }
    moved = {str(k): str(v) for k, v in _dict(held.get("moved")).items()}
    for start, end in moves_now.items():
        first = next((k for k, v in moved.items() if v == start), None)
        if start in added:  # one the turn added, moved: still the turn's, where it is now
            added[end] = added.pop(start)
        elif first is None:
            moved[start] = end
        elif first == end:  # moved back where it was
            del moved[first]
        else:
            moved[first] = end
    return {"removed": removed, "added": added, "moved": dict(moved)}


def _changed_pairs(
    noted: dict[str, object], key: str, then: object, still: object, *, absent: str | None
) -> dict[str, object]:
    """`noted` with, under `key`, each name whose value the window changed from `then` to
    `still` (a missing one: `absent`): [as before the turn's first window that changed it, as
    this one leaves it]. Where either note is missing (a link), nothing."""
    if not isinstance(then, dict) or not isinstance(still, dict) or then == still:
        return noted
    mine = noted.get(key)
    pairs = dict(mine) if isinstance(mine, dict) else {}
    for name in {*then, *still}:
        was, now = then.get(name, absent), still.get(name, absent)
        if was != now:
            first = pairs.get(name)
            pairs[name] = [first[0] if isinstance(first, list) else was, now]
    return {**noted, key: pairs}


def _dict(value: object) -> dict[str, object]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def _text_changed(was: Mapping[str, object], now: Mapping[str, object], key: str) -> bool:
    """Whether the window changed the file noted (as text) under `key`."""
    before, after = was.get(key), now.get(key)
    return isinstance(before, str) and isinstance(after, str) and before != after


def _first_and_last(
    was: Mapping[str, object],
    now: Mapping[str, object],
    key: str,
    noted: dict[str, object],
    first: str,
    last: str = "",
) -> None:
    """Where the window changed the file noted under `key`: as before the first window that
    changed it (`noted[first]`), and as this one left it (`noted[last]`, where named)."""
    if _text_changed(was, now, key):
        noted.setdefault(first, was[key])
        if last:
            noted[last] = now[key]


def _git_files_written(
    was: Mapping[str, object], now: Mapping[str, object], noted: dict[str, object]
) -> dict[str, object]:
    """`noted` (the turn's BESIDE) with the grafts, alternates, replace refs and ref folders
    the window changed: each as before the first window that changed it, and the grafts and
    replace refs as the last one left them (a take-back writes those back only while they are
    still so)."""
    from git_atomic.engine import gitfolders, memofiles

    _first_and_last(was, now, _GRAFTS, noted, memofiles.GRAFTS, memofiles.GRAFTS_LEFT)
    _first_and_last(was, now, _ALTERNATES, noted, "alternates")  # alternates.BEFORE
    then, still = was.get(_FOLDERS), now.get(_FOLDERS)
    if isinstance(then, list) and isinstance(still, list):
        made = [f for f in then if f not in still]
        if made:
            mine = noted.get(gitfolders.ABSENT)
            had = [str(f) for f in mine] if isinstance(mine, list) else []
            noted[gitfolders.ABSENT] = [f for f in gitfolders.FOLDERS if f in {*had, *made}]
    then, still = was.get(_COMMON_FOLDERS), now.get(_COMMON_FOLDERS)
    if isinstance(then, list) and isinstance(still, list):
        made = [f for f in then if f not in still]
        if made:
            mine = noted.get(gitfolders.COMMON_ABSENT)
            had = [str(f) for f in mine] if isinstance(mine, list) else []
            folders = gitfolders.COMMON_FOLDERS
            noted[gitfolders.COMMON_ABSENT] = [f for f in folders if f in {*had, *made}]
    noted = _changed_pairs(
        noted, _TURN_ORIGINAL, was.get(_ORIGINAL), now.get(_ORIGINAL), absent=None
    )
    then, still = was.get(_CONFIG), now.get(_CONFIG)
    if isinstance(then, dict) and isinstance(still, dict) and then != still:
        noted[CONFIG_MADE] = _config_changed(then, still, noted.get(CONFIG_MADE))
    then, still = was.get(_REPLACE), now.get(_REPLACE)
    if isinstance(then, dict) and isinstance(still, dict) and then != still:
        mine = noted.get(_REPLACED)
        replaced = dict(mine) if isinstance(mine, dict) else {}
        for name in {*then, *still}:
            if then.get(name) != still.get(name):
                first = replaced.get(name)
                start = first[0] if isinstance(first, list) else then.get(name)
                replaced[name] = [start, still.get(name)]
        noted[_REPLACED] = replaced
    return noted


def _config_changed(
    then: Mapping[str, object], still: Mapping[str, object], mine: object
) -> dict[str, dict[str, list[str]]]:
    """Per config file, the digests of the lines the turn's windows added (and did not take
    away again) and of those they removed (that none of them had added)."""
    held = _dict(mine)
    out: dict[str, dict[str, list[str]]] = {}
    for key in {*then, *still, *held}:
        before, after = then.get(key, []), still.get(key, [])
        entry = _dict(held.get(key))
        added = set(_strings(entry.get("added")))
        removed = set(_strings(entry.get("removed")))
        if isinstance(before, list) and isinstance(after, list):  # else one not noted
            was, now = set(_strings(before)), set(_strings(after))
            removed |= (was - now) - added
            added = (added - (was - now)) | (now - was)
        if added or removed:
            out[key] = {"added": sorted(added), "removed": sorted(removed)}
    return out


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def beside_detail(repo: git.Repo, record: Record) -> dict[str, object]:
    """What the turn's windows changed beside its checkpoints, as an operation's journal
    detail has it (gitdirback.put_back_beside): its linked worktrees as those there now, less
    the ones its windows added and with the ones they removed, so that a worktree you added
    or removed between its calls is not named as the turn's."""
    held = record.extra.get(BESIDE)
    detail = (
        {k: v for k, v in held.items() if k not in (_TURN_WORKTREES, _REPLACED, *_PAIRS, *_COPIES)}
        if isinstance(held, dict)
        else {}
    )
    replaced = held.get(_REPLACED) if isinstance(held, dict) else None
    if isinstance(replaced, dict) and replaced:  # replacerefs.BEFORE and LEFT
        pairs = [(n, p) for n, p in replaced.items() if isinstance(p, list) and len(p) == 2]
        detail[_REPLACE] = {n: p[0] for n, p in pairs if p[0] is not None}
        detail["replace_refs_left"] = {n: p[1] for n, p in pairs if p[1] is not None}
    for key, (before, left) in _PAIRS.items():  # coreplace's and worktreelocks' BEFORE, LEFT
        changes = held.get(key) if isinstance(held, dict) else None
        if isinstance(changes, dict) and changes:
            kept = [(n, p) for n, p in changes.items() if isinstance(p, list) and len(p) == 2]
            detail[before] = {n: p[0] for n, p in kept}
            detail[left] = {n: p[1] for n, p in kept}
    for key, (before, left) in _COPIES.items():  # originalrefs.BEFORE, LEFT: none is None
        changes = held.get(key) if isinstance(held, dict) else None
        if isinstance(changes, dict) and changes:
            kept = [(n, p) for n, p in changes.items() if isinstance(p, list) and len(p) == 2]
            detail[before] = {n: p[0] for n, p in kept if p[0] is not None}
            detail[left] = {n: p[1] for n, p in kept if p[1] is not None}
    if "core_place" in detail:  # a file no call changed: as it is now (yours, not put back)
        from git_atomic.engine import coreplace

        for name, lines in coreplace.note(repo).items():
            for key in ("core_place", "core_place_left"):
                noted = detail[key]
                if isinstance(noted, dict):
                    noted.setdefault(name, lines)
    changed = held.get(_TURN_WORKTREES) if isinstance(held, dict) else None
    removed = _dict(changed.get("removed")) if isinstance(changed, dict) else {}
    added = _dict(changed.get("added")) if isinstance(changed, dict) else {}
    moved = _dict(changed.get("moved")) if isinstance(changed, dict) else {}
    now = repo.linked_worktrees()
    arrived = {str(v) for v in moved.values()}
    worktrees: dict[str, object] = {
        **{k: v for k, v in now.items() if k not in added and k not in arrived},
        **removed,
    }
    names = repo.linked_worktree_names() if moved or "worktree_locks" in detail else {}
    if moved:  # as an operation notes them (worktreesgone.NAMES): its move is said a move
        worktrees.update({start: now.get(str(end), "") for start, end in moved.items()})
        detail["worktree_names"] = {
            start: names[str(end)] for start, end in moved.items() if str(end) in names
        }
    locked = detail.get("worktree_locks")  # worktreelocks.BEFORE: put back where they are
    if isinstance(locked, dict):  # (worktreelocks.put_back asks each for its folder's name)
        here = {folder: name for folder, name in names.items() if name in locked}
        detail["worktree_names"] = {**here, **_dict(detail.get("worktree_names"))}
    detail["worktrees"] = worktrees
    # As an operation's close notes them (worktreesgone.REMOVED, MOVED): a later `rollback
    # --op` of the turn says them first.
    gone = {k: v for k, v in removed.items() if k not in now}
    if gone:
        detail["worktrees_removed"] = gone
    away = {start: str(end) for start, end in moved.items() if str(end) in now}
    if away:
        detail["worktrees_moved"] = away
    detail.setdefault(REFLOGS_REWRITTEN, [])  # none of its calls rewrote one: none is mended
    return detail


def _noted_store(window: object) -> str | None:
    """The `objects/info/alternates` text the window started with; None where it had none."""
    was = window.get(BESIDE) if isinstance(window, dict) else None
    before = was.get(_ALTERNATES) if isinstance(was, dict) else None
    return before if isinstance(before, str) and before.strip() else None


def store_gone_and_needed(repo: git.Repo, window: object) -> bool:
    """Whether the `objects/info/alternates` the window started with is gone and HEAD's commit
    cannot be read without it (a call removed it; not `git repack -a -d` first, which makes the
    store needless). Nothing is read where the window noted no such file."""
    before = _noted_store(window)
    if before is None:
        return False
    from git_atomic.engine import alternates

    if alternates.read(repo) != "":
        return False
    head = repo.run("cat-file", "-e", "HEAD^{commit}", check=False)
    return head.returncode != 0


def stores_back(repo: git.Repo, record: Record, window: object) -> Record | None:
    """The record, told so, once the `objects/info/alternates` its open window started with and
    a call removed is written back (a `clone --shared` borrows every object from there: without
    it git says "bad object HEAD", and no checkpoint of the window's end can be taken, nor the
    turn judged or taken back). Adding a store back loses nothing (alternates.py). None where
    that is not why the capture failed: nothing written."""
    before = _noted_store(window)
    if before is None:
        return None
    from git_atomic.engine import alternates

    if alternates.read(repo) != "":
        return None
    alternates.put_back(repo, {alternates.BEFORE: before})
    if alternates.read(repo) != before:
        return None
    where = repo.common_dir / alternates.REL
    line = (
        f"a call of this turn removed {where}, which this repository's objects are read "
        "through (no checkpoint could be taken without it): it is written back, as before"
    )
    held = record.extra.get(SAID)
    said = [*(held if isinstance(held, list) else []), line]
    return records.replace(record, extra={**record.extra, SAID: said})


# In BESIDE -> (the operation's detail key before, the one left): beside_detail.
_PAIRS: Final = {
    _TURN_CORE: ("core_place", "core_place_left"),  # coreplace.BEFORE, LEFT
    _TURN_LOCKS: ("worktree_locks", "worktree_locks_left"),  # worktreelocks.BEFORE, LEFT
}

# In BESIDE -> (the operation's detail key before, the one left), each without the names that
# were not there: beside_detail.
_COPIES: Final = {_TURN_ORIGINAL: ("original_refs_before", "original_refs_left")}

# In `Record.extra`: what the turn's end tells beside its verdict (judge.py), each once.
SAID: Final = "said"
