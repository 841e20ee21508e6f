"""The review loops between the store and Argilla: seeds, generated batches, model errors and the
functional suites' test cases, and production posts picked by active sampling.

``registry`` holds the review datasets, one declaration each (``datasets`` declares the built-in
six: settings, guidelines, how answers apply, their verbs); ``templates`` builds their settings (names
and questions are a public interface), ``errors`` mines
what the model gets wrong (label-quality ranking, never holdout), ``records`` turns
store rows into Argilla records (pure functions), ``push`` creates the workspace and datasets and logs
records idempotently (never over an answered record), ``agreement`` resolves several annotators'
answers and measures their agreement (Krippendorff's alpha), ``quality`` measures each annotator (gold
checks, Dawid-Skene over overlapping answers) and flags the careless, ``pull`` reads submitted answers and
applies their consequences to the store in one transaction (seed verdicts, batch acceptance and
audits, corrected labels, confirmed false positives as hard negatives), ``prescreen`` scores pushed
batches with the promoted model (it informs, never decides), ``sample_review`` is the review side of
:func:`training.production_loop.watch` (:class:`SampleReviewLoop`). The store-side state (pending / accepted / rejected batches, annotation events) lives in
``curation``. This package imports ``curation``, ``training`` (embeddings for the "find similar"
vectors) and the Argilla SDK; ``workbench review ...`` is a thin layer over it.
"""

from typing import TYPE_CHECKING

from foundation import lazy_names

from . import datasets as _builtin_datasets  # noqa: F401  (registers the six built-in datasets)

if TYPE_CHECKING:  # imported on first use: the command line's parser reads only the registry
    from .acceptance import DEFAULT_PLAN, BatchDecision, BatchPlan
    from .agreement import label_agreement, resolve_labels
    from .connect import connect
    from .errors import label_quality_score, mine_errors
    from .pull import pull, review_status
    from .push import (
        push_adjudication,
        push_batches,
        push_errors,
        push_sample,
        push_seeds,
        push_selection,
        push_suite,
    )
    from .quality import AnnotatorQuality, QualityRules, annotator_quality, annotator_report
    from .registry import REVIEW_DATASETS, PullContext, ReviewDataset, ReviewVerb, register_dataset
    from .sample_review import SampleReviewLoop
    from .templates import (
        ADJUDICATION,
        BATCH_REVIEW,
        DATASETS,
        ERROR_REVIEW,
        NONE_LABEL,
        SAMPLE_REVIEW,
        SEED_REVIEW,
        SUITE_REVIEW,
    )

__all__ = [
    "REVIEW_DATASETS",
    "ReviewDataset",
    "ReviewVerb",
    "PullContext",
    "register_dataset",
    "ADJUDICATION",
    "BATCH_REVIEW",
    "DATASETS",
    "ERROR_REVIEW",
    "NONE_LABEL",
    "SAMPLE_REVIEW",
    "SEED_REVIEW",
    "SUITE_REVIEW",
    "connect",
    "label_agreement",
    "label_quality_score",
    "mine_errors",
    "pull",
    "push_batches",
    "push_errors",
    "push_sample",
    "SampleReviewLoop",
    "push_seeds",
    "push_selection",
    "push_suite",
    "push_adjudication",
    "annotator_report",
    "annotator_quality",
    "AnnotatorQuality",
    "QualityRules",
    "resolve_labels",
    "review_status",
    "BatchPlan",
    "BatchDecision",
    "DEFAULT_PLAN",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
