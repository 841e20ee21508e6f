"""A package's public names, imported when first used.

``import curation`` (and so ``workbench --help``) must not pay for pandas, scikit-learn and SciPy before a
name that needs them is used. The package's ``__init__`` keeps its imports as they read, inside ``if
TYPE_CHECKING:`` (so editors, type checkers, the API docs and the layering test still see every name and
where it comes from); :func:`lazy_names` reads that block once and imports a name's module on first access.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from typing import Any, Callable

__all__ = ["lazy_names"]


def _declared(init_file: str) -> dict[str, str]:
    """name -> relative module, from the ``from .X import name`` lines of the file's ``if TYPE_CHECKING:``."""
    tree = ast.parse(Path(init_file).read_text(encoding="utf-8"))
    table: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.level == 1 and stmt.module:
                    for alias in stmt.names:
                        table[alias.asname or alias.name] = "." + stmt.module
    return table


def lazy_names(package: str, init_file: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: a declared name is imported from its module when first
    read (then kept as a plain attribute); a submodule (``curation._store``) is imported when read."""
    table: dict[str, str] = {}

    def __getattr__(name: str) -> Any:
        if not table:
            table.update(_declared(init_file))
        module = table.get(name)
        if module is None:
            if (Path(init_file).parent / f"{name}.py").exists() or (Path(init_file).parent / name).is_dir():
                return importlib.import_module(f"{package}.{name}")
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        if not table:
            table.update(_declared(init_file))
        return sorted(set(vars(sys.modules[package])) | set(table))

    return __getattr__, __dir__
