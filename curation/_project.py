"""A project directory and :class:`Project`, the facade people use.

::

    DIR/workbench.yaml           settings (name, split fractions, dedup, mixing, evaluation, loss)
    DIR/taxonomy.yaml            the label taxonomy (its content hash is its version)
    DIR/store.sqlite             records, seeds, batches, near-duplicate pairs, append-only events, and the
                                 production pool with its feedback (:mod:`curation.production._pool`)
    DIR/snapshots/ID/            content-addressed snapshots that models are trained from
    DIR/cache/                   embeddings cached by model and text hash (written by training)
    DIR/models/                  the model registry: promoted.json and history.jsonl (written by training)
    DIR/regression_vectors.yaml  optional: texts every model must get right (read by training's gate)

``Project`` delegates each concern to its module: validation (:mod:`curation.ingest._validate`), ingest =
dedup + split (:mod:`curation.ingest._ingest`), seeds (:mod:`curation._seeds`), snapshots
(:mod:`curation.views._snapshots`), views (:mod:`curation.views._views`) and reports (:mod:`curation.views._reports`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence, Unpack

import pandas as pd
import yaml

from foundation import atomic_write_text

from ._errors import StoreError, WorkbenchError
from ._layout import ProjectLayout
from ._records import RESERVED_COLUMNS
from ._review import ReviewOutcome, apply_review
from ._seeds import validate_seed
from ._settings import ProjectSettings, modeline, parse_yaml, validate_settings, write_schemas
from ._splits import (
    origin_counts,
    split_report,
    synthetic_split_fractions,
    validate_fractions,
)
from ._taxonomy import Taxonomy, load_taxonomy
from .ingest._importers import ReadResult, read_file, records_from_frame, records_from_hf
from .ingest._ingest import ImportOptions, ImportSummary, duplicate_mask, ingest
from .production._pool import (
    ProductionSummary,
    feedback_frame,
    import_production,
    production_fingerprint,
    production_frame,
    production_records,
)
from .store._lock import lock_timeout
from .store._store import Store
from .views._reports import class_distribution, duplicate_conflicts, project_stats, write_data_report
from .views._snapshots import export_records, read_snapshot, snapshot_manifest, write_snapshot
from .views._views import MixResult, evaluation_view, task_view, training_mix

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
    >>> from curation import Taxonomy
    >>> tax = Taxonomy.from_dict({"labels": [{"name": "hate", "tier": "T2"}, {"name": "offensive"}]})
    >>> folder = tempfile.TemporaryDirectory()
    >>> p = Project.init(folder.name + "/proj", taxonomy=tax)
    >>> s = p.import_frame(pd.DataFrame({"text": ["you are great", "I hate you all"],
    ...                                   "hate": [0, 1]}), source="toy")
    >>> s.n_inserted, bool(p.frame()["offensive"].isna().all())
    (2, True)
    >>> p.close(); folder.cleanup()
    """

    def __init__(self, root):
        self.root = Path(root)
        self.layout = ProjectLayout(self.root)  # every folder and file of the project, named once
        self._store: Store | None = None
        self._taxonomy: Taxonomy | None = None
        self._settings: ProjectSettings | None = None

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
        import warnings

        from foundation import WorkbenchDeprecationWarning

        warnings.warn(
            "Project.config (a plain dict) moved to Project.settings (typed: project.settings.mixing.head_cap); "
            "the old attribute goes in the next release",
            WorkbenchDeprecationWarning,
            stacklevel=2,
        )
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

    # ------------------------------------------------------------------ importing
    def import_file(
        self,
        path,
        fmt: str,
        *,
        source: str | None = None,
        text_field: str = "text",
        id_field: str | None = None,
        context_field: str | None = None,
        **options: Unpack[ImportOptions],
    ) -> ImportSummary:
        """Import a file in one of :data:`curation.ingest.FORMATS` (``seeds`` included). All or nothing.

        ``text_field``, ``id_field``, ``context_field``: the columns of a generic ``csv`` / ``jsonl`` file;
        ``options``: :class:`~curation.ingest.ImportOptions` (``fractions`` for an evaluation file, ``label_map``,
        ``context``, ``repair_hierarchy``, ``actor``)."""
        generic = fmt in ("csv", "jsonl")
        label_columns = self._generic_label_columns(options.get("label_map")) if generic else None
        res = read_file(
            path,
            fmt,
            text_field=text_field,
            id_field=id_field,
            context_field=context_field,
            label_columns=label_columns,
        )
        return self.import_records(res, source=source, path=str(path), **options)

    def import_frame(
        self,
        frame: pd.DataFrame,
        *,
        source: str,
        text_field: str = "text",
        id_field: str | None = None,
        context_field: str | None = None,
        **options: Unpack[ImportOptions],
    ) -> ImportSummary:
        """Import a pandas DataFrame (label columns named like taxonomy labels, or mapped with
        ``label_map``); ``options`` as :meth:`import_file` (``context`` defaults to ``GENERAL``)."""
        res = records_from_frame(
            frame,
            text_field=text_field,
            id_field=id_field,
            context_field=context_field,
            label_columns=self._generic_label_columns(options.get("label_map")),
        )
        return self.import_records(res, source=source, **{"context": "GENERAL", **options})

    def import_hf(
        self,
        dataset,
        *,
        source: str,
        text_field: str = "text",
        id_field: str | None = None,
        **options: Unpack[ImportOptions],
    ) -> ImportSummary:
        """Import an already loaded Hugging Face ``datasets.Dataset``; ``options`` as :meth:`import_file`
        (``context`` defaults to ``GENERAL``)."""
        res = records_from_hf(
            dataset,
            text_field=text_field,
            id_field=id_field,
            label_columns=self._generic_label_columns(options.get("label_map")),
        )
        return self.import_records(res, source=source, **{"context": "GENERAL", **options})

    def import_seeds(self, path, *, source: str = "seeds", actor: str = "import") -> ImportSummary:
        """Import a seeds YAML file (seeds, their batches and the batches' records) in one transaction;
        the same as ``import_file(path, "seeds")``. Seeds and batches already stored with the same id
        are kept as they are (re-importing a file is a no-op)."""
        return self.import_file(path, "seeds", source=source, actor=actor)

    def _generic_label_columns(self, label_map: Mapping[str, str | None] | None) -> dict[str, str | None]:
        cols: dict[str, str | None] = {n: n for n in self.taxonomy.label_names}
        cols.update(dict(label_map or {}))
        return cols

    def import_records(
        self,
        result: ReadResult,
        *,
        source: str | None = None,
        path: str | None = None,
        **options: Unpack[ImportOptions],
    ) -> ImportSummary:
        """Validate parsed rows against the taxonomy, deduplicate, assign splits and store them
        (:func:`curation.ingest._ingest.ingest`; ``options``: :class:`~curation.ingest.ImportOptions`). Nothing is written
        unless every row is valid."""
        return ingest(
            self.store, self.taxonomy, self.settings, result, root=self.root, source=source, path=path, **options
        )

    # ------------------------------------------------------------------ seeds and batches
    def add_seed(
        self,
        seed_id: str,
        *,
        text: str,
        target_labels: Sequence[str],
        kind: str = "positive",
        overlap: Mapping[str, float] | None = None,
        status: str = "proposed",
        notes: str | None = None,
        actor: str = "user",
        **fields: Any,
    ) -> None:
        """Store one seed, checked against the taxonomy (``fields``: ``base_id``, ``version``,
        ``batch_size``, ``context``, as the store takes them)."""
        seed = {"id": seed_id, "text": text, "target_labels": list(target_labels), "kind": kind}
        problems = validate_seed(
            {**seed, "overlap": overlap, "status": status, **fields}, labels=set(self.taxonomy.label_names)
        )
        if problems:
            raise StoreError(problems[0], fix=f"taxonomy labels are {list(self.taxonomy.label_names)}")
        self.store.add_seed(
            seed_id,
            text=text,
            target_labels=target_labels,
            kind=kind,
            overlap=overlap,
            status=status,
            notes=notes,
            actor=actor,
            **fields,
        )

    def add_batch(
        self,
        batch_id: str,
        *,
        seed_id: str,
        provider: str,
        params: Mapping[str, Any] | None = None,
        actor: str = "user",
    ) -> None:
        self.store.add_batch(batch_id, seed_id=seed_id, provider=provider, params=params, actor=actor)

    def seeds(self) -> pd.DataFrame:
        """Every seed version with kind, status, quarantine state and reason, target labels, overlap,
        batch size, context, batch and record counts."""
        return self.store.seeds()

    def latest_seeds(self) -> pd.DataFrame:
        """The newest version of every seed (what generation works from)."""
        df = self.store.seeds()
        return df.sort_values("version").groupby("base_id", sort=False).tail(1).sort_values("id").reset_index(drop=True)

    def batches(self) -> pd.DataFrame:
        """Every batch with its seed, provider, params, review status (pending / accepted / rejected),
        generation summary and record count."""
        return self.store.batches_frame()

    def apply_review(self, outcome: ReviewOutcome, *, actor: str = "review") -> dict[str, int]:
        """Write what a review pull decided (annotations, labels, seed and batch verdicts) in one
        transaction; safe to repeat (see :mod:`curation._review`)."""
        return apply_review(self.store, outcome, actor=actor, production_splits=self.settings.production.splits)

    def set_batch_status(self, batch_id: str, status: str, *, actor: str = "user", reason: str | None = None) -> None:
        """Accept or reject a batch (or put it back to pending). Records of a pending batch stay out
        of every training view; those of a rejected batch are quarantined with it."""
        self.store.set_batch_status(batch_id, status, actor=actor, reason=reason)

    def accept_batch(self, batch_id: str, *, reason: str, actor: str = "user") -> None:
        """Accept a batch without review: explicit, with who and why (an event marks it as not reviewed,
        so ``workbench review push-batches --status accepted`` can audit it later)."""
        if not reason or not str(reason).strip():
            raise StoreError(
                f"accepting batch {batch_id!r} without review",
                expected="a reason",
                got="none",
                fix="pass --reason 'why this batch needs no review'",
            )
        self.store.set_batch_status(batch_id, "accepted", actor=actor, reason=reason, without_review=True)

    def quarantine_seed(self, seed_id: str, *, reason: str, actor: str = "user") -> int:
        """Remove every record of the seed's batches from all training views (reversible)."""
        return self.store.quarantine_seed(seed_id, reason=reason, actor=actor)

    def unquarantine_seed(self, seed_id: str, *, actor: str = "user", reason: str | None = None) -> int:
        return self.store.unquarantine_seed(seed_id, actor=actor, reason=reason)

    # ------------------------------------------------------------------ reading
    def tag(self, record_ids: Sequence[str], tag: str, *, note: str | None = None, actor: str = "user") -> int:
        """Tag records by id (e.g. a map selection) so they can be found again; all or nothing."""
        return self.store.tag_records(record_ids, tag, actor=actor, note=note)

    def tags(self, tag: str | None = None) -> pd.DataFrame:
        """Tagged records: ``record_id``, ``tag``, ``note``, ``actor``, ``created_at``."""
        return self.store.tags(tag)

    # ------------------------------------------------------------------ production pool and feedback
    def import_production(
        self,
        path,
        *,
        models: Mapping[str, Sequence[str]] | None = None,
        context: str = "GENERAL",
        actor: str = "feedback-import",
    ) -> ProductionSummary:
        """Import a production log (scored posts and feedback; see :mod:`curation.production._pool`): all or
        nothing. ``models``: model name -> labels, to check the scores of the posts each model scored."""
        with self.store.write_lock("feedback import"):
            return import_production(
                self.store, self.taxonomy, self.settings, path, models=models, context=context, actor=actor
            )

    def production(self, *, start: str | None = None, end: str | None = None) -> pd.DataFrame:
        """The production pool, oldest first (see :func:`curation.production._pool.production_frame`)."""
        return production_frame(self.store, start=start, end=end)

    def feedback(self) -> pd.DataFrame:
        """Every feedback event on the production pool (post id, type, label, time)."""
        return feedback_frame(self.store)

    def frame(self, *, active_only: bool = False, include_unreviewed: bool = False) -> pd.DataFrame:
        """Every record with one column per taxonomy label (1.0 / 0.0 / NaN = unknown); ``active_only``
        keeps those in views (with ``include_unreviewed``, the records of batches awaiting review too)."""
        return self.store.frame(
            self.taxonomy.label_names, active_only=active_only, include_unreviewed=include_unreviewed
        )

    def duplicate_mask(
        self, texts: Sequence[str], *, near: bool = True, ignore_sources: Sequence[str] = ()
    ) -> list[bool]:
        """For each text: is it an exact or near duplicate of a stored record, or of an earlier text in
        ``texts``? (The project's dedup settings; used to drop generated duplicates before import.
        ``near=False``: only the very same string counts.)"""
        return duplicate_mask(self.store, self.settings, texts, near=near, ignore_sources=ignore_sources)

    def stats(self) -> dict[str, Any]:
        """Counts, label stats (with unknown rates), per-split rates, duplicates and seeds."""
        return project_stats(
            self.frame(),
            self.taxonomy,
            pairs=self.store.near_dup_pairs(),
            seeds=self.store.seeds(),
            snapshot_id=self.snapshot_id(),
        )

    def duplicate_conflicts(self) -> pd.DataFrame:
        """Duplicate pairs (exact or near) whose known labels disagree: review them."""
        return duplicate_conflicts(self.frame(), self.store.near_dup_pairs(), self.taxonomy.label_names)

    def class_distribution(self, *, split: str | None = "train") -> pd.DataFrame:
        return class_distribution(
            self.frame(active_only=True),
            self.taxonomy,
            split=split,
            pos_weight_cap=float(self.settings.loss.pos_weight_cap),
        )

    def split_report(self) -> dict[str, pd.DataFrame]:
        """Per split: label rates and positives, pairs, source / context / origin mix of the active
        records; ``origin_counts`` counts every stored record (pending and quarantined too), so it shows
        that calib and holdout hold only real data."""
        rep = split_report(self.frame(active_only=True), self.taxonomy.label_names)
        rep["origin_counts"] = origin_counts(self.frame())
        return rep

    def write_report(self, out, *, split: str | None = "train", png: bool = True) -> tuple[pd.DataFrame, list[Path]]:
        """Write the class distribution (CSV, HTML, PNG), split reports and duplicate conflicts into
        folder ``out``; return the distribution table and the files written."""
        dist = self.class_distribution(split=split)
        files = write_data_report(
            out,
            distribution=dist,
            split_reports=self.split_report(),
            conflicts=self.duplicate_conflicts(),
            split=split,
            png=png,
        )
        return dist, files

    # ------------------------------------------------------------------ views
    def task_view(self, group: str | None = None) -> pd.DataFrame:
        return task_view(self.frame(active_only=True), self.taxonomy, group)

    def mix(self, view: pd.DataFrame, labels: Sequence[str] | None = None, **overrides) -> MixResult:
        """The training mix of ``view`` (a task view, live or from a snapshot) with the project's
        mixing settings: per-label floors, head cap, clean and hard-negative shares (each overridable).

        A label's floor is, first to last: its entry in ``floors``, else ``tail_floor`` when the
        project (``mixing.tail_floor``) or the call sets one (one floor for every label), else its
        taxonomy tier's ``min_positives``."""
        labels = list(labels) if labels is not None else [c for c in self.taxonomy.label_names if c in view.columns]
        settings = {**self.settings.mixing.model_dump(mode="json", exclude_none=True), **overrides}
        tail_floor = settings.pop("tail_floor", None)
        floors = {lab: self.taxonomy[lab].min_positives if tail_floor is None else int(tail_floor) for lab in labels}
        floors.update(settings.pop("floors", None) or {})
        return training_mix(view, labels, floors=floors, **settings)

    def training_mix(self, group: str | None = None, **overrides) -> MixResult:
        """The training mix of a label group with the project's mixing settings (overridable)."""
        return self.mix(self.task_view(group), **overrides)

    def evaluation_view(self, group: str | None = None, **overrides) -> MixResult:
        view = self.task_view(group)
        labels = [c for c in self.taxonomy.label_names if c in view.columns]
        settings = self.settings.evaluation.model_dump(
            mode="json", exclude_none=True, include={"clean_share", "clean_share_range"}
        )
        return evaluation_view(view, labels, **{**settings, **overrides})

    # ------------------------------------------------------------------ snapshots and export
    def snapshot_id(self, *, include_unreviewed: bool = False) -> str:
        """The content hash of what a snapshot taken now would hold: the active records, the labelled
        production posts (when there are any) and the taxonomy."""
        labelled = self.store.conn.execute("SELECT 1 FROM production WHERE split IS NOT NULL LIMIT 1").fetchone()
        return self.store.snapshot_id(
            self.taxonomy.content_hash,
            include_unreviewed=include_unreviewed,
            extra=production_fingerprint(self.store) if labelled else None,
        )

    def snapshot(self, *, include_unreviewed: bool = False) -> dict[str, Any]:
        """Write (or reuse) ``snapshots/ID/`` with the active records and a manifest; return the manifest.

        Labelled production posts are in it too (:func:`curation.production._pool.production_records`: origin
        ``production``, their production split); the manifest's ``production`` says how many per split, the
        hard negatives, and the posts refused as twins of curated calib / holdout records.

        ``include_unreviewed`` takes the records of batches awaiting review too (an explicit override:
        the snapshot gets another id and its manifest says so)."""
        sid = self.snapshot_id(include_unreviewed=include_unreviewed)
        existing = snapshot_manifest(self.root, sid)  # reused as it is: no need to read the pool again
        if existing is not None:
            return existing
        frame = self.frame(active_only=True, include_unreviewed=include_unreviewed)
        production, report = production_records(self.store, self.settings, self.taxonomy.label_names)
        if len(production):  # labelled pool posts train (train / valid) and gate (production_holdout) the model
            frame = pd.concat([frame, production[frame.columns]], ignore_index=True)
        return write_snapshot(
            self.root,
            sid,
            frame,
            self.taxonomy,
            excluded_seeds=self.store.quarantined_seeds(),
            include_unreviewed=include_unreviewed,
            production=report if (len(production) or report["refused"]) else None,
        )

    def read_snapshot(
        self, snapshot_id: str | None = None, *, include_unreviewed: bool = False
    ) -> tuple[pd.DataFrame, Taxonomy, dict[str, Any]]:
        """A snapshot's records (labels as float, NaN = unknown), its taxonomy and manifest; without an
        id, the current snapshot (written first when missing)."""
        if snapshot_id is None:
            snapshot_id = self.snapshot(include_unreviewed=include_unreviewed)["snapshot_id"]
        return read_snapshot(self.root, snapshot_id)

    def snapshot_records_path(self, snapshot_id: str | None = None) -> Path:
        """The Parquet file of a snapshot's records (the current snapshot, written first when missing), for
        readers that stream it themselves (Ray Data jobs)."""
        from .views._snapshots import snapshot_records_path

        return snapshot_records_path(self.root, snapshot_id or self.snapshot()["snapshot_id"])

    def export(self, out, *, fmt: str = "jsonl", active_only: bool = False) -> Path:
        """Export records (full truth: unknown labels stay null) as JSONL or Parquet, atomically."""
        return export_records(self.frame(active_only=active_only), self.taxonomy.label_names, out, fmt=fmt)
