"""One error shape for the whole workbench: what was expected, what arrived, how to fix it."""

from __future__ import annotations

__all__ = ["WorkbenchError"]


class WorkbenchError(ValueError):
    """Base error of the workbench.

    Parameters
    ----------
    what : str
        Short statement of the problem and where it is (file, line, field, label).
    expected : str, optional
        What the workbench expected.
    got : str, optional
        What arrived instead.
    fix : str, optional
        How to fix it.

    Examples
    --------
    >>> err = WorkbenchError("taxonomy.yaml: label 'spam'", expected="a tier in T1..T5",
    ...                      got="'T9'", fix="set tier to one of T1, T2, T3, T4, T5")
    >>> print(err)
    taxonomy.yaml: label 'spam': expected a tier in T1..T5, got 'T9'; set tier to one of T1, T2, T3, T4, T5
    """

    def __init__(self, what: str, *, expected: str | None = None, got: str | None = None, fix: str | None = None):
        self.what = what
        self.expected = expected
        self.got = got
        self.fix = fix
        super().__init__(self._render())

    def _render(self) -> str:
        msg = self.what
        parts = []
        if self.expected is not None:
            parts.append(f"expected {self.expected}")
        if self.got is not None:
            parts.append(f"got {self.got}")
        if parts:
            msg += ": " + ", ".join(parts)
        if self.fix:
            msg += f"; {self.fix}"
        return msg
