"""The packages' import structure, read from the source (no import is executed).

- no import circle among the modules of ``curation``, ``training`` and ``workbench``;
- no module imports an underscore name of another module (underscore modules of one's own package,
  such as ``curation._taxonomy``, are that package's internal API; their underscore names are not);
- the direction of DESIGN.md: ``curation`` imports nothing of ours, ``training`` never ``workbench``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import REPO

PACKAGES = ("curation", "training", "workbench")


def _modules() -> dict[str, tuple[Path, bool]]:
    mods = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if "_shipped" in path.parts:
                continue
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            mods[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return mods


def _imports(mods):
    """(module, imported module, imported name or None) for every import of ours, lazy ones included."""
    for mod, (path, is_package) in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in PACKAGES:
                        yield mod, alias.name, None
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".")[: None if is_package else -1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] not in PACKAGES:
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    yield mod, (sub if sub in mods else target), (None if sub in mods else alias.name)


def test_no_import_circle_among_modules():
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, target, _ in _imports(mods):
        if target in mods and target != mod:
            graph[mod].add(target)
    # a package's __init__ re-exporting its modules is not a circle: drop edges into package inits
    inits = {m for m, (_, is_package) in mods.items() if is_package}
    for mod in graph:
        graph[mod] -= inits
    state: dict[str, int] = {}
    cycles = []

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod, [mod])
    assert not cycles, f"import circles: {cycles}"


def test_no_module_imports_another_modules_underscore_names():
    bad = [
        f"{mod} imports {target}.{name}"
        for mod, target, name in _imports(_modules())
        if name and name.startswith("_") and not name.startswith("__")
    ]
    assert not bad, bad


def test_underscore_modules_are_imported_only_inside_their_own_package():
    bad = []
    for mod, target, _ in _imports(_modules()):
        private = [i for i, part in enumerate(target.split(".")) if part.startswith("_") and part != "__init__"]
        if private:
            owner = ".".join(target.split(".")[: private[0]])
            if not (mod == owner or mod.startswith(owner + ".")):
                bad.append(f"{mod} imports {target}")
    assert not bad, bad


def test_the_layers_point_one_way():
    bad = [
        f"{mod} imports {target}"
        for mod, target, _ in _imports(_modules())
        if (mod.startswith("curation") and not target.startswith("curation"))
        or (mod.startswith("training") and target.startswith("workbench"))
    ]
    assert not bad, bad
