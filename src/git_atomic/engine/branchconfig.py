"""A branch's own configuration (`[branch "name"]`: its upstream, `rebase`, its description)
goes and comes with the branch.

`git branch -D topic` removes `branch.topic.*` with the branch, and `git branch -m keep kept`
moves `branch.keep.*` to `branch.kept.*`: a rollback that made `topic` or `keep` again left
them without their upstream (`git pull`: "There is no tracking information") and their
description, and left `branch.kept.*` behind for a branch that is not there. A checkpoint
records the branch sections of the config (infoexclude.CONFIG); after a restore has moved the
branches, each branch it made again gets its sections back, where it has none now, and each
it removed loses the sections the state it left had for it, where they are still as they were
(a user's edit since is left as it is). The rest of the configuration is never ours to write.
"""

from __future__ import annotations

from collections.abc import Mapping

from git_atomic.core import wholefile
from git_atomic.engine import infoexclude
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo

_PREFIX = "refs/heads/"
Entries = Mapping[str, tuple[tuple[str, str | None], ...]]


def put(repo: Repo, current: Snapshot, target: Snapshot) -> None:
    """After the branches moved from `current`'s to `target`'s: their sections follow."""
    live = repo.refs(_PREFIX)
    found = _sections(repo, current, target, live, after=True)
    if found is None:
        return
    made, gone, want = found
    for name in gone:
        repo.run("config", "--remove-section", f"branch.{name}", check=False)
    for name in made:
        for key, value in want.get(name, ()):
            values = [value] if value is not None else []  # a key alone: true
            repo.run("config", "--add", f"branch.{name}.{key}", *values, check=False)


def foresee(repo: Repo, current: Snapshot, target: Snapshot) -> tuple[list[str], list[str]]:
    """Before the branches move (a dry run's): the names whose sections `put` would write back,
    and those whose sections it would remove."""
    found = _sections(repo, current, target, repo.refs(_PREFIX), after=False)
    return (found[0], found[1]) if found is not None else ([], [])


def _sections(
    repo: Repo, current: Snapshot, target: Snapshot, live: Mapping[str, str], *, after: bool
) -> tuple[list[str], list[str], Entries] | None:
    """The branches made again that get their sections back, those removed that lose theirs,
    and the target's sections. `after`: the branches have moved (`live` is the target's);
    else they are still `current`'s."""
    if not (current.branch_config.known and target.branch_config.known):
        return None  # a state worked out from trees, or written before this was recorded
    made = [n for n in target.branches if n not in current.branches and (n in live or not after)]
    gone = [
        n for n in current.branches if n not in target.branches and (n not in live or not after)
    ]
    if not made and not gone:
        return None
    live_config = infoexclude.branch_config(repo)
    if not live_config.known:
        return None  # a link or a folder now: never written through
    want = _entries(repo, target.branch_config.data)
    had = _entries(repo, current.branch_config.data)
    now = _entries(repo, live_config.data)
    removed = [
        ref[len(_PREFIX) :]
        for ref in gone
        if ref[len(_PREFIX) :] in now
        and ref[len(_PREFIX) :] not in want
        and now[ref[len(_PREFIX) :]] == had.get(ref[len(_PREFIX) :])
    ]
    # One with a section now is yours since, or made with the branch: left as it is.
    written = [ref[len(_PREFIX) :] for ref in made if ref[len(_PREFIX) :] not in now]
    return [n for n in written if want.get(n)], removed, want


def _entries(repo: Repo, data: bytes | None) -> dict[str, tuple[tuple[str, str | None], ...]]:
    """Branch name -> its (key, value) entries, in order; git reads the lines (quoting,
    escapes, continued lines), from a file of our own."""
    if not data:
        return {}
    path = repo.scratch_path("branch-config")
    try:
        wholefile.write_new(path, data)
        listed = repo.run("config", "--file", str(path), "-z", "--list", check=False).stdout
    finally:
        path.unlink(missing_ok=True)
    out: dict[str, list[tuple[str, str | None]]] = {}
    for item in listed.split(b"\0"):
        key_b, newline, value_b = item.partition(b"\n")
        key = key_b.decode("utf-8", "surrogateescape")
        section, _, rest = key.partition(".")
        name, dot, leaf = rest.rpartition(".")
        if section.lower() != "branch" or not dot or not name:
            continue
        value = value_b.decode("utf-8", "surrogateescape") if newline else None
        out.setdefault(name, []).append((leaf, value))
    return {name: tuple(entries) for name, entries in out.items()}
