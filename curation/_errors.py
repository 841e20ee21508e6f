"""The data layer's errors, each a :class:`foundation.WorkbenchError` (what was expected, what arrived, how
to fix it)."""

from __future__ import annotations

from foundation import WorkbenchError

__all__ = ["WorkbenchError", "TaxonomyError", "ImportValidationError", "StoreError"]


class TaxonomyError(WorkbenchError):
    """The taxonomy file is invalid, or does not match the data or model."""


class ImportValidationError(WorkbenchError):
    """An input file or frame could not be imported; nothing was written.

    ``problems`` holds every problem found (the message shows the first few).
    """

    def __init__(self, what: str, *, problems: list[str] | None = None, **kwargs):
        self.problems = list(problems or [])
        super().__init__(what, **kwargs)

    def _render(self) -> str:
        msg = super()._render()
        if self.problems:
            shown = self.problems[:10]
            more = len(self.problems) - len(shown)
            msg += "\n  - " + "\n  - ".join(shown)
            if more:
                msg += f"\n  ... and {more} more"
        return msg


class StoreError(WorkbenchError):
    """The record store was asked for something it cannot do (unknown seed, wrong project, ...)."""
