"""Identity balance: does naming a group carry a label in the training data?

A model learns "group named -> hate" when a group's name appears mostly in hateful rows (Dixon et al. 2018,
"Measuring and mitigating unintended bias in text classification"). :func:`identity_balance` counts, per
identity term (the ``group`` fillers of the project's suites by default), the rows of a training mix that
name it with the label positive and negative; :func:`balance_warnings` names the terms whose counts are
further apart than a set ratio. The evaluation side (a false-positive rate per group on the suites' benign
cases) is :meth:`training.evaluation.SuiteResult.by_group`.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = ["MAX_RATIO", "balance_warnings", "identity_balance", "suite_terms"]

MAX_RATIO = 3.0
"""Default: a term is unbalanced when one sign has more than three times the rows of the other."""

_COLUMNS = ["term", "positives", "negatives", "share_positive", "ratio", "unbalanced"]


def suite_terms(suites, slot: str = "group") -> list[str]:
    """Every value of filler ``slot`` in ``suites`` (both sides), sorted and unique."""
    return sorted({v for s in suites if slot in s.fillers for side in s.fillers[slot].values() for v in side})


def identity_balance(
    frame: pd.DataFrame,
    terms: Iterable[str],
    label: str,
    *,
    max_ratio: float = MAX_RATIO,
    min_rows: int = 10,
) -> pd.DataFrame:
    """Per term: the rows of ``frame`` that name it (whole words, any case) with ``label`` 1 and 0
    (unknown labels are not counted), the share positive, the ratio of the larger count to the smaller
    (``inf`` when one is 0) and ``unbalanced`` (the ratio over ``max_ratio`` on at least ``min_rows`` rows).

    >>> f = pd.DataFrame({"text": ["I hate Sikhs", "Sikhs are vile", "Sikhs live here", "Arabs cook"],
    ...                   "hate": [1, 1, 0, 0]})
    >>> identity_balance(f, ["Sikhs", "Arabs"], "hate", min_rows=1)[["term", "positives", "negatives", "unbalanced"]]
        term  positives  negatives  unbalanced
    0  Arabs          0          1        True
    1  Sikhs          2          1       False
    """
    if label not in frame.columns:
        raise KeyError(f"identity_balance: no column {label!r} in the frame (columns: {list(frame.columns)})")
    y = frame[label].to_numpy(dtype=float)
    texts = frame["text"].astype(str)
    rows = []
    for term in sorted(set(terms)):
        named = texts.str.contains(rf"(?<!\w){re.escape(term)}(?!\w)", case=False, regex=True).to_numpy()
        pos, neg = int((named & (y == 1)).sum()), int((named & (y == 0)).sum())
        ratio = max(pos, neg) / min(pos, neg) if min(pos, neg) else (np.inf if pos + neg else np.nan)
        rows.append(
            (
                term,
                pos,
                neg,
                round(pos / (pos + neg), 4) if pos + neg else np.nan,
                ratio,
                bool(pos + neg >= min_rows and ratio > max_ratio),
            )
        )
    return pd.DataFrame(rows, columns=_COLUMNS)


def balance_warnings(table: pd.DataFrame, label: str, *, max_ratio: float = MAX_RATIO) -> list[str]:
    """One line per unbalanced term of an :func:`identity_balance` table, naming the sign that is short and
    how to fix it."""
    out = []
    for r in table[table["unbalanced"]].itertuples():
        counts = f"{label}: '{r.term}' is named in {r.positives} positive and {r.negatives} negative training rows"
        if r.positives > r.negatives:
            out.append(
                f"{counts} (more than {max_ratio:g}:1) - naming the group may come to mean {label}; add reviewed "
                f"negative examples that name it (neutral, positive, negated, counter-speech: the suites' contrasts, "
                f"workbench generate --from-suite)"
            )
        else:
            out.append(
                f"{counts} (more than 1:{max_ratio:g}) - {label} about the group may be missed; add reviewed positive "
                f"examples that name it (the suites' hateful functionalities, workbench generate --from-suite)"
            )
    return out


def balance_of_suites(frame: pd.DataFrame, suites: Sequence, labels: Sequence[str], **kw) -> dict[str, pd.DataFrame]:
    """:func:`identity_balance` of every label the suites expect positive somewhere, over their group terms."""
    terms = suite_terms(suites)
    wanted = sorted(
        {lab for s in suites for f in s.functionalities for lab, v in f.expect.items() if v == 1 and lab in labels}
    )
    return {lab: identity_balance(frame, terms, lab, **kw) for lab in wanted if terms and lab in frame.columns}
