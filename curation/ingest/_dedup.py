"""Exact and near-duplicate detection.

Exact duplicates share a normalised text. Near-duplicates are found with character-shingle
MinHash signatures (``rensa``, a Rust MinHash library) and banded locality-sensitive hashing over the
signature matrix (vectorised with numpy, so signatures can be stored and re-indexed without
rebuilding per-record objects); candidates are verified on the signatures' estimated Jaccard
similarity. Nothing here scans all
pairs: cost grows with the number of records, not its square.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["shingles", "minhash_signatures", "near_duplicate_pairs", "duplicate_groups", "lsh_bands"]

MINHASH_SEED = 1729


def shingles(norm_text: str, *, k: int = 5) -> list[str]:
    """Character ``k``-shingles of an already normalised text (the whole text when shorter).

    >>> shingles("abcdef", k=4)
    ['abcd', 'bcde', 'cdef']
    >>> shingles("ab", k=4)
    ['ab']
    """
    if len(norm_text) <= k:
        return [norm_text]
    return [norm_text[i : i + k] for i in range(len(norm_text) - k + 1)]


def minhash_signatures(norm_texts: Sequence[str], *, num_perm: int = 64, k: int = 5) -> np.ndarray:
    """MinHash signatures of normalised texts.

    Returns
    -------
    ndarray of shape (n_texts, num_perm), dtype uint32
    """
    if len(norm_texts) == 0:
        return np.zeros((0, num_perm), dtype=np.uint32)
    token_sets = [sorted(set(shingles(t, k=k))) for t in norm_texts]
    digests = _rensa().RMinHash.digests_from_token_sets(token_sets, num_perm, MINHASH_SEED)
    return np.asarray(digests, dtype=np.uint32)


def _rensa():
    import rensa  # imported lazily: a compiled extension, only needed when signatures are built

    return rensa


def lsh_bands(num_perm: int, threshold: float) -> tuple[int, int]:
    """Bands ``b`` and rows ``r`` (``b * r <= num_perm``) that minimise the summed false-positive
    and false-negative probability mass around ``threshold`` (the classic MinHash-LSH choice).

    >>> lsh_bands(64, 0.8)
    (5, 11)
    """
    from scipy.integrate import quad

    best, best_err = (1, num_perm), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = quad(lambda s: 1 - (1 - s**r) ** b, 0.0, threshold)[0]
            fn = quad(lambda s: (1 - s**r) ** b, threshold, 1.0)[0]
            if fp + fn < best_err:
                best, best_err = (b, r), fp + fn
    return best


def near_duplicate_pairs(
    signatures: np.ndarray, *, query_from: int = 0, threshold: float = 0.8
) -> list[tuple[int, int, float]]:
    """Pairs of rows whose estimated Jaccard similarity is at least ``threshold``.

    Banded LSH over the signature matrix: rows that agree on every value of a band fall in one
    bucket. Each bucket links its members to its first row (a star, not all pairs, so a bucket of
    a thousand copies costs a thousand checks, not half a million); candidates are kept when the
    signatures agree on at least ``threshold`` of their values. Only pairs with a row at index
    ``>= query_from`` are returned, so a store indexes its existing rows and asks about new ones.

    Parameters
    ----------
    signatures : ndarray of shape (n, num_perm)
    query_from : int
        Rows before this index were compared with each other already.
    threshold : float
        Minimum estimated Jaccard similarity of the character shingles.

    Returns
    -------
    list of (i, j, similarity) with ``i < j``, sorted.

    Examples
    --------
    >>> from curation._records import normalise_text
    >>> sig = minhash_signatures([normalise_text(t) for t in
    ...       ["the quick brown fox jumps over the lazy dog",
    ...        "the quick brown fox jumps over the lazy dog!!",
    ...        "completely different words here"]])
    >>> [(i, j) for i, j, _ in near_duplicate_pairs(sig)]
    [(0, 1)]
    """
    n, num_perm = signatures.shape
    if n < 2 or query_from >= n:
        return []
    b, r = _bands_cached(num_perm, round(float(threshold), 4))
    sig = np.ascontiguousarray(signatures, dtype=np.uint32)
    found: dict[tuple[int, int], float] = {}
    rows = np.arange(n)
    for band in range(b):
        block = np.ascontiguousarray(sig[:, band * r : (band + 1) * r])
        keys = block.view(np.dtype((np.void, block.dtype.itemsize * r))).ravel()
        _, inverse = np.unique(keys, return_inverse=True)
        order = np.lexsort((rows, inverse))
        inv_sorted = inverse[order]
        starts = np.r_[0, np.flatnonzero(np.diff(inv_sorted)) + 1]
        anchor = np.repeat(order[starts], np.diff(np.r_[starts, n]))
        members = order
        mask = (members != anchor) & (members >= query_from)
        for a, m in zip(anchor[mask].tolist(), members[mask].tolist()):
            if (a, m) not in found:
                found[(a, m)] = -1.0
    if not found:
        return []
    pairs = np.array(list(found), dtype=np.int64)
    sims = (sig[pairs[:, 0]] == sig[pairs[:, 1]]).mean(axis=1)
    keep = sims >= threshold
    return [(int(a), int(m), float(s)) for (a, m), s in zip(pairs[keep], sims[keep])]


_BANDS: dict[tuple[int, float], tuple[int, int]] = {}


def _bands_cached(num_perm: int, threshold: float) -> tuple[int, int]:
    if (num_perm, threshold) not in _BANDS:
        _BANDS[(num_perm, threshold)] = lsh_bands(num_perm, threshold)
    return _BANDS[(num_perm, threshold)]


def duplicate_groups(n: int, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Connected components over duplicate pairs: ``group[i] == group[j]`` iff linked.

    >>> duplicate_groups(4, [(0, 2)]).tolist()
    [0, 1, 0, 2]
    """
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if not pairs:
        return np.arange(n, dtype=np.int64)
    a = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
    b = np.fromiter((p[1] for p in pairs), dtype=np.int64, count=len(pairs))
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (a, b)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    return comp.astype(np.int64)
