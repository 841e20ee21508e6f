"""Where everything of a project lives, named once: :class:`ProjectLayout`.

::

    DIR/workbench.yaml         the project's settings (:class:`curation.ProjectSettings`)
    DIR/taxonomy.yaml          the taxonomy
    DIR/store.sqlite           the record store (and store.sqlite.lock, the one-writer lock)
    DIR/schemas/               the settings files' JSON Schemas (editors validate against them)
    DIR/snapshots/             content-addressed snapshots, the only way training reads data
    DIR/suites/                functional suites (*.yaml) and their review state (cases.jsonl)
    DIR/models/                trained models; promoted.json and history.jsonl (the promotion record)
    DIR/cache/                 what can be rebuilt: embeddings.sqlite, maps/, generation.sqlite

The Argilla stack is not a project's: it lives in the workbench home (``$WORKBENCH_HOME``, ``~/.workbench``),
beside the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProjectLayout"]


@dataclass(frozen=True)
class ProjectLayout:
    """Every folder and file of the project at ``root``.

    >>> layout = ProjectLayout("/data/p")
    >>> str(layout.models), str(layout.generation_cache)
    ('/data/p/models', '/data/p/cache/generation.sqlite')
    """

    root: Path

    def __init__(self, root) -> None:
        object.__setattr__(self, "root", Path(root))

    @property
    def config(self) -> Path:
        return self.root / "workbench.yaml"

    @property
    def taxonomy(self) -> Path:
        return self.root / "taxonomy.yaml"

    @property
    def store(self) -> Path:
        return self.root / "store.sqlite"

    @property
    def schemas(self) -> Path:
        return self.root / "schemas"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def suites(self) -> Path:
        return self.root / "suites"

    @property
    def suite_cases(self) -> Path:
        """The suites' cases and their review state."""
        return self.suites / "cases.jsonl"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def promoted(self) -> Path:
        """Which model (and variant) the project promoted."""
        return self.models / "promoted.json"

    @property
    def promotion_history(self) -> Path:
        return self.models / "history.jsonl"

    @property
    def cache(self) -> Path:
        """What can be rebuilt (embeddings, map projections, generation results)."""
        return self.root / "cache"

    @property
    def maps_cache(self) -> Path:
        return self.cache / "maps"

    @property
    def generation_cache(self) -> Path:
        return self.cache / "generation.sqlite"
