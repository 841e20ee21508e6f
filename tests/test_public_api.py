import importlib
import subprocess
import sys

import pytest

LIBRARIES = ["foundation", "curation", "training", "workbench"]
PARTS = [
    "curation.store",
    "curation.ingest",
    "curation.views",
    "curation.suites",
    "curation.production",
    "training.families",
    "training.evaluation",
    "training.artifacts",
    "training.production_loop",
]


@pytest.mark.parametrize("package", LIBRARIES + PARTS)
def test_every_public_name_imports(package):
    mod = importlib.import_module(package)
    assert isinstance(mod.__all__, list)
    assert len(mod.__all__) == len(set(mod.__all__)), "duplicate names in __all__"
    for name in mod.__all__:
        assert getattr(mod, name) is not None, f"{package}.{name} is in __all__ but missing"


def test_public_names_are_reexported_not_private():
    import curation

    for name in curation.__all__:
        assert not name.startswith("_")


@pytest.mark.parametrize("package", LIBRARIES + PARTS)
def test_the_public_namespaces_are_small(package):
    """scikit-learn-sized: tens of names a namespace, not a hundred (issue 44: training had 130, curation 96)."""
    assert len(importlib.import_module(package).__all__) <= 40


def test_each_public_name_has_one_home():
    """A name is public in one place only (the library's top or one of its parts), so "where is X" has one
    answer; the subpackages are the parts' names."""
    homes: dict[str, list[str]] = {}
    for package in LIBRARIES + PARTS:
        for name in importlib.import_module(package).__all__:
            if not (package in LIBRARIES and f"{package}.{name}" in PARTS):
                homes.setdefault(name, []).append(package)
    shared = {name: where for name, where in homes.items() if len(where) > 1}
    # WorkbenchError is the kernel's; curation re-exports it beside its own subclasses (the errors people catch)
    assert shared == {"WorkbenchError": ["foundation", "curation"]}, shared


@pytest.mark.parametrize(
    "old, new, name",
    [
        ("training.production", "training.production_loop", "watch"),
        ("workbench.loop", "workbench.turns", "run_turns"),
        ("workbench.review.loop", "workbench.review.sample_review", "SampleReviewLoop"),
    ],
)
def test_a_renamed_modules_old_path_still_imports_with_a_warning(old, new, name):
    """One word, one meaning (issue 44): "production" names the production posts, the loop after a model ships
    is the production loop, the suite's turns are turns; the old module paths work for one release."""
    out = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", f"import {old}"], capture_output=True, text=True
    )
    assert out.returncode != 0 and f"{old} moved to {new}" in out.stderr
    code = f"import {old} as old, {new} as new; assert old.{name} is new.{name}"
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("library", ["curation", "training"])
def test_every_old_public_name_still_reads_with_a_deprecation_warning(library):
    """The 0.x names that moved into the parts (or the kernel) read for one release: the same object, and a
    WorkbenchDeprecationWarning (a DeprecationWarning) that names the new home and points at the reader."""
    from foundation import WorkbenchDeprecationWarning

    mod = importlib.import_module(library)
    assert len(mod.MOVED) > 60
    for name, where in mod.MOVED.items():
        home, _, new_name = where.partition(":")
        new_name = new_name or name
        with pytest.warns(WorkbenchDeprecationWarning, match=rf"{library}\.{name} moved to {home}\.{new_name}") as got:
            old = getattr(mod, name)
        assert old is getattr(importlib.import_module(home), new_name)
        assert issubclass(got[0].category, DeprecationWarning)
        assert got[0].filename == __file__, f"{library}.{name}: the warning points at {got[0].filename}"
        assert name not in mod.__all__


def test_the_old_from_import_spelling_still_works():
    code = (
        "from training import compare_models, watch; from curation import Store, atomic_write_text; "
        "import training.evaluation, training.production_loop, curation.store, foundation; "
        "assert compare_models is training.evaluation.compare_models and watch is training.production_loop.watch; "
        "assert Store is curation.store.Store and atomic_write_text is foundation.atomic_write_text; print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", code], capture_output=True, text=True
    )
    assert out.returncode != 0 and "WorkbenchDeprecationWarning" in out.stderr  # an error under -W error
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_an_unknown_name_is_still_an_attribute_error():
    import curation
    import training

    for mod in (curation, training):
        with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
            mod.no_such_name


def test_import_has_no_side_effects_and_respects_layering():
    # curation imports neither training nor workbench, nor heavy optional libraries, and changes
    # no environment variable or warning filter of its own (its dependencies are imported first,
    # since numpy and scipy install filters of theirs)
    code = (
        "import os, sys, warnings, numpy, pandas, scipy.sparse.csgraph, scipy.integrate, yaml; "
        "env = dict(os.environ); filters = list(warnings.filters); import curation; "
        "assert 'training' not in sys.modules and 'workbench' not in sys.modules, 'layering'; "
        "assert 'torch' not in sys.modules, 'torch imported at import time'; "
        "assert dict(os.environ) == env, 'environment changed'; "
        "assert list(warnings.filters) == filters, 'warning filters changed'; "
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def _imported_packages(package: str) -> dict[str, set[str]]:
    """Top-level packages each module of ``package`` imports anywhere (module level or inside functions)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / package
    found = {}
    for path in root.rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(root.parent))] = names
    return found


def test_import_direction_holds_in_every_module():
    # curation imports nothing of ours; training never imports workbench (lazy imports included)
    for module, names in _imported_packages("curation").items():
        assert not names & {"training", "workbench"}, f"{module} imports {names & {'training', 'workbench'}}"
    for module, names in _imported_packages("training").items():
        assert "workbench" not in names, f"{module} imports workbench"


def test_no_module_is_over_600_lines():
    """600 lines of ruff-formatted code (about 450 of the denser style before the formatter ran)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    long = {
        str(p.relative_to(root)): n
        for pkg in ("foundation", "curation", "training", "workbench")
        for p in (root / pkg).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 600
    }
    assert not long, f"split these by concern: {long}"


def test_every_package_opens_with_a_docstring_that_names_what_it_may_import():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for init in [root / p / "__init__.py" for p in ("foundation", "curation", "training", "workbench")] + sorted(
        path for p in ("curation", "training", "workbench") for path in (root / p).glob("*/__init__.py")
    ):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 80, f"{init} has no docstring saying what the package is for"
        assert "import" in doc, f"{init}: the docstring should say what the package may import"


@pytest.mark.parametrize("package", ["curation", "workbench", "workbench.review", "workbench.generate"])
def test_a_public_name_stays_itself_when_its_namesake_submodule_is_imported(package):
    """The packages import their public names on first use (foundation.lazy_names): importing a submodule spelled
    like a public name (``workbench.review.pull``, ``.connect``) must not put the module where the name is."""
    import pkgutil
    import types

    mod = importlib.import_module(package)
    deprecated = {"workbench.loop", "workbench.review.loop"}  # old paths kept one release: they warn on import
    for info in pkgutil.iter_modules(mod.__path__):
        if not info.name.startswith("_shipped") and f"{package}.{info.name}" not in deprecated:
            importlib.import_module(f"{package}.{info.name}")
    parts = {info.name for info in pkgutil.iter_modules(mod.__path__) if info.ispkg}  # curation.store is one
    modules = [n for n in mod.__all__ if isinstance(getattr(mod, n), types.ModuleType) and n not in parts]
    assert not modules, f"{package}: {modules} read as modules"
    if package == "workbench.review":
        from workbench.review import connect, pull

        assert callable(pull) and callable(connect)
