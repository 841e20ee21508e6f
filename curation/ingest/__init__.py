"""Rows into the store: the import formats (one declaration each: public sets, csv, jsonl, seeds), validation
against the taxonomy, MinHash near-duplicates and stable multi-label splits, all in one transaction; seeds and
their YAML format.

Part of ``curation`` (imports ``foundation`` and the rest of ``curation`` only).
"""

from typing import TYPE_CHECKING

from foundation import lazy_names

if TYPE_CHECKING:  # the public names and their modules; imported on first use (foundation.lazy_names)
    from .._seeds import SEED_KINDS, SEED_STATUSES, read_seeds, validate_seed
    from .._splits import DEFAULT_FRACTIONS, assign_splits
    from ._dedup import duplicate_groups, minhash_signatures, near_duplicate_pairs, shingles
    from ._importers import (
        FORMATS,
        ImportFormat,
        ReadOptions,
        read_file,
        records_from_frame,
        records_from_hf,
        register_format,
    )
    from ._ingest import ImportOptions, ImportSummary

__all__ = [
    "FORMATS",
    "ImportFormat",
    "ReadOptions",
    "read_file",
    "records_from_frame",
    "records_from_hf",
    "register_format",
    "ImportOptions",
    "ImportSummary",
    "duplicate_groups",
    "minhash_signatures",
    "near_duplicate_pairs",
    "shingles",
    "SEED_KINDS",
    "SEED_STATUSES",
    "read_seeds",
    "validate_seed",
    "DEFAULT_FRACTIONS",
    "assign_splits",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
