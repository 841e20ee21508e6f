from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from curation import Project, Taxonomy

REPO = Path(__file__).resolve().parents[1]


def _worker_port_base() -> None:
    """Each pytest-xdist worker (gw0, gw1, ...) starts its Argilla stacks from its own first port, 400 apart
    (gw0 6900, gw1 7300, ...; the SDK suites `make test` runs beside take 7100): a port is checked free before
    the server binds it, so two workers starting a stack at once would otherwise both pick 6900."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and worker[2:].isdigit():
        os.environ["WORKBENCH_ARGILLA_PORT"] = str(6900 + 400 * int(worker[2:]))


def argilla_port(offset: int = 0) -> int:
    """A port in this worker's range, for tests that name one (offset from the range's first port)."""
    return int(os.environ.get("WORKBENCH_ARGILLA_PORT") or 6900) + offset


def pytest_configure(config):
    """A SIGTERM (a CI timeout, `kill`) ends the run like Ctrl-C, so fixtures still stop the servers
    they started (Argilla, JupyterLab, kernels run in sessions of their own and would outlive us)."""
    _worker_port_base()

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


# The modules that take longest (minutes each, measured in `make test`), longest first. `make test` runs the
# suite on parallel workers a module at a time (pytest-xdist --dist loadfile, so a module's fixtures are built
# once); handing out the long modules first keeps one worker from starting a long one while the other idles
# at the end. Only the order changes: a module missing from the list runs after these, in collection order.
LONGEST_FIRST = (
    "tests/integration/test_review_loop.py",
    "tests/training/test_training_e2e.py",
    "tests/integration/test_notebooks_review.py",
    "tests/integration/test_ray_jobs.py",
    "tests/integration/test_workbench_browser.py",
    "tests/workbench/test_notebooks.py",
    "tests/integration/test_argilla_stack.py",
    "tests/integration/test_argilla_postgres.py",
    "tests/training/test_encoders.py",
    "tests/workbench/test_maps_demo.py",
    "tests/integration/test_wheel_install.py",
    "tests/workbench/test_panels.py",
    "tests/integration/test_workbench_run.py",
)


def pytest_collection_modifyitems(session, config, items):
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def key(item):
        path = Path(item.path).resolve()
        module = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)
        return rank.get(module, len(rank))

    items.sort(key=key)  # stable: tests keep their order inside a module
