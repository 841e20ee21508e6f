"""Scoring files: JSONL in, JSONL out, through a model directory or a model set and its policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from curation import WorkbenchError
from foundation import atomic_write_text

from ._modelset import open_model

__all__ = ["read_prediction_input", "predict_file", "gate_status", "require_pass", "warn_unvetted"]


def read_prediction_input(path) -> list[dict]:
    """The objects of a JSONL file, one per non-empty line, each with a string ``text``.

    Every other field is kept and written back beside the prediction. A malformed line is an error
    that names the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(
            f"--input {path}",
            expected='an existing JSONL file, one {"text": ...} object per line',
            got="a folder" if path.is_dir() else "no such file",
            fix="check the path (relative to the current folder)",
        )
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise WorkbenchError(
                f"{path} line {n}", expected='one JSON object per line, {"text": ...}', got=f"malformed JSON ({e.msg})"
            ) from e
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise WorkbenchError(f"{path} line {n} field 'text'", expected="a string", got=repr(obj)[:60])
        rows.append(obj)
    return rows


def gate_status(target, variant: str | None = None) -> tuple[bool, list[str]]:
    """Whether the variant serving ``target`` (a model directory or a model set; ``variant`` or each model's
    serving variant) passed its gate, and why it is not vetted: one reason per model whose variant did not pass
    and that is not its project's promoted model (a promotion with an accepted reason is vetted by a person)."""
    from ._promotion import read_promotion

    reasons = []
    passed_all = True
    for m in getattr(target, "models", None) or [target]:
        v = variant or m.serving_variant()
        info = m.card.variants.get(v)
        passed = bool(info is not None and info.passed)
        passed_all &= passed
        entry = read_promotion(m.card.project) if m.card.project else None
        promoted = bool(entry) and Path(entry["model"]).resolve() == Path(m.root).resolve()
        if not passed and not promoted:
            reasons.append(f"{m.root}: variant {v!r} did not pass its gate and this model is not promoted")
    return passed_all, reasons


def warn_unvetted(reasons: list[str], warn: Callable[[str], None] | None) -> None:
    """Tell ``warn`` why the decisions about to be written are not vetted (nothing when they are)."""
    if reasons and warn is not None:
        warn(
            "; ".join(reasons) + ", so its decisions are not vetted (each row says gate_passed: false; "
            "`workbench gate` says why, --require-pass refuses such a model)"
        )


def require_pass(target, variant: str | None = None) -> None:
    """Refuse a model whose serving variant did not pass its gate and that is not promoted."""
    _, reasons = gate_status(target, variant)
    if reasons:
        raise WorkbenchError(
            "--require-pass",
            expected="a model whose serving variant passed its gate, or a promoted one",
            got="; ".join(reasons),
            fix="train or gate a model that passes, promote one with a reason, or drop --require-pass",
        )


def predict_file(
    model,
    input_path,
    output_path,
    *,
    variant: str | None = None,
    threads: int = 2,
    enforce_hierarchy: bool = False,
    warn: Callable[[str], None] | None = None,
) -> int:
    """Score every line of ``input_path`` with ``model`` (a directory path, model or model set) and write
    one JSON line per input to ``output_path``: ``{"input": {the input's fields}, "probabilities", "decisions",
    "action", "variant", "gate_passed"}`` (the input apart, so a gold field of the input is never read as a
    prediction). When the serving variant did not pass its gate and the model is not promoted, ``warn`` is
    called once with why (``gate_passed`` is false on every row). Returns the number of texts scored."""
    rows = read_prediction_input(input_path)
    target = open_model(model) if isinstance(model, (str, Path)) else model
    passed, reasons = gate_status(target, variant)
    warn_unvetted(reasons, warn)
    results = target.predict(
        [o["text"] for o in rows], variant=variant, threads=threads, enforce_hierarchy=enforce_hierarchy
    )
    lines = [json.dumps({"input": o, **r, "gate_passed": passed}, ensure_ascii=False) for o, r in zip(rows, results)]
    atomic_write_text(output_path, "\n".join(lines) + ("\n" if lines else ""))
    return len(lines)
