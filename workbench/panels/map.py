"""The map panel: the embedding map with its colour selector, the interference table and heatmap beside
it (a click on a cell highlights the pair on the map), the clusters (pick one to select it), and the
selection's way out: tag it in the store, or send it to the error or batch review."""

from __future__ import annotations

from curation import Project, WorkbenchError

from ._base import Panel, table_html

__all__ = ["MapPanel"]


class MapPanel(Panel):
    """State: ``data`` (``build_map``'s result), ``map`` (the :class:`~workbench.maps.EmbeddingMap`),
    ``interference`` and ``clusters`` (DataFrames), ``selected_ids``, ``last_sent``."""

    def __init__(
        self,
        project: Project,
        *,
        model=None,
        client=None,
        workspace: str | None = None,
        refit: bool = False,
        progress: bool = True,
    ):
        import ipywidgets as w

        from workbench.maps import (
            COLOUR_MODES,
            EmbeddingMap,
            build_map,
            find_clusters,
            interference_figure,
            map_interference,
        )

        super().__init__()
        self.project, self.model, self._client, self.workspace = project, model, client, workspace
        self.data = build_map(project, model=model, refit=refit, progress=progress)
        frame, self.clusters = find_clusters(self.data.frame, self.data.labels)
        self.interference = map_interference(self.data)
        self.map = EmbeddingMap(frame, self.data.labels, thresholds=self.data.thresholds, widget=True)
        self.heatmap = interference_figure(self.interference, self.data.labels, widget=True)
        self.map.follow(self.heatmap)
        labels = list(self.data.labels)
        modes = [m for m in COLOUR_MODES if m != "error" or self.data.thresholds]
        self.colour = w.Dropdown(options=modes, value="review", description="colour by")
        self.label = w.Dropdown(options=labels, description="label")
        self.pair = w.Dropdown(
            options=[
                (f"{r.label_a} × {r.label_b}", (r.label_a, r.label_b)) for r in self.interference.head(20).itertuples()
            ]
            or [("-", None)],
            description="pair",
        )
        for control in (self.colour, self.label, self.pair):
            control.observe(lambda _: self._guarded(self.recolour), names="value")
        self.cluster = w.Dropdown(
            options=[("-", None)]
            + [
                (f"cluster {r.cluster} ({r.size}, score {r.interference_score:.2f})", int(r.cluster))
                for r in self.clusters.itertuples()
            ],
            description="cluster",
        )
        self.cluster.observe(lambda ch: ch["new"] is not None and self.map.highlight_cluster(ch["new"]), names="value")
        self.tag_name = w.Text(placeholder="tag name", description="tag")
        self.tag_button = w.Button(description="Tag selection", icon="tag")
        self.dataset = w.Dropdown(options=["error-review", "batch-review"], description="review")
        self.send_button = w.Button(description="Send selection to review", button_style="warning", icon="send")
        self.tag_button.on_click(lambda _: self._guarded(self.tag))
        self.send_button.on_click(lambda _: self._guarded(self.send_to_review))
        self.count = w.HTML("0 selected")
        self.map.on_select(lambda ids: setattr(self.count, "value", f"<b>{len(ids)}</b> selected"))
        tables = w.HTML(
            table_html(
                self.interference.head(10).set_index(["label_a", "label_b"])[
                    ["interference_score", "mixing", "co_occurrence"]
                ],
                caption="label interference",
            )
            + table_html(
                self.clusters.head(10).set_index("cluster")[
                    ["size", "interference_score", "label_mix", "dominant_seeds"]
                ],
                caption="clusters, most interference first",
            )
        )
        self.widget = w.VBox(
            [
                w.HBox([self.colour, self.label, self.pair, self.cluster]),
                w.HBox([_shown(self.map.figure), w.VBox([_shown(self.heatmap), tables], layout=w.Layout(width="40%"))]),
                w.HBox([self.count, self.tag_name, self.tag_button, self.dataset, self.send_button]),
                self._message,
            ]
        )
        self.last_sent: dict | None = None

    @property
    def selected_ids(self) -> list[str]:
        return self.map.selected_ids

    def recolour(self) -> None:
        mode = self.colour.value
        self.map.colour_by(
            mode,
            label=self.label.value if mode in ("label", "error") else None,
            pair=self.pair.value if mode == "pair" else None,
        )

    def tag(self, name: str | None = None) -> int:
        name = name or self.tag_name.value.strip()
        ids = self.selected_ids
        if not ids:
            raise WorkbenchError(
                "tag selection",
                expected="a selection",
                got="nothing selected",
                fix="draw a lasso or box on the map first",
            )
        n = self.project.records.tag(ids, name)
        self.say(f"{n} records tagged {name!r} ({len(ids)} selected)")
        return n

    def send_to_review(self, dataset: str | None = None) -> dict:
        from workbench.review import connect, push_selection

        ids = self.selected_ids
        if not ids:
            raise WorkbenchError(
                "send to review",
                expected="a selection",
                got="nothing selected",
                fix="draw a lasso or box on the map first",
            )
        self._client = self._client or connect()
        self.last_sent = push_selection(
            self.project,
            self._client,
            ids,
            dataset=dataset or self.dataset.value,
            model=self.model,
            reason="map selection",
            workspace=self.workspace,
        )
        self.say(
            f"{len(ids)} selected records -> {dataset or self.dataset.value}: "
            f"{self.last_sent['pushed']} sent, {self.last_sent['unchanged']} already there"
        )
        return self.last_sent


def _shown(figure):
    """A plotly ``FigureWidget`` to place inside a Box. plotly 6.0 sends a FigureWidget's initial data and
    layout only when the figure itself is displayed (a Box child never is: the heatmap reached the
    browser empty), so it is displayed into an ``Output`` widget that the Box holds."""
    import ipywidgets as w
    from IPython.display import display

    out = w.Output()
    with out:
        display(figure)
    return out
