"""Small patches of argilla-server's hot spots, applied by the launcher. Pinned to argilla-server 2.8.0.

Each patch names the profile that justified it (see docs/argilla-embedded.md, "Profile"). They are applied
only when the installed argilla-server is the pinned version; on any other version the launcher runs the
server unpatched and says so in the log. ``WORKBENCH_ARGILLA_PATCHES=0`` turns them off (to compare).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

PINNED_VERSION = "2.8.0"
_LOG = logging.getLogger("workbench.argilla")
_applied: list[str] = []


def applied() -> list[str]:
    """Names of the patches applied in this process."""
    return list(_applied)


def remove_web_app_copy() -> None:
    """Remove the copy of the web app that importing argilla-server made in this process.

    Its first import copies the UI (14 MB) into a new temporary folder to write the base URL into it, and
    nothing removes it: every process that imports argilla-server leaves one behind (the stack's processes
    get a temporary folder under their home, emptied on stop; this is for the others, e.g. a test run or a
    kernel that uses the search engine). Registered at exit by :mod:`workbench.argilla.engine`."""
    app = getattr(sys.modules.get("argilla_server._app"), "app", None)
    for route in getattr(app, "routes", []):
        directory = getattr(getattr(route, "app", None), "directory", None)
        if getattr(route, "name", None) == "static" and directory and Path(directory).name == "statics":
            shutil.rmtree(Path(directory).parent, ignore_errors=True)


def apply() -> list[str]:
    if _applied or os.environ.get("WORKBENCH_ARGILLA_PATCHES", "1") == "0":
        return applied()
    from argilla_server._version import __version__

    if __version__ != PINNED_VERSION:
        _LOG.warning(
            "argilla-server %s is not the pinned %s: running without workbench patches", __version__, PINNED_VERSION
        )
        return applied()
    for name, patch in _PATCHES:
        patch()
        _applied.append(name)
    return applied()


def _settings_type_adapters() -> None:
    """Build the TypeAdapters of question and metadata settings once, not on every property access.

    Profile (py-spy, 2,000 records logged through the SDK, docs/argilla-embedded.md): 26 % of the server's
    samples were in ``TypeAdapter.__init__`` under ``Question.parsed_settings`` (11.7 %) and
    ``MetadataProperty.parsed_settings`` (15.8 %), which the record validators call for every record.
    A TypeAdapter holds no state; validating with a shared one returns the same fresh object.
    """
    from argilla_server.models import database
    from pydantic import TypeAdapter

    # the very types the original properties validate against
    question_settings = TypeAdapter(database.QuestionSettings)
    metadata_settings = TypeAdapter(database.MetadataPropertySettings)
    database.Question.parsed_settings = property(lambda self: question_settings.validate_python(self.settings))
    database.MetadataProperty.parsed_settings = property(lambda self: metadata_settings.validate_python(self.settings))


def _skip_record_events_without_webhooks() -> None:
    """Build per-record webhook events only when an enabled webhook asks for record events.

    Profile: 4.3 % of the server's samples went to ``notify_record_event`` for every upserted record — a
    dataset query plus a full serialisation each — only for ``enqueue_notify_events`` to find no enabled
    webhook that wants them and enqueue nothing. We ask once per bulk; with a webhook subscribed to
    ``record.created`` or ``record.updated`` the original code runs (the live review's webhook wants only
    response events, so pushes stay as fast with it registered).
    """
    from argilla_server.bulk import records_bulk
    from argilla_server.contexts import webhooks

    original = records_bulk.UpsertRecordsBulk._notify_upsert_record_events

    async def notify(self, records):
        wanted = {"record.created", "record.updated"}
        if not records or not any(wanted & set(w.events or ()) for w in await webhooks.list_enabled_webhooks(self._db)):
            return None
        return await original(self, records)

    records_bulk.UpsertRecordsBulk._notify_upsert_record_events = notify


def _sqlite_wal() -> None:
    """Put Argilla's SQLite database in WAL mode (argilla-server leaves it in rollback-journal mode).

    Each commit then appends to the WAL with one fsync (``synchronous=FULL`` kept: a committed annotation
    survives a power cut, not only a killed process), and readers no longer block the writer.
    """
    from argilla_server.settings import settings
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not settings.database_is_sqlite:
        return

    @event.listens_for(Engine, "connect")
    def _wal(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()


_PATCHES: list = [
    ("settings-type-adapters", _settings_type_adapters),
    ("skip-record-events-without-webhooks", _skip_record_events_without_webhooks),
    ("sqlite-wal", _sqlite_wal),
]
