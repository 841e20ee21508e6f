"""Writing to the index: records (text rows, responses, vectors), responses, whole datasets.

Each function runs inside the caller's transaction (see :func:`foundation.immediate_transaction`).
"""

from __future__ import annotations

import sqlite3

import numpy as np
from argilla_server.models import Dataset, Response

from .documents import enum_value, epoch, field_text, record_metadata, response_answers, suggestion_doc, to_json
from .schema import SLOTS


def delete_dataset(c: sqlite3.Connection, dataset_id: str) -> None:
    for (seq,) in c.execute("SELECT seq FROM idx_records WHERE dataset_id = ?", (dataset_id,)).fetchall():
        delete_text(c, seq)
    settings = [
        r[0] for r in c.execute("SELECT DISTINCT settings_id FROM idx_vectors WHERE dataset_id = ?", (dataset_id,))
    ]
    for table in ("idx_vectors", "idx_responses", "idx_records", "idx_fields", "idx_datasets"):
        column = "id" if table == "idx_datasets" else "dataset_id"
        c.execute(f"DELETE FROM {table} WHERE {column} = ?", (dataset_id,))
    for settings_id in settings:
        bump_vectors(c, settings_id)


def ensure_field_slots(c: sqlite3.Connection, dataset: Dataset) -> dict[str, int]:
    dataset_id = str(dataset.id)
    slots = dict(c.execute("SELECT name, slot FROM idx_fields WHERE dataset_id = ?", (dataset_id,)).fetchall())
    missing = [f.name for f in dataset.fields if f.name not in slots]
    if missing:
        if len(slots) + len(missing) >= SLOTS:
            raise ValueError(f"Dataset {dataset_id} has more than {SLOTS - 1} fields; the engine indexes at most that.")
        next_slot = max(slots.values(), default=0) + 1
        for name in missing:
            c.execute("INSERT INTO idx_fields (dataset_id, name, slot) VALUES (?, ?, ?)", (dataset_id, name, next_slot))
            slots[name] = next_slot
            next_slot += 1
    return slots


def write_record(c, dataset, record, slots, touched_vectors) -> None:
    dataset_id = str(dataset.id)
    record_id = str(record.id)
    suggestions = {s.question.name: suggestion_doc(s) for s in (record.suggestions or [])}
    row = (
        record_id,
        dataset_id,
        record.external_id,
        enum_value(record.status),
        epoch(record.inserted_at),
        epoch(record.updated_at),
        to_json(record_metadata(record, dataset)),
        to_json(suggestions),
    )
    seq = c.execute(
        "INSERT INTO idx_records (id, dataset_id, external_id, status, inserted_at, updated_at, metadata, "
        "suggestions) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
        "dataset_id = excluded.dataset_id, external_id = excluded.external_id, status = excluded.status, "
        "inserted_at = excluded.inserted_at, updated_at = excluded.updated_at, metadata = excluded.metadata, "
        "suggestions = excluded.suggestions RETURNING seq",
        row,
    ).fetchone()[0]

    base = seq * SLOTS
    delete_text(c, seq)
    texts = []
    fields = record.fields or {}
    for field in dataset.fields:
        text = field_text(field, fields.get(field.name))
        if text:
            texts.append(text)
            c.execute("INSERT INTO idx_text (rowid, body) VALUES (?, ?)", (base + slots[field.name], text))
    if texts:
        c.execute("INSERT INTO idx_text (rowid, body) VALUES (?, ?)", (base, "\n".join(texts)))

    c.execute("DELETE FROM idx_responses WHERE record_seq = ?", (seq,))
    for response in record.responses or []:
        upsert_response(c, response, seq, dataset_id)

    old = {r[0] for r in c.execute("SELECT settings_id FROM idx_vectors WHERE record_seq = ?", (seq,))}
    c.execute("DELETE FROM idx_vectors WHERE record_seq = ?", (seq,))
    touched_vectors.update(old)
    for vector in record.vectors or []:
        settings_id = str(vector.vector_settings_id)
        c.execute(
            "INSERT INTO idx_vectors (settings_id, record_seq, dataset_id, value) VALUES (?, ?, ?, ?)",
            (settings_id, seq, dataset_id, np.asarray(vector.value, dtype=np.float32).tobytes()),
        )
        touched_vectors.add(settings_id)


def delete_text(c: sqlite3.Connection, seq: int) -> None:
    c.execute("DELETE FROM idx_text WHERE rowid BETWEEN ? AND ?", (seq * SLOTS, seq * SLOTS + SLOTS - 1))


def upsert_response(c: sqlite3.Connection, response: Response, seq: int, dataset_id: str) -> None:
    c.execute(
        "INSERT OR REPLACE INTO idx_responses (id, record_seq, dataset_id, user_id, status, answers) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            str(response.id),
            seq,
            dataset_id,
            str(response.user_id),
            enum_value(response.status),
            to_json(response_answers(response)),
        ),
    )


def bump_vectors(c: sqlite3.Connection, settings_id: str) -> None:
    c.execute(
        "INSERT INTO idx_vector_versions (settings_id, version) VALUES (?, 1) "
        "ON CONFLICT (settings_id) DO UPDATE SET version = version + 1",
        (settings_id,),
    )
