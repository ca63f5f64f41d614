"""A session's end, in a process the platform cannot kill with its hook.

Claude Code gives its `SessionEnd` hooks 1.5 s together, raised to a hook's own `timeout` up to
60 s (Anthropic, *Hooks reference*, https://code.claude.com/docs/en/hooks: `timeout`; releases
before 2.1.74 killed them at 1.5 s whatever the timeout, anthropics/claude-code issue 33706,
and one that exits at once kills them then, issue 41577); Codex clamps its own to 3 s, and
Gemini CLI does not wait for it at all. Closing the turn left open there captures the tree: at
10,000 files, 3.2 s where a tenth of them changed and 9-10 s where all did (docs/agents.md).
A hook killed there (its process, or its process group) left the turn's record out of its slot
and no operation yet: the turn was lost.

So the work runs in a child of its own session (`os.setsid`: no kill of the hook's process or
group reaches it), its standard streams the null device (the platform waits on no pipe of
it), and the hook waits for its answer as long as the platform gives it (`wait`): said there
when it comes, else one line saying the end is recorded in the background. Either way the
child finishes the work, or dies with the machine as the hook would have.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import time
from collections.abc import Callable

from git_atomic.agents import tell
from git_atomic.agents.hookfiles import Layout
from git_atomic.agents.tell import HookResult


def budget(layout: Layout | None) -> float:
    """How long the hook waits for the child's answer: most of the timeout we install for
    `SessionEnd` (the platform's own budget, where it honours it), 10 s where we install none."""
    ends = [e.timeout for e in layout.events if e.name.lower() == "sessionend"] if layout else []
    return 0.8 * ends[0] if ends else 10.0


def detached(work: Callable[[], HookResult], *, wait: float) -> HookResult:
    """`work()` in a detached child; its answer when it comes within `wait` seconds."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.close(read_end)
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            try:
                result = work()
            except Exception as exc:  # (said, as the hook would have said it)
                result = tell.reply({"systemMessage": f"git-atomic: {tell.failure(exc)}"})
            said = json.dumps([result.exit_code, result.stdout, result.stderr]).encode()
            _write_all(write_end, said)
        finally:
            os._exit(0)
    os.close(write_end)
    data = _read_until(read_end, time.monotonic() + wait)
    os.close(read_end)
    if data is None:
        return tell.reply(
            {
                "systemMessage": "git-atomic: the turn left open is being recorded in the "
                f"background (process {pid}): `git atomic log` shows it when it is done"
            }
        )
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)  # (it wrote its answer: it is leaving)
    try:
        code, stdout, stderr = json.loads(data)
        return HookResult(int(code), str(stdout), str(stderr))
    except (ValueError, TypeError):
        return tell.QUIET  # (its work is done; only its answer could not be read)


def _write_all(fd: int, data: bytes) -> None:
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError:  # the hook was killed meanwhile: no one reads the answer
        pass


def _read_until(fd: int, deadline: float) -> bytes | None:
    """Everything the child writes, up to its end; None if it is not done by `deadline`."""
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
