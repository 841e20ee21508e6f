"""Readers that turn files and frames into :class:`RawRecord` rows.

Readers only parse; they never touch the store. Every problem is collected with its file, line
and field so that one run reports all of them, and :meth:`Project.records.import_result` validates the rows
against the taxonomy before anything is written.

Built-in formats for the public moderation sets (see ``../shared/data/README.md``):

=====================  ===============================================================  =========
format                 labels (dataset column -> default workbench label)                context
=====================  ===============================================================  =========
``hatexplain``         category 1 -> ``hate``, 2 -> ``offensive``, 0 -> neither          POST
``davidson``           class 0 -> ``hate``, 1 -> ``offensive``, 2 -> neither             POST
``openai_moderation``  S sexual, H hate, V violence, HR harassment, SH self_harm,        GENERAL
                       S3 sexual_minors, H2 hate_threatening, V2 violence_graphic;
                       a missing key is *unknown*
``jigsaw``             toxic, severe_toxic, obscene, threat, insult, identity_hate       COMMENT
``ethos``              binary file: isHate >= 0.5 -> ``hate``; multi-label file:         COMMENT
                       ``hate`` = 1 and hate_violence, hate_directed, hate_gender, ...
=====================  ===============================================================  =========

Seeds: ``seeds``, a YAML file of hand-written seeds with their batches and records (see
:mod:`curation._seeds` and ``data/demo/seeds.yaml``).

Generic formats: ``csv``, ``jsonl`` (optionally gzipped), a pandas DataFrame, a Hugging Face
``datasets.Dataset``; label columns are the columns named like taxonomy labels, or those given in
``label_map`` (``{"column": "label"}``; map a column to ``None`` to drop it).

Each file format is one :class:`ImportFormat` declaration in :data:`FORMATS` (name, parser, default
context, required fields, default label map, default source); :func:`register_format` adds one, and
nothing else needs to change for ``workbench import --format NAME`` to read it.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from foundation import Registry

from .._errors import ImportValidationError
from .._records import RawRecord, ReadResult

__all__ = [
    "FORMATS",
    "ImportFormat",
    "ReadOptions",
    "register_format",
    "ReadResult",
    "read_file",
    "records_from_frame",
    "records_from_hf",
    "ETHOS_SECONDARY",
    "read_text",
    "jsonl_objects",
]

ETHOS_SECONDARY = {
    "violence": "hate_violence",
    "directed_vs_generalized": "hate_directed",
    "gender": "hate_gender",
    "race": "hate_race",
    "national_origin": "hate_national_origin",
    "disability": "hate_disability",
    "religion": "hate_religion",
    "sexual_orientation": "hate_sexual_orientation",
}
OPENAI_LABELS = {
    "S": "sexual",
    "H": "hate",
    "V": "violence",
    "HR": "harassment",
    "SH": "self_harm",
    "S3": "sexual_minors",
    "H2": "hate_threatening",
    "V2": "violence_graphic",
}
JIGSAW_LABELS = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")


@dataclass(frozen=True)
class ReadOptions:
    """How a generic file names its fields (``csv``, ``jsonl``); the built-in formats ignore them."""

    text_field: str = "text"
    id_field: str | None = None
    context_field: str | None = None
    label_columns: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportFormat:
    """One import format.

    ``parse(fmt, path, text, result, options)`` appends the file's rows to ``result.records`` and its
    problems to ``result.problems`` (it may rename ``result.source``); ``read_whole(path)`` instead
    reads a file that is more than rows (``seeds``). ``required``: the fields every row must have;
    ``label_map``: dataset column -> workbench label, applied at import (a user's map overrides it);
    ``source``: the default source name (``None``: the file's stem)."""

    name: str
    context: str
    parse: Callable[..., None] | None = None
    required: tuple[str, ...] = ()
    label_map: Mapping[str, str | None] = field(default_factory=dict)
    source: str | None = None
    read_whole: Callable[[Path], ReadResult] | None = None


FORMATS: Registry[ImportFormat] = Registry(
    "import format", error=ImportValidationError, fix="pick a built-in format or use csv/jsonl with a label mapping"
)
"""Format name -> declaration; see :func:`register_format`."""


def register_format(fmt: ImportFormat) -> ImportFormat:
    if (fmt.parse is None) == (fmt.read_whole is None):
        raise ImportValidationError(
            f"format {fmt.name!r}",
            expected="exactly one of parse and read_whole",
            got="both" if fmt.parse else "neither",
        )
    return FORMATS.add(fmt.name, fmt)


# ---------------------------------------------------------------------------- file helpers
def read_text(path: Path, problems: list[str]) -> str | None:
    """A file's text (gunzipped when it is gzip, UTF-8 with or without BOM); ``None`` and a problem
    naming the file (and line) when it cannot be read."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.append(f"{path}: no such file")
        return None
    except IsADirectoryError:
        problems.append(f"{path}: is a directory, expected a file")
        return None
    if path.suffix == ".gz" or raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            problems.append(f"{path}: not a valid gzip file ({e}); re-compress it or pass the plain file")
            return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        problems.append(
            f"{path} line {line}: not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}); re-save the file as UTF-8"
        )
        return None


def _csv_table(
    path: Path, text: str, *, sep: str = ",", problems: list[str]
) -> tuple[list[str] | None, Iterable[tuple[int, dict[str, str]]]]:
    """The header and an iterator of (line number, row dict); problems are collected, not raised."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        header = next(reader)
    except StopIteration:
        problems.append(f"{path}: empty file, expected a header line")
        return None, iter(())
    except csv.Error as e:
        problems.append(f"{path} line 1: malformed CSV header ({e})")
        return None, iter(())

    def rows() -> Iterable[tuple[int, dict[str, str]]]:
        start = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                problems.append(f"{path} line {reader.line_num}: malformed CSV ({e}); check quoting")
                return
            line = start + 1
            start = reader.line_num
            if not row or (len(row) == 1 and row[0] == ""):
                continue
            if len(row) != len(header):
                problems.append(
                    f"{path} line {line}: expected {len(header)} fields ({sep!r}-separated), "
                    f"got {len(row)}; check quoting and the separator"
                )
                continue
            yield line, dict(zip(header, row))

    return header, rows()


def _csv_rows(
    path: Path, text: str, *, fmt: str, required: Sequence[str] = (), sep: str = ",", problems: list[str]
) -> Iterable[tuple[int, dict[str, str]]]:
    """Rows of a CSV whose header must hold ``required`` (else one problem and no rows)."""
    header, rows = _csv_table(path, text, sep=sep, problems=problems)
    if header is None or not _require_columns(path, header, required, fmt, problems):
        return iter(())
    return rows


def _require_columns(path: Path, have: Sequence[str], need: Sequence[str], fmt: str, problems: list[str]) -> bool:
    missing = [c for c in need if c not in have]
    if missing:
        problems.append(
            f"{path}: format {fmt!r} expects columns {list(need)}, missing {missing}; check --format or the file"
        )
        return False
    return True


def _int_field(where: str, name: str, value: str, allowed: Sequence[int], problems: list[str]) -> int | None:
    try:
        v = int(float(value))
    except ValueError:
        problems.append(f"{where} field {name!r}: expected one of {list(allowed)}, got {value!r}")
        return None
    if v not in allowed:
        problems.append(f"{where} field {name!r}: expected one of {list(allowed)}, got {value!r}")
        return None
    return v


def _share(where: str, name: str, value: str, problems: list[str]) -> float | None:
    try:
        v = float(value)
    except ValueError:
        problems.append(f"{where} field {name!r}: expected an annotator share in [0, 1], got {value!r}")
        return None
    if not 0.0 <= v <= 1.0:
        problems.append(f"{where} field {name!r}: expected an annotator share in [0, 1], got {value!r}")
        return None
    return v


# ---------------------------------------------------------------------------- built-in readers
def _read_hatexplain(fmt: ImportFormat, path: Path, text: str, res: ReadResult, options: ReadOptions) -> None:
    out, problems = res.records, res.problems
    split = path.stem if path.stem in ("train", "val", "test") else None
    for line, row in _csv_rows(path, text, fmt=fmt.name, required=fmt.required, problems=problems):
        where = f"{path} line {line}"
        cat = _int_field(where, "category", row["category"], (0, 1, 2), problems)
        if cat is None:
            continue
        meta = {"category": cat}
        if split:
            meta["source_split"] = split
        out.append(
            RawRecord(
                where=where,
                text=row["text"],
                source_id=row["post_id"],
                labels={"hate": int(cat == 1), "offensive": int(cat == 2)},
                meta=meta,
            )
        )


def _read_davidson(fmt: ImportFormat, path: Path, text: str, res: ReadResult, options: ReadOptions) -> None:
    out, problems = res.records, res.problems
    for line, row in _csv_rows(path, text, fmt=fmt.name, required=fmt.required, problems=problems):
        where = f"{path} line {line}"
        cls = _int_field(where, "class", row["class"], (0, 1, 2), problems)
        if cls is None:
            continue
        meta = {
            k: int(row[k])
            for k in ("count", "hate_speech", "offensive_language", "neither")
            if k in row and row[k].isdigit()
        }
        sid = row.get("") or row.get("Unnamed: 0") or None
        out.append(
            RawRecord(
                where=where,
                text=row["tweet"],
                source_id=sid,
                labels={"hate": int(cls == 0), "offensive": int(cls == 1)},
                meta=meta,
            )
        )


def _read_jigsaw(fmt: ImportFormat, path: Path, text: str, res: ReadResult, options: ReadOptions) -> None:
    for line, row in _csv_rows(path, text, fmt=fmt.name, required=fmt.required, problems=res.problems):
        res.records.append(
            RawRecord(
                where=f"{path} line {line}",
                text=row["comment_text"],
                source_id=row["id"],
                labels={k: row[k] for k in JIGSAW_LABELS},
            )
        )


def _read_ethos(fmt: ImportFormat, path: Path, text: str, res: ReadResult, options: ReadOptions) -> None:
    out, problems = res.records, res.problems
    header, _ = _csv_table(path, text, sep=";", problems=[])
    multi = header is not None and "isHate" not in header
    need = ["comment", *ETHOS_SECONDARY] if multi else ["comment", "isHate"]
    for line, row in _csv_rows(path, text, fmt=fmt.name, required=need, sep=";", problems=problems):
        where = f"{path} line {line}"
        if multi:
            labels: dict[str, Any] = {"hate": 1}
            meta = {}
            for col, lab in ETHOS_SECONDARY.items():
                s = _share(where, col, row[col], problems)
                if s is None:
                    break
                labels[lab] = int(s >= 0.5)
                meta[f"share_{col}"] = s
            else:
                out.append(RawRecord(where=where, text=row["comment"], labels=labels, meta=meta))
        else:
            s = _share(where, "isHate", row["isHate"], problems)
            if s is not None:
                out.append(
                    RawRecord(
                        where=where, text=row["comment"], labels={"hate": int(s >= 0.5)}, meta={"share_isHate": s}
                    )
                )
    if any(len(r.labels) > 1 for r in out[:1]):
        # the multi-label file re-annotates hateful posts of the binary file: a second source,
        # whose records are exact duplicates that views merge (see collapse_duplicates)
        res.source = "ethos_multi"


def _read_openai(fmt: ImportFormat, path: Path, text: str, res: ReadResult, options: ReadOptions) -> None:
    out, problems = res.records, res.problems
    for line, obj in jsonl_objects(path, text, problems):
        where = f"{path} line {line}"
        if "prompt" not in obj:
            problems.append(f"{where} field 'prompt': missing; the OpenAI moderation format keeps the text in 'prompt'")
            continue
        labels = {k: obj.get(k) for k in OPENAI_LABELS}  # a missing key stays unknown (None)
        out.append(RawRecord(where=where, text=obj["prompt"], labels=labels))


def jsonl_objects(path: Path, text: str, problems: list[str]) -> Iterable[tuple[int, dict]]:
    """(line number, object) of each non-empty line; a malformed line or a non-object is a problem."""
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(
                f"{path} line {i}: malformed JSON ({e.msg} at column {e.colno}); each line must be one JSON object"
            )
            continue
        if not isinstance(obj, dict):
            problems.append(f"{path} line {i}: expected a JSON object, got {type(obj).__name__}")
            continue
        yield i, obj


# ---------------------------------------------------------------------------- generic readers
def _generic_record(
    where: str,
    obj: Mapping[str, Any],
    *,
    text_field: str,
    id_field: str | None,
    context_field: str | None,
    label_columns: Mapping[str, str | None],
    problems: list[str],
) -> RawRecord | None:
    if text_field not in obj:
        problems.append(f"{where} field {text_field!r}: missing; pass --text-field to name the text column")
        return None
    labels: dict[str, Any] = {}
    nested = obj.get("labels") if "labels" not in label_columns else None
    if isinstance(nested, Mapping):
        for k, v in nested.items():
            labels[str(k)] = v
    elif nested is not None:
        problems.append(f"{where} field 'labels': expected an object of label -> 1/0/null, got {type(nested).__name__}")
        return None
    for col in label_columns:
        if col in obj:
            labels[col] = obj[col]
    skip = {text_field, id_field, context_field, "labels", "origin", "seed_id", "batch_id", *label_columns}
    meta = {k: _plain(v) for k, v in obj.items() if k not in skip}
    sid = obj.get(id_field) if id_field else None
    ctx = obj.get(context_field) if context_field else None
    rec = RawRecord(
        where=where,
        text=obj[text_field],
        labels=labels,
        source_id=None if sid is None else str(sid),
        context=None if ctx is None else str(ctx),
        meta=meta,
    )
    for k in ("origin", "seed_id", "batch_id"):
        if obj.get(k) is not None:
            setattr(rec, k, str(obj[k]))
    return rec


def _plain(v: Any) -> Any:
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            return v.item()
        except (ValueError, AttributeError):
            return str(v)
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    try:
        json.dumps(v)
        return v
    except TypeError:
        return str(v)


def records_from_frame(
    frame,
    *,
    text_field: str = "text",
    id_field: str | None = None,
    context_field: str | None = None,
    label_columns: Mapping[str, str | None] | None = None,
    where: str = "frame",
) -> ReadResult:
    """Rows of a pandas DataFrame as raw records (``where`` names it in errors: "frame row 3")."""
    problems: list[str] = []
    cols = list(frame.columns)
    if text_field not in cols:
        problems.append(f"{where}: expected a text column {text_field!r}, got columns {cols}; pass text_field=")
        return ReadResult([], problems, format="pandas")
    label_columns = dict(label_columns or {})
    out = []
    for i, obj in enumerate(frame.to_dict(orient="records")):
        rec = _generic_record(
            f"{where} row {i}",
            obj,
            text_field=text_field,
            id_field=id_field,
            context_field=context_field,
            label_columns=label_columns,
            problems=problems,
        )
        if rec is not None:
            out.append(rec)
    return ReadResult(out, problems, format="pandas")


def records_from_hf(dataset, **kwargs) -> ReadResult:
    """Rows of a Hugging Face ``datasets.Dataset`` (already loaded; nothing is fetched)."""
    if not hasattr(dataset, "to_pandas"):
        return ReadResult([], [f"expected a datasets.Dataset, got {type(dataset).__name__}"], format="hf")
    kwargs.setdefault("where", f"dataset {getattr(dataset, 'info', None) and dataset.info.dataset_name or ''}".strip())
    res = records_from_frame(dataset.to_pandas(), **kwargs)
    res.format = "hf"
    return res


def _read_generic(fmt: ImportFormat, path: Path, text: str, res: ReadResult, options: ReadOptions) -> None:
    if fmt.name == "csv":
        rows: Iterable[tuple[int, Mapping[str, Any]]] = _csv_rows(path, text, fmt="csv", problems=res.problems)
    else:
        rows = jsonl_objects(path, text, res.problems)
    for line, obj in rows:
        rec = _generic_record(
            f"{path} line {line}",
            obj,
            text_field=options.text_field,
            id_field=options.id_field,
            context_field=options.context_field,
            label_columns=dict(options.label_columns),
            problems=res.problems,
        )
        if rec is not None:
            res.records.append(rec)


def _read_seeds(path: Path) -> ReadResult:
    from .._seeds import read_seeds

    return read_seeds(path)


register_format(
    ImportFormat("hatexplain", "POST", _read_hatexplain, required=("post_id", "text", "category"), source="hatexplain")
)
register_format(ImportFormat("davidson", "POST", _read_davidson, required=("tweet", "class"), source="davidson"))
register_format(
    ImportFormat(
        "openai_moderation",
        "GENERAL",
        _read_openai,
        required=("prompt",),
        label_map=OPENAI_LABELS,
        source="openai_moderation",
    )
)
register_format(
    ImportFormat("jigsaw", "COMMENT", _read_jigsaw, required=("id", "comment_text", *JIGSAW_LABELS), source="jigsaw")
)
register_format(ImportFormat("ethos", "COMMENT", _read_ethos, required=("comment",), source="ethos"))
register_format(ImportFormat("csv", "GENERAL", _read_generic))
register_format(ImportFormat("jsonl", "GENERAL", _read_generic))
register_format(ImportFormat("seeds", "GENERAL", read_whole=_read_seeds))


def read_file(
    path: str | os.PathLike,
    fmt: str,
    *,
    text_field: str = "text",
    id_field: str | None = None,
    context_field: str | None = None,
    label_columns: Mapping[str, str | None] | None = None,
) -> ReadResult:
    """Parse ``path`` in format ``fmt`` (one of :data:`FORMATS`).

    Returns a :class:`ReadResult`; problems are collected, not raised, so one run lists them all.
    """
    spec = FORMATS.lookup(fmt, what=f"format {fmt!r}")
    path = Path(path)
    if spec.read_whole is not None:
        return spec.read_whole(path)
    problems: list[str] = []
    text = read_text(path, problems)
    res = ReadResult([], problems, source=spec.source or path.stem, context=spec.context, format=fmt)
    if text is not None:
        spec.parse(spec, path, text, res, ReadOptions(text_field, id_field, context_field, dict(label_columns or {})))
    return res
