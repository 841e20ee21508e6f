"""Which labels each item of a batch must carry: multi-label by construction."""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping

from .base import SeedSpec, Slot

__all__ = ["plan_slots", "replan_slots"]


def plan_slots(seed: SeedSpec, n: int) -> list[Slot]:
    """The ``n`` slots of a seed's batch.

    A positive seed's items exhibit its target labels (1); for each co-label with overlap rate r,
    ``round(r * n)`` items exhibit it too, in consecutive index ranges (one range per co-label, in
    the order the seed lists them, capped at ``n`` in all). A hard-negative seed's items exhibit none
    of its target labels (0): benign content near the boundary.

    >>> s = SeedSpec("s", "buy now", "positive", ("scam",), {"spam": 0.35})
    >>> slots = plan_slots(s, 20)
    >>> sum(1 for x in slots if x.labels.get("spam") == 1), slots[0].labels, slots[-1].labels
    (7, {'scam': 1, 'spam': 1}, {'scam': 1})
    """
    if seed.kind == "hard_negative":
        return [Slot(i, {t: 0 for t in seed.target_labels}) for i in range(n)]
    base = {t: 1 for t in seed.target_labels}
    slots, start = [], 0
    owner: dict[int, str] = {}
    for label, rate in seed.overlap.items():
        k = min(int(round(float(rate) * n)), n - start)
        for i in range(start, start + k):
            owner[i] = label
        start += k
    for i in range(n):
        co = owner.get(i)
        slots.append(Slot(i, {**base, co: 1} if co else dict(base), co))
    return slots


def _combo(labels: Mapping[str, int]) -> tuple:
    return tuple(sorted(labels.items()))


def replan_slots(desired: list[Slot], existing: Mapping[int, Mapping[str, Any]]) -> tuple[list[Slot], list[int]]:
    """A batch's slots after its seed's plan changed (overlap rates, size, target labels, kind).

    ``existing``: every slot the batch ever had, index -> ``{"labels", "overlap_label", "active"}``. An
    active slot whose label combination the new plan still wants keeps its index (and its item); the
    others are dropped; what the new plan wants beyond the kept slots becomes new slots, appended after
    every index ever used, so kept items never move and a dropped index is never reused. Returns (the
    plan, the indices dropped now).

    >>> s = SeedSpec("s", "buy now", "positive", ("scam",), {"spam": 0.2})
    >>> first = plan_slots(s, 10)
    >>> existing = {x.index: {"labels": dict(x.labels), "overlap_label": x.overlap_label, "active": True} for x in first}
    >>> plan, dropped = replan_slots(plan_slots(SeedSpec("s", "buy now", "positive", ("scam",), {"spam": 0.5}), 10),
    ...                              existing)
    >>> sorted(x.index for x in plan if x.labels.get("spam")), dropped
    ([0, 1, 10, 11, 12], [7, 8, 9])
    """
    want = Counter(_combo(s.labels) for s in desired)
    plan: list[Slot] = []
    dropped: list[int] = []
    for idx in sorted(existing):
        slot = existing[idx]
        if not slot.get("active", True):
            continue
        key = _combo(slot["labels"])
        if want[key] > 0:
            want[key] -= 1
            plan.append(Slot(idx, dict(slot["labels"]), slot.get("overlap_label")))
        else:
            dropped.append(idx)
    nxt = max(existing, default=-1) + 1
    for s in desired:
        key = _combo(s.labels)
        if want[key] > 0:
            want[key] -= 1
            plan.append(Slot(nxt, dict(s.labels), s.overlap_label))
            nxt += 1
    return sorted(plan, key=lambda x: x.index), dropped
