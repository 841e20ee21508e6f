"""Argilla for the workbench, behind one interface (:class:`ArgillaBackend`: start / stop / status / env /
reindex), satisfied by the embedded stack (:class:`ServerStack`) and by an Argilla run elsewhere
(:class:`ExternalArgilla`: URL + key file). Embedded: an argilla-server with a SQLite search engine,
SQLite database and a bundled Valkey.

`workbench server start` (see :mod:`workbench.argilla.stack`) runs the whole stack on loopback; the same
command runs only the Argilla server and worker against external Elasticsearch/OpenSearch, PostgreSQL and
Redis when their URLs are given (docs/argilla-scale-out.md).

It may import ``curation`` (for the shared error type and crash-safe writes), never ``training``. Importing
this package starts nothing and does not import argilla-server; ``engine`` does, on import.
"""

from .backend import ArgillaBackend, ExternalArgilla, argilla_backend
from .stack import ServerStack, StackError, StackSettings

__all__ = ["ArgillaBackend", "ExternalArgilla", "ServerStack", "StackError", "StackSettings", "argilla_backend"]
