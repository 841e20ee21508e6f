from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
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


def _threads_per_worker() -> None:
    """Workers share the cores: each worker's torch, BLAS and ONNX Runtime get their share of the cores
    ($OMP_NUM_THREADS, which the subprocesses and kernels a test starts inherit), instead of each running
    as many threads as there are cores and the threads of two workers taking turns on them."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if workers.isdigit() and "OMP_NUM_THREADS" not in os.environ:
        share = str(max(1, (os.cpu_count() or 1) // int(workers)))
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[name] = share


def _shared_embeddings(config) -> None:
    """One embedding cache for the whole run ($WORKBENCH_SHARED_EMBEDDINGS, in a folder of its own): dozens of
    tests build projects over the same demo posts, and each would encode them again. Made by the process that
    starts the run (the workers inherit it) and removed when it ends; an outer setting is kept."""
    if os.environ.get("PYTEST_XDIST_WORKER") or os.environ.get("WORKBENCH_SHARED_EMBEDDINGS"):
        return
    folder = Path(tempfile.mkdtemp(prefix="workbench-test-embeddings-"))
    os.environ["WORKBENCH_SHARED_EMBEDDINGS"] = str(folder / "embeddings.sqlite")
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


def argilla_port(offset: int = 0) -> int:
    """A port in this worker's range, for tests that name one (offset from the range's first port)."""
    from workbench.argilla.processes import default_port

    return default_port() + offset


def pytest_configure(config):
    """A SIGTERM (a CI timeout, `kill`) ends the run like Ctrl-C, so fixtures still stop the servers
    they started (Argilla, JupyterLab, kernels run in sessions of their own and would outlive us)."""
    _worker_port_base()
    _threads_per_worker()
    _shared_embeddings(config)
    # Ray reads these when it is first imported, which in a worker may be another module's test: a test
    # cluster binds loopback only and reports nothing home, whichever module imports ray first
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

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


STRICT_DEPRECATIONS = (
    "import warnings\n"
    "from foundation import WorkbenchDeprecationWarning\n"
    "warnings.filterwarnings('error', category=DeprecationWarning, module='__main__')\n"
    "warnings.filterwarnings('error', category=WorkbenchDeprecationWarning)"
)
"""The first cell a notebook test runs (then drops): -W error::DeprecationWarning for what the notebook's own
code calls (a cell's module is ``__main__``), and for the workbench's own deprecations wherever they come from.
A blanket -W error::DeprecationWarning for the kernel is not usable: pydantic warns from inside argilla's SDK."""


def strict_notebook(nb):
    """``nb`` with :data:`STRICT_DEPRECATIONS` as its first cell."""
    import nbformat

    nb.cells.insert(0, nbformat.v4.new_code_cell(STRICT_DEPRECATIONS))
    return nb


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


# The modules that take longest (20 s to 8 min each in `make test` on two workers), longest first. `make test`
# runs the suite on two workers a module at a time (pytest-xdist --dist loadfile, so a module's fixtures are
# built once; --no-loadscope-reorder, so this order holds instead of xdist's most-tests-first): handing out
# the long modules first keeps one worker from starting a long one while the other idles at the end. Only
# the order changes: a module missing from the list runs after these, in collection order.
LONGEST_FIRST = (
    "tests/training/test_training_e2e.py",
    "tests/integration/test_review_loop.py",
    "tests/integration/test_notebooks_review.py",
    "tests/workbench/test_notebooks.py",
    "tests/integration/test_argilla_stack.py",
    "tests/integration/test_ray_jobs.py",
    "tests/integration/test_workbench_browser.py",
    "tests/workbench/test_maps_demo.py",
    "tests/training/test_training_config.py",
    "tests/training/test_encoders.py",
    "tests/workbench/test_panels.py",
    "tests/workbench/test_generate_offline.py",
    "tests/integration/test_argilla_postgres.py",
    "tests/workbench/test_generate.py",
    "tests/integration/test_wheel_install.py",
    "tests/training/test_families.py",
    "tests/training/test_hierarchy.py",
    "tests/workbench/test_maps.py",
    "tests/integration/test_map_browser.py",
    "tests/integration/test_workbench_run.py",
    "tests/workbench/test_concurrency.py",
    "tests/curation/test_importers.py",
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
