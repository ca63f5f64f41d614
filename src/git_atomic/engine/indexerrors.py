"""An index no capture can hold, as errors: one with unmerged entries (a conflict waits for
you), one git cannot read (written over, cut short), one that stages objects the repository
does not have (the paths named, and the way out). Raised by the staged side's reading
(staged.py) and by a commit's (ops/phasecommit.py). Split from staged.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

from git_atomic.core.errors import AtomicError, GitError, RefusedError
from git_atomic.engine.git import Repo


class UnmergedPaths(RefusedError):
    """The index has unmerged entries (a conflict waits for the user)."""


class UnreadableIndex(GitError):
    """git cannot read the index (written over, cut short, naming objects that are not there):
    no state to start an operation from or to keep. git's own output goes to the error log."""

    left: str = "an index git cannot read"  # what an operation that made it left

    def __init__(self, error: GitError | None, reason: str) -> None:
        AtomicError.__init__(self, f"git cannot read the index ({reason})")
        if error is None:  # found by our own check (`checksum_holds`), not by git
            self.argv, self.returncode, self.stdout, self.stderr = ["git"], 0, b"", b""
        else:
            self.argv, self.returncode = error.argv, error.returncode
            self.stdout, self.stderr = error.stdout, error.stderr
        self.reason = reason

    @classmethod
    def of(cls, error: GitError, copy: Path, repo: Repo) -> UnreadableIndex:
        """git's first line about our copy of the index (named as yours, not by its path)."""
        if b"invalid object" in error.stderr:
            missing = _missing_objects(repo, copy)
            if missing:
                return ObjectsMissing(error, missing)
        detail = error.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[0].removeprefix("fatal: ").removeprefix("error: ") if detail else ""
        return cls(error, reason.replace(f"{copy}: ", "") or f"exit status {error.returncode}")


class ObjectsMissing(UnreadableIndex):
    """git reads the index, but some entries name objects the repository does not have (an
    `update-index --cacheinfo` of a made-up id, a pack deleted by hand): no tree can be written
    of it, so no checkpoint can hold it. The paths are named, and the way out."""

    SHOWN: Final = 10  # paths named; the rest counted
    left = "an index git cannot write a tree of"

    def __init__(self, error: GitError, paths: Sequence[bytes]) -> None:
        import shlex

        from git_atomic.core.printable import printable

        names = [printable(p.decode("utf-8", "surrogateescape")) for p in paths]
        listed = ", ".join(names[: self.SHOWN])
        if len(names) > self.SHOWN:
            listed += f" and {len(names) - self.SHOWN} more"
        reason = f"it stages objects the repository does not have: {listed}"
        super().__init__(error, reason)
        quoted = " ".join(shlex.quote(n) for n in names[: self.SHOWN])
        more = " ..." if len(names) > self.SHOWN else ""
        AtomicError.__init__(
            self,
            f"the index stages {len(names)} object(s) the repository does not have ({listed}): "
            "git cannot write a tree of it, so no checkpoint can hold it; nothing was changed",
            hint=(
                f"stage those paths again from their files (`git add -- {quoted}{more}`) or "
                f"unstage them (`git rm --cached -- {quoted}{more}`), then run this again"
            ),
        )
        self.paths = tuple(paths)


def _missing_objects(repo: Repo, index: Path) -> list[bytes]:
    """The paths of `index` whose object is not in the repository (gitlinks aside: a
    submodule's commit is never in it)."""
    res = repo.run("ls-files", "-s", "-z", env={"GIT_INDEX_FILE": str(index)}, check=False)
    if res.returncode != 0:
        return []
    entries = []
    for record in res.stdout.split(b"\0"):
        info, tab, path = record.partition(b"\t")
        fields = info.split()
        if tab and len(fields) == 3 and fields[0] != b"160000":
            entries.append((fields[1].decode(), path))
    if not entries:
        return []
    wanted = "".join(f"{oid}\n" for oid, _ in entries).encode()
    checked = repo.run("cat-file", "--batch-check=%(objectname)", input=wanted, check=False)
    lines = checked.stdout.decode().splitlines()
    if checked.returncode != 0 or len(lines) != len(entries):
        return []
    return [
        path for (_, path), line in zip(entries, lines, strict=True) if line.endswith(" missing")
    ]
