"""``retrieval`` (offline): a seed expanded from a pool of real, unlabelled texts.

The pool is the records of the sources listed under ``generation.pool_sources`` in workbench.yaml,
or the texts of a file. Texts and the seed are embedded with training's encoder and its on-disk
embedding cache (no second cache); the batch is chosen by maximal marginal relevance (similar to the
seed, unlike each other). Overlap items are chosen near the seed *and* the known positives of the
co-label. The intended labels are the seed's, pending review: retrieval proposes, annotators decide.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from curation import WorkbenchError

from .base import GenerationStats, Item, SeedSpec, Slot

__all__ = ["RetrievalProvider", "mmr"]


def mmr(
    query: np.ndarray, candidates: np.ndarray, k: int, *, diversity: float = 0.3, exclude: Sequence[int] = ()
) -> list[int]:
    """Indices of ``k`` rows of ``candidates`` (L2-normalised) by maximal marginal relevance to ``query``.

    >>> c = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0]]); c /= np.linalg.norm(c, axis=1, keepdims=True)
    >>> mmr(np.array([1.0, 0.0]), c, 2, diversity=0.9)  # the second pick avoids the near copy of the first
    [0, 2]
    """
    sims = candidates @ query
    chosen: list[int] = []
    blocked = np.zeros(len(candidates), dtype=bool)
    blocked[list(exclude)] = True
    redundancy = np.full(len(candidates), -np.inf)
    for _ in range(min(k, int((~blocked).sum()))):
        score = (1 - diversity) * sims - diversity * np.where(np.isinf(redundancy), 0.0, redundancy)
        score[blocked] = -np.inf
        best = int(np.argmax(score))
        chosen.append(best)
        blocked[best] = True
        redundancy = np.maximum(redundancy, candidates @ candidates[best])
    return chosen


class RetrievalProvider:
    """Nearest pool texts of a seed, with diversity.

    Parameters
    ----------
    pool : sequence of str
        Unlabelled real texts to draw from.
    encoder : training.families.Encoder
        With the project's cache directory, so embeddings are shared with training.
    positives : mapping label -> sequence of str
        Known positive texts per label (for the direction of overlap items).
    diversity : float
        MMR trade-off (0: nearest only, 1: most diverse).
    pool_name : str
        What the pool is (its sources or file), part of the cache key.
    """

    name = "retrieval"

    def __init__(
        self, pool: Sequence[str], encoder, *, positives=None, diversity: float = 0.3, pool_name: str = "pool"
    ):
        if not pool:
            raise WorkbenchError(
                "retrieval pool",
                expected="some real texts to draw from",
                got="none",
                fix="list sources under generation.pool_sources in workbench.yaml, or pass --pool FILE",
            )
        self.pool = list(dict.fromkeys(pool))
        self.encoder = encoder
        self.positives = {k: list(v) for k, v in (positives or {}).items()}
        self.diversity = diversity
        self.pool_sources: tuple[str, ...] = ()  # stored sources the pool came from (not duplicates of its items)
        self.model = encoder.model_id
        # the pool by name, not content: texts proposed earlier leave the pool, and that must not remake a batch
        self.params = {"diversity": diversity, "pool": pool_name}
        self._pool_emb: np.ndarray | None = None
        self.queries: dict[str, list[str]] = {}  # seed id -> texts whose mean embedding replaces the seed's text
        self._used: list[int] = []  # pool rows given to earlier seeds of this run: each text goes to one batch

    def query_by(self, queries: dict[str, Sequence[str]], name: str) -> None:
        """Retrieve for these seeds by the mean embedding of their texts (e.g. a failing functionality's
        train-side cases) instead of the seed's own text; ``name`` says what the queries are (cache key)."""
        self.queries = {k: list(v) for k, v in queries.items() if len(v)}
        self.params = {**self.params, "queries": name}

    def _query(self, seed: SeedSpec) -> np.ndarray:
        texts = self.queries.get(seed.id)
        if not texts:
            return self.encoder.encode([seed.text])[0]
        emb = self.encoder.encode(texts)
        emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-9)
        return emb.mean(axis=0)

    def generate(
        self, seed: SeedSpec, slots: Sequence[Slot], *, stats: GenerationStats, on_item=None
    ) -> Iterator[Item]:
        if self._pool_emb is None:
            self._pool_emb = self.encoder.encode(self.pool)
        q = self._query(seed)
        taken = self._used
        by_co: dict[str | None, list[Slot]] = {}
        for slot in slots:
            by_co.setdefault(slot.overlap_label, []).append(slot)
        for co, group in by_co.items():
            query = q
            if co is not None and self.positives.get(co):
                centroid = self.encoder.encode(self.positives[co]).mean(axis=0)
                query = q / np.linalg.norm(q) + centroid / max(np.linalg.norm(centroid), 1e-9)
            query = query / max(np.linalg.norm(query), 1e-9)
            picks = mmr(query, self._pool_emb, len(group), diversity=self.diversity, exclude=taken)
            taken += picks
            stats.failed_slots += len(group) - len(picks)
            for slot, j in zip(group, picks):
                item = Item(
                    slot.index,
                    self.pool[j],
                    dict(slot.labels),
                    {"similarity": round(float(self._pool_emb[j] @ q), 4), "overlap_label": co},
                )
                if on_item is not None:
                    on_item(item)
                yield item
