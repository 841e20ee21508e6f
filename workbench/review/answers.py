"""Submitted answers of a review dataset, read from Argilla: per record, question and annotator, and as the
annotation events the store records. Imports nothing of ours (the registry, the pull and the quality
measures read it)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["collect_answers", "annotation_events"]


def collect_answers(ds) -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, dict], dict[str, int]]:
    """Submitted answers of a dataset: record id -> question -> {user id: value}; each record's
    metadata; counts of records by response state (pending / submitted / discarded / draft)."""
    answers: dict[str, dict[str, dict[str, Any]]] = {}
    metadata: dict[str, dict] = {}
    counts = {"pushed": 0, "pending": 0, "submitted": 0, "discarded": 0, "draft": 0}
    for rec in ds.records(with_responses=True, with_suggestions=False, with_vectors=False):
        rid = str(rec.id)
        counts["pushed"] += 1
        metadata[rid] = dict(rec.metadata or {})
        statuses = set()
        for resp in rec.responses:
            status = getattr(resp.status, "value", resp.status)
            statuses.add(status)
            if status == "submitted":
                answers.setdefault(rid, {}).setdefault(resp.question_name, {})[str(resp.user_id)] = resp.value
        state = next((s for s in ("submitted", "discarded", "draft") if s in statuses), "pending")
        counts[state] += 1
    return answers, metadata, counts


def annotation_events(dataset: str, answers, users: dict[str, str]) -> list[dict[str, Any]]:
    """One annotation event per submitted answer (``key`` unique per response and answer), as the store
    records them (:class:`curation.ReviewOutcome`)."""
    out = []
    for rid, by_q in answers.items():
        for question, by_user in by_q.items():
            for uid, value in by_user.items():
                text = json.dumps(value, sort_keys=True, ensure_ascii=False)
                out.append(
                    {
                        "key": f"{dataset}|{rid}|{uid}|{question}|{text}",
                        "dataset": dataset,
                        "record_id": rid,
                        "question": question,
                        "value": text,
                        "user": users.get(uid, uid),
                        "status": "submitted",
                    }
                )
    return out
