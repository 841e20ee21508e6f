"""Models side by side on posts none of them trained, tuned or gated on (e.g. the week after the pool):
what a retrained model changed where it matters, the team's own next week."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_curve

from curation import WorkbenchError

__all__ = ["compare_on_posts"]


def compare_on_posts(models: Mapping[str, object], posts: pd.DataFrame, *, labels=None) -> pd.DataFrame:
    """One row per model and label: the posts that know the label and their positives, average precision,
    recall at the label's tier FPR budget (the best threshold whose FPR on these posts stays within it: what
    the ranking allows), and recall, precision and FPR at the model's own threshold.

    ``posts``: a ``text`` column and one column per label (1, 0, or NaN when unknown). ``labels``: the labels
    to report (default: every label of the first model that ``posts`` has)."""
    first = next(iter(models.values()))
    labels = list(labels or [lab for lab in first.labels if lab in posts.columns])
    if "text" not in posts or not labels:
        raise WorkbenchError(
            "compare_on_posts",
            expected="a text column and label columns of the models",
            got=f"columns {list(posts.columns)}",
        )
    texts = posts["text"].tolist()
    rows = []
    for name, model in models.items():
        probs = np.asarray(model.predictor(model.serving_variant())(texts), dtype=float)
        for lab in labels:
            if lab not in model.labels:
                continue
            j = model.labels.index(lab)
            y = posts[lab].to_numpy(dtype=float)
            known = ~np.isnan(y)
            yk, pk = y[known].astype(int), probs[known, j]
            budget = model.taxonomy[lab].gate.fpr_budget
            row = {
                "model": name,
                "label": lab,
                "posts": int(known.sum()),
                "positives": int(yk.sum()),
                "ap": np.nan,
                "recall_at_fpr_budget": np.nan,
                "fpr_budget": budget,
            }
            if 0 < yk.sum() < len(yk):
                fpr, tpr, _ = roc_curve(yk, pk)
                row["ap"] = float(average_precision_score(yk, pk))
                row["recall_at_fpr_budget"] = float(tpr[fpr <= budget].max())
            fired = pk >= model.thresholds[j]
            row["recall"] = float(fired[yk == 1].mean()) if (yk == 1).any() else np.nan
            row["precision"] = float(yk[fired].mean()) if fired.any() else np.nan
            row["fpr"] = float(fired[yk == 0].mean()) if (yk == 0).any() else np.nan
            rows.append(row)
    return pd.DataFrame(rows)
