"""Training layer: embeddings and their cache, model families, losses, thresholds, evaluation, gates,
ONNX export, inference with the policy layer, model directories, model sets and the registry.

Reads ``curation`` (snapshots, views, the taxonomy); never imports ``workbench``: training runs
headless, with no Argilla or Jupyter. Torch, transformers and onnxruntime are imported when a model
is fitted, exported or loaded, not at import time.

Where things are: recipes (a registry) and :class:`TrainSpec` in ``_recipes``; the family contract
and the family registry in ``_family_contract``, one module per family (``_heads``, ``_finetune``, ``_tfidf``,
``_ensemble``) and ``_builtin_families``, which imports (registers) the built-in ones;
``_config`` merges the training settings (workbench.yaml < panel < flags); ``_epochs`` scores valid
after each epoch; ``_train`` runs a training; ``_card`` is the typed model card and ``_modeldir`` the
model directory; ``_gates`` (gate verdicts of typed failures, vector quotas and known gaps) and
``_parity`` gate it, ``_suite_gate`` runs the functional suites in that gate (pass rate per functionality,
deltas against the promoted model), ``_thresholds`` tunes on calib at the production base rates;
``_policy`` turns probabilities into actions (thresholds, bands); ``_modelset``
and ``_promotion`` serve and promote (refusing regressions unless accepted with a reason);
``_predict`` scores files. The subpackage ``production`` is the loop after a model ships: ``_drift`` watches it
on production traffic (PSI, KS, decision and overturn rates per window against calib, alerts at the tier's
limits), ``_sampling`` picks production posts worth reviewing, ``_recalibrate`` re-tunes a shipped model's
thresholds on them, and ``_watch`` is the front door (:func:`watch`: drift -> review sample -> retrain on
the labelled posts -> gate on the curated holdout and the production slice). ``_batchjobs``
runs the heavy steps over many records (embedding, scoring) in this process or as Ray Data jobs.
"""

from ._batchjobs import (
    BatchJobs,
    JobReport,
    LocalJobs,
    RayJobs,
    batch_jobs,
    embed_project,
    embed_texts,
    node_name,
    score_project,
    score_texts,
)
from ._builtin_families import EnsembleClassifier
from ._card import (
    CARD_FORMAT,
    ModelCard,
    ProductionMix,
    ProductionRecord,
    ProductionSlice,
    Recalibration,
    VariantResult,
)
from ._config import TrainingConfig, auto_class_weights, resolve_training, yaml_layer
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
from ._epochs import EpochMonitor, epoch_record, warning_signs
from ._family_contract import FAMILIES, Classifier, load_classifier, neural_members
from ._finetune import FineTuneArgs, FineTunedClassifier
from ._gates import (
    LABEL_STATUSES,
    REGRESSION_ALPHA,
    REGRESSION_TOLERANCE,
    GateFailure,
    GateVerdict,
    RegressionVectors,
    compare_models,
    gate_labels,
    gate_model,
    load_vectors,
    paired_regression,
    run_vectors,
)
from ._heads import HeadsClassifier
from ._int8 import INT8_CALIB_TARGET, matmul_groups, plan_int8
from ._losses import LossConfig, LossStep, hierarchy_penalty, masked_multilabel_loss, pos_weights
from ._metrics import (
    evaluate,
    evaluate_slices,
    expected_calibration_error,
    pr_figure,
    reliability_figure,
    wilson_interval,
    write_report,
)
from ._modeldir import ModelDirectory, load_model, split_arrays
from ._modelset import ModelSet, open_model
from ._onnx import VARIANTS, OnnxEncoderHead, export_onnx
from ._parity import PARITY_RULE, parity_check
from ._policy import ACTION_SEVERITY, BAND_PRECISION, Policy, tune_bands
from ._predict import gate_status, predict_file, read_prediction_input, require_pass
from ._promotion import compare_with_promoted, production_slice, promote, promoted_model, promoted_variant
from ._recipes import RECIPES, Recipe, TrainSpec, register_recipe, resolve_recipe
from ._suite_gate import SuiteResult, gate_cases, run_suite
from ._tfidf import TfidfClassifier
from ._thresholds import base_rate_setting, base_rate_weights, binary_rates, group_rates, tune_thresholds
from ._train import (
    TRAIN_STEPS,
    TrainingRun,
    Tuning,
    fit_run,
    gate_run,
    prepare_training,
    snapshot_frame,
    train_model,
    train_model_set,
    tune_run,
    write_run,
)
from .production import (
    REFERENCE_FILE,
    STRATEGIES,
    compare_on_posts,
    drift_limits,
    drift_reference,
    k_center_greedy,
    labelled_production,
    monitor,
    monitor_table,
    production_scores,
    production_weights,
    psi,
    recalibrate,
    recalibration_table,
    select_for_review,
    watch,
)

__all__ = [
    "BatchJobs",
    "JobReport",
    "LocalJobs",
    "RayJobs",
    "batch_jobs",
    "embed_project",
    "embed_texts",
    "node_name",
    "score_project",
    "score_texts",
    "REFERENCE_FILE",
    "drift_limits",
    "drift_reference",
    "monitor",
    "monitor_table",
    "production_scores",
    "psi",
    "STRATEGIES",
    "k_center_greedy",
    "select_for_review",
    "labelled_production",
    "production_weights",
    "recalibrate",
    "recalibration_table",
    "watch",
    "compare_on_posts",
    "TrainingConfig",
    "auto_class_weights",
    "resolve_training",
    "yaml_layer",
    "EpochMonitor",
    "epoch_record",
    "warning_signs",
    "REGRESSION_TOLERANCE",
    "BAND_PRECISION",
    "tune_bands",
    "PARITY_RULE",
    "parity_check",
    "INT8_CALIB_TARGET",
    "matmul_groups",
    "plan_int8",
    "ACTION_SEVERITY",
    "DEFAULT_ENCODER",
    "ENCODERS",
    "MPNET",
    "MPNET_INSTALL",
    "mpnet_available",
    "FAMILIES",
    "TRAIN_STEPS",
    "RECIPES",
    "VARIANTS",
    "Classifier",
    "EmbeddingCache",
    "Encoder",
    "EnsembleClassifier",
    "FineTuneArgs",
    "FineTunedClassifier",
    "CARD_FORMAT",
    "GateFailure",
    "GateVerdict",
    "HeadsClassifier",
    "ModelCard",
    "VariantResult",
    "ProductionMix",
    "ProductionRecord",
    "ProductionSlice",
    "Recalibration",
    "LossConfig",
    "LossStep",
    "ModelDirectory",
    "ModelSet",
    "OnnxEncoderHead",
    "Policy",
    "RegressionVectors",
    "TfidfClassifier",
    "Recipe",
    "TrainSpec",
    "register_recipe",
    "neural_members",
    "binary_rates",
    "group_rates",
    "compare_models",
    "paired_regression",
    "REGRESSION_ALPHA",
    "LABEL_STATUSES",
    "evaluate",
    "evaluate_slices",
    "expected_calibration_error",
    "wilson_interval",
    "export_onnx",
    "gate_labels",
    "gate_model",
    "hierarchy_penalty",
    "length_sorted_batches",
    "load_classifier",
    "load_model",
    "load_vectors",
    "masked_multilabel_loss",
    "open_model",
    "pos_weights",
    "pr_figure",
    "predict_file",
    "gate_status",
    "require_pass",
    "promote",
    "compare_with_promoted",
    "production_slice",
    "promoted_model",
    "promoted_variant",
    "read_prediction_input",
    "reliability_figure",
    "resolve_model_path",
    "resolve_recipe",
    "run_vectors",
    "snapshot_frame",
    "split_arrays",
    "train_model",
    "TrainingRun",
    "Tuning",
    "prepare_training",
    "fit_run",
    "tune_run",
    "write_run",
    "gate_run",
    "train_model_set",
    "tune_thresholds",
    "SuiteResult",
    "gate_cases",
    "run_suite",
    "base_rate_setting",
    "base_rate_weights",
    "write_report",
]
