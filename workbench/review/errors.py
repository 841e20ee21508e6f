"""Error mining for the ``error-review`` dataset: what the current model gets wrong or is unsure of.

Only train, valid and calib records are mined — **never holdout**, which stays blind. Probabilities are
out of sample: the model's own for valid and calib (it never trained on them) and, for train records,
out-of-fold probabilities of a logistic regression per label on the cached sentence embeddings
(scikit-learn's ``cross_val_predict``), so a memorised training label does not look right.

The **label-quality score** of a known label is its self-confidence, as in confident learning: the
out-of-sample probability of the given value (``p`` for a 1, ``1 - p`` for a 0), in [0, 1], low meaning
probably mislabelled. (cleanlab computes the same score but is AGPL-3.0, so these few lines are ours.)
Kinds of errors, per label: false positives and false negatives at the model's threshold, ranked by
label quality; *unknown* labels the model predicts with high confidence ("the model is right, the label
is missing"); and near-duplicate pairs with conflicting labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["label_quality_score", "out_of_fold_proba", "mine_errors", "MINED_SPLITS"]

MINED_SPLITS = ("train", "valid", "calib")


def label_quality_score(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Self-confidence of each known label (NaN where the label is unknown).

    >>> label_quality_score(np.array([[1.0, 0.0, np.nan]]), np.array([[0.9, 0.8, 0.5]])).round(2).tolist()
    [[0.9, 0.2, nan]]
    """
    labels = np.asarray(labels, dtype=float)
    probs = np.asarray(probs, dtype=float)
    return np.where(np.isnan(labels), np.nan, np.where(labels == 1, probs, 1.0 - probs))


def out_of_fold_proba(embeddings: np.ndarray, labels: np.ndarray, *, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold probabilities per label (logistic regression on embeddings, known rows only; NaN where
    a label is unknown or has too few of a class to cross-validate)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    out = np.full(labels.shape, np.nan)
    for j in range(labels.shape[1]):
        known = ~np.isnan(labels[:, j])
        y = labels[known, j].astype(int)
        if known.sum() < 2 * folds or min(np.bincount(y, minlength=2)) < folds:
            continue
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        clf = LogisticRegression(max_iter=2000, class_weight="balanced")
        out[known, j] = cross_val_predict(clf, embeddings[known], y, cv=cv, method="predict_proba")[:, 1]
    return out


def mine_errors(project, model, *, per_kind: int = 50, unknown_min: float = 0.9, jobs=None) -> pd.DataFrame:
    """Error candidates of ``model`` (a training model directory) on the project's active records.

    Returns one row per (record, label, error type): ``record_id``, ``label``, ``error_type`` (``fp``,
    ``fn``, ``unknown_positive``, ``duplicate_conflict``), ``label_quality_score`` (NaN for unknown labels),
    ``probability`` and the record's probabilities of every model label (``probs``), worst first, at most
    ``per_kind`` per label and type. Holdout records never appear. ``jobs`` (:func:`training.batch_jobs`):
    where scoring and embedding run (a Ray cluster with ``batch_jobs("auto")``); this process by default,
    with the same results.
    """
    from training import LocalJobs, embed_texts, score_texts
    from training.families import DEFAULT_ENCODER

    labels = list(model.labels)
    frame = project.records.frame(active_only=True)
    frame = frame[frame["split"].isin(MINED_SPLITS)].reset_index(drop=True)
    if frame.empty:
        return pd.DataFrame(columns=["record_id", "label", "error_type", "label_quality_score", "probability", "probs"])
    y = frame[labels].to_numpy(dtype=float)
    jobs = jobs or LocalJobs()
    probs = score_texts(frame, model.root, variant=model.serving_variant(), jobs=jobs).astype(float)
    train = (frame["split"] == "train").to_numpy()
    if train.any():
        emb = embed_texts(frame.loc[train], encoder=DEFAULT_ENCODER, jobs=jobs, cache_dir=project.layout.cache)
        oof = out_of_fold_proba(emb, y[train])
        probs[train] = np.where(np.isnan(oof), probs[train], oof)
    quality = label_quality_score(y, probs)
    thresholds = np.asarray(model.thresholds, dtype=float)
    rows: list[dict[str, Any]] = []
    for j, lab in enumerate(labels):
        p, t, q = probs[:, j], y[:, j], quality[:, j]
        kinds = {
            "fp": (t == 0) & (p >= thresholds[j]),
            "fn": (t == 1) & (p < thresholds[j]),
            "unknown_positive": np.isnan(t) & (p >= max(unknown_min, thresholds[j])),
        }
        for kind, mask in kinds.items():
            idx = np.flatnonzero(mask)
            order = idx[np.argsort(-p[idx])] if kind == "unknown_positive" else idx[np.argsort(q[idx])]
            for i in order[:per_kind]:
                rows.append(
                    {
                        "record_id": frame.at[i, "id"],
                        "label": lab,
                        "error_type": kind,
                        "label_quality_score": float(q[i]),
                        "probability": float(p[i]),
                        "probs": dict(zip(labels, probs[i].round(4).tolist())),
                    }
                )
    in_scope = set(frame["id"])
    prob_of = {rid: dict(zip(labels, probs[i].round(4).tolist())) for i, rid in enumerate(frame["id"])}
    for c in project.reports.duplicate_conflicts().to_dict(orient="records"):
        for rid in (c["a"], c["b"]):
            if rid in in_scope:
                for lab in [x for x in c["labels"] if x in labels]:
                    rows.append(
                        {
                            "record_id": rid,
                            "label": lab,
                            "error_type": "duplicate_conflict",
                            "label_quality_score": np.nan,
                            "probability": prob_of[rid][lab],
                            "probs": prob_of[rid],
                        }
                    )
    return pd.DataFrame(
        rows, columns=["record_id", "label", "error_type", "label_quality_score", "probability", "probs"]
    )
