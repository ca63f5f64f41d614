"""Scenarios from git's own test suite (t3903-stash, t7061-wtstatus-ignore, t2xxx checkout and
restore, t3xxx ls-files and update-index) and from peers' bug reports (jj snapshots, GitButler,
Aider auto-commits, Claude Code and Gemini CLI checkpoints): names, kinds, index flags, layouts,
in-progress states, attributes and filters, ignored files.

Each scenario sets a repository up with a shell script, and runs an operation (a shell script)
through `git atomic run -- sh -c 'OP; exit 1'`: the failed run must leave the state exactly as
it was. Then `undo` must bring the operation's result back exactly: the oracle for that is a
twin repository, set up the same way, where the operation ran without git-atomic (the fixed
dates of the hermetic environment make its commits the same objects). The state is read from
the disk (lstat, readlink, bytes, executable bit, empty folders), the raw index file (entries,
stages, flags), HEAD, the branches and git's in-progress files — never from git's opinion of
the files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from testing import oracle
from testing.gitrepo import GitRepo, hermetic_env

# Git's files for a command that waits for the user, and other per-worktree state a rollback
# must put back.
GIT_DIR_STATE = (
    "MERGE_HEAD",
    "MERGE_MSG",
    "MERGE_MODE",
    "AUTO_MERGE",
    "CHERRY_PICK_HEAD",
    "REVERT_HEAD",
    "REBASE_HEAD",
    "BISECT_LOG",
    "BISECT_START",
    "BISECT_TERMS",
    "BISECT_NAMES",
    "BISECT_EXPECTED_REV",
    "rebase-merge",
    "rebase-apply",
    "sequencer",
    "index.lock",
    "info/sparse-checkout",
    "info/exclude",
    "info/attributes",
)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _walk(root: Path) -> tuple[list[tuple[bytes, str, str]], list[bytes]]:
    """Files and links (path, kind, digest of bytes or target) and empty folders, below `root`,
    not entering `.git` nor a nested repository (a folder holding `.git`), never following a
    link."""
    files: list[tuple[bytes, str, str]] = []
    empty: list[bytes] = []
    broot = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(broot):
        keep = []
        for d in dirnames:
            full = os.path.join(dirpath, d)
            if os.path.islink(full):
                files.append((os.path.relpath(full, broot), "link", _digest(os.readlink(full))))
            elif d != b".git" and not os.path.lexists(os.path.join(full, b".git")):
                keep.append(d)
        dirnames[:] = keep
        names = [f for f in filenames if not (dirpath == broot and f == b".git")]
        for name in names:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, broot)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                files.append((rel, "link", _digest(os.readlink(full))))
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as fh:
                    data = fh.read()
                # The whole permission: a restore must not make a 0600 key readable by all.
                files.append((rel, f"file {st.st_mode & 0o777:o}", _digest(data)))
            else:
                files.append((rel, f"special {st.st_mode:o}", ""))
        if (
            dirpath != broot
            and not dirnames
            and not filenames
            and not os.path.lexists(os.path.join(dirpath, b".git"))
        ):
            empty.append(os.path.relpath(dirpath, broot))
    return sorted(files), sorted(empty)


def disk_state(root: Path, env: dict[str, str]) -> dict[str, object]:
    """Everything a rollback must put back, read from the disk, the index file (`ls-files -s
    --debug` reads the file, split or not, and nothing else), HEAD and the branches."""
    files, empty = _walk(root)
    git_dir = root / ".git"
    head = (git_dir / "HEAD").read_text(errors="surrogateescape").strip()
    quiet = {**env, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "core.fsmonitor=false", *args],
            cwd=root,
            env=quiet,
            capture_output=True,
            text=True,
            errors="surrogateescape",  # a branch's name is bytes, not always UTF-8
            check=False,
        ).stdout

    branches = tuple(
        git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/").split("\n")
    )
    gitstate: dict[str, str] = {}
    for name in GIT_DIR_STATE:
        full = git_dir / name
        if full.is_file():
            gitstate[name] = _digest(full.read_bytes())
        elif full.is_dir():
            for sub in sorted(full.rglob("*")):
                if sub.is_file():
                    gitstate[str(sub.relative_to(git_dir))] = _digest(sub.read_bytes())
    index = git_dir / "index"
    shape = None
    if index.exists():
        raw = index.read_bytes()
        split = b"link" in raw[-4096:]
        # A split index's own file is v3 when its few entries have a flag, else v2: git's choice.
        shape = (None if split else int.from_bytes(raw[4:8], "big"), split)
    return {
        "head": head,
        "head_commit": git("rev-parse", "-q", "--verify", "HEAD").strip(),
        "branches": branches,
        "index": tuple(oracle.index_entries(quiet, root)) if index.exists() else None,
        "index_shape": shape,  # (version, split)
        "files": tuple(files),
        "empty_folders": tuple(empty),
        "git_dir": gitstate,
        # What git takes for changed with no change in it, from the index's status data: an
        # entry whose data was taken of other bytes (CRLF, where the restore wrote LF) reads
        # as changed, unread, whatever its bytes.
        "falsely_modified": tuple(_falsely_modified(root, quiet)),
    }


def _falsely_modified(root: Path, env: dict[str, str]) -> list[bytes]:
    """Paths `git status` says changed in the worktree that `git diff` finds no change in."""

    def git(*args: str) -> list[bytes]:
        out = subprocess.run(
            ["git", "-c", "core.fsmonitor=false", *args],
            cwd=root,
            env=env,
            capture_output=True,
            check=False,
        ).stdout
        return [p for p in out.split(b"\0") if p]

    said = {e[3:] for e in git("status", "--porcelain=v1", "-z", "-uno") if e[1:2] == b"M"}
    return sorted(said - set(git("diff", "--name-only", "-z")))


def differences(a: dict[str, object], b: dict[str, object]) -> list[str]:
    out = []
    for key in a:
        if a[key] == b[key]:
            continue
        if isinstance(a[key], tuple) and isinstance(b[key], tuple) and key != "index_shape":
            mine, theirs = set(a[key]), set(b[key])  # type: ignore[arg-type]
            # Fewer is better there: the status data of the entries the restore wrote is
            # taken anew, where git's own may have been taken of other bytes.
            if key != "falsely_modified":
                out += [f"{key} before/expected only: {e!r}" for e in sorted(mine - theirs)]
            out += [f"{key} now only: {e!r}" for e in sorted(theirs - mine)]
        else:
            out.append(f"{key}: {a[key]!r} != {b[key]!r}")
    return out


def same(expected: dict[str, object], got: dict[str, object], what: str) -> None:
    diff = differences(expected, got)
    assert not diff, what + ":\n" + "\n".join(diff)


# What the user does after the operation, in the effect flavour: a file of their own.
LATER = "printf 'later\\n' > later-file; mkdir -p later-dir; printf 'l\\n' > later-dir/l"
FLAVOURS = ("shadow", "commits", "effect")


@dataclass(frozen=True)
class Case:
    """A scenario: `setup` and `op` are bash scripts run at the top of the worktree (README is
    committed on main unless `empty`)."""

    name: str
    setup: str
    op: str
    flavours: tuple[str, ...] = FLAVOURS
    undo: bool = True  # undo re-applies the operation exactly (the twin's state)
    empty: bool = False
    halfway: bool = False  # git is left waiting (a conflict): the run fails whatever it exits
    known: tuple[tuple[str, str], ...] = ()  # (flavour, defect): xfail(strict) there


def sh(repo: GitRepo, script: str, *, check: bool = True) -> None:
    res = subprocess.run(
        ["bash", "-c", script],
        cwd=repo.path,
        env=repo.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    assert not check or res.returncode == 0, f"failed: {res.stderr.decode(errors='replace')}"


def make(tmp_path: Path, name: str, case: Case) -> GitRepo:
    return made(tmp_path, name, case.setup, empty=case.empty)


def made(tmp_path: Path, name: str, setup: str, *, empty: bool = False) -> GitRepo:
    """A repository at tmp_path/name (HOME tmp_path/home) as `setup` leaves it: a copy of the
    one this process built for the same set-up where it can be copied (_copyable), else built
    here. A case's flavours and twins ask for the same set-up, five to eight times a case: each
    built it anew, a bash and its gits, a fifth of the time of the files of git's cases."""
    key = (setup, empty, *(os.environ.get(v) for v in _READ_BY_ENV))
    if key not in TEMPLATES:
        where = Path(tempfile.mkdtemp(prefix="git-case-", dir=tmp_path.parent))
        built = _build(where, _TEMPLATE, setup, empty=empty)
        trial = _copy(built, where / "trial", where / "home") if _copyable(where) else None
        TEMPLATES[key] = where if trial is not None and _view(trial) == _view(built) else None
    template = TEMPLATES[key]
    if template is not None and not (tmp_path / name).exists():
        repo = _copy(GitRepo(template / _TEMPLATE, {}), tmp_path / name, tmp_path / "home")
        if repo is not None:
            return repo
    return _build(tmp_path, name, setup, empty=empty)


def _copy(template: GitRepo, to: Path, home: Path) -> GitRepo | None:
    """A copy of the template at `to`, its index's stat data taken again for the copy's files
    (as a fresh build's is: git's `reset --keep`, `merge` refuse an entry not up to date) and
    the index's mtime given back, so that its entries are racily clean where the template's
    were (`git add` under core.ignoreStat marks those it re-adds); None where it could not be
    copied."""
    try:
        shutil.copytree(template.path, to, symlinks=True)
    except (OSError, shutil.Error):
        subprocess.run(["rm", "-rf", str(to)], check=True)
        return None
    repo = GitRepo(to, hermetic_env(home))
    repo.git("update-index", "-q", "--refresh", check=False)
    index = template.path / ".git" / "index"
    if index.exists():  # racily clean where the template's entries were (git's racy check)
        st = os.stat(index)
        os.utime(to / ".git" / "index", ns=(st.st_atime_ns, st.st_mtime_ns))
    return repo


def _view(repo: GitRepo) -> tuple[object, ...]:
    """The repository but for its index's stat data: the index's version, entries (flags too)
    and extensions, and every other file of it, by path and bytes."""
    from testing.gitrepo import index_extensions, read_index

    index = repo.path / ".git" / "index"
    data = index.read_bytes() if index.exists() else b""
    files = {}
    for top, _, names in os.walk(repo.path):
        for entry in names:
            path = Path(top, entry)
            if path != index:
                rel = path.relative_to(repo.path)
                files[rel] = os.readlink(path) if path.is_symlink() else path.read_bytes()
    head = (data[4:8], read_index(data), index_extensions(data)) if data else ()
    return (*head, files)


def _build(where: Path, name: str, setup: str, *, empty: bool) -> GitRepo:
    repo = GitRepo.create(where / name, where / "home", initial_commit=not empty)
    sh(repo, "set -e\n" + setup)
    return repo


# The name a set-up is built under, found nowhere in what it made where it is copied: the
# copy, under the test's name, is what the set-up would have made there.
_TEMPLATE = "repo-template-5f0c3e"
# What hermetic_env passes on from this process's environment (the repository's env).
_READ_BY_ENV = ("GIT_ATOMIC_SPLIT_SCAN_AT", "GIT_ATOMIC_INDEX_MEMO_AT")
# The set-ups built, by set-up and environment: the folder they were built in, or None
# where the repository is not copied (_copyable).
TEMPLATES: dict[tuple[object, ...], Path | None] = {}


def _copyable(where: Path, name: str = _TEMPLATE) -> bool:
    """Whether the repository the set-up made at where/name is the same repository when copied
    elsewhere (shutil.copytree: bytes, modes, mtimes and links as they are; the index's stat
    data is then taken again, _copy, and a trial copy must leave the rest as it was, _view):
    the set-up made nothing beside it and nothing in HOME; no file,
    link or name in it names the folder it was built in (core.worktree, a linked worktree, a
    remote, an alternate, a HOME file) or the repository's own name; and it holds only
    folders, links and files of one link each (a hard link, a FIFO, an unreadable file or
    folder are not copied as they are)."""
    if sorted(os.listdir(where)) != sorted([name, "home"]) or os.listdir(where / "home"):
        return False
    marks = {os.fsencode(where), os.fsencode(where.resolve()), os.fsencode(name)}
    unread: list[OSError] = []
    for top, folders, files in os.walk(os.fsencode(where / name), onerror=unread.append):
        for entry in (*folders, *files):
            path = os.path.join(top, entry)
            if any(mark in entry for mark in marks):
                return False
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                if any(mark in os.readlink(path) for mark in marks):
                    return False
            elif stat.S_ISREG(st.st_mode):
                try:
                    with open(path, "rb") as fh:
                        data = fh.read()
                except OSError:
                    return False
                if st.st_nlink > 1 or any(mark in data for mark in marks):
                    return False
            elif not stat.S_ISDIR(st.st_mode) or stat.S_IMODE(st.st_mode) & 0o700 != 0o700:
                return False
    return not unread


# The twins' states, by what made them: the flavours of a case ask for the same twin (its
# setup, then the operation or the user's files) and each built it anew. Its commits' dates are
# fixed, so another build is the same repository; a state that depended on the test's own
# folder would differ from the repository's and fail the test, never pass it.
TWINS: dict[tuple[object, ...], dict[str, object]] = {}


def twin_state(tmp_path: Path, case: Case, *scripts: str) -> dict[str, object]:
    """The state `scripts` leave, after the setup, where git-atomic is not there."""
    key = ("base", case.setup, case.empty, scripts)
    if key not in TWINS:
        twin = make(tmp_path, "twin", case)
        for script in scripts:
            sh(twin, script, check=False)
        TWINS[key] = disk_state(twin.path, twin.env)
        subprocess.run(["rm", "-rf", str(twin.path)], check=True)
    return TWINS[key]


def atomic(repo: GitRepo, *args: str, code: int = 0) -> None:
    res = repo.atomic(*args)
    assert res.returncode == code, f"{args[0]}: exit {res.returncode}\n{res.stdout}{res.stderr}"


def files_only(state: dict[str, object]) -> dict[str, object]:
    return {"files": state["files"], "empty_folders": state["empty_folders"]}


def shadow(tmp_path: Path, case: Case) -> None:
    """The operation fails: the state comes back exactly; undo brings the operation's back."""
    repo = make(tmp_path, "repo", case)
    before = disk_state(repo.path, repo.env)
    atomic(repo, "run", "--history", "shadow", "--", "bash", "-c", case.op + "\nexit 1", code=1)
    same(before, disk_state(repo.path, repo.env), "after the failed run")
    if case.undo:
        expected = twin_state(tmp_path, case, case.op)
        atomic(repo, "undo")
        same(expected, disk_state(repo.path, repo.env), "after undo")


def commits(tmp_path: Path, case: Case) -> None:
    """The operation succeeds and is committed: its files are the twin's; rolling it back (its
    effect, nothing else changed since) is exact; undo brings its files back."""
    repo = make(tmp_path, "repo", case)
    before = disk_state(repo.path, repo.env)
    res = repo.atomic("run", "--history", "commits", "--", "bash", "-c", case.op)
    if case.halfway:  # git left waiting: rolled back, exit 1
        assert res.returncode == 1, f"run: exit {res.returncode}\n{res.stderr}"
        same(before, disk_state(repo.path, repo.env), "after the run git left half way")
        return
    assert res.returncode == 0, f"run: exit {res.returncode}\n{res.stderr}"
    expected = twin_state(tmp_path, case, case.op) if case.undo else None
    if expected is not None:
        same(files_only(expected), files_only(disk_state(repo.path, repo.env)), "after the run")
    atomic(repo, "rollback")
    same(before, disk_state(repo.path, repo.env), "after the rollback")
    if expected is not None:
        atomic(repo, "undo")
        same(files_only(expected), files_only(disk_state(repo.path, repo.env)), "after undo")


def effect(tmp_path: Path, case: Case) -> None:
    """The operation succeeds (shadow), then the user adds files of their own: rolling the
    operation back takes back its effect only; undo re-applies it."""
    repo = make(tmp_path, "repo", case)
    res = repo.atomic("run", "--history", "shadow", "--", "bash", "-c", case.op)
    assert res.returncode == 0, f"run: exit {res.returncode}\n{res.stderr}"
    sh(repo, LATER)
    expected = twin_state(tmp_path, case, LATER)
    atomic(repo, "rollback")
    same(expected, disk_state(repo.path, repo.env), "after the rollback of the effect")
    if case.undo:
        expected = twin_state(tmp_path, case, case.op, LATER)
        atomic(repo, "undo")
        same(expected, disk_state(repo.path, repo.env), "after undo of that rollback")


TURN_GATE = '[[gates]]\nname = "turn"\nrun = "test ! -e turn-marker"\n'


def hook(repo: GitRepo, event: str, **fields: object) -> str:
    """One Claude Code hook call, as the installed command line makes it."""
    payload = {"session_id": "s1", "cwd": str(repo.path), "hook_event_name": event, **fields}
    res = repo.atomic("hook", "claude-code", event, input=json.dumps(payload).encode())
    assert res.returncode == 0, f"{event}: exit {res.returncode}\n{res.stdout}{res.stderr}"
    return res.stdout


def turn(tmp_path: Path, case: Case) -> None:
    """An agent turn (Claude Code's hooks) whose shell call does the operation and breaks the
    gate; the user adds files meanwhile: the turn's own changes are taken back at Stop, the
    user's stay; undo brings the turn's back."""
    config = f"printf '{TURN_GATE}' > .git-atomic.toml"
    setup = dataclasses.replace(case, setup=case.setup + "\n" + config)
    repo = make(tmp_path, "repo", setup)
    hook(repo, "UserPromptSubmit", prompt="do it")
    call = {"tool_name": "Bash", "tool_input": {"command": "op"}, "tool_use_id": "toolu_1"}
    hook(repo, "PreToolUse", **call)
    op = case.op + "\ntouch turn-marker"
    sh(repo, op, check=False)
    hook(repo, "PostToolUse", **call, tool_response={"success": True})
    sh(repo, LATER)
    answer = hook(repo, "Stop", stop_hook_active=False)
    assert json.loads(answer)["decision"] == "block", answer
    same(twin_state(tmp_path, setup, LATER), disk_state(repo.path, repo.env), "after the turn")
    if case.undo:
        expected = twin_state(tmp_path, setup, op, LATER)
        atomic(repo, "undo")
        same(expected, disk_state(repo.path, repo.env), "after undo of the turn's rollback")


CASES: list[Case] = []


def case(name: str, setup: str, op: str, **kw: object) -> None:
    CASES.append(Case(name, setup, op, **kw))  # type: ignore[arg-type]


# --- names (t3903 "stash file with newline", t3902-quoted, t9903; peers: names lost) -------
case(
    "names",
    r"""printf 'a\n' > 'with space'; printf 'b\n' > -leading-dash; printf 'c\n' > 'héllo wörld'
    printf 'd\n' > '日本語.txt'; printf 'e\n' > '--'; printf 'f\n' > "$(printf 'new\nline')"
    printf 'g\n' > "$(printf 'tab\there')"; printf 'h\n' > 'back\\slash'; printf 'i\n' > 'quo"te'
    printf 'j\n' > "it's"; printf 'k\n' > "$(printf 'lat\xe9n1')"; printf 'l\n' > '*'
    printf 'm\n' > '[ab]'; printf 'n\n' > ':(top)x'; printf 'o\n' > '?'; printf 'p\n' > Readme.md
    mkdir Dir; printf 'q\n' > Dir/file; printf 'r\n' > "$(printf 'cr\rname')"
    d=$(printf 'd%.0s' $(seq 1 200)); mkdir -p "$d/$d/$d/$d/$d/$d"
    printf 'deep\n' > "$d/$d/$d/$d/$d/$d/$(printf 'f%.0s' $(seq 1 250))"
    git add -A; git commit -qm names
    printf 'u\n' > 'untracked space'; printf 'v\n' > -n; printf 'w\n' > "$(printf 'un\ntracked')"
    printf 'x\n' > "$(printf 'un\xfftracked')"; printf 'y\n' > '*.untracked'
    printf 'z\n' > "$d/$d/$d/untracked" """,
    r"""printf 'X\n' > 'with space'; rm -- -leading-dash; printf 'Y\n' > 'héllo wörld'
    rm -- '--' 'untracked space'; printf 'new\n' > -rf; git rm -q --cached -- '日本語.txt'
    printf 'X\n' > "$(printf 'new\nline')"; rm "$(printf 'tab\there')"; printf 'Z\n' > 'back\\slash'
    git add -- 'back\\slash'; rm "$(printf 'un\ntracked')"; printf 'n\n' > "$(printf 'made\nby op')"
    printf 'X\n' > "$(printf 'lat\xe9n1')"; rm "$(printf 'un\xfftracked')"
    printf 'n\n' > "$(printf 'op\xfe')"
    printf 'X\n' > '*'; rm '[ab]'; printf 'Y\n' > ':(top)x'; rm '*.untracked'
    git mv Readme.md README.md; git mv Dir dir; rm "$(printf 'cr\rname')"
    d=$(printf 'd%.0s' $(seq 1 200)); rm -rf "$d/$d/$d/$d"; printf 'x\n' > "$d/$d/$d/$d" """,
)
# A rename (`mv`, `git mv`, a case-only rename, `ln`) gives an old file a new name: the
# rollback left that name behind (its birth time is the old file's).
case(
    "names-renamed-file",
    r"""printf 'a\n' > Readme.md; printf 'b\n' > other; printf 'c\n' > linked; git add -A
    git commit -qm t; printf 'u\n' > untracked""",
    r"""mv Readme.md README.md; mv other Other; ln linked hard-link; mv untracked moved""",
    flavours=("shadow",),
)

# --- kinds (t2xxx checkout of file<->directory, t3903 "stash symlink", peers: links replaced by
# files, executable bits lost) ----------------------------------------------------------
case(
    "kinds",
    r"""printf '#!/bin/sh\n' > run.sh; chmod +x run.sh; printf 'x\n' > plain
    printf 't\n' > target; ln -s target link; ln -s missing dangling; ln -s . selfdir
    mkdir d; ln -s ../target d/up; mkdir -p a/b; printf 'x\n' > a/b/c; printf 'f\n' > f
    mkdir src; printf 'x\n' > src/a; printf 'g\n' > g; mkdir keep-empty; printf 'e\n' > empty-file
    : > empty-file; git add -A; git commit -qm kinds
    printf 'u\n' > new.sh; chmod +x new.sh; ln -s target ulink; mkdir other; printf 'o\n' > other/o
    mkdir -p user-empty/inner""",
    r"""chmod -x run.sh; chmod +x plain new.sh; git add plain
    rm link; printf 'now a file\n' > link; rm dangling; mkdir dangling; printf 'f\n' > dangling/f
    rm ulink; cp target ulink; ln -sfn other d/up; rm -rf a; printf 'a is a file\n' > a
    rm f; mkdir -p f/g; printf 'deep\n' > f/g/h; rm -rf src; ln -s other src
    rm g; mkdir g; rmdir keep-empty; mkdir -p made/empty; rm -rf user-empty; printf 'z' > empty-file
    git add -A; git commit -qm swap""",
)
# A FIFO or a socket where a tracked file or a folder was: every capture failed (`add -A` holds
# only files, links and repositories: exit 3, nothing taken back); then the restore left the FIFO
# and the user's file did not come back. git holds none of them: one a file or folder comes
# back over is removed (`undo` makes a FIFO again); an untracked one stays, as git ignores it.
case(
    "kinds-fifo-and-socket",
    r"""printf 'a\n' > a; mkdir d s; printf 'x\n' > d/x; printf 'y\n' > s/y; printf 't\n' > t
    git add -A; git commit -qm t; mkfifo user-fifo; printf 'w\n' >> t""",
    r"""rm a; mkfifo a; rm -r d; mkfifo d; printf 'o\n' >> t; rm -r s
    python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("s")'""",
    undo=False,  # a socket cannot be made again
)
case(
    "kinds-fifo",
    r"""printf 'a\n' > a; mkdir -p d/e; printf 'x\n' > d/e/x; git add -A; git commit -qm t
    mkfifo user-fifo; printf 'w\n' >> a""",
    r"""rm a; mkfifo a; rm -r d; mkdir d; mkfifo d/e; git rm -q --cached a""",
)
# Peers' reports: a private key or .env rewritten by the operation came back world-readable.
case(
    "kinds-private-permissions",
    r"""umask 077; printf 's\n' > secret.key; printf 't\n' > tracked.key
    printf '#!/bin/sh\n' > x.sh
    chmod 700 x.sh; git add tracked.key x.sh; git commit -qm keys""",
    r"""printf 'changed\n' > secret.key; printf 'changed\n' > tracked.key; chmod 600 x.sh""",
    flavours=("shadow", "effect"),
)
case(
    "kinds-nested-repository-and-submodule",
    r"""git init -q nested; (cd nested; printf 'n\n' > n; git add n; git commit -qm n)
    git init -q sub; (cd sub; printf 's\n' > s; git add s; git commit -qm s)
    git -c protocol.file.allow=always submodule -q add ./sub sub; git commit -qm sub
    printf 'x\n' > top""",
    r"""printf 'changed\n' > top; (cd sub; printf 's2\n' > s; git commit -qam s2); git add sub
    git commit -qm 'bump sub'""",
    flavours=("shadow", "commits"),
    undo=False,  # a submodule's own files and commits are not ours (README)
)

# --- index flags (t2203-add-intent, t7012-skip-worktree, t2106 assume-unchanged,
# t3903 "stash --keep-index", "stash with intent-to-add") -------------------------------
case(
    "index-flags",
    r"""for f in ita ita2 sw sw2 au f1 gone; do printf "$f\n" > $f; done
    git add sw sw2 au f1 gone; git commit -qm t; git add -N ita ita2
    git update-index --skip-worktree sw sw2; printf 'local\n' > sw; rm sw2
    git update-index --assume-unchanged au; printf 'hidden edit\n' > au
    printf '2\n' > f1; git add f1; printf '3\n' > f1; printf 's\n' > staged-new; git add staged-new
    git rm -q --cached gone; rm README""",
    r"""printf 'changed\n' > ita; git add ita; rm ita2; git rm -q --cached ita2
    git update-index --no-skip-worktree sw; git checkout -- sw; printf 'n\n' > sw2
    git update-index --no-assume-unchanged au; git add au gone; git add -u""",
)
case(
    "index-sparse-checkout-and-split-index",
    r"""mkdir -p in out; printf 'i\n' > in/i; printf 'o\n' > out/o; git add -A; git commit -qm t
    git sparse-checkout set in; git config core.splitIndex true; git update-index --split-index
    printf 'b\n' > in/b; git add in/b""",
    r"""git sparse-checkout disable; printf 'c\n' > in/i; git update-index --no-split-index
    git add -A""",
    flavours=("shadow", "effect"),
)
case(
    "index-version-4",
    r"""git update-index --index-version 4; printf 'a\n' > a; git add a; git commit -qm t
    printf 'b\n' > a""",
    r"""git update-index --index-version 2; git add a""",
    flavours=("shadow", "effect"),
)
# An operation that changes nothing but the index's format was "rolled back; it had changed
# nothing", and the index stayed in version 4.
case("index-version-only", r"""printf 'b\n' > b""", r"""git update-index --index-version 4""")
# So was one that changes nothing but its index entries' flags, and `undo` and `rollback` said
# "nothing to do".
case(
    "index-flags-only",
    r"""printf 'a\n' > a; printf 'b\n' > b; git add a b; git commit -qm t; printf 'c\n' > c""",
    r"""git update-index --skip-worktree a; git update-index --assume-unchanged b; git add -N c""",
)

# --- HEAD (t3903 "stash on unborn branch", detached HEAD; peers: empty repository) ------
case(
    "head-detached",
    r"""printf '1\n' > f; git add f; git commit -qm one; git checkout -q --detach HEAD
    printf 'wip\n' > f""",
    r"""git checkout -q -f main; git commit -q --allow-empty -m more; git branch -q new""",
    flavours=("shadow", "commits"),
)
case(
    "head-unborn",
    r"""printf 'first\n' > f; printf 's\n' > staged; git add staged""",
    r"""git add -A; git commit -qm first; git checkout -qb other""",
    empty=True,
    flavours=("shadow",),
)
case(
    "head-unborn-effect",
    r"""printf 'first\n' > f""",
    r"""printf 'x\n' > made; mkdir -p d/e; printf 'y\n' > d/e/f; printf 'z\n' >> f""",
    empty=True,
    flavours=("shadow", "commits"),
)
case(
    "head-orphan-and-branches",
    r"""printf '1\n' > f; git add f; git commit -qm one; git branch -q feature; git branch -q old
    git checkout -q --orphan lonely""",
    r"""git commit -qm lonely; git branch -q -D main old; git checkout -qb created
    git commit -q --allow-empty -m c; git branch -q -f feature HEAD""",
    flavours=("shadow", "commits"),
)

# --- in-progress states the operation leaves (t3903 "stash pop conflict", t3418 rebase,
# t3507 cherry-pick; peers: Aider auto-commit in a merge) -------------------------------
HALF_WAY = r"""printf 'base\n' > c; git add c; git commit -qm base; git checkout -qb side
printf 'side\n' > c; git commit -qam side; git checkout -q main; printf 'main\n' > c
git commit -qam main; printf 'wip\n' > untracked; printf 'edit\n' >> README"""
case("halfway-merge", HALF_WAY, "git merge -q side", flavours=("shadow", "commits"), halfway=True)
case("halfway-cherry-pick", HALF_WAY, "git cherry-pick side", flavours=("commits",), halfway=True)
case(
    "halfway-rebase",
    HALF_WAY,
    "git checkout -q -- README; git rebase side",
    flavours=("shadow",),
    halfway=True,
)
case(
    "halfway-stash-pop",
    HALF_WAY,
    "printf 'x\\n' > c; git stash -q; git checkout -q side; git stash pop",
    flavours=("commits",),
    halfway=True,
)

# --- attributes and filters (t0020-crlf, t0021 filters, t0027 auto-crlf, t0028
# working-tree-encoding; peers: CRLF rewritten, git-lfs missing) -------------------------
case(
    "attributes",
    r"""printf '*.auto text=auto\n*.crlf eol=crlf\n*.r filter=rot\n' > .gitattributes
    printf '*.lfs filter=lfs -text\n' >> .gitattributes
    printf '*.u16 working-tree-encoding=UTF-16LE text\n*.c ident\n*.bin binary\n' >> .gitattributes
    git config filter.rot.clean 'tr a-z n-za-m'; git config filter.rot.smudge 'tr a-z n-za-m'
    printf 'a\r\nb\r\n' > w.auto; printf 'a\nb\n' > w.crlf; printf 'hello\n' > f.r
    printf 'big\n' > a.lfs; printf 'h\0i\0\n\0' > w.u16; printf '$Id$\n' > a.c
    printf '\0\r\n\377' > x.bin; git -c filter.lfs.clean=cat add -A; git commit -qm t
    rm w.crlf a.c; git checkout -- w.crlf a.c; printf 'c\r\nd\r\n' > w.auto; printf 'local\n' > f.r
    printf 'changed\n' > a.lfs; printf 'u\r\n' > untracked.auto""",
    r"""printf 'x\r\n' > w.auto; rm untracked.auto; printf 'q\n' > w.crlf; printf 'changed\n' > f.r
    printf 'n\n' > n.r; printf 'op\n' > a.lfs; printf 'x\0y\0\n\0' > w.u16; printf '$Id$ x\n' > a.c
    printf '\r\n\0' > x.bin; git add w.auto w.crlf f.r w.u16 x.bin""",
)
case(
    # An operation adds a line-ending rule and checks a file out again under it (CRLF): the
    # index's status data is that file's; the rollback writes the LF bytes back.
    "attributes-by-the-operation",
    r"""printf 'a\nb\nc\n' > t.txt; printf 'x\n' > u.txt; git add -A; git commit -qm i""",
    r"""printf '* text eol=crlf\n' > .gitattributes; rm t.txt u.txt; git checkout -- t.txt u.txt
    git add u.txt""",
)
case(
    "attributes-autocrlf",
    r"""git config core.autocrlf true; printf 'a\nb\n' > lf.txt; printf 'c\r\n' > crlf.txt
    git add -A; git commit -qm lf; printf 'a\r\nb\r\n' > lf.txt""",
    r"""printf 'new\n' > lf.txt; printf 'n\r\n' > crlf.txt; git add -A
    printf '* text eol=lf\n' > .gitattributes; git add --renormalize .""",
    flavours=("shadow", "commits"),
)

# --- ignored files (t7061-wtstatus-ignore, t7300-clean; peers: .env lost) ---------------
case(
    "ignored",
    r"""printf '.env\nbuild/\n*.log\nlogs/*\n!logs/keep\n' > .gitignore
    printf 'x\n' > tracked.log; git add -f tracked.log; mkdir logs; printf 'k\n' > logs/keep
    mkdir -p sub; printf '*\n!.gitignore\n' > sub/.gitignore; git add -A; git commit -qm t
    printf 'SECRET=1\n' > .env; mkdir build; printf 'o\n' > build/out; printf 'l\n' > a.log
    printf 'i\n' > logs/ign; printf 'h\n' > sub/hidden; printf 'edited\n' > tracked.log
    printf 'secret/\n' > .git/info/exclude; mkdir secret; printf 's\n' > secret/key
    mkdir -p empty/inside; mkdir -p tree/x; printf 'u\n' > tree/x/u""",
    r"""rm tracked.log; git rm -q --cached tracked.log; rm logs/keep; printf 'x\n' > README
    git clean -fdq""",
    undo=False,  # git clean leaves the empty folders the scan does not see; the twin's do not
)
case(
    "ignored-protected-and-git-clean-fdx",
    r"""printf '.env\n*.log\nnode_modules/\n' > .gitignore
    printf 'protect = [".env", "*.log", "/node_modules/.env"]\n' > .git-atomic.toml
    git add -A; git commit -qm t; printf 'SECRET=1\n' > .env; printf 'l\n' > a.log
    mkdir -p node_modules sub; printf 'N=1\n' > node_modules/.env; printf 'x\n' > sub/b.log""",
    r"""git clean -fdxq""",
)
case(
    "ignored-rules-the-operation-changed",
    r"""printf '*.tmp\n' > .gitignore; mkdir -p sub; printf '*\n!.gitignore\n' > sub/.gitignore
    git add -A; git commit -qm ign; printf 't\n' > keep.tmp; printf 'h\n' > sub/hidden""",
    r""": > .gitignore; printf 'x\n' > new.tmp; rm sub/.gitignore; printf 'x\n' > sub/other""",
    flavours=("shadow", "effect"),
    undo=False,
)

# The repository's own rules (.git/info/exclude) are state too: an operation that adds one
# hides the file it makes and the user's; one that drops a rule shows the user's files.
case(
    "ignored-by-a-new-info-exclude-rule",
    r"""printf 'secret/\n' > .git/info/exclude; mkdir secret; printf 's\n' > secret/key
    printf 'u\n' > user.log""",
    r"""printf '*.log\n' >> .git/info/exclude; printf 'x\n' > debug.log; printf 'y\n' >> README""",
)
case(
    "info-exclude-removed",
    r"""printf 'secret/\n*.tmp\n' > .git/info/exclude; mkdir secret; printf 's\n' > secret/key
    printf 't\n' > keep.tmp""",
    r"""rm .git/info/exclude; printf 'n\n' > new.tmp""",
)

# --- many files (t3903 "stash a lot"; peers: snapshot of large trees) -------------------
case(
    "many-files",
    r"""for d in $(seq 1 20); do mkdir -p d$d; for f in $(seq 1 50); do printf "$d $f\n" > d$d/f$f
    done; done; git add -A; git commit -qm many
    for d in $(seq 1 5); do printf u > d$d/untracked; done""",
    r"""rm -rf d1 d2 d3; for f in $(seq 1 50); do printf changed > d4/f$f; done; git add -A""",
    flavours=("shadow",),
)

RUN = {"shadow": shadow, "commits": commits, "effect": effect, "turn": turn}


# The families an agent turn runs over too (four hook calls and a gate each: the CI budget).
TURNS = ("kinds", "index-flags", "attributes", "ignored-by-a-new-info-exclude-rule")


def _params() -> list[object]:
    out: list[object] = []
    for c in CASES:
        known = dict(c.known)
        for flavour in (*c.flavours, "turn") if c.name in TURNS else c.flavours:
            marks = (
                [pytest.mark.xfail(strict=True, reason=known[flavour])] if flavour in known else []
            )
            out.append(pytest.param(c, flavour, id=f"{c.name}-{flavour}", marks=marks))
    return out


@pytest.mark.parametrize(("case", "flavour"), _params())
def test_git_case(tmp_path: Path, case: Case, flavour: str) -> None:
    RUN[flavour](tmp_path, case)
