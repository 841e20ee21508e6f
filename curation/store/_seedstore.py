"""The seeds and batches tables of the record store: seed versions, review status of batches, quarantine.

A mixin of :class:`curation.store.Store` (it uses the store's connection, transactions and events).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Mapping, Sequence

import pandas as pd

from foundation import canonical_json, utc_now

from .._errors import StoreError
from .._seeds import BATCH_STATUSES, SEED_STATUSES, validate_seed

__all__ = ["SeedTables"]


class SeedTables:
    # ------------------------------------------------------------------ seeds and batches
    def add_seed(
        self,
        seed_id: str,
        *,
        text: str,
        target_labels: Sequence[str],
        kind: str = "positive",
        overlap: Mapping[str, float] | None = None,
        status: str = "proposed",
        notes: str | None = None,
        actor: str,
        **fields: Any,
    ) -> None:
        """Store one seed (``fields``: ``base_id``, ``version``, ``batch_size``, ``context``)."""
        seed = {
            "id": seed_id,
            "text": text,
            "target_labels": list(target_labels),
            "kind": kind,
            "status": status,
            "overlap": overlap,
            "notes": notes,
            **fields,
        }
        problems = validate_seed(seed)
        if problems:
            raise StoreError(problems[0], fix="correct the seed and add it again")
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM seeds WHERE id=?", (seed_id,)).fetchone():
                raise StoreError(
                    f"seed {seed_id!r}", expected="a new seed id", got="an id already stored", fix="choose another id"
                )
            self.insert_seed(conn, seed, utc_now())
            self.event(conn, actor=actor, kind="seed_added", target=seed_id, detail={"kind": kind})

    @staticmethod
    def insert_seed(conn: sqlite3.Connection, sd: Mapping[str, Any], now: str) -> None:
        conn.execute(
            "INSERT INTO seeds (id, text, target_labels, kind, overlap, status, notes, created_at, base_id, "
            "version, batch_size, context) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                sd["id"],
                sd["text"],
                canonical_json(list(sd["target_labels"])),
                sd.get("kind", "positive"),
                canonical_json(dict(sd.get("overlap") or {})),
                sd.get("status", "proposed"),
                sd.get("notes"),
                now,
                sd.get("base_id") or sd["id"],
                int(sd.get("version") or 1),
                sd.get("batch_size"),
                sd.get("context"),
            ),
        )

    def set_seed_status(self, seed_id: str, status: str, *, actor: str, notes: str | None = None) -> None:
        if status not in SEED_STATUSES:
            raise StoreError(f"seed {seed_id!r}: status", expected=f"one of {list(SEED_STATUSES)}", got=repr(status))
        with self.transaction() as conn:
            self._require_seed(conn, seed_id)
            conn.execute("UPDATE seeds SET status=?, notes=COALESCE(?, notes) WHERE id=?", (status, notes, seed_id))
            self.event(conn, actor=actor, kind="seed_status", target=seed_id, value=status, detail={"notes": notes})

    def add_batch(
        self, batch_id: str, *, seed_id: str, provider: str, params: Mapping[str, Any] | None = None, actor: str
    ) -> None:
        with self.transaction() as conn:
            self._require_seed(conn, seed_id)
            if conn.execute("SELECT 1 FROM batches WHERE id=?", (batch_id,)).fetchone():
                raise StoreError(f"batch {batch_id!r}", expected="a new batch id", got="an id already stored")
            conn.execute(
                "INSERT INTO batches (id, seed_id, provider, params, created_at, status) VALUES (?,?,?,?,?,'pending')",
                (batch_id, seed_id, provider, canonical_json(dict(params or {})), utc_now()),
            )
            self.event(conn, actor=actor, kind="batch_added", target=batch_id, detail={"seed_id": seed_id})

    def batches(self) -> dict[str, str]:
        """Map of batch id -> seed id."""
        return {r[0]: r[1] for r in self.conn.execute("SELECT id, seed_id FROM batches")}

    def batch_seed(self, batch_id: str) -> str | None:
        row = self.conn.execute("SELECT seed_id FROM batches WHERE id=?", (batch_id,)).fetchone()
        return row[0] if row else None

    def seed_plans(self) -> dict[str, dict[str, Any]]:
        """Seed version id -> its generation plan: target labels, kind, overlap rates, batch size, context."""
        return {
            sid: {
                "target_labels": json.loads(targets),
                "kind": kind,
                "overlap": json.loads(overlap or "{}"),
                "batch_size": size,
                "context": context,
            }
            for sid, targets, kind, overlap, size, context in self.conn.execute(
                "SELECT id, target_labels, kind, overlap, batch_size, context FROM seeds"
            )
        }

    def seed_versions(self) -> dict[str, list[tuple[str, int, str]]]:
        """Base seed id -> its stored versions as (id, version, text), oldest first."""
        out: dict[str, list[tuple[str, int, str]]] = {}
        for sid, base, version, text in self.conn.execute(
            "SELECT id, COALESCE(base_id, id), version, text FROM seeds ORDER BY version"
        ):
            out.setdefault(base, []).append((sid, int(version), text))
        return out

    def seed_ids(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT id FROM seeds")}

    def set_batch_verdict(
        self, batch_id: str, verdict: str, *, review_sample: Sequence[str] | None = None, actor: str
    ) -> None:
        with self.transaction() as conn:
            if not conn.execute("SELECT 1 FROM batches WHERE id=?", (batch_id,)).fetchone():
                raise StoreError(f"batch {batch_id!r}", expected="a stored batch id", got="no such batch")
            conn.execute(
                "UPDATE batches SET verdict=?, review_sample=COALESCE(?, review_sample) WHERE id=?",
                (verdict, canonical_json(list(review_sample)) if review_sample is not None else None, batch_id),
            )
            self.event(conn, actor=actor, kind="batch_verdict", target=batch_id, value=verdict)

    def quarantine_seed(self, seed_id: str, *, reason: str, actor: str) -> int:
        """Quarantine a seed: every record of its batches leaves all training views. Reversible.

        Returns the number of records affected."""
        if not reason or not reason.strip():
            raise StoreError(
                f"quarantine of seed {seed_id!r}",
                expected="a reason",
                got="an empty one",
                fix="say why the seed is quarantined, e.g. 'batch sample failed review'",
            )
        with self.transaction() as conn:
            self._require_seed(conn, seed_id)
            return self.quarantine_in(conn, seed_id, reason=reason, actor=actor)

    def quarantine_in(self, conn: sqlite3.Connection, seed_id: str, *, reason: str, actor: str) -> int:
        """Inside the caller's transaction: quarantine a seed (with an event); returns its record count."""
        conn.execute("UPDATE seeds SET quarantined=1, quarantine_reason=? WHERE id=?", (reason, seed_id))
        n = conn.execute("SELECT COUNT(*) FROM records WHERE seed_id=?", (seed_id,)).fetchone()[0]
        self.event(conn, actor=actor, kind="quarantine_seed", target=seed_id, detail={"reason": reason, "records": n})
        return n

    def unquarantine_seed(self, seed_id: str, *, actor: str, reason: str | None = None) -> int:
        with self.transaction() as conn:
            self._require_seed(conn, seed_id)
            conn.execute("UPDATE seeds SET quarantined=0, quarantine_reason=NULL WHERE id=?", (seed_id,))
            n = conn.execute("SELECT COUNT(*) FROM records WHERE seed_id=?", (seed_id,)).fetchone()[0]
            self.event(
                conn, actor=actor, kind="unquarantine_seed", target=seed_id, detail={"reason": reason, "records": n}
            )
        return n

    def seeds(self) -> pd.DataFrame:
        """Every seed version: id, base id and version, kind, status, quarantine, targets, overlap, text,
        batch size, context, notes, and the number of its batches and records."""
        rows = self.conn.execute(
            "SELECT s.id, s.kind, s.status, s.quarantined, s.quarantine_reason, s.target_labels, s.text, "
            "(SELECT COUNT(*) FROM batches b WHERE b.seed_id = s.id), "
            "(SELECT COUNT(*) FROM records r WHERE r.seed_id = s.id), COALESCE(s.base_id, s.id), s.version, "
            "s.overlap, s.batch_size, s.context, s.notes FROM seeds s ORDER BY s.id"
        ).fetchall()
        df = pd.DataFrame(
            rows,
            columns=[
                "id",
                "kind",
                "status",
                "quarantined",
                "quarantine_reason",
                "target_labels",
                "text",
                "n_batches",
                "n_records",
                "base_id",
                "version",
                "overlap",
                "batch_size",
                "context",
                "notes",
            ],
        )
        df["quarantined"] = df["quarantined"].astype(bool)
        df["target_labels"] = [json.loads(x) for x in df["target_labels"]]
        df["overlap"] = [json.loads(x) for x in df["overlap"]]
        return df

    def batches_frame(self) -> pd.DataFrame:
        """Every batch: id, seed, provider, params, review status, generation summary, record counts."""
        rows = self.conn.execute(
            "SELECT b.id, b.seed_id, b.provider, b.params, b.status, b.summary, b.created_at, "
            "(SELECT COUNT(*) FROM records r WHERE r.batch_id = b.id) FROM batches b ORDER BY b.created_at, b.id",
        ).fetchall()
        df = pd.DataFrame(
            rows, columns=["id", "seed_id", "provider", "params", "status", "summary", "created_at", "n_records"]
        )
        df["params"] = [json.loads(x) for x in df["params"]]
        df["summary"] = [json.loads(x) for x in df["summary"]]
        return df

    def set_batch_status(
        self, batch_id: str, status: str, *, actor: str, reason: str | None = None, without_review: bool = False
    ) -> None:
        """Move a batch to ``pending``, ``accepted`` or ``rejected`` (an event records who and why, and
        whether it was decided without a batch review)."""
        if status not in BATCH_STATUSES:
            raise StoreError(f"batch {batch_id!r}: status", expected=f"one of {list(BATCH_STATUSES)}", got=repr(status))
        with self.transaction() as conn:
            if not conn.execute("SELECT 1 FROM batches WHERE id=?", (batch_id,)).fetchone():
                raise StoreError(f"batch {batch_id!r}", expected="a stored batch id", got="no such batch")
            conn.execute("UPDATE batches SET status=? WHERE id=?", (status, batch_id))
            detail = {"reason": reason, **({"without_review": True} if without_review else {})}
            self.event(conn, actor=actor, kind="batch_status", target=batch_id, value=status, detail=detail)

    def update_batch_summary(self, batch_id: str, key: str, value: Any, *, actor: str) -> None:
        """Set ``key`` of a batch's summary (what generation and the pre-screen found); an event records it."""
        with self.transaction() as conn:
            row = conn.execute("SELECT summary FROM batches WHERE id=?", (batch_id,)).fetchone()
            if row is None:
                raise StoreError(f"batch {batch_id!r}", expected="a stored batch id", got="no such batch")
            summary = {**json.loads(row[0] or "{}"), key: value}
            conn.execute("UPDATE batches SET summary=? WHERE id=?", (canonical_json(summary), batch_id))
            self.event(conn, actor=actor, kind=f"batch_{key}", target=batch_id, detail={key: value})

    def quarantined_seeds(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM seeds WHERE quarantined=1 ORDER BY id")]

    @staticmethod
    def _require_seed(conn: sqlite3.Connection, seed_id: str) -> None:
        if not conn.execute("SELECT 1 FROM seeds WHERE id=?", (seed_id,)).fetchone():
            raise StoreError(
                f"seed {seed_id!r}",
                expected="a stored seed id",
                got="no such seed",
                fix="add it with Project.add_seed first",
            )
