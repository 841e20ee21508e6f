"""Stats, class-distribution report and duplicate-conflict report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .._taxonomy import Taxonomy

__all__ = [
    "class_distribution",
    "distribution_figure",
    "save_figure_png",
    "label_stats",
    "duplicate_conflicts",
    "project_stats",
    "write_data_report",
]


def label_stats(frame: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Per label: positives, negatives, unknown count and unknown rate.

    >>> f = pd.DataFrame({"hate": [1.0, 0.0, np.nan, np.nan]})
    >>> label_stats(f, ["hate"]).loc["hate"].tolist()
    [1.0, 1.0, 2.0, 0.5]
    """
    labels = list(labels)
    vals = frame[labels]
    n = len(frame)
    out = pd.DataFrame(
        {
            "positives": (vals == 1).sum(),
            "negatives": (vals == 0).sum(),
            "unknown": vals.isna().sum(),
        }
    ).astype(float)
    out["unknown_rate"] = out["unknown"] / n if n else 0.0
    return out.reindex(labels)


def class_distribution(
    frame: pd.DataFrame, taxonomy: Taxonomy, *, pos_weight_cap: float = 10.0, split: str | None = "train"
) -> pd.DataFrame:
    """Counts per label against its tier floor, imbalance ratios and the loss weights that follow.

    ``pos_weight`` is ``negatives / positives`` over *known* values, capped at ``pos_weight_cap``
    (the BCE ``pos_weight`` the trainer would apply); unknown values count for neither side.
    """
    part = frame if split is None else frame[frame["split"] == split]
    if "status" in part:
        part = part[part["status"] == "active"]
    st = label_stats(part, taxonomy.label_names)
    rows = []
    for lab in taxonomy.labels:
        p, n = st.loc[lab.name, "positives"], st.loc[lab.name, "negatives"]
        ratio = n / p if p else np.inf
        rows.append(
            {
                "label": lab.name,
                "group": lab.group,
                "tier": lab.tier,
                "positives": int(p),
                "negatives": int(n),
                "unknown": int(st.loc[lab.name, "unknown"]),
                "unknown_rate": float(st.loc[lab.name, "unknown_rate"]),
                "floor": lab.min_positives,
                "below_floor": bool(p < lab.min_positives),
                "imbalance_ratio": float(ratio),
                "pos_weight": float(min(ratio, pos_weight_cap)) if p else float(pos_weight_cap),
                "weight_capped": bool(ratio > pos_weight_cap),
            }
        )
    return pd.DataFrame(rows).set_index("label")


def distribution_figure(report: pd.DataFrame, *, title: str = "Positives per label vs tier floor"):
    """A plotly bar chart of positives per label (log scale), coloured by tier, with floor markers."""
    import plotly.graph_objects as go

    colours = {"T1": "#b2182b", "T2": "#ef8a62", "T3": "#fddbc7", "T4": "#67a9cf", "T5": "#2166ac"}
    fig = go.Figure()
    for tier in sorted(report["tier"].unique()):
        part = report[report["tier"] == tier]
        fig.add_bar(
            x=part.index.tolist(),
            y=np.maximum(part["positives"], 0.9).tolist(),
            name=tier,
            marker_color=colours.get(tier, "#999999"),
            customdata=np.stack([part["negatives"], part["unknown_rate"] * 100, part["pos_weight"]], axis=1),
            hovertemplate="%{x}<br>positives %{y}<br>negatives %{customdata[0]}"
            "<br>unknown %{customdata[1]:.1f}%<br>pos_weight %{customdata[2]:.2f}<extra></extra>",
        )
    fig.add_scatter(
        x=report.index.tolist(),
        y=report["floor"].tolist(),
        mode="markers",
        name="tier floor",
        marker={"symbol": "line-ew-open", "size": 18, "color": "black", "line": {"width": 3}},
    )
    fig.update_layout(
        title=title,
        yaxis_type="log",
        yaxis_title="positives (log)",
        barmode="group",
        xaxis_tickangle=-40,
        template="plotly_white",
        height=450,
        xaxis={"categoryorder": "array", "categoryarray": report.index.tolist()},
    )
    return fig


def save_figure_png(fig, path: str | os.PathLike, *, width: int = 1000, height: int = 500) -> Path:
    """Export a plotly figure as PNG (kaleido, no browser download)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_image(str(path), format="png", width=width, height=height, engine="kaleido")
    return path


def duplicate_conflicts(frame: pd.DataFrame, pairs: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Near- or exact-duplicate pairs whose known labels disagree, for review.

    Returns one row per conflicting pair: ids, similarity, the labels in conflict, both texts.
    """
    labels = list(labels)
    cols = ["a", "b", "similarity", "labels", "text_a", "text_b"]
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    idx = frame.set_index("id")
    a = idx.reindex(pairs["a"])
    b = idx.reindex(pairs["b"])
    va, vb = a[labels].to_numpy(), b[labels].to_numpy()
    diff = (~np.isnan(va)) & (~np.isnan(vb)) & (va != vb)
    rows = np.flatnonzero(diff.any(axis=1))
    out = pd.DataFrame(
        {
            "a": pairs["a"].to_numpy()[rows],
            "b": pairs["b"].to_numpy()[rows],
            "similarity": pairs["similarity"].to_numpy()[rows],
            "labels": [[labels[j] for j in np.flatnonzero(diff[r])] for r in rows],
            "text_a": a["text"].to_numpy()[rows],
            "text_b": b["text"].to_numpy()[rows],
        }
    )
    return out[cols]


def project_stats(
    frame: pd.DataFrame,
    taxonomy: Taxonomy,
    *,
    pairs: pd.DataFrame | None = None,
    seeds: pd.DataFrame | None = None,
    snapshot_id: str | None = None,
) -> dict[str, Any]:
    """Everything `workbench stats` prints, as plain data (JSON-serialisable)."""
    labels = list(taxonomy.label_names)
    active = frame[frame["status"] == "active"]
    ls = label_stats(active, labels)
    per_split = {}
    for s, part in active.groupby("split"):
        vals = part[labels]
        per_split[s] = {
            "n": int(len(part)),
            "positive_rate": {
                k: (None if pd.isna(v) else round(float(v), 4)) for k, v in vals.mean(skipna=True).items()
            },
        }
    pairs = pairs if pairs is not None else pd.DataFrame(columns=["a", "b", "similarity"])
    conflicts = duplicate_conflicts(frame, pairs, labels)
    out: dict[str, Any] = {
        "taxonomy": {"name": taxonomy.name, "hash": taxonomy.content_hash, "labels": labels},
        "snapshot_id": snapshot_id,
        "n_records": int(len(frame)),
        "n_active": int(len(active)),
        "n_quarantined": int((frame["status"] == "quarantined").sum()),
        "by_source": {k: int(v) for k, v in frame["source"].value_counts().items()},
        "by_origin": {k: int(v) for k, v in frame["origin"].value_counts().items()},
        "by_context": {k: int(v) for k, v in frame["context"].value_counts().items()},
        "by_split": {k: int(v) for k, v in active["split"].value_counts().items()},
        "labels": {
            lab: {
                "positives": int(ls.loc[lab, "positives"]),
                "negatives": int(ls.loc[lab, "negatives"]),
                "unknown": int(ls.loc[lab, "unknown"]),
                "unknown_rate": round(float(ls.loc[lab, "unknown_rate"]), 4),
            }
            for lab in labels
        },
        "splits": per_split,
        "exact_duplicates": int(frame["dup_of"].notna().sum()),
        "near_duplicate_pairs": int(len(pairs)),
        "conflicting_duplicate_pairs": int(len(conflicts)),
    }
    if seeds is not None:
        out["seeds"] = {"n": int(len(seeds)), "quarantined": sorted(seeds.loc[seeds["quarantined"], "id"].tolist())}
    return out


def write_data_report(
    out,
    *,
    distribution: pd.DataFrame,
    split_reports: dict[str, pd.DataFrame],
    conflicts: pd.DataFrame,
    split: str | None,
    png: bool = True,
) -> list[Path]:
    """Write the project report into folder ``out``: the class distribution (CSV, HTML, optionally
    PNG), one CSV per split report and the duplicate pairs with conflicting labels. Returns the files."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    distribution.to_csv(out / "class_distribution.csv")
    fig = distribution_figure(distribution, title=f"Positives per label vs tier floor ({split or 'all splits'})")
    fig.write_html(out / "class_distribution.html", include_plotlyjs="cdn")
    written = [out / "class_distribution.csv", out / "class_distribution.html"]
    if png:
        written.append(save_figure_png(fig, out / "class_distribution.png"))
    for name, frame in split_reports.items():
        frame.to_csv(out / f"split_{name}.csv")
        written.append(out / f"split_{name}.csv")
    conflicts.to_csv(out / "duplicate_conflicts.csv", index=False)
    written.append(out / "duplicate_conflicts.csv")
    return written
