"""Production monitoring in a notebook: :func:`monitor_figure` (each label's positive-decision rate over
time, calib's rate and the alert band behind it, alerting windows in red, PSI on a second axis) and
:class:`MonitorPanel` (window length, Run, the table of alerts and the figure)."""

from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from ._base import Panel, table_html

__all__ = ["MonitorPanel", "monitor_figure"]


def monitor_figure(result: Mapping[str, Any], *, labels: list[str] | None = None):
    """Small multiples, one a label: decision rate per window (red markers where the label alerts), calib's
    rate as a dashed line inside its alert band, PSI as grey bars on the right axis."""
    from plotly.subplots import make_subplots

    labels = labels or list(result["reference"]["labels"])
    fig = make_subplots(rows=len(labels), cols=1, shared_xaxes=True, subplot_titles=labels,
                        specs=[[{"secondary_y": True}] for _ in labels], vertical_spacing=0.3 / max(len(labels), 1))  # fmt: skip
    starts = [w["start"] for w in result["windows"]]
    for k, lab in enumerate(labels, start=1):
        ref = result["reference"]["labels"][lab]["decision_rate"]
        ratio = result["limits"][lab]["rate_ratio_max"]
        base = max(ref, 1.0 / max(result["reference"]["n"], 1))
        figs = [w["labels"][lab] for w in result["windows"]]
        fig.add_scatter(x=starts + starts[::-1], y=[base * ratio] * len(starts) + [base / ratio] * len(starts),
                        fill="toself", fillcolor="rgba(76,175,80,0.12)", line={"width": 0}, hoverinfo="skip",
                        name="alert band", showlegend=k == 1, row=k, col=1)  # fmt: skip
        fig.add_scatter(x=starts, y=[ref] * len(starts), mode="lines", line={"dash": "dash", "color": "#2e7d32"},
                        name="calib rate", showlegend=k == 1, row=k, col=1)  # fmt: skip
        fig.add_scatter(x=starts, y=[f["decision_rate"] for f in figs], mode="lines+markers", name="decision rate",
                        marker={"color": ["#c62828" if f["alert"] else "#1565c0" for f in figs], "size": 9},
                        line={"color": "#1565c0"}, showlegend=k == 1,
                        hovertext=["; ".join(f["reasons"]) or "no alert" for f in figs], row=k, col=1)  # fmt: skip
        fig.add_bar(x=starts, y=[f["psi"] for f in figs], name="PSI", marker={"color": "rgba(0,0,0,0.15)"},
                    showlegend=k == 1, row=k, col=1, secondary_y=True)  # fmt: skip
    fig.update_layout(height=230 * len(labels) + 80, title=f"production drift per {result['window']} window")
    return fig


class MonitorPanel(Panel):
    """State: ``result`` (what :func:`training.monitor` returned), ``alerts`` (its alerting rows) and
    ``figure`` (the plotly figure shown)."""

    def __init__(self, project, model):
        import ipywidgets as w

        super().__init__()
        self.project, self.model = project, model
        self.window = w.Text(value="1d", description="window")
        self.run_button = w.Button(description="Run", icon="play")
        self.run_button.on_click(lambda _: self._guarded(self.run))
        self.view, self.plot = w.HTML(), w.Output()
        self.widget = w.VBox([w.HBox([self.window, self.run_button]), self._message, self.view, self.plot])
        self.result: dict | None = None
        self.alerts: pd.DataFrame | None = None
        self.figure = None

    def run(self) -> dict:
        from IPython.display import display

        from training import monitor, monitor_table

        limits = (self.project.config.get("monitoring") or {}).get("limits")
        self.result = monitor(self.model, self.project.production(), self.project.feedback(),
                              window=self.window.value, limits=limits)  # fmt: skip
        table = monitor_table(self.result)
        self.alerts = table[table["alert"] != ""].reset_index(drop=True)
        self.view.value = table_html(table.set_index("window"), red=table["alert"] != "",
                                     caption="per window and label (red: alert)")  # fmt: skip
        self.figure = monitor_figure(self.result)
        self.plot.clear_output()
        with self.plot:
            display(self.figure)
        self.say(f"{len(self.alerts)} alert(s) in {len(self.result['windows'])} window(s)")
        return self.result
