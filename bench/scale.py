"""Benchmark: the heavy batch steps in one process against the same steps as Ray Data jobs, on this machine,
and what that says about 10 M records.

    python -m bench.scale [--n 6000] [--out build/scale] [--model MODEL_DIR] [--actors N]

1. **Data**: the first ``--n`` real tweets of the Davidson set (``../shared/data/davidson``) in a fresh
   project (labels ``hate``, ``offensive``).
2. **Model**: ``--model``, else a ``heads`` model (frozen all-MiniLM-L6-v2 + per-label heads) trained on that
   project and exported to ONNX fp32: scoring uses the ONNX variant, as ``workbench score`` does.
3. **Embed** every record (all-MiniLM-L6-v2, max 128 tokens, no cache) and **score** every record (ONNX fp32)
   twice: in this process (all cores to torch / onnxruntime) and as Ray Data jobs on a local Ray cluster
   started here (one actor per CPU, 1 CPU each, at least 4 blocks per actor). Same texts, same results
   (checked: embeddings to 1e-5, decisions identical).
4. **Fixed costs** of a Ray job: starting the cluster, and a job over a handful of records (actor start:
   loading the model in each actor).

Printed: records/s side by side with the ratio, the per-record costs (CPU-seconds per record: wall time x
CPUs used / records) and the projection for 10 M records on N worker CPUs from those figures. Last line:
JSON. Not run here: a multi-machine cluster, a GPU, Elasticsearch/OpenSearch (see docs/measurements/scale-out.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("WORKBENCH_SHARED_DATA") or REPO.parent / "shared" / "data")

TAXONOMY = {
    "name": "scale-bench",
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
TEN_MILLION = 10_000_000


def _project(out: Path, n: int):
    from curation import Project, Taxonomy

    root = out / "project"
    if (root / "workbench.yaml").exists():
        return Project(root)
    data = pd.read_csv(SHARED / "davidson" / "labeled_data.csv").head(n)
    csv = out / "davidson_head.csv"
    data.to_csv(csv, index=False)
    project = Project.init(root, taxonomy=Taxonomy.from_dict(TAXONOMY))
    project.records.import_file(csv, "davidson")
    return project


def _timed(fn):
    began = time.monotonic()
    value = fn()
    return value, time.monotonic() - began


def _model(args, out: Path, project):
    """The model to score with: ``--model``, the one a previous run left, or a new heads model."""
    from training import TrainSpec, train_model
    from training.artifacts import load_model

    if args.model:
        return load_model(args.model)
    if (out / "model" / "model.json").exists():  # a model directory is marked by its model.json
        return load_model(out / "model")
    return train_model(project, out / "model", TrainSpec(recipe="heads", group="safety", mix=False, onnx=("fp32",)))


def _projection(cost: dict[str, float]) -> dict:
    """Print and return the hours 10 M records take per step for 1 to 256 worker CPUs."""
    print("projection for 10 M records (linear in worker CPUs; plus the fixed costs above, per job):")
    print(f"{'worker CPUs':>12}{'embed h':>10}{'score h':>10}")
    projection = {}
    for workers in (1, 2, 16, 64, 256):
        e, s = (TEN_MILLION * cost[k] / workers / 3600 for k in ("embed", "score"))
        projection[workers] = {"embed_hours": round(e, 2), "score_hours": round(s, 2)}
        print(f"{workers:>12}{e:>10.2f}{s:>10.2f}")
    return projection


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=6000, help="records (default 6000)")
    parser.add_argument("--out", default=str(REPO / "build" / "scale"))
    parser.add_argument("--model", help="a model directory of this project (default: train a heads model)")
    parser.add_argument("--actors", type=int, help="Ray actors (default: one per CPU)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # the bench's cluster on loopback only

    from training import LocalJobs, RayJobs, embed_texts, score_texts
    from training.families import DEFAULT_ENCODER

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cpus = os.cpu_count() or 1
    began = time.monotonic()
    project = _project(out, args.n)
    frame = pd.read_parquet(project.snapshots.records_path(), columns=["id", "text"])
    n = len(frame)
    model = _model(args, out, project)
    variant = "fp32" if "fp32" in model.card.variants else model.best_variant()
    print(
        f"machine: {platform.machine()}, {cpus} CPUs, no GPU used; {n:,} Davidson tweets; model {model.root} ({variant})"
    )

    # -- single process: all cores to torch / onnxruntime
    here_emb, t_embed_here = _timed(lambda: embed_texts(frame, encoder=DEFAULT_ENCODER, jobs=LocalJobs(block_size=n)))
    here_probs, t_score_here = _timed(
        lambda: score_texts(frame, model.root, variant=variant, jobs=LocalJobs(block_size=n))
    )

    # -- Ray: a local cluster on this machine, one actor per CPU
    import ray

    _, t_cluster = _timed(lambda: ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False))
    actors = args.actors or int(ray.cluster_resources().get("CPU", 1))

    def jobs():
        return RayJobs("local", actors=actors)

    small = frame.head(4 * actors)
    _, t_fixed_embed = _timed(lambda: embed_texts(small, encoder=DEFAULT_ENCODER, jobs=jobs()))
    _, t_fixed_score = _timed(lambda: score_texts(small, model.root, variant=variant, jobs=jobs()))
    ray_jobs = jobs()
    ray_emb, t_embed_ray = _timed(lambda: embed_texts(frame, encoder=DEFAULT_ENCODER, jobs=ray_jobs))
    embed_report = ray_jobs.report
    ray_jobs = jobs()
    ray_probs, t_score_ray = _timed(lambda: score_texts(frame, model.root, variant=variant, jobs=ray_jobs))
    ray.shutdown()

    max_emb_diff = float(np.abs(ray_emb - here_emb).max())
    thresholds = np.asarray(model.thresholds)
    same_decisions = bool(np.array_equal(ray_probs >= thresholds, here_probs >= thresholds))

    rows = {
        "embed": (n / t_embed_here, n / t_embed_ray, t_fixed_embed),
        "score": (n / t_score_here, n / t_score_ray, t_fixed_score),
    }
    print(f"\n{'step':<8}{'1 process rec/s':>17}{'Ray rec/s':>12}{'Ray / 1 process':>17}{'Ray job fixed s':>17}")
    for step, (a, b, fixed) in rows.items():
        print(f"{step:<8}{a:>17.1f}{b:>12.1f}{b / a:>17.2f}{fixed:>17.1f}")
    print(
        f"Ray: {actors} actors, {embed_report.blocks} blocks, cluster start {t_cluster:.1f} s; "
        f"embeddings max |diff| {max_emb_diff:.1e}, decisions identical: {same_decisions}"
    )

    # per-record CPU cost on one worker CPU, from the Ray run (fixed costs taken out)
    cost = {
        step: actors * max(t - fixed, 1e-9) / n
        for step, t, fixed in (("embed", t_embed_ray, t_fixed_embed), ("score", t_score_ray, t_fixed_score))
    }
    print(
        f"\nper-record cost on one worker CPU: embed {cost['embed'] * 1000:.1f} ms, score {cost['score'] * 1000:.1f} ms "
        f"(single process, {cpus} cores: {cpus * t_embed_here / n * 1000:.1f} / {cpus * t_score_here / n * 1000:.1f} "
        "CPU-ms)"
    )
    projection = _projection(cost)
    minutes = (time.monotonic() - began) / 60
    print(f"\nbench wall time {minutes:.1f} min")
    print(
        json.dumps(
            {
                "n": n,
                "cpus": cpus,
                "actors": actors,
                "embed_records_per_s": {"single": round(rows["embed"][0], 1), "ray": round(rows["embed"][1], 1)},
                "score_records_per_s": {"single": round(rows["score"][0], 1), "ray": round(rows["score"][1], 1)},
                "ray_over_single": {k: round(v[1] / v[0], 2) for k, v in rows.items()},
                "ray_fixed_seconds": {"cluster": round(t_cluster, 1), **{k: round(v[2], 1) for k, v in rows.items()}},
                "cost_cpu_ms_per_record": {k: round(v * 1000, 2) for k, v in cost.items()},
                "projection_10M_hours": projection,
                "max_embedding_diff": max_emb_diff,
                "decisions_identical": same_decisions,
                "minutes": round(minutes, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
