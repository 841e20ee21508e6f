"""Label interference on small hand-made embeddings: separated labels do not mix, interleaved ones do, and
a planted interfering pair ranks first."""

import numpy as np
import pytest

from workbench.maps import (
    centroid_distance,
    confusion_rate,
    interference_figure,
    interference_table,
    neighbourhood_mixing,
)


def _blob(rng, center, n, scale=0.3):
    return rng.normal(0, scale, (n, len(center))) + np.asarray(center)


@pytest.fixture
def planted():
    """harassment and threats share one region (interleaved); spam and hate live apart."""
    rng = np.random.default_rng(7)
    d = 16
    region = np.eye(d)[0] * 4
    emb = np.vstack([_blob(rng, region, 60), _blob(rng, np.eye(d)[5] * 4, 40), _blob(rng, np.eye(d)[9] * 4, 40)])
    n = len(emb)
    y = np.zeros((n, 4))
    y[:60, 0] = rng.random(60) < 0.5  # harassment, interleaved with
    y[:60, 1] = 1 - y[:60, 0]  # threats, in the same region
    y[:10, 1] = 1  # ... and some records carry both
    y[60:100, 2] = 1  # spam, alone
    y[100:, 3] = 1  # hate, alone
    y[np.arange(n) % 17 == 0, 3] = np.nan  # some unknowns
    return emb, y, ["harassment", "threats", "spam", "hate"]


def test_mixing_is_zero_apart_and_high_interleaved(planted):
    emb, y, _ = planted
    assert neighbourhood_mixing(emb, y[:, 2], y[:, 3], k=10) == 0.0
    assert neighbourhood_mixing(emb, y[:, 0], y[:, 1], k=10) > 0.7
    assert centroid_distance(emb, y[:, 0], y[:, 1]) < 0.05 < centroid_distance(emb, y[:, 2], y[:, 3])


def test_the_planted_pair_ranks_first_and_confusion_counts(planted):
    emb, y, names = planted
    table = interference_table(emb, y, names, k=10)
    assert (table.loc[0, "label_a"], table.loc[0, "label_b"]) == ("harassment", "threats")
    assert table.loc[0, "co_occurrence"] > 0 and table["interference_score"].is_monotonic_decreasing
    apart = table[(table["label_a"] == "spam") & (table["label_b"] == "hate")].iloc[0]
    assert apart["mixing"] == 0.0 and apart["co_occurrence"] == 0.0
    probs = np.nan_to_num(y, nan=0.0).copy()
    probs[:, 0] = np.where(y[:, 1] == 1, 0.9, probs[:, 0])  # the model fires harassment on threats
    with_model = interference_table(emb, y, names, probs=probs, thresholds=[0.5] * 4, k=10)
    first = with_model.iloc[0]
    assert (first["label_a"], first["label_b"]) == ("harassment", "threats") and first["confusion"] > 0.4
    fig = interference_figure(with_model, names)
    z = np.array(fig.data[0].z, dtype=float)
    assert z.shape == (4, 4) and z[0, 1] == z[1, 0] == pytest.approx(first["interference_score"])


def test_confusion_needs_both_directions():
    a, b = np.array([1, 1, 0, 0]), np.array([0, 0, 1, 1])
    assert (
        confusion_rate(
            a, b, np.array([0.9, 0.9, 0.1, 0.1]), np.array([0.1, 0.1, 0.9, 0.9]), threshold_a=0.5, threshold_b=0.5
        )
        == 0.0
    )
    assert (
        confusion_rate(
            a, b, np.array([0.9, 0.9, 0.9, 0.9]), np.array([0.9, 0.9, 0.9, 0.9]), threshold_a=0.5, threshold_b=0.5
        )
        == 1.0
    )
