"""Crash-safe writes, shared by every part of the workbench: atomic files, SQLite transactions, canonical JSON.

One way each: a file is replaced atomically after an fsync (optionally with a file mode, for secrets),
a SQLite write runs in one ``BEGIN IMMEDIATE`` transaction, and equal values give equal JSON text.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_write_text", "atomic_write_bytes", "immediate_transaction", "canonical_json", "file_sha256"]


def canonical_json(obj) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text (stored labels, hashes).

    >>> canonical_json({"b": 1, "a": [1, "é"]})
    '{"a":[1,"é"],"b":1}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def atomic_write_text(path, text: str, *, mode: int | None = None) -> Path:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half of one."""
    return atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def atomic_write_bytes(path, data: bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` next to ``path``, fsync it, then rename it over ``path``.

    ``mode`` sets the file's permission bits before the rename (``0o600`` for secrets); the
    temporary file is created readable only by the user, so a secret is never readable by others,
    not even for a moment.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


@contextlib.contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """All-or-nothing block on an autocommit connection (``isolation_level=None``): ``BEGIN
    IMMEDIATE`` takes the write lock up front, the block commits on success and rolls back on any
    exception (KeyboardInterrupt included).

    >>> conn = sqlite3.connect(":memory:", isolation_level=None)
    >>> _ = conn.execute("CREATE TABLE t (x)")
    >>> with immediate_transaction(conn) as c:
    ...     _ = c.execute("INSERT INTO t VALUES (1)")
    >>> conn.execute("SELECT COUNT(*) FROM t").fetchone()[0]
    1
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def file_sha256(path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB chunks (ONNX graphs are ~100 MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
