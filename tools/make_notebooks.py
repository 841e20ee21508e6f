"""Write notebooks/*.ipynb from their paired jupytext files notebooks/*.py (percent format).

The ``.py`` files are the source: they are linted and formatted with the rest of the code (ruff) and
diff as code. The ``.ipynb`` files are what JupyterLab opens; they are stored without outputs and with
stable cell ids, so writing them again changes nothing. Edit a ``.py`` (or edit in JupyterLab, where
jupytext keeps the pair in sync), then run ``python tools/make_notebooks.py``; a test checks the pairs
agree.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbformat

HERE = Path(__file__).resolve().parents[1] / "notebooks"
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def notebook_from_script(path: Path) -> nbformat.NotebookNode:
    """The ``.ipynb`` of one percent-format script: its cells, no outputs, ids 0, 1, 2, ..."""
    nb = jupytext.read(path, fmt="py:percent")
    nb.metadata = {"kernelspec": dict(KERNEL), "jupytext": {"formats": "ipynb,py:percent"}}
    for i, cell in enumerate(nb.cells):  # ids as nbstripout writes them: rewriting changes nothing
        cell["id"] = str(i)
        cell["metadata"] = {}
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return nb


def main(argv: list[str] | None = None) -> int:
    scripts = sorted(HERE.glob("[0-9][0-9]_*.py"))
    for script in scripts:
        nbformat.write(notebook_from_script(script), script.with_suffix(".ipynb"))
        print(script.with_suffix(".ipynb"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
