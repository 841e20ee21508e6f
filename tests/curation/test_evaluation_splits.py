"""Calib and holdout hold only real data, on every route: the store refuses the write, every import
route splits generated records among train and valid, and a store written before the rule is upgraded
in place with an event per moved record."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import yaml

from curation import EVALUATION_SPLITS, SYNTHETIC_ORIGINS, Project, StoreError, WorkbenchError
from workbench import build_demo
from workbench.cli import main

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_projects"


def _synthetic_in_evaluation(project: Project) -> int:
    f = project.records.frame()
    return int((f["origin"].isin(SYNTHETIC_ORIGINS) & f["split"].isin(EVALUATION_SPLITS)).sum())


def _seeds_file(path: Path, n: int, *, seed_id: str = "seed-scam-voucher", text: str | None = None) -> Path:
    recs = [
        {
            "text": text
            or f"Offer {i}: a free voucher of {i * 13} dollars, send your card number and PIN to our agent",
            "labels": {"scam": 1},
        }
        for i in range(n)
    ]
    doc = {
        "seeds": [
            {
                "id": seed_id,
                "kind": "positive",
                "target_labels": ["scam"],
                "status": "approved",
                "text": "Claim a free voucher by sending your card details.",
                "batches": [{"id": f"{seed_id}-b1", "provider": "handwritten", "records": recs}],
            }
        ]
    }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


@pytest.fixture
def demo(tmp_path):
    project, _ = build_demo(tmp_path / "demo")
    yield project
    project.close()


def test_demo_and_a_50_record_seeds_batch_put_no_generated_record_in_calib_or_holdout(demo, tmp_path, capsys):
    assert _synthetic_in_evaluation(demo) == 0
    summary = demo.seeds.import_file(_seeds_file(tmp_path / "s.yaml", 50))
    assert summary.n_inserted == 50 and set(summary.splits) <= {"train", "valid"}
    assert summary.splits.get("valid", 0) >= 1  # generation.splits, not everything in train
    assert _synthetic_in_evaluation(demo) == 0
    # the report shows origin per split
    assert main(["report", str(demo.root), "splits"]) == 0
    out = capsys.readouterr().out
    table = demo.reports.split_report()["origin_counts"]
    assert table.loc["generated", "calib"] == 0 and table.loc["generated", "holdout"] == 0
    assert table.loc["generated"].sum() == 16 + 50 and table.loc["real", "holdout"] > 0
    assert "records per origin and split" in out and "generated" in out


def test_the_store_refuses_a_generated_record_in_holdout_and_its_database_too(demo):
    row = demo.records.frame().query("origin == 'generated'").iloc[0]
    rec = {
        "id": "gen:by-hand",
        "text": "a generated text",
        "text_hash": "x",
        "norm_hash": "y",
        "context": "GENERAL",
        "source": "by-hand",
        "origin": "generated",
        "labels": "{}",
        "label_provenance": "{}",
        "split": "holdout",
        "near_dup_group": "gen:by-hand",
        "batch_id": row["batch_id"],
        "seed_id": row["seed_id"],
    }
    before = demo.store.count()
    with pytest.raises(StoreError, match="calib and holdout hold only real records"):
        demo.store.insert_import(
            import_row={"id": "imp-x", "source": "by-hand", "format": "jsonl"}, records=[rec], near_dups=[], actor="t"
        )
    assert demo.store.count() == before
    # a hand-written UPDATE is refused by the database's trigger, whatever the route
    with pytest.raises(sqlite3.IntegrityError, match="calib and holdout hold only real records"):
        demo.store.conn.execute("UPDATE records SET split = 'calib' WHERE id = ?", (row["id"],))
    real = demo.records.frame().query("origin == 'real' and split == 'holdout'").iloc[0]["id"]
    with pytest.raises(sqlite3.IntegrityError):
        demo.store.conn.execute("UPDATE records SET origin = 'perturbation' WHERE id = ?", (real,))
    assert _synthetic_in_evaluation(demo) == 0


def test_every_import_route_splits_generated_records_among_train_and_valid(demo, tmp_path):
    # a batch added by hand, then its records imported from a JSONL file that names it
    demo.seeds.add("seed-by-hand", text="Send me your card details for a prize.", target_labels=["scam"])
    demo.batches.add("batch-by-hand", seed_id="seed-by-hand", provider="handwritten")
    path = tmp_path / "gen.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(40):
            fh.write(
                json.dumps(
                    {
                        "text": f"Prize draw {i}: you are winner number {i * 31}, pay the fee to receive the reward",
                        "scam": 1,
                        "origin": "generated",
                        "seed_id": "seed-by-hand",
                        "batch_id": "batch-by-hand",
                    }
                )
                + "\n"
            )
    s1 = demo.records.import_file(path, "jsonl", source="by-hand")
    # an import whose fractions ask for evaluation splits only (a published test file): generated rows
    # still go to train/valid, the real rows follow the override
    rows = [
        {"text": f"Perturbed copy {i} of a post about prizes and {i * 3} vouchers", "scam": 0, "origin": "perturbation"}
        for i in range(20)
    ]
    rows += [{"text": f"A real post number {i} about the weather and {i * 7} trains", "scam": 0} for i in range(20)]
    frame_path = tmp_path / "mixed.jsonl"
    frame_path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    s2 = demo.records.import_file(frame_path, "jsonl", source="mixed", fractions={"calib": 0.5, "holdout": 0.5})
    f = demo.records.frame()
    mixed = f[f["source"] == "mixed"]
    assert set(mixed.loc[mixed["origin"] == "perturbation", "split"]) <= {"train", "valid"}
    assert set(mixed.loc[mixed["origin"] == "real", "split"]) <= {"calib", "holdout"}
    assert set(s1.splits) <= {"train", "valid"} and s2.n_inserted == 40
    # the perturbation provider (workbench generate) on top
    assert main(["generate", str(demo.root), "--provider", "perturbation", "--n", "4"]) == 0
    demo.close()
    assert _synthetic_in_evaluation(Project(demo.root)) == 0


def test_a_generated_twin_of_a_holdout_record_is_quarantined_not_trained_on(demo, tmp_path):
    holdout = demo.records.frame().query("origin == 'real' and split == 'holdout'").iloc[0]
    summary = demo.seeds.import_file(
        _seeds_file(tmp_path / "s.yaml", 1, seed_id="seed-twin", text=holdout["text"] + " !")
    )
    assert summary.n_quarantined_evaluation_twins == 1
    demo.batches.set_status("seed-twin-b1", "accepted", reason="test")
    twin = demo.records.frame().query("seed_id.str.startswith('seed-twin')", engine="python").iloc[0]
    assert twin["split"] in ("train", "valid") and twin["status"] == "quarantined"
    assert holdout["id"] in twin["status_reason"] and "evaluation stays clean" in twin["status_reason"]
    assert twin["id"] not in set(demo.records.frame(active_only=True)["id"])


def test_a_store_written_before_the_rule_is_upgraded_with_an_event_per_moved_record(tmp_path, capsys):
    """The fixture was made by the previous version's code (store schema 3): 300 Davidson tweets and a
    seeds file with a 60-record batch, 6 of whose records it put in calib or holdout."""
    root = tmp_path / "legacy"
    shutil.copytree(LEGACY / "schema3", root)
    raw = sqlite3.connect(root / "store.sqlite")
    before = pd.read_sql("SELECT id, origin, split, status FROM records", raw)
    raw.close()
    bad = before[before["origin"].isin(SYNTHETIC_ORIGINS) & before["split"].isin(EVALUATION_SPLITS)]
    assert len(bad) == 6
    with Project(root) as p:
        assert _synthetic_in_evaluation(p) == 0
        report = p.store.migration_reports()["migration_3_to_4"]
        assert report["moved"] == 6 and sum(report["to"].values()) == 6 and set(report["to"]) <= {"train", "valid"}
        assert report["from"] == bad["split"].value_counts().to_dict()
        ev = p.store.events()
        moved = ev[ev["kind"] == "split_moved"]
        assert sorted(moved["target"]) == sorted(bad["id"]) and set(moved["actor"]) == {"migration"}
        after = p.records.frame().set_index("id")
        untouched = before[~before["id"].isin(bad["id"])].set_index("id")
        assert (after.loc[untouched.index, "split"] == untouched["split"]).all()  # nothing else moved
        snap_before = p.snapshots.id()
    with Project(root) as p:  # a second open changes nothing
        assert len(p.store.events().query("kind == 'split_moved'")) == 6 and p.snapshots.id() == snap_before
    assert main(["report", str(root), "splits"]) == 0
    assert "migration_3_to_4" in capsys.readouterr().out


def test_generation_splits_with_an_evaluation_share_are_refused(tmp_path, small_taxonomy):
    bad = {"generation": {"splits": {"train": 0.9, "valid": 0.0, "holdout": 0.1}}}
    with pytest.raises(WorkbenchError, match="calib and holdout hold only real records"):
        Project.init(tmp_path / "p", taxonomy=small_taxonomy, config=bad)
    assert not (tmp_path / "p" / "workbench.yaml").exists()
