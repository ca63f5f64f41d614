"""What the README, the docs and the demo tell a newcomer agrees with the code, and works."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from testing.gitrepo import ROOT, hermetic_env

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_no_page_installs_from_an_index_that_serves_no_release() -> None:
    for page in PAGES:
        text = page.read_text()
        for line in text.splitlines():
            assert not re.search(r"pip install (-U )?['\"]?git-atomic\b", line), (page, line)


def test_every_page_says_config_gates_do_not_run_in_a_tdd_phase() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "every `run`, `commit` and `tdd` phase" not in readme
    assert "They do not run in a\n`tdd` phase" in readme
    assert "do not run in a TDD phase" in (ROOT / "docs" / "gates-and-tdd.md").read_text()


def test_the_demo_prints_commands_that_can_be_pasted(tmp_path: Path) -> None:
    shim = tmp_path / "bin" / "git-atomic"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m git_atomic "$@"\n')
    shim.chmod(0o755)
    env = hermetic_env(
        tmp_path / "home", {"PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"}
    )
    env["TMPDIR"] = str(tmp_path)
    out = subprocess.run(
        ["bash", str(ROOT / "examples" / "demo.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    shown = [line[len("\x1b[1m$ ") : -len("\x1b[0m")] for line in out.splitlines() if "$ " in line]
    runs = [shlex.split(line) for line in shown if line.startswith("git atomic run")]
    assert runs[0][-4:] == ["sed", "-i", "s/a + b/a - b/", "calc.py"]
    assert runs[1][-2] == '1a\\    """Add two numbers."""'


def test_the_package_metadata_uses_the_spdx_license_and_ships_the_docs() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").exists()
    manifest = (ROOT / "MANIFEST.in").read_text().splitlines()
    assert "graft docs" in manifest and "graft examples" in manifest
    readme = (ROOT / "README.md").read_text()
    assert "pip install -e '.[test]'" not in readme


def test_completion_is_found_from_the_package(tmp_path: Path) -> None:
    env = hermetic_env(tmp_path / "home")
    out = subprocess.run(
        [sys.executable, "-m", "git_atomic", "help", "--completion-path"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert (Path(out) / "git-atomic.bash").is_file() and (Path(out) / "_git-atomic").is_file()
