"""A search engine for argilla-server 2.8 that lives in one SQLite file (FTS5 for text, JSON for metadata,
numpy for vectors).

Importing this package registers the engine in argilla-server's registry under :data:`ENGINE_NAME`; the
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

Parts, one concern a module: ``schema`` (tables, file, connections), ``query`` (query objects to SQL),
``documents`` (argilla-server objects to rows), ``writes`` (records, responses, datasets into the index),
``vectors`` (the in-memory vector matrices), ``searchengine`` (the engine class). Importing this package
imports argilla-server.

Internal API: the public (no underscore) functions of those modules are the engine's internal API, used by
the other engine modules and by :mod:`workbench.argilla.consistency` (``writes.delete_dataset`` drops a
dataset's rows). Underscore names stay inside their module; nothing outside ``workbench.argilla`` imports
these modules.
"""

import atexit

from ..patches import remove_web_app_copy
from .query import fts_query
from .schema import ENGINE_NAME, MAX_TERMS, SCHEMA_VERSION, SLOTS, connect, search_db_path
from .searchengine import SQLiteSearchEngine

atexit.register(remove_web_app_copy)  # importing argilla-server copied its web app into a temporary folder

__all__ = [
    "ENGINE_NAME",
    "MAX_TERMS",
    "SCHEMA_VERSION",
    "SLOTS",
    "SQLiteSearchEngine",
    "connect",
    "fts_query",
    "search_db_path",
]
