"""Model families: the family contract and registry (fit / predict_proba / save / load / params), one module
per family (heads over a frozen encoder, fine-tuned transformer, TF-IDF, character n-grams, ensemble), the encoders and their
embedding cache, the masked multi-label losses, per-epoch monitoring, and the spelling normaliser (how people
spell around filters, read back as words).

Part of ``training`` (imports ``foundation``, ``curation`` and the rest of ``training``; never ``workbench``).
"""

from ._builtin import CharNgramClassifier, EnsembleClassifier, FineTunedClassifier, HeadsClassifier, TfidfClassifier
from ._contract import FAMILIES, Classifier, load_classifier, neural_members
from ._embeddings import (
    DEFAULT_ENCODER,
    ENCODERS,
    MPNET,
    MPNET_INSTALL,
    EmbeddingCache,
    Encoder,
    length_sorted_batches,
    mpnet_available,
    resolve_model_path,
)
from ._epochs import EpochLog, epoch_record, warning_signs
from ._finetune import FineTuneArgs
from ._losses import LossConfig, LossStep, hierarchy_penalty, masked_multilabel_loss, pos_weights
from ._spelling import SPELLING_VERSION, SpellingNormaliser

__all__ = [
    "SpellingNormaliser",
    "SPELLING_VERSION",
    "Classifier",
    "FAMILIES",
    "load_classifier",
    "neural_members",
    "EnsembleClassifier",
    "FineTunedClassifier",
    "HeadsClassifier",
    "TfidfClassifier",
    "CharNgramClassifier",
    "FineTuneArgs",
    "DEFAULT_ENCODER",
    "ENCODERS",
    "MPNET",
    "MPNET_INSTALL",
    "EmbeddingCache",
    "Encoder",
    "length_sorted_batches",
    "mpnet_available",
    "resolve_model_path",
    "LossConfig",
    "LossStep",
    "hierarchy_penalty",
    "masked_multilabel_loss",
    "pos_weights",
    "EpochLog",
    "epoch_record",
    "warning_signs",
]
