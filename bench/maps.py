"""Benchmark: the embedding map at 100,000 records built from the real texts in ../shared/data.

    python -m bench.maps [--n 100000] [--skip-default] [--out build/bench-maps]

The records are those of ``bench/import_dedup_split.py`` (real HateXplain, Davidson, Jigsaw, OpenAI and
ETHOS texts plus perturbed copies, their labels, unknown where a source does not annotate a label).
Embeddings (all-MiniLM-L6-v2) are computed once into ``OUT/cache`` and read from there: the timed steps
start from cached embeddings, as in a project. Timed:

- projection: PCA to 50 + umap-learn with our parameters (``ProjectionParams``), neighbour graph included;
- the same projection with umap-learn's defaults (``umap.UMAP()`` on the raw embeddings), as a ratio;
- placing 1,000 new records (other perturbed copies) with ``Projection.transform``;
- the interference table over every label pair (neighbour-graph mixing, co-occurrence, centroids);
- HDBSCAN clusters on the 2-D map, and the map figure with its payload (what goes to the browser).

Then the top of the interference table of the demo project. The last line is one JSON object.
Targets (2-core machine): projection < 60 s, 1,000 placed < 5 s, interference < 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.import_dedup_split import generate  # noqa: E402
from training.families import Encoder  # noqa: E402
from workbench.maps import EmbeddingMap, Projection, ProjectionParams, find_clusters, interference_table  # noqa: E402

LABELS = ["hate", "offensive", "toxic", "obscene", "threat", "insult", "harassment", "violence", "sexual", "self_harm"]


def records(n: int, seed: int) -> pd.DataFrame:
    rows = generate(n, seed)
    frame = pd.DataFrame({"id": [f"s{seed}-{r['id']}" for r in rows], "text": [r["text"] for r in rows]})
    for lab in LABELS:
        frame[lab] = [float(r[lab]) if r.get(lab) is not None else np.nan for r in rows]
    rng = np.random.default_rng(seed)
    frame["split"] = rng.choice(["train", "valid", "calib", "holdout"], size=n, p=[0.7, 0.1, 0.1, 0.1])
    frame["origin"] = "real"
    frame["status"] = "active"
    frame["seed_id"] = None
    frame["batch_id"] = None
    return frame


def timed(fn, *a, **k):
    t = time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - t


def gpu_umap(x: np.ndarray) -> str:
    try:
        import torch

        if not torch.cuda.is_available():
            return "no GPU on this machine"
        from cuml.manifold import UMAP as CuUMAP  # optional, never required
    except ImportError:
        return "GPU present, cuML not installed"
    _, s = timed(lambda: CuUMAP(n_neighbors=15, min_dist=0.1).fit_transform(x))
    return f"{s:.1f} s"


def demo_table(out: Path) -> pd.DataFrame:
    from curation import Project
    from workbench import build_demo
    from workbench.maps import build_map, map_interference

    root = out / "demo"
    project = Project(root) if (root / "workbench.yaml").exists() else build_demo(root)[0]
    return map_interference(build_map(project))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--out", default=str(REPO / "build" / "bench-maps"))
    ap.add_argument("--skip-default", action="store_true", help="do not time umap-learn's defaults")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")

    frame, new = records(args.n, 0), records(1000, 1)
    enc = Encoder(cache_dir=out / "embedding-cache", batch_size=128)  # a bench folder, not a project
    (emb, new_emb), s = timed(
        lambda: (enc.encode(frame["text"].tolist(), show_progress=True), enc.encode(new["text"].tolist()))
    )
    print(
        f"embeddings: {len(frame):,} + {len(new):,} records, {emb.shape[1]} dims ({s:.1f} s, from the cache when warm)"
    )

    proj, projection_s = timed(Projection.fit, frame["id"].tolist(), emb, ProjectionParams())
    print(
        f"projection (PCA 50 + umap-learn, {proj.info['n_epochs']} epochs): {projection_s:.1f} s "
        f"(PCA {proj.info['pca_s']} s, neighbour graph {proj.info['knn_s']} s, layout {proj.info['umap_s']} s)"
        "  target < 60 s"
    )
    umap_default_s = None
    if not args.skip_default:
        import umap

        _, umap_default_s = timed(lambda: umap.UMAP().fit_transform(emb))
        print(
            f"umap-learn defaults on the raw embeddings: {umap_default_s:.1f} s  "
            f"-> ours is {umap_default_s / projection_s:.1f}x faster"
        )
    placed, transform_1k_s = timed(proj.transform, new_emb)
    print(f"placing 1,000 new records: {transform_1k_s:.2f} s  target < 5 s")
    frame["x"], frame["y"] = proj.coords[:, 0], proj.coords[:, 1]

    labels = frame[LABELS].to_numpy(dtype=float)
    table, interference_s = timed(interference_table, proj.reduced, labels, LABELS, neighbors=proj.neighbors)
    print(f"interference table ({len(table)} label pairs, no model scores): {interference_s:.1f} s  target < 30 s")
    print(table.head(5).to_string(index=False, float_format=lambda v: f"{v:.3f}"))

    (frame, clusters), clusters_s = timed(find_clusters, frame, LABELS)
    print(f"HDBSCAN on the 2-D map: {len(clusters)} clusters in {clusters_s:.1f} s")

    m, figure_s = timed(EmbeddingMap, frame, LABELS, widget=False)
    m.colour_by("label", label="hate")
    payload_mb = m.payload_mb()
    m.write_html(out / "map.html")
    print(
        f"map figure: {figure_s:.1f} s to build, payload {payload_mb:.1f} MB "
        f"({payload_mb * 1e6 / len(frame):.0f} bytes a point); standalone HTML "
        f"{(out / 'map.html').stat().st_size / 1e6:.1f} MB -> {out / 'map.html'}"
    )
    gpu = gpu_umap(emb)
    print(f"GPU UMAP (cuML): {gpu}")

    demo = demo_table(out)
    print("demo project, interference table (top 5):")
    print(demo.head(5).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(
        json.dumps(
            {
                "n": len(frame),
                "projection_s": round(projection_s, 2),
                "umap_default_s": None if umap_default_s is None else round(umap_default_s, 2),
                "default_ratio": None if umap_default_s is None else round(umap_default_s / projection_s, 2),
                "transform_1k_s": round(transform_1k_s, 3),
                "interference_s": round(interference_s, 2),
                "clusters_s": round(clusters_s, 2),
                "payload_mb": round(payload_mb, 2),
                "gpu_umap": gpu,
                "demo_top_pair": None if demo.empty else [demo.iloc[0]["label_a"], demo.iloc[0]["label_b"]],
            }
        )
    )


if __name__ == "__main__":
    main()
