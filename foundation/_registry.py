"""One small registry for every "name -> declaration" table of the workbench: import formats
(:data:`curation.ingest.FORMATS`), model families and training recipes (``training``), review datasets
(``workbench.review``). Adding refuses a name already taken; looking up a name that is not there says which
names are known and how to add one. A registry is a dict, so reading it needs nothing new.
"""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

from ._errors import WorkbenchError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(dict, Generic[T]):
    """Declarations of one ``kind`` by name.

    >>> colours = Registry("colour", fix="register it with add_colour()")
    >>> colours.add("red", "#f00")
    '#f00'
    >>> colours.lookup("blue")
    Traceback (most recent call last):
    ...
    foundation._errors.WorkbenchError: colour 'blue': expected one of ['red'], got 'blue'; register it with add_colour()
    """

    def __init__(self, kind: str, *, error: type[WorkbenchError] = WorkbenchError, fix: str | None = None):
        super().__init__()
        self.kind, self.error, self.fix = kind, error, fix

    def add(self, name: str, item: T, *, same: Callable[[T, T], bool] | None = None) -> T:
        """Register ``item`` as ``name``; a name already taken is refused unless ``same(old, item)`` says the
        two are one declaration (a module imported twice)."""
        old = self.get(name)
        if old is not None and not (same is not None and same(old, item)):
            raise self.error(
                f"{self.kind} {name!r}",
                expected="a name no other " + self.kind + " has",
                got=f"{_describe(old, self.kind)} already has it",
                fix=f"give the new {self.kind} another name",
            )
        self[name] = item
        return item

    def lookup(self, name: str, *, what: str | None = None, fix: str | None = None) -> T:
        """The declaration called ``name``, or an error naming the known ones."""
        if name not in self:
            raise self.error(
                what or f"{self.kind} {name!r}", expected=f"one of {list(self)}", got=repr(name), fix=fix or self.fix
            )
        return self[name]


def _describe(item, kind: str) -> str:
    if isinstance(item, type):
        return f"{item.__module__}.{item.__qualname__}"
    return f"a registered {kind}"
