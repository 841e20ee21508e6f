"""The Argilla connection: ``ARGILLA_API_URL`` / ``ARGILLA_API_KEY`` (as ``workbench server env`` prints
them), else the running local stack of ``home`` (default: the default stack home)."""

from __future__ import annotations

import os

from curation import WorkbenchError

__all__ = ["connect"]


def connect(home=None, *, timeout: float = 120.0):
    """An ``argilla.Argilla`` client (the key is never printed)."""
    import argilla as rg

    url, key = os.environ.get("ARGILLA_API_URL"), os.environ.get("ARGILLA_API_KEY")
    if home is not None or not (url and key):
        from workbench.argilla import ServerStack, StackSettings

        try:
            env = ServerStack(StackSettings.from_env(home=home)).env()
        except WorkbenchError as e:
            raise WorkbenchError(
                "Argilla connection",
                expected="ARGILLA_API_URL and ARGILLA_API_KEY, or a running local stack",
                got=str(e),
                fix='workbench server start, then eval "$(workbench server env)"',
            ) from e
        url, key = env["ARGILLA_API_URL"], env["ARGILLA_API_KEY"]
    return rg.Argilla(api_url=url, api_key=key, timeout=timeout)
