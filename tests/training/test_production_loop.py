"""The production loop closes: labelled production posts train the next model (counted in its card, bounded by
``mixing.production_share``), overturned firings are hard negatives, unlabelled posts and twins of curated
evaluation records never train, and every verdict carries the production slice beside the curated holdout.

The world: a curated project where hate is said with "zorg"; the team's platform says it with "blarg", which
the curated data never shows. A TF-IDF model of the curated data misses the platform's hate; the next model,
trained on the same project after moderators and reviewers labelled platform posts, catches it."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest

from curation import Project, ReviewOutcome, Taxonomy
from curation.production import production_records
from training import TrainSpec, train_model
from training.artifacts import load_model, promote
from training.evaluation import GateReport
from workbench.cli import main

WORDS = "apple river window cloud music table garden paper stone light".split()
TAX = Taxonomy.from_dict({"labels": [{"name": "hate", "tier": "T2", "min_holdout_positives": 5}]})


def _text(rng: random.Random, marker: str | None) -> str:
    words = rng.sample(WORDS, 6)
    if marker:
        words.insert(rng.randrange(7), marker)
    return " ".join(words)


def _platform_log(rng: random.Random, n: int, *, start: int = 0, labelled_every: int = 1) -> list[dict]:
    """Platform posts (a third hate, said with "blarg"); the model fired on the "zorg"-like ones it knows, so
    every tenth clean post carries a wrong firing a moderator overturns."""
    rows = []
    for i in range(start, start + n):
        hate = i % 3 == 0
        row = {
            "id": f"post{i}",
            "text": _text(rng, "blarg" if hate else None) + f" w{i % 7}",
            "time": f"2026-11-{2 + i % 14:02d}T10:00:00Z",
            "decisions": {"hate": 0},
        }
        if i % labelled_every == 0:
            if not hate and i % 10 == 1:
                row["decisions"] = {"hate": 1}
                row["feedback"] = {"type": "moderator_overturn", "label": "hate"}
            else:
                row["feedback"] = {"type": "moderator_confirm" if hate else "moderator_overturn", "label": "hate"}
        rows.append(row)
    return rows


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("prodloop")
    rng = random.Random(0)
    curated = [{"text": _text(rng, "zorg" if i % 5 == 0 else None), "hate": int(i % 5 == 0)} for i in range(1500)]
    p = Project.init(
        root / "p", taxonomy=TAX, config={"mixing": {"tail_floor": 5, "head_cap": 0.5, "production_share": 0.5}}
    )
    p.records.import_frame(pd.DataFrame(curated), source="curated")
    m0 = train_model(p, root / "m0", TrainSpec(recipe="tfidf"))
    promote(m0)
    # then the platform's posts: 900 labelled by moderators, 300 nobody labelled
    log = _platform_log(rng, 900, labelled_every=1) + _platform_log(rng, 300, start=5000, labelled_every=10**9)
    p.production.import_log(_write(root / "log.jsonl", log))
    yield root, p, m0, rng
    p.close()


def test_labelled_production_posts_train_the_next_model_and_every_verdict_shows_the_production_slice(world):
    root, p, m0, rng = world
    assert m0.card.production is None and m0.card.training_mix["production"] is None  # no labelled post then
    frame, _, manifest = p.snapshots.read()
    prod = frame[frame["origin"] == "production"]
    # unlabelled pool posts never enter a snapshot; labelled ones do, in their production split
    assert len(prod) == 900 and not prod["id"].isin([f"pool:post{i}" for i in range(5000, 5300)]).any()
    assert set(prod["split"]) == {"train", "valid", "production_calib", "production_holdout"}
    assert manifest["production"]["posts"] == 900 and manifest["production"]["refused"] == []
    # an overturned firing is a hard negative for the label that fired; a plain overturn of a clean post is not
    hard = prod.set_index("id")
    assert hard.loc["pool:post1", "hard_negative_labels"] == ["hate"] and hard.loc["pool:post1", "hate"] == 0
    assert hard.loc["pool:post2", "hard_negative_labels"] == ["hate"]  # an overturn is of a wrong positive
    # a reviewer's 0 on a post nothing fired on is an ordinary negative; unlabelled posts stay out
    p.records.apply_review(ReviewOutcome(pool_labels={"post5003": {"hate": 0}}))
    frame, _, _ = p.snapshots.read()
    reviewed = frame.set_index("id").loc["pool:post5003"]
    assert reviewed["hate"] == 0 and not reviewed["hard_negative"] and reviewed["origin"] == "production"
    prod = frame[frame["origin"] == "production"]
    assert len(prod) == 901
    m1 = train_model(p, root / "m1", TrainSpec(recipe="tfidf"))
    mix = m1.card.production.mix
    train_posts = int((prod["split"] == "train").sum())
    # all of them (a twin of a curated train record is trained once, as that record)
    assert mix.posts == mix.available >= train_posts - 5 and mix.left_out == 0
    assert mix.per_label["hate"]["positives"] > 100 and mix.cap == 0.5
    assert mix.per_label["hate"]["hard_negatives"] > 10 and m1.card.training_mix["production"] is mix
    # the production slice: the new model catches the platform's hate where the old one did not
    sl = m1.card.production.slice
    assert sl.posts == int((prod["split"] == "production_holdout").sum()) > 50
    recall = {r["label"]: r["recall"] for r in sl.per_label}["hate"]
    assert recall > 0.9 and sl.label_status["hate"] == "pass", sl.per_label
    on_prod = m1.card.comparison["production"]
    assert on_prod["posts"] == sl.posts
    row = on_prod["per_label"][0]
    assert row["gained_positives"] > 20 and row["lost_positives"] == 0 and not row["regression"]
    # the card loads back typed, and the gate shows both slices
    again = load_model(m1.root).card
    assert again.production.mix.per_label == mix.per_label and again.production.slice.label_status == sl.label_status
    report = GateReport.of(m1).to_dict()
    assert report["production"]["labels"]["hate"]["status"] == "pass"


def test_the_production_share_bounds_the_mix_and_says_what_it_left_out(world, tmp_path):
    from curation.views import task_view

    root, p, _, _ = world
    frame, tax, _ = p.snapshots.read()
    view = task_view(frame, tax)
    mix = p.views.mix(view, ["hate"], split="train", production_share=0.05)
    part = mix.summary["production"]
    assert part["available"] > part["posts"] > 0 and part["share"] <= 0.05 + 1e-9
    assert any("mixing.production_share" in u for u in mix.unmet)
    assert (mix.frame["origin"] == "production").sum() == part["posts"]
    # informative rows first: every production row kept is a positive or a hard negative
    kept = mix.frame[mix.frame["origin"] == "production"]
    assert ((kept["hate"] == 1) | kept["hard_negative"]).all()


def test_a_production_post_twin_of_a_holdout_record_is_refused_and_reported(tmp_path):
    rng = random.Random(1)
    p = Project.init(tmp_path / "p", taxonomy=TAX)
    p.records.import_frame(
        pd.DataFrame(
            {
                "text": [_text(rng, "zorg" if i % 4 == 0 else None) + f" n{i}" for i in range(400)],
                "hate": [int(i % 4 == 0) for i in range(400)],
            }
        ),
        source="curated",
    )
    frame = p.records.frame()
    held = frame[frame["split"] == "holdout"].iloc[0]
    trained = frame[frame["split"] == "train"].iloc[0]
    log = [
        {
            "id": "twin",
            "text": held["text"] + "!",
            "time": "2026-11-02T10:00:00Z",
            "feedback": {"type": "moderator_confirm", "label": "hate"},
        },
        {
            "id": "trained-twin",
            "text": trained["text"],
            "time": "2026-11-02T10:00:00Z",
            "feedback": {"type": "moderator_confirm", "label": "hate"},
        },
        {
            "id": "new",
            "text": "a post nobody wrote before at all",
            "time": "2026-11-02T10:00:00Z",
            "feedback": {"type": "moderator_overturn", "label": "hate"},
        },
    ]
    p.production.import_log(_write(tmp_path / "log.jsonl", log))
    rows, report = production_records(p.store, p.settings, p.taxonomy.label_names)
    assert sorted(rows["id"]) == ["pool:new", "pool:trained-twin"]
    assert report["refused"] == [
        {
            "post": "twin",
            "twin": held["id"],
            "twin_split": "holdout",
            "split": p.production.posts().set_index("id").loc["twin", "split"],
        }
    ]
    assert rows.set_index("id").loc["pool:trained-twin", "dup_of"] == trained["id"]  # collapsed into its twin
    manifest = p.snapshots.take()
    assert manifest["production"]["refused"][0]["post"] == "twin"
    snap, _, _ = p.snapshots.read()
    assert "pool:twin" not in set(snap["id"])
    p.close()


def test_the_cli_train_and_gate_print_the_production_posts_and_slice(world, tmp_path, capsys):
    root, p, _, _ = world
    out = tmp_path / "m-cli"
    assert main(["train", str(p.root), "--out", str(out), "--recipe", "tfidf"]) == 0
    text = capsys.readouterr().out
    assert "production posts in the mix:" in text and "refused as twins of curated evaluation records: 0" in text
    main(["gate", str(out)])
    text = capsys.readouterr().out
    assert "production slice (" in text and "production_holdout posts" in text


def test_old_cards_load_their_recalibration_into_the_typed_field(tmp_path):
    from training.artifacts import ModelCard, Recalibration

    data = {
        "labels": ["hate"],
        "thresholds": {"hate": 0.4},
        "snapshot_id": "snap-x",
        "project": "/p",
        "taxonomy_hash": "h",
        "recipe": "tfidf",
        "classifier": {},
        "format": 2,
        "recalibration": {
            "parent": "/m0",
            "from": "feedback",
            "retuned": ["hate"],
            "check_posts": 12,
            "old_thresholds": {"hate": 0.6},
            "calibration_sets": ["a", "b"],
            "check": {"passed": True, "failures": [], "per_label": []},
        },
    }
    card = ModelCard.from_dict(data)
    assert isinstance(card.recalibration, Recalibration)
    assert card.recalibration.source == "feedback" and card.recalibration.retuned == ["hate"]
    assert card.production is None and "recalibration" not in card.extra
    back = ModelCard.from_dict(json.loads(json.dumps(card.to_dict())))
    assert back.recalibration == card.recalibration
    assert np.isclose(back.thresholds["hate"], 0.4)


def test_a_few_production_posts_are_repeated_toward_their_share_and_many_are_capped():
    from curation.views import production_part

    posts = pd.DataFrame(
        {"id": [f"pool:{i}" for i in range(20)], "hate": [float(i % 2) for i in range(20)], "hard_negative": False}
    )
    fitted, part = production_part(posts, ["hate"], 1000, share=0.30, max_repeat=10)
    # 0.30 of the fit asks for 428 rows: 20 posts repeated 10 times (the most), the share reached is said
    assert (part["posts"], part["repeat"], len(fitted)) == (20, 10, 200) and abs(part["share"] - 200 / 1200) < 1e-9
    fitted, part = production_part(posts, ["hate"], 1000, share=0.30, max_repeat=100)
    assert part["repeat"] == 21 and len(fitted) == 420  # floor(428.6 / 20) times
    fitted, part = production_part(posts, ["hate"], 20, share=0.20, max_repeat=10)
    assert part["posts"] == 5 and part["left_out"] == 15 and part["repeat"] == 1
    assert (fitted["hate"] == 1).all()  # positives kept first
    with pytest.raises(Exception, match="production_share"):
        production_part(posts, ["hate"], 10, share=1.0)


def test_compare_on_posts_sets_models_side_by_side_on_a_week_none_of_them_saw(world, tmp_path):
    from training.production_loop import compare_on_posts

    root, p, m0, _ = world
    m1 = train_model(p, tmp_path / "m1", TrainSpec(recipe="tfidf"))
    rng = random.Random(9)
    week = pd.DataFrame(
        [{"text": _text(rng, "blarg" if i % 4 == 0 else None), "hate": float(i % 4 == 0)} for i in range(200)]
    )
    table = compare_on_posts({"m0": m0, "m1": m1}, week).set_index("model")
    assert list(table["label"]) == ["hate", "hate"] and (table["positives"] == 50).all()
    # at their own thresholds: the curated model misses the platform's hate, the retrained one catches it
    assert table.loc["m0", "recall"] < 0.2 and table.loc["m1", "recall"] > 0.9, table
    assert table.loc["m1", "recall_at_fpr_budget"] > 0.9 and table.loc["m1", "ap"] > 0.9
    assert {"recall", "precision", "fpr", "fpr_budget"} <= set(table.columns)


def test_watch_reports_drift_says_what_next_and_recalibrates_from_moderators(world, tmp_path):
    """Without a review sample: the drift and the suggested next step; asking for a sample without a review
    channel is a clear error; recalibrating from the moderators' decisions leaves a typed recalibration."""
    from training.artifacts import Recalibration
    from training.production_loop import watch

    root, p, m0, _ = world
    seen = watch(p, m0, window="7d")
    assert seen.action == "none" and "hate" in seen.alerting and "budget" in seen.next
    assert seen.labelled and sum(seen.labelled.values()) >= 900 and seen.drift["windows"]
    with pytest.raises(Exception, match="review="):
        watch(p, m0, window="7d", budget=50)
    with pytest.raises(Exception, match="out="):
        watch(p, m0, window="7d", retrain=True)
    done = watch(p, m0, window="7d", recalibrate=True, recalibrate_from="feedback", out=tmp_path / "m0-recal")
    card = load_model(done.candidate).card
    assert done.action == "recalibrated" and isinstance(card.recalibration, Recalibration)
    assert (
        card.recalibration.source == "feedback" and "production_calib posts" in card.recalibration.calibration_sets[1]
    )
    assert "workbench promote" in done.next


def test_cli_watch_prints_the_drift_and_the_next_step(world, capsys):
    root, p, m0, _ = world
    assert main(["watch", str(p.root), "--model", str(m0.root), "--window", "7d"]) == 0
    out = capsys.readouterr().out
    assert "latest 7d window: hate:" in out and "labelled production posts per split:" in out
    assert "next: the latest window alerts: watch with budget=N" in out
    assert main(["watch", str(p.root), "--model", str(m0.root), "--window", "7d", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["action"] == "none" and "hate" in result["alerting"] and result["drift"]["windows"]


def test_one_gate_rule_changed_in_the_evaluation_changes_every_verdict(world, tmp_path, monkeypatch, capsys):
    """train, ``workbench gate``, promote, watch --retrain, watch --recalibrate, ``workbench evaluate`` and the
    retrain panel all get their verdict from training.evaluation (issue 44): a rule planted in its one gate
    function (every label fails a made-up check) reaches every one of them; none has a copy of its own."""
    from training import TrainSpec
    from training.evaluation import GateFailure
    from training.evaluation import _candidate as evaluation
    from training.production_loop import watch
    from workbench.panels import RetrainPanel

    root, p, m0, _ = world
    assert m0.card.variants["torch"].passed  # without the planted rule, the same path passes
    real = evaluation.gate_model

    def planted(per_label, taxonomy, **kw):
        verdict = real(per_label, taxonomy, **kw)
        verdict.failures.append(GateFailure("label", "hate", "planted_rule", 0, "1", tier="T2"))
        verdict.passed = False
        return verdict

    monkeypatch.setattr(evaluation, "gate_model", planted)
    trained = train_model(p, tmp_path / "trained", TrainSpec(recipe="tfidf"))
    assert not trained.card.variants["torch"].passed
    assert "planted_rule" in [f.check for f in trained.card.variants["torch"].gate.failures]

    assert main(["gate", str(trained.root)]) == 1
    assert "planted_rule" in capsys.readouterr().out
    with pytest.raises(Exception, match="planted_rule"):
        promote(trained)

    retrained = watch(p, m0, window="7d", retrain=True, out=tmp_path / "retrained")
    assert retrained.gate["passed"] is False and "its gate failed" in retrained.next
    assert "planted_rule" in [f["check"] for f in retrained.gate["variants"]["torch"]["failures"]]
    recalibrated = watch(p, m0, window="7d", recalibrate=True, recalibrate_from="feedback", out=tmp_path / "recal")
    assert recalibrated.gate["passed"] is False

    panel = RetrainPanel(p, recipe="tfidf")
    panel.export.value = False
    panel.run()
    assert panel.last_verdict["passed"] is False and panel.promote_button.disabled
    assert not panel.gate_table.loc["hate", "passed"]

    monkeypatch.setattr(evaluation, "gate_model", real)  # the rule back: a re-evaluation passes again
    assert main(["evaluate", str(trained.root)]) == 0
    capsys.readouterr()
    assert main(["gate", str(trained.root)]) == 0
