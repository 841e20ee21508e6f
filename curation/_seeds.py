"""Seeds: the one seed validator, and the seeds YAML format (seeds, their batches and records).

A seed is a hand-written example that a generator turns into a batch of records. Every batch enters
as ``pending`` (out of every training view until a batch review accepts it), whatever its route; a
seeds file may accept one without review only by saying so: ``status: accepted`` with
``accepted_by`` and ``reason``. Seeds are
versioned by their text: a seed file that changes the text of a stored seed adds a new version
(id ``ID@v2``, ``ID@v3``, ...; ``base_id`` is the file's id) and leaves the old version and its
batches as they were. Its fields are
checked in one place, :func:`validate_seed`, whether it arrives in a seeds file or through
:meth:`Project.add_seed`. :func:`read_seeds` only parses a file; checks against the taxonomy and the
store happen when the records are imported (see :mod:`curation.ingest._ingest`).

Layout::

    seeds:
      - id: seed-1
        kind: positive | hard_negative
        target_labels: [scam]
        status: proposed | approved | rejected
        text: "..."
        overlap: {spam: 0.6}          # optional: share of a batch that carries both labels
        batch_size: 200                # optional: how many records a generator makes from it
        context: MESSAGE               # optional: the context its records are written for
        batches:
          - id: batch-1
            provider: handwritten      # or the generator's name
            params: {}                 # optional
            status: pending            # optional: pending (the default) | accepted | rejected
            accepted_by: alice         # with status accepted: who accepted it without review ...
            reason: "..."              # ... and why (both required; written as an event)
            records:
              - {text: "...", labels: {scam: 1, spam: 0}, context: MESSAGE}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Container, Mapping

import yaml

from ._errors import ImportValidationError
from ._records import CONTEXTS, RawRecord, ReadResult

__all__ = ["SEED_KINDS", "SEED_STATUSES", "BATCH_STATUSES", "validate_seed", "read_seeds", "seed_version_id"]

SEED_KINDS = ("positive", "hard_negative")
SEED_STATUSES = ("proposed", "approved", "rejected")
BATCH_STATUSES = ("pending", "accepted", "rejected")


def seed_version_id(base_id: str, version: int) -> str:
    """The stored id of a seed version: the base id for version 1, else ``BASE@vN``.

    >>> seed_version_id("seed-scam", 1), seed_version_id("seed-scam", 3)
    ('seed-scam', 'seed-scam@v3')
    """
    return base_id if version == 1 else f"{base_id}@v{version}"


def validate_seed(
    seed: Mapping[str, Any], *, labels: Container[str] | None = None, where: str | None = None
) -> list[str]:
    """Every problem of one seed, as messages naming ``where`` and the field (empty when valid).

    ``labels`` are the taxonomy's label names; without them target labels are only checked to be
    present.

    >>> validate_seed({"id": "s1", "text": "buy now", "target_labels": ["spam"], "kind": "positive"},
    ...               labels={"spam"})
    []
    >>> validate_seed({"id": "s1", "text": " ", "target_labels": ["nope"], "kind": "odd"}, labels={"spam"})
    ... # doctest: +NORMALIZE_WHITESPACE
    ["seed 's1' field 'target_labels': expected taxonomy labels, got ['nope']",
     "seed 's1' field 'kind': expected one of ['positive', 'hard_negative'], got 'odd'",
     "seed 's1' field 'text': expected the seed's text, got ' '"]
    """
    where = where or f"seed {seed.get('id')!r}"
    problems = []
    targets = seed.get("target_labels") or []
    if (
        not targets
        or not isinstance(targets, (list, tuple))
        or (labels is not None and any(t not in labels for t in targets))
    ):
        problems.append(f"{where} field 'target_labels': expected taxonomy labels, got {targets!r}")
    if seed.get("kind", "positive") not in SEED_KINDS:
        problems.append(f"{where} field 'kind': expected one of {list(SEED_KINDS)}, got {seed.get('kind')!r}")
    if seed.get("status", "proposed") not in SEED_STATUSES:
        problems.append(f"{where} field 'status': expected one of {list(SEED_STATUSES)}, got {seed.get('status')!r}")
    if not isinstance(seed.get("text"), str) or not seed["text"].strip():
        problems.append(f"{where} field 'text': expected the seed's text, got {seed.get('text')!r}")
    size = seed.get("batch_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        problems.append(f"{where} field 'batch_size': expected a whole number >= 1, got {size!r}")
    ctx = seed.get("context")
    if ctx is not None and str(ctx).upper() not in CONTEXTS:
        problems.append(f"{where} field 'context': expected one of {list(CONTEXTS)}, got {ctx!r}")
    overlap = seed.get("overlap")
    if overlap is not None and not (
        isinstance(overlap, Mapping)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in overlap.values())
    ):
        problems.append(f"{where} field 'overlap': expected a mapping label -> rate in [0, 1], got {overlap!r}")
    return problems


def read_seeds(path) -> ReadResult:
    """Parse a seeds YAML file into seeds, batches and records (structure only; nothing is stored).

    Problems are collected, not raised, except for a file that is not a seeds file at all.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ImportValidationError(
            f"seed file {path}", expected="a readable UTF-8 YAML file", got=str(e).splitlines()[0]
        ) from e
    if not isinstance(data, Mapping) or not isinstance(data.get("seeds"), list):
        raise ImportValidationError(
            f"seed file {path}",
            expected="a mapping with a 'seeds' list",
            got=type(data).__name__,
            fix="see data/demo/seeds.yaml",
        )
    res = ReadResult([], [], source="seeds", context="GENERAL", format="seeds")
    seen: set[str] = set()
    for i, sd in enumerate(data["seeds"]):
        where = f"{path} seeds[{i}]"
        if not isinstance(sd, Mapping) or not isinstance(sd.get("id"), str) or not sd.get("id"):
            res.problems.append(f"{where}: expected a mapping with a string 'id'")
            continue
        sid = sd["id"]
        if sid in seen:
            res.problems.append(f"{where}: seed id {sid!r} appears twice in the file")
            continue
        seen.add(sid)
        res.seeds.append(
            {
                "id": sid,
                "text": sd.get("text"),
                "target_labels": sd.get("target_labels") or [],
                "kind": sd.get("kind", "positive"),
                "overlap": sd.get("overlap"),
                "status": sd.get("status", "proposed"),
                "notes": sd.get("notes"),
                "batch_size": sd.get("batch_size"),
                "context": str(sd["context"]).upper() if sd.get("context") else None,
                "_where": where,
            }
        )
        for j, bt in enumerate(sd.get("batches") or []):
            _read_batch(res, bt, sid, sd, f"{where}.batches[{j}]")
    return res


def _read_batch(res: ReadResult, bt: Any, sid: str, sd: Mapping, bwhere: str) -> None:
    """One batch of a seed and its records into ``res`` (problems collected)."""
    if not isinstance(bt, Mapping) or not isinstance(bt.get("id"), str):
        res.problems.append(f"{bwhere}: expected a mapping with a string 'id'")
        return
    status = bt.get("status", "pending")
    if status not in BATCH_STATUSES:
        res.problems.append(f"{bwhere} field 'status': expected one of {list(BATCH_STATUSES)}, got {status!r}")
    by, reason = bt.get("accepted_by"), bt.get("reason")
    if status == "accepted" and not (isinstance(by, str) and by.strip() and isinstance(reason, str) and reason.strip()):
        res.problems.append(
            f"{bwhere} field 'status': 'accepted' without review needs 'accepted_by' (who) and 'reason' "
            f"(why), got accepted_by={by!r}, reason={reason!r}; or leave the status out so the batch "
            "is reviewed (workbench review push-batches)"
        )
    res.batches.append(
        {
            "id": bt["id"],
            "seed_id": sid,
            "provider": str(bt.get("provider", "unknown")),
            "params": bt.get("params") or {},
            "status": status,
            "accepted_by": by,
            "reason": reason,
            "_where": bwhere,
        }
    )
    for k, rec in enumerate(bt.get("records") or []):
        rwhere = f"{bwhere}.records[{k}]"
        if not isinstance(rec, Mapping):
            res.problems.append(f"{rwhere}: expected a mapping with 'text' and 'labels'")
            continue
        labels = rec.get("labels") or {}
        if not isinstance(labels, Mapping):
            res.problems.append(f"{rwhere} field 'labels': expected a mapping label -> 1/0/null")
            continue
        # the seed comes from the batch: a batch stored under an older version keeps it
        res.records.append(
            RawRecord(
                where=rwhere,
                text=rec.get("text"),
                labels=dict(labels),
                context=rec.get("context") or sd.get("context"),
                origin=rec.get("origin", "generated"),
                batch_id=bt["id"],
            )
        )
