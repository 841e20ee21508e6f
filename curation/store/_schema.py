"""The record store's tables, their version, and the upgrade from earlier versions.

Version 2 added seed versions (``base_id``, ``version``), a seed's ``batch_size`` and ``context``, and
a batch's review ``status`` (pending / accepted / rejected) and generation ``summary``. The ``tags`` table
(an analyst's named selections of records, e.g. a region of the embedding map) and the ``production`` /
``feedback`` tables (the pool of scored production posts and what people said of them, see
:mod:`curation.production._pool`) are additive: they are created when any store is opened, so they need no
version step.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any, Mapping

from foundation import canonical_json, immediate_transaction, utc_now

from .._records import EVALUATION_SPLITS, SPLITS, SYNTHETIC_ORIGINS

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "RECORD_COLUMNS",
    "EVALUATION_RULE",
    "migrate_1_to_2",
    "migrate_2_to_3",
    "migrate_3_to_4",
    "effective_status",
]

SCHEMA_VERSION = 4

# The one statement of the rule "calib and holdout hold only real data": the store's triggers refuse a
# write that breaks it, whichever route the write came by (an import, a seeds file, generation, a
# migration, a hand-written UPDATE).
EVALUATION_RULE = "calib and holdout hold only real records"
_SYNTHETIC_SQL = "(" + ", ".join(f"'{o}'" for o in SYNTHETIC_ORIGINS) + ")"
_EVALUATION_SQL = "(" + ", ".join(f"'{s}'" for s in EVALUATION_SPLITS) + ")"

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS imports(
    id TEXT PRIMARY KEY, created_at TEXT NOT NULL, source TEXT NOT NULL, format TEXT NOT NULL,
    path TEXT, n_records INTEGER NOT NULL, params TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE, text TEXT NOT NULL, text_hash TEXT NOT NULL, norm_hash TEXT NOT NULL,
    context TEXT NOT NULL, source TEXT NOT NULL, origin TEXT NOT NULL,
    seed_id TEXT, batch_id TEXT,
    labels TEXT NOT NULL, label_provenance TEXT NOT NULL,
    split TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'active', status_reason TEXT,
    dup_of TEXT, near_dup_group TEXT NOT NULL, signature BLOB,
    meta TEXT NOT NULL DEFAULT '{}', import_id TEXT, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_norm ON records(norm_hash);
CREATE INDEX IF NOT EXISTS records_seed ON records(seed_id);
CREATE INDEX IF NOT EXISTS records_batch ON records(batch_id);
CREATE TABLE IF NOT EXISTS near_dups(
    a TEXT NOT NULL, b TEXT NOT NULL, similarity REAL NOT NULL, PRIMARY KEY (a, b));
CREATE TABLE IF NOT EXISTS seeds(
    id TEXT PRIMARY KEY, text TEXT NOT NULL, target_labels TEXT NOT NULL, kind TEXT NOT NULL,
    overlap TEXT NOT NULL DEFAULT '{}', status TEXT NOT NULL DEFAULT 'proposed', notes TEXT,
    quarantined INTEGER NOT NULL DEFAULT 0, quarantine_reason TEXT, created_at TEXT NOT NULL,
    base_id TEXT, version INTEGER NOT NULL DEFAULT 1, batch_size INTEGER, context TEXT);
CREATE TABLE IF NOT EXISTS batches(
    id TEXT PRIMARY KEY, seed_id TEXT NOT NULL REFERENCES seeds(id), provider TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}', review_sample TEXT, verdict TEXT, created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', summary TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS events(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL,
    target TEXT NOT NULL, question TEXT, value TEXT, status TEXT, detail TEXT);
CREATE TABLE IF NOT EXISTS tags(
    record_id TEXT NOT NULL, tag TEXT NOT NULL, note TEXT, actor TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (record_id, tag));
CREATE INDEX IF NOT EXISTS tags_tag ON tags(tag);
CREATE TABLE IF NOT EXISTS production(
    id TEXT PRIMARY KEY, text TEXT NOT NULL, text_hash TEXT NOT NULL, context TEXT NOT NULL, ts TEXT NOT NULL,
    model TEXT, scores TEXT NOT NULL DEFAULT '{}', decisions TEXT NOT NULL DEFAULT '{}',
    labels TEXT NOT NULL DEFAULT '{}', label_provenance TEXT NOT NULL DEFAULT '{}', split TEXT,
    import_id TEXT, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS production_ts ON production(ts);
CREATE TABLE IF NOT EXISTS feedback(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, post_id TEXT NOT NULL REFERENCES production(id), type TEXT NOT NULL,
    label TEXT NOT NULL, ts TEXT NOT NULL, import_id TEXT, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_post ON feedback(post_id);
CREATE TRIGGER IF NOT EXISTS records_evaluation_real_i BEFORE INSERT ON records
    WHEN NEW.origin IN @SYNTHETIC@ AND NEW.split IN @EVALUATION@
    BEGIN SELECT RAISE(ABORT, '@RULE@'); END;
CREATE TRIGGER IF NOT EXISTS records_evaluation_real_u BEFORE UPDATE OF split, origin ON records
    WHEN NEW.origin IN @SYNTHETIC@ AND NEW.split IN @EVALUATION@
    BEGIN SELECT RAISE(ABORT, '@RULE@'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_u BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_d BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
""".replace("@SYNTHETIC@", _SYNTHETIC_SQL)
    .replace("@EVALUATION@", _EVALUATION_SQL)
    .replace("@RULE@", EVALUATION_RULE)
)

RECORD_COLUMNS = (
    "id",
    "text",
    "text_hash",
    "norm_hash",
    "context",
    "source",
    "origin",
    "seed_id",
    "batch_id",
    "labels",
    "label_provenance",
    "split",
    "status",
    "status_reason",
    "dup_of",
    "near_dup_group",
    "signature",
    "meta",
    "import_id",
    "created_at",
)


def migrate_1_to_2(conn: sqlite3.Connection) -> None:
    """Seed versions (base id, version), batch size and context of a seed; batch review status and the
    generation summary. Existing batches were imported by hand and count as accepted."""
    with immediate_transaction(conn):
        for table, column in (
            ("seeds", "base_id TEXT"),
            ("seeds", "version INTEGER NOT NULL DEFAULT 1"),
            ("seeds", "batch_size INTEGER"),
            ("seeds", "context TEXT"),
            ("batches", "status TEXT NOT NULL DEFAULT 'accepted'"),
            ("batches", "summary TEXT NOT NULL DEFAULT '{}'"),
        ):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")


def migrate_2_to_3(conn: sqlite3.Connection) -> None:
    """Batches are pending until reviewed (schema 3). A batch a store of schema 2 holds as accepted keeps
    its status, and an event says it was accepted before batch review existed, so an audit can find it
    (``workbench review push-batches --status accepted``)."""
    with immediate_transaction(conn):
        decided = {r[0] for r in conn.execute("SELECT DISTINCT target FROM events WHERE kind = 'batch_status'")}
        now = utc_now()
        for (bid,) in conn.execute("SELECT id FROM batches WHERE status = 'accepted' ORDER BY id").fetchall():
            if bid in decided:
                continue
            conn.execute(
                "INSERT INTO events (ts, actor, kind, target, value, detail) VALUES (?, 'migration', 'batch_status', "
                "?, 'accepted', ?)",
                (
                    now,
                    bid,
                    canonical_json(
                        {"reason": "accepted before batch review existed (store schema 2 -> 3)", "without_review": True}
                    ),
                ),
            )
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")


def effective_status(include_unreviewed: bool = False) -> str:
    """SQL condition on ``r`` (records), ``s`` (its seed) and ``b`` (its batch): the record is in views."""
    batch_ok = "('accepted', 'pending')" if include_unreviewed else "('accepted')"
    return f"r.status = 'active' AND COALESCE(s.quarantined, 0) = 0 AND COALESCE(b.status, 'accepted') IN {batch_ok}"


def _hash_split(record_id: str, fractions: Mapping[str, float]) -> str:
    """A split for ``record_id`` drawn by a stable hash with the given fractions (same id, same split)."""
    u = int.from_bytes(hashlib.sha256(record_id.encode("utf-8")).digest()[:8], "big") / 2.0**64
    acc = 0.0
    for split in SPLITS:
        acc += float(fractions.get(split, 0.0))
        if u < acc:
            return split
    return max(fractions, key=lambda k: fractions[k])


def migrate_3_to_4(conn: sqlite3.Connection, fractions: Mapping[str, float]) -> dict[str, Any]:
    """Calib and holdout hold only real data (schema 4). Records of a synthetic origin stored in calib or
    holdout by earlier versions move to train / valid by ``fractions`` (``generation.splits``, drawn by a
    stable hash of the id), one ``split_moved`` event each. One whose near-duplicate group keeps a real
    member in calib or holdout is also quarantined (training on it would score the holdout on text the
    model learnt). Returns the migration report, also kept in ``meta`` as ``migration_3_to_4``."""
    now = utc_now()
    report: dict[str, Any] = {"at": now, "rule": EVALUATION_RULE, "moved": 0, "to": {}, "from": {}, "quarantined": 0}
    with immediate_transaction(conn):
        rows = conn.execute(
            f"SELECT id, origin, split, near_dup_group FROM records WHERE origin IN {_SYNTHETIC_SQL} "
            f"AND split IN {_EVALUATION_SQL} ORDER BY seq"
        ).fetchall()
        for rid, origin, old, group in rows:
            new = _hash_split(rid, fractions)
            conn.execute("UPDATE records SET split = ? WHERE id = ?", (new, rid))
            detail = {"old": old, "new": new, "origin": origin, "reason": f"{EVALUATION_RULE} (store schema 3 -> 4)"}
            conn.execute(
                "INSERT INTO events (ts, actor, kind, target, value, detail) VALUES (?, 'migration', 'split_moved', ?, ?, ?)",
                (now, rid, new, canonical_json(detail)),
            )
            report["moved"] += 1
            report["to"][new] = report["to"].get(new, 0) + 1
            report["from"][old] = report["from"].get(old, 0) + 1
            twin = conn.execute(
                f"SELECT id, split FROM records WHERE near_dup_group = ? AND origin NOT IN {_SYNTHETIC_SQL} "
                f"AND split IN {_EVALUATION_SQL} "
                "ORDER BY seq LIMIT 1",
                (group,),
            ).fetchone()
            if twin is not None:
                reason = (
                    f"near-duplicate of {twin[1]} record {twin[0]}: kept out of training so the evaluation stays clean"
                )
                conn.execute("UPDATE records SET status = 'quarantined', status_reason = ? WHERE id = ?", (reason, rid))
                conn.execute(
                    "INSERT INTO events (ts, actor, kind, target, detail) VALUES (?, 'migration', 'quarantine_record', ?, ?)",
                    (now, rid, canonical_json({"reason": reason})),
                )
                report["quarantined"] += 1
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('migration_3_to_4', ?)", (json.dumps(report),))
        conn.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    return report
