"""Snapshots: content-addressed copies of a project's active records that models are trained from.

::

    DIR/snapshots/ID/records.parquet   the active records (labels as Int8 with nulls for unknown)
    DIR/snapshots/ID/taxonomy.yaml     the taxonomy of that moment
    DIR/snapshots/ID/manifest.json     id, label order, counts per split, excluded (quarantined) seeds;
                                       written last, so its presence marks a complete snapshot

Readers go through :func:`read_snapshot` (or :meth:`Project.snapshots.read`), never through paths
of their own, so the layout can change in one place.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from foundation import atomic_write_bytes, atomic_write_text, utc_now

from .._errors import WorkbenchError
from .._layout import ProjectLayout
from .._taxonomy import Taxonomy, load_taxonomy

__all__ = [
    "write_snapshot",
    "read_snapshot",
    "snapshot_manifest",
    "snapshot_records_path",
    "export_frame",
    "export_records",
]


def _folder(root, snapshot_id: str) -> Path:
    return ProjectLayout(root).snapshots / snapshot_id


def snapshot_manifest(root, snapshot_id: str) -> dict[str, Any] | None:
    """The manifest of a complete snapshot, or ``None`` when it was not written (or not finished)."""
    path = _folder(root, snapshot_id) / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else None


def export_frame(frame: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Records as stored in files: nullable Int8 label columns, provenance and meta as JSON text."""
    out = frame.copy()
    for k in labels:
        out[k] = out[k].astype("Int8")
    out["label_provenance"] = [json.dumps(x, sort_keys=True) for x in out["label_provenance"]]
    out["meta"] = [json.dumps(x, sort_keys=True, ensure_ascii=False) for x in out["meta"]]
    return out


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def write_snapshot(
    root,
    snapshot_id: str,
    frame: pd.DataFrame,
    taxonomy: Taxonomy,
    *,
    excluded_seeds: Sequence[str],
    include_unreviewed: bool = False,
    production: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write (or reuse) ``root/snapshots/ID/`` for the active records in ``frame``; return the manifest."""
    folder = _folder(root, snapshot_id)
    manifest_path = folder / "manifest.json"
    existing = snapshot_manifest(root, snapshot_id)
    if existing is not None:
        return existing
    buf = _parquet_bytes(export_frame(frame, taxonomy.label_names))
    atomic_write_bytes(folder / "records.parquet", buf)
    manifest = {
        "snapshot_id": snapshot_id,
        "created_at": utc_now(),
        "taxonomy_hash": taxonomy.content_hash,
        "labels": list(taxonomy.label_names),
        "n_records": int(len(frame)),
        "splits": {k: int(v) for k, v in frame["split"].value_counts().items()},
        "excluded_seeds": list(excluded_seeds),
        "include_unreviewed": include_unreviewed,
        "n_pending": int((frame["status"] == "pending").sum()) if "status" in frame else 0,
        "records_sha256": hashlib.sha256(buf).hexdigest(),
    }
    if production is not None:
        manifest["production"] = production
    taxonomy.save(folder / "taxonomy.yaml")
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2))  # written last: marks it complete
    return manifest


def read_snapshot(root, snapshot_id: str) -> tuple[pd.DataFrame, Taxonomy, dict[str, Any]]:
    """A snapshot's records (label columns as float: 1.0 / 0.0 / NaN = unknown), its taxonomy and manifest."""
    folder = _folder(root, snapshot_id)
    if not (folder / "manifest.json").exists() or not (folder / "records.parquet").exists():
        raise WorkbenchError(
            f"snapshot {snapshot_id} of project {root}",
            expected=f"{folder}/records.parquet and manifest.json",
            got="missing",
            fix="the snapshot the model was trained on is "
            "gone; retrain (workbench snapshot DIR writes the current one)",
        )
    manifest = json.loads((folder / "manifest.json").read_text())
    frame = pd.read_parquet(folder / "records.parquet")
    for lab in manifest["labels"]:
        frame[lab] = frame[lab].astype("Float64").astype(float)
    return frame, load_taxonomy(folder / "taxonomy.yaml"), manifest


def snapshot_records_path(root, snapshot_id: str) -> Path:
    """The Parquet file of a complete snapshot's records, for readers that slice it themselves (the batch
    jobs cut it into blocks for Ray); columns as :func:`export_frame` writes them."""
    manifest = _folder(root, snapshot_id) / "manifest.json"
    if not manifest.exists():
        raise WorkbenchError(
            f"snapshot {snapshot_id} of project {root}",
            expected="a complete snapshot (manifest.json written)",
            got="none",
            fix="workbench snapshot DIR writes the current one",
        )
    return _folder(root, snapshot_id) / "records.parquet"


def export_records(frame: pd.DataFrame, labels: Sequence[str], out, *, fmt: str = "jsonl") -> Path:
    """Records (full truth: unknown labels stay null) as JSONL or Parquet, written atomically."""
    out = Path(out)
    if fmt not in ("jsonl", "parquet"):
        raise WorkbenchError("export format", expected="jsonl or parquet", got=repr(fmt))
    table = export_frame(frame, labels)
    if fmt == "parquet":
        return atomic_write_bytes(out, _parquet_bytes(table))
    lines = []
    for rec in table.to_dict(orient="records"):
        rec["labels"] = {k: (None if pd.isna(rec[k]) else int(rec[k])) for k in labels}
        for k in labels:
            rec.pop(k)
        lines.append(json.dumps(rec, ensure_ascii=False, default=str))
    return atomic_write_text(out, "\n".join(lines) + ("\n" if lines else ""))
