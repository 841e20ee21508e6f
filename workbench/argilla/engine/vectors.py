"""Vectors in memory: each vector settings' normalised matrix, cached per process and reloaded when any
process bumps its version (exact cosine similarity; see :meth:`SQLiteSearchEngine.similarity_search`)."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np


class VectorCache:
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


VECTOR_CACHE = VectorCache()
