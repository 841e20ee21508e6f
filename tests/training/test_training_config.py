"""One training configuration, three doors: flags, workbench.yaml (and the panel, in test_panels) set the
same fields, the card records them with where each came from, and each family trains with non-default
settings on a small real slice (the Davidson slice of the demo)."""

from __future__ import annotations

import pytest
import yaml

from curation import Project, Taxonomy
from training import TrainingConfig, TrainSpec, resolve_training, train_model
from training.artifacts import load_model
from workbench.cli import main

from ..conftest import REPO

pytestmark = pytest.mark.slow

FLAGS = [
    "--loss",
    "focal",
    "--focal-gamma",
    "2",
    "--class-weights",
    "auto",
    "--pos-weight-cap",
    "10",
    "--lr",
    "5e-5",
    "--epochs",
    "2",
]
SETTINGS = {
    "loss": "focal",
    "focal_gamma": 2.0,
    "class_weights": "auto",
    "pos_weight_cap": 10.0,
    "lr": 5e-5,
    "epochs": 2.0,
}


def _project(root) -> Project:
    tax = Taxonomy.from_dict({"labels": [{"name": "offensive", "tier": "T3"}, {"name": "hate", "tier": "T2"}]})
    p = Project.init(root, taxonomy=tax)
    p.records.import_file(REPO / "data" / "demo" / "davidson_slice.csv", "davidson")
    return p


def test_flags_and_workbench_yaml_give_the_same_card(tmp_path, capsys):
    _project(tmp_path / "p").close()
    assert main(["train", str(tmp_path / "p"), "--out", str(tmp_path / "by-flags"), "--no-mix", *FLAGS]) == 0
    out, err = capsys.readouterr()
    assert "epoch      1  loss" not in out  # no line per epoch: one bar per fit, with its figures
    assert "fit:" in err and "primary F1" in err and "valid" in err
    assert (out + err).count("\n") < 60, out + err
    cfg_path = tmp_path / "p" / "workbench.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["training"] = SETTINGS
    cfg_path.write_text(yaml.safe_dump(cfg))
    assert main(["train", str(tmp_path / "p"), "--out", str(tmp_path / "by-yaml"), "--no-mix"]) == 0
    a, b = load_model(tmp_path / "by-flags").card, load_model(tmp_path / "by-yaml").card
    assert a.training["settings"] == b.training["settings"] == {**SETTINGS, "pos_weight_cap": 10.0}
    assert a.training["origin"]["lr"] == "flag" and b.training["origin"]["lr"] == "yaml"
    assert a.loss == b.loss and a.loss["kind"] == "focal" and a.loss["focal_gamma"] == 2.0
    assert a.loss["class_weights"] == a.training["class_weights"] and a.loss["class_weights"]["hate"] > 1.0
    assert a.classifier == b.classifier and a.classifier["lr"] == 5e-5 and a.classifier["epochs"] == 2
    assert len(a.history) == 2
    # a flag beats the yaml
    assert main(["train", str(tmp_path / "p"), "--out", str(tmp_path / "flag-wins"), "--no-mix", "--lr", "1e-3"]) == 0
    c = load_model(tmp_path / "flag-wins").card
    assert (
        c.classifier["lr"] == 1e-3 and c.training["origin"]["lr"] == "flag" and c.training["origin"]["loss"] == "yaml"
    )


def test_precedence_is_flag_over_panel_over_yaml_over_defaults():
    merged, origin = resolve_training(
        ("yaml", {"lr": 1e-3, "loss": "focal"}), ("panel", {"lr": 2e-3}), ("flag", {"epochs": 3})
    )
    assert (merged.lr, merged.loss, merged.epochs) == (2e-3, "focal", 3)
    assert origin == {"lr": "panel", "loss": "yaml", "epochs": "flag"}
    with pytest.raises(Exception, match="unknown keys \\['learning_rate'\\]"):
        TrainingConfig.from_dict({"learning_rate": 1}, where="workbench.yaml training")


@pytest.mark.parametrize(
    "recipe, settings",
    [
        (
            "heads",
            {
                "epochs": 3,
                "lr": 2e-3,
                "batch_size": 64,
                "pos_weight": {"T2": 4.0, "offensive": 2.0},
                "label_smoothing": 0.1,
                "patience": 2,
            },
        ),
        ("tfidf", {}),  # it applies none of them (class weights given to it are refused: the next test)
        (
            "ensemble",
            {
                "epochs": 0.5,
                "lr": 6e-5,
                "batch_size": 32,
                "max_length": 32,
                "loss": "focal",
                "hierarchy_weight": 0.0,
                "class_weights": "auto",
                "class_weight_cap": 6.0,
            },
        ),
    ],
)
def test_each_family_trains_with_non_default_settings_read_back_from_the_card(tmp_path, recipe, settings):
    p = _project(tmp_path / "p")
    spec = TrainSpec(recipe=recipe, mix=False, training=TrainingConfig.from_dict(settings), training_source="panel")
    m = train_model(p, tmp_path / "m", spec)
    card = load_model(m.root).card
    if recipe == "tfidf":  # the yaml's cap does not reach a TF-IDF model: the card says so, never "applied"
        assert card.training["settings"] == {} and list(card.training["not_applied"]) == ["pos_weight_cap"]
    else:
        assert card.training["settings"] == {**settings, "pos_weight_cap": 10.0}  # the yaml's cap joins
    assert set(card.training["origin"].values()) <= {"panel", "yaml"}
    if recipe == "heads":
        assert (card.classifier["epochs"], card.classifier["lr"], card.classifier["batch_size"]) == (3, 2e-3, 64)
        assert (
            card.loss["pos_weight_overrides"] == {"hate": 4.0, "offensive": 2.0} and card.loss["label_smoothing"] == 0.1
        )
        assert len(card.history) <= 3
    elif recipe == "tfidf":
        assert card.loss["class_weights"] == {} and len(card.history) == 1
    else:
        member = card.classifier["members"]
        assert member == ["finetune", "tfidf", "chars"] and card.loss["kind"] == "focal"
        assert max(card.loss["class_weights"].values()) <= 6.0
        clf = m.classifier().members[0]
        assert (clf.args.epochs, clf.args.lr, clf.args.max_length) == (0.5, 6e-5, 32)
        assert card.history and "labels" in card.history[-1]
    p.close()


def test_a_family_refuses_settings_it_cannot_apply_and_weights_above_their_cap():
    """TF-IDF applies no loss, weight or schedule setting: given by flag or panel they are refused (a card
    that recorded them as applied would lie). Weights above their cap need the label named."""
    import numpy as np

    from curation import WorkbenchError
    from training import RECIPES, TrainSpec
    from training._config import apply_training

    y = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])

    def apply(recipe, settings, source="flag"):
        cfg = TrainingConfig.from_dict(settings)
        origin = {k: source for k in cfg.set_fields()}
        return apply_training(
            TrainSpec(recipe=recipe),
            cfg,
            origin,
            labels=["hate", "spam"],
            tiers={"hate": "T2", "spam": "T4"},
            train_targets=y,
            applies=RECIPES[recipe].applies,
            family=RECIPES[recipe].family,
        )

    with pytest.raises(WorkbenchError, match=r"settings the tfidf family applies.*class_weights \(from flag\)"):
        apply("tfidf", {"class_weights": {"hate": 3.0}, "loss": "focal"})
    _, entry = apply("tfidf", {"loss": "focal"}, source="yaml")  # the project's defaults: listed, not applied
    assert entry["settings"] == {} and "tfidf family does not apply it" in entry["not_applied"]["loss"]
    with pytest.raises(WorkbenchError, match=r"expected weights at most pos_weight_cap 10, got hate 40"):
        apply("heads", {"pos_weight": {"hate": 40.0}})
    with pytest.raises(WorkbenchError, match=r"expected weights at most class_weight_cap 20, got spam 50"):
        apply("heads", {"class_weights": {"spam": 50.0}})
    spec, entry = apply("heads", {"pos_weight": {"hate": 40.0}, "allow_above_cap": {"hate": True}})
    assert spec.loss.pos_weight_overrides == {"hate": 40.0} and entry["settings"]["allow_above_cap"] == ["hate"]
    spec, _ = apply("heads", {"class_weights": {"spam": 50.0}, "allow_above_cap": ["spam"]})
    assert spec.loss.class_weights == {"spam": 50.0}
