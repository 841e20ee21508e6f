"""Recalibration without retraining: new thresholds for a shipped model, tuned on production posts people
labelled, at the rate the model's decisions have in production now.

The labelled posts come from the sample review (``source="sample-review"``: complete annotations, provenance
``annotator``) or from moderators (``source="feedback"``: the label each decision was about, provenance
``moderator``). Only posts of the ``production_calib`` split are used (the ``train`` / ``valid`` ones are
for training and never tune or gate); a stable hash of the post id halves them into a **tune** part and a
**check** part.

Labelled posts are not a random sample of production (active sampling picks uncertain and rare-label posts;
moderators see what was flagged or reported), so every figure is weighted by the model's own decisions:
within "the model fired on label L" and "it did not", each labelled post stands for its share of
production, where the firing rate is the one measured on the pool's most recent ``window`` (as ``workbench
monitor`` measures it). Thresholds are then chosen by the usual rule (:func:`training.evaluation.tune_thresholds`:
recall floor and FPR budget of the label's tier, at that production mix), for labels with at least
``min_positives`` positives and as many negatives in the tune part and in the check part; the other labels
keep theirs (too little evidence to move a threshold, or to check the move).

The result is a new model directory: the same weights (and ONNX files), the new thresholds, re-gated on the
original holdout and, for the retuned labels, on the check part (both must pass), its card naming both calibration sets
(``recalibration``). ``promote`` treats it like any other model.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from curation import WorkbenchError
from foundation import utc_now

from ..artifacts._card import Recalibration
from ..artifacts._modeldir import ModelDirectory, load_model
from ..artifacts._promotion import promoted_model, promoted_variant
from ..evaluation._candidate import evaluate_candidate
from ..evaluation._gates import GateVerdict, gate_labels
from ..evaluation._metrics import evaluate
from ..evaluation._thresholds import binary_rates, tune_thresholds

__all__ = ["SOURCES", "recalibrate", "recalibration_table", "production_weights", "labelled_production"]

SOURCES = {"sample-review": "annotator", "feedback": "moderator"}


def labelled_production(pool: pd.DataFrame, labels: list[str], source: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The ``production_calib`` posts labelled by ``source`` and their targets (n, labels; NaN unknown)."""
    if source not in SOURCES:
        raise WorkbenchError("--from", expected=f"one of {sorted(SOURCES)}", got=repr(source))
    prov = SOURCES[source]
    keep = [
        split == "production_calib" and any(p == prov for p in provs.values())
        for split, provs in zip(pool["split"], pool["label_provenance"])
    ]
    rows = pool[keep].reset_index(drop=True)
    y = np.full((len(rows), len(labels)), np.nan)
    for i, (known, provs) in enumerate(zip(rows["labels"], rows["label_provenance"])):
        for j, lab in enumerate(labels):
            if lab in known and provs.get(lab) == prov:
                y[i, j] = float(known[lab])
    return rows, y


def production_weights(decided: np.ndarray, y: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """(n, labels) row weights: within each label's "fired" and "did not fire" strata (of the rows whose
    label is known), every row stands for its stratum's production share ``rates`` / ``1 - rates``.

    >>> w = production_weights(np.array([[1], [0], [0], [0]]), np.ones((4, 1)), np.array([0.5]))
    >>> w[:, 0].round(3).tolist()
    [0.5, 0.167, 0.167, 0.167]
    """
    w = np.zeros(decided.shape, dtype=float)
    for j in range(decided.shape[1]):
        known = ~np.isnan(y[:, j])
        d = decided[:, j].astype(bool)
        for stratum, share in ((d, rates[j]), (~d, 1.0 - rates[j])):
            n = int((known & stratum).sum())
            if n:
                w[known & stratum, j] = share / n
    return w


def _recent_rates(model: ModelDirectory, pool: pd.DataFrame, window: str, scores: np.ndarray) -> np.ndarray:
    from ._drift import window_edges

    _, step, _ = window_edges(pool["time"], window)
    recent = (pool["time"] >= pool["time"].max() - step).to_numpy()
    return (scores[recent] >= np.asarray(model.thresholds)[None, :]).mean(axis=0)


def _check_verdict(
    model: ModelDirectory, y, p, thresholds, weights, labels, gated: list[str]
) -> tuple[GateVerdict, list[dict]]:
    """The check part's figures for every label it knows; the tier gate on the ``gated`` (retuned) ones."""
    per_label, _ = evaluate(y, p, thresholds, label_names=labels)
    rates = [binary_rates(y[:, j], p[:, j], np.array([thresholds[j]]), weights[:, j]) for j in range(len(labels))]
    per_label["precision_at_base_rate"] = [float(r["precision"][0]) for r in rates]
    per_label["fpr_at_base_rate"] = [float(r["fpr"][0]) for r in rates]
    per_label["recall_at_base_rate"] = [float(r["recall"][0]) for r in rates]
    known = per_label[per_label["support"] > 0]
    verdict = gate_labels(known.loc[[lab for lab in labels if lab in gated]], model.taxonomy)
    for f in verdict.failures:
        f.check = f"production check: {f.check}"
    return verdict, known.reset_index().to_dict(orient="records")


def recalibrate(
    model: ModelDirectory,
    project,
    out,
    *,
    source: str = "sample-review",
    window: str = "7d",
    min_positives: int = 5,
    variant: str | None = None,
    overwrite: bool = False,
    scores: np.ndarray | None = None,
) -> ModelDirectory:
    """A new model directory at ``out``: ``model``'s weights with thresholds re-tuned on labelled production
    posts (see the module docstring), re-gated on the original holdout and the check part. ``overwrite``
    replaces a model directory already at ``out`` (never another kind of folder); ``scores``: the pool's
    scores when the caller has them already (:func:`training.production_loop.production_scores`, as the monitor used)."""
    from ._drift import production_scores

    labels = model.labels
    pool = project.production.posts()
    rows, y = labelled_production(pool, labels, source)
    if len(rows) < 2 * min_positives:
        raise WorkbenchError(
            f"recalibration of {model.root} from {source}",
            expected=f"labelled production_calib posts (at least {2 * min_positives})",
            got=f"{len(rows)}",
            fix="review more production posts (workbench review push-sample), or recalibrate on moderator "
            "decisions (--from feedback)"
            if source == "sample-review"
            else "import more moderator decisions, or "
            "review production posts (workbench review push-sample) and use --from sample-review",
        )
    all_scores = production_scores(model, pool, variant=variant) if scores is None else np.asarray(scores, float)
    rates = _recent_rates(model, pool, window, all_scores)
    index = {pid: i for i, pid in enumerate(pool["id"])}
    p = all_scores[[index[pid] for pid in rows["id"]]]
    old = np.asarray(model.thresholds, dtype=float)
    weights = production_weights(p >= old[None, :], y, rates)
    tune = np.array([int(hashlib.sha256(f"tune:{pid}".encode()).hexdigest()[:8], 16) % 2 == 0 for pid in rows["id"]])
    new = old.copy()
    retuned, tuning = [], []
    check = ~tune
    for j, lab in enumerate(labels):
        pos, neg = int(np.nansum(y[tune, j] == 1)), int(np.nansum(y[tune, j] == 0))
        enough_check = min(int(np.nansum(y[check, j] == 1)), int(np.nansum(y[check, j] == 0))) >= min_positives
        if pos < min_positives or neg < min_positives or not enough_check:
            continue  # too little evidence to move the threshold or to check the move: it keeps its threshold
        table = tune_thresholds(
            y[tune][:, [j]],
            p[tune][:, [j]],
            taxonomy=model.taxonomy,
            label_names=[lab],
            split="production_calib",
            weights=weights[tune][:, [j]],
        )
        new[j] = float(table["threshold"].iloc[0])
        retuned.append(lab)
        tuning.append(
            {**table.reset_index().to_dict(orient="records")[0], "label": lab, "positives": pos, "negatives": neg}
        )
    before, _ = _check_verdict(model, y[check], p[check], old, weights[check], labels, retuned)
    after, after_rows = _check_verdict(model, y[check], p[check], new, weights[check], labels, retuned)
    out = Path(out)
    if out.exists() and overwrite and (out / "model.json").exists():
        shutil.rmtree(out)
    if out.exists():
        raise WorkbenchError(f"--out {out}", expected="a new directory", got="it exists", fix="choose another path")
    shutil.copytree(model.root, out, ignore=shutil.ignore_patterns("drift_reference.json"))
    m2 = load_model(out)
    card = m2.card
    card.thresholds = {lab: float(t) for lab, t in zip(labels, new)}
    card.recalibration = Recalibration(
        parent=str(model.root),
        at=utc_now(),
        source=source,
        calibration_sets=[
            f"calib of snapshot {model.card.snapshot_id} (the parent's thresholds)",
            f"{int(tune.sum())} production_calib posts labelled by {SOURCES[source]}s (tune half)",
        ],
        check_posts=int(check.sum()),
        production_decision_rates={lab: round(float(r), 4) for lab, r in zip(labels, rates)},
        window=window,
        retuned=retuned,
        old_thresholds={lab: float(t) for lab, t in zip(labels, old)},
        tuning=tuning,
        check_before={"passed": before.passed, "failures": [f.to_dict() for f in before.failures]},
        check={"passed": after.passed, "failures": [f.to_dict() for f in after.failures], "per_label": after_rows},
    )
    m2.save_card()
    # the original holdout, suites and vectors with the new thresholds, the check on production posts as one
    # more verdict every variant must pass, and the comparison with the model promoted now in the model's
    # project (often the parent), not the parent's comparison
    promoted = promoted_model(m2.card.project)
    m2.record(
        evaluate_candidate(
            m2,
            promoted=promoted,
            promoted_variant=(promoted_variant(m2.card.project) or "torch") if promoted is not None else "torch",
            also=after,
        )
    )
    return m2


def recalibration_table(model: ModelDirectory) -> pd.DataFrame:
    """Per label of a recalibrated model: old and new threshold, and the check part's figures at the
    production rate (precision, recall, FPR) with the new thresholds."""
    rec = model.card.recalibration
    if rec is None:
        raise WorkbenchError(f"model {model.root}", expected="a recalibrated model", got="no recalibration in its card")
    rows = {r["label"]: r for r in rec.check["per_label"]}
    return pd.DataFrame(
        [
            {
                "label": lab,
                "old": rec.old_thresholds[lab],
                "new": model.card.thresholds[lab],
                "retuned": lab in rec.retuned,
                **{
                    k: rows.get(lab, {}).get(k)
                    for k in ("positives", "precision_at_base_rate", "recall_at_base_rate", "fpr_at_base_rate")
                },
            }
            for lab in model.labels
        ]
    ).set_index("label")
