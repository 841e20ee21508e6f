"""The project's promotion record: which model (and variant) is promoted, and the history of promotions.

::

    DIR/models/promoted.json    the promoted model directory, variant, snapshot and taxonomy hash
    DIR/models/history.jsonl    one line per promotion

Promotion asks the candidate's evaluation (:class:`training.evaluation.GateReport`, what
:func:`training.evaluation.evaluate_candidate` decided: the gate, the evidence of T1 labels, the paired
comparison with the promoted model on the curated holdout and on the production slice) and refuses a variant
whose file changed since it was gated.
"""

from __future__ import annotations

import json

from curation import ProjectLayout, WorkbenchError
from foundation import atomic_write_text, file_sha256, utc_now

from ..evaluation._report import GateReport
from ._modeldir import ModelDirectory, read_promotion

__all__ = ["promote", "promoted_model", "promoted_variant"]


def promoted_model(project) -> ModelDirectory | None:
    """The project's promoted model (``project``: a Project or its directory), or ``None`` (also when its
    directory is gone)."""
    entry = read_promotion(getattr(project, "root", project))
    if entry is None:
        return None
    m = ModelDirectory(entry["model"])
    return m if (m.root / "model.json").exists() else None


def promoted_variant(project) -> str | None:
    """The variant the project promoted (``torch``, ``fp32``, ``fp16`` or ``int8``), or ``None``: what
    is served is what was gated, so predict, score, monitor and the review loops read it from here."""
    entry = read_promotion(getattr(project, "root", project))
    return None if entry is None else entry.get("variant")


def promote(
    model: ModelDirectory,
    *,
    variant: str | None = None,
    accept_regression: str | None = None,
    accept_insufficient: str | None = None,
) -> dict:
    """Make ``model`` (one variant) the project's promoted model, if and only if its evaluation allows it
    (:meth:`training.evaluation.GateReport.promotion_refusal`: the variant passed its gate, no T1 label is
    ``insufficient_evidence`` unless ``accept_insufficient`` gives the reason, no label or functionality
    regressed against the model promoted when it was trained unless ``accept_regression`` does) and its file
    is unchanged since it was gated. Reasons are recorded with the promotion."""
    card = model.card
    variant = variant or model.best_variant()
    report = GateReport.of(model)
    refusal = report.promotion_refusal(
        variant, accept_regression=accept_regression, accept_insufficient=accept_insufficient
    )
    if refusal is not None:
        raise refusal
    info = report.variants[variant]
    if variant != "torch":
        current = file_sha256(model.root / "onnx" / f"model.{variant}.onnx")
        if current != info.sha256:
            raise WorkbenchError(
                f"promotion of {model.root} ({variant}) refused",
                expected="the ONNX file that was gated",
                got="a file changed since",
                fix=f"re-gate it: workbench evaluate {model.root}",
            )
    thin_t1 = [f for f in info.gate.insufficient if f.tier == "T1"]
    regressions, suite_regressions = report.regressions() or [], report.suite_regressions()
    layout = ProjectLayout(card.project)
    entry = {
        "model": str(model.root.resolve()),
        "variant": variant,
        "snapshot_id": card.snapshot_id,
        "taxonomy_hash": card.taxonomy_hash,
        "promoted_at": utc_now(),
    }
    if thin_t1:
        entry["accepted_insufficient"] = {"reason": accept_insufficient.strip(), "labels": [f.subject for f in thin_t1]}
    if regressions or suite_regressions:
        entry["accepted_regression"] = {
            "reason": accept_regression.strip(),
            "labels": [r["label"] for r in regressions],
        }
        if suite_regressions:
            entry["accepted_regression"]["functionalities"] = sorted(suite_regressions)
    atomic_write_text(layout.promoted, json.dumps(entry, indent=2))
    with open(layout.promotion_history, "a") as f:
        f.write(json.dumps(entry) + "\n")
    return entry
