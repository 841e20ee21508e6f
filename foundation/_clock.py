"""The one clock of the workbench: UTC, ISO-8601, microseconds (timestamps sort as text)."""

from __future__ import annotations

import datetime as _dt

__all__ = ["utc_now"]


def utc_now() -> str:
    """The current UTC time as ISO-8601 with microseconds (sorts as text).

    >>> utc_now()[:2], utc_now()[-6:]
    ('20', '+00:00')
    """
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")
