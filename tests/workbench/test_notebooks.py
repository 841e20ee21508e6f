"""The notebooks run top to bottom, headless (nbclient), on a demo project, and show what they promise;
they are stored without outputs."""

import ast
import json
import subprocess

import pytest

from ..conftest import REPO, STRICT_DEPRECATIONS, strict_notebook

NOTEBOOKS = REPO / "notebooks"


def _stored(path) -> str:
    """What git stores for a notebook (its index version: the nbstripout filter that `make install` sets up
    strips outputs on the way in, so a notebook run in JupyterLab may keep its outputs on disk); the file
    itself outside a git checkout."""
    rel = path.relative_to(REPO).as_posix()
    done = subprocess.run(["git", "-C", str(REPO), "show", f":{rel}"], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else path.read_text()


def test_notebooks_are_stored_without_outputs():
    books = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert books
    for path in books:
        nb = json.loads(_stored(path))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, f"{path.name} has outputs"
        first = nb["cells"][0]
        assert first["cell_type"] == "markdown" and "What this is for" in "".join(first["source"])


def test_notebooks_are_their_paired_scripts():
    """notebooks/*.ipynb are written from the jupytext scripts notebooks/*.py (tools/make_notebooks.py); an
    edit made only on one side would be lost."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_notebooks", REPO / "tools" / "make_notebooks.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    scripts = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
    assert [p.stem for p in scripts] == sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    for script in scripts:
        stored = json.loads(_stored(script.with_suffix(".ipynb")))
        want = tool.notebook_from_script(script)
        assert [("".join(c["source"]), c["cell_type"]) for c in stored["cells"]] == [
            (c["source"], c["cell_type"]) for c in want.cells
        ], f"{script.name} differs from its notebook"
        assert stored["metadata"]["jupytext"] == {"formats": "ipynb,py:percent"}


def _run(name: str, project_root, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("WORKBENCH_PROJECT", str(project_root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    nb = strict_notebook(nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4))
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    assert nb.cells[0].source == STRICT_DEPRECATIONS
    return [c for c in nb.cells[1:] if c.cell_type == "code"]


def _text(cell) -> str:
    return "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs if o.output_type == "execute_result")


def _has(cell, mime: str) -> bool:
    return any(mime in o.get("data", {}) for o in cell.outputs)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from workbench import build_demo

    root = tmp_path_factory.mktemp("notebooks") / "demo"
    build_demo(root)
    return root


@pytest.mark.slow
def test_quickstart_and_explore(demo, monkeypatch):
    cells = _run("00_quickstart", demo, monkeypatch)
    assert "n_records" in _text(cells[1]) and "2716" in _text(cells[1])
    assert _has(cells[3], "application/vnd.plotly.v1+json")  # the distribution figure
    cells = _run("01_import_and_explore", demo, monkeypatch)
    assert "davidson" in _text(cells[1]) and _has(cells[-1], "application/vnd.plotly.v1+json")


@pytest.mark.slow
def test_interference_map_notebook(demo, monkeypatch):
    cells = _run("04_interference_map", demo, monkeypatch)
    assert _has(cells[1], "application/vnd.jupyter.widget-view+json")  # the panel
    drawn, records = ast.literal_eval(_text(cells[-1]))
    assert drawn == records == 2716  # every record on the map
    assert "map-region-notebook" in _text(cells[-2])


@pytest.mark.slow
def test_retrain_and_gate_notebook(demo, monkeypatch):
    cells = _run("05_retrain_and_gate", demo, monkeypatch)
    rows, labels = ast.literal_eval(_text(cells[-1]))
    assert rows == labels > 0  # a gate row per label
    assert "f1" in _text(cells[2]) and "recall" in _text(cells[2])


@pytest.mark.slow
def test_functional_suites_notebook(demo, monkeypatch):
    """Run the suite, see the failing functionalities, turn the loop (generate, accept, retrain) until it
    stops, show each functionality across the turns and the per-group false-positive rates."""
    cells = _run("07_functional_suites", demo, monkeypatch)
    n_test, n_train, _ = ast.literal_eval(_text(cells[1]))
    assert n_test > 100 and n_train > 100
    failing = ast.literal_eval(_text(cells[3]))
    assert failing and all(line.startswith("functionality ") for line in failing)
    stopped, best, turns = ast.literal_eval(_text(cells[4]))
    assert 1 <= len(turns) <= 2 and turns[0][1]  # the first turn improved something
    assert len(turns) == 2 or stopped.startswith(
        ("converged", "no functionality improved", "nothing to generate", "lost ground")
    )
    assert best in [f"M{k}" for k in range(len(turns) + 1)]
    made = ast.literal_eval(_text(cells[5]))
    assert made and all(seed.startswith("suite-") and stored > 0 for seed, stored in made)
    assert _has(cells[6], "application/vnd.plotly.v1+json")  # each functionality across the turns
    assert "M0" in _text(cells[7]) and f"M{len(turns)}" in _text(cells[7])
    assert _has(cells[8], "application/vnd.plotly.v1+json")  # M0 / last bars, pass and failure rates
    # the invariance tests on the best model's holdout posts: a failure rate per test
    assert "failure rate on holdout posts" in _text(cells[9]) and "inv_typos" in _text(cells[9])
    assert "Muslims" in _text(cells[10]) and "M0" in _text(cells[10])  # per-group false-positive rates
    overall = ast.literal_eval(_text(cells[-1]))
    assert len(overall) == len(turns) + 1 and max(overall[1:]) > overall[0]  # the loop fixed some of what it found
    assert overall[int(best[1:])] == max(overall)  # the best model is the one with the highest overall rate


@pytest.mark.slow
def test_a_notebook_that_uses_an_old_name_fails_its_test(tmp_path):
    """The notebooks' tests run with deprecations as errors (strict_notebook): a cell using a name kept one
    release for old code fails, and the same cell with the new name runs."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    old = strict_notebook(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import curation\ncuration.Store")])
    )
    with pytest.raises(CellExecutionError, match="WorkbenchDeprecationWarning"):
        NotebookClient(old, timeout=120, kernel_name="python3").execute()
    new = strict_notebook(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import curation.store\ncuration.store.Store")])
    )
    NotebookClient(new, timeout=120, kernel_name="python3").execute()
