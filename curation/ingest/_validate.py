"""Validation of parsed rows against the taxonomy: labels, contexts, origins, seeds and the label hierarchy;
columns of a generic file that look like labels the taxonomy does not have, and texts over the length limit."""

from __future__ import annotations

import difflib
from typing import Any, Mapping, Sequence

from foundation import canonical_json

from .._records import (
    CONTEXTS,
    ORIGINS,
    PROVENANCES,
    RawRecord,
    ReadResult,
    normalise_text,
    parse_label_value,
    stable_record_id,
    text_hash,
)
from .._taxonomy import Taxonomy

__all__ = ["validate_record", "unknown_label_columns", "short_enough", "DEFAULT_MAX_TEXT_CHARS"]


def validate_record(
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
    if not _text_ok(rec, problems):
        return None
    labels, ok = _mapped_labels(rec, lmap, names, problems)
    ctx = (rec.context or context).upper()
    if ctx not in CONTEXTS:
        problems.append(f"{rec.where} field 'context': {rec.context!r} is not one of {list(CONTEXTS)}")
        ok = False
    if rec.origin not in ORIGINS:
        problems.append(f"{rec.where} field 'origin': {rec.origin!r} is not one of {list(ORIGINS)}")
        ok = False
    seed_id, seed_ok = _seed_of(rec, known_seeds, known_batches, problems)
    if not (ok and seed_ok):
        return None
    if rec.provenance not in PROVENANCES:
        problems.append(f"{rec.where}: label provenance {rec.provenance!r} is not one of {list(PROVENANCES)}")
        return None
    prov = {k: rec.provenance for k in labels}
    repaired = _complete_primaries(rec, taxonomy, labels, prov, repair=repair, problems=problems)
    if repaired is None:
        return None
    implied = _imply_negative_secondaries(taxonomy, labels, prov)
    text = rec.text
    norm = normalise_text(text)
    return {
        "id": stable_record_id(source, rec.source_id, text),
        "text": text,
        "text_hash": text_hash(text),
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


def _text_ok(rec: RawRecord, problems: list[str]) -> bool:
    text = rec.text
    if not isinstance(text, str):
        problems.append(f"{rec.where} field 'text': expected a string, got {type(text).__name__}")
    elif not text.strip():
        problems.append(f"{rec.where} field 'text': empty text; drop the row or fill it in")
    elif "\x00" in text:
        problems.append(f"{rec.where} field 'text': contains a NUL character; clean the text")
    else:
        return True
    return False


def _mapped_labels(
    rec: RawRecord, lmap: Mapping[str, str | None], names: set[str], problems: list[str]
) -> tuple[dict[str, int], bool]:
    """The row's label columns mapped to taxonomy labels (``None``: dropped) and parsed to 1 / 0 (unknown
    left out); ``False`` when a column was unknown, unparsable or contradicted another."""
    labels: dict[str, int] = {}
    ok = True
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
    return labels, ok


def _seed_of(
    rec: RawRecord, known_seeds: set[str], known_batches: Mapping[str, str], problems: list[str]
) -> tuple[str | None, bool]:
    """The row's seed (its batch's, when it names a batch) and whether the seed and batch are known."""
    seed_id = rec.seed_id
    ok = True
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
    return seed_id, ok


def _complete_primaries(
    rec: RawRecord, tax: Taxonomy, labels: dict[str, int], prov: dict[str, str], *, repair: bool, problems: list[str]
) -> int | None:
    """A secondary label needs its primaries: with ``repair`` they are set (provenance ``repair``; returns how
    many), else the row is refused (``None``, the problem appended)."""
    repaired = 0
    for lab in tax.labels:
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
            if not repair:
                problems.append(
                    f"{rec.where}: secondary label {lab.name!r} is set without its primary "
                    f"{parent!r} (which is {labels.get(parent, 'unknown')}); fix the data or import "
                    f"with --repair-hierarchy to set the primary"
                )
                return None
            labels[parent] = 1
            prov[parent] = "repair"
            repaired += 1
    return repaired


def _imply_negative_secondaries(tax: Taxonomy, labels: dict[str, int], prov: dict[str, str]) -> int:
    """A known-negative primary makes its unknown secondaries negative (provenance ``implied``)."""
    implied = 0
    for lab in tax.labels:
        if lab.parent is not None and lab.name not in labels:
            p = lab.parent
            while p is not None and labels.get(p) != 0:
                p = tax[p].parent
            if p is not None:
                labels[lab.name] = 0
                prov[lab.name] = "implied"
                implied += 1
    return implied


DEFAULT_MAX_TEXT_CHARS = 20_000
"""The longest text an import accepts unless workbench.yaml's ``max_text_chars`` says otherwise: well above a
long forum post (Reddit allows 10,000 characters, most platforms far fewer), far below a file's worth."""

# formats whose columns are the user's own: a column that is not a taxonomy label lands in ``meta``
GENERIC_FORMATS = ("csv", "jsonl", "pandas", "hf")


def short_enough(records, max_chars: int, problems: list[str]):
    """The records whose text is at most ``max_chars`` long; each longer one is a problem naming its line."""
    for rec in records:
        if isinstance(rec.text, str) and len(rec.text) > max_chars:
            problems.append(
                f"{rec.where}: a text of {len(rec.text):,} characters; expected at most {max_chars:,} "
                "(max_text_chars in workbench.yaml); split or shorten it, or raise max_text_chars"
            )
            continue
        yield rec


def _looks_like_labels(values: list[Any]) -> bool:
    """Every value reads as a label value (1/0/true/false/yes/no/unknown) and at least one is known."""
    known = False
    for v in values:
        try:
            known |= parse_label_value(v) is not None
        except (ValueError, TypeError):
            return False
    return known


def unknown_label_columns(result: ReadResult, labels: Sequence[str]) -> list[str]:
    """Problems for the columns of a generic file (csv, jsonl, a frame) that look like labels but are not in the
    taxonomy: a name close to a label's (``hte``), or values that all read as 1/0/unknown. Such a column
    would otherwise be kept as ``meta`` and its rows imported without that label, without a word.

    >>> rows = [RawRecord("f.csv line 2", "hi", {}, meta={"hte": "1", "lang": "en"})]
    >>> print(unknown_label_columns(ReadResult(rows, [], format="csv"), ["hate", "spam"])[0])  # doctest: +ELLIPSIS
    f.csv: column 'hte' looks like a label (did you mean 'hate'?) but is not in the taxonomy ...
    """
    if result.format not in GENERIC_FORMATS or not result.records:
        return []
    columns: dict[str, list[Any]] = {}
    for rec in result.records:
        for k, v in (rec.meta or {}).items():
            columns.setdefault(k, []).append(v)
    where = result.records[0].where.rsplit(" line ", 1)[0].rsplit(" row ", 1)[0]
    problems = []
    for col, values in columns.items():
        close = difflib.get_close_matches(col.lower(), list(labels), n=1, cutoff=0.75)
        if not close and not _looks_like_labels(values):
            continue
        why = f"did you mean {close[0]!r}?" if close else "its values are all 1/0/true/false/yes/no"
        problems.append(
            f"{where}: column {col!r} looks like a label ({why}) but is not in the taxonomy (labels: "
            f"{', '.join(labels)}); map it with --map {col}=LABEL (label_map={{{col!r}: LABEL}}) or keep it "
            f"out with --ignore-column {col} (label_map={{{col!r}: None}})"
        )
    return problems
