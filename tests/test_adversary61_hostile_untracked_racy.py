"""git's untracked cache trusts a folder's cached listing while the folder's stat data is the
one it took, compared in whole seconds by this git build. A file made in a folder and the
folder's mtime given back (`touch -r`, `tar x`, `rsync -t`), in the same second as git took the
folder's stat data, then shows in nothing git compares: the scan index's `status` never lists
the file. Seen: an `abort` said "back at PRE-OP" and left the operation's new file, about one
run in twenty. So the scan index's racy folders are smudged too, as its racy files are
(scanracy.py): git lists them again."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from git_atomic.engine import indexentries, scanracy
from testing.gitrepo import GitRepo

OLD = 1_000_000_000  # an mtime long past: not racy by git's own rule (the index is newer)


def test_a_folder_changed_in_the_second_git_listed_it_is_listed_again(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.write("d/t", b"t\n")
    repo.git("add", "d/t")
    repo.git("commit", "-qm", "d")
    repo.write("d/yours", b"untracked\n")
    index = tmp_path / "scan-index"
    shutil.copy(repo.path / ".git" / "index", index)
    env = {"GIT_INDEX_FILE": str(index)}
    # As the scan's calls run (scanindex.git_config): a cache for `--untracked-files=all`.
    cache = ("-c", "core.untrackedCache=true", "-c", "status.showUntrackedFiles=all")

    def listed() -> str:
        return repo.git(*cache, "status", "--porcelain", "--untracked-files=all", env=env)

    repo.git(*cache, "update-index", "--force-untracked-cache", env=env)
    folder = repo.path / "d"
    os.utime(folder, (OLD, OLD))
    listed()
    assert listed() == "?? d/yours\n"
    for attempt in range(5):  # all of it in one second (one in a few crosses a boundary)
        time.sleep(1.05 - time.time() % 1)  # (file times lag the clock by a tick)
        os.chmod(folder, 0o755)  # its ctime: this second
        listed()  # git takes the folder's stat data now, in this second
        since = int(os.stat(folder).st_ctime)
        (folder / f"new{attempt}").write_bytes(b"made in that second\n")
        os.utime(folder, (OLD, OLD))  # its mtime given back
        if int(os.stat(folder).st_ctime) == since:
            break
        (folder / f"new{attempt}").unlink()
    else:
        raise AssertionError("no second held the change")
    assert scanracy.smudge(index, since, sha256=False)
    assert f"?? d/new{attempt}\n" in listed()
    assert scanracy.smudge(index, since, sha256=False)  # nothing more to smudge: the same


@pytest.mark.parametrize(("object_format", "version"), [("sha1", "2"), ("sha256", "4")])
def test_the_untracked_cache_is_read_as_git_wrote_it(
    tmp_path: Path, object_format: str, version: str
) -> None:
    """Every folder's stat data found, in a cache of 150 folders (bitmaps of several words),
    rule files in some (their ids kept), untracked names in each, in an index of version 2
    and of version 4 (its entries' names compressed); a damaged cache is not
    read (the scan index is then not kept: its stat data is not trusted)."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home", object_format=object_format)
    for n in range(150):
        repo.write(f"f{n % 10}/g{n}/tracked", b"t\n")
        repo.write(f"f{n % 10}/g{n}/untracked{n}", b"u\n")
        if n % 7 == 0:
            repo.write(f"f{n % 10}/g{n}/.gitignore", b"*.o\n")
    repo.git("add", "*/tracked")
    repo.git("update-index", "--index-version", version)
    cache = ("-c", "core.untrackedCache=true", "-c", "status.showUntrackedFiles=all")
    repo.git(*cache, "update-index", "--force-untracked-cache")
    repo.git(*cache, "status", "--porcelain")
    data = bytearray((repo.path / ".git" / "index").read_bytes())
    width = 32 if object_format == "sha256" else 20
    starts = indexentries.starts(data, width)
    assert starts is not None
    at = starts[-1]
    body = data.index(b"UNTR", at) + 8
    size = int.from_bytes(data[body - 4 : body], "big")
    stats = scanracy._untracked_stats(data, body, body + size, width)
    assert len(stats) == 2 + 1 + 10 + 150  # the two rule files', the top, f0..f9, each g
    data[body + size - 1] = 1
    with pytest.raises(ValueError):
        scanracy._untracked_stats(data, body, body + size, width)
