"""Drift of a shipped model: each label's scores and decisions on production traffic, window by window,
against what the model did on its own calib split.

Per label and window: the **population stability index** of the score distribution against calib's (ten
bins at calib's score deciles), the two-sample **Kolmogorov–Smirnov** statistic, the **positive-decision
rate** at the model's threshold beside calib's, and the **overturn rate** of moderator decisions on the
posts the model fired on for the label in the window (overturned / (confirmed + overturned): one minus
the precision moderators saw). A label
alerts when one of them crosses its tier's limit (``curation.DRIFT_DEFAULTS``, overridden per tier or label
by workbench.yaml ``monitoring.limits``) by more than the window's sampling noise explains (p < 0.01: PSI
read as a chi-square statistic, the rates by a one-sided binomial test against the limit), so a small window
does not alert on noise; a window with fewer than ``min_n`` posts, or fewer than ``min_decisions`` moderator
decisions for the overturn rate, is reported and never alerts on that figure.

The calib reference is computed once per model (calib scored by the model's best variant) and kept in the
model directory as ``drift_reference.json``. Production scores logged by this very model are used as they
are; posts another model scored (or with no score for a label) are scored again by this one.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy.stats import binomtest, chi2, ks_2samp

from curation import DRIFT_DEFAULTS, WorkbenchError
from foundation import atomic_write_text

from ..artifacts._modeldir import ModelDirectory
from ..families._embeddings import in_chunks

__all__ = [
    "REFERENCE_FILE",
    "drift_limits",
    "drift_reference",
    "monitor",
    "monitor_table",
    "production_scores",
    "psi",
    "window_edges",
]

REFERENCE_FILE = "drift_reference.json"
_SAMPLE = 5000  # calib scores kept per label for the KS statistic
_EPS = 1e-4
ALPHA = 0.01  # a crossing of a limit alerts only when sampling noise explains it with p < ALPHA


def psi(reference_edges: np.ndarray, reference_shares: np.ndarray, scores: np.ndarray) -> float:
    """Population stability index of ``scores`` against a reference binned at ``reference_edges`` (inner
    edges; bins are open at both ends): sum over bins of (cur - ref) * ln(cur / ref). The window's shares
    count half a post more in every bin (so that a bin a small window happens to leave empty does not weigh
    like a vanished population), the reference's are floored at 1e-4.

    >>> edges = np.array([0.25, 0.5, 0.75]); ref = np.full(4, 0.25)
    >>> round(psi(edges, ref, np.array([0.1, 0.3, 0.6, 0.9])), 6), psi(edges, ref, np.full(80, 0.9)) > 1
    (0.0, True)
    """
    counts = np.bincount(np.searchsorted(reference_edges, scores, side="right"), minlength=len(reference_shares))
    cur = (counts + 0.5) / (len(scores) + 0.5 * len(counts))
    ref = np.maximum(np.asarray(reference_shares, dtype=float), _EPS)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def drift_reference(model: ModelDirectory, *, refresh: bool = False) -> dict[str, Any]:
    """Calib's score distribution and decision rate per label (computed once, kept in the model directory;
    computed again when the model's thresholds are no longer the ones it was computed at)."""
    path = model.root / REFERENCE_FILE
    if path.exists() and not refresh:
        ref = json.loads(path.read_text())
        if [ref["labels"].get(lab, {}).get("threshold") for lab in model.labels] == model.thresholds:
            return ref
    _, texts, _ = model.split("calib")
    if not texts:
        raise WorkbenchError(
            f"model {model.root}: drift reference",
            expected="a calib split in the snapshot the model was trained on",
            got="no calib rows",
            fix="train the model on a project whose snapshot has calib records",
        )
    variant = model.serving_variant()
    probs = np.asarray(model.predictor(variant)(texts), dtype=float)
    labels = {}
    for j, (lab, thr) in enumerate(zip(model.labels, model.thresholds)):
        s = probs[:, j]
        edges = np.unique(np.quantile(s, np.linspace(0.1, 0.9, 9)))
        counts = np.bincount(np.searchsorted(edges, s, side="right"), minlength=len(edges) + 1)
        sample = np.sort(s)[np.linspace(0, len(s) - 1, min(len(s), _SAMPLE)).astype(int)]
        labels[lab] = {
            "threshold": float(thr),
            "decision_rate": float((s >= thr).mean()),
            "edges": [round(float(e), 6) for e in edges],
            "shares": [round(float(c) / len(s), 6) for c in counts],
            "sample": [round(float(v), 5) for v in sample],
        }
    ref = {"split": "calib", "variant": variant, "n": len(texts), "snapshot": model.card.snapshot_id, "labels": labels}
    atomic_write_text(path, json.dumps(ref))
    return ref


def drift_limits(model: ModelDirectory, overrides: Mapping[str, Any] | None = None) -> dict[str, dict[str, float]]:
    """Each label's limits: its tier's defaults < ``overrides[tier]`` < ``overrides[label]``."""
    tax, over = model.taxonomy, dict(overrides or {})
    out = {}
    for lab in model.labels:
        tier = tax[lab].tier
        merged = {**DRIFT_DEFAULTS[tier], **dict(over.get(tier) or {}), **dict(over.get(lab) or {})}
        unknown = set(merged) - set(DRIFT_DEFAULTS[tier])
        if unknown:
            raise WorkbenchError(
                f"monitoring.limits for {lab!r}",
                expected=f"keys among {sorted(DRIFT_DEFAULTS[tier])}",
                got=f"{sorted(unknown)}",
                fix="rename or remove them in workbench.yaml",
            )
        out[lab] = {k: float(v) for k, v in merged.items()}
    return out


def window_edges(times: pd.Series, window: str) -> tuple[pd.Timestamp, pd.Timedelta, np.ndarray]:
    """``window`` (``1d``, ``12h``, ``7d``, ``2w``, ``30m``) read: the first window's start (midnight UTC of
    the earliest time), the window's length, and each time's window number."""
    m = re.fullmatch(r"\s*(\d+)\s*([wdhm])\s*", str(window).lower())
    if m is None or int(m.group(1)) == 0:
        raise WorkbenchError("--window", expected="a duration such as 1d, 12h, 7d, 2w or 30m", got=repr(window))
    unit = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}[m.group(2)]
    step = pd.Timedelta(**{unit: int(m.group(1))})
    start = times.min().floor("D")
    return start, step, ((times - start) // step).to_numpy()


def production_scores(
    model: ModelDirectory, pool: pd.DataFrame, *, variant: str | None = None, show_progress: bool = False
) -> np.ndarray:
    """(n, labels) scores of the pool's posts: as logged when this model scored them, else scored now (under a
    labelled bar with ``show_progress``)."""
    name = model.root.name
    labels = model.labels
    out = np.full((len(pool), len(labels)), np.nan)
    for i, (who, scores) in enumerate(zip(pool["model"], pool["scores"])):
        if who == name:
            out[i] = [scores.get(lab, np.nan) for lab in labels]
    missing = np.isnan(out).any(axis=1)
    if missing.any():
        texts = pool["text"].to_numpy()[missing].tolist()
        variant = variant or model.serving_variant()
        predictor = model.predictor(variant)
        out[missing] = in_chunks(
            lambda chunk: np.asarray(predictor(chunk), dtype=float),
            texts,
            step=512,
            desc=f"scoring {len(texts):,} posts ({variant})",
            unit="post",
            show=show_progress,
        )
    return out


def monitor(
    model: ModelDirectory,
    pool: pd.DataFrame,
    feedback: pd.DataFrame | None = None,
    *,
    window: str = "1d",
    limits: Mapping[str, Any] | None = None,
    min_n: int = 50,
    min_decisions: int = 10,
    scores: np.ndarray | None = None,
) -> dict[str, Any]:
    """Per label and time window of ``pool`` (``Project.production.posts()``): PSI and KS against calib, the
    decision rate against calib's, the overturn rate of moderator decisions (from ``feedback``,
    ``Project.production.feedback()``), and whether the label alerts (and why). JSON-ready."""
    if not len(pool):
        raise WorkbenchError(
            "monitor",
            expected="production posts in the project",
            got="an empty pool",
            fix="import a log with `workbench production-log import DIR FILE`",
        )
    ref = drift_reference(model)
    lims = drift_limits(model, limits)
    scores = production_scores(model, pool) if scores is None else np.asarray(scores, dtype=float)
    start, step, idx = window_edges(pool["time"], window)
    fb = feedback if feedback is not None else pd.DataFrame(columns=["post_id", "type", "label", "time"])
    fb = fb[fb["type"].isin(["moderator_confirm", "moderator_overturn"])]
    # the overturn rate estimates 1 - precision: moderator decisions on posts the model fired on for the label
    decided = scores >= np.asarray(model.thresholds)[None, :]
    row_of = {pid: i for i, pid in enumerate(pool["id"])}
    col_of = {lab: j for j, lab in enumerate(model.labels)}
    fired = [
        pid in row_of and lab in col_of and decided[row_of[pid], col_of[lab]]
        for pid, lab in zip(fb["post_id"], fb["label"])
    ]
    fb = fb[np.asarray(fired, dtype=bool)] if len(fb) else fb
    fb_idx = ((fb["time"] - start) // step).to_numpy() if len(fb) else np.array([], dtype=int)
    windows = []
    for w in range(int(idx.max()) + 1):
        rows = idx == w
        n = int(rows.sum())
        entry: dict[str, Any] = {
            "start": (start + w * step).isoformat(),
            "end": (start + (w + 1) * step).isoformat(),
            "n": n,
            "labels": {},
        }
        for j, lab in enumerate(model.labels):
            r, lim = ref["labels"][lab], lims[lab]
            s = scores[rows, j]
            moderated = fb[(fb_idx == w) & (fb["label"] == lab).to_numpy()]
            n_dec = len(moderated)
            overturn = float((moderated["type"] == "moderator_overturn").mean()) if n_dec else None
            fig: dict[str, Any] = {
                "n": n,
                "moderator_decisions": n_dec,
                "overturn_rate": overturn,
                "psi": None,
                "psi_p": None,
                "ks": None,
                "decision_rate": None,
            }
            reasons = []
            if n:
                fig["psi"] = round(psi(np.array(r["edges"]), np.array(r["shares"]), s), 4)
                fig["ks"] = round(float(ks_2samp(s, np.array(r["sample"])).statistic), 4)
                fig["decision_rate"] = round(float(decided[rows, j].mean()), 4)
            if n >= min_n:
                # PSI of a sample is chi-square noise: n_ref * n / (n_ref + n) * PSI ~ chi2(bins - 1) when nothing
                # moved, so a crossing counts only when that noise explains it with p < ALPHA
                bins = len(r["shares"])
                fig["psi_p"] = float(chi2.sf(fig["psi"] / (1.0 / n + 1.0 / ref["n"]), max(bins - 1, 1)))
                if fig["psi"] > lim["psi_max"] and fig["psi_p"] < ALPHA:
                    reasons.append(f"PSI {fig['psi']:.3f} > {lim['psi_max']}")
                base = max(r["decision_rate"], 1.0 / max(ref["n"], 1))
                hi, lo = base * lim["rate_ratio_max"], base / lim["rate_ratio_max"]
                k = int(round(fig["decision_rate"] * n))
                outside = (fig["decision_rate"] > hi and binomtest(k, n, hi, alternative="greater").pvalue < ALPHA) or (
                    fig["decision_rate"] < lo and binomtest(k, n, lo, alternative="less").pvalue < ALPHA
                )
                if outside:
                    reasons.append(
                        f"decision rate {fig['decision_rate']:.3f} outside [{lo:.3f}, {hi:.3f}] (calib {r['decision_rate']:.3f})"
                    )
            if overturn is not None and n_dec >= min_decisions and overturn > lim["overturn_max"]:
                k = int((moderated["type"] == "moderator_overturn").sum())
                if binomtest(k, n_dec, lim["overturn_max"], alternative="greater").pvalue < ALPHA:
                    reasons.append(f"overturn rate {overturn:.2f} > {lim['overturn_max']} ({n_dec} decisions)")
            fig["alert"], fig["reasons"] = bool(reasons), reasons
            entry["labels"][lab] = fig
        windows.append(entry)
    return {
        "model": str(model.root),
        "window": window,
        "reference": {
            "split": ref["split"],
            "n": ref["n"],
            "labels": {
                lab: {"threshold": v["threshold"], "decision_rate": v["decision_rate"]}
                for lab, v in ref["labels"].items()
            },
        },
        "limits": lims,
        "windows": windows,
    }


def monitor_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """One row per window and label: n, PSI, KS, decision rate (calib's beside it), overturn rate, alert."""
    rows = []
    for w in result["windows"]:
        for lab, f in w["labels"].items():
            rows.append(
                {
                    "window": w["start"][:16],
                    "label": lab,
                    "n": f["n"],
                    "psi": f["psi"],
                    "ks": f["ks"],
                    "decision_rate": f["decision_rate"],
                    "calib_rate": round(result["reference"]["labels"][lab]["decision_rate"], 4),
                    "overturn_rate": f["overturn_rate"],
                    "alert": "ALERT" if f["alert"] else "",
                    "why": "; ".join(f["reasons"]),
                }
            )
    return pd.DataFrame(rows)
