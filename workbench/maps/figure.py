"""The map figure: a WebGL scatter of the projection, coloured by what matters, with a selection.

:class:`EmbeddingMap` holds a map frame (``build_map(...).frame``: one row per record with ``x``, ``y``,
its labels and metadata, optionally ``p_<label>`` model scores) and draws it as a plotly
``FigureWidget`` (or a plain ``Figure`` for HTML files). One ``Scattergl`` trace per colour group,
so the legend toggles groups; hover shows a shortened text, known labels, scores, seed and batch.

Selections are record ids: a lasso or box drawn in the browser fills :attr:`EmbeddingMap.selected_ids`
(through plotly's selection callbacks, which report point indexes per trace; the map keeps the
index -> record mapping on the Python side, so no id travels to the browser), and the same happens in
code with :meth:`select_box` / :meth:`select_lasso`. Clicking a point while coloured by cluster
selects its cluster. What to do with a selection (send it to review, tag it in the store) is the
caller's: see ``workbench.review.push_selection`` and ``Project.records.tag``.

What goes to the browser is kept small: coordinates as float32 typed arrays and hover texts of at
most ``hover_chars`` characters; :meth:`payload_mb` measures it.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd

from curation import WorkbenchError

__all__ = ["COLOUR_MODES", "colour_groups", "hover_texts", "EmbeddingMap"]

COLOUR_MODES = ("label", "pair", "error", "seed", "batch", "origin", "split", "review", "cluster")
_PALETTE = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
]
_FIXED = {
    "positive": "#d62728",
    "negative": "#1f77b4",
    "unknown": "#c7c7c7",
    "neither": "#c7c7c7",
    "first": "#1f77b4",
    "second": "#ff7f0e",
    "both": "#d62728",
    "TP": "#2ca02c",
    "FP": "#d62728",
    "FN": "#ff7f0e",
    "TN": "#aec7e8",
    "real": "#7f7f7f",
    "generated": "#ff7f0e",
    "perturbation": "#9467bd",
    "noise": "#d9d9d9",
    "other": "#bdbdbd",
}


def _binary(frame: pd.DataFrame, label: str) -> pd.Series:
    if label not in frame.columns:
        raise WorkbenchError(
            f"map colour label {label!r}",
            expected="a label column of the map frame",
            got=f"columns {[c for c in frame.columns if c not in ('x', 'y')][:12]}",
        )
    v = frame[label].astype(float)
    return pd.Series(np.where(v.isna(), -1, v), index=frame.index).astype(int)


def _top(values: pd.Series, missing: str, top: int) -> pd.Series:
    values = values.fillna(missing).astype(str)
    keep = [v for v in values[values != missing].value_counts().index[:top]]
    return values.where(values.isin(keep) | (values == missing), "other")


def colour_groups(
    frame: pd.DataFrame,
    mode: str,
    *,
    label: str | None = None,
    pair: Sequence[str] | None = None,
    thresholds: dict[str, float] | None = None,
    top: int = 12,
) -> pd.Series:
    """The colour group of every row for ``mode`` (one of :data:`COLOUR_MODES`), as strings.

    - ``label``: positive / negative / unknown for ``label``;
    - ``pair``: neither / first / second / both for the two labels of ``pair`` (unknown if either is);
    - ``error``: TP / FP / FN / TN of the model's ``p_<label>`` at ``thresholds[label]`` (unknown truth:
      unknown);
    - ``seed`` / ``batch``: the ``top`` largest, the rest ``other``, records without one ``real``;
    - ``origin``, ``split``; ``review``: accepted / pending / quarantined / real (active, no batch);
    - ``cluster``: the ``cluster`` column (``noise`` for -1).
    """
    if mode not in COLOUR_MODES:
        raise WorkbenchError("map colour mode", expected=f"one of {COLOUR_MODES}", got=repr(mode))
    if mode == "label":
        if label is None:
            raise WorkbenchError("colour by label", expected="label=NAME", got="no label")
        return _binary(frame, label).map({1: "positive", 0: "negative", -1: "unknown"})
    if mode == "pair":
        if not pair or len(pair) != 2:
            raise WorkbenchError("colour by label pair", expected="pair=(A, B)", got=repr(pair))
        a, b = _binary(frame, pair[0]), _binary(frame, pair[1])
        out = np.select(
            [(a < 0) | (b < 0), (a == 1) & (b == 1), a == 1, b == 1], ["unknown", "both", "first", "second"], "neither"
        )
        return pd.Series(out, index=frame.index)
    if mode == "error":
        col = f"p_{label}"
        if label is None or col not in frame.columns or not thresholds or label not in thresholds:
            raise WorkbenchError(
                f"colour by error type of {label!r}",
                expected=f"model scores ({col}) and a threshold for the label",
                got="no model scores for it",
                fix="build the map frame with model=MODEL_DIR",
            )
        truth, fired = _binary(frame, label), frame[col].to_numpy() >= thresholds[label]
        out = np.select([truth < 0, (truth == 1) & fired, truth == 1, fired], ["unknown", "TP", "FN", "FP"], "TN")
        return pd.Series(out, index=frame.index)
    if mode in ("seed", "batch"):
        return _top(frame[f"{mode}_id"], "real", top)
    if mode in ("origin", "split"):
        return frame[mode].astype(str)
    if mode == "review":
        status = frame["status"].astype(str)
        generated = frame["batch_id"].notna()
        return pd.Series(
            np.select(
                [status == "quarantined", status == "pending", generated],
                ["quarantined", "pending", "accepted"],
                "real",
            ),
            index=frame.index,
        )
    if "cluster" not in frame.columns:
        raise WorkbenchError(
            "colour by cluster",
            expected="a cluster column",
            got="none",
            fix="run workbench.maps.find_clusters(frame) first",
        )
    c = frame["cluster"].astype(int)
    return c.map(lambda v: "noise" if v < 0 else f"cluster {v}")


def hover_texts(frame: pd.DataFrame, labels: Sequence[str], *, chars: int = 60) -> list[str]:
    """Short hover lines: text (cut at ``chars``), known labels (+ positive, - negative), model scores of
    positive or high-scoring labels, seed and batch."""
    out = []
    score_cols = [f"p_{lab}" for lab in labels if f"p_{lab}" in frame.columns]
    cols = ["text", "seed_id", "batch_id", *labels, *score_cols]
    for row in frame[cols].itertuples(index=False, name=None):
        text, seed, batch = row[0], row[1], row[2]
        vals = row[3 : 3 + len(labels)]
        scores = dict(zip(score_cols, row[3 + len(labels) :]))
        short = text if len(text) <= chars else text[: chars - 1] + "…"
        known = " ".join(("+" if v == 1 else "-") + lab for lab, v in zip(labels, vals) if v == v)
        line = f"{short}<br>{known or 'no known labels'}"
        top = [f"{c[2:]} {p:.2f}" for c, p in scores.items() if p >= 0.3]
        if top:
            line += "<br>p: " + ", ".join(top)
        if seed:
            line += f"<br>{seed} · {batch}" if batch else f"<br>{seed}"
        out.append(line)
    return out


def _point_in_polygon(x: np.ndarray, y: np.ndarray, xs: Sequence[float], ys: Sequence[float]) -> np.ndarray:
    """Even-odd rule, vectorised over points (the rule plotly's lasso uses)."""
    inside = np.zeros(len(x), dtype=bool)
    n = len(xs)
    for i in range(n):
        x1, y1, x2, y2 = xs[i], ys[i], xs[(i + 1) % n], ys[(i + 1) % n]
        if y1 == y2:
            continue
        crosses = (y1 > y) != (y2 > y)
        at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < at)
    return inside


class EmbeddingMap:
    """The interactive map of a map frame (see the module docstring).

    Parameters
    ----------
    frame : DataFrame
        ``build_map(...).frame`` (``id``, ``text``, ``x``, ``y``, label columns, ``origin``, ``split``,
        ``status``, ``seed_id``, ``batch_id``; optional ``p_<label>`` and ``cluster``).
    labels : list of str
        The label columns to show.
    thresholds : dict, optional
        Per-label decision thresholds of the model whose ``p_<label>`` scores the frame carries.
    widget : bool
        A ``FigureWidget`` (notebooks: live selection) or a plain ``Figure`` (HTML files, tests).
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        labels: Sequence[str],
        *,
        thresholds: dict[str, float] | None = None,
        widget: bool = True,
        hover_chars: int = 60,
        height: int = 640,
    ):
        import plotly.graph_objects as go

        missing = {"id", "text", "x", "y"} - set(frame.columns)
        if missing:
            raise WorkbenchError(
                "map frame",
                expected="columns id, text, x, y",
                got=f"missing {sorted(missing)}",
                fix="build it with workbench.maps.build_map(project).frame",
            )
        self.frame = frame.reset_index(drop=True)
        self.labels = list(labels)
        self.thresholds = dict(thresholds or {})
        self._hover = np.array(hover_texts(self.frame, self.labels, chars=hover_chars), dtype=object)
        self._x = self.frame["x"].to_numpy(np.float32)
        self._y = self.frame["y"].to_numpy(np.float32)
        self._trace_rows: list[np.ndarray] = []
        self._selected: dict[int, np.ndarray] = {}
        self._listeners: list[Callable[[list[str]], None]] = []
        self.mode: tuple = ()
        self.groups = pd.Series(dtype=str)
        layout = dict(
            height=height,
            dragmode="lasso",
            template="plotly_white",
            margin=dict(l=10, r=10, t=40, b=10),
            xaxis=dict(visible=False),
            yaxis=dict(visible=False),
            legend=dict(itemsizing="constant"),
        )
        self.figure = go.FigureWidget(layout=layout) if widget else go.Figure(layout=layout)
        self.colour_by("review")

    # -------------------------------------------------------------- drawing
    def colour_by(self, mode: str, *, label: str | None = None, pair: Sequence[str] | None = None) -> EmbeddingMap:
        """Redraw with one trace per colour group of ``mode`` (see :func:`colour_groups`); keeps the selection."""
        import plotly.graph_objects as go

        groups = colour_groups(self.frame, mode, label=label, pair=pair, thresholds=self.thresholds)
        order = [g for g in _FIXED if g in set(groups)] + sorted(set(groups) - set(_FIXED))
        traces, rows = [], []
        for i, g in enumerate(order):
            idx = np.flatnonzero((groups == g).to_numpy())
            rows.append(idx)
            traces.append(
                go.Scattergl(
                    x=self._x[idx],
                    y=self._y[idx],
                    mode="markers",
                    name=f"{g} ({len(idx)})",
                    hovertext=self._hover[idx].tolist(),
                    hoverinfo="text",
                    marker=dict(
                        size=4 if len(self.frame) > 20_000 else 6,
                        opacity=0.7,
                        color=_FIXED.get(g, _PALETTE[i % len(_PALETTE)]),
                    ),
                )
            )
        chosen = self.selected_rows
        with self.figure.batch_update():
            self.figure.data = []
            self.figure.add_traces(traces)
            what = {"label": label, "pair": " × ".join(pair or ()), "error": label}.get(mode) or ""
            self.figure.layout.title = f"{len(self.frame):,} records · coloured by {mode} {what}".strip()
        self._trace_rows, self.mode, self.groups = rows, (mode, label, tuple(pair or ())), groups
        self._selected = {}
        self._set_rows(chosen)
        for t, trace in enumerate(self.figure.data):
            if hasattr(trace, "on_selection"):
                trace.on_selection(self._on_selection)
                trace.on_deselect(self._on_deselect)
                trace.on_click(self._on_click)
        return self

    # -------------------------------------------------------------- selection
    @property
    def selected_rows(self) -> np.ndarray:
        parts = [r for r in self._selected.values() if len(r)]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    @property
    def selected_ids(self) -> list[str]:
        """Store record ids of the current selection, in frame order."""
        return self.frame["id"].to_numpy()[self.selected_rows].tolist()

    def on_select(self, callback: Callable[[list[str]], None]) -> None:
        """Call ``callback(selected_ids)`` after every selection change."""
        self._listeners.append(callback)

    def _set_rows(self, rows: np.ndarray) -> list[str]:
        rows = np.asarray(rows, dtype=np.int64)
        mark = np.zeros(len(self.frame), dtype=bool)
        mark[rows] = True
        self._selected = {t: r[mark[r]] for t, r in enumerate(self._trace_rows)}
        any_selected = bool(mark.any())
        for t, trace in enumerate(self.figure.data):
            trace.selectedpoints = np.flatnonzero(mark[self._trace_rows[t]]).tolist() if any_selected else None
        ids = self.selected_ids
        for cb in self._listeners:
            cb(ids)
        return ids

    def select_rows(self, rows: Sequence[int]) -> list[str]:
        return self._set_rows(np.asarray(rows, dtype=np.int64))

    def select_ids(self, ids: Sequence[str]) -> list[str]:
        return self._set_rows(np.flatnonzero(self.frame["id"].isin(set(ids)).to_numpy()))

    def select_box(self, x: Sequence[float], y: Sequence[float]) -> list[str]:
        """Select the records with ``x[0] <= x <= x[1]`` and ``y[0] <= y <= y[1]``; returns their ids."""
        (x0, x1), (y0, y1) = sorted(x), sorted(y)
        return self._set_rows(np.flatnonzero((self._x >= x0) & (self._x <= x1) & (self._y >= y0) & (self._y <= y1)))

    def select_lasso(self, xs: Sequence[float], ys: Sequence[float]) -> list[str]:
        """Select the records inside the polygon (``xs``, ``ys``); returns their ids."""
        return self._set_rows(np.flatnonzero(_point_in_polygon(self._x, self._y, xs, ys)))

    def clear_selection(self) -> None:
        self._set_rows(np.zeros(0, dtype=np.int64))

    def _trace_index(self, trace) -> int:
        return next(i for i, t in enumerate(self.figure.data) if t is trace)

    def _on_selection(self, trace, points, selector) -> None:
        t = self._trace_index(trace)
        self._selected[t] = self._trace_rows[t][np.asarray(points.point_inds, dtype=np.int64)]
        if t == len(self.figure.data) - 1:  # plotly reports every trace of one event, in order
            for cb in self._listeners:
                cb(self.selected_ids)

    def _on_deselect(self, trace, points) -> None:
        self._selected.pop(self._trace_index(trace), None)

    def _on_click(self, trace, points, state) -> None:
        if self.mode[:1] != ("cluster",) or not points.point_inds:
            return
        t = self._trace_index(trace)
        cluster = self.frame["cluster"].iat[int(self._trace_rows[t][points.point_inds[0]])]
        if cluster >= 0:
            self.highlight_cluster(int(cluster))

    # -------------------------------------------------------------- linked views
    def highlight_pair(self, a: str, b: str) -> list[str]:
        """Colour by the pair and select the records carrying both (where the pair collides)."""
        self.colour_by("pair", pair=(a, b))
        return self._set_rows(np.flatnonzero((self.groups == "both").to_numpy()))

    def follow(self, heatmap) -> None:
        """Link an interference heatmap (a ``FigureWidget`` from ``interference_figure(..., widget=True)``):
        clicking a cell colours the map by that label pair and selects the records carrying both."""

        def picked(trace, points, state):
            if points.xs and points.ys and points.xs[0] != points.ys[0]:
                self.highlight_pair(str(points.ys[0]), str(points.xs[0]))

        heatmap.data[0].on_click(picked)

    def highlight_cluster(self, cluster: int) -> list[str]:
        """Select the members of one cluster (the ``cluster`` column)."""
        if "cluster" not in self.frame.columns:
            raise WorkbenchError(
                "highlight cluster",
                expected="a cluster column",
                got="none",
                fix="run workbench.maps.find_clusters(frame) first",
            )
        return self._set_rows(np.flatnonzero((self.frame["cluster"] == cluster).to_numpy()))

    # -------------------------------------------------------------- output
    def to_json(self) -> str:
        return self.figure.to_json()

    def payload_mb(self) -> float:
        """Size of the figure as sent to the browser (plotly JSON, numeric arrays typed), in MB."""
        return len(self.to_json().encode("utf-8")) / 1e6

    def write_html(self, path) -> None:
        """A standalone HTML file (plotly.js inlined: opens without a server or network)."""
        import plotly.io as pio

        from foundation import atomic_write_text

        fig = self.figure
        atomic_write_text(
            path,
            pio.to_html(fig, include_plotlyjs=True, full_html=True, config={"scrollZoom": True, "displaylogo": False}),
        )
