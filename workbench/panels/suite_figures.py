"""Functional suites in a notebook: the pass rate of each functionality for one or more models, as a bar
chart with each functionality's minimum marked, and the side-by-side table behind it."""

from __future__ import annotations

from typing import Mapping

import pandas as pd

__all__ = ["suite_comparison", "suite_figure", "turns_figure"]


def suite_comparison(results: Mapping[str, object]) -> pd.DataFrame:
    """``{model name: SuiteResult}`` -> one row per functionality: each model's pass rate, the minimum,
    the cases, whether it is a known gap."""
    frames = []
    for name, result in results.items():
        f = result.functionalities
        frames.append(f["pass_rate"].rename(name))
    first = next(iter(results.values())).functionalities
    out = pd.concat(frames, axis=1)
    out["min_pass"], out["cases"], out["known_gap"] = first["min_pass"], first["cases"], first["known_gap"]
    return out


def suite_figure(results: Mapping[str, object], *, title: str = "functional suite, test side: pass rate"):
    """A grouped bar chart: one group per functionality, one bar per model, its minimum as a marker."""
    import plotly.graph_objects as go

    table = suite_comparison(results)
    fig = go.Figure()
    for name in results:
        fig.add_bar(x=table.index, y=table[name], name=name, hovertemplate="%{x}: %{y:.2f}<extra>" + name + "</extra>")
    fig.add_scatter(
        x=table.index,
        y=table["min_pass"],
        mode="markers",
        name="minimum",
        marker={"symbol": "line-ew-open", "size": 28},
    )
    fig.update_layout(title=title, barmode="group", yaxis={"range": [0, 1.05], "title": "pass rate"}, height=420)
    return fig


def turns_figure(results: Mapping[str, object], *, title: str = "the loop, turn by turn: test-side pass rate"):
    """One line per functionality across the models of a loop (``{"M0": result, "M1": ...}``, e.g.
    ``workbench.turns.TurnHistory.results()``): the turns that moved a functionality, and where it stalled.
    Known gaps are dotted."""
    import plotly.graph_objects as go

    table = suite_comparison(results)
    models = list(results)
    fig = go.Figure()
    for name, row in table.iterrows():
        fig.add_scatter(
            x=models,
            y=[row[m] for m in models],
            mode="lines+markers",
            name=str(name),
            line={"dash": "dot" if row["known_gap"] else "solid"},
            hovertemplate=f"{name}" + " after %{x}: %{y:.2f}<extra></extra>",
        )
    fig.update_layout(
        title=title,
        xaxis={"title": "model (M0 = the start, Mk = after turn k)"},
        yaxis={"range": [0, 1.05], "title": "pass rate"},
        height=460,
    )
    return fig
