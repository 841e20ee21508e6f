import numpy as np
import pandas as pd

from curation import normalise_text
from curation.ingest import duplicate_groups, minhash_signatures, near_duplicate_pairs


def test_exact_and_near_duplicates(project):
    texts = [
        "RT @someone: the weather in the city is lovely today, come out and play",
        "RT @other: the weather in the city is lovely today, come out and play!!",
        "THE WEATHER in the city is lovely today -- come out and play",
        "a completely different sentence about football scores and the league table",
    ]
    s = project.records.import_frame(pd.DataFrame({"text": texts, "hate": [0, 1, 0, 0]}), source="d")
    f = project.records.frame()
    assert s.n_exact_duplicates == 1  # row 1 normalises to row 0's text; row 2 is only near
    assert f.loc[1, "dup_of"] == f.loc[0, "id"]
    assert pd.isna(f.loc[2, "dup_of"])
    assert f.loc[:2, "near_dup_group"].nunique() == 1
    assert f.loc[:2, "split"].nunique() == 1
    assert f.loc[3, "near_dup_group"] != f.loc[0, "near_dup_group"]
    conflicts = project.reports.duplicate_conflicts()
    assert len(conflicts) == 1 and conflicts.iloc[0]["labels"] == ["hate"]
    assert s.n_conflicting_pairs == 1


def test_near_duplicates_across_imports_join_the_stored_split(project):
    base = "my neighbour keeps parking his truck across my driveway every single morning"
    project.records.import_frame(pd.DataFrame({"text": [base], "hate": [0]}), source="a")
    first = project.records.frame().iloc[0]
    variants = [base + " ugh", base.replace("every", "each"), "totally unrelated text about cooking pasta well"]
    project.records.import_frame(pd.DataFrame({"text": variants, "hate": [0, 0, 0]}), source="b")
    f = project.records.frame().set_index("text")
    for v in variants[:2]:
        assert f.loc[v, "split"] == first["split"]
        assert f.loc[v, "near_dup_group"] == first["near_dup_group"]
    assert len(project.store.near_dup_pairs()) == 2


def test_pairs_only_for_new_rows_and_linear_buckets():
    # 500 copies of one text: a star per bucket, not 124,750 pairs
    sig = minhash_signatures([normalise_text("same text again and again")] * 500)
    pairs = near_duplicate_pairs(sig)
    assert len(pairs) == 499
    assert len(set(duplicate_groups(500, [(a, b) for a, b, _ in pairs]))) == 1
    assert near_duplicate_pairs(sig, query_from=500) == []
    tail = near_duplicate_pairs(sig, query_from=499)
    assert len(tail) == 1 and tail[0][1] == 499


def test_similarity_threshold_separates():
    a = "the quick brown fox jumps over the lazy dog near the river bank today"
    sig = minhash_signatures([normalise_text(t) for t in [a, a.replace("today", "tonight"), "lorem ipsum dolor"]])
    sims = {(i, j): s for i, j, s in near_duplicate_pairs(sig, threshold=0.5)}
    assert (0, 1) in sims and sims[(0, 1)] >= 0.5
    assert all(2 not in k for k in sims)


def test_signatures_shape_and_determinism():
    s1 = minhash_signatures(["abc def", "xyz"], num_perm=32)
    s2 = minhash_signatures(["abc def", "xyz"], num_perm=32)
    assert s1.shape == (2, 32) and s1.dtype == np.uint32
    assert np.array_equal(s1, s2)
