"""Turning the loop until it converges: suite -> generate -> review -> retrain, turn after turn.

One turn takes the latest model's functional-suite result, makes pending batches from what still fails and
its contrasts (:func:`workbench.generate.generate_from_suite`, a new batch per turn), has them reviewed (a
callback: the real Argilla path in ``bench/turns.py``, an explicit acceptance in notebook 07), retrains (a
callback) and runs the suite on the new model. :func:`run_turns` stops early when

- the latest model fails no functionality (``converged``),
- there is nothing left to generate from (``nothing to generate``: no train-side material, or every seed
  quarantined after a rejected batch), or
- a turn improved no functionality by at least ``min_gain`` over the model before it (``no functionality
  improved``: another turn of the same material would not help; change the material instead), or
- a turn lost ground: its overall test-side pass rate fell more than ``min_gain`` below the best model's so
  far (``lost ground``: what it gained on some functionalities it lost on others; ship the best model, not
  the last).

The history keeps every model's suite result; :meth:`TurnHistory.table` is the pass rate per functionality
per model, what :func:`workbench.panels.turns_figure` draws, and :attr:`TurnHistory.best` names the model
with the highest overall pass rate (the earliest on a tie), which need not be the last one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from workbench.generate import generate_from_suite

__all__ = [
    "TurnHistory",
    "Turn",
    "accept_generated",
    "improved_functionalities",
    "overall_pass_rate",
    "run_turns",
]

CONVERGED = "converged: the model fails no functionality"
NOTHING_TO_GENERATE = "nothing to generate"
NOT_IMPROVED = "no functionality improved"
LOST_GROUND = "lost ground"
ALL_TURNS = "all turns run"


def improved_functionalities(before, after, *, min_gain: float = 0.01) -> list[str]:
    """The functionalities whose test-side pass rate rose by at least ``min_gain`` from ``before`` to
    ``after`` (two suite results, or their ``functionalities`` tables)."""
    b = getattr(before, "functionalities", before)["pass_rate"]
    a = getattr(after, "functionalities", after)["pass_rate"]
    both = a.index.intersection(b.index)
    return sorted(str(f) for f in both if float(a[f]) - float(b[f]) >= min_gain)


def overall_pass_rate(result) -> float:
    """The share of a suite result's test-side minimum-functionality cases the model passed (0.0 for a suite
    with none; invariance and directional tests are rates of their own, in :meth:`TurnHistory.table`)."""
    cases = result.cases
    if "type" in cases:
        cases = cases[cases["type"] == "mft"]
    return float(cases["passed"].mean()) if len(cases) else 0.0


@dataclass
class Turn:
    """One turn: the model it trained, that model's suite result, what was generated and reviewed, the
    functionalities it improved over the model before, its minutes and what ``evaluate`` returned."""

    index: int
    model: Any
    result: Any
    made: dict[str, Any]
    review: Any
    improved: list[str]
    minutes: float
    evaluation: Any = None


@dataclass
class TurnHistory:
    """The starting model's suite result, the turns run and why the loop stopped."""

    start: Any
    start_evaluation: Any = None
    turns: list[Turn] = field(default_factory=list)
    stopped: str = ALL_TURNS
    start_model: Any = None

    @property
    def models(self) -> list[Any]:
        return [t.model for t in self.turns]

    def overall(self) -> dict[str, float]:
        """``{"M0": overall pass rate, "M1": ..., ...}``."""
        return {name: overall_pass_rate(r) for name, r in self.results().items()}

    @property
    def best(self) -> str:
        """The name (``"M0"``, ``"M1"``, ...) of the model with the highest overall pass rate; the earliest
        on a tie, so a turn that only matches the best does not replace it."""
        rates = self.overall()
        return max(rates, key=lambda name: (rates[name], -int(name[1:])))

    @property
    def best_model(self) -> Any:
        """The model :attr:`best` names (``start_model`` for ``"M0"``)."""
        k = int(self.best[1:])
        return self.start_model if k == 0 else self.turns[k - 1].model

    def results(self) -> dict[str, Any]:
        """``{"M0": result, "M1": ..., ...}``."""
        return {"M0": self.start, **{f"M{t.index}": t.result for t in self.turns}}

    def table(self) -> pd.DataFrame:
        """Pass rate per functionality (rows) per model (columns ``M0``, ``M1``, ...), with each
        functionality's ``min_pass``, ``known_gap`` and ``type`` (an invariance or directional test's pass rate
        is one minus its failure rate)."""
        start = self.start.functionalities
        out = pd.DataFrame({name: r.functionalities["pass_rate"] for name, r in self.results().items()})
        out["min_pass"] = start["min_pass"]
        out["known_gap"] = start["known_gap"]
        out["type"] = start["type"] if "type" in start else "mft"
        out.index.name = "functionality"
        return out


def accept_generated(project, made: dict[str, Any], *, reason: str, actor: str) -> dict[str, Any]:
    """Accept every batch :func:`generate_from_suite` made, recording who and why (a demo's or a test's
    review; a team reviews them in Argilla's batch-review). Returns ``{"accepted": [batch ids]}``."""
    ids = sorted({b.batch_id for b in made["batches"] if b.stored})
    for bid in ids:
        project.batches.accept(bid, reason=reason, actor=actor)
    return {"accepted": ids}


def run_turns(
    project,
    model,
    *,
    train: Callable[[int], Any],
    review: Callable[[Any, dict[str, Any]], Any],
    suite: Callable[[Any], Any] | None = None,
    evaluate: Callable[[Any], Any] | None = None,
    turns: int = 3,
    min_gain: float = 0.01,
    on_turn: Callable[[Turn], None] | None = None,
    **generate_kw: Any,
) -> TurnHistory:
    """Up to ``turns`` turns of the loop from ``model`` (see the module docstring).

    ``train(k)`` trains and returns the model of turn ``k`` (1, 2, ...) on the project's current snapshot;
    ``review(project, made)`` reviews the batches a turn made (only accepted ones enter the snapshot);
    ``suite(model)`` gives a model's suite result (default: :func:`training.evaluation.suite_result` of the model, its gate cases);
    ``evaluate(model)``, when given, is kept beside each model's suite result (e.g. held-out scores).
    ``generate_kw`` goes to :func:`generate_from_suite` (``n``, ``use_llm``, ``retrieve``, ...)."""
    if suite is None:
        from training.evaluation import suite_result as suite
    current, result = model, suite(model)
    history = TurnHistory(result, evaluate(model) if evaluate else None, start_model=model)
    for k in range(1, turns + 1):
        if not result.verdict.failures:
            history.stopped = CONVERGED
            break
        t0 = time.perf_counter()
        made = generate_from_suite(project, current, result=result, round=k - 1, **generate_kw)
        if not made["batches"]:
            history.stopped = (
                f"{NOTHING_TO_GENERATE} ({'; '.join(f'{f}: {why}' for f, why in made['skipped'].items())})"
            )
            break
        reviewed = review(project, made)
        nxt = train(k)
        new = suite(nxt)
        turn = Turn(
            k,
            nxt,
            new,
            made,
            reviewed,
            improved_functionalities(result, new, min_gain=min_gain),
            (time.perf_counter() - t0) / 60,
            evaluate(nxt) if evaluate else None,
        )
        history.turns.append(turn)
        if on_turn is not None:
            on_turn(turn)
        *before, now = history.overall().values()
        current, result = nxt, new
        if not turn.improved:
            history.stopped = NOT_IMPROVED
            break
        if now < max(before) - min_gain:
            history.stopped = f"{LOST_GROUND}: overall pass rate {max(before):.3f} (best, {history.best}) -> {now:.3f}"
            break
    else:
        if history.turns and not result.verdict.failures:
            history.stopped = CONVERGED
    return history
