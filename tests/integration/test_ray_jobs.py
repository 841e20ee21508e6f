"""Batch jobs on a real Ray cluster against the single-process path, on ~2,000 real tweets (Davidson).

A local cluster of a head and one worker node on 127.0.0.1 (``ray.cluster_utils.Cluster``, 1 CPU each,
no dashboard, usage stats off). Embedding, scoring (ONNX, the best passed variant), error mining and map
placement run as Ray Data jobs with 2 actors over at least 4 blocks, and again in this process; the
results must match (same ids, embeddings equal to 1e-5, identical decisions and mined errors) and both
nodes must have done work.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from curation import Project, Taxonomy
from training import LocalJobs, RayJobs, TrainSpec, embed_project, embed_texts, score_project, train_model
from workbench.cli import main as cli

from ..conftest import REPO, shared

pytestmark = pytest.mark.slow

TAXONOMY = {
    "name": "ray",
    "labels": [
        {
            "name": "hate",
            "group": "safety",
            "tier": "T3",
            "gate": {"min_f1": 0.0, "recall_floor": 0.0, "fpr_budget": 1.0},
        },
        {
            "name": "offensive",
            "group": "safety",
            "tier": "T3",
            "gate": {"min_f1": 0.0, "recall_floor": 0.0, "fpr_budget": 1.0},
        },
    ],
}


@pytest.fixture(scope="module")
def cluster():
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # Ray's switch for a cluster on loopback only
    import ray
    from ray.cluster_utils import Cluster

    c = Cluster(
        initialize_head=True,
        connect=False,
        head_node_args={"num_cpus": 1, "include_dashboard": False},
    )
    c.add_node(num_cpus=1)
    c.wait_for_nodes()
    assert c.address.startswith("127.0.0.1:")
    yield c
    ray.shutdown()
    c.shutdown()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    p = Project.init(tmp_path_factory.mktemp("ray") / "proj", taxonomy=Taxonomy.from_dict(TAXONOMY))
    p.records.import_file(REPO / "data" / "demo" / "davidson_slice.csv", "davidson")
    yield p
    p.close()


@pytest.fixture(scope="module")
def model(project, tmp_path_factory):
    out = tmp_path_factory.mktemp("m") / "heads"
    return train_model(project, out, TrainSpec(recipe="heads", group="safety", mix=False, onnx=("fp32",)))


def _jobs(cluster) -> RayJobs:
    return RayJobs(cluster.address, actors=2, blocks=4)


def _both_nodes_worked(jobs: RayJobs, cluster) -> None:
    import ray

    nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert len(nodes) == 2
    assert set(jobs.report.nodes) == nodes, jobs.report  # every row came from a node of the cluster, both worked
    assert min(jobs.report.nodes.values()) > 0
    assert jobs.report.blocks >= 4 and jobs.report.actors == 2


def test_embedding_on_ray_matches_the_single_process_path(project, cluster, capsys):
    frame = pd.read_parquet(project.snapshots.records_path(), columns=["id", "text"])
    assert len(frame) >= 1900
    jobs = _jobs(cluster)
    ids, on_ray, report = embed_project(project, jobs=jobs)  # the snapshot's Parquet in, the cache filled
    _both_nodes_worked(jobs, cluster)
    assert ids == frame["id"].tolist() and report.rows == len(frame)
    here = embed_texts(frame, encoder="all-MiniLM-L6-v2", jobs=LocalJobs())  # no cache: computed again here
    assert on_ray.shape == here.shape == (len(frame), 384)
    np.testing.assert_allclose(on_ray, here, atol=1e-5, rtol=0)
    # what the Ray job wrote into the cache is what the single-process path reads back
    again = LocalJobs()
    _, cached, _ = embed_project(project, jobs=again)
    assert again.report.rows == 0 and np.array_equal(cached, on_ray)
    assert cli(["embed", str(project.root), "--ray", cluster.address, "--quiet"]) == 0
    assert "all cached" in capsys.readouterr().out


def test_scoring_on_ray_writes_the_same_rows_as_the_single_process_path(project, model, cluster, tmp_path, capsys):
    import ray

    assert model.best_variant() == "fp32"  # the ONNX variant passed its gate, so it is the one scored with
    out = tmp_path / "ray.jsonl"
    assert (
        cli(
            [
                "score",
                str(project.root),
                "--model",
                str(model.root),
                "--out",
                str(out),
                "--ray",
                cluster.address,
                "--actors",
                "2",
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "(fp32)" in printed and "2 actor(s)" in printed
    per_node = dict(item.split() for item in printed.split("rows per node: ")[1].split(";")[0].split(", "))
    assert set(per_node) == {n["NodeID"][:8] for n in ray.nodes() if n["Alive"]}  # both nodes scored
    assert all(int(c.replace(",", "")) > 0 for c in per_node.values())
    m, _ = score_project(project, model, tmp_path / "local.jsonl", jobs=LocalJobs())
    ray_rows = [json.loads(line) for line in out.read_text().splitlines()]
    local_rows = [json.loads(line) for line in (tmp_path / "local.jsonl").read_text().splitlines()]
    assert m == len(ray_rows) == len(local_rows) >= 1900
    assert [r["id"] for r in ray_rows] == [r["id"] for r in local_rows]
    assert [r["decisions"] for r in ray_rows] == [r["decisions"] for r in local_rows]
    assert [r["action"] for r in ray_rows] == [r["action"] for r in local_rows]
    diff = max(
        abs(a["probabilities"][k] - b["probabilities"][k])
        for a, b in zip(ray_rows, local_rows)
        for k in a["probabilities"]
    )
    assert diff < 1e-5
    # the rows workbench predict writes for the same texts
    (tmp_path / "in.jsonl").write_text(
        "\n".join(json.dumps({"id": r["id"], "text": r["text"]}) for r in local_rows[:50]) + "\n"
    )
    assert (
        cli(["predict", str(model.root), "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "p.jsonl")])
        == 0
    )
    predicted = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    # the same predictions; predict keeps the input's fields apart, under "input"
    assert [set(r) - {"input"} for r in predicted] == [set(r) - {"id", "text"} for r in local_rows[:50]]
    assert [r["input"] for r in predicted] == [{"id": r["id"], "text": r["text"]} for r in local_rows[:50]]
    assert [r["decisions"] for r in predicted] == [r["decisions"] for r in local_rows[:50]]


def test_error_mining_on_ray_finds_the_same_errors(project, model, cluster):
    from workbench.review import mine_errors

    jobs = _jobs(cluster)
    on_ray = mine_errors(project, model, jobs=jobs)
    _both_nodes_worked(jobs, cluster)
    here = mine_errors(project, model)
    assert len(on_ray) > 0
    key = ["record_id", "label", "error_type"]
    pd.testing.assert_frame_equal(on_ray[key], here[key])
    np.testing.assert_allclose(on_ray["probability"], here["probability"], atol=1e-5)


def test_map_placement_on_ray_matches(project, cluster, tmp_path):
    from workbench.maps import build_map

    build_map(project)  # fits the projection on the current snapshot and caches it
    # 300 more real tweets arrive: the map places them among the fitted records without refitting
    slice_ids = set(pd.read_csv(REPO / "data" / "demo" / "davidson_slice.csv", usecols=[0]).iloc[:, 0])
    more = pd.read_csv(shared("davidson/labeled_data.csv"))
    more = more[~more.iloc[:, 0].isin(slice_ids)].head(300)
    more.to_csv(tmp_path / "more.csv", index=False)
    project.records.import_file(tmp_path / "more.csv", "davidson")
    here = build_map(project)
    jobs = _jobs(cluster)
    on_ray = build_map(project, jobs=jobs)
    assert int(here.frame["placed"].sum()) >= 250  # the new ones are placed, not fitted
    assert on_ray.frame["id"].tolist() == here.frame["id"].tolist()
    assert on_ray.frame["placed"].tolist() == here.frame["placed"].tolist()
    np.testing.assert_allclose(on_ray.frame[["x", "y"]].to_numpy(), here.frame[["x", "y"]].to_numpy(), atol=1e-5)
    assert np.array_equal(on_ray.neighbors, here.neighbors)
    _both_nodes_worked(jobs, cluster)  # the placement job (the embeddings came from the cache)
