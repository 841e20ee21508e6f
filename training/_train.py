"""Training: from a project's snapshot to a tuned, evaluated, gated (and optionally exported) model directory.

snapshot (content-addressed, read through curation) -> task view of a label group -> the project's
training mix on the train split -> fit -> thresholds on **calib** only -> one evaluation on
**holdout** -> gates (tiers + regression vectors) -> report -> ONNX variants, each re-gated.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from curation import Project, WorkbenchError
from curation.production import PRODUCTION_ORIGIN
from curation.suites import balance_of_suites, balance_warnings, load_suites
from curation.views import production_part, task_view
from foundation import atomic_write_text, utc_now

from ._config import apply_training, resolve_training, yaml_layer
from ._recipes import RECIPES, TrainSpec, build_classifier, curriculum_phases
from .artifacts._card import ModelCard, ProductionMix, ProductionRecord, label_provenance_counts
from .artifacts._modeldir import ModelDirectory, split_arrays
from .artifacts._modelset import ModelSet
from .artifacts._policy import tune_bands
from .artifacts._promotion import promoted_model, promoted_variant
from .evaluation._candidate import evaluate_candidate
from .evaluation._parity import PARITY_RULE
from .evaluation._report import GateReport
from .evaluation._suites import SUITE_FILE, gate_cases, write_suite_cases
from .evaluation._thresholds import base_rate_setting, base_rate_weights, tune_thresholds
from .families._contract import neural_members
from .families._embeddings import resolve_model_path
from .families._epochs import EpochLog

__all__ = [
    "TRAIN_STEPS",
    "train_model",
    "TrainingRun",
    "Tuning",
    "prepare_training",
    "fit_run",
    "tune_run",
    "write_run",
    "gate_run",
    "train_model_set",
    "snapshot_frame",
    "curriculum_phases",
]

log = logging.getLogger("workbench.training")


def snapshot_frame(project: Project) -> tuple[pd.DataFrame, dict]:
    """The active records of the project's current snapshot (written first when missing) and its manifest."""
    frame, _, manifest = project.snapshots.read()
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
        mix = project.views.mix(view, names, split="train", seed=spec.seed)
        rows = mix.frame
        report.update(
            {
                "summary": mix.summary,
                "unmet": mix.unmet,
                "per_label": mix.per_label.reset_index().to_dict(orient="records"),
            }
        )
    else:  # every train row as it is; labelled production posts still get their share (curation.views.production_part)
        rows = view[view["split"] == "train"].reset_index(drop=True)
        is_prod = (rows["origin"] == PRODUCTION_ORIGIN).to_numpy() if "origin" in rows else np.zeros(len(rows), bool)
        if is_prod.any():
            settings = project.settings.mixing.model_dump(mode="json", exclude_none=True)
            fitted, part = production_part(
                rows[is_prod].reset_index(drop=True),
                names,
                int((~is_prod).sum()),
                share=float(settings.get("production_share", 0.30)),
                max_repeat=int(settings.get("production_max_repeat", 10)),
                seed=spec.seed,
            )
            rows = pd.concat([rows[~is_prod], fitted], ignore_index=True)
            report["summary"] = {"production": part}
    if len(rows) == 0:
        raise WorkbenchError(
            f"training data of {project.root}",
            expected="records in the train split",
            got="none",
            fix="import data first (workbench import)",
        )
    return rows, report


def _fit(
    clf, spec: TrainSpec, rows: pd.DataFrame, y: np.ndarray, valid, *, show_progress: bool, monitor=None, calib=None
) -> None:
    recipe = RECIPES[spec.recipe]
    fit_kw: dict[str, Any] = {"show_progress": show_progress, "monitor": monitor, **recipe.fit_options(spec, rows)}
    clf.fit(rows["text"].tolist(), y, valid=valid, **fit_kw)
    if recipe.after_fit is not None:
        recipe.after_fit(clf, spec, valid, calib)


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
    the per-epoch monitoring (:mod:`training.families._epochs`), which the card keeps under ``history``.
    """
    step = _StepReporter(on_step)
    out = Path(out)
    if (out / "model.json").exists():
        raise WorkbenchError(
            f"model directory {out}", expected="a new directory", got="an existing model", fix="choose another --out"
        )
    run = prepare_training(project, spec, labels=labels, on_step=on_step)
    with step("train"):
        clf, monitor = fit_run(run, show_progress=show_progress, on_epoch=on_epoch)
    with step("thresholds"):  # calib only, at the production base rates unless evaluation.base_rates is raw
        tuning = tune_run(run, clf)
    model = write_run(run, out, clf, monitor, tuning)
    with step("holdout + gates"):
        gate_run(run, model)
    if run.spec.onnx:
        with step("export"):
            model.export(run.spec.onnx)
    return model


@dataclass
class TrainingRun:
    """What the steps of :func:`train_model` share. A notebook can take them one at a time:
    ``run = prepare_training(project, spec)`` (snapshot, task view, mix, resolved settings), ``clf, monitor =
    fit_run(run)``, ``tuning = tune_run(run, clf)`` (calib only), ``model = write_run(run, out, clf, monitor,
    tuning)`` (the model directory and its card), ``gate_run(run, model)`` (holdout, production slice, gates,
    the comparison with the promoted model)."""

    project: Project
    spec: TrainSpec  # with the training settings applied (workbench.yaml < panel or flags)
    frame: pd.DataFrame
    taxonomy: Any
    manifest: dict
    view: pd.DataFrame
    names: list[str]
    rows: pd.DataFrame  # what is fitted
    train_y: np.ndarray
    mix_report: dict
    production: ProductionRecord | None
    valid: tuple[list[str], np.ndarray]
    calib: tuple[pd.DataFrame, list[str], np.ndarray]
    holdout: tuple[pd.DataFrame, list[str], np.ndarray]
    training_entry: dict
    counts: dict[str, dict[str, int]]
    warnings: list[str]
    hierarchy: list[tuple[str, str]]


@dataclass
class Tuning:
    """Thresholds tuned on calib (the table of :func:`tune_thresholds`), policy bands, the base rates used."""

    thresholds: pd.DataFrame
    bands: dict
    base_rates: dict | None


def prepare_training(
    project: Project,
    spec: TrainSpec | None = None,
    *,
    labels: Sequence[str] | None = None,
    on_step: Callable[[str, str], None] | None = None,
) -> TrainingRun:
    """The snapshot, the task view of the spec's group, the training rows (mix), the evaluation splits and the
    resolved training settings; refuses a view without real calib or holdout records."""
    step = _StepReporter(on_step)
    spec = spec or TrainSpec()
    with step("snapshot"):
        frame, tax, manifest = project.snapshots.read(include_unreviewed=spec.include_unreviewed)
        view = task_view(frame, tax, spec.group, labels=labels)
    names = [lab for lab in tax.label_names if lab in view.columns]
    with step("mix"):
        rows, mix_report = _training_rows(project, view, names, spec)
    calib = split_arrays(view, names, "calib")
    if spec.threshold_groups is not None and spec.threshold_groups not in calib[0].columns:
        raise WorkbenchError(
            "threshold_groups",
            expected="a column of the task view (e.g. 'source')",
            got=repr(spec.threshold_groups),
            fix="use 'source' or leave it unset",
        )
    holdout = split_arrays(view, names, "holdout")
    _require_real_evaluation(view, names, spec.group, calib=len(calib[1]), holdout=len(holdout[1]))
    train_y = rows[names].to_numpy(dtype=np.float32)
    spec, training_entry = _resolve_settings(project, spec, tax, names, train_y)
    counts = _label_counts(train_y, names)
    mix_report["label_provenance"] = label_provenance_counts(rows, names)
    warnings_ = [
        f"{lab}: {c['positives']} training positives, below the {tax[lab].tier} floor of {tax[lab].min_positives}"
        for lab, c in counts.items()
        if c["positives"] < tax[lab].min_positives
    ]
    balance = _identity_balance(project, tax, rows, names)
    if balance:
        mix_report["identity_balance"] = {
            lab: {r.term: {"positives": r.positives, "negatives": r.negatives} for r in t.itertuples()}
            for lab, t in balance.items()
        }
        warnings_ += [w for lab, t in balance.items() for w in balance_warnings(t, lab)]
    for w in warnings_:
        log.warning(w)
    log.info(
        "training %s on %d records; per-label counts %s; pos_weight cap %s",
        spec.recipe,
        len(rows),
        counts,
        spec.loss.pos_weight_cap,
    )
    _, valid_texts, valid_y = split_arrays(view, names, "valid")
    return TrainingRun(
        project=project,
        spec=spec,
        frame=frame,
        taxonomy=tax,
        manifest=manifest,
        view=view,
        names=names,
        rows=rows,
        train_y=train_y,
        mix_report=mix_report,
        production=_production_record(view, rows, names, manifest, mix_report),
        valid=(valid_texts, valid_y),
        calib=calib,
        holdout=holdout,
        training_entry=training_entry,
        counts=counts,
        warnings=warnings_,
        hierarchy=[(lab, tax[lab].parent) for lab in names if tax[lab].parent in names],
    )


def _identity_balance(project: Project, tax, rows: pd.DataFrame, names: list[str]) -> dict[str, pd.DataFrame]:
    """The training rows' identity balance over the group terms of the project's suites (none without
    suites; a suite file that no longer loads is a warning here, the gate reads the expanded cases)."""
    try:
        suites = load_suites(project.root, tax)
    except WorkbenchError as e:
        log.warning("identity balance not measured: %s", e)
        return {}
    return balance_of_suites(rows, suites, names)


def _resolve_settings(project: Project, spec: TrainSpec, tax, names: list[str], train_y: np.ndarray):
    """One training configuration, three doors: workbench.yaml < the panel or the flags (``spec.training``)."""
    config, origin = resolve_training(("yaml", yaml_layer(project.settings)), (spec.training_source, spec.training))
    recipe = RECIPES[spec.recipe]
    spec, entry = apply_training(
        spec,
        config,
        origin,
        labels=names,
        tiers={lab: tax[lab].tier for lab in names},
        train_targets=train_y,
        applies=recipe.applies,
        family=recipe.family,
    )
    if recipe.has_encoder:
        resolve_model_path(spec.encoder)  # a missing encoder is an error with its install hint, before any work
    return spec, entry


def fit_run(run: TrainingRun, *, show_progress: bool = False, on_epoch: Callable[[dict], None] | None = None):
    """The classifier of the run's recipe, fitted on its rows (early stopping and the per-epoch monitor on
    valid); the monitor's warning signs at the last epoch join the run's warnings. Returns (classifier,
    monitor)."""
    clf = build_classifier(run.spec, run.names, run.hierarchy, cache_dir=run.project.layout.cache)
    valid = run.valid if len(run.valid[0]) else None
    monitor = EpochLog(valid, run.names, run.hierarchy, on_epoch=on_epoch)
    calib = (run.calib[1], run.calib[2]) if len(run.calib[1]) else None  # ensemble weights are tuned there
    _fit(clf, run.spec, run.rows, run.train_y, valid, show_progress=show_progress, monitor=monitor, calib=calib)
    for w in monitor.history[-1]["warnings"] if monitor.history else []:  # the guide's signs at the last epoch
        log.warning(w)
        run.warnings.append(w)
    return clf, monitor


def tune_run(run: TrainingRun, clf) -> Tuning:
    """Thresholds and policy bands on **calib** only, at the production base rates unless
    ``evaluation.base_rates`` is ``raw``."""
    calib_frame, calib_texts, calib_y = run.calib
    base_rates = base_rate_setting(run.project.settings.evaluation.model_dump(mode="json", exclude_none=True))
    groups = None if run.spec.threshold_groups is None else calib_frame[run.spec.threshold_groups].to_numpy()
    calib_probs = clf.predict_proba(calib_texts)
    weights = base_rate_weights(calib_y, run.names, base_rates)
    thr = tune_thresholds(
        calib_y,
        calib_probs,
        taxonomy=run.taxonomy,
        label_names=run.names,
        split="calib",
        groups=groups,
        weights=weights,
    )
    bands = tune_bands(calib_y, calib_probs, run.names, weights=weights) if len(calib_texts) else {}
    return Tuning(thr, bands, base_rates)


def write_run(run: TrainingRun, out, clf, monitor: EpochLog, tuning: Tuning) -> ModelDirectory:
    """The model directory: taxonomy, reviewed regression vectors, suite cases, the classifier and its card."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    run.taxonomy.save(out / "taxonomy.yaml")
    _copy_reviewed_vectors(run.project, run.frame, out)
    card = _card(run, clf, monitor, tuning)
    spec = run.spec
    suite_cases, left_out = gate_cases(run.project, include_pending=spec.suite_pending)
    if suite_cases or left_out["pending"] or left_out["disputed"]:
        write_suite_cases(out / SUITE_FILE, suite_cases, left_out)
        card.suites = {
            "cases": len(suite_cases),
            "include_pending": spec.suite_pending,
            "pending": left_out["pending"],
            "disputed": len(left_out["disputed"]),
        }
    return ModelDirectory.create(out, card, clf)


def gate_run(run: TrainingRun, model: ModelDirectory) -> GateReport:
    """Score and decide (:func:`training.evaluation.evaluate_candidate`): holdout, the production slice when
    the snapshot has one, the gates, the comparison with the promoted model and the report; the card records
    it."""
    production = split_arrays(run.view, run.names, "production_holdout")
    promoted = promoted_model(run.project)
    card = model.card
    if promoted is not None:  # known gaps the promoted model passed must keep passing
        gate = promoted.card.variants["torch"].gate if "torch" in promoted.card.variants else None
        card.graduated_vectors = sorted(
            set(promoted.card.graduated_vectors) | set(gate.passed_known_gaps if gate is not None else [])
        )
    report = evaluate_candidate(
        model,
        holdout=run.holdout,
        production=production if len(production[1]) else None,
        promoted=promoted,
        promoted_variant=(promoted_variant(run.project) or "torch") if promoted is not None else "torch",
        variants=["torch"],
        probs=model.classifier().predict_proba(run.holdout[1]),
        report_title=f"Model {model.root.name} ({run.spec.recipe}, snapshot {run.manifest['snapshot_id']})",
    )
    return model.record(report)


def _card(run: TrainingRun, clf, monitor: EpochLog, tuning: Tuning) -> ModelCard:
    spec, names, manifest = run.spec, run.names, run.manifest
    neural = next((m for _, m in neural_members(clf)), None)
    pos_weight = getattr(neural, "pos_weight_", None) if neural is not None else [np.nan] * len(names)
    return ModelCard(
        created_at=utc_now(),
        project=str(run.project.root.resolve()),
        snapshot_id=manifest["snapshot_id"],
        excluded_seeds=manifest["excluded_seeds"],
        taxonomy_hash=manifest["taxonomy_hash"],
        group=spec.group,
        labels=names,
        include_unreviewed=spec.include_unreviewed,
        generated_splits=dict(run.project.settings.generation.splits),
        thresholds=tuning.thresholds["threshold"].to_dict(),
        threshold_tuning=tuning.thresholds.reset_index().to_dict(orient="records"),
        threshold_groups=spec.threshold_groups,
        recipe=spec.recipe,
        classifier=clf.get_config(),
        loss=spec.loss.to_dict(),
        encoder=spec.encoder if neural is not None else None,
        pos_weight=dict(zip(names, np.asarray(pos_weight).tolist())),
        label_counts=run.counts,
        warnings=run.warnings,
        mix=run.mix_report,
        split_sizes={
            "train": len(run.rows),
            "valid": len(run.valid[0]),
            "calib": len(run.calib[1]),
            "holdout": len(run.holdout[1]),
        },
        min_holdout_positives=spec.min_holdout_positives,
        parity={**PARITY_RULE, **spec.parity},
        cache_dir=str(run.project.layout.cache.resolve()),
        policy_bands=tuning.bands,
        history=monitor.history,
        training=run.training_entry,
        base_rates=tuning.base_rates,
        production=run.production,
        spelling=spec.spelling.to_dict() if spec.spelling is not None else None,
    )


def _production_record(
    view: pd.DataFrame, rows: pd.DataFrame, names: Sequence[str], manifest: dict, mix_report: dict
) -> ProductionRecord | None:
    """The card's account of the labelled production posts: how many trained the model, per label the
    posts that know it, positives and hard negatives; the posts refused as twins of curated evaluation
    records. ``None`` when the project has no labelled production post."""
    snap = manifest.get("production")
    if snap is None:
        return None
    fitted = rows[rows["origin"] == PRODUCTION_ORIGIN] if "origin" in rows else rows.iloc[:0]
    mine = fitted.drop_duplicates("id")  # a repeated post counts once
    y = mine[list(names)].to_numpy(dtype=float)
    hard = mine["hard_negative_labels"].tolist() if "hard_negative_labels" in mine else []
    per_label = {
        lab: {
            "posts": int((~np.isnan(y[:, j])).sum()),
            "positives": int(np.nansum(y[:, j] == 1)),
            "hard_negatives": sum(lab in list(h) for h in hard),
        }
        for j, lab in enumerate(names)
    }
    part = (mix_report.get("summary") or {}).get("production") or {}
    available = int(((view["origin"] == PRODUCTION_ORIGIN) & (view["split"] == "train")).sum())
    mix = ProductionMix(
        posts=len(mine),
        available=part.get("available", available),
        left_out=part.get("left_out", 0),
        share=len(fitted) / len(rows) if len(rows) else 0.0,
        cap=part.get("cap"),
        repeat=int(part.get("repeat", 1)),
        per_label=per_label,
        refused=list(snap.get("refused") or []),
        extra={"splits": snap.get("splits", {})},
    )
    return ProductionRecord(mix=mix)


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


def train_model_set(project: Project, out, groups: Sequence[str], spec: TrainSpec | None = None, **kw) -> ModelSet:
    """Train one model per label group (each with its own thresholds and gate) as a model set."""
    spec = spec or TrainSpec()
    out = Path(out)
    models = [train_model(project, out / g, TrainSpec(**{**spec.__dict__, "group": g}), **kw) for g in groups]
    return ModelSet.create(out, groups, models)
