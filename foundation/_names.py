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

__all__ = ["lazy_names", "moved_names", "warn_moved", "WorkbenchDeprecationWarning"]


class WorkbenchDeprecationWarning(DeprecationWarning):
    """A name or spelling of the workbench that still works for one release and then goes; the message says
    the new one. Its own class, so that a test run or a notebook can turn just these into errors
    (``-W error::foundation.WorkbenchDeprecationWarning``) without tripping on other libraries' warnings."""


def _declared(init_file: str) -> dict[str, str]:
    """name -> relative module, from the ``from .X import name`` (or ``..X``) lines of the file's ``if
    TYPE_CHECKING:``."""
    tree = ast.parse(Path(init_file).read_text(encoding="utf-8"))
    table: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.level and stmt.module:
                    for alias in stmt.names:
                        table[alias.asname or alias.name] = "." * stmt.level + stmt.module
    return table


class _LazyPackage(types.ModuleType):
    """A package whose public names may share their spelling with a submodule (``workbench.review.pull`` is
    a function and a module): importing the submodule must not put the module where the name is read."""

    _lazy_shadowed: frozenset[str] = frozenset()

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._lazy_shadowed and isinstance(value, types.ModuleType):
            return  # the import system binding the submodule; the public name stays the declared object
        super().__setattr__(name, value)


def warn_moved(old: str, new: str, *, stacklevel: int = 2) -> None:
    """Say that ``old`` (a name, a module, a method, a spelling) moved to ``new`` and goes in the next release,
    as a :class:`WorkbenchDeprecationWarning`; ``stacklevel`` as :func:`warnings.warn` counts it from the
    caller of this function (2: the caller's caller, the code that used the old spelling)."""
    import warnings

    warnings.warn(
        f"{old} moved to {new} (the old spelling goes in the next release)",
        WorkbenchDeprecationWarning,
        stacklevel=stacklevel + 1,
    )


def moved_names(package: str, moved: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for names that left ``package`` for another module: ``moved`` maps each old
    name to the package that has it now (``"curation.views"``), or to the package and the name it has there
    when it was renamed too (``"curation.views:write_data_report"``). Reading one works for one release, with a
    :class:`WorkbenchDeprecationWarning` naming the new path (each read warns; it is not cached)."""

    def __getattr__(name: str, _stacklevel: int = 2) -> Any:
        where = moved.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        where, _, new_name = where.partition(":")
        new_name = new_name or name
        warn_moved(f"{package}.{name}", f"{where}.{new_name}; import it from {where}", stacklevel=_stacklevel)
        return getattr(importlib.import_module(where), new_name)

    return __getattr__


def lazy_names(
    package: str, init_file: str, *, moved: dict[str, str] | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: a declared name is imported from its module when first
    read (then kept as a plain attribute); a submodule (``curation.store._store``) is imported when read. A declared
    name spelled like a submodule stays the declared object however the submodule is imported. A name in
    ``moved`` (old name -> the package that has it now) still reads, with a deprecation warning
    (:func:`moved_names`)."""
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

    old_names = moved_names(package, moved or {})

    def __getattr__(name: str) -> Any:
        where = table.get(name)
        if where is None:
            if (folder / f"{name}.py").exists() or (folder / name).is_dir():
                return importlib.import_module(f"{package}.{name}")
            return old_names(name, 3)  # the warning points at the reader, not at this function
        value = getattr(importlib.import_module(where, package), name)
        object.__setattr__(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(table))

    return __getattr__, __dir__
