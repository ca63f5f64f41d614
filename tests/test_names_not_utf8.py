"""Names that are not UTF-8 (a file `\\xff\\xfe.txt`, a branch `br\\xfe`: Linux allows both) in
what git-atomic prints: `--json` is UTF-8 that a strict parser reads (no lone surrogate; each
such name readable with U+FFFD, its exact bytes under `not_utf8`), and text for people is never
an internal error nor the raw bytes."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from testing.gitrepo import GitRepo

FILE = b"\xff\xfe.txt"
BRANCH = b"br\xfe"
MAKE = (
    f"import subprocess; open({FILE!r}, 'wb').write(b'x');"
    f" subprocess.run(['git', 'branch', {BRANCH!r}], check=True)"
)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """An operation kept that made the file and the branch."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.atomic("run", "--", "python3", "-c", MAKE, check=0)
    assert os.path.lexists(os.path.join(os.fsencode(repo.path), FILE))
    return repo


def strict(stdout: str) -> dict[str, Any]:
    """The JSON as a strict parser takes it: UTF-8, and not one lone surrogate in a string."""
    data = json.loads(stdout.encode("utf-8").decode("utf-8", "strict"))

    def walk(value: object) -> None:
        if isinstance(value, str):
            value.encode("utf-8")  # raises on a lone surrogate
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)
    assert isinstance(data, dict)
    return data


def exact(data: dict[str, Any], pointer: str) -> bytes:
    return base64.b64decode(data["not_utf8"][pointer], validate=True)


def test_json_names_are_utf8_with_their_exact_bytes(repo: GitRepo) -> None:
    """`rollback --dry-run --json` wrote `"\\udcff\\udcfe.txt"`: a lone surrogate, which Rust's
    serde_json, Go and jq refuse; the MCP server, which passes the CLI's JSON on, died of it."""
    res = repo.atomic("rollback", "--dry-run", "--json", check=0)
    data = strict(res.stdout)
    [change] = data["changes"]
    assert change == {"path": "\ufffd\ufffd.txt", "action": "delete"}
    assert exact(data, "/changes/0/path") == FILE
    assert data["index"] == ["\ufffd\ufffd.txt"]
    assert exact(data, "/index/0") == FILE
    at = next(i for i, b in enumerate(data["branches"]) if b["name"] == "br\ufffd")
    assert exact(data, f"/branches/{at}/name") == BRANCH
    assert os.path.lexists(os.path.join(os.fsencode(repo.path), FILE))  # a dry run


def test_a_json_error_naming_such_a_path_is_utf8_and_exact(repo: GitRepo) -> None:
    pre = repo.atomic_json("log")["operations"][0]["checkpoints"]["pre_op"]
    missing = os.fsdecode(b"zz\xfe")
    res = repo.atomic("rollback", "--to", pre, "--json", "--", missing, check=2)
    data = strict(res.stdout)
    assert data["exit_code"] == 2 and data["error"].startswith("zz\ufffd: ")
    assert exact(data, "/error").startswith(b"zz\xfe: ")
    assert os.path.lexists(os.path.join(os.fsencode(repo.path), FILE))


def test_json_without_such_names_has_no_not_utf8(repo: GitRepo) -> None:
    assert "not_utf8" not in repo.atomic_json("status")
    assert "not_utf8" not in repo.atomic_json("log")


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_text_for_people_shows_the_bytes_escaped_under_a_strict_stream(
    repo: GitRepo, encoding: str
) -> None:
    """Under a stream that refuses surrogates (a UTF-8 locale's strict stdout; here by
    PYTHONIOENCODING) the dry run's listing of the branch `br\\xfe` was an internal error, exit
    3; elsewhere it wrote the raw byte to the terminal. Now `br\\xfe`, as the journal shows it."""
    res = repo.atomic("rollback", "--dry-run", env={"PYTHONIOENCODING": encoding}, check=0)
    assert "br\\xfe (none)" not in res.stdout  # created by the operation: deleted
    assert "branch  br\\xfe " in res.stdout, res.stdout
    assert '"\\377\\376.txt"' in res.stdout  # a path: quoted as git quotes it
    assert "internal error" not in res.stderr and "\\udc" not in res.stdout + res.stderr
    pre = repo.atomic_json("log")["operations"][0]["checkpoints"]["pre_op"]
    missing = os.fsdecode(b"zz\xfe")
    res = repo.atomic(
        "rollback", "--to", pre, "--", missing, env={"PYTHONIOENCODING": encoding}, check=2
    )
    assert res.stderr.startswith("git-atomic: zz\\xfe: "), res.stderr


def test_a_gates_log_in_a_repository_whose_folder_is_not_utf8_is_found_again(
    tmp_path: Path,
) -> None:
    """The journal holds text as UTF-8 can (such a byte written `\\xe9`): a failed gate's log
    in `/tmp/r\\xe9/...` was read back as a path with a backslash, where no file is (`log`,
    `show`, the API). Now a log under our folder is kept relative to it, and found again."""
    root = Path(os.fsdecode(os.fsencode(tmp_path) + b"/r\xe9"))
    repo = GitRepo.create(root, tmp_path / "home")
    repo.atomic("run", "-g", "false", "--", "true", check=1)
    shown = strict(repo.atomic("log", "--json").stdout)
    op = shown["operations"][0]["op_id"]
    data = strict(repo.atomic("show", op, "--json").stdout)
    where = [k for k in data["not_utf8"] if k.startswith("/gates/0/log")]
    assert where, data
    assert os.path.isfile(exact(data, where[0]))
