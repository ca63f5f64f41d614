"""A `packed-refs` an agent's call made no file of git's (`rm .git/packed-refs; mkdir
.git/packed-refs`, a link, a FIFO): set aside by the turn's next hook call, as an operation's
rollback sets one aside.

git cannot read the refs in such a thing (or waits for ever on a FIFO), so discovery refuses
the repository (gitdirfiles.ForeignPackedRefs) before any git runs. Before, every later hook
call said the agent's calls were not checkpointed and its turn not judged, and `abort` and
`recover` refused too (no operation of theirs is open): the turn's change stayed until you
made the file again yourself. Where the session's turn is open here with a call in flight (the
window the change happened in is the agent's), the call sets it aside unread into the
worktree's `atomic-aside` folder (gitlinks.set_aside: every branch it held written again from
its reflog, as after a `run` whose command did so), notes the line its verdict says, and
discovery goes on. One made between the turn's calls, or with no turn open, is yours: refused
by name as before. Only on that refusal's path: no lstat more on a hook call's. It holds the
worktree's lock meanwhile, as any writer of the git dir does (an `abort` or `recover` at once
sets such a file aside too, ops/setaside.py), and the common git dir's lock (core/lock.py
common_held): a call in another worktree of the repository sets the same file aside."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from git_atomic.agents.turnstate import Slot, lock_wait
from git_atomic.core import failpoints, records
from git_atomic.core.lock import common_held, held_unless_dead
from git_atomic.engine import discovery, git, gitdirsearch, gitlinks

_SAID: Final = "said"  # turnbeside.SAID (not imported on this path), as judge.py reads it
# In `Record.extra`: a call of the turn set packed-refs aside. A turn whose calls changed no
# file then still ends with a word (turnend.py): the refs it packed are loose files now.
SET_ASIDE: Final = "packed_refs_aside"


def set_aside(start: Path, session: str) -> bool:
    """Whether `packed-refs` was set aside because `session`'s turn open in the repository
    found from `start` (without git) has a call in flight: its window's change (or by another
    call we waited for, holding the worktree's lock: discovery goes on all the same)."""
    found = gitdirsearch.find_git_dirs(start)
    if found is None or not gitlinks.packed_refs_foreign(found[1]):
        return False
    git_dir, common = found
    probe = git.Repo(root=start, git_dir=git_dir, common_dir=common)
    slot = Slot(probe.state_dir, session, probe.worktree_id)
    # The worktree's lock first, as every hook call and command that writes the git dir takes
    # it (then the slot's, as turn.py does): an `abort` or a `recover` setting it aside at once
    # (ops/setaside.py) waits, or is refused, rather than racing this one. Then the common git
    # dir's (last): packed-refs is every worktree's, and a call in another worktree holds
    # another worktree's lock.
    lock = git_dir / "atomic.lock"
    with (
        held_unless_dead(lock, "hook: packed-refs set aside", wait=lock_wait()),
        slot.held(),
        common_held(common),
    ):
        if not gitlinks.packed_refs_foreign(common):
            return True  # set aside meanwhile by the holder we waited for: discovery goes on
        record = slot.read()
        if record is None or not record.in_flight:
            return False
        failpoints.hit("turnpacked:aside")
        if not gitlinks.set_aside(git_dir, common):
            return False
        where = git_dir / gitlinks.ASIDE / "packed-refs"
        line = (
            f"a call of this turn made {common / 'packed-refs'} no file of git's (git cannot "
            f"read the refs in it): set aside unread into {where} (a take-back's rescue holds it), "
            "every branch it held written again from its reflog (a tag only it held is gone "
            "with it)"
        )
        held = record.extra.get(_SAID)
        said = [*(held if isinstance(held, list) else []), line]
        extra = {**record.extra, _SAID: said, SET_ASIDE: True}
        slot.write(records.replace(record, extra=extra))
    discovery.discover.cache_clear()
    return True
