"""Benchmark: the retrain-and-gate cell, click to verdict, on a 20,000-record project.

    python -m bench.retrain [--n 20000] [--recipe heads] [--out build/bench-retrain]

The project holds the records of ``bench/import_dedup_split.py`` (real texts of ../shared/data and
perturbed copies) under the starter taxonomy. Its embedding cache is filled before the clock starts
(as in a project where the map or an earlier training run embedded the records). Then the
:class:`~workbench.panels.RetrainPanel`'s button is clicked: snapshot, mix, train, thresholds on calib,
holdout evaluation and gates, ONNX fp32 export and its gate. Target on this 2-core machine: under
60 s for the ``heads`` recipe (formerly ``fast``). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.import_dedup_split import generate  # noqa: E402
from curation import Project, load_taxonomy  # noqa: E402
from training.families import Encoder  # noqa: E402
from workbench.panels import RetrainPanel  # noqa: E402


def build_project(root: Path, n: int) -> Project:
    if (root / "workbench.yaml").exists():
        return Project(root)
    path = root.parent / "records.jsonl"
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in generate(n, 0):
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    project = Project.init(root, taxonomy=load_taxonomy(REPO / "workbench" / "templates" / "taxonomy.yaml"))
    project.records.import_file(path, "jsonl", source="bench", id_field="id")
    return project


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--recipe", default="heads")
    ap.add_argument("--out", default=str(REPO / "build" / "bench-retrain"))
    args = ap.parse_args()
    out = Path(args.out)
    project = build_project(out / "project", args.n)
    shutil.rmtree(project.layout.models, ignore_errors=True)
    texts = project.records.frame()["text"].tolist()
    t = time.perf_counter()
    Encoder(cache_dir=project.layout.cache, batch_size=128).encode(texts, show_progress=True)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; project of {len(texts):,} records; "
        f"embedding cache filled in {time.perf_counter() - t:.1f} s (not timed below)"
    )

    panel = RetrainPanel(project, recipe=args.recipe)
    panel.run_button.click()
    if panel.last_model is None:
        raise SystemExit(f"the retrain failed: {panel.message}")
    for step, s in panel.step_seconds.items():
        print(f"  {step:<16}{s:>7.1f} s")
    verdict = panel.last_verdict
    print(
        f"click to verdict ({args.recipe}, fp32 export and its gate included): {panel.seconds:.1f} s  "
        f"target < 60 s; gate {'PASSED' if verdict['passed'] else 'FAILED'} (best variant "
        f"{verdict['best_variant']})"
    )
    table = panel.gate_table
    print(
        table[["passed", "f1", "recall", "fpr", "threshold", "positives"]].to_string(float_format=lambda v: f"{v:.3f}")
    )
    print(
        json.dumps(
            {
                "n": len(texts),
                "recipe": args.recipe,
                "click_to_verdict_s": panel.seconds,
                "steps_s": panel.step_seconds,
                "passed": verdict["passed"],
                "variants": {v: i["passed"] for v, i in verdict["variants"].items()},
            }
        )
    )


if __name__ == "__main__":
    main()
