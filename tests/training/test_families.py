"""The family contract: hyper-parameters are the constructor's arguments, written once; configs round-trip;
recipe names say what they are, the old ones still work with a deprecation message."""

import inspect

import numpy as np
import pytest

from curation import WorkbenchError
from training import RECIPES, TrainSpec, resolve_recipe
from training.families import (
    FAMILIES,
    CharNgramClassifier,
    Classifier,
    EnsembleClassifier,
    FineTuneArgs,
    FineTunedClassifier,
    HeadsClassifier,
    LossConfig,
    SpellingNormaliser,
    TfidfClassifier,
    load_classifier,
)


@pytest.mark.parametrize("family", ["heads", "finetune", "tfidf", "chars"])
def test_params_are_the_constructor_signature(family):
    cls = FAMILIES[family]
    assert issubclass(cls, Classifier)
    sig = [n for n in inspect.signature(cls.__init__).parameters if n != "self" and n not in cls.runtime_params]
    assert cls.param_names() == sig
    obj = cls(["a", "b"])
    assert list(obj.get_params()) == sig
    config = obj.get_config()
    assert config["family"] == family and set(config) == {"family", *sig}
    again = cls.from_config(config)
    assert again.get_config() == config


def test_typed_params_round_trip():
    clf = FineTunedClassifier(
        ["a"],
        args=FineTuneArgs(epochs=1.5, curriculum=(1, 1)),
        loss=LossConfig(kind="focal", class_weights={"a": 2.0}),
        hierarchy=[("a", "a")],
    )
    back = FineTunedClassifier.from_config(clf.get_config())
    assert back.args == clf.args and back.args.curriculum == (1, 1)
    assert back.loss == clf.loss and back.hierarchy == [("a", "a")]
    heads = HeadsClassifier(["a"], hidden=16, cache_dir="/somewhere")
    assert "cache_dir" not in heads.get_config() and "device" not in heads.get_config()  # runtime, never saved


def test_fitted_tfidf_saves_and_loads(tmp_path):
    texts = ["buy cheap pills now", "win a prize click here", "see you at lunch", "thanks for the notes"] * 3
    y = np.array([[1.0], [1.0], [0.0], [0.0]] * 3)
    clf = TfidfClassifier(["spam"], C=2.0).fit(texts, y)
    clf.save(tmp_path / "m")
    back = load_classifier(tmp_path / "m")
    assert back.C == 2.0 and back.get_config() == clf.get_config()
    np.testing.assert_allclose(back.predict_proba(texts), clf.predict_proba(texts))


def test_recipe_names_and_the_registry():
    assert list(RECIPES) == ["heads", "ensemble", "tfidf"]
    assert TrainSpec().recipe == "heads"
    assert resolve_recipe("ensemble") == "ensemble"
    assert {n: r.has_encoder for n, r in RECIPES.items()} == {"heads": True, "ensemble": True, "tfidf": False}
    assert {n: r.family for n, r in RECIPES.items()} == {"heads": "heads", "ensemble": "ensemble", "tfidf": "tfidf"}
    with pytest.raises(WorkbenchError, match="recipe: expected one of \\['heads', 'ensemble', 'tfidf'\\], got 'x'"):
        TrainSpec(recipe="x")
    with pytest.raises(WorkbenchError, match="got 'fast'"):  # the names of before 0.1.0 are gone
        TrainSpec(recipe="fast")
    with pytest.raises(WorkbenchError, match="ONNX export of the tfidf recipe: expected a recipe with an encoder"):
        TrainSpec(recipe="tfidf", onnx=("fp32",))


def test_families_register_themselves_and_say_what_they_can_do(tmp_path):
    assert set(FAMILIES) >= {"heads", "finetune", "tfidf", "ensemble"}
    assert {n: FAMILIES[n].has_encoder for n in ("heads", "finetune", "tfidf", "ensemble")} == {
        "heads": True,
        "finetune": True,
        "tfidf": False,
        "ensemble": False,
    }

    class Constant(TfidfClassifier):  # a new family needs no edit anywhere else to save and load
        family = "constant-test"

    texts = ["buy now cheap pills", "hello there friend"] * 6
    clf = Constant(["spam"]).fit(texts, np.array([[1.0], [0.0]] * 6))
    clf.save(tmp_path / "c")
    back = load_classifier(tmp_path / "c")
    assert type(back) is Constant and FAMILIES["constant-test"] is Constant
    with pytest.raises(WorkbenchError, match="a name no other model family has"):
        type("Clash", (TfidfClassifier,), {"family": "heads"})
    FAMILIES.pop("constant-test")


@pytest.mark.slow  # trains a heads model for a few epochs (~25 s): make test, not the fast lane
def test_history_has_per_label_valid_metrics_and_warns_about_a_label_stuck_at_zero_recall(tmp_path):
    """The heads family trained on a real slice with one label's weight pushed to nothing: that label
    never fires on valid, and the guide's warning names it."""

    from curation import Project, Taxonomy
    from training import train_model

    from ..conftest import REPO

    tax = Taxonomy.from_dict({"labels": [{"name": "offensive", "tier": "T3"}, {"name": "hate", "tier": "T2"}]})
    p = Project.init(tmp_path / "p", taxonomy=tax)
    p.records.import_file(REPO / "data" / "demo" / "davidson_slice.csv", "davidson")
    loss = LossConfig(pos_weight_overrides={"hate": 1e-4}, class_weights={"hate": 1e-4})
    seen = []
    m = train_model(p, tmp_path / "m", TrainSpec(recipe="heads", mix=False, loss=loss), on_epoch=seen.append)
    history = m.card.history
    assert history and seen == history and len(history) >= 2
    last = history[-1]
    assert set(last) >= {"epoch", "loss", "labels", "primary_macro_f1", "secondary_macro_f1", "warnings"}
    assert set(last["labels"]["offensive"]) >= {"precision", "recall", "f1"} and last["labels"]["offensive"]["f1"] > 0
    assert last["labels"]["hate"]["recall"] == 0.0
    assert any(w.startswith("hate: stuck at zero recall") and "--class-weights hate=" in w for w in last["warnings"])
    assert any("stuck at zero recall" in w for w in m.card.warnings)  # and the card says it too


def test_a_new_recipe_is_one_declaration(tmp_path):
    """A recipe registered from outside the package trains, gates and loads like a built-in one: no other
    module is touched, and the registry refuses its name twice."""
    import pandas as pd

    from curation import Project, Taxonomy
    from training import Recipe, register_recipe, train_model
    from training.artifacts import open_model

    def build(spec, labels, hierarchy, cache_dir):
        return TfidfClassifier(labels, C=1.0, max_features=5_000, seed=spec.seed)

    register_recipe(Recipe("small-tfidf-test", "tfidf", "a smaller lexical model", build, has_encoder=False))
    try:
        assert resolve_recipe("small-tfidf-test") == "small-tfidf-test"
        with pytest.raises(WorkbenchError, match="a name no other recipe has"):
            register_recipe(Recipe("small-tfidf-test", "tfidf", "again", build, has_encoder=False))
        words = ["rain", "bus", "lunch", "game", "song", "park", "movie", "coffee"]
        rows = [
            {
                "text": f"{'I hate those people, ' if i % 5 == 0 else ''}{words[i % 8]} {words[(i * 3) % 8]} {i}",
                "hate": int(i % 5 == 0),
            }
            for i in range(1200)
        ]
        p = Project.init(tmp_path / "p", taxonomy=Taxonomy.from_dict({"labels": [{"name": "hate", "tier": "T3"}]}))
        p.records.import_frame(pd.DataFrame(rows), source="synthetic")
        model = train_model(p, tmp_path / "m", TrainSpec(recipe="small-tfidf-test", mix=False))
        assert model.card.recipe == "small-tfidf-test"
        back = open_model(tmp_path / "m").classifier()
        assert type(back) is TfidfClassifier and back.get_params()["max_features"] == 5_000
        assert back.predict_proba(["I hate those people, rain bus"])[0, 0] > 0.5
        p.close()
    finally:
        RECIPES.pop("small-tfidf-test")


def test_train_model_is_steps_a_notebook_can_take_one_by_one(tmp_path):
    """prepare -> fit -> tune (calib) -> write -> gate gives the model train_model gives."""
    import pandas as pd

    from curation import Project, Taxonomy
    from training import fit_run, gate_run, prepare_training, train_model, tune_run, write_run
    from training.artifacts import open_model

    words = ["rain", "bus", "lunch", "game", "song", "park", "movie", "coffee"]
    rows = [
        {
            "text": f"{'I hate those people, ' if i % 5 == 0 else ''}{words[i % 8]} {words[(i * 3) % 8]} {i}",
            "hate": int(i % 5 == 0),
        }
        for i in range(1200)
    ]
    p = Project.init(tmp_path / "p", taxonomy=Taxonomy.from_dict({"labels": [{"name": "hate", "tier": "T3"}]}))
    p.records.import_frame(pd.DataFrame(rows), source="synthetic")
    spec = TrainSpec(recipe="tfidf", mix=False)
    run = prepare_training(p, spec)
    assert run.names == ["hate"] and len(run.rows) == len(run.train_y) and len(run.calib[1]) > 50
    clf, monitor = fit_run(run)
    tuning = tune_run(run, clf)
    assert 0 < tuning.thresholds.loc["hate", "threshold"] < 1
    model = write_run(run, tmp_path / "steps", clf, monitor, tuning)
    gate_run(run, model)
    whole = train_model(p, tmp_path / "whole", spec)
    steps = open_model(tmp_path / "steps")
    assert steps.card.thresholds == whole.card.thresholds
    assert steps.card.variants["torch"].per_label == whole.card.variants["torch"].per_label
    assert steps.card.snapshot_id == whole.card.snapshot_id
    p.close()


OBFUSCATED = ["you are a w0rthl3ss 1d10t", "w o r t h l e s s", "w\u043erthless\u200b idiot", "thaaaanks for lunch"]


def test_the_spelling_normaliser_is_the_models_first_step_in_training_and_scoring(tmp_path):
    """Trained on obfuscated texts with the normaliser = trained on their plain forms: fit reads through it;
    scoring too, so an obfuscated text scores as its plain form; it is saved with the model and loads back."""
    texts = ["buy cheap pills n0w", "w1n a pr1ze click h3re", "see you at lunch", "thanks for the notes"] * 3
    y = np.array([[1.0], [1.0], [0.0], [0.0]] * 3)
    spelling = SpellingNormaliser()
    plain = spelling.apply(texts)
    assert plain != texts
    with_it = TfidfClassifier(["spam"], spelling=spelling).fit(texts, y)
    on_plain = TfidfClassifier(["spam"]).fit(plain, y)
    np.testing.assert_allclose(with_it.predict_proba(texts), on_plain.predict_proba(plain))
    np.testing.assert_allclose(with_it.predict_proba(OBFUSCATED), with_it.predict_proba(spelling.apply(OBFUSCATED)))
    assert with_it.get_config()["spelling"] == spelling.to_dict()
    with_it.save(tmp_path / "m")
    back = load_classifier(tmp_path / "m")
    assert back.spelling == spelling and back.read(OBFUSCATED) == spelling.apply(OBFUSCATED)
    # without one (every model saved before it had one), the texts are read as they are
    assert on_plain.spelling is None and on_plain.read(OBFUSCATED) == OBFUSCATED


def test_new_models_read_through_the_normaliser_by_default_and_every_member_alike():
    assert TrainSpec().spelling == SpellingNormaliser()
    ensemble = RECIPES["ensemble"].build(TrainSpec(recipe="ensemble"), ["a"], [], None)
    assert [m.spelling for m in ensemble.members] == [SpellingNormaliser()] * 3
    off = RECIPES["heads"].build(TrainSpec(spelling=None), ["a"], [], None)
    assert off.spelling is None


def test_the_character_member_reads_a_word_by_its_pieces_and_saves_and_loads(tmp_path):
    """Character n-grams alone: a word never seen whole (re-spelt) still scores by the pieces it shares with the
    word, where the word model has nothing to go on; saved and loaded alone and inside an ensemble whose
    weights are tuned on held-out data and kept in its config."""
    texts = ["you are a worthless idiot", "what a pathetic loser", "see you at lunch", "thanks for the notes"] * 4
    y = np.array([[1.0], [1.0], [0.0], [0.0]] * 4)
    chars = CharNgramClassifier(["insult"]).fit(texts, y)
    assert chars.get_config()["family"] == "chars"
    assert "word" not in str(chars.vectorizer_.get_params().get("analyzer", ""))  # char_wb only
    respelt = ["you are a worthlesss idiott", "see yoou at lunnch"]
    p = chars.predict_proba(respelt)[:, 0]
    assert p[0] > 0.5 > p[1]
    chars.save(tmp_path / "c")
    back = load_classifier(tmp_path / "c")
    assert isinstance(back, CharNgramClassifier)
    np.testing.assert_allclose(back.predict_proba(respelt), chars.predict_proba(respelt))
    ens = EnsembleClassifier([TfidfClassifier(["insult"]), CharNgramClassifier(["insult"])]).fit(texts, y)
    weights = ens.fit_weights(texts[:8], y[:8], split="calib")
    assert abs(sum(weights) - 1) < 1e-9 and ens.get_config()["weight_tuning"]["split"] == "calib"
    ens.save(tmp_path / "e")
    again = load_classifier(tmp_path / "e")
    assert [m.family for m in again.members] == ["tfidf", "chars"] and again.weights == weights
    assert again.get_config() == ens.get_config()
    np.testing.assert_allclose(again.predict_proba(respelt), ens.predict_proba(respelt), atol=1e-6)


def test_the_default_ensemble_has_the_character_member_and_tunes_its_weights_on_calib():
    spec = TrainSpec(recipe="ensemble")
    assert spec.ensemble_weights == "calib" and spec.char_member
    ens = RECIPES["ensemble"].build(spec, ["a"], [], None)
    assert [m.family for m in ens.members] == ["finetune", "tfidf", "chars"]
    fixed = RECIPES["ensemble"].build(
        TrainSpec(recipe="ensemble", ensemble_weights=(0.7, 0.3), char_member=False), ["a"], [], None
    )
    assert [m.family for m in fixed.members] == ["finetune", "tfidf"] and fixed.weights == [0.7, 0.3]
    with pytest.raises(WorkbenchError, match="3 weights \\(fine-tune members, then TF-IDF, then character n-grams\\)"):
        RECIPES["ensemble"].build(TrainSpec(recipe="ensemble", ensemble_weights=(0.7, 0.3)), ["a"], [], None)
