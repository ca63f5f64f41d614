"""Intent-to-add entries (`git add -N`) made again from a scratch work tree
(indexbuild.add_intents), attacked over layouts, index formats, settings and names.

Each case draws an index holding intent-to-add entries of every kind: a file as it was, one
made executable since, one whose file is gone, a link now a file and a file now a link, one
whose place is now a folder, an embedded repository's (a gitlink, mode 160000), and names
that are not UTF-8, hold a newline or a tab, start with a dash or sit deep in folders. Then
an operation that only touches the index elsewhere is run, and taken back two ways: by name
(`rollback`, the whole state) and by its effect (`rollback --op`, after a change of yours to
the index since). The oracle is the index as `ls-files -s --debug` reads it (modes, ids,
stages, flags; never the status data), `git status --porcelain=v2` and the disk (lstat,
readlink, bytes, mtime), before and after; and that nothing of ours is left or was run: no
scratch folder in `.git/atomic/tmp`, no call of your fsmonitor hook, filter or
`post-index-change` hook from the scratch tree."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testing import oracle
from testing.gitrepo import GitRepo, index_extensions

ITA = 1 << 29
ODD = [
    b"\xff-not-utf8",
    b"new\nline",
    b"tab\there",
    b"-dash",
    b"a/b/c/d/e/f/g/h/deep",
    b"glob*[x]?",
    b":(exclude)magic",
    b"back\\slash",
    b" space ",
]


def _disk(root: Path) -> dict[bytes, tuple[object, ...]]:
    """Every entry of the worktree but the git dir: kind and mode, bytes or link, mtime. Read
    folder by folder from descriptors (a deep name passes PATH_MAX as one absolute name)."""
    out: dict[bytes, tuple[object, ...]] = {}
    for folder, dirnames, filenames, fd in os.fwalk(os.fsencode(root)):
        rel = os.path.relpath(folder, os.fsencode(root))
        if rel == b".":
            dirnames[:] = [d for d in dirnames if d != b".git"]
            filenames = [f for f in filenames if f != b".git"]
        for name in dirnames + filenames:
            st = os.lstat(name, dir_fd=fd)
            if stat.S_ISLNK(st.st_mode):
                content: object = os.readlink(name, dir_fd=fd)
            elif stat.S_ISREG(st.st_mode):
                opened = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
                with os.fdopen(opened, "rb") as fh:
                    content = fh.read()
            else:
                content = None
            mtime = None if stat.S_ISDIR(st.st_mode) else st.st_mtime_ns
            out[os.path.normpath(os.path.join(rel, name))] = (st.st_mode, mtime, content)
    return out


def _index(repo: GitRepo) -> list[tuple[bytes, str, str, int, int]]:
    return oracle.index_entries(repo.env, repo.path)


def _status(repo: GitRepo) -> bytes:
    return subprocess.run(
        ["git", "-c", "core.fsmonitor=false", "status", "--porcelain=v2", "-z", "-uall"],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        check=True,
    ).stdout


def _state(repo: GitRepo) -> tuple[object, ...]:
    return (_index(repo), _status(repo), _disk(repo.path))


def _same(repo: GitRepo, before: tuple[object, ...], *, made_again: bool = False) -> None:
    """`made_again`: files the move wrote anew have a new mtime; the rest is compared."""
    index, status, disk = _state(repo)
    assert index == before[0]
    assert status == before[1]
    if made_again:
        was = before[2]
        assert isinstance(was, dict)
        assert {p: (m, c) for p, (m, _, c) in disk.items()} == {
            p: (m, c) for p, (m, _, c) in was.items()
        }
    else:
        assert disk == before[2]


def _git_dir(repo: GitRepo) -> Path:
    return Path(repo.git("rev-parse", "--absolute-git-dir").strip())


def _common_dir(repo: GitRepo) -> Path:
    return Path(repo.git("rev-parse", "--path-format=absolute", "--git-common-dir").strip())


def _write(root: Path, rel: bytes, data: bytes, mode: int = 0o644) -> None:
    """`rel` written under `root` folder by folder, from descriptors (as `_disk` reads)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    *folders, name = rel.split(b"/")
    try:
        for part in folders:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, dir_fd=fd)
            below = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = below
        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode, dir_fd=fd)
        with os.fdopen(out, "wb") as fh:
            fh.write(data)
            os.fchmod(fh.fileno(), mode)
    finally:
        os.close(fd)


def _add_n(repo: GitRepo, *paths: bytes) -> None:
    subprocess.run(
        ["git", "add", "-N", "-f", "--sparse", "--pathspec-from-file=-", "--pathspec-file-nul"],
        cwd=repo.path,
        env={**repo.env, "GIT_LITERAL_PATHSPECS": "1"},
        input=b"".join(p + b"\0" for p in paths),
        capture_output=True,
        check=True,
    )


def _intents(repo: GitRepo, *, names: bool = True, gitlink: bool = True) -> None:
    """Intent-to-add entries of every kind, and what you did to their files since."""
    root = os.fsencode(repo.path)
    _write(repo.path, b"n/plain.txt", b"plain\n")
    _write(repo.path, b"x.sh", b"#!/bin/sh\n")
    _write(repo.path, b"gone.txt", b"gone\n")
    _write(repo.path, b"file2link", b"was a file\n")
    _write(repo.path, b"dir_now", b"was a file\n")
    os.symlink(b"README", root + b"/link2file")
    paths = [b"n/plain.txt", b"x.sh", b"gone.txt", b"file2link", b"dir_now", b"link2file"]
    if names:
        for name in ODD:
            _write(repo.path, name, b"odd\n")
        paths += ODD
    if gitlink:
        inner = repo.path / "sub" / "inner"
        inner.mkdir(parents=True)
        env = {**repo.env, "GIT_DIR": str(inner / ".git"), "GIT_WORK_TREE": str(inner)}
        for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "i"]):
            subprocess.run(["git", *args], cwd=inner, env=env, check=True, capture_output=True)
        paths.append(b"sub/inner")
    _add_n(repo, *paths)
    repo.git("update-index", "--assume-unchanged", "n/plain.txt")  # its flags come back too
    os.chmod(repo.path / "x.sh", 0o755)
    os.unlink(repo.path / "gone.txt")
    os.unlink(repo.path / "file2link")
    os.symlink(b"README", root + b"/file2link")
    os.unlink(repo.path / "link2file")
    _write(repo.path, b"link2file", b"now a file\n")
    os.unlink(repo.path / "dir_now")
    _write(repo.path, b"dir_now/inside", b"a folder now\n")


def _plain(repo: GitRepo, tmp_path: Path) -> GitRepo:
    return repo


def _linked(repo: GitRepo, tmp_path: Path) -> GitRepo:
    wt = tmp_path / "linked"
    repo.git("worktree", "add", "-q", "-b", "wtb", str(wt))
    return GitRepo(wt, repo.env)


def _core_worktree(repo: GitRepo, tmp_path: Path) -> GitRepo:
    """The git dir elsewhere, the worktree named by `core.worktree` (and a `.git` file)."""
    made = GitRepo.create(tmp_path / "cw", tmp_path / "home", git_dir=tmp_path / "cw.git")
    made.git("config", "core.worktree", str(made.path))
    return made


def _sparse(repo: GitRepo, tmp_path: Path, *, index: bool) -> GitRepo:
    for rel in (b"in/keep", b"out/keep", b"out/deeper/keep"):
        _write(repo.path, rel, b"k\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "folders")
    # git 2.39's own write-tree crashes on a sparse index holding an intent-to-add entry
    # outside the cone (git-atomic then says git cannot read the index): with one, the
    # entries' folders are in the cone, and only `out` is outside.
    cone = ["--sparse-index", "in", "n", "a", "sub", "dir_now"] if index else ["in"]
    repo.git("sparse-checkout", "set", "--cone", *cone)
    return repo


def _split(repo: GitRepo, tmp_path: Path) -> GitRepo:
    repo.git("config", "core.splitIndex", "true")
    repo.git("config", "splitIndex.maxPercentChange", "100")
    repo.git("update-index", "--split-index")
    return repo


def _v4(repo: GitRepo, tmp_path: Path) -> GitRepo:
    repo.git("config", "index.version", "4")
    repo.git("update-index", "--index-version", "4")
    return repo


def _untracked_cache(repo: GitRepo, tmp_path: Path) -> GitRepo:
    repo.git("config", "core.untrackedCache", "true")
    repo.git("update-index", "--untracked-cache")
    return repo


def _fsmonitor_hook(repo: GitRepo, tmp_path: Path) -> GitRepo:
    hook = tmp_path / "fsmonitor.sh"
    hook.write_text(f'#!/bin/sh\necho "$PWD $*" >> {tmp_path / "fsmonitor.log"}\nexit 1\n')
    hook.chmod(0o755)
    repo.git("config", "core.fsmonitor", str(hook))
    return repo


def _fsmonitor_daemon(repo: GitRepo, tmp_path: Path) -> GitRepo:
    repo.git("config", "core.fsmonitor", "true")  # (not supported on Linux by git 2.39)
    return repo


def _hooks_and_filters(repo: GitRepo, tmp_path: Path) -> GitRepo:
    """A clean filter that logs where it runs, on every file; a `post-index-change` hook."""
    log = tmp_path / "ran.log"
    repo.git("config", "filter.boom.clean", f'sh -c "echo clean $PWD >> {log}; cat"')
    repo.git("config", "filter.boom.required", "true")
    (repo.path / ".git" / "info" / "attributes").write_bytes(b"* filter=boom\n")
    hook = repo.path / ".git" / "hooks" / "post-index-change"
    hook.write_text(f'#!/bin/sh\necho "hook $PWD" >> {log}\n')
    hook.chmod(0o755)
    return repo


def _no_file_modes(repo: GitRepo, tmp_path: Path) -> GitRepo:
    """git told not to trust the executable bit nor to make links (a Windows checkout's)."""
    repo.git("config", "core.fileMode", "false")
    repo.git("config", "core.symlinks", "false")
    return repo


LAYOUTS: dict[str, Callable[[GitRepo, Path], GitRepo]] = {
    "no-file-modes": _no_file_modes,
    "plain": _plain,
    "linked-worktree": _linked,
    "core.worktree": _core_worktree,
    "sparse": lambda r, t: _sparse(r, t, index=False),
    "sparse-index": lambda r, t: _sparse(r, t, index=True),
    "split-index": _split,
    "index-v4": _v4,
    "untracked-cache": _untracked_cache,
    "fsmonitor-hook": _fsmonitor_hook,
    "fsmonitor-daemon": _fsmonitor_daemon,
    "filters-and-hooks": _hooks_and_filters,
}


def _no_scratch_left(repo: GitRepo) -> None:
    tmp = _common_dir(repo) / "atomic" / "tmp"
    assert not [n for n in os.listdir(tmp) if n.startswith("intents-")] if tmp.exists() else True


def _nothing_ran_in_scratch(tmp_path: Path) -> None:
    for log in ("fsmonitor.log", "ran.log"):
        text = (tmp_path / log).read_text() if (tmp_path / log).exists() else ""
        assert "atomic" not in text, text


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_intents_of_every_kind_come_back_exactly(
    repo: GitRepo, tmp_path: Path, layout: str
) -> None:
    repo = LAYOUTS[layout](repo, tmp_path)
    _intents(repo)
    if layout == "sparse":  # (git 2.39's own `add -N` crashes there in a sparse index)
        _write(repo.path, b"out/ita.txt", b"outside the cone\n")
        _add_n(repo, b"out/ita.txt")
        repo.git("update-index", "--skip-worktree", "out/ita.txt")
        os.unlink(repo.path / "out" / "ita.txt")
    uc = layout == "untracked-cache"
    before = _state(repo)
    _write(repo.path, b"other", b"o\n")
    script = "git rm -q --cached -f gone.txt n/plain.txt; echo new > new; git add new other"
    repo.atomic("run", "--no-gates", "--", "sh", "-c", script, check=0)
    after_op = _state(repo)
    assert after_op != before
    repo.atomic("rollback", check=0)
    repo.atomic("undo", check=0)  # the operation's end, its intent-to-add entries gone
    _same(repo, after_op, made_again=True)
    repo.atomic("rollback", check=0)
    os.unlink(repo.path / "other")
    _same(repo, before)
    if uc:
        assert "UNTR" in index_extensions((_git_dir(repo) / "index").read_bytes())

    # By its effect, after a change of yours to the index: yours stays, the rest is as before.
    _write(repo.path, b"other", b"o\n")
    repo.atomic("run", "--no-gates", "--", "sh", "-c", script, check=0)
    op_id: str = repo.atomic_json("log")["operations"][0]["op_id"]
    _write(repo.path, b"mine", b"yours\n")
    _add_n(repo, b"mine")
    repo.atomic("rollback", "--op", op_id, check=0)
    os.unlink(repo.path / "other")
    index = _index(repo)
    assert [e for e in index if e[0] == b"mine"] == [
        (b"mine", "100644", oracle.blob_id(b""), 0, ITA)
    ]
    assert [e for e in index if e[0] != b"mine"] == before[0]
    disk = _disk(repo.path)
    del disk[b"mine"]
    assert disk == before[2]
    if uc:
        untracked = index_extensions((_git_dir(repo) / "index").read_bytes())["UNTR"]
        # Still this worktree's (git's add -N on the scratch tree did not make it that one's,
        # which your next status would drop as another location's), and it says what git
        # finds without it.
        assert b"Location " + os.fsencode(repo.path) + b", system" in untracked
        plain = ["status", "--porcelain=v2", "-z", "--untracked-files=normal"]
        assert repo.git(*plain) == repo.git("-c", "core.untrackedCache=false", *plain)
    if layout == "filters-and-hooks":  # (it runs for your git add -N)
        assert "hook" in (tmp_path / "ran.log").read_text()
    _no_scratch_left(repo)
    _nothing_ran_in_scratch(tmp_path)


def test_a_caller_environment_naming_the_repository(repo: GitRepo, tmp_path: Path) -> None:
    """GIT_DIR and GIT_WORK_TREE (and GIT_INDEX_FILE naming the same index) set by the
    caller, the command run from elsewhere."""
    _intents(repo)
    before = _state(repo)
    env = {
        "GIT_DIR": str(repo.path / ".git"),
        "GIT_WORK_TREE": str(repo.path),
        "GIT_INDEX_FILE": str(repo.path / ".git" / "index"),
    }
    repo.atomic("run", "--no-gates", "--", "git", "rm", "-q", "--cached", "-f", "x.sh", env=env)
    repo.atomic("rollback", check=0, env=env, cwd=tmp_path)
    _same(repo, before)
    _no_scratch_left(repo)


def test_ignore_case_entries_differing_only_in_case(repo: GitRepo) -> None:
    """`core.ignoreCase=true` on a filesystem that tells `A` from `a`: both entries stay."""
    for name in (b"Case.txt", b"case.txt"):
        _write(repo.path, name, name)
    _add_n(repo, b"Case.txt", b"case.txt")
    os.unlink(repo.path / "case.txt")
    repo.git("config", "core.ignoreCase", "true")
    before = _state(repo)
    repo.atomic("run", "--no-gates", "--", "git", "rm", "-q", "--cached", "-f", "Case.txt")
    repo.atomic("rollback", check=0)
    _same(repo, before)


def test_a_name_deeper_than_the_scratch_tree_has_room_for(repo: GitRepo) -> None:
    """A path git and you handle from the worktree's top (4,060 bytes, under PATH_MAX) is
    longer than that once under `.git/atomic/tmp/intents-<pid>-<n>/` as one absolute name: the
    scratch tree is made folder by folder (this was an internal error, OSError 36)."""
    deep = b"/".join([b"d" * 200] * 20) + b"/" + b"e" * 40 + b"/f"
    _write(repo.path, deep, b"deep\n")
    _add_n(repo, deep)
    before = _state(repo)
    repo.atomic("run", "--no-gates", "--", "git", "rm", "-q", "--cached", "-f", deep.decode())
    res = repo.atomic("rollback", check=0)
    assert "internal error" not in res.stderr
    _same(repo, before)
    _no_scratch_left(repo)


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_an_embedded_repositorys_intent_to_add_entry_stays_a_gitlink(
    tmp_path: Path, object_format: str
) -> None:
    """`git add -N sub/inner` of an embedded repository makes an intent-to-add gitlink
    (160000): it came back as an empty file's entry (100644), and the restore said "exactly
    its PRE-OP state"."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home", object_format=object_format)
    inner = repo.path / "sub" / "inner"
    inner.mkdir(parents=True)
    env = {**repo.env, "GIT_DIR": str(inner / ".git"), "GIT_WORK_TREE": str(inner)}
    for args in (["init", "-q", f"--object-format={object_format}"], ["commit", "-q", "-m", "i"]):
        subprocess.run(
            ["git", *args, *(["--allow-empty"] if "commit" in args else [])],
            cwd=inner,
            env=env,
            check=True,
            capture_output=True,
        )
    _add_n(repo, b"sub/inner")
    before = _state(repo)
    assert [e[1] for e in _index(repo) if e[0] == b"sub/inner"] == ["160000"]
    repo.atomic("run", "--no-gates", "--", "git", "rm", "-q", "--cached", "-f", "sub/inner")
    repo.atomic("rollback", check=0)
    _same(repo, before)
    shutil.rmtree(inner)  # and with its folder gone since
    before = _state(repo)
    repo.write("other", b"o\n")
    repo.atomic("run", "--no-gates", "--", "git", "add", "other", check=0)
    repo.atomic("rollback", check=0)
    os.unlink(repo.path / "other")
    _same(repo, before)
    _no_scratch_left(repo)


def test_a_scratch_tree_a_killed_restore_left_is_swept(repo: GitRepo, tmp_path: Path) -> None:
    """A restore killed (-9) while git made the entries from its scratch tree leaves the tree
    in `.git/atomic/tmp`: `recover` removes it once its process is gone (it removed only files
    there, and the folder stayed for good)."""
    _intents(repo, names=False, gitlink=False)
    before = _state(repo)
    repo.atomic("run", "--no-gates", "--", "git", "rm", "-q", "--cached", "-f", "x.sh", check=0)
    # A git on the PATH that waits where it is asked to make the entries: the restore holds
    # there until it is killed.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    real = shutil.which("git", path=repo.env.get("PATH"))
    (bin_dir / "git").write_text(
        f'#!/bin/sh\ncase "$*" in *--work-tree=*intents-*) sleep 60;; esac\nexec {real} "$@"\n'
    )
    (bin_dir / "git").chmod(0o755)
    env = {**repo.env, "PATH": f"{bin_dir}{os.pathsep}{repo.env.get('PATH', '')}"}
    tmp = repo.path / ".git" / "atomic" / "tmp"
    proc = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", "rollback"],
        cwd=repo.path,
        env={**env, "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not [n for n in os.listdir(tmp) if n.startswith("intents-")]:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert [n for n in os.listdir(tmp) if n.startswith("intents-")]
    repo.atomic("recover")
    _no_scratch_left(repo)
    _same(repo, before)  # and the rollback finished: the entries as they were


@pytest.mark.parametrize(
    ("ita", "yours"),
    [
        ("x", "rm x && mkdir x && echo y > x/y && git add x/y"),
        ("x/y", "rm -r x && echo f > x && git add x"),
    ],
)
def test_an_intent_to_add_made_again_where_you_staged_other_entries_is_an_overlap(
    repo: GitRepo, ita: str, yours: str
) -> None:
    """The operation removed your `git add -N x`; you then staged `x/y` (or, for an entry
    `x/y`, a file `x`). Its take-back made the entry again with `add -N`, which replaced
    your staged entries with it: your `x/y` was gone from the index, and the take-back said
    "later changes kept". Now an overlap: nothing changes, exit 3, the path named."""
    _write(repo.path, ita.encode(), b"intent\n")
    _add_n(repo, ita.encode())
    repo.atomic("run", "--no-gates", "--", "git", "rm", "-q", "--cached", "-f", ita, check=0)
    op_id: str = repo.atomic_json("log")["operations"][0]["op_id"]
    subprocess.run(["sh", "-c", yours], cwd=repo.path, env=repo.env, check=True)
    before = _state(repo)
    for dry in (["--dry-run"], []):
        res = repo.atomic("rollback", "--op", op_id, *dry, check=3)
        assert ita in res.stderr and "git add -N" in res.stderr, res.stderr
        _same(repo, before)


def test_an_intent_to_add_made_again_under_one_of_yours_is_an_overlap(repo: GitRepo) -> None:
    """The operation removed an intent-to-add entry `a/b`; you then made `a` a file and ran
    `git add -N a`. The take-back would make `a/b` again beside your `a`, which no index
    holds: its scratch tree could not be made (NotADirectoryError), the restore stopped half
    way, and every `recover` of it stopped the same way, the worktree's operations waiting on
    it. Now an overlap: nothing changes, exit 3."""
    _write(repo.path, b"a/b", b"b\n")
    _add_n(repo, b"a/b")
    repo.atomic("run", "--no-gates", "--", "git", "rm", "-q", "--cached", "-f", "a/b", check=0)
    op_id: str = repo.atomic_json("log")["operations"][0]["op_id"]
    shutil.rmtree(repo.path / "a")
    _write(repo.path, b"a", b"a\n")
    _add_n(repo, b"a")
    before = _state(repo)
    for dry in (["--dry-run"], []):
        res = repo.atomic("rollback", "--op", op_id, *dry, check=3)
        assert "a/b" in res.stderr and "internal error" not in res.stderr, res.stderr
        _same(repo, before)
    assert "interrupted" not in repo.atomic("status").stdout
    _no_scratch_left(repo)


def test_a_dead_processs_scratch_tree_of_the_same_name_is_replaced(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A restore killed in a container left `intents-<pid>-<n>`; after a restart a process of
    the same pid names its scratch files in the same order: the name is taken (a folder of
    stale files, or a link to elsewhere). It made the restore an internal error
    (FileExistsError) half way; now the leftover is removed, never through the link."""
    from git_atomic.engine import discovery, indexbuild

    _write(repo.path, b"a/x", b"x\n")
    _write(repo.path, b"b", b"b\n")
    discovery.discover.cache_clear()
    found = discovery.discover(str(repo.path))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_bytes(b"not ours\n")
    taken = found.scratch_path("intents")
    number = int(taken.name.rsplit("-", 1)[1])
    stale = taken.parent / f"intents-{os.getpid()}-{number + 1}"  # the next two names
    (stale / "a").mkdir(parents=True)
    (stale / "a" / "x").write_bytes(b"stale\n")
    (taken.parent / f"intents-{os.getpid()}-{number + 2}").symlink_to(outside)
    indexbuild.add_intents(found, {b"a/x": "100755", b"b": "120000"}, {})
    indexbuild.add_intents(found, {b"c": "100644"}, {})
    modes = {e[0]: (e[1], e[4]) for e in _index(repo)}
    assert modes[b"a/x"] == ("100755", ITA) and modes[b"b"] == ("120000", ITA)
    assert modes[b"c"] == ("100644", ITA)
    assert [p.name for p in outside.iterdir()] == ["keep"]
    assert (outside / "keep").read_bytes() == b"not ours\n"
    assert not [n for n in os.listdir(taken.parent) if n.startswith(f"intents-{os.getpid()}-")]


# What you did to an intent-to-add entry's file since `git add -N`.
SINCE = ("kept", "chmod", "gone", "folder", "link", "file")
POOL = [b"p", b"q/r", b"\xfe s", b"-t\n", b"u/v/w"]


def _draw_world(root: Path, entries: dict[bytes, tuple[str, str]]) -> GitRepo:
    """A repository whose index holds an intent-to-add entry at each path of `entries`
    (path -> (made from a file or a link, what was done to it since))."""
    repo = GitRepo.create(root / "repo", root / "home")
    base = os.fsencode(repo.path)
    for path, (made, _) in entries.items():
        if made == "link":
            os.makedirs(os.path.dirname(base + b"/" + path) or base, exist_ok=True)
            os.symlink(b"README", base + b"/" + path)
        else:
            _write(repo.path, path, b"made\n")
    _add_n(repo, *entries)
    for path, (made, since) in entries.items():
        full = base + b"/" + path
        if since == "chmod" and made == "file":
            os.chmod(full, 0o755)
        elif since != "kept":
            os.unlink(full)
            if since == "folder":
                _write(repo.path, path + b"/inside", b"a folder now\n")
            elif since == "link":
                os.symlink(b"README", full)
            elif since == "file":
                _write(repo.path, path, b"a file now\n")
    return repo


@settings(
    max_examples=int(os.environ.get("GIT_ATOMIC_ITA_EXAMPLES", "8")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    entries=st.dictionaries(
        st.sampled_from(POOL),
        st.tuples(st.sampled_from(["file", "link"]), st.sampled_from(SINCE)),
        min_size=1,
        max_size=len(POOL),
    ),
    op=st.sampled_from(["rm --cached", "add -A", "add -N new", "unrelated"]),
    pick=st.integers(min_value=0, max_value=len(POOL) - 1),
    yours=st.sampled_from(["nothing", "add -N", "add"]),
)
def test_drawn_intents_the_effect_of_an_operation_taken_back(
    entries: dict[bytes, tuple[str, str]], op: str, pick: int, yours: str
) -> None:
    """Intent-to-add entries drawn (file or link, then kept, made executable, removed, a
    folder, a link or a file in its place), an operation drawn (an entry's `rm --cached`,
    `add -A` of one, a new `add -N`, something elsewhere), a change of yours drawn since; the
    operation's effect taken back leaves the index and the disk as before, with yours."""
    root = Path(tempfile.mkdtemp(prefix="ita-"))
    try:
        repo = _draw_world(root, {p: entries[p] for p in sorted(entries)})
        before = _state(repo)
        path = sorted(entries)[pick % len(entries)]
        script = {
            "rm --cached": ["git", "rm", "-q", "--cached", "-f", "--", path],
            "add -A": ["git", "add", "-A", "--", path],
            "add -N new": ["sh", "-c", "echo n > opnew && git add -N opnew"],
            "unrelated": ["sh", "-c", "echo o > opfile && git add opfile"],
        }[op]
        res = subprocess.run(
            [sys.executable, "-m", "git_atomic", "run", "--no-gates", "--", *script],
            cwd=repo.path,
            env={**repo.env, "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
            capture_output=True,
        )
        assert res.returncode == 0, res.stderr
        op_id: str = repo.atomic_json("log")["operations"][0]["op_id"]
        if yours != "nothing":
            _write(repo.path, b"mine", b"yours\n")
            (_add_n(repo, b"mine") if yours == "add -N" else repo.git("add", "mine"))
        taken = repo.atomic("rollback", "--op", op_id)
        assert taken.returncode == 0, taken.stderr
        index, _status_now, disk = _state(repo)
        if yours != "nothing":
            flags = ITA if yours == "add -N" else 0
            oid = oracle.blob_id(b"" if flags else b"yours\n")
            assert [e for e in index if e[0] == b"mine"] == [(b"mine", "100644", oid, 0, flags)]
            del disk[b"mine"]
        assert [e for e in index if e[0] != b"mine"] == before[0]
        assert disk == before[2]
        _no_scratch_left(repo)
    finally:
        shutil.rmtree(root, ignore_errors=True)
