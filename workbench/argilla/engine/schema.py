"""The index file: its tables, where it lives, and connections with the engine's pragmas.

Text rows of a record sit at rowid ``seq * SLOTS + slot`` of the FTS5 table: slot 0 holds every text
field, slot k the k-th field of the dataset.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Union

from .query import user_rank

__all__ = ["ENGINE_NAME", "SCHEMA_VERSION", "SLOTS", "MAX_TERMS", "search_db_path", "connect"]

ENGINE_NAME = "workbench-sqlite"
SCHEMA_VERSION = 1
SLOTS = 128
MAX_TERMS = 2**14  # same bucket cap as argilla-server's Elasticsearch engine

_SCHEMA = """
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
    metadata TEXT NOT NULL DEFAULT '{}',
    suggestions TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS idx_records_dataset ON idx_records (dataset_id, seq);
CREATE INDEX IF NOT EXISTS idx_records_status ON idx_records (dataset_id, status);
CREATE TABLE IF NOT EXISTS idx_responses (
    id TEXT PRIMARY KEY,
    record_seq INTEGER NOT NULL,
    dataset_id TEXT NOT NULL,
    user_id TEXT,
    status TEXT,
    answers TEXT NOT NULL DEFAULT '{}');
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


_READY: set[str] = set()
_READY_LOCK = threading.Lock()


def connect(path: Union[str, Path]) -> sqlite3.Connection:
    """A connection with the engine's schema and pragmas (WAL, 30 s busy timeout, synchronous=NORMAL)."""
    path = str(path)
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.create_function("wb_user_rank", 2, user_rank, deterministic=True)
    conn.execute("PRAGMA synchronous = NORMAL")
    with _READY_LOCK:
        if path == ":memory:" or path not in _READY:  # each in-memory connection is a new database
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
