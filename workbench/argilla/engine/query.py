"""Queries to SQL, pure functions over argilla-server's query objects (testable on an in-memory index).

- :func:`fts_query`: the ``simple_query_string`` subset people type -> an FTS5 MATCH expression that
  must match and one that must not;
- :func:`filter_sql` / :func:`order_by_sql`: terms and range filters over record columns, metadata,
  suggestions and responses (an ``AndFilter`` of them), and sort orders, as SQL on ``idx_records r``
  with ``?`` parameters collected in a :class:`SqlParams`;
- ``wb_user_rank``: the per-user pseudo-random factor of Argilla's user-seeded ordering, as a SQL function.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Iterable, Optional

from argilla_server.enums import ResponseStatusFilter, SortOrder
from argilla_server.search_engine.base import (
    AndFilter,
    Filter,
    MetadataFilterScope,
    Order,
    RangeFilter,
    RecordFilterScope,
    ResponseFilterScope,
    SuggestionFilterScope,
    TermsFilter,
)

from .documents import enum_value, json_path_literal, to_json

__all__ = ["fts_query"]


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


def user_rank(user_id: str, record_id: str) -> float:
    digest = hashlib.blake2b(f"{user_id}:{record_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


# --------------------------------------------------------------------------------------------- filters


class SqlParams:
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


def _range_sql(sql: SqlParams, expr: str, f: RangeFilter) -> str:
    parts = [f"{expr} IS NOT NULL"]
    if f.ge is not None:
        parts.append(f"{expr} >= {sql.p(f.ge)}")
    if f.le is not None:
        parts.append(f"{expr} <= {sql.p(f.le)}")
    return "(" + " AND ".join(parts) + ")"


def _json_range_sql(sql: SqlParams, column: str, path: str, f: RangeFilter) -> str:
    """Range over a JSON value or any element of a JSON array (as Elasticsearch treats multi-valued fields)."""
    parts = ["j.type IN ('integer', 'real')"]
    if f.ge is not None:
        parts.append(f"j.value >= {sql.p(f.ge)}")
    if f.le is not None:
        parts.append(f"j.value <= {sql.p(f.le)}")
    return f"EXISTS (SELECT 1 FROM json_each({column}, {path}) AS j WHERE {' AND '.join(parts)})"


def _json_terms_sql(sql: SqlParams, column: str, path: str, values: list[Any]) -> str:
    texts = [enum_value(v) if isinstance(enum_value(v), str) else to_json(enum_value(v)) for v in values]
    return (
        f"EXISTS (SELECT 1 FROM json_each({column}, {path}) AS j "
        f"WHERE (CASE WHEN j.type = 'text' THEN j.value ELSE CAST(j.value AS TEXT) END) IN {sql.plist(texts)})"
    )


def filter_sql(sql: SqlParams, f: Filter) -> str:
    if isinstance(f, AndFilter):
        parts = [filter_sql(sql, sub) for sub in f.filters]
        return "(" + " AND ".join(parts) + ")" if parts else "1"
    scope = f.scope
    if isinstance(scope, ResponseFilterScope):
        return _response_filter_sql(sql, f)
    if isinstance(scope, MetadataFilterScope):
        column, path = "r.metadata", json_path_literal(scope.metadata_property)
    elif isinstance(scope, SuggestionFilterScope):
        column, path = "r.suggestions", json_path_literal(scope.question, scope.property)
    elif isinstance(scope, RecordFilterScope):
        expr = _record_column(scope.property)
        if isinstance(f, TermsFilter):
            return f"{expr} IN {sql.plist(enum_value(v) for v in f.values)}"
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


def _response_filter_sql(sql: SqlParams, f: Filter) -> str:
    scope: ResponseFilterScope = f.scope
    user_clause = f" AND rs.user_id = {sql.p(str(scope.user.id))}" if scope.user else ""
    if scope.question:
        path = json_path_literal(scope.question)
        if isinstance(f, RangeFilter):
            cond = _json_range_sql(sql, "rs.answers", path, f)
        elif isinstance(f, TermsFilter):
            cond = _json_terms_sql(sql, "rs.answers", path, f.values)
        else:
            raise ValueError(f"Cannot process filter {f!r}")
        return f"EXISTS (SELECT 1 FROM idx_responses rs WHERE rs.record_seq = r.seq{user_clause} AND {cond})"
    if scope.property == "status" and isinstance(f, TermsFilter):
        values = [enum_value(v) for v in f.values]
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


def order_by_sql(sql: SqlParams, order: Order) -> str:
    scope = order.scope
    if isinstance(scope, ResponseFilterScope):
        user_clause = f" AND rs.user_id = {sql.p(str(scope.user.id))}" if scope.user else ""
        if scope.question:
            value = f"json_extract(rs.answers, {json_path_literal(scope.question)})"
        else:
            value = f"rs.{'status' if scope.property == 'status' else _record_column(scope.property)[2:]}"
        expr = f"(SELECT avg({value}) FROM idx_responses rs WHERE rs.record_seq = r.seq{user_clause})"
    elif isinstance(scope, MetadataFilterScope):
        expr = f"json_extract(r.metadata, {json_path_literal(scope.metadata_property)})"
    elif isinstance(scope, SuggestionFilterScope):
        expr = f"json_extract(r.suggestions, {json_path_literal(scope.question, scope.property)})"
    elif isinstance(scope, RecordFilterScope):
        expr = _record_column(scope.property)
    else:
        raise ValueError(f"Cannot sort by scope {scope!r}")
    direction = "DESC" if enum_value(order.order) == SortOrder.desc.value else "ASC"
    # Elasticsearch puts documents without the value last, whatever the direction.
    return f"({expr}) IS NULL, ({expr}) {direction}"
