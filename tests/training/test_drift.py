"""The drift monitor on a real (TF-IDF) model: a production stream like its data raises no alert; the week
its mix shifts alerts on PSI and decision rate, and moderators overturning its decisions alert on the
overturn rate; the CLI prints the same as a table and as JSON."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest

from curation import Project, Taxonomy
from training import TrainSpec, train_model
from training.production_loop import drift_reference, monitor, psi
from workbench.cli import main

WORDS = "apple river window cloud music table garden paper stone light".split()


def _post(rng, i, hate):
    words = rng.sample(WORDS, 5)
    if hate:
        words.insert(rng.randrange(6), "zorg")
    return " ".join(words)  # no running number: it would tell the posts of one day from another


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("drift")
    rng = random.Random(0)
    rows = [{"text": _post(rng, i, i % 10 == 0), "hate": int(i % 10 == 0)} for i in range(1500)]
    p = Project.init(root / "p", taxonomy=Taxonomy.from_dict({"labels": [{"name": "hate", "tier": "T2"}]}))
    p.records.import_frame(pd.DataFrame(rows), source="synthetic")
    model = train_model(p, root / "m-week0", TrainSpec(recipe="tfidf", mix=False))
    # week 1 as the data (10 % hate); week 2 shifted (60 % hate), moderators overturn half of its flags
    log = []
    for day in range(14):
        share = 0.1 if day < 7 else 0.6
        for k in range(60):
            i = 10_000 + day * 100 + k
            hate = rng.random() < share
            row = {
                "id": f"p{i}",
                "text": _post(rng, i % 1500, hate),
                "time": f"2026-11-{day + 2:02d}T{k % 24:02d}:00:00Z",
            }
            if day >= 7 and hate and k % 2:
                row["feedback"] = {"type": "moderator_overturn" if k % 4 == 1 else "moderator_confirm", "label": "hate"}
            log.append(row)
    path = root / "stream.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in log))
    yield p, model, path
    p.close()


def test_the_shifted_week_alerts_and_the_first_does_not(world):
    p, model, path = world
    p.production.import_log(path, models={model.root.name: model.labels})
    ref = drift_reference(model)
    assert ref["split"] == "calib" and (model.root / "drift_reference.json").exists()
    assert abs(ref["labels"]["hate"]["decision_rate"] - 0.1) < 0.06
    result = monitor(model, p.production.posts(), p.production.feedback(), window="7d")
    first, second = result["windows"]
    assert (first["n"], second["n"]) == (420, 420)
    h1, h2 = first["labels"]["hate"], second["labels"]["hate"]
    assert not h1["alert"] and h1["psi"] < 0.2 and h1["reasons"] == [], h1
    assert h2["alert"] and h2["psi"] > max(0.2, 3 * h1["psi"]) and h2["decision_rate"] > 0.4 and h2["ks"] > h1["ks"]
    assert any(r.startswith("PSI") for r in h2["reasons"]) and any(r.startswith("decision rate") for r in h2["reasons"])
    assert 0.3 < h2["overturn_rate"] < 0.7 and any(r.startswith("overturn rate") for r in h2["reasons"])
    # daily windows: every day of week 2 alerts, none of week 1
    daily = monitor(model, p.production.posts(), p.production.feedback(), window="1d")
    assert [w["labels"]["hate"]["alert"] for w in daily["windows"]] == [False] * 7 + [True] * 7, [
        w["labels"]["hate"] for w in daily["windows"]
    ][:3]
    # limits are the tier's unless the project overrides them
    loose = monitor(
        model,
        p.production.posts(),
        p.production.feedback(),
        window="7d",
        limits={"T2": {"psi_max": 50, "rate_ratio_max": 50, "overturn_max": 1}},
    )
    assert not loose["windows"][1]["labels"]["hate"]["alert"]


def test_psi_is_zero_for_the_reference_itself_and_grows_with_the_shift():
    rng = np.random.default_rng(0)
    ref = rng.beta(1, 8, 5000)
    edges = np.quantile(ref, np.linspace(0.1, 0.9, 9))
    shares = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=10) / len(ref)
    same, mild, strong = (psi(edges, shares, rng.beta(a, 8, 3000)) for a in (1, 1.5, 4))
    assert same < 0.01 < mild < strong and strong > 0.25


def test_cli_monitor_prints_the_table_json_and_figure(world, tmp_path, capsys):
    p, model, path = world
    assert main(["production-log", "import", str(p.root), str(path), "--model", str(model.root)]) == 0
    assert "posts into the pool" in capsys.readouterr().out
    # the 0.x spelling still works for one release (hidden from --help), saying the new one
    assert main(["feedback", "import", str(p.root), str(path), "--model", str(model.root)]) == 0
    said = capsys.readouterr()
    assert "posts into the pool" in said.out and "is now `workbench production-log import`" in said.err
    fig = tmp_path / "drift.html"
    assert main(["monitor", str(p.root), "--model", str(model.root), "--window", "7d", "--figure", str(fig)]) == 0
    out = capsys.readouterr().out
    assert "ALERT" in out and "1 alert(s) in 2 window(s) of 7d" in out and fig.stat().st_size > 1000
    assert main(["monitor", str(p.root), "--model", str(model.root), "--window", "7d", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= {"reference", "windows"}
    assert set(result["windows"][1]["labels"]["hate"]) >= {"psi", "ks", "decision_rate", "overturn_rate", "alert"}
    assert main(["monitor", str(p.root), "--model", str(model.root), "--window", "soon"]) == 2
    assert "expected a duration" in capsys.readouterr().err


def test_recalibration_on_reviewed_production_posts_restores_the_recall_floor(world, tmp_path, capsys):
    """Production posts are longer than the training posts: a hateful one (one 'zorg' among fifteen words)
    scores about 0.5, under the old threshold (0.9), so the model misses them all (recall floor of T2
    breached at the production rate); thresholds re-tuned on reviewed posts meet the floor and the FPR
    budget again, and the new model passes the original holdout too."""
    from curation import ReviewOutcome
    from training.artifacts import load_model, promote
    from training.production_loop import recalibrate, recalibration_table

    _, model, _ = world
    rng = random.Random(1)
    p2 = Project.init(
        tmp_path / "prod",
        taxonomy=Taxonomy.from_dict({"labels": [{"name": "hate", "tier": "T2"}]}),
        config={"production": {"splits": {"production_calib": 0.5, "train": 0.4, "valid": 0.1}}},
    )
    rows, truth = [], {}
    for i in range(1400):
        hate = rng.random() < 0.15
        words = rng.choices(WORDS, k=14 if hate else 15) + (["zorg"] if hate else [])
        rng.shuffle(words)
        rows.append({"id": f"q{i}", "text": " ".join(words), "time": f"2026-11-{1 + i // 200:02d}T10:00:00Z"})
        truth[f"q{i}"] = {"hate": int(hate)}
    path = tmp_path / "longer.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    p2.production.import_log(path)
    # every post reviewed (what a pull of sample-review writes): complete annotations, provenance annotator
    assert p2.records.apply_review(ReviewOutcome(pool_labels=truth))["pool_labels"] == 1400
    with pytest.raises(Exception, match="labelled production_calib posts"):
        recalibrate(model, p2, tmp_path / "none", source="feedback")  # no moderator decisions in this pool
    m2 = recalibrate(model, p2, tmp_path / "m2", source="sample-review")
    rec = m2.card.recalibration
    assert rec.retuned == ["hate"] and rec.source == "sample-review" and len(rec.calibration_sets) == 2
    assert any(f["check"] == "production check: recall" for f in rec.check_before["failures"]), rec.check_before
    table = recalibration_table(m2)
    assert table.loc["hate", "old"] == model.thresholds[0] and table.loc["hate", "new"] < 0.6
    assert table.loc["hate", "recall_at_base_rate"] >= 0.9 and table.loc["hate", "fpr_at_base_rate"] <= 0.02
    assert rec.check["passed"] and m2.card.variants["torch"].passed  # check part and original holdout
    assert load_model(m2.root).thresholds == [table.loc["hate", "new"]] and (m2.root / "classifier").exists()
    promote(m2)  # promote rules as usual
    # the same from the command line: monitor sees the decision rate collapse and recalibrates
    assert main(["recalibrate", str(model.root), "--project", str(p2.root), "--out", str(tmp_path / "m3")]) == 0
    assert load_model(tmp_path / "m3").card.comparison["against"].endswith("m2")  # the model promoted now
    assert (
        main(
            [
                "monitor",
                str(p2.root),
                "--model",
                str(model.root),
                "--window",
                "7d",
                "--recalibrate-if-drift",
                "--out",
                str(tmp_path / "m4"),
                "--json",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "production check" not in out.split("{", 1)[0] and "hate" in out
    result = json.loads(out[out.index("{\n") :])
    assert result["recalibrated"]["labels_alerting"] == ["hate"] and result["recalibrated"]["passed"]
    assert load_model(tmp_path / "m4").thresholds == load_model(tmp_path / "m3").thresholds
    p2.close()
