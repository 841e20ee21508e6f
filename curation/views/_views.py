"""Views computed at training time, never stored: task views, the training mix, the evaluation view.

All functions are pure: a record frame in (as from :meth:`Project.records.frame`), a frame and a report out.
The store keeps the full multi-label truth; these decide what a particular model sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .._errors import WorkbenchError
from .._taxonomy import Taxonomy
from ..production._pool import PRODUCTION_ORIGIN

__all__ = ["MixResult", "collapse_duplicates", "task_view", "training_mix", "evaluation_view", "production_part"]


@dataclass
class MixResult:
    """A selection of records and what it achieved.

    Attributes
    ----------
    frame : DataFrame
        The selected records.
    per_label : DataFrame
        Per label: available and selected positives, floor, cap, and whether each held.
    summary : dict
        Bucket sizes and shares.
    unmet : list of str
        Human-readable statements of every floor, cap or share that could not be met.
    """

    frame: pd.DataFrame
    per_label: pd.DataFrame
    summary: dict[str, Any]
    unmet: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return self.frame["id"].tolist()


def collapse_duplicates(frame: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """One row per exact-duplicate group (same normalised text).

    The first stored record represents the group; a label unknown on it is taken from a twin that
    knows it. ``label_conflict`` marks groups whose twins disagree on a known label (the first
    record's value is kept; the conflict is for review).
    """
    labels = list(labels)
    if frame.empty:
        out = frame.copy()
        out["label_conflict"] = pd.Series(dtype=bool)
        return out
    root = frame["dup_of"].where(frame["dup_of"].notna(), frame["id"])
    if root.is_unique:
        out = frame.copy()
        out["label_conflict"] = False
        return out
    grouped = frame[labels].groupby(root.to_numpy(), sort=False)
    merged = grouped.first()  # first known value per label, in record order
    mx, mn = grouped.max(), grouped.min()
    conflict = ((mx != mn) & mx.notna()).any(axis=1)
    keep = ~root.duplicated(keep="first")
    out = frame.loc[keep].copy()
    keys = root[keep].to_numpy()
    out[labels] = merged.loc[keys, labels].to_numpy()
    out["label_conflict"] = conflict.loc[keys].to_numpy()
    return out.reset_index(drop=True)


def task_view(
    frame: pd.DataFrame, taxonomy: Taxonomy, group: str | None = None, *, labels: Sequence[str] | None = None
) -> pd.DataFrame:
    """Active, de-duplicated records that know at least one label of a label group.

    Parameters
    ----------
    frame : DataFrame
        Records as from :meth:`Project.records.frame`.
    group : str, optional
        A taxonomy label group (e.g. ``"safety"``); or give ``labels`` directly. Neither: all labels.

    Returns
    -------
    DataFrame with the metadata columns and only the view's label columns (taxonomy order).
    """
    if labels is None:
        labels = taxonomy.labels_in_group(group) if group is not None else taxonomy.label_names
    labels = [lab for lab in taxonomy.label_names if lab in set(labels)]
    other = [lab for lab in taxonomy.label_names if lab not in labels]
    active = frame[frame["status"] == "active"] if "status" in frame else frame
    view = collapse_duplicates(active, taxonomy.label_names)
    view = view.drop(columns=[c for c in other if c in view.columns])
    known = view[labels].notna().any(axis=1)
    return view.loc[known].reset_index(drop=True)


def _buckets(view: pd.DataFrame, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vals = view[list(labels)].to_numpy(dtype=float)
    pos = np.nan_to_num(vals, nan=0.0) > 0.5
    any_pos = pos.any(axis=1)
    all_known = ~np.isnan(vals).any(axis=1)
    return pos, any_pos, all_known


def training_mix(
    view: pd.DataFrame,
    labels: Sequence[str],
    *,
    split: str | None = "train",
    clean_share: float = 0.80,
    clean_share_range: Sequence[float] = (0.70, 0.85),
    head_cap: float = 0.10,
    tail_floor: int = 500,
    hard_negative_share: float = 0.30,
    hard_negative_range: Sequence[float] = (0.20, 0.40),
    floors: dict[str, int] | None = None,
    hard_negatives_per_label: Mapping[str, int] | None = None,
    production_share: float = 0.30,
    production_max_repeat: int = 10,
    seed: int = 0,
    max_rounds: int = 4,
) -> MixResult:
    """Select a training mix balanced by *label occurrences*, with floors, caps and clean share.

    - Positives: labels are filled from the rarest up; a post counts once for each of its labels;
      no label may exceed ``head_cap`` x total (head cap); a label with fewer than its floor of
      positives available is kept whole and reported.
    - Clean bucket: ``clean_share`` of the total (reported if outside ``clean_share_range``);
      inside it, ``hard_negative_share`` hard negatives (reported if outside ``hard_negative_range``).
      Fully labelled clean records are preferred to records whose other labels are unknown.
    - ``hard_negatives_per_label``: at least that many hard negatives *for* a label (records whose
      ``hard_negative_labels`` hold it: a hard-negative seed's targets, or a false positive an error
      review confirmed) are taken first, within the hard-negative share; a target that cannot be met
      is reported, and ``per_label`` shows each label's hard negatives against its target.
    - Labelled production posts (origin ``production``: the team's own platform, labelled by its
      moderators and reviewers) are not balanced away: they join the curated mix at ``production_share``
      of the rows fitted (repeated up to ``production_max_repeat`` times when too few, the extra left out
      when too many: :func:`production_part`); the summary and ``per_label`` count them
      (``production_positives``: distinct posts).

    Parameters
    ----------
    view : DataFrame
        A task view (see :func:`task_view`).
    labels : sequence of str
        The view's labels.
    split : str or None
        Only records of this split are mixed; ``None`` mixes all.
    floors : dict, optional
        Per-label floor overrides (default ``tail_floor`` for every label).

    Returns
    -------
    MixResult

    Examples
    --------
    >>> v = pd.DataFrame({"id": [f"r{i}" for i in range(100)], "split": "train",
    ...                   "hard_negative": [i >= 90 for i in range(100)],
    ...                   "spam": [1.0] * 20 + [0.0] * 80})
    >>> m = training_mix(v, ["spam"], head_cap=0.5, tail_floor=5, clean_share=0.75,
    ...                  hard_negative_share=0.2)
    >>> m.summary["n_positive"], m.summary["n_clean"], m.summary["n_hard_negative"]
    (20, 60, 10)
    """
    labels = list(labels)
    _check_mix_shares(clean_share, head_cap, hard_negative_share)
    pool = view if split is None else view[view["split"] == split]
    is_prod = (pool["origin"] == PRODUCTION_ORIGIN).to_numpy() if "origin" in pool else np.zeros(len(pool), bool)
    production = pool[is_prod].reset_index(drop=True)
    pool = pool[~is_prod].reset_index(drop=True)
    order = np.random.default_rng(seed).permutation(len(pool))  # one shuffled order: stable selection
    pos, any_pos, all_known = _buckets(pool, labels)
    floors = {lab: int((floors or {}).get(lab, tail_floor)) for lab in labels}
    # 1. positives, rarest label first, under the head cap
    selected, cap = _select_positives(
        pos, any_pos, order, clean_share=clean_share, head_cap=head_cap, max_rounds=max_rounds
    )
    n_pos = int(selected.sum())
    counts = pos[selected].sum(axis=0)
    # 2. the clean bucket: each label's own hard negatives, the hard-negative share, then ordinary clean
    targets = {lab: int(k) for lab, k in dict(hard_negatives_per_label or {}).items() if lab in labels}
    hn_labels = pool["hard_negative_labels"].tolist() if "hard_negative_labels" in pool else [[]] * len(pool)
    hn_idx, clean_sel = _select_clean(
        pool,
        any_pos,
        all_known,
        order,
        hn_labels,
        targets,
        n_pos=n_pos,
        clean_share=clean_share,
        hard_negative_share=hard_negative_share,
    )
    selected[clean_sel] = True
    # 3. what was achieved, per label and for the shares
    hn_for = {lab: sum(1 for i in hn_idx if lab in _as_list(hn_labels[i])) for lab in labels}
    per_rows, unmet = _per_label_report(labels, pos.sum(axis=0), counts, cap, floors, hn_for, targets)
    n_clean = int(len(clean_sel))
    n_total = n_pos + n_clean
    achieved_clean = n_clean / n_total if n_total else 0.0
    achieved_hn = len(hn_idx) / n_clean if n_clean else 0.0
    unmet += _share_report(n_pos, n_clean, len(hn_idx), clean_share_range, hard_negative_range)
    # 4. labelled production posts join at their share
    frame = pool.loc[np.flatnonzero(selected)].reset_index(drop=True)
    prod_rows, prod_summary = production_part(
        production, labels, n_total, share=production_share, max_repeat=production_max_repeat, seed=seed
    )
    if prod_summary["left_out"]:
        unmet.append(
            f"production: {prod_summary['left_out']} of {len(production)} labelled production posts left out by "
            f"mixing.production_share {production_share:.0%}"
        )
    prod_pos, _, _ = _buckets(prod_rows.drop_duplicates("id"), labels)
    for row, k in zip(per_rows, prod_pos.sum(axis=0)):
        row["production_positives"] = int(k)
    frame = pd.concat([frame, prod_rows], ignore_index=True) if len(prod_rows) else frame
    summary = {
        "n_total": n_total,
        "n_positive": n_pos,
        "n_clean": n_clean,
        "n_hard_negative": int(len(hn_idx)),
        "clean_share": achieved_clean,
        "hard_negative_share": achieved_hn,
        "n_partially_labelled_clean": int((~all_known[clean_sel]).sum()),
        "split": split,
        "label_occurrences": int(counts.sum()),
        "production": prod_summary,
    }
    return MixResult(frame=frame, per_label=pd.DataFrame(per_rows).set_index("label"), summary=summary, unmet=unmet)


def _check_mix_shares(clean_share: float, head_cap: float, hard_negative_share: float) -> None:
    if not 0.0 < clean_share < 1.0:
        raise WorkbenchError("clean_share", expected="a share in (0, 1)", got=repr(clean_share))
    if not 0.0 < head_cap <= 1.0:
        raise WorkbenchError("head_cap", expected="a share in (0, 1]", got=repr(head_cap))
    if not 0.0 <= hard_negative_share < 1.0:
        raise WorkbenchError("hard_negative_share", expected="a share in [0, 1)", got=repr(hard_negative_share))


def _as_list(value) -> list | tuple | np.ndarray:
    return value if isinstance(value, (list, tuple, np.ndarray)) else []


def _select_positives(
    pos: np.ndarray, any_pos: np.ndarray, order: np.ndarray, *, clean_share: float, head_cap: float, max_rounds: int
) -> tuple[np.ndarray, np.ndarray]:
    """Records with positives, the rarest label filled first, no label past ``head_cap`` of the total (the
    total depends on the selection: a few rounds until it settles). Returns (selected mask, per-label cap)."""
    available = pos.sum(axis=0)
    total_est = max(1.0, int(any_pos.sum()) / (1.0 - clean_share))
    selected = np.zeros(len(pos), dtype=bool)
    cap = np.zeros(pos.shape[1])
    for _ in range(max_rounds):
        cap = np.full(pos.shape[1], max(np.floor(head_cap * total_est), 1.0))
        target = np.minimum(available, cap)
        selected = np.zeros(len(pos), dtype=bool)
        counts = np.zeros(pos.shape[1], dtype=np.int64)
        for j in np.argsort(available, kind="stable"):  # rarest label first
            for i in order[pos[order, j] & ~selected[order]]:
                if counts[j] >= target[j]:
                    break
                row = pos[i]
                if np.any(counts[row] + 1 > cap[row]):
                    continue
                selected[i] = True
                counts[row] += 1
        new_total = max(1.0, selected.sum() / (1.0 - clean_share))
        if abs(new_total - total_est) < 1:
            break
        total_est = new_total
    return selected, cap


def _select_clean(
    pool: pd.DataFrame,
    any_pos: np.ndarray,
    all_known: np.ndarray,
    order: np.ndarray,
    hn_labels: list,
    targets: dict[str, int],
    *,
    n_pos: int,
    clean_share: float,
    hard_negative_share: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The clean bucket for ``n_pos`` positives: each label's own hard negatives first (``targets``), the rest
    of the hard-negative share, ordinary clean records, topped up with hard negatives when those run out.
    Fully labelled records are preferred. Returns (hard-negative indices, all clean indices)."""
    clean_cand = ~any_pos
    hard = pool["hard_negative"].to_numpy(dtype=bool) if "hard_negative" in pool else np.zeros(len(pool), bool)
    n_clean_target = int(round(n_pos * clean_share / (1.0 - clean_share)))
    n_hn_target = int(round(hard_negative_share * n_clean_target))
    everyone = np.arange(len(pool))

    def take(mask: np.ndarray, n: int) -> np.ndarray:
        # prefer fully labelled records, then partially labelled, both in the shuffled order
        idx = order[mask[order]]
        return np.concatenate([idx[all_known[idx]], idx[~all_known[idx]]])[: max(n, 0)]

    chosen_for: list[int] = []
    for lab, k in targets.items():  # each label's own hard negatives first
        mine = np.array([lab in _as_list(h) for h in hn_labels], bool)
        have = int(np.isin(np.flatnonzero(mine), chosen_for).sum())
        chosen_for += [int(i) for i in take(clean_cand & hard & mine & ~np.isin(everyone, chosen_for), k - have)]
    first = np.asarray(chosen_for, dtype=np.int64)
    rest_hn = take(clean_cand & hard & ~np.isin(everyone, first), n_hn_target - len(first))
    hn_idx = np.concatenate([first, rest_hn]).astype(np.int64)
    rest_idx = take(clean_cand & ~hard, n_clean_target - len(hn_idx))
    if len(hn_idx) + len(rest_idx) < n_clean_target:  # not enough ordinary clean: top up with hard negatives
        extra = take(clean_cand & hard & ~np.isin(everyone, hn_idx), n_clean_target - len(hn_idx) - len(rest_idx))
        hn_idx = np.concatenate([hn_idx, extra])
    return hn_idx, np.concatenate([hn_idx, rest_idx]).astype(np.int64)


def _per_label_report(labels, available, counts, cap, floors, hn_for, targets) -> tuple[list[dict], list[str]]:
    """Per label: available / selected positives, floor, cap, hard negatives; and what could not be met."""
    unmet = [
        f"{lab}: {hn_for[lab]} of {k} hard negatives wanted (mixing.hard_negatives_per_label)"
        for lab, k in targets.items()
        if hn_for[lab] < k
    ]
    rows = []
    for j, lab in enumerate(labels):
        floor_met = available[j] >= floors[lab]
        if not floor_met:
            unmet.append(f"{lab}: floor {floors[lab]} not met, only {int(available[j])} positives available")
        if counts[j] < min(available[j], cap[j]):
            unmet.append(
                f"{lab}: {int(counts[j])} of {int(min(available[j], cap[j]))} wanted positives selected "
                f"(co-occurring labels hit their caps)"
            )
        rows.append(
            {
                "label": lab,
                "available": int(available[j]),
                "selected": int(counts[j]),
                "floor": floors[lab],
                "floor_met": bool(floor_met),
                "cap": int(cap[j]),
                "capped": bool(available[j] > cap[j]),
                "hard_negatives": int(hn_for[lab]),
                "hard_negative_target": targets.get(lab),
            }
        )
    return rows, unmet


def _share_report(n_pos: int, n_clean: int, n_hn: int, clean_range, hn_range) -> list[str]:
    """The clean share and the hard-negative share of clean, where they fall outside their ranges."""
    out = []
    n_total = n_pos + n_clean
    lo, hi = clean_range
    if n_total and not lo <= n_clean / n_total <= hi:
        out.append(
            f"clean share {n_clean / n_total:.1%} outside [{lo:.0%}, {hi:.0%}] ({n_clean} clean for {n_pos} positives)"
        )
    lo, hi = hn_range
    if n_clean and not lo <= n_hn / n_clean <= hi:
        out.append(
            f"hard-negative share of clean {n_hn / n_clean:.1%} outside [{lo:.0%}, {hi:.0%}] "
            f"({n_hn} hard negatives available/selected)"
        )
    return out


def production_part(
    production: pd.DataFrame,
    labels: Sequence[str],
    n_curated: int,
    *,
    share: float = 0.30,
    max_repeat: int = 10,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The labelled production posts that join ``n_curated`` curated rows, at ``share`` of the rows fitted.

    The team's own posts are the distribution the model serves, and a review budget is a few hundred of them
    beside thousands of curated records: left at their count they would barely move the fit. So they get
    their share: when there are fewer than it asks, each is repeated (at most ``max_repeat`` times: a few
    hundred posts must not be learnt by heart); when there are more, the extra posts are left out
    (positives and hard negatives kept first, in a seeded order). The report says how many posts, the repeat
    and the share they reached."""
    if not 0.0 <= share < 1.0:
        raise WorkbenchError("mixing.production_share", expected="a share in [0, 1)", got=repr(share))
    if int(max_repeat) < 1:
        raise WorkbenchError("mixing.production_max_repeat", expected="a whole number >= 1", got=repr(max_repeat))
    n = len(production)
    want = share / (1.0 - share) * n_curated if share > 0 else 0.0
    room = int(np.floor(want))
    if n > room:
        pos, _, _ = _buckets(production, labels)
        hard = production["hard_negative"].to_numpy(bool) if "hard_negative" in production else np.zeros(n, bool)
        order = np.random.default_rng(seed).permutation(n)
        rank = np.argsort(~(pos.any(axis=1) | hard)[order], kind="stable")  # informative rows first
        production = production.iloc[np.sort(order[rank][:room])].reset_index(drop=True)
    kept = len(production)
    repeat = int(min(max(np.floor(want / kept), 1), int(max_repeat))) if kept else 1
    fitted = pd.concat([production] * repeat, ignore_index=True) if repeat > 1 else production
    total = n_curated + len(fitted)
    return fitted, {
        "posts": kept,
        "available": n,
        "left_out": n - kept,
        "repeat": repeat,
        "share": len(fitted) / total if total else 0.0,
        "cap": share,
        "max_repeat": int(max_repeat),
    }


def evaluation_view(
    view: pd.DataFrame,
    labels: Sequence[str],
    *,
    split: str = "holdout",
    clean_share: float = 0.95,
    clean_share_range: Sequence[float] = (0.90, 0.98),
    seed: int = 0,
) -> MixResult:
    """Records of ``split`` at realistic base rates (clean ``clean_share`` of the total).

    All clean records are kept when possible and positives are subsampled to the target share
    (positives spread over labels as observed); when clean records are too few for that, the
    shortfall is reported rather than hidden.
    """
    labels = list(labels)
    pool = view[view["split"] == split].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    pos, any_pos, _ = _buckets(pool, labels)
    n_clean = int((~any_pos).sum())
    n_pos_all = int(any_pos.sum())
    want_pos = int(round(n_clean * (1.0 - clean_share) / clean_share)) if clean_share < 1 else 0
    pos_idx = np.flatnonzero(any_pos)
    if n_pos_all > want_pos:
        pos_idx = np.sort(rng.choice(pos_idx, size=want_pos, replace=False))
    keep = np.zeros(len(pool), dtype=bool)
    keep[~any_pos] = True
    keep[pos_idx] = True
    frame = pool.loc[keep].reset_index(drop=True)
    n_total = int(keep.sum())
    share = n_clean / n_total if n_total else 0.0
    unmet = []
    lo, hi = clean_share_range
    if n_total and not lo <= share <= hi:
        unmet.append(f"clean share {share:.1%} outside [{lo:.0%}, {hi:.0%}] ({n_clean} clean, {len(pos_idx)} positive)")
    per = pd.DataFrame(
        {"label": labels, "available": pos.sum(axis=0).astype(int), "selected": pos[keep].sum(axis=0).astype(int)}
    ).set_index("label")
    for lab, row in per.iterrows():
        if row["selected"] == 0 and row["available"] > 0:
            unmet.append(f"{lab}: no positives left at this base rate ({row['available']} available)")
    summary = {
        "n_total": n_total,
        "n_positive": int(len(pos_idx)),
        "n_clean": n_clean,
        "clean_share": share,
        "split": split,
        "positives_dropped": n_pos_all - int(len(pos_idx)),
    }
    return MixResult(frame=frame, per_label=per, summary=summary, unmet=unmet)
