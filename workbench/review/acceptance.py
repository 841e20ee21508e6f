"""Batch acceptance as a sampling plan: the burden of proof is on the batch.

A generated batch enters training only when its reviewed sample shows, with 95 % confidence, that its
error rate (records an annotator marked invalid, or whose asserted labels the annotators changed) is
below the limit. The plan is Wald's sequential probability ratio test (SPRT) between an acceptable
error rate ``p0`` (2 %) and the limit ``p1`` (10 %), with risks ``alpha`` (rejecting a batch at ``p0``)
and ``beta`` (accepting one at ``p1``) of 5 % each, so a clean batch needs few reviews and a poisoned
one is stopped early:

- after ``n`` reviewed records with ``d`` errors the log likelihood ratio is
  ``d ln(p1/p0) + (n - d) ln((1 - p1)/(1 - p0))``;
- at or above ``ln((1 - beta)/alpha)`` the batch is **rejected**;
- at or below ``ln(beta/(1 - alpha))`` it is **accepted** — and only if the one-sided 95 %
  Clopper-Pearson upper bound of ``d / n`` is below the limit too (the SPRT's own guarantee is about
  the plan; this one holds for the sample in hand);
- in between it **needs N more**: the number of further reviews that would accept it if they hold no
  error (``workbench review push-batches`` tops up exactly that many);
- a batch still undecided at ``max_reviews`` is rejected; a batch whose every record was reviewed (a
  census: small batches) is accepted when its error rate is at most the limit.

With the defaults a batch with no error is accepted after 35 reviews (first look at 20, one top-up of
15), 2 errors in the first 5 or 4 in 20 reject it, and a sample with 20 % errors can never be accepted
(acceptance needs the error share below about 5 %). :meth:`BatchPlan.operating_characteristic` gives
the probability of acceptance at any true error rate (the table in docs/explanation/review-loops.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from curation import WorkbenchError

__all__ = ["BatchPlan", "BatchDecision", "DEFAULT_PLAN"]


@dataclass(frozen=True)
class BatchDecision:
    """What a batch's reviewed sample says: ``verdict`` (``accepted``, ``rejected`` or ``needs_more``),
    ``needs`` (further reviews asked for), the one-sided 95 % ``upper`` bound of its error rate and the
    ``reason`` in words."""

    verdict: str
    needs: int
    reviewed: int
    errors: int
    upper: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "needs": self.needs,
            "reviewed": self.reviewed,
            "errors": self.errors,
            "error_rate_upper_bound": round(self.upper, 4),
            "reason": self.reason,
        }


def clopper_pearson_upper(errors: int, n: int, *, confidence: float = 0.95) -> float:
    """One-sided exact upper confidence bound of an error rate (1.0 with no reviews).

    >>> round(clopper_pearson_upper(0, 29), 4), round(clopper_pearson_upper(0, 35), 4)
    (0.0981, 0.082)
    """
    if n <= 0 or errors >= n:
        return 1.0
    from scipy.stats import beta

    return float(beta.ppf(confidence, errors + 1, n - errors))


@dataclass(frozen=True)
class BatchPlan:
    """The sequential sampling plan of batch review (see the module docstring)."""

    limit: float = 0.10
    acceptable: float = 0.02
    alpha: float = 0.05
    beta: float = 0.05
    first: int = 20
    max_reviews: int = 80

    def __post_init__(self):
        if not (0 < self.acceptable < self.limit < 1) or not (0 < self.alpha < 0.5 and 0 < self.beta < 0.5):
            raise WorkbenchError(
                "batch sampling plan",
                expected="0 < acceptable < limit < 1 and risks alpha, beta in (0, 0.5)",
                got=f"acceptable {self.acceptable}, limit {self.limit}, alpha {self.alpha}, beta {self.beta}",
                fix="e.g. --max-error 0.10 (the limit) with the default acceptable rate 0.02",
            )

    @property
    def _steps(self) -> tuple[float, float]:
        """Log likelihood ratio added by an error and by a clean record."""
        p0, p1 = self.acceptable, self.limit
        return math.log(p1 / p0), math.log((1 - p1) / (1 - p0))

    def llr(self, errors: int, n: int) -> float:
        up, down = self._steps
        return errors * up + (n - errors) * down

    def _accepts(self, errors: int, n: int) -> bool:
        return self.llr(errors, n) <= math.log(self.beta / (1 - self.alpha)) and (
            clopper_pearson_upper(errors, n) < self.limit
        )

    @property
    def review_cap(self) -> int:
        """Reviews after which an undecided batch is rejected: ``max_reviews``, or twice what a clean batch
        needs when a strict limit asks for more (with a 2 % limit a clean batch is accepted at 182).

        >>> BatchPlan().review_cap, BatchPlan(limit=0.02, acceptable=0.004).review_cap
        (80, 364)
        """
        return max(self.max_reviews, 2 * self.accept_after(0))

    def accept_after(self, errors: int) -> int:
        """The fewest reviewed records, ``errors`` of them wrong, that accept a batch.

        >>> [BatchPlan().accept_after(d) for d in (0, 1, 2)]
        [35, 55, 75]
        """
        up, down = self._steps
        n = max(errors, math.ceil(errors + (errors * up - math.log(self.beta / (1 - self.alpha))) / -down))
        while not self._accepts(errors, n):
            n += 1
        return n

    def decide(self, errors: int, reviewed: int, batch_size: int) -> BatchDecision:
        """The verdict on a batch of ``batch_size`` records after ``reviewed`` of them, ``errors`` wrong.

        >>> plan = BatchPlan()
        >>> [plan.decide(d, n, 200).verdict for d, n in ((0, 20), (0, 35), (4, 20), (2, 5), (1, 20))]
        ['needs_more', 'accepted', 'rejected', 'rejected', 'needs_more']
        >>> plan.decide(0, 20, 200).needs, plan.decide(0, 6, 6).verdict
        (15, 'accepted')
        """
        d, n, size = int(errors), int(reviewed), int(batch_size)
        upper = clopper_pearson_upper(d, n)
        said = f"{d} of {n} reviewed records invalid or mislabelled"

        def out(verdict: str, needs: int, why: str) -> BatchDecision:
            return BatchDecision(verdict, needs, n, d, upper, f"{said}: {why}")

        if n >= size > 0:  # every record reviewed: no sampling error left
            if d <= self.limit * size:
                return out("accepted", 0, f"the whole batch was reviewed, error rate {d / size:.2f} <= {self.limit}")
            return out("rejected", 0, f"the whole batch was reviewed, error rate {d / size:.2f} > {self.limit}")
        if self.llr(d, n) >= math.log((1 - self.beta) / self.alpha):
            return out("rejected", 0, f"the sequential test shows an error rate above {self.limit} is likely")
        if self._accepts(d, n):
            return out("accepted", 0, f"95 % upper bound {upper:.3f} < limit {self.limit} (sequential test passed)")
        target, cap = self.accept_after(d), self.review_cap
        if n >= cap or (target > cap and size > cap):
            return out("rejected", 0, f"not shown below {self.limit} within {cap} reviews")
        needs = max(1, min(target, size) - n)
        return out("needs_more", needs, f"95 % upper bound {upper:.3f}; {needs} more clean reviews would accept it")

    def operating_characteristic(self, p: float, *, batch_size: int = 200) -> dict[str, float]:
        """The plan as ``workbench review`` runs it — a first look at ``first`` records, then top-ups of
        exactly the reviews asked for — at a true error rate ``p`` (records drawn independently: the
        binomial approximation of sampling from a large batch). Returns the probabilities of acceptance
        and rejection and the expected number of reviews.

        >>> [round(BatchPlan().operating_characteristic(p)["accept"], 3) for p in (0.02, 0.10, 0.20)]
        [0.847, 0.043, 0.0]
        """
        from scipy.stats import binom

        first = min(self.first, batch_size)
        looks = {(first, d): float(binom.pmf(d, first, p)) for d in range(first + 1)}
        accept = reject = reviews = 0.0
        while looks:
            nxt: dict[tuple[int, int], float] = {}
            for (n, d), prob in looks.items():
                dec = self.decide(d, n, batch_size)
                if dec.verdict != "needs_more":
                    accept += prob if dec.verdict == "accepted" else 0.0
                    reject += prob if dec.verdict == "rejected" else 0.0
                    reviews += prob * n
                    continue
                k = dec.needs
                for x in range(k + 1):
                    nxt[(n + k, d + x)] = nxt.get((n + k, d + x), 0.0) + prob * float(binom.pmf(x, k, p))
            looks = {s: q for s, q in nxt.items() if q > 1e-12}
        return {"accept": accept, "reject": reject, "expected_reviews": reviews}


DEFAULT_PLAN = BatchPlan()
