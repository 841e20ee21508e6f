"""The one interface the workbench talks to Argilla through: start / stop / status / env / reindex.

Two kinds satisfy it:

- :class:`~workbench.argilla.stack.ServerStack`, the **embedded** stack (argilla-server, our SQLite search
  engine, SQLite and Valkey, all under one home on 127.0.0.1), or the same server processes against an
  external PostgreSQL / Elasticsearch / Redis;
- :class:`ExternalArgilla`, an Argilla someone else runs (a Docker container, a hosted space): a URL and
  an API key read from a file. ``start`` only checks that it answers; ``stop`` never stops it; its search
  index is its operator's, so ``reindex`` says so instead of touching it.

Everything above this package (``workbench run``, the review loops, the panels) needs only ``env()``:
``ARGILLA_API_URL`` and ``ARGILLA_API_KEY``.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional, Protocol, runtime_checkable

from .processes import StackError, require_private

__all__ = ["ArgillaBackend", "ExternalArgilla", "argilla_backend"]


@runtime_checkable
class ArgillaBackend(Protocol):
    """What the workbench needs of an Argilla, whoever runs it."""

    def start(self, timeout: float = 60.0) -> dict:
        """Make it answer; returns ``status()`` plus ``already_running`` (and ``seconds``)."""

    def stop(self) -> list[str]:
        """Stop what this backend started; returns the names of the processes stopped."""

    def status(self) -> dict:
        """``{"running": bool, "url": str | None, "secrets_file": str, ...}``."""

    def env(self) -> dict:
        """``{"ARGILLA_API_URL": ..., "ARGILLA_API_KEY": ...}`` for the SDK and the notebooks."""

    def reindex(self, check: bool = False, repair: bool = False) -> tuple[int, dict]:
        """Compare the search index with the database (``check``), repair it (``repair``), or rebuild it."""


class ExternalArgilla:
    """An Argilla run elsewhere (Docker, hosted): ``url`` and the API key in ``key_file`` (mode 0600).

    The key is read from a file, never from the command line, so it stays out of shell histories and
    process listings.
    """

    def __init__(self, url: str, key_file) -> None:
        self.url = url.rstrip("/")
        self.key_file = Path(key_file).expanduser()

    def _key(self) -> str:
        if not self.key_file.exists():
            raise StackError(
                f"the API key file {self.key_file} of {self.url} does not exist; write the owner's "
                "key into it (chmod 600) and start again."
            )
        require_private(self.key_file)
        key = self.key_file.read_text().strip()
        if not key:
            raise StackError(f"{self.key_file} is empty; expected the API key of {self.url}.")
        return key

    def _answer(self, timeout: float = 5.0) -> Optional[str]:
        """None when the server accepts the key, else what went wrong."""
        request = urllib.request.Request(self.url + "/api/v1/me", headers={"X-Argilla-Api-Key": self._key()})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return None if response.status == 200 else f"HTTP {response.status}"
        except urllib.error.HTTPError as e:
            return f"HTTP {e.code}" + (" (the API key was refused)" if e.code in (401, 403) else "")
        except (urllib.error.URLError, OSError) as e:
            return str(getattr(e, "reason", e))

    def status(self) -> dict:
        problem = self._answer()
        return {
            "home": None,
            "running": problem is None,
            "stale": False,
            "url": self.url,
            "secrets_file": str(self.key_file),
            "components": {},
            "external": {"argilla": self.url},
            **({"problem": problem} if problem else {}),
        }

    def start(self, timeout: float = 60.0) -> dict:
        problem = self._answer(timeout=min(timeout, 30.0))
        if problem is not None:
            raise StackError(
                f"the Argilla at {self.url} did not answer as expected ({problem}); start it there "
                "(or check the URL and the key file), then try again."
            )
        return {**self.status(), "already_running": True, "seconds": 0.0}

    def stop(self) -> list[str]:
        return []  # never ours to stop

    def env(self) -> dict:
        return {"ARGILLA_API_URL": self.url, "ARGILLA_API_KEY": self._key()}

    def reindex(self, check: bool = False, repair: bool = False) -> tuple[int, dict]:
        raise StackError(
            f"the search index of the Argilla at {self.url} belongs to whoever runs it; reindex it "
            "there (argilla-server's own reindex command)."
        )


def argilla_backend(*, url: str | None = None, key_file=None, home=None, port: int | None = None) -> ArgillaBackend:
    """The backend to use: an external Argilla when a URL is given (``url`` or ``$WORKBENCH_ARGILLA_URL``,
    with ``key_file`` or ``$WORKBENCH_ARGILLA_KEY_FILE``), else the embedded stack under ``home``."""
    url = url or os.environ.get("WORKBENCH_ARGILLA_URL") or None
    if url:
        key_file = key_file or os.environ.get("WORKBENCH_ARGILLA_KEY_FILE")
        if not key_file:
            raise StackError(
                f"an external Argilla ({url}) needs its API key in a file: pass --argilla-key-file "
                "FILE (or set WORKBENCH_ARGILLA_KEY_FILE)."
            )
        return ExternalArgilla(url, key_file)
    from .stack import ServerStack, StackSettings

    return ServerStack(StackSettings.from_env(home=home, port=port))
