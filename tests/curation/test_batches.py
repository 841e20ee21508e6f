"""Batches under review: pending records stay out of every view until their batch is accepted; seed
versions; the store schema upgrade that brought both."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from curation import Project, RawRecord, ReadResult, StoreError
from curation.store import Store
from curation.store._store import SCHEMA_VERSION


def _pending_batch(project, n=4):
    project.seeds.add("s1", text="win a prize now", target_labels=["scam"], status="approved")
    records = [
        RawRecord(
            where=f"r{i}",
            text=f"claim your reward number {i} by paying a small fee {i * 7}",
            labels={"scam": 1},
            source_id=f"b1#{i}",
            origin="generated",
            batch_id="b1",
            provenance="generator",
        )
        for i in range(n)
    ]
    res = ReadResult(
        records,
        [],
        source="generated",
        format="generated",
        batches=[{"id": "b1", "seed_id": "s1", "provider": "test", "params": {}, "status": "pending"}],
    )
    return project.records.import_result(res, fractions={"train": 0.9, "valid": 0.1})


def test_pending_records_stay_out_until_their_batch_is_accepted(project):
    project.records.import_frame(
        pd.DataFrame({"text": ["hello there friend", "you are an idiot"], "hate": [0, 1]}), source="toy"
    )
    base = project.snapshots.id()
    s = _pending_batch(project)
    assert s.n_inserted == 4 and set(s.splits) <= {"train", "valid"}
    f = project.records.frame()
    assert (f.loc[f["batch_id"] == "b1", "status"] == "pending").all()
    assert f.loc[f["batch_id"] == "b1", "status_reason"].iloc[0] == "batch b1 awaits review"
    assert len(project.records.frame(active_only=True)) == 2 and project.snapshots.id() == base
    assert len(project.views.task_view("spam")) == 0  # training views see none of them
    assert len(project.records.frame(active_only=True, include_unreviewed=True)) == 6
    over = project.snapshots.take(include_unreviewed=True)
    assert over["include_unreviewed"] is True and over["n_pending"] == 4 and over["snapshot_id"] != base
    assert f.loc[f["batch_id"] == "b1", "label_provenance"].iloc[0] == {"scam": "generator"}
    project.batches.set_status("b1", "accepted", actor="reviewer", reason="sample passed")
    assert len(project.records.frame(active_only=True)) == 6 and project.snapshots.id() != base
    project.batches.set_status("b1", "rejected", actor="reviewer", reason="sample failed")
    f = project.records.frame()
    assert (f.loc[f["batch_id"] == "b1", "status"] == "quarantined").all() and project.snapshots.id() == base
    events = project.store.events(target="b1")
    assert list(events["value"].dropna()) == ["accepted", "rejected"]
    with pytest.raises(StoreError, match="expected one of \\['pending', 'accepted', 'rejected'\\]"):
        project.batches.set_status("b1", "maybe", actor="x")


def test_a_store_of_the_first_schema_is_upgraded_in_place(tmp_path, project):
    _pending_batch(project)
    path = project.root / "store.sqlite"
    project.close()
    conn = sqlite3.connect(path)  # turn it back into a version 1 store
    for table, column in (
        ("seeds", "base_id"),
        ("seeds", "version"),
        ("seeds", "batch_size"),
        ("seeds", "context"),
        ("batches", "status"),
        ("batches", "summary"),
    ):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with Store(path) as st:
        assert st.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
            SCHEMA_VERSION
        )  # upgraded through every step
        seeds = st.seeds()
        assert seeds.loc[0, "base_id"] == "s1" and seeds.loc[0, "version"] == 1
        assert st.batches_frame().loc[0, "status"] == "accepted"  # batches of a v1 store were imported by hand
        ev = st.events(target="b1")
        ev = ev[ev["kind"] == "batch_status"]  # and an event says so, for an audit to find
        assert ev["actor"].tolist() == ["migration"] and "before batch review existed" in ev["detail"].iloc[-1]


def test_seed_versions_keep_old_batches(project, tmp_path):
    import yaml

    doc = {
        "seeds": [
            {
                "id": "s",
                "kind": "positive",
                "target_labels": ["spam"],
                "status": "approved",
                "text": "buy followers",
                "batches": [
                    {
                        "id": "b",
                        "provider": "handwritten",
                        "records": [{"text": "cheap followers here", "labels": {"spam": 1}}],
                    }
                ],
            }
        ]
    }
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc))
    project.seeds.import_file(path)
    project.seeds.import_file(path)  # the same text: the same seed
    assert list(project.seeds.frame()["id"]) == ["s"]
    doc["seeds"][0]["text"] = "buy followers and likes"
    doc["seeds"][0]["batches"].append(
        {"id": "b2", "provider": "handwritten", "records": [{"text": "likes for sale, dm me", "labels": {"spam": 1}}]}
    )
    path.write_text(yaml.safe_dump(doc))
    project.seeds.import_file(path)
    seeds = project.seeds.frame().set_index("id")
    assert list(seeds.index) == ["s", "s@v2"] and seeds.loc["s@v2", "version"] == 2
    batches = project.batches.frame().set_index("id")
    assert batches.loc["b", "seed_id"] == "s" and batches.loc["b2", "seed_id"] == "s@v2"
    assert list(project.seeds.latest()["id"]) == ["s@v2"]


def test_a_seeds_file_batch_is_pending_unless_accepted_with_who_and_why(project, tmp_path):
    import yaml

    from curation import ImportValidationError

    def doc(**batch):
        return {
            "seeds": [
                {
                    "id": "s",
                    "kind": "positive",
                    "target_labels": ["spam"],
                    "status": "approved",
                    "text": "buy followers now",
                    "batches": [
                        {
                            "id": "b",
                            "provider": "old",
                            **batch,
                            "records": [{"text": f"cheap followers {i}", "labels": {"spam": 1}} for i in range(3)],
                        }
                    ],
                }
            ]
        }

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc(status="accepted")))
    with pytest.raises(ImportValidationError, match="'accepted' without review needs 'accepted_by'"):
        project.seeds.import_file(path)
    assert len(project.records.frame()) == 0  # nothing half-written
    path.write_text(yaml.safe_dump(doc()))
    project.seeds.import_file(path)
    assert project.batches.frame().set_index("id").loc["b", "status"] == "pending"
    assert len(project.records.frame(active_only=True)) == 0


def test_accept_batch_from_the_command_line_records_who_and_why(project, tmp_path, capsys):
    import yaml

    from workbench.cli import main

    path = tmp_path / "s.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "seeds": [
                    {
                        "id": "s",
                        "kind": "positive",
                        "target_labels": ["spam"],
                        "status": "approved",
                        "text": "buy followers",
                        "batches": [
                            {"id": "b", "provider": "old", "records": [{"text": "cheap likes", "labels": {"spam": 1}}]}
                        ],
                    }
                ]
            }
        )
    )
    project.seeds.import_file(path)
    project.close()
    assert main(["review", "accept-batch", str(project.root), "b", "--reason", "checked by hand", "--by", "ana"]) == 0
    assert "accepted without review by ana" in capsys.readouterr().out
    with Project(project.root) as p:
        assert p.batches.frame().set_index("id").loc["b", "status"] == "accepted"
        ev = p.store.events(target="b")
        assert ev[ev["kind"] == "batch_status"]["actor"].tolist() == ["ana"]
