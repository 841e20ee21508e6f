"""Training: from a project's snapshot to a tuned, evaluated, gated (and optionally exported) model directory.

snapshot (content-addressed, read through curation) -> task view of a label group -> the project's
training mix on the train split -> fit -> thresholds on **calib** only -> one evaluation on
**holdout** -> gates (tiers + regression vectors) -> report -> ONNX variants, each re-gated.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from curation import Project, WorkbenchError, atomic_write_text, task_view, utc_now

from ._card import ModelCard
from ._config import apply_training, resolve_training, yaml_layer
from ._embeddings import resolve_model_path
from ._family import neural_members
from ._gates import REGRESSION_ALPHA, REGRESSION_TOLERANCE, GateVerdict, compare_models, paired_regression
from ._metrics import evaluate_slices, pr_figure, reliability_figure, write_report
from ._modeldir import ModelDirectory, split_arrays
from ._modelset import ModelSet
from ._monitor import EpochMonitor
from ._parity import PARITY_RULE
from ._policy import tune_bands
from ._recipes import RECIPES, TrainSpec, build_classifier, curriculum_phases
from ._registry import promoted_model
from ._suites import SUITE_FILE, compare_suites, gate_cases, write_suite_cases
from ._thresholds import base_rate_setting, base_rate_weights, tune_thresholds

__all__ = ["TRAIN_STEPS", "train_model", "train_model_set", "snapshot_frame", "curriculum_phases"]

log = logging.getLogger("workbench.training")


def snapshot_frame(project: Project) -> tuple[pd.DataFrame, dict]:
    """The active records of the project's current snapshot (written first when missing) and its manifest."""
    frame, _, manifest = project.read_snapshot()
    return frame, manifest


def _label_counts(y: np.ndarray, names: Sequence[str]) -> dict[str, dict[str, int]]:
    return {
        lab: {
            "positives": int(np.nansum(y[:, j] == 1)),
            "negatives": int(np.nansum(y[:, j] == 0)),
            "unknown": int(np.isnan(y[:, j]).sum()),
        }
        for j, lab in enumerate(names)
    }


def _training_rows(
    project: Project, view: pd.DataFrame, names: list[str], spec: TrainSpec
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The train split's rows to fit on (the project's training mix unless ``spec.mix`` is off) and
    what the mix did, for the card."""
    report: dict[str, Any] = {"applied": spec.mix}
    if spec.mix:
        mix = project.mix(view, names, split="train", seed=spec.seed)
        rows = mix.frame
        report.update(
            {
                "summary": mix.summary,
                "unmet": mix.unmet,
                "per_label": mix.per_label.reset_index().to_dict(orient="records"),
            }
        )
    else:
        rows = view[view["split"] == "train"].reset_index(drop=True)
    if len(rows) == 0:
        raise WorkbenchError(
            f"training data of {project.root}",
            expected="records in the train split",
            got="none",
            fix="import data first (workbench import)",
        )
    return rows, report


def _fit(clf, spec: TrainSpec, rows: pd.DataFrame, y: np.ndarray, valid, *, show_progress: bool, monitor=None) -> None:
    recipe = RECIPES[spec.recipe]
    fit_kw: dict[str, Any] = {"show_progress": show_progress, "monitor": monitor, **recipe.fit_options(spec, rows)}
    clf.fit(rows["text"].tolist(), y, valid=valid, **fit_kw)
    if recipe.after_fit is not None:
        recipe.after_fit(clf, spec, valid)


TRAIN_STEPS = ("snapshot", "mix", "train", "thresholds", "holdout + gates", "export")


def train_model(
    project: Project,
    out,
    spec: TrainSpec | None = None,
    *,
    show_progress: bool = False,
    labels: Sequence[str] | None = None,
    on_step: Callable[[str, str], None] | None = None,
    on_epoch: Callable[[dict], None] | None = None,
) -> ModelDirectory:
    """Train, tune (calib), evaluate (holdout), gate and optionally export one model.

    The model directory names the snapshot it came from and the seeds that snapshot excluded.
    ``on_step(step, "start" | "done")`` is called around each of :data:`TRAIN_STEPS` (for progress
    bars; ``export`` only when ``spec.onnx`` asks for variants); ``on_epoch(record)`` with each entry of
    the per-epoch monitoring (:mod:`training._monitor`), which the card keeps under ``history``.
    """
    step = _StepReporter(on_step)
    spec = spec or TrainSpec()
    out = Path(out)
    if (out / "model.json").exists():
        raise WorkbenchError(
            f"model directory {out}", expected="a new directory", got="an existing model", fix="choose another --out"
        )
    with step("snapshot"):
        frame, tax, manifest = project.read_snapshot(include_unreviewed=spec.include_unreviewed)
        view = task_view(frame, tax, spec.group, labels=labels)
    names = [lab for lab in tax.label_names if lab in view.columns]
    with step("mix"):
        rows, mix_report = _training_rows(project, view, names, spec)
    _, valid_texts, valid_y = split_arrays(view, names, "valid")
    calib_frame, calib_texts, calib_y = split_arrays(view, names, "calib")
    if spec.threshold_groups is not None and spec.threshold_groups not in calib_frame.columns:
        raise WorkbenchError(
            "threshold_groups",
            expected="a column of the task view (e.g. 'source')",
            got=repr(spec.threshold_groups),
            fix="use 'source' or leave it unset",
        )
    hold_frame, hold_texts, hold_y = split_arrays(view, names, "holdout")
    _require_real_evaluation(view, names, spec.group, calib=len(calib_texts), holdout=len(hold_texts))
    train_y = rows[names].to_numpy(dtype=np.float32)
    # one training configuration, three doors: workbench.yaml < the panel or the flags (spec.training)
    config, origin = resolve_training(("yaml", yaml_layer(project.config)),
                                      (spec.training_source, spec.training))  # fmt: skip
    recipe = RECIPES[spec.recipe]
    spec, training_entry = apply_training(spec, config, origin, labels=names, tiers={lab: tax[lab].tier for lab in names},
                                          train_targets=train_y, applies=recipe.applies, family=recipe.family)  # fmt: skip
    if recipe.has_encoder:
        resolve_model_path(spec.encoder)  # a missing encoder is an error with its install hint, before any work
    counts = _label_counts(train_y, names)
    warnings_: list[str] = [
        f"{lab}: {c['positives']} training positives, below the {tax[lab].tier} floor of {tax[lab].min_positives}"
        for lab, c in counts.items()
        if c["positives"] < tax[lab].min_positives
    ]
    for w in warnings_:
        log.warning(w)
    log.info(
        "training %s on %d records; per-label counts %s; pos_weight cap %s",
        spec.recipe,
        len(rows),
        counts,
        spec.loss.pos_weight_cap,
    )
    hierarchy = [(lab, tax[lab].parent) for lab in names if tax[lab].parent in names]
    clf = build_classifier(spec, names, hierarchy, cache_dir=project.root / "cache")
    valid = (valid_texts, valid_y) if len(valid_texts) else None
    monitor = EpochMonitor(valid, names, hierarchy, on_epoch=on_epoch)
    with step("train"):
        _fit(clf, spec, rows, train_y, valid, show_progress=show_progress, monitor=monitor)
    for w in monitor.history[-1]["warnings"] if monitor.history else []:  # the guide's signs at the last epoch
        log.warning(w)
        warnings_.append(w)
    base_rates = base_rate_setting(project.config.get("evaluation"))
    with step("thresholds"):  # calib only, at the production base rates unless evaluation.base_rates is raw
        groups = None if spec.threshold_groups is None else calib_frame[spec.threshold_groups].to_numpy()
        calib_probs = clf.predict_proba(calib_texts)
        weights = base_rate_weights(calib_y, names, base_rates)
        thr = tune_thresholds(calib_y, calib_probs, taxonomy=tax, label_names=names, split="calib", groups=groups,
                              weights=weights)  # fmt: skip
        bands = tune_bands(calib_y, calib_probs, names, weights=weights) if len(calib_texts) else {}
    out.mkdir(parents=True, exist_ok=True)
    tax.save(out / "taxonomy.yaml")
    _copy_reviewed_vectors(project, frame, out)
    neural = next((m for _, m in neural_members(clf)), None)
    card = ModelCard(
        created_at=utc_now(),
        project=str(project.root.resolve()),
        snapshot_id=manifest["snapshot_id"],
        excluded_seeds=manifest["excluded_seeds"],
        taxonomy_hash=manifest["taxonomy_hash"],
        group=spec.group,
        labels=names,
        include_unreviewed=spec.include_unreviewed,
        generated_splits=dict(project.config["generation"]["splits"]),
        thresholds=thr["threshold"].to_dict(),
        threshold_tuning=thr.reset_index().to_dict(orient="records"),
        threshold_groups=spec.threshold_groups,
        recipe=spec.recipe,
        classifier=clf.get_config(),
        loss=spec.loss.to_dict(),
        encoder=spec.encoder if neural is not None else None,
        pos_weight=dict(
            zip(
                names,
                np.asarray(
                    getattr(neural, "pos_weight_", None) if neural is not None else [np.nan] * len(names)
                ).tolist(),
            )
        ),
        label_counts=counts,
        warnings=warnings_,
        mix=mix_report,
        split_sizes={
            "train": len(rows),
            "valid": len(valid_texts),
            "calib": len(calib_texts),
            "holdout": len(hold_texts),
        },
        min_holdout_positives=spec.min_holdout_positives,
        parity={**PARITY_RULE, **spec.parity},
        cache_dir=str((project.root / "cache").resolve()),
        policy_bands=bands,
        history=monitor.history,
        training=training_entry,
        base_rates=base_rates,
    )
    suite_cases, left_out = gate_cases(project, include_pending=spec.suite_pending)
    if suite_cases or left_out["pending"] or left_out["disputed"]:
        write_suite_cases(out / SUITE_FILE, suite_cases, left_out)
        card.suites = {"cases": len(suite_cases), "include_pending": spec.suite_pending, "pending": left_out["pending"],
                       "disputed": len(left_out["disputed"])}  # fmt: skip
    model = ModelDirectory.create(out, card, clf)
    with step("holdout + gates"):
        _evaluate_and_report(model, project, spec, manifest["snapshot_id"], (hold_frame, hold_texts, hold_y))
    if spec.onnx:
        with step("export"):
            model.export(spec.onnx)
    return model


def _require_real_evaluation(view: pd.DataFrame, names: Sequence[str], group, *, calib: int, holdout: int) -> None:
    """Thresholds are tuned on calib and the gate reads holdout, and both hold only real records: a task
    view whose labels are known only on generated records has neither, and no model of it can be trusted."""
    if calib and holdout:
        return
    origins = sorted(set(view["origin"])) if "origin" in view else []
    raise WorkbenchError(
        f"training of {'group ' + repr(group) if group else 'labels'} {list(names)}",
        expected="real labelled records in calib and holdout (they hold only real data: thresholds and gates are "
        "never measured on generated text)",
        got=f"{calib} calib and {holdout} holdout records; the task view's records are of origin {origins}",
        fix="import real posts that know these labels (e.g. a labelled sample of your platform, or review a "
        "production sample), then train again",
    )


def _copy_reviewed_vectors(project: Project, frame: pd.DataFrame, out: Path) -> None:
    """The project's regression vectors into the model directory, less those made from records that are
    not in the snapshot (a variant whose batch awaits review or was rejected is not a gate vector)."""
    import yaml

    src = project.root / "regression_vectors.yaml"
    if not src.exists():
        return
    data = yaml.safe_load(src.read_text(encoding="utf-8")) or {}
    known = set(frame.loc[frame["status"] == "active", "id"])  # a pending record ("--include-unreviewed") is not
    kept = {
        kind: [v for v in items or [] if not isinstance(v, dict) or "record_id" not in v or v["record_id"] in known]
        for kind, items in data.items()
    }
    left_out = sum(len(items or []) for items in data.values()) - sum(len(v) for v in kept.values())
    if left_out:
        log.info("%d regression vector(s) left out: their records are not reviewed (or were rejected)", left_out)
    atomic_write_text(out / "regression_vectors.yaml", yaml.safe_dump(kept, sort_keys=False, allow_unicode=True))


class _StepReporter:
    """``with step("name"):`` calls ``on_step(name, "start")`` and, when the block succeeds, ``"done"``."""

    def __init__(self, on_step: Callable[[str, str], None] | None):
        self.on_step = on_step

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if self.on_step:
            self.on_step(name, "start")
        yield
        if self.on_step:
            self.on_step(name, "done")


def _evaluate_and_report(
    model: ModelDirectory,
    project: Project,
    spec: TrainSpec,
    snapshot_id: str,
    holdout: tuple[pd.DataFrame, list[str], np.ndarray],
) -> None:
    """The one holdout evaluation of the torch model: gate, comparison with the promoted model, report."""
    hold_frame, hold_texts, hold_y = holdout
    card = model.card
    promoted = promoted_model(project)
    if promoted is not None:  # known gaps the promoted model passed must keep passing
        gate = promoted.card.variants["torch"].gate if "torch" in promoted.card.variants else None
        card.graduated_vectors = sorted(
            set(promoted.card.graduated_vectors) | set(gate.passed_known_gaps if gate is not None else [])
        )
    hold_probs = model.classifier().predict_proba(hold_texts)
    torch_info = model.evaluate_variant("torch", holdout=holdout, probs=hold_probs)
    card.variants = {"torch": torch_info}
    card.metrics = summary = torch_info.summary
    per_label = pd.DataFrame(torch_info.per_label).set_index("label")
    if promoted is not None:
        card.comparison = compare_with_promoted(model, promoted, holdout=holdout, probs=hold_probs)
    model.save_card()
    _write_model_report(model, spec, snapshot_id, per_label, summary, torch_info.gate, hold_frame, hold_y, hold_probs)


def compare_with_promoted(
    model: ModelDirectory,
    promoted: ModelDirectory,
    *,
    holdout: tuple[pd.DataFrame, list[str], np.ndarray] | None = None,
    probs: np.ndarray | None = None,
) -> dict:
    """The card's ``comparison`` with the promoted model (what ``promote`` refuses on).

    Both models decide on ``model``'s holdout (the promoted one with its promoted variant and its own
    thresholds), and :func:`training.paired_regression` tests each shared label for a significant drop
    (McNemar, one-sided: lost positives, new false positives). The card figures' deltas and each tier's
    tolerance stay beside it as description (``beyond_tolerance``); ``regression`` is the paired test's.
    Functional suites are compared as before (:func:`training.compare_suites`)."""
    from ._registry import promoted_variant

    torch_info = model.card.variants["torch"]
    per_label = pd.DataFrame(torch_info.per_label).set_index("label")
    prev = pd.DataFrame(promoted.card.variants["torch"].per_label).set_index("label")
    tolerance = {lab: REGRESSION_TOLERANCE.get(model.taxonomy[lab].tier, 0.02) for lab in per_label.index}
    deltas = compare_models(per_label, prev, tolerance=tolerance).rename(columns={"regression": "beyond_tolerance"})
    _, texts, y = holdout if holdout is not None else split_arrays(model._data(), model.labels, "holdout")
    if probs is None:
        probs = model.classifier().predict_proba(texts)
    shared = [lab for lab in model.labels if lab in promoted.labels]
    mine = probs >= np.asarray(model.thresholds)[None, :]
    variant = promoted_variant(model.card.project) or "torch"
    theirs = promoted.predictor(variant)(texts) >= np.asarray(promoted.thresholds)[None, :]
    cols_m = [model.labels.index(lab) for lab in shared]
    cols_p = [promoted.labels.index(lab) for lab in shared]
    paired = paired_regression(y[:, cols_m], mine[:, cols_m], theirs[:, cols_p], label_names=shared)
    table = deltas.join(paired, how="inner")
    out = {
        "against": str(promoted.root),
        "variant": variant,
        "test": f"exact McNemar, one-sided, alpha {REGRESSION_ALPHA} per label and side, on this model's holdout",
        "per_label": table.reset_index().to_dict(orient="records"),
    }
    before = promoted.card.variants["torch"].suite if "torch" in promoted.card.variants else None
    if torch_info.suite and before:
        out["suite"] = compare_suites(torch_info.suite, before)
    return out


def _write_model_report(
    model: ModelDirectory,
    spec: TrainSpec,
    snapshot_id: str,
    per_label: pd.DataFrame,
    summary: dict,
    verdict: GateVerdict,
    hold_frame: pd.DataFrame,
    hold_y: np.ndarray,
    hold_probs: np.ndarray,
) -> None:
    names, thresholds = model.labels, model.thresholds
    slices = evaluate_slices(hold_frame, hold_y, hold_probs, thresholds, label_names=names)
    write_report(
        model.root / "report",
        title=f"Model {model.root.name} ({spec.recipe}, snapshot {snapshot_id})",
        per_label=per_label,
        summary=summary,
        slices=slices,
        gate_lines=verdict.lines(),
        figures={
            "reliability": reliability_figure(hold_y, hold_probs, label_names=names),
            "pr_curves": pr_figure(hold_y, hold_probs, thresholds, label_names=names),
        },
    )
    per_label.to_csv(model.root / "report" / "holdout_per_label.csv")


def train_model_set(project: Project, out, groups: Sequence[str], spec: TrainSpec | None = None, **kw) -> ModelSet:
    """Train one model per label group (each with its own thresholds and gate) as a model set."""
    spec = spec or TrainSpec()
    out = Path(out)
    models = [train_model(project, out / g, TrainSpec(**{**spec.__dict__, "group": g}), **kw) for g in groups]
    return ModelSet.create(out, groups, models)
