""":class:`SQLiteSearchEngine`: argilla-server's search-engine interface over the index file.

Registered in argilla-server's registry under :data:`ENGINE_NAME` when this module is imported.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Iterable, Optional, Union
from uuid import UUID

import numpy as np
from argilla_server.enums import MetadataPropertyType, SimilarityOrder
from argilla_server.models import Dataset, MetadataProperty, Record, Response, Suggestion, User, VectorSettings
from argilla_server.search_engine.base import (
    Filter,
    FloatMetadataMetrics,
    IntegerMetadataMetrics,
    MetadataMetrics,
    Order,
    SearchEngine,
    SearchResponseItem,
    SearchResponses,
    TermsMetrics,
    TextQuery,
)

from foundation import immediate_transaction

from .documents import enum_value, json_path, suggestion_doc, to_json
from .query import SqlParams, filter_sql, fts_query, order_by_sql
from .schema import ENGINE_NAME, MAX_TERMS, SCHEMA_VERSION, SLOTS, connect, search_db_path
from .vectors import VECTOR_CACHE
from .writes import bump_vectors, delete_dataset, delete_text, ensure_field_slots, upsert_response, write_record

__all__ = ["SQLiteSearchEngine"]


@SearchEngine.register(engine_name=ENGINE_NAME)
class SQLiteSearchEngine(SearchEngine):
    """argilla-server's search engine interface over one SQLite file; see the module docstring."""

    def __init__(self, path: Union[str, Path, None] = None) -> None:
        self.path = str(path or search_db_path())
        self._conn: Optional[sqlite3.Connection] = None

    @classmethod
    async def new_instance(cls) -> SQLiteSearchEngine:
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
        with immediate_transaction(self.conn) as c:
            c.execute(
                "INSERT OR IGNORE INTO idx_datasets (id, created_at) VALUES (?, ?)",
                (str(dataset.id), datetime.now(UTC).timestamp()),
            )
            ensure_field_slots(c, dataset)

    async def delete_index(self, dataset: Dataset):
        with immediate_transaction(self.conn) as c:
            delete_dataset(c, str(dataset.id))

    async def configure_metadata_property(self, dataset: Dataset, metadata_property: MetadataProperty):
        # Metadata is stored as JSON; like Elasticsearch's mapping update, this does not touch indexed records.
        return None

    async def configure_index_vectors(self, vector_settings: VectorSettings):
        return None

    # -- records ---------------------------------------------------------------------------------------

    async def index_records(self, dataset: Dataset, records: Iterable[Record]):
        records = list(records)
        if not records:
            return
        with immediate_transaction(self.conn) as c:
            slots = ensure_field_slots(c, dataset)
            touched_vectors: set[str] = set()
            for record in records:
                write_record(c, dataset, record, slots, touched_vectors)
            for settings_id in touched_vectors:
                bump_vectors(c, settings_id)

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
        with immediate_transaction(self.conn) as c:
            c.execute(
                f"UPDATE idx_records SET {sets} WHERE id = ?",
                [enum_value(v) for v in update.values()] + [str(record.id)],
            )

    async def delete_records(self, dataset: Dataset, records: Iterable[Record]):
        ids = [str(r.id) for r in records]
        if not ids:
            return
        with immediate_transaction(self.conn) as c:
            touched: set[str] = set()
            for record_id in ids:
                row = c.execute("SELECT seq FROM idx_records WHERE id = ?", (record_id,)).fetchone()
                if row is None:
                    continue
                seq = row[0]
                touched.update(
                    r[0] for r in c.execute("SELECT settings_id FROM idx_vectors WHERE record_seq = ?", (seq,))
                )
                delete_text(c, seq)
                c.execute("DELETE FROM idx_vectors WHERE record_seq = ?", (seq,))
                c.execute("DELETE FROM idx_responses WHERE record_seq = ?", (seq,))
                c.execute("DELETE FROM idx_records WHERE seq = ?", (seq,))
            for settings_id in touched:
                bump_vectors(c, settings_id)

    # -- responses and suggestions ----------------------------------------------------------------------

    async def update_record_response(self, response: Response):
        record_id = str(response.record_id)
        with immediate_transaction(self.conn) as c:
            row = c.execute("SELECT seq, dataset_id FROM idx_records WHERE id = ?", (record_id,)).fetchone()
            if row is None:
                raise ValueError(f"Record {record_id} is not in the search index; run `workbench server reindex`.")
            upsert_response(c, response, row[0], row[1])

    async def delete_record_response(self, response: Response):
        with immediate_transaction(self.conn) as c:
            c.execute("DELETE FROM idx_responses WHERE id = ?", (str(response.id),))

    async def update_record_suggestion(self, suggestion: Suggestion):
        path = json_path(suggestion.question.name)
        with immediate_transaction(self.conn) as c:
            c.execute(
                "UPDATE idx_records SET suggestions = json_set(suggestions, ?, json(?)) WHERE id = ?",
                (path, to_json(suggestion_doc(suggestion)), str(suggestion.record_id)),
            )

    async def delete_record_suggestion(self, suggestion: Suggestion):
        with immediate_transaction(self.conn) as c:
            c.execute(
                "UPDATE idx_records SET suggestions = json_remove(suggestions, ?) WHERE id = ?",
                (json_path(suggestion.question.name), str(suggestion.record_id)),
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
        path = json_path(metadata_property.name)
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
        row = self.conn.execute(
            "SELECT slot FROM idx_fields WHERE dataset_id = ? AND name = ?", (str(dataset.id), query.field)
        ).fetchone()
        return row[0] if row else None

    def _where(
        self,
        sql: SqlParams,
        dataset: Dataset,
        query: Optional[TextQuery],
        filter: Optional[Filter],
        *,
        excluded: Optional[str] = None,
        match: bool = True,
    ) -> str:
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
                    where.append(
                        f"r.seq IN (SELECT rowid / {SLOTS} FROM idx_text WHERE idx_text MATCH "
                        f"{sql.p(must)} AND rowid % {SLOTS} = {sql.p(slot)})"
                    )
                if exclude is not None:
                    where.append(
                        f"r.seq NOT IN (SELECT rowid / {SLOTS} FROM idx_text WHERE idx_text MATCH "
                        f"{sql.p(exclude)} AND rowid % {SLOTS} = {sql.p(slot)})"
                    )
        if filter is not None:
            where.append(filter_sql(sql, filter))
        return " AND ".join(where)

    async def search(
        self,
        dataset: Dataset,
        query: Optional[Union[TextQuery, str]] = None,
        filter: Optional[Filter] = None,
        sort: Optional[list[Order]] = None,
        offset: int = 0,
        limit: int = 100,
        user_id: Optional[str] = None,
    ) -> SearchResponses:
        if isinstance(query, str):
            query = TextQuery(q=query)
        sql = SqlParams()
        where_sql = self._where(sql, dataset, query, filter)
        total = self.conn.execute(f"SELECT count(*) FROM idx_records r WHERE {where_sql}", sql.params).fetchone()[0]
        if total == 0 or limit <= 0 or offset >= total:
            return SearchResponses(items=[], total=total)

        if sort:
            order_sql = SqlParams()
            order_sql.params = list(sql.params)
            orders = ", ".join(order_by_sql(order_sql, o) for o in sort)
            rows = self.conn.execute(
                f"SELECT r.seq, r.id FROM idx_records r WHERE {where_sql} ORDER BY {orders}, r.seq "
                f"LIMIT {int(limit)} OFFSET {int(offset)}",
                order_sql.params,
            ).fetchall()
            return SearchResponses(
                items=[SearchResponseItem(record_id=UUID(i), score=None) for _, i in rows], total=total
            )

        if query is None and user_id is None:
            rows = self.conn.execute(
                f"SELECT r.seq, r.id FROM idx_records r WHERE {where_sql} ORDER BY r.seq "
                f"LIMIT {int(limit)} OFFSET {int(offset)}",
                sql.params,
            ).fetchall()
            return SearchResponses(
                items=[SearchResponseItem(record_id=UUID(i), score=1.0) for _, i in rows], total=total
            )

        # Ranked: by text relevance (FTS5's bm25), times a per-user pseudo-random factor when a user is given
        # (Argilla asks Elasticsearch for a `random_score` seeded with the user id). All in SQL.
        must = fts_query(query.q)[0] if query is not None else None
        ranked = SqlParams()
        if must is not None:
            # the FTS table is joined (for bm25), so the WHERE clause leaves out its own match on it
            source = f"idx_text JOIN idx_records r ON r.seq = idx_text.rowid / {SLOTS}"
            score = "-bm25(idx_text)"
            where_sql = (
                f"idx_text MATCH {ranked.p(must)} AND idx_text.rowid % {SLOTS} = "
                f"{ranked.p(self._slot(dataset, query))} AND "
                + self._where(ranked, dataset, query, filter, match=False)
            )
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
        return SearchResponses(
            items=[SearchResponseItem(record_id=UUID(i), score=float(sc)) for i, sc in rows], total=total
        )

    async def similarity_search(
        self,
        dataset: Dataset,
        vector_settings: VectorSettings,
        value: Optional[list[float]] = None,
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

        seqs, matrix = VECTOR_CACHE.get(self.conn, self.path, str(vector_settings.id))
        if len(seqs) == 0:
            return SearchResponses(items=[], total=0)
        target = np.asarray(value, dtype=np.float32)
        if target.shape[0] != matrix.shape[1]:
            raise ValueError(
                f"Vector has {target.shape[0]} dimensions; vectors of {vector_settings.name!r} have {matrix.shape[1]}."
            )
        norm = float(np.linalg.norm(target))
        cosine = matrix @ (target / (norm or 1.0))
        if enum_value(order) == SimilarityOrder.least_similar.value:
            cosine = -cosine
        scores = (1.0 + cosine) / 2.0

        keep = np.ones(len(seqs), dtype=bool)
        if filter is not None or query is not None or excluded is not None:
            if isinstance(query, str):
                query = TextQuery(q=query)
            sql = SqlParams()
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
        id_by_seq = (
            dict(
                self.conn.execute(
                    f"SELECT seq, id FROM idx_records WHERE seq IN ({','.join(str(int(s)) for s in seqs[chosen])})"
                ).fetchall()
            )
            if len(chosen)
            else {}
        )
        items = [
            SearchResponseItem(record_id=UUID(id_by_seq[int(seqs[i])]), score=float(scores[i]))
            for i in chosen
            if int(seqs[i]) in id_by_seq
        ]
        return SearchResponses(items=items, total=total)
