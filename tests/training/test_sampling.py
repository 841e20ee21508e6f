"""Active sampling: each strategy picks what it promises, with its reason, the same every time."""

from __future__ import annotations

import numpy as np
import pytest

from curation import WorkbenchError
from training.production_loop import k_center_greedy, select_for_review

LABELS = ["hate", "spam"]


def _world(seed=0):
    rng = np.random.default_rng(seed)
    scores = np.column_stack([rng.beta(1, 30, 1000), rng.beta(2, 3, 1000)])  # hate rare, spam common
    # three tight clusters of embeddings (a spam wave of 900 near-copies and two small groups)
    centres = np.eye(3, 16)
    which = np.r_[np.zeros(900, int), np.ones(50, int), np.full(50, 2)]
    emb = centres[which] + 0.01 * rng.normal(size=(1000, 16))
    return scores, emb, which


def test_each_strategy_picks_what_it_promises():
    scores, emb, which = _world()
    thr = [0.3, 0.5]
    unc = select_for_review(scores, thr, LABELS, 20, strategy="uncertainty")
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    margins = np.min(np.abs(logit(scores) - logit(np.array(thr))), axis=1)
    assert sorted(i for i, _ in unc) == sorted(np.argsort(margins)[:20].tolist())
    assert all(why.startswith("uncertainty:") for _, why in unc)
    rare = select_for_review(scores, thr, LABELS, 20, strategy="rare", base_rates=[0.01, 0.4])
    assert all(why == "rare:hate" for _, why in rare)  # the rare label's high scores outrank common spam
    assert min(scores[i, 0] for i, _ in rare) > np.quantile(scores[:, 0], 0.95)
    div = select_for_review(scores, thr, LABELS, 3, strategy="diverse", embeddings=emb)
    assert sorted(which[i] for i, _ in div) == [0, 1, 2]  # one from each cluster, not three from the wave
    rnd = select_for_review(scores, thr, LABELS, 50, strategy="random", seed=3)
    assert rnd == select_for_review(scores, thr, LABELS, 50, strategy="random", seed=3)
    assert len({i for i, _ in rnd}) == 50
    mixed = select_for_review(scores, thr, LABELS, 30, strategy="mixed", embeddings=emb, base_rates=[0.01, 0.4])
    reasons = [why.split(":")[0] for _, why in mixed]
    assert len({i for i, _ in mixed}) == 30 and {"uncertain-diverse", "rare"} <= set(reasons)
    assert sum(r == "rare" for r in reasons) == 10  # a third for the rare labels
    # the rest: among the 5 x 20 posts nearest a threshold, spread over the embedding clusters
    nearest = set(np.argsort(margins)[: 5 * 20 + 10].tolist())
    picked = [i for i, why in mixed if why.startswith("uncertain-diverse")]
    assert set(picked) <= nearest and len(picked) == 20
    # 116 of the 120 nearest are the spam wave's, yet the picks take the two small groups' uncertain posts too
    assert len(set(which[np.argsort(margins)[:120]])) == 3 and len({which[i] for i in picked}) == 3


def test_k_center_excludes_and_refuses_bad_requests():
    _, emb, which = _world()
    picked = k_center_greedy(emb, 2, exclude=[0])  # a wave post already picked: the next two are the others
    assert sorted(which[picked]) == [1, 2]
    assert k_center_greedy(emb, 0) == [] and len(k_center_greedy(emb[:5], 10)) == 5
    with pytest.raises(WorkbenchError, match="one of"):
        select_for_review(np.zeros((3, 2)), [0.5, 0.5], LABELS, 2, strategy="best")
    with pytest.raises(WorkbenchError, match="embeddings"):
        select_for_review(np.zeros((3, 2)), [0.5, 0.5], LABELS, 2, strategy="diverse")
