"""From a project snapshot to a gated, exported, promotable model directory.

A model directory holds everything needed to trust and serve it::

    MODEL/model.json       label order, thresholds, taxonomy hash, snapshot id, excluded seeds,
                           recipe and loss settings, label counts and weights, metrics, gate verdicts
                           of the torch model and of every ONNX variant (with file hashes)
    MODEL/taxonomy.yaml    the taxonomy it was trained with
    MODEL/classifier/      the fitted classifier (family-specific files)
    MODEL/onnx/            model.{fp32,fp16,int8}.onnx and the tokenizer
    MODEL/report/          report.md / report.html, per-label metrics, plots

Thresholds are tuned on **calib** only; **holdout** is only ever used for evaluation.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from curation import Project, Taxonomy, TaxonomyError, WorkbenchError, load_taxonomy, task_view, training_mix

from ._embeddings import DEFAULT_ENCODER
from ._gates import GateVerdict, compare_models, gate_model, load_vectors, run_vectors
from ._losses import LossConfig
from ._metrics import evaluate, evaluate_slices, pr_figure, reliability_figure, write_report
from ._models import (EnsembleClassifier, FineTunedClassifier, FineTuneArgs, HeadsClassifier, TfidfClassifier,
                      load_classifier)
from ._onnx import VARIANTS, OnnxEncoderHead, export_onnx
from ._policy import Policy
from ._thresholds import tune_thresholds

__all__ = ["RECIPES", "TrainSpec", "TrainedModel", "ModelSet", "load_model", "train_model", "train_model_set",
           "promote", "promoted_model", "snapshot_frame", "split_arrays"]

log = logging.getLogger("workbench.training")

RECIPES = ("fast", "finetune", "tfidf")
MODEL_FORMAT = 1
PARITY_TOLERANCE = 0.05


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class TrainSpec:
    """What to train (validated on creation).

    Parameters
    ----------
    recipe : {"fast", "finetune", "tfidf"}
        ``fast``: frozen MiniLM + linear heads; ``finetune``: fine-tuned MiniLM averaged with a
        TF-IDF model; ``tfidf``: the lexical baseline alone.
    group : str, optional
        A taxonomy label group (a task view); ``None`` = all labels.
    mix : bool
        Apply the project's training mix (floors, caps, clean share) to the train split.
    onnx : tuple of str
        ONNX variants to export and gate.
    """

    recipe: str = "fast"
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
    parity_tolerance: float = PARITY_TOLERANCE

    def __post_init__(self):
        if self.recipe not in RECIPES:
            raise WorkbenchError("recipe", expected=f"one of {list(RECIPES)}", got=repr(self.recipe))
        bad = [v for v in self.onnx if v not in VARIANTS]
        if bad:
            raise WorkbenchError("ONNX variants", expected=f"a subset of {list(VARIANTS)}", got=str(bad))
        if self.recipe == "tfidf" and self.onnx:
            raise WorkbenchError("ONNX export of the tfidf recipe", expected="a recipe with an encoder",
                                 got="tfidf", fix="use --recipe fast or finetune for ONNX")


# ---------------------------------------------------------------------------- data
def snapshot_frame(project: Project) -> tuple[pd.DataFrame, dict]:
    """The active records of the project's current snapshot, read back from its Parquet file."""
    manifest = project.snapshot()
    return _read_snapshot(project.root / "snapshots" / manifest["snapshot_id"]), manifest


def _read_snapshot(folder: Path) -> pd.DataFrame:
    """A snapshot's records with label columns as float (1.0 / 0.0 / NaN = unknown)."""
    if not (folder / "records.parquet").exists():
        raise WorkbenchError(f"snapshot {folder.name}", expected=f"{folder}/records.parquet", got="missing",
                             fix="the snapshot the model was trained on is gone; retrain")
    frame = pd.read_parquet(folder / "records.parquet")
    for lab in json.loads((folder / "manifest.json").read_text())["labels"]:
        frame[lab] = frame[lab].astype("Float64").astype(float)
    return frame


def split_arrays(view: pd.DataFrame, labels: Sequence[str], split: str) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    part = view[view["split"] == split].reset_index(drop=True)
    return part, part["text"].tolist(), part[list(labels)].to_numpy(dtype=np.float32)


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


def _build_classifier(spec: TrainSpec, labels: list[str], hierarchy: list[tuple[str, str]], cache_dir):
    if spec.recipe == "fast":
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


def neural_members(clf) -> list[tuple[int | None, Any]]:
    """(index in the ensemble, member) of every encoder-based member; ``None`` index for a lone model."""
    if isinstance(clf, (HeadsClassifier, FineTunedClassifier)):
        return [(None, clf)]
    if isinstance(clf, EnsembleClassifier):
        return [(i, m) for i, m in enumerate(clf.members) if isinstance(m, (HeadsClassifier, FineTunedClassifier))]
    return []


def _max_length(member) -> int:
    return member.max_length if isinstance(member, HeadsClassifier) else member.args.max_length


# ---------------------------------------------------------------------------- the model directory
class TrainedModel:
    """A model directory: its card (``model.json``), classifier, ONNX variants and policy."""

    def __init__(self, root):
        self.root = Path(root)
        self._card: dict | None = None
        self._classifier = None

    @property
    def card(self) -> dict:
        if self._card is None:
            path = self.root / "model.json"
            if not path.exists():
                raise WorkbenchError(f"model {self.root}", expected="a model directory with model.json",
                                     got="no model.json", fix="train one with `workbench train DIR --out MODEL`")
            self._card = json.loads(path.read_text())
        return self._card

    def save_card(self) -> None:
        tmp = self.root / ".model.json.tmp"
        tmp.write_text(json.dumps(self.card, indent=2, default=_json_default))
        tmp.replace(self.root / "model.json")

    @property
    def labels(self) -> list[str]:
        return list(self.card["labels"])

    @property
    def thresholds(self) -> list[float]:
        return [float(self.card["thresholds"][lab]) for lab in self.labels]

    @property
    def taxonomy(self) -> Taxonomy:
        return load_taxonomy(self.root / "taxonomy.yaml")

    def check_taxonomy(self, taxonomy: Taxonomy) -> None:
        """Raise unless ``taxonomy`` lists this model's labels in the model's order."""
        mine = self.labels
        theirs = [lab for lab in taxonomy.label_names if lab in set(mine)]
        if theirs != mine:
            raise TaxonomyError(f"Label order of model {mine} does not match taxonomy {theirs}",
                                fix="re-export the model or load it with the taxonomy it was trained on")

    def policy(self) -> Policy:
        tax = self.taxonomy
        return Policy(self.labels, self.thresholds, [tax[lab].action for lab in self.labels])

    def classifier(self):
        if self._classifier is None:
            self._classifier = load_classifier(self.root / "classifier", cache_dir=self.card.get("cache_dir"))
        return self._classifier

    def predictor(self, variant: str = "torch", *, threads: int = 2) -> Callable[[Sequence[str]], np.ndarray]:
        """``texts -> probabilities`` for the torch model or an ONNX variant (ensembles keep their
        non-neural members in Python and average as trained)."""
        if variant == "torch":
            return self.classifier().predict_proba
        if variant not in VARIANTS or not (self.root / "onnx" / f"model.{variant}.onnx").exists():
            have = [v for v in VARIANTS if (self.root / "onnx" / f"model.{v}.onnx").exists()]
            raise WorkbenchError(f"variant {variant!r} of {self.root}", expected=f"torch or an exported variant {have}",
                                 got="none", fix=f"workbench export {self.root} --onnx {variant}")
        onnx = OnnxEncoderHead(self.root / "onnx", variant, threads=threads)
        clf_cfg = json.loads((self.root / "classifier" / "config.json").read_text())
        if clf_cfg["family"] != "ensemble":
            return onnx.predict_proba
        clf = self.classifier()
        neural_idx = {i for i, _ in neural_members(clf)}
        w = np.asarray(clf.weights, dtype=float)
        w_neural = float(sum(w[i] for i in neural_idx))  # the ONNX graph averages the neural members

        def predict(texts):
            total = w_neural * onnx.predict_proba(texts)
            for i, m in enumerate(clf.members):
                if i not in neural_idx:
                    total = total + w[i] * m.predict_proba(texts)
            return (total / w.sum()).astype(np.float32)

        return predict

    def best_variant(self) -> str:
        """The fastest variant that passed its gate: int8, then fp16, then fp32, then torch."""
        for v in ("int8", "fp32", "fp16", "torch"):
            info = self.card.get("variants", {}).get(v)
            if info and info.get("passed"):
                return v
        return "torch"

    def predict(self, texts: Sequence[str], *, variant: str | None = None, threads: int = 2) -> list[dict]:
        variant = variant or self.best_variant()
        probs = self.predictor(variant, threads=threads)(list(texts))
        return self.policy().apply(probs)

    # -------------------------------------------------------------- evaluation and gating
    def _data(self) -> tuple[pd.DataFrame, Project]:
        project = Project(self.card["project"])
        folder = project.root / "snapshots" / self.card["snapshot_id"]
        frame = _read_snapshot(folder)
        tax = load_taxonomy(folder / "taxonomy.yaml")
        return task_view(frame, tax, labels=self.labels), project

    def evaluate_variant(self, variant: str, *, holdout: tuple[pd.DataFrame, list[str], np.ndarray] | None = None,
                         reference: np.ndarray | None = None, probs: np.ndarray | None = None) -> dict:
        """Score one variant on holdout with the model's thresholds and gate it (``probs``: the
        variant's holdout probabilities when the caller has them already)."""
        if holdout is None:
            view, _ = self._data()
            holdout = split_arrays(view, self.labels, "holdout")
        frame, texts, y = holdout
        predict = self.predictor(variant)
        if probs is None:
            probs = predict(texts)
        per_label, summary = evaluate(y, probs, self.thresholds, label_names=self.labels)
        vectors_verdict = self._vectors_verdict(predict)
        verdict = gate_model(per_label, self.taxonomy, vectors_verdict=vectors_verdict,
                             min_positives=self.card.get("min_holdout_positives", 1))
        info: dict[str, Any] = {"summary": summary, "per_label": per_label.reset_index().to_dict(orient="records"),
                                "gate": verdict.to_dict(), "evaluated_at": _now()}
        if reference is not None and len(texts):
            diff = float(np.max(np.abs(probs - reference)))
            info["max_abs_diff_vs_torch"] = diff
            tol = self.card.get("parity_tolerance", PARITY_TOLERANCE)
            if diff > tol:
                verdict.passed = False
                verdict.failures.append({"what": f"variant {variant}", "check": "parity (max |p - p_torch|)",
                                         "value": f"{diff:.4f}", "required": f"<= {tol}"})
                info["gate"] = verdict.to_dict()
        if variant != "torch":
            info["sha256"] = _sha256(self.root / "onnx" / f"model.{variant}.onnx")
        info["passed"] = verdict.passed
        return info

    def _vectors_verdict(self, predict) -> GateVerdict | None:
        path = self.root / "regression_vectors.yaml"
        if not path.exists():
            return None
        return run_vectors(load_vectors(path, self.taxonomy), lambda t: predict(t), label_names=self.labels,
                           thresholds=self.thresholds)

    def evaluate_all(self) -> dict[str, dict]:
        """Re-evaluate and re-gate the torch model and every exported variant (updates the card)."""
        view, _ = self._data()
        holdout = split_arrays(view, self.labels, "holdout")
        ref = self.predictor("torch")(holdout[1])
        variants = {"torch": self.evaluate_variant("torch", holdout=holdout, probs=ref)}
        for v in VARIANTS:
            if (self.root / "onnx" / f"model.{v}.onnx").exists():
                variants[v] = self.evaluate_variant(v, holdout=holdout, reference=ref)
        self.card["variants"] = variants
        self.save_card()
        return variants

    def export(self, variants: Sequence[str]) -> dict[str, dict]:
        """Export ONNX variants, then evaluate, parity-check and gate each one."""
        clf = self.classifier()
        members = neural_members(clf)
        if not members:
            raise WorkbenchError(f"ONNX export of {self.root}", expected="a model with an encoder",
                                 got=type(clf).__name__, fix="train with --recipe fast or finetune")
        lengths = {_max_length(m) for _, m in members}
        if len(lengths) != 1:
            raise WorkbenchError(f"ONNX export of {self.root}", expected="encoder members with one max length",
                                 got=str(sorted(lengths)), fix="train the members with the same max_length")
        exported = [m.export_module() for _, m in members]
        if len(exported) == 1:
            module = exported[0][0]
        else:
            w = [clf.weights[i] for i, _ in members]
            module = _AveragedModules([e[0] for e in exported], [x / sum(w) for x in w])
        export_onnx(module, exported[0][1], self.root / "onnx", max_length=lengths.pop(), variants=list(variants))
        return self.evaluate_all()


class _AveragedModules:  # a torch module built lazily: weighted mean of members' probabilities
    def __new__(cls, modules, weights):
        import torch

        class AveragedModules(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.members = torch.nn.ModuleList(modules)
                self.weights = [float(w) for w in weights]

            def forward(self, input_ids, attention_mask):
                out = None
                for w, m in zip(self.weights, self.members):
                    p = w * m(input_ids, attention_mask)
                    out = p if out is None else out + p
                return out

        return AveragedModules().eval()


def load_model(path, *, taxonomy: Taxonomy | None = None) -> TrainedModel:
    """Open a model directory; with ``taxonomy``, refuse one whose label order differs."""
    m = TrainedModel(path)
    _ = m.card
    if taxonomy is not None:
        m.check_taxonomy(taxonomy)
    return m


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o))


# ---------------------------------------------------------------------------- training
def train_model(project: Project, out, spec: TrainSpec | None = None, *, show_progress: bool = False,
                labels: Sequence[str] | None = None) -> TrainedModel:
    """Train, tune (calib), evaluate (holdout), gate and optionally export one model.

    The model directory names the snapshot it came from and the seeds that snapshot excluded.
    """
    spec = spec or TrainSpec()
    out = Path(out)
    if (out / "model.json").exists():
        raise WorkbenchError(f"model directory {out}", expected="a new directory", got="an existing model",
                             fix="choose another --out")
    tax = project.taxonomy
    frame, manifest = snapshot_frame(project)
    view = task_view(frame, tax, spec.group, labels=labels)
    names = [lab for lab in tax.label_names if lab in view.columns]
    hierarchy = [(lab, tax[lab].parent) for lab in names if tax[lab].parent in names]
    train_all = view[view["split"] == "train"]
    mix_report: dict[str, Any] = {"applied": spec.mix}
    if spec.mix:
        settings = dict(project.config["mixing"])
        floors = {lab: tax[lab].min_positives for lab in names}
        mix = training_mix(view, names, split="train", floors=floors, seed=spec.seed, **settings)
        train_frame = mix.frame
        mix_report.update({"summary": mix.summary, "unmet": mix.unmet,
                           "per_label": mix.per_label.reset_index().to_dict(orient="records")})
    else:
        train_frame = train_all.reset_index(drop=True)
    if len(train_frame) == 0:
        raise WorkbenchError(f"training data of {project.root}", expected="records in the train split",
                             got="none", fix="import data first (workbench import)")
    valid_frame, valid_texts, valid_y = split_arrays(view, names, "valid")
    calib_frame, calib_texts, calib_y = split_arrays(view, names, "calib")
    hold_frame, hold_texts, hold_y = split_arrays(view, names, "holdout")
    train_y = train_frame[names].to_numpy(dtype=np.float32)
    counts = {lab: {"positives": int(np.nansum(train_y[:, j] == 1)), "negatives": int(np.nansum(train_y[:, j] == 0)),
                    "unknown": int(np.isnan(train_y[:, j]).sum())} for j, lab in enumerate(names)}
    warnings_ = [f"{lab}: {c['positives']} training positives, below the {tax[lab].tier} floor of "
                 f"{tax[lab].min_positives}" for lab, c in counts.items() if c["positives"] < tax[lab].min_positives]
    for w in warnings_:
        log.warning(w)
    clf = _build_classifier(spec, names, hierarchy, cache_dir=project.root / "cache")
    valid = (valid_texts, valid_y) if len(valid_texts) else None
    fit_kw: dict[str, Any] = {"show_progress": show_progress} if spec.recipe != "tfidf" else {}
    if spec.recipe == "finetune" and spec.finetune.curriculum:
        fit_kw["phases"] = curriculum_phases(train_frame)
    log.info("training %s on %d records; per-label counts %s; pos_weight cap %s", spec.recipe, len(train_frame),
             counts, spec.loss.pos_weight_cap)
    clf.fit(train_frame["text"].tolist(), train_y, valid=valid, **fit_kw)
    if isinstance(clf, EnsembleClassifier) and spec.ensemble_weights == "valid":
        if valid is None:
            raise WorkbenchError("ensemble_weights='valid'", expected="records in the valid split", got="none")
        clf.fit_weights(*valid)
        log.info("ensemble weights fitted on valid: %s", clf.weights)
    # thresholds: calib only
    calib_probs = clf.predict_proba(calib_texts)
    thr = tune_thresholds(calib_y, calib_probs, taxonomy=tax, label_names=names, split="calib")
    out.mkdir(parents=True, exist_ok=True)
    clf.save(out / "classifier")
    shutil.copyfile(project.root / "snapshots" / manifest["snapshot_id"] / "taxonomy.yaml", out / "taxonomy.yaml")
    vectors_src = project.root / "regression_vectors.yaml"
    if vectors_src.exists():
        shutil.copyfile(vectors_src, out / "regression_vectors.yaml")
    neural = next((m for _, m in neural_members(clf)), None)
    card = {
        "format": MODEL_FORMAT, "created_at": _now(), "project": str(project.root.resolve()),
        "snapshot_id": manifest["snapshot_id"], "excluded_seeds": manifest["excluded_seeds"],
        "taxonomy_hash": manifest["taxonomy_hash"], "group": spec.group, "labels": names,
        "thresholds": thr["threshold"].to_dict(), "threshold_tuning": thr.reset_index().to_dict(orient="records"),
        "recipe": spec.recipe, "classifier": clf.get_config(), "loss": spec.loss.to_dict(),
        "encoder": DEFAULT_ENCODER if neural is not None else None,
        "pos_weight": dict(zip(names, np.asarray(getattr(neural, "pos_weight_", None) if neural is not None
                                                 else [np.nan] * len(names)).tolist())),
        "label_counts": counts, "warnings": warnings_, "mix": mix_report,
        "split_sizes": {"train": len(train_frame), "valid": len(valid_texts), "calib": len(calib_texts),
                        "holdout": len(hold_texts)},
        "min_holdout_positives": spec.min_holdout_positives, "parity_tolerance": spec.parity_tolerance,
        "cache_dir": str((project.root / "cache").resolve()),
    }
    model = TrainedModel(out)
    model._card = card
    model._classifier = clf
    model.save_card()
    holdout = (hold_frame, hold_texts, hold_y)
    hold_probs = clf.predict_proba(hold_texts)
    torch_info = model.evaluate_variant("torch", holdout=holdout, probs=hold_probs)
    card["variants"] = {"torch": torch_info}
    card["metrics"] = summary = torch_info["summary"]
    per_label = pd.DataFrame(torch_info["per_label"]).set_index("label")
    slices = evaluate_slices(hold_frame, hold_y, hold_probs, model.thresholds, label_names=names)
    promoted = promoted_model(project)
    if promoted is not None:
        prev = pd.DataFrame(promoted.card["variants"]["torch"]["per_label"]).set_index("label")
        card["comparison"] = {"against": str(promoted.root),
                              "per_label": compare_models(per_label, prev).reset_index().to_dict(orient="records")}
    model.save_card()
    verdict = GateVerdict(**torch_info["gate"])
    write_report(out / "report", title=f"Model {out.name} ({spec.recipe}, snapshot {manifest['snapshot_id']})",
                 per_label=per_label, summary=summary, slices=slices, gate_lines=verdict.lines(),
                 figures={"reliability": reliability_figure(hold_y, hold_probs, label_names=names),
                          "pr_curves": pr_figure(hold_y, hold_probs, model.thresholds, label_names=names)})
    per_label.to_csv(out / "report" / "holdout_per_label.csv")
    if spec.onnx:
        model.export(spec.onnx)
    return model


@dataclass
class ModelSet:
    """Several heads (one per label group) served together through one policy layer."""

    root: Path
    models: list[TrainedModel]

    @classmethod
    def load(cls, root) -> "ModelSet":
        root = Path(root)
        spec = json.loads((root / "set.json").read_text())
        return cls(root, [TrainedModel(root / g) for g in spec["heads"]])

    @property
    def labels(self) -> list[str]:
        return [lab for m in self.models for lab in m.labels]

    def policy(self) -> Policy:
        return Policy.combine([m.policy() for m in self.models])

    def predict(self, texts: Sequence[str], *, variant: str | None = None, threads: int = 2) -> list[dict]:
        probs = np.concatenate([m.predictor(variant or m.best_variant(), threads=threads)(list(texts))
                                for m in self.models], axis=1)
        return self.policy().apply(probs)


def train_model_set(project: Project, out, groups: Sequence[str], spec: TrainSpec | None = None,
                    **kw) -> ModelSet:
    """Train one model per label group (each with its own thresholds and gate) as a model set."""
    spec = spec or TrainSpec()
    out = Path(out)
    models = []
    for g in groups:
        s = TrainSpec(**{**spec.__dict__, "group": g})
        models.append(train_model(project, out / g, s, **kw))
    (out / "set.json").write_text(json.dumps({"heads": list(groups), "created_at": _now()}, indent=2))
    return ModelSet(out, models)


# ---------------------------------------------------------------------------- promotion
def _registry(project_root: Path) -> Path:
    return Path(project_root) / "models"


def promoted_model(project: Project) -> TrainedModel | None:
    path = _registry(project.root) / "promoted.json"
    if not path.exists():
        return None
    info = json.loads(path.read_text())
    m = TrainedModel(info["model"])
    return m if (m.root / "model.json").exists() else None


def promote(model: TrainedModel, *, variant: str | None = None) -> dict:
    """Make ``model`` (one variant) the project's promoted model, if and only if that variant passed
    its gate and its file is unchanged since it was gated."""
    card = model.card
    variant = variant or model.best_variant()
    info = card.get("variants", {}).get(variant)
    if info is None:
        raise WorkbenchError(f"promotion of {model.root} ({variant})", expected="an evaluated variant",
                             got="none", fix="export and evaluate it first (workbench export / evaluate)")
    if not info.get("passed"):
        fails = "; ".join(f"{f['what']} {f['check']} {f['value']} (required {f['required']})"
                          for f in info["gate"]["failures"][:8])
        raise WorkbenchError(f"promotion of {model.root} ({variant}) refused", expected="a variant that passed its gate",
                             got=f"a failed gate: {fails}", fix="fix the data or the model and retrain")
    if variant != "torch":
        current = _sha256(model.root / "onnx" / f"model.{variant}.onnx")
        if current != info.get("sha256"):
            raise WorkbenchError(f"promotion of {model.root} ({variant}) refused",
                                 expected="the ONNX file that was gated", got="a file changed since",
                                 fix=f"re-gate it: workbench evaluate {model.root}")
    reg = _registry(Path(card["project"]))
    reg.mkdir(parents=True, exist_ok=True)
    entry = {"model": str(model.root.resolve()), "variant": variant, "snapshot_id": card["snapshot_id"],
             "taxonomy_hash": card["taxonomy_hash"], "promoted_at": _now()}
    tmp = reg / ".promoted.json.tmp"
    tmp.write_text(json.dumps(entry, indent=2))
    tmp.replace(reg / "promoted.json")
    with open(reg / "history.jsonl", "a") as f:
        f.write(json.dumps(entry) + "\n")
    return entry
