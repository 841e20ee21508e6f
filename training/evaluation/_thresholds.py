"""Per-label threshold tuning on the calib split only.

Pure array functions: ``labels`` (n, L) with 1/0/NaN, ``probs`` (n, L). No global threshold.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from curation import Taxonomy, WorkbenchError

__all__ = ["tune_thresholds", "binary_rates", "group_rates", "base_rate_weights", "base_rate_setting"]


def base_rate_setting(evaluation: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What the ``evaluation:`` block of workbench.yaml asks of thresholds and gates: ``None`` when
    ``base_rates: raw`` (score calib and holdout at the rates the splits happen to have), else
    ``{"clean_share": c, "rates": {label: rate}}`` (``rates``: production rates the team states per
    label under ``base_rates:``; the other labels keep the positives' spread of the split).

    >>> base_rate_setting({"clean_share": 0.95})
    {'clean_share': 0.95, 'rates': {}}
    >>> base_rate_setting({"clean_share": 0.9, "base_rates": "raw"}) is None
    True
    """
    evaluation = dict(evaluation or {})
    rates = evaluation.get("base_rates", "project")
    if rates == "raw":
        return None
    if rates in (None, "project"):
        rates = {}
    clean = evaluation.get("clean_share", 0.95)
    if not isinstance(rates, Mapping) or not all(isinstance(v, (int, float)) and 0 < v < 1 for v in rates.values()):
        raise WorkbenchError(
            "evaluation.base_rates",
            expected="'raw', 'project' or a mapping label -> rate in (0, 1)",
            got=repr(rates),
            fix="e.g. base_rates: {hate: 0.01} or base_rates: raw",
        )
    if not isinstance(clean, (int, float)) or not 0 < clean < 1:
        raise WorkbenchError("evaluation.clean_share", expected="a share in (0, 1)", got=repr(clean))
    return {"clean_share": float(clean), "rates": {str(k): float(v) for k, v in rates.items()}}


def base_rate_weights(
    labels: np.ndarray, label_names: Sequence[str], setting: Mapping[str, Any] | None
) -> np.ndarray | None:
    """Row weights, one column per label, that give each label's known rows the production mix:
    clean rows (no label of the group positive) ``clean_share`` of the mass, the label's positives its
    stated rate (or ``1 - clean_share`` spread over labels as in the split), rows positive for other
    labels the rest of the positive bucket as in the split. Recall is unchanged by them; precision
    and FPR become the ones a stream at those rates would see: FPR because the label's negatives are
    then mostly clean rows rather than other labels' positives (generated data inflates those).
    ``None`` for ``setting=None`` (raw rates).

    >>> y = np.array([[1, 0], [0, 1], [0, 1], [0, 0.]])
    >>> w = base_rate_weights(y, ["a", "b"], {"clean_share": 0.9, "rates": {}})
    >>> [round(float(x), 3) for x in w[:, 0] / len(y)]  # a: its positive 1/3 of the 0.1, b's 2/3, clean 0.9
    [0.033, 0.033, 0.033, 0.9]
    """
    if setting is None:
        return None
    y = np.asarray(labels, dtype=float)
    clean_share = float(setting["clean_share"])
    rates = dict(setting.get("rates") or {})
    pos = np.nan_to_num(y, nan=0.0) > 0.5
    any_pos = pos.any(axis=1)
    n_any = max(int(any_pos.sum()), 1)
    w = np.zeros_like(y)
    for j, name in enumerate(label_names):
        known = ~np.isnan(y[:, j])
        buckets = {
            "positive": known & pos[:, j],
            "other": known & ~pos[:, j] & any_pos,
            "clean": known & ~any_pos,
        }
        observed = (1.0 - clean_share) * buckets["positive"].sum() / n_any
        mass = {
            "positive": rates.get(name, observed),
            "other": (1.0 - clean_share) * buckets["other"].sum() / n_any,
            "clean": clean_share,
        }
        if not buckets["clean"].any():  # no clean rows: the production mix cannot be made; raw rates
            w[known, j] = 1.0
            continue
        for key, rows in buckets.items():
            if rows.any():
                w[rows, j] = mass[key] / rows.sum()
    return w * len(y)  # on the scale of counts (a weight of 1 per row at the split's own mix)


def binary_rates(
    y: np.ndarray, p: np.ndarray, thresholds: np.ndarray, weights: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and FPR of ``p >= t`` for every ``t`` (known rows only), each row
    counting ``weights`` (default 1: see :func:`base_rate_weights`).

    >>> r = binary_rates(np.array([1, 0, 1, 0.]), np.array([.9, .8, .4, .1]), np.array([.5]))
    >>> [float(r[k][0]) for k in ("precision", "recall", "fpr")]
    [0.5, 0.5, 0.5]
    """
    known = ~np.isnan(y)
    y, p = y[known].astype(bool), p[known]
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)[known]
    pred = p[None, :] >= thresholds[:, None]
    tp = ((pred & y) * w).sum(1)
    fp = ((pred & ~y) * w).sum(1)
    fn = ((~pred & y) * w).sum(1)
    tn = ((~pred & ~y) * w).sum(1)
    precision = np.divide(tp, tp + fp, out=np.ones_like(tp), where=(tp + fp) > 0)
    recall = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=(precision + recall) > 0)
    fpr = np.divide(fp, fp + tn, out=np.zeros_like(fp), where=(fp + tn) > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "fpr": fpr, "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def group_rates(
    y: np.ndarray,
    p: np.ndarray,
    thresholds: np.ndarray,
    groups: np.ndarray | None,
    min_group: int = 50,
    weights: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """:func:`binary_rates`, with each group (e.g. each source) counting equally when ``groups`` is given.

    Recall, precision and F1 are averaged over the groups with positives, FPR over the groups with
    negatives; rows of groups with fewer than ``min_group`` known rows join the largest group (a
    handful of records should not weigh as much as a whole source). Counts (tp, fp, ...)
    stay pooled. Without groups, or with one, this is :func:`binary_rates`.

    >>> y = np.array([1, 0, 0, 0, 1, 1, 0, 0.]); p = np.array([.9, .2, .1, .3, .6, .4, .5, .1])
    >>> g = np.array(list("aaaabbbb"))
    >>> r = group_rates(y, p, np.array([.5]), g, min_group=1)
    >>> [float(r[k][0]) for k in ("recall", "fpr")]  # a: 1/1 and 0/3; b: 1/2 and 1/2
    [0.75, 0.25]
    """
    pooled = binary_rates(y, p, thresholds, weights)
    if groups is None:
        return pooled
    groups = np.asarray(groups, dtype=str)
    known = ~np.isnan(y)
    names, counts = np.unique(groups[known], return_counts=True)
    if len(names) < 2:
        return pooled
    keys = np.where(np.isin(groups, names[counts < min_group]), names[np.argmax(counts)], groups)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    per = [
        (binary_rates(y[keys == k], p[keys == k], thresholds, w[keys == k]), y[keys == k])
        for k in np.unique(keys[known])
    ]
    if len(per) < 2:  # every other group was small and joined the largest
        return pooled
    out = dict(pooled)
    for key in ("recall", "precision", "f1", "fpr"):
        wanted = 0 if key == "fpr" else 1  # FPR is defined by a group's negatives, the rest by its positives
        rows = [r[key] for r, yk in per if np.nansum(yk == wanted) > 0]
        out[key] = np.mean(rows, axis=0) if rows else pooled[key]
    return out


def tune_thresholds(
    labels: np.ndarray,
    probs: np.ndarray,
    *,
    taxonomy: Taxonomy,
    label_names: Sequence[str] | None = None,
    split: str = "calib",
    step: float = 0.01,
    recall_margin: float = 0.02,
    groups: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Choose one threshold per label inside its tier's range.

    Rule, per label: among thresholds meeting both the recall floor (plus ``recall_margin``, capped
    at 1) and the FPR budget, take the one with the highest precision (ties: higher F1, then higher
    threshold). If none meets both, keep the FPR budget and take the best F1 under it; if none
    meets the budget either, take the best F1. ``rule`` and ``constraints_met`` say which case
    applied. The margin exists because the highest-precision threshold sits exactly on the floor
    on calib, and holdout then misses the floor about half of the time.

    With ``groups`` (one value per row, e.g. the record's source), recall, precision, F1 and FPR are
    averaged over the groups (:func:`group_rates`): each source counts equally instead of the largest
    one setting the threshold alone (pooled calib of a mixed project is often mostly one source whose
    base rate and style differ from the others).

    With ``weights`` (n, L) from :func:`base_rate_weights`, every figure is the one at the production
    base rates: the FPR budget is then met where it matters (a calib inflated by generated positives
    of other labels makes a label's raw FPR look smaller than production's).

    Parameters
    ----------
    labels, probs : ndarray of shape (n, L)
        Calib labels (1/0/NaN) and model probabilities.
    split : str
        Must be ``"calib"``: thresholds tuned on any other split do not transfer and holdout must
        stay unseen; passing another name is an error.

    Returns
    -------
    DataFrame indexed by label: threshold, precision, recall, f1, fpr, positives, rule, constraints_met.
    """
    if split not in ("calib", "production_calib"):
        raise WorkbenchError(
            "threshold tuning split",
            expected="'calib' (or 'production_calib': labelled production posts, training.production_loop._recalibrate)",
            got=repr(split),
            fix="tune on calib; holdout is evaluated once and valid is for early stopping",
        )
    names = list(label_names or taxonomy.label_names)
    labels = np.asarray(labels, dtype=float)
    probs = np.asarray(probs, dtype=float)
    if labels.shape != probs.shape or labels.shape[1] != len(names):
        raise WorkbenchError(
            "tune_thresholds",
            expected=f"labels and probs of shape (n, {len(names)})",
            got=f"{labels.shape} and {probs.shape}",
        )
    if groups is not None and len(groups) != labels.shape[0]:
        raise WorkbenchError(
            "tune_thresholds groups",
            expected=f"one group per calib row ({labels.shape[0]})",
            got=f"{len(groups)} values",
            fix="pass the calib rows' source column",
        )
    rows = []
    for j, name in enumerate(names):
        lab = taxonomy[name]
        lo, hi = lab.threshold_range
        grid = np.round(np.arange(lo, hi + 1e-9, step), 6)
        y = labels[:, j]
        pos = int(np.nansum(y == 1))
        if pos == 0 or int(np.nansum(y == 0)) == 0:
            mid = float(np.round((lo + hi) / 2, 6))
            rows.append(
                {
                    "label": name,
                    "threshold": mid,
                    "precision": np.nan,
                    "recall": np.nan,
                    "f1": np.nan,
                    "fpr": np.nan,
                    "positives": pos,
                    "rule": "no_calib_data",
                    "constraints_met": False,
                }
            )
            continue
        r = group_rates(y, probs[:, j], grid, groups, weights=None if weights is None else weights[:, j])
        ok_recall = r["recall"] >= min(1.0, lab.gate.recall_floor + recall_margin)
        ok_fpr = r["fpr"] <= lab.gate.fpr_budget
        both = ok_recall & ok_fpr
        if both.any():
            cand, rule = np.flatnonzero(both), "max_precision_meeting_recall_and_fpr"
            key = np.lexsort((grid[cand], r["f1"][cand], r["precision"][cand]))
        elif ok_fpr.any():
            cand, rule = np.flatnonzero(ok_fpr), "best_f1_within_fpr_budget"
            key = np.lexsort((grid[cand], r["f1"][cand]))
        else:
            cand, rule = np.arange(grid.size), "best_f1"
            key = np.lexsort((grid[cand], r["f1"][cand]))
        k = cand[key[-1]]
        rows.append(
            {
                "label": name,
                "threshold": float(grid[k]),
                "precision": float(r["precision"][k]),
                "recall": float(r["recall"][k]),
                "f1": float(r["f1"][k]),
                "fpr": float(r["fpr"][k]),
                "positives": pos,
                "rule": rule,
                "constraints_met": bool(both.any()),
            }
        )
    return pd.DataFrame(rows).set_index("label")
