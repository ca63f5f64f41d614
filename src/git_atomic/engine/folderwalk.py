"""The worktree's folders, walked and remembered: the empty ones no rule ignores, and where the
rule files are, for the cost of what changed since the last walk.

A capture needs every empty folder git would not ignore (folders.py), and the ignored rule files
(ignores.py). Asking git meant two more walks of the whole tree beside the scan's `git status`:
at 100,000 files about 500 ms of processor time. This walk looks at each folder git would look
into (one `fstat`), reads only the folders whose stat data changed since the last walk (a
folder's entries change only with its mtime), and asks git only about folders it has not seen
before (what git said of a few folders gone since is kept too), or all of them when an ignore
rule may have changed: `git check-ignore --no-index`, one
process for all the folders of a depth, and for the new folders below them, read ahead (a new
`a/b/c` is one question, not three). What it keeps is a cache beside the scan index; a walk
without it (or with a damaged one) reads every folder.

What git ignores is never decided here: git says. A folder is read again when its stat data
changed or when it changed within `_RACY_NS` of the walk that saw it (a change in the same tick
of a coarse clock leaves the stat data as it was, as git's untracked cache knows). What git
ignores is asked again when a rule file in a folder walked, `info/exclude`, `core.excludesFile`
or `core.ignoreCase` is not as it was, or changed that close to the walk.

Folders are opened one from another without following links (`O_NOFOLLOW`), never through a
link; a folder holding a `.git` (a repository of its own) is never looked into, as in git's
own walk.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import time
import zlib
from pathlib import Path
from typing import Final, NamedTuple

from git_atomic.core import failpoints, wholefile
from git_atomic.engine import ignoredinside, reconcile, stalls
from git_atomic.engine.folderrecord import Record
from git_atomic.engine.folderwalker import RuleStat, Walker
from git_atomic.engine.folderwalker import Walk as Walk
from git_atomic.engine.git import Repo, worktree_key

# The rule files whose place a walk notes (ignores.py asks git which of them it ignores).
RULE_FILES: Final = stalls.RULE_FILES
_VERSION: Final = 6
_RACY_NS: Final = 3_000_000_000
# Verdicts kept on folders a walk did not meet (`walk`): an `abort` removes the operation's new
# folders, and the next one that makes them again is not asked about them again.
_GONE_KEPT: Final = 256


def cache_file(repo: Repo) -> Path | None:
    """Where a worktree's walk is kept; None for a private worktree of `run --isolate`, which
    lives for one operation."""
    if repo.root.is_relative_to(repo.state_dir):
        return None
    return repo.state_dir / f"walk-{worktree_key(repo)}"


class _Kept(NamedTuple):
    records: dict[bytes, Record]
    verdicts: dict[bytes, bool]  # folder -> a rule ignores it
    rules: list[object]  # reconcile.rules_key when the verdicts were made
    rule_stats: dict[bytes, RuleStat]
    icase: bool  # core.ignoreCase when the records were read (which folders hold a `.git`)
    inside: dict[bytes, ignoredinside.Listed]  # the folders listed inside ignored ones


def walk(repo: Repo) -> Walk | None:
    """Walk the worktree now; None when it could not be (git could not say what it ignores,
    too many folders open): the caller asks git's own listing instead."""
    failpoints.hit("capture:walk")
    path = cache_file(repo)
    kept = _load(path) if path is not None else None
    made = time.time_ns()
    rules = reconcile.rules_key(repo)
    icase = repo.config_bool("core.ignoreCase")
    if kept is not None and kept.icase != icase:
        kept = None  # its records say which folders hold a `.git` by the other rule
    records = kept.records if kept is not None else {}
    verdicts = kept.verdicts if kept is not None and kept.rules == rules else {}
    inside = kept.inside if kept is not None else {}
    walker = Walker(repo, records, dict(verdicts), icase=icase, inside=inside)
    try:
        found = walker.run()
        # A rule in the tree may have changed since the kept verdicts: ask again.
        if found is not None and verdicts and kept and walker.rule_stats != kept.rule_stats:
            walker = Walker(repo, walker.records, {}, icase=icase, inside=walker.inside)
            found = walker.run()
            verdicts = {}
    except stalls.Stalled:
        raise  # a rule file git would wait on for ever: git's listing would too
    except Exception:  # a cache (or a tree) that cannot be walked: git's listing says
        found = None
        walker.partial = False
    if found is None and not walker.partial:
        if path is not None:
            with contextlib.suppress(OSError):  # it may be what failed: the next walk starts anew
                path.unlink(missing_ok=True)
        return None
    if path is not None:
        racy = made - _RACY_NS
        steady = all(max(s[0], s[1]) < racy for s in walker.rule_stats.values()) and all(
            max((v for v in part[1:3] if isinstance(v, int)), default=0) < racy
            for part in rules
            if isinstance(part, list)
        )
        # A walk that stopped part way (folderwalker's `_ROUNDS_AT_MOST`) never checked the kept
        # verdicts against the rule files: only those it asked itself are worth keeping.
        steady = steady and not (walker.partial and verdicts)
        # The verdicts on folders this walk did not meet (gone since: an operation's new
        # folders, which its rollback removed) are kept too, a few, under the same rules: git
        # says the same of the same path while no rule is other (a rule file that changed,
        # came or went, in the tree or outside it, and every verdict is asked again).
        gone = [(f, v) for f, v in verdicts.items() if f not in walker.seen][-_GONE_KEPT:]
        now = _Kept(
            {k: r for k, r in walker.records.items() if r[1] >= 0 and r[2] < racy and r[3] < racy},
            {**dict(gone), **walker.seen} if steady else {},
            rules if steady else [],
            walker.rule_stats,
            icase,
            {k: r for k, r in walker.inside.items() if max(r[2], r[3]) < racy},
        )
        if now != kept and repo.quarantine is None:  # (a dry run keeps no cache)
            _store(path, now, repo.scratch_path("walk"))
        if found is not None and steady and not walker.partial:
            stats = sorted(walker.rule_stats.items())
            stamp = (rules, stats, found.rule_files, found.ignored, found.own_repositories)
            found = found._replace(rules_stamp=repr(stamp))
    return found


_MAGIC: Final = b"git-atomic walk\n"
_LARGEST: Final = 256 << 20  # a kept walk larger than this is not one of ours


def ignored_met(repo: Repo) -> list[bytes] | None:
    """The folders a rule ignores that the last walk met in the folders it walked (it does not
    look into them), as its kept verdicts say, and the folders it listed inside them
    (ignoredinside.py); None where it kept no verdicts (a walk that could not keep them: a
    rule file changed within the last seconds, a walk that stopped part way, or none yet). A
    walk that found what it kept rewrites nothing: the file is as new as its content,
    whatever its time."""
    path = cache_file(repo)
    kept = _load(path) if path is not None else None
    if kept is None or not kept.verdicts:
        return None
    return [folder for folder, ignored in kept.verdicts.items() if ignored] + list(kept.inside)


def _store(path: Path, kept: _Kept, tmp: Path) -> None:
    """Keep `kept` at `path`: a header, the CRC-32 of the body, the body (`marshal`)."""
    body = marshal.dumps((_VERSION, *kept))
    try:
        wholefile.write_new(tmp, _MAGIC + zlib.crc32(body).to_bytes(4, "big") + body)
        os.replace(tmp, path)
    except OSError:  # a cache: the next walk reads every folder
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _load(path: Path) -> _Kept | None:
    """The walk kept at `path`; None when there is none, or it is not one. It is read only as
    a regular file (never through a link), and decoded only when its checksum is right: a
    damaged file could crash `marshal`. A record that is still not what a walk writes makes the
    walk fail (`walk` then removes the file, and the capture asks git)."""
    body = wholefile.read_checked(path, _MAGIC, limit=_LARGEST)
    if body is None:
        return None
    try:
        decoded = marshal.loads(body)
    except (ValueError, EOFError, TypeError):
        return None
    if not (isinstance(decoded, tuple) and len(decoded) == 7 and decoded[0] == _VERSION):
        return None
    _, records, verdicts, rules, rule_stats, icase, inside = decoded
    if not all(isinstance(x, dict) for x in (records, verdicts, rule_stats)):
        return None
    if not ignoredinside.valid(inside):
        return None
    if not isinstance(rules, list):
        return None
    return _Kept(records, verdicts, rules, rule_stats, bool(icase), inside)
