"""The warm helper: one process per worktree that has imported the engine once, and forks a
child for each command a client hands it (core/helper.py is the client, and says when). This
module starts it and imports the engine; its loop, which listens and forks, is helperloop.py.

The child is the command line without its start (helperchild.py): it takes the client's standard
streams (the descriptors themselves), working folder (a descriptor, not a path), umask,
environment and arguments, and runs the same `main`; the worktree's lock, the journal and every
check are the command's own, so two clients at once are two commands at once. The helper itself
never runs a command and caches nothing of a repository: each child starts from the state the
helper had after its imports, and reads the configuration, HEAD, the index and the journal
afresh, as a new process would.

It refuses (and the command runs in the client) a client of another user, installation,
version, interpreter, flags or locale; when a file of the installation changed since it
started, it also leaves. It leaves when nobody called for `GIT_ATOMIC_HELPER_IDLE` seconds
(60), when its socket is removed or replaced, and on SIGTERM.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from typing import Final

from git_atomic.cli import helperloop
from git_atomic.core import helper

# The modules of the routed commands, imported once here rather than by every command.
PRELOAD: Final = (
    "git_atomic.cli.main",
    "git_atomic.cli.parser",
    "git_atomic.cli.dispatch",
    "git_atomic.engine.early",
    "git_atomic.commands.session",
    "git_atomic.commands.query",
    "git_atomic.core.journal.readonly",  # the journal as `status` reads it
    "git_atomic.commands.agents",
    "git_atomic.agents.claude_code",
    "git_atomic.agents.codex",
    "git_atomic.agents.copilot",
    "git_atomic.agents.cursor",
    "git_atomic.agents.gemini",
    "git_atomic.agents.openhands",
    "git_atomic.agents.toolfiles",  # the files a file tool names (a write outside is told)
    "git_atomic.agents.turnunheld",  # a file tool's write no checkpoint holds, told at its call
    "git_atomic.agents.judge",
    "git_atomic.agents.turnorphans",  # a turn rebuilt from its refs: asked at its first call
    "git_atomic.ops.windowlog",  # other sessions' windows, which a later call imports where used
    "git_atomic.views.statusview",
    "git_atomic.ops.resultjson",  # every --json answer (the hooks' and the MCP server's too)
    "git_atomic.core.errorlog",
    "git_atomic.core.bomtext",  # a payload's and a configuration's text, past a byte order mark
    "git_atomic.core.hookstdin",  # a hook's payload, read without waiting on an open stdin
    "git_atomic.engine.restore",  # a rollback's restore (a checkpoint imports none of it)
    "git_atomic.engine.trash",  # what it removes for good, emptied by a process of its own
    "git_atomic.engine.restorerefs",  # its moves of HEAD and the branches
    "git_atomic.engine.gitlocks",  # and git's stale locks it removes first (one door)
    "git_atomic.ops.hooksmade",  # the git hooks an operation's own rollback names (`abort`)
    "git_atomic.ops.configmade",  # the settings an operation's own rollback names (`abort`)
    "git_atomic.engine.lfskeep",  # a restore's kept content (and its hmac, secrets)
    # A rollback of files deleted and folders added (the benchmark's small change): the
    # folders it moves back, and the deletions it decides on by birth time (statx by ctypes).
    "git_atomic.engine.foldermoves",
    "git_atomic.engine.folderhidden",
    "ctypes",
    "git_atomic.engine.lfskeeper",  # a capture's markers for it, where a rule converts files
    "git_atomic.engine.reflogkeep",  # a PRE-OP's links to the reflogs (`begin`, a turn's first)
    "git_atomic.engine.memofiles",  # a PRE-OP's note of ORIG_HEAD (`begin`)
    "git_atomic.engine.commitbody",  # a checkpoint commit worked out without a process
    "git_atomic.engine.identity",  # who a checkpoint commit is by, and when
    "git_atomic.engine.managedbranch",  # commits mode refused on GitButler's branch
    "git_atomic.engine.coreplace",  # and of core.bare, core.worktree
    "git_atomic.engine.gitfolders",  # a PRE-OP's note of the ref folders it had not (`begin`)
    "git_atomic.engine.loosetrees",  # a file tool's later call: its checkpoint's entries
    "git_atomic.engine.foundmemo",  # every hook call: discovery's answer kept between calls
    "git_atomic.engine.scanseed",  # a worktree's first capture: its scan seeded from your index
    "_sha1",  # the objects a checkpoint writes itself (objectformat.py)
    # A turn's session named by its hash (objectformat.sha256_hex): Python's own SHA-256.
    "_sha2" if sys.version_info >= (3, 12) else "_sha256",
    "tomllib",  # every capture reads `max_new_file_size` from .git-atomic.toml or pyproject.toml
)
_LOCK_WAIT: Final = 2.0  # seconds to wait for a helper that is leaving


def serve(folder: str, name: str, idle: str) -> None:
    """Serve the worktree whose helper folder is `folder`, unless another helper does. The
    lock comes before the imports: a helper started while another one starts (two commands
    in quick succession, each finding no socket yet) leaves at once, without their cost."""
    os.chdir(folder)
    lock_fd = take_lock(name)
    if lock_fd is None:
        return
    for module in PRELOAD:
        # A Python built without one of its own modules (`_sha1`: OpenSSL's alone) serves
        # all the same: the command imports what it has.
        with contextlib.suppress(ImportError):
            __import__(module)
    warm()
    settle()
    helperloop.Helper(name, float(idle), lock_fd).run()


def settle() -> None:
    """The command line's thresholds (cli/main.py), and everything imported so far moved out
    of the collector's sight: a child's collections never walk the helper's modules again (at
    100,000 files they made a warm checkpoint slower than a cold one), nor write to their pages,
    which the child then shares with the helper instead of copying."""
    import gc

    from git_atomic.cli.main import fewer_collections

    gc.collect()
    gc.freeze()
    fewer_collections()


# What each routed command parses first: its parser is built here once, and parsing these
# compiles the patterns argparse matches with (kept in `re`'s cache, which a child inherits).
_SAMPLES: Final = (
    ("begin", "x", "--history", "shadow", "--json"),
    ("checkpoint", "--json"),
    ("status", "--json"),
    ("abort", "--json"),
    ("hook", "claude-code", "PostToolUse"),
)


def warm() -> None:
    """Work every child would otherwise do first, done once in the helper: nothing of a
    repository, only the routed commands' parsers (cli/parser.py keeps them) and their
    regular expressions (core/patterns.py)."""
    from git_atomic.cli import parser
    from git_atomic.core import patterns

    for args in _SAMPLES:
        with contextlib.suppress(SystemExit, Exception):
            parser.parse(parser.prebuild(args[0]), list(args))
    patterns.compile_kept()


def take_lock(name: str) -> int | None:
    """The helper's lock, held; None when another helper holds it still after `_LOCK_WAIT`
    (one that is leaving lets go within that)."""
    try:  # a link put in its place is not followed: nothing is created through it
        fd = os.open(
            helper.lock_name(name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600
        )
    except OSError:
        return None
    deadline = time.monotonic() + _LOCK_WAIT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None  # another helper serves this worktree
            time.sleep(0.05)
