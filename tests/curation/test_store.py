import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from curation import Project, StoreError


@pytest.fixture
def seeded(project):
    project.records.import_frame(
        pd.DataFrame(
            {"text": [f"real post {i} about daily life" for i in range(40)], "scam": [i % 5 == 0 for i in range(40)]}
        ).astype({"scam": int}),
        source="real",
    )
    project.seeds.add(
        "s-bad", text="a coercive message presented as fine", target_labels=["scam"], kind="hard_negative"
    )
    project.seeds.add("s-good", text="win a prize by paying a fee", target_labels=["scam"])
    for sid, n in [("s-bad", 12), ("s-good", 8)]:
        for b in range(2):
            bid = f"{sid}-b{b}"
            project.batches.add(bid, seed_id=sid, provider="handwritten")
            project.batches.accept(bid, reason="hand-made test batch", actor="test")  # pending until then
            rows = pd.DataFrame(
                {
                    "text": [f"{sid} generated example {b}-{i} with some words" for i in range(n)],
                    "scam": [0 if sid == "s-bad" else 1] * n,
                    "batch_id": bid,
                    "origin": "generated",
                }
            )
            project.records.import_frame(rows, source="gen")
    return project


def test_a_batch_added_by_hand_is_pending_until_accepted_with_a_reason(project):
    from curation import StoreError

    project.seeds.add("s", text="win a prize by paying a fee", target_labels=["scam"])
    project.batches.add("b", seed_id="s", provider="handwritten")
    rows = pd.DataFrame(
        {
            "text": [f"pay the fee {i} to get your prize" for i in range(6)],
            "scam": [1] * 6,
            "batch_id": "b",
            "origin": "generated",
        }
    )
    project.records.import_frame(rows, source="gen")
    assert project.batches.frame().set_index("id").loc["b", "status"] == "pending"
    assert len(project.records.frame(active_only=True)) == 0
    before = project.snapshots.id()
    with pytest.raises(StoreError, match="expected a reason"):
        project.batches.accept("b", reason=" ")
    project.batches.accept("b", reason="written by the team lead", actor="lead")
    assert len(project.records.frame(active_only=True)) == 6 and project.snapshots.id() != before
    ev = project.store.events(target="b")
    ev = ev[ev["kind"] == "batch_status"].iloc[-1]
    assert (ev["actor"], ev["value"]) == ("lead", "accepted") and '"without_review":true' in ev["detail"]


def test_quarantine_seed_removes_exactly_its_batches_records_and_is_reversible(seeded):
    p = seeded
    snap0 = p.snapshots.id()
    view0 = p.views.task_view("spam")
    bad_ids = set(p.records.frame().query("seed_id == 's-bad'")["id"])
    assert len(bad_ids) == 24 and bad_ids <= set(view0["id"])
    n = p.seeds.quarantine("s-bad", reason="batch sample failed review: coercion labelled safe")
    assert n == 24
    view1 = p.views.task_view("spam")
    assert set(view0["id"]) - set(view1["id"]) == bad_ids
    assert p.snapshots.id() != snap0
    mix = p.views.training_mix("spam", split=None, tail_floor=1)
    assert not (set(mix.ids) & bad_ids)
    f = p.records.frame()
    q = f[f["status"] == "quarantined"]
    assert set(q["id"]) == bad_ids
    assert q["status_reason"].str.contains("seed s-bad: batch sample failed review").all()
    p.seeds.unquarantine("s-bad", reason="re-reviewed")
    assert p.snapshots.id() == snap0
    assert set(p.views.task_view("spam")["id"]) == set(view0["id"])
    kinds = p.store.events(target="s-bad")["kind"].tolist()
    assert kinds == ["seed_added", "quarantine_seed", "unquarantine_seed"]
    assert p.store.seeds().set_index("id").loc["s-bad", "kind"] == "hard_negative"


def test_quarantine_needs_reason_and_known_seed(seeded):
    with pytest.raises(StoreError, match="expected a reason, got an empty one"):
        seeded.seeds.quarantine("s-bad", reason=" ")
    with pytest.raises(StoreError, match="seed 'nope': expected a stored seed id, got no such seed"):
        seeded.seeds.quarantine("nope", reason="x")


def test_records_of_unknown_batch_are_rejected(project):
    from curation import ImportValidationError

    with pytest.raises(ImportValidationError, match="field 'batch_id': unknown batch 'b-x'; add the batch first"):
        project.records.import_frame(pd.DataFrame({"text": ["x y z"], "batch_id": ["b-x"]}), source="g")


def test_hard_negative_seed_marks_records(seeded):
    f = seeded.records.frame()
    assert f.loc[f["seed_id"] == "s-bad", "hard_negative"].all()
    assert not f.loc[f["seed_id"] != "s-bad", "hard_negative"].any()


def test_label_changes_are_append_only_events(seeded):
    p = seeded
    rid = p.records.frame()["id"].iloc[0]
    snap = p.snapshots.id()
    p.store.set_labels(rid, {"spam": 1, "scam": None}, actor="ann-1", known_labels=p.taxonomy.label_names)
    f = p.records.frame().set_index("id")
    assert f.loc[rid, "spam"] == 1 and pd.isna(f.loc[rid, "scam"])
    assert f.loc[rid, "label_provenance"]["spam"] == "annotator"
    ev = p.store.events(target=rid)
    assert ev["actor"].tolist() == ["ann-1", "ann-1"] and ev["question"].tolist() == ["spam", "scam"]
    assert ev["value"].iloc[0] == "1" and pd.isna(ev["value"].iloc[1])  # None: set back to unknown
    assert p.snapshots.id() != snap
    with pytest.raises(sqlite3.IntegrityError, match="events are append-only"):
        p.store.conn.execute("UPDATE events SET actor = 'someone else'")
    with pytest.raises(sqlite3.IntegrityError, match="events are append-only"):
        p.store.conn.execute("DELETE FROM events")


def test_failed_write_rolls_back(project, monkeypatch):
    project.records.import_frame(pd.DataFrame({"text": ["first one"], "hate": [1]}), source="a")
    before = (project.store.count(), project.snapshots.id(), len(project.store.events()))
    original = project.store.event

    def boom(*a, **k):  # fail after the records were inserted, inside the transaction
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(project.store, "event", boom)
    with pytest.raises(RuntimeError):
        project.records.import_frame(pd.DataFrame({"text": ["second one", "third one"], "hate": [0, 1]}), source="a")
    monkeypatch.setattr(project.store, "event", original)
    assert (project.store.count(), project.snapshots.id(), len(project.store.events())) == before


@pytest.mark.slow
def test_kill_9_mid_import_leaves_store_whole(project, tmp_path):
    """A process killed while writing a large import leaves the store as before or after, never between."""
    big = tmp_path / "big.jsonl"
    big.write_text(
        "".join(f'{{"text": "generated post number {i} with a few words", "hate": {i % 2}}}\n' for i in range(60000))
    )
    before = project.store.count()
    project.close()
    script = textwrap.dedent(f"""
        from curation import Project
        p = Project({str(project.root)!r})
        print("start", flush=True)
        p.import_file({str(big)!r}, "jsonl")
        print("done", flush=True)
    """)
    wal = project.root / "store.sqlite-wal"
    wal_before = wal.stat().st_size if wal.exists() else 0
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "start"
    # wait until the write transaction is under way (the WAL grows), then kill it there
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if wal.exists() and wal.stat().st_size > wal_before + 256 * 1024:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the import finished before it could be killed mid-write"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    p2 = Project(project.root)
    n = p2.store.count()
    assert n == before  # the transaction never committed: nothing of it is visible
    assert p2.store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert len(p2.records.frame()) == n
    p2.close()


def test_snapshot_is_content_addressed(seeded, tmp_path):
    m1 = seeded.snapshots.take()
    m2 = seeded.snapshots.take()
    assert m1 == m2
    folder = seeded.root / "snapshots" / m1["snapshot_id"]
    df = pd.read_parquet(folder / "records.parquet")
    assert len(df) == m1["n_records"] == seeded.store.count()
    assert m1["excluded_seeds"] == []
    seeded.seeds.quarantine("s-bad", reason="bad")
    m3 = seeded.snapshots.take()
    assert m3["snapshot_id"] != m1["snapshot_id"] and m3["excluded_seeds"] == ["s-bad"]
    assert m3["n_records"] == m1["n_records"] - 24


def test_reopen_reads_same_state(seeded):
    snap = seeded.snapshots.id()
    root = seeded.root
    seeded.close()
    again = Project(root)
    assert again.snapshots.id() == snap
    again.close()


def test_open_missing_project(tmp_path):
    with pytest.raises(StoreError, match=r"expected a workbench.yaml file, got none; run `workbench init DIR` first"):
        Project(tmp_path / "nothing").records.frame()


def test_project_add_seed_keeps_notes_and_the_stores_fields(project):
    project.seeds.add(
        "s-noted", text="pay a fee to claim", target_labels=["scam"], notes="from the March incident", batch_size=40
    )
    seed = project.seeds.frame().set_index("id").loc["s-noted"]
    assert seed["notes"] == "from the March incident" and seed["batch_size"] == 40
    with pytest.raises(StoreError, match="batch_size"):  # the store's fields are checked like the rest
        project.seeds.add("s-zero", text="pay a fee", target_labels=["scam"], batch_size=0)
    assert "s-zero" not in set(project.seeds.frame()["id"])
