"""The packages' import structure, read from the source (no import is executed).

- no import circle among the modules of ``foundation``, ``curation``, ``training`` and ``workbench``;
- no module imports an underscore name of another module; underscore modules (``curation.store._store``) are
  their layer's internal API: any module of ``curation`` may import them (as scikit-learn's subpackages share
  their private modules), no other layer may;
- the layers point one way (DESIGN.md): ``foundation`` <- ``curation`` <- ``training`` <- ``workbench``, and
  ``foundation`` imports nothing but the standard library;
- inside each layer, floors: a part imports only its own floor's shared modules and parts on lower floors
  (in ``curation`` the store never imports ingest, views or the project; in ``training`` the families and the
  evaluation never import each other or the artifacts; in ``workbench`` the Argilla boundary never imports
  the review loops, the review loops never the panels or the command line);
- circles are looked for through package ``__init__`` modules too (lazy imports included);
- the scripts outside the packages (``bench/``, ``tools/``, ``notebooks/``) use only public names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import REPO

PACKAGES = ("foundation", "curation", "training", "workbench")
LAYER = {package: i for i, package in enumerate(PACKAGES)}


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


def test_underscore_modules_are_imported_only_inside_their_own_layer():
    bad = []
    for mod, target, _ in _imports(_modules()):
        if any(part.startswith("_") and part != "__init__" for part in target.split(".")):
            if mod.split(".")[0] != target.split(".")[0]:
                bad.append(f"{mod} imports {target}")
    assert not bad, bad


def _layering_violations(imports) -> list[str]:
    return [
        f"{mod} ({mod.split('.')[0]}) imports {target} ({target.split('.')[0]})"
        for mod, target, _ in imports
        if LAYER[target.split(".")[0]] > LAYER[mod.split(".")[0]]
    ]


def test_the_layers_point_one_way():
    bad = _layering_violations(_imports(_modules()))
    assert not bad, bad


def test_a_planted_upward_import_is_caught():
    """The layering check is not vacuous: an import up a layer, or up a floor, planted here, is reported."""
    planted = [("foundation._errors", "curation._records", None), ("curation.store._store", "training", None)]
    assert len(_layering_violations(planted)) == 2
    assert _floor_violations([("curation.store._store", "curation.views._views", None)])
    assert _floor_violations([("training.families._heads", "training.evaluation._gates", None)])
    assert not _floor_violations([("curation.views._views", "curation.store._store", None)])


def test_the_kernel_imports_only_the_standard_library():
    import sys

    bad = []
    for path in (REPO / "foundation").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module]
            else:
                continue
            bad += [f"{path.name}: {n}" for n in names if n.split(".")[0] not in sys.stdlib_module_names]
    assert not bad, bad


# each layer's floors, lowest first: a part may import its own floor's shared modules and lower floors only;
# two parts on one floor never import each other. A part is the layer's first two name components
# (``curation.store``, ``training._train``); the layer's ``__init__`` is above every floor (a part may read a name
# through it, which the circle test then covers).
FLOORS = {
    "foundation": (
        {"foundation._errors", "foundation._atomic", "foundation._clock"},
        {"foundation._registry", "foundation._names"},
    ),
    "curation": (
        {
            "curation._errors",
            "curation._layout",
            "curation._records",
            "curation._taxonomy",
            "curation._seeds",
            "curation._splits",
        },
        {"curation.store"},
        {"curation.ingest"},
        {"curation.production", "curation.suites"},
        {"curation.views"},
        {"curation._settings", "curation._review"},
        {"curation._project", "curation._project_parts"},
    ),
    "training": (
        {"training.families", "training.evaluation"},
        {"training.artifacts"},
        {"training._config", "training._recipes"},
        {"training._train", "training._batchjobs"},
        {"training.production_loop"},
        {"training.production"},  # the deprecated path of training.production_loop, one release
    ),
    "workbench": (
        {"workbench._extras", "workbench._resources"},
        {"workbench.argilla"},
        {"workbench.review", "workbench.maps", "workbench.generate", "workbench._demo"},
        {"workbench.panels", "workbench.session", "workbench.turns"},
        {"workbench.loop"},  # the deprecated path of workbench.turns, one release
        {"workbench.cli"},
    ),
}


def _floor(module: str) -> int | None:
    layer, part = module.split(".")[0], ".".join(module.split(".")[:2])
    if part == layer:
        return len(FLOORS[layer])  # the layer's __init__
    return next((i for i, floor in enumerate(FLOORS[layer]) if part in floor), None)


def _floor_violations(imports) -> list[str]:
    bad = []
    for mod, target, _ in imports:
        if mod.split(".")[0] != target.split(".")[0] or "." not in target:
            continue  # other layers: test_the_layers_point_one_way; the layer's own front: the circle test
        here, there = _floor(mod), _floor(target)
        same_part = mod.split(".")[:2] == target.split(".")[:2]
        shared = target.split(".")[1].startswith("_") if "." in target else False  # a module at the layer's top
        if not same_part and (there > here or (there == here and not shared)):
            bad.append(f"{mod} (floor {here}) imports {target} (floor {there})")
    return bad


@pytest.mark.parametrize("layer", PACKAGES)
def test_every_part_has_a_floor(layer):
    parts = {".".join(m.split(".")[:2]) for m in _modules() if m.startswith(layer + ".")}
    assert parts == set().union(*FLOORS[layer]), parts ^ set().union(*FLOORS[layer])


def test_parts_import_only_lower_floors():
    bad = _floor_violations(_imports(_modules()))
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


def test_scripts_outside_the_packages_use_no_name_kept_for_one_release():
    """bench/, tools/ and notebooks/ import each name from its home, not through a deprecated path (the
    notebooks' tests also run with deprecations as errors; benches are not run by the suite, so this reads
    them)."""
    import curation
    import training

    moved = {"curation": set(curation.MOVED), "training": set(training.MOVED)}
    old_modules = {"training.production", "workbench.loop", "workbench.review.loop"}
    scripts = [p for folder in ("bench", "tools", "notebooks") for p in sorted((REPO / folder).glob("*.py"))]
    bad = [
        f"{path.relative_to(REPO)}: {module}{'.' + name if name else ''}"
        for path in scripts
        for module, name in _script_imports(path)
        if module in old_modules or (name and name in moved.get(module, ()))
    ]
    assert not bad, bad
