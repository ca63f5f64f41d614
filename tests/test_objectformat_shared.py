"""An object written loose without git in a repository shared by a group
(`core.sharedRepository`) gets the bits git gives the same object there, and so does the
folder it makes for it (objectformat.shared_mode): one the group cannot write would stop the
others' git. Differential: the same bytes written by `git hash-object -w` and by us, in two
new repositories with the same setting, under the same umask; compared by lstat."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SETTINGS = ["group", "true", "1", "all", "everybody", "2", "0640", "0660", "0600", "0664", "0666"]
OURS = """
import sys
from pathlib import Path
from git_atomic.engine import objectformat
shared = objectformat.shared_perm(sys.argv[2])
assert shared, sys.argv[2]
objects = Path(sys.argv[1])
print(objectformat.write_loose_blob(objects, b"same bytes\\n", sha256=False, shared=shared))
"""


def _init(path: Path, shared: str, env: dict[str, str]) -> None:
    subprocess.run(["git", "init", "-q", str(path)], env=env, check=True)
    subprocess.run(["git", "-C", str(path), "config", "core.sharedRepository", shared], env=env)


def _bits(objects: Path, oid: str) -> tuple[int, int]:
    return (
        (objects / oid[:2]).lstat().st_mode & 0o7777,
        (objects / oid[:2] / oid[2:]).lstat().st_mode & 0o7777,
    )


@pytest.mark.parametrize("umask", ["022", "077", "002"])
@pytest.mark.parametrize("shared", SETTINGS)
def test_an_object_written_loose_gets_the_bits_git_gives_it(
    tmp_path: Path, shared: str, umask: str
) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}
    theirs, ours = tmp_path / "theirs", tmp_path / "ours"
    _init(theirs, shared, env)
    _init(ours, shared, env)
    git_wrote = subprocess.run(
        ["sh", "-c", f"umask {umask} && printf 'same bytes\\n' | git hash-object -w --stdin"],
        cwd=theirs,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    objects = str(ours / ".git" / "objects")
    we_wrote = subprocess.run(
        [
            "sh",
            "-c",
            f'umask {umask} && exec "$@"',
            "sh",
            sys.executable,
            "-c",
            OURS,
            objects,
            shared,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert we_wrote == git_wrote
    assert _bits(ours / ".git" / "objects", we_wrote) == _bits(
        theirs / ".git" / "objects", git_wrote
    )
