"""Maps on hand-made data: the projection places copies on their originals, the neighbour-graph mixing
agrees with the search, colour modes group rows as documented, selections return exactly the ids inside
(from code and from a browser selection event), clusters score competing labels and misplaced generated
text."""

import numpy as np
import pandas as pd
import pytest

from curation import WorkbenchError
from workbench.maps import (
    COLOUR_MODES,
    EmbeddingMap,
    Projection,
    ProjectionParams,
    cluster_table,
    colour_groups,
    find_clusters,
    neighbourhood_mixing,
)
from workbench.maps.figure import _point_in_polygon


def _blobs(seed=0, d=24, per=80, centers=3):
    rng = np.random.default_rng(seed)
    x = np.vstack([rng.normal(0, 0.15, (per, d)) + np.eye(d)[c] * 3 for c in range(centers)])
    return x.astype(np.float32), np.repeat(np.arange(centers), per)


@pytest.fixture(scope="module")
def fitted():
    x, group = _blobs()
    ids = [f"r{i}" for i in range(len(x))]
    return Projection.fit(ids, x, ProjectionParams(n_neighbors=10, n_epochs=60)), x, group


def test_transform_places_a_copy_of_a_stored_point_next_to_it(fitted):
    proj, x, group = fitted
    picks = [3, 90, 200]
    placed = proj.transform(x[picks])
    assert np.allclose(placed, proj.coords[picks], atol=1e-5)  # an exact copy sits on its original
    # a slightly changed copy lands among its own group, nearer to the original than the map's spread
    rng = np.random.default_rng(1)
    near = proj.transform(x[picks] + rng.normal(0, 0.01, x[picks].shape).astype(np.float32))
    spread = np.linalg.norm(proj.coords.max(0) - proj.coords.min(0))
    for p, i in zip(near, picks):
        nearest = np.argsort(np.linalg.norm(proj.coords - p, axis=1))[:10]
        assert (group[nearest] == group[i]).all()
        assert np.linalg.norm(p - proj.coords[i]) < 0.1 * spread


def test_projection_keeps_groups_apart_and_round_trips(fitted, tmp_path):
    proj, x, group = fitted
    centers = np.array([proj.coords[group == g].mean(0) for g in range(3)])
    within = max(np.linalg.norm(proj.coords[group == g] - centers[g], axis=1).mean() for g in range(3))
    between = min(np.linalg.norm(centers[i] - centers[j]) for i in range(3) for j in range(i + 1, 3))
    assert between > 3 * within
    assert proj.neighbors.shape == (len(x), 9) and (proj.neighbors != np.arange(len(x))[:, None]).all()
    again = Projection.load(proj.save(tmp_path / "p.npz"))
    assert np.array_equal(again.coords, proj.coords) and again.params == proj.params
    assert list(again.ids) == list(proj.ids)
    assert np.allclose(again.transform(x[:5]), proj.transform(x[:5]))


def test_projection_refuses_bad_input():
    with pytest.raises(WorkbenchError, match="one per id"):
        Projection.fit(["a", "b"], np.zeros((3, 4)))
    with pytest.raises(WorkbenchError, match="at least 4"):
        Projection.fit(["a", "b"], np.zeros((2, 4)))


def test_mixing_from_a_neighbour_graph_matches_the_search():
    x, group = _blobs(per=60)
    a = (group == 0).astype(float)
    b_apart = (group == 1).astype(float)
    rng = np.random.default_rng(3)
    b_mixed = a * (rng.random(len(a)) < 0.5)
    a_mixed = a - b_mixed
    from sklearn.neighbors import NearestNeighbors

    graph = NearestNeighbors(n_neighbors=11).fit(x).kneighbors(x, return_distance=False)[:, 1:]
    assert neighbourhood_mixing(None, a, b_apart, neighbors=graph) == 0.0
    searched = neighbourhood_mixing(x, a_mixed, b_mixed, k=10)
    from_graph = neighbourhood_mixing(None, a_mixed, b_mixed, neighbors=graph)
    assert from_graph > 0.7 and abs(from_graph - searched) < 0.15


def _frame():
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(6)],
            "text": ["a" * 200, "b", "c", "d", "e", "f"],
            "x": [0.0, 1, 2, 3, 4, 5],
            "y": [0.0, 1, 2, 3, 4, 5],
            "hate": [1, 0, np.nan, 1, 0, 1],
            "threat": [1, 1, 0, 0, np.nan, 0],
            "p_hate": [0.9, 0.8, 0.1, 0.2, 0.1, 0.7],
            "origin": ["real", "generated", "real", "perturbation", "real", "real"],
            "split": ["train", "train", "calib", "holdout", "valid", "train"],
            "status": ["active", "pending", "active", "quarantined", "active", "active"],
            "seed_id": [None, "S1@v1", None, "S2@v1", None, None],
            "batch_id": [None, "B1", None, "B2", None, None],
            "cluster": [0, 0, 1, 1, -1, 0],
        }
    )


def test_colour_groups_each_mode():
    f = _frame()
    th = {"hate": 0.5}
    assert colour_groups(f, "label", label="hate").tolist() == [
        "positive",
        "negative",
        "unknown",
        "positive",
        "negative",
        "positive",
    ]
    assert colour_groups(f, "pair", pair=("hate", "threat")).tolist() == [
        "both",
        "second",
        "unknown",
        "first",
        "unknown",
        "first",
    ]
    assert colour_groups(f, "error", label="hate", thresholds=th).tolist() == ["TP", "FP", "unknown", "FN", "TN", "TP"]
    assert colour_groups(f, "seed").tolist() == ["real", "S1@v1", "real", "S2@v1", "real", "real"]
    assert colour_groups(f, "batch", top=1).tolist()[:4] == ["real", "B1", "real", "other"]
    assert colour_groups(f, "origin").tolist() == f["origin"].tolist()
    assert colour_groups(f, "split").tolist() == f["split"].tolist()
    assert colour_groups(f, "review").tolist() == ["real", "pending", "real", "quarantined", "real", "real"]
    assert colour_groups(f, "cluster").tolist() == [
        "cluster 0",
        "cluster 0",
        "cluster 1",
        "cluster 1",
        "noise",
        "cluster 0",
    ]
    with pytest.raises(WorkbenchError, match="model scores"):
        colour_groups(f.drop(columns="p_hate"), "error", label="hate", thresholds=th)
    with pytest.raises(WorkbenchError, match="one of"):
        colour_groups(f, "rainbow")


def test_map_selection_by_box_lasso_and_browser_event():
    f = _frame()
    m = EmbeddingMap(f, ["hate", "threat"], thresholds={"hate": 0.5}, widget=True)
    seen = []
    m.on_select(seen.append)
    for mode, kw in [
        ("label", {"label": "hate"}),
        ("pair", {"pair": ("hate", "threat")}),
        ("error", {"label": "hate"}),
        *[(mode, {}) for mode in COLOUR_MODES[3:]],
    ]:
        m.colour_by(mode, **kw)
        assert sum(len(t.x) for t in m.figure.data) == len(f)
    assert m.select_box((0.5, 3.5), (0.5, 3.5)) == ["r1", "r2", "r3"]
    assert seen[-1] == ["r1", "r2", "r3"]
    assert m.select_lasso([-1, 2.5, 2.5], [-1, -1, 2.5]) == ["r0", "r1", "r2"]  # triangle under the diagonal
    # the selection survives a change of colouring
    m.colour_by("split")
    assert m.selected_ids == ["r0", "r1", "r2"]
    # a lasso in the browser: plotly.js reports (trace, point index) pairs; the map maps them to ids
    inside = [(t, i) for t, rows in enumerate(m._trace_rows) for i, r in enumerate(rows) if r in (4, 5)]
    m.figure._handler_js2py_pointsCallback(
        {
            "new": {
                "event_type": "plotly_selected",
                "points": {
                    "trace_indexes": [t for t, _ in inside],
                    "point_indexes": [i for _, i in inside],
                    "xs": [0] * len(inside),
                    "ys": [0] * len(inside),
                },
                "selector": {"type": "lasso", "selector_state": {"xs": [3.5, 6, 6], "ys": [3.5, 3.5, 6]}},
            }
        }
    )
    assert m.selected_ids == ["r4", "r5"] and seen[-1] == ["r4", "r5"]
    # clicking a point while coloured by cluster selects its cluster
    m.colour_by("cluster")
    t = next(t for t, rows in enumerate(m._trace_rows) if 1 in rows)
    m.figure._handler_js2py_pointsCallback(
        {
            "new": {
                "event_type": "plotly_click",
                "points": {
                    "trace_indexes": [t],
                    "point_indexes": [list(m._trace_rows[t]).index(1)],
                    "xs": [1],
                    "ys": [1],
                },
            }
        }
    )
    assert m.selected_ids == ["r0", "r1", "r5"]
    assert m.highlight_pair("hate", "threat") == ["r0"]
    assert m.payload_mb() < 0.05
    assert all(len(h.split("<br>")[0]) <= 60 for t in m.figure.data for h in t.hovertext)


def test_point_in_polygon_matches_a_square():
    x, y = np.array([0.5, 1.5, 0.5, -0.1]), np.array([0.5, 0.5, 0.99, 0.5])
    assert _point_in_polygon(x, y, [0, 1, 1, 0], [0, 0, 1, 1]).tolist() == [True, False, True, False]


def test_clusters_flag_competing_labels_and_generated_text_among_other_labels():
    rng = np.random.default_rng(5)
    pts = np.vstack([rng.normal(0, 0.2, (60, 2)), rng.normal(0, 0.2, (60, 2)) + 10, rng.normal(0, 0.2, (60, 2)) - 10])
    f = pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1], "id": [f"r{i}" for i in range(180)]})
    f["harassment"] = 0.0
    f["threat"] = 0.0
    f["spam"] = 0.0
    f.loc[:59, "harassment"] = (np.arange(60) % 2 == 0).astype(float)  # cluster A: harassment and threats interleaved
    f.loc[:59, "threat"] = (np.arange(60) % 2 == 1).astype(float)
    f.loc[60:119, "spam"] = 1.0  # cluster B: clean spam
    f.loc[120:, "harassment"] = 1.0  # cluster C: harassment, with generated threats in it
    f["origin"] = "real"
    f.loc[170:, ["origin", "harassment", "threat"]] = ["generated", 0.0, 1.0]
    f["seed_id"] = np.where(f["origin"] == "generated", "S9@v1", None)
    f["batch_id"] = np.where(f["origin"] == "generated", "B9", None)
    out, table = find_clusters(f, ["harassment", "threat", "spam"], min_cluster_size=20)
    assert table["size"].sum() >= 170 and len(table) == 3
    by_first = {out.loc[0, "cluster"]: "A", out.loc[60, "cluster"]: "B", out.loc[120, "cluster"]: "C"}
    t = table.assign(name=table["cluster"].map(by_first)).set_index("name")
    assert t.loc["A", "competing"] == pytest.approx(0.5, abs=0.05)
    assert t.loc["B", "interference_score"] == 0.0
    assert t.loc["C", "generated_mismatch"] == 1.0 and "S9@v1" in t.loc["C", "dominant_seeds"]
    assert table.iloc[-1]["cluster"] == out.loc[60, "cluster"]  # the clean cluster ranks last
    again = cluster_table(out, ["harassment", "threat", "spam"])
    pd.testing.assert_frame_equal(again, table)


def test_clusters_on_a_sample_assign_every_record():
    rng = np.random.default_rng(2)
    pts = np.vstack([rng.normal(0, 0.3, (400, 2)), rng.normal(0, 0.3, (400, 2)) + 8])
    f = pd.DataFrame(
        {
            "x": pts[:, 0],
            "y": pts[:, 1],
            "id": [f"r{i}" for i in range(800)],
            "spam": 0.0,
            "origin": "real",
            "seed_id": None,
            "batch_id": None,
        }
    )
    full, _ = find_clusters(f, ["spam"], min_cluster_size=30)
    sampled, table = find_clusters(f, ["spam"], min_cluster_size=30, max_points=200)
    assert len(table) == 2 and table["size"].sum() >= 780
    # the two blobs are told apart the same way with or without sampling
    agree = pd.crosstab(full["cluster"], sampled["cluster"]).max(axis=1).sum() / len(f)
    assert agree > 0.97


def test_picking_a_pair_on_the_heatmap_highlights_it_on_the_map():
    from workbench.maps import interference_figure

    f = _frame()
    table = pd.DataFrame([{"label_a": "hate", "label_b": "threat", "interference_score": 0.7}])
    heat = interference_figure(table, ["hate", "threat"], widget=True)
    m = EmbeddingMap(f, ["hate", "threat"])
    m.follow(heat)
    heat._handler_js2py_pointsCallback(
        {
            "new": {
                "event_type": "plotly_click",
                "points": {"trace_indexes": [0], "point_indexes": [[0, 1]], "xs": ["threat"], "ys": ["hate"]},
            }
        }
    )
    assert m.mode == ("pair", None, ("hate", "threat")) and m.selected_ids == ["r0"]
