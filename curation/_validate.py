"""Validation of parsed rows against the taxonomy: labels, contexts, origins, seeds and the label hierarchy."""

from __future__ import annotations

from typing import Any, Mapping

from ._io import canonical_json
from ._records import (
    CONTEXTS,
    ORIGINS,
    PROVENANCES,
    RawRecord,
    normalise_text,
    parse_label_value,
    stable_record_id,
    text_hash,
)
from ._taxonomy import Taxonomy

__all__ = ["validate_record"]


def validate_record(  # noqa: C901, PLR0912, PLR0915 -- over the length limits: to split (issue 34)
    rec: RawRecord,
    *,
    taxonomy: Taxonomy,
    lmap: Mapping[str, str | None],
    names: set[str],
    known_seeds: set[str],
    known_batches: Mapping[str, str],
    problems: list[str],
    source: str,
    context: str,
    repair: bool,
) -> dict[str, Any] | None:
    """Check one parsed row against the taxonomy and the known seeds and batches; return the row
    to store, or ``None`` after appending its problems to ``problems``.

    Labels are mapped (``lmap``: column -> label, ``None`` drops it) and parsed to 1 / 0 / unknown;
    the label hierarchy is enforced (a secondary label needs its primary: an error, or with
    ``repair`` the primary is set, provenance ``repair``) and a known-negative primary makes its
    secondaries negative (provenance ``implied``).
    """
    tax = taxonomy
    ok = True
    text = rec.text
    if not isinstance(text, str):
        problems.append(f"{rec.where} field 'text': expected a string, got {type(text).__name__}")
        return None
    if not text.strip():
        problems.append(f"{rec.where} field 'text': empty text; drop the row or fill it in")
        return None
    if "\x00" in text:
        problems.append(f"{rec.where} field 'text': contains a NUL character; clean the text")
        return None
    labels: dict[str, int] = {}
    for col, raw in rec.labels.items():
        target = lmap.get(col, col)
        if target is None:
            continue
        if target not in names:
            problems.append(
                f"{rec.where} field {col!r}: unknown label {target!r}; expected one of "
                f"{sorted(names)}; add it to the taxonomy, map it (--map {col}=LABEL) "
                f"or drop it (--map {col}=-)"
            )
            ok = False
            continue
        try:
            v = parse_label_value(raw)
        except ValueError:
            problems.append(
                f"{rec.where} field {col!r}: value {raw!r} not in {{0, 1, unknown}}; "
                f"use 1, 0 or leave it empty for unknown"
            )
            ok = False
            continue
        if v is not None:
            if target in labels and labels[target] != v:
                problems.append(f"{rec.where} field {col!r}: label {target!r} given twice with different values")
                ok = False
            labels[target] = v
    ctx = (rec.context or context).upper()
    if ctx not in CONTEXTS:
        problems.append(f"{rec.where} field 'context': {rec.context!r} is not one of {list(CONTEXTS)}")
        ok = False
    if rec.origin not in ORIGINS:
        problems.append(f"{rec.where} field 'origin': {rec.origin!r} is not one of {list(ORIGINS)}")
        ok = False
    seed_id = rec.seed_id
    if rec.batch_id is not None:
        bseed = known_batches.get(rec.batch_id)
        if bseed is None:
            problems.append(f"{rec.where} field 'batch_id': unknown batch {rec.batch_id!r}; add the batch first")
            ok = False
        elif seed_id is not None and seed_id != bseed:
            problems.append(
                f"{rec.where} field 'seed_id': {seed_id!r} but batch {rec.batch_id!r} belongs to seed {bseed!r}"
            )
            ok = False
        else:
            seed_id = bseed
    if seed_id is not None and seed_id not in known_seeds:
        problems.append(f"{rec.where} field 'seed_id': unknown seed {seed_id!r}; add the seed first")
        ok = False
    if not ok:
        return None
    if rec.provenance not in PROVENANCES:
        problems.append(f"{rec.where}: label provenance {rec.provenance!r} is not one of {list(PROVENANCES)}")
        return None
    prov = {k: rec.provenance for k in labels}
    repaired = implied = 0
    for lab in tax.labels:  # hierarchy: a secondary label needs its primary
        if lab.parent is None or labels.get(lab.name) != 1:
            continue
        chain = []
        p = lab.parent
        while p is not None:
            chain.append(p)
            p = tax[p].parent
        for parent in chain:
            if labels.get(parent) == 1:
                continue
            if repair:
                labels[parent] = 1
                prov[parent] = "repair"
                repaired += 1
            else:
                problems.append(
                    f"{rec.where}: secondary label {lab.name!r} is set without its primary "
                    f"{parent!r} (which is {labels.get(parent, 'unknown')}); fix the data or import "
                    f"with --repair-hierarchy to set the primary"
                )
                return None
    for lab in tax.labels:  # a known-negative primary implies its secondaries are negative
        if lab.parent is not None and lab.name not in labels:
            p = lab.parent
            while p is not None and labels.get(p) != 0:
                p = tax[p].parent
            if p is not None:
                labels[lab.name] = 0
                prov[lab.name] = "implied"
                implied += 1
    norm = normalise_text(text)
    th = text_hash(text)
    return {
        "id": stable_record_id(source, rec.source_id, text),
        "text": text,
        "text_hash": th,
        "norm_hash": text_hash(norm)[:16],
        "_norm": norm,
        "context": ctx,
        "source": source,
        "origin": rec.origin,
        "seed_id": seed_id,
        "batch_id": rec.batch_id,
        "labels": canonical_json(labels),
        "label_provenance": canonical_json(prov),
        "meta": canonical_json({k: v for k, v in rec.meta.items()}),
        "status": "active",
        "_repaired": repaired,
        "_implied": implied,
    }
