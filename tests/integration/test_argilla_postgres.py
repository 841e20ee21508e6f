"""Argilla on PostgreSQL with two server processes, as a load balancer sees them.

A throwaway PostgreSQL 15 cluster on 127.0.0.1 (initdb / pg_ctl as the ``postgres`` user, a random
password, a temporary directory), the stack started with ``--database-url`` (the CLI), two argilla-server
processes on two ports and two rq workers over that database, one Valkey and one search index. Records
written through one server are found through the other; four annotators answering through both at once
lose nothing; a server killed with SIGKILL mid-write loses nothing that was acknowledged, and after
``workbench server start`` brings it back the index agrees with the database (``reindex --check``).
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import psutil
import pytest

from workbench.argilla.postgres import LocalPostgres
from workbench.argilla.stack import ServerStack, StackSettings
from workbench.cli import main as cli

from ..conftest import argilla_port
from ._argilla_api import Api, answer_in_parallel, answer_until, log_until, make_annotator, make_dataset, workspace_id

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres():
    with LocalPostgres() as pg:
        yield pg


@pytest.fixture(scope="module")
def stack(postgres, tmp_path_factory):
    home = tmp_path_factory.mktemp("argilla-pg-home")
    url = postgres.create_database("argilla")
    code = cli(
        ["server", "start", "--home", str(home), "--database-url", url, "--servers", "2", "--workers", "2"]
        + ["--port", str(argilla_port(70)), "--timeout", "120"]
    )
    assert code == 0
    s = ServerStack(StackSettings(home=home))
    yield s
    s.stop()


def all_records(api: Api, dataset_id: str) -> list[dict]:
    out, offset = [], 0
    while True:
        page = api.ok(
            "GET", f"/datasets/{dataset_id}/records", params={"limit": 500, "offset": offset, "include": "responses"}
        )["items"]
        out += page
        offset += len(page)
        if len(page) < 500:
            return out


@pytest.fixture(scope="module")
def apis(stack) -> tuple[Api, Api]:
    key = stack.env()["ARGILLA_API_KEY"]
    a, b = stack.status()["urls"]
    return Api(a, key), Api(b, key)


def test_two_servers_and_two_workers_run_on_postgres_and_no_password_is_stored_in_the_clear(stack, postgres):
    status = stack.status()
    assert status["running"] and len(status["urls"]) == 2 and status["urls"][0] != status["urls"][1]
    assert {"server", "server-2", "worker", "worker-2", "valkey"} == set(status["components"])
    assert status["external"]["database"].endswith(f"127.0.0.1:{postgres.port}/argilla")
    assert postgres.password not in stack.state_file.read_text()
    assert postgres.password not in "".join(p.read_text(errors="replace") for p in stack.log_dir.glob("*.log"))
    assert oct(stack.urls_file.stat().st_mode)[-3:] == "600"
    for url in status["urls"]:  # loopback only
        port = int(url.rsplit(":", 1)[1])
        listening = [
            c for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port and c.status == "LISTEN"
        ]
        assert listening and all(c.laddr.ip == "127.0.0.1" for c in listening)
    # Argilla's tables are in PostgreSQL, not in a SQLite file under the home
    import psycopg2

    with psycopg2.connect(
        host="127.0.0.1", port=postgres.port, user="postgres", password=postgres.password, dbname="argilla"
    ) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM users WHERE username = 'owner'")
            assert cur.fetchone()[0] == 1
    assert not list((stack.argilla_home).glob("*.db"))


def test_records_written_through_one_server_are_found_through_the_other(apis):
    a, b = apis
    ds = a.ok("POST", "/datasets", json={"name": f"lb-{uuid.uuid4().hex[:8]}", "workspace_id": workspace_id(a)})
    dsid = ds["id"]
    a.ok("POST", f"/datasets/{dsid}/fields", json={"name": "text", "title": "text", "settings": {"type": "text"}})
    a.ok(
        "POST",
        f"/datasets/{dsid}/questions",
        json={
            "name": "label",
            "title": "Label",
            "required": True,
            "settings": {"type": "label_selection", "options": [{"value": v, "text": v} for v in ("ok", "threat")]},
        },
    )
    a.ok(
        "POST",
        f"/datasets/{dsid}/metadata-properties",
        json={"name": "source", "title": "source", "settings": {"type": "terms"}},
    )
    a.ok("POST", f"/datasets/{dsid}/vectors-settings", json={"name": "vec", "title": "vec", "dimensions": 3})
    a.ok("PUT", f"/datasets/{dsid}/publish")
    rows = [
        ("I will find you tonight", "chat", [1, 0, 0]),
        ("buy cheap pills now", "forum", [0, 1, 0]),
        ("I will find the keys", "forum", [0.9, 0.1, 0]),
    ]
    items = [
        {"external_id": f"e{i}", "fields": {"text": t}, "metadata": {"source": s}, "vectors": {"vec": v}}
        for i, (t, s, v) in enumerate(rows)
    ]
    a.ok("POST", f"/datasets/{dsid}/records/bulk", json={"items": items})
    ids = {r["external_id"]: r["id"] for r in b.ok("GET", f"/datasets/{dsid}/records")["items"]}
    assert set(ids) == {"e0", "e1", "e2"}

    def found(body, limit=10):
        out = b.ok("POST", f"/datasets/{dsid}/records/search", params={"limit": limit}, json=body)
        by_id = {v: k for k, v in ids.items()}
        return [by_id[item["record"]["id"]] for item in out["items"]]

    assert set(found({"query": {"text": {"q": "find"}}})) == {"e0", "e2"}
    assert found(
        {
            "filters": {
                "and": [
                    {
                        "type": "terms",
                        "scope": {"entity": "metadata", "metadata_property": "source"},
                        "values": ["chat"],
                    }
                ]
            }
        }
    ) == ["e0"]
    assert found({"query": {"vector": {"name": "vec", "value": [1, 0, 0], "order": "most_similar"}}}, limit=2) == [
        "e0",
        "e2",
    ]
    # and a response given through the second server is seen by the first
    b.ok("POST", f"/records/{ids['e1']}/responses", json={"status": "submitted", "values": {"label": {"value": "ok"}}})
    records = a.ok("GET", f"/datasets/{dsid}/records", params={"include": "responses"})["items"]
    assert [len(r["responses"]) for r in records if r["id"] == ids["e1"]] == [1]
    assert a.ok("GET", f"/datasets/{dsid}/progress")["completed"] == 1


def test_four_annotators_answering_through_both_servers_at_once_lose_no_response(stack, apis):
    a, b = apis
    n_records, n_annotators, per_annotator = 80, 4, 60
    dataset_id, record_ids = make_dataset(a, n_records)
    urls = stack.status()["urls"]
    annotators = [make_annotator(a, urls[k % 2]) for k in range(n_annotators)]  # two behind each server
    statuses = ["submitted", "submitted", "discarded", "draft"]
    done = answer_in_parallel(annotators, record_ids, per_annotator=per_annotator, stride=20, statuses=statuses)
    for api in (a, b):  # the same answers, whichever server is asked
        records = api.ok("GET", f"/datasets/{dataset_id}/records", params={"limit": 1000, "include": "responses"})
        stored = {(r["user_id"], rec["id"], r["status"]) for rec in records["items"] for r in rec["responses"]}
        assert stored == set(done)
    for uid, api in annotators:
        mine = [s for u, _, s in done if u == uid]
        metrics = api.ok("GET", f"/me/datasets/{dataset_id}/metrics")["responses"]
        for status in ("submitted", "discarded", "draft"):
            assert metrics[status] == mine.count(status), (status, metrics)
    completed = {rid for _, rid, s in done if s == "submitted"}
    assert b.ok("GET", f"/datasets/{dataset_id}/progress")["completed"] == len(completed)
    code, report = stack.reindex(check=True)
    assert code == 0 and report["disagreeing"] == [], report


def test_a_server_killed_mid_write_loses_nothing_acknowledged_and_the_index_agrees_after_restart(stack, apis):
    a, b = apis
    dataset_id, record_ids = make_dataset(a, 40)
    urls = stack.status()["urls"]
    uid, annotator_b = make_annotator(a, urls[1])
    acked_records: list[str] = []
    acked_responses: list[str] = []
    stop = threading.Event()

    threads = [  # the writer behind the first server retries on errors, as a load balancer would send it on
        threading.Thread(
            target=log_until,
            args=(a, dataset_id, stop, acked_records),
            kwargs={"tag": "a", "per_batch": 20, "retry": True},
        ),
        threading.Thread(
            target=log_until, args=(b, dataset_id, stop, acked_records), kwargs={"tag": "b", "per_batch": 20}
        ),
        threading.Thread(target=answer_until, args=(annotator_b, record_ids, stop, acked_responses)),
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while (
        sum(x.startswith("b-") for x in acked_records) < 60 or len(acked_responses) < 5
    ) and time.monotonic() < deadline:
        time.sleep(0.05)
    before = stack.status()["components"]
    os.kill(before["server-2"]["pid"], signal.SIGKILL)  # mid-write: both writers and the annotator are busy
    time.sleep(1.0)  # writes keep going through the first server
    stop.set()
    for t in threads:
        t.join(60)
    assert any(x.startswith("b-") for x in acked_records) and acked_responses
    assert stack.status()["stale"]

    # nothing acknowledged is lost, seen through the server that stayed up
    records = all_records(a, dataset_id)
    assert set(acked_records) <= {r["external_id"] for r in records}
    assert set(acked_responses) <= {r["id"] for r in records for resp in r["responses"] if resp["user_id"] == uid}

    # start brings back only the dead server (the first one was never stopped) and repairs the index first
    info = stack.start(timeout=120)
    assert info["running"] and info["restarted"] == ["server-2"]
    after = stack.status()["components"]
    assert after["server"]["pid"] == before["server"]["pid"] and after["server-2"]["pid"] != before["server-2"]["pid"]
    code, report = stack.reindex(check=True)
    assert code == 0 and report["disagreeing"] == [], report
    code = cli(["server", "reindex", "--home", str(stack.settings.home), "--check"])  # the CLI finds the database
    assert code == 0
    search = b.ok("POST", f"/datasets/{dataset_id}/records/search", params={"limit": 1}, json={})
    assert search["total"] == len(all_records(a, dataset_id)) >= len(acked_records)


def test_the_search_url_path_on_postgres_with_an_opensearch_compatible_server(postgres, tmp_path):
    """Elasticsearch 8 and OpenSearch 2 cannot be installed here; osmem-server (OpenSearch-compatible, in
    memory, no k-NN, no scripted updates) can, so the ``--search-url`` path runs against it: two stock
    servers on PostgreSQL share it, records written through one are found by text and by filter through
    the other. Responses (osmem refuses the scripted update Argilla sends) and vector search need a real
    engine."""
    from osmem_server import OsmemServer

    from workbench.argilla.processes import StackError

    search = OsmemServer.start(japanese=False)
    stack = ServerStack(
        StackSettings(
            home=tmp_path / "home",
            database_url=postgres.create_database("argilla_search_url"),
            search_url=search.url,
            search_engine="opensearch",
            servers=2,
            port=argilla_port(80),
        )
    )
    try:
        assert search.url.startswith("http://127.0.0.1:")
        info = stack.start(timeout=120)
        assert "valkey" in info["components"] and info["external"]["search"] == search.url
        key = stack.env()["ARGILLA_API_KEY"]
        a, b = (Api(u, key) for u in info["urls"])
        dataset_id, record_ids = make_dataset(a, 30)
        hits = b.ok(
            "POST",
            f"/datasets/{dataset_id}/records/search",
            params={"limit": 50},
            json={"query": {"text": {"q": "post"}}},
        )
        assert hits["total"] == 30
        pending = a.ok(
            "POST",
            f"/datasets/{dataset_id}/records/search",
            params={"limit": 50},
            json={
                "filters": {
                    "and": [
                        {"type": "terms", "scope": {"entity": "record", "property": "status"}, "values": ["pending"]}
                    ]
                }
            },
        )
        assert sorted(item["record"]["id"] for item in pending["items"]) == sorted(record_ids)
        with pytest.raises(StackError, match="external"):
            stack.reindex(check=True)  # an external index is its operator's to rebuild
    finally:
        stack.stop()
        search.close()


def test_a_cluster_that_cannot_start_says_why_and_leaves_nothing_behind():
    import socket

    from workbench.argilla.processes import StackError

    with socket.socket() as taken:  # its port is already in use on 127.0.0.1
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        pg = LocalPostgres(port=taken.getsockname()[1])
        with pytest.raises(StackError, match="pg_ctl of the throwaway PostgreSQL"):
            pg.start()
    assert pg.root is not None and not pg.root.exists() and not pg.running
