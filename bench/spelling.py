"""Benchmark: what each step of the spelling normaliser does for a model that reads through it.

    python -m bench.spelling [--project DIR] [--recipe heads|ensemble] [--threads 2]

The HateXplain start (``bench/hatexplain.py``: official train -> train/valid, val -> calib/holdout) with the
starter ``hate`` suite, trained once per normaliser setting: none (models before issue 45), every step, and
every step but one, for each step. Training, thresholds and scoring all read through the setting, as the
model does. Per setting:

- HateXplain val macro-F1 (3-class reading, as ``bench/hatexplain.py``);
- the suite's test-side minimum-functionality tests: ``spelling_variants`` and all cases;
- the failure rate of the suite's invariance tests (typos, leetspeak, spacing, homoglyphs) on the suite's cases and on the
  HateXplain val posts (real posts: at most 500 per test).

Default recipe ``heads`` (frozen MiniLM + linear heads; the embeddings are cached, so a setting costs the
texts it changes): the cheap reading of a step's effect. ``--recipe ensemble`` trains the default recipe (an
hour or more per setting on this machine). Last line: JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
STEPS = ("zero_width", "nfkc", "homoglyphs", "spaced_letters", "leetspeak", "accents", "letter_runs")
INVARIANCE = ("inv_typos", "inv_leetspeak", "inv_spacing", "inv_homoglyphs")


def settings() -> dict:
    from training.families import SpellingNormaliser

    out = {"none": None, "all steps": SpellingNormaliser()}
    for step in STEPS:
        out[f"all but {step}"] = SpellingNormaliser(**{step: False})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--project", default=str(REPO / "build" / "bench-spelling"), help="the start's project")
    ap.add_argument("--recipe", choices=["heads", "ensemble"], default="heads")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated setting names (default: every one)")
    args = ap.parse_args()

    import torch

    from bench.hatexplain import DATA, default_spec
    from bench.turns import evaluation, start_project
    from curation.suites import load_suites
    from training import train_model
    from training.evaluation import suite_result

    torch.set_num_threads(args.threads)
    root = Path(args.project)
    shutil.rmtree(root, ignore_errors=True)
    project, _ = start_project("hatexplain", root)
    suites = load_suites(project.root, project.taxonomy)
    val = pd.read_csv(DATA / "val.csv")
    evaluate = evaluation(
        {"hatexplain": (val["text"].astype(str).tolist(), (val["category"] == 1).to_numpy(int))}, suites
    )
    spec = dataclasses.replace(
        default_spec(threads=args.threads, onnx=(), recipe=args.recipe), suite_pending=True, mix=False
    )
    wanted = [s for s in args.only.split(",") if s]
    rows = {}
    for name, spelling in settings().items():
        if wanted and name not in wanted:
            continue
        t0 = time.perf_counter()
        model = train_model(
            project, root / "models" / name.replace(" ", "-"), dataclasses.replace(spec, spelling=spelling)
        )
        result = suite_result(model)
        funcs = result.functionalities
        mft = result.cases[result.cases["type"] == "mft"]
        ev = evaluate(model)
        rows[name] = {
            "HX val macro-F1": ev["hx"][1],
            "MFT spelling_variants": round(float(funcs.loc["spelling_variants", "pass_rate"]), 4),
            "MFT all cases": round(float(mft["passed"].mean()), 4),
            **{f"suite {t} fail": round(1 - float(funcs.loc[t, "pass_rate"]), 4) for t in INVARIANCE},
            **{f"HX posts {t} fail": ev["perturbed_hx"].get(t) for t in INVARIANCE},
            "minutes": round((time.perf_counter() - t0) / 60, 1),
        }
        print(f"{name}: {rows[name]}", flush=True)
    project.close()
    table = pd.DataFrame(rows).T
    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch threads {args.threads}; recipe {args.recipe}")
    pd.set_option("display.width", 200)
    print(table.to_string())
    if "all steps" in rows:
        base = table.loc["all steps"]
        print(
            "\nremoving one step, against every step (a positive F1 / pass-rate delta or a negative failure delta: "
            "the step hurt):"
        )
        print((table.drop(index=["all steps"]) - base).round(4).to_string())
    print(json.dumps({"recipe": args.recipe, "settings": rows}))


if __name__ == "__main__":
    main()
