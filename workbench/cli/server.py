"""Server verbs: ``workbench server start | stop | status | logs | env | reindex`` for the local Argilla stack."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

GROUP = "server"
SUMMARY = "run DIR | server start | stop | status | logs | env | reindex  (the workbench; the Argilla stack)"


def _stack(args, **settings):
    from workbench.argilla import ServerStack, StackSettings

    return ServerStack(StackSettings.from_env(home=args.home, **settings))


def start(args) -> int:
    stack = _stack(
        args,
        host=args.host,
        port=args.port,
        allow_remote=args.allow_remote,
        database_url=args.database_url,
        search_url=args.search_url,
        search_engine=args.search_engine,
        redis_url=args.redis_url,
        servers=args.servers,
        workers=args.workers,
    )
    info = stack.start(timeout=args.timeout)
    pids = ", ".join(f"{n} {c['pid']}" for n, c in info["components"].items())
    if info["already_running"]:
        print(f"Argilla is already running at {info['url']} ({pids}).")
    else:
        print(f"Argilla is up at {', '.join(info['urls'])} after {info['seconds']:.1f} s ({pids}).")
    if info.get("made_private"):
        print(
            f"Made {len(info['made_private'])} files and folders under {info['home']} private (others could read them)."
        )
    print(f"Owner user, password and API key: {info['secrets_file']} (readable only by you).")
    print(
        'For the SDK in this shell:  eval "$(workbench server env'
        + (f" --home {args.home}" if args.home else "")
        + ')"'
    )
    return 0


def stop(args) -> int:
    stopped = _stack(args).stop()
    print(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def status(args) -> int:
    info = _stack(args).status()
    if args.json:
        print(json.dumps(info, indent=2))
    elif info["running"]:
        pids = ", ".join(f"{n} {c['pid']}" for n, c in info["components"].items())
        print(f"running at {info['url']} ({pids}); home {info['home']}")
    elif info["stale"]:
        dead = [n for n, c in info["components"].items() if not c["alive"]]
        print(
            f"not running: stale state from an earlier run ({', '.join(dead)} gone); "
            "`workbench server start` cleans it up"
        )
    else:
        print(f"not running (home {info['home']})")
    return 0 if info["running"] else 3


def logs(args) -> int:
    print(_stack(args).logs(args.component, args.lines))
    return 0


def env(args) -> int:
    for key, value in _stack(args).env().items():
        print(f"export {key}={value}")
    return 0


def reindex(args) -> int:
    code, report = _stack(args, database_url=args.database_url).reindex(check=args.check, repair=args.repair)
    print(json.dumps(report, indent=2))
    return code


def run(args) -> int:
    from workbench.argilla.backend import argilla_backend
    from workbench.session import WorkbenchSession, default_workbench_home

    home = Path(args.home or default_workbench_home())
    argilla = argilla_backend(
        url=args.argilla_url, key_file=args.argilla_key_file, home=home / "argilla", port=args.argilla_port
    )
    session = WorkbenchSession(args.dir, home=home, jupyter_port=args.jupyter_port, argilla=argilla)
    info = session.start(push=not args.no_push, timeout=args.timeout)
    print(f"JupyterLab: {info['jupyter_url']}", flush=True)
    print(f"Argilla: {info['argilla_url']}", flush=True)
    print(
        f"Jupyter token: in {info['token_file']}; Argilla owner user and API key: in {info['secrets_file']} "
        "(both readable only by you)",
        flush=True,
    )
    if info.get("live_review"):
        print(f"Live review: answers are applied as they arrive ({info['live_review']})", flush=True)
    print(f"JupyterLab log: {info['log_file']}. Ctrl-C stops JupyterLab and the stack this run started.", flush=True)
    session.wait()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("run", help="the workbench: Argilla (review datasets pushed) + JupyterLab on the notebooks")
    r.set_defaults(func=run)
    r.add_argument("dir", help="project directory")
    r.add_argument("--home", help="workbench home (default $WORKBENCH_HOME or ~/.workbench)")
    r.add_argument(
        "--argilla-port", type=int, help="first Argilla port to try (default $WORKBENCH_ARGILLA_PORT or 6900)"
    )
    r.add_argument(
        "--argilla-url",
        help="use an Argilla run elsewhere (Docker, hosted) instead of the embedded stack; or $WORKBENCH_ARGILLA_URL",
    )
    r.add_argument(
        "--argilla-key-file", help="file (mode 0600) holding that Argilla's API key; or $WORKBENCH_ARGILLA_KEY_FILE"
    )
    r.add_argument("--jupyter-port", type=int, help="JupyterLab port (default: a free one)")
    r.add_argument("--no-push", action="store_true", help="do not push the seed and batch review datasets")
    r.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for each server")
    s = sub.add_parser("server", help="the local Argilla stack: start | stop | status | logs | env | reindex")
    ssub = s.add_subparsers(dest="action", required=True, metavar="ACTION")
    for handler, text in (
        (start, "start Argilla (embedded search, SQLite, Valkey) and wait until it is healthy"),
        (stop, "stop every process this home's stack started"),
        (status, "is it running, where, which pids (exit 3 when not running)"),
        (logs, "the last lines of each process's log"),
        (env, "print the ARGILLA_API_URL / ARGILLA_API_KEY exports of the running stack"),
        (reindex, "rebuild the search index from Argilla's database"),
    ):
        a = ssub.add_parser(handler.__name__, help=text)
        a.set_defaults(func=handler)
        a.add_argument("--home", help="stack directory (default $WORKBENCH_ARGILLA_HOME or ~/.workbench/argilla)")
        if handler is start:
            a.add_argument("--host", default="127.0.0.1", help="bind address (loopback unless --allow-remote)")
            a.add_argument(
                "--port", type=int, help="first port to try, then the next free one ($WORKBENCH_ARGILLA_PORT or 6900)"
            )
            a.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
            a.add_argument(
                "--database-url",
                help="external PostgreSQL (default: SQLite under --home); or $WORKBENCH_ARGILLA_DATABASE_URL",
            )
            a.add_argument(
                "--search-url",
                help="external Elasticsearch/OpenSearch (default: embedded engine); or $WORKBENCH_ARGILLA_SEARCH_URL",
            )
            a.add_argument(
                "--search-engine",
                choices=["elasticsearch", "opensearch"],
                help="what --search-url is (default elasticsearch)",
            )
            a.add_argument("--redis-url", help="external Redis (default: embedded Valkey); or $REDIS_URL")
            a.add_argument(
                "--servers",
                type=int,
                default=1,
                help="argilla-server processes on consecutive ports over the same database, Redis and index "
                "(behind a load balancer; needs --database-url: SQLite is for one process)",
            )
            a.add_argument("--workers", type=int, default=1, help="background (rq) workers")
            a.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for health")
        if handler is status:
            a.add_argument("--json", action="store_true")
        if handler is logs:
            a.add_argument(
                "component", nargs="?", help="valkey, server, worker (server-2, worker-2, ...), migrate, reindex"
            )
            a.add_argument("-n", "--lines", type=int, default=50)
        if handler is reindex:
            a.add_argument(
                "--database-url", help="the stack's PostgreSQL (default: the running stack's, else SQLite under --home)"
            )
            g = a.add_mutually_exclusive_group()
            g.add_argument("--check", action="store_true", help="only compare; exit 1 when they disagree")
            g.add_argument("--repair", action="store_true", help="rebuild only the datasets that disagree")
