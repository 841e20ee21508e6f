"""Annotator quality (workbench.review.quality) on simulated annotators of known behaviour: gold checks,
Dawid-Skene over overlapping answers, flags, clearances, and resolution that ignores the flagged."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.review.agreement import resolve_labels
from workbench.review.quality import Answer, QualityRules, annotator_quality, gold_candidates, wilson_interval

LABELS = ["hate", "harassment", "scam", "spam"]


def _truth(n: int, seed: int = 0) -> list[tuple[str, ...]]:
    """``n`` records' true label sets: about a third benign, the rest one or two labels."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.choice([0, 1, 1, 2])
        out.append(tuple(sorted(rng.sample(LABELS, k))) or ("none",))
    return out


def _wrong(truth: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
    """A wrong answer: one label toggled."""
    lab = rng.choice(LABELS)
    have = set(truth) - {"none"}
    have ^= {lab}
    return tuple(sorted(have)) or ("none",)


def _answers(truth, user: str, error_rate: float, seed: int, *, careless: bool = False, prefix: str = "r"):
    """``user``'s answers: exactly ``error_rate`` of them wrong (records drawn at random), or all "none"."""
    rng = random.Random(f"{user}|{seed}")
    flipped = set(rng.sample(range(len(truth)), round(error_rate * len(truth))))
    out = []
    for i, t in enumerate(truth):
        said = ("none",) if careless else (_wrong(t, rng) if i in flipped else t)
        out.append(Answer(f"{prefix}{i}", user, said, i))
    return out


def test_wilson_interval_matches_scipy_on_whole_counts():
    from scipy.stats import binomtest

    for k, n in ((0, 6), (5, 6), (18, 20), (40, 57)):
        ours = wilson_interval(k, n)
        ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert abs(ours[0] - ref.low) < 1e-9 and abs(ours[1] - ref.high) < 1e-9


def test_a_careless_annotator_among_three_is_flagged_by_overlap_and_the_truthful_are_not():
    truth = _truth(40)
    answers = (
        _answers(truth, "ann", 0.0, 1) + _answers(truth, "bob", 0.0, 2) + _answers(truth, "cid", 0, 3, careless=True)
    )
    q = annotator_quality(answers, LABELS)
    assert q["cid"].flagged and "agreement with the estimated truth" in q["cid"].reason and q["cid"].weight == 0
    assert not q["ann"].flagged and not q["bob"].flagged
    assert q["ann"].overlap_accuracy > 0.95 and q["cid"].overlap_accuracy < 0.5


def test_a_random_flipper_among_three_is_flagged_and_a_ten_percent_annotator_is_not():
    truth = _truth(80, seed=4)
    answers = _answers(truth, "good", 0.02, 5) + _answers(truth, "fair", 0.10, 6) + _answers(truth, "flipper", 0.30, 7)
    q = annotator_quality(answers, LABELS)
    assert q["flipper"].flagged, q["flipper"]
    assert not q["good"].flagged and not q["fair"].flagged
    for user, rate in (("good", 0.02), ("fair", 0.10), ("flipper", 0.30)):
        lo, hi = q[user].overlap_accuracy_ci
        assert lo <= 1 - rate <= hi, (user, q[user])  # the estimate's interval holds the true accuracy


def test_two_annotators_who_disagree_are_left_to_the_gold_checks():
    truth = _truth(30)
    answers = _answers(truth, "ann", 0.0, 1) + _answers(truth, "cid", 0, 3, careless=True)
    q = annotator_quality(answers, LABELS)
    assert not q["ann"].flagged and not q["cid"].flagged  # two alone cannot say who is wrong
    assert q["ann"].overlap_accuracy is None
    gold = {f"g{i}": {lab: int(lab in t) for lab in LABELS} for i, t in enumerate(_truth(8, seed=9)) if t != ("none",)}
    on_gold = [Answer(k, "cid", ("none",), 100 + i) for i, k in enumerate(gold)]
    on_gold += [Answer(k, "ann", tuple(lab for lab, v in gold[k].items() if v), 100 + i) for i, k in enumerate(gold)]
    q = annotator_quality(answers + on_gold, LABELS, gold=gold)
    assert q["cid"].flagged and q["cid"].gold_accuracy == 0.0 and "gold accuracy" in q["cid"].reason
    assert not q["ann"].flagged and q["ann"].gold_accuracy == 1.0 and q["ann"].gold_answered == len(gold)
    assert q["ann"].answered == len(truth)  # gold answers are counted apart


def test_a_flag_stands_until_cleared_and_only_newer_answers_are_evidence_after():
    truth = _truth(40)
    answers = (
        _answers(truth, "ann", 0.0, 1) + _answers(truth, "bob", 0.0, 2) + _answers(truth, "cid", 0, 3, careless=True)
    )
    standing = {"cid": "flagged earlier"}
    # a standing flag stays even without evidence now
    assert annotator_quality([], LABELS, flagged=standing)["cid"].flagged
    q = annotator_quality(answers[:80], LABELS, flagged=standing)  # cid's answers are not in this slice
    assert q["cid"].flagged and q["cid"].answered == 0 and q["cid"].weight == 0
    q = annotator_quality(answers, LABELS, flagged=standing)
    assert q["cid"].flagged and q["cid"].reason == "flagged earlier"
    # cleared after their answers: the old answers are no evidence, so nothing flags them
    q = annotator_quality(answers, LABELS, cleared={"cid": 10_000})
    assert not q["cid"].flagged and q["cid"].answered == 0 and q["cid"].cleared_at == 10_000
    assert not q["ann"].flagged


def test_gold_candidates_are_unanimous_answers_of_unflagged_annotators():
    a = [Answer("r1", "u", ("hate",)), Answer("r1", "v", ("hate",)), Answer("r1", "c", ("none",))]
    a += [Answer("r2", "u", ("scam",)), Answer("r2", "v", ("spam",))]
    assert gold_candidates(a, LABELS) == {}
    assert gold_candidates(a, LABELS, excluded={"c"}) == {"r1": {"hate": 1, "harassment": 0, "scam": 0, "spam": 0}}


def test_rules_come_from_the_project_settings():
    from curation import ProjectSettings

    rules = QualityRules.from_settings(ProjectSettings(review={"error_floor": 0.3, "confidence": 0.9}))
    assert rules.error_floor == 0.3 and rules.confidence == 0.9
    assert QualityRules.from_settings(ProjectSettings()) == QualityRules()


USERS = st.sampled_from(["ann", "bob", "cid", "dee", "eve"])
LABEL_SETS = st.lists(st.sampled_from([*LABELS, "none"]), min_size=1, max_size=2).map(tuple)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["r1", "r2", "r3"]), st.dictionaries(USERS, LABEL_SETS, max_size=5), max_size=3),
    st.sets(USERS, max_size=3),
)
def test_a_flagged_annotators_answers_decide_nothing(records, flagged):
    answers = [Answer(rid, u, labs, i) for i, (rid, by_u) in enumerate(records.items()) for u, labs in by_u.items()]
    # overlap estimation (Dawid-Skene, tested above on simulated annotators) is left out: a second per example
    q = annotator_quality(answers, LABELS, flagged={u: "flagged" for u in flagged}, rules=QualityRules(min_overlap=99))
    weights = {u: x.weight for u, x in q.items()}
    for u in flagged & set(q):
        assert weights[u] == 0.0
    for by_u in records.values():
        chosen = {u: list(v) for u, v in by_u.items()}
        without = {u: v for u, v in chosen.items() if u not in flagged}
        decided, _ = resolve_labels(chosen, LABELS, weights=weights)
        alone, _ = resolve_labels(without, LABELS, weights=weights)
        assert decided == alone  # as if the flagged had not answered
        counted = [frozenset(v) - {"none"} for v in without.values()]
        if counted and len(set(counted)) == 1:  # unanimous unflagged answers win
            assert decided == {lab: int(lab in counted[0]) for lab in LABELS}
