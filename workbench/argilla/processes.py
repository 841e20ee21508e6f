"""Files and processes of the local stack and of ``workbench run``: the workbench home, private JSON files,
free ports, log tails, starting a logged child in its own process group, stopping one, and whether a pid is
still the very process we started (pids get reused). The stack and the session share these helpers."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path
from typing import Optional

from curation import WorkbenchError
from foundation import atomic_write_text

__all__ = [
    "StackError",
    "workbench_home",
    "write_private",
    "require_private",
    "read_private",
    "tail",
    "default_port",
    "free_port",
    "any_free_port",
    "create_time",
    "is_ours",
    "spawn",
    "run_logged",
    "kill",
]


class StackError(WorkbenchError):
    """The stack could not be started, stopped or inspected; the message says why and what to do."""


def default_port() -> int:
    """The first port an embedded Argilla tries: ``$WORKBENCH_ARGILLA_PORT``, else 6900 (then the next free one).
    Two machines' worth of stacks on one host (parallel test workers, two users) each take their own range."""
    value = os.environ.get("WORKBENCH_ARGILLA_PORT") or "6900"
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise StackError(
            f"WORKBENCH_ARGILLA_PORT={value!r} is not a port: set it to a number from 1 to 65535 (or unset it for 6900)."
        )
    return int(value)


def workbench_home() -> Path:
    """``$WORKBENCH_HOME``, else ``~/.workbench``: where the session and (under ``argilla/``) the stack live."""
    return Path(os.environ.get("WORKBENCH_HOME") or Path.home() / ".workbench")


# --------------------------------------------------------------------------------------------- files


def write_private(path: Path, data: dict) -> None:
    """Write JSON readable only by the user, atomically (a reader sees the old file or the new one)."""
    atomic_write_text(path, json.dumps(data, indent=2), mode=0o600)


def make_private(folder: Path) -> list[str]:
    """Nothing under ``folder`` (itself included) readable, writable or searchable by group or others: what is
    is repaired, the owner's own bits kept (an executable stays executable). Returns the paths it repaired.
    Links are left alone, symbolic and hard: a file with more than one name shares its mode with every other
    name (package managers hard-link their caches into each environment), so tightening it here would tighten
    it there too; the stack writes its own files with one name. Callers check first that ``folder`` is a
    stack's home (``ServerStack._require_own_home``)."""
    repaired = []
    folder.mkdir(parents=True, exist_ok=True)
    for root, dirs, files in os.walk(folder):
        for path in [Path(root)] + [Path(root) / f for f in files]:
            try:
                st = path.lstat()
            except FileNotFoundError:  # a temporary file gone meanwhile
                continue
            if stat.S_ISLNK(st.st_mode) or not stat.S_IMODE(st.st_mode) & 0o077:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:  # another name elsewhere: not ours to change
                continue
            os.chmod(path, stat.S_IMODE(st.st_mode) & 0o700)
            repaired.append(str(path))
        dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink()]
    return repaired


def require_private(path: Path) -> None:
    """Refuse a secrets file that users other than its owner can read."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise StackError(
            f"{path} is readable by other users (mode {mode:o}); it holds an API key. "
            f"Run `chmod 600 {path}` and start again."
        )


def read_private(path: Path) -> dict:
    require_private(path)
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


def spawn(name: str, argv: list[str], env: dict, *, log_dir: Path, cwd: Path | None = None) -> dict:
    """Start ``argv`` in its own process group with its output appended to ``log_dir/NAME.log``.

    Returns ``{"pid", "create_time", "log"}`` (what :func:`is_ours` and :func:`kill` take); a process that
    exits at once is an error quoting its log."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    with open(log, "ab") as fh:
        fh.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}\n".encode())
        fh.flush()
        process = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            cwd=str(cwd) if cwd else None,
            umask=0o077,  # what the stack's processes write (databases, logs, Valkey's files) only the user reads
        )
    created = None
    for _ in range(50):
        created = create_time(process.pid)
        if created is not None:
            break
        time.sleep(0.01)
    if created is None:
        raise StackError(f"{name} exited at once; its log {log} says:\n{tail(log)}")
    return {"pid": process.pid, "create_time": created, "log": str(log)}


def run_logged(
    name: str,
    argv: list[str],
    env: dict,
    *,
    log_dir: Path,
    timeout: float,
    cwd: Path | None = None,
    capture: bool = False,
) -> str:
    """Run a step to its end with its output in ``log_dir/NAME.log`` (standard output returned instead
    when ``capture``); a failure or a time-out is an error quoting the log."""
    log = log_dir / f"{name}.log"
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as fh:
        fh.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {name}\n".encode())
        fh.flush()
        try:
            done = subprocess.run(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if capture else fh,
                stderr=fh,
                timeout=timeout,
                cwd=str(cwd) if cwd else None,
                umask=0o077,
            )
        except subprocess.TimeoutExpired:
            raise StackError(f"{name} took longer than {timeout:.0f} s; its log {log} says:\n{tail(log)}")
    if done.returncode != 0:
        raise StackError(f"{name} failed (exit {done.returncode}); its log {log} says:\n{tail(log)}")
    return done.stdout.decode() if capture else ""


def kill(entry: dict, grace: float = 10.0) -> bool:
    """SIGTERM the process group we started (SIGKILL after ``grace``); False if it was already gone."""
    if not is_ours(entry):
        return False
    pid = entry["pid"]
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_ours(entry):
            break
        time.sleep(0.05)
    else:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:  # reap it when it is our child (a start in this same process)
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return True
