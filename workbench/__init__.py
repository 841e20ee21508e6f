"""What people meet: one package a part, over the ``curation`` and ``training`` libraries.

- ``workbench.argilla``: the embedded Argilla stack (server, SQLite search engine, launcher) that
  annotators work in;
- ``workbench.review``: the review loops between the store and Argilla (push, pull, agreement);
- ``workbench.maps``: the embedding map, label interference and clusters;
- ``workbench.panels``: the ipywidgets of the notebooks (retrain-and-gate, review, seeds, map);
- ``workbench.generate``: seeds become pending batches (LLM over HTTP, retrieval, perturbation), cached;
- ``workbench.cli``: the ``workbench`` command, one module per verb group;
- the demo project (:func:`build_demo`, :func:`open_project` for notebooks) and the starter taxonomy.

Packages of this layer may import ``curation`` and ``training``; neither of those imports
``workbench``. Importing this package starts nothing and imports neither argilla-server nor torch.
"""

from ._demo import build_demo, demo_data_dir, open_project, starter_taxonomy_path

__all__ = ["build_demo", "demo_data_dir", "open_project", "starter_taxonomy_path"]
