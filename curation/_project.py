"""A project directory and :class:`Project`, the facade people use.

::

    DIR/workbench.yaml           settings (name, split fractions, dedup, mixing, evaluation, loss)
    DIR/taxonomy.yaml            the label taxonomy (its content hash is its version)
    DIR/store.sqlite             records, seeds, batches, near-duplicate pairs, append-only events, and the
                                 production pool with its feedback (:mod:`curation.production._pool`)
    DIR/snapshots/ID/            content-addressed snapshots that models are trained from
    DIR/cache/                   embeddings cached by model and text hash (written by training)
    DIR/models/                  models and the promotion record: promoted.json, history.jsonl (written by training)
    DIR/regression_vectors.yaml  optional: texts every model must get right (read by training's gate)

``Project`` holds the settings (:attr:`Project.settings`), the layout, the taxonomy and the store, and groups
the rest by resource (:mod:`curation._project_parts`), the way Argilla's SDK groups a dataset:
``project.records`` (import, read, tag, export, apply a review), ``project.seeds``, ``project.batches``,
``project.production`` (the production pool), ``project.views`` (task views, mixes), ``project.snapshots`` and
``project.reports``. Each resource delegates to the module that does the work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import yaml

from foundation import atomic_write_text, warn_moved

from ._errors import StoreError, WorkbenchError
from ._layout import ProjectLayout
from ._project_parts import FLAT_METHODS, Batches, ProductionPosts, Records, Reports, Seeds, Snapshots, Views
from ._records import RESERVED_COLUMNS
from ._settings import ProjectSettings, modeline, parse_yaml, validate_settings, write_schemas
from ._splits import (
    synthetic_split_fractions,
    validate_fractions,
)
from ._taxonomy import Taxonomy, load_taxonomy
from .ingest._ingest import ImportSummary
from .store._lock import lock_timeout
from .store._store import Store

__all__ = ["Project", "ImportSummary", "DEFAULT_CONFIG"]

DEFAULT_CONFIG: dict[str, Any] = ProjectSettings().to_config()
"""workbench.yaml's defaults (:class:`curation.ProjectSettings`: its fields, types and descriptions)."""


def _with_defaults(cfg: Mapping, *, where: str = "project settings", text: str | None = None) -> dict:
    """A project's settings parsed by :class:`ProjectSettings`: a missing block or field takes its default, an
    unknown key or a wrong type is refused with its line; a fractions table (``splits``,
    ``generation.splits``, ``production.splits``) is taken whole when stated."""
    return validate_settings(ProjectSettings, dict(cfg), where=where, text=text).to_config()


class Project:
    """A workbench project on disk.

    Parameters
    ----------
    root : path-like
        The project directory (made by :meth:`init`).

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from curation import Taxonomy
    >>> tax = Taxonomy.from_dict({"labels": [{"name": "hate", "tier": "T2"}, {"name": "offensive"}]})
    >>> folder = tempfile.TemporaryDirectory()
    >>> p = Project.init(folder.name + "/proj", taxonomy=tax)
    >>> s = p.records.import_frame(pd.DataFrame({"text": ["you are great", "I hate you all"],
    ...                                           "hate": [0, 1]}), source="toy")
    >>> s.n_inserted, bool(p.records.frame()["offensive"].isna().all())
    (2, True)
    >>> p.close(); folder.cleanup()
    """

    def __init__(self, root):
        self.root = Path(root)
        self.layout = ProjectLayout(self.root)  # every folder and file of the project, named once
        self._store: Store | None = None
        self._taxonomy: Taxonomy | None = None
        self._settings: ProjectSettings | None = None
        # its resources, each a small object over the store (as Argilla's dataset.records, dataset.settings)
        self.records = Records(self)
        self.seeds = Seeds(self)
        self.batches = Batches(self)
        self.production = ProductionPosts(self)
        self.views = Views(self)
        self.snapshots = Snapshots(self)
        self.reports = Reports(self)

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def init(
        cls,
        root,
        *,
        taxonomy: Taxonomy | str | os.PathLike,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> Project:
        """Create a project directory with its config, taxonomy and an empty store."""
        root = Path(root)
        if ProjectLayout(root).config.exists():
            raise StoreError(
                f"project {root}",
                expected="a directory without a project",
                got="an existing project",
                fix="open it with Project(root) or choose a new directory",
            )
        tax = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
        cfg = _with_defaults(dict(config or {}))
        cfg["name"] = name or (cfg["name"] if config and "name" in config else root.name)
        validate_fractions(cfg["splits"])
        synthetic_split_fractions(cfg["generation"]["splits"])
        root.mkdir(parents=True, exist_ok=True)
        # the JSON Schemas beside the files, which name them on their first line: an editor completes them
        layout = ProjectLayout(root)
        write_schemas(layout.schemas)
        tax.save(layout.taxonomy, header=modeline("taxonomy.schema.json"))
        Store(layout.store).open().close()
        text = modeline("workbench.schema.json") + yaml.safe_dump(cfg, sort_keys=False)
        atomic_write_text(layout.config, text)
        return cls(root)

    @property
    def settings(self) -> ProjectSettings:
        """workbench.yaml, read once and checked (typed: ``project.settings.mixing.head_cap``); the one way the
        workbench reads a project's settings."""
        if self._settings is None:
            path = self.layout.config
            if not path.exists():
                raise StoreError(
                    f"project {self.root}",
                    expected=f"a {self.layout.config.name} file",
                    got="none",
                    fix="run `workbench init DIR` first",
                )
            text = path.read_text(encoding="utf-8")
            cfg = parse_yaml(text, path) or {}
            settings = validate_settings(ProjectSettings, dict(cfg), where=str(path), text=text)
            validate_fractions(settings.splits)
            synthetic_split_fractions(settings.generation.splits)
            self._settings = settings
        return self._settings

    @property
    def config(self) -> dict[str, Any]:
        """workbench.yaml as a plain dict (one release; read :attr:`settings`)."""
        warn_moved("Project.config (a plain dict)", "Project.settings (typed: project.settings.mixing.head_cap)")
        return self.settings.to_config()

    @property
    def taxonomy(self) -> Taxonomy:
        if self._taxonomy is None:
            self._taxonomy = load_taxonomy(self.layout.taxonomy)
            clash = set(self._taxonomy.label_names) & RESERVED_COLUMNS
            if clash:
                raise WorkbenchError(
                    f"{self.layout.taxonomy}",
                    expected="label names that are not record fields",
                    got=str(sorted(clash)),
                    fix="rename those labels",
                )
        return self._taxonomy

    @property
    def store(self) -> Store:
        if self._store is None:
            settings = self.settings  # a directory without a project is an error, not a new store
            gen = settings.generation.splits
            self._store = Store(
                self.layout.store,
                synthetic_fractions=gen,
                lock_timeout=lock_timeout(settings.lock_timeout_s),
            ).open()
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ the 0.x flat methods, one release
    def __getattr__(self, name: str) -> Any:
        where = FLAT_METHODS.get(name)
        if where is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        warn_moved(f"Project.{name}()", f"project.{where}()")
        resource, method = where.split(".")
        return getattr(getattr(self, resource), method)
