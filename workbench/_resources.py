"""The files that ship with the workbench: the notebooks, the demo data and the starter functional suites.

A built wheel carries them under ``workbench/_shipped/`` (see ``setup.py``); a source checkout (an
editable install) has them at ``notebooks/`` and ``data/demo/``. Either way callers get a folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from curation import WorkbenchError

__all__ = ["shipped_dir", "notebooks_dir", "checkout_root", "STARTER_SUITES", "add_starter_suites"]

_PACKAGE = Path(__file__).resolve().parent
_SUITE_MODELINE = "# yaml-language-server: $schema=../schemas/suite.schema.json\n"
_CHECKOUT = {"notebooks": ("notebooks",), "demo": ("data", "demo")}


def checkout_root() -> Path | None:
    """The source checkout this package runs from, or ``None`` for an installed wheel."""
    root = _PACKAGE.parent
    return root if (root / "pyproject.toml").exists() and (root / "notebooks").is_dir() else None


def shipped_dir(name: str) -> Path:
    """``notebooks`` or ``demo``: the wheel's copy, else the checkout's folder."""
    if name not in _CHECKOUT:
        raise WorkbenchError("shipped folder", expected=f"one of {sorted(_CHECKOUT)}", got=repr(name))
    packaged = _PACKAGE / "_shipped" / name
    if packaged.is_dir():
        return packaged
    root = checkout_root()
    if root is not None and root.joinpath(*_CHECKOUT[name]).is_dir():
        return root.joinpath(*_CHECKOUT[name])
    raise WorkbenchError(
        f"the workbench's {name}",
        expected=f"workbench/_shipped/{name} in the installed package",
        got="nothing there (an incomplete install)",
        fix="reinstall from a built wheel (pip install moderation-workbench) or a checkout",
    )


def notebooks_dir(copy_to: Path) -> Path:
    """The folder JupyterLab serves: a checkout's ``notebooks/`` in place (edits go to the repository);
    for an installed wheel, a copy under ``copy_to`` (notebooks a user already has there are kept, so
    their edits survive an upgrade), never the package's own files."""
    source = shipped_dir("notebooks")
    if not source.is_relative_to(_PACKAGE):
        return source
    copy_to.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.ipynb")):
        if not (copy_to / path.name).exists():
            shutil.copyfile(path, copy_to / path.name)
    return copy_to


STARTER_SUITES = _PACKAGE / "templates" / "suites"
"""The starter suites for the starter taxonomy's ``hate``, ``harassment`` and ``violence`` (ours, MIT)."""


def add_starter_suites(project) -> dict[str, str]:
    """Copy into ``DIR/suites/`` every starter suite whose labels the project's taxonomy has (one left
    out says why; a file already there is kept as the team edited it). Returns file -> what happened."""
    from curation.suites import load_suite

    out = {}
    target = project.layout.suites
    for path in sorted(STARTER_SUITES.glob("*.yaml")):
        try:
            load_suite(path, project.taxonomy)
        except WorkbenchError as e:
            out[path.name] = f"left out: {e}"
            continue
        if (target / path.name).exists():
            out[path.name] = "kept (already in the project)"
            continue
        target.mkdir(exist_ok=True)
        # first line: the suite schema (DIR/schemas, written by init; `workbench schema DIR` writes it again)
        (target / path.name).write_text(_SUITE_MODELINE + path.read_text(encoding="utf-8"), encoding="utf-8")
        out[path.name] = "added"
    return out
