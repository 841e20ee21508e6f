"""Curation layer: taxonomy, provenance-tracked record store, importers, dedup, splits and views.

``curation`` imports neither ``training`` nor ``workbench``.
"""

from ._dedup import duplicate_groups, minhash_signatures, near_duplicate_pairs, shingles
from ._errors import ImportValidationError, StoreError, TaxonomyError, WorkbenchError
from ._importers import FORMATS, ReadResult, read_file, records_from_frame, records_from_hf
from ._project import DEFAULT_CONFIG, ImportSummary, Project
from ._records import CONTEXTS, ORIGINS, SPLITS, RawRecord, normalise_text, parse_label_value
from ._reports import (class_distribution, distribution_figure, duplicate_conflicts, label_stats, project_stats,
                       save_figure_png)
from ._splits import DEFAULT_FRACTIONS, assign_splits, split_report
from ._store import SEED_KINDS, SEED_STATUSES, Store
from ._taxonomy import TIER_DEFAULTS, TIERS, Gate, Label, Taxonomy, load_taxonomy
from ._views import MixResult, collapse_duplicates, evaluation_view, task_view, training_mix

__all__ = [
    "CONTEXTS", "DEFAULT_CONFIG", "DEFAULT_FRACTIONS", "FORMATS", "ORIGINS", "SEED_KINDS", "SEED_STATUSES",
    "SPLITS", "TIERS", "TIER_DEFAULTS",
    "Gate", "ImportSummary", "ImportValidationError", "Label", "MixResult", "Project", "RawRecord", "ReadResult",
    "Store", "StoreError", "Taxonomy", "TaxonomyError", "WorkbenchError",
    "assign_splits", "class_distribution", "collapse_duplicates", "distribution_figure", "duplicate_conflicts",
    "duplicate_groups", "evaluation_view", "label_stats", "load_taxonomy", "minhash_signatures",
    "near_duplicate_pairs", "normalise_text", "parse_label_value", "project_stats", "read_file",
    "records_from_frame", "records_from_hf", "save_figure_png", "shingles", "split_report", "task_view",
    "training_mix",
]
