"""Regression vectors from perturbations: the adversarial variants a model must still get right.

A variant keeps its parent's labels, so a variant of a positive is a ``positives`` vector for the labels
it carries, and a variant of a record known negative for a seed's targets (a hard-negative seed) is a
``hard_negatives`` vector. The file is the one training's gate reads (``DIR/regression_vectors.yaml``).
Only variants whose batch was accepted in review become vectors (a pending perturbation of a train
record is not yet known to keep its parent's labels); each entry names its record (``record_id``), so
the gate can leave out an entry whose batch was rejected later.
"""

from __future__ import annotations

from typing import Any

import yaml

from curation import Project
from foundation import atomic_write_text

__all__ = ["regression_vectors", "write_regression_vectors"]


def regression_vectors(project: Project, *, per_label: int = 20) -> dict[str, list[dict[str, Any]]]:
    """Up to ``per_label`` positive and hard-negative vectors per label from the project's perturbations
    (quarantined ones left out), in a stable order."""
    f = project.records.frame()
    accepted = set(project.batches.frame().query("status == 'accepted'")["id"])
    var = f[(f["origin"] == "perturbation") & (f["status"] == "active") & f["batch_id"].isin(accepted)].sort_values(
        "id"
    )
    seeds = project.seeds.frame().set_index("id")
    out: dict[str, list[dict[str, Any]]] = {"positives": [], "hard_negatives": []}
    counts: dict[tuple[str, str], int] = {}
    for _, row in var.iterrows():
        seed = seeds.loc[row["seed_id"]] if row["seed_id"] in seeds.index else None
        if seed is not None and seed["kind"] == "hard_negative":
            kind, labels = "hard_negatives", [lab for lab in seed["target_labels"] if row[lab] == 0]
        else:
            kind, labels = "positives", [lab for lab in project.taxonomy.label_names if row[lab] == 1]
        if not labels or any(counts.get((kind, lab), 0) >= per_label for lab in labels):
            continue
        for lab in labels:
            counts[(kind, lab)] = counts.get((kind, lab), 0) + 1
        out[kind].append(
            {"text": row["text"], "labels": labels, "parent_id": row["meta"].get("parent_id"), "record_id": row["id"]}
        )
    return out


def write_regression_vectors(project: Project, *, per_label: int = 20) -> tuple[int, int]:
    """Add the perturbation vectors to ``DIR/regression_vectors.yaml`` (kept entries stay, a text is listed
    once). Returns (positives, hard negatives) in the file."""
    path = project.root / "regression_vectors.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    data = data or {}
    for kind, items in regression_vectors(project, per_label=per_label).items():
        have = {v["text"] for v in data.get(kind) or []}
        data[kind] = list(data.get(kind) or []) + [v for v in items if v["text"] not in have]
    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return len(data.get("positives") or []), len(data.get("hard_negatives") or [])
