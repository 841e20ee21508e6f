"""One writer at a time: the project's write lock.

Every write to a project's store (an import, a review pull, a feedback import, generated batches, a
migration) holds one exclusive lock for the whole read-check-write: the duplicate and split checks of an
import read the store under the same lock that writes its records, so two imports started together can
never put one text in two splits. The lock is an advisory ``flock`` on a file beside the store, so the
kernel releases it when its process ends for any reason (Ctrl-C, SIGKILL): there is no stale lock to
clean up.

A second writer waits, bounded (``lock_timeout_s`` of workbench.yaml, or ``WORKBENCH_LOCK_TIMEOUT`` in
the environment; default :data:`DEFAULT_LOCK_TIMEOUT_S`), after saying on stderr who holds the lock (pid,
operation, command, since when) and how long it will wait. It then proceeds, or stops with a
:class:`~curation.StoreError` that says nothing was written.

The lock is re-entrant within a process (an import holds it and the store's transaction takes it
again), and threads of one process take turns.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from foundation import utc_now

from .._errors import StoreError

__all__ = ["DEFAULT_LOCK_TIMEOUT_S", "LOCK_TIMEOUT_ENV", "WriteLock", "lock_timeout"]

DEFAULT_LOCK_TIMEOUT_S = 300.0
LOCK_TIMEOUT_ENV = "WORKBENCH_LOCK_TIMEOUT"
_POLL_S = 0.05


def lock_timeout(configured: float | None = None) -> float:
    """The wait in seconds: the environment's ``WORKBENCH_LOCK_TIMEOUT``, else ``configured``, else the
    default. A value that is not a number of seconds >= 0 is an error that names it."""
    raw = os.environ.get(LOCK_TIMEOUT_ENV)
    value = raw if raw not in (None, "") else configured
    if value is None:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds >= 0:
        where = LOCK_TIMEOUT_ENV if raw not in (None, "") else "lock_timeout_s in workbench.yaml"
        raise StoreError(
            where, expected="a number of seconds >= 0", got=repr(value), fix="set it to e.g. 300, or 0 not to wait"
        )
    return seconds


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _Held:
    """The per-process state of one lock file: which thread holds it, how deeply, and the open file."""

    def __init__(self) -> None:
        self.mutex = threading.RLock()
        self.depth = 0
        self.fd: int | None = None


_HELD: dict[str, _Held] = {}
_HELD_GUARD = threading.Lock()


class WriteLock:
    """The exclusive write lock of the store at ``path`` (the lock file is ``path`` + ``.lock``).

    >>> import tempfile, pathlib
    >>> folder = tempfile.TemporaryDirectory()
    >>> lock = WriteLock(pathlib.Path(folder.name) / "store.sqlite", timeout=0)
    >>> with lock.hold("import"):
    ...     with lock.hold("transaction"):  # re-entrant
    ...         lock.holder()["operation"]
    'import'
    >>> folder.cleanup()
    """

    def __init__(self, path, *, timeout: float | None = None, notify: Callable[[str], None] | None = None):
        self.path = Path(str(path) + ".lock")
        self.timeout = lock_timeout() if timeout is None else float(timeout)
        self.notify = notify or _stderr
        with _HELD_GUARD:
            self._held = _HELD.setdefault(str(self.path.resolve()), _Held())

    def holder(self) -> dict:
        """Who holds (or last held) the lock, as its holder wrote it: pid, operation, command, since."""
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def _describe(self) -> str:
        h = self.holder()
        if not h:
            return "another process"
        command = f" by `{h['command']}`" if h.get("command") else ""
        since = str(h.get("since", "?"))[:19].replace("T", " ")
        return f"pid {h.get('pid', '?')} ({h.get('operation', '?')}{command}, since {since} UTC)"

    def _busy(self, operation: str, waited: float) -> StoreError:
        return StoreError(
            f"project store {self.path.with_suffix('')}: {operation} could not start",
            expected="the project's write lock",
            got=f"it is held by {self._describe()} after waiting {waited:.0f} s",
            fix=f"nothing was written; run it again when that finishes, or wait longer with {LOCK_TIMEOUT_ENV}=SECONDS "
            "(or lock_timeout_s in workbench.yaml)",
        )

    def _acquire_file(self, operation: str) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        start = time.monotonic()
        told = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    waited = time.monotonic() - start
                    if waited >= self.timeout:
                        raise self._busy(operation, waited) from None
                    if not told:
                        self.notify(
                            f"waiting for the project's write lock: held by {self._describe()}; "
                            f"{operation} waits up to {self.timeout:.0f} s"
                        )
                        told = True
                    time.sleep(_POLL_S)
        except BaseException:
            os.close(fd)
            raise
        if told:
            self.notify(f"write lock taken after {time.monotonic() - start:.1f} s; {operation} goes on")
        info = {
            "pid": os.getpid(),
            "operation": operation,
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:2]]) if sys.argv and sys.argv[0] else "",
            "since": utc_now(),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        return fd

    @contextlib.contextmanager
    def hold(self, operation: str) -> Iterator[None]:
        """Hold the lock for the block (re-entrant); waits at most ``timeout`` seconds for another holder."""
        held = self._held
        if not (held.mutex.acquire(timeout=self.timeout) if self.timeout > 0 else held.mutex.acquire(blocking=False)):
            raise self._busy(operation, self.timeout)
        try:
            if held.depth == 0:
                held.fd = self._acquire_file(operation)
            held.depth += 1
            try:
                yield
            finally:
                held.depth -= 1
                if held.depth == 0 and held.fd is not None:
                    fcntl.flock(held.fd, fcntl.LOCK_UN)
                    os.close(held.fd)
                    held.fd = None
        finally:
            held.mutex.release()
