"""The resources of a :class:`curation.Project`, each a small object over its store, the way Argilla's SDK groups
a dataset (``dataset.records``, ``dataset.settings``): ``project.records``, ``project.seeds``,
``project.batches``, ``project.production``, ``project.views``, ``project.snapshots``, ``project.reports``.

Each resource delegates to the module that does the work (ingest, the store, views, snapshots, reports); the
project's flat methods of 0.x (``project.import_file``, ``project.frame``, ...) still work for one release,
forwarding here with a deprecation warning (:data:`FLAT_METHODS`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence, Unpack

import pandas as pd

from foundation import warn_moved

from ._errors import StoreError
from ._review import ReviewOutcome, apply_review
from ._seeds import validate_seed
from ._splits import origin_counts, split_report
from ._taxonomy import Taxonomy
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
from .views._reports import class_distribution, duplicate_conflicts, project_stats, write_data_report
from .views._snapshots import export_records, read_snapshot, snapshot_manifest, write_snapshot
from .views._views import MixResult, evaluation_view, task_view, training_mix

__all__ = ["Records", "Seeds", "Batches", "ProductionPosts", "Views", "Snapshots", "Reports", "FLAT_METHODS"]


class _Resource:
    def __init__(self, project: Any):
        self._p = project  # the Project (not imported here: it imports this module)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._p.root}>"


class Records(_Resource):
    """The project's records: import them (a file, a frame, a Hugging Face dataset, parsed rows), read them,
    find duplicates, tag and export them, and apply what a review decided."""

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
        return self.import_result(res, source=source, path=str(path), **options)

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
        return self.import_result(res, source=source, **{"context": "GENERAL", **options})

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
        return self.import_result(res, source=source, **{"context": "GENERAL", **options})

    def _generic_label_columns(self, label_map: Mapping[str, str | None] | None) -> dict[str, str | None]:
        cols: dict[str, str | None] = {n: n for n in self._p.taxonomy.label_names}
        cols.update(dict(label_map or {}))
        return cols

    def import_result(
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
            self._p.store,
            self._p.taxonomy,
            self._p.settings,
            result,
            root=self._p.root,
            source=source,
            path=path,
            **options,
        )

    def apply_review(self, outcome: ReviewOutcome, *, actor: str = "review") -> dict[str, int]:
        """Write what a review pull decided (annotations, labels, seed and batch verdicts) in one
        transaction; safe to repeat (see :mod:`curation._review`)."""
        return apply_review(self._p.store, outcome, actor=actor, production_splits=self._p.settings.production.splits)

    def tag(self, record_ids: Sequence[str], tag: str, *, note: str | None = None, actor: str = "user") -> int:
        """Tag records by id (e.g. a map selection) so they can be found again; all or nothing."""
        return self._p.store.tag_records(record_ids, tag, actor=actor, note=note)

    def tags(self, tag: str | None = None) -> pd.DataFrame:
        """Tagged records: ``record_id``, ``tag``, ``note``, ``actor``, ``created_at``."""
        return self._p.store.tags(tag)

    def frame(self, *, active_only: bool = False, include_unreviewed: bool = False) -> pd.DataFrame:
        """Every record with one column per taxonomy label (1.0 / 0.0 / NaN = unknown); ``active_only``
        keeps those in views (with ``include_unreviewed``, the records of batches awaiting review too)."""
        return self._p.store.frame(
            self._p.taxonomy.label_names, active_only=active_only, include_unreviewed=include_unreviewed
        )

    def duplicate_mask(
        self, texts: Sequence[str], *, near: bool = True, ignore_sources: Sequence[str] = ()
    ) -> list[bool]:
        """For each text: is it an exact or near duplicate of a stored record, or of an earlier text in
        ``texts``? (The project's dedup settings; used to drop generated duplicates before import.
        ``near=False``: only the very same string counts.)"""
        return duplicate_mask(self._p.store, self._p.settings, texts, near=near, ignore_sources=ignore_sources)

    def export(self, out, *, fmt: str = "jsonl", active_only: bool = False) -> Path:
        """Export records (full truth: unknown labels stay null) as JSONL or Parquet, atomically."""
        return export_records(self.frame(active_only=active_only), self._p.taxonomy.label_names, out, fmt=fmt)


class Seeds(_Resource):
    """Seeds: import a seeds file, add one, list them (every version, or the latest), quarantine a poisoned one."""

    def __call__(self, *args, **kwargs):
        """``project.seeds()``: the 0.x method, for one release (read :meth:`frame`)."""
        warn_moved("project.seeds()", "project.seeds.frame()")
        return self.frame(*args, **kwargs)

    def import_file(self, path, *, source: str = "seeds", actor: str = "import") -> ImportSummary:
        """Import a seeds YAML file (seeds, their batches and the batches' records) in one transaction;
        the same as ``import_file(path, "seeds")``. Seeds and batches already stored with the same id
        are kept as they are (re-importing a file is a no-op)."""
        return self._p.records.import_file(path, "seeds", source=source, actor=actor)

    def add(
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
            {**seed, "overlap": overlap, "status": status, **fields}, labels=set(self._p.taxonomy.label_names)
        )
        if problems:
            raise StoreError(problems[0], fix=f"taxonomy labels are {list(self._p.taxonomy.label_names)}")
        self._p.store.add_seed(
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

    def frame(self) -> pd.DataFrame:
        """Every seed version with kind, status, quarantine state and reason, target labels, overlap,
        batch size, context, batch and record counts."""
        return self._p.store.seeds()

    def latest(self) -> pd.DataFrame:
        """The newest version of every seed (what generation works from)."""
        df = self._p.store.seeds()
        return df.sort_values("version").groupby("base_id", sort=False).tail(1).sort_values("id").reset_index(drop=True)

    def quarantine(self, seed_id: str, *, reason: str, actor: str = "user") -> int:
        """Remove every record of the seed's batches from all training views (reversible)."""
        return self._p.store.quarantine_seed(seed_id, reason=reason, actor=actor)

    def unquarantine(self, seed_id: str, *, actor: str = "user", reason: str | None = None) -> int:
        return self._p.store.unquarantine_seed(seed_id, actor=actor, reason=reason)


class Batches(_Resource):
    """Generated batches: add one, list them, accept or reject them."""

    def __call__(self, *args, **kwargs):
        """``project.batches()``: the 0.x method, for one release (read :meth:`frame`)."""
        warn_moved("project.batches()", "project.batches.frame()")
        return self.frame(*args, **kwargs)

    def add(
        self,
        batch_id: str,
        *,
        seed_id: str,
        provider: str,
        params: Mapping[str, Any] | None = None,
        actor: str = "user",
    ) -> None:
        self._p.store.add_batch(batch_id, seed_id=seed_id, provider=provider, params=params, actor=actor)

    def frame(self) -> pd.DataFrame:
        """Every batch with its seed, provider, params, review status (pending / accepted / rejected),
        generation summary and record count."""
        return self._p.store.batches_frame()

    def set_status(self, batch_id: str, status: str, *, actor: str = "user", reason: str | None = None) -> None:
        """Accept or reject a batch (or put it back to pending). Records of a pending batch stay out
        of every training view; those of a rejected batch are quarantined with it."""
        self._p.store.set_batch_status(batch_id, status, actor=actor, reason=reason)

    def accept(self, batch_id: str, *, reason: str, actor: str = "user") -> None:
        """Accept a batch without review: explicit, with who and why (an event marks it as not reviewed,
        so ``workbench review push-batches --status accepted`` can audit it later)."""
        if not reason or not str(reason).strip():
            raise StoreError(
                f"accepting batch {batch_id!r} without review",
                expected="a reason",
                got="none",
                fix="pass --reason 'why this batch needs no review'",
            )
        self._p.store.set_batch_status(batch_id, "accepted", actor=actor, reason=reason, without_review=True)


class ProductionPosts(_Resource):
    """The production pool: import a production log, read its posts and their feedback."""

    def __call__(self, *args, **kwargs):
        """``project.production()``: the 0.x method, for one release (read :meth:`posts`)."""
        warn_moved("project.production()", "project.production.posts()")
        return self.posts(*args, **kwargs)

    def import_log(
        self,
        path,
        *,
        models: Mapping[str, Sequence[str]] | None = None,
        context: str = "GENERAL",
        actor: str = "feedback-import",
    ) -> ProductionSummary:
        """Import a production log (scored posts and feedback; see :mod:`curation.production._pool`): all or
        nothing. ``models``: model name -> labels, to check the scores of the posts each model scored."""
        with self._p.store.write_lock("feedback import"):
            return import_production(
                self._p.store, self._p.taxonomy, self._p.settings, path, models=models, context=context, actor=actor
            )

    def posts(self, *, start: str | None = None, end: str | None = None) -> pd.DataFrame:
        """The production pool, oldest first (see :func:`curation.production._pool.production_frame`)."""
        return production_frame(self._p.store, start=start, end=end)

    def feedback(self) -> pd.DataFrame:
        """Every feedback event on the production pool (post id, type, label, time)."""
        return feedback_frame(self._p.store)


class Views(_Resource):
    """What training reads of the store: task views, the training mix, the evaluation view."""

    def task_view(self, group: str | None = None) -> pd.DataFrame:
        return task_view(self._p.records.frame(active_only=True), self._p.taxonomy, group)

    def mix(self, view: pd.DataFrame, labels: Sequence[str] | None = None, **overrides) -> MixResult:
        """The training mix of ``view`` (a task view, live or from a snapshot) with the project's
        mixing settings: per-label floors, head cap, clean and hard-negative shares (each overridable).

        A label's floor is, first to last: its entry in ``floors``, else ``tail_floor`` when the
        project (``mixing.tail_floor``) or the call sets one (one floor for every label), else its
        taxonomy tier's ``min_positives``."""
        labels = list(labels) if labels is not None else [c for c in self._p.taxonomy.label_names if c in view.columns]
        settings = {**self._p.settings.mixing.model_dump(mode="json", exclude_none=True), **overrides}
        tail_floor = settings.pop("tail_floor", None)
        floors = {lab: self._p.taxonomy[lab].min_positives if tail_floor is None else int(tail_floor) for lab in labels}
        floors.update(settings.pop("floors", None) or {})
        return training_mix(view, labels, floors=floors, **settings)

    def training_mix(self, group: str | None = None, **overrides) -> MixResult:
        """The training mix of a label group with the project's mixing settings (overridable)."""
        return self.mix(self.task_view(group), **overrides)

    def evaluation_view(self, group: str | None = None, **overrides) -> MixResult:
        view = self.task_view(group)
        labels = [c for c in self._p.taxonomy.label_names if c in view.columns]
        settings = self._p.settings.evaluation.model_dump(
            mode="json", exclude_none=True, include={"clean_share", "clean_share_range"}
        )
        return evaluation_view(view, labels, **{**settings, **overrides})


class Snapshots(_Resource):
    """Content-addressed snapshots: the current id, take one, read one, its records file."""

    def id(self, *, include_unreviewed: bool = False) -> str:
        """The content hash of what a snapshot taken now would hold: the active records, the labelled
        production posts (when there are any) and the taxonomy."""
        labelled = self._p.store.conn.execute("SELECT 1 FROM production WHERE split IS NOT NULL LIMIT 1").fetchone()
        return self._p.store.snapshot_id(
            self._p.taxonomy.content_hash,
            include_unreviewed=include_unreviewed,
            extra=production_fingerprint(self._p.store) if labelled else None,
        )

    def take(self, *, include_unreviewed: bool = False) -> dict[str, Any]:
        """Write (or reuse) ``snapshots/ID/`` with the active records and a manifest; return the manifest.

        Labelled production posts are in it too (:func:`curation.production._pool.production_records`: origin
        ``production``, their production split); the manifest's ``production`` says how many per split, the
        hard negatives, and the posts refused as twins of curated calib / holdout records.

        ``include_unreviewed`` takes the records of batches awaiting review too (an explicit override:
        the snapshot gets another id and its manifest says so)."""
        sid = self.id(include_unreviewed=include_unreviewed)
        existing = snapshot_manifest(self._p.root, sid)  # reused as it is: no need to read the pool again
        if existing is not None:
            return existing
        frame = self._p.records.frame(active_only=True, include_unreviewed=include_unreviewed)
        production, report = production_records(self._p.store, self._p.settings, self._p.taxonomy.label_names)
        if len(production):  # labelled pool posts train (train / valid) and gate (production_holdout) the model
            frame = pd.concat([frame, production[frame.columns]], ignore_index=True)
        return write_snapshot(
            self._p.root,
            sid,
            frame,
            self._p.taxonomy,
            excluded_seeds=self._p.store.quarantined_seeds(),
            include_unreviewed=include_unreviewed,
            production=report if (len(production) or report["refused"]) else None,
        )

    def read(
        self, snapshot_id: str | None = None, *, include_unreviewed: bool = False
    ) -> tuple[pd.DataFrame, Taxonomy, dict[str, Any]]:
        """A snapshot's records (labels as float, NaN = unknown), its taxonomy and manifest; without an
        id, the current snapshot (written first when missing)."""
        if snapshot_id is None:
            snapshot_id = self.take(include_unreviewed=include_unreviewed)["snapshot_id"]
        return read_snapshot(self._p.root, snapshot_id)

    def records_path(self, snapshot_id: str | None = None) -> Path:
        """The Parquet file of a snapshot's records (the current snapshot, written first when missing), for
        readers that stream it themselves (Ray Data jobs)."""
        from .views._snapshots import snapshot_records_path

        return snapshot_records_path(self._p.root, snapshot_id or self.take()["snapshot_id"])


class Reports(_Resource):
    """Reports on the data: stats, class distribution, split report, duplicate conflicts, the report files."""

    def stats(self) -> dict[str, Any]:
        """Counts, label stats (with unknown rates), per-split rates, duplicates and seeds."""
        return project_stats(
            self._p.records.frame(),
            self._p.taxonomy,
            pairs=self._p.store.near_dup_pairs(),
            seeds=self._p.store.seeds(),
            snapshot_id=self._p.snapshots.id(),
        )

    def duplicate_conflicts(self) -> pd.DataFrame:
        """Duplicate pairs (exact or near) whose known labels disagree: review them."""
        return duplicate_conflicts(
            self._p.records.frame(), self._p.store.near_dup_pairs(), self._p.taxonomy.label_names
        )

    def class_distribution(self, *, split: str | None = "train") -> pd.DataFrame:
        return class_distribution(
            self._p.records.frame(active_only=True),
            self._p.taxonomy,
            split=split,
            pos_weight_cap=float(self._p.settings.loss.pos_weight_cap),
        )

    def split_report(self) -> dict[str, pd.DataFrame]:
        """Per split: label rates and positives, pairs, source / context / origin mix of the active
        records; ``origin_counts`` counts every stored record (pending and quarantined too), so it shows
        that calib and holdout hold only real data."""
        rep = split_report(self._p.records.frame(active_only=True), self._p.taxonomy.label_names)
        rep["origin_counts"] = origin_counts(self._p.records.frame())
        return rep

    def write(self, out, *, split: str | None = "train", png: bool = True) -> tuple[pd.DataFrame, list[Path]]:
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


FLAT_METHODS = {
    "import_file": "records.import_file",
    "import_frame": "records.import_frame",
    "import_hf": "records.import_hf",
    "import_records": "records.import_result",
    "frame": "records.frame",
    "duplicate_mask": "records.duplicate_mask",
    "tag": "records.tag",
    "tags": "records.tags",
    "export": "records.export",
    "apply_review": "records.apply_review",
    "import_seeds": "seeds.import_file",
    "add_seed": "seeds.add",
    "latest_seeds": "seeds.latest",
    "quarantine_seed": "seeds.quarantine",
    "unquarantine_seed": "seeds.unquarantine",
    "add_batch": "batches.add",
    "set_batch_status": "batches.set_status",
    "accept_batch": "batches.accept",
    "import_production": "production.import_log",
    "feedback": "production.feedback",
    "task_view": "views.task_view",
    "mix": "views.mix",
    "training_mix": "views.training_mix",
    "evaluation_view": "views.evaluation_view",
    "snapshot_id": "snapshots.id",
    "snapshot": "snapshots.take",
    "read_snapshot": "snapshots.read",
    "snapshot_records_path": "snapshots.records_path",
    "stats": "reports.stats",
    "duplicate_conflicts": "reports.duplicate_conflicts",
    "class_distribution": "reports.class_distribution",
    "split_report": "reports.split_report",
    "write_report": "reports.write",
}
"""The 0.x flat methods of :class:`curation.Project` and where each lives now (``project.seeds()``,
``project.batches()`` and ``project.production()`` are the resources called)."""
