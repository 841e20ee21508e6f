"""Production monitoring in a notebook: :func:`monitor_figure` (each label's positive-decision rate over
time, calib's rate and the alert band behind it, alerting windows in red, PSI on a second axis) and
:class:`MonitorPanel`, the production loop's panel over :func:`training.production_loop.watch`: window length and Run (the
table of alerts and the figure), then a review budget and strategy with "Push sample" (to sample-review),
and "Retrain" (pull the answers, retrain with the labelled production posts, gate on both slices)."""

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
    fig = make_subplots(
        rows=len(labels),
        cols=1,
        shared_xaxes=True,
        subplot_titles=labels,
        specs=[[{"secondary_y": True}] for _ in labels],
        vertical_spacing=0.3 / max(len(labels), 1),
    )
    starts = [w["start"] for w in result["windows"]]
    for k, lab in enumerate(labels, start=1):
        ref = result["reference"]["labels"][lab]["decision_rate"]
        ratio = result["limits"][lab]["rate_ratio_max"]
        base = max(ref, 1.0 / max(result["reference"]["n"], 1))
        figs = [w["labels"][lab] for w in result["windows"]]
        fig.add_scatter(
            x=starts + starts[::-1],
            y=[base * ratio] * len(starts) + [base / ratio] * len(starts),
            fill="toself",
            fillcolor="rgba(76,175,80,0.12)",
            line={"width": 0},
            hoverinfo="skip",
            name="alert band",
            showlegend=k == 1,
            row=k,
            col=1,
        )
        fig.add_scatter(
            x=starts,
            y=[ref] * len(starts),
            mode="lines",
            line={"dash": "dash", "color": "#2e7d32"},
            name="calib rate",
            showlegend=k == 1,
            row=k,
            col=1,
        )
        fig.add_scatter(
            x=starts,
            y=[f["decision_rate"] for f in figs],
            mode="lines+markers",
            name="decision rate",
            marker={"color": ["#c62828" if f["alert"] else "#1565c0" for f in figs], "size": 9},
            line={"color": "#1565c0"},
            showlegend=k == 1,
            hovertext=["; ".join(f["reasons"]) or "no alert" for f in figs],
            row=k,
            col=1,
        )
        fig.add_bar(
            x=starts,
            y=[f["psi"] for f in figs],
            name="PSI",
            marker={"color": "rgba(0,0,0,0.15)"},
            showlegend=k == 1,
            row=k,
            col=1,
            secondary_y=True,
        )
    fig.update_layout(height=230 * len(labels) + 80, title=f"production drift per {result['window']} window")
    return fig


class MonitorPanel(Panel):
    """State: ``result`` (the drift :func:`training.production_loop.monitor` computed), ``alerts`` (its alerting rows),
    ``figure`` (the plotly figure shown), ``watched`` (the last :class:`training.WatchResult`) and
    ``candidate`` (the retrained model directory, once there is one). ``client``: the Argilla client the
    review sample goes through (default: :func:`workbench.review.connect` when first needed)."""

    def __init__(self, project, model, *, client=None):
        import ipywidgets as w

        super().__init__()
        self.project, self.model, self._client = project, model, client
        self.window = w.Text(value="1d", description="window")
        self.run_button = w.Button(description="Run", icon="play")
        self.run_button.on_click(lambda _: self._guarded(self.run))
        self.budget = w.BoundedIntText(value=200, min=1, max=100_000, description="budget")
        from training.production_loop import STRATEGIES

        self.strategy = w.Dropdown(options=list(STRATEGIES), value="mixed", description="strategy")
        self.sample_button = w.Button(description="Push sample", icon="upload")
        self.sample_button.on_click(lambda _: self._guarded(self.sample))
        self.out = w.Text(value=str(project.layout.models / "candidate"), description="candidate")
        self.retrain_button = w.Button(description="Retrain", icon="refresh")
        self.retrain_button.on_click(lambda _: self._guarded(self.retrain))
        self.view, self.plot = w.HTML(), w.Output()
        self.widget = w.VBox(
            [
                w.HBox([self.window, self.run_button]),
                w.HBox([self.budget, self.strategy, self.sample_button]),
                w.HBox([self.out, self.retrain_button]),
                self._message,
                self.view,
                self.plot,
            ]
        )
        self.result: dict | None = None
        self.alerts: pd.DataFrame | None = None
        self.figure = None
        self.watched = None
        self.candidate = None

    def _review(self):
        from workbench.review import SampleReviewLoop, connect

        if self._client is None:
            self._client = connect()
        return SampleReviewLoop(self._client)

    def _watch(self, **kw):
        from training.production_loop import watch

        self.watched = watch(self.project, self.model, window=self.window.value, **kw)
        return self.watched

    def run(self) -> dict:
        """Drift per window and label: the table (alerts in red) and the figure."""
        from IPython.display import display

        from training.production_loop import monitor_table

        self.result = self._watch().drift
        table = monitor_table(self.result)
        self.alerts = table[table["alert"] != ""].reset_index(drop=True)
        self.view.value = table_html(
            table.set_index("window"), red=table["alert"] != "", caption="per window and label (red: alert)"
        )
        self.figure = monitor_figure(self.result)
        self.plot.clear_output()
        with self.plot:
            display(self.figure)
        self.say(f"{len(self.alerts)} alert(s) in {len(self.result['windows'])} window(s)")
        return self.result

    def sample(self):
        """When the latest window alerts: ``budget`` posts picked by ``strategy`` into sample-review."""
        res = self._watch(budget=int(self.budget.value), strategy=self.strategy.value, review=self._review())
        self.result = res.drift
        if res.sample is None:
            self.say(res.next)
        else:
            self.say(f"pushed {res.sample['selected']} posts to sample-review ({res.sample['reasons']}); {res.next}")
        return res

    def retrain(self):
        """Pull the answers, retrain on the project (labelled production posts included), gate on the curated
        holdout and the production slice; the candidate and both slices' statuses are shown."""
        res = self._watch(review=self._review(), retrain=True, out=self.out.value)
        self.result, self.candidate = res.drift, res.candidate
        rows = []
        for name, part in (
            ("curated holdout", res.gate["variants"].get("torch", {})),
            ("production slice", res.gate.get("production") or {}),
        ):
            for lab, row in (part.get("labels") or {}).items():
                rows.append(
                    {
                        "slice": name,
                        "label": lab,
                        "status": row["status"],
                        "positives": row.get("positives"),
                        "recall": row.get("recall"),
                        "precision": row.get("precision"),
                        "fpr": row.get("fpr"),
                    }
                )
        table = pd.DataFrame(rows)
        self.view.value = table_html(
            table.set_index("slice"),
            red=table["status"] == "fail",
            caption=f"candidate {res.candidate}: gate per slice (red: fail)",
        )
        self.say(f"retrained into {res.candidate}: gate {'PASS' if res.gate['passed'] else 'FAIL'}; {res.next}")
        return res
