"""Active sampling of production posts for review: which unlabelled posts are worth a person's time.

- ``uncertainty``: the posts whose score is nearest a label's threshold (on the logit scale, so that
  0.02 against a threshold of 0.05 counts as near);
- ``rare``: rare-event boosting: the posts the model scores highest for the rarest labels (a label's score
  divided by its calib decision rate, so one hit of a label that fires on 0.1 % of posts outranks a sure
  spam post);
- ``diverse``: k-centre greedy over the posts' sentence embeddings: each pick is the post farthest from
  every post picked so far, so 200 posts are not 200 copies of one spam wave;
- ``random``: the baseline every other strategy is measured against;
- ``mixed``: a third by ``rare`` (a label that fires on 0.1 % of posts needs it: random review finds
  none), the rest **uncertain and diverse**: of the ``5 n`` posts nearest a threshold, one per k-means
  cluster of their embeddings (the nearest its centre), so the budget goes where the model is unsure
  without spending it on one kind of post (the batch-mode hybrid of Zhdanov 2019, "Diverse mini-batch
  active learning"). ``diverse`` alone (k-centre) is kept as a strategy of its own but not mixed in: it
  picks the outliers of the embedding space (very short or odd posts), and on ``bench/production_loop.py``
  a third of those left the retrained model no better than random review, where the uncertain-diverse
  picks beat random (docs/measurements/production-loop.md). Random fills what is left.

Each pick comes with its reason (``uncertainty:hate``, ``rare:threat``, ``uncertain-diverse:hate``, ``diverse``,
``random``), which the
review record carries as metadata. The same inputs and ``seed`` give the same sample.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from curation import WorkbenchError

__all__ = ["STRATEGIES", "select_for_review", "k_center_greedy"]

STRATEGIES = ("uncertainty", "rare", "diverse", "mixed", "random")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def k_center_greedy(embeddings: np.ndarray, k: int, *, seed: int = 0, exclude: Sequence[int] = ()) -> list[int]:
    """``k`` row indices, each the farthest (cosine distance) from every row picked before it and from the
    rows in ``exclude``; without ``exclude`` the first pick is random.

    >>> k_center_greedy(np.array([[1, 0], [1, 0.01], [0, 1], [-1, 0]]), 3, exclude=[0])
    [3, 2, 1]
    """
    x = np.asarray(embeddings, dtype=np.float32)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    taken = np.zeros(len(x), dtype=bool)
    taken[list(exclude)] = True
    k = min(int(k), int((~taken).sum()))
    if k <= 0:
        return []
    if len(exclude):
        dist = 1.0 - (x @ x[list(exclude)].T).max(axis=1)
        nxt = int(np.argmax(np.where(taken, -np.inf, dist)))
    else:
        dist = np.full(len(x), np.inf, dtype=np.float32)
        nxt = int(np.random.default_rng(seed).integers(len(x)))
    picked = []
    for _ in range(k):
        picked.append(nxt)
        taken[nxt] = True
        dist = np.minimum(dist, 1.0 - x @ x[nxt])
        nxt = int(np.argmax(np.where(taken, -np.inf, dist)))
    return picked


def select_for_review(
    scores: np.ndarray,
    thresholds: Sequence[float],
    labels: Sequence[str],
    n: int,
    *,
    strategy: str = "mixed",
    base_rates: Sequence[float] | None = None,
    embeddings: np.ndarray | None = None,
    seed: int = 0,
) -> list[tuple[int, str]]:
    """(row index, reason) of up to ``n`` rows of ``scores`` (posts x labels) to review, best first.
    ``base_rates``: each label's calib decision rate (for ``rare``; default: the mean decision rate on
    ``scores`` itself); ``embeddings`` (for ``diverse``, required by it and by ``mixed``)."""
    if strategy not in STRATEGIES:
        raise WorkbenchError("--strategy", expected=f"one of {list(STRATEGIES)}", got=repr(strategy))
    s = np.asarray(scores, dtype=float)
    m = len(s)
    n = min(int(n), m)
    thr = np.asarray(thresholds, dtype=float)
    if strategy in ("diverse", "mixed") and embeddings is None:
        raise WorkbenchError(f"{strategy} sampling", expected="the posts' embeddings", got="none")
    rng = np.random.default_rng(seed)
    if strategy == "random":
        return [(int(i), "random") for i in rng.permutation(m)[:n]]
    if strategy == "uncertainty":
        margin = np.abs(_logit(s) - _logit(thr)[None, :])
        which = margin.argmin(axis=1)
        order = np.argsort(margin.min(axis=1), kind="stable")[:n]
        return [(int(i), f"uncertainty:{labels[which[i]]}") for i in order]
    if strategy == "rare":
        rates = np.asarray(base_rates if base_rates is not None else (s >= thr).mean(axis=0), dtype=float)
        boost = s / np.maximum(rates, 1.0 / max(m, 1))[None, :]
        which = boost.argmax(axis=1)
        order = np.argsort(-boost.max(axis=1), kind="stable")[:n]
        return [(int(i), f"rare:{labels[which[i]]}") for i in order]
    if strategy == "diverse":
        return [(i, "diverse") for i in k_center_greedy(embeddings, n, seed=seed)]
    out: dict[int, str] = {}
    for i, why in select_for_review(s, thr, labels, max(n // 3, 1), strategy="rare", base_rates=base_rates):
        out.setdefault(i, why)
    for i, why in _uncertain_diverse(s, thr, labels, n - len(out), embeddings, seed, set(out)):
        out.setdefault(i, why)
    for i in rng.permutation(m):
        if len(out) >= n:
            break
        out.setdefault(int(i), "random")
    return list(out.items())[:n]


def _uncertain_diverse(s, thr, labels, n: int, embeddings, seed: int, taken: set[int], pool_factor: int = 5):
    """``n`` of the ``pool_factor * n`` most uncertain posts (not in ``taken``), one per k-means cluster of
    their embeddings (the one nearest its centre): uncertain, and not ``n`` copies of one kind of post."""
    from sklearn.cluster import KMeans

    margin = np.abs(_logit(s) - _logit(thr)[None, :])
    which = margin.argmin(axis=1)
    order = [int(i) for i in np.argsort(margin.min(axis=1), kind="stable") if int(i) not in taken]
    cand = np.asarray(order[: pool_factor * n])
    if len(cand) <= n:
        return [(int(i), f"uncertain-diverse:{labels[which[i]]}") for i in cand]
    x = np.asarray(embeddings, dtype=np.float32)[cand]
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    km = KMeans(n_clusters=n, n_init=1, random_state=seed).fit(x)
    out = []
    for c in range(n):
        members = np.flatnonzero(km.labels_ == c)
        if not len(members):
            continue
        best = members[np.argmin(((x[members] - km.cluster_centers_[c]) ** 2).sum(axis=1))]
        out.append((int(cand[best]), f"uncertain-diverse:{labels[which[cand[best]]]}"))
    return out
