"""The embedded Argilla stack for real: processes, security defaults, many annotators, kill -9 and restart.

One stack per module (start takes ~20 s), in a temporary home, on the next free port from 6900.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import uuid

import httpx
import psutil
import pytest

from workbench.argilla.stack import ServerStack, StackError, StackSettings
from workbench.cli import main as cli

from ._argilla_api import Api, answer_in_parallel, answer_until, log_until, make_annotator, make_dataset, workspace_id

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("argilla-home")
    s = ServerStack(StackSettings(home=home))
    info = s.start(timeout=120)
    assert info["running"] and info["seconds"] < 60
    yield s
    s.stop()


@pytest.fixture(scope="module")
def owner(stack) -> Api:
    env = stack.env()
    return Api(env["ARGILLA_API_URL"], env["ARGILLA_API_KEY"])


# --------------------------------------------------------------------------------------------- lifecycle


def test_second_start_says_it_is_running_and_status_lists_our_processes(stack, capsys):
    home = str(stack.settings.home)
    assert cli(["server", "start", "--home", home]) == 0
    out = capsys.readouterr().out
    assert "already running at http://127.0.0.1:" in out
    assert str(stack.secrets_file) in out
    assert cli(["server", "status", "--home", home]) == 0
    status = stack.status()
    assert set(status["components"]) == {"valkey", "server", "worker"}
    assert all(c["alive"] for c in status["components"].values())


def test_everything_listens_on_loopback_only(stack):
    for name, comp in stack.status()["components"].items():
        listening = [c for c in psutil.Process(comp["pid"]).connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        if name == "worker":
            assert listening == []
            continue
        assert listening, f"{name} listens nowhere"
        assert {c.laddr.ip for c in listening} <= {"127.0.0.1", "::1"}, (name, listening)


def test_secrets_are_private_and_never_logged(stack, capsys):
    mode = stat.S_IMODE(stack.secrets_file.stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(stack.settings.home.stat().st_mode) == 0o700
    secrets = json.loads(stack.secrets_file.read_text())
    assert len(secrets["api_key"]) >= 32 and len(secrets["password"]) >= 16
    assert secrets["password"] not in ("1234", "12345678") and secrets["api_key"] != "argilla.apikey"
    for log in stack.log_dir.glob("*.log"):
        text = log.read_text(errors="replace")
        for value in (secrets["api_key"], secrets["password"], secrets["valkey_password"]):
            assert value not in text, f"a secret appears in {log}"
    state = stack.state_file.read_text()
    assert secrets["valkey_password"] not in state
    assert cli(["server", "env", "--home", str(stack.settings.home)]) == 0
    out = capsys.readouterr().out
    assert f"export ARGILLA_API_KEY={secrets['api_key']}" in out
    assert "export ARGILLA_API_URL=http://127.0.0.1:" in out


def test_requests_without_a_valid_key_are_refused(stack, owner):
    url = stack.env()["ARGILLA_API_URL"]
    for key in (None, "argilla.apikey", "owner.apikey", "x" * 43):
        anon = Api(url, key)
        for path in ("/me", "/workspaces/" + workspace_id(owner), "/users"):
            assert anon("GET", path).status_code == 401, (key, path)
    assert owner("GET", "/me").json()["role"] == "owner"
    # and the password login works only with the generated password
    secrets = json.loads(stack.secrets_file.read_text())
    bad = httpx.post(url + "/api/v1/token", data={"username": "owner", "password": "12345678"})
    good = httpx.post(url + "/api/v1/token", data={"username": "owner", "password": secrets["password"]})
    assert bad.status_code == 401 and good.status_code == 201


def test_ui_is_served(stack):
    url = stack.env()["ARGILLA_API_URL"]
    page = httpx.get(url + "/", follow_redirects=True)
    assert page.status_code == 200 and "<html" in page.text.lower()
    scripts = [part.split('"')[0] for part in page.text.split('src="')[1:] if part.split('"')[0].endswith(".js")]
    assert scripts, "the UI page references no script"
    asset = httpx.get(url + scripts[0] if scripts[0].startswith("/") else f"{url}/{scripts[0]}")
    assert asset.status_code == 200 and len(asset.content) > 1000


def test_stop_leaves_other_processes_alone_and_a_stale_state_is_handled(tmp_path):
    s = ServerStack(StackSettings(home=tmp_path / "h"))
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    try:
        # a state file left by a crashed run whose pid now belongs to someone else
        s.state_file.parent.mkdir(parents=True)
        s.state_file.write_text(
            json.dumps(
                {
                    "url": "http://127.0.0.1:1",
                    "port": 1,
                    "components": {"server": {"pid": bystander.pid, "create_time": 1.0, "log": "x"}},
                }
            )
        )
        assert s.status()["stale"] and not s.status()["running"]
        assert s.stop() == []
        assert bystander.poll() is None, "stop killed a process it did not start"
        assert not s.state_file.exists()
    finally:
        bystander.kill()


def test_a_slow_index_repair_does_not_eat_the_servers_health_budget(tmp_path, monkeypatch):
    """Each step of a start has its own budget: an index check and repair that takes longer than the whole
    ``timeout`` (a busy machine, a large dataset) no longer makes the start give up the moment the server
    is spawned; the health wait starts then. The repair's delay is played on the stack's clock (it jumps
    forward by more than the budget when the real repair step returns) instead of being slept: a deadline
    taken before the repair is already past after it, as it would be after a real 45-second repair."""
    import workbench.argilla.stack as stack_module

    budget = 40.0

    class SkewedClock:  # the ``time`` module as the stack sees it, with monotonic() ahead by ``skew``
        skew = 0.0

        def __getattr__(self, name):
            return getattr(time, name)

        def monotonic(self):
            return time.monotonic() + self.skew

    clock = SkewedClock()
    real = ServerStack._run_step

    def slow_repair(self, name, argv, env, timeout, capture=False):
        out = real(self, name, argv, env, timeout, capture)
        if name == "reindex":
            clock.skew += budget + 5  # the repair outlasts the budget the servers get
        return out

    monkeypatch.setattr(stack_module, "time", clock)
    monkeypatch.setattr(ServerStack, "_run_step", slow_repair)
    s = ServerStack(StackSettings(home=tmp_path / "slow"))
    began = clock.monotonic()
    try:
        info = s.start(timeout=budget)
        assert clock.skew == budget + 5  # the repair step ran (once)
        assert info["running"] and clock.monotonic() - began > budget + 5
        assert info["seconds"] > budget + 5  # what the stack measured includes the repair's delay
    finally:
        s.stop()


def test_non_loopback_bind_needs_an_explicit_flag(tmp_path):
    with pytest.raises(StackError, match="loopback"):
        StackSettings(home=tmp_path, host="0.0.0.0")
    assert StackSettings(home=tmp_path, host="0.0.0.0", allow_remote=True).host == "0.0.0.0"


def test_the_first_port_comes_from_the_flag_else_the_environment_else_6900(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_ARGILLA_PORT", raising=False)
    assert StackSettings(home=tmp_path).port == 6900
    monkeypatch.setenv("WORKBENCH_ARGILLA_PORT", "7350")
    assert StackSettings(home=tmp_path).port == 7350 and StackSettings(home=tmp_path, port=7000).port == 7000
    monkeypatch.setenv("WORKBENCH_ARGILLA_PORT", "69OO")
    with pytest.raises(StackError, match="WORKBENCH_ARGILLA_PORT='69OO' is not a port: set it to a number"):
        StackSettings(home=tmp_path)


def test_several_server_processes_need_postgresql_and_sane_counts(tmp_path):
    with pytest.raises(StackError, match="several server processes share one database"):
        StackSettings(home=tmp_path, servers=2)
    with pytest.raises(StackError, match="a whole number from 1 to 64"):
        StackSettings(home=tmp_path, workers=0)
    url = "postgresql+asyncpg://u:p@127.0.0.1:5432/argilla"
    assert StackSettings(home=tmp_path, servers=3, workers=2, database_url=url).servers == 3


def test_secrets_file_readable_by_others_is_refused(tmp_path):
    s = ServerStack(StackSettings(home=tmp_path / "h"))
    s._secrets()
    os.chmod(s.secrets_file, 0o644)
    with pytest.raises(StackError, match="chmod 600"):
        s._secrets()


def test_a_home_that_is_not_a_stacks_is_refused_and_nothing_under_it_changes(tmp_path, capsys):
    """The home is made private on start and after a reindex (every mode under it tightened), so a mistyped
    ``--home`` (``..``, ``~``) must be refused before anything under it is touched: the command-line fuzzer's
    ``server reindex --home=../..`` once walked every test's folder, and through hard links the package
    cache of every environment on the machine."""
    from workbench.argilla.processes import make_private

    folder = tmp_path / "documents"
    folder.mkdir()
    mine = folder / "notes.txt"
    mine.write_text("mine\n")
    os.chmod(mine, 0o644)
    before = {p: stat.S_IMODE(p.stat().st_mode) for p in (folder, mine)}
    for call in (lambda s: s.start(timeout=5), lambda s: s.reindex(check=True)):
        with pytest.raises(StackError, match="expected an Argilla home made by `workbench server start`"):
            call(ServerStack(StackSettings(home=folder)))
    assert cli(["server", "reindex", "--check", "--home", str(folder)]) == 2  # a usage mistake
    assert "Nothing was changed" in capsys.readouterr().err
    assert {p: stat.S_IMODE(p.stat().st_mode) for p in before} == before

    # inside a real home, a file with another name elsewhere (a package cache's hard link) keeps its mode
    home = tmp_path / "home"
    s = ServerStack(StackSettings(home=home))
    s._secrets()
    cached = tmp_path / "cache-entry.py"
    cached.write_text("x = 1\n")
    os.chmod(cached, 0o644)
    os.link(cached, home / "linked.py")
    own = home / "own.log"
    own.write_text("y\n")
    os.chmod(own, 0o644)
    repaired = make_private(home)
    assert stat.S_IMODE(cached.stat().st_mode) == 0o644 and str(home / "linked.py") not in repaired
    assert stat.S_IMODE(own.stat().st_mode) == 0o600 and str(own) in repaired


# --------------------------------------------------------------------------------------------- annotators


def test_many_concurrent_annotators_lose_nothing_and_progress_is_exact(stack, owner):
    url = stack.env()["ARGILLA_API_URL"]
    n_records, n_annotators, per_annotator = 120, 8, 60
    dataset_id, record_ids = make_dataset(owner, n_records)
    annotators = [make_annotator(owner, url) for _ in range(n_annotators)]
    # annotator k answers records k*15 .. k*15+59 (wrapping): every record gets 4 answers, all overlapping
    statuses = ["submitted", "submitted", "submitted", "discarded", "draft"]
    done = answer_in_parallel(annotators, record_ids, per_annotator=per_annotator, stride=15, statuses=statuses)
    assert len(done) == n_annotators * per_annotator

    # every response is stored, once, with its status
    records = owner.ok("GET", f"/datasets/{dataset_id}/records", params={"limit": 1000, "include": "responses"})
    stored = {(r["user_id"], rec["id"], r["status"]) for rec in records["items"] for r in rec["responses"]}
    assert stored == set(done)

    # per-user progress (search engine) is exact for every annotator
    for uid, api in annotators:
        mine = [s for u, _, s in done if u == uid]
        metrics = api.ok("GET", f"/me/datasets/{dataset_id}/metrics")["responses"]
        assert metrics["total"] == n_records
        for status in ("submitted", "discarded", "draft"):
            assert metrics[status] == mine.count(status), (status, metrics)
        assert metrics["pending"] == n_records - len(mine)

    # dataset progress: a record is completed once it has a submitted response (min_submitted=1)
    completed = {rid for _, rid, s in done if s == "submitted"}
    progress = owner.ok("GET", f"/datasets/{dataset_id}/progress")
    assert progress["total"] == n_records
    assert progress["completed"] == len(completed)
    assert progress["pending"] == n_records - len(completed)

    # and the search engine's view of response statuses matches the database
    for status in ("submitted", "discarded", "draft"):
        hits = owner.ok(
            "POST",
            f"/datasets/{dataset_id}/records/search",
            params={"limit": 1},
            json={
                "filters": {
                    "and": [
                        {"type": "terms", "scope": {"entity": "response", "property": "status"}, "values": [status]}
                    ]
                }
            },
        )
        assert hits["total"] == len({rid for _, rid, s in done if s == status}), status
    code, report = stack.reindex(check=True)
    assert code == 0 and report["disagreeing"] == []


# --------------------------------------------------------------------------------------------- crash


def test_kill_9_mid_run_then_restart_loses_nothing_committed(stack, owner):
    url = stack.env()["ARGILLA_API_URL"]
    dataset_id, record_ids = make_dataset(owner, 40)
    uid, annotator = make_annotator(owner, url)
    acked_records: list[str] = []
    acked_responses: list[str] = []
    stop = threading.Event()

    threads = [
        threading.Thread(
            target=log_until, args=(owner, dataset_id, stop, acked_records), kwargs={"tag": "crash", "per_batch": 25}
        ),
        threading.Thread(target=answer_until, args=(annotator, record_ids, stop, acked_responses)),
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while (len(acked_records) < 100 or len(acked_responses) < 10) and time.monotonic() < deadline:
        time.sleep(0.05)
    components = stack.status()["components"]
    os.kill(components["server"]["pid"], signal.SIGKILL)
    os.kill(components["worker"]["pid"], signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(60)
    # the restart comes after the crash: both processes are gone (a SIGKILL is delivered asynchronously)
    killed = []
    for name in ("server", "worker"):
        with contextlib.suppress(psutil.NoSuchProcess):  # already reaped
            killed.append(psutil.Process(components[name]["pid"]))
    psutil.wait_procs(killed, timeout=30)
    assert acked_records and acked_responses
    assert stack.status()["stale"]

    info = stack.start(timeout=120)
    assert info["running"] and not info["already_running"], json.dumps(info, default=str)
    owner_after = Api(info["url"], stack.env()["ARGILLA_API_KEY"])
    records = owner_after.ok("GET", f"/datasets/{dataset_id}/records", params={"limit": 1000, "include": "responses"})[
        "items"
    ]
    external_ids = {r["external_id"] for r in records}
    assert set(acked_records) <= external_ids
    answered = {r["id"] for r in records for resp in r["responses"] if resp["user_id"] == uid}
    assert set(acked_responses) <= answered
    # the index agrees with the database after the restart (start repairs it when it does not)
    code, report = stack.reindex(check=True)
    assert code == 0, report
    search = owner_after.ok("POST", f"/datasets/{dataset_id}/records/search", params={"limit": 1}, json={})
    assert search["total"] == len(records)


def test_reindex_detects_and_repairs_a_damaged_index(stack, owner):
    dataset_id, record_ids = make_dataset(owner, 30)
    with sqlite3.connect(stack.search_db) as conn:
        conn.execute("DELETE FROM idx_records WHERE id IN (?, ?)", (record_ids[0], record_ids[1]))
        conn.execute("UPDATE idx_records SET status = 'completed' WHERE id = ?", (record_ids[2],))
    code, report = stack.reindex(check=True)
    assert code == 1 and dataset_id in report["disagreeing"]
    assert report["details"][dataset_id]["records"] == {"database_only": 3, "index_only": 1}
    code, report = stack.reindex(repair=True)
    assert code == 0 and report["rebuilt"] == [dataset_id]
    code, report = stack.reindex(check=True)
    assert code == 0 and report["disagreeing"] == []
    hits = owner.ok(
        "POST", f"/datasets/{dataset_id}/records/search", params={"limit": 50}, json={"query": {"text": {"q": "post"}}}
    )
    assert hits["total"] == 30


# --------------------------------------------------------------------------------------------- engine


def test_search_engine_features_through_the_api(owner):
    ds = owner.ok(
        "POST", "/datasets", json={"name": f"engine-{uuid.uuid4().hex[:8]}", "workspace_id": workspace_id(owner)}
    )
    dsid = ds["id"]
    for name in ("text", "context"):
        owner.ok("POST", f"/datasets/{dsid}/fields", json={"name": name, "title": name, "settings": {"type": "text"}})
    q = owner.ok(
        "POST",
        f"/datasets/{dsid}/questions",
        json={
            "name": "labels",
            "title": "Labels",
            "required": True,
            "settings": {
                "type": "multi_label_selection",
                "options": [{"value": v, "text": v} for v in ("threat", "spam", "hate")],
            },
        },
    )
    props = {}
    for name, kind in (("source", "terms"), ("length", "integer"), ("score", "float")):
        props[name] = owner.ok(
            "POST",
            f"/datasets/{dsid}/metadata-properties",
            json={"name": name, "title": name, "settings": {"type": kind}},
        )["id"]
    owner.ok("POST", f"/datasets/{dsid}/vectors-settings", json={"name": "vec", "title": "vec", "dimensions": 3})
    owner.ok("PUT", f"/datasets/{dsid}/publish")
    rows = [  # text, context, source, length, score, suggestion, suggestion score, vector
        ("I will find you", "reply to a threat report", "chat", 15, 0.9, ["threat"], [0.95], [1, 0, 0]),
        ("buy cheap pills now", "spam wave", "forum", 19, 0.2, ["spam"], [0.7], [0, 1, 0]),
        ("lovely weather", "small talk", "chat", 14, 0.1, ["spam", "hate"], [0.3, 0.4], [0, 0, 1]),
        ("I will find the keys", "lost and found", "forum", 20, 0.5, ["threat"], [0.55], [0.9, 0.1, 0]),
        ("no metadata here", "threat assessment", None, None, None, ["hate"], [0.85], [0.7, 0.7, 0]),
    ]
    items = []
    for i, (text, context, source, length, score, value, sscore, vec) in enumerate(rows):
        metadata = {k: v for k, v in (("source", source), ("length", length), ("score", score)) if v is not None}
        items.append(
            {
                "external_id": f"e{i}",
                "fields": {"text": text, "context": context},
                "metadata": metadata,
                "suggestions": [{"question_id": q["id"], "value": value, "score": sscore, "agent": "m1"}],
                "vectors": {"vec": vec},
            }
        )
    owner.ok("POST", f"/datasets/{dsid}/records/bulk", json={"items": items})
    ids = {
        r["external_id"]: r["id"] for r in owner.ok("GET", f"/datasets/{dsid}/records", params={"limit": 100})["items"]
    }

    def search(body, limit=50):
        out = owner.ok("POST", f"/datasets/{dsid}/records/search", params={"limit": limit}, json=body)
        return [ext for item in out["items"] for ext, rid in ids.items() if rid == item["record"]["id"]], out

    def meta(name):
        return {"entity": "metadata", "metadata_property": name}

    # text: every field by default, one field when asked; words AND-ed
    assert set(search({"query": {"text": {"q": "threat"}}})[0]) == {"e0", "e4"}
    assert search({"query": {"text": {"q": "threat", "field": "text"}}})[0] == []
    assert set(search({"query": {"text": {"q": "find"}}})[0]) == {"e0", "e3"}
    assert search({"query": {"text": {"q": "find keys"}}})[0] == ["e3"]
    # metadata terms and range, combined
    assert set(search({"filters": {"and": [{"type": "terms", "scope": meta("source"), "values": ["chat"]}]}})[0]) == {
        "e0",
        "e2",
    }
    found, out = search(
        {
            "filters": {
                "and": [
                    {"type": "terms", "scope": meta("source"), "values": ["forum", "chat"]},
                    {"type": "range", "scope": meta("length"), "ge": 15, "le": 19},
                ]
            }
        }
    )
    assert set(found) == {"e0", "e1"} and out["total"] == 2
    assert set(search({"filters": {"and": [{"type": "range", "scope": meta("score"), "ge": 0.45}]}})[0]) == {"e0", "e3"}
    # suggestions: any of the multi-label values; score range
    sugg = {"entity": "suggestion", "question": "labels"}
    assert set(
        search({"filters": {"and": [{"type": "terms", "scope": {**sugg, "property": "value"}, "values": ["hate"]}]}})[0]
    ) == {"e2", "e4"}
    assert set(
        search({"filters": {"and": [{"type": "range", "scope": {**sugg, "property": "score"}, "ge": 0.8}]}})[0]
    ) == {"e0", "e4"}
    # sort by metadata, missing values last in both directions; paging keeps the order
    desc, _ = search({"sort": [{"scope": meta("length"), "order": "desc"}]})
    assert desc == ["e3", "e1", "e0", "e2", "e4"]
    asc, _ = search({"sort": [{"scope": meta("length"), "order": "asc"}]})
    assert asc == ["e2", "e0", "e1", "e3", "e4"]
    page2 = owner.ok(
        "POST",
        f"/datasets/{dsid}/records/search",
        params={"limit": 2, "offset": 2},
        json={"sort": [{"scope": meta("length"), "order": "desc"}]},
    )
    assert [i["record"]["id"] for i in page2["items"]] == [ids["e0"], ids["e2"]] and page2["total"] == 5
    # metadata metrics
    terms = owner.ok("GET", f"/metadata-properties/{props['source']}/metrics")
    assert terms["total"] == 4 and {v["term"]: v["count"] for v in terms["values"]} == {"chat": 2, "forum": 2}
    ints = owner.ok("GET", f"/metadata-properties/{props['length']}/metrics")
    assert (ints["min"], ints["max"]) == (14, 20)
    # similarity: by value, most and least similar; by record (itself excluded); with a filter
    vec = {"name": "vec", "value": [1, 0, 0]}
    most, out = search({"query": {"vector": {**vec, "order": "most_similar"}}}, limit=3)
    assert most == ["e0", "e3", "e4"]
    assert out["items"][0]["query_score"] == pytest.approx(1.0)
    least, _ = search({"query": {"vector": {**vec, "order": "least_similar"}}}, limit=2)
    assert least[:2] in (["e1", "e2"], ["e2", "e1"])
    by_record, _ = search({"query": {"vector": {"name": "vec", "record_id": ids["e0"]}}}, limit=2)
    assert by_record == ["e3", "e4"]
    filtered, _ = search(
        {
            "query": {"vector": {**vec, "order": "most_similar"}},
            "filters": {"and": [{"type": "terms", "scope": meta("source"), "values": ["forum"]}]},
        }
    )
    assert filtered == ["e3", "e1"]


def test_a_dataset_dropped_behind_the_index_back_is_reported_and_removed_on_start(stack, owner):
    """A crash between Argilla's database write and the index write (or a restored database) leaves the
    index holding a dataset the database no longer has: the next start must still come up, name it in
    its repair report and drop it from the index. (The stop also empties the processes' temporary folder
    under the home: Argilla's server copies its web app into a new temporary folder at every start.)"""
    dataset_id, _ = make_dataset(owner, 5)
    assert list(stack.tmp_dir.glob("*/statics/index.html")), "the server's web app copy is not under the home"
    stack.stop()
    assert not any(stack.tmp_dir.iterdir()), f"stop left {sorted(p.name for p in stack.tmp_dir.iterdir())}"
    hex_id = uuid.UUID(dataset_id).hex
    with sqlite3.connect(stack.argilla_home / "argilla.db") as db:
        db.execute("PRAGMA foreign_keys = ON")
        gone = db.execute("DELETE FROM datasets WHERE replace(id, '-', '') = ?", (hex_id,)).rowcount
    assert gone == 1
    with sqlite3.connect(stack.search_db) as conn:
        assert conn.execute("SELECT count(*) FROM idx_records WHERE dataset_id = ?", (dataset_id,)).fetchone()[0] == 5
    info = stack.start(timeout=120)
    assert info["running"] and not info["already_running"]
    assert info["repair"]["orphaned"] == [dataset_id] and info["repair"]["dropped"] == [dataset_id]
    with sqlite3.connect(stack.search_db) as conn:
        for table, column in (("idx_records", "dataset_id"), ("idx_datasets", "id"), ("idx_fields", "dataset_id")):
            assert conn.execute(f"SELECT count(*) FROM {table} WHERE {column} = ?", (dataset_id,)).fetchone()[0] == 0
    code, report = stack.reindex(check=True)
    assert code == 0 and report["orphaned"] == []


def test_an_external_argilla_is_used_through_url_and_key_file_and_never_stopped(stack, tmp_path):
    from workbench.argilla import ArgillaBackend, ExternalArgilla, argilla_backend

    env = stack.env()
    key_file = tmp_path / "argilla.key"
    key_file.write_text(env["ARGILLA_API_KEY"] + "\n")
    key_file.chmod(0o600)
    external = argilla_backend(url=env["ARGILLA_API_URL"], key_file=key_file)
    assert isinstance(external, ExternalArgilla) and isinstance(external, ArgillaBackend)
    assert isinstance(stack, ArgillaBackend)
    info = external.start(timeout=10)
    assert info["running"] and info["already_running"]
    assert external.env() == env
    assert external.stop() == [] and stack.status()["running"]  # never ours to stop
    with pytest.raises(StackError, match="belongs to whoever runs it"):
        external.reindex(check=True)
    key_file.write_text("not-the-key")
    key_file.chmod(0o600)
    with pytest.raises(StackError, match="refused"):
        external.start(timeout=10)
    key_file.chmod(0o644)
    with pytest.raises(StackError, match="readable by other users"):
        external.env()
    with pytest.raises(StackError, match="needs its API key in a file"):
        argilla_backend(url=env["ARGILLA_API_URL"])


def _stack_processes(stack) -> list[psutil.Process]:
    """Every process of the stack: the recorded components and whatever they started."""
    out = []
    for comp in stack.status()["components"].values():
        proc = psutil.Process(comp["pid"])
        out += [proc, *proc.children(recursive=True)]
    return out


def test_the_home_is_private_and_no_secret_is_on_a_command_line(stack, capsys):
    """Every file under the Argilla home is 0600 and every folder 0700 (Argilla's database, Valkey's files and
    the logs included: the stack's processes run with umask 077), no secret is on any of the stack's command
    lines (Valkey reads its password from a file), and a start repairs what was made readable by others."""
    secrets = json.loads(stack.secrets_file.read_text())
    values = [secrets["api_key"], secrets["password"], secrets["valkey_password"]]
    home = stack.settings.home
    modes = {}
    for p in [home, *home.rglob("*")]:
        with contextlib.suppress(FileNotFoundError):  # a WAL file checkpointed away meanwhile
            modes[p] = stat.S_IMODE(p.lstat().st_mode)
    assert len(modes) > 10 and (home / "argilla").exists()
    loose = [f"{p} {m:o}" for p, m in modes.items() if m & 0o077]
    assert not loose, loose
    procs = _stack_processes(stack)
    assert {p.name() for p in procs} and len(procs) >= 3
    for proc in procs:
        cmdline = " ".join(proc.cmdline())
        for value in values:
            assert value not in cmdline, f"a secret is on the command line of pid {proc.pid}: {proc.name()}"
    # a file and a folder loosened by hand are made private again by the next start
    db = next(home.rglob("*.db"))
    os.chmod(db, 0o644)
    os.chmod(stack.log_dir, 0o755)
    assert cli(["server", "start", "--home", str(home)]) == 0
    assert "Made 2 files and folders" in capsys.readouterr().out
    assert stat.S_IMODE(db.stat().st_mode) == 0o600 and stat.S_IMODE(stack.log_dir.stat().st_mode) == 0o700
