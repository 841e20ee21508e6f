"""The built-in model families; importing this module registers them (see :mod:`training.families._contract`).

1. ``heads`` (:class:`HeadsClassifier`) — frozen sentence encoder + per-label linear or MLP heads.
2. ``finetune`` (:class:`FineTunedClassifier`) — the encoder fine-tuned end to end.
3. ``tfidf`` (:class:`TfidfClassifier`) — word + character TF-IDF with logistic regression.
4. ``chars`` (:class:`CharNgramClassifier`) — character n-grams alone, the ensemble's character-aware member.
5. ``ensemble`` (:class:`EnsembleClassifier`) — a weighted mean of members.

All keep the contract of :class:`training.families._contract.Classifier`. A new family is a subclass that sets
``family``; nothing here needs to change for it to load.
"""

from __future__ import annotations

from ._contract import FAMILIES, load_classifier, neural_members
from ._ensemble import EnsembleClassifier
from ._finetune import FineTunedClassifier
from ._heads import HeadsClassifier
from ._tfidf import CharNgramClassifier, TfidfClassifier

__all__ = [
    "FAMILIES",
    "load_classifier",
    "neural_members",
    "EnsembleClassifier",
    "FineTunedClassifier",
    "HeadsClassifier",
    "TfidfClassifier",
    "CharNgramClassifier",
]
