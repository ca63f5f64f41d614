"""A dry run's own object store and scratch folder, outside the repository: it writes nothing
into it.

A dry run works out what the move would change as the move does: it scans the tree, and the
scan stores what it found as objects (blobs, trees) that git then compares. Those objects go
into a folder of ours under the system's temporary folder, as git's own receive-pack keeps what
a push brought until it is accepted: `GIT_OBJECT_DIRECTORY` names it for every git of ours,
`GIT_ALTERNATE_OBJECT_DIRECTORIES` the repository's store (git reads both, writes only the
first), and `GIT_QUARANTINE_PATH` has git refuse any ref update there. Our own writers of loose
objects (git.py) write into it too, and its readers read both. Scratch files (temporary indexes,
fast-import's marks) go in it, and the scan's caches (its index, its ref, its bits and memos)
are read as they are and never kept (capturedisk.publish). It is removed as the dry run ends
(one a killed dry run left goes with the next dry run's start), and is never made inside the
worktree or a git dir (TMPDIR there: /tmp or /var/tmp instead).

git freshens an object it is asked to write that its store, or an alternate, already holds (it
sets the file's mtime, of a loose object or of the pack holding it, so that a `gc` running then
does not take it for old). A dry run's store is gone when it ends and nothing of it is kept, so
that freshening had no purpose: the mtimes of the object files of the repository and of the
stores it borrows from (`objects/info/alternates`) are noted as the dry run begins (one
`lstat` each: loose objects and packs), and those git changed are put back as they were when
it ends. So are the mtimes of the git dir's shared indexes (`sharedindex.<id>` of a split
index, yours or the scan's), which git freshens each time it reads an index that uses one. (A
`git` of yours that stored one of those objects again during the dry run has its freshening
undone with ours: its new ref keeps it from any `gc` once made.)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from git_atomic.core.errors import RefusedError

_PREFIX: Final = "git-atomic-dry-"


class Quarantine:
    """A temporary object store (`objects`) and scratch folder (`tmp`) for one dry run."""

    def __init__(self, real_objects: Path, git_dirs: Sequence[Path], *, outside: Path) -> None:
        self.real_objects = real_objects
        where = _temporary_folder([outside, *git_dirs, real_objects])
        _sweep(where)
        try:
            self.folder = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=where))
        except OSError as exc:
            raise RefusedError(
                f"cannot make the dry run's object store in {where} ({exc.strerror}): a dry "
                "run works out the move there, outside the repository",
                hint="set TMPDIR to a folder you can write",
            ) from None
        self.objects = self.folder / "objects"
        self.tmp = self.folder / "tmp"
        for part in (self.objects, self.objects / "pack", self.objects / "info", self.tmp):
            part.mkdir()
        stores = [real_objects, *_alternates(real_objects)]
        files = [f for store in dict.fromkeys(stores) for f in _files(store)]
        self._mtimes = _mtimes([*files, *_shared_indexes(git_dirs)])

    def env(self) -> dict[str, str]:
        """What every git of the dry run is given: the store it writes, the one it reads."""
        alternates = [_listed(str(self.real_objects))]
        inherited = os.environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES")
        if inherited:  # honoured at discovery (discovery.check_environment): still read
            alternates.append(inherited)
        return {
            "GIT_OBJECT_DIRECTORY": str(self.objects),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": os.pathsep.join(alternates),
            "GIT_QUARANTINE_PATH": str(self.objects),
        }

    def close(self) -> None:
        """The mtimes git freshened put back; the folder removed."""
        for path, (mtime, atime) in _freshened(self._mtimes).items():
            with contextlib.suppress(OSError):
                os.utime(path, ns=(atime, mtime), follow_symlinks=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def _listed(path: str) -> str:
    """`path` as one entry of GIT_ALTERNATE_OBJECT_DIRECTORIES: C-quoted where it holds the
    separator, a quote or a backslash (git reads an entry that begins with `"` so)."""
    if not any(c in path for c in ':"\\\n'):
        return path
    escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _temporary_folder(inside: Sequence[Path]) -> str:
    """The system's temporary folder (TMPDIR...), or /tmp or /var/tmp where that is in the
    worktree or a git dir: the dry run's store is made outside the repository, never where its
    scan would see it."""
    mine = [os.path.realpath(p) for p in inside]
    # Named as tempfile.gettempdir() would find it, without its probe: it writes a file into
    # the first folder it tries to see whether it can.
    named = [os.environ.get(name) for name in ("TMPDIR", "TEMP", "TMP")]
    for candidate in [*(n for n in named if n), "/tmp", "/var/tmp"]:
        real = os.path.realpath(candidate)
        if os.path.isdir(real) and not any(
            real == p or real.startswith(p.rstrip("/") + "/") for p in mine
        ):
            return real
    raise RefusedError(
        f"the temporary folder {named[0] or '/tmp'} is inside the repository: a dry run "
        "works out the move in a store of its own outside it",
        hint="set TMPDIR to a folder outside the repository",
    )


def _sweep(where: str) -> None:
    """The folders of dry runs of ours killed before they could remove theirs (their process
    is gone): removed, so that none is left for good."""
    from git_atomic.core.lock import process_alive

    with contextlib.suppress(OSError), os.scandir(where) as inside:
        for entry in inside:
            pid = entry.name[len(_PREFIX) :].split("-", 1)[0]
            if (
                entry.name.startswith(_PREFIX)
                and pid.isdigit()
                and entry.is_dir(follow_symlinks=False)
                and entry.stat(follow_symlinks=False).st_uid == os.geteuid()
                and not process_alive(int(pid), None)
            ):
                shutil.rmtree(entry.path, ignore_errors=True)


def _files(objects: Path) -> list[os.DirEntry[str]]:
    """The object files of a store: its loose objects and its packs (and their indexes)."""
    found: list[os.DirEntry[str]] = []
    with contextlib.suppress(OSError), os.scandir(objects) as top:
        for entry in top:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if len(entry.name) == 2 or entry.name == "pack":
                with contextlib.suppress(OSError), os.scandir(entry.path) as inside:
                    found.extend(e for e in inside if e.is_file(follow_symlinks=False))
    return found


def _alternates(objects: Path) -> list[Path]:
    """The stores the repository borrows from (`objects/info/alternates`, a `clone --shared`
    or `--reference`; GIT_ALTERNATE_OBJECT_DIRECTORIES): git freshens their objects too."""
    named = os.environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES", "").split(os.pathsep)
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = (objects / "info" / "alternates").read_text()
        named += [line.strip() for line in text.splitlines() if not line.startswith("#")]
    return [objects / n if not os.path.isabs(n) else Path(n) for n in named if n.strip()]


def _shared_indexes(git_dirs: Sequence[Path]) -> list[os.DirEntry[str]]:
    """The shared indexes of split indexes (yours, the scan's): git freshens the one an index
    it reads uses."""
    found: list[os.DirEntry[str]] = []
    for folder in dict.fromkeys(git_dirs):
        with contextlib.suppress(OSError), os.scandir(folder) as inside:
            found.extend(e for e in inside if e.name.startswith("sharedindex."))
    return found


def _mtimes(files: Sequence[os.DirEntry[str]]) -> dict[str, tuple[int, int]]:
    noted: dict[str, tuple[int, int]] = {}
    for entry in files:
        with contextlib.suppress(OSError):
            st = entry.stat(follow_symlinks=False)
            noted[entry.path] = (st.st_mtime_ns, st.st_atime_ns)
    return noted


def _freshened(before: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """The files noted before whose mtime changed since, with what they were."""
    changed: dict[str, tuple[int, int]] = {}
    for path, (mtime, atime) in before.items():
        with contextlib.suppress(OSError):
            if os.lstat(path).st_mtime_ns != mtime:
                changed[path] = (mtime, atime)
    return changed
