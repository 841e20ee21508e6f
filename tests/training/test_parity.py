"""The parity rule for exported variants (decision agreement, per-label F1 deltas, no collapse), on
hand-made probabilities: it accepts what decides the same and refuses what does not."""

import numpy as np
import pytest

from training.evaluation import PARITY_RULE, parity_check

LABELS = ["hate", "offensive", "spam"]
THR = [0.5, 0.4, 0.6]


@pytest.fixture()
def torch_probs():
    rng = np.random.default_rng(0)
    y = (rng.random((400, 3)) < 0.3).astype(float)
    y[rng.random((400, 3)) < 0.1] = np.nan  # unknown labels are not counted
    p = np.clip(np.where(y == 1, 0.75, 0.2) + rng.normal(0, 0.12, y.shape), 0, 1)
    return y, p


def test_identical_outputs_pass(torch_probs):
    y, p = torch_probs
    info, failures = parity_check("fp32", y, p.copy(), p, THR, label_names=LABELS)
    assert failures == [] and info["decision_agreement"] == 1.0 and info["max_abs_diff_vs_torch"] == 0.0


def test_a_large_difference_far_from_the_threshold_passes_and_is_reported(torch_probs):
    y, p = torch_probs
    q = p.copy()
    far = np.abs(p - np.asarray(THR)) > 0.15
    q[far] += np.where(p[far] > np.broadcast_to(THR, p.shape)[far], 0.1, -0.1)  # pushed away from the threshold
    q = np.clip(q, 0, 1)
    info, failures = parity_check("int8", y, q, p, THR, label_names=LABELS)
    assert failures == []
    assert info["max_abs_diff_vs_torch"] == pytest.approx(0.1, abs=1e-6)  # the old rule (<= 0.05) refused it


def test_flipped_decisions_fail_on_agreement_and_f1(torch_probs):
    y, p = torch_probs
    q = p.copy()
    q[:12, 0] = 1 - q[:12, 0]  # 12 of ~360 known hate decisions flip
    info, failures = parity_check("int8", y, q, p, THR, label_names=LABELS)
    checks = {f.check for f in failures}
    assert (
        "parity (decision agreement with torch)" in checks and info["decision_agreement"] < PARITY_RULE["min_agreement"]
    )
    assert "parity (|F1 - F1_torch| per label)" in checks and info["f1_delta_label"] == "hate"


def test_collapsed_outputs_fail_loudly_even_when_decisions_mostly_agree(torch_probs):
    y, p = torch_probs
    q = p.copy()
    q[:, 2] = 0.01  # "spam" answers no to everything
    info, failures = parity_check(
        "int8", y, q, p, THR, label_names=LABELS, rule={"min_agreement": 0.0, "max_f1_delta": 1.0}
    )
    assert info["collapsed"] == ["spam"]
    assert [f.check for f in failures] == ["collapse (near-constant outputs)"]
    assert "spam" in failures[0].value


def test_a_rule_override_applies(torch_probs):
    y, p = torch_probs
    q = p.copy()
    q[:3, 1] = 1 - q[:3, 1]
    _, strict = parity_check("int8", y, q, p, THR, label_names=LABELS, rule={"min_agreement": 0.9999})
    _, loose = parity_check(
        "int8", y, q, p, THR, label_names=LABELS, rule={"min_agreement": 0.99, "max_f1_delta": 0.05}
    )
    assert strict and not loose


def test_shapes_must_match(torch_probs):
    y, p = torch_probs
    with pytest.raises(ValueError, match=r"expected probabilities shaped like torch's \(400, 3\), got \(400, 2\)"):
        parity_check("int8", y, p[:, :2], p, THR, label_names=LABELS)
