"""Score a candidate and decide: the one evaluation every verdict comes from.

:func:`evaluate_candidate` takes a candidate model (anything shaped like a model directory: labels,
thresholds, taxonomy, card, ``predictor(variant)``, ``split(name)``), its holdout, its production slice, its
functional suites and regression vectors (files in its folder) and the promoted model, and returns one
:class:`~training.evaluation.GateReport`: every variant scored and gated (torch first; each exported ONNX
variant also against torch's decisions, the parity rule), the production slice, the paired comparison with the
promoted model on every slice (:func:`compare_with`), and the report files. ``train``, ``watch``,
``recalibrate``, ``workbench evaluate`` and the retrain panel all call it, and ``workbench gate``, ``promote``
and the panel read the report it made; a gate rule changed here changes every one of those verdicts.

This module imports nothing of ``training.artifacts`` (it sits below it): the candidate is duck-typed, and the
caller records the report in the candidate's card (``candidate.record(report)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import pandas as pd

from foundation import file_sha256, utc_now

from ._gates import (
    REGRESSION_ALPHA,
    REGRESSION_TOLERANCE,
    GateVerdict,
    compare_models,
    gate_labels,
    gate_model,
    load_vectors,
    merge_verdicts,
    paired_regression,
    run_vectors,
)
from ._metrics import evaluate, evaluate_slices, pr_figure, reliability_figure, write_model_report
from ._parity import parity_check
from ._report import GateReport, ProductionSlice, VariantResult, min_positives_of
from ._suites import SUITE_FILE, compare_suites, read_suite_cases, run_suite

__all__ = [
    "Candidate",
    "evaluate_candidate",
    "evaluate_variant",
    "suite_result",
    "production_slice",
    "compare_with",
    "paired_comparison",
    "ONNX_VARIANTS",
]

ONNX_VARIANTS = ("fp32", "fp16", "int8")

Split = tuple[pd.DataFrame, list[str], np.ndarray]

_PAIRED_COLUMNS = [
    *("delta_f1", "delta_recall", "delta_precision", "delta_fpr", "tolerance", "beyond_tolerance"),
    *("lost_positives", "gained_positives", "new_false_positives", "fixed_false_positives"),
    *("paired_delta_recall", "paired_delta_fpr", "p_recall", "p_fpr", "regression"),
]


class Candidate(Protocol):
    """What the evaluation reads of a model (a :class:`training.artifacts.ModelDirectory` is one)."""

    root: Path
    card: Any
    labels: list[str]
    thresholds: list[float]
    taxonomy: Any

    def predictor(self, variant: str = "torch") -> Callable[[Sequence[str]], np.ndarray]: ...

    def split(self, name: str) -> Split: ...


def _decisions(model: Candidate, probs: np.ndarray) -> np.ndarray:
    return np.asarray(probs) >= np.asarray(model.thresholds)[None, :]


def suite_result(candidate: Candidate, predict=None, *, variant: str | None = None):
    """The functional suites' result (:class:`training.evaluation.SuiteResult`) of a variant on the test-side
    cases the candidate is gated on (``suite_cases.jsonl`` in its folder); ``None`` without cases."""
    cases, left_out = read_suite_cases(Path(candidate.root) / SUITE_FILE)
    if not cases:
        return None
    predict = predict or candidate.predictor(variant or "torch")
    return run_suite(cases, predict, label_names=candidate.labels, thresholds=candidate.thresholds, left_out=left_out)


def _vectors_verdict(candidate: Candidate, predict) -> GateVerdict | None:
    path = Path(candidate.root) / "regression_vectors.yaml"
    if not path.exists():
        return None
    return run_vectors(
        load_vectors(path, candidate.taxonomy),
        lambda t: predict(t),
        label_names=candidate.labels,
        thresholds=candidate.thresholds,
        graduated=candidate.card.graduated_vectors,
    )


def evaluate_variant(
    candidate: Candidate,
    variant: str,
    holdout: Split,
    *,
    reference: np.ndarray | None = None,
    probs: np.ndarray | None = None,
    also: GateVerdict | None = None,
) -> VariantResult:
    """Score one variant on ``holdout`` with the candidate's thresholds and gate it: the tier gates, the
    regression vectors, the functional suites, and (``reference``: torch's holdout probabilities) the parity
    rule; ``also``: one more verdict the variant must pass (a recalibration's check on production posts).
    ``probs``: the variant's holdout probabilities when the caller has them already."""
    _, texts, y = holdout
    predict = candidate.predictor(variant)
    if probs is None:
        probs = predict(texts)
    card = candidate.card
    per_label, summary = evaluate(
        y,
        probs,
        candidate.thresholds,
        label_names=candidate.labels,
        base_rates=card.base_rates,
        bands=card.policy_bands or None,
    )
    suite = suite_result(candidate, predict)
    verdict = gate_model(
        per_label,
        candidate.taxonomy,
        vectors_verdict=_vectors_verdict(candidate, predict),
        suite_verdict=None if suite is None else suite.verdict,
        min_positives=card.min_holdout_positives,
    )
    parity: dict[str, Any] = {}
    if reference is not None and len(texts):
        parity, failures = parity_check(
            variant, y, probs, reference, candidate.thresholds, label_names=candidate.labels, rule=card.parity
        )
        if failures:
            verdict.passed = False
            verdict.failures.extend(failures)
    if also is not None:
        verdict = merge_verdicts(verdict, also)
    onnx = Path(candidate.root) / "onnx" / f"model.{variant}.onnx"
    return VariantResult(
        summary=summary,
        per_label=per_label.reset_index().to_dict(orient="records"),
        gate=verdict,
        passed=verdict.passed,
        evaluated_at=utc_now(),
        sha256=None if variant == "torch" else file_sha256(onnx),
        suite=None if suite is None else suite.summary(),
        **parity,
    )


def production_slice(candidate: Candidate, production: Split, *, probs: np.ndarray | None = None) -> ProductionSlice:
    """The candidate on its production slice (``production_holdout`` posts of its snapshot): per label the
    usual figures and the status its tier gate gives there (``pass`` / ``fail`` / ``insufficient_evidence``;
    ``unknown`` for a label no post of the slice knows). Shown beside the curated holdout's verdict; what
    blocks promotion there is a significant drop against the promoted model (:func:`compare_with`)."""
    _, texts, y = production
    if probs is None:
        probs = candidate.predictor("torch")(texts)
    per_label, summary = evaluate(y, probs, candidate.thresholds, label_names=candidate.labels)
    known = per_label[per_label["support"] > 0]
    status = {lab: "unknown" for lab in candidate.labels}
    if len(known):
        status.update(gate_labels(known, candidate.taxonomy).label_status)
    return ProductionSlice(
        posts=len(texts),
        per_label=per_label.reset_index().to_dict(orient="records"),
        label_status=status,
        summary=summary,
    )


def paired_comparison(
    candidate: Candidate,
    other: Candidate,
    split: Split,
    *,
    other_variant: str = "torch",
    probs: np.ndarray | None = None,
) -> pd.DataFrame:
    """Two models decide on the same rows (each with its own thresholds; ``other`` with ``other_variant``):
    per shared label the deltas of F1, recall, precision and FPR (``beyond_tolerance``: beyond the tier's
    :data:`REGRESSION_TOLERANCE`, as description) and the paired test of :func:`paired_regression` (exact
    McNemar, one-sided, on the disagreements: lost positives, new false positives), whose ``regression`` is
    the verdict. The one comparison of two models, over any slice (holdout, production posts, a new week)."""
    _, texts, y = split
    shared = [lab for lab in candidate.labels if lab in other.labels]
    if not shared:  # models of two label groups: nothing to compare
        return pd.DataFrame(columns=_PAIRED_COLUMNS, index=pd.Index([], name="label"))
    cols_c = [candidate.labels.index(lab) for lab in shared]
    cols_o = [other.labels.index(lab) for lab in shared]
    if probs is None:
        probs = candidate.predictor("torch")(texts)
    other_probs = other.predictor(other_variant)(texts)
    mine, theirs = _decisions(candidate, probs), _decisions(other, other_probs)
    ys = y[:, cols_c]
    per_c, _ = evaluate(ys, np.asarray(probs)[:, cols_c], [candidate.thresholds[j] for j in cols_c], label_names=shared)
    per_o, _ = evaluate(
        ys, np.asarray(other_probs)[:, cols_o], [other.thresholds[j] for j in cols_o], label_names=shared
    )
    tolerance = {lab: REGRESSION_TOLERANCE.get(candidate.taxonomy[lab].tier, 0.02) for lab in shared}
    deltas = compare_models(per_c, per_o, tolerance=tolerance).rename(columns={"regression": "beyond_tolerance"})
    paired = paired_regression(ys, mine[:, cols_c], theirs[:, cols_o], label_names=shared)
    return deltas.join(paired, how="inner")


def compare_with(
    candidate: Candidate,
    promoted: Candidate,
    *,
    variant: str = "torch",
    holdout: Split | None = None,
    probs: np.ndarray | None = None,
    production: Split | None = None,
    production_probs: np.ndarray | None = None,
    suite: dict | None = None,
) -> dict:
    """The comparison with the promoted model (what ``promote`` refuses on), every slice through
    :func:`paired_comparison`: the candidate's holdout (``per_label``), its production slice when it has one
    (``production``), and the functional suites (``suite``, :func:`training.evaluation.compare_suites`); the
    promoted model decides with ``variant`` (the promoted one) and its own thresholds. ``suite``: the
    candidate's suite summary (default: its card's torch result); ``probs`` and ``production_probs``: the
    candidate's torch probabilities on the holdout and on the production slice when the caller has them."""
    holdout = holdout if holdout is not None else candidate.split("holdout")
    table = paired_comparison(candidate, promoted, holdout, other_variant=variant, probs=probs)
    out: dict[str, Any] = {
        "against": str(promoted.root),
        "variant": variant,
        "test": f"exact McNemar, one-sided, alpha {REGRESSION_ALPHA} per label and side, on this model's holdout",
        "per_label": table.reset_index().to_dict(orient="records"),
    }
    if production is not None and len(production[1]):
        on_posts = paired_comparison(candidate, promoted, production, other_variant=variant, probs=production_probs)
        out["production"] = {
            "posts": len(production[1]),
            "per_label": on_posts.drop(columns=[c for c in on_posts if c.startswith("delta_") or "tolerance" in c])
            .reset_index()
            .to_dict(orient="records"),
        }
    if suite is None:
        mine = candidate.card.variants.get("torch")
        suite = mine.suite if mine is not None else None
    before = promoted.card.variants.get("torch")
    if suite and before is not None and before.suite:
        out["suite"] = compare_suites(suite, before.suite)
    return out


def _write_report(
    candidate: Candidate, holdout: Split, probs: np.ndarray, torch: VariantResult, title: str
) -> list[str]:
    frame, _, y = holdout
    names, thresholds = candidate.labels, candidate.thresholds
    out = Path(candidate.root) / "report"
    per_label = pd.DataFrame(torch.per_label).set_index("label")
    write_model_report(
        out,
        title=title,
        per_label=per_label,
        summary=torch.summary,
        slices=evaluate_slices(frame, y, probs, thresholds, label_names=names),
        gate_lines=torch.gate.lines(),
        figures={
            "reliability": reliability_figure(y, probs, label_names=names),
            "pr_curves": pr_figure(y, probs, thresholds, label_names=names),
        },
    )
    per_label.to_csv(out / "holdout_per_label.csv")
    return sorted(str(p) for p in out.glob("*"))


def evaluate_candidate(
    candidate: Candidate,
    *,
    holdout: Split | None = None,
    production: Split | None = None,
    promoted: Candidate | None = None,
    promoted_variant: str = "torch",
    variants: Sequence[str] | None = None,
    probs: np.ndarray | None = None,
    also: GateVerdict | None = None,
    report_title: str | None = None,
) -> GateReport:
    """Score ``candidate`` and decide: the one evaluation every verdict of the workbench comes from.

    ``holdout``: the curated holdout (default: the candidate's snapshot's); ``variants``: which to score
    (default: torch and every exported ONNX variant in the candidate's folder), torch first, the others also
    against torch's decisions (parity); ``production``: the production slice (its gate statuses beside the
    holdout's, and a paired comparison there); ``promoted``: the promoted model (its known gaps that passed
    stay gated as regressions in the candidate: the caller sets ``card.graduated_vectors`` before; the paired
    comparison on every slice and the suites' deltas); ``also``: one more verdict every variant must pass;
    ``report_title``: write the report files (``report/``: report.md / .html, per-label CSV, plots).
    ``probs``: torch's holdout probabilities when the caller has them already."""
    holdout = holdout if holdout is not None else candidate.split("holdout")
    texts = holdout[1]
    if variants is None:
        onnx = Path(candidate.root) / "onnx"
        variants = ["torch"] + [v for v in ONNX_VARIANTS if (onnx / f"model.{v}.onnx").exists()]
    reference = probs if probs is not None else candidate.predictor("torch")(texts)
    results = {"torch": evaluate_variant(candidate, "torch", holdout, probs=reference, also=also)}
    for v in variants:
        if v != "torch":
            results[v] = evaluate_variant(candidate, v, holdout, reference=reference, also=also)
    report = GateReport(
        model=str(candidate.root),
        variants=results,
        thresholds=dict(zip(candidate.labels, map(float, candidate.thresholds))),
        min_positives=min_positives_of(candidate),
    )
    production_probs = None
    if production is not None and len(production[1]):  # torch on the slice once: its statuses and the comparison
        production_probs = candidate.predictor("torch")(production[1])
        report.production = production_slice(candidate, production, probs=production_probs)
    if promoted is not None:
        report.comparison = compare_with(
            candidate,
            promoted,
            variant=promoted_variant,
            holdout=holdout,
            probs=reference,
            production=production,
            production_probs=production_probs,
            suite=results["torch"].suite,
        )
    if report_title is not None:
        report.files = _write_report(candidate, holdout, reference, results["torch"], report_title)
    return report
