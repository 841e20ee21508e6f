"""The model's pre-screen of generated batches: it informs the batch review, it never decides.

When the project has a promoted model, ``push-batches`` scores every record of each pushed batch with it
(its best passed variant, at its thresholds) for the seed's target labels. Each sampled record carries
the model's probabilities as metadata (``model_score_<label>``); each batch gets a figure in its summary
(``prescreen``): for a hard-negative batch ``hard_negative_flag_rate``, the share of its records the
model calls positive for a target label (a "hard negative" the model flags may be a coercive positive
in disguise, as in the team's Exp 29); for a positive batch ``target_positive_rate``. Annotators look
at the suspicious batches first (``workbench review status``, the seeds panel); the verdict stays theirs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from curation import Project
from foundation import utc_now

__all__ = ["prescreen_batches", "record_scores"]


def prescreen_batches(
    project: Project, model, batches: pd.DataFrame, frame: pd.DataFrame, *, actor: str = "prescreen"
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, float]]]:
    """Score the records of ``batches`` (rows of ``project.batches()``) with ``model``; write each batch's
    figure into its summary. Returns (batch id -> figure, record id -> {label: probability})."""
    seeds = project.seeds.frame().set_index("id")
    variant = model.serving_variant()
    predict = model.predictor(variant)
    index = {lab: j for j, lab in enumerate(model.labels)}
    thresholds = np.asarray(model.thresholds)
    figures: dict[str, dict[str, Any]] = {}
    scores: dict[str, dict[str, float]] = {}
    for bid, seed_id in zip(batches["id"], batches["seed_id"]):
        rows = frame[(frame["batch_id"] == bid) & (frame["status"] != "quarantined")]
        seed = seeds.loc[seed_id]
        targets = [lab for lab in seed["target_labels"] if lab in index]
        if rows.empty or not targets:
            continue
        probs = predict(rows["text"].tolist())
        cols = [index[lab] for lab in targets]
        flagged = (probs[:, cols] >= thresholds[cols][None, :]).any(axis=1)
        name = "hard_negative_flag_rate" if seed["kind"] == "hard_negative" else "target_positive_rate"
        figure = {
            name: round(float(flagged.mean()), 4),
            "n": int(len(rows)),
            "labels": targets,
            "model": str(model.root),
            "variant": variant,
            "at": utc_now(),
        }
        project.store.update_batch_summary(bid, "prescreen", figure, actor=actor)
        figures[bid] = figure
        for rid, row in zip(rows["id"], probs):
            scores[rid] = {lab: round(float(row[index[lab]]), 4) for lab in targets}
    return figures, scores


def record_scores(scores: dict[str, float]) -> dict[str, float]:
    """A record's pre-screen scores as Argilla metadata: ``model_score_<label>``."""
    return {f"model_score_{lab}": p for lab, p in scores.items()}
