"""The generation cache: every item made, keyed by what made it, in one SQLite file of the project.

Key: (provider, model, params, seed id, seed text hash, item index). Re-running after adding seeds
makes only the new seeds' items, editing one seed's text (a new seed version) remakes only that seed,
and changing nothing makes nothing. Items are written as they arrive, so a run killed halfway resumes
where it stopped. No secret is part of a key or a value.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any, Mapping

from foundation import immediate_transaction, utc_now

from .base import Item

__all__ = ["GenerationCache", "cache_key"]


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def cache_key(
    provider: str,
    model: str,
    params: Mapping[str, Any],
    seed_id: str,
    seed_text: str,
    index: int,
    labels: Mapping[str, int] | None = None,
) -> str:
    """sha256 of the key parts (the seed's text enters as its hash). The slot's intended ``labels`` are
    part of it: an item made for one label combination is never reused for a slot with another.

    >>> cache_key("p", "m", {}, "s", "text", 0) == cache_key("p", "m", {}, "s", "text", 0)
    True
    >>> cache_key("p", "m", {}, "s", "text", 0) == cache_key("p", "m", {}, "s", "text!", 0)
    False
    >>> cache_key("p", "m", {}, "s", "t", 0, {"scam": 1}) == cache_key("p", "m", {}, "s", "t", 0, {"scam": 1, "spam": 1})
    False
    """
    seed_hash = hashlib.sha256(seed_text.encode("utf-8")).hexdigest()
    parts = [provider, model, dict(params), seed_id, seed_hash, index, dict(sorted((labels or {}).items()))]
    return hashlib.sha256(_canonical(parts).encode()).hexdigest()


class GenerationCache:
    """Items by cache key, in ``path`` (a project's ``cache/generation.sqlite``)."""

    def __init__(self, path):
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS items (key TEXT PRIMARY KEY, item TEXT NOT NULL, created_at TEXT NOT NULL)"
            )
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def get_many(self, keys: list[str]) -> dict[str, Item]:
        out = {}
        for i in range(0, len(keys), 900):
            chunk = keys[i : i + 900]
            for key, blob in self.conn.execute(
                f"SELECT key, item FROM items WHERE key IN ({','.join('?' * len(chunk))})", chunk
            ):
                d = json.loads(blob)
                out[key] = Item(d["index"], d["text"], d["labels"], d.get("meta", {}))
        return out

    def put(self, key: str, item: Item) -> None:
        blob = _canonical({"index": item.index, "text": item.text, "labels": dict(item.labels), "meta": item.meta})
        with immediate_transaction(self.conn) as c:
            c.execute("INSERT OR REPLACE INTO items VALUES (?, ?, ?)", (key, blob, utc_now()))

    def __len__(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
