"""Panels on the demo project, without a browser: the retrain cell runs every step and shows the gate
table, Promote follows the verdict; the seeds panel quarantines and releases with the snapshot effect;
the map panel colours, selects, tags and links the heatmap."""

import numpy as np
import pytest

from curation import WorkbenchError
from training import TRAIN_STEPS
from training.artifacts import promoted_model
from workbench import build_demo
from workbench.panels import MapPanel, RetrainPanel, SeedsPanel

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    p, _ = build_demo(tmp_path_factory.mktemp("panels") / "demo")
    return p


def test_retrain_cell_runs_every_step_and_promote_follows_the_gate(project):
    panel = RetrainPanel(project, recipe="heads", group="safety")
    assert panel.promote_button.disabled  # nothing trained yet
    with pytest.raises(WorkbenchError, match="gate passed"):
        panel.promote()
    panel.run_button.click()  # the button runs the same method code calls
    model = panel.last_model
    assert model is not None and set(panel.step_seconds) == set(TRAIN_STEPS)
    assert all(bar.value == 1.0 for bar in panel.bars.values())
    table = panel.gate_table
    assert list(table.index) == list(model.labels) and {"passed", "f1", "recall", "fpr", "threshold"} <= set(table)
    assert set(panel.last_verdict["variants"]) == {"torch", "fp32"}  # the export was gated too
    assert "holdout gate per label" in panel.result.value and "excluded seeds" in panel.result.value
    # the per-epoch monitoring, drawn as small multiples: a panel per label, precision / recall / F1 each
    assert panel.history == model.card.history and len(panel.history) >= 2
    fig = panel.history_figure
    per_label = [t for t in fig.data if t.name in ("precision", "recall", "f1")]
    assert len(per_label) == 3 * len(model.labels) and len(per_label[0].x) == len(panel.history)
    assert len(panel.history_out.outputs) == 1  # shown in the panel
    assert "status" in table and set(table["status"]) <= {"pass", "fail", "insufficient_evidence"}
    best = panel.last_verdict["variants"][panel.last_verdict["best_variant"]]["labels"]  # what promote would serve
    assert panel.blocked_labels == [
        lab
        for lab, row in best.items()
        if row["status"] == "insufficient_evidence" and model.taxonomy[lab].tier == "T1"
    ]
    assert panel.promote_button.disabled == (not panel.last_verdict["passed"] or bool(panel.blocked_labels))
    if panel.last_verdict["passed"] and panel.blocked_labels:  # the demo's T1 labels have a handful of positives
        assert (
            "promotion blocked: insufficient evidence" in panel.message
            and "insufficient evidence" in panel.result.value
        )
        with pytest.raises(WorkbenchError, match="insufficient evidence on"):
            panel.promote()
        assert promoted_model(project) is None
    elif panel.last_verdict["passed"]:
        panel.promote_button.click()
        assert promoted_model(project).root == model.root
    else:
        assert "FAILED" in panel.message and "color:#c62828" in panel.result.value  # failing rows in red
        with pytest.raises(WorkbenchError, match="gate passed"):
            panel.promote()
        assert promoted_model(project) is None


def test_seeds_panel_quarantines_and_releases_with_the_snapshot_effect(project):
    panel = SeedsPanel(project)
    assert len(panel.table) == len(project.seeds.frame())
    seed = next(s for s in panel.table.index if panel.table.loc[s, "records in views"] > 0)
    panel.seed.value = seed
    panel.quarantine_button.click()  # no reason: refused, nothing changed
    assert "reason" in panel.message and not panel.table.loc[seed, "quarantined"]
    panel.reason.value = "sample failed review"
    effect = panel.quarantine()
    assert effect["snapshot_before"] != effect["snapshot_after"] and effect["active_after"] < effect["active_before"]
    assert panel.table.loc[seed, "quarantined"] and panel.table.loc[seed, "records in views"] == 0
    assert "left the training views" in panel.message
    back = panel.release()
    assert back["snapshot_after"] == effect["snapshot_before"]  # the snapshot is the one before
    assert not panel.table.loc[seed, "quarantined"]


def test_map_panel_colours_selects_tags_and_follows_the_heatmap(project):
    panel = MapPanel(project, progress=False)
    frame = panel.map.frame
    assert len(frame) == len(project.records.frame())
    for mode in panel.colour.options:
        panel.colour.value = mode
        assert sum(len(t.x) for t in panel.map.figure.data) == len(frame)
    x0, x1 = np.quantile(frame["x"], [0.4, 0.7])
    ids = panel.map.select_box((x0, x1), (frame["y"].min(), frame["y"].max()))
    assert panel.selected_ids == ids and f"<b>{len(ids)}</b>" in panel.count.value
    panel.tag_name.value = "panel-region"
    panel.tag_button.click()
    assert sorted(project.records.tags("panel-region")["record_id"]) == sorted(ids)
    a, b = panel.interference.iloc[0][["label_a", "label_b"]]
    panel.heatmap._handler_js2py_pointsCallback(
        {
            "new": {
                "event_type": "plotly_click",
                "points": {"trace_indexes": [0], "point_indexes": [[0, 1]], "xs": [b], "ys": [a]},
            }
        }
    )
    assert panel.map.mode[0] == "pair" and set(panel.map.groups) >= {"first", "second"}
    if len(panel.clusters):
        panel.cluster.value = int(panel.clusters.iloc[0]["cluster"])
        assert len(panel.selected_ids) == int(panel.clusters.iloc[0]["size"])
    panel.map.clear_selection()
    panel.tag_button.click()
    assert "nothing selected" in panel.message


def test_seeds_panel_shows_the_model_prescreen_of_hard_negative_batches(tmp_path):
    p, _ = build_demo(tmp_path / "demo")
    p.store.update_batch_summary(
        "batch-hn-giveaway-001", "prescreen", {"hard_negative_flag_rate": 0.4, "n": 5, "labels": ["scam"]}, actor="t"
    )
    panel = SeedsPanel(p)
    assert panel.table.loc["seed-hn-giveaway", "model flags (hard negatives)"] == "40%"
    assert panel.table.loc["seed-scam-giftcard", "model flags (hard negatives)"] == ""
    assert "review it first" in panel.view.value
    p.close()


def test_retrain_panel_advanced_options_are_its_layer_of_the_training_configuration(project):
    panel = RetrainPanel(project, recipe="tfidf")
    assert panel.training_config().set_fields() == {}  # nothing set: workbench.yaml, then the defaults
    panel.loss.value, panel.lr.value, panel.class_weights.value = "focal", "2e-3", "auto"
    assert panel.training_config().set_fields() == {"loss": "focal", "lr": 2e-3, "class_weights": "auto"}
    panel.epochs.value = "many"
    with pytest.raises(WorkbenchError, match="advanced option epochs: expected a number"):
        panel.training_config()
    panel.epochs.value = ""
    # TF-IDF applies none of them: refused, never recorded as applied
    with pytest.raises(WorkbenchError, match="settings the tfidf family applies"):
        panel.run()
    heads = RetrainPanel(project, recipe="heads", group="safety")
    heads.loss.value, heads.lr.value, heads.class_weights.value = "focal", "2e-3", "auto"
    heads.export.value = False  # the export is not under test here
    model = heads.run()
    assert model.card.training["origin"] == {
        "loss": "panel",
        "lr": "panel",
        "class_weights": "panel",
        "pos_weight_cap": "yaml",
    }


def test_monitor_panel_runs_the_monitor_and_draws_alerts_in_red(tmp_path):
    """The demo's production log on a TF-IDF model of the demo: the Run button fills the table (alerting rows
    in red) and the figure; a window that does not parse is the panel's red message, not an exception."""
    from training import TrainSpec, train_model
    from workbench._demo import demo_data_dir
    from workbench.panels import MonitorPanel

    p, _ = build_demo(tmp_path / "demo")
    model = train_model(p, tmp_path / "shipped", TrainSpec(recipe="tfidf", mix=False))
    p.production.import_log(demo_data_dir() / "production_log.jsonl", models={model.root.name: model.labels})
    panel = MonitorPanel(p, model)
    panel.window.value = "7d"
    panel.run_button.click()
    assert len(panel.result["windows"]) == 2 and len(panel.alerts) > 0
    assert set(panel.alerts["window"]) == {"2026-11-09T00:00"}  # the shifted week only
    assert "color:#c62828" in panel.view.value and "alert(s) in 2 window(s)" in panel.message
    assert len(panel.figure.data) == 4 * len(model.labels)  # band, calib rate, decision rate, PSI per label
    panel.window.value = "soon"
    panel.run_button.click()
    assert "expected a duration" in panel.message and "#c62828" in panel.message
    p.close()
