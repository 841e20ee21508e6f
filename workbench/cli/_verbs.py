"""Declaring a verb in one call: its name, handler, help line and arguments."""

from __future__ import annotations

import argparse
from typing import Any, Callable

DIR = ("dir",)
MODEL = ("model",)
JSON = ("--json", {"action": "store_true", "help": "print JSON"})


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
