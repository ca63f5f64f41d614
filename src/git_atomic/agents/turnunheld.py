"""What a window's calls wrote that no checkpoint holds, told at the call that wrote it
(turn.after says it): new files over `max_new_file_size` (`UNHELD`), and ignored files of
yours a file tool wrote over (`IGNORED_WRITTEN`, with the blob of their bytes before). A window
of file tools claims only the files they name (turnfiles.py): its new file over the budget is
in no tree, so its step looked like nothing and nothing was said (shisa-ai/shisad#131 is the
report against a peer: a checkpoint that skipped such files, a rollback that said it
succeeded). A window that takes a checkpoint (the turn's first ones) notes no file, so a
write over an ignored file there was unsaid too: the named files no capture holds are noted
at its start (`IGNORED_BEFORE`). Split from turnsteps.py, imported only where a window has
such files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from git_atomic.agents import turnfiles, turnkeys
from git_atomic.agents.turnstate import Record
from git_atomic.core import records
from git_atomic.engine import git

if TYPE_CHECKING:
    from git_atomic.engine import checkpoint


def new_files(
    repo: git.Repo, record: Record, before_sha: str, after: checkpoint.Snapshot
) -> Record:
    """The record with the new files over the budget since `before_sha` to tell."""
    from git_atomic.engine import checkpoint

    was = checkpoint.load(repo, before_sha)
    new = checkpoint.load_too_large(repo, after) - (
        checkpoint.load_too_large(repo, was) if was.too_large else frozenset()
    )
    return _tell(record, new)


def _tell(record: Record, new: frozenset[bytes] | set[bytes]) -> Record:
    if not new:
        return record
    shown = [p.decode("utf-8", "backslashreplace") for p in sorted(new)]
    more = [f"and {len(shown) - 5} more"] if len(shown) > 5 else []
    return records.replace(record, extra={**record.extra, turnkeys.UNHELD: shown[:5] + more})


def ignored_before(
    repo: git.Repo, record: Record, before: checkpoint.Snapshot, paths: Sequence[str]
) -> Record:
    """The record with the files a file tool names that are there and that the capture
    `before` does not hold (ignored ones) noted as they are: [path, blob] each."""
    named = turnfiles.inside(repo, tuple(paths))
    if not named:
        return record
    there = [os.fsencode(p) for p in dict.fromkeys(named)]
    there = [p for p in there if os.path.isfile(os.path.join(os.fsencode(repo.root), p))]
    if not there:
        return record
    from git_atomic.engine import loosetrees

    held = loosetrees.modes_at(repo, before.files_tree, there)
    if held is None:
        held = {e.path: e.mode for e in repo.ls_tree_at(before.files_tree, there)}
    unheld = [p for p in there if p not in held]
    if not unheld:
        return record
    noted = turnfiles.noted_files(
        repo, tuple(os.path.join(repo.root, os.fsdecode(p)) for p in unheld)
    )
    if not noted:
        return record
    kept = [[p, entry[1]] for p, entry in noted.items() if isinstance(entry, list)]
    return records.replace(record, extra={**record.extra, turnkeys.IGNORED_BEFORE: kept})


def claimed(
    repo: git.Repo,
    record: Record,
    after: checkpoint.Snapshot,
    claims: Sequence[str] | None,
    opened: str,
) -> Record:
    """At the close of a window (its start `opened`: a checkpoint, or FILES_NOTED) of file
    tools that claim their files (`claims`: Claude Code's) or name them (other platforms',
    None): the claimed files that are new over the budget, and the ignored ones noted at its
    start whose bytes changed, to tell."""
    from git_atomic.engine import checkpoint

    wanted = {os.fsencode(p) for p in claims or ()}
    if after.too_large and claims is not None:
        now = checkpoint.load_too_large(repo, after) & wanted
        if now and opened and opened != turnkeys.FILES_NOTED:
            was = checkpoint.load(repo, opened)
            now -= checkpoint.load_too_large(repo, was) if was.too_large else frozenset()
        record = _tell(record, now)
    noted = record.extra.get(turnkeys.IGNORED_BEFORE)
    if not isinstance(noted, list) or not noted:
        return record
    pairs = [(str(p[0]), str(p[1])) for p in noted if isinstance(p, list) and len(p) == 2]
    pairs = [(p, b) for p, b in pairs if claims is None or os.fsencode(p) in wanted]
    if not pairs:
        return record
    current = turnfiles.noted_files(repo, tuple(os.path.join(repo.root, p) for p, _ in pairs))
    lfs = (repo.state_dir / "lfs").is_dir()  # a marker may stand for the bytes noted
    written = [[p, "" if lfs else b] for p, b in pairs if _blob(current, p) != b]
    if not written:
        return record
    had = record.extra.get(turnkeys.IGNORED_WRITTEN)
    told = [*(had if isinstance(had, list) else []), *written]
    return records.replace(record, extra={**record.extra, turnkeys.IGNORED_WRITTEN: told})


def _blob(noted: turnfiles.Noted | None, path: str) -> str | None:
    """The blob `noted` holds for `path`; None where it has none (gone, or not noted)."""
    entry = noted.get(path) if noted is not None else None
    return entry[1] if entry is not None else None
