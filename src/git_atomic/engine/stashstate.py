"""Your stashes: `refs/stash` and its reflog, which *is* the stash list.

`git stash drop`, `pop` or `clear` run by an operation rewrite that reflog and leave the
stashes it named reachable from nothing: a rollback that put back files, index and branches
left them lost, and `git gc --prune=now` then removed them for good. So every capture records
the stash as a small blob (the `stash` entry of a checkpoint: the commit `refs/stash` names on
its first line, then the reflog's bytes as they are), keeps every commit the reflog names
reachable as a parent of the checkpoint, and a restore puts both back: the ref by
compare-and-swap, then the reflog's bytes. A checkpoint without the entry holds no stash when
its meta says it was looked at (`stash_known`), and says nothing of it otherwise (written
before this): a restore to it leaves your stashes alone.

Read without following a link (safefs.py: a reflog an operation made a link is set aside
first, gitlinks.py), written by rename. A repository whose refs are not files (reftable) is
left alone: its reflog is not a file to read.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from typing import Final

from git_atomic.core import process, wholefile
from git_atomic.engine import capturerefs, safefs
from git_atomic.engine.git import Repo

REF: Final = capturerefs.STASH
_LOG: Final = b"logs/refs/stash"
_KNOWN: Final = "stash-parents.json"  # the last record's commits, checked to exist


def files_backend(repo: Repo) -> bool:
    return (repo.config("extensions.refstorage") or "files").lower() == "files"


def capture(repo: Repo, refs: Mapping[str, str]) -> tuple[str | None, tuple[str, ...]] | None:
    """(the record's blob, None for no stash at all; the commits it names, to keep reachable),
    or None when the stash cannot be read here (not a files backend)."""
    if not files_backend(repo):
        return None
    oid = refs.get(REF)
    record = _record(repo, oid)
    if record is None:
        return None, ()
    [blob] = repo.write_blobs([record])
    log = record.partition(b"\n")[2]
    return blob, _existing_commits(repo, blob, _named(oid, log))


def _named(oid: str | None, log: bytes) -> list[str]:
    """The commits a record names: the ref's, and each reflog line's new value."""
    named = [oid] if oid else []
    for line in log.split(b"\n"):
        fields = line.split(b" ", 2)
        if len(fields) == 3 and len(fields[1]) in (40, 64) and fields[1].strip(b"0"):
            named.append(fields[1].decode("ascii", "replace"))
    return list(dict.fromkeys(named))


def _existing_commits(repo: Repo, blob: str, named: list[str]) -> tuple[str, ...]:
    """Those of `named` that are commits here (a reflog may name one long pruned, which no
    checkpoint can have for a parent); asked once per record, remembered for the next."""
    path = repo.state_dir / _KNOWN
    with safefs.Tree(os.fsencode(repo.state_dir)) as state:
        kept = state.read(os.fsencode(_KNOWN))  # a regular file only: never a FIFO's wait
    try:
        known = json.loads(kept or b"")
        if known["record"] == blob:
            return tuple(str(o) for o in known["commits"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    found: tuple[str, ...] = ()
    if named:
        out = repo.out(
            "cat-file",
            "--batch-check=%(objectname) %(objecttype)",
            input="\n".join(named).encode(),
        )
        kinds = dict(line.split(" ", 1) for line in out.decode().splitlines() if " " in line)
        found = tuple(o for o in named if kinds.get(o) == "commit")
    if repo.quarantine is not None:
        return found  # a dry run keeps no cache
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        wholefile.write_new(tmp, json.dumps({"record": blob, "commits": found}).encode())
        os.replace(tmp, path)
    except OSError:  # a cache: asked again next time
        tmp.unlink(missing_ok=True)
    return found


def put(repo: Repo, target: str | None, *, was: str | None) -> bool:
    """Make `refs/stash` and its reflog `target`'s record (None: no stash), if they are still
    `was`'s (the state the restore started from) or already `target`'s (a restore run again
    after a crash). False when another writer changed them meanwhile: left as they are."""
    if not files_backend(repo):
        return True
    now = repo.refs(REF).get(REF)
    live = _record(repo, now)
    if live not in (_bytes(repo, was), _bytes(repo, target)):
        return False
    if target is None:
        oid, log = None, b""
    else:
        first, _, log = repo.cat_blob(target).partition(b"\n")
        oid = first.decode() or None
    zero = "0" * len(oid or now or repo.zero_oid)
    if oid is None:
        if now is not None and _failed(repo.run("update-ref", "-d", REF, now, check=False)):
            return False
        _write_log(repo, None)
        return True
    if now != oid and _failed(
        repo.run("update-ref", "-m", "git-atomic: stash", REF, oid, now or zero, check=False)
    ):
        return False
    _write_log(repo, log)
    return True


def _record(repo: Repo, oid: str | None) -> bytes | None:
    """The stash as it is now, as a record's bytes (None: no stash), as `capture` makes it."""
    with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
        log = tree.read(_LOG) if tree.kind(_LOG) == stat.S_IFREG else None
    if oid is None and not log:
        return None
    return (oid or "").encode() + b"\n" + (log or b"")


def _bytes(repo: Repo, record: str | None) -> bytes | None:
    return repo.cat_blob(record) if record is not None else None


def _failed(res: process.Result) -> bool:
    return res.returncode != 0


def _write_log(repo: Repo, log: bytes | None) -> None:
    """The reflog's bytes written by rename (None: removed), never through a link: a folder
    on its way that is not a real folder leaves it as it is."""
    folder = repo.common_dir / "logs" / "refs"
    for part in (repo.common_dir / "logs", folder):
        try:
            if not stat.S_ISDIR(os.lstat(part).st_mode):
                return
        except FileNotFoundError:
            if log is None:
                return
            part.mkdir()
    path = folder / "stash"
    if log is None:
        if os.path.lexists(path):
            path.unlink()
        return
    tmp = folder / f"stash.{os.getpid()}.atomic-tmp"
    tmp.unlink(missing_ok=True)
    # The bits git gave the one it replaces, or gives a new one (t1301: a group's is 0664,
    # which another member's `git stash` appends to).
    try:
        was = os.lstat(path)
        mode = was.st_mode & 0o7777 if stat.S_ISREG(was.st_mode) else None
    except FileNotFoundError:
        mode = None
    if mode is None:
        from git_atomic.engine import reflogkeep

        mode = reflogkeep.new_reflog_mode(repo)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    os.fchmod(fd, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(log)
    os.replace(tmp, path)


def commits(repo: Repo, record: str | None) -> tuple[str, ...]:
    """The commits a record names that are here: a state worked out from checkpoints (an
    effect taken back) keeps them reachable, as a capture does."""
    if record is None:
        return ()
    first, _, log = repo.cat_blob(record).partition(b"\n")
    return _existing_commits(repo, record, _named(first.decode() or None, log))
