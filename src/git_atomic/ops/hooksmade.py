"""Git hooks an operation made or changed while it ran, named by its own rollback.

A hook (`.git/hooks/pre-commit`, or one where `core.hooksPath` points) is git's configuration,
in no checkpoint, and a rollback leaves configuration as it is. But an operation that installed
one (`pre-commit install`, a hook an agent wrote, a `chmod +x` of a sample made live) and failed
was rolled back saying "it had changed nothing", while the hook went on running at each of your
commits. Its own rollback (a failed run, `abort`, `recover`) names each hook whose change time
falls after the operation began; the hook is left as it is.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from git_atomic.engine.git import Repo

# The kernel stamps files from a clock that may lag by a tick (at most 10 ms): a hook written
# at the very start of the operation must not fall before it. No more: the previous command
# may have ended a few tens of milliseconds before this one began (the warm helper's), and a
# hook it wrote is not this operation's.
_MARGIN = 0.01


def lines(repo: Repo, started_at: float) -> list[str]:
    return lines_within(repo, [(started_at, None)])


def lines_within(repo: Repo, windows: Sequence[tuple[float, float | None]]) -> list[str]:
    """One line per hook whose change time falls in one of `windows` ((start, end); None: no
    end): an agent turn's are its calls', so that a hook you wrote between them is not
    named."""
    spans = [(start - _MARGIN, None if end is None else end + _MARGIN) for start, end in windows]
    out = []
    for folder in _folders(repo):
        try:
            with os.scandir(folder) as entries:
                found = sorted(entries, key=lambda e: e.name)
        except OSError:
            continue
        for entry in found:
            if entry.name.endswith(".sample"):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                continue
            if any(a <= st.st_ctime and (b is None or st.st_ctime <= b) for a, b in spans):
                out.append(
                    f"{_shown(repo, Path(entry.path))}: a git hook made or changed while the "
                    "operation ran; hooks are configuration, in no checkpoint, so it is left "
                    "as it is (remove it if it is not yours)"
                )
    return out


def _folders(repo: Repo) -> list[Path]:
    folders = [repo.common_dir / "hooks"]
    values = repo.config_values("core.hooksPath")
    if values and values[-1] == os.devnull:
        values.pop()  # ours, given to every git of ours (core/process.py): no hook runs
    configured = values[-1] if values else None
    if configured:
        where = Path(os.path.expanduser(configured))
        folders.append(where if where.is_absolute() else repo.root / where)
    unique: list[Path] = []
    for folder in folders:
        if folder not in unique:
            unique.append(folder)
    return unique


def _shown(repo: Repo, path: Path) -> str:
    for base in (repo.root, repo.common_dir.parent):
        try:
            return str(path.relative_to(base))
        except ValueError:
            continue
    return str(path)
