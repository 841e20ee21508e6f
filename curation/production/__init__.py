"""Production posts: reading a production log (every row checked, problems with file, line and field) and
the production pool (scored posts, no split until labelled and never holdout; moderator decisions as labels,
reports and appeals as signals).

Part of ``curation`` (imports ``foundation`` and the rest of ``curation`` only).
"""

from typing import TYPE_CHECKING

from foundation import lazy_names

if TYPE_CHECKING:  # the public names and their modules; imported on first use (foundation.lazy_names)
    from ._log import FEEDBACK_TYPES, parse_time
    from ._pool import (
        DEFAULT_PRODUCTION_SPLITS,
        PRODUCTION_ORIGIN,
        PRODUCTION_SPLITS,
        ProductionSummary,
        production_records,
        production_split,
    )

__all__ = [
    "FEEDBACK_TYPES",
    "parse_time",
    "DEFAULT_PRODUCTION_SPLITS",
    "PRODUCTION_ORIGIN",
    "PRODUCTION_SPLITS",
    "ProductionSummary",
    "production_records",
    "production_split",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
