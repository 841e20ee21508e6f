"""Store rows as Argilla records (no requests of their own; the SDK wants a client to exist).

Argilla record ids are the store ids (``seed:<id>`` for a seed), so logging again updates in place. A
``content_hash`` in the metadata says whether what the store holds changed since the last push.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping, Sequence

from .templates import NONE_LABEL, VECTOR

__all__ = [
    "seed_record",
    "batch_record",
    "error_record",
    "suite_record",
    "sample_record",
    "adjudication_record",
    "content_hash",
]


def content_hash(fields: Mapping[str, Any], metadata: Mapping[str, Any], suggestion: Any = None) -> str:
    blob = json.dumps([fields, metadata, suggestion], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def _vectors(vector: Sequence[float] | None) -> dict[str, list[float]]:
    """The record's embedding (left out until known: a push embeds only what it sends)."""
    return {} if vector is None else {VECTOR: [float(x) for x in vector]}


def _metadata(row: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for key in ("record_id", "seed_id", "batch_id", "split", "source", "context"):
        v = row.get(key)
        if v is not None and v == v:  # NaN is missing
            out[key] = str(v)
    return out


def seed_record(seed: Mapping[str, Any], examples: Sequence[str], vector: Sequence[float] | None = None):
    """The seed-review record of one seed version."""
    import argilla as rg

    overlap = ", ".join(f"{k} {round(100 * v)} %" for k, v in (seed.get("overlap") or {}).items())
    fields = {
        "text": seed["text"],
        "kind": seed["kind"].replace("_", " "),
        "targets": ", ".join(seed["target_labels"]) + (f" (overlap: {overlap})" if overlap else ""),
        "examples": "\n".join(f"{i + 1}. {t}" for i, t in enumerate(examples[:5])) or "(no batch yet)",
    }
    metadata = _metadata(
        {
            "record_id": f"seed:{seed['id']}",
            "seed_id": seed["id"],
            "source": "seeds",
            "context": seed.get("context") or "GENERAL",
        }
    )
    metadata["content_hash"] = content_hash(fields, metadata)
    return rg.Record(id=f"seed:{seed['id']}", fields=fields, metadata=metadata, vectors=_vectors(vector))


def batch_record(
    row: Mapping[str, Any],
    seed_text: str,
    labels: Sequence[str],
    vector: Sequence[float] | None = None,
    *,
    audit: bool = False,
    scores: Mapping[str, float] | None = None,
):
    """The batch-review record of one generated record: the generator's intended labels as the suggestion;
    ``audit`` marks the sample of a batch that was already accepted; ``scores`` are the promoted model's
    probabilities for the seed's target labels (``model_score_<label>``: they inform, never decide)."""
    import argilla as rg

    intended = [lab for lab in labels if row.get(lab) == 1] or [NONE_LABEL]
    fields = {"text": row["text"], "seed": seed_text}
    metadata = _metadata({**row, "record_id": row["id"]})
    # what the generator asserted (its known labels), kept with the record: the batch verdict compares with it
    metadata["intended"] = json.dumps({lab: int(row[lab]) for lab in labels if row.get(lab) in (0, 1)}, sort_keys=True)
    if audit:
        metadata["audit"] = "accepted batch"
    for lab, p in (scores or {}).items():
        metadata[f"model_score_{lab}"] = float(p)
    metadata["content_hash"] = content_hash(fields, metadata, intended)
    return rg.Record(
        id=row["id"],
        fields=fields,
        metadata=metadata,
        vectors=_vectors(vector),
        suggestions=[rg.Suggestion(question_name="labels", value=intended, agent="generator")],
    )


def error_record(
    row: Mapping[str, Any],
    errors: Sequence[Mapping[str, Any]],
    labels: Sequence[str],
    thresholds: Sequence[float],
    vector: Sequence[float] | None = None,
    agent: str = "model",
):
    """The error-review record of one store record: its worst error's type, label and quality score as
    metadata, the model's decisions with their probabilities as the suggestion."""
    import argilla as rg

    worst = min(
        errors,
        key=lambda e: (
            e["label_quality_score"] if e["label_quality_score"] == e["label_quality_score"] else 2.0,
            -e["probability"],
        ),
    )
    chosen, scores = _decisions(worst["probs"], labels, thresholds)
    fields = {"text": row["text"]}
    metadata = _metadata({**row, "record_id": row["id"]})
    metadata.update({"error_type": worst["error_type"], "label": worst["label"]})
    if worst["label_quality_score"] == worst["label_quality_score"]:
        metadata["label_quality_score"] = round(float(worst["label_quality_score"]), 4)
    metadata["content_hash"] = content_hash(fields, metadata, [chosen, scores])
    return rg.Record(
        id=row["id"],
        fields=fields,
        metadata=metadata,
        vectors=_vectors(vector),
        suggestions=[rg.Suggestion(question_name="labels", value=chosen or [NONE_LABEL], score=scores, agent=agent)],
    )


def _decisions(
    probs: Mapping[str, float], labels: Sequence[str], thresholds: Sequence[float]
) -> tuple[list[str], list[float]]:
    """A model's suggestion for the ``labels`` question: the labels at or above their thresholds with their
    probabilities, or (none fired) ``none``'s score, one minus the highest probability."""
    chosen = [lab for lab, t in zip(labels, thresholds) if probs.get(lab, 0.0) >= t]
    scores = [float(probs[lab]) for lab in chosen] if chosen else [float(1 - max(probs.values(), default=0.0))]
    return chosen, scores


def suite_record(case, description: str = "", vector: Sequence[float] | None = None):
    """The suite-review record of one test-side case (id: the case id)."""
    import argilla as rg

    said = {1: "applies", 0: "must not apply"}
    expected = "; ".join(f"{lab} {said[v]}" for lab, v in sorted(case.expect.items()))
    kind = getattr(case, "type", "mft")
    if kind == "inv":  # an invariance case: the perturbed text means what its original means
        expected = f"as in the original ({expected}): {case.original!r}"
    elif kind == "dir":
        way = {1: "at least as much as", 0: "no more than"}
        expected = "; ".join(f"{lab} applies {way[v]} in {case.original!r}" for lab, v in sorted(case.expect.items()))
    fields = {"text": case.text, "expected": f"{case.functionality}: {description}\n{expected}"}
    metadata = _metadata({"record_id": case.id, "split": "suite", "source": case.suite, "context": "GENERAL"})
    metadata["functionality"] = case.functionality
    metadata["content_hash"] = content_hash(fields, metadata)
    return rg.Record(id=case.id, fields=fields, metadata=metadata, vectors=_vectors(vector))


def sample_record(
    post: Mapping[str, Any],
    probs: Sequence[float],
    labels: Sequence[str],
    thresholds: Sequence[float],
    reason: str,
    vector: Sequence[float] | None = None,
):
    """The sample-review record of one production pool post (id ``pool:<post id>``): why it was sampled,
    the model's decisions with their probabilities as the suggestion."""
    import argilla as rg

    chosen, scores = _decisions({lab: float(p) for lab, p in zip(labels, probs)}, labels, thresholds)
    fields = {"text": post["text"]}
    metadata = _metadata(
        {
            "record_id": post["id"],
            "split": "production",
            "source": "production",
            "context": post.get("context") or "GENERAL",
        }
    )
    metadata.update({"sampling": reason, "model": str(post.get("model") or ""), "time": str(post.get("time"))[:19]})
    metadata["content_hash"] = content_hash(fields, metadata, [chosen, [round(x, 4) for x in scores]])
    return rg.Record(
        id=f"pool:{post['id']}",
        fields=fields,
        metadata=metadata,
        vectors=_vectors(vector),
        suggestions=[rg.Suggestion(question_name="labels", value=chosen or [NONE_LABEL], score=scores, agent="model")],
    )


def adjudication_record(row: Mapping[str, Any], disputed: Sequence[str], said: Mapping[str, Mapping[str, str]]):
    """The adjudication record of one store record whose ``disputed`` labels are in dispute: its text and every
    annotator's answers (``said``: annotator -> question -> answer as stored)."""
    import argilla as rg

    def shown(value: str) -> str:
        v = json.loads(value) if value and value[:1] in '["' else value
        return ", ".join(v) if isinstance(v, list) else str(v)

    lines = [
        f"- **{user}**: " + "; ".join(f"{q} = {shown(v)}" for q, v in sorted(answers.items()))
        for user, answers in sorted(said.items())
    ]
    fields = {
        "text": row["text"],
        "answers": "\n".join(lines) or "(no answers recorded)",
        "disputed": ", ".join(disputed),
    }
    metadata = _metadata({**row, "record_id": row["id"]})
    metadata["content_hash"] = content_hash(fields, metadata)
    return rg.Record(id=row["id"], fields=fields, metadata=metadata)
