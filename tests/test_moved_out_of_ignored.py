"""A folder an operation moved out of a folder a rule ignores (`mv junk/F F2`, `mv build/sub
S`), or within one, comes back whole (foldermoves.py, with where it was from the walk's
listing inside ignored folders: ignoredinside.py).

No walk looked into `junk/`, so no capture knew `junk/F`: the rollback took F2's files into the
rescue and `junk/F` was gone from the disk (or, moved into another ignored folder, it stayed
there: "it had changed nothing"). Now it goes back to `junk/F` exactly: bytes, bits, mtimes,
links, an empty folder, the folder itself (its inode); where its place is taken it stays,
said. Oracle: the disk, by lstat (never git's answers)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from git_atomic.engine import changedtimes, discovery, folderfound, folderwalk, safefs
from testing.agents import shell_turn
from testing.gitrepo import GitRepo

# Where your folder is: directly in a folder a rule ignores at the top, deeper in it, in one
# the same rule ignores deeper in the tree.
WHERE = {"top": "junk/F", "deeper": "junk/a/F", "nested ignored folder": "src/junk/F"}
# Where the operation moves it: a name no rule ignores, one another rule ignores, into a new
# folder, into a folder of yours, and a new name in the same ignored folder.
DEST = {
    "not ignored": "F2",
    "ignored by another rule": "F2.tmp",
    "into a new folder": "new/er/F",
    "into an existing folder": "other/F",
    "renamed where it is": "{parent}/G",
}
Exact = dict[bytes, tuple[object, ...]]


def exact(top: Path) -> Exact:
    """Every entry under `top` (never through a link) with its kind, bytes or target, bits,
    mtime and inode; folders' mtimes only where nothing was made or removed in them."""
    out: Exact = {}
    base = os.fsencode(top)
    for dirpath, dirnames, filenames in os.walk(base):
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, base)
            if rel == b".git" or rel.startswith(b".git/"):
                continue
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(full), st.st_mtime_ns, st.st_ino)
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as fh:
                    data = fh.read()
                out[rel] = ("file", data, stat.S_IMODE(st.st_mode), st.st_mtime_ns, st.st_ino)
            else:
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), st.st_ino)
    return out


def _kinds(top: Path) -> Exact:
    """`exact` without the times and inodes: what a copy keeps."""
    return {p: e[:3] if e[0] == "file" else e[:2] for p, e in exact(top).items()}


def _setup(repo: GitRepo, where: str) -> None:
    """Your folder at `where` holding ignored files: an executable, a 0600 file, a link, an
    empty folder, a folder with a link out of it; `other/` a folder of yours."""
    repo.write(".gitignore", b"junk/\n*.tmp/\n")
    repo.write("src/app.py", b"app\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "rules")
    f = repo.path / where
    repo.write(f"{where}/c.bin", b"cache\n", mode=0o600)
    repo.write(f"{where}/run.sh", b"#!/bin/sh\n", mode=0o755)
    repo.write(f"{where}/deep/d.o", b"deep\n")
    (f / "empty").mkdir()
    os.symlink("c.bin", f / "ln")
    os.symlink("../c.bin", f / "deep" / "up")
    repo.write("junk/j.o", b"yours too\n")
    repo.write("other/o.txt", b"other\n")
    os.utime(f / "c.bin", ns=(1_000_000_000, 1_000_000_000))
    time.sleep(0.1)  # made well before PRE-OP (more than the clock's lag)


def _script(where: str, dest: str) -> tuple[str, str]:
    to = dest.format(parent=os.path.dirname(where))
    mkdir = f"mkdir -p {os.path.dirname(to)} && " if "/" in to else ""
    return f"{mkdir}mv {where} {to}", to


def _moved(before: Exact, frm: str, to: str) -> Exact:
    """`before` with what was under `frm` under `to` (the same entries, moved whole)."""
    a, b = frm.encode(), to.encode()
    return {
        (b + p[len(a) :] if p.startswith(a + b"/") or p == a else p): e for p, e in before.items()
    }


def _under(disk: Exact, folder: str) -> Exact:
    prefix = folder.encode() + b"/"
    return {p: e for p, e in disk.items() if p.startswith(prefix) or p == folder.encode()}


@pytest.mark.parametrize("dest", DEST)
@pytest.mark.parametrize("where", WHERE)
def test_a_folder_moved_out_of_an_ignored_folder_goes_back_exactly_and_undo_moves_it_again(
    repo: GitRepo, where: str, dest: str
) -> None:
    at = WHERE[where]
    _setup(repo, at)
    before = exact(repo.path)
    script, to = _script(at, DEST[dest])
    res = repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1)
    assert f"{at}/: found at {to}/ (the same folder, moved since); moved back" in res.stderr
    now = exact(repo.path)
    assert _under(now, at) == _under(before, at)  # bytes, bits, mtimes, links, the inodes
    assert set(now) == set(before)  # and nothing the operation made is left
    res = repo.atomic("undo", check=0)
    assert f"{to}/: found at {at}/ (the same folder, moved since); moved back" in res.stderr
    assert _under(exact(repo.path), to) == _under(_moved(before, at, to), to)
    assert not (repo.path / at).exists()


HOWS = ["abort", "rollback", "rollback --op", "an agent turn"]


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("dest", ["not ignored", "ignored by another rule", "renamed where it is"])
def test_every_take_back_moves_it_back(repo: GitRepo, dest: str, how: str) -> None:
    """A finished operation's rollback (exact), `rollback --op` on top of a later edit of
    yours, an abort, an agent turn's take-back; the operation also made a file in it, which
    goes (it is the operation's)."""
    at = WHERE["top"]
    _setup(repo, at)
    before = exact(repo.path)
    script, to = _script(at, DEST[dest])
    script += f" && echo made > {to}/made.txt"
    if how == "abort":
        repo.atomic("begin", "op", check=0)
        subprocess.run(["sh", "-c", script], cwd=repo.path, check=True)
        res = repo.atomic("abort", check=0)
        stderr = res.stderr
    elif how == "an agent turn":
        answer = shell_turn(repo, script, "echo x > bad")
        assert answer.get("decision") == "block", answer
        stderr = None
    else:
        stderr = _kept_then_rolled_back(repo, script, how).stderr
    if stderr is not None:
        assert f"{at}/: found at {to}/ (the same folder, moved since); moved back" in stderr
    now = exact(repo.path)
    if dest != "not ignored":
        # made where a rule hid it: in no checkpoint, an ignored file the operation made,
        # which stays as any (README, what it does not do); moved back with the folder
        assert now.pop(f"{at}/made.txt".encode())[:2] == ("file", b"made\n")
    assert _under(now, at) == _under(before, at)
    assert not (repo.path / to).exists()
    if how == "rollback --op":
        assert (repo.path / "src/app.py").read_bytes() == b"yours\n"


def test_a_folder_whose_place_the_operation_took_stays_and_is_named(repo: GitRepo) -> None:
    """The operation made a folder of its own at `junk/F` once it moved yours out: yours
    cannot go back (that is not yours to remove, nor to mix with yours). Named; your files
    are on disk or in the rescue, which `undo` brings back."""
    _setup(repo, "junk/F")
    disk = _kinds(repo.path)
    mine = {p[len(b"junk/F/") :]: e for p, e in disk.items() if p.startswith(b"junk/F/")}
    script = "mv junk/F F2 && mkdir junk/F && echo theirs > junk/F/t.o"
    res = repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1)
    assert "junk/F/: found at F2/ (the same folder, moved since), and junk/F is not free" in (
        res.stderr
    )
    # The line says what the restore did: F2's files went to the rescue (none a rule ignores
    # there), F2 with them; it said "F2/ is left where it is" of a folder gone.
    assert not os.path.lexists(repo.path / "F2")
    assert "F2/ is not moved back; the restore took its files into the rescue" in res.stderr
    assert "and it is gone" in res.stderr and "left where it is" not in res.stderr
    repo.atomic("undo", check=0)
    after = {p[len(b"F2/") :]: e for p, e in _kinds(repo.path).items() if p.startswith(b"F2/")}
    assert after == mine


def test_a_rollback_after_rm_rf_lists_no_folder_of_a_large_ignored_tree(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder gone (`rm -rf F`) was looked for in up to 2,000 folders inside the ignored
    ones, each listed (a large `node_modules/`): now only in those the last walk listed that
    changed since; none here."""
    repo.write(".gitignore", b"node_modules/\n*.bin\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "rules")
    for i in range(300):
        (repo.path / "node_modules" / f"p{i}" / "lib").mkdir(parents=True)
    repo.write("F/c.bin", b"cache\n")
    monkeypatch.setattr(folderwalk, "_RACY_NS", 200_000_000)
    time.sleep(0.3)
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    walked = folderwalk.walk(g)
    assert walked is not None and b"F" in walked.ids
    ident = walked.ids[b"F"]
    assert folderwalk.ignored_met(g) is not None
    since = time.time()
    subprocess.run(["rm", "-rf", "F"], cwd=repo.path, check=True)
    listed: list[object] = []
    scandir = os.scandir

    def counted(path: object) -> object:
        listed.append(path)
        return scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(folderfound.os, "scandir", counted)
    now = {p: i for p, i in walked.ids.items() if p != b"F"}
    with safefs.Tree(os.fsencode(repo.path)) as tree:
        found = folderfound.in_ignored(g, tree, {b"F": ident}, now, since)
    assert b"F" not in found and ident not in found.values()
    assert len(listed) <= 1  # (the top, changed by the rm)


# What the operation left where the ignored folder your folder was in stood.
WAY = {
    "a link out of the tree": "ln -s {outside} junk",
    "a file": "echo theirs > junk",
}


@pytest.mark.parametrize("way", WAY)
def test_a_link_or_file_the_operation_put_where_its_folder_was_makes_way(
    repo: GitRepo, tmp_path: Path, way: str
) -> None:
    """`mv junk/F F2 && rm -rf junk && ln -s elsewhere junk`: `junk/F` could not be made
    (blocked by the link), so F2 stayed and the restore took it into the rescue, `junk/F`
    gone. The link (or file) is the operation's, held by the rescue, and the restore would
    take it away: it goes first, and `junk/F` is back; nothing outside is touched, and `undo`
    puts both back."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "o.txt").write_bytes(b"outside\n")
    _setup(repo, "junk/F")
    before = exact(repo.path)
    outside_before = exact(outside)
    script = "mv junk/F F2 && rm -rf junk && " + WAY[way].format(outside=outside)
    res = repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1)
    assert "junk/F/: found at F2/ (the same folder, moved since); moved back" in res.stderr
    now = exact(repo.path)
    del before[b"junk/j.o"]  # (your ignored file the operation removed: in no checkpoint)
    assert _under(now, "junk/F") == _under(before, "junk/F")
    assert not (repo.path / "F2").exists()
    assert exact(outside) == outside_before
    repo.atomic("undo", check=0)
    assert _under(exact(repo.path), "F2") == _under(_moved(before, "junk/F", "F2"), "F2")
    assert (repo.path / "junk").is_symlink() == (way == "a link out of the tree")
    assert exact(outside) == outside_before


FROM_NOWHERE = {
    "deeper in an ignored tree than the walk lists": "mv junk/p99/F F2",
    "into a new folder": "mkdir -p n/e && mv junk/p99/F n/e/F2",
    "from outside the worktree": "mv {outside} F2",
}


def _kept_then_rolled_back(
    repo: GitRepo, script: str, how: str
) -> subprocess.CompletedProcess[str]:
    """`script` run and kept, then taken back by `rollback` or (after an edit of yours to
    src/app.py) `rollback --op`: what that said."""
    out = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", script)
    time.sleep(0.1)
    if how == "rollback --op":
        repo.write("src/app.py", b"yours\n")
        return repo.atomic("rollback", "--op", str(out["op_id"]), check=0)
    return repo.atomic("rollback", check=0)


def _deep_in_ignored(repo: GitRepo) -> None:
    """`junk/` ignored, with more folders than the walk lists inside it, and your folder
    `junk/p99/F` deep in it (skipped where the filesystem tells no folder's birth)."""
    top = os.open(repo.path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if changedtimes.birth_time(top, b".git") is None:
            pytest.skip("this filesystem does not tell a folder's birth: nothing is said")
    finally:
        os.close(top)
    repo.write(".gitignore", b"junk/\n")
    repo.write("src/app.py", b"app\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "rules")
    for i in range(300):  # (more than the walk lists inside ignored folders)
        (repo.path / "junk" / f"p{i}").mkdir(parents=True)
    repo.write("junk/p99/F/x.txt", b"yours\n")


@pytest.mark.parametrize("how", FROM_NOWHERE)
def test_a_folder_no_checkpoint_knew_is_named_with_the_way_back(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """A folder older than PRE-OP that no capture knew (past what the walk lists inside a
    large ignored tree, or from outside): no move takes it back, and the restore takes its
    files into the rescue as the operation's. It was said nowhere; now a warning names it,
    and `undo` brings it back. A copy (`cp -a`, new birth) is the operation's: not named."""
    _deep_in_ignored(repo)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.txt").write_bytes(b"yours\n")
    time.sleep(0.1)
    script = FROM_NOWHERE[how].format(outside=outside)
    script += f" && cp -a {repo.path / 'src'} copied"
    res = repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1)
    to = script.split(" && cp")[0].rsplit(" ", 1)[1]
    assert f"{to}/: an older folder than the state the rollback goes back to" in res.stderr
    assert "copied/" not in res.stderr
    assert not (repo.path / to).exists()
    repo.atomic("undo", check=0)
    assert (repo.path / to / "x.txt").read_bytes() == b"yours\n"


@pytest.mark.parametrize(
    "script", ["echo f > E/f", "mkdir -p E/x/y && echo f > E/x/y/f", "mv E E2 && echo f > E2/f"]
)
def test_an_empty_folder_of_yours_filled_is_not_named(repo: GitRepo, script: str) -> None:
    """No capture keeps an empty folder's identity (it holds the folder itself): filled by
    the operation, it is older than PRE-OP and unknown by identity, but known by its path
    (or, moved, by its path gone)."""
    repo.write("s/s.txt", b"s\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "s")
    (repo.path / "E").mkdir()
    time.sleep(0.1)
    res = repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1)
    assert "an older folder" not in res.stderr
    assert (repo.path / "E").is_dir() and not any((repo.path / "E").iterdir())


def test_the_listing_inside_ignored_folders_never_goes_through_a_link_or_into_a_repository(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A link where an ignored folder is (`junk -> outside`), a link to a folder inside one,
    a repository of its own inside one: nothing below them is listed (no folder-id names a
    path through them), and nothing outside is opened; a second walk reads what changed."""
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    repo.write(".gitignore", b"junk/\nbuild/\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "rules")
    os.symlink(outside, repo.path / "junk")
    (repo.path / "build" / "sub" / "in").mkdir(parents=True)
    os.symlink(outside, repo.path / "build" / "ln")
    (repo.path / "build" / "own" / ".git").mkdir(parents=True)
    (repo.path / "build" / "own" / "x").mkdir()
    monkeypatch.setattr(folderwalk, "_RACY_NS", 100_000_000)
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    walked = folderwalk.walk(g)
    assert walked is not None
    ids = set(walked.ids)
    assert {b"build", b"build/sub", b"build/sub/in", b"build/own"} <= ids
    assert not {p for p in ids if p.startswith((b"junk", b"build/ln", b"build/own/"))}
    time.sleep(0.2)
    os.rename(repo.path / "build" / "sub", repo.path / "build" / "sub2")
    again = folderwalk.walk(g)
    assert again is not None and b"build/sub2/in" in again.ids and b"build/sub" not in again.ids
    assert again.ids[b"build/sub2"] == walked.ids[b"build/sub"]


@pytest.mark.parametrize("how", ["rollback", "rollback --op", "an agent turn"])
def test_an_effect_taken_back_names_a_folder_no_checkpoint_knew(repo: GitRepo, how: str) -> None:
    """The same, where the effect is taken back (its end has the folder, its start knew it
    nowhere): said nowhere before; named now, and `undo` brings it back."""
    _deep_in_ignored(repo)
    time.sleep(0.1)
    script = "mv junk/p99/F F2"
    said = "F2/: an older folder than the state the rollback goes back to"
    if how == "an agent turn":
        answer = shell_turn(repo, script, "echo x > bad")
        assert answer.get("decision") == "block", answer
        assert said in json.dumps(answer)
    else:
        assert said in _kept_then_rolled_back(repo, script, how).stderr
    assert not (repo.path / "F2").exists()
    repo.atomic("undo", check=0)
    assert (repo.path / "F2" / "x.txt").read_bytes() == b"yours\n"


def test_a_folder_whose_place_was_taken_keeps_its_ignored_files_and_says_so(
    repo: GitRepo,
) -> None:
    """Where a rule ignores some of its files where the operation moved it (`*.o`), the
    restore takes only the others into the rescue: F2/ stays with those, and the line names
    them (not "left where it is" with files gone from it)."""
    repo.write(".gitignore", b"junk/\n*.o\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "rules")
    repo.write("junk/F/kept.o", b"ignored everywhere\n")
    repo.write("junk/F/taken.txt", b"ignored only in junk/\n")
    time.sleep(0.1)
    script = "mv junk/F F2 && mkdir junk/F && echo theirs > junk/F/t.o"
    res = repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1)
    assert sorted(os.listdir(repo.path / "F2")) == ["kept.o"], res.stderr
    assert repo.read("F2/kept.o") == b"ignored everywhere\n"
    assert "the restore took the files a checkpoint holds in it into the rescue" in res.stderr
    assert "it stays with what the restore left in it (kept.o:" in res.stderr
    repo.atomic("undo", check=0)
    assert repo.read("F2/taken.txt") == b"ignored only in junk/\n"
