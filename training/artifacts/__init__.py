"""What a training leaves behind and how it is served: the typed model card, the model directory (load, save,
variants, serve), ONNX export and the int8 plan, the policy layer (thresholds, bands, actions), model sets,
promotion, and scoring files.

Part of ``training`` (imports ``foundation``, ``curation`` and the rest of ``training``; never ``workbench``).
"""

from ._card import (
    CARD_FORMAT,
    ModelCard,
    ProductionMix,
    ProductionRecord,
    Recalibration,
)
from ._int8 import INT8_CALIB_TARGET, matmul_groups, plan_int8
from ._modeldir import ModelDirectory, load_model, split_arrays
from ._modelset import ModelSet, open_model
from ._onnx import VARIANTS, OnnxEncoderHead, export_onnx
from ._policy import ACTION_SEVERITY, BAND_PRECISION, Policy, tune_bands
from ._predict import gate_status, predict_file, read_prediction_input, require_pass
from ._promotion import promote, promoted_model, promoted_variant

__all__ = [
    "CARD_FORMAT",
    "ModelCard",
    "ProductionMix",
    "ProductionRecord",
    "Recalibration",
    "ModelDirectory",
    "load_model",
    "split_arrays",
    "ModelSet",
    "open_model",
    "VARIANTS",
    "OnnxEncoderHead",
    "export_onnx",
    "INT8_CALIB_TARGET",
    "matmul_groups",
    "plan_int8",
    "ACTION_SEVERITY",
    "BAND_PRECISION",
    "Policy",
    "tune_bands",
    "promote",
    "promoted_model",
    "promoted_variant",
    "gate_status",
    "predict_file",
    "read_prediction_input",
    "require_pass",
]
