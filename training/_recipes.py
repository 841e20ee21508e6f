"""Recipes: what ``workbench train --recipe`` builds, and the :class:`TrainSpec` of a run.

=============  ==========================================================================  ===========
recipe         model                                                                        family
=============  ==========================================================================  ===========
``heads``      frozen all-MiniLM-L6-v2 embeddings (cached) + linear or MLP heads            ``heads``
``ensemble``   fine-tuned MiniLM member(s), a TF-IDF and a character n-gram model, averaged  ``ensemble``
               with weights tuned on calib
``tfidf``      the lexical baseline alone                                                   ``tfidf``
=============  ==========================================================================  ===========

Each recipe is one :class:`Recipe` in :data:`RECIPES` (registered with :func:`register_recipe`): how it
builds its classifier from a spec, what it passes to ``fit`` and what it does after fitting. Training
(:func:`training.train_model`) asks the registry and never names a family.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from curation import WorkbenchError
from foundation import Registry

from ._config import TrainingConfig
from .artifacts._onnx import VARIANTS
from .families._embeddings import DEFAULT_ENCODER
from .families._ensemble import EnsembleClassifier
from .families._finetune import FineTuneArgs, FineTunedClassifier
from .families._heads import HeadsClassifier
from .families._losses import LossConfig
from .families._spelling import SpellingNormaliser
from .families._tfidf import CharNgramClassifier, TfidfClassifier

__all__ = [
    "RECIPES",
    "Recipe",
    "register_recipe",
    "TrainSpec",
    "resolve_recipe",
    "build_classifier",
    "curriculum_phases",
]


@dataclass(frozen=True)
class Recipe:
    """One ``--recipe``: ``build(spec, labels, hierarchy, cache_dir)`` makes the unfitted classifier;
    ``fit_options(spec, rows)`` the extra keyword arguments of its ``fit``; ``after_fit(clf, spec,
    valid, calib)`` runs once it is fitted (``(texts, targets)`` of those splits, ``None`` when empty); ``has_encoder`` says whether it can be exported to ONNX."""

    name: str
    family: str
    description: str
    build: Callable[..., Any]
    has_encoder: bool
    fit_options: Callable[..., dict] = lambda spec, rows: {}
    after_fit: Callable[..., None] | None = None
    # the training settings (training._config fields) this recipe applies; None: all of them. A setting given
    # by flag or panel that it cannot apply is refused; one from workbench.yaml is listed as not applied
    applies: frozenset[str] | None = None


RECIPES: Registry[Recipe] = Registry("recipe", fix="register it with training.register_recipe")


def register_recipe(recipe: Recipe) -> Recipe:
    return RECIPES.add(recipe.name, recipe)


def resolve_recipe(name: str) -> str:
    """``name`` when it is a registered recipe; else a clear error.

    >>> resolve_recipe("heads")
    'heads'
    """
    return RECIPES.lookup(name, what="recipe").name


@dataclass(frozen=True)
class TrainSpec:
    """What to train (validated on creation).

    ``ensemble_weights``: the members' weights (fine-tune members, then TF-IDF, then character n-grams), or
    ``"calib"`` (the default: tuned on the calib split, the one thresholds are tuned on, and recorded in the
    card's classifier) or ``"valid"``. ``char_member``: the ensemble's character n-gram member (on by default).

    Parameters
    ----------
    recipe : {"heads", "ensemble", "tfidf"}
        ``heads``: frozen MiniLM + linear heads; ``ensemble``: fine-tuned MiniLM averaged with a
        TF-IDF model; ``tfidf``: the lexical baseline alone.
    group : str, optional
        A taxonomy label group (a task view); ``None`` = all labels.
    encoder : str
        The sentence encoder of the ``heads`` and fine-tuned members (all-MiniLM-L6-v2 by default;
        ``all-mpnet-base-v2``, or a local sentence-transformers folder).
    mix : bool
        Apply the project's training mix (floors, caps, clean share) to the train split.
    onnx : tuple of str
        ONNX variants to export and gate.
    include_unreviewed : bool
        Also train on the records of generated batches that await review (an explicit override,
        recorded in the model card; by default pending records stay out of every training view).
    threshold_groups : str, optional
        A column of the calib rows (``"source"``) whose groups count equally when thresholds are
        tuned (:func:`training.evaluation.group_rates`); ``None`` pools calib (the largest source dominates).
    spelling : SpellingNormaliser, optional
        The model's first step, in every member that reads text (every step on by default; ``None``: the
        texts as they are, as models trained before it had one).
    """

    recipe: str = "heads"
    group: str | None = None
    encoder: str = DEFAULT_ENCODER
    mix: bool = True
    onnx: tuple[str, ...] = ()
    loss: LossConfig = field(default_factory=LossConfig)
    finetune: FineTuneArgs = field(default_factory=FineTuneArgs)
    ensemble_weights: tuple[float, ...] | str = "calib"  # or "valid", or fixed weights
    char_member: bool = True
    finetune_members: tuple[FineTuneArgs, ...] = ()
    hidden: int = 0
    seed: int = 0
    min_holdout_positives: int = 1
    parity: dict = field(default_factory=dict)  # overrides of training.evaluation.PARITY_RULE for the exported variants
    include_unreviewed: bool = False
    threshold_groups: str | None = None
    suite_pending: bool = False  # also gate on functional-suite cases that review has not kept yet
    heads_params: dict = field(default_factory=dict)  # epochs, lr, batch_size, max_length, patience of the heads
    training: Any = None  # a TrainingConfig (workbench.yaml / panel / flags), applied by train_model
    training_source: str = "spec"  # which door set it: "flag" (workbench train), "panel" (the retrain panel)
    spelling: SpellingNormaliser | None = field(default_factory=SpellingNormaliser)

    def __post_init__(self):
        object.__setattr__(self, "recipe", resolve_recipe(self.recipe))
        if isinstance(self.ensemble_weights, str) and self.ensemble_weights not in ("calib", "valid"):
            raise WorkbenchError(  # checked here, not after a fine-tune
                "ensemble_weights",
                expected="'calib', 'valid' or one weight per member",
                got=repr(self.ensemble_weights),
            )
        bad = [v for v in self.onnx if v not in VARIANTS]
        if bad:
            raise WorkbenchError("ONNX variants", expected=f"a subset of {list(VARIANTS)}", got=str(bad))
        if self.onnx and not RECIPES[self.recipe].has_encoder:
            raise WorkbenchError(
                f"ONNX export of the {self.recipe} recipe",
                expected="a recipe with an encoder",
                got=self.recipe,
                fix="use a recipe with an encoder "
                f"({', '.join(n for n, r in RECIPES.items() if r.has_encoder)}) for ONNX",
            )


def build_classifier(spec: TrainSpec, labels: list[str], hierarchy: list[tuple[str, str]], *, cache_dir=None):
    """The unfitted classifier of ``spec``'s recipe."""
    return RECIPES[spec.recipe].build(spec, labels, hierarchy, cache_dir)


def curriculum_phases(frame: pd.DataFrame) -> np.ndarray:
    """Curriculum phase per record: 0 positives and clean, 1 hard negatives, 2 perturbations.

    >>> curriculum_phases(pd.DataFrame({"origin": ["real", "perturbation", "generated"],
    ...                                 "hard_negative": [False, False, True]})).tolist()
    [0, 2, 1]
    """
    phase = np.zeros(len(frame), dtype=int)
    if "hard_negative" in frame:
        phase[frame["hard_negative"].to_numpy(dtype=bool)] = 1
    if "origin" in frame:
        phase[(frame["origin"] == "perturbation").to_numpy()] = 2
    return phase


def _class_weight(spec: TrainSpec) -> str | None:
    # label weighting off (use_pos_weight=False) means off for the lexical model too
    return "balanced" if spec.loss.use_pos_weight else None


def _build_heads(spec, labels, hierarchy, cache_dir):
    return HeadsClassifier(
        labels,
        hidden=spec.hidden,
        loss=spec.loss,
        seed=spec.seed,
        cache_dir=cache_dir,
        hierarchy=hierarchy,
        encoder=spec.encoder,
        spelling=spec.spelling,
        **spec.heads_params,
    )


def _build_tfidf(spec, labels, hierarchy, cache_dir):
    return TfidfClassifier(labels, seed=spec.seed, class_weight=_class_weight(spec), spelling=spec.spelling)


def _build_ensemble(spec, labels, hierarchy, cache_dir):
    fts = [
        FineTunedClassifier(
            labels, args=a, loss=spec.loss, hierarchy=hierarchy, encoder=spec.encoder, spelling=spec.spelling
        )
        for a in (spec.finetune_members or (spec.finetune,))
    ]
    members = [*fts, _build_tfidf(spec, labels, hierarchy, cache_dir)]
    if spec.char_member:
        members.append(
            CharNgramClassifier(labels, seed=spec.seed, class_weight=_class_weight(spec), spelling=spec.spelling)
        )
    weights = None if isinstance(spec.ensemble_weights, str) else list(spec.ensemble_weights)
    if weights is not None and len(weights) != len(members):
        raise WorkbenchError(
            "ensemble_weights",
            expected=f"{len(members)} weights (fine-tune members, then TF-IDF"
            + (", then character n-grams)" if spec.char_member else ")"),
            got=str(weights),
            fix="or pass ensemble_weights='calib' (or 'valid') to tune them there",
        )
    return EnsembleClassifier(members, weights=weights)


def _ensemble_fit_options(spec, rows) -> dict:
    return {"phases": curriculum_phases(rows)} if spec.finetune.curriculum else {}


def _ensemble_after_fit(clf, spec, valid, calib=None) -> None:
    """Weights tuned on the split ``ensemble_weights`` names (``calib`` by default; ``valid``); fixed weights
    stay. Without calib records the weights stay equal (the card's classifier says so under weight_tuning);
    ``valid`` asked for by name without valid records is an error, as before."""
    if not isinstance(spec.ensemble_weights, str):
        return
    split = {"valid": valid, "calib": calib}[spec.ensemble_weights]  # TrainSpec checked the name
    if spec.ensemble_weights == "valid" and (split is None or not len(split[0])):  # asked for by name
        raise WorkbenchError("ensemble_weights='valid'", expected="records in the valid split", got="none")
    if split is None or not len(split[0]):  # the default, on a project without calib records
        clf.history_.append({"fit_weights": clf.weights, "note": "no calib records: equal weights"})
        return
    clf.fit_weights(*split, split=spec.ensemble_weights)


_ALL_BUT_CURRICULUM = frozenset(f.name for f in dataclasses.fields(TrainingConfig)) - {"curriculum"}
register_recipe(
    Recipe(
        "heads",
        "heads",
        "frozen encoder embeddings (cached) + linear or MLP heads",
        _build_heads,
        has_encoder=True,
        applies=_ALL_BUT_CURRICULUM,  # the curriculum is the fine-tune's
    )
)
register_recipe(
    Recipe(
        "ensemble",
        "ensemble",
        "fine-tuned encoder member(s) averaged with a TF-IDF model",
        _build_ensemble,
        has_encoder=True,
        fit_options=_ensemble_fit_options,
        after_fit=_ensemble_after_fit,
    )
)
# TF-IDF + logistic regression weighs each label's classes as balanced (or not at all with pos_weight off):
# none of the loss, weight or schedule settings reach it
register_recipe(
    Recipe(
        "tfidf", "tfidf", "the lexical baseline alone", _build_tfidf, has_encoder=False, applies=frozenset({"recipe"})
    )
)
