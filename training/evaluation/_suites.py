"""Functional suites as gates: a model's pass rate per functionality and per label on the test-side
cases of its project's suites (:mod:`curation.suites._suites`), at the model's thresholds.

A minimum-functionality case passes when every label it expects (1 or 0) that the model has is decided as
expected; an invariance case when the model decides those labels on the perturbed text as on its original; a
directional case when the score did not move the wrong way (:mod:`curation.suites._perturb`). A functionality
fails the gate when its pass rate is under its ``min_pass`` (tier defaults: :data:`curation.suites.SUITE_MIN_PASS`;
for an invariance or directional test one minus its ``max_fail``, :data:`curation.suites.PERTURBATION_MAX_FAIL`);
a ``known_gap`` functionality is reported as a note, never failing. :func:`run_perturbations` runs the
invariance and directional tests on real posts, which need no label.
The cases a model is gated on are copied into its directory (``suite_cases.jsonl``) when it is
trained, so every variant (torch, ONNX fp32 / fp16 / int8) is gated on the same cases.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from curation import Project, WorkbenchError
from curation.suites import (
    DIR_TOLERANCE,
    SuiteCase,
    case_review_state,
    perturb_posts,
    perturbation_name,
    read_cases,
)
from foundation import atomic_write_text

from ._gates import GateFailure, GateVerdict

__all__ = [
    "SuiteResult",
    "run_suite",
    "run_perturbations",
    "perturbations_on",
    "gate_cases",
    "write_suite_cases",
    "read_suite_cases",
    "compare_suites",
    "SUITE_REGRESSION",
]

SUITE_REGRESSION = 0.05
"""A functionality regressed when its pass rate fell by more than this against the promoted model, or fell
under its minimum where the promoted model met it."""

SUITE_FILE = "suite_cases.jsonl"


@dataclass
class SuiteResult:
    """Pass rates per functionality and per label, failing cases, and the gate verdict."""

    functionalities: pd.DataFrame  # index functionality: suite, cases, passed, pass_rate, min_pass, tier, known_gap
    labels: pd.DataFrame  # index label: cases, passed, pass_rate
    cases: pd.DataFrame  # one row per case: id, functionality, text, expect, passed, probs of the expected labels
    verdict: GateVerdict
    pending: int = 0  # test-side cases not yet kept by review (left out unless asked for)
    disputed: list[dict[str, Any]] = field(default_factory=list)

    def by_group(self, slot: str = "group") -> pd.DataFrame:
        """The unintended-bias table (Dixon et al. 2018): per value of filler ``slot`` (each protected group
        the test-side cases name), the benign cases (every expected label 0) and the share the model fired
        on (``fpr``), the hateful ones (some label expected 1) and the share it missed (``fnr``). A group
        whose ``fpr`` stands above the others' is one the model treats as a label by itself."""
        cols = ["benign", "false_positives", "fpr", "hateful", "false_negatives", "fnr"]
        rows = {}
        mft = self.cases[self.cases["type"] == "mft"] if "type" in self.cases else self.cases
        for fill, expect, passed in zip(mft.get("fillers", []), mft["expect"], mft["passed"]):
            group = (fill or {}).get(slot)
            if group is None:
                continue
            r = rows.setdefault(group, dict.fromkeys(cols, 0))
            kind = "hateful" if any(v == 1 for v in expect.values()) else "benign"
            r[kind] += 1
            r["false_negatives" if kind == "hateful" else "false_positives"] += int(not passed)
        table = pd.DataFrame.from_dict(rows, orient="index", columns=cols).sort_index()
        table.index.name = slot
        for rate, n, k in (("fpr", "false_positives", "benign"), ("fnr", "false_negatives", "hateful")):
            table[rate] = (table[n] / table[k].where(table[k] > 0)).round(4)
        return table

    def summary(self) -> dict[str, Any]:
        """``{functionality: pass rate}``, each one's cases / min_pass / known_gap / type, the overall rate of
        the minimum-functionality cases (JSON-friendly; what a variant's card entry keeps under ``suite``). An
        invariance or directional test's pass rate is one minus its failure rate."""
        f = self.functionalities
        mft = self.cases[self.cases["type"] == "mft"] if "type" in self.cases else self.cases
        return {
            "functionalities": {k: round(float(v), 4) for k, v in f["pass_rate"].items()},
            "details": {
                k: {
                    "cases": int(r["cases"]),
                    "passed": int(r["passed"]),
                    "min_pass": float(r["min_pass"]),
                    "known_gap": bool(r["known_gap"]),
                    "type": str(r.get("type", "mft")),
                }
                for k, r in f.iterrows()
            },
            "overall": round(float(mft["passed"].mean()), 4) if len(mft) else None,
            "passed": self.verdict.passed,
            "pending": self.pending,
        }


def gate_cases(
    project: Project, *, include_pending: bool = False, min_answers: int = 2
) -> tuple[list[SuiteCase], dict]:
    """The test-side cases a model of ``project`` is gated on: those review kept, plus the pending ones
    with ``include_pending``; and what was left out (pending count, disputed cases per functionality)."""
    cases = [c for c in read_cases(project.root) if c.side == "test"]
    if not cases:
        return [], {"pending": 0, "disputed": []}
    state = case_review_state(project.store.events(), [c.id for c in cases], min_answers=min_answers)
    by_id = dict(zip(state["case_id"], state["state"]))
    kept = [c for c in cases if by_id[c.id] == "kept" or (include_pending and by_id[c.id] == "pending")]
    disputed = [
        {"case_id": c.id, "functionality": c.functionality, "text": c.text} for c in cases if by_id[c.id] == "disputed"
    ]
    return kept, {"pending": sum(1 for c in cases if by_id[c.id] == "pending"), "disputed": disputed}


def write_suite_cases(path: Path, cases: Sequence[SuiteCase], left_out: dict) -> None:
    atomic_write_text(
        path,
        json.dumps({"left_out": left_out})
        + "\n"
        + "".join(json.dumps(c.to_dict(), sort_keys=True) + "\n" for c in cases),
    )


def read_suite_cases(path: Path) -> tuple[list[SuiteCase], dict]:
    """The cases a model directory is gated on and what was left out when it was trained."""
    if not path.exists():
        return [], {"pending": 0, "disputed": []}
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    head = json.loads(lines[0])
    return [SuiteCase(**json.loads(line)) for line in lines[1:]], head.get("left_out", {})


def run_suite(
    cases: Sequence[SuiteCase],
    predict: Callable[[list[str]], np.ndarray],
    *,
    label_names: Sequence[str],
    thresholds: Sequence[float],
    worst: int = 3,
    left_out: dict | None = None,
) -> SuiteResult:
    """Score ``cases`` with ``predict`` (texts -> probabilities, one column per label) at ``thresholds``.

    Each functionality needs its cases' ``min_pass`` (its own, else its tier's). Expected labels the model does not have are ignored; a case none of whose expected labels the model
    has is left out. The verdict lists failing functionalities with their ``worst`` cases (furthest
    on the wrong side of the threshold)."""
    names = list(label_names)
    thr = np.asarray(thresholds, dtype=float)
    usable = [c for c in cases if any(lab in names for lab in c.expect)]
    perturbed = [c for c in usable if c.type != "mft"]
    texts = list(dict.fromkeys([c.text for c in usable] + [c.original or "" for c in perturbed]))  # each once
    scored = dict(zip(texts, predict(texts) if texts else np.zeros((0, len(names)))))
    probs = [scored[c.text] for c in usable]
    before = {c.id: scored[c.original or ""] for c in perturbed}
    rows = []
    pairs = []
    for c, p in zip(usable, probs):
        ok, margin = True, 0.0
        for lab, want in c.expect.items():
            if lab not in names:
                continue
            j = names.index(lab)
            hit, miss = _case_check(c, float(p[j]), before.get(c.id), j, float(thr[j]), want)
            if c.type == "mft":  # the per-label table: is the label decided as expected
                pairs.append((lab, hit))
            ok &= hit
            if not hit:
                margin = max(margin, miss)
        rows.append(
            {
                "id": c.id,
                "suite": c.suite,
                "functionality": c.functionality,
                "type": c.type,
                "text": c.text,
                "original": c.original,
                "expect": dict(c.expect),
                "passed": ok,
                "miss": margin,
                "probs": {lab: round(float(p[names.index(lab)]), 4) for lab in c.expect if lab in names},
                "tier": c.tier,
                "min_pass": c.min_pass,
                "known_gap": c.known_gap,
                "fillers": dict(c.fillers),
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "id",
            "suite",
            "functionality",
            "type",
            "text",
            "original",
            "expect",
            "passed",
            "miss",
            "probs",
            "tier",
            "min_pass",
            "known_gap",
            "fillers",
        ],
    )
    func_rows = []
    for name, g in table.groupby("functionality", sort=True):
        tier = g["tier"].iloc[0]
        need = g["min_pass"].iloc[0]
        func_rows.append(
            {
                "functionality": name,
                "suite": g["suite"].iloc[0],
                "type": g["type"].iloc[0],
                "cases": len(g),
                "passed": int(g["passed"].sum()),
                "pass_rate": float(g["passed"].mean()),
                "min_pass": float(need),
                "tier": tier,
                "known_gap": bool(g["known_gap"].iloc[0]),
            }
        )
    funcs = pd.DataFrame(
        func_rows,
        columns=["functionality", "suite", "type", "cases", "passed", "pass_rate", "min_pass", "tier", "known_gap"],
    ).set_index("functionality")
    lab = pd.DataFrame(pairs, columns=["label", "hit"])
    labels = (
        lab.groupby("label")["hit"].agg(cases="size", passed="sum", pass_rate="mean")
        if len(lab)
        else pd.DataFrame(columns=["cases", "passed", "pass_rate"])
    )
    failures, notes = [], []
    for name, f in funcs.iterrows():
        if f["pass_rate"] >= f["min_pass"]:
            continue
        bad = table[(table["functionality"] == name) & ~table["passed"]].sort_values("miss", ascending=False)
        examples = "; ".join(
            (f"{o!r} -> " if isinstance(o, str) else "") + f"{t!r} {p}"
            for t, o, p in zip(bad["text"].head(worst), bad["original"].head(worst), bad["probs"].head(worst))
        )
        what = {"inv": "unchanged decisions", "dir": "scores moved the right way"}.get(f["type"], "pass rate")
        failure = GateFailure(
            "functionality",
            str(name),
            f"{what} ({f['passed']}/{f['cases']}; worst: {examples})",
            f"{f['pass_rate']:.3f}",
            f">= {f['min_pass']}",
            tier=f["tier"],
        )
        (notes if f["known_gap"] else failures).append(failure)
    verdict = GateVerdict(passed=not failures, failures=failures, checked=len(funcs), notes=notes)
    left_out = dict(left_out or {})
    return SuiteResult(
        funcs, labels, table, verdict, int(left_out.get("pending", 0)), list(left_out.get("disputed", []))
    )


def run_perturbations(
    tests: Sequence[Any],
    texts: Sequence[str],
    predict: Callable[[list[str]], np.ndarray],
    *,
    label_names: Sequence[str],
    thresholds: Sequence[float],
    fillers: dict[str, list[str]],
    known: np.ndarray | None = None,
    max_posts: int = 500,
) -> SuiteResult | None:
    """The invariance and directional tests ``tests`` (functionalities of type inv / dir) on real posts
    ``texts``, which need no label: each test perturbs at most ``max_posts`` of the posts it applies to
    (:func:`curation.suites.perturb_posts`) and is scored and gated as on a suite (its pass rate is one minus
    its failure rate). A test of hateful or benign originals (``originals``) picks them by ``known`` (labels, shape (n,
    labels), NaN unknown: a labelled holdout) or, without labels (a pool of production posts), by the model's
    own decisions at ``thresholds``. ``None`` when no test applies to any post."""
    names, texts = list(label_names), list(texts)
    thr = np.asarray(thresholds, dtype=float)
    if known is None and any(f.on != "all" for f in tests) and texts:
        known = (np.asarray(predict(texts)) >= thr[None, :]).astype(float)
    cases = []
    for f in tests:
        labs = [lab for lab in f.expect if lab in names]
        if f.type == "mft" or not labs:
            continue
        idx = list(range(len(texts)))
        if f.on != "all":
            sub = np.asarray(known, dtype=float)[:, [names.index(lab) for lab in labs]]
            keep = (sub == 1).any(axis=1) if f.on == "hateful" else (sub == 0).all(axis=1)
            idx = [i for i in idx if keep[i]]
        for pair in perturb_posts([f], [texts[i] for i in idx], fillers, max_posts=max_posts):
            cases.append(
                SuiteCase(
                    id=f"post:{f.name}:{idx[pair['index']]}",
                    suite="posts",
                    functionality=f.name,
                    text=pair["text"],
                    side="test",
                    expect={lab: f.expect[lab] for lab in labs},
                    tier=f.tier,
                    min_pass=f.min_pass,
                    known_gap=f.known_gap,
                    type=f.type,
                    original=pair["original"],
                    perturbation=perturbation_name(f.perturbation),
                )
            )
    if not cases:
        return None
    return run_suite(cases, predict, label_names=names, thresholds=thresholds)


def perturbations_on(model, on: str = "holdout", *, variant: str | None = None, max_posts: int = 500):
    """The invariance and directional tests of ``model``'s project's suites on real posts (:func:`run_perturbations`):
    ``on="holdout"``, the model's holdout split (labelled: a test of benign originals takes the posts known
    benign); ``on="pool"``, the project's production posts (unlabelled: the model's own decisions pick them).
    ``None`` when there is no post to perturb or no test applies; a project without such tests is an error
    that says how to write one."""
    from curation.suites import filler_values, load_suites

    where = model.card.project
    with Project(where) as project:
        suites = load_suites(project.root, project.taxonomy)
        if on == "holdout":
            _, texts, known = model.split("holdout")
        elif on == "pool":
            texts, known = project.production.posts()["text"].tolist(), None
        else:
            raise WorkbenchError("posts to perturb", expected="holdout or pool", got=repr(on))
    tests = [f for s in suites for f in s.functionalities if f.type != "mft"]
    if not tests:
        raise WorkbenchError(
            f"invariance and directional tests on the {on}",
            expected="tests of type inv or dir in the project's suites",
            got=f"none in {where}/suites",
            fix="add one, e.g. {name: inv_typos, type: inv, perturbation: typos, expect: {hate: 1}} "
            "(docs/how-to/write-a-suite.md)",
        )
    if not texts:
        return None
    return run_perturbations(
        tests,
        texts,
        model.predictor(variant or "torch"),
        label_names=model.labels,
        thresholds=model.thresholds,
        fillers=filler_values(suites),
        known=None if known is None else np.asarray(known, dtype=float),
        max_posts=max_posts,
    )


def _case_check(case: SuiteCase, p: float, before, j: int, thr: float, want: int) -> tuple[bool, float]:
    """(passed, how far it missed) of one expected label of one case: a minimum-functionality case is decided
    as expected; an invariance case is decided as its original; a directional case's score did not move the
    wrong way by more than :data:`curation.suites.DIR_TOLERANCE`."""
    if case.type == "inv":
        was = float(before[j])
        return (p >= thr) == (was >= thr), abs(p - was)
    if case.type == "dir":
        moved = p - float(before[j])
        wrong = -moved if want == 1 else moved
        return wrong <= DIR_TOLERANCE, wrong
    return (p >= thr) == bool(want), abs(p - thr)


def compare_suites(candidate: dict[str, Any], promoted: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per functionality both models ran: pass rates, delta and ``regression`` (:data:`SUITE_REGRESSION`);
    arguments are two variants' ``suite`` summaries."""
    out = {}
    mins = candidate.get("details", {})
    for name, rate in candidate.get("functionalities", {}).items():
        if name not in promoted.get("functionalities", {}):
            continue
        before = promoted["functionalities"][name]
        need = mins.get(name, {}).get("min_pass", 0.0)
        delta = round(rate - before, 4)
        out[name] = {
            "pass_rate": rate,
            "promoted": before,
            "delta": delta,
            "regression": bool(delta < -SUITE_REGRESSION or (rate < need <= before)),
        }
    return out
