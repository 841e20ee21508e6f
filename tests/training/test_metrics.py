"""Evaluation metrics on hand-computed cases."""

import numpy as np
import pytest

from training.evaluation import evaluate, expected_calibration_error


def test_evaluate_hand_computed():
    y = np.array([[1, 0], [1, 1], [0, np.nan], [0, 0]], dtype=float)
    p = np.array([[0.9, 0.1], [0.4, 0.8], [0.6, 0.9], [0.1, 0.7]])
    per, summ = evaluate(y, p, [0.5, 0.5], label_names=["a", "b"])
    assert per.loc["a", ["precision", "recall", "f1", "fpr"]].tolist() == [0.5, 0.5, 0.5, 0.5]
    assert per.loc["b", "support"] == 3 and per.loc["b", "fpr"] == 0.5
    assert summ["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 2 + 1))
    assert expected_calibration_error(np.array([1.0, 0.0]), np.array([0.8, 0.2]), bins=5) == pytest.approx(0.2)
