"""The multi-source start of the loop bench (``bench.hatexplain.multi_source_project``): HateXplain keeps
its official splits (train trains, val only evaluates) beside Davidson, ETHOS and
the OpenAI moderation set, whose labels the taxonomy lacks stay unknown."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.hatexplain import OTHER_SOURCES, multi_source_project, rate_balanced
from curation import normalise_text

from .conftest import shared

LIMIT = 300


def test_the_multi_source_start_keeps_hatexplains_official_splits(tmp_path):
    data = shared("hatexplain/train.csv").parents[1]
    for rel, *_ in OTHER_SOURCES.values():
        shared(rel)  # a clear message when a file is missing
    p = multi_source_project(tmp_path / "p", data, limit=LIMIT)
    frame = p.records.frame(include_unreviewed=True)
    assert set(frame["source"]) == {"hatexplain", "davidson", "ethos", "openai_moderation"}
    official = {
        name: {normalise_text(t) for t in pd.read_csv(data / "hatexplain" / f"{name}.csv")["text"].astype(str)}
        for name in ("train", "val")  # the official test split is not in ../shared (held out from us too)
    }
    hx = frame[frame["source"] == "hatexplain"]
    texts = hx["text"].map(normalise_text)
    from_train, from_val = texts.isin(official["train"]), texts.isin(official["val"])
    assert from_train.sum() > 250 and from_val.sum() > 250 and (from_train | from_val).all()
    assert set(hx.loc[from_train & ~from_val, "split"]) == {"train", "valid"}
    assert set(hx.loc[from_val & ~from_train, "split"]) == {"calib", "holdout"}  # val is never trained on
    for source in ("davidson", "ethos", "openai_moderation"):
        part = frame[frame["source"] == source]
        assert {"train", "calib", "holdout"} <= set(part["split"]), source
    assert frame.loc[frame["source"] == "ethos", "offensive"].isna().all()  # ETHOS has no offensive: unknown
    assert frame.loc[frame["source"] == "davidson", "offensive"].notna().all()
    openai = frame[frame["source"] == "openai_moderation"]
    known = openai["hate"].dropna()
    assert len(known) and known.mean() >= 0.3 - 1e-9  # rate-balanced: negatives subsampled, not positives
    p.close()


def test_rate_balancing_keeps_every_positive_and_subsamples_negatives():
    from curation._records import RawRecord

    records = [RawRecord(f"row {i}", f"text {i}", {"hate": int(i < 10)}) for i in range(100)]
    kept = rate_balanced(records, "hate", 0.25)
    labels = np.array([r.labels["hate"] for r in kept])
    assert labels.sum() == 10 and len(kept) == 40  # 10 positives, 30 negatives: a rate of 0.25
    assert rate_balanced(records, "hate", 0.25) == kept  # seeded
    rich = [RawRecord(f"row {i}", f"text {i}", {"hate": int(i < 60)}) for i in range(100)]
    assert len(rate_balanced(rich, "hate", 0.3)) == 100  # already over the rate: nothing dropped
