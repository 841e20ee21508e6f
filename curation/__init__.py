"""Curation layer: taxonomy, provenance-tracked record store, importers (seeds among them), dedup,
stable splits, mixing and task views, seeds and quarantine, snapshots and reports, functional suites
(schema, expansion into cases that are never records, the train/test side rule, review state).

Pure data: no models, no network. ``curation`` imports nothing else of the workbench (neither
``training`` nor ``workbench``); both of those build on it. :class:`Project` is the facade people use.
"""

from typing import TYPE_CHECKING

from ._lazy import lazy_names

if TYPE_CHECKING:  # the public names and their modules; imported on first use (``_lazy``)
    from ._balance import MAX_RATIO, balance_of_suites, balance_warnings, identity_balance, suite_terms
    from ._dedup import duplicate_groups, minhash_signatures, near_duplicate_pairs, shingles
    from ._errors import ImportValidationError, StoreError, TaxonomyError, WorkbenchError
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
    from ._io import atomic_write_bytes, atomic_write_text, immediate_transaction, utc_now
    from ._production import (
        DEFAULT_PRODUCTION_SPLITS,
        FEEDBACK_TYPES,
        PRODUCTION_ORIGIN,
        PRODUCTION_SPLITS,
        ProductionSummary,
        parse_time,
        production_records,
        production_split,
    )
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
    from ._registries import Registry
    from ._reports import (
        class_distribution,
        distribution_figure,
        duplicate_conflicts,
        label_stats,
        project_stats,
        save_figure_png,
        write_report,
    )
    from ._review import ReviewOutcome, annotator_flags, apply_review, clear_annotator, record_gold
    from ._seeds import SEED_KINDS, SEED_STATUSES, read_seeds, validate_seed
    from ._settings import SCHEMA_FILES, ProjectSettings, SuiteFile, TaxonomyFile, json_schemas, write_schemas
    from ._snapshots import export_records, read_snapshot, snapshot_records_path
    from ._splits import DEFAULT_FRACTIONS, assign_splits, split_report
    from ._store import Store
    from ._suites import (
        SUITE_MIN_PASS,
        SUITE_REVIEW,
        Suite,
        SuiteCase,
        case_review_state,
        expand_project_suites,
        expand_suite,
        leakage_report,
        load_suite,
        load_suites,
        read_cases,
    )
    from ._taxonomy import DRIFT_DEFAULTS, TIER_DEFAULTS, TIERS, Gate, Label, Taxonomy, load_taxonomy
    from ._views import MixResult, collapse_duplicates, evaluation_view, production_part, task_view, training_mix

__all__ = [
    "MAX_RATIO",
    "balance_of_suites",
    "balance_warnings",
    "identity_balance",
    "suite_terms",
    "DRIFT_DEFAULTS",
    "FEEDBACK_TYPES",
    "PRODUCTION_SPLITS",
    "DEFAULT_PRODUCTION_SPLITS",
    "PRODUCTION_ORIGIN",
    "production_records",
    "production_split",
    "ProductionSummary",
    "parse_time",
    "SUITE_MIN_PASS",
    "SUITE_REVIEW",
    "Suite",
    "SuiteCase",
    "case_review_state",
    "expand_project_suites",
    "expand_suite",
    "leakage_report",
    "load_suite",
    "load_suites",
    "read_cases",
    "CONTEXTS",
    "DEFAULT_CONFIG",
    "DEFAULT_FRACTIONS",
    "FORMATS",
    "ORIGINS",
    "SYNTHETIC_ORIGINS",
    "EVALUATION_SPLITS",
    "SEED_KINDS",
    "SEED_STATUSES",
    "SPLITS",
    "TIERS",
    "TIER_DEFAULTS",
    "Gate",
    "ImportFormat",
    "ImportOptions",
    "ImportSummary",
    "ReadOptions",
    "ReviewOutcome",
    "ImportValidationError",
    "Label",
    "MixResult",
    "Project",
    "RawRecord",
    "ReadResult",
    "Store",
    "StoreError",
    "Taxonomy",
    "TaxonomyError",
    "WorkbenchError",
    "Registry",
    "ProjectSettings",
    "TaxonomyFile",
    "SuiteFile",
    "SCHEMA_FILES",
    "json_schemas",
    "write_schemas",
    "apply_review",
    "annotator_flags",
    "clear_annotator",
    "record_gold",
    "assign_splits",
    "atomic_write_bytes",
    "atomic_write_text",
    "class_distribution",
    "collapse_duplicates",
    "distribution_figure",
    "duplicate_conflicts",
    "duplicate_groups",
    "evaluation_view",
    "export_records",
    "immediate_transaction",
    "label_stats",
    "register_format",
    "load_taxonomy",
    "minhash_signatures",
    "near_duplicate_pairs",
    "normalise_text",
    "parse_label_value",
    "project_stats",
    "read_file",
    "read_seeds",
    "read_snapshot",
    "snapshot_records_path",
    "records_from_frame",
    "records_from_hf",
    "save_figure_png",
    "shingles",
    "split_report",
    "task_view",
    "training_mix",
    "production_part",
    "utc_now",
    "validate_seed",
    "write_report",
    "lazy_names",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
