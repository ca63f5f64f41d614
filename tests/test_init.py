"""`git atomic init`: a first configuration from the project's own test and lint commands."""

from __future__ import annotations

import codecs
import json
import tomllib
from pathlib import Path

import pytest

from git_atomic.core.config import load_config
from testing.gitrepo import GitRepo


def _gates(root: Path) -> list[tuple[str, object]]:
    return [(g.name, g.run) for g in load_config(root).gates]


def test_a_python_project_gets_its_pytest_ruff_and_mypy(repo: GitRepo) -> None:
    repo.write(
        "pyproject.toml",
        b'[project]\nname = "x"\n[tool.ruff]\nline-length = 100\n'
        b'[tool.pytest.ini_options]\naddopts = "-q"\n[tool.mypy]\nstrict = true\n',
    )
    res = repo.atomic("init", check=0)
    assert _gates(repo.path) == [
        ("tests", "pytest -q"),
        ("lint", "ruff check ."),
        ("types", "mypy ."),
    ]
    config = load_config(repo.path)
    assert config.tdd.test == "pytest -q" and config.history.value == "commits"
    data = tomllib.loads(repo.read("pyproject.toml").decode())
    assert data["project"] == {"name": "x"} and data["tool"]["ruff"] == {"line-length": 100}
    assert "wrote pyproject.toml [tool.git-atomic]: gates tests (pytest -q)" in res.stderr
    assert (
        "# found: pyproject.toml [tool.pytest.ini_options]" in repo.read("pyproject.toml").decode()
    )


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "package.json": json.dumps({"scripts": {"test": "vitest", "lint": "eslint ."}}),
                "pnpm-lock.yaml": "",
            },
            [("tests", "pnpm test"), ("lint", "pnpm run lint")],
        ),
        (
            {"package.json": json.dumps({"scripts": {"test": "jest"}}), "yarn.lock": ""},
            [("tests", "yarn test")],
        ),
        (
            {"package.json": json.dumps({"scripts": {"test": 'echo "Error: no test specified"'}})},
            [],
        ),
        ({"Cargo.toml": "[package]\nname = 'x'\n"}, [("tests", "cargo test --quiet")]),
        ({"go.mod": "module x\n"}, [("tests", "go test ./..."), ("vet", "go vet ./...")]),
        (
            {
                "Makefile": "test: build\n\tprove\nlint:\n\tshellcheck *.sh\n",
                "go.mod": "module x\n",
            },
            [("tests", "make test"), ("vet", "go vet ./..."), ("lint", "make lint")],
        ),
        (
            {
                "Makefile": "lint:\n\tshellcheck *.sh\n",
                "ruff.toml": "",
                "package.json": json.dumps({"scripts": {"lint": "eslint ."}}),
            },
            [("lint", "ruff check ."), ("lint-2", "npm run lint"), ("lint-3", "make lint")],
        ),
        ({"tox.ini": "[tox]\nenvlist = py311\n"}, [("tests", "tox -q")]),
        ({"noxfile.py": ""}, [("tests", "nox")]),
        ({"tests/test_a.py": ""}, [("tests", "pytest -q")]),
    ],
)
def test_other_projects(
    repo: GitRepo, files: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    for name, text in files.items():
        repo.write(name, text.encode())
    repo.atomic("init", check=0)
    assert _gates(repo.path) == expected
    assert (repo.path / ".git-atomic.toml").exists()


def test_project_files_that_begin_with_a_byte_order_mark_are_read(repo: GitRepo) -> None:
    """A package.json or pyproject.toml saved by Notepad or PowerShell's `Out-File` begins with
    a byte order mark: init found no npm test in the one (read as no JSON) and refused the
    other ("cannot read"). Each is read past it; pyproject.toml is written back without it."""
    mark = codecs.BOM_UTF8
    repo.write("package.json", mark + json.dumps({"scripts": {"test": "jest"}}).encode())
    repo.write("pyproject.toml", mark + b'[project]\nname = "caf\xc3\xa9"\n')
    repo.atomic("init", check=0)
    assert _gates(repo.path) == [("tests", "npm test")]
    written = repo.read("pyproject.toml")
    assert not written.startswith(mark)
    assert tomllib.loads(written.decode())["project"]["name"] == "café"


def test_nothing_found_writes_examples_in_comments(repo: GitRepo) -> None:
    res = repo.atomic("init", check=0)
    assert "no test or lint command found" in res.stderr
    assert load_config(repo.path).gates == ()
    assert '# run = "pytest -q"' in repo.read(".git-atomic.toml").decode()


def test_dry_run_prints_and_writes_nothing(repo: GitRepo) -> None:
    repo.write("go.mod", b"module x\n")
    before = repo.fingerprint()
    res = repo.atomic("init", "--dry-run", check=0)
    assert 'run = "go test ./..."' in res.stdout and "nothing written" in res.stderr
    assert repo.fingerprint().diff(before) == []


@pytest.mark.parametrize("where", [".git-atomic.toml", "pyproject.toml"])
def test_an_existing_configuration_needs_force(repo: GitRepo, where: str) -> None:
    table = "[tool.git-atomic]\n" if where == "pyproject.toml" else ""
    repo.write(
        where,
        f'{table}history = "shadow"\n[tool.other]\nx = 1\n'.encode()
        if table
        else b'history = "shadow"\n',
    )
    repo.write("go.mod", b"module x\n")
    before = repo.fingerprint()
    err = repo.atomic("init", check=2).stderr
    assert "already configures git-atomic" in err and "--force" in err
    assert repo.fingerprint().diff(before) == []
    repo.atomic("init", "--force", check=0)
    repo.atomic("init", "--force", check=0)  # twice: still one table, not two
    assert _gates(repo.path) == [("tests", "go test ./..."), ("vet", "go vet ./...")]
    assert load_config(repo.path).history.value == "commits"
    if table:
        assert tomllib.loads(repo.read(where).decode())["tool"]["other"] == {"x": 1}


def test_init_killed_before_its_rename_leaves_your_pyproject_as_it_was(repo: GitRepo) -> None:
    """pyproject.toml was truncated and rewritten in place: a kill (or a power cut) in between
    left it torn. Now it is written aside and renamed (failpoint wholefile:aside: the kill
    there leaves the old bytes); the next init removes the copy the killed one left."""
    import signal

    old = b'[project]\nname = "x"\n\n[tool.git-atomic]\nhistory = "shadow"\n'
    repo.write("pyproject.toml", old, mode=0o640)
    env = {"GIT_ATOMIC_FAILPOINT": "wholefile:aside", "GIT_ATOMIC_HELPER": "0"}
    res = repo.atomic("init", "--force", env=env)
    assert res.returncode == -signal.SIGKILL, (res.returncode, res.stderr)
    assert repo.read("pyproject.toml") == old
    left = [p.name for p in repo.path.iterdir() if p.name.startswith(".pyproject.toml.")]
    assert len(left) == 1 and left[0].endswith(".tmp")
    repo.atomic("init", "--force", check=0)
    assert not any(p.name.startswith(".pyproject.toml.") for p in repo.path.iterdir())
    written = tomllib.loads(repo.read("pyproject.toml").decode())
    assert written["project"]["name"] == "x" and "git-atomic" in written["tool"]
    assert (repo.path / "pyproject.toml").stat().st_mode & 0o777 == 0o640


def test_init_never_writes_through_a_link(repo: GitRepo, tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_bytes(b"[tool.other]\nx = 1\n")
    (repo.path / ".git-atomic.toml").symlink_to(outside)
    res = repo.atomic("init", "--force", check=3)
    assert "symbolic link" in res.stderr and res.stderr.count("\n") == 1
    assert outside.read_bytes() == b"[tool.other]\nx = 1\n"
    assert (repo.path / ".git-atomic.toml").is_symlink()
