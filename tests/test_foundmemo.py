"""Discovery's answer and the configuration kept between an agent's hook calls
(engine/foundmemo.py): each thing that could change them changes between two calls, and the
next call asks git again and answers as a call that kept nothing does.

Each call is a process of its own, as every hook call is (`discover_with_config`, the hook's
discovery), and as `begin`, `run` and `abort` are (`discover_early`, from the current folder,
before their lock: engine/early.py); the oracle is the same call with nothing kept (the kept
files removed first)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

KEYS = ("user.name", "test.key", "core.worktree", "core.bare")

CHILD = """
import json, os, sys
from git_atomic.core.errors import AtomicError
from git_atomic.engine import discovery
try:
    if sys.argv[1] == "begin":
        os.chdir(sys.argv[2])
        repo = discovery.discover_early()
    elif sys.argv[1] == "command":
        os.chdir(sys.argv[2])
        repo = discovery.discover()
    else:
        repo = discovery.discover_with_config(sys.argv[2])
except AtomicError as exc:
    print(json.dumps({"refused": exc.message}))
else:
    found = {"root": str(repo.root), "git_dir": str(repo.git_dir), "common": str(repo.common_dir)}
    found.update({key: repo.config_values(key) for key in sys.argv[3:]})
    print(json.dumps(found))
"""


class Calls:
    """Hook calls' (or `begin`'s) discovery from `start`, with `env` (a case may change both)."""

    def __init__(self, repo: GitRepo, tmp_path: Path, kind: str) -> None:
        self.repo, self.tmp, self.kind = repo, tmp_path, kind
        self.start = repo.path
        self.env = dict(repo.env)
        self.kept_in = [repo.path / ".git" / "atomic"]
        self.n = 0

    def __call__(self) -> tuple[dict[str, object], list[str]]:
        """The answer, and the git commands the call ran. A command's discovery (`discover()`:
        `commit`, `undo`, `status`...) keeps nothing: what a hook call keeps is made first,
        before the first call only."""
        if self.kind == "command" and self.n == 0:
            self.run("hook call")
        return self.run(self.kind)

    def run(self, kind: str) -> tuple[dict[str, object], list[str]]:
        self.n += 1
        trace = self.tmp / f"trace-{self.n}.json"
        res = subprocess.run(
            [sys.executable, "-c", CHILD, kind, str(self.start), *KEYS],
            cwd=self.start if self.start.is_dir() else self.tmp,
            env={**self.env, "GIT_TRACE2_EVENT": str(trace)},
            capture_output=True,
            text=True,
            check=False,
        )
        assert res.returncode == 0, res.stderr
        ran = []
        if trace.exists():
            for line in trace.read_text().splitlines():
                event = json.loads(line)
                if event["event"] == "start":
                    args = event["argv"][1:]
                    ran.append(next(a for a in args if not a.startswith("-") and "=" not in a))
        return json.loads(res.stdout), ran

    def fresh(self) -> dict[str, object]:
        """The answer of a call that finds nothing kept."""
        for folder in self.kept_in:
            for kept in folder.glob("found-*"):
                kept.unlink()
        return self()[0]


def _edit_config(c: Calls) -> None:
    c.repo.git("config", "test.key", "two")


def _edit_config_same_size_and_times(c: Calls) -> None:
    """The repository's config rewritten with other bytes of the same length, its times given
    back: only its bytes tell."""
    config = c.repo.path / ".git" / "config"
    st = os.stat(config)
    data = config.read_bytes()
    assert b"key = one" in data
    config.write_bytes(data.replace(b"key = one", b"key = two"))
    os.utime(config, ns=(st.st_atime_ns, st.st_mtime_ns))


def _global_config(c: Calls) -> None:
    (Path(c.env["HOME"]) / ".gitconfig").write_text("[user]\n\tname = Global\n")


def _xdg_config(c: Calls) -> None:
    folder = Path(c.env["XDG_CONFIG_HOME"]) / "git"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config").write_text("[test]\n\tkey = xdg\n")


def _config_variables(c: Calls) -> None:
    c.env.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="test.key", GIT_CONFIG_VALUE_0="env")


def _config_global_variable(c: Calls) -> None:
    other = c.tmp / "other.gitconfig"
    other.write_text("[user]\n\tname = Elsewhere\n")
    c.env["GIT_CONFIG_GLOBAL"] = str(other)


def _home(c: Calls) -> None:
    home = c.tmp / "home2"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Home2\n")
    c.env["HOME"] = str(home)


def _branch_switched(c: Calls) -> None:
    c.repo.git("checkout", "-q", "-b", "other")


def _head_detached(c: Calls) -> None:
    c.repo.git("checkout", "-q", "--detach")


def _core_worktree(c: Calls) -> None:
    elsewhere = c.tmp / "elsewhere"
    elsewhere.mkdir()
    c.repo.git("config", "core.worktree", str(elsewhere))


def _core_bare(c: Calls) -> None:
    c.repo.git("config", "core.bare", "true")


def _nested_repository(c: Calls) -> None:
    subprocess.run(["git", "init", "-q", str(c.start)], env=c.env, check=True)
    c.kept_in.append(c.start / ".git" / "atomic")


def _separate_git_dir(c: Calls) -> None:
    """The `.git` folder moved elsewhere, a `gitdir:` file in its place."""
    moved = c.tmp / "moved.git"
    shutil.move(c.repo.path / ".git", moved)
    (c.repo.path / ".git").write_text(f"gitdir: {moved}\n")
    c.repo.git("config", "core.worktree", str(c.repo.path))
    c.kept_in.append(moved / "atomic")


def _git_dir_a_link(c: Calls) -> None:
    moved = c.tmp / "linked.git"
    shutil.move(c.repo.path / ".git", moved)
    (c.repo.path / ".git").symlink_to(moved)
    c.kept_in.append(moved / "atomic")


def _refs_gone(c: Calls) -> None:
    """What makes a git dir one for git: without its refs folder git finds no repository."""
    (c.repo.path / ".git" / "refs").rename(c.repo.path / ".git" / "refs-aside")


def _head_broken(c: Calls) -> None:
    (c.repo.path / ".git" / "HEAD").write_text("not a ref\n")


def _ceiling(c: Calls) -> None:
    c.env["GIT_CEILING_DIRECTORIES"] = str(c.repo.path)


def _another_worktree(c: Calls) -> None:
    linked = c.tmp / "linked"
    c.repo.git("worktree", "add", "-q", str(linked))
    c.start = linked


def _owner(c: Calls) -> None:
    """`safe.directory`: the worktree's folder owned by another user, as git refuses it."""
    os.chown(c.repo.path, 4242, 4242)


def _safe_directory_granted(c: Calls) -> None:
    _owner(c)
    c.fresh()  # refused, and nothing kept
    c.repo.git("config", "--global", "safe.directory", str(c.repo.path))


def _folder_between_made_a_git_dir(c: Calls) -> None:
    """A folder between the call's and the worktree's made to look like a git dir: git takes
    it for a bare repository."""
    for name in ("objects", "refs"):
        (c.start / name).mkdir()
    (c.start / "HEAD").write_text("ref: refs/heads/main\n")


CHANGES: dict[str, tuple[Callable[[Calls], None], bool]] = {
    # name: (the change, whether the call starts in a subfolder)
    "config edited": (_edit_config, False),
    "config edited, same size and times": (_edit_config_same_size_and_times, False),
    "global config made": (_global_config, False),
    "XDG config made": (_xdg_config, False),
    "GIT_CONFIG_COUNT": (_config_variables, False),
    "GIT_CONFIG_GLOBAL": (_config_global_variable, False),
    "HOME": (_home, False),
    "branch switched": (_branch_switched, False),
    "HEAD detached": (_head_detached, False),
    "HEAD not a ref": (_head_broken, False),
    "core.worktree": (_core_worktree, False),
    "core.bare": (_core_bare, False),
    "refs folder gone": (_refs_gone, False),
    "nested repository made": (_nested_repository, True),
    "folder between made a git dir": (_folder_between_made_a_git_dir, True),
    "ceiling": (_ceiling, True),
    ".git made a gitdir file": (_separate_git_dir, False),
    ".git made a link": (_git_dir_a_link, False),
    "another worktree": (_another_worktree, False),
    "owner (safe.directory)": (_owner, False),
    "safe.directory granted": (_safe_directory_granted, False),
}


@pytest.fixture(params=["hook call", "begin", "command"])
def calls(tmp_path: Path, request: pytest.FixtureRequest) -> Calls:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.git("config", "test.key", "one")
    (repo.path / ".git" / "atomic").mkdir()  # ours, made by a turn's first call
    (repo.path / "sub" / "deeper").mkdir(parents=True)
    return Calls(repo, tmp_path, request.param)


@pytest.mark.parametrize("change", list(CHANGES))
def test_the_next_call_sees_what_changed(calls: Calls, change: str) -> None:
    do, below = CHANGES[change]
    if below:
        calls.start = calls.repo.path / "sub" / "deeper"
    if change.startswith(("owner", "safe")) and os.geteuid() != 0:
        pytest.skip("a folder owned by another user: made by root only")
    first, ran = calls()
    if calls.kind != "command":  # (which found what a hook call kept)
        assert "rev-parse" in ran and "config" in ran, ran
    again, ran = calls()
    assert ran == [], ran  # kept: the call runs no git at all
    assert again == first
    do(calls)
    seen, ran = calls()
    assert "rev-parse" in ran, ran  # asked again
    assert seen == calls.fresh()
    if change in ("owner (safe.directory)", "refs folder gone", "HEAD not a ref", "core.bare"):
        assert "refused" in seen, seen  # (the change is one git's answer shows)
    elif change not in ("branch switched", "HEAD detached", "safe.directory granted"):
        assert seen != first, seen


IDENTITY = tuple(
    f"GIT_{who}_{what}" for who in ("AUTHOR", "COMMITTER") for what in ("NAME", "EMAIL", "DATE")
)


@pytest.mark.parametrize("variable", IDENTITY)
def test_a_commits_identity_changed_is_no_new_discovery(calls: Calls, variable: str) -> None:
    """Who makes a commit and when (an agent that sets its own name or a date per call) changes
    no answer of `rev-parse` nor of `config --list` (`git help git`, ENVIRONMENT): the kept
    answer is used, and it is the answer git gives."""
    calls()
    value = "2030-01-01T00:00:00Z" if variable.endswith("DATE") else "Agent <agent@example.com>"
    calls.env[variable] = value
    seen, ran = calls()
    assert ran == [], ran
    assert seen == calls.fresh()


def test_a_configuration_that_includes_a_file_is_never_kept(calls: Calls) -> None:
    """An included file's answer depends on more than the files keyed (its own bytes, the
    branch for `onbranch:`): such a configuration is read by git at every call."""
    included = calls.tmp / "included.gitconfig"
    included.write_text("[test]\n\tkey = included\n")
    calls.repo.git("config", "include.path", str(included))
    for _ in range(2):
        seen, ran = calls()
        assert sorted(ran) == ["config", "rev-parse"], ran
        assert seen["test.key"] == ["one", "included"], seen
    included.write_text("[test]\n\tkey = changed\n")
    seen, ran = calls()
    assert seen["test.key"] == ["one", "changed"], seen


def test_a_call_with_git_dir_set_is_never_kept(calls: Calls) -> None:
    calls.env["GIT_DIR"] = str(calls.repo.path / ".git")
    for _ in range(2):
        _, ran = calls()
        assert "rev-parse" in ran, ran


def test_a_kept_answer_is_used_only_for_the_git_dirs_found_without_git(calls: Calls) -> None:
    """A kept file that names other git dirs (forged, or of a layout the key misread) is not
    used: git is asked."""
    first, _ = calls()
    (kept,) = (calls.repo.path / ".git" / "atomic").glob("found-*")
    data = kept.read_bytes()
    tag, digest, answer = data.split(b"\n", 2)
    other = calls.tmp / "other"
    forged = answer.replace(os.fsencode(calls.repo.path / ".git"), os.fsencode(other))
    assert forged != answer
    kept.write_bytes(b"\n".join([tag, digest, forged]))
    seen, ran = calls()
    assert "rev-parse" in ran, ran
    assert seen == first


def test_a_kept_worktree_that_does_not_hold_the_folder_is_not_used(calls: Calls) -> None:
    """Without core.worktree, the worktree git finds by walking up from a folder holds it: a
    kept answer that names another (forged) is not used."""
    first, _ = calls()
    (kept,) = (calls.repo.path / ".git" / "atomic").glob("found-*")
    tag, digest, answer = kept.read_bytes().split(b"\n", 2)
    root, others = answer.split(b"\0", 1)
    assert root == os.fsencode(calls.repo.path)
    forged = os.fsencode(calls.tmp / "elsewhere")
    kept.write_bytes(b"\n".join([tag, digest, forged + b"\0" + others]))
    seen, ran = calls()
    assert "rev-parse" in ran, ran
    assert seen == first


def test_a_file_system_mounted_between_the_folder_and_the_worktree_is_seen(
    calls: Calls,
) -> None:
    """git's walk up stops at another file system (unless GIT_DISCOVERY_ACROSS_FILESYSTEM): a
    folder between the call's and the worktree's that becomes a mount point, with the same
    names in it, makes the next call no longer in the repository."""
    between = calls.repo.path / "sub"
    calls.start = between / "deeper"
    first, _ = calls()
    assert first["root"] == str(calls.repo.path)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "none", str(between)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip("no file system can be mounted here (root only)")
    try:
        calls.start.mkdir()
        seen, ran = calls()
        assert "rev-parse" in ran, ran
        assert "refused" in seen, seen
        assert seen == calls.fresh()
    finally:
        subprocess.run(["umount", str(between)], check=True)


def test_a_kept_answer_that_is_a_link_is_never_read_through(calls: Calls) -> None:
    """Our file made a link (to a copy outside, the same bytes): never read through it, git is
    asked, and the copy outside stays as it was."""
    first, _ = calls()
    (kept,) = (calls.repo.path / ".git" / "atomic").glob("found-*")
    outside = calls.tmp / "found-outside"
    outside.write_bytes(kept.read_bytes())
    before = outside.read_bytes()
    kept.unlink()
    kept.symlink_to(outside)
    seen, ran = calls()
    assert "rev-parse" in ran, ran
    assert seen == first
    assert outside.read_bytes() == before


@pytest.mark.parametrize(
    "setting",
    [
        ("remote.origin.url", "https://user:s3cret@host/r"),
        ("remote.origin.url", "https://s3cret@host/r"),
        ("http.extraHeader", "Authorization: Bearer s3cret"),
    ],
)
def test_a_configuration_with_a_credential_is_never_copied(
    calls: Calls, setting: tuple[str, str]
) -> None:
    """The kept file held `config --list` and the key (every configuration file's bytes, the
    `GIT_*` variables): a token in a remote's URL was copied into `.git/atomic`. A
    configuration with a credential is not kept (git is asked at every call); the key is kept
    as its digest only."""
    calls.env["GIT_TEST_VALUE"] = "v4lue"
    calls()
    atomic = calls.repo.path / ".git" / "atomic"
    (kept,) = atomic.glob("found-*")
    assert b"v4lue" not in kept.read_bytes()  # the key's digest, not the key
    calls.repo.git("config", *setting)
    for _ in range(2):
        _, ran = calls()
        assert "rev-parse" in ran, ran
    if calls.kind != "command":  # (a command's discovery keeps and removes nothing)
        assert not list(atomic.glob("found-*"))  # the one kept before it goes
    copied = [p for p in atomic.rglob("*") if p.is_file() and b"s3cret" in p.read_bytes()]
    assert not copied
