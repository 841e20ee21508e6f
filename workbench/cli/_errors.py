"""A user's mistake as one line of what/expected/got/fix, never a traceback.

The project's own :class:`curation.WorkbenchError` already says it; a file that is missing, unreadable or a
folder (``OSError``), a YAML or JSON syntax error in a file the user wrote, and a verb of an extra that is
not installed are put in the same shape here. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import json

__all__ = ["user_error"]

_OS_FIX = {
    errno.ENOENT: "check the path (it is taken relative to the current folder)",
    errno.EISDIR: "give a file, not a folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
    errno.EACCES: "make it readable (and writable where the verb writes) by you",
    errno.EPERM: "make it readable (and writable where the verb writes) by you",
    errno.ENOSPC: "free some disk space and run it again",
}


def _os_error(e: OSError) -> str:
    where = e.filename if e.filename is not None else "a file"
    what = e.strerror or type(e).__name__
    fix = _OS_FIX.get(e.errno or 0, "check the path and its permissions")
    return f"{where}: {what.lower()}; {fix}"


def _yaml_error(e: Exception) -> str | None:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    if mark is None:
        return None
    problem = getattr(e, "problem", None) or "a YAML syntax error"
    return (
        f"{mark.name}, line {mark.line + 1}, column {mark.column + 1}: {problem}; expected valid YAML "
        "(indent with spaces, quote values that hold ':' or '#'); fix the file there"
    )


def user_error(e: BaseException, verb: str) -> str | None:
    """The message for ``e`` if it is a user's mistake, else None (a bug: let its traceback show).

    >>> user_error(FileNotFoundError(2, "No such file or directory", "posts.jsonl"), "workbench predict")
    'posts.jsonl: no such file or directory; check the path (it is taken relative to the current folder)'
    """
    from curation import WorkbenchError

    if isinstance(e, WorkbenchError):
        return str(e)
    if isinstance(e, ModuleNotFoundError):  # a verb of an extra that is not installed: say how to install it
        from .._extras import hint_for

        hint = hint_for(e, verb)
        return None if hint is None else str(hint)
    if isinstance(e, OSError):
        return _os_error(e)
    if isinstance(e, json.JSONDecodeError):
        return f"line {e.lineno}, column {e.colno}: {e.msg}; expected valid JSON; fix the file there"
    if type(e).__module__.split(".")[0] == "yaml":
        return _yaml_error(e)
    if isinstance(e, UnicodeDecodeError):
        return f"a file is not UTF-8 text ({e.reason} at byte {e.start}); save it as UTF-8"
    return None
