"""Files and processes of the local stack: private JSON files, free ports, log tails, and whether a pid
is still the very process the stack started (pids get reused)."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path
from typing import Optional

from curation import WorkbenchError, atomic_write_text

__all__ = ["StackError", "write_private", "read_private", "tail", "free_port", "any_free_port", "create_time",
           "is_ours"]


class StackError(WorkbenchError):
    """The stack could not be started, stopped or inspected; the message says why and what to do."""


# --------------------------------------------------------------------------------------------- files


def write_private(path: Path, data: dict) -> None:
    """Write JSON readable only by the user, atomically (a reader sees the old file or the new one)."""
    atomic_write_text(path, json.dumps(data, indent=2), mode=0o600)


def read_private(path: Path) -> dict:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise StackError(
            f"{path} is readable by other users (mode {mode:o}); it holds the owner's API key. "
            f"Run `chmod 600 {path}` and start again."
        )
    return json.loads(path.read_text())


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 64_000))
        text = fh.read().decode(errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def free_port(host: str, first: int, tries: int = 100) -> int:
    for port in range(first, first + tries):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            # as uvicorn binds: a port whose old connections linger in TIME_WAIT is free
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise StackError(f"no free port in {first}..{first + tries - 1} on {host}; pass --port to start elsewhere.")


def any_free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------- processes


def create_time(pid: int) -> Optional[float]:
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def is_ours(entry: dict) -> bool:
    """True when the pid in ``entry`` is still the very process we started (pids get reused)."""
    created = create_time(entry["pid"])
    return created is not None and abs(created - entry["create_time"]) < 0.05
