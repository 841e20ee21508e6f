"""One front door for the production loop: :func:`watch`.

One call reads the project's configured limits (``monitoring.limits``), the pool and the feedback once,
scores the pool once with the shipped model, and reports drift per label and window. Then, by what is asked:

- ``budget=N`` (and the latest window alerts): push a review sample of ``N`` unlabelled posts picked by
  ``strategy`` through ``review`` (anything with ``push(project, model, n, strategy, scores)`` and
  ``pull(project)``; :class:`workbench.review.SampleReviewLoop` is the Argilla one: training never imports
  the review layer). Answers come back later: people review.
- ``retrain=True`` (after review): pull the answers, retrain the model's recipe on the project (the
  labelled production posts of train / valid join the mix, the card counts them), gate it on the curated
  holdout and the production slice, and leave the candidate at ``out`` to promote.
- ``recalibrate=True`` instead: pull, then new thresholds on the labelled ``production_calib`` posts, same
  weights (:func:`training.production_loop.recalibrate`; ``recalibrate_from="feedback"`` takes the moderators' decisions).

The result says what was done (``action``) and what to do next (``next``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from curation import WorkbenchError

from ..evaluation._report import GateReport
from ._drift import monitor, production_scores
from ._recalibrate import recalibrate as _recalibrate

__all__ = ["SampleReview", "WatchResult", "watch"]


class SampleReview(Protocol):
    """Where a review sample goes and where its answers come from."""

    def push(self, project, model, n: int, strategy: str, scores: np.ndarray) -> dict[str, Any]: ...

    def pull(self, project) -> dict[str, Any]: ...


@dataclass
class WatchResult:
    """What one :func:`watch` call saw and did."""

    model: str
    window: str
    alerting: dict[str, list[str]]  # label -> the latest window's reasons
    drift: dict[str, Any]
    action: str  # "none", "sampled", "retrained", "recalibrated"
    next: str
    labelled: dict[str, int] = field(default_factory=dict)  # labelled pool posts per production split
    sample: dict[str, Any] | None = None
    pulled: dict[str, Any] | None = None
    candidate: str | None = None
    gate: dict[str, Any] | None = None
    comparison: dict[str, Any] | None = None
    production: dict[str, Any] | None = None  # the candidate's training posts and production slice

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _labelled(pool) -> dict[str, int]:
    return {str(k): int(v) for k, v in pool["split"].dropna().value_counts().items()}


def _retrain_spec(model, spec):
    from .._recipes import TrainSpec

    if spec is not None:
        return spec
    card = model.card
    return TrainSpec(
        recipe=card.recipe,
        group=card.group,
        encoder=card.encoder or TrainSpec().encoder,
        onnx=(),
        mix=bool(card.mix.get("applied", True)),
        threshold_groups=card.threshold_groups,
    )


def watch(
    project,
    model,
    *,
    window: str = "7d",
    budget: int | None = None,
    strategy: str = "mixed",
    review: SampleReview | None = None,
    retrain: bool = False,
    recalibrate: bool = False,
    recalibrate_from: str = "sample-review",
    out=None,
    spec=None,
    min_n: int = 50,
    show_progress: bool = False,
) -> WatchResult:
    """Drift of ``model`` on ``project``'s pool, and the loop's next step (see the module docstring).

    ``spec``: the :class:`training.TrainSpec` to retrain with (default: ``model``'s recipe, group, encoder,
    mix and threshold groups, no ONNX export). ``out``: where the retrained or recalibrated candidate goes (required with either)."""
    if retrain and recalibrate:
        raise WorkbenchError("watch", expected="retrain or recalibrate", got="both", fix="choose one")
    if (retrain or recalibrate) and out is None:
        raise WorkbenchError(
            "watch",
            expected="out= (where the candidate model goes)",
            got="none",
            fix="workbench watch DIR --model M --retrain --out models/candidate",
        )
    if budget is not None and review is None:
        raise WorkbenchError(
            "watch(budget=...)",
            expected="review= (where the sample goes, e.g. workbench.review.SampleReviewLoop)",
            got="none",
            fix="workbench watch DIR --model M --budget N connects to the project's Argilla",
        )
    pulled = review.pull(project) if (review is not None and (retrain or recalibrate)) else None
    limits = project.settings.monitoring.limits if project.settings.monitoring else None
    pool = project.production.posts()
    scores = production_scores(model, pool, show_progress=show_progress)  # once: drift, sample, recalibration
    drift = monitor(
        model, pool, project.production.feedback(), window=window, limits=limits, min_n=min_n, scores=scores
    )
    latest = drift["windows"][-1]["labels"]
    alerting = {lab: f["reasons"] for lab, f in latest.items() if f["alert"]}
    result = WatchResult(
        model=str(model.root),
        window=window,
        alerting=alerting,
        drift=drift,
        action="none",
        next="",
        labelled=_labelled(pool),
        pulled=pulled,
    )
    if retrain:
        from .._train import train_model

        candidate = train_model(project, out, _retrain_spec(model, spec), show_progress=show_progress)
        _describe(result, candidate, "retrained")
        result.next = (
            f"promote it when its gate and comparison hold: workbench promote {candidate.root}"
            if candidate.card.variants["torch"].passed
            else "its gate failed: see result.gate"
        )
    elif recalibrate:
        candidate = _recalibrate(model, project, out, source=recalibrate_from, window=window, scores=scores)
        _describe(result, candidate, "recalibrated")
        result.next = f"promote it when its gate holds: workbench promote {candidate.root}"
    elif budget and alerting:
        unlabelled = np.array([not labels for labels in pool["labels"]], dtype=bool)
        result.sample = review.push(project, model, int(budget), strategy, scores[unlabelled])
        result.action = "sampled"
        result.next = (
            "review the sample in Argilla (sample-review), then watch again with retrain=True "
            "(workbench watch DIR --model M --retrain --out M2)"
        )
    elif alerting:
        result.next = "the latest window alerts: watch with budget=N to push a review sample"
    else:
        result.next = "no alert in the latest window: nothing to do"
    return result


def _describe(result: WatchResult, candidate, action: str) -> None:
    card = candidate.card
    result.action = action
    result.candidate = str(Path(candidate.root))
    result.gate = GateReport.of(candidate).to_dict()
    result.comparison = card.comparison
    if card.production is not None:
        result.production = dataclasses.asdict(card.production)
