"""The terminal lent to the user's command while it runs (children.py runs it), as a shell lends
it to a foreground job: its process group made the terminal's foreground group, taken back when
it ends or stops (Ctrl-Z), lent again when it is continued. Imported only for an interactive
command. Split from children.py.
"""

from __future__ import annotations

import contextlib
import os
import subprocess


class Terminal:
    """The terminal lent to the command, as a shell lends it to a foreground job.

    The command runs in its own process group (so a timeout reaches all it started); a
    background group that reads the terminal is stopped (SIGTTIN). So while it runs, its group is
    the terminal's foreground group: it can prompt, and Ctrl-C and Ctrl-Z reach it first. Only
    when stdin is the terminal and git-atomic is in its foreground; a git-atomic in the background
    gives its command /dev/null instead, having no terminal to lend.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def lendable(cls) -> Terminal | None:
        import threading

        if not os.isatty(0) or threading.current_thread() is not threading.main_thread():
            return None
        try:
            return cls(0) if os.tcgetpgrp(0) == os.getpgrp() else None
        except OSError:
            return None

    def _set_foreground(self, pgid: int) -> None:
        import signal

        # A background group that changes the foreground group gets SIGTTOU unless ignored.
        previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            with contextlib.suppress(OSError):
                os.tcsetpgrp(self.fd, pgid)
        finally:
            signal.signal(signal.SIGTTOU, previous)

    def give_to_self(self) -> None:
        """In the child, between fork and exec: its new group takes the terminal."""
        self._set_foreground(os.getpgrp())

    def take_back(self) -> None:
        self._set_foreground(os.getpgrp())

    def wait(self, child: subprocess.Popen[bytes], timeout: float | None) -> bool:
        """Wait for the child; True when the timeout ran out first. Ctrl-Z stops the command's
        group: then git-atomic takes the terminal back and stops its own group (the shell's job),
        and when the job is continued, lends the terminal again and continues the command."""
        import signal
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            flags = os.WUNTRACED | (os.WNOHANG if deadline is not None else 0)
            pid, status = os.waitpid(child.pid, flags)
            if pid == 0:
                assert deadline is not None
                if time.monotonic() >= deadline:
                    return True
                time.sleep(0.02)
                continue
            if not os.WIFSTOPPED(status):
                child.returncode = os.waitstatus_to_exitcode(status)
                return False
            self.take_back()
            os.killpg(os.getpgrp(), signal.SIGTSTP)  # resumes here on `fg` or `bg`
            if os.tcgetpgrp(self.fd) == os.getpgrp():
                self._set_foreground(child.pid)
            with contextlib.suppress(OSError):
                os.killpg(child.pid, signal.SIGCONT)
