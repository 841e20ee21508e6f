"""Training layer: embeddings, model families, losses, thresholds, evaluation, gates, ONNX, policy.

Reads ``curation``; never imports ``workbench`` (training runs headless). Torch, transformers and
onnxruntime are imported when a model is fitted, exported or loaded, not at import time.
"""

from ._embeddings import DEFAULT_ENCODER, EmbeddingCache, Encoder, length_sorted_batches, resolve_model_path
from ._gates import (GateVerdict, RegressionVectors, compare_models, gate_labels, gate_model, load_vectors,
                     run_vectors)
from ._losses import LossConfig, hierarchy_penalty, masked_multilabel_loss, pos_weights
from ._metrics import evaluate, evaluate_slices, expected_calibration_error, pr_figure, reliability_figure, write_report
from ._models import (FAMILIES, EnsembleClassifier, FineTunedClassifier, FineTuneArgs, HeadsClassifier,
                      TfidfClassifier, load_classifier)
from ._onnx import VARIANTS, OnnxEncoderHead, export_onnx
from ._pipeline import (RECIPES, ModelSet, TrainedModel, TrainSpec, load_model, promote, promoted_model,
                        snapshot_frame, split_arrays, train_model, train_model_set)
from ._policy import ACTION_SEVERITY, Policy
from ._thresholds import binary_rates, tune_thresholds

__all__ = [
    "ACTION_SEVERITY", "DEFAULT_ENCODER", "FAMILIES", "RECIPES", "VARIANTS",
    "EmbeddingCache", "Encoder", "EnsembleClassifier", "FineTuneArgs", "FineTunedClassifier", "GateVerdict",
    "HeadsClassifier", "LossConfig", "ModelSet", "OnnxEncoderHead", "Policy", "RegressionVectors",
    "TfidfClassifier", "TrainSpec", "TrainedModel",
    "binary_rates", "compare_models", "evaluate", "evaluate_slices", "expected_calibration_error", "export_onnx",
    "gate_labels", "gate_model", "hierarchy_penalty", "length_sorted_batches", "load_classifier", "load_model",
    "load_vectors", "masked_multilabel_loss", "pos_weights", "pr_figure", "promote", "promoted_model",
    "reliability_figure", "resolve_model_path", "run_vectors", "snapshot_frame", "split_arrays", "train_model",
    "train_model_set", "tune_thresholds", "write_report",
]
