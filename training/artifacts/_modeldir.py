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
ONNX variant, re-evaluates and re-gates them on the snapshot's **holdout** (with the parity rule of
``_parity``: decision agreement with torch, per-label F1 deltas, no collapsed outputs) and exports
ONNX (int8 planned on calib by ``_int8``). Model directories written by earlier versions keep loading.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from curation import Taxonomy, WorkbenchError, load_taxonomy
from curation.views import read_snapshot, task_view
from foundation import utc_now

from ..evaluation._gates import GateVerdict, gate_model, load_vectors, run_vectors
from ..evaluation._metrics import evaluate
from ..evaluation._parity import parity_check
from ..families._contract import file_sha256, load_classifier, neural_members, write_json
from ._card import CARD_FORMAT, ModelCard, VariantResult
from ._int8 import plan_int8, quantize_int8
from ._onnx import VARIANTS, OnnxEncoderHead, export_onnx
from ._policy import Policy

__all__ = ["ModelDirectory", "load_model", "split_arrays", "file_sha256", "read_promotion", "MODEL_FORMAT"]

MODEL_FORMAT = CARD_FORMAT


_GATE_FIGURES = (
    "threshold",
    "positives",
    "precision",
    "recall",
    "f1",
    "fpr",
    "precision_at_base_rate",
    "fpr_at_base_rate",
    "recall_ci",
    "precision_ci",
    "fpr_ci",
    "band_precision",
)
"""What ``gate_report`` (``workbench gate --json``) shows of each label, beside its status and minimum."""


def _plain(value: Any) -> Any:
    """A JSON-friendly figure: NaN as ``None``."""
    return None if isinstance(value, float) and np.isnan(value) else value


def _bands_text(bands: Any) -> str:
    """``hide 0.97 (n 31), warn 0.85 (n 60)``: a band's holdout precision and the rows it acts on."""
    if not isinstance(bands, dict):
        return ""
    return ", ".join(
        f"{b} {'-' if v['precision'] is None else format(v['precision'], '.2f')} (n {v['n']})" for b, v in bands.items()
    )


def read_promotion(project_root) -> dict | None:
    """The project's promotion entry (``models/promoted.json``: model, variant, snapshot, ...) or ``None``."""
    path = Path(project_root) / "models" / "promoted.json"
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
        onnx = OnnxEncoderHead(self.root / "onnx", variant, threads=threads)
        share, lexical = self._ensemble_split()
        if lexical is None:
            return onnx.predict_proba
        return lambda texts: (share * onnx.predict_proba(texts) + lexical(texts)).astype(np.float32)

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
        """The fastest variant that passed its gate: int8, then fp32, then fp16 (slower than fp32 on
        CPUs without fp16 arithmetic), then torch."""
        for v in ("int8", "fp32", "fp16", "torch"):
            info = self.card.variants.get(v)
            if info is not None and info.passed:
                return v
        return "torch"

    def serving_variant(self) -> str:
        """The variant that serves this model: the promoted one when this model is its project's promoted
        model (what was gated and promoted is what runs), else :meth:`best_variant`. ``predict``,
        ``score``, the monitor, the pre-screen and the review loops use it unless told ``variant``."""
        entry = read_promotion(self.card.project) if self.card.project else None
        if entry and Path(entry["model"]).resolve() == self.root.resolve() and entry["variant"] in self.card.variants:
            return entry["variant"]
        return self.best_variant()

    def gate_report(self) -> dict[str, Any]:
        """The gate verdict of every evaluated variant, the best variant and whether it passed.

        ``{"variants": {name: {"passed", "failures", "max_abs_diff_vs_torch", "decision_agreement",
        "f1_delta_max", "labels": {label: {"precision", "recall", "f1", "fpr", "precision_at_base_rate",
        "fpr_at_base_rate", ...}}}}, "best_variant": ...,
        "passed": ...}``; ``passed`` is what ``workbench gate`` turns into its exit code."""
        variants = self.card.variants
        best = self.best_variant()
        return {
            "variants": {
                v: {
                    "passed": i.passed,
                    "failures": [f.to_dict() for f in i.gate.failures],
                    "notes": [f.to_dict() for f in i.gate.notes],
                    "max_abs_diff_vs_torch": i.max_abs_diff_vs_torch,
                    "decision_agreement": i.decision_agreement,
                    "f1_delta_max": i.f1_delta_max,
                    "labels": self._label_rows(i.per_label, lambda lab, g=i.gate: self.label_status(g, lab)),
                    "insufficient_evidence": [f.subject for f in i.gate.insufficient],
                }
                for v, i in variants.items()
            },
            "best_variant": best,
            "passed": bool(best in variants and variants[best].passed),
            "production": self._production_report(),
        }

    def _production_report(self) -> dict[str, Any] | None:
        """The production slice beside the curated verdict (torch model): per label status and figures."""
        rec = self.card.production
        if rec is None or rec.slice is None:
            return None
        sl = rec.slice
        return {
            "posts": sl.posts,
            "labels": self._label_rows(sl.per_label, lambda lab: sl.label_status.get(lab, "unknown")),
        }

    def _label_rows(self, per_label: list[dict], status_of) -> dict[str, dict[str, Any]]:
        """Per label of one evaluation: its status, the positives its gate needs and the gate figures."""
        return {
            row["label"]: {
                "status": status_of(row["label"]),
                "min_positives": self.min_holdout_positives(row["label"]),
                **{k: _plain(row.get(k)) for k in _GATE_FIGURES if k in row},
            }
            for row in per_label
        }

    def min_holdout_positives(self, label: str) -> int:
        """The holdout positives ``label`` needs before its gate can pass (taxonomy, at least the card's)."""
        return max(int(self.taxonomy[label].min_holdout_positives), int(self.card.min_holdout_positives or 0))

    @staticmethod
    def label_status(verdict: GateVerdict, label: str) -> str:
        """``pass``, ``fail`` or ``insufficient_evidence`` (cards from before statuses: pass or fail)."""
        if label in verdict.label_status:
            return verdict.label_status[label]
        return "fail" if verdict.for_label(label) else "pass"

    def gate_table(self, variant: str = "torch") -> tuple[pd.DataFrame, list[dict]]:
        """One row per label of a variant's holdout gate — ``passed``, ``f1``, ``recall``, ``fpr``,
        ``threshold``, ``positives``, the failed checks, and the deltas against the promoted model with
        ``regression`` (when there was one) — and the failed regression vectors."""
        info = self.card.variants.get(variant)
        if info is None:
            raise WorkbenchError(
                f"gate table of {self.root} ({variant})",
                expected="an evaluated variant",
                got=f"variants {sorted(self.card.variants)}",
            )
        table = pd.DataFrame(info.per_label).set_index("label")
        table["failed_checks"] = [
            ", ".join(f"{f.check} {f.value} (required {f.required})" for f in info.gate.for_label(lab))
            for lab in table.index
        ]
        table["passed"] = table["failed_checks"] == ""
        table["status"] = [self.label_status(info.gate, lab) for lab in table.index]
        table["min_positives"] = [self.min_holdout_positives(lab) for lab in table.index]
        table["threshold"] = [self.card.thresholds.get(lab) for lab in table.index]
        if "band_precision" in table:  # hide / warn / badge: the holdout precision of the rows each band acts on
            table["band_precision"] = [_bands_text(b) for b in table["band_precision"]]
        cols = [
            "status",
            "passed",
            "f1",
            "recall",
            "recall_ci",
            "precision",
            "precision_ci",
            "fpr",
            "fpr_ci",
            "precision_at_base_rate",
            "fpr_at_base_rate",
            "band_precision",
            "threshold",
            "positives",
            "min_positives",
            "failed_checks",
        ]
        cmp_ = self.card.comparison
        if cmp_:
            deltas = pd.DataFrame(cmp_["per_label"]).set_index("label")
            table = table.join(deltas[["delta_f1", "delta_recall", "delta_fpr", "regression"]])
            cols += ["delta_f1", "delta_recall", "delta_fpr", "regression"]
        return table[[c for c in cols if c in table.columns]], info.gate.of_kind("vector")

    def suite_table(self, variant: str = "torch") -> pd.DataFrame:
        """One row per functionality of a variant's suite gate: ``pass_rate``, ``min_pass``, ``cases``,
        ``known_gap``, ``passed`` and, against the promoted model, ``promoted``, ``delta`` and
        ``regression`` (empty without suite cases)."""
        info = self.card.variants.get(variant)
        suite = info.suite if info is not None else None
        if not suite:
            return pd.DataFrame(columns=["pass_rate", "min_pass", "cases", "known_gap", "passed"])
        details = suite.get("details", {})
        table = pd.DataFrame(
            [
                {"functionality": k, "pass_rate": v, **{d: x for d, x in details.get(k, {}).items() if d != "passed"}}
                for k, v in suite["functionalities"].items()
            ]
        ).set_index("functionality")
        table["passed"] = (table["pass_rate"] >= table["min_pass"]) | table["known_gap"].astype(bool)
        cmp_ = (self.card.comparison or {}).get("suite")
        if cmp_:
            table = table.join(pd.DataFrame(cmp_).T[["promoted", "delta", "regression"]])
        return table

    def regressions(self) -> list[dict] | None:
        """Labels whose decisions fell against the model that was promoted when this one was trained, on
        the curated holdout and (rows with ``slice: production``) on the production slice (``None`` when
        there was no promoted model)."""
        cmp_ = self.card.comparison
        if not cmp_:
            return None
        on_production = (cmp_.get("production") or {}).get("per_label") or []
        return [r for r in cmp_["per_label"] if r["regression"]] + [
            {**r, "slice": "production"} for r in on_production if r["regression"]
        ]

    def predict(
        self, texts: Sequence[str], *, variant: str | None = None, threads: int = 2, enforce_hierarchy: bool = False
    ) -> list[dict]:
        variant = variant or self.serving_variant()
        probs = self.predictor(variant, threads=threads)(list(texts))
        return [{**row, "variant": variant} for row in self.policy(enforce_hierarchy=enforce_hierarchy).apply(probs)]

    # -------------------------------------------------------------- evaluation and gating
    def _data(self) -> pd.DataFrame:
        """The task view of this model's labels in the snapshot it was trained on (read through curation)."""
        frame, tax, _ = read_snapshot(self.card.project, self.card.snapshot_id)
        return task_view(frame, tax, labels=self.labels)

    def evaluate_variant(
        self,
        variant: str,
        *,
        holdout: tuple[pd.DataFrame, list[str], np.ndarray] | None = None,
        reference: np.ndarray | None = None,
        probs: np.ndarray | None = None,
    ) -> VariantResult:
        """Score one variant on holdout with the model's thresholds and gate it (``probs``: the
        variant's holdout probabilities when the caller has them already)."""
        if holdout is None:
            holdout = split_arrays(self._data(), self.labels, "holdout")
        frame, texts, y = holdout
        predict = self.predictor(variant)
        if probs is None:
            probs = predict(texts)
        per_label, summary = evaluate(
            y,
            probs,
            self.thresholds,
            label_names=self.labels,
            base_rates=self.card.base_rates,
            bands=self.card.policy_bands or None,
        )
        vectors_verdict = self._vectors_verdict(predict)
        suite = self.run_suite(predict)
        verdict = gate_model(
            per_label,
            self.taxonomy,
            vectors_verdict=vectors_verdict,
            suite_verdict=None if suite is None else suite.verdict,
            min_positives=self.card.min_holdout_positives,
        )
        parity: dict[str, Any] = {}
        if reference is not None and len(texts):
            parity, failures = parity_check(
                variant, y, probs, reference, self.thresholds, label_names=self.labels, rule=self.card.parity
            )
            if failures:
                verdict.passed = False
                verdict.failures.extend(failures)
        return VariantResult(
            summary=summary,
            per_label=per_label.reset_index().to_dict(orient="records"),
            gate=verdict,
            passed=verdict.passed,
            evaluated_at=utc_now(),
            sha256=None if variant == "torch" else file_sha256(self.root / "onnx" / f"model.{variant}.onnx"),
            suite=None if suite is None else suite.summary(),
            **parity,
        )

    def run_suite(self, predict=None, *, variant: str | None = None):
        """The functional suites' result (:class:`training.evaluation.SuiteResult`) of a variant on the test-side
        cases this model was trained to be gated on (``suite_cases.jsonl``); ``None`` without cases."""
        from ..evaluation._suites import SUITE_FILE, read_suite_cases, run_suite

        cases, left_out = read_suite_cases(self.root / SUITE_FILE)
        if not cases:
            return None
        predict = predict or self.predictor(variant or "torch")
        return run_suite(cases, predict, label_names=self.labels, thresholds=self.thresholds, left_out=left_out)

    def _vectors_verdict(self, predict) -> GateVerdict | None:
        path = self.root / "regression_vectors.yaml"
        if not path.exists():
            return None
        return run_vectors(
            load_vectors(path, self.taxonomy),
            lambda t: predict(t),
            label_names=self.labels,
            thresholds=self.thresholds,
            graduated=self.card.graduated_vectors,
        )

    def evaluate_all(self) -> dict[str, VariantResult]:
        """Re-evaluate and re-gate the torch model and every exported variant (updates the card)."""
        holdout = split_arrays(self._data(), self.labels, "holdout")
        ref = self.predictor("torch")(holdout[1])
        variants = {"torch": self.evaluate_variant("torch", holdout=holdout, probs=ref)}
        for v in VARIANTS:
            if (self.root / "onnx" / f"model.{v}.onnx").exists():
                variants[v] = self.evaluate_variant(v, holdout=holdout, reference=ref)
        self.card.variants = variants
        self.save_card()
        return variants

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
        return self.evaluate_all()

    def _plan_int8(self, *, on_step=None) -> dict:
        """The int8 variant that keeps the fp32 graph's decisions on the **calib** split (``_int8``)."""
        _, texts, y = split_arrays(self._data(), self.labels, "calib")
        fp32, out = self.root / "onnx" / "model.fp32.onnx", self.root / "onnx" / "model.int8.onnx"
        if not texts:  # nothing to plan on: the whole graph in int8, the holdout gate decides
            quantize_int8(fp32, out)
            return {"kept_fp32": [], "met_target": None, "calib": None, "note": "no calib records"}
        share, lexical = self._ensemble_split()
        fixed = lexical(texts) if lexical is not None else np.zeros((len(texts), len(self.labels)))

        def scorer(variant):  # the whole model as the gate scores it; the lexical part scored once, not per try
            def score(part):  # ``part``: calib, or its first rows (the plan's probe)
                return share * OnnxEncoderHead(self.root / "onnx", variant).predict_proba(part) + fixed[: len(part)]

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
