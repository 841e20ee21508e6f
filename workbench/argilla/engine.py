"""A search engine for argilla-server 2.8 that lives in one SQLite file (FTS5 for text, JSON for metadata,
numpy for vectors).

Importing this module registers the engine in argilla-server's registry under :data:`ENGINE_NAME`; the
server selects it with ``ARGILLA_SEARCH_ENGINE=workbench-sqlite``. The file is
``$WORKBENCH_SEARCH_DB`` or ``$ARGILLA_HOME_PATH/search.sqlite``.

It mirrors what argilla-server's Elasticsearch/OpenSearch engines store and answer:

- one row per record (status, dates, the metadata of *configured* properties, suggestions as JSON),
  one row per response, one per (record, vector settings);
- full text in an FTS5 table: one row with all text fields of a record and one per field, so a query over
  every field and a query over one field both run in the index;
- the query language is the subset of Elasticsearch's ``simple_query_string`` that people type: words
  (all must match), ``"phrases"``, ``prefix*``, ``-excluded`` and ``a | b``;
- vector similarity is exact cosine over all vectors of the dataset (``(1 + cos) / 2`` as score, as the
  ``cosine`` similarity of Elasticsearch reports it), kept in memory per process and reloaded when any
  process changes the vectors.

The server and its rq worker both write to the file; SQLite's WAL and a busy timeout serialise them.
Every write is one transaction, so a killed process leaves either the old or the new state, never half.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, List, Optional, Union
from uuid import UUID

import numpy as np
from argilla_server.enums import MetadataPropertyType, ResponseStatusFilter, SimilarityOrder, SortOrder
from argilla_server.models import Dataset, MetadataProperty, Record, Response, Suggestion, User, VectorSettings
from argilla_server.search_engine.base import (
    AndFilter,
    Filter,
    FloatMetadataMetrics,
    IntegerMetadataMetrics,
    MetadataFilterScope,
    MetadataMetrics,
    Order,
    RangeFilter,
    RecordFilterScope,
    ResponseFilterScope,
    SearchEngine,
    SearchResponseItem,
    SearchResponses,
    SuggestionFilterScope,
    TermsFilter,
    TermsMetrics,
    TextQuery,
)

__all__ = ["ENGINE_NAME", "SQLiteSearchEngine", "fts_query", "search_db_path"]

ENGINE_NAME = "workbench-sqlite"
SCHEMA_VERSION = 1
# Text rows of a record sit at rowid seq * SLOTS + slot: slot 0 holds every text field, slot k the k-th.
SLOTS = 128
MAX_TERMS = 2**14  # same bucket cap as argilla-server's Elasticsearch engine

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS engine_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idx_datasets (id TEXT PRIMARY KEY, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS idx_fields (
    dataset_id TEXT NOT NULL, name TEXT NOT NULL, slot INTEGER NOT NULL,
    PRIMARY KEY (dataset_id, name), UNIQUE (dataset_id, slot));
CREATE TABLE IF NOT EXISTS idx_records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    dataset_id TEXT NOT NULL,
    external_id TEXT,
    status TEXT,
    inserted_at REAL,
    updated_at REAL,
    metadata TEXT NOT NULL DEFAULT '{{}}',
    suggestions TEXT NOT NULL DEFAULT '{{}}');
CREATE INDEX IF NOT EXISTS idx_records_dataset ON idx_records (dataset_id, seq);
CREATE INDEX IF NOT EXISTS idx_records_status ON idx_records (dataset_id, status);
CREATE TABLE IF NOT EXISTS idx_responses (
    id TEXT PRIMARY KEY,
    record_seq INTEGER NOT NULL,
    dataset_id TEXT NOT NULL,
    user_id TEXT,
    status TEXT,
    answers TEXT NOT NULL DEFAULT '{{}}');
CREATE INDEX IF NOT EXISTS idx_responses_record ON idx_responses (record_seq, user_id);
CREATE INDEX IF NOT EXISTS idx_responses_user ON idx_responses (dataset_id, user_id, status);
CREATE TABLE IF NOT EXISTS idx_vectors (
    settings_id TEXT NOT NULL,
    record_seq INTEGER NOT NULL,
    dataset_id TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (settings_id, record_seq));
CREATE INDEX IF NOT EXISTS idx_vectors_record ON idx_vectors (record_seq);
CREATE TABLE IF NOT EXISTS idx_vector_versions (settings_id TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS idx_text USING fts5 (
    body, tokenize = 'unicode61 remove_diacritics 2');
"""


def search_db_path() -> Path:
    """Where the engine keeps its file: ``$WORKBENCH_SEARCH_DB`` or ``$ARGILLA_HOME_PATH/search.sqlite``."""
    explicit = os.environ.get("WORKBENCH_SEARCH_DB")
    if explicit:
        return Path(explicit)
    home = os.environ.get("ARGILLA_HOME_PATH") or str(Path.home() / ".argilla")
    return Path(home) / "search.sqlite"


# --------------------------------------------------------------------------------------------- text query


_TOKEN = re.compile(r'"[^"]*"?|\||[^\s|"]+')


def _fts_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _has_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def fts_query(q: str) -> tuple[Optional[str], Optional[str]]:
    """Translate a ``simple_query_string`` into an FTS5 expression: ``(match, exclude)``.

    ``match`` must match and ``exclude`` must not (either may be None). Words are AND-ed (Argilla sets
    ``default_operator: AND``); ``|`` separates alternatives; ``-word`` excludes; ``word*`` is a prefix;
    ``"two words"`` a phrase. Anything else is taken as literal text, so no input raises.

    >>> fts_query('cats dogs')
    ('"cats" AND "dogs"', None)
    >>> fts_query('"kill you" | threat*')
    ('("kill you") OR ("threat"*)', None)
    >>> fts_query('-spam')
    (None, '"spam"')
    """
    groups: list[tuple[list[str], list[str]]] = [([], [])]
    q = "".join(" " if ord(ch) < 32 else ch for ch in q)  # FTS5 strings cannot hold NUL; no control char matters
    for token in _TOKEN.findall(q):
        if token == "|":
            groups.append(([], []))
            continue
        negative = False
        while token[:1] in "+-" and len(token) > 1 and not token.startswith('"'):
            negative = negative or token[0] == "-"
            token = token[1:]
        prefix = False
        if token.startswith('"'):
            body = token[1:-1] if token.endswith('"') and len(token) > 1 else token[1:]
        else:
            prefix = token.endswith("*")
            body = token.rstrip("*")
        if not _has_word(body):
            continue
        term = _fts_string(body) + ("*" if prefix else "")
        groups[-1][1 if negative else 0].append(term)

    positives = [g for g in groups if g[0]]
    negatives_only = [g for g in groups if not g[0] and g[1]]
    if not positives:
        excluded = [t for g in negatives_only for t in g[1]]
        return None, (" OR ".join(excluded) if excluded else None)

    def group_expr(pos: list[str], neg: list[str]) -> str:
        expr = " AND ".join(pos)
        for term in neg:
            expr = f"({expr}) NOT {term}"
        return expr

    if len(positives) == 1 and not negatives_only:
        return group_expr(*positives[0]), None
    return " OR ".join(f"({group_expr(*g)})" for g in positives), None


# --------------------------------------------------------------------------------------------- helpers


def _epoch(value: Optional[datetime]) -> Optional[float]:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def _json(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


def _path(*names: str) -> str:
    """The JSON path of nested keys (names with quotes or backslashes are refused)."""
    for name in names:
        if any(ch in name for ch in "\"'\\"):
            raise ValueError(f"Property name {name!r} contains a quote or backslash; names may not contain them.")
    return "$" + "".join(f'."{name}"' for name in names)


def _json_path(*names: str) -> str:
    """The same path as a SQL string literal, for expressions that appear more than once in a statement."""
    return "'" + _path(*names) + "'"


def _field_text(field, value: Any) -> Optional[str]:
    if value is None or field.is_image:
        return None
    if field.is_chat and isinstance(value, list):
        parts = []
        for message in value:
            if isinstance(message, dict):
                parts.extend(str(message.get(key, "")) for key in ("role", "content"))
            else:
                parts.append(str(message))
        return "\n".join(parts)
    return value if isinstance(value, str) else str(value)


def _record_metadata(record: Record, dataset: Dataset) -> dict:
    metadata = record.metadata_ or {}
    return {
        prop.name: metadata[prop.name] for prop in dataset.metadata_properties if metadata.get(prop.name) is not None
    }


def _suggestion_doc(suggestion: Suggestion) -> dict:
    return {"type": suggestion.type, "agent": suggestion.agent, "score": suggestion.score, "value": suggestion.value}


def _response_answers(response: Response) -> dict:
    return {question: (value or {}).get("value") for question, value in (response.values or {}).items()}


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def _user_rank(user_id: str, record_id: str) -> float:
    digest = hashlib.blake2b(f"{user_id}:{record_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class _VectorCache:
    """Per-process cache of each vector settings' matrix, keyed by the version the writers bump."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[int, np.ndarray, np.ndarray]] = {}

    def get(self, conn: sqlite3.Connection, db: str, settings_id: str) -> tuple[np.ndarray, np.ndarray]:
        row = conn.execute("SELECT version FROM idx_vector_versions WHERE settings_id = ?", (settings_id,)).fetchone()
        version = row[0] if row else 0
        key = (db, settings_id)
        with self._lock:
            cached = self._entries.get(key)
            if cached and cached[0] == version:
                return cached[1], cached[2]
        rows = conn.execute(
            "SELECT record_seq, value FROM idx_vectors WHERE settings_id = ? ORDER BY record_seq", (settings_id,)
        ).fetchall()
        seqs = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if rows:
            matrix = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            matrix = matrix / np.where(norms == 0, 1, norms)
        else:
            matrix = np.zeros((0, 0), dtype=np.float32)
        with self._lock:
            self._entries[key] = (version, seqs, matrix)
        return seqs, matrix


_VECTORS = _VectorCache()
_READY: set[str] = set()
_READY_LOCK = threading.Lock()


def connect(path: Union[str, Path]) -> sqlite3.Connection:
    """A connection with the engine's schema and pragmas (WAL, 30 s busy timeout, synchronous=NORMAL)."""
    path = str(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.create_function("wb_user_rank", 2, _user_rank, deterministic=True)
    conn.execute("PRAGMA synchronous = NORMAL")
    with _READY_LOCK:
        if path not in _READY:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(_SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO engine_info (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            found = conn.execute("SELECT value FROM engine_info WHERE key = 'schema_version'").fetchone()[0]
            if int(found) != SCHEMA_VERSION:
                raise RuntimeError(
                    f"Search index {path} has schema version {found}, this engine expects {SCHEMA_VERSION}. "
                    "Rebuild it from the database with `workbench server reindex`."
                )
            _READY.add(path)
    return conn


class _Tx:
    """``with _Tx(conn):`` runs the block in one IMMEDIATE transaction (rolled back on error)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


# --------------------------------------------------------------------------------------------- filters


class _SQL:
    """Accumulates SQL fragments and their parameters."""

    def __init__(self) -> None:
        self.params: list[Any] = []

    def p(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def plist(self, values: Iterable[Any]) -> str:
        values = list(values)
        if not values:
            return "(NULL)"
        return "(" + ", ".join(self.p(v) for v in values) + ")"


_RECORD_COLUMNS = {
    "id": "r.id",
    "external_id": "r.external_id",
    "status": "r.status",
    "inserted_at": "r.inserted_at",
    "updated_at": "r.updated_at",
}


def _record_column(prop: str) -> str:
    try:
        return _RECORD_COLUMNS[prop]
    except KeyError:
        raise ValueError(f"Cannot filter or sort records by {prop!r}; expected one of {sorted(_RECORD_COLUMNS)}.")


def _range_sql(sql: _SQL, expr: str, f: RangeFilter) -> str:
    parts = [f"{expr} IS NOT NULL"]
    if f.ge is not None:
        parts.append(f"{expr} >= {sql.p(f.ge)}")
    if f.le is not None:
        parts.append(f"{expr} <= {sql.p(f.le)}")
    return "(" + " AND ".join(parts) + ")"


def _json_range_sql(sql: _SQL, column: str, path: str, f: RangeFilter) -> str:
    """Range over a JSON value or any element of a JSON array (as Elasticsearch treats multi-valued fields)."""
    parts = ["j.type IN ('integer', 'real')"]
    if f.ge is not None:
        parts.append(f"j.value >= {sql.p(f.ge)}")
    if f.le is not None:
        parts.append(f"j.value <= {sql.p(f.le)}")
    return f"EXISTS (SELECT 1 FROM json_each({column}, {path}) AS j WHERE {' AND '.join(parts)})"


def _json_terms_sql(sql: _SQL, column: str, path: str, values: List[Any]) -> str:
    texts = [_enum_value(v) if isinstance(_enum_value(v), str) else _json(_enum_value(v)) for v in values]
    return (
        f"EXISTS (SELECT 1 FROM json_each({column}, {path}) AS j "
        f"WHERE (CASE WHEN j.type = 'text' THEN j.value ELSE CAST(j.value AS TEXT) END) IN {sql.plist(texts)})"
    )


def _filter_sql(sql: _SQL, f: Filter) -> str:
    if isinstance(f, AndFilter):
        parts = [_filter_sql(sql, sub) for sub in f.filters]
        return "(" + " AND ".join(parts) + ")" if parts else "1"
    scope = f.scope
    if isinstance(scope, ResponseFilterScope):
        return _response_filter_sql(sql, f)
    if isinstance(scope, MetadataFilterScope):
        column, path = "r.metadata", _json_path(scope.metadata_property)
    elif isinstance(scope, SuggestionFilterScope):
        column, path = "r.suggestions", _json_path(scope.question, scope.property)
    elif isinstance(scope, RecordFilterScope):
        expr = _record_column(scope.property)
        if isinstance(f, TermsFilter):
            return f"{expr} IN {sql.plist(_enum_value(v) for v in f.values)}"
        if isinstance(f, RangeFilter):
            return _range_sql(sql, expr, f)
        raise ValueError(f"Cannot process filter {f!r}")
    else:
        raise ValueError(f"Cannot process filter scope {scope!r}")
    if isinstance(f, TermsFilter):
        return _json_terms_sql(sql, column, path, f.values)
    if isinstance(f, RangeFilter):
        return _json_range_sql(sql, column, path, f)
    raise ValueError(f"Cannot process filter {f!r}")


def _response_filter_sql(sql: _SQL, f: Filter) -> str:
    scope: ResponseFilterScope = f.scope
    user_clause = f" AND rs.user_id = {sql.p(str(scope.user.id))}" if scope.user else ""
    if scope.question:
        path = _json_path(scope.question)
        if isinstance(f, RangeFilter):
            cond = _json_range_sql(sql, "rs.answers", path, f)
        elif isinstance(f, TermsFilter):
            cond = _json_terms_sql(sql, "rs.answers", path, f.values)
        else:
            raise ValueError(f"Cannot process filter {f!r}")
        return f"EXISTS (SELECT 1 FROM idx_responses rs WHERE rs.record_seq = r.seq{user_clause} AND {cond})"
    if scope.property == "status" and isinstance(f, TermsFilter):
        values = [_enum_value(v) for v in f.values]
        parts = []
        if ResponseStatusFilter.pending.value in values:
            parts.append(f"NOT EXISTS (SELECT 1 FROM idx_responses rs WHERE rs.record_seq = r.seq{user_clause})")
            values = [v for v in values if v != ResponseStatusFilter.pending.value]
            if values:
                user_clause = f" AND rs.user_id = {sql.p(str(scope.user.id))}" if scope.user else ""
        if values or not parts:
            parts.append(
                f"EXISTS (SELECT 1 FROM idx_responses rs WHERE rs.record_seq = r.seq{user_clause} "
                f"AND rs.status IN {sql.plist(values)})"
            )
        return "(" + " OR ".join(parts) + ")"
    raise ValueError(f"Cannot process filter scope {scope!r}")


def _order_sql(sql: _SQL, order: Order) -> str:
    scope = order.scope
    if isinstance(scope, ResponseFilterScope):
        user_clause = f" AND rs.user_id = {sql.p(str(scope.user.id))}" if scope.user else ""
        if scope.question:
            value = f"json_extract(rs.answers, {_json_path(scope.question)})"
        else:
            value = f"rs.{'status' if scope.property == 'status' else _record_column(scope.property)[2:]}"
        expr = f"(SELECT avg({value}) FROM idx_responses rs WHERE rs.record_seq = r.seq{user_clause})"
    elif isinstance(scope, MetadataFilterScope):
        expr = f"json_extract(r.metadata, {_json_path(scope.metadata_property)})"
    elif isinstance(scope, SuggestionFilterScope):
        expr = f"json_extract(r.suggestions, {_json_path(scope.question, scope.property)})"
    elif isinstance(scope, RecordFilterScope):
        expr = _record_column(scope.property)
    else:
        raise ValueError(f"Cannot sort by scope {scope!r}")
    direction = "DESC" if _enum_value(order.order) == SortOrder.desc.value else "ASC"
    # Elasticsearch puts documents without the value last, whatever the direction.
    return f"({expr}) IS NULL, ({expr}) {direction}"


# --------------------------------------------------------------------------------------------- engine


@SearchEngine.register(engine_name=ENGINE_NAME)
class SQLiteSearchEngine(SearchEngine):
    """argilla-server's search engine interface over one SQLite file; see the module docstring."""

    def __init__(self, path: Union[str, Path, None] = None) -> None:
        self.path = str(path or search_db_path())
        self._conn: Optional[sqlite3.Connection] = None

    @classmethod
    async def new_instance(cls) -> "SQLiteSearchEngine":
        return cls()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(self.path)
        return self._conn

    async def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def ping(self) -> bool:
        try:
            self.conn.execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    async def info(self) -> dict:
        return {"engine": ENGINE_NAME, "path": self.path, "sqlite": sqlite3.sqlite_version, "schema": SCHEMA_VERSION}

    # -- indices ---------------------------------------------------------------------------------------

    async def create_index(self, dataset: Dataset):
        with _Tx(self.conn) as c:
            c.execute(
                "INSERT OR IGNORE INTO idx_datasets (id, created_at) VALUES (?, ?)",
                (str(dataset.id), datetime.now(timezone.utc).timestamp()),
            )
            self._ensure_field_slots(c, dataset)

    async def delete_index(self, dataset: Dataset):
        with _Tx(self.conn) as c:
            self._delete_dataset(c, str(dataset.id))

    @staticmethod
    def _delete_dataset(c: sqlite3.Connection, dataset_id: str) -> None:
        for (seq,) in c.execute("SELECT seq FROM idx_records WHERE dataset_id = ?", (dataset_id,)).fetchall():
            _delete_text(c, seq)
        settings = [r[0] for r in c.execute("SELECT DISTINCT settings_id FROM idx_vectors WHERE dataset_id = ?",
                                            (dataset_id,))]
        for table in ("idx_vectors", "idx_responses", "idx_records", "idx_fields", "idx_datasets"):
            column = "id" if table == "idx_datasets" else "dataset_id"
            c.execute(f"DELETE FROM {table} WHERE {column} = ?", (dataset_id,))
        for settings_id in settings:
            _bump_vectors(c, settings_id)

    async def configure_metadata_property(self, dataset: Dataset, metadata_property: MetadataProperty):
        # Metadata is stored as JSON; like Elasticsearch's mapping update, this does not touch indexed records.
        return None

    async def configure_index_vectors(self, vector_settings: VectorSettings):
        return None

    @staticmethod
    def _ensure_field_slots(c: sqlite3.Connection, dataset: Dataset) -> dict[str, int]:
        dataset_id = str(dataset.id)
        slots = dict(c.execute("SELECT name, slot FROM idx_fields WHERE dataset_id = ?", (dataset_id,)).fetchall())
        missing = [f.name for f in dataset.fields if f.name not in slots]
        if missing:
            if len(slots) + len(missing) >= SLOTS:
                raise ValueError(f"Dataset {dataset_id} has more than {SLOTS - 1} fields; the engine indexes at most that.")
            next_slot = max(slots.values(), default=0) + 1
            for name in missing:
                c.execute("INSERT INTO idx_fields (dataset_id, name, slot) VALUES (?, ?, ?)",
                          (dataset_id, name, next_slot))
                slots[name] = next_slot
                next_slot += 1
        return slots

    # -- records ---------------------------------------------------------------------------------------

    async def index_records(self, dataset: Dataset, records: Iterable[Record]):
        records = list(records)
        if not records:
            return
        with _Tx(self.conn) as c:
            slots = self._ensure_field_slots(c, dataset)
            touched_vectors: set[str] = set()
            for record in records:
                self._write_record(c, dataset, record, slots, touched_vectors)
            for settings_id in touched_vectors:
                _bump_vectors(c, settings_id)

    @staticmethod
    def _write_record(c, dataset, record, slots, touched_vectors) -> None:
        dataset_id = str(dataset.id)
        record_id = str(record.id)
        suggestions = {s.question.name: _suggestion_doc(s) for s in (record.suggestions or [])}
        row = (
            record_id, dataset_id, record.external_id, _enum_value(record.status),
            _epoch(record.inserted_at), _epoch(record.updated_at),
            _json(_record_metadata(record, dataset)), _json(suggestions),
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
        _delete_text(c, seq)
        texts = []
        fields = record.fields or {}
        for field in dataset.fields:
            text = _field_text(field, fields.get(field.name))
            if text:
                texts.append(text)
                c.execute("INSERT INTO idx_text (rowid, body) VALUES (?, ?)", (base + slots[field.name], text))
        if texts:
            c.execute("INSERT INTO idx_text (rowid, body) VALUES (?, ?)", (base, "\n".join(texts)))

        c.execute("DELETE FROM idx_responses WHERE record_seq = ?", (seq,))
        for response in record.responses or []:
            _upsert_response(c, response, seq, dataset_id)

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

    async def partial_record_update(self, record: Record, **update):
        columns = {"status": "status", "external_id": "external_id"}
        unknown = sorted(set(update) - set(columns))
        if unknown:
            raise ValueError(
                f"partial_record_update got {unknown}; this engine updates {sorted(columns)} in place. "
                "Re-index the record (index_records) to change anything else."
            )
        if not update:
            return
        sets = ", ".join(f"{columns[k]} = ?" for k in update)
        with _Tx(self.conn) as c:
            c.execute(f"UPDATE idx_records SET {sets} WHERE id = ?",
                      [_enum_value(v) for v in update.values()] + [str(record.id)])

    async def delete_records(self, dataset: Dataset, records: Iterable[Record]):
        ids = [str(r.id) for r in records]
        if not ids:
            return
        with _Tx(self.conn) as c:
            touched: set[str] = set()
            for record_id in ids:
                row = c.execute("SELECT seq FROM idx_records WHERE id = ?", (record_id,)).fetchone()
                if row is None:
                    continue
                seq = row[0]
                touched.update(r[0] for r in c.execute("SELECT settings_id FROM idx_vectors WHERE record_seq = ?",
                                                        (seq,)))
                _delete_text(c, seq)
                c.execute("DELETE FROM idx_vectors WHERE record_seq = ?", (seq,))
                c.execute("DELETE FROM idx_responses WHERE record_seq = ?", (seq,))
                c.execute("DELETE FROM idx_records WHERE seq = ?", (seq,))
            for settings_id in touched:
                _bump_vectors(c, settings_id)

    # -- responses and suggestions ----------------------------------------------------------------------

    async def update_record_response(self, response: Response):
        record_id = str(response.record_id)
        with _Tx(self.conn) as c:
            row = c.execute("SELECT seq, dataset_id FROM idx_records WHERE id = ?", (record_id,)).fetchone()
            if row is None:
                raise ValueError(f"Record {record_id} is not in the search index; run `workbench server reindex`.")
            _upsert_response(c, response, row[0], row[1])

    async def delete_record_response(self, response: Response):
        with _Tx(self.conn) as c:
            c.execute("DELETE FROM idx_responses WHERE id = ?", (str(response.id),))

    async def update_record_suggestion(self, suggestion: Suggestion):
        path = _path(suggestion.question.name)
        with _Tx(self.conn) as c:
            c.execute(
                "UPDATE idx_records SET suggestions = json_set(suggestions, ?, json(?)) WHERE id = ?",
                (path, _json(_suggestion_doc(suggestion)), str(suggestion.record_id)),
            )

    async def delete_record_suggestion(self, suggestion: Suggestion):
        with _Tx(self.conn) as c:
            c.execute(
                "UPDATE idx_records SET suggestions = json_remove(suggestions, ?) WHERE id = ?",
                (_path(suggestion.question.name), str(suggestion.record_id)),
            )

    # -- progress and metrics ---------------------------------------------------------------------------

    async def get_dataset_progress(self, dataset: Dataset) -> dict:
        if dataset.is_draft:
            return {}
        rows = self.conn.execute(
            "SELECT status, count(*) FROM idx_records WHERE dataset_id = ? AND status IS NOT NULL GROUP BY status",
            (str(dataset.id),),
        ).fetchall()
        return {"total": sum(n for _, n in rows), **dict(rows)}

    async def get_dataset_user_progress(self, dataset: Dataset, user: User) -> dict:
        if dataset.is_draft:
            return {}
        rows = self.conn.execute(
            "SELECT status, count(*) FROM idx_responses WHERE dataset_id = ? AND user_id = ? GROUP BY status",
            (str(dataset.id), str(user.id)),
        ).fetchall()
        return {"total": sum(n for _, n in rows), **dict(rows)}

    async def compute_metrics_for(self, metadata_property: MetadataProperty) -> MetadataMetrics:
        dataset_id = str(metadata_property.dataset_id)
        path = _path(metadata_property.name)
        kind = metadata_property.type
        if kind == MetadataPropertyType.terms:
            rows = self.conn.execute(
                "SELECT (CASE WHEN j.type = 'text' THEN j.value ELSE CAST(j.value AS TEXT) END) AS term, "
                "count(DISTINCT r.seq) AS n FROM idx_records r, json_each(r.metadata, ?) j "
                "WHERE r.dataset_id = ? AND j.type NOT IN ('object', 'array', 'null') "
                "GROUP BY term ORDER BY n DESC, term ASC LIMIT ?",
                (path, dataset_id, MAX_TERMS),
            ).fetchall()
            total = self.conn.execute(
                "SELECT count(*) FROM idx_records r, json_each(r.metadata, ?) j WHERE r.dataset_id = ? "
                "AND j.type NOT IN ('object', 'array', 'null')",
                (path, dataset_id),
            ).fetchone()[0]
            return TermsMetrics(total=total, values=[TermsMetrics.TermCount(term=t, count=n) for t, n in rows])
        if kind in (MetadataPropertyType.integer, MetadataPropertyType.float):
            low, high = self.conn.execute(
                "SELECT min(v), max(v) FROM (SELECT json_extract(metadata, ?) AS v FROM idx_records "
                "WHERE dataset_id = ?) WHERE v IS NOT NULL",
                (path, dataset_id),
            ).fetchone()
            cls = IntegerMetadataMetrics if kind == MetadataPropertyType.integer else FloatMetadataMetrics
            return cls(min=low, max=high)
        raise ValueError(f"Metadata property {metadata_property.name!r} has unsupported type {kind!r}")

    # -- search ----------------------------------------------------------------------------------------

    def _slot(self, dataset: Dataset, query: TextQuery) -> Optional[int]:
        """FTS slot of the query's field (0: every field); None when the field has no indexed text yet."""
        if not query.field:
            return 0
        if dataset.field_by_name(query.field) is None:
            raise ValueError(f"Field {query.field} not found in dataset {dataset.id}")
        row = self.conn.execute("SELECT slot FROM idx_fields WHERE dataset_id = ? AND name = ?",
                                (str(dataset.id), query.field)).fetchone()
        return row[0] if row else None

    def _where(self, sql: _SQL, dataset: Dataset, query: Optional[TextQuery], filter: Optional[Filter], *,
               excluded: Optional[str] = None, match: bool = True) -> str:
        """WHERE clause on ``r`` (idx_records) for a dataset, text query, filter and excluded record id.

        ``match=False`` leaves out the must-match part of the text query, for a caller that joins the FTS
        table itself (to rank by bm25) instead of running the same match twice.
        """
        where = [f"r.dataset_id = {sql.p(str(dataset.id))}"]
        if excluded is not None:
            where.append(f"r.id <> {sql.p(excluded)}")
        if query is not None:
            slot = self._slot(dataset, query)
            must, exclude = fts_query(query.q)
            if slot is None or (must is None and exclude is None):
                where.append("0")
            else:
                if must is not None and match:
                    where.append(f"r.seq IN (SELECT rowid / {SLOTS} FROM idx_text WHERE idx_text MATCH "
                                 f"{sql.p(must)} AND rowid % {SLOTS} = {sql.p(slot)})")
                if exclude is not None:
                    where.append(f"r.seq NOT IN (SELECT rowid / {SLOTS} FROM idx_text WHERE idx_text MATCH "
                                 f"{sql.p(exclude)} AND rowid % {SLOTS} = {sql.p(slot)})")
        if filter is not None:
            where.append(_filter_sql(sql, filter))
        return " AND ".join(where)

    async def search(
        self,
        dataset: Dataset,
        query: Optional[Union[TextQuery, str]] = None,
        filter: Optional[Filter] = None,
        sort: Optional[List[Order]] = None,
        offset: int = 0,
        limit: int = 100,
        user_id: Optional[str] = None,
    ) -> SearchResponses:
        if isinstance(query, str):
            query = TextQuery(q=query)
        sql = _SQL()
        where_sql = self._where(sql, dataset, query, filter)
        total = self.conn.execute(f"SELECT count(*) FROM idx_records r WHERE {where_sql}", sql.params).fetchone()[0]
        if total == 0 or limit <= 0 or offset >= total:
            return SearchResponses(items=[], total=total)

        if sort:
            order_sql = _SQL()
            order_sql.params = list(sql.params)
            orders = ", ".join(_order_sql(order_sql, o) for o in sort)
            rows = self.conn.execute(
                f"SELECT r.seq, r.id FROM idx_records r WHERE {where_sql} ORDER BY {orders}, r.seq "
                f"LIMIT {int(limit)} OFFSET {int(offset)}",
                order_sql.params,
            ).fetchall()
            return SearchResponses(items=[SearchResponseItem(record_id=UUID(i), score=None) for _, i in rows],
                                   total=total)

        if query is None and user_id is None:
            rows = self.conn.execute(
                f"SELECT r.seq, r.id FROM idx_records r WHERE {where_sql} ORDER BY r.seq "
                f"LIMIT {int(limit)} OFFSET {int(offset)}",
                sql.params,
            ).fetchall()
            return SearchResponses(items=[SearchResponseItem(record_id=UUID(i), score=1.0) for _, i in rows],
                                   total=total)

        # Ranked: by text relevance (FTS5's bm25), times a per-user pseudo-random factor when a user is given
        # (Argilla asks Elasticsearch for a `random_score` seeded with the user id). All in SQL.
        must = fts_query(query.q)[0] if query is not None else None
        ranked = _SQL()
        if must is not None:
            # the FTS table is joined (for bm25), so the WHERE clause leaves out its own match on it
            source = f"idx_text JOIN idx_records r ON r.seq = idx_text.rowid / {SLOTS}"
            score = "-bm25(idx_text)"
            where_sql = (f"idx_text MATCH {ranked.p(must)} AND idx_text.rowid % {SLOTS} = "
                         f"{ranked.p(self._slot(dataset, query))} AND "
                         + self._where(ranked, dataset, query, filter, match=False))
        else:
            source, score = "idx_records r", "1.0"
            where_sql = self._where(ranked, dataset, query, filter)
        select_params: list[Any] = []
        if user_id is not None:
            score = f"({score}) * wb_user_rank(?, r.id)"
            select_params = [str(user_id)]  # its placeholder comes first in the statement
        rows = self.conn.execute(
            f"SELECT r.id, {score} AS score FROM {source} WHERE {where_sql} "
            f"ORDER BY score DESC, r.seq LIMIT {int(limit)} OFFSET {int(offset)}",
            select_params + ranked.params,
        ).fetchall()
        return SearchResponses(items=[SearchResponseItem(record_id=UUID(i), score=float(sc)) for i, sc in rows],
                               total=total)

    async def similarity_search(
        self,
        dataset: Dataset,
        vector_settings: VectorSettings,
        value: Optional[List[float]] = None,
        record: Optional[Record] = None,
        query: Optional[Union[TextQuery, str]] = None,
        filter: Optional[Filter] = None,
        max_results: int = 100,
        order: SimilarityOrder = SimilarityOrder.most_similar,
        threshold: Optional[float] = None,
    ) -> SearchResponses:
        if bool(value) == bool(record):
            raise ValueError("Must provide either vector value or record to compute the similarity search")
        excluded: Optional[str] = None
        if not value:
            excluded = str(record.id)
            value = record.vector_value_by_vector_settings(vector_settings)
        if not value:
            raise ValueError("Cannot find a vector value to apply with provided info")

        seqs, matrix = _VECTORS.get(self.conn, self.path, str(vector_settings.id))
        if len(seqs) == 0:
            return SearchResponses(items=[], total=0)
        target = np.asarray(value, dtype=np.float32)
        if target.shape[0] != matrix.shape[1]:
            raise ValueError(
                f"Vector has {target.shape[0]} dimensions; vectors of {vector_settings.name!r} have {matrix.shape[1]}."
            )
        norm = float(np.linalg.norm(target))
        cosine = matrix @ (target / (norm or 1.0))
        if _enum_value(order) == SimilarityOrder.least_similar.value:
            cosine = -cosine
        scores = (1.0 + cosine) / 2.0

        keep = np.ones(len(seqs), dtype=bool)
        if filter is not None or query is not None or excluded is not None:
            if isinstance(query, str):
                query = TextQuery(q=query)
            sql = _SQL()
            where_sql = self._where(sql, dataset, query, filter, excluded=excluded)
            allowed = np.fromiter(
                (r[0] for r in self.conn.execute(f"SELECT r.seq FROM idx_records r WHERE {where_sql}", sql.params)),
                dtype=np.int64,
            )
            keep = np.isin(seqs, allowed)
        candidates = np.flatnonzero(keep)
        k = min(int(max_results), len(candidates))
        if k <= 0:
            return SearchResponses(items=[], total=0)
        cand_scores = scores[candidates]
        top = np.argpartition(-cand_scores, k - 1)[:k] if k < len(candidates) else np.arange(len(candidates))
        top = top[np.lexsort((seqs[candidates[top]], -cand_scores[top]))]
        chosen = candidates[top]
        total = len(chosen)
        if threshold is not None:
            chosen = chosen[scores[chosen] >= threshold]
        id_by_seq = dict(self.conn.execute(
            f"SELECT seq, id FROM idx_records WHERE seq IN ({','.join(str(int(s)) for s in seqs[chosen])})"
        ).fetchall()) if len(chosen) else {}
        items = [
            SearchResponseItem(record_id=UUID(id_by_seq[int(seqs[i])]), score=float(scores[i]))
            for i in chosen if int(seqs[i]) in id_by_seq
        ]
        return SearchResponses(items=items, total=total)


def _delete_text(c: sqlite3.Connection, seq: int) -> None:
    c.execute("DELETE FROM idx_text WHERE rowid BETWEEN ? AND ?", (seq * SLOTS, seq * SLOTS + SLOTS - 1))


def _upsert_response(c: sqlite3.Connection, response: Response, seq: int, dataset_id: str) -> None:
    c.execute(
        "INSERT OR REPLACE INTO idx_responses (id, record_seq, dataset_id, user_id, status, answers) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (str(response.id), seq, dataset_id, str(response.user_id), _enum_value(response.status),
         _json(_response_answers(response))),
    )


def _bump_vectors(c: sqlite3.Connection, settings_id: str) -> None:
    c.execute(
        "INSERT INTO idx_vector_versions (settings_id, version) VALUES (?, 1) "
        "ON CONFLICT (settings_id) DO UPDATE SET version = version + 1",
        (settings_id,),
    )
