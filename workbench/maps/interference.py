"""Label interference: which label pairs get in each other's way.

For a pair (a, b), over records that know both labels:

- **neighbourhood mixing** — for records carrying exactly one of the two, the share of their k nearest
  neighbours (cosine, among records carrying one or both) that carry the *other* one alone, divided by
  the share expected if the two were perfectly interleaved; 0 when the labels live apart, about 1 when
  they are interleaved (capped at 1);
- **confusion** — how often the model fires one where only the other is the truth (mean of both
  directions; needs model probabilities and thresholds);
- **co-occurrence** — Jaccard overlap of the two labels' positives;
- **centroid distance** — cosine distance between the mean embeddings of their positives.

The ranked table's ``interference_score`` is the mean of mixing, co-occurrence and (when given)
confusion. Nearest neighbours come from scikit-learn.
"""

from __future__ import annotations

from itertools import combinations
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "neighbourhood_mixing",
    "confusion_rate",
    "co_occurrence",
    "centroid_distance",
    "interference_table",
    "interference_figure",
    "map_interference",
]


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def neighbourhood_mixing(
    embeddings: np.ndarray | None, a: np.ndarray, b: np.ndarray, *, k: int = 15, neighbors: np.ndarray | None = None
) -> float:
    """Mixing of two labels' neighbourhoods, in [0, 1] (see the module docstring).

    ``a`` and ``b`` are 0/1 (or NaN = unknown) per record; rows unknown for either label are left out.
    With ``neighbors`` (each row's nearest rows, -1 for none: the map's neighbour graph) no search is
    run: a row's neighbours outside the pair's records are skipped, so the table for 100,000 records
    costs one pass over the graph per pair.

    >>> rng = np.random.default_rng(0)
    >>> apart = np.vstack([rng.normal(0, .1, (50, 8)) + 5, rng.normal(0, .1, (50, 8)) - 5])
    >>> a = np.r_[np.ones(50), np.zeros(50)]
    >>> neighbourhood_mixing(apart, a, 1 - a, k=5)
    0.0
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = ~np.isnan(a) & ~np.isnan(b) & ((a == 1) | (b == 1))
    only_a, only_b = keep & (a == 1) & (b != 1), keep & (b == 1) & (a != 1)
    n_a, n_b, n_pop = int(only_a.sum()), int(only_b.sum()), int(keep.sum())
    if n_a == 0 or n_b == 0:
        return 0.0
    if neighbors is None:
        from sklearn.neighbors import NearestNeighbors

        rows = np.flatnonzero(keep)
        kk = min(k, len(rows) - 1)
        nn = NearestNeighbors(n_neighbors=kk + 1, metric="cosine").fit(_unit(embeddings[rows]))
        graph = np.full((len(a), kk), -1, dtype=np.int64)
        graph[rows] = rows[nn.kneighbors(_unit(embeddings[rows]), return_distance=False)[:, 1:]]
    else:
        graph = np.asarray(neighbors, dtype=np.int64)
    ratios = []
    for mine, other, n_other in ((only_a, only_b, n_b), (only_b, only_a, n_a)):
        g = graph[mine]
        valid = (g >= 0) & keep[np.maximum(g, 0)]
        hits = (other[np.maximum(g, 0)] & valid).sum()
        observed = hits / valid.sum() if valid.any() else 0.0
        expected = n_other / (n_pop - 1)
        ratios.append(min(1.0, observed / expected) if expected > 0 else 0.0)
    return float(np.mean(ratios))


def confusion_rate(
    a: np.ndarray, b: np.ndarray, prob_a: np.ndarray, prob_b: np.ndarray, *, threshold_a: float, threshold_b: float
) -> float:
    """Mean of P(model fires a | b only is true) and P(model fires b | a only is true).

    >>> confusion_rate(np.array([1, 0]), np.array([0, 1]), np.array([.9, .8]), np.array([.1, .9]),
    ...                threshold_a=.5, threshold_b=.5)
    0.5
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rates = []
    for truth, other, p_other, t_other in ((b, a, prob_a, threshold_a), (a, b, prob_b, threshold_b)):
        mask = (truth == 1) & (other == 0)
        rates.append(float((np.asarray(p_other)[mask] >= t_other).mean()) if mask.any() else 0.0)
    return float(np.mean(rates))


def co_occurrence(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard overlap of the two labels' positives (rows knowing both).

    >>> co_occurrence(np.array([1, 1, 0, np.nan]), np.array([1, 0, 1, 1]))
    0.3333333333333333
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    known = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[known] == 1, b[known] == 1
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 0.0


def centroid_distance(embeddings: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Cosine distance between the mean embeddings of the two labels' positives (NaN when one has none)."""
    a, b = np.asarray(a, dtype=float) == 1, np.asarray(b, dtype=float) == 1
    if not a.any() or not b.any():
        return float("nan")
    x = _unit(embeddings)
    ca, cb = x[a].mean(axis=0), x[b].mean(axis=0)
    return float(1 - ca @ cb / max(np.linalg.norm(ca) * np.linalg.norm(cb), 1e-12))


def interference_table(
    embeddings: np.ndarray,
    labels: np.ndarray,
    names: Sequence[str],
    *,
    probs: np.ndarray | None = None,
    thresholds: Sequence[float] | None = None,
    k: int = 15,
    min_support: int = 5,
    neighbors: np.ndarray | None = None,
) -> pd.DataFrame:
    """Every label pair with at least ``min_support`` positives each, ranked by ``interference_score``.

    Parameters
    ----------
    embeddings : ndarray of shape (n, d)
    labels : ndarray of shape (n, n_labels)
        1, 0 or NaN (unknown).
    probs, thresholds : optional
        Model probabilities of shape (n, n_labels) and per-label thresholds, for the confusion column
        (NaN thresholds for labels the model does not score: their pairs get no confusion value).
    neighbors : ndarray of shape (n, k), optional
        A precomputed neighbour graph (rows, -1 = none) used for mixing instead of a search per pair.
    """
    labels = np.asarray(labels, dtype=float)
    support = np.nansum(labels == 1, axis=0)
    rows = []
    for i, j in combinations(range(len(names)), 2):
        if support[i] < min_support or support[j] < min_support:
            continue
        a, b = labels[:, i], labels[:, j]
        row = {
            "label_a": names[i],
            "label_b": names[j],
            "positives_a": int(support[i]),
            "positives_b": int(support[j]),
            "mixing": neighbourhood_mixing(embeddings, a, b, k=k, neighbors=neighbors),
            "co_occurrence": co_occurrence(a, b),
            "centroid_distance": centroid_distance(embeddings, a, b),
        }
        parts = [row["mixing"], row["co_occurrence"]]
        if probs is not None and thresholds is not None:
            scored = np.isfinite(thresholds[i]) and np.isfinite(thresholds[j])  # the model may know a subset
            row["confusion"] = (
                confusion_rate(a, b, probs[:, i], probs[:, j], threshold_a=thresholds[i], threshold_b=thresholds[j])
                if scored
                else float("nan")
            )
            parts.append(row["confusion"])
        row["interference_score"] = float(np.nanmean(parts))
        rows.append(row)
    cols = [
        "label_a",
        "label_b",
        "interference_score",
        "mixing",
        "confusion",
        "co_occurrence",
        "centroid_distance",
        "positives_a",
        "positives_b",
    ]
    table = pd.DataFrame(rows, columns=[c for c in cols if rows and c in rows[0]] or cols)
    return table.sort_values("interference_score", ascending=False, kind="stable").reset_index(drop=True)


def interference_figure(table: pd.DataFrame, names: Sequence[str], *, widget: bool = False):
    """A plotly heatmap of ``interference_score`` per label pair (symmetric; blank where not computed);
    with ``widget``, a ``FigureWidget`` whose clicks an ``EmbeddingMap`` can follow."""
    import plotly.graph_objects as go

    names = list(names)
    z = np.full((len(names), len(names)), np.nan)
    for r in table.itertuples():
        i, j = names.index(r.label_a), names.index(r.label_b)
        z[i, j] = z[j, i] = r.interference_score
    # nested lists, blanks as None: a FigureWidget sends numpy arrays as typed-array buffers, which its
    # heatmap drew empty in JupyterLab (seen in the browser test's screenshot)
    cells = [[None if np.isnan(v) else float(v) for v in row] for row in z]
    fig = (go.FigureWidget if widget else go.Figure)(
        go.Heatmap(
            z=cells,
            x=names,
            y=names,
            zmin=0,
            zmax=1,
            colorscale="Reds",
            hovertemplate="%{y} × %{x}: %{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(title="Label interference (mixing, co-occurrence, confusion)", yaxis_autorange="reversed")
    return fig


def map_interference(data, *, min_support: int = 5) -> pd.DataFrame:
    """The interference table of a project map (``build_map``'s result): its neighbour graph for mixing,
    its reduced embeddings for centroid distances and, when it carries model scores, the confusion column.
    Quarantined records are left out; pending ones count (they are what review is about to accept)."""
    frame = data.frame
    keep = (frame["status"] != "quarantined").to_numpy()
    rows = np.flatnonzero(keep)
    new_index = np.full(len(frame) + 1, -1, dtype=np.int64)
    new_index[rows] = np.arange(len(rows))
    graph = new_index[np.asarray(data.neighbors, dtype=np.int64)[rows]]
    labels = [lab for lab in data.labels if lab in frame.columns]
    probs = thresholds = None
    if data.thresholds:
        probs = np.column_stack(
            [
                frame.loc[keep, f"p_{lab}"].to_numpy(dtype=float)
                if f"p_{lab}" in frame.columns
                else np.full(len(rows), np.nan)
                for lab in labels
            ]
        )
        thresholds = [data.thresholds.get(lab, float("nan")) for lab in labels]
    return interference_table(
        data.reduced[rows],
        frame.loc[keep, labels].to_numpy(dtype=float),
        labels,
        probs=probs,
        thresholds=thresholds,
        neighbors=graph,
        min_support=min_support,
    )
