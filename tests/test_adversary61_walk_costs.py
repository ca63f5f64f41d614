"""What the folder walk and the folder ids cost a 100,000-file rollback (issue 17, stop 61), and
that they are as exact as before.

A rollback that moved no folder back looked at every folder its checkpoint recorded, in order,
to find those below a folder moved back (foldermoves._make_again): 5,000 paths sorted and tried
at 100,000 files, for none. The folder ids' blob (folderids.blob) is written at every capture:
what it holds, and what `load` reads back of it, must not change with how it is formed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from git_atomic.engine import discovery, folderids, foldermoves, folderwalk, safefs
from testing.gitrepo import GitRepo


class _Counted(dict[bytes, tuple[int, int]]):
    """Folder ids that count how often they are gone through."""

    walked = 0

    def __iter__(self) -> Iterator[bytes]:
        type(self).walked += 1
        return super().__iter__()


def test_a_rollback_that_moved_no_folder_back_goes_through_no_recorded_folder(
    tmp_path: Path,
) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    want = _Counted({b"a": (1, 2), b"a/b": (1, 3), b"gone": (1, 4), b"gone/deep": (1, 5)})
    with safefs.Tree(os.fsencode(tmp_path)) as tree:
        assert foldermoves._make_again(tree, want, []) == []
        assert _Counted.walked == 0
        assert not (tmp_path / "gone").exists()
        # One moved back from `gone`: what the checkpoint had below it is made again.
        assert foldermoves._make_again(tree, want, [b"gone"]) == [b"gone", b"gone/deep"]
    assert (tmp_path / "gone" / "deep").is_dir() and not (tmp_path / "a" / "c").exists()


def test_the_folder_ids_blob_holds_and_reads_back_what_the_walk_found(
    tmp_path: Path,
) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    for folder in ("b/x", "a", "a b/c", "é/ü", "z"):
        (repo.path / folder).mkdir(parents=True)
        (repo.path / folder / "f").write_bytes(b"f\n")
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    walked = folderwalk.walk(g)
    assert walked is not None and walked.ids
    oid = folderids.blob(g, walked.ids)
    assert oid is not None
    data = g.cat_blob(oid)
    expected = b"".join(
        str(walked.ids[p][0]).encode() + b":" + str(walked.ids[p][1]).encode() + b" " + p + b"\0"
        for p in sorted(walked.ids)
    )
    assert data == expected
    remembered = folderids.load(g, oid)
    folderids._KNOWN.clear()  # (another process: read from the blob)
    assert folderids.load(g, oid) == remembered == dict(walked.ids)
    for folder, disk in remembered.items():
        st = os.lstat(repo.path / os.fsdecode(folder))
        assert disk == (st.st_dev, st.st_ino)
    # Ids no walk gives (an empty path, a NUL) are left out of what is remembered.
    oid = folderids.blob(g, {b"": (1, 2), b"n\0ul": (1, 3), b"fine": (1, 4)})
    assert oid is not None
    assert folderids.load(g, oid) == {b"fine": (1, 4)}
