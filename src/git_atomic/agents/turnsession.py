"""What an agent session keeps beside its turns, in its folder of the turns' records
(turnstate.session_dir): a note for the model's next prompt, how many times in a row its turn
end sent the agent back to work, and facts remembered for its later turns. Each is one small
file, never written or read through a link (turnstate.real_folder).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Final

from git_atomic.agents.turnstate import real_folder, session_dir
from git_atomic.core import wholefile

_NOTE_LIMIT: Final = 1 << 20  # the most of a note read (turnstate.py's records: 64 MiB)


def put_note(state_dir: Path, session: str, text: str) -> None:
    """A message for the model that its platform gave us no field for now: the session's next
    prompt carries it (`take_note`)."""
    folder = session_dir(state_dir, session)
    with contextlib.suppress(OSError):
        real_folder(folder, make=True)
        wholefile.replace(folder / "note.txt", text.encode("utf-8"))


def take_note(state_dir: Path, session: str) -> str:
    path = session_dir(state_dir, session) / "note.txt"
    if not real_folder(path.parent, make=False):
        return ""
    try:
        text = wholefile.read(path, limit=_NOTE_LIMIT).decode("utf-8", "replace")
    except OSError:
        return ""
    path.unlink(missing_ok=True)
    return text


def blocks_in_a_row(state_dir: Path, session: str, *, add: bool) -> int:
    """How many times in a row this session's turn end sent the agent back to work (after
    counting this one when `add`; without it the count starts again at 0)."""
    path = session_dir(state_dir, session) / "blocks"
    if not real_folder(path.parent, make=False):
        return 0
    try:
        count = int(wholefile.read(path, limit=32)) if add else 0
    except (OSError, ValueError):
        count = 0
    count = count + 1 if add else 0
    with contextlib.suppress(OSError):
        real_folder(path.parent, make=True)
        wholefile.replace(path, str(count).encode("ascii"))
    return count


def remember(state_dir: Path, session: str, fact: str) -> None:
    """Note that `fact` held once in this session, for its later turns (`remembers`)."""
    path = session_dir(state_dir, session) / fact
    if os.path.lexists(path):
        return
    with contextlib.suppress(OSError):
        real_folder(path.parent, make=True)
        # Never through a link made there since (a file made outside the repository).
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        os.close(os.open(path, flags, 0o644))


def forget(state_dir: Path, session: str, fact: str) -> None:
    """`fact` no longer holds (`remember`)."""
    folder = session_dir(state_dir, session)
    if real_folder(folder, make=False):
        with contextlib.suppress(OSError):
            (folder / fact).unlink(missing_ok=True)


def remembers(state_dir: Path, session: str, fact: str) -> bool:
    folder = session_dir(state_dir, session)
    if not real_folder(folder, make=False):
        return False
    try:
        return stat.S_ISREG(os.lstat(folder / fact).st_mode)  # (a link is no fact of ours)
    except OSError:
        return False
