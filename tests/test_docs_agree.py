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
    # As a user runs it: the gate's python3 writes its __pycache__/ into the demo's tree.
    env.pop("PYTHONPYCACHEPREFIX", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
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
    # The kept operation is one commit of its own change: no POST-OP commit of the gate's output.
    assert "POST-OP" not in out and "__pycache__" not in out


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


_LAYER_FOLDERS = "cli|commands|agents|views|ops|engine|core"
_NAMED_MODULE = re.compile(
    rf"(?<![\w./-])((?:src/git_atomic/|git_atomic/)?(?:{_LAYER_FOLDERS}|testing)/[\w/]*\w)"
    r"(\.py\b|\.(\w+)|/)?"
)


def test_every_module_a_page_names_exists() -> None:
    """`core/process.py`, `engine/git.head_text`, `core/journal/`: each exists, the name in it."""
    package = ROOT / "src" / "git_atomic"
    for page in [*PAGES, ROOT / "benchmarks" / "README.md"]:
        if page.name == "agents-research.md":  # the platforms' own sources (agents/agent-tool.ts)
            continue
        text = page.read_text()
        for m in _NAMED_MODULE.finditer(text):
            name, suffix, attr = m.group(1), m.group(2) or "", m.group(3)
            name = name.removeprefix("src/").removeprefix("git_atomic/")
            base = ROOT if name.startswith("testing/") else package
            where = (page.name, text[: m.start()].count("\n") + 1, m.group(0))
            if suffix == "/":
                assert (base / name).is_dir(), where
            elif suffix == ".py" or attr:
                module = base / f"{name}.py"
                if not module.is_file():
                    module = base / name / "__init__.py"
                assert module.is_file(), where
                if attr and attr != "py":
                    source = module.read_text()
                    assert re.search(rf"^\s*(def|class) {attr}\b|^{attr}\b", source, re.M), where
            else:
                assert (base / name).is_dir() or (base / f"{name}.py").is_file(), where


def test_every_test_file_a_page_names_exists() -> None:
    # The how-tos and the tutorial name files of the reader's own project (tests/test_login.py).
    for page in PAGES:
        if page.name.startswith("howto-") or page.name == "tutorial.md":
            continue
        text = page.read_text()
        named = r"(?<![\w./-])((?:tests|benchmarks|examples)/[\w/.-]*\.(?:py|sh))"
        for m in re.finditer(named, text):
            assert (ROOT / m.group(1)).is_file(), (page.name, m.group(1))


def _layer_map() -> dict[str, str]:
    text = (ROOT / "docs" / "design.md").read_text()
    block = text.split("## The code's layers", 1)[1].split("```\n", 2)[1]
    layers: dict[str, str] = {}
    current = ""
    for line in block.splitlines():
        m = re.match(rf"\s*(top|(?:{_LAYER_FOLDERS})/)\s", line)
        if m:
            current = m.group(1).rstrip("/")
            line = line[m.end() :]
        layers[current] = layers.get(current, "") + " " + line
    return layers


def test_the_layer_map_names_each_module_in_its_own_layer() -> None:
    """design.md's "The code's layers": a module it names is in the folder it names it under."""
    package = ROOT / "src" / "git_atomic"
    layers = _layer_map()
    checked = (ROOT / "tests" / "test_layers.py").read_text().split("LAYERS", 1)[1]
    bottom_up = re.findall(r'^    \("(\w+)", "', checked.split("\n)\n", 1)[0], re.M)
    assert list(layers) == bottom_up[::-1]  # the order tests/test_layers.py checks
    for layer, text in layers.items():
        folder = package if layer == "top" else package / layer
        for name in re.findall(r"(?<![\w/.-])(\w+)\.py\b", text):
            assert (folder / f"{name}.py").is_file() or (package / f"{name}.py").is_file(), (
                layer,
                name,
            )
        for name in re.findall(r"(?<![\w/.-])(\w+)/(?=[\s,)])", text):
            assert (folder / name).is_dir(), (layer, name)


def test_the_layer_map_says_where_each_main_job_lives() -> None:
    """Every large module (a main job: 450 lines or more) is named in the layer map, so that a
    newcomer reading it finds where the work is done after a module is split or added."""
    package = ROOT / "src" / "git_atomic"
    named = set(re.findall(r"(\w+)\.py\b", " ".join(_layer_map().values())))
    for module in sorted(package.rglob("*.py")):
        if module.name != "__init__.py" and len(module.read_text().splitlines()) >= 450:
            where = module.relative_to(package)
            assert module.stem in named, f"docs/design.md's layer map: name {where}"


def test_every_list_of_the_mcp_tools_names_them_all() -> None:
    from git_atomic.agents.mcp_tools import TOOLS

    lists = {
        "README.md": r"\nTools: (.*?)\n\n",
        "docs/howto-tdd-with-an-agent.md": r"`git atomic mcp` serves (.*?) over stdio",
    }
    for page, where in lists.items():
        m = re.search(where, (ROOT / page).read_text(), re.S)
        assert m, page
        named = set(re.findall(r"`(\w+)`", m.group(1))) & {*TOOLS, "isolate", "whole", "dry_run"}
        assert named - {"isolate", "whole", "dry_run"} == set(TOOLS), (page, set(TOOLS) ^ named)


def test_every_function_the_design_pages_name_is_in_that_module() -> None:
    """`effectsteps.operation_steps`, `nestedrepos.find`: a function named beside its module is
    still there after a module was split (`effect.operation_steps` outlived its move)."""
    package = ROOT / "src" / "git_atomic"
    sources: dict[str, list[str]] = {}
    for module in package.rglob("*.py"):
        if module.name != "__init__.py":
            sources.setdefault(module.stem, []).append(module.read_text())
    # `Repo.ls_tree`: git.Repo and the classes it is built on (git.py's layers)
    layers = ("git", "gittrees", "gitobjects", "gitrunner", "gitconfig")
    sources["Repo"] = [(package / "engine" / f"{stem}.py").read_text() for stem in layers]
    pages = [
        "design.md",
        "contributing.md",
        "crash-safety.md",
        "performance.md",
        "git-facts.md",
        "agents.md",
        "mcp.md",
        "guarantees.md",
        "limits.md",
        "../README.md",
    ]
    for page in pages:
        text = (ROOT / "docs" / page).read_text()
        for m in re.finditer(
            r"`(?:[\w/]+/)?(\w+)\.(_?[a-z][a-z0-9]*(?:_[a-z0-9]+)+|_\w+|(?<=Repo\.)[a-z]\w*)(?:\(\))?`",
            text,
        ):
            stem, name = m.groups()
            defined = rf"^\s*(?:async )?(?:def|class) {name}\b|^{name}\b|^\s+{name}\s*[:=]"
            if stem in sources:
                found = any(re.search(defined, s, re.M) for s in sources[stem])
                assert found, (page, text[: m.start()].count("\n") + 1, m.group(0))


def test_the_readme_names_every_member_of_status_json(tmp_path: Path) -> None:
    import json

    env = hermetic_env(tmp_path / "home")
    subprocess.run(["git", "init", "-q", str(tmp_path / "r")], env=env, check=True)
    out = subprocess.run(
        [sys.executable, "-m", "git_atomic", "status", "--json"],
        cwd=tmp_path / "r",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    glance = (ROOT / "README.md").read_text().split("`status` is one glance: ", 1)[1]
    glance = glance.split(";", 1)[0]
    for member in set(json.loads(out)) - {"schema"}:
        assert f'"{member}"' in glance, member


def test_the_first_week_page_names_every_test_helper() -> None:
    """docs/contributing.md asks a newcomer to read testing/ before writing set-up code."""
    page = (ROOT / "docs" / "contributing.md").read_text()
    for helper in sorted((ROOT / "testing").glob("*.py")):
        if helper.name != "__init__.py":
            assert f"`{helper.name}`" in page or f"`testing/{helper.name}`" in page, helper.name


def test_the_pages_name_every_member_of_an_error_under_json(tmp_path: Path) -> None:
    """README.md and reference.md each write out the object an error prints under `--json`."""
    import json

    env = hermetic_env(tmp_path / "home")
    subprocess.run(["git", "init", "-q", str(tmp_path / "r")], env=env, check=True)
    done = subprocess.run(
        [sys.executable, "-m", "git_atomic", "rollback", "--op", "zz", "--json"],
        cwd=tmp_path / "r",
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    members = set(json.loads(done.stdout))
    readme = (ROOT / "README.md").read_text().split("Errors under\n`--json` print `", 1)[1]
    reference = (ROOT / "docs" / "reference.md").read_text()
    reference = reference.split("With `--json`, an error prints `", 1)[1]
    for said in (readme, reference):
        named = set(re.findall(r'"(\w+)":', said.split("`", 1)[0]))
        assert named == members, (named, members)
