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
import types
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


class _LazyPackage(types.ModuleType):
    """A package whose public names may share their spelling with a submodule (``workbench.review.pull`` is
    a function and a module): importing the submodule must not put the module where the name is read."""

    _lazy_shadowed: frozenset[str] = frozenset()

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._lazy_shadowed and isinstance(value, types.ModuleType):
            return  # the import system binding the submodule; the public name stays the declared object
        super().__setattr__(name, value)


def lazy_names(package: str, init_file: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: a declared name is imported from its module when first
    read (then kept as a plain attribute); a submodule (``curation._store``) is imported when read. A declared
    name spelled like a submodule stays the declared object however the submodule is imported."""
    table = _declared(init_file)
    folder = Path(init_file).parent
    module = sys.modules[package]
    shadowed = frozenset(n for n in table if (folder / f"{n}.py").exists() or (folder / n).is_dir())
    if shadowed:
        for name in shadowed & set(vars(module)):
            if isinstance(vars(module)[name], types.ModuleType):
                delattr(module, name)
        module.__class__ = _LazyPackage
        module._lazy_shadowed = shadowed

    def __getattr__(name: str) -> Any:
        where = table.get(name)
        if where is None:
            if (folder / f"{name}.py").exists() or (folder / name).is_dir():
                return importlib.import_module(f"{package}.{name}")
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where, package), name)
        object.__setattr__(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(table))

    return __getattr__, __dir__
