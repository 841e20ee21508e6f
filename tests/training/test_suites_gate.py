"""Functional suites in the gate: a planted failing functionality fails the model and is named with its
worst cases; a known gap is reported, never failing; pending cases are left out unless asked for."""

from __future__ import annotations

import json

import pytest
import yaml

from curation import Project, Taxonomy
from curation.suites import expand_project_suites
from training import TrainSpec, train_model
from training.artifacts import load_model
from training.evaluation import GateReport
from workbench.cli import main

from ..zorg_world import zorg_project

pytestmark = pytest.mark.slow

PLANTED = {
    "suite": "planted",
    "fillers": {"w": {"test": ["apple", "river", "cloud", "music"], "train": ["table", "stone"]}},
    "functionalities": [
        {
            "name": "says_zorg",
            "expect": {"hate": 1},
            "templates": [{"text": "{w} zorg {w} garden"}, {"text": "zorg zorg {w}", "side": "train"}],
        },
        # planted: the model fires on every zorg, but this functionality says a negated one is fine
        {
            "name": "negated_zorg",
            "expect": {"hate": 0},
            "templates": [
                {"text": "no zorg at all {w} paper"},
                {"text": "never any zorg near the {w}", "side": "train"},
            ],
        },
        {
            "name": "gap_zorg",
            "expect": {"hate": 0},
            "known_gap": True,
            "templates": [{"text": "{w} window zorg light"}],
        },
        {"name": "plain", "expect": {"hate": 0}, "templates": [{"text": "{w} garden paper"}]},
    ],
}


def _project(root) -> Project:
    """A tiny real model's world: a post with 'zorg' in it is hate, any other post is not."""
    return zorg_project(root, PLANTED)


def test_a_planted_failing_functionality_fails_the_gate_and_a_known_gap_does_not(tmp_path, capsys):
    p = _project(tmp_path / "p")
    # by default unreviewed cases are pending: reported, not gated on
    m0 = train_model(p, tmp_path / "m0", TrainSpec(recipe="tfidf", mix=False))
    assert m0.card.suites == {"cases": 0, "include_pending": False, "pending": 16, "disputed": 0}
    assert not [f for f in m0.card.variants["torch"].gate.failures if f.kind == "functionality"]
    # gated on pending cases by the explicit flag
    m = train_model(p, tmp_path / "m", TrainSpec(recipe="tfidf", mix=False, suite_pending=True))
    card = load_model(m.root).card
    assert card.suites["cases"] == 16 and card.suites["include_pending"]
    torch = card.variants["torch"]
    failing = [f for f in torch.gate.failures if f.kind == "functionality"]
    assert [f.subject for f in failing] == ["negated_zorg"] and not torch.passed
    assert "no zorg at all" in failing[0].check and failing[0].required == ">= 0.9" and failing[0].value == "0.000"
    assert [f.subject for f in torch.gate.notes if f.kind == "functionality"] == ["gap_zorg"]  # reported only
    assert torch.suite["functionalities"]["says_zorg"] == 1.0 and torch.suite["functionalities"]["plain"] == 1.0
    assert main(["suite", "run", str(m.root)]) == 1
    out = capsys.readouterr().out
    assert "FAIL functionality negated_zorg (T2): pass rate (0/4" in out and "known gap: functionality gap_zorg" in out
    assert main(["suite", "run", str(m.root), "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["functionalities"] == {"gap_zorg": 0.0, "negated_zorg": 0.0, "plain": 1.0, "says_zorg": 1.0}
    assert main(["promote", str(m.root)]) == 2  # a failed gate cannot be promoted
    p.close()


def test_generate_from_suite_makes_pending_batches_from_train_side_material_only(tmp_path, capsys):
    from curation.suites import read_cases

    p = _project(tmp_path / "p")
    m = train_model(p, tmp_path / "m", TrainSpec(recipe="tfidf", mix=False, suite_pending=True))
    snap = p.snapshots.id()
    p.close()
    assert main(["generate", str(tmp_path / "p"), "--from-suite", str(m.root), "--n", "12"]) == 0
    out = capsys.readouterr().out
    assert "failing functionalities: negated_zorg" in out and "suite-negated_zorg" in out
    assert "their contrasts (passing, opposite expectation: kept as minimal pairs): says_zorg" in out
    p = Project(tmp_path / "p")
    seeds = p.seeds.frame().set_index("id")
    seed = seeds.loc["suite-negated_zorg"]
    assert seed["kind"] == "hard_negative" and list(seed["target_labels"]) == ["hate"] and seed["status"] == "approved"
    assert seeds.loc["suite-says_zorg", "kind"] == "positive"  # the contrast keeps the minimal pair
    assert "suite-plain" not in seeds.index and "suite-gap_zorg" not in seeds.index  # same expectation, known gap
    batches = p.batches.frame().set_index("seed_id")
    assert list(batches["status"]) == ["pending", "pending"] and set(batches["provider"]) == {"suite"}
    contrast_id = batches.loc["suite-says_zorg", "id"]
    everything = p.records.frame(include_unreviewed=True)
    contrast = everything[everything["batch_id"] == contrast_id]
    assert len(contrast) == 12 and (contrast["hate"] == 1).all()  # --n 12: its 2 train-side cases and variants
    batch_id = batches.loc["suite-negated_zorg", "id"]
    records = everything[everything["batch_id"] == batch_id]
    assert len(records) == 12 and set(records["split"]) <= {"train", "valid"} and (records["hate"] == 0).all()
    train_ids = {c.id for c in read_cases(p.root) if c.side == "train"}
    test_texts = {c.text for c in read_cases(p.root) if c.side == "test"}
    assert {meta["case_id"] for meta in records["meta"]} <= train_ids  # every item from a train-side case
    assert not set(records["text"]) & test_texts
    assert not any(w in t.lower() for t in records["text"] for w in ("apple", "river", "cloud", "music"))
    assert sum("perturbations" in meta for meta in records["meta"]) == 12 - 2  # 2 train-side cases, then variants
    assert p.snapshots.id() == snap  # pending: out of every snapshot until batch review accepts it
    # a second run asks for nothing new
    p.close()
    assert main(["generate", str(tmp_path / "p"), "--from-suite", str(m.root), "--n", "12"]) == 0
    with Project(tmp_path / "p") as p:
        assert len(p.records.frame(include_unreviewed=True).query("origin == 'generated'")) == 12 + 12


def test_the_starter_suites_load_and_expand_for_the_starter_taxonomy(tmp_path, capsys):
    from curation.suites import load_suites
    from workbench._resources import STARTER_SUITES

    from ..conftest import STARTER_TAXONOMY

    p = Project.init(tmp_path / "p", taxonomy=STARTER_TAXONOMY)
    p.close()
    assert main(["suite", "add-starter", str(tmp_path / "p")]) == 0
    assert {f.name for f in (tmp_path / "p" / "suites").glob("*.yaml")} == {f.name for f in STARTER_SUITES.glob("*")}
    assert main(["suite", "expand", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "explicit_derogation" in out and "call_for_violence" in out and "direct_insult" in out
    with Project(tmp_path / "p") as p:
        suites = load_suites(p.root, p.taxonomy)
        assert all(s.licence for s in suites)
    # a project without harassment or violence gets the hate suite alone
    q = Project.init(tmp_path / "q", taxonomy=Taxonomy.from_dict({"labels": [{"name": "hate", "tier": "T2"}]}))
    q.close()
    assert main(["suite", "add-starter", str(tmp_path / "q")]) == 0
    assert [f.name for f in (tmp_path / "q" / "suites").glob("*.yaml")] == ["hate.yaml"]


def _reviewed_yes(p: Project) -> None:
    """Two annotators agree with every test-side case, as a suite-review pull records it."""
    from curation import ReviewOutcome
    from curation.suites import SUITE_REVIEW, read_cases

    outcome = ReviewOutcome()
    for c in (c for c in read_cases(p.root) if c.side == "test"):
        for user in ("ann1", "ann2"):
            outcome.annotations.append(
                {
                    "key": f"{SUITE_REVIEW}|{c.id}|{user}|verdict",
                    "dataset": SUITE_REVIEW,
                    "record_id": c.id,
                    "question": "verdict",
                    "value": json.dumps("yes"),
                    "user": user,
                    "status": "submitted",
                }
            )
    p.records.apply_review(outcome)


def test_the_retrain_panel_shows_functionalities_with_deltas_against_the_promoted_model(tmp_path, capsys):
    from training.artifacts import promote
    from training.evaluation._suites import compare_suites
    from workbench.panels import RetrainPanel

    p = _project(tmp_path / "p")
    for f in (p.root / "suites").glob("*.yaml"):  # only what the model gets right: its gate passes
        data = yaml.safe_load(f.read_text())
        data["functionalities"] = [x for x in data["functionalities"] if x["name"] in ("says_zorg", "plain")]
        f.write_text(yaml.safe_dump(data))
    expand_project_suites(p.root, p.taxonomy)
    _reviewed_yes(p)  # kept cases: gated on without any flag
    assert main(["suite", "status", str(p.root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"plain": {"kept": 4}, "says_zorg": {"kept": 4}}
    a = train_model(p, tmp_path / "a", TrainSpec(recipe="tfidf", mix=False))
    assert a.card.suites["cases"] == 8 and a.card.variants["torch"].passed, a.card.variants["torch"].gate.failures
    promote(a)
    panel = RetrainPanel(p, recipe="tfidf")
    panel.mix.value = False
    b = panel.run()
    table = GateReport.of(b).suite_table()
    assert list(table.index) == ["plain", "says_zorg"] and {"promoted", "delta", "regression"} <= set(table.columns)
    assert (table["delta"] == 0).all() and not table["regression"].any() and table["passed"].all()
    assert "functional suites (test side)" in panel.result.value and "says_zorg" in panel.result.value
    # a fall beyond the tolerance, or under the minimum where the promoted model met it, is a regression
    cand = {
        "functionalities": {"x": 0.8, "y": 0.93, "z": 0.5},
        "details": {"x": {"min_pass": 0.9}, "y": {"min_pass": 0.9}, "z": {"min_pass": 0.9}},
    }
    prev = {"functionalities": {"x": 0.92, "y": 0.95, "z": 0.52}}
    got = compare_suites(cand, prev)
    assert {k: v["regression"] for k, v in got.items()} == {"x": True, "y": False, "z": False}
    assert got["x"]["delta"] == -0.12
    # promote refuses a model with a regressed functionality, and takes it with a reason
    b.card.comparison["suite"]["says_zorg"].update(pass_rate=0.5, delta=-0.5, regression=True)
    b.save_card()
    with pytest.raises(Exception, match="functionality says_zorg pass rate 0.500"):
        promote(load_model(b.root))
    entry = promote(load_model(b.root), accept_regression="accepted for the test")
    assert entry["accepted_regression"]["functionalities"] == ["says_zorg"]
    p.close()


def test_onnx_variants_are_gated_on_the_suite_too(tmp_path):
    p = _project(tmp_path / "p")
    m = train_model(p, tmp_path / "m", TrainSpec(recipe="heads", mix=False, suite_pending=True, onnx=("fp32",)))
    card = load_model(m.root).card
    torch, fp32 = card.variants["torch"], card.variants["fp32"]
    assert fp32.suite is not None and fp32.suite["details"] == torch.suite["details"]
    assert fp32.suite["functionalities"] == pytest.approx(torch.suite["functionalities"], abs=0.05)
    names = lambda v: sorted(f.subject for f in v.gate.failures if f.kind == "functionality")  # noqa: E731
    assert names(fp32) == names(torch)  # the same functionalities fail in the exported graph
    assert main(["suite", "run", str(m.root), "--variant", "fp32", "--json"]) in (0, 1)
    p.close()
