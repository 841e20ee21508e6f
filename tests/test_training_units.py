import re

import numpy as np
import pandas as pd
import pytest
import torch

from curation import Taxonomy, WorkbenchError
from training import (LossConfig, Policy, RegressionVectors, compare_models, evaluate, expected_calibration_error,
                      gate_labels, masked_multilabel_loss, pos_weights, run_vectors, tune_thresholds)

TAX = Taxonomy.from_dict({"labels": [
    {"name": "a", "tier": "T2", "gate": {"min_f1": 0.5, "recall_floor": 0.5, "fpr_budget": 0.5},
     "threshold_range": [0.1, 0.9]},
    {"name": "b", "tier": "T3", "gate": {"min_f1": 0.9, "recall_floor": 1.0, "fpr_budget": 0.0},
     "threshold_range": [0.1, 0.9]},
]})


def test_unknown_targets_get_no_gradient():
    logits = torch.zeros((2, 2), requires_grad=True)
    t = torch.tensor([[1.0, float("nan")], [0.0, 1.0]])
    masked_multilabel_loss(logits, t).backward()
    assert logits.grad[0, 1] == 0 and logits.grad[0, 0] != 0 and logits.grad[1, 1] != 0


def test_focal_and_smoothing_change_the_loss():
    lg, t = torch.tensor([[2.0, -1.0]]), torch.tensor([[1.0, 0.0]])
    bce = float(masked_multilabel_loss(lg, t))
    assert float(masked_multilabel_loss(lg, t, kind="focal", focal_gamma=2.0)) < bce
    assert float(masked_multilabel_loss(lg, t, label_smoothing=0.2)) > bce


def test_pos_weights_cap_and_override():
    y = np.array([[1, 0]] + [[0, 1]] * 30 + [[0, np.nan]], dtype=float)
    w = pos_weights(y, ["a", "b"], LossConfig(pos_weight_cap=10, pos_weight_overrides={"b": 3.0}))
    assert w.tolist() == [10.0, 3.0]
    with pytest.raises(WorkbenchError, match="loss kind: expected 'bce' or 'focal', got 'mse'"):
        LossConfig(kind="mse")


def test_thresholds_rule_and_calib_only():
    y = np.array([[1, 1], [1, 0], [0, 0], [0, 0], [1, np.nan]], dtype=float)
    p = np.array([[0.9, 0.8], [0.6, 0.3], [0.4, 0.2], [0.2, 0.5], [0.7, 0.9]])
    res = tune_thresholds(y, p, taxonomy=TAX)
    # a: recall >= .5 and fpr <= .5: the highest-precision threshold is the highest meeting recall (0.6 -> 0.7]
    assert res.loc["a", "rule"] == "max_precision_meeting_recall_and_fpr"
    assert res.loc["a", "precision"] == 1.0 and 0.4 < res.loc["a", "threshold"] <= 0.6
    # b: recall 1 with fpr 0 is possible (0.5 < t <= 0.8)
    assert res.loc["b", "constraints_met"] and 0.5 < res.loc["b", "threshold"] <= 0.8
    with pytest.raises(WorkbenchError, match=re.escape("threshold tuning split: expected 'calib', got 'holdout'")):
        tune_thresholds(y, p, taxonomy=TAX, split="holdout")


def test_thresholds_fall_back_when_constraints_cannot_hold():
    y = np.array([[1, 1], [0, 0], [1, 0], [0, 1]], dtype=float)
    p = np.array([[0.5, 0.5]] * 4)  # an uninformative model
    res = tune_thresholds(y, p, taxonomy=TAX)
    assert res.loc["b", "rule"] in ("best_f1", "best_f1_within_fpr_budget") and not res.loc["b", "constraints_met"]


def test_evaluate_hand_computed():
    y = np.array([[1, 0], [1, 1], [0, np.nan], [0, 0]], dtype=float)
    p = np.array([[0.9, 0.1], [0.4, 0.8], [0.6, 0.9], [0.1, 0.7]])
    per, summ = evaluate(y, p, [0.5, 0.5], label_names=["a", "b"])
    assert per.loc["a", ["precision", "recall", "f1", "fpr"]].tolist() == [0.5, 0.5, 0.5, 0.5]
    assert per.loc["b", "support"] == 3 and per.loc["b", "fpr"] == 0.5
    assert summ["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 2 + 1))
    assert expected_calibration_error(np.array([1.0, 0.0]), np.array([0.8, 0.2]), bins=5) == pytest.approx(0.2)


def test_gate_lists_every_failure():
    per = pd.DataFrame({"positives": [10, 0], "f1": [0.6, np.nan], "recall": [0.4, np.nan], "fpr": [0.1, 0.2]},
                       index=pd.Index(["a", "b"], name="label"))
    v = gate_labels(per, TAX)
    assert not v.passed
    whats = [(f["what"], f["check"]) for f in v.failures]
    assert ("label a (T2)", "recall") in whats and ("label b (T3)", "holdout positives") in whats
    assert ("label b (T3)", "fpr") in whats
    assert "FAIL label a (T2): recall 0.400 (required >= 0.5)" in v.lines()


def test_regression_vectors():
    vec = RegressionVectors(positives=[{"text": "p", "labels": ["a"]}],
                            hard_negatives=[{"text": "h", "labels": ["a"]}],
                            co_detection=[{"text": "c", "labels": ["a", "b"]}],
                            context_pairs=[{"label": "a", "fires": "f", "silent": "s"}])
    table = {"p": [0.9, 0.0], "h": [0.9, 0.0], "c": [0.9, 0.1], "f": [0.9, 0.0], "s": [0.1, 0.0]}
    v = run_vectors(vec, lambda texts: np.array([table[t] for t in texts]), label_names=["a", "b"],
                    thresholds=[0.5, 0.5])
    assert v.checked == 4 and not v.passed
    assert [f["what"] for f in v.failures] == ["vector hard_negatives[0]", "vector co_detection[0]"]
    assert v.failures[1]["value"] == ["b"]


def test_policy_shapes_are_checked():
    pol = Policy(["a", "b"], [0.5, 0.5], ["warn", "hide"])
    with pytest.raises(WorkbenchError, match=re.escape("expected shape (n, 2) in label order ['a', 'b']")):
        pol.apply(np.zeros((3, 3)))
    assert Policy.combine([pol, Policy(["c"], [0.1], ["badge"])]).labels == ("a", "b", "c")


def test_compare_models_flags_regressions():
    a = pd.DataFrame({"f1": [0.8, 0.7], "recall": [0.8, 0.7], "precision": [0.8, 0.7], "fpr": [0.01, 0.01]},
                     index=["x", "y"])
    b = a.copy()
    b.loc["y", "f1"] = 0.75
    d = compare_models(a, b)
    assert d.loc["y", "regression"] and not d.loc["x", "regression"]
