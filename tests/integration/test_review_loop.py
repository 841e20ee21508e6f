"""The review loops against the real embedded Argilla: seeds and generated batches pushed, answered by two
annotators (their own users, answering through the SDK's client on the endpoint the UI uses), pulled
back. The poisoned seed and its batch are quarantined, the good batch accepted, agreement reported."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pandas as pd
import pytest
import yaml

from curation import Project, Taxonomy
from training import TrainSpec, train_model
from workbench.argilla.stack import ServerStack, StackSettings
from workbench.review import (
    BATCH_REVIEW,
    NONE_LABEL,
    SAMPLE_REVIEW,
    SEED_REVIEW,
    pull,
    push_batches,
    push_seeds,
    review_status,
)
from workbench.review.records import batch_record, seed_record
from workbench.review.templates import guidelines, settings_for

from ..conftest import REPO

pytestmark = pytest.mark.slow

GOOD = [
    ("You won a $500 store voucher!! Reply with your card number and PIN to receive it today.", ["scam", "spam"]),
    ("Final notice: your prize expires tonight, send the 4.99 processing fee to claim your reward.", ["scam", "spam"]),
    ("Dear customer your account is locked, verify your password at the link below to unlock it.", ["scam"]),
    ("I am a bank officer and can move 2 million to you, I only need your passport copy first.", ["scam"]),
    ("Your parcel is held at customs, pay the release fee with crypto to get it delivered.", ["scam"]),
    ("Lucky winner! Claim the new phone you won by paying shipping with a gift card code.", ["scam", "spam"]),
]


def _poisoned_texts() -> list[tuple[str, list[str]]]:
    """Real hateful or offensive tweets (Davidson et al., MIT) that the poisoned batch calls benign."""
    out = []
    with open(REPO / "data" / "demo" / "davidson_slice.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["class"] in ("0", "1") and len(row["tweet"]) > 40:
                out.append((row["tweet"], ["hate", "offensive"] if row["class"] == "0" else ["offensive"]))
            if len(out) == 8:
                return out
    return out


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = ServerStack(StackSettings(home=tmp_path_factory.mktemp("review-home")))
    s.start(timeout=120)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def owner(stack):
    import argilla as rg

    env = stack.env()
    return rg.Argilla(api_url=env["ARGILLA_API_URL"], api_key=env["ARGILLA_API_KEY"], timeout=120)


def _project(root, poisoned, config=None):
    p = Project.init(
        root, taxonomy=REPO / "data" / "demo" / "taxonomy.yaml", name=f"review-{uuid.uuid4().hex[:6]}", config=config
    )
    p.records.import_file(REPO / "data" / "demo" / "openai_moderation_slice.jsonl", "openai_moderation")
    seeds = {
        "seeds": [
            {
                "id": "seed-scam",
                "kind": "positive",
                "target_labels": ["scam"],
                "status": "proposed",
                "text": "Congratulations! You have been selected for a free gift card. Confirm your bank details.",
                "batches": [
                    {
                        "id": "batch-scam",
                        "provider": "llm",
                        "status": "pending",
                        "records": [
                            {"text": t, "labels": {"scam": 1, "spam": int("spam" in labs)}} for t, labs in GOOD
                        ],
                    }
                ],
            },
            {
                "id": "seed-poison",
                "kind": "hard_negative",
                "target_labels": ["hate", "offensive", "harassment"],
                "status": "proposed",
                "text": "Just some friendly banter between mates, nobody means it.",
                "batches": [
                    {
                        "id": "batch-poison",
                        "provider": "llm",
                        "status": "pending",
                        "records": [
                            {"text": t, "labels": {"hate": 0, "offensive": 0, "harassment": 0}} for t, _ in poisoned
                        ],
                    }
                ],
            },
        ]
    }
    (root.parent / "seeds.yaml").write_text(yaml.safe_dump(seeds))
    p.seeds.import_file(root.parent / "seeds.yaml")
    return p


def _annotator(owner, stack, workspace):
    import argilla as rg

    name = f"ann-{uuid.uuid4().hex[:6]}"
    user = rg.User(username=name, password=uuid.uuid4().hex, role="annotator", client=owner).create()
    user.add_to_workspace(owner.workspaces(workspace))
    key = owner.api.http_client.get(f"/api/v1/users/{user.id}").json()["api_key"]
    return rg.Argilla(api_url=stack.env()["ARGILLA_API_URL"], api_key=key, timeout=120)


class _Rec:  # what an answer function reads of a record: its external id, fields and metadata
    def __init__(self, item: dict):
        self.id, self.fields, self.metadata = item["external_id"], item["fields"], item.get("metadata") or {}


def _answer(client, workspace, dataset, answer):
    """Submit, for every record, the values ``answer(record)`` returns, as the UI does: the annotator's
    own record search, then one response per record."""
    ds = client.datasets(name=dataset, workspace=workspace)
    http = client.api.http_client
    found = http.post(f"/api/v1/me/datasets/{ds.id}/records/search", params={"limit": 1000}, json={})
    assert found.status_code < 300, found.text
    n = 0
    for hit in found.json()["items"]:
        item = hit["record"]
        values = answer(_Rec(item))
        if values is None:  # already answered by this annotator (a top-up), or not this test's to answer
            continue
        r = http.post(
            f"/api/v1/records/{item['id']}/responses",
            json={"status": "submitted", "values": {q: {"value": v} for q, v in values.items()}},
        )
        assert r.status_code < 300, r.text
        n += 1
    return n


def test_poisoned_seed_and_batch_are_quarantined_and_the_good_batch_accepted(tmp_path, stack, owner):
    poisoned = _poisoned_texts()
    truth = {t: labs for t, labs in GOOD + poisoned}
    p = _project(tmp_path / "proj", poisoned)
    ws = p.settings.name
    before_model = train_model(
        p, tmp_path / "before", TrainSpec(recipe="tfidf", group="safety", mix=False, include_unreviewed=True)
    )
    first = push_seeds(p, owner)
    assert first["pushed"] == 2
    assert push_batches(p, owner)["pushed"] == len(GOOD) + len(poisoned)
    assert push_seeds(p, owner) == {"pushed": 0, "unchanged": 2, "answered_kept": 0}  # idempotent
    assert push_batches(p, owner)["pushed"] == 0
    changed = p.records.frame().query("batch_id == 'batch-scam'")["id"].iloc[0]
    p.store.set_labels(changed, {"violence": 0}, actor="curator")  # a store change: only that record is sent again
    assert push_batches(p, owner) == {"pushed": 1, "unchanged": len(truth) - 1, "answered_kept": 0, "batches": 2}
    annotators = [_annotator(owner, stack, ws) for _ in range(2)]

    def seed_answer(rec):
        if rec.id == "seed:seed-poison":
            return {"verdict": "reject", "reason": "harassing texts framed as banter"}
        return {"verdict": "approve"}

    for k, client in enumerate(annotators):
        assert _answer(client, ws, SEED_REVIEW, seed_answer) == 2

        def batch_answer(rec, k=k):
            labs = list(truth[rec.fields["text"]])
            if k == 1 and rec.fields["text"].startswith("Lucky"):  # the second annotator also sees harassment
                labs = [*labs, "harassment"]  # (a label the generator did not assert: a conflict, not an error)
            valid = "no" if rec.metadata["seed_id"] == "seed-poison" else "yes"
            return {"labels": labs or ["none"], "valid": valid}

        assert _answer(client, ws, BATCH_REVIEW, batch_answer) == len(truth)
    snap0 = p.snapshots.id()
    report = pull(p, owner)
    applied = report["applied"]
    assert applied["seeds_rejected"] == 1 and applied["seeds_approved"] == 1
    assert applied["batches_rejected"] == 1 and applied["batches_accepted"] == 1
    assert applied["annotations"] == 2 * (3 + 2 * len(truth))  # per annotator: verdict (+ reason), labels + valid
    seeds = p.seeds.frame().set_index("id")
    assert seeds.loc["seed-poison", "quarantined"] and "banter" in seeds.loc["seed-poison", "quarantine_reason"]
    assert seeds.loc["seed-scam", "status"] == "approved" and not seeds.loc["seed-scam", "quarantined"]
    batches = p.batches.frame().set_index("id")
    assert batches.loc["batch-scam", "status"] == "accepted" and batches.loc["batch-poison", "status"] == "rejected"
    assert p.snapshots.id() != snap0
    batch_report = report[BATCH_REVIEW]
    assert batch_report["batches"]["batch-poison"]["errors"] == len(poisoned)
    agreement = batch_report["agreement"]
    assert agreement["harassment"]["records"] == len(truth) and agreement["harassment"]["alpha"] < 1.0
    assert agreement["scam"]["alpha"] == pytest.approx(1.0)
    assert [c["labels"] for c in batch_report["conflicts"]] == [["harassment"]]
    # both batches were reviewed in full (6 and 8 records): decided on their own error rates
    assert (
        batch_report["batches"]["batch-scam"]["errors"] == 0
        and batch_report["batches"]["batch-scam"]["verdict"] == "accepted"
    )
    f = p.records.frame().set_index("text")
    assert f.loc[GOOD[0][0], "scam"] == 1 and f.loc[GOOD[0][0], "label_provenance"]["scam"] == "annotator"
    assert (f.loc[[t for t, _ in poisoned], "offensive"] == 1).all()  # corrected, and quarantined
    assert push_seeds(p, owner) == {"pushed": 0, "unchanged": 0, "answered_kept": 1}  # an answer is never overwritten
    # a second pull changes nothing
    again = pull(p, owner)["applied"]
    assert set(again.values()) == {0}
    # the poisoned records were in a model's training set before, and are gone after, even with the override
    after_model = train_model(
        p, tmp_path / "after", TrainSpec(recipe="tfidf", group="safety", mix=False, include_unreviewed=True)
    )
    before_frame = p.snapshots.read(before_model.card.snapshot_id)[0]
    after_frame = p.snapshots.read(after_model.card.snapshot_id)[0]
    poisoned_texts = {t for t, _ in poisoned}
    assert poisoned_texts <= set(before_frame["text"]) and not poisoned_texts & set(after_frame["text"])
    assert set(t for t, _ in GOOD) <= set(after_frame["text"])
    status = review_status(p, owner)
    assert status[BATCH_REVIEW]["submitted"] == len(truth) and status["batches"]["batch-poison"] == "rejected"


def _tweets(cls: str, n: int, skip: int = 0) -> list[str]:
    """``n`` real tweets of one Davidson class (0 hate, 1 offensive, 2 neither), distinct and not short."""
    out, seen = [], set()
    with open(REPO / "data" / "demo" / "davidson_slice.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            t = row["tweet"]
            if row["class"] == cls and len(t) > 30 and t not in seen:
                seen.add(t)
                out.append(t)
    return out[skip : skip + n]


def _hard_negative_batches(tmp_path, name: str, groups: dict[str, list[str]]) -> Project:
    """A project (no gold copies in its pushes) with one hard-negative seed per batch of ``groups`` (batch id ->
    texts), every text asserted benign for hate and offensive, the batches pending."""
    p = Project.init(
        tmp_path / "p",
        taxonomy=REPO / "data" / "demo" / "taxonomy.yaml",
        name=f"{name}-{uuid.uuid4().hex[:6]}",
        config={"review": {"gold_rate": 0.0}},
    )
    doc = {
        "seeds": [
            {
                "id": f"seed-{bid}",
                "kind": "hard_negative",
                "target_labels": ["hate", "offensive"],
                "status": "approved",
                "text": "An ordinary tweet that insults nobody.",
                "batches": [
                    {
                        "id": bid,
                        "provider": "llm",
                        "records": [{"text": t, "labels": {"hate": 0, "offensive": 0}} for t in texts],
                    }
                ],
            }
            for bid, texts in groups.items()
        ]
    }
    (tmp_path / "seeds.yaml").write_text(yaml.safe_dump(doc))
    p.seeds.import_file(tmp_path / "seeds.yaml")
    return p


def test_batch_acceptance_is_a_sampling_plan_with_two_annotators(tmp_path, stack, owner):
    """Three 60-record hard-negative batches of real tweets asserted benign, 20 sampled each, two
    annotators answering: the clean one needs 15 more and is accepted after the top-up (35 reviews),
    the one answered with 4 of 20 wrong is not accepted, the poisoned one is rejected at 20."""
    benign, offensive = _tweets("2", 140), _tweets("1", 60)
    groups = {"b-clean": benign[:60], "b-four": benign[60:120], "b-poison": offensive}
    p = _hard_negative_batches(tmp_path, "plan", groups)  # no gold: the exact counts of the plan
    ws = p.settings.name
    assert push_batches(p, owner, per_batch=20)["pushed"] == 60
    annotators = [_annotator(owner, stack, ws) for _ in range(2)]
    sampled = p.records.frame().set_index("text")["batch_id"]
    four_wrong = set()  # 4 of the 20 pushed records of b-four that the annotators find offensive

    def make_answer(done: set):
        def answer(rec):
            if rec.id in done:
                return None
            done.add(rec.id)
            bid = sampled[rec.fields["text"]]
            if bid == "b-four" and (len(four_wrong) < 4 or rec.id in four_wrong):
                four_wrong.add(rec.id)
            wrong = bid == "b-poison" or rec.id in four_wrong
            return {"labels": ["offensive"] if wrong else ["none"], "valid": "yes"}

        return answer

    answered = [set(), set()]
    for client, done in zip(annotators, answered):
        assert _answer(client, ws, BATCH_REVIEW, make_answer(done)) == 60
    report = pull(p, owner)
    first = report[BATCH_REVIEW]["batches"]
    assert first["b-clean"]["verdict"] == "needs_more" and first["b-clean"]["needs"] == 15
    assert first["b-four"]["errors"] == 4 and first["b-four"]["reviewed"] == 20
    assert first["b-four"]["verdict"] in ("rejected", "needs_more")  # never accepted
    assert first["b-poison"]["verdict"] == "rejected" and first["b-poison"]["reviewed"] == 20
    status = p.batches.frame().set_index("id")
    assert status.loc["b-clean", "status"] == "pending" and status.loc["b-poison", "status"] == "rejected"
    assert status.loc["b-four", "status"] != "accepted"
    assert status.loc["b-clean", "summary"]["review"]["needs"] == 15
    # the top-up: exactly the batch that needs more gets exactly that many more
    top = push_batches(p, owner, per_batch=20)
    assert top["pushed"] == 15 and top["topped_up"] == {"b-clean": 35}
    for client, done in zip(annotators, answered):
        assert _answer(client, ws, BATCH_REVIEW, make_answer(done)) == 15
    second = pull(p, owner)[BATCH_REVIEW]["batches"]["b-clean"]
    assert second["verdict"] == "accepted" and second["reviewed"] == 35 <= 40 and second["errors"] == 0
    assert p.batches.frame().set_index("id").loc["b-clean", "status"] == "accepted"


def _answered_project(root, stack, owner) -> Project:
    """A project whose seeds and batches are pushed and answered by one annotator (every seed approved, every
    batch record "scam" and valid), not pulled yet."""
    p = _project(root, _poisoned_texts())
    ws = p.settings.name
    push_seeds(p, owner)
    push_batches(p, owner)
    ann = _annotator(owner, stack, ws)
    _answer(ann, ws, SEED_REVIEW, lambda rec: {"verdict": "approve"})
    _answer(ann, ws, BATCH_REVIEW, lambda rec: {"labels": ["scam"], "valid": "yes"})
    return p


def test_a_killed_pull_is_completed_by_a_rerun(tmp_path, stack, owner):
    p = _answered_project(tmp_path / "proj", stack, owner)
    events0, snap0 = len(p.store.events()), p.snapshots.id(include_unreviewed=True)
    p.close()
    env = stack.env()
    code = (
        "import os, signal; from curation import Store\n"
        "calls = []\n"
        "original = Store.write_labels\n"
        "def dying(self, *a, **k):\n"
        "    calls.append(1)\n"
        "    if len(calls) == 5: os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return original(self, *a, **k)\n"
        "Store.write_labels = dying\n"
        "from workbench.cli import main\n"
        f"main(['review', 'pull', {str(p.root)!r}])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "ARGILLA_API_URL": env["ARGILLA_API_URL"], "ARGILLA_API_KEY": env["ARGILLA_API_KEY"]},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    with Project(p.root) as again:
        assert len(again.store.events()) == events0 and again.snapshots.id(include_unreviewed=True) == snap0
        applied = pull(again, owner)["applied"]
        assert applied["labels"] > 0 and applied["batches_accepted"] + applied["batches_rejected"] == 2
        assert set(pull(again, owner)["applied"].values()) == {0}


def test_a_new_review_dataset_is_one_declaration(tmp_path, stack, owner, monkeypatch, capsys):
    """A dataset declared outside the package gets its Argilla settings and guidelines, its command-line verb,
    its share of `pull` and its line in `status` from its declaration alone."""
    import argilla as rg

    from workbench.cli import main
    from workbench.review import REVIEW_DATASETS, ReviewDataset, ReviewVerb, register_dataset
    from workbench.review.pull import collect_answers
    from workbench.review.push import dataset_for

    def push_flags(args, project, client):
        ds = dataset_for(client, project, "flag-review", workspace=args.workspace)
        rows = project.records.frame().head(args.n)
        records = [rg.Record(id=f"flag:{i}", fields={"text": t}) for i, t in zip(rows["id"], rows["text"])]
        # a batch larger than the records makes the SDK print a notice to stdout where __main__ has no __file__
        # (a pytest-xdist worker, a notebook), which would precede the verb's JSON
        ds.records.log(records, batch_size=len(records))
        return {"pushed": len(rows)}

    def pull_flags(ctx):
        answers, _, counts = collect_answers(ctx.dataset)
        flagged = sorted(rid for rid, by_q in answers.items() if "yes" in by_q.get("flag", {}).values())
        return {**counts, "flagged": flagged}

    register_dataset(
        ReviewDataset(
            "flag-review",
            task="Is this post worth a second look by the policy team?",
            fields=lambda rg: [rg.TextField(name="text", title="Post")],
            questions=lambda rg, taxonomy: [rg.LabelQuestion(name="flag", labels=["yes", "no"])],
            pull=pull_flags,
            status_agreement=False,
            verbs=(
                ReviewVerb(
                    "push-flags",
                    "posts for the policy team into flag-review",
                    push_flags,
                    (("--n", {"type": int, "default": 3}),),
                ),
            ),
        )
    )
    try:
        p = _project(tmp_path / "proj", [])
        ws = p.settings.name
        env = stack.env()
        monkeypatch.setenv("ARGILLA_API_URL", env["ARGILLA_API_URL"])
        monkeypatch.setenv("ARGILLA_API_KEY", env["ARGILLA_API_KEY"])
        assert main(["review", "push-flags", str(p.root), "--n", "4"]) == 0
        assert json.loads(capsys.readouterr().out) == {"pushed": 4}
        ds = owner.datasets(name="flag-review", workspace=ws)
        assert ds.settings.guidelines.startswith("Is this post worth a second look")
        assert [q.name for q in ds.settings.questions] == ["flag"]
        ann = _annotator(owner, stack, ws)
        assert (
            _answer(ann, ws, "flag-review", lambda rec: {"flag": "yes" if rec.id.endswith(("0", "2")) else "no"}) == 4
        )
        report = pull(p, owner)
        assert report["flag-review"]["submitted"] == 4
        assert report["flag-review"]["flagged"] == sorted(
            f"flag:{i}" for i in p.records.frame().head(4)["id"] if str(i).endswith(("0", "2"))
        )
        assert review_status(p, owner)["flag-review"]["submitted"] == 4
        p.close()
    finally:
        REVIEW_DATASETS.pop("flag-review")


TAX = Taxonomy.from_dict(
    {
        "labels": [
            {"name": "harassment", "description": "abuse aimed at a person"},
            {"name": "spam", "description": "bulk promotion"},
        ]
    }
)


def test_dataset_settings_are_the_documented_interface(owner):  # the SDK builds these with a client
    seeds = settings_for(SEED_REVIEW, TAX, dimensions=384)
    assert [q.name for q in seeds.questions] == ["verdict", "edited_text", "reason"]
    assert list(seeds.questions["verdict"].labels) == ["approve", "reject", "needs_edit"]
    batches = settings_for(BATCH_REVIEW, TAX, dimensions=384, min_submitted=2)
    assert list(batches.questions["labels"].labels) == ["harassment", "spam", NONE_LABEL]  # taxonomy order + none
    assert list(batches.questions["valid"].labels) == ["yes", "no"]
    assert batches.distribution.min_submitted == 2
    assert {m.name for m in batches.metadata} == {"record_id", "seed_id", "batch_id", "split", "source", "context"}
    text = guidelines(TAX, SEED_REVIEW)
    assert "never coercive" in text and "abuse aimed at a person" in text


def test_records_carry_store_ids_and_a_stable_content_hash(owner):
    row = {
        "id": "generated:b#1",
        "text": "buy now",
        "seed_id": "s",
        "batch_id": "b",
        "split": "train",
        "source": "generated",
        "context": "MESSAGE",
        "harassment": float("nan"),
        "spam": 1.0,
    }
    a, b = (
        batch_record(row, "seed text", ["harassment", "spam"], [0.0] * 4),
        batch_record(dict(row), "seed text", ["harassment", "spam"], [1.0] * 4),
    )
    assert a.id == "generated:b#1" and a.metadata["content_hash"] == b.metadata["content_hash"]
    assert json.loads(a.metadata["intended"]) == {"spam": 1}  # unknown labels are not asserted
    assert a.suggestions["labels"].value == ["spam"]
    changed = batch_record({**row, "text": "buy later"}, "seed text", ["harassment", "spam"], [0.0] * 4)
    assert changed.metadata["content_hash"] != a.metadata["content_hash"]
    s = seed_record(
        {"id": "s", "text": "t", "kind": "hard_negative", "target_labels": ["spam"], "overlap": {}, "context": None},
        [],
        [0.0] * 4,
    )
    assert s.id == "seed:s" and s.fields["examples"] == "(no batch yet)" and s.fields["kind"] == "hard negative"


def test_error_review_never_pushes_holdout_and_corrections_flow_back(tmp_path, stack, owner):
    import argilla as rg

    from workbench import build_demo
    from workbench.review import ERROR_REVIEW, push_errors

    project, _ = build_demo(tmp_path / "demo")
    ws = f"errors-{uuid.uuid4().hex[:6]}"
    model = train_model(project, tmp_path / "model", TrainSpec(recipe="heads", group="safety", mix=False))
    out = push_errors(project, owner, model, per_kind=10, workspace=ws)
    assert out["pushed"] > 0 and out["n_fp"] + out["n_fn"] > 0
    ds = owner.datasets(name=ERROR_REVIEW, workspace=ws)
    recs = list(ds.records(with_suggestions=True, with_vectors=True))
    assert len(recs) == out["pushed"]
    frame = project.records.frame()
    holdout = set(frame.loc[frame["split"] == "holdout", "id"])
    assert not holdout & {r.id for r in recs} and {r.metadata["split"] for r in recs} <= {"train", "valid", "calib"}
    for r in recs:
        s = r.suggestions["labels"]
        assert len(s.score) == len(s.value) and all(0.0 <= x <= 1.0 for x in s.score)
        assert r.metadata["error_type"] in ("fp", "fn", "unknown_positive", "duplicate_conflict")
    scored = sorted((r.metadata["label_quality_score"], r.id) for r in recs if "label_quality_score" in r.metadata)
    assert scored and all(0.0 <= q <= 1.0 for q, _ in scored)
    # "find similar" from one error returns its nearest records, the most similar first
    target = recs[0]
    similar = list(
        ds.records(query=rg.Query(similar=rg.Similar(name="embedding", value=target.vectors["embedding"])), limit=5)
    )
    hits = [item[0] if isinstance(item, tuple) else item for item in similar]  # (record, score) pairs
    assert hits and hits[0].id == target.id  # itself first: the same vector
    # an annotator says the model was right about a false positive: the label flows back into the store
    fp = next(r for r in recs if r.metadata["error_type"] == "fp")
    label = fp.metadata["label"]
    ann = _annotator(owner, stack, ws)

    def answer(rec):
        return {"labels": [label] if rec.id == fp.id else ["none"]}

    _answer(ann, ws, ERROR_REVIEW, answer)
    snap0 = project.snapshots.id()
    applied = pull(project, owner, workspace=ws)["applied"]
    assert applied["labels"] > 0 and project.snapshots.id() != snap0
    row = project.records.frame().set_index("id").loc[fp.id]
    assert row[label] == 1 and row["label_provenance"][label] == "annotator"
    snap = project.snapshots.read()[0].set_index("id")
    assert snap.loc[fp.id, label] == 1
    events = project.store.events(target=fp.id)
    assert ((events["kind"] == "label") & (events["question"] == label)).any()  # the old value kept in the events
    # the other false positives were confirmed (kept at 0): each is now a hard negative for its label
    confirmed = {r.id: r.metadata["label"] for r in recs if r.metadata["error_type"] == "fp" and r.id != fp.id}
    assert confirmed and applied["hard_negatives"] == len(confirmed)
    after = project.records.frame().set_index("id")
    for rid, lab in confirmed.items():
        assert after.loc[rid, "hard_negative"] and lab in after.loc[rid, "hard_negative_labels"]
    assert not after.loc[fp.id, "hard_negative"]
    lab = next(iter(confirmed.values()))
    want = sum(1 for v in confirmed.values() if v == lab)
    mix = project.views.training_mix("safety", hard_negatives_per_label={lab: want}, split=None)
    assert mix.per_label.loc[lab, "hard_negatives"] >= want and mix.per_label.loc[lab, "hard_negative_target"] == want


def test_four_annotators_answering_at_once_lose_no_response(tmp_path, stack, owner):
    from concurrent.futures import ThreadPoolExecutor

    poisoned = _poisoned_texts()
    p = _project(tmp_path / "proj", poisoned)
    ws = p.settings.name
    assert push_batches(p, owner, min_submitted=4)["pushed"] == len(GOOD) + len(poisoned)
    annotators = [_annotator(owner, stack, ws) for _ in range(4)]

    def work(k):
        return _answer(
            annotators[k],
            ws,
            BATCH_REVIEW,
            lambda rec: {"labels": ["scam"] if (k + len(rec.fields["text"])) % 2 else ["none"], "valid": "yes"},
        )

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(work, range(4))) == [len(GOOD) + len(poisoned)] * 4
    report = pull(p, owner)
    assert report["applied"]["annotations"] == 4 * 2 * (len(GOOD) + len(poisoned))  # every answer, once
    assert report[BATCH_REVIEW]["submitted"] == len(GOOD) + len(poisoned)
    assert report[BATCH_REVIEW]["agreement"]["scam"]["records"] == len(GOOD) + len(poisoned)
    events = p.store.events()
    assert (events["kind"] == "annotation").sum() == 4 * 2 * (len(GOOD) + len(poisoned))


def test_a_map_selection_goes_to_review_and_its_answers_come_back(tmp_path, stack, owner):
    """A region of the map (here: the records tagged from it) is pushed to error-review with the stored
    labels as the suggestion, and to batch-review; an annotator's correction lands in the store."""
    from workbench.review import ERROR_REVIEW, push_selection

    p = _project(tmp_path / "proj", _poisoned_texts())
    ws = f"map-{uuid.uuid4().hex[:6]}"
    frame = p.records.frame()
    chosen = frame[frame["source"] == "openai_moderation"]["id"].tolist()[:6]
    p.records.tag(chosen, "map-region")
    ids = p.records.tags("map-region")["record_id"].tolist()
    with pytest.raises(Exception, match="unknown"):
        push_selection(p, owner, [*ids, "nope"], workspace=ws)
    assert owner.workspaces(ws) is None  # refused before anything was created
    out = push_selection(p, owner, ids, workspace=ws, reason="map region")
    assert out["selected"] == 6 and out["pushed"] == 6
    again = push_selection(p, owner, ids, workspace=ws, reason="map region")
    assert again["pushed"] == 0  # unchanged records are not sent twice
    recs = list(owner.datasets(name=ERROR_REVIEW, workspace=ws).records(with_suggestions=True))
    assert sorted(r.id for r in recs) == sorted(ids)
    by_id = frame.set_index("id")
    for r in recs:
        assert r.metadata["error_type"] == "map region" and r.suggestions["labels"].agent == "store"
        stored = [lab for lab in p.taxonomy.label_names if by_id.loc[r.id, lab] == 1]
        assert sorted(r.suggestions["labels"].value) == sorted(stored or [NONE_LABEL])
    target = ids[0]
    ann = _annotator(owner, stack, ws)
    _answer(ann, ws, ERROR_REVIEW, lambda rec: {"labels": ["scam"] if rec.id == target else [NONE_LABEL]})
    pull(p, owner, workspace=ws)
    assert p.records.frame().set_index("id").loc[target, "scam"] == 1
    out = push_selection(p, owner, ids[:2], dataset=BATCH_REVIEW, workspace=ws)
    assert out["pushed"] == 2
    assert len(list(owner.datasets(name=BATCH_REVIEW, workspace=ws).records())) == 2


def test_review_panel_pushes_pulls_and_shows_counts(tmp_path, stack, owner):
    from workbench.panels import ReviewPanel

    p = _project(tmp_path / "proj", _poisoned_texts())
    ws = f"panel-{uuid.uuid4().hex[:6]}"
    panel = ReviewPanel(p, owner, workspace=ws)
    assert panel.buttons["push_errors"].disabled  # no model given
    panel.buttons["push_seeds"].click()
    panel.buttons["push_batches"].click()
    st = panel.last_status
    assert st[SEED_REVIEW]["pushed"] == 2 and st[BATCH_REVIEW]["pushed"] == 14
    assert st["batches"] == {"batch-scam": "pending", "batch-poison": "pending"}
    assert "datasets" in panel.view.value and "batches by status" in panel.view.value
    ann = _annotator(owner, stack, ws)
    truth = dict(GOOD + _poisoned_texts())
    _answer(ann, ws, BATCH_REVIEW, lambda rec: {"valid": "yes", "labels": truth[rec.fields["text"]]})
    panel.buttons["pull"].click()
    assert panel.last_result["applied"] and "pulled" in panel.message
    assert panel.last_status[BATCH_REVIEW]["submitted"] == 14
    name = ann.me.username  # the panel shows each annotator's figures and flag
    assert name in panel.last_status["annotators"] and name in panel.view.value and "gold accuracy" in panel.view.value


def _without_gold(p: Project) -> Project:
    """``p`` reopened with no known-answer records mixed into pushes (tests that count pushed records)."""
    path = p.root / "workbench.yaml"
    cfg = yaml.safe_load(path.read_text())
    cfg.setdefault("review", {})["gold_rate"] = 0.0
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    p.close()
    return Project(p.root)


def _davidson_batches(exclude: set[str], n: int = 25) -> tuple[list[str], list[str], list[str]]:
    """Real tweets (Davidson et al., MIT) not in the demo: two sets of hateful ones and a set of neither."""
    from ..conftest import shared

    hateful, neither = [], []
    with open(shared("davidson/labeled_data.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = row["tweet"]
            if text in exclude or len(text) < 30:
                continue
            if row["class"] == "0" and len(hateful) < 2 * n:
                hateful.append(text)
            elif row["class"] == "2" and len(neither) < n:
                neither.append(text)
    return hateful[:n], hateful[n : 2 * n], neither


def test_imported_batches_are_pending_and_the_poisoned_hard_negative_is_caught(tmp_path, stack, owner):
    """A team migrates three seeds with their batches, no status field: a good positive, a poisoned hard
    negative (hateful texts labelled benign) and a benign hard negative. All three are pending and out of
    the snapshot; the model trained on the demo flags the poisoned batch more than the benign one; two
    truthful annotators review 20 of each; the pull rejects the poisoned batch and quarantines its seed."""
    from workbench import build_demo

    p, _ = build_demo(tmp_path / "demo")
    p = _without_gold(p)
    model = train_model(p, tmp_path / "demo-model", TrainSpec(recipe="tfidf", mix=False))
    positive, poisoned, benign = _davidson_batches(set(p.records.frame()["text"]))
    truth = {**{t: ["hate"] for t in positive + poisoned}, **{t: [NONE_LABEL] for t in benign}}

    def seed(sid, kind, text, bid, texts, hate):
        return {
            "id": sid,
            "kind": kind,
            "target_labels": ["hate"],
            "status": "approved",
            "text": text,
            "batches": [
                {
                    "id": bid,
                    "provider": "old-pipeline",
                    "records": [{"text": t, "labels": {"hate": hate}} for t in texts],
                }
            ],
        }

    doc = {
        "seeds": [
            seed("seed-hate", "positive", "A post that attacks people for who they are.", "b-hate", positive, 1),
            seed(
                "seed-poison",
                "hard_negative",
                "Rough banter between friends, nobody means it.",
                "b-poison",
                poisoned,
                0,
            ),
            seed(
                "seed-benign",
                "hard_negative",
                "Everyday chat that uses strong words about things.",
                "b-benign",
                benign,
                0,
            ),
        ]
    }
    (tmp_path / "migrated.yaml").write_text(yaml.safe_dump(doc))
    snap0 = p.snapshots.id()
    p.seeds.import_file(tmp_path / "migrated.yaml")
    batches = p.batches.frame().set_index("id")
    assert set(batches.loc[["b-hate", "b-poison", "b-benign"], "status"]) == {"pending"}
    snapshot = p.snapshots.read()[0]
    assert not set(truth) & set(snapshot["text"]) and p.snapshots.id() == snap0  # out of every snapshot

    ws = f"migrated-{uuid.uuid4().hex[:6]}"
    pushed = push_batches(p, owner, workspace=ws, model=model)
    assert pushed["pushed"] == 60 and pushed["batches"] == 3  # 20 of each
    flags = pushed["prescreen"]
    assert flags["b-poison"]["hard_negative_flag_rate"] > flags["b-benign"]["hard_negative_flag_rate"]
    assert "target_positive_rate" in flags["b-hate"]
    status = review_status(p, owner, workspace=ws)
    assert list(status["prescreen"])[0] == "b-poison"  # the most suspicious batch first
    annotators = [(_annotator(owner, stack, ws), set()) for _ in range(2)]

    def truthful(done):
        def answer(rec):
            if rec.id in done:
                return None  # answered in the first round
            done.add(rec.id)
            return {"labels": truth[rec.fields["text"]], "valid": "yes"}

        return answer

    for client, done in annotators:
        assert _answer(client, ws, BATCH_REVIEW, truthful(done)) == 60
    report = pull(p, owner, workspace=ws)
    assert report["applied"]["batches_rejected"] == 1 and report["applied"]["batches_accepted"] == 0
    # 20 clean of 25: the sampling plan asks for the other 5 of each clean batch, and push-batches sends them
    verdicts = report[BATCH_REVIEW]["batches"]
    assert [verdicts[b]["verdict"] for b in ("b-hate", "b-poison", "b-benign")] == [
        "needs_more",
        "rejected",
        "needs_more",
    ]
    assert verdicts["b-hate"]["needs"] == verdicts["b-benign"]["needs"] == 5
    top = push_batches(p, owner, workspace=ws, model=model)
    assert top["pushed"] == 10 and top["topped_up"] == {"b-hate": 25, "b-benign": 25}
    for client, done in annotators:
        assert _answer(client, ws, BATCH_REVIEW, truthful(done)) == 10
    report = pull(p, owner, workspace=ws)
    assert report["applied"]["batches_accepted"] == 2
    batches = p.batches.frame().set_index("id")
    assert batches.loc["b-poison", "status"] == "rejected"
    assert batches.loc["b-hate", "status"] == "accepted" and batches.loc["b-benign", "status"] == "accepted"
    seeds = p.seeds.frame().set_index("id")
    assert seeds.loc["seed-poison", "quarantined"] and not seeds.loc["seed-benign", "quarantined"]
    assert p.snapshots.id() != snap0
    after = set(p.snapshots.read()[0]["text"])
    assert set(positive) <= after and set(benign) <= after and not set(poisoned) & after


def test_an_accepted_batch_can_be_audited_and_a_failed_audit_quarantines_its_seed(tmp_path, stack, owner):
    from workbench import build_demo

    p, _ = build_demo(tmp_path / "demo")
    p = _without_gold(p)
    _, poisoned, _ = _davidson_batches(set(p.records.frame()["text"]), n=8)
    doc = {
        "seeds": [
            {
                "id": "seed-old",
                "kind": "hard_negative",
                "target_labels": ["hate"],
                "status": "approved",
                "text": "Rough banter between friends, nobody means it.",
                "batches": [
                    {
                        "id": "b-old",
                        "provider": "old-pipeline",
                        "status": "accepted",
                        "accepted_by": "old-team",
                        "reason": "generated before the workbench",
                        "records": [{"text": t, "labels": {"hate": 0}} for t in poisoned],
                    }
                ],
            }
        ]
    }
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(doc))
    p.seeds.import_file(tmp_path / "old.yaml")
    assert p.batches.frame().set_index("id").loc["b-old", "status"] == "accepted"
    assert set(poisoned) <= set(p.snapshots.read()[0]["text"])
    ev = p.store.events(target="b-old")
    assert ev[ev["kind"] == "batch_status"]["actor"].tolist() == ["old-team"]
    ws = f"audit-{uuid.uuid4().hex[:6]}"
    assert push_batches(p, owner, workspace=ws)["pushed"] == 0  # nothing pending
    demo = int(p.records.frame()["batch_id"].str.startswith("batch-", na=False).sum())  # the demo's accepted batches
    assert push_batches(p, owner, workspace=ws, status="accepted")["pushed"] == 8 + demo
    snap = p.snapshots.id()

    stored = p.records.frame().set_index("id")
    names = list(p.taxonomy.label_names)

    def truthful(rec):  # the poisoned texts are hateful; the demo's batches are what they say
        if rec.metadata["batch_id"] == "b-old":
            return {"labels": ["hate"], "valid": "yes"}
        said = [lab for lab in names if stored.loc[rec.metadata["record_id"], lab] == 1]
        return {"labels": said or [NONE_LABEL], "valid": "yes"}

    for client in [_annotator(owner, stack, ws) for _ in range(2)]:
        assert _answer(client, ws, BATCH_REVIEW, truthful) == 8 + demo
    report = pull(p, owner, workspace=ws)
    assert report[BATCH_REVIEW]["batches"]["b-old"]["audit"] and report["applied"]["batches_rejected"] == 1
    assert report["applied"]["batches_accepted"] == 0  # the demo's batches pass their audit and stay accepted
    assert p.batches.frame().set_index("id").loc["b-old", "status"] == "rejected"
    assert p.seeds.frame().set_index("id").loc["seed-old", "quarantined"] and p.snapshots.id() != snap
    assert not set(poisoned) & set(p.snapshots.read()[0]["text"])


def test_suite_review_keeps_agreed_cases_and_a_case_both_annotators_reject_leaves_the_gate(tmp_path, stack, owner):
    """Functional-suite cases in suite-review: two annotators agree with every case but one, which both
    answer "no" (with the labels it does carry); after the pull that case is disputed and out of the
    next model's gate, the others are kept and gated on (no explicit flag needed)."""
    from curation.suites import case_review_state, expand_project_suites
    from training.artifacts import load_model
    from training.evaluation._suites import read_suite_cases
    from workbench.review import SUITE_REVIEW, push_suite

    tax = Taxonomy.from_dict({"labels": [{"name": "hate", "tier": "T2"}, {"name": "offensive", "tier": "T3"}]})
    p = Project.init(tmp_path / "p", taxonomy=tax, name=f"suite-{uuid.uuid4().hex[:6]}")
    p.records.import_file(REPO / "data" / "demo" / "davidson_slice.csv", "davidson")
    (p.root / "suites").mkdir()
    suite = {
        "suite": "mini",
        "fillers": {"group": {"test": ["women", "Muslims", "refugees"], "train": ["Sikhs"]}},
        "functionalities": [
            {
                "name": "derogation",
                "description": "plain hate",
                "expect": {"hate": 1},
                "templates": [{"text": "{group} are vermin."}, {"text": "I hate {group}.", "side": "train"}],
            },
            {
                "name": "neutral",
                "description": "neutral mention",
                "expect": {"hate": 0},
                "templates": [{"text": "My neighbours are {group}."}],
            },
        ],
    }
    (p.root / "suites" / "mini.yaml").write_text(yaml.safe_dump(suite))
    cases = [c for c in expand_project_suites(p.root, p.taxonomy) if c.side == "test"]
    wrong = next(c for c in cases if c.text == "refugees are vermin.")  # as if the reviewers read it otherwise
    pushed = push_suite(p, owner)
    assert pushed["pushed"] == len(cases) == 6
    assert push_suite(p, owner)["pushed"] == 0  # idempotent
    ds = owner.datasets(name=SUITE_REVIEW, workspace=p.settings.name)
    assert [q.name for q in ds.settings.questions] == ["verdict", "labels"]
    annotators = [_annotator(owner, stack, p.settings.name) for _ in range(2)]

    def answer(rec):
        if rec.id == wrong.id:
            return {"verdict": "no", "labels": ["offensive"]}
        return {"verdict": "yes"}

    for a in annotators:
        assert _answer(a, p.settings.name, SUITE_REVIEW, answer) == 6
    report = pull(p, owner)
    suite_report = report[SUITE_REVIEW]
    assert suite_report["submitted"] == 6
    assert suite_report["per_functionality"] == {"derogation": {"disputed": 1, "kept": 2}, "neutral": {"kept": 3}}
    assert suite_report["disputed"] == [
        {"case_id": wrong.id, "functionality": "derogation", "no": 2, "labels": [["offensive"], ["offensive"]]}
    ]
    state = case_review_state(p.store.events(), [c.id for c in cases]).set_index("case_id")["state"]
    assert state[wrong.id] == "disputed" and (state.drop(wrong.id) == "kept").all()
    assert pull(p, owner)["applied"]["annotations"] == 0  # safe to repeat
    m = train_model(p, tmp_path / "m", TrainSpec(recipe="tfidf", mix=False))
    card = load_model(m.root).card
    assert card.suites == {"cases": 5, "include_pending": False, "pending": 0, "disputed": 1}
    gated = {c.text for c in read_suite_cases(m.root / "suite_cases.jsonl")[0]}
    assert wrong.text not in gated and len(gated) == 5
    assert set(card.variants["torch"].suite["functionalities"]) == {"derogation", "neutral"}
    p.close()


def test_production_sample_reviewed_by_two_annotators_recalibrates_gates_and_promotes(tmp_path, stack, owner):
    """After the model ships: a production log of real tweets (Davidson, not in the training slice) is
    imported, 60 posts picked by active sampling go to sample-review, two annotators label them (the
    dataset's gold labels), the pull labels the pool posts, and the model is recalibrated on them, gated
    (check half + original holdout) and promoted."""
    from training.artifacts import load_model, promote, promoted_model
    from training.production_loop import recalibrate
    from workbench.review import SAMPLE_REVIEW, push_sample

    from ..conftest import shared

    gate = {"min_f1": 0.1, "recall_floor": 0.1, "fpr_budget": 0.8}  # the slice is small; the path is under test
    tax = Taxonomy.from_dict(
        {"labels": [{"name": "offensive", "tier": "T3", "gate": gate}, {"name": "hate", "tier": "T3", "gate": gate}]}
    )
    old_fractions = {"production_calib": 0.5, "train": 0.4, "valid": 0.1}  # recalibration is under test here
    p = Project.init(
        tmp_path / "p",
        taxonomy=tax,
        name=f"prod-{uuid.uuid4().hex[:6]}",
        config={"production": {"splits": old_fractions}},
    )
    p.records.import_file(REPO / "data" / "demo" / "davidson_slice.csv", "davidson")
    model = train_model(p, tmp_path / "m", TrainSpec(recipe="tfidf", mix=False))
    in_slice = set(p.records.frame()["text"])
    truth, log = {}, []
    with open(shared("davidson/labeled_data.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["tweet"] in in_slice or len(log) >= 300:
                continue
            pid = f"tw{row['']}"
            truth[pid] = [lab for lab, c in (("hate", "0"), ("offensive", "1")) if row["class"] == c] or [NONE_LABEL]
            log.append(
                {
                    "id": pid,
                    "text": row["tweet"],
                    "time": f"2026-11-{2 + len(log) // 50:02d}T12:00:00Z",
                    "model": "m",
                    "scores": {},
                }
            )
    (tmp_path / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    assert p.production.import_log(tmp_path / "log.jsonl", models={"m": model.labels}).n_posts == 300
    pushed = push_sample(p, owner, model, n=60, strategy="mixed")
    assert pushed["selected"] == pushed["pushed"] == 60 and set(pushed["reasons"]) <= {
        "uncertain-diverse:hate",
        "uncertain-diverse:offensive",
        "rare:hate",
        "rare:offensive",
        "random",
    }
    ds = owner.datasets(name=SAMPLE_REVIEW, workspace=p.settings.name)
    assert [q.name for q in ds.settings.questions] == ["labels", "note"]
    annotators = [_annotator(owner, stack, p.settings.name) for _ in range(2)]
    for a in annotators:
        assert (
            _answer(a, p.settings.name, SAMPLE_REVIEW, lambda rec: {"labels": truth[rec.id.removeprefix("pool:")]})
            == 60
        )
    report = pull(p, owner)
    assert report[SAMPLE_REVIEW]["labelled"] == 60 and report["applied"]["pool_labels"] == 60
    assert sum(v["reviewed"] for v in report[SAMPLE_REVIEW]["by_sampling"].values()) == 60
    pool = p.production.posts().set_index("id")
    labelled = pool[[bool(v) for v in pool["labels"]]]
    assert len(labelled) == 60 and set(labelled["split"]) <= {"production_calib", "train", "valid"}
    for pid, row in labelled.iterrows():  # complete annotations, as the annotators gave them
        assert {lab for lab, v in row["labels"].items() if v == 1} == set(truth[pid]) - {NONE_LABEL}
    assert push_sample(p, owner, model, n=60, strategy="mixed")["selected"] == 60  # only unlabelled posts now
    assert pull(p, owner)["applied"]["pool_labels"] == 0  # safe to repeat
    # a random sample beside the picked ones (recalibration needs negatives of offensive in both halves),
    # then both annotators answer what is pending
    assert push_sample(p, owner, model, n=90, strategy="random", seed=5)["selected"] == 90
    first = set(labelled.index)

    def pending(rec):  # the first round's records are answered already
        pid = rec.id.removeprefix("pool:")
        return None if pid in first else {"labels": truth[pid]}

    counts = [_answer(a, p.settings.name, SAMPLE_REVIEW, pending) for a in annotators]
    assert counts[0] == counts[1] >= 90  # the second mixed 60 and the random 90 (some picked twice)
    assert pull(p, owner)["applied"]["pool_labels"] == counts[0]
    m2 = recalibrate(model, p, tmp_path / "m2", source="sample-review", min_positives=3)
    rec = m2.card.recalibration
    assert rec.check_posts > 0 and "offensive" in rec.retuned
    assert m2.card.variants["torch"].passed, m2.card.variants["torch"].gate.lines()
    promote(m2)
    assert promoted_model(p).root == load_model(m2.root).root.resolve()
    p.close()


def test_watch_goes_from_alert_to_a_retrained_candidate_with_two_annotators(tmp_path, stack, owner):
    """The production loop's front door on the embedded Argilla: the shipped model (TF-IDF; hate said with
    "zorg" in its data) meets a platform where hate is said with "blarg"; ``watch`` sees the decision rate
    collapse, pushes a sample of 150 posts, two annotators label them, and ``watch(retrain=True)`` pulls the
    answers, retrains on the project with the labelled posts and gates on both slices: the candidate catches
    the platform's hate where the promoted model did not."""
    import random

    from training.artifacts import promote
    from training.production_loop import watch
    from workbench.review import SampleReviewLoop

    rng = random.Random(3)
    words = "apple river window cloud music table garden paper stone light".split()

    def text(marker):
        w = rng.sample(words, 6)
        if marker:
            w.insert(rng.randrange(7), marker)
        return " ".join(w)

    tax = Taxonomy.from_dict({"labels": [{"name": "hate", "tier": "T3", "min_holdout_positives": 5}]})
    p = Project.init(
        tmp_path / "p",
        taxonomy=tax,
        name=f"watch-{uuid.uuid4().hex[:6]}",
        config={"mixing": {"tail_floor": 5, "head_cap": 0.5}},
    )
    p.records.import_frame(
        pd.DataFrame(
            {
                "text": [text("zorg" if i % 5 == 0 else None) for i in range(1200)],
                "hate": [int(i % 5 == 0) for i in range(1200)],
            }
        ),
        source="curated",
    )
    model = train_model(p, tmp_path / "m0", TrainSpec(recipe="tfidf"))
    promote(model)
    truth, log = {}, []
    for i in range(600):
        hate = i % 3 == 0
        truth[f"post{i}"] = ["hate"] if hate else [NONE_LABEL]
        log.append(
            {
                "id": f"post{i}",
                "text": text("blarg" if hate else None) + f" w{i % 11}",
                "time": f"2026-11-{2 + i // 100:02d}T10:00:00Z",
            }
        )
    (tmp_path / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    p.production.import_log(tmp_path / "log.jsonl")
    review = SampleReviewLoop(owner)
    first = watch(p, model, window="1d", budget=150, strategy="mixed", review=review)
    assert "hate" in first.alerting and any("decision rate" in r for r in first.alerting["hate"]), first.alerting
    assert first.action == "sampled" and first.sample["selected"] == 150 and "retrain" in first.next
    annotators = [_annotator(owner, stack, p.settings.name) for _ in range(2)]
    for a in annotators:
        answered = _answer(
            a, p.settings.name, SAMPLE_REVIEW, lambda rec: {"labels": truth[rec.id.removeprefix("pool:")]}
        )
        assert answered == 150
    second = watch(p, model, window="1d", review=review, retrain=True, out=tmp_path / "m1")
    assert second.pulled[SAMPLE_REVIEW]["labelled"] == 150 and sum(second.labelled.values()) == 150
    assert second.action == "retrained" and second.candidate == str(tmp_path / "m1")
    mix = second.production["mix"]
    assert mix["posts"] > 60 and mix["per_label"]["hate"]["positives"] > 20
    prod = second.gate["production"]
    assert prod["posts"] == second.labelled.get("production_holdout") and prod["posts"] >= 10
    on_slice = second.comparison["production"]["per_label"][0]
    assert on_slice["gained_positives"] > on_slice["lost_positives"], on_slice
    assert prod["labels"]["hate"]["recall"] > 0.8, prod
    p.close()


def test_a_review_pull_beside_an_import_both_land_one_writer_at_a_time(tmp_path, stack, owner):
    """A pull and an import started while the project is busy: each waits for the write lock, says so, and both
    land (verdicts applied, records imported), with no traceback and no text in two splits."""
    from pathlib import Path

    from curation.store._lock import WriteLock

    p = _answered_project(tmp_path / "proj", stack, owner)
    n_before = len(p.records.frame())
    p.close()
    data = tmp_path / "more.csv"
    data.write_text("text,hate\n" + "".join(f"a new post about item {i} and the weather,{i % 2}\n" for i in range(300)))
    env = {**os.environ, **stack.env()}
    workbench = str(Path(sys.executable).parent / "workbench")
    logs = [tmp_path / "pull.err", tmp_path / "import.err"]
    with WriteLock(p.root / "store.sqlite", timeout=0).hold("the test"):
        procs = [
            subprocess.Popen([workbench, *argv], stdout=subprocess.PIPE, stderr=log.open("w"), text=True, env=env)
            for log, argv in zip(
                logs, (["review", "pull", str(p.root)], ["import", str(p.root), str(data), "--format", "csv"])
            )
        ]
        deadline = time.monotonic() + 120  # held until both wait on it (the pull reads Argilla first)
        while time.monotonic() < deadline and not all(
            "waiting for the project's write lock" in log.read_text() for log in logs
        ):
            time.sleep(0.5)
    results = [(proc.wait(timeout=300), proc.communicate()[0], log.read_text()) for proc, log in zip(procs, logs)]
    for rc, out, err in results:
        assert rc == 0 and "Traceback" not in err, err[-3000:]
        assert "waiting for the project's write lock" in err and "the test" in err
    with Project(p.root) as again:
        frame = again.records.frame()
        assert len(frame) == n_before + 300
        assert (again.batches.frame()["status"] != "pending").all()  # the pull decided both batches
        assert frame.groupby("text")["split"].nunique().max() == 1


def test_a_careless_annotators_no_label_never_stores_a_hateful_post_as_benign(tmp_path, stack, owner):
    """Two annotators on the batches, one careless (every record "no label applies", "valid"), one truthful:
    a label they split on is disputed, stored unknown with provenance ``disputed`` (it was stored 0, because
    "0" sorts before "1"), and a disputed record counts as an error, so the poisoned batch is not accepted."""
    poisoned = _poisoned_texts()
    truth = {t: labs for t, labs in GOOD + poisoned}
    p = _project(tmp_path / "proj", poisoned)
    ws = p.settings.name
    push_batches(p, owner)
    careless, truthful = _annotator(owner, stack, ws), _annotator(owner, stack, ws)
    _answer(careless, ws, BATCH_REVIEW, lambda rec: {"labels": [NONE_LABEL], "valid": "yes"})

    def honest(rec):
        poison = rec.metadata["seed_id"] == "seed-poison"
        return {"labels": list(truth[rec.fields["text"]]) or [NONE_LABEL], "valid": "no" if poison else "yes"}

    _answer(truthful, ws, BATCH_REVIEW, honest)
    report = pull(p, owner)
    assert report[BATCH_REVIEW]["disputed"] > 0
    frame = p.records.frame().set_index("text")
    for text, labs in poisoned:
        for lab in labs:  # the truthful annotator saw hate / offensive, the careless one saw nothing
            assert pd.isna(frame.loc[text, lab]), (text, lab, frame.loc[text, lab])
            assert frame.loc[text, "label_provenance"][lab] == "disputed"
    status = p.batches.frame().set_index("id")["status"]
    assert status["batch-poison"] != "accepted" and status["batch-scam"] != "accepted"  # disputed = errors
    assert pull(p, owner)["applied"]["disputed"] == 0  # a second pull changes nothing


# ------------------------------------------------------------------------------------ a review team (issue 43)
def _once(answer):
    """``answer`` for records this annotator has not answered yet (the search returns every record)."""
    seen: set[str] = set()

    def run(rec):
        if rec.id in seen:
            return None
        out = answer(rec)
        if out is not None:
            seen.add(rec.id)
        return out

    return run


def _pending_for(client, workspace, dataset) -> set[str]:
    """The record ids the annotator's queue still offers (no response of theirs, record not completed)."""
    ds = client.datasets(name=dataset, workspace=workspace)
    found = client.api.http_client.post(
        f"/api/v1/me/datasets/{ds.id}/records/search", params={"limit": 1000}, json={}
    ).json()["items"]
    return {h["record"]["external_id"] for h in found if h["record"]["status"] == "pending"}


def test_a_careless_annotator_among_two_is_flagged_by_gold_checks_and_their_answers_stop_counting(
    tmp_path, stack, owner, capsys
):
    """Round 1: two truthful annotators settle the scam batch (its records become gold). Round 2: the poisoned
    batch with gold mixed in at the project's rate, answered by one truthful and one careless annotator (every
    record "none", "valid"); the careless one alone answers one record. The pull flags the careless annotator
    from the gold checks (not the truthful ones), their answers stop counting, the record only they answered
    goes back to the queue, and the poisoned batch is never accepted; the owner clears the flag from the CLI."""
    from workbench.cli import main as cli

    poisoned = _poisoned_texts()
    truth = {t: labs for t, labs in GOOD + poisoned}
    p = _project(tmp_path / "proj", poisoned, config={"review": {"gold_rate": 0.25}})
    ws = p.settings.name
    first = push_batches(p, owner)
    assert first["pushed"] == len(truth) and "gold" not in first  # nothing is known yet
    ann, bob, careless = (_annotator(owner, stack, ws) for _ in range(3))

    def truthful(rec):
        poison = rec.metadata.get("seed_id") == "seed-poison"
        return {"labels": list(truth[rec.fields["text"]]) or [NONE_LABEL], "valid": "no" if poison else "yes"}

    ann_answers, bob_answers = _once(truthful), _once(truthful)
    for answers in (ann_answers, bob_answers):  # round 1: only the scam batch
        client = ann if answers is ann_answers else bob
        _answer(
            client,
            ws,
            BATCH_REVIEW,
            lambda rec, a=answers: None if rec.metadata["seed_id"] == "seed-poison" else a(rec),
        )
    pull(p, owner)
    assert p.batches.frame().set_index("id").loc["batch-scam", "status"] == "accepted"
    second = push_batches(p, owner)  # the poisoned batch is already in the queue; gold joins it
    assert second["gold"] == round(len(poisoned) * 0.25 / 0.75) == 3 and second["pushed"] == 3
    gold_ids = set(p.store.events().query("kind == 'gold_pushed'")["target"])
    assert len(gold_ids) == 3 and not gold_ids & set(p.records.frame()["id"])  # copies, not store records

    def round_two(rec):  # the poisoned batch and the gold copies (the scam records were answered in round 1)
        return rec.id in gold_ids or rec.metadata["seed_id"] == "seed-poison"

    # round 2: bob answers only the gold copies for now; the careless one answers everything
    assert _answer(bob, ws, BATCH_REVIEW, lambda rec: bob_answers(rec) if rec.id in gold_ids else None) == 3
    sloppy = {"labels": [NONE_LABEL], "valid": "yes"}
    assert _answer(careless, ws, BATCH_REVIEW, lambda rec: sloppy if round_two(rec) else None) == len(poisoned) + 3
    report = pull(p, owner)
    people = {client.me.username: client for client in (ann, bob, careless)}
    quality = {name: report["annotators"][name] for name in people}
    bad = careless.me.username
    assert quality[bad]["flagged"] and "gold accuracy 0/3" in quality[bad]["reason"], quality[bad]
    assert quality[bad]["gold_answered"] == 3 and quality[bad]["gold_accuracy"] == 0.0
    assert quality[bad]["gold_accuracy_ci"][1] < 0.85
    good = bob.me.username
    assert not quality[good]["flagged"] and quality[good]["gold_accuracy"] == 1.0
    assert not quality[ann.me.username]["flagged"]
    assert report["applied"]["annotators_flagged"] == 1
    # the records only the careless one answered are back in the queue; their "valid" decided nothing
    poison_ids = set(p.records.frame().query("batch_id == 'batch-poison'")["id"])
    assert report["withdrawn"] == {BATCH_REVIEW: len(poisoned)}
    assert poison_ids <= _pending_for(bob, ws, BATCH_REVIEW)
    assert p.batches.frame().set_index("id").loc["batch-poison", "status"] == "pending"
    frame = p.records.frame().set_index("text")
    for text, labs in poisoned:  # nothing of the careless answers was stored
        assert all(frame.loc[text, "label_provenance"].get(lab) != "annotator" for lab in labs), text
    # bob answers them: his answers alone decide (the careless one's weigh nothing), the batch is rejected
    assert _answer(bob, ws, BATCH_REVIEW, bob_answers) == len(poisoned)
    again = pull(p, owner)
    assert again["applied"]["batches_rejected"] == 1 and again["applied"]["annotators_flagged"] == 0
    assert p.batches.frame().set_index("id").loc["batch-poison", "status"] == "rejected"
    frame = p.records.frame().set_index("text")
    for text, labs in poisoned:  # the truthful answer decides alone: nothing stored benign
        assert all(frame.loc[text, lab] == 1 for lab in labs), (text, labs)
    status = review_status(p, owner)
    assert status["annotators"][bad]["flagged"] and not status["annotators"][good]["flagged"]
    # the owner lists and clears the flag from the command line
    p.close()
    assert cli(["review", "annotators", str(p.root)]) == 0
    listed = json.loads(capsys.readouterr().out)["annotators"]
    assert listed[bad]["flagged"] and listed[bad]["gold_answered"] == 3
    assert cli(["review", "annotators", str(p.root), "--clear", bad, "--reason", "talked it through"]) == 0
    out = capsys.readouterr().out
    assert f"cleared {bad}" in out and not json.loads(out[out.index("{") :])["annotators"][bad]["flagged"]
    assert cli(["review", "annotators", str(p.root), "--clear", "nobody"]) == 2
    assert "nobody" in capsys.readouterr().err


def test_a_careless_annotator_and_a_random_flipper_among_three_are_flagged_by_overlap(tmp_path, stack, owner):
    """Three annotators answer every record: two truthful and one careless on the 14 demo batch records; two
    truthful and a random flipper (30 % of their answers wrong) on 60 real tweets. Dawid-Skene over the overlap
    flags the careless one and the flipper, not the truthful; the poisoned batch is rejected."""
    import random

    poisoned = _poisoned_texts()
    truth = {t: labs for t, labs in GOOD + poisoned}
    p = _project(tmp_path / "careless", poisoned, config={"review": {"gold_rate": 0.0}})
    ws = p.settings.name
    push_batches(p, owner)
    team = [_annotator(owner, stack, ws) for _ in range(3)]

    def truthful(rec):
        poison = rec.metadata.get("seed_id") == "seed-poison"
        return {"labels": list(truth[rec.fields["text"]]) or [NONE_LABEL], "valid": "no" if poison else "yes"}

    _answer(team[0], ws, BATCH_REVIEW, truthful)
    _answer(team[1], ws, BATCH_REVIEW, truthful)
    _answer(team[2], ws, BATCH_REVIEW, lambda rec: {"labels": [NONE_LABEL], "valid": "yes"})
    report = pull(p, owner)
    quality = report["annotators"]
    assert quality[team[2].me.username]["flagged"], quality
    assert not any(quality[c.me.username]["flagged"] for c in team[:2])
    status = p.batches.frame().set_index("id")["status"]
    assert status["batch-poison"] == "rejected" and status["batch-scam"] == "accepted"

    # the flipper: 60 real tweets, hateful or neither, in one hard-negative batch
    hateful, _, neither = _davidson_batches(set(truth), n=30)
    tweets = {t: ["hate"] for t in hateful} | {t: [NONE_LABEL] for t in neither}
    q = Project.init(
        tmp_path / "flip", taxonomy=REPO / "data" / "demo" / "taxonomy.yaml", name=f"flip-{uuid.uuid4().hex[:6]}"
    )
    doc = {
        "seeds": [
            {
                "id": "seed-mixed",
                "kind": "positive",
                "target_labels": ["hate"],
                "status": "approved",
                "text": "Posts about groups of people.",
                "batches": [
                    {
                        "id": "b-mixed",
                        "provider": "llm",
                        "records": [
                            {"text": t, "labels": {"hate": int(labs == ["hate"])}} for t, labs in tweets.items()
                        ],
                    }
                ],
            }
        ]
    }
    (tmp_path / "flip.yaml").write_text(yaml.safe_dump(doc))
    q.seeds.import_file(tmp_path / "flip.yaml")
    qws = q.settings.name
    assert push_batches(q, owner, per_batch=60)["pushed"] == 60
    trio = [_annotator(owner, stack, qws) for _ in range(3)]
    flips = set(random.Random(7).sample(sorted(tweets), 18))  # 30 % of the flipper's answers wrong

    def answer(flipper):
        def run(rec):
            text = rec.fields["text"]
            labs = tweets[text]
            if flipper and text in flips:
                labs = [NONE_LABEL] if labs == ["hate"] else ["hate"]
            return {"labels": labs, "valid": "yes"}

        return run

    for k, client in enumerate(trio):
        assert _answer(client, qws, BATCH_REVIEW, answer(k == 2)) == 60
    report = pull(q, owner)
    quality = report["annotators"]
    flipper = quality[trio[2].me.username]
    assert flipper["flagged"] and flipper["overlap_answered"] == 60, flipper
    lo, hi = flipper["overlap_accuracy_ci"]
    assert lo <= 0.7 <= hi  # the estimate's interval holds the flipper's true accuracy
    for client in trio[:2]:
        assert not quality[client.me.username]["flagged"] and quality[client.me.username]["overlap_accuracy"] > 0.9


def test_a_disputed_record_is_settled_in_adjudication_and_its_batch_decided_again(tmp_path, stack, owner):
    """One careless and one truthful annotator: their disputes are stored unknown and the batches wait
    ("needs_adjudication"); push-adjudication sends each disputed record with both answers; an annotator's
    answer there counts for nothing, the owner's settles it: labels applied with provenance 'adjudicated'
    (an event naming the owner), the batches decided again: the scam batch accepted, the poisoned one rejected."""
    from workbench.review import ADJUDICATION, push_adjudication

    poisoned = _poisoned_texts()
    truth = {t: labs for t, labs in GOOD + poisoned}
    p = _project(tmp_path / "proj", poisoned, config={"review": {"gold_rate": 0.0}})
    ws = p.settings.name
    push_batches(p, owner)
    careless, truthful_ann = _annotator(owner, stack, ws), _annotator(owner, stack, ws)
    _answer(careless, ws, BATCH_REVIEW, lambda rec: {"labels": [NONE_LABEL], "valid": "yes"})

    def truthful(rec):
        poison = rec.metadata.get("seed_id") == "seed-poison"
        return {"labels": list(truth[rec.fields["text"]]) or [NONE_LABEL], "valid": "no" if poison else "yes"}

    _answer(truthful_ann, ws, BATCH_REVIEW, truthful)
    report = pull(p, owner)
    verdicts = report[BATCH_REVIEW]["batches"]
    assert verdicts["batch-poison"]["verdict"] == "needs_adjudication", verdicts["batch-poison"]
    assert set(p.batches.frame()["status"]) == {"pending"}
    pushed = push_adjudication(p, owner)
    assert pushed["disputed_records"] == pushed["pushed"] == len(truth)  # every record had a split label
    adj = owner.datasets(name=ADJUDICATION, workspace=ws)
    shown = next(r for r in adj.records() if r.fields["text"] == poisoned[0][0])
    assert careless.me.username in shown.fields["answers"] and truthful_ann.me.username in shown.fields["answers"]
    assert set(poisoned[0][1]) <= set(shown.fields["disputed"].split(", "))  # what the two split on
    # an annotator may not adjudicate: their answers there are recorded and ignored
    _answer(careless, ws, ADJUDICATION, lambda rec: {"labels": [NONE_LABEL], "valid": "yes"})
    ignored = pull(p, owner)
    assert ignored[ADJUDICATION]["settled"] == 0 and ignored[ADJUDICATION]["ignored_answers"] == len(truth)
    _answer(owner, ws, ADJUDICATION, truthful)
    settled = pull(p, owner)
    assert settled[ADJUDICATION]["settled"] == len(truth)
    assert settled["applied"]["adjudicated"] > 0
    assert settled["applied"]["batches_accepted"] == 1 and settled["applied"]["batches_rejected"] == 1
    status = p.batches.frame().set_index("id")["status"]
    assert status["batch-scam"] == "accepted" and status["batch-poison"] == "rejected"
    frame = p.records.frame().set_index("text")
    for text, labs in poisoned:
        for lab in labs:
            assert frame.loc[text, lab] == 1 and frame.loc[text, "label_provenance"][lab] == "adjudicated"
    rid = frame.loc[poisoned[0][0], "id"]
    label_events = p.store.events(target=rid).query("kind == 'label'")
    assert owner.me.username in set(label_events["actor"])
    assert set(pull(p, owner)["applied"].values()) == {0}  # settled once: a repeat changes nothing


def test_answers_decide_a_batch_live_and_a_later_pull_reaches_the_same_state(tmp_path, stack, owner):
    """Two poisoned 60-record batches (offensive tweets asserted benign), 20 of each in the queue. With the
    webhook receiver running, an annotator answers 5 records of the first, and nobody pulls: the batch is
    rejected in the store within 60 s (the sequential test crosses its boundary at 5 of 5 wrong) and its 15
    unanswered records leave the annotator's queue. With the receiver stopped, the same answers on the second
    batch change nothing until a pull, which reaches the same state. A request with a forged signature is
    refused and applies nothing."""
    import httpx

    from workbench.review.live import LiveReview

    offensive = _tweets("1", 120)
    groups = {"b-live": offensive[:60], "b-later": offensive[60:]}
    p = _hard_negative_batches(tmp_path, "live", groups)
    ws = p.settings.name
    assert push_batches(p, owner, per_batch=20)["pushed"] == 40
    ann = _annotator(owner, stack, ws)
    batch_of = p.records.frame().set_index("id")["batch_id"].to_dict()

    def five_of(bid):
        chosen: set[str] = set()

        def answer(rec):
            if batch_of.get(rec.id) != bid or len(chosen) == 5:
                return None
            chosen.add(rec.id)
            return {"labels": ["offensive"], "valid": "yes"}  # the generator said benign: an error each

        return answer

    def status(bid):
        with Project(p.root) as fresh:
            return fresh.batches.frame().set_index("id").loc[bid, "status"]

    with LiveReview(p.root, owner, workspace=ws, debounce_s=3.0) as live:  # the 5 answers land first
        forged = httpx.post(live.url, json={"type": "response.created", "data": {}}, headers={"webhook-id": "x"})
        assert forged.status_code == 401 and live.rejected == 1
        started = time.monotonic()
        assert _answer(ann, ws, BATCH_REVIEW, five_of("b-live")) == 5
        while status("b-live") == "pending" and time.monotonic() - started < 60:
            time.sleep(0.5)
        waited = time.monotonic() - started
        assert status("b-live") == "rejected", (live.last, live.errors)
    print(f"decided live {waited:.1f} s after the answers")
    assert sum(r.get("withdrawn_unanswered", 0) for r in live.reports) == 15  # the pull that decided it
    queue = _pending_for(ann, ws, BATCH_REVIEW)
    assert not {rid for rid in queue if batch_of[rid] == "b-live"}  # the decided batch left the queue
    assert len({rid for rid in queue if batch_of[rid] == "b-later"}) == 20
    # the receiver is down: the answers wait in Argilla, and the next pull applies them the same way
    assert _answer(ann, ws, BATCH_REVIEW, five_of("b-later")) == 5
    time.sleep(3)
    assert status("b-later") == "pending"
    report = pull(p, owner)
    assert status("b-later") == "rejected" and report["withdrawn_unanswered"] == 15
    assert report[BATCH_REVIEW]["batches"]["b-later"]["reviewed"] == 5
    decided = [
        r[BATCH_REVIEW]["batches"]["b-live"] for r in live.reports if "verdict" in r[BATCH_REVIEW]["batches"]["b-live"]
    ]
    assert decided[0]["verdict"] == "rejected" and decided[0]["reviewed"] == 5
    assert not _pending_for(ann, ws, BATCH_REVIEW)
    assert set(pull(p, owner)["applied"].values()) == {0}  # idempotent: nothing left to apply
