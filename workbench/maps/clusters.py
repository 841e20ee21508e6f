"""Clusters of the map and how much label trouble each one holds.

:func:`find_clusters` runs scikit-learn's HDBSCAN over the 2-D map coordinates (or any other columns)
and returns the frame with a ``cluster`` column (-1 = noise) and one row per cluster:

- ``size``, ``label_mix`` (share of members positive for each label, over members that know it),
  ``origin_mix``, ``dominant_seeds`` / ``dominant_batches`` (the three largest, with their share);
- ``competing`` — of the members positive for some label, the share positive for another label but
  not for the cluster's most common one: near 0 when a cluster is about one thing, high when its
  members carry rival labels;
- ``generated_mismatch`` — of the generated members (origin ``generated`` / ``perturbation``) of a
  cluster with at least three real members, the share whose main label differs from the real members'
  majority: generated text sitting among real records of another label;
- ``interference_score`` — the larger of the two. The table is sorted by it.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np
import pandas as pd

from curation import WorkbenchError

__all__ = ["find_clusters", "cluster_table"]

GENERATED_ORIGINS = ("generated", "perturbation")


def _main_label(row_pos: np.ndarray, labels: Sequence[str]) -> str:
    hits = np.flatnonzero(row_pos)
    return labels[hits[0]] if len(hits) else "none"


def _dominant(values: pd.Series, n: int = 3) -> str:
    counts = values.dropna().value_counts()
    total = len(values)
    return ", ".join(f"{k} ({v / total:.0%})" for k, v in counts.iloc[:n].items())


def cluster_table(frame: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """One row per cluster of ``frame['cluster']`` (noise left out), sorted by ``interference_score``."""
    labels = list(labels)
    rows = []
    values = frame[labels].to_numpy(dtype=float)
    positive = values == 1
    generated = frame["origin"].isin(GENERATED_ORIGINS).to_numpy()
    for c, members in frame.groupby("cluster").indices.items():
        if c < 0:
            continue
        v, pos = values[members], positive[members]
        known = (~np.isnan(v)).sum(axis=0)
        share = np.divide(pos.sum(axis=0), known, out=np.zeros(len(labels)), where=known > 0)
        any_pos = pos.any(axis=1)
        competing = 0.0
        if any_pos.any():
            top = int(np.argmax(pos.sum(axis=0)))
            competing = float((any_pos & ~pos[:, top]).sum() / any_pos.sum())
        gen, real = members[generated[members]], members[~generated[members]]
        mismatch = np.nan
        if len(gen) and len(real) >= 3:
            real_major = Counter(_main_label(positive[i], labels) for i in real).most_common(1)[0][0]
            mismatch = float(np.mean([_main_label(positive[i], labels) != real_major for i in gen]))
        sub = frame.iloc[members]
        rows.append(
            {
                "cluster": int(c),
                "size": len(members),
                "label_mix": ", ".join(
                    f"{lab} {s:.0%}" for lab, s in sorted(zip(labels, share), key=lambda t: -t[1]) if s > 0
                )
                or "no positives",
                "origin_mix": _dominant(sub["origin"], 3),
                "dominant_seeds": _dominant(sub["seed_id"]),
                "dominant_batches": _dominant(sub["batch_id"]),
                "competing": round(competing, 4),
                "generated_mismatch": mismatch,
                "interference_score": round(float(np.nanmax([competing, mismatch])), 4),
                **{f"share_{lab}": float(s) for lab, s in zip(labels, share)},
            }
        )
    cols = [
        "cluster",
        "size",
        "interference_score",
        "competing",
        "generated_mismatch",
        "label_mix",
        "origin_mix",
        "dominant_seeds",
        "dominant_batches",
        *[f"share_{lab}" for lab in labels],
    ]
    table = pd.DataFrame(rows, columns=cols)
    return table.sort_values(["interference_score", "size"], ascending=False, kind="stable").reset_index(drop=True)


def find_clusters(
    frame: pd.DataFrame,
    labels: Sequence[str],
    *,
    columns: Sequence[str] = ("x", "y"),
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
    max_points: int = 20_000,
    random_state: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """HDBSCAN (scikit-learn) over ``columns`` of the map frame; returns (frame with ``cluster``, table).

    ``min_cluster_size`` defaults to 1 % of the clustered records, between 10 and 500. Above
    ``max_points`` records HDBSCAN runs on a random sample of that size (on 100,000 map points it
    takes about a minute on two cores, on 20,000 a few seconds) and every other record joins the
    cluster of its nearest sampled record (noise stays noise).
    """
    from sklearn.cluster import HDBSCAN
    from sklearn.neighbors import NearestNeighbors

    missing = set(columns) - set(frame.columns)
    if missing:
        raise WorkbenchError(
            "clusters",
            expected=f"columns {list(columns)} in the map frame",
            got=f"missing {sorted(missing)}",
            fix="build the frame with workbench.maps.build_map",
        )
    out = frame.copy()
    if len(out) < 3:
        out["cluster"] = -1
        return out, cluster_table(out, labels)
    x = out[list(columns)].to_numpy(dtype=np.float64)
    sample = np.arange(len(x))
    if len(x) > max_points:
        sample = np.sort(np.random.default_rng(random_state).choice(len(x), max_points, replace=False))
    size = min_cluster_size or int(np.clip(len(sample) // 100, 10, 500))
    size = max(2, min(size, len(sample)))
    found = HDBSCAN(min_cluster_size=size, min_samples=min_samples or min(size, 10), copy=True).fit_predict(x[sample])
    if len(sample) == len(x):
        out["cluster"] = found
    else:
        nearest = NearestNeighbors(n_neighbors=1).fit(x[sample]).kneighbors(x, return_distance=False)[:, 0]
        out["cluster"] = found[nearest]
    return out, cluster_table(out, labels)
