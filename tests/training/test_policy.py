"""The policy layer."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation import WorkbenchError
from training.artifacts import ACTION_SEVERITY, Policy


def test_policy_shapes_are_checked():
    pol = Policy(["a", "b"], [0.5, 0.5], ["warn", "hide"])
    with pytest.raises(WorkbenchError, match=re.escape("expected shape (n, 2) in label order ['a', 'b']")):
        pol.apply(np.zeros((3, 3)))
    assert Policy.combine([pol, Policy(["c"], [0.1], ["badge"])]).labels == ("a", "b", "c")


def test_bands_follow_confidence_and_are_tuned_on_calib_precision():
    from training.artifacts import tune_bands

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


_ACTIONS = ["hide", "warn", "badge", "none"]


@st.composite
def _policies(draw):
    n = draw(st.integers(1, 5))
    labels = [f"l{i}" for i in range(n)]
    thresholds = draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))
    actions = draw(st.lists(st.sampled_from(_ACTIONS), min_size=n, max_size=n))
    band = st.one_of(st.none(), st.floats(0.0, 1.0))
    bands = draw(
        st.one_of(
            st.none(),
            st.lists(
                st.one_of(st.none(), st.fixed_dictionaries({"hide": band, "warn": band, "badge": band})),
                min_size=n,
                max_size=n,
            ),
        )
    )
    pairs = [(labels[i], labels[i - 1]) for i in range(1, n) if draw(st.booleans())]
    return Policy(labels, thresholds, actions, bands, pairs)


@settings(max_examples=300, deadline=None)
@given(pol=_policies(), data=st.data())
def test_no_undecided_label_acts_and_no_label_exceeds_its_ceiling(pol, data):
    n = len(pol.labels)
    probs = np.array(data.draw(st.lists(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n), min_size=1, max_size=6)))
    for out in pol.apply(probs):
        for j, lab in enumerate(pol.labels):
            act = out["actions"].get(lab, "allow")
            if not out["decisions"][lab]:
                assert act == "allow"  # acts only when decided
            assert ACTION_SEVERITY[act] <= ACTION_SEVERITY[pol.actions[j]]  # the taxonomy action is a ceiling
            if pol.actions[j] == "none":
                assert act == "allow"  # silenced everywhere
            elif out["decisions"][lab]:
                assert act != "allow"  # a decided label with an action acts
        worst = max((ACTION_SEVERITY[a] for a in out["actions"].values()), default=0)
        assert ACTION_SEVERITY[out["action"]] == worst and (out["action"] == "allow") == (worst == 0)


def test_a_topic_label_never_hides_and_a_label_below_its_threshold_never_warns():
    """The two cases the issue constructed: calib bands tuned below the decision threshold, and bands
    that reach hide on a label whose taxonomy action is badge."""
    bands = {"hide": 0.6, "warn": 0.3, "badge": 0.1}
    pol = Policy(["topic", "threat", "quiet"], [0.5, 0.5, 0.5], ["badge", "hide", "none"], [bands, bands, bands])
    out = pol.apply(np.array([[0.95, 0.4, 0.99], [0.2, 0.7, 0.99]]))
    assert out[0]["actions"] == {"topic": "badge"} and out[0]["action"] == "badge"  # ceiling badge; threat undecided
    assert out[1]["actions"] == {"threat": "hide"} and out[1]["decisions"]["quiet"] is True  # none: decided, silent
