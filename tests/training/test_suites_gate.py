"""Functional suites in the gate: a planted failing functionality fails the model and is named with its
worst cases; a known gap is reported, never failing; pending cases are left out unless asked for."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest
import yaml

from curation import Project, Taxonomy, expand_project_suites
from training import TrainSpec, load_model, train_model
from workbench.cli import main

pytestmark = pytest.mark.slow

WORDS = "apple river window cloud music table garden paper stone light".split()


def _project(root) -> Project:
    """A tiny real model's world: a post with 'zorg' in it is hate, any other post is not."""
    rng = random.Random(0)
    rows = []
    for i in range(400):
        words = rng.sample(WORDS, 5)
        hate = i % 3 == 0
        if hate:
            words.insert(rng.randrange(6), "zorg")
        rows.append({"text": " ".join(words) + f" {i}", "hate": int(hate)})
    p = Project.init(root, taxonomy=Taxonomy.from_dict({"labels": [{"name": "hate", "tier": "T2"}]}))
    p.import_frame(pd.DataFrame(rows), source="synthetic")
    (p.root / "suites").mkdir()
    suite = {
        "suite": "planted",
        "fillers": {"w": {"test": ["apple", "river", "cloud", "music"], "train": ["table", "stone"]}},
        "functionalities": [
            {"name": "says_zorg", "expect": {"hate": 1}, "templates": [{"text": "{w} zorg {w} garden"}]},
            # planted: the model fires on every zorg, but this functionality says a negated one is fine
            {"name": "negated_zorg", "expect": {"hate": 0}, "templates": [{"text": "no zorg at all {w} paper"}]},
            {"name": "gap_zorg", "expect": {"hate": 0}, "known_gap": True,
             "templates": [{"text": "{w} window zorg light"}]},
            {"name": "plain", "expect": {"hate": 0}, "templates": [{"text": "{w} garden paper"}]},
        ],
    }  # fmt: skip
    (p.root / "suites" / "planted.yaml").write_text(yaml.safe_dump(suite))
    expand_project_suites(p.root, p.taxonomy)
    return p


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
