"""The embedded search engine's query translation, on a real FTS5 table built by the engine's own schema."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.argilla.engine import SLOTS, connect, fts_query

DOCS = {
    1: "I will kill you tomorrow",
    2: "kill the process and restart it",
    3: "what a lovely day for a walk",
    4: "you are a killer at chess",
    5: "Café au lait, naïve résumé",
}


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    c = connect(tmp_path_factory.mktemp("engine") / "search.sqlite")
    for seq, text in DOCS.items():
        c.execute("INSERT INTO idx_text (rowid, body) VALUES (?, ?)", (seq * SLOTS, text))
    return c


def matching(conn: sqlite3.Connection, q: str) -> set[int]:
    match, exclude = fts_query(q)
    every = set(DOCS)
    if match is None and exclude is None:
        return set()
    hits = (
        every
        if match is None
        else {r[0] // SLOTS for r in conn.execute("SELECT rowid FROM idx_text WHERE idx_text MATCH ?", (match,))}
    )
    if exclude is not None:
        hits -= {r[0] // SLOTS for r in conn.execute("SELECT rowid FROM idx_text WHERE idx_text MATCH ?", (exclude,))}
    return hits


@pytest.mark.parametrize(
    "q, expected",
    [
        ("kill", {1, 2}),
        ("kill you", {1}),  # all words must match (Argilla's default_operator AND)
        ("KILL", {1, 2}),  # case-insensitive
        ('"kill you"', {1}),  # phrase
        ('"you kill"', set()),
        ("kill*", {1, 2, 4}),  # prefix
        ("kill -process", {1}),  # exclusion
        ("-kill", {3, 4, 5}),  # exclusion alone
        ("lovely | chess", {3, 4}),  # alternatives
        ("cafe resume", {5}),  # diacritics folded
        ("+kill +tomorrow", {1}),
        ("!!! ???", set()),  # nothing searchable matches nothing
        ("", set()),
        ('kill "unclosed', set()),
    ],
)
def test_simple_query_string_subset(conn, q, expected):
    assert matching(conn, q) == expected


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60))
def test_any_text_is_a_valid_query(conn, q):
    # whatever people type, the translated query is valid FTS5 (no sqlite3.OperationalError)
    matching(conn, q)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ['"', "*", "-", "+", "|", "(", ")", "~", "AND", "OR", "NOT", "NEAR", "kill", "^", ":", "{", "}", " "]
        ),
        max_size=12,
    )
)
def test_fts5_operators_in_input_are_taken_literally(conn, parts):
    matching(conn, "".join(parts))
    matching(conn, " ".join(parts))


def test_a_process_that_imports_the_engine_leaves_no_web_app_copy_behind(tmp_path):
    """Importing argilla-server copies its 14 MB web app into a new temporary folder that nothing removes;
    the engine removes this process's copy at exit (a run of make test imported it and left one each time)."""
    import os
    import subprocess
    import sys

    code = "import workbench.argilla.engine, argilla_server._app, os; print(os.listdir(os.environ['TMPDIR']))"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() not in ("", "[]"), "the import made no copy: the test would prove nothing"
    assert list(tmp_path.iterdir()) == []
