"""The index's extensions (git's caches and records beside its entries) as a rollback leaves
them, read from the index file's bytes: each one the user's index had before an operation."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from testing.gitrepo import GitRepo, cache_tree, index_extensions, read_index


def tree_of(repo: GitRepo) -> list[tuple[bytes, int, int, str | None]]:
    return cache_tree(index_extensions((repo.path / ".git" / "index").read_bytes())["TREE"])


def nested(repo: GitRepo) -> None:
    for folder in ("d1/x", "d2", "d3"):
        for i in range(3):
            repo.write(f"{folder}/f{i}", f"{folder} {i}\n".encode())
    repo.git("add", ".")
    repo.git("commit", "-qm", "nested")
    repo.git("status", "--porcelain")  # git's own cache tree, whole


@pytest.mark.parametrize("version", ["2", "4"])
@pytest.mark.parametrize("how", ["failed-run", "rollback-op", "undo"])
def test_a_rollback_keeps_the_index_s_cached_trees(repo: GitRepo, how: str, version: str) -> None:
    """git's t0090-cache-tree: an index a rollback wrote had the entries of PRE-OP, but the
    cached trees (TREE extension) of every folder above an entry it wrote invalidated: the
    next `git status` and `git commit` hashed them again, and the index's bytes were not
    PRE-OP's. Each folder's cached tree is as before (or, after `undo`, as the operation left
    it), for every index format."""
    repo.git("config", "index.version", version)
    repo.git("update-index", "--index-version", version)
    nested(repo)
    before = tree_of(repo)
    assert all(count >= 0 for _name, count, _sub, _oid in before)
    op = "echo new > d2/f1; git add d2/f1; git rm -q d3/f0; git commit -qm op"
    if how == "failed-run":
        repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    else:
        done = repo.atomic_json("run", "--", "sh", "-c", op)
        after_op = tree_of(repo)
        repo.atomic("rollback", "--op", done["op_id"], check=0)
        if how == "undo":
            repo.atomic("undo", check=0)
            before = after_op
    assert tree_of(repo) == before


def reuc(repo: GitRepo) -> bytes | None:
    """The index's resolve-undo record (REUC), as git wrote it."""
    return index_extensions((repo.path / ".git" / "index").read_bytes()).get("REUC")


def resolved_conflicts(repo: GitRepo) -> None:
    """Two conflicts you resolved with `git add` and `git rm` after a cherry-pick you then
    left (`--quit`): the index keeps a resolve-undo record of each, no merge under way."""
    repo.write("gone.txt", b"base\n")
    repo.git("add", "gone.txt")
    repo.git("commit", "-qm", "gone base")
    repo.git("branch", "side")
    repo.write("README", b"ours\n")
    repo.write("gone.txt", b"ours\n")
    repo.git("commit", "-qam", "ours")
    repo.git("checkout", "-q", "side")
    repo.write("README", b"theirs\n")
    repo.write("gone.txt", b"theirs\n")
    repo.git("commit", "-qam", "theirs")
    repo.git("checkout", "-q", "main")
    repo.git("cherry-pick", "side", check=False)
    repo.write("README", b"resolved\n")
    repo.git("add", "README")
    repo.git("rm", "-q", "gone.txt")
    repo.git("cherry-pick", "--quit")


@pytest.mark.parametrize("version", ["2", "4"])
@pytest.mark.parametrize("how", ["failed-run", "rollback-op", "abort", "effect"])
def test_your_resolve_undo_record_survives_an_operation_that_cleared_it(
    repo: GitRepo, how: str, version: str
) -> None:
    """git's t2030-unresolve-undo: a conflict you resolved (`git add`, `git rm`) is made again
    by `git checkout -m PATH` from the index's resolve-undo record. An operation that
    cleared it (`git checkout -b`, `git stash`) was rolled back with your entries but not
    the record (the index's extensions were the operation's): `checkout -m` failed. A
    checkpoint holds it (`ls-files --resolve-undo`, read with the flags), and it comes back as
    it was, byte for byte; `undo` makes the operation's (none) again."""
    repo.git("config", "index.version", version)
    repo.git("update-index", "--index-version", version)
    resolved_conflicts(repo)
    before = reuc(repo)
    assert before is not None
    op = "git checkout -q -b elsewhere && echo new > new.txt"
    if how == "failed-run":
        repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    elif how == "abort":
        repo.atomic("begin", "x", check=0)
        subprocess_sh(repo, op)
        assert reuc(repo) is None
        repo.atomic("abort", check=0)
    elif how == "effect":  # taken back on top of a change of yours since
        done = repo.atomic_json("run", "--", "sh", "-c", op)
        repo.write("mine.txt", b"mine\n")
        said = repo.atomic("rollback", "--op", done["op_id"], check=0).stderr
        assert "its effect taken back" in said, said
        assert repo.read("mine.txt") == b"mine\n"
    else:
        done = repo.atomic_json("run", "--", "sh", "-c", op)
        assert reuc(repo) is None
        repo.atomic("rollback", "--op", done["op_id"], check=0)
        repo.atomic("undo", check=0)
        assert reuc(repo) is None
        repo.atomic("undo", check=0)
    assert reuc(repo) == before
    assert repo.git("rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    repo.git("checkout", "-m", "README")
    assert b"<<<<<<<" in repo.read("README")
    stages = repo.git("ls-files", "-s", "README").splitlines()
    assert [line.split()[2] for line in stages] == ["1", "2", "3"]


@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_an_operation_s_own_resolve_undo_record_goes_with_it(repo: GitRepo, how: str) -> None:
    """The operation resolved a conflict of its own: its record stayed after its rollback, and
    your `git checkout -m README` made the operation's conflict in your file. It goes."""
    resolved_conflicts(repo)
    repo.git("commit", "-qm", "resolved")
    repo.git("update-index", "--clear-resolve-undo")
    assert reuc(repo) is None
    repo.git("branch", "-f", "side2", "side")
    repo.git("checkout", "-q", "side2")
    repo.write("README", b"theirs again\n")
    repo.git("commit", "-qam", "theirs again")
    repo.git("checkout", "-q", "main")
    op = (
        "git cherry-pick side2 >/dev/null 2>&1; echo op > README && git add README && "
        "git cherry-pick --quit"
    )
    if how == "failed-run":
        repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    else:
        done = repo.atomic_json("run", "--", "sh", "-c", op)
        assert reuc(repo) is not None
        repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert reuc(repo) is None
    assert repo.read("README") == b"resolved\n"
    assert repo.git("ls-files", "--resolve-undo") == ""


def subprocess_sh(repo: GitRepo, script: str) -> None:
    subprocess.run(["sh", "-c", script], cwd=repo.path, env=repo.env, check=True)


def shared_index(repo: GitRepo) -> str | None:
    """The shared index the index file is split on (its `link` extension's object name, read
    from its bytes), None for a whole index; checked to be a file in the git dir."""
    link = index_extensions((repo.path / ".git" / "index").read_bytes()).get("link")
    if link is None:
        return None
    name = "sharedindex." + link[:20].hex()
    assert (repo.path / ".git" / name).is_file(), name
    return name


# What an operation may do to a split index: edit it (git keeps it on its shared index, or
# makes a new one past splitIndex.maxPercentChange), make it whole, make it anew from nothing,
# split it again (a new shared index).
SPLIT_OPS = {
    "edited": "echo op > README; git add README",
    "edited past the rule": "echo b > b; echo c > c; git add b c; git rm -q a",
    "made whole": "git update-index --no-split-index",
    "made anew": "rm .git/index; git read-tree HEAD",
    "split again": "echo b > b; git add b; git update-index --split-index",
    # Its entries as they were, on a new shared index (git made one for `t`, then kept it).
    "moved to a new shared index": "echo t > t; git -c splitIndex.maxPercentChange=0 add t; "
    "git -c splitIndex.maxPercentChange=100 rm -q --cached t; rm t",
}


@pytest.mark.parametrize("history", ["shadow", "commits"])
@pytest.mark.parametrize("op", SPLIT_OPS)
@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_a_split_index_comes_back_split_on_its_shared_index(
    repo: GitRepo, history: str, op: str, how: str
) -> None:
    """`git update-index --split-index` alone (no core.splitIndex: git keeps an index split
    or whole as it finds it). A rollback built the index on a copy of the operation's: one it
    made whole, or made anew, came back whole; one git split anew, on the operation's shared
    index. It comes back split on the shared index it had, with its entries and flags."""
    repo.write("a", b"a\n")
    repo.write("kept", b"kept\n")
    repo.git("add", "a", "kept")
    repo.git("commit", "-qm", "a")
    repo.git("update-index", "--skip-worktree", "kept")
    repo.git("update-index", "--split-index")
    before = (shared_index(repo), repo.git("ls-files", "-s", "-t", "-v"))
    status = repo.git("status", "--porcelain")
    assert before[0] is not None
    if how == "failed-run":
        repo.atomic(
            "run", "--history", history, "--", "sh", "-c", SPLIT_OPS[op] + "; exit 1", check=1
        )
    else:
        done = repo.atomic_json(
            "run", "--history", history, "--no-gates", "--", "sh", "-c", SPLIT_OPS[op]
        )
        repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert (shared_index(repo), repo.git("ls-files", "-s", "-t", "-v")) == before
    assert repo.git("status", "--porcelain") == status


@pytest.mark.parametrize("history", ["shadow", "commits"])
def test_a_whole_index_an_operation_split_comes_back_whole(repo: GitRepo, history: str) -> None:
    """The other way: the operation split your whole index; its rollback leaves it whole, as
    it was, and `undo` splits it again, as the operation left it."""
    entries = repo.git("ls-files", "-s")
    repo.atomic(
        "run",
        "--history",
        history,
        "--",
        "sh",
        "-c",
        "git update-index --split-index; exit 1",
        check=1,
    )
    assert shared_index(repo) is None and repo.git("ls-files", "-s") == entries
    repo.atomic("undo", check=0)
    assert shared_index(repo) is not None and repo.git("ls-files", "-s") == entries


def test_a_split_index_whose_shared_index_is_damaged_comes_back_split(repo: GitRepo) -> None:
    """The operation made the index whole and wrote over its shared index: the index cannot be
    built on it, so it is built as it is and split again (git writes the shared index anew:
    the same entries make the same name), its entries kept, git reading it."""
    repo.git("update-index", "--split-index")
    shared = shared_index(repo)
    entries = repo.git("ls-files", "-s")
    script = f"git update-index --no-split-index; chmod u+w .git/{shared}; echo x > .git/{shared}"
    repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1)
    assert shared_index(repo) is not None
    assert repo.git("ls-files", "-s") == entries and repo.git("status", "--porcelain") == ""


def index_of(data: bytes) -> tuple[object, ...]:
    """What git goes by in an index file: its entries (path, mode, object, stage, flags), the
    shared index it is split on, and its extensions but the split index's own (link) and the
    cache tree (git's cache, which our write may leave stale: git hashes it again)."""
    ext = index_extensions(data)
    link = ext.pop("link", None)
    ext.pop("TREE", None)
    return (read_index(data), None if link is None else link[:20].hex(), sorted(ext.items()))


def whole_entries(repo: GitRepo) -> str:
    """The entries as git reads them, split or not (ls-files writes nothing)."""
    return repo.git("ls-files", "-s", "-t", "-v")


@pytest.mark.parametrize("split_by", ["update-index", "core.splitIndex"])
@pytest.mark.parametrize("expired", [False, True], ids=["kept", "expired"])
def test_an_unmerged_split_index_comes_back_on_its_shared_index(
    repo: GitRepo, split_by: str, expired: bool
) -> None:
    """A merge stopped on a conflict in a split index (its unmerged entries in the index's
    own part, on the shared index it had): held as its bytes. `undo` of the rollback brings it
    back on that shared index, the same entries, flags and extensions; where git expired that
    shared index since (a write of yours, `splitIndex.sharedIndexExpire`), the index held
    then could not be read (`fatal: ... sharedindex...: index file open failed`): it comes
    back with the same entries, split on a shared index git makes anew."""
    repo.git("config", "splitIndex.maxPercentChange", "100")
    repo.diverged()
    if split_by == "core.splitIndex":
        repo.git("config", "core.splitIndex", "true")
    # No racily clean entry: git's refresh after the restore (of the files it wrote) would
    # write an index with unmerged entries whole, as your next `git status` would.
    for name in ("README", "c"):
        os.utime(repo.path / name, (time.time() - 10, time.time() - 10))
    repo.git("update-index", "-q", "--really-refresh")
    repo.git("update-index", "--split-index")
    script = "git merge -q side; cp .git/index ../left-index; git ls-files -s -t -v > ../listing"
    script += "; exit 1"
    repo.atomic("run", "--", "sh", "-c", script, check=1)
    left = (repo.path.parent / "left-index").read_bytes()
    assert index_of(left)[1] is not None and any(e[3] for e in read_index(left))
    listing = whole_entries(repo)
    assert listing != (repo.path.parent / "listing").read_text()
    if expired:  # your write moves the index to a new shared index; git removes the old one
        repo.write("z", b"z\n")
        now = ("-c", "splitIndex.sharedIndexExpire=now")
        repo.git("-c", "splitIndex.maxPercentChange=0", *now, "add", "z")
        repo.git("rm", "-q", "--cached", "z")
        (repo.path / "z").unlink()
        assert not (repo.path / ".git" / f"sharedindex.{index_of(left)[1]}").exists()
    repo.atomic("undo", check=0)
    now = (repo.path / ".git" / "index").read_bytes()
    assert whole_entries(repo) == (repo.path.parent / "listing").read_text()
    if expired:
        assert shared_index(repo) is not None
    else:
        assert index_of(now) == index_of(left), (
            index_of(now)[1:],
            index_of(left)[1:],
            sorted(p.name for p in (repo.path / ".git").glob("shared*")),
        )
    assert "UU c" in repo.git("status", "--porcelain")


@pytest.mark.parametrize("where", ["scan index", "index"])
def test_a_fifo_at_an_index_s_name_beside_a_shared_index_is_no_split_index(
    repo: GitRepo, where: str
) -> None:
    """The operation puts a FIFO where our scan index is (or where your index is), while a
    `sharedindex.*` is in the git dir: reading it for the shared index it names waited for a
    writer for ever (the rollback's capture, in `scanindex.replace`; SIGTERM did not end it).
    It is no split index: the rollback ends, the tree as before; the next capture drops it."""
    repo.git("update-index", "--split-index")
    repo.atomic("run", "--", "true", check=0)  # our scan index, under .git/atomic
    assert list((repo.path / ".git" / "atomic").glob("scan-*"))
    entries = whole_entries(repo)
    names = ".git/atomic/scan-*" if where == "scan index" else ".git/index"
    script = f"for f in {names}; do rm $f; mkfifo $f; done; echo x > new; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", script, timeout=60)
    assert res.returncode == 1, res.stderr
    assert not repo.exists("new") and whole_entries(repo) == entries
    assert shared_index(repo) is not None
    repo.atomic("run", "--", "true", check=0, timeout=60)  # the next capture drops it
    assert not [p for p in (repo.path / ".git").rglob("*") if p.is_fifo()]


def index_shape(repo: GitRepo) -> tuple[str, bytes, bool]:
    """The index's flags (ls-files -v), version, and whether it is split (its `link`)."""
    data = (repo.path / ".git" / "index").read_bytes()
    return repo.git("ls-files", "-v"), data[4:8], "link" in index_extensions(data)


SHAPES = {
    "assume-unchanged": "git update-index --assume-unchanged a.txt",
    "skip-worktree": "git update-index --skip-worktree a.txt",
    "version 4": "git update-index --index-version 4",
    "split": "git update-index --split-index",
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_dry_run_names_the_index_s_flags_or_format_as_the_move_does(
    repo: GitRepo, shape: str
) -> None:
    """An operation that changed only the index's flags or format (no path, no entry's
    content): its rollback says "0 paths changed (and the index's flags or format)", and its
    dry run said "would change 0 paths" alone, as if there were nothing to take back."""
    repo.write("a.txt", b"a\n")
    repo.git("add", "a.txt")
    repo.git("commit", "-qm", "a")
    before = index_shape(repo)
    repo.atomic("run", "--", "sh", "-c", SHAPES[shape], check=0)
    assert index_shape(repo) != before
    dry = repo.atomic("rollback", "--dry-run", check=0)
    assert "would change 0 paths (and the index's flags or format)" in dry.stderr, dry.stderr
    done = repo.atomic("rollback", check=0)
    assert "0 paths changed (and the index's flags or format)" in done.stderr, done.stderr
    assert index_shape(repo) == before
