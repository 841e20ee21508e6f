"""The loop after a model ships, on the project's production pool (:mod:`curation.production`); part of
``training`` (imports ``foundation``, ``curation`` and the rest of ``training``; never ``workbench``):

- ``_drift``: the shipped model on production traffic per label and window (PSI, KS, decision and overturn
  rates against calib; alerts at the tier's limits);
- ``_sampling``: which unlabelled posts are worth a person's time (uncertainty, rare, diverse, mixed, random);
- ``_recalibrate``: new thresholds on labelled ``production_calib`` posts, same weights, re-gated;
- ``_compare``: models side by side on posts none of them saw (the week after the pool);
- ``_watch``: the front door, :func:`watch`: drift -> review sample -> retrain on the labelled posts (they
  join the training mix) -> gate on the curated holdout and the production slice -> a candidate to promote.
"""

from ._compare import compare_on_posts
from ._drift import REFERENCE_FILE, drift_limits, drift_reference, monitor, monitor_table, production_scores, psi
from ._recalibrate import labelled_production, production_weights, recalibrate, recalibration_table
from ._sampling import STRATEGIES, k_center_greedy, select_for_review
from ._watch import SampleReview, WatchResult, watch

__all__ = [
    "REFERENCE_FILE",
    "STRATEGIES",
    "SampleReview",
    "WatchResult",
    "compare_on_posts",
    "drift_limits",
    "drift_reference",
    "k_center_greedy",
    "labelled_production",
    "monitor",
    "monitor_table",
    "production_scores",
    "production_weights",
    "psi",
    "recalibrate",
    "recalibration_table",
    "select_for_review",
    "watch",
]
