"""Scoring files: JSONL in, JSONL out, through a model directory or a model set and its policy."""

from __future__ import annotations

import json
from pathlib import Path

from curation import WorkbenchError, atomic_write_text

from ._modelset import open_model

__all__ = ["read_prediction_input", "predict_file"]


def read_prediction_input(path) -> list[dict]:
    """The objects of a JSONL file, one per non-empty line, each with a string ``text``.

    Every other field is kept and written back beside the prediction. A malformed line is an error
    that names the file and line.
    """
    path = Path(path)
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


def predict_file(
    model, input_path, output_path, *, variant: str | None = None, threads: int = 2, enforce_hierarchy: bool = False
) -> int:
    """Score every line of ``input_path`` with ``model`` (a directory path, model or model set) and write
    one JSON line per input to ``output_path`` (its fields, then probabilities, decisions and action).
    Returns the number of texts scored."""
    rows = read_prediction_input(input_path)
    target = open_model(model) if isinstance(model, (str, Path)) else model
    results = target.predict(
        [o["text"] for o in rows], variant=variant, threads=threads, enforce_hierarchy=enforce_hierarchy
    )
    lines = [
        json.dumps({**{k: v for k, v in o.items() if k != "text"}, "text": o["text"], **r}, ensure_ascii=False)
        for o, r in zip(rows, results)
    ]
    atomic_write_text(output_path, "\n".join(lines) + ("\n" if lines else ""))
    return len(lines)
