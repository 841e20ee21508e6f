"""Run Argilla's own SDK integration tests (argilla==2.8.0 sdist, tests/integration) against our embedded stack.

    python tools/argilla_sdk_tests.py [--keep] [--port N] [--database-url URL | --postgres] [-- extra pytest args]

Fetches the sdist once into build/argilla-sdk (from the package index, like any other install), starts a
stack in a fresh temporary home on the next free port from 6900 (``--port N``: from N; `make test` runs
the suites beside pytest from 7100, clear of the ports the tests' own stacks take), runs the suite with
ARGILLA_API_URL / ARGILLA_API_KEY set, stops the stack and exits with pytest's exit code.
``--database-url`` puts Argilla's database on that PostgreSQL (an empty database); ``--postgres`` starts a
throwaway PostgreSQL cluster on 127.0.0.1 for the run (workbench.argilla.postgres) and stops it after.
Ctrl-C or SIGTERM stops the run and still stops what it started, also when it was started in the background
of a script (where SIGINT comes in ignored: `make test` starts it so). The two files that need the
Hugging Face Hub (test_export_dataset.py, test_import_features.py) are left out, as the issue says.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VERSION = "2.8.0"
NEEDS_HUB = ("test_export_dataset.py", "test_import_features.py")


def fetch_sdk_tests(build: Path) -> Path:
    root = build / f"argilla-{VERSION}"
    tests = root / "tests" / "integration"
    if tests.is_dir():
        return tests
    build.mkdir(parents=True, exist_ok=True)
    archive = build / f"argilla-{VERSION}.tar.gz"
    if not archive.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-binary",
                ":all:",
                "--no-deps",
                f"argilla=={VERSION}",
                "-d",
                str(build),
            ],
            check=True,
        )
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(f"argilla-{VERSION}/tests/")]
        tar.extractall(build, members=members, filter="data")
    # An empty ini keeps pytest from picking up this repository's pytest settings.
    (root / "pytest.ini").write_text("[pytest]\n")
    return tests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=str(REPO / "build" / "argilla-sdk"))
    parser.add_argument("--keep", action="store_true", help="leave the stack's home directory in place")
    parser.add_argument("--port", type=int, default=6900, help="first port to try for the Argilla server")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", help="Argilla's database on this PostgreSQL (postgresql+asyncpg://...)")
    where.add_argument("--postgres", action="store_true", help="on a throwaway PostgreSQL cluster started for the run")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()

    def _interrupt(*_):
        raise KeyboardInterrupt

    # as `workbench run` does: a background job of a script gets SIGINT ignored, and Python then installs no
    # KeyboardInterrupt handler; a SIGTERM would end the process without the cleanup below
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)

    sys.path.insert(0, str(REPO))
    from workbench.argilla.postgres import LocalPostgres
    from workbench.argilla.stack import ServerStack, StackSettings

    tests = fetch_sdk_tests(Path(args.build))
    home = Path(tempfile.mkdtemp(prefix="argilla-sdk-tests-"))
    began = time.monotonic()
    postgres = LocalPostgres() if args.postgres else None
    stack = None
    try:
        if postgres is not None:
            postgres.start()
        database_url = postgres.create_database("argilla") if postgres else args.database_url
        stack = ServerStack(
            StackSettings(home=home, port=args.port, redis_url=None, search_url=None, database_url=database_url)
        )
        info = stack.start(timeout=120)
        on = "PostgreSQL" if database_url else "SQLite"
        print(f"stack up at {info['url']} in {info['seconds']} s (database: {on}, home {home})", flush=True)
        env = {**os.environ, **stack.env()}
        argv = [
            sys.executable,
            "-m",
            "pytest",
            str(tests),
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tests.parents[1] / "pytest.ini"),
            "--rootdir",
            str(tests.parents[1]),
        ]
        argv += [f"--ignore={tests / name}" for name in NEEDS_HUB]
        argv += args.pytest_args
        code = subprocess.run(argv, env=env, cwd=str(tests.parents[1])).returncode
    finally:
        if stack is not None:
            stack.stop()
        if postgres is not None:
            postgres.stop()  # also when its start failed half-way: what it created is removed
        if not args.keep:
            import shutil

            shutil.rmtree(home, ignore_errors=True)
    print(f"Argilla SDK integration tests: pytest exit {code}, {time.monotonic() - began:.0f} s in all")
    return code


if __name__ == "__main__":
    sys.exit(main())
