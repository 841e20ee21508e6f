"""Deprecated path of :mod:`training.production_loop` (the loop after a model ships), kept for one release.

"production" alone now names the production posts (:mod:`curation.production`: the production log and the
pool); the loop is the production loop. Importing this module warns (a ``WorkbenchDeprecationWarning``) and
gives the production loop's names; it imports ``training.production_loop`` only.
"""

from foundation import warn_moved as _warn_moved

_warn_moved("training.production", "training.production_loop", stacklevel=2)

from training.production_loop import *  # noqa: E402, F403
from training.production_loop import __all__  # noqa: E402, F401
