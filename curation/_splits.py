"""Splits that stay put.

A record's split is chosen once, when it is first stored, and never recomputed. New records are
stratified among themselves with iterative multi-label stratification (Sechidis et al. 2011, from
the ``iterative-stratification`` package) over label positives, label-pair co-occurrence, which
labels are known, and the source/context mix, so every import is balanced on its own and the union
stays balanced. Near-duplicate groups land in one split: a group with a stored member joins that
member's split, a new group follows its first member. The random state is derived from the records' ids, so the same input
gives the same splits on any machine.

Calib and holdout hold only real data: a record a generator wrote (``SYNTHETIC_ORIGINS``) is split among
train and valid by ``generation.splits``, whatever route it came in by, and the store refuses any write
that would put one in calib or holdout (:mod:`curation.store._store`).
"""

from __future__ import annotations

import hashlib
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ._errors import WorkbenchError
from ._records import EVALUATION_SPLITS, SPLITS

__all__ = [
    "DEFAULT_FRACTIONS",
    "DEFAULT_SYNTHETIC_FRACTIONS",
    "assign_splits",
    "origin_counts",
    "split_report",
    "synthetic_split_fractions",
    "validate_fractions",
]

DEFAULT_FRACTIONS: dict[str, float] = {"train": 0.70, "valid": 0.10, "calib": 0.10, "holdout": 0.10}
DEFAULT_SYNTHETIC_FRACTIONS: dict[str, float] = {"train": 0.90, "valid": 0.10}


def validate_fractions(fractions: Mapping[str, float], *, allow_missing: bool = False) -> dict[str, float]:
    """Check split fractions: non-negative, summing to 1. With ``allow_missing`` (per-import
    overrides such as ``{"calib": 0.5, "holdout": 0.5}`` for an official evaluation file), absent
    splits get 0; otherwise every split needs a positive share.

    >>> validate_fractions({"calib": 0.5, "holdout": 0.5}, allow_missing=True)
    {'train': 0.0, 'valid': 0.0, 'calib': 0.5, 'holdout': 0.5}
    """
    keys = list(fractions)
    unknown = [k for k in keys if k not in SPLITS]
    if unknown or (not allow_missing and sorted(keys) != sorted(SPLITS)):
        raise WorkbenchError(
            "split fractions",
            expected=f"the splits {list(SPLITS)}",
            got=str(keys),
            fix="set a fraction for each of train, valid, calib, holdout in workbench.yaml",
        )
    vals = [float(fractions.get(k, 0.0)) for k in SPLITS]
    bad = any(v < 0 for v in vals) or (not allow_missing and any(v <= 0 for v in vals))
    if bad or abs(sum(vals) - 1.0) > 1e-6:
        raise WorkbenchError(
            "split fractions",
            expected="non-negative fractions that sum to 1" + ("" if allow_missing else ", each positive"),
            got=str(dict(zip(SPLITS, vals))),
        )
    return dict(zip(SPLITS, vals))


def _seed_from_ids(ids: Sequence[str]) -> int:
    h = hashlib.sha256()
    for i in ids:
        h.update(i.encode("utf-8"))
        h.update(b"\0")
    return int.from_bytes(h.digest()[:4], "little")


def _strata_matrix(labels: np.ndarray, extra: np.ndarray | None, *, min_pair: int) -> np.ndarray:
    """Columns to stratify on: positives, partially-known indicators, frequent pairs, extras."""
    known = ~np.isnan(labels)
    pos = np.where(known, labels, 0.0) > 0.5
    cols = [pos]
    partly = known.any(axis=0) & ~known.all(axis=0)
    if partly.any():
        cols.append(known[:, partly])
    counts = pos.T.astype(np.int64) @ pos.astype(np.int64)
    a_idx, b_idx = np.triu_indices(labels.shape[1], k=1)
    keep = counts[a_idx, b_idx] >= min_pair
    if keep.any():
        cols.append(pos[:, a_idx[keep]] & pos[:, b_idx[keep]])
    if extra is not None and extra.size:
        cols.append(extra.astype(bool))
    # bool, not int: iterstrat's IterativeStratification indexes its per-label demand with the
    # row itself, which is a mask only for bool rows (int 0/1 rows decrement columns 0 and 1).
    return np.concatenate(cols, axis=1).astype(bool)


def assign_splits(
    labels: np.ndarray,
    *,
    ids: Sequence[str],
    groups: np.ndarray | None = None,
    fixed: Sequence[str | None] | None = None,
    strata: np.ndarray | None = None,
    fractions: Mapping[str, float] | None = None,
    synthetic: np.ndarray | None = None,
    synthetic_fractions: Mapping[str, float] | None = None,
    min_pair: int = 10,
) -> np.ndarray:
    """Assign a split to every row that has none yet.

    Parameters
    ----------
    labels : ndarray of shape (n, n_labels)
        1.0 positive, 0.0 negative, NaN unknown.
    ids : sequence of str, length n
        Record ids; the random state is derived from them (same ids, same splits).
    groups : ndarray of shape (n,), optional
        Duplicate-group id per row; a group always lands in one split (but see ``synthetic``).
    fixed : sequence of (str or None), length n, optional
        Splits already decided (stored records); their groups follow them.
    strata : ndarray of shape (n, k), optional
        Extra 0/1 columns to balance (e.g. one-hot source and context).
    fractions : mapping split -> fraction
        Defaults to 70/10/10/10 train/valid/calib/holdout.
    synthetic : ndarray of shape (n,) of bool, optional
        Rows a generator wrote (origin generated, perturbation, suite). They never get calib or
        holdout: a free group with a synthetic member is split by ``synthetic_fractions``, and a
        synthetic row whose group already sits in calib or holdout does not follow it (the caller
        decides what to do with such a twin of an evaluation record).
    synthetic_fractions : mapping split -> fraction, optional
        Defaults to 90/10 train/valid; a share for calib or holdout is refused.

    Returns
    -------
    ndarray of shape (n,), dtype object, with values in ``SPLITS``.

    Examples
    --------
    >>> y = np.array([[1.0], [0.0]] * 50)
    >>> s = assign_splits(y, ids=[f"r{i}" for i in range(100)])
    >>> sorted(set(s)) == sorted(SPLITS), int((s == "train").sum())
    (True, 70)
    >>> s = assign_splits(y, ids=[f"r{i}" for i in range(100)], synthetic=np.ones(100, dtype=bool))
    >>> sorted(set(s))
    ['train', 'valid']
    """
    fr = validate_fractions(fractions or DEFAULT_FRACTIONS, allow_missing=True)
    synth_fr = synthetic_split_fractions(synthetic_fractions)
    labels = np.asarray(labels, dtype=np.float64)
    n = labels.shape[0]
    if len(ids) != n:
        raise WorkbenchError("assign_splits", expected=f"{n} ids", got=f"{len(ids)}")
    groups = np.arange(n) if groups is None else np.asarray(groups)
    synthetic = np.zeros(n, dtype=bool) if synthetic is None else np.asarray(synthetic, dtype=bool)
    out = np.empty(n, dtype=object)
    if fixed is not None:
        out[:] = list(fixed)
    # groups that contain a decided row take its split (the first decided row wins); a synthetic row
    # never follows its group into an evaluation split
    group_split: dict[int, str] = {}
    for i in range(n):
        if out[i] is not None and groups[i] not in group_split:
            group_split[groups[i]] = out[i]
    free = np.array([out[i] is None for i in range(n)], dtype=bool)
    for i in np.flatnonzero(free):
        split = group_split.get(groups[i])
        if split is not None and not (synthetic[i] and split in EVALUATION_SPLITS):
            out[i] = split
            free[i] = False
    free_rows = np.flatnonzero(free)
    if free_rows.size == 0:
        return out
    # a free group with a synthetic member is split among train/valid only, the rest by ``fractions``
    synthetic_groups = set(groups[free_rows[synthetic[free_rows]]].tolist())
    in_synthetic = np.array([groups[i] in synthetic_groups for i in free_rows], dtype=bool)
    for rows, shares in ((free_rows[~in_synthetic], fr), (free_rows[in_synthetic], synth_fr)):
        if rows.size:
            out[rows] = _stratify(
                labels, rows, ids=ids, groups=groups, strata=strata, fractions=shares, min_pair=min_pair
            )
    return out


def synthetic_split_fractions(fractions: Mapping[str, float] | None = None) -> dict[str, float]:
    """The split fractions of records a generator wrote (``generation.splits``): train and valid only.

    >>> synthetic_split_fractions({"train": 0.8, "valid": 0.2})
    {'train': 0.8, 'valid': 0.2, 'calib': 0.0, 'holdout': 0.0}
    """
    fr = validate_fractions(fractions or DEFAULT_SYNTHETIC_FRACTIONS, allow_missing=True)
    if any(fr[s] > 0 for s in EVALUATION_SPLITS):
        raise WorkbenchError(
            "generation.splits",
            expected="shares of train and valid only (calib and holdout hold only real records)",
            got=str({k: v for k, v in fr.items() if v}),
            fix="set generation.splits in workbench.yaml to e.g. {train: 0.9, valid: 0.1}",
        )
    return fr


def _stratify(
    labels: np.ndarray,
    rows: np.ndarray,
    *,
    ids: Sequence[str],
    groups: np.ndarray,
    strata: np.ndarray | None,
    fractions: Mapping[str, float],
    min_pair: int,
) -> np.ndarray:
    """Split names for ``rows``: stratified record by record (so the fractions hold in records, not in
    groups), then every duplicate group follows its first member (a group of k lands in split s with
    probability about r_s, which keeps record fractions and label balance in expectation)."""
    # iterstrat fills folds in row order within each label (the largest fold first), so rows are
    # shuffled first; otherwise a group's first member would land in train more often than not.
    rs = np.random.RandomState(_seed_from_ids([ids[i] for i in rows]))
    perm = rs.permutation(rows.size)
    sub_strata = None if strata is None or not strata.size else np.asarray(strata, dtype=bool)[rows[perm]]
    y = _strata_matrix(labels[rows[perm]], sub_strata, min_pair=min_pair)
    used = [k for k, s in enumerate(SPLITS) if fractions[s] > 0]  # splits with a share in this assignment
    r = np.array([fractions[SPLITS[k]] for k in used])
    if len(used) == 1:
        shuffled = np.zeros(rows.size, dtype=np.int64)
    elif y.shape[1] == 0:
        shuffled = rs.choice(len(used), size=rows.size, p=r)
    else:
        from iterstrat.ml_stratifiers import IterativeStratification

        shuffled = IterativeStratification(labels=y, r=r, random_state=rs)
    folds = np.empty(rows.size, dtype=np.int64)
    folds[perm] = np.asarray(used)[np.asarray(shuffled)]
    _, first, inverse = np.unique(groups[rows], return_index=True, return_inverse=True)
    names = np.array(SPLITS, dtype=object)
    return names[folds[first][inverse]]


def split_report(
    frame: pd.DataFrame, labels: Sequence[str], *, by: Sequence[str] = ("source", "context", "origin")
) -> dict[str, pd.DataFrame]:
    """Describe each split so a user can see that calib and holdout look alike.

    Returns a dict of frames:

    - ``label_rates``: positive rate among known values, per label (rows) and split (columns);
    - ``label_positives``: positive counts per label and split;
    - ``pairs``: co-occurrence counts of label pairs per split (pairs seen at least once);
    - ``<by>``: share of each source / context / origin per split;
    - ``origin_counts``: records of each origin per split (calib and holdout hold only ``real``);
    - ``calib_vs_holdout``: per label, positives overall and the absolute rate difference in
      percentage points between calib and holdout.
    """
    out: dict[str, pd.DataFrame] = {}
    labels = list(labels)
    splits = [s for s in SPLITS if s in set(frame["split"])] or list(SPLITS)
    rates, positives = {}, {}
    for s in splits:
        part = frame.loc[frame["split"] == s, labels]
        rates[s] = part.mean(skipna=True)
        positives[s] = (part == 1).sum()
    out["label_rates"] = pd.DataFrame(rates).reindex(labels)
    out["label_positives"] = pd.DataFrame(positives).reindex(labels).fillna(0).astype(int)
    pair_rows = []
    pos_all = (frame[labels] == 1).to_numpy()
    split_col = frame["split"].to_numpy()
    for i, a in enumerate(labels):
        for j in range(i + 1, len(labels)):
            both = pos_all[:, i] & pos_all[:, j]
            if not both.any():
                continue
            row = {"pair": f"{a}+{labels[j]}"}
            for s in splits:
                row[s] = int(both[split_col == s].sum())
            pair_rows.append(row)
    out["pairs"] = pd.DataFrame(pair_rows, columns=["pair", *splits]).set_index("pair")
    for col in by:
        if col in frame:
            out[col] = pd.crosstab(frame[col], frame["split"], normalize="columns").reindex(columns=splits)
    if "origin" in frame:
        out["origin_counts"] = origin_counts(frame)
    if "calib" in rates and "holdout" in rates:
        total_pos = (frame[labels] == 1).sum()
        diff = (out["label_rates"]["calib"] - out["label_rates"]["holdout"]).abs() * 100
        out["calib_vs_holdout"] = pd.DataFrame({"positives": total_pos, "diff_pp": diff}).reindex(labels)
    return out


def origin_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Records of each origin (rows) per split (columns, in ``SPLITS`` order), zeros included."""
    table = pd.crosstab(frame["origin"], frame["split"])
    return table.reindex(columns=list(SPLITS), fill_value=0).astype(int)
