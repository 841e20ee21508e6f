import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation import Taxonomy
from curation.views import collapse_duplicates, evaluation_view, task_view, training_mix


def _view(rows, labels):
    df = pd.DataFrame(rows, columns=["hard_negative", *labels])
    df.insert(0, "id", [f"r{i}" for i in range(len(df))])
    df["split"] = "train"
    return df


def test_hand_computed_mix():
    # 10 hate, 4 spam (2 with hate too), 86 clean of which 20 hard negatives
    rows = (
        [(False, 1.0, 0.0)] * 8
        + [(False, 1.0, 1.0)] * 2
        + [(False, 0.0, 1.0)] * 2
        + [(True, 0.0, 0.0)] * 20
        + [(False, 0.0, 0.0)] * 66
    )
    v = _view(rows, ["hate", "spam"])
    m = training_mix(
        v,
        ["hate", "spam"],
        clean_share=0.75,
        head_cap=0.5,
        tail_floor=3,
        hard_negative_share=0.25,
        hard_negative_range=(0.2, 0.3),
        clean_share_range=(0.7, 0.8),
    )
    assert m.summary["n_positive"] == 12
    assert m.summary["n_clean"] == 36 and m.summary["n_hard_negative"] == 9
    assert m.per_label.loc["spam", "selected"] == 4 and m.per_label.loc["hate", "selected"] == 10
    assert m.summary["label_occurrences"] == 14  # balanced by label occurrences: 2 posts count twice
    assert m.unmet == []


def test_cap_and_floor_reported():
    rows = [(False, 1.0, 0.0)] * 50 + [(False, 0.0, 1.0)] * 3 + [(False, 0.0, 0.0)] * 300
    v = _view(rows, ["hate", "spam"])
    m = training_mix(
        v,
        ["hate", "spam"],
        clean_share=0.8,
        head_cap=0.05,
        tail_floor=10,
        hard_negative_share=0.0,
        hard_negative_range=(0.0, 1.0),
    )
    total = m.summary["n_total"]
    assert m.per_label.loc["hate", "selected"] <= max(int(0.05 * total) + 1, 1)
    assert m.per_label.loc["hate", "capped"]
    assert any(u.startswith("spam: floor 10 not met, only 3 positives available") for u in m.unmet)


def test_unknown_is_never_clean_first():
    rows = [(False, 1.0, 0.0)] * 10 + [(False, 0.0, np.nan)] * 100 + [(False, 0.0, 0.0)] * 20
    v = _view(rows, ["hate", "spam"])
    m = training_mix(
        v,
        ["hate", "spam"],
        clean_share=0.7,
        head_cap=1.0,
        tail_floor=1,
        hard_negative_share=0.0,
        hard_negative_range=(0.0, 1.0),
    )
    sel = m.frame
    # 23 clean wanted: all 20 fully labelled clean first, then 3 partially labelled
    assert m.summary["n_clean"] == 23 and m.summary["n_partially_labelled_clean"] == 3
    assert (sel["spam"] == 0).sum() >= 20


@settings(max_examples=60, deadline=None)
@given(
    n_clean=st.integers(0, 300),
    n_hard=st.integers(0, 80),
    pos=st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans()), min_size=0, max_size=200),
    clean_share=st.floats(0.5, 0.9),
    head_cap=st.floats(0.02, 0.6),
    hn_share=st.floats(0.0, 0.5),
    floor=st.integers(0, 100),
)
def test_mix_floors_caps_shares_hold_or_are_reported(n_clean, n_hard, pos, clean_share, head_cap, hn_share, floor):
    labels = ["a", "b", "c"]
    rows = [(False, float(x), float(y), float(z)) for x, y, z in pos]
    rows += [(True, 0.0, 0.0, 0.0)] * n_hard + [(False, 0.0, 0.0, 0.0)] * n_clean
    v = _view(rows, labels)
    lo_c, hi_c = clean_share - 0.05, clean_share + 0.05
    m = training_mix(
        v,
        labels,
        clean_share=clean_share,
        clean_share_range=(lo_c, hi_c),
        head_cap=head_cap,
        tail_floor=floor,
        hard_negative_share=hn_share,
        hard_negative_range=(hn_share - 0.05, hn_share + 0.05),
    )
    s, per = m.summary, m.per_label
    assert s["n_total"] == len(m.frame) == s["n_positive"] + s["n_clean"]
    assert m.frame["id"].is_unique
    for lab in labels:
        assert per.loc[lab, "selected"] <= per.loc[lab, "cap"]  # caps always hold
        assert per.loc[lab, "selected"] <= per.loc[lab, "available"]
        if per.loc[lab, "available"] < floor:
            assert any(u.startswith(f"{lab}: floor {floor} not met") for u in m.unmet)
    if s["n_total"] and not lo_c <= s["clean_share"] <= hi_c:
        assert any(u.startswith("clean share") for u in m.unmet)
    if s["n_clean"] and not hn_share - 0.05 <= s["hard_negative_share"] <= hn_share + 0.05:
        assert any(u.startswith("hard-negative share") for u in m.unmet)
    # clean records are clean, positives positive
    vals = m.frame[labels].to_numpy()
    assert (vals.max(axis=1) > 0).sum() == s["n_positive"]


@settings(max_examples=40, deadline=None)
@given(n_clean=st.integers(0, 400), n_pos=st.integers(0, 100), share=st.floats(0.85, 0.99))
def test_evaluation_view_base_rate_holds_or_is_reported(n_clean, n_pos, share):
    rows = [(False, 1.0, 0.0)] * n_pos + [(False, 0.0, 0.0)] * n_clean
    v = _view(rows, ["hate", "spam"])
    v["split"] = "holdout"
    e = evaluation_view(v, ["hate", "spam"], clean_share=share, clean_share_range=(share - 0.02, share + 0.02))
    s = e.summary
    assert s["n_clean"] == n_clean  # every clean record is kept
    if s["n_total"] and not share - 0.02 <= s["clean_share"] <= share + 0.02:
        assert any(u.startswith("clean share") for u in e.unmet)


def test_collapse_duplicates_merges_twins():
    f = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "dup_of": [None, "a", None],
            "x": [1.0, np.nan, 0.0],
            "y": [np.nan, 1.0, 0.0],
            "z": [1.0, 0.0, np.nan],
        }
    )
    out = collapse_duplicates(f, ["x", "y", "z"])
    assert out["id"].tolist() == ["a", "c"]
    assert out.loc[0, ["x", "y", "z"]].tolist() == [1.0, 1.0, 1.0]
    assert out["label_conflict"].tolist() == [True, False]


def test_task_view_by_group():
    tax = Taxonomy.from_dict({"labels": [{"name": "hate", "group": "safety"}, {"name": "spam", "group": "spam"}]})
    f = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "dup_of": [None] * 3,
            "status": ["active", "active", "quarantined"],
            "hate": [1.0, np.nan, 1.0],
            "spam": [np.nan, 0.0, 0.0],
        }
    )
    v = task_view(f, tax, "safety")
    assert v["id"].tolist() == ["a"] and "spam" not in v.columns
    assert task_view(f, tax, "spam")["id"].tolist() == ["b"]
    with pytest.raises(Exception, match="label group 'topic': expected one of \\['safety', 'spam'\\]"):
        task_view(f, tax, "topic")


def test_hard_negatives_per_label_are_taken_first_and_reported():
    n = 400
    v = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "split": "train",
            "spam": [1.0] * 40 + [0.0] * (n - 40),
            "scam": [1.0] * 20 + [np.nan] * 20 + [0.0] * (n - 40),
            "hard_negative": [False] * 300 + [True] * 100,
            "hard_negative_labels": [[]] * 300 + [["spam"]] * 90 + [["scam"]] * 10,
        }
    )
    m = training_mix(v, ["spam", "scam"], head_cap=0.5, tail_floor=5, hard_negatives_per_label={"scam": 8})
    assert m.per_label.loc["scam", "hard_negatives"] >= 8 and m.per_label.loc["scam", "hard_negative_target"] == 8
    assert not any("hard negatives wanted" in u for u in m.unmet)
    m = training_mix(v, ["spam", "scam"], head_cap=0.5, tail_floor=5, hard_negatives_per_label={"scam": 30})
    assert m.per_label.loc["scam", "hard_negatives"] == 10  # all there are
    assert "scam: 10 of 30 hard negatives wanted (mixing.hard_negatives_per_label)" in m.unmet


def test_the_projects_tail_floor_is_every_labels_floor_unless_a_label_has_its_own(tmp_path, small_taxonomy):
    from curation import Project

    rows = pd.DataFrame({"text": [f"post number {i} about things" for i in range(40)], "spam": [1] * 10 + [0] * 30})
    p = Project.init(tmp_path / "tiers", taxonomy=small_taxonomy)
    p.records.import_frame(rows, source="t")
    per = p.views.training_mix("spam", split=None).per_label
    assert per.loc["spam", "floor"] == small_taxonomy["spam"].min_positives  # no tail_floor: the tier's
    p.close()
    q = Project.init(tmp_path / "tail", taxonomy=small_taxonomy, config={"mixing": {"tail_floor": 7}})
    q.records.import_frame(rows, source="t")
    per = q.views.training_mix("spam", split=None).per_label
    assert per.loc["spam", "floor"] == per.loc["scam", "floor"] == 7 and per.loc["spam", "floor_met"]
    per = q.views.training_mix("spam", split=None, floors={"spam": 12}).per_label
    assert per.loc["spam", "floor"] == 12 and not per.loc["spam", "floor_met"] and per.loc["scam", "floor"] == 7
    q.close()
