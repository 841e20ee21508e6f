"""The record store: one SQLite file that holds the full truth of a project.

Why SQLite: every write below is one transaction, so a killed process leaves the store as it was
before the write or after it, never half-written (WAL journal, ``synchronous=FULL``). Annotation
changes are appended to an ``events`` table that triggers keep append-only. Labels are stored per
record as a JSON object of *known* values only; a label missing from it is unknown.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from foundation import canonical_json, immediate_transaction, utc_now

from .._errors import StoreError
from .._records import EVALUATION_SPLITS, FRAME_COLUMNS, PROVENANCES, RESERVED_COLUMNS, SYNTHETIC_ORIGINS
from ._lock import WriteLock
from ._schema import (
    EVALUATION_RULE,
    RECORD_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    effective_status,
    migrate_1_to_2,
    migrate_2_to_3,
    migrate_3_to_4,
)
from ._seedstore import SeedTables

__all__ = ["Store", "SCHEMA_VERSION"]


def _schema_version(conn: sqlite3.Connection) -> int | None:
    """The store's schema version, None for a store without one (new, or not a workbench store)."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    except sqlite3.DatabaseError:
        return None
    return int(row[0]) if row else None


class Store(SeedTables):
    """A project's record store.

    Parameters
    ----------
    path : path-like
        The SQLite file. Created (with its schema) by :meth:`open` when missing.
    synthetic_fractions : mapping split -> fraction, optional
        ``generation.splits``: where the upgrade to schema 4 moves generated records that earlier
        versions had put in calib or holdout (default 90/10 train/valid).
    lock_timeout : float, optional
        How long a write waits for another process's write (seconds; default
        :func:`curation.store._lock.lock_timeout`).

    One writer at a time: every transaction, and every read-check-write held with :meth:`write_lock`
    (an import's duplicate and split checks), runs under the project's write lock (:class:`WriteLock`).
    Readers never wait.

    Calib and holdout hold only real data: a write that would put a record of a synthetic origin
    (``SYNTHETIC_ORIGINS``) there is refused, here and by the database's own triggers.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = tempfile.TemporaryDirectory()
    >>> st = Store(pathlib.Path(folder.name) / "store.sqlite").open()
    >>> st.count()
    0
    >>> st.close(); folder.cleanup()
    """

    def __init__(
        self, path, *, synthetic_fractions: Mapping[str, float] | None = None, lock_timeout: float | None = None
    ):
        self.path = Path(path)
        self.synthetic_fractions = synthetic_fractions
        self.lock = WriteLock(self.path, timeout=lock_timeout)
        self._conn: sqlite3.Connection | None = None
        self.migrations_: list[dict[str, Any]] = []  # reports of the upgrades the last open made

    # ------------------------------------------------------------------ lifecycle
    def open(self) -> Store:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            if _schema_version(conn) != SCHEMA_VERSION:  # a new store or an upgrade: one writer at a time
                with self.lock.hold("store upgrade"):
                    self._create_or_upgrade(conn)
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(max(self.lock.timeout, 5) * 1000)}")
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return self

    def _create_or_upgrade(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(SCHEMA)
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is not None and int(row[0]) == 1:
            migrate_1_to_2(conn)
            row = ("2",)
        if row is not None and int(row[0]) == 2:
            migrate_2_to_3(conn)
            row = ("3",)
        if row is not None and int(row[0]) == 3:
            from .._splits import synthetic_split_fractions

            self.migrations_.append(migrate_3_to_4(conn, synthetic_split_fractions(self.synthetic_fractions)))
            row = ("4",)
        if row is None:
            conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path}",
                expected=f"schema version {SCHEMA_VERSION}",
                got=f"version {row[0]}",
                fix="open it with the workbench version that wrote it",
            )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self if self._conn is not None else self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(
                f"store {self.path}",
                expected="an open store",
                got="a closed one",
                fix="call .open() first or use `with Store(path) as st:`",
            )
        return self._conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing block under the write lock: commits on success, rolls back on any exception."""
        with self.lock.hold("write"), immediate_transaction(self.conn) as conn:
            yield conn

    def write_lock(self, operation: str) -> contextlib.AbstractContextManager[None]:
        """Hold the project's write lock over a read-check-write (``with store.write_lock("import"):``):
        no other process writes between the reads and the writes inside the block."""
        return self.lock.hold(operation)

    # ------------------------------------------------------------------ records
    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]

    def existing(self, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Map of id -> (text_hash, labels JSON) for the ids that are already stored."""
        out: dict[str, tuple[str, str]] = {}
        ids = list(ids)
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            q = f"SELECT id, text_hash, labels FROM records WHERE id IN ({','.join('?' * len(chunk))})"
            for rid, th, lab in self.conn.execute(q, chunk):
                out[rid] = (th, lab)
        return out

    def text_hashes(self, *, exclude_sources: Sequence[str] = ()) -> list[str]:
        """The hash of every stored record's raw text (but those of ``exclude_sources``)."""
        q = "SELECT text_hash, source FROM records"
        return [h for h, src in self.conn.execute(q) if src not in set(exclude_sources)]

    def dedup_index(self) -> tuple[list[str], list[str], list[str], list[str], np.ndarray]:
        """Ids, normalised-text hashes, splits, near-dup groups and MinHash signatures of all records,
        in insertion order."""
        rows = self.conn.execute(
            "SELECT id, norm_hash, split, near_dup_group, signature FROM records ORDER BY seq"
        ).fetchall()
        ids = [r[0] for r in rows]
        sigs = [np.frombuffer(r[4], dtype=np.uint32) if r[4] is not None else None for r in rows]
        width = next((s.size for s in sigs if s is not None), 0)
        mat = np.zeros((len(rows), width), dtype=np.uint32)
        for i, s in enumerate(sigs):
            if s is not None and s.size == width:
                mat[i] = s
        return ids, [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows], mat

    def insert_import(
        self,
        *,
        import_row: Mapping[str, Any],
        records: Sequence[Mapping[str, Any]],
        near_dups: Sequence[tuple[str, str, float]],
        actor: str,
        seeds: Sequence[Mapping[str, Any]] = (),
        batches: Sequence[Mapping[str, Any]] = (),
        seed_plans: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Write one import in a single transaction: new seeds and batches, new generation plans of stored
        seeds (``{"id", "old", "new"}``), records, near-duplicate pairs and an event."""
        check_evaluation_rule(records)
        now = utc_now()
        with self.transaction() as conn:
            for change in seed_plans:
                new = change["new"]
                conn.execute(
                    "UPDATE seeds SET target_labels=?, kind=?, overlap=?, batch_size=?, context=? WHERE id=?",
                    (
                        canonical_json(list(new["target_labels"])),
                        new["kind"],
                        canonical_json(dict(new["overlap"])),
                        new["batch_size"],
                        new["context"],
                        change["id"],
                    ),
                )
                self.event(
                    conn, actor=actor, kind="seed_plan", target=change["id"], detail={"old": change["old"], "new": new}
                )
            for sd in seeds:
                self.insert_seed(conn, sd, now)
                self.event(
                    conn,
                    actor=actor,
                    kind="seed_added",
                    target=sd["id"],
                    detail={"kind": sd.get("kind", "positive"), "version": sd.get("version", 1)},
                )
            for bt in batches:
                conn.execute(
                    "INSERT INTO batches (id, seed_id, provider, params, created_at, status, summary) "
                    "VALUES (?,?,?,?,?,?,?)",
                    (
                        bt["id"],
                        bt["seed_id"],
                        bt["provider"],
                        canonical_json(dict(bt.get("params") or {})),
                        now,
                        bt.get("status", "pending"),
                        canonical_json(dict(bt.get("summary") or {})),
                    ),
                )
                self.event(conn, actor=actor, kind="batch_added", target=bt["id"], detail={"seed_id": bt["seed_id"]})
                if bt.get("status", "pending") != "pending":  # decided by the file, not by a review: say who and why
                    self.event(
                        conn,
                        actor=bt.get("accepted_by") or actor,
                        kind="batch_status",
                        target=bt["id"],
                        value=bt["status"],
                        detail={"reason": bt.get("reason"), "without_review": True, "via": "seeds file"},
                    )
            conn.execute(
                "INSERT INTO imports VALUES (?,?,?,?,?,?,?)",
                (
                    import_row["id"],
                    now,
                    import_row["source"],
                    import_row["format"],
                    import_row.get("path"),
                    len(records),
                    canonical_json(import_row.get("params", {})),
                ),
            )
            conn.executemany(
                f"INSERT INTO records ({','.join(RECORD_COLUMNS)}) VALUES ({','.join('?' * len(RECORD_COLUMNS))})",
                ([r.get(c, now if c == "created_at" else None) for c in RECORD_COLUMNS] for r in records),
            )
            conn.executemany("INSERT OR IGNORE INTO near_dups VALUES (?,?,?)", near_dups)
            self.event(
                conn,
                actor=actor,
                kind="import",
                target=import_row["id"],
                detail={"n_records": len(records), "source": import_row["source"]},
            )

    def migration_reports(self) -> dict[str, dict[str, Any]]:
        """The reports the schema upgrades left in the store (``migration_3_to_4``: records moved out of
        calib and holdout, per split, and the twins quarantined)."""
        rows = self.conn.execute("SELECT key, value FROM meta WHERE key LIKE 'migration_%' ORDER BY key")
        return {k: json.loads(v) for k, v in rows}

    def frame(
        self, label_names: Sequence[str], *, active_only: bool = False, include_unreviewed: bool = False
    ) -> pd.DataFrame:
        """All records as a DataFrame: one column per label (1.0, 0.0 or NaN for unknown) plus
        metadata. ``status`` is the *effective* status: a record of a quarantined seed or a rejected
        batch is ``quarantined``, one of a batch awaiting review is ``pending``. ``active_only`` keeps
        the active records (and the pending ones too with ``include_unreviewed``)."""
        q = """
        SELECT r.id, r.text, r.context, r.source, r.origin, r.seed_id, r.batch_id, r.split,
               CASE WHEN r.status = 'quarantined' OR s.quarantined = 1 OR b.status = 'rejected' THEN 'quarantined'
                    WHEN b.status = 'pending' THEN 'pending' ELSE 'active' END,
               CASE WHEN r.status = 'quarantined' THEN r.status_reason
                    WHEN s.quarantined = 1 THEN 'seed ' || s.id || ': ' || COALESCE(s.quarantine_reason, '')
                    WHEN b.status = 'rejected' THEN 'batch ' || b.id || ' rejected in review'
                    WHEN b.status = 'pending' THEN 'batch ' || b.id || ' awaits review'
                    ELSE NULL END,
               r.dup_of, r.near_dup_group, COALESCE(s.kind = 'hard_negative', 0)
                   OR COALESCE(json_extract(r.meta, '$.hard_negative'), 0),
               CASE WHEN s.kind = 'hard_negative' THEN s.target_labels ELSE '[]' END,
               r.labels, r.label_provenance, r.import_id, r.meta
        FROM records r LEFT JOIN seeds s ON s.id = r.seed_id LEFT JOIN batches b ON b.id = r.batch_id
        """
        rows = self.conn.execute(q + " ORDER BY r.seq").fetchall()
        at = FRAME_COLUMNS.index("label_provenance")  # the stored labels come as JSON just before it
        cols = [*FRAME_COLUMNS[:at], "_labels", *FRAME_COLUMNS[at:]]
        df = pd.DataFrame.from_records(rows, columns=cols)
        label_names = list(label_names)
        clash = set(label_names) & RESERVED_COLUMNS
        if clash:
            raise StoreError(
                "label names",
                expected="names that are not record columns",
                got=str(sorted(clash)),
                fix="rename those labels in the taxonomy",
            )
        mat = np.full((len(df), len(label_names)), np.nan)
        index = {n: j for j, n in enumerate(label_names)}
        for i, blob in enumerate(df["_labels"].tolist()):
            for k, v in json.loads(blob).items():
                j = index.get(k)
                if j is not None:
                    mat[i, j] = v
        df = df.drop(columns="_labels")
        df["hard_negative"] = df["hard_negative"].astype(bool)
        df["label_provenance"] = [json.loads(x) for x in df["label_provenance"]]
        df["meta"] = [json.loads(x) for x in df["meta"]]
        # the labels a record is a hard negative for: its seed's targets (a hard-negative seed) and those an
        # error review confirmed (a false positive the annotators kept at 0)
        df["hard_negative_labels"] = [
            sorted(set(json.loads(seeded)) | set(m.get("hard_negative_labels") or []))
            for seeded, m in zip(df["hard_negative_labels"], df["meta"])
        ]
        labels_df = pd.DataFrame(mat, columns=label_names, index=df.index)
        df = pd.concat([df, labels_df], axis=1)
        if active_only:
            keep = ["active", "pending"] if include_unreviewed else ["active"]
            df = df[df["status"].isin(keep)].reset_index(drop=True)
        return df

    def near_dup_pairs(self) -> pd.DataFrame:
        rows = self.conn.execute("SELECT a, b, similarity FROM near_dups ORDER BY a, b").fetchall()
        return pd.DataFrame(rows, columns=["a", "b", "similarity"])

    # ------------------------------------------------------------------ annotation
    def set_labels(
        self,
        record_id: str,
        values: Mapping[str, int | None],
        *,
        actor: str,
        provenance: str = "annotator",
        known_labels: Sequence[str] | None = None,
    ) -> None:
        """Change labels of one record, appending one event per changed label (``None`` = unknown)."""
        if provenance not in PROVENANCES:
            raise StoreError("provenance", expected=f"one of {list(PROVENANCES)}", got=repr(provenance))
        for lab, v in values.items():
            if known_labels is not None and lab not in known_labels:
                raise StoreError(
                    f"label {lab!r}",
                    expected=f"a taxonomy label {list(known_labels)}",
                    got=repr(lab),
                    fix="add it to the taxonomy first",
                )
            if v not in (0, 1, None):
                raise StoreError(f"label {lab!r} of {record_id}", expected="1, 0 or None (unknown)", got=repr(v))
        with self.transaction() as conn:
            self.write_labels(conn, record_id, values, actor=actor, provenance=provenance)

    def write_labels(
        self,
        conn: sqlite3.Connection,
        record_id: str,
        values: Mapping[str, int | None],
        *,
        actor: str,
        provenance: str,
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        """Inside the caller's transaction: change labels of one record, one event per changed label
        keeping the old value and its provenance. Returns the number of labels changed. ``None`` makes a label
        unknown; with provenance ``disputed`` it stays unknown *as disputed* (the provenance is kept without a
        value) until a decided value replaces it."""
        row = conn.execute("SELECT labels, label_provenance FROM records WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise StoreError(f"record {record_id!r}", expected="a stored record id", got="no such record")
        labels, prov = json.loads(row[0]), json.loads(row[1])
        changed = 0
        for lab, v in values.items():
            if (
                v is None and lab not in labels and prov.get(lab) == (provenance if provenance == "disputed" else None)
            ) or (v is not None and labels.get(lab) == v and prov.get(lab) == provenance):
                continue  # already so: a person confirming a generator's label still becomes its provenance
            old, old_prov = labels.get(lab), prov.get(lab)
            if v is None:
                labels.pop(lab, None)
                prov.pop(lab, None)
                if provenance == "disputed":
                    prov[lab] = "disputed"
            else:
                labels[lab] = int(v)
                prov[lab] = provenance
            self.event(
                conn,
                actor=actor,
                kind="label",
                target=record_id,
                question=lab,
                value=None if v is None else str(int(v)),
                status="submitted",
                detail={"provenance": provenance, "old": old, "old_provenance": old_prov, **(detail or {})},
            )
            changed += 1
        if changed:
            conn.execute(
                "UPDATE records SET labels = ?, label_provenance = ? WHERE id = ?",
                (canonical_json(labels), canonical_json(prov), record_id),
            )
        return changed

    def quarantine_records(self, record_ids: Sequence[str], *, reason: str, actor: str) -> int:
        if not reason:
            raise StoreError("quarantine", expected="a reason", got="an empty one", fix="say why")
        with self.transaction() as conn:
            n = 0
            for rid in record_ids:
                n += conn.execute(
                    "UPDATE records SET status='quarantined', status_reason=? WHERE id=?", (reason, rid)
                ).rowcount
                self.event(conn, actor=actor, kind="quarantine_record", target=rid, detail={"reason": reason})
        return n

    def unquarantine_records(self, record_ids: Sequence[str], *, actor: str) -> int:
        with self.transaction() as conn:
            n = 0
            for rid in record_ids:
                n += conn.execute("UPDATE records SET status='active', status_reason=NULL WHERE id=?", (rid,)).rowcount
                self.event(conn, actor=actor, kind="unquarantine_record", target=rid)
        return n

    def tag_records(self, record_ids: Sequence[str], tag: str, *, actor: str, note: str | None = None) -> int:
        """Tag records (all or none: an unknown id writes nothing); returns how many were newly tagged."""
        ids = list(dict.fromkeys(record_ids))
        if not tag or not tag.strip():
            raise StoreError("tag", expected="a non-empty tag name", got=repr(tag), fix="name the selection")
        unknown = sorted(set(ids) - set(self.existing(ids)))
        if unknown:
            raise StoreError(
                "tag",
                expected="ids of stored records",
                got=f"{len(unknown)} unknown, e.g. {unknown[:3]}",
                fix="tag only ids from project.frame(); nothing was written",
            )
        with self.transaction() as conn:
            now = utc_now()
            n = sum(
                conn.execute("INSERT OR IGNORE INTO tags VALUES (?,?,?,?,?)", (rid, tag, note, actor, now)).rowcount
                for rid in ids
            )
            self.event(
                conn, actor=actor, kind="tag_records", target=tag, detail={"n": len(ids), "new": n, "note": note}
            )
        return n

    def tags(self, tag: str | None = None) -> pd.DataFrame:
        q, args = "SELECT record_id, tag, note, actor, created_at FROM tags", ()
        if tag is not None:
            q, args = q + " WHERE tag = ?", (tag,)
        return pd.DataFrame(
            self.conn.execute(q + " ORDER BY tag, record_id", args).fetchall(),
            columns=["record_id", "tag", "note", "actor", "created_at"],
        )

    # ------------------------------------------------------------------ events and snapshots
    def event(
        self,
        conn: sqlite3.Connection,
        *,
        actor: str,
        kind: str,
        target: str,
        question: str | None = None,
        value: str | None = None,
        status: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        if not actor:
            raise StoreError("event", expected="an actor (who made the change)", got=repr(actor))
        conn.execute(
            "INSERT INTO events (ts, actor, kind, target, question, value, status, detail) VALUES (?,?,?,?,?,?,?,?)",
            (utc_now(), actor, kind, target, question, value, status, canonical_json(dict(detail or {}))),
        )

    def events(self, *, target: str | None = None) -> pd.DataFrame:
        q = "SELECT seq, ts, actor, kind, target, question, value, status, detail FROM events"
        args: tuple = ()
        if target is not None:
            q += " WHERE target = ?"
            args = (target,)
        rows = self.conn.execute(q + " ORDER BY seq", args).fetchall()
        return pd.DataFrame(
            rows, columns=["seq", "ts", "actor", "kind", "target", "question", "value", "status", "detail"]
        )

    def snapshot_id(self, taxonomy_hash: str, *, include_unreviewed: bool = False, extra: str | None = None) -> str:
        """Content hash over the taxonomy and every *active* record's id, text, known labels and split
        (with ``include_unreviewed``, the records of batches awaiting review too, and a different id);
        ``extra``: more content the snapshot holds (the labelled production posts' fingerprint)."""
        h = hashlib.sha256()
        h.update(f"taxonomy:{taxonomy_hash}\n".encode())
        if extra:
            h.update(f"extra:{extra}\n".encode())
        if include_unreviewed:
            h.update(b"include_unreviewed\n")
        q = f"""
        SELECT r.id, r.text_hash, r.labels, r.split FROM records r LEFT JOIN seeds s ON s.id = r.seed_id
        LEFT JOIN batches b ON b.id = r.batch_id WHERE {effective_status(include_unreviewed)} ORDER BY r.id
        """
        for rid, th, labels, split in self.conn.execute(q):
            h.update(f"{rid}\t{th}\t{labels}\t{split}\n".encode())
        return "snap-" + h.hexdigest()[:20]


def check_evaluation_rule(records: Sequence[Mapping[str, Any]]) -> None:
    """Refuse records of a synthetic origin in calib or holdout (before the database's trigger does, with
    the usual what / expected / got / fix)."""
    bad = [r for r in records if r.get("origin") in SYNTHETIC_ORIGINS and r.get("split") in EVALUATION_SPLITS]
    if bad:
        raise StoreError(
            f"{len(bad)} record(s) of origin {sorted({r['origin'] for r in bad})} in {sorted({r['split'] for r in bad})}",
            expected=f"{EVALUATION_RULE}: origins {list(SYNTHETIC_ORIGINS)} go to train or valid",
            got=f"e.g. {bad[0].get('id')!r} in {bad[0].get('split')!r}",
            fix="let the import assign splits (generation.splits in workbench.yaml); nothing was written",
        )
