"""Scoring a candidate and deciding, as one capability: :func:`evaluate_candidate` takes a candidate model,
its holdout, its production slice, its suites and the promoted model and returns one :class:`GateReport`
(every verdict of the workbench is read from one; ``promote`` asks :meth:`GateReport.promotion_refusal`).
Its parts: metrics with intervals, thresholds tuned on calib at the production base
rates, tier gates and regression vectors (a verdict of typed failures), the parity rule for exported variants,
functional suites as gates, and the paired comparison of two models.

Part of ``training`` (imports ``foundation``, ``curation`` and the rest of ``training``; never ``workbench``).
"""

from ._candidate import compare_with, evaluate_candidate, paired_comparison, production_slice, suite_result
from ._gates import (
    LABEL_STATUSES,
    REGRESSION_ALPHA,
    REGRESSION_TOLERANCE,
    GateFailure,
    GateVerdict,
    RegressionVectors,
    compare_models,
    gate_labels,
    gate_model,
    load_vectors,
    paired_regression,
    run_vectors,
)
from ._metrics import (
    evaluate,
    evaluate_slices,
    expected_calibration_error,
    pr_figure,
    reliability_figure,
    wilson_interval,
    write_model_report,
)
from ._parity import PARITY_RULE, parity_check
from ._report import GateReport, ProductionSlice, VariantResult, best_variant
from ._suites import SuiteResult, gate_cases, perturbations_on, run_perturbations, run_suite
from ._thresholds import base_rate_setting, base_rate_weights, binary_rates, group_rates, tune_thresholds

__all__ = [
    "evaluate_candidate",
    "GateReport",
    "VariantResult",
    "ProductionSlice",
    "best_variant",
    "production_slice",
    "compare_with",
    "paired_comparison",
    "suite_result",
    "evaluate",
    "evaluate_slices",
    "expected_calibration_error",
    "pr_figure",
    "reliability_figure",
    "wilson_interval",
    "write_model_report",
    "base_rate_setting",
    "base_rate_weights",
    "binary_rates",
    "group_rates",
    "tune_thresholds",
    "LABEL_STATUSES",
    "REGRESSION_ALPHA",
    "REGRESSION_TOLERANCE",
    "GateFailure",
    "GateVerdict",
    "RegressionVectors",
    "compare_models",
    "gate_labels",
    "gate_model",
    "load_vectors",
    "paired_regression",
    "run_vectors",
    "PARITY_RULE",
    "parity_check",
    "SuiteResult",
    "gate_cases",
    "run_suite",
    "perturbations_on",
    "run_perturbations",
]
