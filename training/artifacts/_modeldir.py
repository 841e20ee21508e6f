"""The model directory: everything needed to trust and serve one trained model.

::

    MODEL/model.json       the card: label order, thresholds, taxonomy hash, snapshot id, excluded seeds,
                           recipe and loss settings, label counts and weights, metrics, gate verdicts
                           of the torch model and of every ONNX variant (with file hashes)
    MODEL/taxonomy.yaml    the taxonomy it was trained with
    MODEL/classifier/      the fitted classifier (family-specific files)
    MODEL/onnx/            model.{fp32,fp16,int8}.onnx and the tokenizer
    MODEL/report/          report.md / report.html, per-label metrics, plots
    MODEL/regression_vectors.yaml  the project's regression vectors at training time, if any

:class:`ModelDirectory` reads the card, loads the classifier, builds predictors for torch and each
ONNX variant, serves them through the policy layer, reads the splits of the snapshot it was trained on,
records what an evaluation decided (:meth:`ModelDirectory.record`; scoring and deciding are
:func:`training.evaluation.evaluate_candidate`'s) and exports ONNX (int8 planned on calib by ``_int8``).
Model directories written by earlier versions keep loading.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from curation import ProjectLayout, Taxonomy, WorkbenchError, load_taxonomy
from curation.views import read_snapshot, task_view
from foundation import warn_moved

from ..evaluation._candidate import evaluate_candidate, suite_result
from ..evaluation._report import GateReport, VariantResult, best_variant
from ..families._contract import encoder_spelling, load_classifier, neural_members, write_json
from ._card import CARD_FORMAT, ModelCard, ProductionRecord
from ._int8 import plan_int8, quantize_int8
from ._onnx import VARIANTS, OnnxEncoderHead, export_onnx
from ._policy import Policy

__all__ = ["ModelDirectory", "load_model", "split_arrays", "read_promotion", "MODEL_FORMAT"]

MODEL_FORMAT = CARD_FORMAT


def read_promotion(project_root) -> dict | None:
    """The project's promotion entry (``models/promoted.json``: model, variant, snapshot, ...) or ``None``."""
    path = ProjectLayout(project_root).promoted
    return json.loads(path.read_text()) if path.exists() else None


def split_arrays(view: pd.DataFrame, labels: Sequence[str], split: str) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """The rows of one split: (frame, texts, targets of shape (n, len(labels)) with NaN = unknown)."""
    part = view[view["split"] == split].reset_index(drop=True)
    return part, part["text"].tolist(), part[list(labels)].to_numpy(dtype=np.float32)


class ModelDirectory:
    """A model directory: its card (``model.json``), classifier, ONNX variants and policy.

    Open one with :func:`load_model`; :func:`training.train_model` makes them.
    """

    def __init__(self, root):
        self.root = Path(root)
        self._card: ModelCard | None = None
        self._classifier = None

    @property
    def card(self) -> ModelCard:
        if self._card is None:
            path = self.root / "model.json"
            if not path.exists():
                raise WorkbenchError(
                    f"model {self.root}",
                    expected="a model directory with model.json",
                    got="no model.json",
                    fix="train one with `workbench train DIR --out MODEL`",
                )
            self._card = ModelCard.from_dict(json.loads(path.read_text()), where=f"model card {path}")
        return self._card

    @classmethod
    def create(cls, root, card: ModelCard, classifier) -> ModelDirectory:
        """A new model directory: saves ``classifier`` under ``classifier/`` and writes the card."""
        m = cls(root)
        classifier.save(m.root / "classifier")
        m._card, m._classifier = card, classifier
        m.save_card()
        return m

    def save_card(self) -> None:
        write_json(self.root / "model.json", self.card.to_dict())

    @property
    def labels(self) -> list[str]:
        return list(self.card.labels)

    @property
    def thresholds(self) -> list[float]:
        return [float(self.card.thresholds[lab]) for lab in self.labels]

    @property
    def taxonomy(self) -> Taxonomy:
        return load_taxonomy(self.root / "taxonomy.yaml")

    def check_taxonomy(self, taxonomy: Taxonomy) -> None:
        """Raise unless ``taxonomy`` lists this model's labels in the model's order."""
        taxonomy.check_label_order(self.labels, what="model", subset=True)

    def policy(self, *, enforce_hierarchy: bool = False) -> Policy:
        """Thresholds, the taxonomy's actions and, when the card has them, the bands tuned on calib; with
        ``enforce_hierarchy`` a secondary label fires only with its primary (the taxonomy's parents)."""
        tax = self.taxonomy
        bands = [self.card.policy_bands.get(lab) for lab in self.labels] if self.card.policy_bands else None
        pairs = [(lab, tax[lab].parent) for lab in self.labels if tax[lab].parent in self.labels]
        return Policy(
            self.labels,
            self.thresholds,
            [tax[lab].action for lab in self.labels],
            bands,
            pairs if enforce_hierarchy else (),
        )

    def classifier(self):
        if self._classifier is None:
            cache = self.card.cache_dir  # the project's embedding cache, when it is still there
            self._classifier = load_classifier(
                self.root / "classifier", cache_dir=cache if cache and Path(cache).is_dir() else None
            )
        return self._classifier

    def predictor(self, variant: str = "torch", *, threads: int = 2) -> Callable[[Sequence[str]], np.ndarray]:
        """``texts -> probabilities`` for the torch model or an ONNX variant (ensembles keep their
        non-neural members in Python and average as trained)."""
        if variant == "torch":
            return self.classifier().predict_proba
        if variant not in VARIANTS or not (self.root / "onnx" / f"model.{variant}.onnx").exists():
            have = [v for v in VARIANTS if (self.root / "onnx" / f"model.{v}.onnx").exists()]
            raise WorkbenchError(
                f"variant {variant!r} of {self.root}",
                expected=f"torch or an exported variant {have}",
                got="none",
                fix=f"workbench model export {self.root} --onnx {variant}",
            )
        graph = self._graph(variant, threads=threads)
        share, lexical = self._ensemble_split()
        if lexical is None:
            return graph
        return lambda texts: (share * graph(texts) + lexical(texts)).astype(np.float32)

    def _graph(self, variant: str, *, threads: int = 2) -> Callable[[Sequence[str]], np.ndarray]:
        """``texts ->`` an exported graph's probabilities, the texts read first as the encoder members read
        them (their spelling normaliser: the graph starts at token ids, so the normaliser is applied here,
        as in training; the other members of an ensemble apply their own)."""
        onnx = OnnxEncoderHead(self.root / "onnx", variant, threads=threads)
        spelling = encoder_spelling(self.classifier())
        if spelling is None:
            return onnx.predict_proba
        return lambda texts: onnx.predict_proba(spelling.apply(texts))

    def _ensemble_split(self) -> tuple[float, Callable[[Sequence[str]], np.ndarray] | None]:
        """(share of the encoder members, ``texts ->`` the other members' weighted share) of an ensemble:
        the ONNX graph averages the encoder members, the rest (TF-IDF) stays in Python; ``(1.0, None)``
        for a model without other members."""
        clf = self.classifier()
        if not getattr(clf, "members", None):
            return 1.0, None
        neural_idx = {i for i, _ in neural_members(clf)}
        if len(neural_idx) == len(clf.members):
            return 1.0, None
        w = np.asarray(clf.weights, dtype=float) / float(sum(clf.weights))

        def lexical(texts):
            return sum(w[i] * m.predict_proba(texts) for i, m in enumerate(clf.members) if i not in neural_idx)

        return float(sum(w[i] for i in neural_idx)), lexical

    def best_variant(self) -> str:
        """The fastest variant that passed its gate (:func:`training.evaluation.best_variant`)."""
        return best_variant(self.card.variants)

    def serving_variant(self) -> str:
        """The variant that serves this model: the promoted one when this model is its project's promoted
        model (what was gated and promoted is what runs), else :meth:`best_variant`. ``predict``,
        ``score``, the monitor, the pre-screen and the review loops use it unless told ``variant``."""
        entry = read_promotion(self.card.project) if self.card.project else None
        if entry and Path(entry["model"]).resolve() == self.root.resolve() and entry["variant"] in self.card.variants:
            return entry["variant"]
        return self.best_variant()

    def predict(
        self, texts: Sequence[str], *, variant: str | None = None, threads: int = 2, enforce_hierarchy: bool = False
    ) -> list[dict]:
        variant = variant or self.serving_variant()
        probs = self.predictor(variant, threads=threads)(list(texts))
        return [{**row, "variant": variant} for row in self.policy(enforce_hierarchy=enforce_hierarchy).apply(probs)]

    # -------------------------------------------------------------- its data and its evaluation's record
    def split(self, name: str) -> tuple[pd.DataFrame, list[str], np.ndarray]:
        """One split of the snapshot this model was trained on, as ``(frame, texts, y)`` over its labels
        (read through curation): what :func:`training.evaluation.evaluate_candidate` scores it on."""
        frame, tax, _ = read_snapshot(self.card.project, self.card.snapshot_id)
        return split_arrays(task_view(frame, tax, labels=self.labels), self.labels, name)

    def record(self, report: GateReport) -> GateReport:
        """Keep what an evaluation decided in the card (variants, metrics, production slice, comparison with
        the promoted model) and save it; the report files are in ``report/`` already."""
        card = self.card
        card.variants = dict(report.variants)
        if "torch" in report.variants:
            card.metrics = report.variants["torch"].summary
        if report.production is not None:
            card.production = card.production or ProductionRecord()
            card.production.slice = report.production
        card.comparison = report.comparison
        self.save_card()
        return report

    def evaluate(self, *, promoted=None, promoted_variant: str = "torch", **kw) -> GateReport:
        """Re-evaluate and re-gate the torch model and every exported variant on holdout
        (:func:`training.evaluation.evaluate_candidate`) and record the report in the card; with ``promoted``,
        the comparison with it too (else the card's comparison is kept)."""
        comparison = self.card.comparison
        report = evaluate_candidate(self, promoted=promoted, promoted_variant=promoted_variant, **kw)
        if promoted is None:
            report.comparison = comparison
        return self.record(report)

    # one release: the evaluation lived here before training.evaluation owned it
    def gate_report(self) -> dict[str, Any]:
        warn_moved("ModelDirectory.gate_report()", "training.evaluation.GateReport.of(model).to_dict()")
        return GateReport.of(self).to_dict()

    def gate_table(self, variant: str = "torch"):
        warn_moved("ModelDirectory.gate_table()", "training.evaluation.GateReport.of(model).gate_table()")
        return GateReport.of(self).gate_table(variant)

    def suite_table(self, variant: str = "torch"):
        warn_moved("ModelDirectory.suite_table()", "training.evaluation.GateReport.of(model).suite_table()")
        return GateReport.of(self).suite_table(variant)

    def regressions(self) -> list[dict] | None:
        warn_moved("ModelDirectory.regressions()", "training.evaluation.GateReport.of(model).regressions()")
        return GateReport.of(self).regressions()

    def evaluate_all(self) -> dict[str, VariantResult]:
        warn_moved("ModelDirectory.evaluate_all()", "model.evaluate()")
        return self.evaluate().variants

    def run_suite(self, predict=None, *, variant: str | None = None):
        warn_moved("ModelDirectory.run_suite()", "training.evaluation.suite_result(model)")
        return suite_result(self, predict, variant=variant)

    def export(
        self, variants: Sequence[str], *, on_step: Callable[[str], None] | None = None
    ) -> dict[str, VariantResult]:
        """Export ONNX variants (int8: planned on calib to keep fp32's decisions, see ``_int8``), then
        evaluate, parity-check and gate each one on holdout."""
        clf = self.classifier()
        members = neural_members(clf)
        if not members:
            raise WorkbenchError(
                f"ONNX export of {self.root}",
                expected="a model with an encoder",
                got=type(clf).__name__,
                fix="train with a recipe that has an encoder (--recipe heads or ensemble)",
            )
        lengths = {m.export_max_length for _, m in members}
        if len(lengths) != 1:
            raise WorkbenchError(
                f"ONNX export of {self.root}",
                expected="encoder members with one max length",
                got=str(sorted(lengths)),
                fix="train the members with the same max_length",
            )
        exported = [m.export_module() for _, m in members]
        if len(exported) == 1:
            module = exported[0][0]
        else:
            w = [clf.weights[i] for i, _ in members]
            module = averaged_modules([e[0] for e in exported], [x / sum(w) for x in w])
        wanted = list(variants)
        onnx_dir = self.root / "onnx"
        first = [v for v in wanted if v != "int8"]
        export_onnx(
            module,
            exported[0][1],
            onnx_dir,
            max_length=lengths.pop(),
            variants=first + (["fp32"] if "fp32" not in first else []),
        )
        if "int8" in wanted:
            self.card.int8_plan = self._plan_int8(on_step=on_step)
            self.save_card()
        if "fp32" not in wanted:
            (onnx_dir / "model.fp32.onnx").unlink()
        return self.evaluate().variants

    def _plan_int8(self, *, on_step=None) -> dict:
        """The int8 variant that keeps the fp32 graph's decisions on the **calib** split (``_int8``)."""
        _, texts, y = self.split("calib")
        fp32, out = self.root / "onnx" / "model.fp32.onnx", self.root / "onnx" / "model.int8.onnx"
        if not texts:  # nothing to plan on: the whole graph in int8, the holdout gate decides
            quantize_int8(fp32, out)
            return {"kept_fp32": [], "met_target": None, "calib": None, "note": "no calib records"}
        share, lexical = self._ensemble_split()
        fixed = lexical(texts) if lexical is not None else np.zeros((len(texts), len(self.labels)))

        def scorer(variant):  # the whole model as the gate scores it; the lexical part scored once, not per try
            def score(part):  # ``part``: calib, or its first rows (the plan's probe)
                return share * self._graph(variant)(part) + fixed[: len(part)]

            return score

        return plan_int8(
            fp32,
            out,
            score=scorer("int8"),
            texts=texts,
            y=y,
            reference=scorer("fp32")(texts),
            thresholds=self.thresholds,
            label_names=self.labels,
            target=self.card.int8_target,
            on_step=on_step,
            previous=self.card.int8_plan,
        )


def averaged_modules(modules, weights):
    """A torch module: the weighted mean of members' probabilities (built on call, keeping torch out of import)."""
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


def load_model(path, *, taxonomy: Taxonomy | None = None) -> ModelDirectory:
    """Open a model directory; with ``taxonomy``, refuse one whose label order differs."""
    m = ModelDirectory(path)
    _ = m.card
    if taxonomy is not None:
        m.check_taxonomy(taxonomy)
    return m
