"""Several annotators: resolving their answers per label, their agreement, and batch acceptance.

Pure functions over plain data. Agreement is Krippendorff's alpha (nominal) per label, from NLTK's
``AnnotationTask`` (Apache-2.0; the ``krippendorff`` package is GPL). Batch acceptance uses the Wilson
score interval from SciPy's ``binomtest``.
"""

from __future__ import annotations

from collections import Counter
from typing import Mapping, Sequence

__all__ = ["resolve_labels", "resolve_choice", "label_agreement", "DISPUTE_MARGIN"]


DISPUTE_MARGIN = 0.2
"""A decision needs the leading answer's (weighted) votes to exceed the runner-up's by more than this share of
all votes: unanimous answers decide, 2 against 1 decides (1/3 > 0.2), 1 against 1 and 3 against 2 do not."""


def resolve_choice(
    answers: Mapping[str, str], *, weights: Mapping[str, float] | None = None, margin: float = DISPUTE_MARGIN
) -> str | None:
    """The answer the annotators decided, or ``None``: nobody answered, or they split without the margin
    (:data:`DISPUTE_MARGIN`), which is a dispute for someone to settle. Nothing is decided by sort order or by
    who answered. ``weights``: user -> weight (default 1; 0 for an annotator whose answers do not count).

    >>> resolve_choice({"a": "reject", "b": "approve", "c": "reject"})
    'reject'
    >>> resolve_choice({"a": "no", "b": "yes"}) is None  # a 1-1 split is a dispute, whatever sorts first
    True
    >>> resolve_choice({"a": "no", "b": "yes"}, weights={"a": 0.0})  # a's answers do not count
    'yes'
    """
    totals: Counter[str] = Counter()
    for user, value in answers.items():
        w = 1.0 if weights is None else float(weights.get(user, 1.0))
        if w > 0:
            totals[value] += w
    if not totals:
        return None
    ranked = totals.most_common()
    lead = ranked[0][1] - (ranked[1][1] if len(ranked) > 1 else 0.0)
    return ranked[0][0] if lead > margin * sum(totals.values()) else None


def resolve_labels(
    answers: Mapping[str, Sequence[str]],
    labels: Sequence[str],
    *,
    none_label: str = "none",
    weights: Mapping[str, float] | None = None,
    margin: float = DISPUTE_MARGIN,
) -> tuple[dict[str, int | None], list[str]]:
    """Per label, what the annotators decided (chosen = 1, not chosen = 0; ``none`` alone = all 0) by
    :func:`resolve_choice`: 1, 0, or ``None`` when they split without the margin (disputed: stored unknown
    until someone settles it). Returns the labels and the labels the annotators disagreed on.

    >>> resolve_labels({"a": ["hate"], "b": ["hate", "spam"], "c": ["none"]}, ["hate", "spam"])
    ({'hate': 1, 'spam': 0}, ['hate', 'spam'])
    >>> resolve_labels({"careless": ["none"], "careful": ["hate"]}, ["hate"])
    ({'hate': None}, ['hate'])
    """
    out: dict[str, int | None] = {}
    disagreed = []
    for lab in labels:
        votes = {user: "1" if lab in chosen else "0" for user, chosen in answers.items()}
        decided = resolve_choice(votes, weights=weights, margin=margin)
        out[lab] = None if decided is None else int(decided)
        if len(set(votes.values())) > 1:
            disagreed.append(lab)
    return out, disagreed


def label_agreement(
    answers: Mapping[str, Mapping[str, Sequence[str]]], labels: Sequence[str]
) -> dict[str, dict[str, float | int | None]]:
    """Krippendorff's alpha per label over records answered by at least two annotators.

    ``answers``: record id -> {user: chosen labels}. Returns label -> {"alpha", "records"}; alpha is
    ``None`` when fewer than two such records exist or every answer is the same (alpha is undefined).

    >>> a = {"r1": {"u": ["x"], "v": ["x"]}, "r2": {"u": ["none"], "v": ["none"]}, "r3": {"u": ["x"], "v": ["none"]}}
    >>> round(label_agreement(a, ["x"])["x"]["alpha"], 3)
    0.444
    """
    from nltk.metrics.agreement import AnnotationTask

    shared = {rid: by_user for rid, by_user in answers.items() if len(by_user) >= 2}
    out: dict[str, dict[str, float | int | None]] = {}
    for lab in labels:
        data = [(user, rid, int(lab in chosen)) for rid, by_user in shared.items() for user, chosen in by_user.items()]
        alpha = None
        if len(shared) >= 2 and len({v for *_, v in data}) > 1:
            try:
                alpha = float(AnnotationTask(data=data).alpha())
            except ZeroDivisionError:
                alpha = None
        out[lab] = {"alpha": alpha, "records": len(shared)}
    return out
