"""Which labels each item of a batch must carry: multi-label by construction."""

from __future__ import annotations

from .base import SeedSpec, Slot

__all__ = ["plan_slots"]


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
