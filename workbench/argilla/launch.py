"""Entry points of the Argilla processes: ``python -m workbench.argilla.launch {server,worker,migrate,reindex}``.

Each one registers the embedded search engine (and the pinned hot-spot patches) *before* argilla-server
reads its settings, so the server, its rq worker and the maintenance commands all see the same engine.
They read their configuration from the ``ARGILLA_*`` environment that :mod:`workbench.argilla.stack` sets.
Migrations, owner creation and reindexing go through argilla-server's Python APIs, not its typer CLI
(which breaks with click >= 8.2).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path


def _prepare() -> None:
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from . import (
        engine,  # noqa: F401  registers the engine
        patches,
    )

    patches.apply()


def serve(host: str, port: int) -> None:
    _prepare()
    import uvicorn

    uvicorn.run(
        "argilla_server._app:app",
        host=host,
        port=port,
        workers=1,
        log_level=os.environ.get("WORKBENCH_ARGILLA_LOG_LEVEL", "warning"),
        access_log=False,
        timeout_graceful_shutdown=5,
    )


def work() -> None:
    _prepare()
    from argilla_server.jobs.queues import DEFAULT_QUEUE, HIGH_QUEUE, REDIS_CONNECTION
    from rq import Worker

    Worker([HIGH_QUEUE, DEFAULT_QUEUE], connection=REDIS_CONNECTION).work(with_scheduler=False)


def migrate() -> None:
    """Upgrade the database to the newest schema, then make sure the owner from the secrets file exists."""
    _prepare()
    from alembic import command
    from alembic.config import Config
    from argilla_server.database import ALEMBIC_CONFIG_FILE

    command.upgrade(Config(ALEMBIC_CONFIG_FILE), "head")
    secrets_file = os.environ.get("WORKBENCH_ARGILLA_SECRETS")
    if secrets_file:
        asyncio.run(_ensure_owner(json.loads(Path(secrets_file).read_text())))


async def _ensure_owner(secrets: dict) -> None:
    from argilla_server.contexts import accounts
    from argilla_server.database import AsyncSessionLocal
    from argilla_server.models import User, UserRole, Workspace

    async with AsyncSessionLocal() as db:
        if await accounts.get_user_by_username(db, secrets["username"]) is not None:
            return
        workspace = await Workspace.get_by(db, name=secrets["workspace"])
        if workspace is None:
            workspace = await Workspace.create(db, name=secrets["workspace"])
        await User.create(
            db,
            first_name=secrets["username"],
            username=secrets["username"],
            role=UserRole.owner,
            password_hash=accounts.hash_password(secrets["password"]),
            api_key=secrets["api_key"],
            workspaces=[workspace],
        )


def reindex(check_only: bool, repair: bool) -> int:
    """Compare the search index with the database; rebuild datasets that disagree (or all, without --check)."""
    _prepare()
    from .consistency import check_and_repair

    report = asyncio.run(check_and_repair(rebuild_all=not (check_only or repair), repair=repair or not check_only))
    print(json.dumps(report, indent=2, sort_keys=True))
    return 1 if check_only and (report["disagreeing"] or report["orphaned"]) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbench.argilla.launch")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("server")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=6900)
    sub.add_parser("worker")
    sub.add_parser("migrate")
    s = sub.add_parser("reindex")
    s.add_argument("--check", action="store_true", help="only report whether index and database agree (exit 1 if not)")
    s.add_argument("--repair", action="store_true", help="rebuild only the datasets that disagree")
    args = parser.parse_args(argv)
    if args.command == "server":
        serve(args.host, args.port)
    elif args.command == "worker":
        work()
    elif args.command == "migrate":
        migrate()
    elif args.command == "reindex":
        return reindex(args.check, args.repair)
    return 0


if __name__ == "__main__":
    sys.exit(main())
