"""Curation layer: the taxonomy, the provenance-tracked record store and everything that reads or writes it.
Pure data: no models, no network. ``curation`` imports ``foundation`` (the shared kernel) and nothing else of the
workbench (neither ``training`` nor ``workbench``); both of those build on it. :class:`Project` is the facade
people use.

Its parts, in the order data moves through them:

- :mod:`curation.ingest`: import formats, validation, near-duplicates and stable splits, seeds;
- :mod:`curation.store`: the SQLite record store, seeds and batches, events, the one-writer lock;
- :mod:`curation.views`: task views, the training mix, the evaluation view, snapshots and reports;
- :mod:`curation.suites`: functional suites (cases, the side rule, leakage, identity balance);
- :mod:`curation.production`: production logs and the pool of production posts.

Here at the top: the project, the taxonomy, the record vocabulary, the settings files and what a review
decided (:class:`ReviewOutcome`). Names that lived here before the parts existed still read, with a
:class:`foundation.WorkbenchDeprecationWarning` naming their new home, for one release.
"""

from typing import TYPE_CHECKING

from foundation import lazy_names as _lazy_names

if TYPE_CHECKING:  # the public names and their modules; imported on first use (foundation.lazy_names)
    from ._errors import ImportValidationError, StoreError, TaxonomyError, WorkbenchError
    from ._layout import ProjectLayout
    from ._project import DEFAULT_CONFIG, Project
    from ._records import (
        CONTEXTS,
        EVALUATION_SPLITS,
        ORIGINS,
        SPLITS,
        SYNTHETIC_ORIGINS,
        RawRecord,
        ReadResult,
        normalise_text,
        parse_label_value,
    )
    from ._review import ReviewOutcome, annotator_flags, apply_review, clear_annotator, record_gold
    from ._settings import SCHEMA_FILES, ProjectSettings, SuiteFile, TaxonomyFile, json_schemas, write_schemas
    from ._taxonomy import DRIFT_DEFAULTS, TIER_DEFAULTS, TIERS, Gate, Label, Taxonomy, load_taxonomy

__all__ = [
    "store",
    "ingest",
    "views",
    "suites",
    "production",
    "ImportValidationError",
    "StoreError",
    "TaxonomyError",
    "WorkbenchError",
    "DEFAULT_CONFIG",
    "Project",
    "ProjectLayout",
    "CONTEXTS",
    "EVALUATION_SPLITS",
    "ORIGINS",
    "SPLITS",
    "SYNTHETIC_ORIGINS",
    "RawRecord",
    "ReadResult",
    "normalise_text",
    "parse_label_value",
    "ReviewOutcome",
    "annotator_flags",
    "apply_review",
    "clear_annotator",
    "record_gold",
    "SCHEMA_FILES",
    "ProjectSettings",
    "SuiteFile",
    "TaxonomyFile",
    "json_schemas",
    "write_schemas",
    "DRIFT_DEFAULTS",
    "TIER_DEFAULTS",
    "TIERS",
    "Gate",
    "Label",
    "Taxonomy",
    "load_taxonomy",
]

# the names of 0.x that moved into the parts (or the kernel): they read for one release, with a warning
MOVED = {
    "MAX_RATIO": "curation.suites",
    "balance_of_suites": "curation.suites",
    "balance_warnings": "curation.suites",
    "identity_balance": "curation.suites",
    "suite_terms": "curation.suites",
    "FEEDBACK_TYPES": "curation.production",
    "PRODUCTION_SPLITS": "curation.production",
    "DEFAULT_PRODUCTION_SPLITS": "curation.production",
    "PRODUCTION_ORIGIN": "curation.production",
    "production_records": "curation.production",
    "production_split": "curation.production",
    "ProductionSummary": "curation.production",
    "parse_time": "curation.production",
    "SUITE_MIN_PASS": "curation.suites",
    "SUITE_REVIEW": "curation.suites",
    "Suite": "curation.suites",
    "SuiteCase": "curation.suites",
    "case_review_state": "curation.suites",
    "expand_project_suites": "curation.suites",
    "expand_suite": "curation.suites",
    "leakage_report": "curation.suites",
    "load_suite": "curation.suites",
    "load_suites": "curation.suites",
    "read_cases": "curation.suites",
    "DEFAULT_FRACTIONS": "curation.ingest",
    "FORMATS": "curation.ingest",
    "SEED_KINDS": "curation.ingest",
    "SEED_STATUSES": "curation.ingest",
    "ImportFormat": "curation.ingest",
    "ImportOptions": "curation.ingest",
    "ImportSummary": "curation.ingest",
    "ReadOptions": "curation.ingest",
    "MixResult": "curation.views",
    "Store": "curation.store",
    "Registry": "foundation",
    "assign_splits": "curation.ingest",
    "atomic_write_bytes": "foundation",
    "atomic_write_text": "foundation",
    "class_distribution": "curation.views",
    "collapse_duplicates": "curation.views",
    "distribution_figure": "curation.views",
    "duplicate_conflicts": "curation.views",
    "duplicate_groups": "curation.ingest",
    "evaluation_view": "curation.views",
    "export_records": "curation.views",
    "immediate_transaction": "foundation",
    "label_stats": "curation.views",
    "register_format": "curation.ingest",
    "minhash_signatures": "curation.ingest",
    "near_duplicate_pairs": "curation.ingest",
    "project_stats": "curation.views",
    "read_file": "curation.ingest",
    "read_seeds": "curation.ingest",
    "read_snapshot": "curation.views",
    "snapshot_records_path": "curation.views",
    "records_from_frame": "curation.ingest",
    "records_from_hf": "curation.ingest",
    "save_figure_png": "curation.views",
    "shingles": "curation.ingest",
    "split_report": "curation.views",
    "task_view": "curation.views",
    "training_mix": "curation.views",
    "production_part": "curation.views",
    "utc_now": "foundation",
    "validate_seed": "curation.ingest",
    "write_report": "curation.views:write_data_report",
    "lazy_names": "foundation",
}

__getattr__, __dir__ = _lazy_names(__name__, __file__, moved=MOVED)
