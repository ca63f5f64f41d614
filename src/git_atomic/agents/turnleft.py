"""What an agent turn's calls left in git's directory beside its trees: the git hooks they made,
the config lines they set, git's locks a git of theirs left. Each is found within the turn's
call windows (a capture at a step's start to the one at its end, and the quiet windows of its
shell calls): what was made between them is yours and stays. Split from judge.py, which asks
for these lines when a turn is kept or taken back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from git_atomic.agents import turnkeys

if TYPE_CHECKING:
    from git_atomic.agents.turnstate import Record
    from git_atomic.engine import git


def config_made(repo: git.Repo, record: Record) -> list[str]:
    """The config lines the turn's calls added or removed that are still so (configmade.py),
    as an operation's own rollback names them; one you set between its calls is yours."""
    from git_atomic.agents import turnbeside

    beside = record.extra.get(turnbeside.BESIDE)
    made = beside.get(turnbeside.CONFIG_MADE) if isinstance(beside, dict) else None
    if not isinstance(made, dict) or not made:
        return []
    from git_atomic.ops import configmade

    return configmade.turn_lines(repo, made)


def quiet(record: Record) -> list[tuple[float, float]]:
    return turnkeys.quiet_windows(record.extra.get(turnkeys.QUIET_WINDOWS))


def call_windows(repo: git.Repo, record: Record) -> list[tuple[float, float | None]]:
    """Each of the turn's steps, from the capture at its start to the one at its end: what
    was made within them is its calls' (a hook, a lock you made between them is yours)."""
    from git_atomic.engine import checkpoint

    windows: list[tuple[float, float | None]] = []
    for before, after in record.steps:
        start = checkpoint.load(repo, before).captured_at
        end = checkpoint.load(repo, after).captured_at
        if start is not None:
            windows.append((start, end))
    return windows + list(quiet(record))


def hooks_made(repo: git.Repo, windows: list[tuple[float, float | None]]) -> list[str]:
    """The git hooks made or changed within the turn's calls (hooksmade.py), as an operation's
    own rollback names those made while it ran."""
    from git_atomic.ops import hooksmade

    return hooksmade.lines_within(repo, windows)


def locks_left(repo: git.Repo, record: Record) -> list[str]:
    """git's locks (HEAD.lock...) a git of the turn's calls left, removed as an operation's
    own rollback removes them (gitlocks.py; a few lstat calls where there are none), whether
    the turn is kept or taken back."""
    from git_atomic.engine import gitlocks

    return gitlocks.removed(repo, lambda: call_windows(repo, record))
