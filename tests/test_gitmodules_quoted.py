"""Submodule paths git writes quoted or escaped in `.gitmodules` (and in the submodule's
`core.worktree`): `path = "a#b;c"`, `path = q\\"x`, `path = b\\\\s`, `path = " lead"`,
`path = tab\\tx`. Our own reading of those files (an agent turn's window reads them with no
git process) took only values written plainly, so a submodule at such a path was not noted:
a turn that ran `git submodule deinit -f` on it was taken back with its folder left empty and
not a word. They are read as git reads them now (engine/configtext.py, checked here against
`git config --list` itself), and each such submodule comes back as a plain one does.
"""

from __future__ import annotations

import os
import random
import shlex
import subprocess
from pathlib import Path

import pytest

from git_atomic.engine import configtext
from testing.agents import failed_shell_turn
from testing.gitrepo import GitRepo
from testing.takeback import taken_back

# Each a path git writes another way than plainly somewhere (quoted, escaped), or one a
# reader may take for something else (a space, a letter not ASCII). (Not a leading `-`: git
# ignores such a `path`, "which may be interpreted as a command-line option".)
PATHS = ["my sub", "a#b;c", 'q"x', "b\\s", " lead", "tab\tx", "ü", "semi;colon"]
PATHS += ["g[1]*"]  # a pattern's letters: git is asked of it as a name
LAYOUTS = ["git-file", "git-folder"]


def _submodule(repo: GitRepo, tmp_path: Path, path: str, layout: str) -> Path:
    upstream = GitRepo.create(tmp_path / "upstream", tmp_path / "home")
    upstream.write("s.txt", b"s\n")
    upstream.git("add", "s.txt")
    upstream.git("commit", "-qm", "s")
    allow = ("-c", "protocol.file.allow=always")
    repo.git(*allow, "clone", "-q", str(upstream.path), "--", path)  # there first: a .git folder
    repo.git("add", "--", path)
    repo.git("config", "--file", ".gitmodules", f"submodule.{path}.path", path)
    repo.git("config", "--file", ".gitmodules", f"submodule.{path}.url", str(upstream.path))
    repo.git("add", ".gitmodules")
    repo.git(*allow, "submodule", "-q", "init")
    if layout == "git-file":
        repo.git("submodule", "-q", "absorbgitdirs")
    repo.git("commit", "-qm", "sub")
    sub = repo.path / path
    assert (sub / ".git").is_dir() == (layout == "git-folder")
    return sub


def _git_in(repo: GitRepo, sub: Path, *args: str) -> str:
    return GitRepo(sub, repo.env).git(*args)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("path", PATHS)
def test_a_turn_checks_out_again_a_submodule_at_a_path_git_quotes(
    repo: GitRepo, tmp_path: Path, path: str, layout: str
) -> None:
    sub = _submodule(repo, tmp_path, path, layout)
    files, head = sorted(os.listdir(sub)), _git_in(repo, sub, "rev-parse", "HEAD")
    answer = failed_shell_turn(repo, f"git submodule deinit -q -f -- {shlex.quote(path)}")
    assert sorted(os.listdir(sub)) == files, answer
    assert (sub / "s.txt").read_bytes() == b"s\n"
    assert os.path.isfile(sub / ".git") or os.path.isdir(sub / ".git")
    assert _git_in(repo, sub, "rev-parse", "HEAD") == head
    assert _git_in(repo, sub, "status", "--porcelain") == ""
    assert f"{path}: the operation emptied this submodule's folder" in answer["systemMessage"]


@pytest.mark.parametrize("path", PATHS[:5])
def test_a_run_checks_out_again_a_submodule_at_a_path_git_quotes(
    repo: GitRepo, tmp_path: Path, path: str
) -> None:
    """The same through an operation's PRE-OP (git's own reading) and `rollback --op`."""
    sub = _submodule(repo, tmp_path, path, "git-folder")
    files = sorted(os.listdir(sub))
    res = taken_back(repo, f"git submodule deinit -q -f -- {shlex.quote(path)}", "rollback-op")
    assert sorted(os.listdir(sub)) == files, res.stderr
    assert (sub / "s.txt").read_bytes() == b"s\n"
    assert f"{path}: the operation emptied this submodule's folder" in res.stderr


def _git_list(tmp_path: Path, data: bytes) -> list[tuple[bytes, bytes | None]] | None:
    (tmp_path / "c").write_bytes(data)
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}
    listed = subprocess.run(
        ["git", "config", "-z", "--file", str(tmp_path / "c"), "--list"],
        capture_output=True, env=env, check=False,
    )  # fmt: skip
    if listed.returncode != 0:
        return None
    out: list[tuple[bytes, bytes | None]] = []
    for item in listed.stdout.split(b"\0")[:-1]:
        key, nl, value = item.partition(b"\n")
        out.append((key, value if nl else None))
    return out


_VALUES = [b'"', b"\\", b"\\\\", b'\\"', b"\\n", b"\\t", b"\\b", b" ", b"\t", b"#", b";", b"a"]
_VALUES += [b"\xc3\xbc", b"\\\n", b"\r", b"x y", b"-", b"\\q"]
_SUBS = [b"a", b" ", b'\\"', b"\\\\", b"\\x", b"#", b"]", b"\xc3\xbc", b""]


def _text(rnd: random.Random) -> bytes:
    lines = []
    for _ in range(rnd.randint(1, 4)):
        if rnd.random() < 0.3:
            sub = b"".join(rnd.choice(_SUBS) for _ in range(rnd.randint(0, 5)))
            heads = [b'[submodule "' + sub + b'"]', b"[Sub.Sec]", b" [core] # c", b'[a "x"]y']
            lines.append(rnd.choice([*heads, b'[a  \t"' + sub + b'"]', b"[]", b"[a"]))
        else:
            value = b"".join(rnd.choice(_VALUES) for _ in range(rnd.randint(0, 8)))
            keys = [b"\tpath = ", b"Path=", b"path", b"wOrk-tree =", b"p1 =", b"1x=", b"k x="]
            lines.append(rnd.choice(keys) + value)
    start = rnd.choice([b"", b"", b"\xef\xbb\xbf", b"\xef"])
    return start + rnd.choice([b"\n", b"\r\n"]).join(lines) + rnd.choice([b"", b"\n"])


def test_config_text_is_read_as_git_reads_it(tmp_path: Path) -> None:
    """Every text, refused or read, gives what `git config --list` gives (800 made at random
    from the pieces that matter: quotes, escapes, comments, spaces, CRs, section forms)."""
    rnd, read = random.Random(54), 0
    for _ in range(800):
        data = _text(rnd)
        wanted = _git_list(tmp_path, data)
        read += wanted is not None
        assert configtext.entries(data) == wanted, data
    assert read > 100  # (most read, not refused: the comparison is of values)


def test_submodule_paths_as_git_lists_them(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    text = b"".join(
        b'[submodule "' + n + b'"]\n\tpath = ' + p + b"\n"
        for n, p in [(b"a#b", b'"a#b;c"'), (b'q\\"x', b'q\\"x'), (b"b", b'" lead"  # x')]
    )
    assert configtext.submodule_paths(text) == [
        (b"a#b", b"a#b;c"), (b'q"x', b'q"x'), (b"b", b" lead")
    ]  # fmt: skip


def test_advice_names_such_a_submodule_as_a_shell_reads_it(repo: GitRepo, tmp_path: Path) -> None:
    """The commands a line gives for a submodule at such a path are shell-quoted: `git
    submodule update --init -- my sub` would name two paths."""
    sub = _submodule(repo, tmp_path, "my sub", "git-folder")
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", "rm -rf 'my sub'; exit 1", check=1)
    assert "`git submodule update --init -- 'my sub'` for a submodule" in res.stderr, res.stderr
    assert sub.is_dir()
