"""The demo project: a real-data slice, a taxonomy and a few seeds (see data/demo/README.md)."""

from __future__ import annotations

import os
from pathlib import Path

from curation import Project
from curation.ingest import ImportSummary

from ._resources import checkout_root, shipped_dir
from .argilla.processes import workbench_home

__all__ = ["demo_data_dir", "build_demo", "open_project", "starter_taxonomy_path"]

PROJECT_ENV = "WORKBENCH_PROJECT"


def starter_taxonomy_path() -> Path:
    """The starter taxonomy of the public datasets (``workbench init`` without ``--taxonomy``)."""
    return Path(__file__).resolve().parent / "templates" / "taxonomy.yaml"


def demo_data_dir() -> Path:
    """The demo data: ``data/demo`` of a checkout, or the copy inside an installed wheel."""
    return shipped_dir("demo")


def build_demo(root, *, progress=None) -> tuple[Project, list[tuple[str, ImportSummary]]]:
    """Create a demo project at ``root`` and load the demo data into it.

    Returns the project and one ``(what, summary)`` per import.
    """
    data = demo_data_dir()
    # the Davidson tweets double as the retrieval pool of `workbench generate --provider retrieval`
    project = Project.init(
        root, taxonomy=data / "taxonomy.yaml", name="demo", config={"generation": {"pool_sources": ["davidson"]}}
    )
    steps = [
        ("davidson slice", lambda: project.records.import_file(data / "davidson_slice.csv", "davidson")),
        (
            "openai moderation slice",
            lambda: project.records.import_file(data / "openai_moderation_slice.jsonl", "openai_moderation"),
        ),
        ("seeds and batches", lambda: project.seeds.import_file(data / "seeds.yaml")),
    ]
    done = []
    for what, step in steps:
        if progress is not None:
            progress(what)
        done.append((what, step()))
    return project, done


def default_demo_root() -> Path:
    """``build/demo`` of a checkout (what ``make run`` builds), else ``demo`` under the workbench home."""
    checkout = checkout_root()
    return checkout / "build" / "demo" if checkout is not None else workbench_home() / "demo"


def open_project(root=None) -> Project:
    """The project a notebook works on: ``root``, else ``$WORKBENCH_PROJECT``, else
    :func:`default_demo_root` — built from the demo data first when it does not exist yet."""
    root = Path(root or os.environ.get(PROJECT_ENV) or default_demo_root())
    if (root / "workbench.yaml").exists():
        return Project(root)
    return build_demo(root)[0]
