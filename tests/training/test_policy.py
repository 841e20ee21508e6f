"""The policy layer."""

import re

import numpy as np
import pytest

from curation import WorkbenchError
from training import Policy


def test_policy_shapes_are_checked():
    pol = Policy(["a", "b"], [0.5, 0.5], ["warn", "hide"])
    with pytest.raises(WorkbenchError, match=re.escape("expected shape (n, 2) in label order ['a', 'b']")):
        pol.apply(np.zeros((3, 3)))
    assert Policy.combine([pol, Policy(["c"], [0.1], ["badge"])]).labels == ("a", "b", "c")


def test_bands_follow_confidence_and_are_tuned_on_calib_precision():
    from training import tune_bands

    rng = np.random.default_rng(0)
    y = (rng.random((2000, 1)) < 0.2).astype(float)
    p = np.clip(0.35 * y + rng.random((2000, 1)) * 0.65, 0, 1)  # positives score higher
    bands = tune_bands(y, p, ["threat"])["threat"]
    assert bands["hide"] > bands["warn"] > bands["badge"]  # stricter precision, higher threshold
    for band, target in (("hide", 0.95), ("warn", 0.80), ("badge", 0.60)):
        above = p[:, 0] >= bands[band]
        assert y[above, 0].mean() >= target  # the precision each band was tuned for holds on calib
    pol = Policy(["threat"], [bands["badge"]], ["hide"], [bands])
    probs = np.array([[bands["hide"] + 1e-6], [bands["warn"] + 1e-6], [bands["badge"] + 1e-6], [0.0]])
    assert [o["action"] for o in pol.apply(probs)] == ["hide", "warn", "badge", "allow"]
    assert pol.apply(probs)[1]["actions"] == {"threat": "warn"}
    unreachable = tune_bands(np.zeros((50, 1)), rng.random((50, 1)), ["x"])["x"]
    assert unreachable == {"hide": None, "warn": None, "badge": None}
    assert Policy(["x"], [0.5], ["warn"], [unreachable]).apply(np.array([[0.9]]))[0]["action"] == "warn"  # no band
