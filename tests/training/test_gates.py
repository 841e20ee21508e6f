"""Gates: tier gates, regression vectors, comparison with the promoted model."""

import numpy as np
import pandas as pd
import pytest

from curation import WorkbenchError
from training.evaluation import RegressionVectors, compare_models, gate_labels, run_vectors

from .conftest import TAX


def test_gate_lists_every_failure():
    per = pd.DataFrame(
        {"positives": [25, 0], "f1": [0.6, np.nan], "recall": [0.4, np.nan], "fpr": [0.1, 0.2]},
        index=pd.Index(["a", "b"], name="label"),
    )
    v = gate_labels(per, TAX)
    assert not v.passed
    whats = [(f.what, f.check) for f in v.failures]
    assert ("label a (T2)", "recall") in whats
    assert ("label b (T3)", "fpr") in whats  # the negatives are evidence enough to fail the FPR budget
    assert v.insufficient == []  # b has 0 of its 10 positives, but it failed: a failure, not thin evidence
    assert v.label_status == {"a": "fail", "b": "fail"}
    assert "FAIL label a (T2): recall 0.400 (required >= 0.5)" in v.lines()
    assert [(f.kind, f.subject, f.tier) for f in v.for_label("a")] == [("label", "a", "T2")]


def test_gate_failures_are_fields_and_cards_of_format_1_read_into_them():
    from training.evaluation import GateFailure, GateVerdict

    stored = {
        "passed": False,
        "checked": 3,
        "failures": [
            {"what": "label hate (T2)", "check": "recall", "value": "0.400", "required": ">= 0.5"},
            {"what": "vector hard_negatives[0]", "check": "fired", "value": ["hate"], "required": "none of hate"},
            {
                "what": "variant int8",
                "check": "collapse (near-constant outputs)",
                "value": "2 of 2 labels: a, b",
                "required": "output spread >= 0.1 x torch's on every label",
            },
        ],
    }
    v = GateVerdict.from_dict(stored)
    assert [(f.kind, f.subject, f.tier) for f in v.failures] == [
        ("label", "hate", "T2"),
        ("vector", "hard_negatives[0]", None),
        ("variant", "int8", None),
    ]
    assert [f.what for f in v.failures] == [f["what"] for f in stored["failures"]]
    assert GateVerdict.from_dict(v.to_dict()) == v  # the new format round-trips
    assert v.of_kind("vector")[0].value == ["hate"]
    assert (
        GateFailure("label", "spam", "f1", "0.2", ">= 0.5", tier="T4").line()
        == "label spam (T4): f1 0.2 (required >= 0.5)"
    )


def test_regression_vectors():
    vec = RegressionVectors(
        positives=[{"text": "p", "labels": ["a"]}],
        hard_negatives=[{"text": "h", "labels": ["a"]}],
        co_detection=[{"text": "c", "labels": ["a", "b"]}],
        context_pairs=[{"label": "a", "fires": "f", "silent": "s"}],
    )
    table = {"p": [0.9, 0.0], "h": [0.9, 0.0], "c": [0.9, 0.1], "f": [0.9, 0.0], "s": [0.1, 0.0]}
    v = run_vectors(
        vec, lambda texts: np.array([table[t] for t in texts]), label_names=["a", "b"], thresholds=[0.5, 0.5]
    )
    assert v.checked == 4 and not v.passed
    assert [f.what for f in v.failures] == ["vector hard_negatives[0]", "vector co_detection[0]"]
    assert v.failures[1].value == ["b"]


def test_compare_models_flags_regressions():
    a = pd.DataFrame(
        {"f1": [0.8, 0.7], "recall": [0.8, 0.7], "precision": [0.8, 0.7], "fpr": [0.01, 0.01]}, index=["x", "y"]
    )
    b = a.copy()
    b.loc["y", "f1"] = 0.75
    d = compare_models(a, b)
    assert d.loc["y", "regression"] and not d.loc["x", "regression"]


def test_vector_groups_pass_on_their_quota_and_fail_below_it(tmp_path):
    from training.evaluation import load_vectors

    path = tmp_path / "v.yaml"
    path.write_text(
        "groups: {direct: {min_pass: 3/5}, share: {min_pass: 0.5}}\n"
        "positives:\n"
        + "".join(f"  - {{text: p{i}, labels: [a], group: direct}}\n" for i in range(5))
        + "  - {text: q0, labels: [a], group: share}\n  - {text: q1, labels: [a], group: share}\n"
    )
    vec = load_vectors(path, TAX)
    assert vec.groups["direct"]["min_pass"] == 0.6

    def model(hits):
        return lambda texts: np.array([[0.9 if t in hits else 0.1, 0.0] for t in texts])

    ok = run_vectors(vec, model({"p0", "p1", "p2", "q0"}), label_names=["a", "b"], thresholds=[0.5, 0.5])
    assert ok.passed and ok.checked == 7  # 3 of 5 and 1 of 2: both quotas met, no single vector fails the gate
    bad = run_vectors(vec, model({"p0", "p1", "q0"}), label_names=["a", "b"], thresholds=[0.5, 0.5])
    assert not bad.passed
    assert [(f.subject, f.value, f.required) for f in bad.failures] == [("group direct", "2/5", ">= 3/5")]
    path.write_text("positives:\n  - {text: p, labels: [a], group: nowhere}\n")
    with pytest.raises(WorkbenchError, match="a group declared under groups"):
        load_vectors(path, TAX)
    path.write_text("groups: {g: {min_pass: 6/5}}\n")
    with pytest.raises(WorkbenchError, match="min_pass as 'K/N'"):
        load_vectors(path, TAX)


def test_known_gaps_are_reported_never_failing_until_they_pass_then_they_must_keep_passing(tmp_path):
    from training.evaluation import load_vectors
    from training.evaluation._gates import vector_key

    path = tmp_path / "v.yaml"
    path.write_text("positives:\n  - {text: gap, labels: [a], known_gap: true}\n  - {text: fine, labels: [a]}\n")
    vec = load_vectors(path, TAX)
    misses = lambda texts: np.array([[0.9 if t == "fine" else 0.1, 0.0] for t in texts])  # noqa: E731
    hits = lambda texts: np.array([[0.9, 0.0] for _ in texts])  # noqa: E731
    v = run_vectors(vec, misses, label_names=["a", "b"], thresholds=[0.5, 0.5])
    assert v.passed and [n.check for n in v.notes] == ["known gap: missed"] and v.passed_known_gaps == []
    v = run_vectors(vec, hits, label_names=["a", "b"], thresholds=[0.5, 0.5])
    assert v.passed and v.passed_known_gaps == [vector_key("positives", {"text": "gap"})]
    assert v.notes[0].value == "passes now"
    graduated = v.passed_known_gaps  # what the next model inherits from a promoted one that passed it
    v = run_vectors(vec, misses, label_names=["a", "b"], thresholds=[0.5, 0.5], graduated=graduated)
    assert not v.passed and [f.subject for f in v.failures] == ["positives[0]"]
    from training.evaluation import GateVerdict

    assert GateVerdict.from_dict(v.to_dict()) == v


def test_a_label_below_its_minimum_of_holdout_positives_is_insufficient_evidence_not_a_pass():
    """One holdout positive caught is recall 1.0: without the minimum it would pass a T1 floor of 0.9."""
    from curation import Taxonomy

    tax = Taxonomy.from_dict(
        {
            "labels": [
                {"name": "csam", "tier": "T1"},
                {"name": "threat", "tier": "T1", "min_holdout_positives": 5},  # overridden in the taxonomy
                {"name": "spam", "tier": "T4"},
            ]
        }
    )
    per = pd.DataFrame(
        {
            "positives": [1, 6, 300],
            "support": [2000, 2000, 2000],
            "f1": [1.0, 0.95, 0.8],
            "recall": [1.0, 0.95, 0.8],
            "fpr": [0.0, 0.01, 0.05],
        },
        index=pd.Index(["csam", "threat", "spam"], name="label"),
    )
    v = gate_labels(per, tax)
    assert v.label_status == {"csam": "insufficient_evidence", "threat": "pass", "spam": "pass"}
    assert v.passed and not v.failures  # neither a pass nor a failure of csam: it is listed apart
    assert [(f.subject, f.value, f.required) for f in v.insufficient] == [("csam", 1, ">= 30")]
    assert any(line.startswith("INSUFFICIENT EVIDENCE label csam (T1)") for line in v.lines())
    again = type(v).from_dict(v.to_dict())  # and it survives the card
    assert again.label_status == v.label_status and again.insufficient[0].subject == "csam"
    # a recall failure needs the evidence too; an FPR failure does not (negatives are plentiful)
    per.loc["csam", ["recall", "fpr"]] = [0.0, 0.2]
    v = gate_labels(per, tax)
    assert v.label_status["csam"] == "fail" and [f.check for f in v.for_label("csam")] == ["fpr"]


def test_the_paired_regression_test_lets_noise_through_and_stops_a_real_drop():
    """40 holdout positives, 400 negatives: 3 positives lost and 1 gained is recall -0.05, past the T2
    tolerance of 0.02 that a comparison of two figures would flag; McNemar sees 4 discordant pairs and
    no evidence. 15 lost and 1 gained is a real drop; so are 20 new false positives against 2 fixed."""
    from training.evaluation import REGRESSION_TOLERANCE, paired_regression

    y = np.array([[1.0]] * 40 + [[0.0]] * 400)
    old = np.zeros((440, 1), dtype=bool)
    old[:34] = True  # recall 0.85
    old[40:48] = True  # 8 false positives
    noisy = old.copy()
    noisy[:3] = False
    noisy[35] = True
    r = paired_regression(y, noisy, old, label_names=["hate"]).loc["hate"]
    assert (r["lost_positives"], r["gained_positives"]) == (3, 1)
    assert r["paired_delta_recall"] == pytest.approx(-0.05) and -0.05 < -REGRESSION_TOLERANCE["T2"]
    assert not r["regression"] and r["p_recall"] > 0.05
    drop = old.copy()
    drop[:15] = False
    drop[35] = True
    r = paired_regression(y, drop, old, label_names=["hate"]).loc["hate"]
    assert r["regression"] and r["p_recall"] < 0.01
    fp = old.copy()
    fp[48:68] = True
    fp[40:42] = False
    r = paired_regression(y, fp, old, label_names=["hate"]).loc["hate"]
    assert (r["new_false_positives"], r["fixed_false_positives"]) == (20, 2) and r["regression"] and r["p_fpr"] < 0.01
    # better on both sides is never a regression
    assert not paired_regression(y, old, drop, label_names=["hate"]).loc["hate", "regression"]


def test_wilson_intervals_are_in_the_evaluation_and_widen_with_thin_evidence():
    from training.evaluation import evaluate

    y = np.array([[1.0, 1.0]] * 12 + [[0.0, 1.0]] * 100 + [[0.0, 0.0]] * 1088)
    p = np.where(y == 1, 0.9, 0.1)
    per, _ = evaluate(y, p, [0.5, 0.5], label_names=["thin", "thick"])
    assert per.loc["thin", "recall"] == per.loc["thick", "recall"] == 1.0
    lo_thin, lo_thick = per.loc["thin", "recall_ci"][0], per.loc["thick", "recall_ci"][0]
    assert lo_thin < 0.8 < 0.96 < lo_thick  # 12 positives vs 112
    assert per.loc["thin", "fpr_ci"][0] == 0.0 and per.loc["thin", "fpr_ci"][1] < 0.005
    assert (per.loc["thin", ["tp", "fp", "fn", "tn"]].tolist()) == [12, 0, 0, 1188]
