"""The map of the demo project: every record on it, coloured each way, a region selected in code gives the
ids of exactly the records inside it and they are tagged in the store; records added later are placed
without moving the others; the CLI writes a standalone map and the interference table."""

import numpy as np
import pandas as pd
import pytest

from training import TrainSpec, train_model
from workbench import build_demo
from workbench.cli import main
from workbench.maps import COLOUR_MODES, EmbeddingMap, build_map, find_clusters, interference_figure, map_interference

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("maps")
    project, _ = build_demo(root / "demo")
    model = train_model(project, root / "model", TrainSpec(recipe="heads", group="safety", mix=False))
    return project, model, root


@pytest.fixture(scope="module")
def data(demo):
    project, model, _ = demo
    return build_map(project, model=model)


def test_every_record_is_on_the_map_and_every_colouring_works(demo, data):
    project, model, _ = demo
    frame = data.frame
    assert len(frame) == len(project.records.frame()) and frame["id"].is_unique
    assert np.isfinite(frame[["x", "y"]].to_numpy()).all()
    assert (frame.loc[frame["status"] != "active", "placed"]).all()  # only active records are fitted
    assert not frame.loc[frame["status"] == "active", "placed"].any()
    label = model.labels[0]
    frame_c, clusters = find_clusters(frame, data.labels)
    m = EmbeddingMap(frame_c, data.labels, thresholds=data.thresholds, widget=True)
    options = {"label": {"label": label}, "pair": {"pair": ("hate", "offensive")}, "error": {"label": label}}
    seen = {}
    for mode in COLOUR_MODES:
        m.colour_by(mode, **options.get(mode, {}))
        assert sum(len(t.x) for t in m.figure.data) == len(frame)  # every point drawn once
        seen[mode] = set(m.groups)
    assert seen["error"] <= {"TP", "FP", "FN", "TN", "unknown"} and {"TP", "TN"} <= seen["error"]
    assert {"real", "generated"} <= seen["origin"] and {"train", "holdout"} <= seen["split"]
    assert "pending" in seen["review"] or "accepted" in seen["review"]
    assert len(clusters) >= 2 and clusters["size"].sum() <= len(frame)
    hover = m.figure.data[0].hovertext[0]
    assert "<br>" in hover and len(hover.split("<br>")[0]) <= 60


def test_a_region_selected_in_code_is_exactly_the_records_inside_and_gets_tagged(demo, data):
    project, _, _ = demo
    frame = data.frame
    m = EmbeddingMap(frame, data.labels, widget=True)
    x0, x1 = np.quantile(frame["x"], [0.2, 0.6])
    y0, y1 = np.quantile(frame["y"], [0.3, 0.8])
    ids = m.select_box((x0, x1), (y0, y1))
    inside = frame[(frame["x"].between(x0, x1)) & (frame["y"].between(y0, y1))]["id"].tolist()
    assert ids == inside and 0 < len(ids) < len(frame)
    assert sum(len(t.selectedpoints or ()) for t in m.figure.data) == len(ids)  # drawn as selected
    assert project.records.tag(m.selected_ids, "map-region-1", note="dense region, check labels") == len(ids)
    tagged = project.records.tags("map-region-1")
    assert sorted(tagged["record_id"]) == sorted(ids) and set(tagged["note"]) == {"dense region, check labels"}
    assert project.records.tag(ids[:3], "map-region-1") == 0  # tagging again adds nothing
    with pytest.raises(Exception, match="unknown"):
        project.records.tag([*ids[:2], "no-such-record"], "map-region-2")
    assert project.records.tags("map-region-2").empty  # all or nothing
    # the lasso: a polygon gives the records inside it, no more
    xs, ys = [x0, x1, x1], [y0, y0, y1]
    lasso = m.select_lasso(xs, ys)
    assert set(lasso) <= set(ids) and 0 < len(lasso) < len(ids)


def test_interference_table_and_heatmap_on_the_demo(demo, data):
    _, model, _ = demo
    table = map_interference(data)
    assert len(table) > 0 and {"mixing", "confusion", "co_occurrence", "centroid_distance"} <= set(table.columns)
    assert table["interference_score"].is_monotonic_decreasing
    assert table[["mixing", "co_occurrence"]].apply(lambda c: c.between(0, 1)).all().all()
    scored = table["label_a"].isin(model.labels) & table["label_b"].isin(model.labels)
    assert scored.any() and table.loc[scored, "confusion"].between(0, 1).all()
    assert table.loc[~scored, "confusion"].isna().all()  # the model does not score those labels
    fig = interference_figure(table, data.labels)
    assert np.array(fig.data[0].z, dtype=float).shape == (len(data.labels), len(data.labels))


def test_records_added_later_are_placed_without_moving_the_map(tmp_path):
    project, _ = build_demo(tmp_path / "demo")
    first = build_map(project).frame.set_index("id")
    new = pd.DataFrame(
        {
            "text": [
                "you will regret posting this, I know where you live",
                "limited offer!!! claim your free gift card now",
            ],
            "id": ["late-1", "late-2"],
        }
    )
    project.records.import_frame(new, source="late", id_field="id")
    second = build_map(project)
    later = second.frame.set_index("id")
    late = second.frame.loc[second.frame["source"] == "late", "id"]
    assert len(late) == 2 and later.loc[late, "placed"].all()
    common = first.index.intersection(later.index)
    assert np.array_equal(first.loc[common, ["x", "y"]].to_numpy(), later.loc[common, ["x", "y"]].to_numpy())
    assert second.projection.info["snapshot_id"] != project.snapshots.id()  # reused, not refitted
    refit = build_map(project, refit=True)
    assert not refit.frame["placed"][refit.frame["status"] == "active"].any()


def test_cli_writes_a_standalone_map_and_the_tables(demo, tmp_path, capsys):
    project, model, _ = demo
    out = tmp_path / "map"
    assert (
        main(
            [
                "map",
                str(project.root),
                "--model",
                str(model.root),
                "--out",
                str(out),
                "--quiet",
                "--colour",
                "error",
                "--label",
                model.labels[0],
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "interference:" in printed and "clusters:" in printed
    html = (out / "map.html").read_text()
    assert "plotly" in html and "https://cdn" not in html.split("<body>")[0]  # plotly.js inlined, no network
    assert len(pd.read_csv(out / "interference.csv")) > 0 and len(pd.read_csv(out / "clusters.csv")) > 0
    # tags from the command line
    ids = project.records.frame()["id"].tolist()[:4]
    assert main(["tag", str(project.root), "--tag", "cli-tag", "--ids", *ids]) == 0
    assert sorted(project.records.tags("cli-tag")["record_id"]) == sorted(ids)
    capsys.readouterr()
    assert main(["tag", str(project.root)]) == 0
    assert "cli-tag\t4" in capsys.readouterr().out
