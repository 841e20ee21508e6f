"""The Argilla connection: ``ARGILLA_API_URL`` / ``ARGILLA_API_KEY`` (as ``workbench server env`` prints
them), else the backend :func:`workbench.argilla.argilla_backend` chooses: an external Argilla set with
``WORKBENCH_ARGILLA_URL`` (and its key file), else the running local stack of ``home`` — the same choice
``workbench run`` makes, so the review loops talk to the Argilla the team configured."""

from __future__ import annotations

import os

from curation import WorkbenchError

__all__ = ["connect"]


def connect(home=None, *, timeout: float = 120.0):
    """An ``argilla.Argilla`` client (the key is never printed)."""
    import argilla as rg

    url, key = os.environ.get("ARGILLA_API_URL"), os.environ.get("ARGILLA_API_KEY")
    if home is not None or not (url and key):
        from workbench.argilla import argilla_backend

        try:
            env = argilla_backend(home=home).env()
        except WorkbenchError as e:
            raise WorkbenchError(
                "Argilla connection",
                expected="ARGILLA_API_URL and ARGILLA_API_KEY, WORKBENCH_ARGILLA_URL with its key file, "
                "or a running local stack",
                got=str(e),
                fix='workbench server start, then eval "$(workbench server env)"',
            ) from e
        url, key = env["ARGILLA_API_URL"], env["ARGILLA_API_KEY"]
    try:
        return rg.Argilla(api_url=url, api_key=key, timeout=timeout)
    except Exception as e:  # the SDK checks the connection: say where it tried (never the key)
        raise WorkbenchError(
            f"Argilla connection to {url}",
            expected="an Argilla server that answers and accepts the API key",
            got=f"{type(e).__name__}: {e}",
            fix="start it (workbench server start, or wherever it runs) and check the URL and the key",
        ) from e
