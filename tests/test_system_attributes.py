"""Every attributes file git reads counts for the capture's line-ending check: the system's
(`/etc/gitattributes` for a git in /usr; systemattributes.py), and a tree git is told to read
the `.gitattributes` from (`GIT_ATTR_SOURCE`, `attr.tree`).

A system rule `*.txt text eol=lf` has `git add` store a CRLF file as LF. The capture read only
`.git/info/attributes`, your global file and the worktree's `.gitattributes`: it took the stat
cache's LF blob for the file, and a failed run, an abort, a macro of the system file used by a
`.gitattributes` of yours all wrote `a\\nb\\n` back where the disk had `a\\r\\nb\\r\\n`.

/etc is never changed: those tests run their git and git-atomic calls in a mount namespace of
their own, over an overlay of /etc (testing/privateetc.py), and are skipped where it cannot be
made. The bytes are read from the disk."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testing import privateetc
from testing.gitrepo import GitRepo

CRLF = b"a\r\nb\r\n"
ATOMIC = f"{shlex.quote(sys.executable)} -m git_atomic"
OP = "printf 'op\\r\\n' > crlf.txt; rm other.txt untracked.txt"

needs_private_etc = pytest.mark.skipif(
    not privateetc.available(), reason="no private /etc here (root, unshare and overlayfs)"
)


def _in_etc(repo: GitRepo, rules: bytes, script: str, **env: str) -> str:
    """`script` run in the worktree where /etc/gitattributes holds `rules`; its output."""
    full = {**repo.env, "GIT_ATOMIC_HELPER": "0", **env}  # no helper left in the namespace
    res = privateetc.run(
        {"gitattributes": rules}, script, repo.path.parent / "etc", cwd=repo.path, env=full
    )
    assert res.returncode == 0, (script, res.stdout, res.stderr)
    return res.stdout


def _set_up(repo: GitRepo, rules: bytes, **env: str) -> str:
    """Files committed with CRLF under the system's rules, past the racy second; what `git
    status` says then."""
    repo.write("crlf.txt", CRLF)
    repo.write("other.txt", b"o\r\n")
    blob = _in_etc(
        repo,
        rules,
        "git add . && git commit -qm crlf && git cat-file blob HEAD:crlf.txt",
        **env,
    )
    repo.write("untracked.txt", b"u\r\n")
    time.sleep(1.1)  # the files' times past the racy second: their stat data is trusted
    assert blob == ("a\nb\n" if rules else "a\r\nb\r\n")  # git converted it (or not)
    return _in_etc(repo, rules, "git status --porcelain", **env)


def _taken_back(how: str) -> str:
    if how == "failed run":
        return f'{ATOMIC} run --no-gates -- sh -c "{OP}; exit 1"; test $? = 1'
    return f'{ATOMIC} begin work && sh -c "{OP}" && {ATOMIC} abort'


@needs_private_etc
@pytest.mark.parametrize("how", ["failed run", "abort"])
@pytest.mark.parametrize("where", ["system rule", "system macro"])
def test_files_a_system_rule_converts_come_back_byte_for_byte(
    repo: GitRepo, how: str, where: str
) -> None:
    rules = b"*.txt text eol=lf\n"
    if where == "system macro":  # the system file defines it, a `.gitattributes` uses it
        rules = b"[attr]norm text eol=lf\n"
        repo.write(".gitattributes", b"*.txt norm\n")
    status = _set_up(repo, rules)
    _in_etc(repo, rules, _taken_back(how))
    got = (repo.read("crlf.txt"), repo.read("other.txt"), repo.read("untracked.txt"))
    assert got == (CRLF, b"o\r\n", b"u\r\n")
    assert _in_etc(repo, rules, "git status --porcelain") == status


def _raw_record(repo: GitRepo) -> list[str]:
    folder = repo.path / ".git" / "atomic"
    return [n for n in os.listdir(folder) if n.startswith("raw-") and not n.endswith(".since")]


@needs_private_etc
def test_a_system_file_git_is_told_not_to_read_costs_nothing(repo: GitRepo) -> None:
    """GIT_ATTR_NOSYSTEM: git reads no system file, and the capture reads no raw bytes."""
    rules = b"*.txt text eol=lf\n"
    _set_up(repo, rules, GIT_ATTR_NOSYSTEM="1")
    _in_etc(repo, rules, _taken_back("failed run"), GIT_ATTR_NOSYSTEM="1")
    assert (repo.read("crlf.txt"), repo.read("untracked.txt")) == (CRLF, b"u\r\n")
    assert _raw_record(repo) == []
    _in_etc(repo, rules, _taken_back("failed run"))  # read: a conversion counted
    assert _raw_record(repo) != []


@pytest.mark.parametrize("told", ["GIT_ATTR_SOURCE", "attr.tree"])
def test_attributes_read_from_a_tree_count_as_converting(repo: GitRepo, told: str) -> None:
    """git 2.41 and 2.43 read the `.gitattributes` of a tree when told (never the worktree's):
    not read here, a conversion is counted as possible (the raw bytes read)."""
    repo.write("crlf.txt", CRLF)
    repo.git("add", "crlf.txt")
    repo.git("commit", "-qm", "crlf")
    env = {"GIT_ATTR_SOURCE": "HEAD"} if told == "GIT_ATTR_SOURCE" else {}
    if told == "attr.tree":
        repo.git("config", "attr.tree", "HEAD")
    repo.atomic("run", "--no-gates", "--", "sh", "-c", f"{OP.split(';')[0]}; exit 1", env=env)
    assert repo.read("crlf.txt") == CRLF
    assert _raw_record(repo) != []


def _git_at(folder: Path, system_config: Path) -> None:
    """A git program in `folder` whose system configuration file is `system_config` (as a
    git built with another prefix has it)."""
    folder.mkdir(parents=True)
    (folder / "git").write_text(
        f'#!/bin/sh\nGIT_CONFIG_SYSTEM={system_config} exec /usr/bin/git "$@"\n'
    )
    (folder / "git").chmod(0o755)


def test_the_system_file_is_where_that_git_s_build_puts_it(repo: GitRepo, tmp_path: Path) -> None:
    """Asked once per git program (its identity). An older git: beside its system configuration
    file (also where that file's folder is not there), and in `etc/` of its prefix (a build
    may put the two apart); GIT_CONFIG_SYSTEM and GIT_EXEC_PATH of yours move neither."""
    probe = (
        "from git_atomic.engine import discovery, systemattributes\n"
        "print(systemattributes.places(discovery.discover()))\n"
    )

    def asked(**env: str) -> str:
        full = {**repo.env, **env}
        ran = subprocess.run(
            [sys.executable, "-c", probe], cwd=repo.path, env=full, capture_output=True, text=True
        )
        assert ran.returncode == 0, ran.stderr
        return ran.stdout.strip()

    etc = "('/etc/gitattributes',)"
    if subprocess.run(["git", "var", "GIT_ATTR_SYSTEM"], capture_output=True).returncode == 0:
        said = subprocess.check_output(["git", "var", "GIT_ATTR_SYSTEM"], text=True)
        assert asked() == repr((said.removesuffix("\n"),))
        return  # git 2.42 and later say where: the rest is an older git's
    assert asked() == etc  # git 2.39's: prefix /usr
    mine = {"GIT_CONFIG_SYSTEM": str(tmp_path / "mine"), "GIT_EXEC_PATH": "/opt/libexec/git-core"}
    assert asked(**mine) == etc
    elsewhere = tmp_path / "prefix" / "share"
    _git_at(tmp_path / "bin", elsewhere / "gitconfig")
    path = f"{tmp_path / 'bin'}{os.pathsep}{repo.env['PATH']}"
    both = repr((str(elsewhere / "gitattributes"), "/etc/gitattributes"))
    assert asked(PATH=path) == both  # its folder not there
    elsewhere.mkdir(parents=True)
    (tmp_path / "bin" / "git").touch()  # another program: asked again
    assert asked(PATH=path) == both  # its folder there
    assert asked(GIT_ATTR_NOSYSTEM="true") == "None"
    assert asked(GIT_ATTR_NOSYSTEM="0") == etc


@needs_private_etc
def test_a_system_file_at_either_place_an_older_git_may_mean_counts(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A git whose system configuration file is elsewhere than `etc/` of its prefix (as a build
    with ETC_GITCONFIG set apart has it): its /etc/gitattributes is read all the same."""
    _git_at(tmp_path / "bin", tmp_path / "share" / "gitconfig")
    path = f"{tmp_path / 'bin'}{os.pathsep}{repo.env['PATH']}"
    rules = b"*.txt text eol=lf\n"
    _set_up(repo, rules, PATH=path)
    _in_etc(repo, rules, _taken_back("failed run"), PATH=path)
    assert (repo.read("crlf.txt"), repo.read("untracked.txt")) == (CRLF, b"u\r\n")


@needs_private_etc
def test_commits_mode_commits_what_git_would_under_a_system_rule(repo: GitRepo) -> None:
    """The scan asks `check-attr` which changed files convert where the system file names a
    conversion: a commits-mode commit holds git's LF blobs (before: the disk's CRLF, and
    `git status` listed both files as modified after the run)."""
    rules = b"*.txt text eol=lf\n"
    _set_up(repo, rules)
    made = "printf 'x\\r\\ny\\r\\n' > crlf.txt; printf 'n\\r\\n' > new.txt"
    _in_etc(repo, rules, f'{ATOMIC} run --no-gates -- sh -c "{made}"')
    blobs = _in_etc(repo, rules, "git cat-file blob HEAD:crlf.txt; git cat-file blob HEAD:new.txt")
    assert blobs == "x\ny\nn\n"
    assert (repo.read("crlf.txt"), repo.read("new.txt")) == (b"x\r\ny\r\n", b"n\r\n")
    assert "crlf.txt" not in _in_etc(repo, rules, "git status --porcelain")
