"""The ``workbench`` command: one module per verb group, each handler a few lines over a library function.

``project`` (init, import, stats, snapshot, export, report, seeds, quarantine, unquarantine),
``review`` (the Argilla review loops), ``generate`` (pending batches from approved seeds), ``suite``
(functional test suites: expand, status, run), ``map`` (the
embedding map, interference and clusters; tags), ``model`` (``workbench model
train|evaluate|gate|predict|promote|export``), ``batch`` (``embed``, ``score``: every record, in this
process or on a Ray cluster), ``production`` (``production-log import``, ``monitor``: the loop
after the model ships) and ``server`` (the local Argilla stack). A module registers its verbs with ``register(subparsers)`` and binds each to its
handler with ``set_defaults(func=...)``; a handler returns the exit code.

Library code raises :class:`curation.WorkbenchError` (the stack's ``StackError`` among them); only
:func:`main` turns it into ``error: ...`` on stderr and exit code 2. This package may import
``curation``, ``training`` and the other ``workbench`` packages; nothing imports it.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from . import batch, generate, maps, model, production_loop, project, review, server, suite
from ._errors import user_error
from ._reference import render as _render_reference

__all__ = ["main", "build_parser", "cli_reference", "GROUPS"]

GROUPS = (project, review, generate, suite, maps, model, batch, production_loop, server)


def build_parser() -> argparse.ArgumentParser:
    epilog = "verb groups:\n" + "\n".join(f"  {g.GROUP:<18}{g.SUMMARY}" for g in GROUPS)
    p = argparse.ArgumentParser(
        prog="workbench",
        description="Moderation data workbench.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return p


def cli_reference(parser: argparse.ArgumentParser | None = None) -> str:
    """The command-line reference as Markdown (every verb's ``--help``), written from ``parser`` (default:
    :func:`build_parser`); the documentation site's CLI page is this text."""
    return _render_reference(parser or build_parser())


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb. A user's mistake never ends in a traceback: the project's own errors, a missing or
    unreadable file, a YAML or JSON syntax error and a missing extra become one ``error: ...`` line (exit 2);
    Ctrl-C ends with "interrupted" (exit 130): every write to the store is one transaction, so the write
    under way is rolled back and the store is as it was before it."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(
            "\ninterrupted; nothing was written by the step under way (each write to the store is one "
            "transaction, rolled back when interrupted)",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:
        # the reader went away (`workbench stats DIR --json | head`): end quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as e:  # noqa: BLE001 - only a user's mistake is turned into a message; the rest re-raises
        message = user_error(e, f"workbench {args.command}")
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
