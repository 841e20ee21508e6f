"""What people meet: one package a part, over the ``curation`` and ``training`` libraries.

- ``workbench.argilla``: Argilla behind one interface (``ArgillaBackend``), met by the embedded stack
  (server, SQLite search engine, launcher) and by an Argilla run elsewhere (URL + key file);
- ``workbench.review``: the review loops between the store and Argilla (push, pull, agreement);
- ``workbench.maps``: the embedding map, label interference and clusters;
- ``workbench.panels``: the ipywidgets of the notebooks (retrain-and-gate, review, seeds, map);
- ``workbench.generate``: seeds become pending batches (LLM over HTTP, retrieval, perturbation), cached;
  a model's failing functional-suite functionalities become seeds and batches of train-side material;
- ``workbench.cli``: the ``workbench`` command, one module per verb group;
- ``workbench.session``: ``workbench run`` (an Argilla backend + JupyterLab on the notebooks);
- the demo project (:func:`build_demo`, :func:`open_project` for notebooks), the starter taxonomy and the
  starter functional suites; the notebooks and the demo data ship inside the wheel (``_resources``).

Install: the core distribution is ``curation`` + ``training``; this layer's own dependencies are the
``[workbench]`` extra, and a part used without it says how to install it (``_extras``).

Packages of this layer may import ``curation`` and ``training``; neither of those imports
``workbench``. Importing this package starts nothing and imports neither argilla-server nor torch.
"""

from typing import TYPE_CHECKING

from foundation import lazy_names

if TYPE_CHECKING:  # imported on first use, so that `workbench --help` pays for none of it
    from ._demo import build_demo, demo_data_dir, open_project, starter_taxonomy_path
    from ._resources import STARTER_SUITES, add_starter_suites

__all__ = [
    "build_demo",
    "demo_data_dir",
    "open_project",
    "starter_taxonomy_path",
    "STARTER_SUITES",
    "add_starter_suites",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
