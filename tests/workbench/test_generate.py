"""Generation: the openai-compatible provider over real HTTP against a loopback chat server, the offline
retrieval and perturbation providers on the demo project, the cache, provenance and pending review."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from curation import Project, Taxonomy, WorkbenchError
from workbench.generate import GenerationStats, OpenAICompatibleProvider, generate, make_provider

from .fake_chat import FakeChatServer

TAX = {
    "name": "gen",
    "labels": [
        {"name": "scam", "group": "spam", "tier": "T2", "description": "tricks people out of money or data"},
        {"name": "spam", "group": "spam", "tier": "T4", "description": "unsolicited bulk promotion"},
        {"name": "harassment", "group": "safety", "tier": "T2", "description": "abuse aimed at a person"},
    ],
}
SEEDS = {
    "seeds": [
        {
            "id": "seed-scam",
            "kind": "positive",
            "target_labels": ["scam"],
            "status": "approved",
            "batch_size": 20,
            "overlap": {"spam": 0.35},
            "context": "MESSAGE",
            "text": "Congratulations, you won a gift card! Send your bank login to claim it.",
        },
        {
            "id": "seed-hn",
            "kind": "hard_negative",
            "target_labels": ["scam"],
            "status": "approved",
            "batch_size": 6,
            "text": "The library gives away free books on Saturday, bring a bag.",
        },
    ]
}


def _project(tmp_path, **generation) -> Project:
    cfg = {"generation": {"backoff": 0.01, "max_backoff": 0.05, "timeout": 1.0, "rpm": None, **generation}}
    p = Project.init(tmp_path / "proj", taxonomy=Taxonomy.from_dict(TAX), config=cfg)
    seeds = tmp_path / "seeds.yaml"
    seeds.write_text(yaml.safe_dump(SEEDS))
    p.records.import_file(seeds, "seeds")
    return p


def _provider(p: Project, server: FakeChatServer, **kw) -> OpenAICompatibleProvider:
    return make_provider(p, "openai-compatible", base_url=server.url, model="fake-model", **kw)


def test_valid_batches_are_multi_label_by_construction_and_pending(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-test-secret-123")
    p = _project(tmp_path)
    with FakeChatServer() as server:
        out = generate(p, _provider(p, server, api_key_env="FAKE_LLM_KEY"))
    by_seed = {s.seed_id: s for s in out}
    assert by_seed["seed-scam"].stored == 20 and by_seed["seed-hn"].stored == 6
    f = p.records.frame()
    gen = f[f["origin"] == "generated"]
    scam = gen[gen["seed_id"] == "seed-scam"]
    assert ((scam["scam"] == 1) & (scam["spam"] == 1)).sum() == round(0.35 * 20)  # 7 carry both labels
    assert (scam["scam"] == 1).all() and scam["harassment"].isna().all()  # nothing asserted about the rest
    hn = gen[gen["seed_id"] == "seed-hn"]
    assert (hn["scam"] == 0).all()
    assert set(gen["status"]) == {"pending"} and set(gen["split"]) <= {"train", "valid"}
    assert p.records.frame(active_only=True)["origin"].eq("generated").sum() == 0  # out of every training view
    assert len(p.records.frame(active_only=True, include_unreviewed=True)) == len(f)
    meta = scam.iloc[0]["meta"]
    assert meta["provider"] == "openai-compatible" and meta["model"] == "fake-model" and meta["seed_version"] == 1
    assert len(meta["prompt_hash"]) == 16 and scam.iloc[0]["label_provenance"]["scam"] == "generator"
    batches = p.batches.frame().set_index("id")
    assert set(batches.loc[[s.batch_id for s in out], "status"]) == {"pending"}
    # the request: structured output, the key only in the header, nowhere stored
    req = server.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["authorization"] == "Bearer sk-test-secret-123"
    assert req["body"]["response_format"]["type"] == "json_schema"
    stored = p.layout.store.read_bytes() + p.layout.generation_cache.read_bytes()
    assert b"sk-test-secret-123" not in stored
    before = p.snapshots.id()
    p.batches.set_status(by_seed["seed-scam"].batch_id, "accepted", actor="reviewer")
    assert p.snapshots.id() != before and p.records.frame(active_only=True)["origin"].eq("generated").sum() == 20


@pytest.mark.slow  # real retries and backoff waits against the fake endpoint: 8-15 s
def test_errors_are_retried_and_nothing_invalid_is_stored(tmp_path):
    p = _project(tmp_path, chunk=20, max_attempts=12)
    script = ["429", "500", "slow", "malformed", "refusal", "truncated", "bad_labels", "repeat", "short"]
    with FakeChatServer(script, slow_seconds=2.0) as server:
        out = generate(p, _provider(p, server))
    st = GenerationStats()
    for x in out:
        st.add(x.stats)
    assert st.refused >= 1 and st.malformed >= 1 and st.truncated >= 1 and st.repeated_seed >= 1
    assert st.mislabelled >= 1 and st.retried >= 8 and st.failed_slots == 0
    f = p.records.frame()
    assert {x.seed_id: x.stored for x in out} == {"seed-scam": 20, "seed-hn": 6}  # every slot filled in the end
    gen = f[f["origin"] == "generated"]
    assert ((gen["scam"] == 1) & (gen["spam"] == 1)).sum() == 7
    assert not gen["text"].str.contains("Congratulations, you won").any()  # repeats of the seed never stored
    assert gen["text"].str.len().min() > 10


def test_rerun_with_no_change_makes_no_request_and_adds_nothing(tmp_path):
    p = _project(tmp_path)
    with FakeChatServer() as server:
        generate(p, _provider(p, server))
        n_req, n_rec, snap = len(server.requests), len(p.records.frame()), p.snapshots.id(include_unreviewed=True)
        again = generate(p, _provider(p, server))
        assert len(server.requests) == n_req
        assert len(p.records.frame()) == n_rec and p.snapshots.id(include_unreviewed=True) == snap
        assert all(x.made == 0 and x.stored == 0 and x.from_cache == x.asked for x in again)
        # a longer batch asks only for the new items; an edited seed is a new version with its own batch
        more = generate(p, _provider(p, server), labels=["scam"], n=24)
        assert sum(server.items_asked[n_req:]) == 4 + 18  # 4 more of seed-scam, 18 more of seed-hn (6 -> 24)
        assert {x.seed_id: x.made for x in more} == {"seed-scam": 4, "seed-hn": 18}
        edited = dict(SEEDS)
        edited["seeds"] = [
            dict(SEEDS["seeds"][0], text="You are the lucky winner of a phone, pay the shipping fee with gift cards."),
            SEEDS["seeds"][1],
        ]
        (tmp_path / "seeds2.yaml").write_text(yaml.safe_dump(edited))
        n_req = len(server.requests)
        out = generate(p, _provider(p, server), seeds_file=tmp_path / "seeds2.yaml", n=24)
    assert {x.seed_id for x in out} == {"seed-scam@v2", "seed-hn"}
    assert {x.seed_id: x.made for x in out} == {"seed-scam@v2": 24, "seed-hn": 0}
    assert sum(server.items_asked[n_req:]) == 24
    versions = p.seeds.frame().set_index("id")
    assert versions.loc["seed-scam@v2", "version"] == 2 and versions.loc["seed-scam@v2", "base_id"] == "seed-scam"
    assert versions.loc["seed-scam", "n_records"] == 24  # the old version's batch is as it was


@pytest.mark.slow  # real retries and backoff waits against the fake endpoint: 8-15 s
def test_a_killed_run_resumes_from_the_cache(tmp_path):
    p = _project(tmp_path, chunk=2, concurrency=1)
    p.close()
    with FakeChatServer(delay=0.15) as server:
        code = (
            f"import sys; from workbench.cli import main; sys.exit(main(['generate', {str(p.root)!r}, "
            f"'--provider', 'openai-compatible', '--base-url', {server.url!r}, '--model', 'fake-model']))"
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        deadline = time.time() + 60
        while sum(server.items_asked) < 8 and time.time() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        first = sum(server.items_asked)
        assert 8 <= first < 26
        with Project(p.root) as again:
            out = generate(again, _provider(again, server))
            f = again.records.frame()
    resumed = sum(server.items_asked) - first
    made_before = sum(x.from_cache for x in out)
    assert made_before >= first - 2 * 1  # every finished request's items were cached (at most one chunk lost)
    assert resumed == 26 - made_before  # only the missing items were asked for
    assert (f["origin"] == "generated").sum() == 26


def test_client_errors_fail_loudly_without_storing(tmp_path):
    p = _project(tmp_path)
    with FakeChatServer() as server:
        bad = make_provider(p, "openai-compatible", base_url=server.url + "/nowhere", model="m")
        n = len(p.records.frame())
        with pytest.raises(WorkbenchError, match="expected HTTP 200, got HTTP 404"):
            generate(p, bad)
        assert len(server.requests) == 1  # a client error is not retried
    assert len(p.records.frame()) == n
    with pytest.raises(WorkbenchError, match="expected an http"):
        make_provider(p, "openai-compatible", base_url="ftp://x", model="m")
    with pytest.raises(WorkbenchError, match="API key variable NO_SUCH_VAR"):
        make_provider(p, "openai-compatible", base_url="http://127.0.0.1:9", model="m", api_key_env="NO_SUCH_VAR")


@pytest.mark.slow  # real retries and backoff waits against the fake endpoint: 8-15 s
def test_backoff_grows_between_attempts_and_the_rate_limit_spaces_requests(tmp_path):
    import time as _time

    p = _project(tmp_path, backoff=0.2, max_backoff=2.0, chunk=20)
    stamps = []
    with FakeChatServer(["429", "500", "ok"]) as server:
        provider = _provider(p, server)
        original = provider._request

        def timed(*a, **kw):
            stamps.append(_time.monotonic())
            return original(*a, **kw)

        provider._request = timed
        generate(p, provider, labels=["spam"])  # no seed targets spam alone: nothing to make
        assert server.requests == []
        out = generate(p, provider, n=3)
    gaps = [b - a for a, b in zip(stamps, stamps[1:3])]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4  # exponential: 0.2 s, then 0.4 s
    assert {x.seed_id: x.stored for x in out} == {"seed-scam": 3, "seed-hn": 3}
    p2 = _project(tmp_path / "rpm", rpm=120, concurrency=4, chunk=1)
    with FakeChatServer() as server:
        t0 = _time.monotonic()
        generate(p2, _provider(p2, server), n=3)  # 6 requests at 2 per second
        assert len(server.requests) == 6 and _time.monotonic() - t0 >= 2.4


@pytest.mark.slow  # real retries and backoff waits against the fake endpoint: 8-15 s
def test_a_flaky_endpoint_that_answers_short_still_fills_the_batch_in_one_run(tmp_path):
    """429 (Retry-After), 500, malformed JSON, a refusal, a truncated answer, then 4 examples per call of
    which one repeats the first half of the seed verbatim: five faults in a row stay under the budget of
    six, and every short answer after them makes progress, which resets the count."""
    from workbench.cli import main

    p = _project(tmp_path, chunk=20, max_attempts=6)
    p.close()
    script = ["429-retry-after", "500", "malformed", "refusal", "truncated"]
    only = tmp_path / "only.yaml"
    seed = {**SEEDS["seeds"][0], "id": "seed-scam-only", "batch_size": 12, "overlap": {}}
    only.write_text(yaml.safe_dump({"seeds": [seed]}))
    with FakeChatServer(script, default="four-half-seed") as server:
        code = main(
            [
                "generate",
                str(tmp_path / "proj"),
                "--provider",
                "openai-compatible",
                "--base-url",
                server.url,
                "--model",
                "fake-model",
                "--seeds",
                str(only),
            ]
        )
        waited = server.requests[1]["at"] - server.requests[0]["at"]
    assert code == 0
    asked_for = {r["body"]["messages"][-1]["content"].split("):\n", 1)[1].split("\n", 1)[0] for r in server.requests}
    assert asked_for == {seed["text"]}  # only FILE's seed, not the project's other approved seeds
    assert waited >= 0.9  # the 429's Retry-After: 1 was honoured (the configured backoff is 0.01 s)
    with Project(tmp_path / "proj") as q:
        f = q.records.frame()
        gen = f[(f["origin"] == "generated") & (f["seed_id"] == "seed-scam-only")]
        assert len(gen) == 12 and (gen["scam"] == 1).all()
        half = seed["text"][: len(seed["text"]) // 2]
        assert not gen["text"].str.startswith(half[:20]).any()  # the verbatim half of the seed: never stored
        assert not gen["text"].str.contains("examples").any()  # nothing of a bad answer stored
        assert set(f.loc[f["origin"] == "generated", "seed_id"]) == {"seed-scam-only"}


def test_a_seed_that_ends_short_is_named_and_the_run_fails(tmp_path, capsys):
    from workbench.cli import main

    p = _project(tmp_path, chunk=20, max_attempts=2)
    p.close()
    with FakeChatServer(default="500") as server:
        code = main(
            [
                "generate",
                str(tmp_path / "proj"),
                "--provider",
                "openai-compatible",
                "--base-url",
                server.url,
                "--model",
                "fake-model",
                "--labels",
                "scam",
            ]
        )
    out = capsys.readouterr().out
    assert code == 1
    assert "ended short after every attempt: seed-hn (6 of 6 missing), seed-scam (20 of 20 missing)" in out
    assert "missing" in out.splitlines()[0]


def test_repeats_of_the_seed_are_caught_by_containment():
    from workbench.generate.openai_compatible import _shingles, repeats_seed

    seed = "Congratulations, you won a gift card! Send your bank login to claim it."
    assert repeats_seed(_shingles(seed[: len(seed) // 2]), _shingles(seed))  # Jaccard alone misses this
    assert repeats_seed(_shingles(seed), _shingles(seed))
    assert not repeats_seed(_shingles("Your parcel is stuck at customs, pay the fee in crypto."), _shingles(seed))


def test_retuning_overlap_asks_only_for_changed_slots_and_never_reuses_an_item_for_other_labels(tmp_path):
    """Generate 20 with overlap 0.2, re-import the seed with overlap 0.5 (same text): a new plan of the
    same seed version. The re-run asks only for the slots whose labels changed (appended after the
    existing ones), the batch then holds round(0.5 * 20) records with both labels, and no active record's
    labels disagree with its slot."""
    p = _project(tmp_path)
    seed = {**SEEDS["seeds"][0], "overlap": {"spam": 0.2}, "batch_size": 20}
    path = tmp_path / "retune.yaml"
    path.write_text(yaml.safe_dump({"seeds": [seed]}))
    p.records.import_file(path, "seeds")
    with FakeChatServer() as server:
        (first,) = generate(p, _provider(p, server), labels=["scam"], n=None, seeds_file=path)
        asked_first = sum(server.items_asked)
        assert first.stored == 20 and asked_first == 20
        seed["overlap"] = {"spam": 0.5}
        path.write_text(yaml.safe_dump({"seeds": [seed]}))
        (second,) = generate(p, _provider(p, server), seeds_file=path)
        asked_second = sum(server.items_asked) - asked_first
    stored = p.seeds.frame().set_index("id").loc["seed-scam"]
    assert stored["version"] == 1 and stored["overlap"] == {"spam": 0.5}  # same version, new plan
    ev = p.store.events(target="seed-scam")
    assert "seed_plan" in set(ev["kind"])
    assert asked_second == 6 and second.made == 6 and second.dropped_slots == 6  # 4..9 changed: 6 new, 6 dropped
    f = p.records.frame()
    batch = f[f["batch_id"] == first.batch_id]
    live = batch[batch["status"] != "quarantined"]
    assert len(live) == 20 and ((live["scam"] == 1) & (live["spam"] == 1)).sum() == round(0.5 * 20)
    slots = p.batches.frame().set_index("id").loc[first.batch_id, "summary"]["slots"]
    for _, row in live.iterrows():
        idx = str(row["meta"]["item_index"])
        assert slots[idx]["active"] and all(row[lab] == v for lab, v in slots[idx]["labels"].items())
    indices = sorted(int(i) for i in live["meta"].map(lambda m: m["item_index"]))
    assert indices == list(range(14)) + list(range(20, 26))  # kept items did not move; new ones appended
    dropped = batch[batch["status"] == "quarantined"]
    assert len(dropped) == 6 and dropped["status_reason"].str.contains("new generation plan").all()
