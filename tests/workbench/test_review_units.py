"""The review loop's pure rules: resolution of several answers, batch acceptance, agreement. (Dataset
settings and record conversion need an Argilla client: tests/integration/test_review_loop.py.)"""

import pytest

from workbench.review import BatchPlan, label_agreement, resolve_labels


def test_resolution_acceptance_and_agreement():
    labels, disagreed = resolve_labels({"a": ["none"], "b": ["none"]}, ["harassment", "spam"])
    assert labels == {"harassment": 0, "spam": 0} and disagreed == []
    tie, _ = resolve_labels({"owner": ["spam"], "b": ["none"]}, ["spam"])
    assert tie == {"spam": None}  # a 1-1 split is disputed: unknown until someone settles it, not the owner's
    plan = BatchPlan()  # the default 10 % limit: accepted only when the sample shows the batch is below it
    assert plan.decide(0, 20, 200).verdict == "needs_more" and plan.decide(20, 20, 200).verdict == "rejected"
    assert plan.decide(4, 20, 200).verdict == "rejected"  # was accepted by the old lower-bound rule
    perfect = label_agreement({"r1": {"u": ["spam"], "v": ["spam"]}, "r2": {"u": ["none"], "v": ["none"]}}, ["spam"])
    assert perfect["spam"] == {"alpha": pytest.approx(1.0), "records": 2}
    assert label_agreement({"r1": {"u": ["spam"]}}, ["spam"])["spam"]["alpha"] is None  # one annotator


def test_the_review_loops_connect_to_the_external_argilla_that_workbench_run_would_use(tmp_path, monkeypatch):
    """``WORKBENCH_ARGILLA_URL`` (with its key file) names an Argilla someone else runs: the review loops'
    ``connect()`` goes there, through the same backend choice as ``workbench run``, not to a local stack."""
    import socket

    from workbench.review.connect import connect

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    key = tmp_path / "argilla.key"
    key.write_text("owner.apikey")
    key.chmod(0o600)
    for var in ("ARGILLA_API_URL", "ARGILLA_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))  # no local stack there
    monkeypatch.setenv("WORKBENCH_ARGILLA_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("WORKBENCH_ARGILLA_KEY_FILE", str(key))
    with pytest.raises(Exception) as e:
        connect(timeout=2.0)
    assert f"127.0.0.1:{port}" in str(e.value)  # it tried the external URL, not the local stack


def test_the_sampling_plan_accepts_a_clean_batch_within_40_and_never_a_sample_with_20_percent_errors():
    plan = BatchPlan()
    first = plan.decide(0, 20, 200)
    assert first.verdict == "needs_more" and first.needs == 15
    assert plan.decide(0, 20 + first.needs, 200).verdict == "accepted" and 20 + first.needs <= 40
    for n in range(5, 200, 5):  # a sample with 20 % errors, at any size
        assert plan.decide(n // 5, n, 1000).verdict != "accepted", n
    for n in range(1, 81):  # acceptance always means the 95 % upper bound is below the limit
        for d in range(0, 4):
            dec = plan.decide(d, n, 1000)
            if dec.verdict == "accepted":
                assert dec.upper < plan.limit
    # a poisoned batch (30 % errors) is rejected at the first look of 20 with all but certainty
    assert plan.operating_characteristic(0.30)["reject"] > 0.99
    assert plan.decide(6, 20, 200).verdict == "rejected"
    # the operating characteristic docs/explanation/review-loops.md states
    oc = {p: plan.operating_characteristic(p)["accept"] for p in (0.02, 0.10, 0.20)}
    assert oc[0.02] > 0.8 and oc[0.10] < 0.05 and oc[0.20] < 0.001
    # a small batch reviewed in full is decided on its own error rate
    assert plan.decide(0, 6, 6).verdict == "accepted" and plan.decide(2, 6, 6).verdict == "rejected"
    assert plan.decide(1, 15, 15).verdict == "accepted"  # 6.7 % <= 10 %
    with pytest.raises(Exception, match="acceptable < limit"):
        BatchPlan(limit=0.01)
    strict = BatchPlan(limit=0.02, acceptable=0.004)  # what `review pull --max-error 0.02` runs
    assert strict.decide(0, 20, 1000).verdict == "needs_more" and strict.accept_after(0) <= strict.review_cap


# ------------------------------------------------------------------------------ resolution, as a property
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from workbench.review.agreement import DISPUTE_MARGIN, resolve_choice  # noqa: E402

USERS = st.sampled_from(["ann", "bob", "cid", "dee", "eve", "owner"])
ANSWERS = st.dictionaries(USERS, st.sampled_from(["yes", "no", "maybe"]), max_size=6)
WEIGHTS = st.dictionaries(USERS, st.sampled_from([0.0, 0.5, 1.0, 2.0]), max_size=6)


@given(ANSWERS, WEIGHTS)
def test_nothing_is_decided_by_sort_order_or_by_who_answered(answers, weights):
    decided = resolve_choice(answers, weights=weights)
    # the same votes under other names, other answer spellings and another order decide the same way
    rename = {"yes": "zzz", "no": "aaa", "maybe": "mmm"}
    users = sorted(answers)
    shuffled = {f"u{len(users) - i}": rename[answers[u]] for i, u in enumerate(users)}
    moved_weights = {f"u{len(users) - i}": weights.get(u, 1.0) for i, u in enumerate(users)}
    again = resolve_choice(dict(reversed(list(shuffled.items()))), weights=moved_weights)
    assert again == (None if decided is None else rename[decided])


@given(ANSWERS, WEIGHTS)
def test_unanimous_counted_answers_win_and_a_split_without_the_margin_is_unknown(answers, weights):
    counted = {u: v for u, v in answers.items() if weights.get(u, 1.0) > 0}
    decided = resolve_choice(answers, weights=weights)
    if not counted:
        assert decided is None
    elif len(set(counted.values())) == 1:
        assert decided == next(iter(counted.values()))  # unanimous unflagged answers win
    else:
        totals = {}
        for u, v in counted.items():
            totals[v] = totals.get(v, 0.0) + weights.get(u, 1.0)
        ranked = sorted(totals.values(), reverse=True)
        if ranked[0] - ranked[1] <= DISPUTE_MARGIN * sum(ranked):
            assert decided is None  # no majority beyond the margin: disputed
        else:
            assert totals[decided] == ranked[0]


@given(st.dictionaries(USERS, st.lists(st.sampled_from(["hate", "spam", "none"]), max_size=2), max_size=5))
def test_a_label_is_1_0_or_unknown_and_unknown_only_on_a_split(answers):
    labels, disagreed = resolve_labels(answers, ["hate", "spam"])
    for lab, v in labels.items():
        assert v in (0, 1, None)
        if v is None and answers:
            assert lab in disagreed
