"""The project's model registry: which model (and variant) is promoted, and the history of promotions.

::

    DIR/models/promoted.json    the promoted model directory, variant, snapshot and taxonomy hash
    DIR/models/history.jsonl    one line per promotion

Promotion is refused unless the variant passed its gate and its file is unchanged since it was gated.
"""

from __future__ import annotations

import json
from pathlib import Path

from curation import WorkbenchError, atomic_write_text, utc_now

from ._modeldir import ModelDirectory, file_sha256, read_promotion

__all__ = ["promote", "promoted_model", "promoted_variant"]


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
    holdout, see :func:`training.paired_regression`; nor a functional-suite functionality, see
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
                f"{r['label']} F1 {r['delta_f1']:+.3f} recall {r['delta_recall']:+.3f} FPR {r['delta_fpr']:+.3f}"
                + (
                    f" (same holdout: {r['lost_positives']} positives lost / {r['gained_positives']} gained, "
                    f"{r['new_false_positives']} false positives added / {r['fixed_false_positives']} fixed; "
                    f"McNemar p {min(r['p_recall'], r['p_fpr']):.2g})"
                    if "p_recall" in r
                    else f" (tolerance {r.get('tolerance', 0.02):.2f})"
                )
                for r in regressions
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
