"""A split index read as git reads it (splitentries.py): its shared index's entries, those its
bitmaps delete, those its own entries replace (their names stripped), and those it adds. Checked
against `git ls-files -s --debug` (each entry's path, mode, object, stage and every stat field)
on indexes git itself wrote split (`core.splitIndex=true`) after files were touched, removed,
added, rewritten and put back, in index versions 2 and 4, with SHA-1 and SHA-256 object names;
and what the bits record asks of them (scanbits._entries: the files whose ctime is not before a
second, the entries that differ from the index's before) against a comparison of git's own
listings, on the same shared index, after a new one, and from a whole index to a split one."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from git_atomic.engine import indexentries, scanbits, splitentries
from testing.gitrepo import GitRepo

SPLIT = ("-c", "core.splitIndex=true", "-c", "splitIndex.sharedIndexExpire=never")
KEEP = (*SPLIT, "-c", "splitIndex.maxPercentChange=100")  # stays on its shared index
FOLDERS = ["a", "a/b", "ab", "b", "b/c/d", "z"]

# path -> (mode, object, stage, ctime, mtime, dev, ino, uid, gid, size)
Listing = dict[tuple[str, int], tuple[int | str, ...]]


def _git_listing(repo: GitRepo, index: Path) -> Listing:
    """Each entry as git reads the index file `index` (its shared index with it)."""
    out = repo.git("ls-files", "-s", "--debug", env={"GIT_INDEX_FILE": str(index)})
    found: Listing = {}
    lines = out.splitlines()
    for i in range(0, len(lines), 6):
        head, path = lines[i].split("\t", 1)
        mode, oid, stage = head.split(" ")
        fields: dict[str, str] = {}
        for line in lines[i + 1 : i + 6]:
            for item in line.strip().split("\t"):
                name, value = item.split(": ")
                fields[name] = value
        found[(path, int(stage))] = (
            int(mode, 8),
            oid,
            int(stage),
            int(fields["ctime"].split(":")[0]),
            int(fields["mtime"].split(":")[0]),
            int(fields["dev"]),
            int(fields["ino"]),
            int(fields["uid"]),
            int(fields["gid"]),
            int(fields["size"]),
        )
    return found


def _ours(data: bytes, git_dir: Path, width: int) -> Listing:
    """The same, as splitentries reads it."""
    own = indexentries.walk(data, width, None)
    view = splitentries.read(data, own, width, None, git_dir).view
    found: Listing = {}
    for (path, stage), (buf, at) in view.entries():
        word = [int.from_bytes(buf[at + 4 * k : at + 4 * k + 4], "big") for k in range(10)]
        oid = buf[at + 40 : at + 40 + width].hex()
        ctime, mtime, dev, ino, mode, uid, gid, size = (word[k] for k in (0, 2, 4, 5, 6, 7, 8, 9))
        found[(path.decode(), stage)] = (mode, oid, stage, ctime, mtime, dev, ino, uid, gid, size)
    return found


def _differing(new: Listing, base: Listing) -> set[str]:
    """Regular files whose object or stat data differ from `base`'s, or that it lacks."""
    return {
        path
        for (path, stage), entry in new.items()
        if entry[0] & 0o170000 == 0o100000 and base.get((path, stage)) != entry
    }


def _round(repo: GitRepo, rng: random.Random, config: tuple[str, ...]) -> None:
    """Files touched (their stat data taken anew), rewritten, removed, added, put back."""
    present = sorted(p for p in repo.git("ls-files", "-z").split("\0") if p)
    for name in rng.sample(present, rng.randrange(1, 6)):
        os.utime(repo.path / name, ns=(1, rng.randrange(1, 10**18)))
    rewritten = rng.sample(present, rng.randrange(3))
    for name in rewritten:
        repo.write(name, f"{rng.random()}\n".encode())
    gone = sorted(set(rng.sample(present, rng.randrange(4))) - set(rewritten))
    if gone:
        repo.git(*config, "rm", "-q", "--cached", "--", *gone)
    added = [f"{rng.choice([*FOLDERS, '0', 'zz'])}/n{rng.randrange(10**6)}" for _ in range(3)]
    for name in added:
        repo.write(name, b"new\n")
    for name in [*rewritten, *added]:  # not racily clean: else git writes the index whole
        os.utime(repo.path / name, ns=(1, rng.randrange(1, 10**18)))
    back = gone[:1]  # one removed from the index and staged again: deleted, then added
    repo.git(*config, "add", "--", *added, *rewritten, *back)
    repo.git(*config, "update-index", "-q", "--refresh", check=False)


@pytest.mark.parametrize("version", [2, 4])
@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_a_split_index_reads_as_git_reads_it(
    tmp_path: Path, version: int, object_format: str
) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home", object_format=object_format)
    width = 32 if object_format == "sha256" else 20
    rng = random.Random(version * 7 + width)
    for i in range(120):
        repo.write(f"{rng.choice(FOLDERS)}/f{i:03}{'x' * rng.randrange(12)}", b"same\n")
    os.symlink("README", repo.path / "a/link")
    _aged(repo)
    repo.git("add", "-A")
    repo.git("update-index", "--index-version", str(version))
    repo.git(*SPLIT, "update-index", "--split-index")
    index = repo.path / ".git" / "index"
    git_dir = repo.path / ".git"
    first = sorted(p.name for p in git_dir.glob("sharedindex.*"))
    assert len(first) == 1
    replaced = deleted = 0
    for step in range(12):
        base = index.read_bytes()
        base_listing = _git_listing(repo, index)
        config = SPLIT if step == 8 else KEEP  # a new shared index once (maxPercentChange)
        _round(repo, rng, config)
        data = index.read_bytes()
        assert data[4:8] == version.to_bytes(4, "big")
        listing = _git_listing(repo, index)
        assert _ours(data, git_dir, width) == listing
        own = indexentries.walk(data, width, None)
        link = splitentries.link_of(data, own.starts[-1], width)
        assert link is not None, "written split"
        replaced += sum(1 for name in own.names if not name)
        deleted += len(base_listing.keys() - listing.keys())
        # What the bits record asks: the entries git took anew, the ctimes of a second on.
        found = _decoded(
            scanbits._entries(data, 2**32 - 1, sha256=width == 32, base=base, git_dir=git_dir)
        )
        assert found >= _differing(listing, base_listing)
        assert found <= _differing(listing, base_listing) | _touched(data, width)
        latest = max(entry[3] for entry in listing.values())
        found = _decoded(scanbits._entries(data, latest, sha256=width == 32, git_dir=git_dir))
        expected = {p for (p, _), e in listing.items() if e[3] >= latest and e[0] == 0o100644}
        assert expected and expected <= found
    assert replaced and deleted, "bitmaps of both kinds were read"


def _aged(repo: GitRepo) -> None:
    """Every file's mtime a year back: none racily clean (git writes such an index whole at
    its refresh, `update-index --refresh` setting SOMETHING_CHANGED)."""
    for path in repo.path.rglob("*"):
        if not path.is_dir() and ".git" not in path.parts:
            old = os.lstat(path).st_mtime_ns - 365 * 86400 * 10**9
            os.utime(path, ns=(1, old), follow_symlinks=False)


def _decoded(paths: list[bytes]) -> set[str]:
    return {p.decode() for p in paths}


def _touched(data: bytes, width: int) -> set[str]:
    """Paths a split index's own part names (a look more at those is no harm)."""
    own = indexentries.walk(data, width, None)
    return {name.decode() for name in own.names if name}


def test_from_a_whole_index_to_a_split_one(repo: GitRepo) -> None:
    """The scan index's first write as a split one (it grew past the size): compared with the
    whole one it started from, by path."""
    for i in range(60):
        repo.write(f"d{i % 6}/f{i}", b"same\n")
    _aged(repo)
    repo.git("add", "-A")
    index = repo.path / ".git" / "index"
    base = index.read_bytes()
    base_listing = _git_listing(repo, index)
    os.utime(repo.path / "d1/f1", ns=(1, 10**18))
    repo.write("d2/new", b"new\n")
    os.utime(repo.path / "d2/new", ns=(1, 10**18))
    repo.git(*SPLIT, "add", "--", "d2/new")
    repo.git(*SPLIT, "update-index", "-q", "--refresh", check=False)
    data = index.read_bytes()
    git_dir = repo.path / ".git"
    listing = _git_listing(repo, index)
    assert _ours(data, git_dir, 20) == listing
    found = _decoded(scanbits._entries(data, 2**32 - 1, sha256=False, base=base, git_dir=git_dir))
    assert found == _differing(listing, base_listing) == {"d1/f1", "d2/new"}
    # And back: a whole index brought up to date from a split one.
    repo.git("-c", "core.splitIndex=false", "update-index", "--no-split-index")
    whole = index.read_bytes()
    os.utime(repo.path / "d3/f3", ns=(1, 10**18))
    repo.git("update-index", "-q", "--refresh", check=False)
    after = index.read_bytes()
    found = scanbits._entries(after, 2**32 - 1, sha256=False, base=data, git_dir=git_dir)
    assert found == [b"d3/f3"]
    assert whole != after


@pytest.mark.parametrize(
    "damage",
    [
        "shared index gone",
        "bitmap past it",
        "bitmap cut short",
        "replacement named",
        "garbage after the bitmaps",
    ],
)
def test_a_split_index_git_would_not_read_is_not_read(repo: GitRepo, damage: str) -> None:
    """What git refuses to read (its shared index gone, a bitmap that names a position past it
    or is cut short, bytes after the bitmaps) raises ValueError, and the record is then not
    trusted (scanbits: every file looked at)."""
    for i in range(20):
        repo.write(f"f{i}", b"same\n")
    _aged(repo)
    repo.git("add", "-A")
    repo.git(*SPLIT, "update-index", "--split-index")
    os.utime(repo.path / "f3", ns=(1, 10**18))
    repo.git(*KEEP, "update-index", "-q", "--refresh", check=False)
    git_dir = repo.path / ".git"
    data = bytearray((git_dir / "index").read_bytes())
    own = indexentries.walk(bytes(data), 20, None)
    link = splitentries.link_of(bytes(data), own.starts[-1], 20)
    assert link is not None and link.bitmaps is not None
    at = link.bitmaps
    if damage == "shared index gone":
        (git_dir / link.shared).unlink()
    elif damage == "bitmap past it":
        # the delete bitmap's first word: a run of one word of ones (64 positions, of 20)
        assert int.from_bytes(data[at + 4 : at + 8], "big") >= 1
        data[at + 8 : at + 16] = ((1 << 1) | 1).to_bytes(8, "big")
    elif damage == "bitmap cut short":
        data[at + 4 : at + 8] = (10**6).to_bytes(4, "big")
    elif damage == "garbage after the bitmaps":  # git: "garbage at the end of link extension"
        size_at = at - 20 - 4
        size = int.from_bytes(data[size_at : size_at + 4], "big")
        data[size_at : size_at + 4] = (size + 8).to_bytes(4, "big")
        end = size_at + 4 + size
        data[end:end] = bytes(8)
    else:
        first = own.starts[0]
        data[first + 61] = 1  # the first entry (a replacement) given a name's length
    with pytest.raises((ValueError, OSError, IndexError)):
        scanbits._entries(bytes(data), 0, sha256=False, git_dir=git_dir)


def _shared_of_scan_index(repo: GitRepo) -> str:
    (index,) = (repo.path / ".git" / "atomic").glob("scan-*")
    data = index.read_bytes()
    link = splitentries.link_of(data, indexentries.walk(data, 20, None).starts[-1], 20)
    assert link is not None, "the scan index is split"
    return link.shared


def test_a_folder_renamed_in_on_the_scan_indexs_shared_index(tmp_path: Path) -> None:
    """End to end, a scan index split on a shared index that stays (no new one between the
    captures: only the entries the two files' own parts touch are compared). A folder renamed
    in keeps its files' ctimes, their filtered bytes and size the same under `eol=lf`, its key
    0600: after the run that deletes and writes there fails, the raw bytes and the bits are
    back (under test every kept entry and every kept bit is also checked against an lstat)."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.env["GIT_ATOMIC_SPLIT_SCAN_AT"] = "1"
    repo.write(".gitattributes", b"*.txt text eol=lf\n")
    files = [f"d{i % 10}/f{i}.txt" for i in range(400)]
    for name in files:
        repo.write(name, b"one\r\ntwo\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    moved = [name for name in files if name.startswith("d1/")]
    for name in moved:  # the same size, the same filtered bytes: clean to git
        repo.write("alt/" + name[3:], b"one\ntwo\r\n", mode=0o600)
    repo.write(".git/info/exclude", b"alt/\nold/\n")
    time.sleep(1.1)  # older than a second: kept by the records
    repo.atomic("run", "--no-gates", "--", "true")
    repo.atomic("run", "--no-gates", "--", "true")
    shared = _shared_of_scan_index(repo)
    os.rename(repo.path / "d1", repo.path / "old")
    os.rename(repo.path / "alt", repo.path / "d1")
    assert repo.git("status", "--porcelain") == "", "git sees no change"
    script = "printf 'op\\n' > d1/f11.txt; rm d1/f1.txt; exit 1"
    repo.atomic("run", "--no-gates", "--", "sh", "-c", script, check=1)
    assert _shared_of_scan_index(repo) == shared, "the captures stayed on its shared index"
    for name in files:
        assert repo.read(name) == (b"one\ntwo\r\n" if name in moved else b"one\r\ntwo\n"), name
    for name in ("d1/f1.txt", "d1/f11.txt", "d1/f21.txt"):
        assert os.lstat(repo.path / name).st_mode & 0o7777 == 0o600, name


def test_a_whole_index_whose_paths_end_in_link_is_read_as_whole(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paths ending in `link` put "link" and NULs among a whole index's entries: the index the
    scan started from is still told whole without its entries read (splitindex.may_be_split),
    and compared as before."""
    for name in ("a/symlink", "b/link", "hardlink", "z/unlink"):
        repo.write(name, b"same\n")
    _aged(repo)
    repo.git("add", "-A")
    index = repo.path / ".git" / "index"
    base = index.read_bytes()
    assert b"link\0\0" in base
    walked: list[int] = []
    walk = indexentries.walk
    monkeypatch.setattr(indexentries, "walk", lambda *a: walked.append(1) or walk(*a))
    assert not scanbits._split(base, 20)
    assert not walked, "told whole without its entries read"
    os.utime(repo.path / "b/link", ns=(1, 10**18))
    repo.git("update-index", "-q", "--refresh", check=False)
    data = index.read_bytes()
    found = scanbits._entries(data, 2**32 - 1, sha256=False, base=base, git_dir=index.parent)
    assert found == [b"b/link"]
