"""Recipes: what ``workbench train --recipe`` builds, and the :class:`TrainSpec` of a run.

=============  ==========================================================================  ===========
recipe         model                                                                        family
=============  ==========================================================================  ===========
``heads``      frozen all-MiniLM-L6-v2 embeddings (cached) + linear or MLP heads            ``heads``
``ensemble``   fine-tuned MiniLM member(s) averaged with a TF-IDF model                     ``ensemble``
``tfidf``      the lexical baseline alone                                                   ``tfidf``
=============  ==========================================================================  ===========

The old names ``fast`` (= ``heads``) and ``finetune`` (= ``ensemble``) still work for one release,
with a deprecation message.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from curation import WorkbenchError

from ._ensemble import EnsembleClassifier
from ._finetune import FineTunedClassifier, FineTuneArgs
from ._heads import HeadsClassifier
from ._losses import LossConfig
from ._onnx import VARIANTS
from ._tfidf import TfidfClassifier

__all__ = ["RECIPES", "RECIPE_ALIASES", "TrainSpec", "resolve_recipe", "build_classifier"]

RECIPES = ("heads", "ensemble", "tfidf")
RECIPE_ALIASES = {"fast": "heads", "finetune": "ensemble"}


def resolve_recipe(name: str) -> str:
    """The recipe's current name (an old name gives a deprecation message); an unknown name is an error.

    >>> resolve_recipe("heads")
    'heads'
    """
    if name in RECIPE_ALIASES:
        new = RECIPE_ALIASES[name]
        warnings.warn(f"recipe {name!r} is now called {new!r}; the old name will be removed in the next release",
                      FutureWarning, stacklevel=3)
        return new
    if name not in RECIPES:
        raise WorkbenchError("recipe", expected=f"one of {list(RECIPES)}", got=repr(name),
                             fix=f"old names {list(RECIPE_ALIASES)} are accepted for one more release")
    return name


@dataclass(frozen=True)
class TrainSpec:
    """What to train (validated on creation).

    Parameters
    ----------
    recipe : {"heads", "ensemble", "tfidf"}
        ``heads``: frozen MiniLM + linear heads; ``ensemble``: fine-tuned MiniLM averaged with a
        TF-IDF model; ``tfidf``: the lexical baseline alone.
    group : str, optional
        A taxonomy label group (a task view); ``None`` = all labels.
    mix : bool
        Apply the project's training mix (floors, caps, clean share) to the train split.
    onnx : tuple of str
        ONNX variants to export and gate.
    include_unreviewed : bool
        Also train on the records of generated batches that await review (an explicit override,
        recorded in the model card; by default pending records stay out of every training view).
    threshold_groups : str, optional
        A column of the calib rows (``"source"``) whose groups count equally when thresholds are
        tuned (:func:`training.group_rates`); ``None`` pools calib (the largest source dominates).
    """

    recipe: str = "heads"
    group: str | None = None
    mix: bool = True
    onnx: tuple[str, ...] = ()
    loss: LossConfig = field(default_factory=LossConfig)
    finetune: FineTuneArgs = field(default_factory=FineTuneArgs)
    ensemble_weights: tuple[float, ...] | str = (0.7, 0.3)  # or "valid": fitted on the valid split
    finetune_members: tuple[FineTuneArgs, ...] = ()
    hidden: int = 0
    seed: int = 0
    min_holdout_positives: int = 1
    parity: dict = field(default_factory=dict)  # overrides of training.PARITY_RULE for the exported variants
    include_unreviewed: bool = False
    threshold_groups: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "recipe", resolve_recipe(self.recipe))
        bad = [v for v in self.onnx if v not in VARIANTS]
        if bad:
            raise WorkbenchError("ONNX variants", expected=f"a subset of {list(VARIANTS)}", got=str(bad))
        if self.recipe == "tfidf" and self.onnx:
            raise WorkbenchError("ONNX export of the tfidf recipe", expected="a recipe with an encoder",
                                 got="tfidf", fix="use --recipe heads or ensemble for ONNX")


def build_classifier(spec: TrainSpec, labels: list[str], hierarchy: list[tuple[str, str]], *, cache_dir=None):
    """The unfitted classifier of ``spec``'s recipe."""
    if spec.recipe == "heads":
        return HeadsClassifier(labels, hidden=spec.hidden, loss=spec.loss, seed=spec.seed, cache_dir=cache_dir,
                               hierarchy=hierarchy)
    # label weighting off (use_pos_weight=False) means off for the lexical model too
    cw = "balanced" if spec.loss.use_pos_weight else None
    if spec.recipe == "tfidf":
        return TfidfClassifier(labels, seed=spec.seed, class_weight=cw)
    fts = [FineTunedClassifier(labels, args=a, loss=spec.loss, hierarchy=hierarchy)
           for a in (spec.finetune_members or (spec.finetune,))]
    members = [*fts, TfidfClassifier(labels, seed=spec.seed, class_weight=cw)]
    weights = None if spec.ensemble_weights == "valid" else list(spec.ensemble_weights)
    if weights is not None and len(weights) != len(members):
        raise WorkbenchError("ensemble_weights", expected=f"{len(members)} weights (fine-tune members, then TF-IDF)",
                             got=str(weights), fix="or pass ensemble_weights='valid' to fit them on valid")
    return EnsembleClassifier(members, weights=weights)
