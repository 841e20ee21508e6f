"""Deprecated path of :mod:`workbench.turns` (suite -> generate -> review -> retrain, turn after turn), kept for
one release: "loop" alone now names the production loop. Importing this module warns and gives the turns'
names (``LoopHistory`` is :class:`workbench.turns.TurnHistory`); it imports ``workbench.turns`` only."""

import warnings as _warnings

from foundation import WorkbenchDeprecationWarning as _Deprecated

_warnings.warn(
    "workbench.loop moved to workbench.turns (LoopHistory is TurnHistory; the old path goes in the next release)",
    _Deprecated,
    stacklevel=2,
)

from workbench.turns import *  # noqa: E402, F403
from workbench.turns import TurnHistory as LoopHistory  # noqa: E402, F401
from workbench.turns import __all__  # noqa: E402, F401
