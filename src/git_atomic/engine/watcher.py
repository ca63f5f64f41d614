"""What changed in a worktree since the last scan, from Watchman, when it watches the worktree.

A scan (scan.py) asks `git status`, which looks at every file. Where Watchman already watches the
worktree (the user ran `watchman watch` or `watch-project` on it, or a tool of theirs did), it
can say which paths changed since a *clock* it gave earlier, and a scan then costs in proportion
to what changed. We talk to Watchman itself, never through a `core.fsmonitor` hook of yours:
what such a script answers is not ours to trust (process.py turns it off for every git call of
ours). JSON in and out over its own socket (a fraction of a millisecond, where its command-line
client costs a process start at every capture); the socket's name is Watchman's answer to
`get-sockname`, kept until the program or the environment it reads changes, or `WATCHMAN_SOCK`.
Without a name, the command-line client. Never a server started (watchmanlink.py).

The clock is kept with the scan state: `<common git dir>/atomic/watch-<worktree>.json` names the
tree of the scan that took it. It says: "the disk at that clock held that tree's files, and
Watchman reports every path that changed since". A scan index whose tree it names can then be
brought up to date from Watchman's list alone. The clock of a scan is taken *before* the scan
looks at anything (the `git status` of a scan that sets the watch up; the query itself for a
scan that follows one), so a file written while a scan reads it is reported again next time.

Anything unusual is answered by the usual scan, never guessed: no record, no Watchman, a watch
that restarted or lost events (Watchman's "fresh instance"), a root whose `ignore_dirs` hides
part of the worktree (watchconfig.py), an error, a `.gitignore` or an
ignore file outside the tree that changed, a nested repository or a submodule, a name the
JSON or git's line-based input cannot carry, a filesystem that folds case. A scan that sets the
watch up leaves no record when the tree holds a submodule (its checked-out commit can move
without a file of the worktree changing). `GIT_ATOMIC_WATCHMAN=0` turns all of this off.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, NamedTuple

from git_atomic.core import wholefile
from git_atomic.engine import rulefiles, safefs, stalls, watchmanlink, watchpaths
from git_atomic.engine.git import Repo, worktree_key

# Watchman settles its view before answering (a cookie file written and seen back): a watch
# that cannot within this long (a recrawl under way, a wedged server) is not waited for.
_SYNC_MS: Final = 2_000
# The mode field of a gitlink entry in an index file (0o160000, big-endian): its absence means
# no submodule (its presence elsewhere, say a file of 57,344 bytes, only costs the watcher).
_GITLINK: Final = b"\x00\x00\xe0\x00"


class Clock(NamedTuple):
    root: str  # the root Watchman watches (the worktree or a folder above it)
    relative: str  # the worktree inside it ("" when the same)
    clock: str
    gitlinks_checked: bool  # False: the scan index must be looked at for gitlinks first


class Answer(NamedTuple):
    deleted: list[bytes]
    changed: list[bytes]
    untracked: list[bytes]
    clock: Clock
    # The listing of ignored rule files kept with the clock (ignores.py), when no rule file
    # was reported since: it is still the answer (the rules themselves have not changed).
    extras: list[bytes] | None
    # The empty folders kept with the clock (folders.py), when every path reported since is a
    # file of `tree` that is still a file: no entry was added to or removed from any folder
    # (that changes the folder, which Watchman would report), so the same folders are empty.
    empty: list[bytes] | None
    # The folder-ids blob kept with them (folderids.py), the same where they are.
    folder_ids: str | None = None
    # And the FIFOs, sockets and devices the walk found (path -> st_mode), the same where the
    # empty folders are: no entry added or removed, none chmodded (that too is reported).
    specials: dict[bytes, int] | None = None


class Query:
    """A query running in the background, for the scan index of `tree`."""

    def __init__(self, running: watchmanlink.Asked, record: dict[str, object], base: Clock):
        self.running = running
        self.record = record
        self.base = base

    def drop(self) -> None:
        if isinstance(self.running, watchmanlink.Sent):
            self.running.close()  # Watchman's answer is not read
        else:
            self.running.answer(timeout=watchmanlink.TIMEOUT_S)  # the client's process is reaped


def enabled() -> bool:
    return os.environ.get("GIT_ATOMIC_WATCHMAN", "1") != "0"


def _record_path(repo: Repo, key: str) -> Path:
    return repo.state_dir / f"watch-{key}.json"


# Watchman installed (or running) but not watching this worktree: asking costs a cold command
# 5 ms (a connection, its answer read as JSON; a process where it is not running), so the
# answer is kept this long, unless Watchman's state file (beside its socket: the roots it
# watches) changed since. Only a scan's speed depends on it: without a clock, the scan is the
# usual one.
_UNWATCHED_S: Final = 30.0


def clock(repo: Repo) -> Clock | None:
    """Watchman's clock now for the worktree, when it watches it: taken before a scan that
    sets the watch up looks at anything."""
    if not enabled() or repo.quarantine is not None:  # (a dry run: its sync writes a cookie)
        return None
    mark = repo.state_dir / f"unwatched-{worktree_key(repo)}"
    if _still_unwatched(mark):
        return None
    found = _clock(repo)
    with contextlib.suppress(OSError):
        if found is None:  # by rename: whatever stands there (a FIFO) is replaced, not opened
            tmp = mark.with_name(f"{mark.name}.{os.getpid()}.tmp")
            wholefile.write_new(tmp, _watch_state(repo).encode())
            os.replace(tmp, mark)
        else:
            mark.unlink(missing_ok=True)
    return found


def _watch_state(repo: Repo) -> str:
    """Watchman's state file (the roots it watches, rewritten when a watch begins or ends)
    and its mtime, as a line each; "" when it is not known."""
    sockname = os.environ.get("WATCHMAN_SOCK") or (
        watchmanlink.socket_name(repo) if watchmanlink.find_program() is not None else None
    )
    if not sockname:
        return ""
    state = os.path.join(os.path.dirname(sockname), "state")
    try:
        return f"{state}\n{os.stat(state).st_mtime_ns}\n"
    except OSError:
        return ""


def _still_unwatched(mark: Path) -> bool:
    """Whether the last answer, "not watched", still stands: recent, and Watchman's state
    file as it was then."""
    try:
        if not 0 <= time.time() - mark.stat().st_mtime < _UNWATCHED_S:
            return False
        with safefs.Tree(os.fsencode(mark.parent)) as folder:
            data = folder.read(os.fsencode(mark.name))  # a regular file only, never a FIFO
        if data is None:
            return False
        state, _, rest = data.decode("utf-8", "surrogateescape").partition("\n")
        return not state or os.stat(state).st_mtime_ns == int(rest.strip())
    except (OSError, ValueError):
        return False


def _clock(repo: Repo) -> Clock | None:
    """The clock of the root Watchman watches at the worktree or above it: `clock` asked of
    the worktree, then of each folder above it, until one is a root (Watchman resolves only a
    root's own path: any other is "not watched"). Never `watch-list`, which names every root:
    Watchman 4.9 answers it nothing while one of them is not UTF-8 (docs/limits.md)."""
    real = os.path.realpath(repo.root)
    candidate = real
    while True:
        data = watchmanlink.ask_told(repo, ["clock", candidate, {"sync_timeout": _SYNC_MS}])
        if data is None:
            return None  # no Watchman, or no answer: not asked again
        now = data.get("clock")
        if isinstance(now, str) and "error" not in data:
            relative = "" if candidate == real else real[len(candidate.rstrip("/")) + 1 :]
            from git_atomic.engine import watchconfig  # (a scan that sets the watch up only)

            if not watchconfig.sees_all(repo, candidate, relative):
                return None
            return Clock(candidate, relative, now, gitlinks_checked=False)
        if "is not watched" not in str(data.get("error")):
            return None  # an error of a root (a sync that timed out), or `/`
        parent = os.path.dirname(candidate)
        if parent == candidate:
            return None
        candidate = parent


def since(repo: Repo, key: str, tree: str) -> Query | None:
    """Start the query of what changed since the clock kept with the scan index of `tree`;
    None when there is no such record (or no watcher)."""
    if not enabled():
        return None
    try:
        text = wholefile.read(_record_path(repo, key))
    except OSError:
        return None
    import json  # only once there is a record: json costs a millisecond or more to import

    try:
        record = json.loads(text)
        base = Clock(str(record["root"]), str(record["relative"]), str(record["clock"]), True)
        if record["tree"] != tree or record["worktree"] != str(repo.root):
            return None
        if record.get("sees") != "all":  # one kept before its root's ignore_dirs were read
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    query: dict[str, object] = {
        "since": base.clock,
        "fields": ["name"],
        "empty_on_fresh_instance": True,
        "sync_timeout": _SYNC_MS,
    }
    if base.relative:
        query["relative_root"] = base.relative
    running = watchmanlink.send(repo, ["query", base.root, query])
    return Query(running, record, base) if running is not None else None


def answer(repo: Repo, query: Query, tree: str, rules: list[object]) -> Answer | None:
    """What changed since the clock, as `git status` on the scan index of `tree` would list
    it: (files gone, files that may differ, new untracked files). None: scan the usual way.
    `rules`: what the ignore rules outside the tree are now (reconcile.rules_key)."""
    data = watchmanlink.answer_of(query.running)
    if data is None or data.get("is_fresh_instance") is not False:
        return None
    now, names = data.get("clock"), data.get("files")
    if not isinstance(now, str) or not isinstance(names, list):
        return None
    # A rule file made or changed since: looked at before git reads it, whichever way the
    # scan goes on (stalls.py).
    stalls.check_tree(os.fsencode(repo.root), watchpaths.rule_files(names))
    if query.record.get("rules") != rules:
        return None
    if repo.config_bool("core.ignoreCase"):
        return None
    paths: set[bytes] = set()
    for name in names:
        if not isinstance(name, str) or not name or "\n" in name or name.startswith('"'):
            return None
        try:
            path = name.encode("utf-8")
        except UnicodeEncodeError:
            return None
        if path == b".git" or path.startswith(b".git/"):
            continue  # the git dir (or a linked worktree's .git file): never a file of ours
        parts = path.split(b"/")
        if parts[-1] == b".gitignore" or b".git" in parts or b"" in parts or b".." in parts:
            return None  # rules changed, or a repository inside this one: the usual way
        paths.add(path)
    # An attributes file among them (the worktree's core.attributesFile too, rulefiles.py):
    # the ignored rule files are listed again.
    rule_files = rulefiles.attributes_among(repo, paths)
    found = watchpaths.classify(repo, tree, sorted(paths))
    if found is None:
        return None
    deleted, changed, new = found
    untracked = watchpaths.not_ignored(repo, new)
    if untracked is None:
        return None
    extras = query.record.get("extras")
    empty = query.record.get("empty")
    ids = query.record.get("folder_ids")
    return Answer(
        deleted,
        [*changed, *untracked],
        untracked,
        base_clock(query.base, now),
        None
        if rule_files or not isinstance(extras, list)
        else [os.fsencode(str(p)) for p in extras],
        None
        if deleted or new or len(changed) != len(paths) or not isinstance(empty, list)
        else [os.fsencode(str(p)) for p in empty],
        ids if isinstance(ids, str) and not ids.strip("0123456789abcdef") else None,
        _specials(query.record.get("specials")),
    )


def _specials(kept: object) -> dict[bytes, int] | None:
    """The record's FIFOs, sockets and devices (`remember`); None where it has none, or they
    are not what it writes."""
    if not isinstance(kept, dict):
        return None
    if not all(isinstance(k, str) and isinstance(v, int) for k, v in kept.items()):
        return None
    return {os.fsencode(k): v for k, v in kept.items()}


def base_clock(base: Clock, now: str) -> Clock:
    return Clock(base.root, base.relative, now, gitlinks_checked=True)


def remember(
    repo: Repo,
    key: str,
    tree: str,
    taken: Clock,
    index: Path,
    rules: list[object],
    extras: Sequence[bytes] | None,
    empty: Sequence[bytes] | None,
    folder_ids: str | None = None,
    specials: Mapping[bytes, int] | None = None,
) -> None:
    """Keep `taken` (the clock of the scan whose index is `index`, of `tree`) for the next
    scan, with the listing of ignored rule files made beside it (`extras`, None: none made)
    and the empty folders found by a listing started after the clock (`empty`, None: none),
    with the folder-ids blob of the walk that found them (`folder_ids`) and the FIFOs,
    sockets and devices it found (`specials`).
    A scan index with a gitlink gets no record (see the module's docstring)."""
    path = _record_path(repo, key)
    if not taken.gitlinks_checked and _has_gitlinks(repo, index):
        path.unlink(missing_ok=True)
        return
    import json

    scratch = path.with_name(f"{path.name}.{os.getpid()}")
    with contextlib.suppress(OSError):  # a cache: without it the next scan is the usual one
        wholefile.write_new(
            scratch,
            json.dumps(
                {
                    "tree": tree,
                    "worktree": str(repo.root),
                    "root": taken.root,
                    "relative": taken.relative,
                    "clock": taken.clock,
                    "sees": "all",  # (watchconfig.sees_all)
                    "rules": rules,
                    **({} if extras is None else {"extras": [os.fsdecode(p) for p in extras]}),
                    **({} if empty is None else {"empty": [os.fsdecode(p) for p in empty]}),
                    **({} if empty is None or not folder_ids else {"folder_ids": folder_ids}),
                    **(
                        {}
                        if empty is None or specials is None
                        else {"specials": {os.fsdecode(p): m for p, m in specials.items()}}
                    ),
                }
            ).encode(),
        )
        os.replace(scratch, path)


def forget_other(repo: Repo, key: str, tree: str | None) -> None:
    """Remove the record unless it is the one for `tree` (what the scan ref names)."""
    import json

    path = _record_path(repo, key)
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        if tree is not None and json.loads(wholefile.read(path)).get("tree") == tree:
            return
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _has_gitlinks(repo: Repo, index: Path) -> bool:
    """Whether an index file (and the shared index it uses, if split) may hold a gitlink."""
    try:
        data = index.read_bytes()
        if _GITLINK in data:
            return True
        if b"link" in data:  # a split index: its shared part too
            for name in os.listdir(repo.git_dir):
                if name.startswith("sharedindex.") and bytes.fromhex(name[12:]) in data[:-20]:
                    return _GITLINK in (repo.git_dir / name).read_bytes()
    except (OSError, ValueError):
        return True
    return False
