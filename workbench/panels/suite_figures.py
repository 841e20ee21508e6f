"""Functional suites in a notebook: the pass rate of each minimum-functionality test for one or more models,
beside the failure rate of each invariance and directional test (CheckList's other two kinds), as bar charts
with each test's limit marked, and the side-by-side table behind them."""

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
    out["type"] = first["type"] if "type" in first else "mft"
    return out


def suite_figure(results: Mapping[str, object], *, title: str = "functional suite, test side"):
    """Grouped bars, one bar per model: on the left each minimum-functionality test's pass rate with its
    minimum marked; on the right, when the suite has them, each invariance and directional test's failure rate
    (the share of perturbed cases whose decision changed, or whose score moved the wrong way) with its
    maximum marked."""
    from plotly.subplots import make_subplots

    table = suite_comparison(results)
    mft, perturbed = table[table["type"] == "mft"], table[table["type"] != "mft"]
    cols = 2 if len(perturbed) else 1
    fig = make_subplots(
        rows=1,
        cols=cols,
        column_widths=[0.7, 0.3][:cols] if cols == 2 else None,
        subplot_titles=["pass rate (must get the label)", "failure rate (invariance, direction)"][:cols],
    )
    colours = dict(zip(results, ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2")))
    for col, part, value, limit in ((1, mft, lambda r: r, "minimum"), (2, perturbed, lambda r: 1 - r, "maximum")):
        if col > cols:
            break
        for name in results:
            fig.add_bar(
                x=part.index,
                y=value(part[name]),
                name=name,
                legendgroup=name,
                showlegend=col == 1,
                marker_color=colours.get(name),
                hovertemplate="%{x}: %{y:.3f}<extra>" + name + "</extra>",
                row=1,
                col=col,
            )
        fig.add_scatter(
            x=part.index,
            y=value(part["min_pass"]),
            mode="markers",
            name=limit,
            marker={"symbol": "line-ew-open", "size": 28, "color": "black"},
            row=1,
            col=col,
        )
    fig.update_layout(title=title, barmode="group", height=440)
    fig.update_yaxes(range=[0, 1.05], title_text="pass rate", row=1, col=1)
    if cols == 2:
        fig.update_yaxes(range=[0, 1.05], title_text="failure rate", row=1, col=2)
    return fig


def turns_figure(results: Mapping[str, object], *, title: str = "the loop, turn by turn: test-side pass rate"):
    """One line per functionality across the models of a loop (``{"M0": result, "M1": ...}``, e.g.
    ``workbench.turns.TurnHistory.results()``): the turns that moved a functionality, and where it stalled.
    Known gaps are dotted; minimum-functionality tests only (:func:`suite_figure` shows the invariance and
    directional tests' failure rates)."""
    import plotly.graph_objects as go

    table = suite_comparison(results)
    table = table[table["type"] == "mft"]  # the perturbation tests' rates: suite_figure
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
