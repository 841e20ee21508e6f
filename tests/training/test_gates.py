"""Gates: tier gates, regression vectors, comparison with the promoted model."""

import numpy as np
import pandas as pd

from training import RegressionVectors, compare_models, gate_labels, run_vectors

from .conftest import TAX


def test_gate_lists_every_failure():
    per = pd.DataFrame(
        {"positives": [10, 0], "f1": [0.6, np.nan], "recall": [0.4, np.nan], "fpr": [0.1, 0.2]},
        index=pd.Index(["a", "b"], name="label"),
    )
    v = gate_labels(per, TAX)
    assert not v.passed
    whats = [(f.what, f.check) for f in v.failures]
    assert ("label a (T2)", "recall") in whats and ("label b (T3)", "holdout positives") in whats
    assert ("label b (T3)", "fpr") in whats
    assert "FAIL label a (T2): recall 0.400 (required >= 0.5)" in v.lines()
    assert [(f.kind, f.subject, f.tier) for f in v.for_label("a")] == [("label", "a", "T2")]


def test_gate_failures_are_fields_and_cards_of_format_1_read_into_them():
    from training import GateFailure, GateVerdict

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
