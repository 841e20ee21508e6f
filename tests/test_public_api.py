import importlib
import subprocess
import sys

import pytest


@pytest.mark.parametrize("package", ["curation", "training", "workbench"])
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
