"""Family: our LFS folder (`.git/atomic/lfs`: its `key`, the hard links of `objects/`, the
`markers` a capture appends to). A command that made it, or a name in it, a link out of the
repository had the next capture write there: the key made in the link's target, a hard link
of the LFS content put in it, the markers appended to the file a link named (one of yours).
Nothing is read or written through one now (lfskeep.py): no marker is made (the content is
stored as a blob, as without an LFS store), and the rollback is exact all the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import GitRepo
from tests.test_lfs_store import lfs as lfs


def listing(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("what", ["folder", "markers", "key"])
def test_no_capture_writes_through_a_link_in_our_lfs_folder(lfs: GitRepo, what: str) -> None:
    outside = lfs.path.parent / "outside"
    outside.mkdir()
    (outside / "yours.txt").write_bytes(b"yours\n")
    ours = lfs.path / ".git" / "atomic" / "lfs"
    if what == "folder":
        plant = f"rm -rf {ours} && ln -s {outside} {ours}"
    else:
        target = outside / "yours.txt"
        plant = f"mkdir -p {ours} && rm -f {ours}/{what} && ln -s {target} {ours}/{what}"
    before = listing(outside)
    a = lfs.read("assets/a.bin")
    # The operation: the link, and a new file with content the LFS store holds.
    script = f"{plant} && cp assets/a.bin assets/d.bin && echo op > code.txt; exit 1"
    res = lfs.atomic("run", "--", "sh", "-c", script)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    assert listing(outside) == before
    assert lfs.read("code.txt") == b"code\n" and not lfs.exists("assets/d.bin")
    assert lfs.read("assets/a.bin") == a
