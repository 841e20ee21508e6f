"""Benchmark: a review team of imperfect annotators, measured the way the pull measures them.

    python -m bench.review_team [--records 300] [--gold 30] [--seed 0]

1. **Annotator quality.** Real posts with their published labels (Davidson et al., ``hate`` / ``offensive``,
   MIT, in ../shared/data) are the truth. Three simulated annotators answer every post, wrong on exactly
   2 %, 10 % and 30 % of them (a wrong answer toggles one label), and ``--gold`` known-answer posts besides.
   :func:`workbench.review.quality.annotator_quality` (gold checks with Wilson intervals, Dawid-Skene over the
   overlap) estimates each one's accuracy; printed against the true accuracy, with whether the truth lies
   inside the interval and whether the annotator was flagged (floor 15 %).
2. **Deciding batches as answers arrive versus once per round.** The acceptance scenario's sampling plan
   (:class:`workbench.review.BatchPlan`, 10 % limit) on 200-record batches with true error rates 0-30 %:
   *per round*, a pull after each round (a first look at 20 records, then the top-up the plan asks for);
   *live*, the plan consulted after every answer, as the webhook receiver (:mod:`workbench.review.live`)
   does. Reviews spent per batch, and the verdicts, side by side: the plan's decisions simulated answer by
   answer (200 batches per rate); the receiver's own timing is measured by its integration test.
Last line: one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("WORKBENCH_SHARED_DATA") or REPO.parent / "shared" / "data")
LABELS = ["hate", "offensive"]


def truth(n: int, seed: int) -> list[tuple[str, ...]]:
    """``n`` real posts' label sets (hate = class 0, offensive = class 1, neither = class 2), a third of each."""
    import pandas as pd

    frame = pd.read_csv(DATA / "davidson" / "labeled_data.csv")
    per = n // 3 + 1
    picked = pd.concat([frame[frame["class"] == c].sample(per, random_state=seed) for c in (0, 1, 2)]).head(n)
    names = {0: ("hate",), 1: ("offensive",), 2: ("none",)}
    return [names[int(c)] for c in picked["class"]]


def answers_of(user: str, error_rate: float, keys: list[str], sets: list[tuple[str, ...]], rng: random.Random):
    from workbench.review.quality import Answer

    wrong = set(rng.sample(range(len(keys)), round(error_rate * len(keys))))
    out = []
    for i, (key, t) in enumerate(zip(keys, sets)):
        said = t
        if i in wrong:
            have = set(t) - {"none"}
            have ^= {rng.choice(LABELS)}
            said = tuple(sorted(have)) or ("none",)
        out.append(Answer(key, user, said, i))
    return out, 1 - len(wrong) / len(keys)


def quality_table(n: int, n_gold: int, seed: int) -> list[dict]:
    from workbench.review.quality import annotator_quality, label_vector

    rng = random.Random(seed)
    sets = truth(n + n_gold, seed)
    keys = [f"r{i}" for i in range(n)] + [f"g{i}" for i in range(n_gold)]
    gold = {k: label_vector(t, LABELS) for k, t in zip(keys[n:], sets[n:])}
    answers, true_acc = [], {}
    for user, rate in (("annotator-2%", 0.02), ("annotator-10%", 0.10), ("annotator-30%", 0.30)):
        said, acc = answers_of(user, rate, keys, sets, rng)
        answers += said
        true_acc[user] = acc
    started = time.perf_counter()
    q = annotator_quality(answers, LABELS, gold=gold)
    seconds = time.perf_counter() - started
    rows = []
    for user, acc in true_acc.items():
        x = q[user]
        rows.append(
            {
                "annotator": user,
                "true_accuracy": round(acc, 3),
                "overlap_accuracy": round(x.overlap_accuracy, 3),
                "overlap_ci": [round(v, 3) for v in x.overlap_accuracy_ci],
                "overlap_inside": x.overlap_accuracy_ci[0] <= acc <= x.overlap_accuracy_ci[1],
                "gold_accuracy": round(x.gold_accuracy, 3),
                "gold_ci": [round(v, 3) for v in x.gold_accuracy_ci],
                "flagged": x.flagged,
                "seconds": round(seconds, 2),
            }
        )
    return rows


def spend(plan, errors: list[bool], first_look: int, live: bool) -> tuple[int, str]:
    """Reviews spent on one batch (``errors``: each record in review order is an error) and the verdict."""
    size, n = len(errors), 0
    target = min(first_look, size)
    while True:
        if live:
            while n < target:
                n += 1
                decision = plan.decide(sum(errors[:n]), n, size)
                if decision.verdict != "needs_more":
                    return n, decision.verdict
        n = target
        decision = plan.decide(sum(errors[:n]), n, size)
        if decision.verdict != "needs_more":
            return n, decision.verdict
        target = min(size, n + decision.needs)


def live_table(seed: int, batches: int = 200, size: int = 200) -> list[dict]:
    from workbench.review import BatchPlan

    plan = BatchPlan()
    rng = random.Random(seed)
    rows = []
    for rate in (0.0, 0.02, 0.05, 0.10, 0.20, 0.30):
        spent = {"round": [], "live": []}
        verdicts = {"round": [], "live": []}
        for _ in range(batches):
            errors = [rng.random() < rate for _ in range(size)]
            for way in ("round", "live"):
                n, verdict = spend(plan, errors, 20, way == "live")
                spent[way].append(n)
                verdicts[way].append(verdict)
        row = {"true_error_rate": rate}
        for way in ("round", "live"):
            row[f"{way}_reviews"] = round(sum(spent[way]) / batches, 1)
            row[f"{way}_accepted"] = round(verdicts[way].count("accepted") / batches, 3)
        row["live_over_round"] = round(row["live_reviews"] / row["round_reviews"], 2)
        rows.append(row)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=300)
    ap.add_argument("--gold", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    quality = quality_table(args.records, args.gold, args.seed)
    print(f"annotator quality: {args.records} posts answered by all three, {args.gold} gold posts besides")
    print(f"{'annotator':<15}{'true':>7}{'overlap (95 % CI)':>26}{'inside':>8}{'gold (95 % CI)':>24}{'flagged':>9}")
    for r in quality:
        print(
            f"{r['annotator']:<15}{r['true_accuracy']:>7.3f}"
            f"{r['overlap_accuracy']:>9.3f} ({r['overlap_ci'][0]:.3f}-{r['overlap_ci'][1]:.3f})"
            f"{str(r['overlap_inside']):>8}"
            f"{r['gold_accuracy']:>9.3f} ({r['gold_ci'][0]:.3f}-{r['gold_ci'][1]:.3f})"
            f"{str(r['flagged']):>9}"
        )
    live = live_table(args.seed)
    print("\nreviews per 200-record batch to a decision (200 batches per rate; 10 % limit):")
    print(f"{'true error':>10}{'per round':>11}{'live':>8}{'live/round':>12}{'P(accept) round':>17}{'live':>7}")
    for r in live:
        print(
            f"{r['true_error_rate']:>10.2f}{r['round_reviews']:>11.1f}{r['live_reviews']:>8.1f}"
            f"{r['live_over_round']:>12.2f}{r['round_accepted']:>17.3f}{r['live_accepted']:>7.3f}"
        )
    print(json.dumps({"quality": quality, "live_vs_round": live}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
