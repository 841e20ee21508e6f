import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation import SPLITS, Project
from curation.ingest import assign_splits
from curation.views import split_report

from ..conftest import shared


@pytest.fixture(scope="module")
def hatexplain_then_davidson(tmp_path_factory):
    from ..conftest import STARTER_TAXONOMY

    p = Project.init(tmp_path_factory.mktemp("hx") / "p", taxonomy=STARTER_TAXONOMY)
    p.records.import_file(shared("hatexplain/train.csv"), "hatexplain")
    p.records.import_file(shared("hatexplain/val.csv"), "hatexplain")
    before = p.records.frame()[["id", "split"]].copy()
    p.records.import_file(shared("davidson/labeled_data.csv"), "davidson")
    yield p, before
    p.close()


@pytest.mark.slow
def test_adding_davidson_moves_no_hatexplain_record(hatexplain_then_davidson):
    p, before = hatexplain_then_davidson
    after = p.records.frame().set_index("id")["split"]
    assert len(before) == 17305
    moved = (after.loc[before["id"]].to_numpy() != before["split"].to_numpy()).sum()
    assert moved == 0


@pytest.mark.slow
def test_calib_and_holdout_look_alike(hatexplain_then_davidson):
    p, _ = hatexplain_then_davidson
    rep = p.reports.split_report()
    cvh = rep["calib_vs_holdout"]
    big = cvh[cvh["positives"] >= 200]
    assert set(big.index) >= {"hate", "offensive"}
    assert (big["diff_pp"] <= 2.0).all(), big
    # the report also shows the source and context mix per split
    src = rep["source"]
    assert abs(src.loc["davidson", "calib"] - src.loc["davidson", "holdout"]) < 0.02
    fr = p.records.frame()["split"].value_counts(normalize=True)
    for s, want in {"train": 0.7, "valid": 0.1, "calib": 0.1, "holdout": 0.1}.items():
        assert abs(fr[s] - want) < 0.01


def test_splits_are_deterministic(tmp_path, small_taxonomy):
    df = pd.DataFrame(
        {
            "text": [f"post number {i} about things" for i in range(300)],
            "hate": [i % 3 == 0 for i in range(300)],
            "spam": [i % 7 == 0 for i in range(300)],
        }
    )
    got = []
    for k in range(2):
        p = Project.init(tmp_path / f"p{k}", taxonomy=small_taxonomy)
        p.records.import_frame(df.astype({"hate": int, "spam": int}), source="s")
        got.append(p.records.frame()[["id", "split"]])
        p.close()
    pd.testing.assert_frame_equal(got[0], got[1])


def test_stratification_balances_each_label():
    rng = np.random.default_rng(0)
    n = 4000
    y = (rng.random((n, 6)) < [0.3, 0.1, 0.05, 0.02, 0.2, 0.01]).astype(float)
    y[rng.random((n, 6)) < 0.3] = np.nan  # unknowns
    splits = assign_splits(y, ids=[f"r{i}" for i in range(n)])
    for s in ("calib", "holdout"):
        part = y[splits == s]
        rate = np.nanmean(part, axis=0)
        assert np.all(np.abs(rate - np.nanmean(y, axis=0)) < 0.02), (s, rate)
    assert abs((splits == "train").mean() - 0.7) < 0.01


def test_groups_share_a_split_and_follow_fixed_members():
    y = np.zeros((6, 1))
    groups = np.array([0, 0, 1, 1, 2, 2])
    fixed = ["holdout", None, None, None, None, "calib"]
    s = assign_splits(y, ids=list("abcdef"), groups=groups, fixed=fixed)
    assert s[0] == s[1] == "holdout"
    assert s[2] == s[3]
    assert s[4] == s[5] == "calib"


def test_split_report_shapes():
    f = pd.DataFrame(
        {
            "split": ["train", "calib", "holdout", "calib"],
            "source": "a",
            "context": "POST",
            "x": [1.0, 0.0, 1.0, np.nan],
            "y": [1.0, 1.0, np.nan, 0.0],
        }
    )
    rep = split_report(f, ["x", "y"])
    assert rep["label_rates"].loc["x", "calib"] == 0.0
    assert rep["label_rates"].loc["x", "holdout"] == 1.0
    assert rep["calib_vs_holdout"].loc["x", "diff_pp"] == 100.0
    assert rep["pairs"].loc["x+y", "train"] == 1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(
        st.lists(
            st.tuples(st.integers(0, 400), st.sampled_from([0, 1, None]), st.sampled_from([0, 1, None])),
            min_size=1,
            max_size=40,
        ),
        min_size=2,
        max_size=4,
    )
)
def test_adding_data_never_moves_a_record(tmp_path_factory, small_taxonomy, batches):
    p = Project.init(tmp_path_factory.mktemp("stab") / "p", taxonomy=small_taxonomy)
    seen: dict[str, str] = {}
    for b, batch in enumerate(batches):
        rows = {}
        for word, h, s in batch:
            # a shared vocabulary makes exact and near-duplicates across batches likely
            rows[f"b{b}-{word}-{h}-{s}"] = {
                "id": f"b{b}-{word}-{h}-{s}",
                "text": f"the text of post {word} " * 3 + ("!" * b),
                "hate": h,
                "spam": s,
            }
        p.records.import_frame(pd.DataFrame(list(rows.values())), source="h", id_field="id")
        f = p.records.frame().set_index("id")
        for rid, split in seen.items():
            assert f.loc[rid, "split"] == split, "an existing record moved"
        seen = f["split"].to_dict()
        # duplicate groups never straddle splits
        assert (f.groupby("near_dup_group")["split"].nunique() == 1).all()
        assert set(f["split"]) <= set(SPLITS)
    p.close()


def test_duplicate_groups_do_not_skew_fractions():
    """Groups follow one member; that member must not be biased towards the largest split."""
    rng = np.random.default_rng(1)
    sizes = rng.integers(1, 6, size=3000)
    groups = np.repeat(np.arange(sizes.size), sizes)
    y = (rng.random((groups.size, 3)) < [0.3, 0.1, 0.05]).astype(float)
    s = assign_splits(y, ids=[f"r{i}" for i in range(groups.size)], groups=groups)
    frac = {k: (s == k).mean() for k in SPLITS}
    assert abs(frac["train"] - 0.7) < 0.02 and abs(frac["holdout"] - 0.1) < 0.01, frac
    assert pd.Series(s).groupby(groups).nunique().max() == 1
