"""Batch jobs in this process: blocks, order, reports, and the hint when Ray is asked for without it."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from curation import WorkbenchError
from training import LocalJobs, RayJobs, batch_jobs
from training._batchjobs import _blocks_of, _in_order


class Lengths:
    """A block function: text lengths, with the constructor argument applied (state kept per worker)."""

    instances = 0

    def __init__(self, scale: float):
        Lengths.instances += 1
        self.scale = scale

    def __call__(self, block):
        lengths = np.array([len(t) * self.scale for t in block["text"]], dtype=np.float32)
        return {"id": block["id"], "probs": lengths[:, None], "node": np.full(len(lengths), "local")}


def test_local_jobs_run_one_worker_over_every_block_in_order():
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(10)], "text": ["x" * i for i in range(10)]})
    jobs = LocalJobs(block_size=3)
    Lengths.instances = 0
    out = list(jobs.map(Lengths, {"scale": 2.0}, frame))
    assert Lengths.instances == 1  # the heavy constructor runs once, not once per block
    assert jobs.report.rows == 10 and jobs.report.blocks == len(out) >= 3 and dict(jobs.report.nodes) == {"local": 10}
    ids = [i for b in out for i in b["id"]]
    values = np.concatenate([b["probs"] for b in out])
    assert ids == frame["id"].tolist() and values[:, 0].tolist() == [2.0 * i for i in range(10)]


def test_blocks_cover_every_row_once_and_results_come_back_in_input_order():
    frame = pd.DataFrame({"id": range(11)})
    blocks = _blocks_of(frame, 4)
    assert len(blocks) == 4 and pd.concat(blocks)["id"].tolist() == list(range(11))
    assert _blocks_of(frame.head(2), 8) and len(_blocks_of(frame.head(2), 8)) == 2
    shuffled = ["c", "a", "b"]
    values = np.array([[3.0], [1.0], [2.0]])
    assert _in_order(["a", "b", "c"], shuffled, values)[:, 0].tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(WorkbenchError, match="1 missing"):
        _in_order(["a", "b", "d"], ["a", "b"], values[:2])


def test_batch_jobs_picks_the_place_and_ray_without_the_extra_says_how_to_install_it(monkeypatch):
    assert isinstance(batch_jobs(), LocalJobs) and isinstance(batch_jobs("auto", actors=2), RayJobs)
    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    frame = pd.DataFrame({"id": ["a"], "text": ["x"]})
    with pytest.raises(WorkbenchError, match=r"moderation-workbench\[scale\]") as err:
        list(RayJobs("auto").map(Lengths, {"scale": 1.0}, frame))
    assert "without --ray" in str(err.value)
