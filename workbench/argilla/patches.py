"""Small patches of argilla-server's hot spots, applied by the launcher. Pinned to argilla-server 2.8.0.

Each patch names the profile that justified it (see docs/argilla-embedded.md, "Profile"). They are applied
only when the installed argilla-server is the pinned version; on any other version the launcher runs the
server unpatched and says so in the log. ``WORKBENCH_ARGILLA_PATCHES=0`` turns them off (to compare).
"""

from __future__ import annotations

import logging
import os

PINNED_VERSION = "2.8.0"
_LOG = logging.getLogger("workbench.argilla")
_applied: list[str] = []


def applied() -> list[str]:
    """Names of the patches applied in this process."""
    return list(_applied)


def apply() -> list[str]:
    if _applied or os.environ.get("WORKBENCH_ARGILLA_PATCHES", "1") == "0":
        return applied()
    from argilla_server._version import __version__

    if __version__ != PINNED_VERSION:
        _LOG.warning("argilla-server %s is not the pinned %s: running without workbench patches",
                     __version__, PINNED_VERSION)
        return applied()
    for name, patch in _PATCHES:
        patch()
        _applied.append(name)
    return applied()


_PATCHES: list = []
