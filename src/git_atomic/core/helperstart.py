"""The warm helper started in the background (cli/helperd.py is what runs), after a routed
command that found none, or one older than the installation (core/helper.py notes it in
`WANTED`): its own session, no terminal, nothing of ours inherited but the environment; none
started where one holds the worktree's helper lock. Split from core/helper.py, whose client
runs on every routed call and imports nothing this needs (`subprocess`, `json`, `fcntl`).
"""

from __future__ import annotations

import os
import sys

from git_atomic.core.helper import idle_seconds, lock_name


def start(where: tuple[str, str, bool]) -> None:
    """Start the worktree's helper in the background: its own session, no terminal, nothing of
    ours inherited but the environment. Quietly nothing when it cannot start."""
    import subprocess

    folder, name, replacing = where
    if not os.path.isdir(os.path.dirname(folder)):
        return  # no operation ever ran here (no `atomic` folder in the git dir)
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return
    if not replacing and _helper_running(folder, name):
        return  # one is starting: its socket comes after its imports
    code = (
        "import sys; sys.path[:] = __import__('json').loads(sys.argv[1]); "
        "from git_atomic.cli.helperd import serve; serve(sys.argv[2], sys.argv[3], sys.argv[4])"
    )
    import json

    argv = [
        sys.executable,
        *subprocess._args_from_interpreter_flags(),  # type: ignore[attr-defined]
        "-c",
        code,
        json.dumps(sys.path),
        folder,
        name,
        str(idle_seconds()),
    ]
    try:
        subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=folder,
            start_new_session=True,
            close_fds=True,
        )
    except OSError:
        return  # the command was done here; the next one tries again


def _helper_running(folder: str, name: str) -> bool:
    """Whether a helper holds the worktree's lock (cli/helperd.py takes it before its imports,
    so one still starting holds it too), or none could take it (a link in its place): starting
    one would only cost its start-up."""
    import fcntl

    try:
        fd = os.open(
            os.path.join(folder, lock_name(name)), os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW
        )
    except FileNotFoundError:
        return False  # none ever ran here: start one
    except OSError:
        return True  # a link or unreadable: a helper could not take it either
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing lets go of a lock taken here
    return False
