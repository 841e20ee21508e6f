"""The project's model registry: which model (and variant) is promoted, and the history of promotions.

::

    DIR/models/promoted.json    the promoted model directory, variant, snapshot and taxonomy hash
    DIR/models/history.jsonl    one line per promotion

Promotion is refused unless the variant passed its gate and its file is unchanged since it was gated,
and a candidate is compared with the promoted model (:func:`compare_with_promoted`) on the curated holdout
and, when the project has labelled production posts, on the production slice (``production_holdout``: the
team's own platform, never trained or tuned on; :func:`production_slice`): a significant paired drop on
either blocks promotion unless accepted with a reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from curation import WorkbenchError
from foundation import atomic_write_text, utc_now

from ..evaluation._gates import REGRESSION_ALPHA, REGRESSION_TOLERANCE, compare_models, gate_labels, paired_regression
from ..evaluation._metrics import evaluate
from ..evaluation._suites import compare_suites
from ._card import ProductionSlice
from ._modeldir import ModelDirectory, file_sha256, read_promotion, split_arrays

__all__ = ["promote", "promoted_model", "promoted_variant", "compare_with_promoted", "production_slice"]

Split = tuple[pd.DataFrame, list[str], np.ndarray]


def _registry(project_root) -> Path:
    return Path(project_root) / "models"


def promoted_model(project) -> ModelDirectory | None:
    """The project's promoted model (``project``: a Project or its directory), or ``None`` (also when its
    directory is gone)."""
    entry = read_promotion(getattr(project, "root", project))
    if entry is None:
        return None
    m = ModelDirectory(entry["model"])
    return m if (m.root / "model.json").exists() else None


def promoted_variant(project) -> str | None:
    """The variant the project promoted (``torch``, ``fp32``, ``fp16`` or ``int8``), or ``None``: what
    is served is what was gated, so predict, score, monitor and the review loops read it from here."""
    entry = read_promotion(getattr(project, "root", project))
    return None if entry is None else entry.get("variant")


def promote(
    model: ModelDirectory,
    *,
    variant: str | None = None,
    accept_regression: str | None = None,
    accept_insufficient: str | None = None,
) -> dict:
    """Make ``model`` (one variant) the project's promoted model, if and only if that variant passed
    its gate, its file is unchanged since it was gated, no T1 label is ``insufficient_evidence`` (too
    few holdout positives to show it works) unless ``accept_insufficient`` gives the reason, and no label
    regressed against the model promoted when it was trained (a significant paired drop on the same
    holdout, see :func:`training.evaluation.paired_regression`; nor a functional-suite functionality, see
    :func:`training.compare_suites`) unless ``accept_regression`` gives the reason. Reasons are recorded
    with the promotion."""
    card = model.card
    variant = variant or model.best_variant()
    info = card.variants.get(variant)
    if info is None:
        raise WorkbenchError(
            f"promotion of {model.root} ({variant})",
            expected="an evaluated variant",
            got="none",
            fix="export and evaluate it first (workbench model export / evaluate)",
        )
    if not info.passed:
        fails = "; ".join(f.line() for f in info.gate.failures[:8])
        raise WorkbenchError(
            f"promotion of {model.root} ({variant}) refused",
            expected="a variant that passed its gate",
            got=f"a failed gate: {fails}",
            fix="fix the data or the model and retrain",
        )
    if variant != "torch":
        current = file_sha256(model.root / "onnx" / f"model.{variant}.onnx")
        if current != info.sha256:
            raise WorkbenchError(
                f"promotion of {model.root} ({variant}) refused",
                expected="the ONNX file that was gated",
                got="a file changed since",
                fix=f"re-gate it: workbench evaluate {model.root}",
            )
    thin_t1 = [f for f in info.gate.insufficient if f.tier == "T1"]
    if thin_t1 and not (accept_insufficient and accept_insufficient.strip()):
        raise WorkbenchError(
            f"promotion of {model.root} ({variant}) refused",
            expected="enough holdout positives on every T1 label to show its gate holds",
            got="insufficient evidence: "
            + "; ".join(f"{f.subject} {f.value} positives ({f.required})" for f in thin_t1),
            fix="add labelled holdout data for these labels and retrain, or promote with "
            "--accept-insufficient 'why this is acceptable'",
        )
    regressions = model.regressions() or []
    suite_regressions = {k: v for k, v in ((card.comparison or {}).get("suite") or {}).items() if v["regression"]}
    if (regressions or suite_regressions) and not (accept_regression and accept_regression.strip()):
        said = "; ".join(
            [
                f"{r['label']} on the production slice: {r['lost_positives']} positives lost / "
                f"{r['gained_positives']} gained, {r['new_false_positives']} false positives added / "
                f"{r['fixed_false_positives']} fixed (McNemar p {min(r['p_recall'], r['p_fpr']):.2g})"
                for r in regressions
                if r.get("slice") == "production"
            ]
            + [
                f"{r['label']} F1 {r['delta_f1']:+.3f} recall {r['delta_recall']:+.3f} FPR {r['delta_fpr']:+.3f}"
                + (
                    f" (same holdout: {r['lost_positives']} positives lost / {r['gained_positives']} gained, "
                    f"{r['new_false_positives']} false positives added / {r['fixed_false_positives']} fixed; "
                    f"McNemar p {min(r['p_recall'], r['p_fpr']):.2g})"
                    if "p_recall" in r
                    else f" (tolerance {r.get('tolerance', 0.02):.2f})"
                )
                for r in regressions
                if r.get("slice") != "production"
            ]
            + [
                f"functionality {name} pass rate {v['pass_rate']:.3f} ({v['delta']:+.3f} against {v['promoted']:.3f})"
                for name, v in suite_regressions.items()
            ]
        )
        raise WorkbenchError(
            f"promotion of {model.root} ({variant}) refused",
            expected=f"no label or functionality worse than the promoted model {card.comparison['against']} "
            "beyond its tolerance",
            got=f"regressions: {said}",
            fix="fix the data and retrain, or promote with --accept-regression 'why this is acceptable'",
        )
    reg = _registry(card.project)
    entry = {
        "model": str(model.root.resolve()),
        "variant": variant,
        "snapshot_id": card.snapshot_id,
        "taxonomy_hash": card.taxonomy_hash,
        "promoted_at": utc_now(),
    }
    if thin_t1:
        entry["accepted_insufficient"] = {"reason": accept_insufficient.strip(), "labels": [f.subject for f in thin_t1]}
    if regressions or suite_regressions:
        entry["accepted_regression"] = {
            "reason": accept_regression.strip(),
            "labels": [r["label"] for r in regressions],
        }
        if suite_regressions:
            entry["accepted_regression"]["functionalities"] = sorted(suite_regressions)
    atomic_write_text(reg / "promoted.json", json.dumps(entry, indent=2))
    with open(reg / "history.jsonl", "a") as f:
        f.write(json.dumps(entry) + "\n")
    return entry


def compare_with_promoted(
    model: ModelDirectory,
    promoted: ModelDirectory,
    *,
    holdout: Split | None = None,
    probs: np.ndarray | None = None,
    production: Split | None = None,
) -> dict:
    """The card's ``comparison`` with the promoted model (what ``promote`` refuses on).

    Both models decide on ``model``'s holdout (the promoted one with its promoted variant and its own
    thresholds), and :func:`training.evaluation.paired_regression` tests each shared label for a significant drop
    (McNemar, one-sided: lost positives, new false positives). The card figures' deltas and each tier's
    tolerance stay beside it as description (``beyond_tolerance``); ``regression`` is the paired test's.
    Functional suites are compared as before (:func:`training.compare_suites`). With ``production`` (the
    model's production slice), the same paired test runs there too (``production``: the posts and the
    per-label table); a regression on either slice blocks :func:`promote`."""

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
    on_production = None
    if production is not None and len(production[1]):
        _, ptexts, py = production
        pm = model.classifier().predict_proba(ptexts) >= np.asarray(model.thresholds)[None, :]
        pp = promoted.predictor(variant)(ptexts) >= np.asarray(promoted.thresholds)[None, :]
        table_p = paired_regression(py[:, cols_m], pm[:, cols_m], pp[:, cols_p], label_names=shared)
        on_production = {"posts": len(ptexts), "per_label": table_p.reset_index().to_dict(orient="records")}
    table = deltas.join(paired, how="inner")
    out = {
        "against": str(promoted.root),
        "variant": variant,
        "test": f"exact McNemar, one-sided, alpha {REGRESSION_ALPHA} per label and side, on this model's holdout",
        "per_label": table.reset_index().to_dict(orient="records"),
    }
    if on_production is not None:
        out["production"] = on_production
    before = promoted.card.variants["torch"].suite if "torch" in promoted.card.variants else None
    if torch_info.suite and before:
        out["suite"] = compare_suites(torch_info.suite, before)
    return out


def production_slice(model: ModelDirectory, production: Split) -> ProductionSlice:
    """The model on its production slice (``production_holdout`` posts of its snapshot): per label the usual
    figures and the status its tier gate gives there (``pass`` / ``fail`` / ``insufficient_evidence``;
    ``unknown`` for a label no post of the slice knows). Shown beside the curated holdout's verdict; what
    blocks promotion there is a significant drop against the promoted model (:func:`compare_with_promoted`)."""
    _, texts, y = production
    probs = model.classifier().predict_proba(texts)
    per_label, summary = evaluate(y, probs, model.thresholds, label_names=model.labels)
    known = per_label[per_label["support"] > 0]
    status = {lab: "unknown" for lab in model.labels}
    if len(known):
        status.update(gate_labels(known, model.taxonomy).label_status)
    return ProductionSlice(
        posts=len(texts),
        per_label=per_label.reset_index().to_dict(orient="records"),
        label_status=status,
        summary=summary,
    )
