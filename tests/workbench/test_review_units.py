"""The review loop's pure rules: resolution of several answers, batch acceptance, agreement. (Dataset
settings and record conversion need an Argilla client: tests/integration/test_review_loop.py.)"""

import pytest

from workbench.review import label_agreement, resolve_labels, wilson_lower_bound


def test_resolution_acceptance_and_agreement():
    labels, disagreed = resolve_labels({"a": ["none"], "b": ["none"]}, ["harassment", "spam"])
    assert labels == {"harassment": 0, "spam": 0} and disagreed == []
    tie, _ = resolve_labels({"owner": ["spam"], "b": ["none"]}, ["spam"], owner="owner")
    assert tie == {"spam": 1}
    assert wilson_lower_bound(0, 20) == 0.0 and wilson_lower_bound(20, 20) > 0.8
    assert wilson_lower_bound(2, 20) < 0.10 < wilson_lower_bound(6, 20)  # the default 10 % rule
    perfect = label_agreement({"r1": {"u": ["spam"], "v": ["spam"]}, "r2": {"u": ["none"], "v": ["none"]}}, ["spam"])
    assert perfect["spam"] == {"alpha": pytest.approx(1.0), "records": 2}
    assert label_agreement({"r1": {"u": ["spam"]}}, ["spam"])["spam"]["alpha"] is None  # one annotator
