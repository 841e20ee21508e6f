"""Functional suites: their schema, expansion into cases (never records), the train/test side rule,
leakage against the store, the cases' review state, the balance of identity terms over the two signs, and the
perturbations of the invariance and directional tests (``type: inv | dir``), which also run on real posts.

Part of ``curation`` (imports ``foundation`` and the rest of ``curation`` only).
"""

from typing import TYPE_CHECKING

from foundation import lazy_names

if TYPE_CHECKING:  # the public names and their modules; imported on first use (foundation.lazy_names)
    from ._balance import MAX_RATIO, balance_of_suites, balance_warnings, identity_balance, suite_terms
    from ._perturb import (
        DIR_TOLERANCE,
        PERTURBATION_MAX_FAIL,
        PERTURBATIONS,
        TEST_TYPES,
        filler_values,
        perturb_posts,
        perturb_text,
        perturbation_name,
    )
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

__all__ = [
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
    "MAX_RATIO",
    "balance_of_suites",
    "balance_warnings",
    "identity_balance",
    "suite_terms",
    "DIR_TOLERANCE",
    "PERTURBATION_MAX_FAIL",
    "PERTURBATIONS",
    "TEST_TYPES",
    "perturb_posts",
    "perturb_text",
    "perturbation_name",
    "filler_values",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
