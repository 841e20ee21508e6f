"""Parity of an exported variant (fp32 / fp16 / int8 ONNX) with the torch model it was exported from.

What a team needs from a variant is that it *decides* the same, not that every probability matches to
the third decimal: an int8 graph may move a probability by 0.1 where it does not matter (far from the
threshold) and still be the right thing to ship. So a variant passes parity when, on holdout,

- its label decisions (at its thresholds) agree with torch's (at torch's) on at least
  ``min_agreement`` of the (record, label) pairs whose label is known,
- no label's F1 differs from torch's by more than ``max_f1_delta``, and
- its outputs have not collapsed: a label whose torch probabilities vary but whose variant
  probabilities are near-constant (standard deviation below ``collapse_ratio`` of torch's) fails
  loudly, whatever the agreement says (a broken INT8 export that answers "no" to everything agrees
  with torch on every rare label).

The largest probability difference is still computed and reported (``max_abs_diff_vs_torch``); it no
longer decides on its own. Imports: numpy and this package's metrics only.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._gates import GateFailure
from ._metrics import evaluate

__all__ = ["PARITY_RULE", "parity_check"]

PARITY_RULE = {"min_agreement": 0.995, "max_f1_delta": 0.01, "collapse_ratio": 0.05}


def parity_check(
    variant: str,
    y: np.ndarray,
    probs: np.ndarray,
    reference: np.ndarray,
    thresholds: Sequence[float],
    *,
    label_names: Sequence[str],
    reference_thresholds: Sequence[float] | None = None,
    rule: dict | None = None,
) -> tuple[dict, list[GateFailure]]:
    """Compare a variant's holdout probabilities with torch's.

    Returns ``(info, failures)``: ``info`` holds ``decision_agreement``, ``f1_delta_max`` (and the label),
    ``max_abs_diff_vs_torch``, ``collapsed`` (labels) and the rule used; ``failures`` are gate failures in
    :class:`~training.evaluation.GateFailure` of kind ``variant``, empty when parity holds.
    """
    rule = {**PARITY_RULE, **(rule or {})}
    y = np.asarray(y, dtype=float)
    probs, reference = np.asarray(probs, dtype=float), np.asarray(reference, dtype=float)
    if probs.shape != reference.shape:
        raise ValueError(
            f"variant {variant}: expected probabilities shaped like torch's {reference.shape}, got {probs.shape}"
        )
    ref_thr = np.asarray(reference_thresholds if reference_thresholds is not None else thresholds, dtype=float)
    thr = np.asarray(thresholds, dtype=float)
    known = ~np.isnan(y)
    same = (probs >= thr) == (reference >= ref_thr)
    agreement = float(same[known].mean()) if known.any() else 1.0

    mine, _ = evaluate(y, probs, thr, label_names=label_names)
    theirs, _ = evaluate(y, reference, ref_thr, label_names=label_names)
    delta = (mine["f1"] - theirs["f1"]).abs().dropna()
    worst = delta.idxmax() if len(delta) else None

    spread_ref, spread = reference.std(axis=0), probs.std(axis=0)
    collapsed = [
        str(label_names[j])
        for j in range(len(label_names))
        if spread_ref[j] > 1e-3 and spread[j] < rule["collapse_ratio"] * spread_ref[j]
    ]

    info = {
        "decision_agreement": round(agreement, 6),
        "f1_delta_max": round(float(delta.max()), 6) if len(delta) else 0.0,
        "f1_delta_label": worst,
        "max_abs_diff_vs_torch": float(np.max(np.abs(probs - reference))) if probs.size else 0.0,
        "collapsed": collapsed,
        "rule": rule,
    }
    failures = []
    if collapsed:
        failures.append(
            GateFailure(
                "variant",
                variant,
                "collapse (near-constant outputs)",
                f"{len(collapsed)} of {len(label_names)} labels: {', '.join(collapsed[:5])}",
                f"output spread >= {rule['collapse_ratio']} x torch's on every label",
            )
        )
    if agreement < rule["min_agreement"]:
        failures.append(
            GateFailure(
                "variant",
                variant,
                "parity (decision agreement with torch)",
                f"{agreement:.4f}",
                f">= {rule['min_agreement']}",
            )
        )
    if len(delta) and delta.max() > rule["max_f1_delta"]:
        failures.append(
            GateFailure(
                "variant",
                variant,
                "parity (|F1 - F1_torch| per label)",
                f"{delta.max():.4f} ({worst})",
                f"<= {rule['max_f1_delta']}",
            )
        )
    return info, failures
