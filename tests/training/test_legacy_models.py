"""Model directories written before the package split (tests/fixtures/legacy_models, made by main at
ffc7e83) still load, predict the same probabilities and serve through the CLI."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from curation import Taxonomy, TaxonomyError
from training.artifacts import load_model
from training.families import HeadsClassifier, TfidfClassifier
from workbench.cli import main

from ..conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "legacy_models"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


@pytest.fixture
def legacy(tmp_path):
    """A copy, so nothing a test does can touch the fixture; its card still names a project that is gone."""
    shutil.copytree(FIXTURES, tmp_path / "legacy")
    return tmp_path / "legacy"


@pytest.mark.parametrize(
    "name, family", [("tfidf", TfidfClassifier), pytest.param("heads", HeadsClassifier, marks=pytest.mark.slow)]
)
def test_legacy_model_directory_loads_and_predicts_the_same(legacy, name, family):
    m = load_model(legacy / name, taxonomy=Taxonomy.from_dict({"labels": ["hate", "offensive", "spam"]}))
    gone_cache = Path(m.card.cache_dir)
    existed = gone_cache.exists()
    assert m.labels == ["hate", "offensive"]
    clf = m.classifier()
    assert isinstance(clf, family)
    # written before models had a spelling normaliser: none is added, the texts are read as they are
    assert m.card.spelling is None and clf.spelling is None and clf.read(["h4t3 y0u"]) == ["h4t3 y0u"]
    np.testing.assert_allclose(clf.predict_proba(EXPECTED["texts"]), np.array(EXPECTED[name]), atol=1e-5)
    out = m.predict(EXPECTED["texts"], variant="torch")
    assert [set(r["probabilities"]) for r in out] == [{"hate", "offensive"}] * 2
    assert gone_cache.exists() == existed  # the cache of a project that is gone is not recreated
    with pytest.raises(TaxonomyError, match="Label order of model"):
        m.check_taxonomy(Taxonomy.from_dict({"labels": ["offensive", "hate"]}))


def test_legacy_model_serves_through_cli(legacy, tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("".join(json.dumps({"text": t, "n": i}) + "\n" for i, t in enumerate(EXPECTED["texts"])))
    assert (
        main(["predict", str(legacy / "tfidf"), "--input", str(inp), "--output", str(out), "--variant", "torch"]) == 0
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["input"]["n"] for r in rows] == [0, 1]
    for row, probs in zip(rows, EXPECTED["tfidf"]):
        assert row["probabilities"]["hate"] == pytest.approx(probs[0], abs=1e-5)


def test_legacy_model_without_encoder_is_refused_by_model_export_and_project_export_points_there(legacy, capsys):
    assert main(["model", "export", str(legacy / "tfidf"), "--onnx", "fp32"]) == 2  # tfidf has no encoder to export
    err = capsys.readouterr().err
    assert "error: ONNX export of" in err and "expected a model with an encoder" in err
    assert main(["export", str(legacy / "tfidf"), "--format", "jsonl", "--out", str(legacy / "x.jsonl")]) == 2
    assert "is `workbench model export" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["tfidf", "heads"])
def test_legacy_cards_load_as_typed_cards_and_keep_what_they_hold(legacy, name):
    from training.artifacts import CARD_FORMAT, ModelCard
    from training.evaluation import GateVerdict, VariantResult

    raw = json.loads((legacy / name / "model.json").read_text())
    assert raw["format"] == 1 and "parity_tolerance" in raw
    card = load_model(legacy / name).card
    assert isinstance(card, ModelCard) and card.recipe == {"tfidf": "tfidf", "heads": "heads"}[name]
    assert raw["recipe"] == {"tfidf": "tfidf", "heads": "fast"}[name]  # the name of that time, read as today's
    torch = card.variants["torch"]
    assert isinstance(torch, VariantResult) and isinstance(torch.gate, GateVerdict)
    assert torch.passed == raw["variants"]["torch"]["passed"] and torch.gate.checked == 8
    assert card.extra["parity_tolerance"] == raw["parity_tolerance"]  # unknown keys are kept
    again = card.to_dict()
    assert again["format"] == CARD_FORMAT and again["parity_tolerance"] == raw["parity_tolerance"]
    assert ModelCard.from_dict(again) == card
    with pytest.raises(Exception, match="a card of format 1..2"):
        ModelCard.from_dict({**raw, "format": CARD_FORMAT + 1})
