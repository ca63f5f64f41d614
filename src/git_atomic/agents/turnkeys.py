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
