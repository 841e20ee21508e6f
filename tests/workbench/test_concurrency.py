"""Several writers at once, through the real command line in separate processes: one writer at a time, no
text in two splits, no record lost, and a process that had to wait says so instead of failing."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curation import Project
from curation.store import Store
from curation.store._lock import WriteLock

pytestmark = pytest.mark.slow

WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar".split()


def _text(i: int) -> str:
    # distinct texts, not near duplicates of each other: four words picked by the number's digits, then the number
    return " ".join(WORDS[(i // 15**k) % 15] for k in range(4)) + f" message number {i} of the load test"


def _csv(path, numbers, *, hate_every=7):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "hate"])
        for i in numbers:
            w.writerow([_text(i), int(i % hate_every == 0)])
    return path


def _workbench(*args, env=None) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "workbench"), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _finish(procs):
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=600)
        out.append((p.returncode, stdout, stderr))
    return out


def _assert_clean(results):
    for rc, _stdout, stderr in results:
        assert "Traceback" not in stderr, stderr[-3000:]
        assert rc == 0, stderr[-3000:]


def _splits_per_text(root) -> dict[str, set[str]]:
    with Store(root / "store.sqlite") as st:
        rows = st.conn.execute("SELECT text, split FROM records").fetchall()
    out: dict[str, set[str]] = {}
    for text, split in rows:
        out.setdefault(text, set()).add(split)
    return out


def test_four_imports_at_once_keep_every_text_in_one_split_and_lose_nothing(tmp_path, small_taxonomy):
    root = tmp_path / "proj"
    Project.init(root, taxonomy=small_taxonomy).close()
    # four files of 1,500 rows, each half shared with the next: 3,750 distinct texts, 6,000 rows
    files = [_csv(tmp_path / f"part{k}.csv", range(k * 750, k * 750 + 1500)) for k in range(4)]
    procs = [_workbench("import", root, f, "--format", "csv", "--source", f"src{k}") for k, f in enumerate(files)]
    results = _finish(procs)
    _assert_clean(results)
    waited = [stderr for _, _, stderr in results if "waiting for the project's write lock" in stderr]
    assert waited, "four imports started together: at least one must have waited for the lock"
    for stderr in waited:
        assert "held by pid" in stderr and "write lock taken after" in stderr
    splits = _splits_per_text(root)
    assert len(splits) == 3750
    in_two = {t: s for t, s in splits.items() if len(s) > 1}
    assert not in_two, f"{len(in_two)} texts in two splits"
    summaries = [json.loads(stdout) for _, stdout, _ in results]
    assert sum(s["n_inserted"] for s in summaries) == 6000  # every row stored (under its own source)
    assert sum(s["n_exact_duplicates"] for s in summaries) == 2250  # each shared text linked once


def test_a_second_writer_waits_bounded_then_stops_with_nothing_written(tmp_path, small_taxonomy):
    root = tmp_path / "proj"
    Project.init(root, taxonomy=small_taxonomy).close()
    data = _csv(tmp_path / "a.csv", range(200))
    lock = WriteLock(root / "store.sqlite", timeout=0)
    with lock.hold("a long review pull"):
        short = _workbench("import", root, data, "--format", "csv", env={"WORKBENCH_LOCK_TIMEOUT": "1"})
        rc, stdout, stderr = _finish([short])[0]
        assert rc == 2 and "Traceback" not in stderr
        assert f"pid {os.getpid()}" in stderr and "nothing was written" in stderr and "WORKBENCH_LOCK_TIMEOUT" in stderr
        patient = _workbench("import", root, data, "--format", "csv")
        time.sleep(6)
        assert patient.poll() is None and not _splits_per_text(root)  # waiting, nothing written meanwhile
    rc, stdout, stderr = _finish([patient])[0]
    assert rc == 0 and "Traceback" not in stderr, stderr
    assert "waiting for the project's write lock" in stderr and "a long review pull" in stderr
    assert json.loads(stdout)["n_inserted"] == 200


def test_an_import_beside_a_feedback_import_both_land(tmp_path, small_taxonomy):
    root = tmp_path / "proj"
    Project.init(root, taxonomy=small_taxonomy).close()
    data = _csv(tmp_path / "a.csv", range(2000))
    log = tmp_path / "week.jsonl"
    log.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"p{i}",
                    "text": _text(100_000 + i),
                    "time": "2026-11-02T10:00:00Z",
                    "scores": {"hate": 0.5},
                    "feedback": {"type": "moderator_confirm", "label": "hate"},
                }
            )
            + "\n"
            for i in range(500)
        )
    )
    lock = WriteLock(root / "store.sqlite", timeout=0)
    with lock.hold("the test"):  # both start while the project is busy, then race for the lock
        procs = [
            _workbench("import", root, data, "--format", "csv"),
            _workbench("production-log", "import", root, log),
        ]
        time.sleep(8)
    results = _finish(procs)
    _assert_clean(results)
    assert all("waiting for the project's write lock" in stderr for _, _, stderr in results)
    with Project(root) as p:
        assert len(p.records.frame()) == 2000 and len(p.production.posts()) == 500
    assert not {t for t, s in _splits_per_text(root).items() if len(s) > 1}
