"""What the evaluation of one candidate decided, as one typed object: :class:`GateReport`.

A report holds, per evaluated variant (torch and each ONNX export), a :class:`VariantResult` (metrics with
intervals, the tier gates' verdict and statuses, regression vectors and functional suites, parity against
torch), the :class:`ProductionSlice` beside the curated holdout, the paired comparison with the promoted model
on every slice, and the report files. Everything that reads a verdict reads it here: ``workbench gate`` (its
exit code is :attr:`GateReport.passed`), the retrain panel's tables (:meth:`GateReport.gate_table`,
:meth:`GateReport.suite_table`), ``promote`` (:meth:`GateReport.promotion_refusal`: the rules that decide
whether a variant may ship), ``watch``'s result. The card stores the same facts
(:meth:`GateReport.of` reads them back), so a report outlives the process that made it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from curation import WorkbenchError

from ._gates import GateVerdict

__all__ = ["GateReport", "VariantResult", "ProductionSlice", "best_variant", "SPEED_ORDER"]

SPEED_ORDER = ("int8", "fp32", "fp16", "torch")
"""The variants from fastest to slowest on a CPU (fp16 is slower than fp32 without fp16 arithmetic)."""

_GATE_FIGURES = (
    "threshold",
    "positives",
    "precision",
    "recall",
    "f1",
    "fpr",
    "precision_at_base_rate",
    "fpr_at_base_rate",
    "recall_ci",
    "precision_ci",
    "fpr_ci",
    "band_precision",
)
"""What :meth:`GateReport.to_dict` (``workbench gate --json``) shows of each label, beside its status and minimum."""

_TABLE_COLUMNS = [
    "status",
    "passed",
    "f1",
    "recall",
    "recall_ci",
    "precision",
    "precision_ci",
    "fpr",
    "fpr_ci",
    "precision_at_base_rate",
    "fpr_at_base_rate",
    "band_precision",
    "threshold",
    "positives",
    "min_positives",
    "failed_checks",
]


def _plain(value: Any) -> Any:
    """A JSON-friendly figure: NaN as ``None``."""
    return None if isinstance(value, float) and np.isnan(value) else value


def _bands_text(bands: Any) -> str:
    """``hide 0.97 (n 31), warn 0.85 (n 60)``: a band's holdout precision and the rows it acts on."""
    if not isinstance(bands, dict):
        return ""
    return ", ".join(
        f"{b} {'-' if v['precision'] is None else format(v['precision'], '.2f')} (n {v['n']})" for b, v in bands.items()
    )


def min_positives_of(model) -> dict[str, int]:
    """Per label, the holdout positives its gate needs before it can pass: the taxonomy's minimum, never below
    the card's (``model``: a model directory or anything with ``labels``, ``taxonomy`` and ``card``)."""
    floor = int(model.card.min_holdout_positives or 0)
    return {lab: max(int(model.taxonomy[lab].min_holdout_positives), floor) for lab in model.labels}


def best_variant(variants: Mapping[str, Any]) -> str:
    """The fastest variant that passed its gate (:data:`SPEED_ORDER`), else ``torch``."""
    for v in SPEED_ORDER:
        info = variants.get(v)
        if info is not None and info.passed:
            return v
    return "torch"


@dataclass
class VariantResult:
    """One variant's holdout evaluation: metrics, its gate verdict and, for ONNX variants, the parity
    figures against torch and the hash of the file that was gated."""

    summary: dict[str, Any]
    per_label: list[dict[str, Any]]
    gate: GateVerdict
    passed: bool
    evaluated_at: str | None = None
    sha256: str | None = None
    decision_agreement: float | None = None
    f1_delta_max: float | None = None
    f1_delta_label: str | None = None
    max_abs_diff_vs_torch: float | None = None
    collapsed: list[str] | None = None
    rule: dict[str, Any] | None = None
    suite: dict[str, Any] | None = None  # functional suites: pass rate per functionality (training.evaluation._suites)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VariantResult:
        names = {f.name for f in dataclasses.fields(cls)} - {"extra", "gate"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names and k not in ("gate", "extra")}
        return cls(
            gate=GateVerdict.from_dict(data.get("gate") or {"passed": data.get("passed", False)}),
            **{"summary": {}, "per_label": [], "passed": False, **known},
            extra={**data.get("extra", {}), **extra},
        )

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("gate", "extra")}
        out = {k: v for k, v in out.items() if v is not None}
        return {**out, "gate": self.gate.to_dict(), **self.extra}


@dataclass
class ProductionSlice:
    """The gate's production slice: the model on ``production_holdout`` posts (labelled on the team's own
    platform, never trained or tuned on), per label with the status the tier gate gives it there, and the
    comparison with the promoted model on the same posts when there was one."""

    posts: int = 0
    per_label: list[dict[str, Any]] = field(default_factory=list)
    label_status: dict[str, str] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def label_status(verdict: GateVerdict, label: str) -> str:
    """``pass``, ``fail`` or ``insufficient_evidence`` (cards from before statuses: pass or fail)."""
    if label in verdict.label_status:
        return verdict.label_status[label]
    return "fail" if verdict.for_label(label) else "pass"


@dataclass
class GateReport:
    """One candidate's evaluation: every variant's result, the production slice, the comparison with the
    promoted model (``None`` when there was none), what each label needs, and the report files.

    Made by :func:`training.evaluation.evaluate_candidate`, or read back from a model's card with
    :meth:`of`."""

    model: str
    variants: dict[str, VariantResult]
    thresholds: dict[str, float] = field(default_factory=dict)
    min_positives: dict[str, int] = field(default_factory=dict)
    production: ProductionSlice | None = None
    comparison: dict[str, Any] | None = None
    files: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, model) -> GateReport:
        """The report a model's card holds (what its last evaluation decided); ``model``: a model directory."""
        card = model.card
        report_dir = Path(model.root) / "report"
        return cls(
            model=str(model.root),
            variants=dict(card.variants),
            thresholds=dict(card.thresholds),
            min_positives=min_positives_of(model),
            production=card.production.slice if card.production is not None else None,
            comparison=card.comparison,
            files=sorted(str(p) for p in report_dir.glob("*")) if report_dir.is_dir() else [],
        )

    # ------------------------------------------------------------------ the decision
    @property
    def best_variant(self) -> str:
        return best_variant(self.variants)

    @property
    def passed(self) -> bool:
        """Whether the best variant passed its gate (what ``workbench gate`` turns into its exit code)."""
        best = self.best_variant
        return bool(best in self.variants and self.variants[best].passed)

    def verdict(self, variant: str = "torch") -> GateVerdict:
        return self._variant(variant, "verdict").gate

    def regressions(self) -> list[dict] | None:
        """Labels whose decisions fell against the promoted model, on the curated holdout and (rows with
        ``slice: production``) on the production slice; ``None`` when there was no promoted model."""
        cmp_ = self.comparison
        if not cmp_:
            return None
        on_production = (cmp_.get("production") or {}).get("per_label") or []
        return [r for r in cmp_["per_label"] if r["regression"]] + [
            {**r, "slice": "production"} for r in on_production if r["regression"]
        ]

    def suite_regressions(self) -> dict[str, dict]:
        """Functionalities whose pass rate fell significantly against the promoted model."""
        return {k: v for k, v in ((self.comparison or {}).get("suite") or {}).items() if v["regression"]}

    def promotion_refusal(
        self, variant: str, *, accept_regression: str | None = None, accept_insufficient: str | None = None
    ) -> WorkbenchError | None:
        """Why ``variant`` may not ship, or ``None`` when it may: it must have passed its gate, no T1 label
        may be ``insufficient_evidence`` unless ``accept_insufficient`` gives the reason, and no label or
        functionality may have regressed against the promoted model unless ``accept_regression`` does."""
        where = f"promotion of {self.model} ({variant})"
        info = self.variants.get(variant)
        if info is None:
            return WorkbenchError(
                where,
                expected="an evaluated variant",
                got="none",
                fix="export and evaluate it first (workbench model export / evaluate)",
            )
        if not info.passed:
            fails = "; ".join(f.line() for f in info.gate.failures[:8])
            return WorkbenchError(
                f"{where} refused",
                expected="a variant that passed its gate",
                got=f"a failed gate: {fails}",
                fix="fix the data or the model and retrain",
            )
        thin_t1 = [f for f in info.gate.insufficient if f.tier == "T1"]
        if thin_t1 and not (accept_insufficient and accept_insufficient.strip()):
            return WorkbenchError(
                f"{where} refused",
                expected="enough holdout positives on every T1 label to show its gate holds",
                got="insufficient evidence: "
                + "; ".join(f"{f.subject} {f.value} positives ({f.required})" for f in thin_t1),
                fix="add labelled holdout data for these labels and retrain, or promote with "
                "--accept-insufficient 'why this is acceptable'",
            )
        regressions, suite_regressions = self.regressions() or [], self.suite_regressions()
        if (regressions or suite_regressions) and not (accept_regression and accept_regression.strip()):
            return WorkbenchError(
                f"{where} refused",
                expected=f"no label or functionality worse than the promoted model {self.comparison['against']} "
                "beyond its tolerance",
                got=f"regressions: {_regression_lines(regressions, suite_regressions)}",
                fix="fix the data and retrain, or promote with --accept-regression 'why this is acceptable'",
            )
        return None

    # ------------------------------------------------------------------ views of it
    def _variant(self, variant: str, what: str) -> VariantResult:
        info = self.variants.get(variant)
        if info is None:
            raise WorkbenchError(
                f"{what} of {self.model} ({variant})",
                expected="an evaluated variant",
                got=f"variants {sorted(self.variants)}",
            )
        return info

    def _label_rows(self, per_label: list[dict], status_of) -> dict[str, dict[str, Any]]:
        return {
            row["label"]: {
                "status": status_of(row["label"]),
                "min_positives": self.min_positives.get(row["label"]),
                **{k: _plain(row.get(k)) for k in _GATE_FIGURES if k in row},
            }
            for row in per_label
        }

    def to_dict(self) -> dict[str, Any]:
        """``{"variants": {name: {"passed", "failures", "notes", "max_abs_diff_vs_torch", "decision_agreement",
        "f1_delta_max", "labels": {label: {"status", "min_positives", "precision", "recall", "f1", "fpr",
        ...}}, "insufficient_evidence"}}, "best_variant", "passed", "production"}``: ``workbench gate --json``."""
        sl = self.production
        return {
            "variants": {
                v: {
                    "passed": i.passed,
                    "failures": [f.to_dict() for f in i.gate.failures],
                    "notes": [f.to_dict() for f in i.gate.notes],
                    "max_abs_diff_vs_torch": i.max_abs_diff_vs_torch,
                    "decision_agreement": i.decision_agreement,
                    "f1_delta_max": i.f1_delta_max,
                    "labels": self._label_rows(i.per_label, lambda lab, g=i.gate: label_status(g, lab)),
                    "insufficient_evidence": [f.subject for f in i.gate.insufficient],
                }
                for v, i in self.variants.items()
            },
            "best_variant": self.best_variant,
            "passed": self.passed,
            "production": None
            if sl is None
            else {
                "posts": sl.posts,
                "labels": self._label_rows(sl.per_label, lambda lab: sl.label_status.get(lab, "unknown")),
            },
        }

    def gate_table(self, variant: str = "torch") -> tuple[pd.DataFrame, list]:
        """One row per label of a variant's holdout gate (``status``, ``passed``, ``f1``, ``recall``, ``fpr``
        with intervals, ``threshold``, ``positives``, the failed checks and, against the promoted model, the
        deltas and ``regression``) and the failed regression vectors."""
        info = self._variant(variant, "gate table")
        table = pd.DataFrame(info.per_label).set_index("label")
        table["failed_checks"] = [
            ", ".join(f"{f.check} {f.value} (required {f.required})" for f in info.gate.for_label(lab))
            for lab in table.index
        ]
        table["passed"] = table["failed_checks"] == ""
        table["status"] = [label_status(info.gate, lab) for lab in table.index]
        table["min_positives"] = [self.min_positives.get(lab) for lab in table.index]
        table["threshold"] = [self.thresholds.get(lab) for lab in table.index]
        if "band_precision" in table:  # hide / warn / badge: the holdout precision of the rows each band acts on
            table["band_precision"] = [_bands_text(b) for b in table["band_precision"]]
        cols = list(_TABLE_COLUMNS)
        if self.comparison and self.comparison.get("per_label"):  # empty: the promoted model shares no label
            deltas = pd.DataFrame(self.comparison["per_label"]).set_index("label")
            table = table.join(deltas[["delta_f1", "delta_recall", "delta_fpr", "regression"]])
            cols += ["delta_f1", "delta_recall", "delta_fpr", "regression"]
        return table[[c for c in cols if c in table.columns]], info.gate.of_kind("vector")

    def suite_table(self, variant: str = "torch") -> pd.DataFrame:
        """One row per functionality of a variant's suite gate: ``pass_rate``, ``min_pass``, ``cases``,
        ``known_gap``, ``passed`` and, against the promoted model, ``promoted``, ``delta`` and ``regression``
        (empty without suite cases)."""
        info = self.variants.get(variant)
        suite = info.suite if info is not None else None
        if not suite:
            return pd.DataFrame(columns=["pass_rate", "min_pass", "cases", "known_gap", "passed"])
        details = suite.get("details", {})
        table = pd.DataFrame(
            [
                {"functionality": k, "pass_rate": v, **{d: x for d, x in details.get(k, {}).items() if d != "passed"}}
                for k, v in suite["functionalities"].items()
            ]
        ).set_index("functionality")
        table["passed"] = (table["pass_rate"] >= table["min_pass"]) | table["known_gap"].astype(bool)
        cmp_ = (self.comparison or {}).get("suite")
        if cmp_:
            table = table.join(pd.DataFrame(cmp_).T[["promoted", "delta", "regression"]])
        return table


def _regression_lines(regressions: list[dict], suite_regressions: dict[str, dict]) -> str:
    return "; ".join(
        [
            f"{r['label']} on the production slice: {r['lost_positives']} positives lost / "
            f"{r['gained_positives']} gained, {r['new_false_positives']} false positives added / "
            f"{r['fixed_false_positives']} fixed (McNemar p {min(r['p_recall'], r['p_fpr']):.2g})"
            for r in regressions
            if r.get("slice") == "production"
        ]
        + [
            f"{r['label']} F1 {r['delta_f1']:+.3f} recall {r['delta_recall']:+.3f} FPR {r['delta_fpr']:+.3f}"
            + (
                f" (same holdout: {r['lost_positives']} positives lost / {r['gained_positives']} gained, "
                f"{r['new_false_positives']} false positives added / {r['fixed_false_positives']} fixed; "
                f"McNemar p {min(r['p_recall'], r['p_fpr']):.2g})"
                if "p_recall" in r
                else f" (tolerance {r.get('tolerance', 0.02):.2f})"
            )
            for r in regressions
            if r.get("slice") != "production"
        ]
        + [
            f"functionality {name} pass rate {v['pass_rate']:.3f} ({v['delta']:+.3f} against {v['promoted']:.3f})"
            for name, v in suite_regressions.items()
        ]
    )
