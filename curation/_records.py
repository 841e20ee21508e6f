"""Record vocabulary shared by the store, importers and views."""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = [
    "CONTEXTS",
    "ORIGINS",
    "SYNTHETIC_ORIGINS",
    "SPLITS",
    "EVALUATION_SPLITS",
    "PROVENANCES",
    "UNKNOWN",
    "RawRecord",
    "ReadResult",
    "normalise_text",
    "text_hash",
    "parse_label_value",
    "stable_record_id",
    "RESERVED_COLUMNS",
    "FRAME_COLUMNS",
]

CONTEXTS = ("MESSAGE", "POST", "COMMENT", "BIO", "LISTING", "REVIEW", "GENERAL")
ORIGINS = ("real", "generated", "perturbation", "feedback")
SPLITS = ("train", "valid", "calib", "holdout")
# Calib and holdout hold only real data: thresholds are tuned and gates passed on text no generator wrote.
# Records of these origins never get an evaluation split, on any route (the store refuses the write).
SYNTHETIC_ORIGINS = ("generated", "perturbation", "suite")
EVALUATION_SPLITS = ("calib", "holdout")
PROVENANCES = ("gold", "annotator", "adjudicated", "generator", "model", "implied", "repair", "disputed")
UNKNOWN = None  # a label value that was never annotated; never read as negative

# Columns of a record frame; label names may not reuse them.
FRAME_COLUMNS = (
    "id",
    "text",
    "context",
    "source",
    "origin",
    "seed_id",
    "batch_id",
    "split",
    "status",
    "status_reason",
    "dup_of",
    "near_dup_group",
    "hard_negative",
    "hard_negative_labels",
    "label_provenance",
    "import_id",
    "meta",
)
"""The metadata columns of a record frame (``Project.records.frame``), in order; the label columns follow them."""

RESERVED_COLUMNS = frozenset(FRAME_COLUMNS) | {"text_hash", "norm_hash", "created_at"}
"""Names a taxonomy label may not take: the frame's columns and the store's own."""

_URL = re.compile(r"(https?://|www\.)\S+")
_MENTION = re.compile(r"@\w+")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise_text(text: str) -> str:
    """Normalise text for duplicate detection: NFKC, casefold, URLs and @mentions masked,
    punctuation and whitespace collapsed.

    >>> normalise_text("RT @bob:  Hello,   WORLD!! https://t.co/x")
    'rt user hello world url'
    """
    t = unicodedata.normalize("NFKC", text).casefold()
    t = _URL.sub(" url ", t)
    t = _MENTION.sub(" user ", t)
    t = _NON_WORD.sub(" ", t)
    return " ".join(t.split())


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def stable_record_id(source: str, source_id: str | None, text: str) -> str:
    """``source:source_id`` when the source has ids, else ``source:`` + a hash of the text."""
    if source_id is not None and str(source_id) != "":
        return f"{source}:{source_id}"
    return f"{source}:{text_hash(text)[:16]}"


_TRUE = {"1", "1.0", "true", "yes", "y", "t"}
_FALSE = {"0", "0.0", "false", "no", "n", "f"}
_UNK = {"", "unknown", "?", "null", "none", "nan", "na", "n/a"}


def parse_label_value(value: Any) -> int | None:
    """Read a label value as 1, 0 or unknown (``None``).

    Raises ``ValueError`` for anything else (0.5, "maybe", 2, ...).

    >>> [parse_label_value(v) for v in (1, 0, True, "0", "", None, float("nan"), "unknown")]
    [1, 0, 1, 0, None, None, None, None]
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return _number_label(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy / pandas scalars
        try:
            return parse_label_value(value.item())
        except (AttributeError, TypeError):
            pass
    if isinstance(value, str):
        v = value.strip().lower()
        for words, meaning in ((_TRUE, 1), (_FALSE, 0), (_UNK, None)):
            if v in words:
                return meaning
    raise ValueError(value)


def _number_label(value: int | float) -> int | None:
    if isinstance(value, float) and math.isnan(value):
        return None
    if value in (0, 1):
        return int(value)
    raise ValueError(value)


@dataclass
class RawRecord:
    """One input row as read by an importer, before validation against the taxonomy.

    ``where`` names the file and line (or row) for error messages.
    """

    where: str
    text: Any
    labels: Mapping[str, Any]
    source_id: str | None = None
    context: str | None = None
    origin: str = "real"
    seed_id: str | None = None
    batch_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    provenance: str = "gold"  # of the labels given here: gold (a labelled dataset), generator, annotator, ...


@dataclass
class ReadResult:
    """What a reader produced: rows, the problems it found, and defaults for source and context.

    The ``seeds`` format also yields the seeds and batches its records belong to (plain mappings,
    validated against the taxonomy and the store when imported).
    """

    records: list[RawRecord]
    problems: list[str] = field(default_factory=list)
    source: str = "import"
    context: str = "GENERAL"
    format: str = "csv"
    seeds: list[dict[str, Any]] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)
