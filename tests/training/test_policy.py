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
