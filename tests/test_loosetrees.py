"""engine/loosetrees.py: what a tree holds at a few paths, read from its loose objects, is what
`git ls-tree` says of each path; where an object on the way is packed, git is asked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from git_atomic.engine import discovery, loosetrees
from testing.gitrepo import GitRepo

PATHS = [
    b"a.txt",  # a file
    b"run.sh",  # an executable
    b"link",  # a symbolic link
    b"d",  # a folder
    b"d/e/f.txt",  # deep
    b"d/e",  # a folder below one
    b"d/e/missing",  # missing in a folder that is there
    b"missing/x",  # missing folder on the way
    b"a.txt/x",  # a file where a folder would be
    b"sub",  # a submodule
    b"sub/x",  # through a submodule
    b"link/x",  # through a link
    b"with space.txt",
    b"caf\xe9.txt",  # not UTF-8
    b"d/e/f.txt/deeper",
]


@pytest.fixture(params=["sha1", "sha256"])
def repo(tmp_path: Path, request: pytest.FixtureRequest) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home", object_format=request.param)
    repo.write("a.txt", b"a\n")
    repo.write("run.sh", b"#!/bin/sh\n", mode=0o755)
    os.symlink("a.txt", repo.path / "link")
    repo.write("d/e/f.txt", b"f\n")
    repo.write("d/g.txt", b"g\n")
    repo.write("with space.txt", b"s\n")
    repo.write(b"caf\xe9.txt", b"c\n")
    repo.git("add", "-A")
    blob = repo.git("hash-object", "-w", "--stdin", input=b"x").strip()
    blob_tree = repo.git("mktree", input=f"100644 blob {blob}\tx\n".encode()).strip()
    sub = repo.git("commit-tree", blob_tree, "-m", "sub", input=b"").strip()
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{sub},sub")
    repo.git("commit", "-q", "-m", "init")
    return repo


def _told(repo: GitRepo, treeish: str, path: bytes) -> str | None:
    """The mode `git ls-tree` gives the entry at `path` alone; None where it lists none."""
    out = repo.git("ls-tree", "-z", "--full-tree", treeish, "--", os.fsdecode(path))
    out_bytes = out.encode("utf-8", "surrogateescape")
    for item in out_bytes.split(b"\0"):
        head, _, name = item.partition(b"\t")
        if name == path:
            return head.split(b" ")[0].decode()
    return None


@pytest.mark.parametrize("treeish", ["HEAD", "HEAD^{tree}", "HEAD:d"])
def test_each_path_is_what_git_lists_there(repo: GitRepo, treeish: str) -> None:
    named = repo.git("rev-parse", "HEAD").strip()
    if treeish == "HEAD^{tree}":
        named = repo.git("rev-parse", "HEAD^{tree}").strip()
    elif treeish == "HEAD:d":
        named = f"{named}:d"
    paths = [b"e", b"e/f.txt", b"g.txt", b"e/f.txt/x", b"nothing"] if ":" in named else PATHS
    found = loosetrees.modes_at(discovery.discover(str(repo.path)), named, paths)
    assert found is not None  # every object is loose
    expected = {p: mode for p in paths if (mode := _told(repo, named, p)) is not None}
    assert found == expected


def test_a_packed_tree_is_asked_of_git(repo: GitRepo) -> None:
    repo.git("repack", "-adq")
    repo.git("prune-packed")
    head = repo.git("rev-parse", "HEAD").strip()
    found = loosetrees.modes_at(discovery.discover(str(repo.path)), f"{head}:", PATHS)
    assert found is None


def test_an_object_that_is_not_what_its_name_says_is_not_read(repo: GitRepo) -> None:
    """A loose file whose bytes are another object's (copied over it) is not taken for it."""
    head = repo.git("rev-parse", "HEAD").strip()
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    objects = repo.path / ".git" / "objects"
    other = repo.git("rev-parse", "HEAD:d").strip()
    target = objects / tree[:2] / tree[2:]
    target.chmod(0o644)
    target.write_bytes((objects / other[:2] / other[2:]).read_bytes())
    assert loosetrees.modes_at(discovery.discover(str(repo.path)), head, PATHS) is None


def test_pythons_own_sha256_is_looked_for_once(tmp_path: Path) -> None:
    """A SHA-256 object (or a turn's session's hash) is hashed by Python's own module, found
    once: a module that is not there (`_sha2` before Python 3.12) was looked for along the
    whole sys.path again for every object a capture wrote."""
    probe = (
        "import sys\n"
        "seen = []\n"
        "sys.addaudithook(lambda e, a: e == 'import' and a[0] in ('_sha2', '_sha256')"
        " and seen.append(a[0]))\n"
        "from pathlib import Path\n"
        "from git_atomic.engine import objectformat\n"
        "for n in range(20):\n"
        "    objectformat.write_loose(Path(sys.argv[1]), b'blob', b'%d' % n, sha256=True)\n"
        "    objectformat.sha256_hex(b'%d' % n)\n"
        "print(seen.count('_sha2') if sys.version_info < (3, 12) else 0)\n"
    )
    import subprocess
    import sys

    store = tmp_path / "objects"
    store.mkdir()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}
    out = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(store)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(out.stdout) <= 1, out.stdout  # (the one that found it missing)
