"""Promotion gates: per-label tier gates on holdout plus regression vectors.

Regression vectors (YAML) are small hand-written cases that must keep working::

    positives:          # each must fire every listed label
      - {text: "I will find you and hurt you", labels: [violence]}
    hard_negatives:     # must fire none of the listed labels
      - {text: "this burger is killer", labels: [violence]}
    co_detection:       # multi-label: all listed labels must fire together
      - {text: "...", labels: [harassment, violence]}
    context_pairs:      # the same words, two readings: `label` fires on `fires`, not on `silent`
      - {label: violence, fires: "I am going to kill you", silent: "I am going to kill it on stage tonight"}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np
import pandas as pd
import yaml

from curation import Taxonomy, WorkbenchError

__all__ = [
    "GateFailure",
    "GateVerdict",
    "gate_labels",
    "LABEL_STATUSES",
    "merge_verdicts",
    "RegressionVectors",
    "load_vectors",
    "run_vectors",
    "gate_model",
    "compare_models",
    "paired_regression",
    "REGRESSION_ALPHA",
]

_VECTOR_KINDS = ("positives", "hard_negatives", "co_detection", "context_pairs")


@dataclass
class GateFailure:
    """One reason a model may not be promoted.

    ``kind``: ``label`` (a tier gate on holdout), ``vector`` (a regression vector), ``variant`` (an ONNX
    variant's parity with torch) or ``functionality`` (a functional test); ``subject``: the label name,
    the vector (``hard_negatives[0]``), the variant or the functionality; ``check``, ``value`` and
    ``required`` say what was measured and what it had to be; ``tier`` for label failures."""

    kind: str
    subject: str
    check: str
    value: Any
    required: str
    tier: str | None = None

    KINDS: ClassVar[tuple[str, ...]] = ("label", "vector", "variant", "functionality")

    @property
    def what(self) -> str:
        """The failure's subject in words: ``label hate (T2)``, ``vector hard_negatives[0]``, ..."""
        return f"{self.kind} {self.subject}" + (f" ({self.tier})" if self.tier else "")

    def line(self) -> str:
        return f"{self.what}: {self.check} {self.value} (required {self.required})"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "what": self.what}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateFailure:
        """A stored failure; cards of format 1 stored only ``what`` (``label hate (T2)``), read here."""
        if "kind" in data:
            return cls(**{k: data.get(k) for k in ("kind", "subject", "check", "value", "required", "tier")})
        kind, _, rest = str(data["what"]).partition(" ")
        tier = None
        if kind == "label" and rest.endswith(")") and " (" in rest:
            rest, _, tier = rest[:-1].rpartition(" (")
        return cls(
            kind=kind, subject=rest, check=data["check"], value=data["value"], required=data["required"], tier=tier
        )


@dataclass
class GateVerdict:
    """Whether a model may be promoted, and every reason it may not."""

    passed: bool
    failures: list[GateFailure] = field(default_factory=list)
    checked: int = 0
    notes: list[GateFailure] = field(default_factory=list)  # reported, never failing (known gaps)
    passed_known_gaps: list[str] = field(default_factory=list)
    # labels with fewer holdout positives than their minimum (``holdout positives`` checks), and each
    # label's status: pass / fail / insufficient_evidence (see :func:`gate_labels`)
    insufficient: list[GateFailure] = field(default_factory=list)
    label_status: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        thin = ["INSUFFICIENT EVIDENCE " + f.line() for f in self.insufficient]
        if self.passed:
            return [f"PASS ({self.checked} checks)", *thin]
        return ["FAIL " + f.line() for f in self.failures] + thin

    def of_kind(self, kind: str) -> list[GateFailure]:
        return [f for f in self.failures if f.kind == kind]

    def for_label(self, label: str) -> list[GateFailure]:
        return [f for f in self.failures if f.kind == "label" and f.subject == label]

    def to_dict(self) -> dict[str, Any]:
        out = {"passed": self.passed, "failures": [f.to_dict() for f in self.failures], "checked": self.checked}
        if self.notes:
            out["notes"] = [f.to_dict() for f in self.notes]
        if self.passed_known_gaps:
            out["passed_known_gaps"] = list(self.passed_known_gaps)
        if self.insufficient:
            out["insufficient"] = [f.to_dict() for f in self.insufficient]
        if self.label_status:
            out["label_status"] = dict(self.label_status)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateVerdict:
        return cls(
            passed=bool(data.get("passed")),
            checked=int(data.get("checked", 0)),
            failures=[GateFailure.from_dict(f) for f in data.get("failures", [])],
            notes=[GateFailure.from_dict(f) for f in data.get("notes", [])],
            passed_known_gaps=list(data.get("passed_known_gaps", [])),
            insufficient=[GateFailure.from_dict(f) for f in data.get("insufficient", [])],
            label_status=dict(data.get("label_status", {})),
        )


LABEL_STATUSES = ("pass", "fail", "insufficient_evidence")


def gate_labels(per_label: pd.DataFrame, taxonomy: Taxonomy, *, min_positives: int | None = None) -> GateVerdict:
    """Check each label's holdout F1, recall and FPR against its tier gate (the FPR at the production
    base rate when ``per_label`` has ``fpr_at_base_rate``), and give each label a status.

    A gate knows its evidence. A label needs at least its minimum of holdout positives (the taxonomy's
    ``min_holdout_positives``: T1 30, T2 20, T3 10, T4/T5 5 by default, overridable per label; never
    below ``min_positives`` when given) before its F1 and recall can pass. Its status is:

    - ``fail`` when a check with the evidence to fail fails: the FPR (measured on the negatives, which
      are plentiful) always, F1 and recall when the label has its minimum of positives;
    - ``insufficient_evidence`` when nothing failed but the label has fewer positives than its minimum
      (listed in ``verdict.insufficient``, not among the failures: the gate neither passes nor fails it,
      and :func:`training.artifacts.promote` refuses a T1 label in this state without a stated reason);
    - ``pass`` otherwise.

    >>> from curation import Taxonomy
    >>> tax = Taxonomy.from_dict({"labels": [{"name": "a", "tier": "T2"}, {"name": "b", "tier": "T2"}]})
    >>> per = pd.DataFrame({"positives": [40, 1], "f1": [0.9, 1.0], "recall": [0.9, 1.0], "fpr": [0.01, 0.0]},
    ...                    index=pd.Index(["a", "b"], name="label"))
    >>> gate_labels(per, tax).label_status
    {'a': 'pass', 'b': 'insufficient_evidence'}
    """
    failures, insufficient, status, checked = [], [], {}, 0
    for name, row in per_label.iterrows():
        lab = taxonomy[name]
        g, need = lab.gate, max(int(lab.min_holdout_positives), int(min_positives or 0))
        enough = row["positives"] >= need
        checks = [_fpr_check(row, g.fpr_budget)]
        if enough:
            checks += [
                ("f1", row["f1"], f">= {g.min_f1}", row["f1"] >= g.min_f1),
                ("recall", row["recall"], f">= {g.recall_floor}", row["recall"] >= g.recall_floor),
            ]
        failed = False
        for check, value, required, ok in checks:
            checked += 1
            missing = isinstance(value, (float, np.floating)) and np.isnan(value)  # e.g. no negatives to score
            if enough if missing else not bool(ok):
                failures.append(GateFailure("label", str(name), check, _fmt(value), required, tier=lab.tier))
                failed = True
        if not enough and not failed:
            insufficient.append(
                GateFailure("label", str(name), "holdout positives", int(row["positives"]), f">= {need}", tier=lab.tier)
            )
        status[str(name)] = "fail" if failed else ("pass" if enough else "insufficient_evidence")
    return GateVerdict(
        passed=not failures, failures=failures, checked=checked, insufficient=insufficient, label_status=status
    )


def _fpr_check(row: pd.Series, budget: float) -> tuple[str, Any, str, bool]:
    """The FPR budget at the production base rate where the evaluation has it (see
    :func:`training.evaluation.base_rate_weights`), else at the split's own rate."""
    key = "fpr_at_base_rate" if "fpr_at_base_rate" in row and not pd.isna(row["fpr_at_base_rate"]) else "fpr"
    name = "fpr at base rate" if key == "fpr_at_base_rate" else "fpr"
    return name, row[key], f"<= {budget}", row[key] <= budget


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "nan" if np.isnan(v) else f"{float(v):.3f}"
    return str(v)


def _quota(value: Any, where: str) -> tuple[float, str]:
    """``min_pass`` of a group: ``"3/5"`` (a share written as a count) or a share in [0, 1]."""
    if isinstance(value, str) and "/" in value:
        k, _, n = value.partition("/")
        try:
            k_, n_ = int(k), int(n)
        except ValueError:
            k_, n_ = -1, 0
        if n_ > 0 and 0 <= k_ <= n_:
            return k_ / n_, value
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value), f"{value:.0%}"
    raise WorkbenchError(where, expected="min_pass as 'K/N' (K <= N) or a share in [0, 1]", got=repr(value))


@dataclass
class RegressionVectors:
    """The vectors of a YAML file. Entries may name a ``group`` (declared under ``groups:`` with a
    ``min_pass`` quota: ``"3/5"`` or a share) and may be a ``known_gap: true`` (reported, never failing,
    until a model passes it; from then on it must keep passing: the model card lists it in
    ``graduated_vectors``, which the next model's gate inherits from the promoted one)."""

    positives: list[dict] = field(default_factory=list)
    hard_negatives: list[dict] = field(default_factory=list)
    co_detection: list[dict] = field(default_factory=list)
    context_pairs: list[dict] = field(default_factory=list)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(getattr(self, k)) for k in _VECTOR_KINDS)


def load_vectors(path, taxonomy: Taxonomy) -> RegressionVectors:
    """Load and validate a regression-vector YAML file against the taxonomy."""
    path = Path(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    keys = [*_VECTOR_KINDS, "groups"]
    if not isinstance(data, Mapping):
        raise WorkbenchError(f"{path}", expected=f"a mapping with keys among {keys}", got=type(data).__name__)
    unknown = set(data) - set(keys)
    if unknown:
        raise WorkbenchError(f"{path}", expected=f"keys among {keys}", got=f"{sorted(unknown)}")
    out = RegressionVectors()
    for name, spec in (data.get("groups") or {}).items():
        where = f"{path} groups.{name}"
        if not isinstance(spec, Mapping) or "min_pass" not in spec:
            raise WorkbenchError(where, expected="a mapping with min_pass ('3/5' or a share)", got=repr(spec)[:80])
        share, shown = _quota(spec["min_pass"], where)
        out.groups[str(name)] = {"min_pass": share, "shown": shown}
    for kind in _VECTOR_KINDS:
        for i, item in enumerate(data.get(kind) or []):
            where = f"{path} {kind}[{i}]"
            if kind == "context_pairs":
                need = ("label", "fires", "silent")
                labs = [item.get("label")] if isinstance(item, Mapping) else []
            else:
                need = ("text", "labels")
                labs = list(item.get("labels") or []) if isinstance(item, Mapping) else []
            if not isinstance(item, Mapping) or any(k not in item for k in need):
                raise WorkbenchError(where, expected=f"a mapping with {list(need)}", got=repr(item)[:80])
            bad = [lab for lab in labs if lab not in taxonomy]
            if bad or not labs:
                raise WorkbenchError(where, expected="taxonomy labels", got=repr(labs), fix="fix the label names")
            group = item.get("group")
            if group is not None and str(group) not in out.groups:
                raise WorkbenchError(
                    where,
                    expected=f"a group declared under groups: ({sorted(out.groups)})",
                    got=repr(group),
                    fix=f"add groups: {{{group}: {{min_pass: '3/5'}}}} or drop the group",
                )
            getattr(out, kind).append(dict(item))
    return out


def vector_key(kind: str, item: Mapping[str, Any]) -> str:
    """What identifies a vector across files and models (for known gaps that graduated)."""
    text = item["fires"] + " | " + item["silent"] if kind == "context_pairs" else item["text"]
    return f"{kind}: {text}"


def run_vectors(
    vectors: RegressionVectors,
    predict_proba: Callable[[list[str]], np.ndarray],
    *,
    label_names: Sequence[str],
    thresholds: Sequence[float],
    graduated: Sequence[str] = (),
) -> GateVerdict:
    """Run every vector through ``predict_proba`` with the model's thresholds.

    A vector outside any group fails the gate when it fails; grouped vectors fail it only as a group
    under its quota; a ``known_gap`` vector is reported in ``notes`` (failing or passing) and fails
    the gate only once graduated (its key in ``graduated``). ``passed_known_gaps`` on the verdict lists
    the keys of known gaps this model passes."""
    idx = {n: j for j, n in enumerate(label_names)}
    texts: list[str] = []
    for kind in _LABEL_KINDS:
        texts += [v["text"] for v in getattr(vectors, kind)]
    for v in vectors.context_pairs:
        texts += [v["fires"], v["silent"]]
    if not texts:
        return GateVerdict(passed=True, checked=0)
    fired = predict_proba(texts) >= np.asarray(thresholds)[None, :]
    results = _vector_results(vectors, fired, idx)
    failures, notes, passed_gaps, by_group = _sort_results(results, set(graduated))
    for group, oks in by_group.items():
        quota = vectors.groups[group]
        if sum(oks) < quota["min_pass"] * len(oks) - 1e-9:
            failures.append(
                GateFailure("vector", f"group {group}", "passed", f"{sum(oks)}/{len(oks)}", f">= {quota['shown']}")
            )
    verdict = GateVerdict(passed=not failures, failures=failures, checked=len(results), notes=notes)
    verdict.passed_known_gaps = passed_gaps
    return verdict


_LABEL_KINDS = ("positives", "hard_negatives", "co_detection")


def _vector_results(vectors: RegressionVectors, fired: np.ndarray, idx: Mapping[str, int]):
    """(kind, index, vector, failure or None) of every vector, from the decisions on their texts (in the
    order the texts were listed: the label kinds, then each context pair's two texts)."""
    results: list[tuple[str, int, dict, GateFailure | None]] = []
    k = 0
    for kind in _LABEL_KINDS:
        for i, v in enumerate(getattr(vectors, kind)):
            labs = [lab for lab in v["labels"] if lab in idx]
            row = fired[k]
            k += 1
            failure = None
            if kind == "hard_negatives":
                bad = [lab for lab in labs if row[idx[lab]]]
                if bad:
                    failure = GateFailure("vector", f"{kind}[{i}]", "fired", bad, "none of " + ", ".join(labs))
            else:
                missed = [lab for lab in labs if not row[idx[lab]]]
                if missed:
                    failure = GateFailure("vector", f"{kind}[{i}]", "missed", missed, "all of " + ", ".join(labs))
            results.append((kind, i, v, failure))
    for i, v in enumerate(vectors.context_pairs):
        j = idx.get(v["label"])
        a, b = fired[k], fired[k + 1]
        k += 2
        failure = None
        if j is not None and not (a[j] and not b[j]):
            failure = GateFailure(
                "vector",
                f"context_pairs[{i}]",
                f"{v['label']} fires/silent",
                f"{bool(a[j])}/{bool(b[j])}",
                "True/False",
            )
        results.append(("context_pairs", i, v, failure))
    return results


def _sort_results(results, graduated_keys: set[str]):
    """Failures of ungrouped vectors, notes on known gaps (passing or failing), the keys of known gaps that
    pass now, and each group's pass flags (a group fails only under its quota)."""
    failures: list[GateFailure] = []
    notes: list[GateFailure] = []
    passed_gaps: list[str] = []
    by_group: dict[str, list[bool]] = {}
    for kind, i, v, failure in results:
        key = vector_key(kind, v)
        if v.get("known_gap") and key not in graduated_keys:
            if failure is None:
                passed_gaps.append(key)
                notes.append(
                    GateFailure("vector", f"{kind}[{i}]", "known gap", "passes now", "kept passing from now on")
                )
            else:
                notes.append(
                    GateFailure(
                        "vector", f"{kind}[{i}]", f"known gap: {failure.check}", failure.value, failure.required
                    )
                )
        elif v.get("group") is not None:
            by_group.setdefault(str(v["group"]), []).append(failure is None)
        elif failure is not None:
            failures.append(failure)
    return failures, notes, passed_gaps, by_group


def gate_model(
    per_label: pd.DataFrame,
    taxonomy: Taxonomy,
    *,
    vectors_verdict: GateVerdict | None = None,
    suite_verdict: GateVerdict | None = None,
    min_positives: int | None = None,
) -> GateVerdict:
    """Tier gates plus regression vectors plus functional suites: the model passes only if all do."""
    v = gate_labels(per_label, taxonomy, min_positives=min_positives)
    for other in (vectors_verdict, suite_verdict):
        if other is not None:
            v = merge_verdicts(v, other)
    return v


def merge_verdicts(a: GateVerdict, b: GateVerdict) -> GateVerdict:
    """Both verdicts as one: passed only if both passed, with every failure, check and note of each."""
    return GateVerdict(
        passed=a.passed and b.passed,
        failures=a.failures + b.failures,
        checked=a.checked + b.checked,
        notes=a.notes + list(b.notes),
        passed_known_gaps=a.passed_known_gaps + list(b.passed_known_gaps),
        insufficient=a.insufficient + list(b.insufficient),
        label_status={**a.label_status, **b.label_status},
    )


REGRESSION_TOLERANCE = {"T1": 0.01, "T2": 0.02, "T3": 0.03, "T4": 0.05, "T5": 0.05}
"""How far a label's holdout F1 or recall may fall (or its FPR rise) against the promoted model, per tier."""


def compare_models(
    candidate: pd.DataFrame, promoted: pd.DataFrame, *, tolerance: float | Mapping[str, float] = 0.02
) -> pd.DataFrame:
    """Per-label deltas (candidate - promoted) of F1, recall, precision and FPR; ``regression`` flags
    an F1 or recall drop, or an FPR rise, beyond ``tolerance`` (one number, or one per label: see
    :data:`REGRESSION_TOLERANCE` for the tier defaults)."""
    common = [lab for lab in candidate.index if lab in promoted.index]
    cols = ["f1", "recall", "precision", "fpr"]
    d = candidate.loc[common, cols] - promoted.loc[common, cols]
    d.columns = [f"delta_{c}" for c in cols]
    tol = pd.Series(
        [float(tolerance.get(lab, 0.02)) if isinstance(tolerance, Mapping) else float(tolerance) for lab in common],
        index=d.index,
    )
    d["tolerance"] = tol
    d["regression"] = (d["delta_f1"] < -tol) | (d["delta_recall"] < -tol) | (d["delta_fpr"] > tol)
    return d


REGRESSION_ALPHA = 0.05
"""One-sided significance level of :func:`paired_regression`, per label and per side (recall, FPR)."""


def _one_sided_mcnemar(worse: int, better: int) -> float:
    """Exact McNemar p-value that a candidate is worse: ``worse`` of the ``worse + better`` discordant
    pairs went against it, under the null of an even split (1.0 without discordant pairs)."""
    from scipy.stats import binomtest

    n = worse + better
    return 1.0 if n == 0 else float(binomtest(worse, n, 0.5, alternative="greater").pvalue)


def paired_regression(
    labels: np.ndarray,
    candidate: np.ndarray,
    promoted: np.ndarray,
    *,
    label_names: Sequence[str],
    alpha: float = REGRESSION_ALPHA,
) -> pd.DataFrame:
    """Did the candidate's decisions get worse than the promoted model's on the *same* holdout rows?

    An exact McNemar test per label and side, on the discordant pairs only: among the positives, those
    the promoted model caught and the candidate missed (``lost_positives``) against the reverse
    (``gained_positives``); among the negatives, new false positives against fixed ones. Each is a
    one-sided binomial test at 1/2; ``regression`` when either p-value is below ``alpha``.

    Why this test: both models decide on the same posts, so what differs is only where they disagree.
    A comparison of two recalls with a fixed tolerance flags noise on a small holdout (a 40-positive
    label moves 0.025 per post) and misses a real drop on a large one; McNemar's test weighs the
    disagreements themselves, so four posts swapped both ways block nothing and thirty lost with
    three gained do.

    Parameters
    ----------
    labels : ndarray (n, L) of 1, 0 or NaN (unknown rows are left out per label)
    candidate, promoted : ndarray (n, L) of bool, each model's decisions

    >>> y = np.array([[1.0]] * 40 + [[0.0]] * 60)
    >>> old = np.array([[True]] * 36 + [[False]] * 4 + [[False]] * 60)
    >>> new = old.copy(); new[:12] = False          # 12 positives lost, none gained
    >>> r = paired_regression(y, new, old, label_names=["hate"])
    >>> int(r.loc["hate", "lost_positives"]), bool(r.loc["hate", "regression"])
    (12, True)
    >>> new = old.copy(); new[:3] = False; new[36:39] = True   # 3 lost, 3 gained: noise
    >>> bool(paired_regression(y, new, old, label_names=["hate"]).loc["hate", "regression"])
    False
    """
    y = np.asarray(labels, dtype=float)
    cand, prom = np.asarray(candidate, dtype=bool), np.asarray(promoted, dtype=bool)
    rows = []
    for j, name in enumerate(label_names):
        pos, neg = y[:, j] == 1, y[:, j] == 0
        lost = int((pos & prom[:, j] & ~cand[:, j]).sum())
        gained = int((pos & cand[:, j] & ~prom[:, j]).sum())
        new_fp = int((neg & cand[:, j] & ~prom[:, j]).sum())
        fixed_fp = int((neg & prom[:, j] & ~cand[:, j]).sum())
        p_recall, p_fpr = _one_sided_mcnemar(lost, gained), _one_sided_mcnemar(new_fp, fixed_fp)
        n_pos, n_neg = max(int(pos.sum()), 1), max(int(neg.sum()), 1)
        rows.append(
            {
                "label": name,
                "lost_positives": lost,
                "gained_positives": gained,
                "new_false_positives": new_fp,
                "fixed_false_positives": fixed_fp,
                "paired_delta_recall": (gained - lost) / n_pos,
                "paired_delta_fpr": (new_fp - fixed_fp) / n_neg,
                "p_recall": round(p_recall, 6),
                "p_fpr": round(p_fpr, 6),
                "regression": bool(min(p_recall, p_fpr) < alpha),
            }
        )
    columns = [
        "label",
        "lost_positives",
        "gained_positives",
        "new_false_positives",
        "fixed_false_positives",
        "paired_delta_recall",
        "paired_delta_fpr",
        "p_recall",
        "p_fpr",
        "regression",
    ]
    return pd.DataFrame(rows, columns=columns).set_index("label")
