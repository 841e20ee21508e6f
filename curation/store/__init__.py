"""The record store: SQLite records, seeds and batches, append-only events, the schema and its upgrades, and the
project's one-writer lock.

Part of ``curation`` (imports ``foundation`` and the rest of ``curation`` only).
"""

from typing import TYPE_CHECKING

from foundation import lazy_names

if TYPE_CHECKING:  # the public names and their modules; imported on first use (foundation.lazy_names)
    from ._lock import DEFAULT_LOCK_TIMEOUT_S, LOCK_TIMEOUT_ENV, lock_timeout
    from ._store import Store

__all__ = [
    "Store",
    "DEFAULT_LOCK_TIMEOUT_S",
    "LOCK_TIMEOUT_ENV",
    "lock_timeout",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
