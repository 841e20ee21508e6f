"""The packages' import structure, read from the source (no import is executed).

- no import circle among the modules of ``curation``, ``training`` and ``workbench``;
- no module imports an underscore name of another module (underscore modules of one's own package,
  such as ``curation._taxonomy``, are that package's internal API; their underscore names are not);
- the direction of DESIGN.md: ``curation`` imports nothing of ours, ``training`` never ``workbench``;
- inside ``workbench``, floors: a part imports only parts on lower floors (the Argilla boundary never
  imports the review loops, the review loops never the panels or the command line);
- circles are looked for through package ``__init__`` modules too (lazy imports included);
- the scripts outside the packages (``bench/``, ``tools/``, ``notebooks/``) use only public names.
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
    # edges into package __init__ modules stay: `from . import x` in a module its package's __init__
    # imports is a circle too, one that only works while the import order happens to allow it
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


# workbench's floors, lowest first: a part may import its own floor's shared helpers and lower floors only
WORKBENCH_FLOORS = (
    {"workbench._extras", "workbench._resources"},
    {"workbench.argilla"},
    {"workbench.review", "workbench.maps", "workbench.generate", "workbench._demo"},
    {"workbench.panels", "workbench.session", "workbench.loop"},
    {"workbench.cli"},
)


def _floor(module: str) -> int | None:
    part = ".".join(module.split(".")[:2])
    return next((i for i, floor in enumerate(WORKBENCH_FLOORS) if part in floor), None)


def test_every_workbench_part_has_a_floor():
    parts = {".".join(m.split(".")[:2]) for m in _modules() if m.startswith("workbench.")}
    assert parts == set().union(*WORKBENCH_FLOORS), parts ^ set().union(*WORKBENCH_FLOORS)


def test_workbench_parts_import_only_lower_floors():
    bad = []
    for mod, target, _ in _imports(_modules()):
        if not (mod.startswith("workbench.") and target.startswith("workbench.")):
            continue
        here, there = _floor(mod), _floor(target)
        same_part = mod.split(".")[:2] == target.split(".")[:2]
        if not same_part and there >= here:
            bad.append(f"{mod} (floor {here}) imports {target} (floor {there})")
    assert not bad, bad


def _script_imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                yield node.module, alias.name


def test_scripts_outside_the_packages_use_only_public_names():
    scripts = [p for folder in ("bench", "tools", "notebooks") for p in sorted((REPO / folder).glob("*.py"))]
    assert len(scripts) > 20
    bad = []
    for path in scripts:
        for module, name in _script_imports(path):
            if module.split(".")[0] not in PACKAGES:
                continue
            private = [part for part in module.split(".") if part.startswith("_")]
            if private or (name and name.startswith("_")):
                bad.append(f"{path.relative_to(REPO)}: {module}{'.' + name if name else ''}")
    assert not bad, bad
