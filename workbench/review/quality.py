"""Annotator quality, measured two ways, and the flags that follow from it.

- **Gold checks**: a push mixes known-answer records into the queue (:func:`gold_candidates`); an answer
  on one is right when it gives every known label its known value. Each annotator's accuracy on them comes
  with a Wilson interval.
- **Overlap**: where three or more annotators answered the same record and their answers decide every label
  by a clear majority, Dawid–Skene (``crowd-kit``'s ``DawidSkene``, Apache-2.0) estimates each record's
  labels and each annotator's confusion from all those answers at once; an annotator's overlap accuracy is
  the expected share of their answers (the whole label set of a record) that match. Two annotators who
  disagree cannot tell who of them is wrong, nor can two camps that split evenly, so such records are left
  to the gold checks.

An annotator is **flagged** when either measure's interval lies wholly below ``1 - error_floor``: the
evidence says their error rate exceeds the floor. A flag stays until the owner clears it
(``workbench review annotators DIR --clear NAME``); after a clearance only newer answers count as evidence.
A flagged annotator's answers weigh 0 in label resolution and batch decisions; everyone else's weigh their
estimated accuracy, shrunk towards 0.8 while the evidence is thin (:func:`_weight`).

:func:`annotator_quality` is a pure function over plain data; :func:`annotator_report` feeds it the answers,
gold records, flags and clearances the store holds (what the pull, ``review status`` and ``review annotators``
show).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from .agreement import resolve_choice
from .templates import ADJUDICATION, NONE_LABEL

if TYPE_CHECKING:
    from curation import Project

__all__ = [
    "QualityRules",
    "AnnotatorQuality",
    "Answer",
    "annotator_quality",
    "label_vector",
    "wilson_interval",
    "gold_candidates",
    "annotator_report",
    "stored_answers",
]


@dataclass(frozen=True)
class QualityRules:
    """``error_floor``: the error rate above which evidence flags an annotator; ``confidence``: the Wilson
    interval's; ``min_overlap``: annotators a record needs before it is overlap evidence (3: a majority)."""

    error_floor: float = 0.15
    confidence: float = 0.95
    min_overlap: int = 3

    @classmethod
    def from_settings(cls, settings: Any) -> QualityRules:
        """The ``review:`` block of a project's :class:`curation.ProjectSettings`."""
        return cls(error_floor=float(settings.review.error_floor), confidence=float(settings.review.confidence))


@dataclass(frozen=True)
class Answer:
    """One annotator's ``labels`` answer of one record: ``key`` names the record (dataset and id), ``seq``
    orders answers in time (a later one replaces an earlier one of the same user and record)."""

    key: str
    user: str
    labels: tuple[str, ...]
    seq: int = 0


@dataclass
class AnnotatorQuality:
    """One annotator's figures (``None`` where there is no evidence yet) and flag."""

    answered: int = 0
    gold_answered: int = 0
    gold_correct: int = 0
    gold_accuracy: float | None = None
    gold_accuracy_ci: tuple[float, float] | None = None
    overlap_answered: int = 0
    overlap_accuracy: float | None = None
    overlap_accuracy_ci: tuple[float, float] | None = None
    weight: float = 1.0
    flagged: bool = False
    reason: str | None = None
    cleared_at: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("details")
        for k in ("gold_accuracy_ci", "overlap_accuracy_ci"):
            if out[k] is not None:
                out[k] = [round(x, 4) for x in out[k]]
        for k in ("gold_accuracy", "overlap_accuracy", "weight"):
            if out[k] is not None:
                out[k] = round(out[k], 4)
        return out


def wilson_interval(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion; ``successes`` may be fractional (an expected count).

    >>> [round(x, 4) for x in wilson_interval(0, 6)]
    [0.0, 0.3903]
    >>> [round(x, 4) for x in wilson_interval(18, 20)]
    [0.699, 0.9721]
    """
    from scipy.stats import norm

    if n <= 0:
        return (0.0, 1.0)
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def label_vector(chosen: Iterable[str], labels: Sequence[str]) -> dict[str, int]:
    """A ``labels`` answer as label -> 1 / 0 (``none`` alone: every label 0).

    >>> label_vector(["hate"], ["hate", "spam"])
    {'hate': 1, 'spam': 0}
    """
    chosen = set(chosen) - {NONE_LABEL}
    return {lab: int(lab in chosen) for lab in labels}


def _latest(answers: Iterable[Answer]) -> dict[str, dict[str, Answer]]:
    """record key -> user -> that user's latest answer."""
    out: dict[str, dict[str, Answer]] = defaultdict(dict)
    for a in sorted(answers, key=lambda a: a.seq):
        out[a.key][a.user] = a
    return out


def _decided_by_majority(users: Mapping[str, Answer], labels: Sequence[str]) -> bool:
    """Whether the answers decide every label of the record by :func:`.agreement.resolve_choice` (a clear
    majority, unweighted): a record they split on is no evidence against anyone."""
    vectors = {u: label_vector(a.labels, labels) for u, a in users.items()}
    return all(resolve_choice({u: str(v[lab]) for u, v in vectors.items()}) is not None for lab in labels)


def _overlap(
    by_record: Mapping[str, Mapping[str, Answer]], labels: Sequence[str], min_overlap: int
) -> dict[str, tuple[float, int]]:
    """user -> (expected correct answers, answers) over the records answered by ``min_overlap`` or more
    annotators whose answers decide every label by a clear majority, by Dawid–Skene over (record, label)
    items. Two camps that split evenly give no evidence: Dawid–Skene would pick one of them arbitrarily."""
    import pandas as pd

    rows = []
    shared = {
        k: users for k, users in by_record.items() if len(users) >= min_overlap and _decided_by_majority(users, labels)
    }
    for key, users in shared.items():
        for user, a in users.items():
            vec = label_vector(a.labels, labels)
            rows += [(f"{key}\x1f{lab}", user, vec[lab]) for lab in labels]
    if not rows:
        return {}
    data = pd.DataFrame(rows, columns=["task", "worker", "label"])
    if data["label"].nunique() < 2:  # everyone said the same everywhere: all right, as far as anyone can tell
        truth = {t: {int(v): 1.0} for t, v in zip(data["task"], data["label"])}
    else:
        import warnings

        from crowdkit.aggregation import DawidSkene

        with warnings.catch_warnings():  # crowd-kit 1.4.2 uses pandas keywords pandas 3 deprecates
            warnings.simplefilter("ignore")
            probas = DawidSkene(n_iter=100).fit(data).probas_
        truth = {
            t: {int(c): float(p) for c, p in row.items()} for t, row in zip(probas.index, probas.to_dict("records"))
        }
    out: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for key, users in shared.items():
        for user, a in users.items():
            vec = label_vector(a.labels, labels)
            p_right = math.prod(truth[f"{key}\x1f{lab}"].get(vec[lab], 0.0) for lab in labels)
            out[user][0] += p_right
            out[user][1] += 1
    return {u: (s, int(n)) for u, (s, n) in out.items()}


def annotator_quality(
    answers: Iterable[Answer],
    labels: Sequence[str],
    *,
    gold: Mapping[str, Mapping[str, int]] | None = None,
    flagged: Mapping[str, str] | None = None,
    cleared: Mapping[str, int] | None = None,
    rules: QualityRules = QualityRules(),
) -> dict[str, AnnotatorQuality]:
    """Every annotator's quality from their ``labels`` answers.

    ``gold``: record key -> known labels (label -> 0 / 1) of the known-answer records; ``flagged``: user ->
    reason of a flag that stands (raised earlier, not cleared); ``cleared``: user -> the ``seq`` of their last
    clearance (older answers are no longer evidence against them).

    >>> gold = {f"g{i}": {"hate": 1} for i in range(6)}
    >>> careless = [Answer(f"g{i}", "c", ("none",), i) for i in range(6)]
    >>> q = annotator_quality(careless, ["hate"], gold=gold)
    >>> q["c"].gold_accuracy, q["c"].flagged, q["c"].weight
    (0.0, True, 0.0)
    """
    gold = gold or {}
    flagged = dict(flagged or {})
    cleared = dict(cleared or {})
    answers = [a for a in answers if a.seq > cleared.get(a.user, -1)]
    by_record = _latest(answers)
    out: dict[str, AnnotatorQuality] = defaultdict(AnnotatorQuality)
    for key, users in by_record.items():
        for user, a in users.items():
            q = out[user]
            if key in gold:
                q.gold_answered += 1
                vec = label_vector(a.labels, labels)
                q.gold_correct += all(vec.get(lab) == v for lab, v in gold[key].items() if v in (0, 1))
            else:
                q.answered += 1
    overlap_by_user = _overlap({k: u for k, u in by_record.items() if k not in gold}, labels, rules.min_overlap)
    for user in [*flagged, *cleared]:  # listed even with no evidence since
        out[user]
    ceiling = 1.0 - rules.error_floor
    for user, q in out.items():
        q.cleared_at = cleared.get(user)
        if q.gold_answered:
            q.gold_accuracy = q.gold_correct / q.gold_answered
            q.gold_accuracy_ci = wilson_interval(q.gold_correct, q.gold_answered, rules.confidence)
        if user in overlap_by_user:
            right, n = overlap_by_user[user]
            q.overlap_answered, q.overlap_accuracy = n, right / n
            q.overlap_accuracy_ci = wilson_interval(right, n, rules.confidence)
        reasons = []
        if q.gold_accuracy_ci is not None and q.gold_accuracy_ci[1] < ceiling:
            reasons.append(
                f"gold accuracy {q.gold_correct}/{q.gold_answered} (upper bound {q.gold_accuracy_ci[1]:.2f} "
                f"< {ceiling:.2f})"
            )
        if q.overlap_accuracy_ci is not None and q.overlap_accuracy_ci[1] < ceiling:
            reasons.append(
                f"agreement with the estimated truth {q.overlap_accuracy:.2f} over {q.overlap_answered} shared "
                f"records (upper bound {q.overlap_accuracy_ci[1]:.2f} < {ceiling:.2f})"
            )
        if user in flagged:
            q.flagged, q.reason = True, flagged[user]
        elif reasons:
            q.flagged, q.reason = True, "; ".join(reasons)
        q.weight = 0.0 if q.flagged else _weight(q)
    return dict(out)


def _weight(q: AnnotatorQuality) -> float:
    """An unflagged annotator's weight: their accuracy over gold and overlap answers together, shrunk towards
    0.8 by a Beta(4, 1) prior (five answers' worth), so that little evidence moves it little and it never
    reaches 0 (only a flag silences an annotator).

    >>> _weight(AnnotatorQuality()), round(_weight(AnnotatorQuality(overlap_answered=1, overlap_accuracy=0.0)), 3)
    (0.8, 0.667)
    """
    right = q.gold_correct + (q.overlap_accuracy or 0.0) * q.overlap_answered
    n = q.gold_answered + q.overlap_answered
    return (right + 4.0) / (n + 5.0)


def gold_candidates(
    answers: Iterable[Answer], labels: Sequence[str], *, excluded: Iterable[str] = (), min_answers: int = 2
) -> dict[str, dict[str, int]]:
    """Records whose labels are known well enough to check others against: answered by ``min_answers`` or
    more annotators (not ``excluded``: flagged ones) who all gave the same answer. record key -> labels.

    >>> a = [Answer("r1", "u", ("hate",)), Answer("r1", "v", ("hate",)), Answer("r2", "u", ("none",))]
    >>> gold_candidates(a, ["hate"])
    {'r1': {'hate': 1}}
    """
    excluded = set(excluded)
    out = {}
    for key, users in _latest(answers).items():
        vectors = [
            json.dumps(label_vector(a.labels, labels), sort_keys=True) for u, a in users.items() if u not in excluded
        ]
        if len(vectors) >= min_answers and len(set(vectors)) == 1:
            out[key] = json.loads(vectors[0])
    return out


def annotator_report(project: Project, fresh: list[dict[str, Any]] = ()) -> tuple[dict, dict]:
    """Every annotator's quality (:func:`annotator_quality`) from the ``labels`` answers the store
    holds (annotation events) and ``fresh`` ones not recorded yet, the gold records pushed (review dataset
    ``|`` id -> known labels), the standing flags and the clearances. Adjudication answers are not evidence."""
    from curation import annotator_flags

    events = project.store.events()
    labels = list(project.taxonomy.label_names)
    answers = stored_answers(events)
    seen = {json.loads(d or "{}").get("key") for d in events.loc[events["kind"] == "annotation", "detail"]}
    top = int(events["seq"].max()) if len(events) else 0
    for i, a in enumerate(fresh):
        if a["key"] not in seen and a["question"] == "labels" and a["dataset"] != ADJUDICATION:
            answers.append(
                Answer(f"{a['dataset']}|{a['record_id']}", a["user"], tuple(_chosen(a["value"])), top + 1 + i)
            )
    gold = {
        f"{json.loads(e.detail)['dataset']}|{e.target}": json.loads(e.detail)["labels"]
        for e in events[events["kind"] == "gold_pushed"].itertuples()
    }
    flagged, cleared = annotator_flags(project.store)
    quality = annotator_quality(
        answers, labels, gold=gold, flagged=flagged, cleared=cleared, rules=QualityRules.from_settings(project.settings)
    )
    return quality, gold


def stored_answers(events) -> list[Answer]:
    """The ``labels`` answers among the store's events (``project.store.events()``), keyed ``dataset|record``
    and ordered by their event ``seq``; adjudication answers are left out (they settle, they are no evidence)."""
    out = []
    for e in events[(events["kind"] == "annotation") & (events["question"] == "labels")].itertuples():
        dataset = json.loads(e.detail or "{}").get("dataset")
        if dataset != ADJUDICATION:
            out.append(Answer(f"{dataset}|{e.target}", e.actor, tuple(_chosen(e.value)), int(e.seq)))
    return out


def _chosen(value: Any) -> list[str]:
    """A stored ``labels`` answer (JSON text) as its list of labels."""
    v = json.loads(value) if isinstance(value, str) else value
    return [str(x) for x in (v if isinstance(v, list) else [v])]
