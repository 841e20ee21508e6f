"""Holdout evaluation: per-label metrics, slices, reliability and PR plots, a report.

Unknown labels (NaN) are masked: each label is scored on the rows where it is known.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from foundation import atomic_write_text

from ._thresholds import base_rate_weights, binary_rates

__all__ = [
    "expected_calibration_error",
    "wilson_interval",
    "evaluate",
    "evaluate_slices",
    "reliability_figure",
    "pr_figure",
    "write_model_report",
]


def expected_calibration_error(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> float:
    """ECE with equal-width bins (known rows only).

    >>> round(expected_calibration_error(np.array([1, 0, 1, 0.]), np.array([1, 0, 1, 0.])), 3)
    0.0
    """
    known = ~np.isnan(y)
    y, p = y[known], p[known]
    if y.size == 0:
        return float("nan")
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(ece)


def wilson_interval(k: float, n: float, *, confidence: float = 0.95) -> list[float | None]:
    """The Wilson score interval of a proportion ``k / n`` (``[None, None]`` when ``n`` is 0), from SciPy.

    Wilson's interval keeps its coverage near the nominal level for small ``n`` and rates near 0 or 1
    (where the normal approximation collapses to a point): a recall of 1.0 on 12 positives is
    [0.757, 1.0], on 1,200 it is [0.997, 1.0].

    >>> [round(x, 3) for x in wilson_interval(12, 12)], [round(x, 3) for x in wilson_interval(1200, 1200)]
    ([0.757, 1.0], [0.997, 1.0])
    """
    from scipy.stats import binomtest

    k, n = int(round(k)), int(round(n))
    if n <= 0:
        return [None, None]
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return [round(float(ci.low), 4), round(float(ci.high), 4)]


def evaluate(
    labels: np.ndarray,
    probs: np.ndarray,
    thresholds: Sequence[float],
    *,
    label_names: Sequence[str],
    base_rates: Mapping | None = None,
    bands: Mapping[str, Mapping[str, float | None]] | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per-label precision, recall, F1, FPR, support, PR-AUC, ROC-AUC and ECE, plus micro/macro F1.

    Each label also gets its confusion counts (``tp``, ``fp``, ``fn``, ``tn``) and 95 % Wilson intervals
    ``recall_ci``, ``precision_ci`` and ``fpr_ci`` (``[low, high]``, :func:`wilson_interval`). With
    ``bands`` (the policy's hide / warn / badge thresholds per label), ``band_precision``: per band, the
    precision of the decided rows at or above it (what the rows that get that band's action deserve).

    With ``base_rates`` (:func:`training.evaluation.base_rate_setting`), each label also gets
    ``precision_at_base_rate`` and ``fpr_at_base_rate``: the same decisions scored with the rows
    weighted to the production mix (:func:`training.evaluation.base_rate_weights`).

    Returns
    -------
    per_label : DataFrame indexed by label
    summary : dict with micro_f1, macro_f1, macro_pr_auc, macro_roc_auc
    """
    labels = np.asarray(labels, dtype=float)
    probs = np.asarray(probs, dtype=float)
    rows = []
    tp_all = fp_all = fn_all = 0.0
    for j, name in enumerate(label_names):
        y, p = labels[:, j], probs[:, j]
        known = ~np.isnan(y)
        yk, pk = y[known].astype(int), p[known]
        pred = pk >= thresholds[j]
        tp = float((pred & (yk == 1)).sum())
        fp = float((pred & (yk == 0)).sum())
        fn = float((~pred & (yk == 1)).sum())
        tn = float((~pred & (yk == 0)).sum())
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        prec = tp / (tp + fp) if tp + fp else float("nan")
        rec = tp / (tp + fn) if tp + fn else float("nan")
        f1 = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else float("nan")
        both = len(np.unique(yk)) == 2
        rows.append(
            {
                "label": name,
                "threshold": float(thresholds[j]),
                "support": int(known.sum()),
                "positives": int(yk.sum()),
                "precision": prec,
                "recall": rec,
                "f1": f1,
                "fpr": fp / (fp + tn) if fp + tn else float("nan"),
                "pr_auc": float(average_precision_score(yk, pk)) if both else float("nan"),
                "roc_auc": float(roc_auc_score(yk, pk)) if both else float("nan"),
                "ece": expected_calibration_error(y, p),
                "tp": int(tp),
                "fp": int(fp),
                "fn": int(fn),
                "tn": int(tn),
                "recall_ci": wilson_interval(tp, tp + fn),
                "precision_ci": wilson_interval(tp, tp + fp),
                "fpr_ci": wilson_interval(fp, fp + tn),
            }
        )
        if bands is not None:
            rows[-1]["band_precision"] = _band_precision(yk, pk, thresholds[j], (bands or {}).get(name) or {})
    df = pd.DataFrame(rows).set_index("label")
    weights = base_rate_weights(labels, label_names, base_rates)
    if weights is not None:
        at_rate = [
            binary_rates(labels[:, j], probs[:, j], np.array([thresholds[j]]), weights[:, j])
            for j in range(len(label_names))
        ]
        df["precision_at_base_rate"] = [
            float(r["precision"][0]) if r["tp"][0] + r["fp"][0] > 0 else float("nan") for r in at_rate
        ]
        df["fpr_at_base_rate"] = [float(r["fpr"][0]) if r["fp"][0] + r["tn"][0] > 0 else float("nan") for r in at_rate]
    micro = 2 * tp_all / (2 * tp_all + fp_all + fn_all) if (2 * tp_all + fp_all + fn_all) else float("nan")
    summary = {
        "micro_f1": float(micro),
        "macro_f1": float(df["f1"].mean(skipna=True)),
        "macro_pr_auc": float(df["pr_auc"].mean(skipna=True)),
        "macro_roc_auc": float(df["roc_auc"].mean(skipna=True)),
    }
    return df, summary


def _band_precision(y: np.ndarray, p: np.ndarray, threshold: float, bands: Mapping[str, float | None]) -> dict:
    """Per band: precision (and the number of rows) of the decided rows at or above the band."""
    out = {}
    for band, cut in bands.items():
        if cut is None:
            continue
        sel = p >= max(float(cut), float(threshold))
        n = int(sel.sum())
        out[band] = {"precision": round(float(y[sel].mean()), 4) if n else None, "n": n}
    return out


def evaluate_slices(
    frame: pd.DataFrame,
    labels: np.ndarray,
    probs: np.ndarray,
    thresholds: Sequence[float],
    *,
    label_names: Sequence[str],
    by: Sequence[str] = ("context", "source"),
    min_rows: int = 20,
) -> pd.DataFrame:
    """Micro/macro F1 per slice (e.g. each context and each source) with its row count."""
    out = []
    for col in by:
        if col not in frame:
            continue
        for value, idx in frame.groupby(col).indices.items():
            if len(idx) < min_rows:
                continue
            _, s = evaluate(labels[idx], probs[idx], thresholds, label_names=label_names)
            out.append({"slice": f"{col}={value}", "rows": int(len(idx)), **s})
    return pd.DataFrame(out)


def reliability_figure(labels: np.ndarray, probs: np.ndarray, *, label_names: Sequence[str], bins: int = 10):
    """Observed positive rate vs mean predicted probability per bin, one line per label."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line={"dash": "dash", "color": "grey"})
    edges = np.linspace(0, 1, bins + 1)
    for j, name in enumerate(label_names):
        y, p = labels[:, j], probs[:, j]
        known = ~np.isnan(y)
        y, p = y[known], p[known]
        idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
        xs, ys, ns = [], [], []
        for b in range(bins):
            m = idx == b
            if m.sum() >= 5:
                xs.append(float(p[m].mean()))
                ys.append(float(y[m].mean()))
                ns.append(int(m.sum()))
        fig.add_scatter(
            x=xs,
            y=ys,
            mode="lines+markers",
            name=name,
            customdata=ns,
            hovertemplate="predicted %{x:.2f}<br>observed %{y:.2f}<br>n=%{customdata}<extra></extra>",
        )
    fig.update_layout(
        title="Reliability (holdout)",
        xaxis_title="mean predicted probability",
        yaxis_title="observed positive rate",
        template="plotly_white",
        height=450,
    )
    return fig


def pr_figure(labels: np.ndarray, probs: np.ndarray, thresholds: Sequence[float], *, label_names: Sequence[str]):
    """Precision-recall curve per label with the chosen threshold marked."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for j, name in enumerate(label_names):
        y, p = labels[:, j], probs[:, j]
        known = ~np.isnan(y)
        if len(np.unique(y[known])) < 2:
            continue
        prec, rec, thr = precision_recall_curve(y[known].astype(int), p[known])
        fig.add_scatter(x=rec, y=prec, mode="lines", name=name)
        k = int(np.searchsorted(thr, thresholds[j])) if len(thr) else 0
        k = min(k, len(rec) - 1)
        fig.add_scatter(
            x=[rec[k]],
            y=[prec[k]],
            mode="markers",
            marker={"size": 10, "symbol": "x"},
            name=f"{name} @ {thresholds[j]:.2f}",
            showlegend=False,
        )
    fig.update_layout(
        title="Precision-recall per label (holdout; x = chosen threshold)",
        xaxis_title="recall",
        yaxis_title="precision",
        template="plotly_white",
        height=450,
    )
    return fig


def write_model_report(
    out_dir,
    *,
    title: str,
    per_label: pd.DataFrame,
    summary: Mapping[str, float],
    slices: pd.DataFrame | None = None,
    gate_lines: Sequence[str] = (),
    figures: Mapping[str, object] = (),
    png: bool = False,
) -> Path:
    """Write ``report.md`` and ``report.html`` (figures embedded) into ``out_dir``; PNGs on request."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fmt = per_label.copy()
    md = [f"# {title}", "", "## Summary", ""]
    md += [f"- {k}: {v:.4f}" for k, v in summary.items()]
    md += ["", "## Per label (holdout)", "", fmt.to_markdown(floatfmt=".3f") if _has_tabulate() else fmt.to_string()]
    if slices is not None and len(slices):
        md += [
            "",
            "## Slices",
            "",
            slices.to_markdown(index=False, floatfmt=".3f") if _has_tabulate() else slices.to_string(index=False),
        ]
    if gate_lines:
        md += ["", "## Gate", ""] + [f"- {line}" for line in gate_lines]
    atomic_write_text(out / "report.md", "\n".join(md) + "\n")
    html = [
        f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>",
        f"<h1>{title}</h1>",
        "<h2>Summary</h2><ul>" + "".join(f"<li>{k}: {v:.4f}</li>" for k, v in summary.items()) + "</ul>",
        "<h2>Per label (holdout)</h2>",
        fmt.to_html(float_format=lambda v: f"{v:.3f}"),
    ]
    if slices is not None and len(slices):
        html += ["<h2>Slices</h2>", slices.to_html(index=False, float_format=lambda v: f"{v:.3f}")]
    if gate_lines:
        html += ["<h2>Gate</h2><ul>" + "".join(f"<li>{line}</li>" for line in gate_lines) + "</ul>"]
    for i, (name, fig) in enumerate(dict(figures).items()):
        html.append(fig.to_html(full_html=False, include_plotlyjs="cdn" if i == 0 else False))
        if png:
            from curation.views import save_figure_png

            save_figure_png(fig, out / f"{name}.png")
    html.append("</body></html>")
    atomic_write_text(out / "report.html", "\n".join(html))
    return out


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True
