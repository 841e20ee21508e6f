"""Threshold tuning on calib only, with stated fall-backs."""

import re

import numpy as np
import pytest

from curation import WorkbenchError
from training import tune_thresholds

from .conftest import TAX


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
