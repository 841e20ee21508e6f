"""Production traffic and feedback: the pool of posts a shipped model scored, and what people said of them.

A production log is JSONL or CSV, one row a post (docs/reference/production-log.md documents it):

    id        the platform's id of the post (required)
    text      the post (required, unless the id is already stored: a row may bring feedback only)
    time      when the model scored it, ISO 8601 (required; a time without a zone is read as UTC)
    context   MESSAGE / POST / ... (default: the import's context)
    model     the name of the model that scored it (a model directory's name)
    scores    {label: probability in [0, 1]}
    decisions {label: 0 or 1}
    feedback  {"type": "user_report" | "appeal" | "moderator_confirm" | "moderator_overturn",
               "label": LABEL, "time": ISO 8601 (default: the row's time)}

In CSV, ``scores``, ``decisions`` and ``feedback`` are JSON objects in their cells, or ``feedback_type`` and
``feedback_label`` columns.

The posts are an **unlabelled pool** (table ``production``), kept apart from the training records: every
label unknown, with the time and the model that scored them. A moderator's decision is a known label with
provenance ``moderator``: ``moderator_confirm`` of a label means the post carries it (1),
``moderator_overturn`` that it does not (0: the model's or a reporter's positive was wrong). A user report
or an appeal is a signal, kept in the ``feedback`` table and never read as a label. A pool post has no split
until it has a known label; then a stable hash of its id puts it in ``production_holdout``,
``production_calib``, ``train`` or ``valid`` (``production.splits`` in workbench.yaml), never in the fixed
curated holdout. The split a post got is stored with it: changing the fractions moves no labelled post.

Labelled posts of ``train`` and ``valid`` train the next model (:func:`production_records` turns them into
training rows: origin ``production``, a moderator's overturn of a firing a hard negative for the label that
fired); ``production_calib`` re-tunes thresholds (recalibration) and ``production_holdout`` is the gate's
production slice: never trained or tuned on.

Like every importer, the whole file is checked first and nothing is written unless every row is valid;
the error names file, line and field.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from foundation import canonical_json, utc_now

from .._errors import ImportValidationError, StoreError
from .._records import FRAME_COLUMNS
from ..store._store import Store
from ._log import FEEDBACK_TYPES, parse_time, read_log

__all__ = [
    "FEEDBACK_TYPES",
    "MODERATOR_VALUES",
    "PRODUCTION_SPLITS",
    "DEFAULT_PRODUCTION_SPLITS",
    "PRODUCTION_ORIGIN",
    "production_records",
    "production_fingerprint",
    "ProductionSummary",
    "import_production",
    "production_frame",
    "feedback_frame",
    "parse_time",
    "production_split",
    "write_pool_labels",
]

MODERATOR_VALUES = {"moderator_confirm": 1, "moderator_overturn": 0}  # the known label a decision gives
PRODUCTION_SPLITS = ("production_holdout", "production_calib", "train", "valid")
# most labels train the model (a review budget of a few hundred posts must move it); a fixed, never-trained
# slice gates it on the team's own platform and another re-tunes thresholds. Projects made before
# production_holdout existed keep the fractions their workbench.yaml states (the hash walks the splits in
# this order, so a share of 0 for production_holdout maps every post where it went before).
DEFAULT_PRODUCTION_SPLITS = {"production_holdout": 0.15, "production_calib": 0.15, "train": 0.6, "valid": 0.1}
PRODUCTION_ORIGIN = "production"


@dataclass
class ProductionSummary:
    """What one production import did."""

    import_id: str
    n_read: int
    n_posts: int
    n_already_stored: int
    n_feedback: int
    n_labelled: int
    feedback: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def production_split(post_id: str, fractions: Mapping[str, float] | None = None) -> str:
    """The split a labelled pool post goes to: a stable hash of its id over ``fractions`` (never holdout)."""
    fr = dict(fractions or DEFAULT_PRODUCTION_SPLITS)
    u = int(hashlib.sha256(post_id.encode()).hexdigest()[:12], 16) / 16**12
    acc = 0.0
    for name in PRODUCTION_SPLITS:
        acc += float(fr.get(name, 0.0))
        if u < acc:
            return name
    return "production_calib"


def _check_fractions(fr: Mapping[str, Any]) -> dict[str, float]:
    bad = [k for k in fr if k not in PRODUCTION_SPLITS]
    total = sum(float(v) for v in fr.values()) if not bad else 0.0
    if bad or not math.isclose(total, 1.0, abs_tol=1e-6) or any(float(v) < 0 for v in fr.values()):
        raise StoreError(
            "workbench.yaml production.splits",
            expected=f"shares of {list(PRODUCTION_SPLITS)} that sum to 1 (the holdout is never one of them)",
            got=repr(dict(fr)),
            fix="e.g. {production_holdout: 0.15, production_calib: 0.15, train: 0.6, valid: 0.1}",
        )
    return {k: float(v) for k, v in fr.items()}


# ---------------------------------------------------------------------------- writing
def write_pool_labels(
    store: Store,
    conn,
    post_id: str,
    labels: Mapping[str, int],
    *,
    provenance: str,
    fractions: Mapping[str, float] | None,
    actor: str,
) -> str:
    """Give a pool post known labels (inside the caller's transaction): the values are written over the
    ones it had, with ``provenance``; a post labelled for the first time gets its production split. Returns
    ``"labelled"`` (its first known labels), ``"changed"`` (an event says what they were before) or ``""``
    (nothing changed, or no such post)."""
    row = conn.execute("SELECT labels, label_provenance, split FROM production WHERE id = ?", (post_id,)).fetchone()
    if row is None:
        return ""
    old, prov = json.loads(row[0]), json.loads(row[1])
    new = {**old, **{k: int(v) for k, v in labels.items()}}
    if new == old:
        return ""
    prov.update({k: provenance for k in labels})
    split = row[2] or production_split(post_id, fractions)
    conn.execute(
        "UPDATE production SET labels = ?, label_provenance = ?, split = ? WHERE id = ?",
        (canonical_json(new), canonical_json(prov), split, post_id),
    )
    store.event(
        conn,
        actor=actor,
        kind="pool_labels",
        target=post_id,
        value=canonical_json(new),
        detail={"before": old, "provenance": provenance, "split": split},
    )
    return "changed" if row[2] else "labelled"


def import_production(
    store: Store,
    taxonomy,
    settings: Any,
    path,
    *,
    models: Mapping[str, Sequence[str]] | None = None,
    context: str = "GENERAL",
    actor: str = "feedback-import",
) -> ProductionSummary:
    """Check a production log in full, then store its posts (the unlabelled pool) and its feedback in one
    transaction; moderator decisions become known labels (provenance ``moderator``) and give the post its
    production split. ``models``: model name -> its labels, to check the ``scores`` of the posts it scored
    (without it, scores are checked against the taxonomy). ``settings``: the project's
    :class:`curation.ProjectSettings`."""
    path = Path(path)
    problems: list[str] = []
    fractions = _check_fractions(dict(settings.production.splits or DEFAULT_PRODUCTION_SPLITS))
    stored = {r[0]: (r[1], r[2]) for r in store.conn.execute("SELECT id, text_hash, scores FROM production").fetchall()}
    posts, events, n_read, n_already = read_log(
        path,
        labels=list(taxonomy.label_names),
        models=dict(models or {}),
        context=context.upper(),
        stored=stored,
        problems=problems,
    )
    if problems:
        raise ImportValidationError(f"production log {path}: nothing was written", problems=problems)
    seen = {tuple(r) for r in store.conn.execute("SELECT post_id, type, label, ts FROM feedback").fetchall()}
    events = [e for e in events if (e["post_id"], e["type"], e["label"], e["ts"]) not in seen]
    events = list({(e["post_id"], e["type"], e["label"], e["ts"]): e for e in events}.values())
    import_id = (
        "prod-"
        + hashlib.sha256(canonical_json([str(path), len(posts), len(events), utc_now()]).encode()).hexdigest()[:12]
    )
    now = utc_now()
    labelled = 0
    with store.transaction() as conn:
        for p in posts:
            conn.execute(
                "INSERT INTO production (id, text, text_hash, context, ts, model, scores, decisions, import_id, "
                "created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    p["id"],
                    p["text"],
                    p["text_hash"],
                    p["context"],
                    p["ts"],
                    p["model"],
                    p["scores"],
                    p["decisions"],
                    import_id,
                    now,
                ),
            )
        for e in sorted(events, key=lambda e: e["ts"]):
            conn.execute(
                "INSERT INTO feedback (post_id, type, label, ts, import_id, created_at) VALUES (?,?,?,?,?,?)",
                (e["post_id"], e["type"], e["label"], e["ts"], import_id, now),
            )
            if e["type"] in MODERATOR_VALUES:
                done = write_pool_labels(
                    store,
                    conn,
                    e["post_id"],
                    {e["label"]: MODERATOR_VALUES[e["type"]]},
                    provenance="moderator",
                    fractions=fractions,
                    actor=actor,
                )
                labelled += done == "labelled"
        if posts or events:
            conn.execute(
                "INSERT INTO imports (id, created_at, source, format, path, n_records, params) VALUES (?,?,?,?,?,?,?)",
                (
                    import_id,
                    now,
                    "production",
                    "production",
                    str(path),
                    len(posts),
                    canonical_json({"context": context, "feedback": len(events)}),
                ),
            )
            store.event(
                conn,
                actor=actor,
                kind="production_import",
                target=import_id,
                detail={"posts": len(posts), "feedback": len(events), "labelled": labelled},
            )
    return ProductionSummary(
        import_id=import_id if (posts or events) else "",
        n_read=n_read,
        n_posts=len(posts),
        n_already_stored=n_already,
        n_feedback=len(events),
        n_labelled=labelled,
        feedback=dict(Counter(e["type"] for e in events)),
    )


def production_frame(store: Store, *, start: str | None = None, end: str | None = None) -> pd.DataFrame:
    """The pool: one row a post (``time`` as a UTC timestamp; ``scores``, ``decisions``, ``labels`` and
    ``label_provenance`` as dicts; ``split`` None until labelled), oldest first; ``start`` / ``end``: ISO
    times (end excluded)."""
    q, args = (
        "SELECT id, text, context, ts, model, scores, decisions, labels, label_provenance, split FROM production",
        [],
    )
    cond = []
    if start is not None:
        cond.append("ts >= ?")
        args.append(parse_time(start))
    if end is not None:
        cond.append("ts < ?")
        args.append(parse_time(end))
    if cond:
        q += " WHERE " + " AND ".join(cond)
    rows = store.conn.execute(q + " ORDER BY ts, id", args).fetchall()
    cols = ["id", "text", "context", "time", "model", "scores", "decisions", "labels", "label_provenance", "split"]
    frame = pd.DataFrame(rows, columns=cols)
    for c in ("scores", "decisions", "labels", "label_provenance"):
        frame[c] = [json.loads(v) for v in frame[c]]
    frame["time"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
    frame["split"] = frame["split"].astype(object).where(frame["split"].notna(), None)
    return frame


def feedback_frame(store: Store) -> pd.DataFrame:
    """Every feedback event: post id, type, label, time (UTC), oldest first."""
    rows = store.conn.execute("SELECT post_id, type, label, ts FROM feedback ORDER BY ts, seq").fetchall()
    frame = pd.DataFrame(rows, columns=["post_id", "type", "label", "time"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
    return frame


def _overturned(store: Store) -> dict[str, set[str]]:
    """Post id -> the labels a moderator overturned on it."""
    out: dict[str, set[str]] = {}
    for pid, lab in store.conn.execute("SELECT post_id, label FROM feedback WHERE type = 'moderator_overturn'"):
        out.setdefault(pid, set()).add(lab)
    return out


def production_records(store: Store, settings: Any, label_names: Sequence[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The labelled pool posts as snapshot rows (the columns of :meth:`Store.frame`) and a report.

    Every labelled post becomes a row of its production split (``train`` and ``valid`` ones train the next
    model; ``production_calib`` and ``production_holdout`` are for thresholds and the gate's production slice,
    never trained on), with origin ``production``, source the name of the model that scored it (the feed),
    id ``pool:<post id>`` and its known labels with their provenance (``moderator``, ``annotator``). Unlabelled
    posts never appear. A label the post was fired or reported on (the model's logged decision, or a
    moderator's overturn) that is known 0 makes the row a **hard negative** for that label.

    Each post is checked against every stored record (the same normalised text or a near duplicate, the
    project's dedup settings): the twin of a curated ``calib`` / ``holdout`` record is **refused** (listed in
    ``report["refused"]``: the curated evaluation stays clean); the twin of a train / valid record is
    collapsed into it (``dup_of``), so one text is trained on once."""
    from ..ingest._ingest import stored_twins

    rows = store.conn.execute(
        "SELECT id, text, context, ts, model, decisions, labels, label_provenance, split, import_id FROM production "
        "WHERE split IS NOT NULL ORDER BY ts, id"
    ).fetchall()
    overturned = _overturned(store)
    twins = stored_twins(store, settings, [r[1] for r in rows])
    labels = list(label_names)
    out, refused, hard = [], [], Counter()
    for r, twin in zip(rows, twins):
        pid, text, context, ts, model, decisions, known, prov, split, import_id = r
        known, prov, decisions = json.loads(known), json.loads(prov), json.loads(decisions)
        if twin is not None and twin[1] in ("calib", "holdout"):
            refused.append({"post": pid, "twin": twin[0], "twin_split": twin[1], "split": split})
            continue
        fired = {lab for lab, v in decisions.items() if v == 1} | overturned.get(pid, set())
        negatives_for = sorted(lab for lab in fired if known.get(lab) == 0 and lab in labels)
        hard.update(negatives_for)
        out.append(
            {
                "id": f"pool:{pid}",
                "text": text,
                "context": context,
                "source": model or PRODUCTION_ORIGIN,
                "origin": PRODUCTION_ORIGIN,
                "seed_id": None,
                "batch_id": None,
                "split": split,
                "status": "active",
                "status_reason": None,
                "dup_of": None if twin is None else twin[0],
                "near_dup_group": None,
                "hard_negative": bool(negatives_for),
                "hard_negative_labels": negatives_for,
                "label_provenance": {k: v for k, v in prov.items() if k in labels},
                "import_id": import_id,
                "meta": {"post_id": pid, "time": ts},
                **{lab: float(known[lab]) if lab in known else np.nan for lab in labels},
            }
        )
    frame = pd.DataFrame(out, columns=list(FRAME_COLUMNS) + labels)
    report = {
        "posts": len(frame),
        "splits": {k: int(v) for k, v in frame["split"].value_counts().items()},
        "hard_negatives": dict(hard),
        "collapsed_into_records": int(frame["dup_of"].notna().sum()),
        "refused": refused,
    }
    return frame, report


def production_fingerprint(store: Store) -> str:
    """What of the pool a snapshot depends on: the labelled posts (id, text, labels, split) and the
    overturns, one line each (for the snapshot's content hash)."""
    h = hashlib.sha256()
    for row in store.conn.execute(
        "SELECT id, text_hash, labels, split, decisions FROM production WHERE split IS NOT NULL ORDER BY id"
    ):
        h.update(("\t".join(map(str, row)) + "\n").encode())
    for row in store.conn.execute(
        "SELECT post_id, label FROM feedback WHERE type = 'moderator_overturn' ORDER BY post_id, label"
    ):
        h.update(("overturn\t" + "\t".join(row) + "\n").encode())
    return h.hexdigest()
