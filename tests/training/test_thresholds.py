"""Threshold tuning on calib only, with stated fall-backs."""

import re

import numpy as np
import pytest

from curation import WorkbenchError
from training.evaluation import tune_thresholds

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
    with pytest.raises(
        WorkbenchError, match=re.escape("threshold tuning split: expected 'calib' (or 'production_calib'")
    ) as e:
        tune_thresholds(y, p, taxonomy=TAX, split="holdout")
    assert "got 'holdout'" in str(e.value)  # holdout never tunes, nor does valid


def test_thresholds_fall_back_when_constraints_cannot_hold():
    y = np.array([[1, 1], [0, 0], [1, 0], [0, 1]], dtype=float)
    p = np.array([[0.5, 0.5]] * 4)  # an uninformative model
    res = tune_thresholds(y, p, taxonomy=TAX)
    assert res.loc["b", "rule"] in ("best_f1", "best_f1_within_fpr_budget") and not res.loc["b", "constraints_met"]


def test_thresholds_with_groups_count_each_source_equally():
    """A big source whose hate scores high and a small one whose hate the model cannot separate:
    pooled, the big source meets the recall floor alone and the small source's hate is all missed;
    with groups, each source's recall counts equally and the threshold comes down."""
    from curation import Taxonomy

    tax = Taxonomy.from_dict(
        {
            "labels": [
                {
                    "name": "hate",
                    "tier": "T2",
                    "threshold_range": [0.1, 0.9],
                    "gate": {"min_f1": 0.5, "recall_floor": 0.6, "fpr_budget": 0.5},
                }
            ]
        }
    )
    y = np.r_[np.ones(100), np.zeros(900), np.ones(50), np.zeros(50)][:, None]
    p = np.r_[np.full(100, 0.8), np.full(900, 0.05), np.full(100, 0.3)][:, None]
    source = np.array(["big"] * 1000 + ["small"] * 100, dtype=object)

    pooled = tune_thresholds(y, p, taxonomy=tax)
    assert pooled.loc["hate", "threshold"] == 0.8 and pooled.loc["hate", "recall"] == pytest.approx(100 / 150)
    grouped = tune_thresholds(y, p, taxonomy=tax, groups=source)
    assert grouped.loc["hate", "threshold"] == 0.3
    # rates are the mean over the two sources: recall (1 + 1) / 2, FPR (0 + 1) / 2
    assert grouped.loc["hate", "recall"] == 1.0 and grouped.loc["hate", "fpr"] == 0.5
    assert grouped.loc["hate", "constraints_met"]
    # one group, or groups too small to count alone, give the pooled answer
    one = tune_thresholds(y, p, taxonomy=tax, groups=np.full(1100, "all", dtype=object))
    assert one.loc["hate", "threshold"] == 0.8
    with pytest.raises(WorkbenchError, match="one group per calib row"):
        tune_thresholds(y, p, taxonomy=tax, groups=source[:10])


def test_group_rates_fold_small_groups_into_the_largest():
    from training.evaluation import group_rates

    y = np.r_[np.ones(60), np.zeros(60), [1.0, 0.0]]
    p = np.r_[np.full(60, 0.9), np.full(60, 0.1), [0.1, 0.9]]
    g = np.array(["a"] * 120 + ["tiny"] * 2, dtype=object)
    t = np.array([0.5])
    # "tiny" (2 rows < min_group) joins the largest group: one group left, so the pooled rates
    assert group_rates(y, p, t, g)["recall"][0] == pytest.approx(60 / 61)
    # counted alone it halves the recall of the mean
    assert group_rates(y, p, t, g, min_group=1)["recall"][0] == pytest.approx(0.5)
