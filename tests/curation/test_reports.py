import numpy as np
import pandas as pd

from curation import Taxonomy
from curation.views import class_distribution, distribution_figure, label_stats, save_figure_png


def test_class_distribution_hand_computed():
    tax = Taxonomy.from_dict({"labels": [{"name": "hate", "tier": "T2"}, {"name": "spam", "tier": "T5"}]})
    f = pd.DataFrame(
        {"split": "train", "status": "active", "hate": [1.0, 0.0, 0.0, 0.0, np.nan], "spam": [1.0] + [0.0] * 4}
    )
    f.loc[len(f)] = {"split": "train", "status": "active", "hate": 0.0, "spam": 0.0}
    rep = class_distribution(f, tax, pos_weight_cap=3.0)
    assert rep.loc["hate", ["positives", "negatives", "unknown"]].tolist() == [1, 4, 1]
    assert rep.loc["hate", "imbalance_ratio"] == 4.0
    assert rep.loc["hate", "pos_weight"] == 3.0 and rep.loc["hate", "weight_capped"]
    assert rep.loc["hate", "floor"] == 300 and rep.loc["hate", "below_floor"]
    assert rep.loc["spam", "pos_weight"] == 3.0
    assert rep.loc["hate", "unknown_rate"] == 1 / 6


def test_png_export(tmp_path):
    tax = Taxonomy.from_dict({"labels": [{"name": "hate", "tier": "T2"}, {"name": "spam", "tier": "T5"}]})
    f = pd.DataFrame({"split": "train", "status": "active", "hate": [1.0, 0.0], "spam": [0.0, 1.0]})
    fig = distribution_figure(class_distribution(f, tax))
    assert [t.name for t in fig.data] == ["T2", "T5", "tier floor"]
    out = save_figure_png(fig, tmp_path / "dist.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_label_stats_unknown_rate():
    f = pd.DataFrame({"a": [1.0, np.nan, np.nan, 0.0]})
    assert label_stats(f, ["a"]).loc["a", "unknown_rate"] == 0.5
