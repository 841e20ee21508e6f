"""Review outcomes into the store, in one transaction: annotation events, resolved labels, seed verdicts
and new seed versions, batch acceptance.

The review loop (``workbench.review``) reads answers from Argilla and decides; this module only writes,
all or nothing, and is safe to repeat: an annotation already recorded (same response key) is not
recorded again, a label already at its value is not changed, a seed or batch already in its state is
left alone. A pull killed halfway leaves the store as it was, and the rerun completes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from foundation import canonical_json, utc_now

from ._seeds import seed_version_id
from .production._pool import write_pool_labels
from .store._store import Store

__all__ = ["ReviewOutcome", "apply_review", "record_gold", "clear_annotator", "annotator_flags"]


@dataclass
class ReviewOutcome:
    """What one pull decided.

    ``annotations``: one dict per submitted answer — ``key`` (unique per response and answer),
    ``dataset``, ``record_id`` (store id, seed id or batch record), ``question``, ``value``, ``user``,
    ``status``, ``ts``. ``labels``: store record id -> resolved labels (a complete annotation).
    ``seed_status``: seed id -> (``approved`` | ``rejected``, reason). ``new_seed_text``: seed id ->
    edited text (a new version; the edited seed is quarantined). ``batch_status``: batch id ->
    (``accepted`` | ``rejected``, reason); a rejected batch quarantines its seed. ``hard_negatives``:
    record id -> labels an error review confirmed it does not carry although the model said so (a false
    positive kept at 0): the record becomes a hard negative for them in the training mix. ``pool_labels``:
    production pool post id -> resolved labels of the sample review (a complete annotation; the post gets
    its production split, see :mod:`curation.production._pool`). ``batch_review``: batch id -> the sampling
    plan's latest decision (verdict, needs, reviewed, errors, upper bound, reason), kept as the batch
    summary's ``review`` (what ``push-batches`` reads to top up a batch that needs more reviews).
    ``disputed``: record id -> labels its annotators split on without a clear majority: stored unknown with
    provenance ``disputed`` (never 0 or 1 by a tie-break) until someone settles them. ``adjudicated``:
    record id -> (the adjudicator, the labels they settled: provenance ``adjudicated``). ``flagged``:
    annotator -> why the evidence flags them (an ``annotator_flagged`` event; the flag stands until
    :func:`clear_annotator`).
    """

    annotations: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, dict[str, int]] = field(default_factory=dict)
    seed_status: dict[str, tuple[str, str]] = field(default_factory=dict)
    new_seed_text: dict[str, str] = field(default_factory=dict)
    batch_status: dict[str, tuple[str, str]] = field(default_factory=dict)
    hard_negatives: dict[str, list[str]] = field(default_factory=dict)
    pool_labels: dict[str, dict[str, int]] = field(default_factory=dict)
    batch_review: dict[str, dict[str, Any]] = field(default_factory=dict)
    disputed: dict[str, list[str]] = field(default_factory=dict)
    adjudicated: dict[str, tuple[str, dict[str, int]]] = field(default_factory=dict)
    flagged: dict[str, str] = field(default_factory=dict)


def apply_review(
    store: Store, outcome: ReviewOutcome, *, actor: str = "review", production_splits: Mapping | None = None
) -> dict[str, int]:
    """Write ``outcome`` in one transaction; return how many of each change were made (0s on a repeat)."""
    done = {
        "annotations": 0,
        "labels": 0,
        "seeds_rejected": 0,
        "seeds_approved": 0,
        "seed_versions": 0,
        "batches_accepted": 0,
        "batches_rejected": 0,
        "hard_negatives": 0,
        "pool_labels": 0,
        "batch_reviews": 0,
        "disputed": 0,
        "adjudicated": 0,
        "annotators_flagged": 0,
    }
    with store.transaction() as conn:
        done["annotations"] = _write_annotations(store, conn, outcome.annotations)
        _write_record_labels(store, conn, outcome, actor, done)
        standing = _standing_flags(conn)
        for user, reason in outcome.flagged.items():
            if user not in standing:
                store.event(conn, actor=actor, kind="annotator_flagged", target=user, value=reason)
                done["annotators_flagged"] += 1
        _write_seed_verdicts(store, conn, outcome, actor, done)
        for bid, decision in outcome.batch_review.items():
            done["batch_reviews"] += _write_batch_review(store, conn, bid, decision, actor)
        for bid, (status, reason) in outcome.batch_status.items():
            row = conn.execute("SELECT status, seed_id FROM batches WHERE id = ?", (bid,)).fetchone()
            if row is None or row[0] == status:
                continue
            conn.execute("UPDATE batches SET status = ? WHERE id = ?", (status, bid))
            store.event(conn, actor=actor, kind="batch_status", target=bid, value=status, detail={"reason": reason})
            done[f"batches_{status}"] += 1
            if status == "rejected":
                _quarantine(store, conn, row[1], f"batch {bid} rejected in review: {reason}", actor)
        for rid, labels in outcome.hard_negatives.items():
            done["hard_negatives"] += _write_hard_negative(store, conn, rid, labels, actor)
        for pid, labels in outcome.pool_labels.items():
            done["pool_labels"] += bool(
                write_pool_labels(
                    store, conn, pid, labels, provenance="annotator", fractions=production_splits, actor=actor
                )
            )
    return done


def _write_record_labels(store: Store, conn, outcome: ReviewOutcome, actor: str, done: dict[str, int]) -> None:
    """Resolved labels (provenance ``annotator``), disputed ones (unknown, ``disputed``) and settled ones
    (``adjudicated``, written as the adjudicator), for records the store holds."""

    def held(rid: str) -> bool:
        return conn.execute("SELECT 1 FROM records WHERE id = ?", (rid,)).fetchone() is not None

    for rid, labels in outcome.labels.items():
        if held(rid):
            done["labels"] += store.write_labels(conn, rid, labels, actor=actor, provenance="annotator")
    for rid, labs in outcome.disputed.items():
        if held(rid):
            done["disputed"] += store.write_labels(conn, rid, dict.fromkeys(labs), actor=actor, provenance="disputed")
    for rid, (adjudicator, labels) in outcome.adjudicated.items():
        if held(rid):
            done["adjudicated"] += store.write_labels(conn, rid, labels, actor=adjudicator, provenance="adjudicated")


def _write_annotations(store: Store, conn, annotations: list[dict[str, Any]]) -> int:
    """Annotation events not recorded yet (by response key)."""
    have = {r[0] for r in conn.execute("SELECT json_extract(detail, '$.key') FROM events WHERE kind = 'annotation'")}
    n = 0
    for a in annotations:
        if a["key"] in have:
            continue
        store.event(
            conn,
            actor=a["user"],
            kind="annotation",
            target=a["record_id"],
            question=a["question"],
            value=str(a["value"]),
            status=a["status"],
            detail={"key": a["key"], "dataset": a["dataset"], "answered_at": a.get("ts")},
        )
        have.add(a["key"])
        n += 1
    return n


def _write_seed_verdicts(store: Store, conn, outcome: ReviewOutcome, actor: str, done: dict[str, int]) -> None:
    """Seed approvals and rejections (a rejection quarantines the seed and its records), and new versions."""
    seeds = {r[0]: (r[1], r[2], r[3]) for r in conn.execute("SELECT id, status, quarantined, text FROM seeds")}
    for sid, (status, reason) in outcome.seed_status.items():
        if sid not in seeds or seeds[sid][0] == status:
            continue
        conn.execute("UPDATE seeds SET status = ?, notes = COALESCE(?, notes) WHERE id = ?", (status, reason, sid))
        store.event(conn, actor=actor, kind="seed_status", target=sid, value=status, detail={"reason": reason})
        if status == "rejected":
            _quarantine(store, conn, sid, f"rejected in seed review: {reason or 'no reason given'}", actor)
            done["seeds_rejected"] += 1
        else:
            done["seeds_approved"] += 1
    for sid, text in outcome.new_seed_text.items():
        if sid in seeds and _new_version(store, conn, sid, text, actor):
            done["seed_versions"] += 1


def _write_batch_review(store: Store, conn, bid: str, decision: dict[str, Any], actor: str) -> int:
    """The sampling plan's latest decision into the batch summary (1 when it changed)."""
    row = conn.execute("SELECT summary FROM batches WHERE id = ?", (bid,)).fetchone()
    summary = json.loads(row[0] or "{}") if row is not None else None
    if summary is None or summary.get("review") == decision:
        return 0
    conn.execute("UPDATE batches SET summary = ? WHERE id = ?", (canonical_json({**summary, "review": decision}), bid))
    store.event(conn, actor=actor, kind="batch_review", target=bid, value=decision["verdict"], detail=decision)
    return 1


def _write_hard_negative(store: Store, conn, rid: str, labels: list[str], actor: str) -> int:
    """A confirmed false positive: the record becomes a hard negative for those labels (1 when it changed)."""
    row = conn.execute("SELECT meta FROM records WHERE id = ?", (rid,)).fetchone()
    if row is None:
        return 0
    meta = json.loads(row[0] or "{}")
    have = set(meta.get("hard_negative_labels") or [])
    if set(labels) <= have:
        return 0
    meta.update(hard_negative=True, hard_negative_labels=sorted(have | set(labels)))
    conn.execute("UPDATE records SET meta = ? WHERE id = ?", (canonical_json(meta), rid))
    store.event(conn, actor=actor, kind="hard_negative", target=rid, detail={"labels": sorted(labels)})
    return 1


def _quarantine(store: Store, conn, seed_id: str, reason: str, actor: str) -> None:
    if not conn.execute("SELECT quarantined FROM seeds WHERE id = ?", (seed_id,)).fetchone()[0]:
        store.quarantine_in(conn, seed_id, reason=reason, actor=actor)


def _new_version(store: Store, conn, seed_id: str, text: str, actor: str) -> bool:
    """A new version of ``seed_id``'s seed with the edited text (approved: a reviewer wrote it); the edited
    version is quarantined, so its batches stay out. False when that text is already the newest version."""
    (base,) = conn.execute("SELECT COALESCE(base_id, id) FROM seeds WHERE id = ?", (seed_id,)).fetchone()
    newest = conn.execute(
        "SELECT id, version, text FROM seeds WHERE COALESCE(base_id, id) = ? ORDER BY version DESC LIMIT 1", (base,)
    ).fetchone()
    if newest[2] == text:
        return False
    old = dict(
        zip(
            ("text", "target_labels", "kind", "overlap", "batch_size", "context"),
            conn.execute(
                "SELECT text, target_labels, kind, overlap, batch_size, context FROM seeds WHERE id = ?", (seed_id,)
            ).fetchone(),
        )
    )
    new_id = seed_version_id(base, newest[1] + 1)
    store.insert_seed(
        conn,
        {
            "id": new_id,
            "text": text,
            "target_labels": json.loads(old["target_labels"]),
            "kind": old["kind"],
            "overlap": json.loads(old["overlap"]),
            "status": "approved",
            "base_id": base,
            "version": newest[1] + 1,
            "batch_size": old["batch_size"],
            "context": old["context"],
            "notes": f"edited in review from {seed_id}",
        },
        utc_now(),
    )
    store.event(conn, actor=actor, kind="seed_added", target=new_id, detail={"edited_from": seed_id})
    _quarantine(store, conn, seed_id, f"replaced by {new_id} (edited in review)", actor)
    return True


def _standing_flags(conn) -> dict[str, str]:
    """annotator -> reason of each flag raised and not cleared since."""
    out: dict[str, str] = {}
    for kind, target, value in conn.execute(
        "SELECT kind, target, value FROM events WHERE kind IN ('annotator_flagged', 'annotator_cleared') ORDER BY seq"
    ):
        if kind == "annotator_flagged":
            out[target] = value or "flagged"
        else:
            out.pop(target, None)
    return out


def annotator_flags(store: Store) -> tuple[dict[str, str], dict[str, int]]:
    """The standing flags (annotator -> reason) and each annotator's last clearance (annotator -> its event
    ``seq``: answers recorded before it are no longer evidence against them)."""
    cleared = {
        t: int(s)
        for t, s in store.conn.execute(
            "SELECT target, MAX(seq) FROM events WHERE kind = 'annotator_cleared' GROUP BY target"
        )
    }
    return _standing_flags(store.conn), cleared


def clear_annotator(store: Store, user: str, *, actor: str, reason: str | None = None) -> bool:
    """Clear ``user``'s flag (their answers count again; older answers are no longer evidence against them).
    False when they were not flagged."""
    with store.transaction() as conn:
        if user not in _standing_flags(conn):
            return False
        store.event(conn, actor=actor, kind="annotator_cleared", target=user, value=reason)
    return True


def record_gold(store: Store, entries: list[dict[str, Any]], *, actor: str = "review") -> int:
    """Register known-answer records pushed into a review queue (``id``: the review record's id, ``dataset``,
    ``record_id``: the store record it copies, ``labels``: the known labels), each once; return how many
    were new. The pull scores answers on them and never applies them as labels."""
    with store.transaction() as conn:
        have = {r[0] for r in conn.execute("SELECT target FROM events WHERE kind = 'gold_pushed'")}
        n = 0
        for e in entries:
            if e["id"] in have:
                continue
            store.event(
                conn,
                actor=actor,
                kind="gold_pushed",
                target=e["id"],
                detail={"dataset": e["dataset"], "record_id": e["record_id"], "labels": e["labels"]},
            )
            n += 1
    return n
