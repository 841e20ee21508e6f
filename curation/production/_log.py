"""Reading a production log (JSONL or CSV, one row a post; its fields: docs/reference/production-log.md):
every row checked, the new posts and the feedback events returned, every problem named with file, line and
field. :mod:`._production` stores what this module reads."""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from foundation import canonical_json

from .._records import CONTEXTS, text_hash
from ..ingest._importers import jsonl_objects, read_text

__all__ = ["FEEDBACK_TYPES", "parse_time", "read_log"]

FEEDBACK_TYPES = ("user_report", "appeal", "moderator_confirm", "moderator_overturn")
_FIELDS = set("id text time context model scores decisions feedback feedback_type feedback_label".split())


def parse_time(value: Any) -> str:
    """An ISO 8601 time as UTC ISO text (sorts as text); a time without a zone is read as UTC.

    >>> parse_time("2026-11-02T10:00:00Z"), parse_time("2026-11-02 11:00+01:00"), parse_time("2026-11-02")
    ('2026-11-02T10:00:00+00:00', '2026-11-02T10:00:00+00:00', '2026-11-02T00:00:00+00:00')
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(value)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    t = _dt.datetime.fromisoformat(text)
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.astimezone(_dt.UTC).isoformat()


def _rows(path: Path, problems: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """(where, row) of a JSONL or CSV production log; problems collected, not raised."""
    text = read_text(path, problems)
    if text is None:
        return []
    if ".csv" in path.suffixes:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        out: list[tuple[str, dict[str, Any]]] = []
        try:
            for row in reader:
                out.append((f"{path} line {reader.line_num}", {k: v for k, v in row.items() if k is not None}))
        except csv.Error as e:
            problems.append(f"{path} line {reader.line_num}: malformed CSV ({e}); check quoting")
        return out
    return [(f"{path} line {i}", obj) for i, obj in jsonl_objects(path, text, problems)]


def _mapping(where: str, name: str, value: Any, problems: list[str]) -> dict[str, Any] | None:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            problems.append(f"{where}: field {name!r}: expected a JSON object {{label: value}}, got {value[:60]!r}")
            return None
    if not isinstance(value, dict):
        problems.append(f"{where}: field {name!r}: expected an object {{label: value}}, got {type(value).__name__}")
        return None
    return value


def _label_values(
    where: str, name: str, raw: Mapping[str, Any], allowed: Sequence[str], whose: str, problems: list[str]
) -> dict[str, float]:
    out: dict[str, float] = {}
    for lab, v in raw.items():
        if lab not in allowed:
            problems.append(
                f"{where}: field {name!r}: label {lab!r} is not a label of {whose}; expected one of {list(allowed)}"
            )
            continue
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if name == "decisions":
            ok = ok and v in (0, 1)
        elif ok:
            ok = 0.0 <= v <= 1.0
        if not ok:
            want = "0 or 1" if name == "decisions" else "a probability in [0, 1]"
            problems.append(f"{where}: field {name!r}: {lab}: expected {want}, got {v!r}")
            continue
        out[lab] = float(v)
    return out


def read_log(
    path: Path,
    *,
    labels: Sequence[str],
    models: Mapping[str, Sequence[str]],
    context: str,
    stored: Mapping[str, tuple[str, str]],
    problems: list[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int, int]:
    """Validated new posts and feedback events of a log, the number of rows read and of posts stored already."""
    rows = _rows(path, problems)
    posts: dict[str, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    for where, row in rows:
        unknown = sorted(set(row) - _FIELDS)
        if unknown:
            problems.append(f"{where}: unknown fields {unknown}; expected among {sorted(_FIELDS)}")
        head = _row_head(
            where, row, known=posts.keys() | stored.keys(), context=context, models=models, problems=problems
        )
        if head is None:
            continue
        pid, ts, text, ctx, model = head
        allowed, whose = (
            (list(models[model]), f"model {model!r}") if model in models else (list(labels), "the taxonomy")
        )
        values = _row_values(where, row, allowed, whose, labels, ts, problems)
        if values is None:
            continue
        scores, decisions, fb, fb_ts = values
        if text not in (None, ""):
            post = {
                "id": pid,
                "text": text,
                "text_hash": text_hash(text),
                "context": ctx,
                "ts": ts,
                "model": model,
                "scores": canonical_json(scores),
                "decisions": canonical_json(decisions),
            }
            prev = posts.get(pid) or (
                {"text_hash": stored[pid][0], "scores": stored[pid][1]} if pid in stored else None
            )
            if prev is not None and (prev["text_hash"], prev["scores"]) != (post["text_hash"], post["scores"]):
                problems.append(
                    f"{where}: id {pid!r} is already stored or listed with another text or scores; ids must be unique"
                )
                continue
            posts.setdefault(pid, {**post, "_where": where})
        if fb:
            events.append({"post_id": pid, "type": fb["type"], "label": fb["label"], "ts": fb_ts, "_where": where})
    new = [p for p in posts.values() if p["id"] not in stored]
    return new, events, len(rows), len(posts) - len(new)


def _row_head(where: str, row: Mapping, *, known, context: str, models, problems: list[str]):
    """(id, time, text, context, model) of a log row, or ``None`` after appending its problem."""
    pid = row.get("id")
    if isinstance(pid, (int, float)) and not isinstance(pid, bool):
        pid = str(pid)
    if not isinstance(pid, str) or not pid.strip():
        problems.append(f"{where}: field 'id': expected the post's id (a non-empty string), got {pid!r}")
        return None
    try:
        ts = parse_time(row.get("time"))
    except (ValueError, TypeError):
        problems.append(
            f"{where}: field 'time': expected an ISO 8601 time such as 2026-11-02T10:00:00Z, got {row.get('time')!r}"
        )
        return None
    text = row.get("text")
    if text in (None, "") and pid not in known:
        problems.append(f"{where}: field 'text': expected the post's text (required for a post not stored yet)")
        return None
    if text not in (None, "") and not isinstance(text, str):
        problems.append(f"{where}: field 'text': expected a string, got {type(text).__name__}")
        return None
    ctx = str(row.get("context") or context).upper()
    if ctx not in CONTEXTS:
        problems.append(f"{where}: field 'context': expected one of {list(CONTEXTS)}, got {row.get('context')!r}")
        return None
    model = row.get("model") or (next(iter(models)) if len(models) == 1 else None)
    if model is not None and not isinstance(model, str):
        problems.append(f"{where}: field 'model': expected a model name, got {model!r}")
        return None
    if models and model is not None and model not in models:
        problems.append(
            f"{where}: field 'model': {model!r} is not a known model; expected one of {sorted(models)} "
            "(pass --model DIR for the model directory that scored these posts)"
        )
        return None
    return pid, ts, text, ctx, model


def _row_values(where: str, row: Mapping, allowed, whose: str, labels, ts, problems: list[str]):
    """(scores, decisions, feedback, feedback time) of a log row, or ``None`` after appending its problems."""
    scores = _mapping(where, "scores", row.get("scores"), problems)
    decisions = _mapping(where, "decisions", row.get("decisions"), problems)
    fb = _mapping(where, "feedback", row.get("feedback"), problems)
    if row.get("feedback_type") not in (None, ""):
        fb = {"type": row.get("feedback_type"), "label": row.get("feedback_label")}
    if scores is None or decisions is None or fb is None:
        return None
    n0 = len(problems)
    scores = _label_values(where, "scores", scores, allowed, whose, problems)
    decisions = _label_values(where, "decisions", decisions, allowed, whose, problems)
    fb_ts = ts
    if fb:
        if fb.get("type") not in FEEDBACK_TYPES:
            problems.append(
                f"{where}: field 'feedback.type': expected one of {list(FEEDBACK_TYPES)}, got {fb.get('type')!r}"
            )
        if fb.get("label") not in labels:
            problems.append(
                f"{where}: field 'feedback.label': expected a taxonomy label {list(labels)}, got {fb.get('label')!r}"
            )
        try:
            fb_ts = parse_time(fb.get("time")) if fb.get("time") not in (None, "") else ts
        except (ValueError, TypeError):
            problems.append(f"{where}: field 'feedback.time': expected an ISO 8601 time, got {fb.get('time')!r}")
    return None if len(problems) > n0 else (scores, decisions, fb, fb_ts)
