"""Deprecated path of :mod:`workbench.review.sample_review` (the review side of the production loop), kept
for one release. Importing this module warns and gives its names; it imports ``sample_review`` only."""

import warnings as _warnings

from foundation import WorkbenchDeprecationWarning as _Deprecated

_warnings.warn(
    "workbench.review.loop moved to workbench.review.sample_review (the old path goes in the next release)",
    _Deprecated,
    stacklevel=2,
)

from .sample_review import *  # noqa: E402, F403
from .sample_review import __all__  # noqa: E402, F401
