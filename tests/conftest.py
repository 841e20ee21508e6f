from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from curation import Project, Taxonomy

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    """A SIGTERM (a CI timeout, `kill`) ends the run like Ctrl-C, so fixtures still stop the servers
    they started (Argilla, JupyterLab, kernels run in sessions of their own and would outlive us)."""

    def _interrupt(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)


def _find_shared_data() -> Path:
    """``$WORKBENCH_SHARED_DATA``, else ``../shared/data`` beside the checkout, else beside the repository this
    one was cloned from (a throwaway clone in a temporary folder still finds the public data)."""
    if os.environ.get("WORKBENCH_SHARED_DATA"):
        return Path(os.environ["WORKBENCH_SHARED_DATA"])
    beside = REPO.parent / "shared" / "data"
    if beside.exists():
        return beside
    try:
        origin = subprocess.run(
            ["git", "-C", str(REPO), "config", "--get", "remote.origin.url"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        origin = ""
    if origin and Path(origin).is_dir():
        candidate = Path(origin).resolve().parent / "shared" / "data"
        if candidate.exists():
            return candidate
    return beside


SHARED_DATA = _find_shared_data()
STARTER_TAXONOMY = REPO / "workbench" / "templates" / "taxonomy.yaml"


def shared(path: str) -> Path:
    p = SHARED_DATA / path
    if not p.exists():
        pytest.fail(
            f"public data file {p} is missing: the tests read ../shared/data beside the checkout "
            "(or beside the repository it was cloned from, or $WORKBENCH_SHARED_DATA)"
        )
    return p


@pytest.fixture
def small_taxonomy() -> Taxonomy:
    return Taxonomy.from_dict(
        {
            "name": "small",
            "labels": [
                {"name": "hate", "group": "safety", "tier": "T2"},
                {"name": "offensive", "group": "safety", "tier": "T3"},
                {"name": "hate_race", "group": "safety", "tier": "T3", "parent": "hate"},
                {"name": "scam", "group": "spam", "tier": "T2"},
                {"name": "spam", "group": "spam", "tier": "T4"},
            ],
        }
    )


@pytest.fixture
def project(tmp_path, small_taxonomy):
    p = Project.init(tmp_path / "proj", taxonomy=small_taxonomy)
    yield p
    p.close()


@pytest.fixture
def starter_project(tmp_path):
    p = Project.init(tmp_path / "starter", taxonomy=STARTER_TAXONOMY)
    yield p
    p.close()
