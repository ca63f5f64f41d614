"""The package's layers: every module belongs to one, and imports only go down.

The layers, bottom to top, are listed here and nowhere else (docs/design.md draws them). A module
may import modules of its own layer and of the layers below it, never above; the modules import
each other without a circle; and no module imports another's private (`_name`) names. Function-
local and `TYPE_CHECKING` imports count: they are dependencies all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "git_atomic"

# Bottom to top. A module belongs to the layer whose package holds it; the top layer's modules are
# named one by one (the package's root holds nothing else).
LAYERS: tuple[tuple[str, str], ...] = (
    ("core", "errors, the journal, the lock, the door to subprocesses, configuration"),
    ("engine", "git plumbing, the scan, the checkpoint format, restore, index state"),
    ("ops", "the phase machine, its context, gates, moves, effects, isolation, results"),
    ("views", "the text of log, show and status"),
    ("agents", "the turn engine, one adapter per platform, the MCP server"),
    ("commands", "one module per command group"),
    ("cli", "parsing, dispatch, help, man page, completion"),
    ("top", "the package's root: the public Python API and `python -m git_atomic`"),
)
TOP = {"git_atomic", "git_atomic.__main__", "git_atomic.api"}
RANK = {name: i for i, (name, _) in enumerate(LAYERS)}
# Names of the package's root any module may import: constants defined in __init__.py itself
# (the root is loaded before any of its sub-modules, so they add no dependency).
ROOT_CONSTANTS = {"__version__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> str | None:
    if module in TOP:
        return "top"
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in RANK and parts[1] != "top":
        return parts[1]
    return None


def imports(module: str) -> Iterator[tuple[int, str, str | None]]:
    """(line, imported module, imported name or None) for every import of a git_atomic module."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "git_atomic":
                    yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] != "git_atomic":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in MODULES:
                    yield node.lineno, sub, None
                else:
                    yield node.lineno, base, alias.name


def test_every_module_has_a_layer() -> None:
    homes = ", ".join(f"git_atomic/{name}/ ({what})" for name, what in LAYERS if name != "top")
    lost = [m for m in MODULES if layer_of(m) is None]
    assert not lost, (
        f"{lost}: not in a layer. Put each in the lowest layer package whose modules it needs: "
        f"{homes} (layers listed in tests/test_layers.py, drawn in docs/design.md)"
    )


def test_imports_only_go_down() -> None:
    wrong = []
    for module in MODULES:
        mine = layer_of(module)
        for line, target, name in imports(module):
            if target == "git_atomic" and name in ROOT_CONSTANTS:
                continue
            theirs = layer_of(target)
            if mine is None or theirs is None or RANK[theirs] > RANK[mine]:
                what = f"{target}.{name}" if name else target
                wrong.append(
                    f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}: "
                    f"{module} ({mine}) imports {what} ({theirs})"
                )
    order = " < ".join(name for name, _ in LAYERS)
    assert not wrong, f"imports must go down ({order}):\n" + "\n".join(wrong)


def test_no_private_names_across_modules() -> None:
    wrong = [
        f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}: {module} imports {target}.{name}"
        for module in MODULES
        for line, target, name in imports(module)
        if name and name.startswith("_") and not name.startswith("__") and target != module
    ]
    why = "a private name is its module's own; make it public, or move it where both can reach"
    assert not wrong, why + ":\n" + "\n".join(wrong)


def test_no_import_circles() -> None:
    graph = {m: sorted({t for _, t, _ in imports(m) if t != m and t in MODULES}) for m in MODULES}
    circles = []
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for t in graph[m]:
            if state.get(t) == 1:
                circles.append(" -> ".join([*path[path.index(t) :], t]))
            elif t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m)
    assert not circles, "modules that import each other:\n" + "\n".join(circles)
