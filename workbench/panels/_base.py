"""What every panel shares: display through its widget, HTML tables, a message line."""

from __future__ import annotations

import html

import pandas as pd

__all__ = ["Panel", "table_html"]


def table_html(
    frame: pd.DataFrame, *, red: pd.Series | None = None, caption: str | None = None, float_format: str = "{:.3f}"
) -> str:
    """A compact HTML table; rows where ``red`` is True are drawn in red."""
    if frame.empty:
        return f"<p><i>{html.escape(caption or '')} (none)</i></p>"
    head = "".join(
        f"<th style='text-align:left;padding:2px 8px'>{html.escape(str(c))}</th>"
        for c in [frame.index.name or "", *frame.columns]
    )
    rows = []
    for i, (idx, row) in enumerate(frame.iterrows()):
        style = " style='color:#c62828;font-weight:600'" if red is not None and bool(red.iloc[i]) else ""
        cells = [idx, *row.tolist()]
        tds = "".join(f"<td style='padding:2px 8px'>{html.escape(_fmt(v, float_format))}</td>" for v in cells)
        rows.append(f"<tr{style}>{tds}</tr>")
    cap = f"<caption style='text-align:left;font-weight:600'>{html.escape(caption)}</caption>" if caption else ""
    return f"<table class='workbench-table'>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _fmt(v, float_format: str) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "" if v != v else float_format.format(v)
    return "" if v is None else str(v)


class Panel:
    """Base: ``widget`` (an ipywidgets container) and ``message`` (the last status line)."""

    widget = None

    def __init__(self):
        import ipywidgets as w

        self._message = w.HTML()

    @property
    def message(self) -> str:
        return self._message.value

    def say(self, text: str, *, error: bool = False) -> None:
        colour = "#c62828" if error else "#333"
        self._message.value = f"<span style='color:{colour}'>{html.escape(text)}</span>"

    def _guarded(self, action) -> None:
        """Run a button's action; a refusal (``WorkbenchError``) becomes the panel's red message line."""
        from curation import WorkbenchError

        try:
            action()
        except WorkbenchError as e:
            self.say(f"error: {e}", error=True)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
