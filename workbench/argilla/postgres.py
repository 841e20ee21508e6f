"""A throwaway PostgreSQL cluster on 127.0.0.1, for tests, benches and a local trial of the scale-out stack.

    with LocalPostgres() as pg:                 # initdb + pg_ctl start in a temporary directory
        pg.database_url("argilla")              # postgresql+asyncpg://postgres:***@127.0.0.1:PORT/argilla
    # stopped and deleted here

It uses the server binaries of the machine (``$WORKBENCH_PG_BIN``, else ``pg_config --bindir``, else
Debian's ``/usr/lib/postgresql/*/bin``). PostgreSQL refuses to run as root, so as root the cluster is
created and run as the ``postgres`` user (``runuser``); its directory is handed to that user. The
superuser password is random, written only to a 0600 file inside the cluster's directory (initdb reads it
from there), and authentication is scram-sha-256 on TCP loopback; the unix socket lives in the cluster's
directory too. Nothing here is meant for production data: a team's PostgreSQL is its own.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

from .processes import StackError, any_free_port

__all__ = ["LocalPostgres", "postgres_bin"]


def postgres_bin() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``; an error that says how to install them when none is found."""
    candidates = []
    if os.environ.get("WORKBENCH_PG_BIN"):
        candidates.append(os.environ["WORKBENCH_PG_BIN"])
    if shutil.which("pg_config"):
        done = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if done.returncode == 0:
            candidates.append(done.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    raise StackError(
        "PostgreSQL server binaries",
        expected="initdb and pg_ctl (Debian: apt install postgresql-15)",
        got=f"none in {candidates or 'any known place'}",
        fix="install the server package, or set WORKBENCH_PG_BIN to the folder holding initdb",
    )


class LocalPostgres:
    """One PostgreSQL cluster in a temporary directory, listening on 127.0.0.1 only."""

    def __init__(self, root: Optional[Path] = None, port: Optional[int] = None) -> None:
        self.root = Path(root) if root is not None else None  # default: a new temporary directory at start
        self.port = port
        self.user = "postgres"
        self.password = secrets.token_urlsafe(24)
        self.running = False
        self._own_root = root is None
        self._as_root = os.geteuid() == 0

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    # -- commands as the cluster's owner --------------------------------------------------------------

    def _run(self, argv: list[str], *, timeout: float = 120.0) -> subprocess.CompletedProcess:
        if self._as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=str(self.root))
        if done.returncode != 0:
            raise StackError(
                f"{Path(argv[argv.index('--') + 1] if '--' in argv else argv[0]).name} of the throwaway PostgreSQL",
                expected="exit 0",
                got=f"exit {done.returncode}: {(done.stderr or done.stdout).strip()[-1500:]}",
                fix=f"see {self.log}" if self.root and self.log.exists() else "check the PostgreSQL installation",
            )
        return done

    def start(self) -> LocalPostgres:
        """initdb and pg_ctl start; returns self. The binaries are looked up here (an error says how to
        install them), the directory and port chosen when not given."""
        self.bin = postgres_bin()
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="workbench-pg-"))
        try:
            self._initdb_and_start()
        except BaseException:
            self.stop()  # nothing half-made is left behind: the directory goes with it (when it is ours)
            raise
        return self

    def _initdb_and_start(self) -> None:
        self.port = self.port or any_free_port("127.0.0.1")
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        os.chmod(pwfile, 0o600)
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        try:
            self._run(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    self.user,
                    "--pwfile",
                    str(pwfile),
                    "-A",
                    "scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-instructions",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} "
            "-c max_connections=200 -c fsync=on"
        )
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"])
        self.running = True

    def create_database(self, name: str) -> str:
        """Create database ``name`` (owned by the superuser); returns its asyncpg URL."""
        env = {**os.environ, "PGPASSWORD": self.password}
        done = subprocess.run(
            [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        if done.returncode != 0:
            raise StackError(
                f"database {name!r} on the throwaway PostgreSQL",
                expected="created",
                got=done.stderr.strip()[-500:],
                fix=f"see {self.log}",
            )
        return self.database_url(name)

    def database_url(self, name: str, driver: str = "asyncpg") -> str:
        return f"postgresql+{driver}://{self.user}:{self.password}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.running:
            try:
                self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], timeout=60)
            finally:
                self.running = False
        if self._own_root and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
