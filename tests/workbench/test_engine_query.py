"""The search engine's query compiler (filters and sort orders to SQL) on an in-memory index: each filter
kind is compiled, run against hand-made rows and checked against the records it must return."""

from __future__ import annotations

import json

import pytest
from argilla_server.enums import ResponseStatusFilter, SortOrder
from argilla_server.search_engine.base import (
    AndFilter,
    MetadataFilterScope,
    Order,
    RangeFilter,
    RecordFilterScope,
    ResponseFilterScope,
    SuggestionFilterScope,
    TermsFilter,
)

from workbench.argilla.engine import connect
from workbench.argilla.engine.query import SqlParams, filter_sql, order_by_sql

ROWS = [  # id, status, inserted_at, metadata, suggestions
    (
        "r1",
        "pending",
        1.0,
        {"split": "train", "score": 0.2, "tags": ["a", "b"]},
        {"labels": {"value": ["hate"], "score": 0.9}},
    ),
    (
        "r2",
        "completed",
        2.0,
        {"split": "valid", "score": 0.8, "tags": ["b"]},
        {"labels": {"value": ["none"], "score": 0.3}},
    ),
    ("r3", "pending", 3.0, {"split": "train", "tags": ["c"]}, {}),
    (
        "r4",
        "completed",
        4.0,
        {"split": "calib", "score": 0.5, "tags": []},
        {"labels": {"value": ["hate", "spam"], "score": 0.6}},
    ),
]
RESPONSES = [  # id, record, user, status, answers
    ("x1", "r2", "u1", "submitted", {"labels": ["none"], "valid": "yes"}),
    ("x2", "r4", "u1", "submitted", {"labels": ["spam"], "valid": "no"}),
    ("x3", "r4", "u2", "draft", {"labels": ["hate"]}),
]


@pytest.fixture
def conn():
    c = connect(":memory:")
    seq = {}
    for rid, status, ts, meta, sugg in ROWS:
        seq[rid] = c.execute(
            "INSERT INTO idx_records (id, dataset_id, status, inserted_at, metadata, suggestions) "
            "VALUES (?, 'd', ?, ?, ?, ?) RETURNING seq",
            (rid, status, ts, json.dumps(meta), json.dumps(sugg)),
        ).fetchone()[0]
    for xid, rid, user, status, answers in RESPONSES:
        c.execute(
            "INSERT INTO idx_responses (id, record_seq, dataset_id, user_id, status, answers) "
            "VALUES (?, ?, 'd', ?, ?, ?)",
            (xid, seq[rid], user, status, json.dumps(answers)),
        )
    yield c
    c.close()


def ids(conn, f) -> set[str]:
    sql = SqlParams()
    where = filter_sql(sql, f)
    return {r[0] for r in conn.execute(f"SELECT r.id FROM idx_records r WHERE {where}", sql.params)}


class _User:  # what the compiler reads of argilla-server's User
    def __init__(self, id):
        self.id = id


@pytest.mark.parametrize(
    "f, expected",
    [
        (TermsFilter(scope=MetadataFilterScope(metadata_property="split"), values=["train"]), {"r1", "r3"}),
        (TermsFilter(scope=MetadataFilterScope(metadata_property="split"), values=["valid", "calib"]), {"r2", "r4"}),
        (TermsFilter(scope=MetadataFilterScope(metadata_property="tags"), values=["b"]), {"r1", "r2"}),  # any element
        (RangeFilter(scope=MetadataFilterScope(metadata_property="score"), ge=0.5), {"r2", "r4"}),
        (RangeFilter(scope=MetadataFilterScope(metadata_property="score"), ge=0.3, le=0.6), {"r4"}),
        (RangeFilter(scope=MetadataFilterScope(metadata_property="score")), {"r1", "r2", "r4"}),  # has a value
        (TermsFilter(scope=RecordFilterScope(property="status"), values=["completed"]), {"r2", "r4"}),
        (RangeFilter(scope=RecordFilterScope(property="inserted_at"), le=2.0), {"r1", "r2"}),
        (TermsFilter(scope=SuggestionFilterScope(question="labels", property="value"), values=["hate"]), {"r1", "r4"}),
        (RangeFilter(scope=SuggestionFilterScope(question="labels", property="score"), ge=0.5), {"r1", "r4"}),
        (TermsFilter(scope=ResponseFilterScope(question="valid"), values=["no"]), {"r4"}),
        (TermsFilter(scope=ResponseFilterScope(property="status"), values=["submitted"]), {"r2", "r4"}),
        (
            TermsFilter(scope=ResponseFilterScope(property="status"), values=[ResponseStatusFilter.pending]),
            {"r1", "r3"},
        ),
        (
            TermsFilter(scope=ResponseFilterScope(property="status", user=_User("u2")), values=["draft", "pending"]),
            {"r1", "r2", "r3", "r4"},
        ),
        (TermsFilter(scope=ResponseFilterScope(property="status", user=_User("u2")), values=["submitted"]), set()),
        (
            AndFilter(
                filters=[
                    TermsFilter(scope=MetadataFilterScope(metadata_property="split"), values=["train"]),
                    TermsFilter(scope=RecordFilterScope(property="status"), values=["pending"]),
                    RangeFilter(scope=MetadataFilterScope(metadata_property="score"), le=0.5),
                ]
            ),
            {"r1"},
        ),
        (AndFilter(filters=[]), {"r1", "r2", "r3", "r4"}),
    ],
)
def test_filters_select_exactly_their_records(conn, f, expected):
    assert ids(conn, f) == expected


def test_filter_values_are_parameters_not_sql(conn):
    evil = "train') OR 1=1 --"
    sql = SqlParams()
    where = filter_sql(sql, TermsFilter(scope=MetadataFilterScope(metadata_property="split"), values=[evil]))
    assert evil not in where and evil in sql.params
    assert ids(conn, TermsFilter(scope=MetadataFilterScope(metadata_property="split"), values=[evil])) == set()


def test_property_names_with_quotes_are_refused():
    with pytest.raises(ValueError, match="quote or backslash"):
        filter_sql(SqlParams(), TermsFilter(scope=MetadataFilterScope(metadata_property='x"y'), values=["a"]))
    with pytest.raises(ValueError, match="Cannot filter or sort records by 'nope'"):
        filter_sql(SqlParams(), TermsFilter(scope=RecordFilterScope(property="nope"), values=["a"]))


@pytest.mark.parametrize(
    "order, expected",
    [
        (Order(scope=MetadataFilterScope(metadata_property="score"), order=SortOrder.asc), ["r1", "r4", "r2", "r3"]),
        (Order(scope=MetadataFilterScope(metadata_property="score"), order=SortOrder.desc), ["r2", "r4", "r1", "r3"]),
        (Order(scope=RecordFilterScope(property="inserted_at"), order=SortOrder.desc), ["r4", "r3", "r2", "r1"]),
        (
            Order(scope=SuggestionFilterScope(question="labels", property="score"), order=SortOrder.asc),
            ["r2", "r4", "r1", "r3"],
        ),
    ],
)
def test_sort_orders_put_missing_values_last(conn, order, expected):
    sql = SqlParams()
    clause = order_by_sql(sql, order)
    got = [r[0] for r in conn.execute(f"SELECT r.id FROM idx_records r ORDER BY {clause}, r.seq", sql.params)]
    assert got == expected
