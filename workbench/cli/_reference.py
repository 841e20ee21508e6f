"""The command-line reference as Markdown, written from the argparse definitions themselves.

The documentation site's CLI page (``docs/reference/cli.md``) is this text: a hook of the MkDocs build
(``tools/docs_hooks.py``) puts it in place of the page's ``<!-- cli-reference -->`` marker, so a verb added to a group appears on the
next ``make docs`` without anyone editing the page.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator

WIDTH = 100  # help text wrapped at a fixed width, so the page is the same on every terminal


def verbs(parser: argparse.ArgumentParser, prefix: str = "workbench") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command line the parser accepts, depth first: ``("workbench review pull", parser)``, ..."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                if name not in helps:
                    continue  # a hidden spelling kept for one release (`workbench feedback import`)
                sub.description = sub.description or helps.get(name)
                yield f"{prefix} {name}", sub
                yield from verbs(sub, f"{prefix} {name}")


def _help(parser: argparse.ArgumentParser, prog: str) -> str:
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(WIDTH)
    try:
        parser.prog = prog
        return parser.format_help().rstrip()
    finally:
        if before is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = before


def render(parser: argparse.ArgumentParser) -> str:
    """Markdown: ``workbench --help``, then one section per verb with its usage and options."""
    parts = ["## workbench", "", "```text", _help(parser, "workbench"), "```", ""]
    for prog, sub in verbs(parser):
        parts += [f"## {prog}", "", "```text", _help(sub, prog), "```", ""]
    return "\n".join(parts)
