"""A folder that becomes a repository of its own again between two captures, and the reverse.

The scan's record of the files git listed last (the scan index: scan.py) holds every file a
capture saw, untracked ones too. A folder of files the last capture held (a nested clone
whose `.git` was renamed aside, cline/cline#1313; a folder where you then run `git init`, or
make a `.git` file naming a git dir elsewhere) that holds a repository now is one git lists as
a repository of its own (`?? vendor/lib/`, its files its own): where the scan trusted its
record, git read the folder through the scan index's entries as a folder of files, and the
next checkpoint held the repository's files as yours (docs/design.md "What the scan trusts").
The oracle: each capture holds what a capture with no record at all holds (the scan index
removed), and a rollback of a later operation writes nothing into the repository: its files
and its git dir are left byte for byte as the disk had them. And the reverse: a repository
whose `.git` goes away is a folder of untracked files, as `git status` lists them."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from testing.agents import shell_turn
from testing.gitrepo import GitRepo
from testing.oracle import disk
from tests.test_adversary56_peers_nested import clone_inside

LIB = "vendor/lib"


def _git_in(repo: GitRepo, where: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=where, env=repo.env, check=True, capture_output=True)


def _captured(repo: GitRepo) -> tuple[str, str]:
    """A kept operation that changes nothing: its PRE-OP's `files` tree, and its record of
    repositories git read as folders (empty where it has none)."""
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "true")
    pre = out["checkpoints"]["pre_op"]
    names = repo.git("ls-tree", "--name-only", pre).split()
    held = repo.git("cat-file", "blob", f"{pre}:repositories") if "repositories" in names else ""
    return repo.git("rev-parse", f"{pre}:files").strip(), held


def _fresh(repo: GitRepo) -> tuple[str, str]:
    """What a capture with no record of earlier ones holds (the scan refs removed: it starts
    from your index)."""
    for ref in repo.git("for-each-ref", "--format=%(refname)", "refs/atomic/scan/").split():
        repo.git("update-ref", "-d", ref)
    return _captured(repo)


def _renamed_back(repo: GitRepo, tmp: Path) -> None:
    os.rename(repo.path / LIB / ".git_disabled", repo.path / LIB / ".git")


def _init(repo: GitRepo, tmp: Path) -> None:
    _git_in(repo, repo.path / LIB, "init", "-q")


def _init_commit(repo: GitRepo, tmp: Path) -> None:
    _git_in(repo, repo.path / LIB, "init", "-q")
    _git_in(repo, repo.path / LIB, "add", "f.txt")
    _git_in(repo, repo.path / LIB, "commit", "-qm", "c")


def _git_file(repo: GitRepo, tmp: Path) -> None:
    _git_in(repo, repo.path / LIB, "init", "-q", f"--separate-git-dir={tmp / 'lib.git'}")
    _git_in(repo, repo.path / LIB, "add", "f.txt")
    _git_in(repo, repo.path / LIB, "commit", "-qm", "c")


def _init_above(repo: GitRepo, tmp: Path) -> None:
    _git_in(repo, repo.path / "vendor", "init", "-q")
    _git_in(repo, repo.path / "vendor", "add", "lib/f.txt")
    _git_in(repo, repo.path / "vendor", "commit", "-qm", "c")


def _cloned_in_its_place(repo: GitRepo, tmp: Path) -> None:
    other = GitRepo.create(tmp / "other", tmp / "home2")
    shutil.rmtree(repo.path / LIB)
    _git_in(repo, repo.path, "clone", "-q", str(other.path), LIB)


# Those whose later operation is also taken back here (each a few git-atomic calls more)
TAKEN_BACK = ("its .git renamed back", "a .git file naming a git dir elsewhere")
BECOMES: dict[str, Callable[[GitRepo, Path], None]] = {
    "its .git renamed back": _renamed_back,
    "git init there": _init,
    "git init and a commit there": _init_commit,
    "a .git file naming a git dir elsewhere": _git_file,
    "git init in the folder above": _init_above,
    "a clone in its place": _cloned_in_its_place,
}


def _a_folder_first(repo: GitRepo, how: str) -> None:
    """`vendor/lib` a folder of untracked files (its `.git` aside, or none yet)."""
    if how == "its .git renamed back":
        clone_inside(repo, LIB)
        os.rename(repo.path / LIB / ".git", repo.path / LIB / ".git_disabled")
    else:
        (repo.path / LIB).mkdir(parents=True)
        (repo.path / LIB / "f.txt").write_bytes(b"committed\n")
        (repo.path / LIB / "wip.txt").write_bytes(b"untracked\n")
    (repo.path / LIB / "sub").mkdir()
    (repo.path / LIB / "sub" / "s.txt").write_bytes(b"s\n")
    (repo.path / "vendor" / "x").write_bytes(b"x\n")  # the folder above's own


@pytest.mark.parametrize("how", list(BECOMES))
def test_a_folder_that_is_a_repository_again_is_captured_as_git_lists_it_now(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """A capture held `vendor/lib` as a folder of files; it then becomes a repository of its
    own. The next capture holds what one with no record holds (its files are the
    repository's, never yours), and (`TAKEN_BACK`) the rollback of a kept operation that
    edited the top and a file of the repository (`rollback --op`, over a later file of
    yours) puts the top's file back and writes nothing into the repository; `undo` brings
    the top's edit back."""
    _a_folder_first(repo, how)
    first = _captured(repo)
    assert repo.git("ls-tree", "-r", "--name-only", first[0], f"{LIB}/sub/s.txt")
    BECOMES[how](repo, tmp_path)
    now = _captured(repo)
    assert now == _fresh(repo), how
    top = "vendor/" if how == "git init in the folder above" else f"{LIB}/"
    held = repo.git("ls-tree", "-r", "--name-only", now[0]).splitlines()
    assert not [path for path in held if path.startswith(top)], held
    if how not in TAKEN_BACK:
        return
    out = repo.atomic_json(
        "run",
        "--no-gates",
        "--history",
        "shadow",
        "--",
        "sh",
        "-c",
        f"echo x > README && echo op > {LIB}/sub/s.txt && rm {LIB}/wip.txt",
    )
    after = disk(repo.path, modes=True)
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    now_disk = disk(repo.path, modes=True)
    assert now_disk.pop(b"later.txt")[1] == b"yours\n"
    assert repo.read("README") == b"hello\n"
    want = {k: v for k, v in after.items() if k != b"README"}
    assert {k: v for k, v in now_disk.items() if k != b"README"} == want, how
    repo.atomic("undo", check=0)
    assert repo.read("README") == b"x\n" and repo.read(f"{LIB}/sub/s.txt") == b"op\n"


@pytest.mark.parametrize("how", ["its .git renamed back", "git init and a commit there"])
def test_a_failed_run_after_the_folder_became_a_repository_writes_nothing_into_it(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """The same, taken back by a failed run: the top's file goes back, and the repository's
    own files the run changed or removed stay as the run left them (never captured), its git
    dir byte for byte."""
    _a_folder_first(repo, how)
    _captured(repo)
    BECOMES[how](repo, tmp_path)
    script = f"echo x > README && echo op > {LIB}/sub/s.txt && rm {LIB}/wip.txt; exit 1"
    before = disk(repo.path, modes=True)
    repo.atomic("run", "--", "sh", "-c", script, check=1)
    want = dict(before)
    want.pop(f"{LIB}/wip.txt".encode())
    now = disk(repo.path, modes=True)
    assert now.pop(f"{LIB}/sub/s.txt".encode())[1] == b"op\n"
    want.pop(f"{LIB}/sub/s.txt".encode())
    assert now == want, how
    repo.atomic("undo", check=0)
    assert repo.read("README") == b"x\n" and repo.read(f"{LIB}/sub/s.txt") == b"op\n"
    assert not repo.exists(f"{LIB}/wip.txt")


def test_an_agent_turn_after_the_folder_became_a_repository_writes_nothing_into_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The same, taken back at an agent turn's Stop (its gate fails): the top's file goes
    back; the repository's files and git dir stay as the turn left them."""
    _a_folder_first(repo, "its .git renamed back")
    _captured(repo)
    _renamed_back(repo, tmp_path)
    before = disk(repo.path, modes=True)
    answer = shell_turn(repo, f"echo x > README && echo op > {LIB}/sub/s.txt", "echo x > bad")
    assert answer["decision"] == "block", answer
    now = disk(repo.path, modes=True)
    now.pop(b".git-atomic.toml")
    assert now.pop(f"{LIB}/sub/s.txt".encode())[1] == b"op\n"
    before.pop(f"{LIB}/sub/s.txt".encode())
    assert now == before


@pytest.mark.parametrize("commit", [True, False], ids=["with a commit", "without a commit"])
@pytest.mark.parametrize("how", ["renamed aside", "removed"])
def test_a_repository_whose_git_goes_away_is_a_folder_of_untracked_files(
    repo: GitRepo, how: str, commit: bool
) -> None:
    """The reverse: a capture held `vendor/lib` as a repository of its own; its `.git` goes
    away (outside any operation). The next capture holds its files as the untracked files
    `git status` lists there, as one with no record does; a failed run that edits them puts
    them back. A repository without a commit yet is none git can add: no capture holds it
    until its `.git` goes."""
    clone_inside(repo, LIB)
    if not commit:
        shutil.rmtree(repo.path / LIB / ".git")
        _git_in(repo, repo.path / LIB, "init", "-q")
    _captured(repo)
    if how == "removed":
        shutil.rmtree(repo.path / LIB / ".git")
    else:
        os.rename(repo.path / LIB / ".git", repo.path / LIB / ".git_disabled")
    now = _captured(repo)
    assert now == _fresh(repo)
    listed = repo.git("status", "--porcelain", "--untracked-files=all", LIB).splitlines()
    untracked = sorted(line[3:] for line in listed if line.startswith("?? "))
    held = repo.git("ls-tree", "-r", "--name-only", now[0], "--", LIB).splitlines()
    assert held == untracked and f"{LIB}/f.txt" in held, (held, untracked)
    before = disk(repo.path, modes=True)
    script = f"echo op > {LIB}/f.txt && rm {LIB}/wip.txt; exit 1"
    repo.atomic("run", "--", "sh", "-c", script, check=1)
    assert disk(repo.path, modes=True) == before


@pytest.mark.skipif(shutil.which("watchman") is None, reason="Watchman is not installed")
def test_a_folder_that_is_a_repository_again_through_watchman(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The same where Watchman watches the worktree: the capture after the `.git` came back
    holds what one with no record holds."""
    _a_folder_first(repo, "its .git renamed back")
    watch = ["watchman", "--no-pretty"]
    subprocess.run([*watch, "watch", str(repo.path)], capture_output=True, check=True, timeout=60)
    try:
        _captured(repo)
        _captured(repo)  # from the clock the first kept
        _renamed_back(repo, tmp_path)
        now = _captured(repo)
        assert now == _fresh(repo)
    finally:
        subprocess.run([*watch, "watch-del", str(repo.path)], capture_output=True, check=False)


@pytest.mark.parametrize("kept", [False, True], ids=["failed run", "rollback --op"])
def test_a_run_that_renamed_the_git_back_itself_loses_nothing(repo: GitRepo, kept: bool) -> None:
    """The operation is the one that renames `.git_disabled` back to `.git` (and edits a file
    of the top): its rescue or POST-OP holds the folder as a repository, as git lists it
    then; its rollback (it fails; `rollback --op` of a kept one over a later file of yours,
    whose dry run lists none of it) puts the top's file back and leaves the repository as it
    is, its git dir byte for byte under the name the operation gave it, naming the folder."""
    _a_folder_first(repo, "its .git renamed back")
    _captured(repo)
    before = disk(repo.path, modes=True)
    script = f"mv {LIB}/.git_disabled {LIB}/.git && echo x > README"
    if kept:
        out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
        repo.write("later.txt", b"yours\n")
        dry = repo.atomic("rollback", "--op", out["op_id"], "--dry-run", check=0).stdout
        assert LIB not in dry, dry
        ran = repo.atomic("rollback", "--op", out["op_id"], check=0)
        os.unlink(repo.path / "later.txt")
    else:
        ran = repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1)
    assert [line for line in ran.stderr.splitlines() if LIB in line], ran.stderr
    old, new = f"{LIB}/.git_disabled".encode(), f"{LIB}/.git".encode()
    want = {
        (new + k[len(old) :] if k == old or k.startswith(old + b"/") else k): v
        for k, v in before.items()
    }
    assert disk(repo.path, modes=True) == want, ran.stderr


def test_a_git_file_emptied_and_filled_in_place_is_captured_as_git_lists_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A `.git` file written in place (its folder's mtime unchanged): emptied, the folder is
    one of files to git (an empty `.git` file is nothing to it), filled again with its
    `gitdir:` line, a repository of its own. Each capture holds what one with no record
    holds."""
    lib = repo.path / LIB
    lib.mkdir(parents=True)
    (lib / "f.txt").write_bytes(b"f\n")
    _git_in(repo, lib, "init", "-q", f"--separate-git-dir={tmp_path / 'lib.git'}")
    _git_in(repo, lib, "add", "f.txt")
    _git_in(repo, lib, "commit", "-qm", "c")
    _captured(repo)
    line = (lib / ".git").read_bytes()
    for content in (b"", line):
        with open(lib / ".git", "r+b") as f:
            f.truncate(0)
            f.write(content)
        assert _captured(repo) == _fresh(repo), content


def test_a_submodules_git_file_taken_away_and_put_back_is_captured_as_git_lists_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A submodule (a gitlink in your index) whose `.git` file goes, then comes back: each
    capture holds what one with no record holds."""
    inner = GitRepo.create(tmp_path / "inner", tmp_path / "home2")
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner.path), "m")
    repo.git("commit", "-qm", "submodule")
    _captured(repo)
    line = (repo.path / "m" / ".git").read_bytes()
    os.unlink(repo.path / "m" / ".git")
    assert _captured(repo) == _fresh(repo)
    (repo.path / "m" / ".git").write_bytes(line)
    assert _captured(repo) == _fresh(repo)


def test_a_repository_made_inside_one_git_reads_as_a_folder_is_captured_as_git_lists_it(
    repo: GitRepo,
) -> None:
    """`vendor` holds a repository of its own that git reads as a folder (your index tracks
    `vendor/x`), which the walk of the folders does not look into; `vendor/lib`, a folder of
    untracked files a capture held, becomes a repository: git looks into `vendor` and lists
    `vendor/lib/` as one, and the next capture holds what one with no record holds."""
    repo.write("vendor/x", b"x\n")
    repo.git("add", "vendor/x")
    repo.git("commit", "-qm", "x")
    _git_in(repo, repo.path / "vendor", "init", "-q")
    (repo.path / LIB).mkdir()
    (repo.path / LIB / "f.txt").write_bytes(b"f\n")
    _captured(repo)
    _init_commit(repo, repo.path)
    now = _captured(repo)
    assert now == _fresh(repo)
    assert f"{LIB}/f.txt" not in repo.git("ls-tree", "-r", "--name-only", now[0])


def test_a_dry_run_after_the_folder_became_a_repository_changes_nothing(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A dry run (`rollback --op --dry-run`) is the first capture after the `.git` came back:
    it lists nothing of the repository and leaves every file of git-atomic's state as it was
    (the scan's record too: the next capture drops it), and that next capture holds what one
    with no record holds."""
    _a_folder_first(repo, "its .git renamed back")
    out = repo.atomic_json(
        "run", "--no-gates", "--history", "shadow", "--", "sh", "-c", "echo x > README"
    )
    _renamed_back(repo, tmp_path)
    state = repo.path / ".git" / "atomic"
    before = {p: p.read_bytes() for p in state.rglob("*") if p.is_file()}
    dry = repo.atomic("rollback", "--op", out["op_id"], "--dry-run", check=0).stdout
    assert LIB not in dry and "README" in dry, dry
    after = {p: p.read_bytes() for p in state.rglob("*") if p.is_file()}
    assert sorted(after) == sorted(before)
    assert _captured(repo) == _fresh(repo)


def test_an_agent_turn_that_renamed_the_git_back_itself_loses_nothing(repo: GitRepo) -> None:
    """The same as a failed run's, in an agent's turn: a `Bash` call renames `.git_disabled`
    back to `.git` and edits a file of the top; the gate fails, and the take-back at Stop
    puts the top's file back and leaves the repository, its git dir byte for byte under the
    name the call gave it, naming the folder in the answer."""
    _a_folder_first(repo, "its .git renamed back")
    _captured(repo)
    before = disk(repo.path, modes=True)
    call = f"mv {LIB}/.git_disabled {LIB}/.git && echo x > README"
    answer = shell_turn(repo, call, "echo x > bad")
    assert answer["decision"] == "block" and LIB in answer["reason"], answer
    now = disk(repo.path, modes=True)
    now.pop(b".git-atomic.toml")
    old, new = f"{LIB}/.git_disabled".encode(), f"{LIB}/.git".encode()
    want = {
        (new + k[len(old) :] if k == old or k.startswith(old + b"/") else k): v
        for k, v in before.items()
    }
    assert now == want
