"""The model families by name, and loading any of them from its saved directory.

1. ``heads`` (:class:`HeadsClassifier`) — frozen sentence encoder + per-label linear or MLP heads.
2. ``finetune`` (:class:`FineTunedClassifier`) — the encoder fine-tuned end to end.
3. ``tfidf`` (:class:`TfidfClassifier`) — word + character TF-IDF with logistic regression.
4. ``ensemble`` (:class:`EnsembleClassifier`) — a weighted mean of members.

All keep the contract of :class:`training._family.Classifier`.
"""

from __future__ import annotations

import json
from pathlib import Path

from curation import WorkbenchError

from ._ensemble import EnsembleClassifier
from ._finetune import FineTunedClassifier
from ._heads import HeadsClassifier
from ._tfidf import TfidfClassifier

__all__ = ["FAMILIES", "load_classifier", "neural_members"]

FAMILIES: dict[str, type] = {"heads": HeadsClassifier, "finetune": FineTunedClassifier, "tfidf": TfidfClassifier,
                             "ensemble": EnsembleClassifier}


def load_classifier(path, **runtime):
    """Load any family from its saved directory (``config.json`` names the family); ``runtime`` are
    the arguments that are not saved (``cache_dir``, ``device``)."""
    path = Path(path)
    try:
        fam = json.loads((path / "config.json").read_text())["family"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError) as e:
        raise WorkbenchError(f"classifier at {path}", expected="a config.json naming its family",
                             got=type(e).__name__, fix="point at a directory written by save()") from e
    if fam not in FAMILIES:
        raise WorkbenchError(f"classifier at {path}", expected=f"a family in {list(FAMILIES)}", got=repr(fam))
    cls = FAMILIES[fam]
    return cls.load(path, **{k: v for k, v in runtime.items() if k in cls.runtime_params or cls is EnsembleClassifier})


def neural_members(clf) -> list[tuple[int | None, object]]:
    """(index in the ensemble, member) of every encoder-based member; ``None`` index for a lone model."""
    if isinstance(clf, (HeadsClassifier, FineTunedClassifier)):
        return [(None, clf)]
    if isinstance(clf, EnsembleClassifier):
        return [(i, m) for i, m in enumerate(clf.members) if isinstance(m, (HeadsClassifier, FineTunedClassifier))]
    return []
