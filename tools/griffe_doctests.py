"""A griffe extension for the API pages: doctest examples in our docstrings become fenced code blocks.

Our docstrings are prose with ``>>>`` examples that pytest runs (``--doctest-modules``); Markdown would
read such lines as text (and ``x[0][1]`` as a link). Each run of ``>>>`` / ``...`` lines and the expected
output after them is put between three backticks; the docstrings themselves stay as doctest wants them.
"""

from __future__ import annotations

import griffe


def fence_doctests(text: str) -> str:
    out: list[str] = []
    inside = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(">>>") and not inside:
            out += ["```python"]
            inside = True
        elif inside and not stripped:
            out += ["```"]
            inside = False
        out.append(line.strip() if inside else line)
    if inside:
        out.append("```")
    return "\n".join(out)


class FenceDoctests(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
