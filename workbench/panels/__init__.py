"""Panels: the ipywidgets people click in JupyterLab, one loop a module.

- ``retrain`` — :class:`RetrainPanel`, the one-click retrain-and-gate cell (snapshot -> mix -> train ->
  thresholds on calib -> holdout + gates -> ONNX export, a progress bar a step), the gate table and a
  Promote button that stays disabled when the gate failed;
- ``review`` — :class:`ReviewPanel`, per Argilla dataset counts, push / pull buttons, agreement, conflicts;
- ``seeds`` — :class:`SeedsPanel`, seeds with status and batch acceptance, quarantine / release with a
  reason, and what each action did to the snapshot;
- ``monitor`` — :class:`MonitorPanel` and :func:`monitor_figure`, a shipped model's drift per label and
  window (decision rate against calib's alert band, PSI), alerts in red;
- ``suite_figures`` — :func:`suite_figure`, functional-suite pass rates of several models side by side, and
  :func:`turns_figure`, each functionality across the turns of the loop;
- ``map`` — :class:`MapPanel`, the embedding map with its colour selector, the interference table and
  heatmap beside it, clusters, "tag" and "send selection to review".

Each panel is a plain object holding its widgets (``panel.widget``; a notebook displays the panel
itself) and exposing its state (``selected_ids``, ``last_verdict``, ...) so tests and notebooks read it
without a browser; every button calls a method of the same name that code can call too. Panels
import ``curation``, ``training`` and the other ``workbench`` packages; nothing of ours imports them.
"""

from .._extras import require

require("ipywidgets", "anywidget", "IPython", what="the workbench panels")

from .map import MapPanel  # noqa: E402 (after the install hint)
from .monitor import MonitorPanel, monitor_figure  # noqa: E402
from .retrain import RetrainPanel  # noqa: E402
from .review import ReviewPanel  # noqa: E402
from .seeds import SeedsPanel  # noqa: E402
from .suite_figures import suite_comparison, suite_figure, turns_figure  # noqa: E402

__all__ = [
    "MapPanel",
    "MonitorPanel",
    "monitor_figure",
    "RetrainPanel",
    "ReviewPanel",
    "SeedsPanel",
    "suite_comparison",
    "suite_figure",
    "turns_figure",
]
