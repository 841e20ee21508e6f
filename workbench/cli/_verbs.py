"""Declaring a verb in one call: its name, handler, help line and arguments."""

from __future__ import annotations

import argparse
from typing import Any, Callable

DIR = ("dir",)
MODEL = ("model",)
JSON = ("--json", {"action": "store_true", "help": "print JSON"})
REQUIRE_PASS = (
    "--require-pass",
    {
        "action": "store_true",
        "help": "refuse a model whose serving variant did not pass its gate unless it is the promoted model "
        "(without it: a warning on stderr, and gate_passed: false on every row)",
    },
)


def add_verb(
    sub: argparse._SubParsersAction,
    name: str,
    func: Callable[[argparse.Namespace], int],
    help: str,
    *arguments: tuple[Any, ...],
) -> argparse.ArgumentParser:
    """Add subcommand ``name`` bound to ``func``; each argument is ``(flag, ..., {add_argument options})``
    (the options mapping may be left out)."""
    parser = sub.add_parser(name, help=help)
    for arg in arguments:
        flags, opts = (arg[:-1], arg[-1]) if isinstance(arg[-1], dict) else (arg, {})
        parser.add_argument(*flags, **opts)
    parser.set_defaults(func=func)
    return parser


# The heavy steps over every record (embed, score, error mining, map placement) run in this process, or
# on a Ray cluster as Ray Data jobs with --ray (see training._batchjobs).
RAY = (
    (
        "--ray",
        {
            "metavar": "auto|local|ADDRESS",
            "help": "run the heavy steps as Ray Data jobs: 'auto' (this machine's cluster, else a new one here), "
            "'local' (a new one on this machine) or HOST:PORT (needs the [scale] extra)",
        },
    ),
    ("--actors", {"type": int, "help": "with --ray: actors in the pool (default one per CPU, or per GPU)"}),
)


def jobs_of(args):
    """The batch jobs the ``--ray`` / ``--actors`` flags ask for (this process without ``--ray``)."""
    from training import batch_jobs

    return batch_jobs(args.ray, actors=args.actors) if args.ray else batch_jobs()
