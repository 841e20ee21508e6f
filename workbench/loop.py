"""Deprecated path of :mod:`workbench.turns` (suite -> generate -> review -> retrain, turn after turn), kept for
one release: "loop" alone now names the production loop. Importing this module warns and gives the turns'
names (``LoopHistory`` is :class:`workbench.turns.TurnHistory`); it imports ``workbench.turns`` only."""

from foundation import warn_moved as _warn_moved

_warn_moved("workbench.loop", "workbench.turns (LoopHistory is TurnHistory)", stacklevel=2)

from workbench.turns import *  # noqa: E402, F403
from workbench.turns import TurnHistory as LoopHistory  # noqa: E402, F401
from workbench.turns import __all__  # noqa: E402, F401
