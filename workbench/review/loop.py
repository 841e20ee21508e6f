"""Deprecated path of :mod:`workbench.review.sample_review` (the review side of the production loop), kept
for one release. Importing this module warns and gives its names; it imports ``sample_review`` only."""

from foundation import warn_moved as _warn_moved

_warn_moved("workbench.review.loop", "workbench.review.sample_review", stacklevel=2)

from .sample_review import *  # noqa: E402, F403
from .sample_review import __all__  # noqa: E402, F401
