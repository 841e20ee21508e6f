"""The one-click retrain-and-gate cell.

One button runs ``training.train_model`` on the project's current snapshot — snapshot, mix, train,
thresholds on calib, one holdout evaluation with the gates, the ONNX fp32 export with its own gate —
with a progress bar a step, then shows the per-label gate table (pass / fail, F1, recall, FPR,
threshold, deltas against the promoted model, regressions in red), the failed regression vectors and
the seeds the snapshot excluded. **Promote** is enabled only when the gate passed.
"""

from __future__ import annotations

import time
from pathlib import Path

from curation import Project, WorkbenchError
from foundation import utc_now

from ._base import Panel, table_html

__all__ = ["RetrainPanel"]


class RetrainPanel(Panel):
    """Retrain and gate ``project`` from a notebook (see the module docstring).

    State for tests and notebooks: ``last_model`` (the model directory), ``last_verdict`` (its
    ``GateReport.to_dict()``: ``passed``, ``best_variant``, per-variant failures), ``gate_table`` (DataFrame),
    ``step_seconds`` and ``seconds`` (click to verdict).
    """

    def __init__(
        self, project: Project, *, models_dir=None, recipe: str = "heads", group: str | None = None, export: bool = True
    ):
        import ipywidgets as w

        from training import RECIPES, TRAIN_STEPS
        from training.families import ENCODERS

        super().__init__()
        self.project = project
        self.models_dir = Path(models_dir) if models_dir else project.layout.models
        groups = ["(all labels)", *project.taxonomy.groups]
        self.recipe = w.Dropdown(options=list(RECIPES), value=recipe, description="recipe")
        self.group = w.Dropdown(options=groups, value=group or groups[0], description="labels")
        self.export = w.Checkbox(value=export, description="ONNX fp32 export + gate")
        self.mix = w.Checkbox(value=True, description="training mix")
        # advanced options: the panel door of the training configuration (empty = workbench.yaml, then defaults)
        self.loss = w.Dropdown(options=["(yaml)", "bce", "focal"], value="(yaml)", description="loss")
        self.lr = w.Text(value="", placeholder="(yaml)", description="lr")
        self.epochs = w.Text(value="", placeholder="(yaml)", description="epochs")
        self.class_weights = w.Dropdown(options=["(yaml)", "auto"], value="(yaml)", description="class weights")
        self.encoder = w.Dropdown(options=["(yaml)", *ENCODERS], value="(yaml)", description="encoder")
        self.advanced = w.Accordion(
            children=[
                w.VBox(
                    [w.HBox([self.loss, self.class_weights]), w.HBox([self.lr, self.epochs]), w.HBox([self.encoder])]
                )
            ],
            titles=("advanced (training: of workbench.yaml unless set here)",),
        )
        self.run_button = w.Button(description="Retrain and gate", button_style="primary", icon="play")
        self.promote_button = w.Button(
            description="Promote", button_style="success", disabled=True, tooltip="enabled when the gate passed"
        )
        self.bars = {
            s: w.FloatProgress(value=0, min=0, max=1, description=s, bar_style="", style={"description_width": "110px"})
            for s in TRAIN_STEPS
        }
        self.result = w.HTML()
        self.history_out = w.Output()  # the per-epoch monitoring, drawn live as small multiples
        self.run_button.on_click(lambda _: self._guarded(self.run))
        self.promote_button.on_click(lambda _: self._guarded(self.promote))
        self.widget = w.VBox(
            [
                w.HBox([self.recipe, self.group]),
                w.HBox([self.export, self.mix]),
                self.advanced,
                w.HBox([self.run_button, self.promote_button]),
                *self.bars.values(),
                self._message,
                self.history_out,
                self.result,
            ]
        )
        self.last_model = None
        self.last_verdict: dict | None = None
        self.blocked_labels: list[str] = []  # T1 labels with insufficient evidence: promotion needs a reason
        self.gate_table = None
        self.step_seconds: dict[str, float] = {}
        self.seconds: float | None = None
        self.history: list[dict] = []
        self.history_figure = None
        self._drawn_at = 0.0

    def _on_step(self, step: str, phase: str) -> None:
        bar = self.bars[step]
        if phase == "start":
            self._t_step = time.perf_counter()
            bar.bar_style, bar.value = "info", 0.5
        else:
            self.step_seconds[step] = round(time.perf_counter() - self._t_step, 2)
            bar.bar_style, bar.value = "success", 1.0
            bar.description = f"{step} {self.step_seconds[step]:.1f}s"

    def training_config(self):
        """The advanced options that are set, as the panel's layer of the training configuration."""
        from curation import WorkbenchError
        from training import TrainingConfig

        given: dict = {}
        if self.loss.value != "(yaml)":
            given["loss"] = self.loss.value
        if self.class_weights.value != "(yaml)":
            given["class_weights"] = self.class_weights.value
        if self.encoder.value != "(yaml)":
            given["encoder"] = self.encoder.value
        for name, box in (("lr", self.lr), ("epochs", self.epochs)):
            text = box.value.strip()
            if text:
                try:
                    given[name] = float(text)
                except ValueError:
                    raise WorkbenchError(f"advanced option {name}", expected="a number", got=repr(text)) from None
        return TrainingConfig.from_dict(given, where="retrain panel")

    def _on_epoch(self, record: dict) -> None:
        self.history.append(record)
        if time.perf_counter() - self._drawn_at > 1.0:  # at most once a second while training
            self._draw_history()

    def _draw_history(self) -> None:
        self.history_figure = history_figure(self.history)
        self._drawn_at = time.perf_counter()
        if self.history_figure is not None:  # replaced, not appended: one figure, redrawn while training
            self.history_out.outputs = ()
            self.history_out.append_display_data(self.history_figure)

    def run(self):
        """Snapshot -> ... -> gate (-> fp32 export and its gate); returns the model directory."""
        from training import TrainSpec, train_model
        from training.evaluation import GateReport

        for s, bar in self.bars.items():
            bar.value, bar.bar_style, bar.description = 0, "", s
        recipe = self.recipe.value
        from training import RECIPES

        export = self.export.value and RECIPES[recipe].has_encoder  # a lexical model has nothing to export
        if not export:
            self.bars["export"].description = "export (off)"
        group = None if self.group.value == self.group.options[0] else self.group.value
        out = self.models_dir / f"{recipe}-{group or 'all'}-{utc_now().replace(':', '').replace('-', '')[:15]}"
        self.step_seconds, self.promote_button.disabled = {}, True
        self.say(f"training {recipe} on {group or 'all labels'} -> {out}")
        t0 = time.perf_counter()
        spec = TrainSpec(
            recipe=recipe,
            group=group,
            mix=self.mix.value,
            onnx=("fp32",) if export else (),
            training=self.training_config(),
            training_source="panel",
        )
        self.history = []
        model = train_model(self.project, out, spec, on_step=self._on_step, on_epoch=self._on_epoch)
        self._draw_history()
        for w_ in model.card.history[-1]["warnings"] if model.card.history else []:
            self.say(f"warning: {w_}", error=True)
        self.seconds = round(time.perf_counter() - t0, 2)
        report = GateReport.of(model)  # what the training's evaluation decided
        self.last_model, self.last_report, self.last_verdict = model, report, report.to_dict()
        self.gate_table, vectors = report.gate_table("torch")
        self._show(model, vectors)
        ok = self.last_verdict["passed"]
        best = model.card.variants.get(self.last_verdict["best_variant"])
        self.blocked_labels = [f.subject for f in (best.gate.insufficient if best else []) if f.tier == "T1"]
        self.promote_button.disabled = not ok or bool(self.blocked_labels)
        blocked = (
            f"; promotion blocked: insufficient evidence on T1 label(s) {', '.join(self.blocked_labels)} "
            "(workbench promote MODEL --accept-insufficient REASON)"
            if ok and self.blocked_labels
            else ""
        )
        self.say(
            f"{'PASSED' if ok else 'FAILED'} gate in {self.seconds:.1f} s (best variant "
            f"{self.last_verdict['best_variant']}); model {out.name}{blocked}",
            error=not ok or bool(blocked),
        )
        return model

    def _show(self, model, vectors) -> None:
        t = self.gate_table
        red = ~t["passed"] | (t["regression"].fillna(False).astype(bool) if "regression" in t else False)
        parts = [table_html(t, red=red, caption=f"holdout gate per label ({len(t)} labels)")]
        thin = t[t["status"] == "insufficient_evidence"] if "status" in t else t.iloc[:0]
        if len(thin):  # neither pass nor fail: too few holdout positives to tell (a T1 label blocks promotion)
            parts.append(
                "<p style='color:#b26a00'><b>insufficient evidence</b> (holdout positives below the minimum): "
                + ", ".join(f"{lab} {int(r['positives'])} of {int(r['min_positives'])}" for lab, r in thin.iterrows())
                + "</p>"
            )
        variants = self.last_verdict["variants"]
        frame = _variants_frame(variants)
        parts.append(table_html(frame, red=~frame["passed"].astype(bool), caption="variants"))
        suite = self.last_report.suite_table("torch")
        if len(suite):
            bad = ~suite["passed"].astype(bool)
            if "regression" in suite:
                bad |= suite["regression"].fillna(False).astype(bool)
            parts.append(table_html(suite, red=bad, caption="functional suites (test side) against the promoted model"))
        if vectors:
            parts.append(
                "<p style='color:#c62828'><b>failed regression vectors</b><br>"
                + "<br>".join(f"{v.what}: {v.check} {v.value}" for v in vectors)
                + "</p>"
            )
        excluded = model.card.excluded_seeds
        parts.append(
            f"<p><b>excluded seeds</b> (quarantined when the snapshot was taken): "
            f"{', '.join(map(str, excluded)) or 'none'}</p>"
        )
        self.result.value = "".join(parts)

    def promote(self) -> dict:
        """Promote the last model's best variant; refused (and the button disabled) if its gate failed."""
        from training.artifacts import promote

        if self.last_model is None or not (self.last_verdict or {}).get("passed"):
            self.promote_button.disabled = True
            raise WorkbenchError(
                "promotion",
                expected="a model whose gate passed",
                got="no such model",
                fix="retrain until the gate passes",
            )
        if self.blocked_labels:
            self.promote_button.disabled = True
            raise WorkbenchError(
                "promotion",
                expected="enough holdout positives on every T1 label",
                got=f"insufficient evidence on {', '.join(self.blocked_labels)}",
                fix="add labelled holdout data, or promote from the command line with --accept-insufficient REASON",
            )
        out = promote(self.last_model)  # refused with the labels when one regressed against the promoted model
        self.say(f"promoted {self.last_model.root.name} ({out.get('variant', self.last_verdict['best_variant'])})")
        return out


def _variants_frame(variants: dict):
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "variant": v,
                "passed": i["passed"],
                "agreement": i.get("decision_agreement"),
                "max |F1 - F1_torch|": i.get("f1_delta_max"),
                "max |p - p_torch|": i.get("max_abs_diff_vs_torch"),
                "failures": len(i["failures"]),
            }
            for v, i in variants.items()
        ]
    ).set_index("variant")


def history_figure(history: list[dict], *, max_labels: int = 12):
    """Small multiples of the per-epoch monitoring: one panel per label (precision, recall, F1 on valid
    against the epoch), the primary and secondary macro-F1 in the first; ``None`` without history."""
    if not history:
        return None
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    labels = list(history[0]["labels"])[:max_labels]
    cols = min(4, len(labels) + 1)
    rows = -(-(len(labels) + 1) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=["macro-F1", *labels], shared_yaxes=True)
    epochs = [h["epoch"] for h in history]
    colours = {"precision": "#1f77b4", "recall": "#d62728", "f1": "#2ca02c"}
    for name, key in (("primary", "primary_macro_f1"), ("secondary", "secondary_macro_f1")):
        if any(h.get(key) is not None for h in history):
            fig.add_trace(
                go.Scatter(x=epochs, y=[h.get(key) for h in history], name=f"{name} macro-F1", mode="lines"),
                row=1,
                col=1,
            )
    for k, lab in enumerate(labels, start=1):
        r, c = divmod(k, cols)
        for metric, colour in colours.items():
            fig.add_trace(
                go.Scatter(
                    x=epochs,
                    y=[h["labels"][lab][metric] for h in history],
                    mode="lines",
                    line={"color": colour},
                    name=metric,
                    legendgroup=metric,
                    showlegend=k == 1,
                ),
                row=r + 1,
                col=c + 1,
            )
    fig.update_yaxes(range=[0, 1])
    fig.update_layout(height=220 * rows, margin={"t": 40, "b": 20, "l": 30, "r": 10}, title="valid, per epoch")
    return fig
