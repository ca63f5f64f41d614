"""The names under which a turn's record notes its open window (`Record.extra`), read by the
modules that write them (turnsteps.py, turnfiles.py, where each is described) and by the one
that reads another session's open window (turnothers.py)."""

from __future__ import annotations

from typing import Final

FILES_NOTED: Final = "files-noted"  # `window_before` of a window that noted files only
NOTED_AT: Final = "window_files_noted_at"  # when (time.time()): the step's window starts then
NOTED: Final = "window_files_before"
CLAIMS: Final = "window_claims"
WINDOW_STATE: Final = "window_state"
BEGAN: Final = "began"
TAKEN: Final = "taken"
# The windows (capture times at their two ends) that changed nothing a checkpoint holds: no
# steps, but what is made within them that no checkpoint holds (a git hook, a lock left) is the
# turn's calls' all the same (judge.py, recover.py name or remove it).
QUIET_WINDOWS: Final = "windows_no_step"
QUIET_DETAIL: Final = "quiet_windows"  # the same, in the turn's journal detail (recover.py)
# The ignored files of yours a window's file tools changed or deleted ([path, blob noted before
# the call] each): no checkpoint holds them, so the call's hook says so (turn.after), naming the
# blob that holds their bytes from before it, and a take-back leaves them as the call left them.
IGNORED_WRITTEN: Final = "ignored_written"
# The files a window that takes a checkpoint names that the checkpoint does not hold (ignored),
# as they were at its start ([path, blob] each), for IGNORED_WRITTEN at its close
# (turnunheld.py).
IGNORED_BEFORE: Final = "window_ignored_before"
# The new files too large to hold (max_new_file_size) that a window made, in the record's extra
# until the call's hook says so (turn.after): told when they are made, not at the turn's end.
UNHELD: Final = "unheld_new"


def quiet_windows(value: object) -> list[tuple[float, float]]:
    """The spans QUIET_WINDOWS holds (a record's, or its turn's journal detail)."""
    found = []
    for span in value if isinstance(value, list) else []:
        if isinstance(span, list) and len(span) == 2 and all(isinstance(t, float) for t in span):
            found.append((float(span[0]), float(span[1])))
    return found
