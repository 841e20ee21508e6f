"""Benchmark: does ``hate`` transfer between sources? Trained on one public source, scored on the others.

    python bench/crossdata.py [--project DIR] [--threads 2]

1. One project with the starter taxonomy imports HateXplain (official train -> train/valid, official
   val -> calib/holdout, never trained on), Davidson, ETHOS (binary) and the OpenAI moderation set,
   each through its importer: labels mapped through the taxonomy, unknowns stay unknown (masked).
2. Every text is embedded once with the packaged MiniLM (training's embedding cache, reused by
   later runs). The model is the ``heads`` family on those embeddings, ``hate`` only.
3. Configurations: trained and tuned on **one** source (its train / valid / calib), on **all** sources
   pooled, and **all but X** for each source X (trained and tuned without X, so X is truly unseen).
   The threshold is tuned on the configuration's own calib split by the taxonomy's ``hate`` gate
   (recall floor, FPR budget), as ``workbench train`` does.
4. Each is scored on every source's holdout: recall, FPR and F1 of ``hate`` at the tuned threshold,
   side by side (also at p >= 0.5 in the JSON line).

Target (issue): the multi-source model reaches recall >= 0.6 at FPR <= 0.1 on every source it was not
tuned on ("all but X" scored on X), without losing more than 0.01 F1 on HateXplain's held-out val half.
Ends with one JSON line.
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
sys.path.insert(0, str(REPO))

DATA = REPO.parent / "shared" / "data"
IMPORTS = {  # source -> [(file, format, split fractions for its new records)]
    "hatexplain": [(DATA / "hatexplain" / "train.csv", "hatexplain", {"train": 0.9, "valid": 0.1}),
                   (DATA / "hatexplain" / "val.csv", "hatexplain", {"calib": 0.5, "holdout": 0.5})],
    "davidson": [(DATA / "davidson" / "labeled_data.csv", "davidson", None)],
    "ethos": [(DATA / "ethos" / "Ethos_Dataset_Binary.csv", "ethos", None)],
    "openai_moderation": [(DATA / "openai_moderation" / "samples-1680.jsonl.gz", "openai_moderation", None)],
}
LABEL = "hate"


def build_project(root: Path):
    from curation import Project, load_taxonomy
    from workbench import starter_taxonomy_path

    if (root / "workbench.yaml").exists():
        return Project(root)
    project = Project.init(root, taxonomy=load_taxonomy(starter_taxonomy_path()), name="bench-crossdata")
    for source, files in IMPORTS.items():
        for path, fmt, fractions in files:
            s = project.import_file(path, fmt, source=source, fractions=fractions)
            print(f"imported {source}: {path.name} ({s.n_inserted:,} new of {s.n_read:,} read)", flush=True)
    return project


def rates(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    """Recall, FPR and F1 of ``p >= threshold`` on the known labels (training's ``binary_rates``)."""
    from training import binary_rates

    r = binary_rates(y, p, np.array([threshold]))
    return {"recall": float(r["recall"][0]), "fpr": float(r["fpr"][0]), "f1": float(r["f1"][0]),
            "positives": int(r["tp"][0] + r["fn"][0]), "n": int((~np.isnan(y)).sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--project", type=Path, default=REPO / "build" / "bench-crossdata")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from training import DEFAULT_ENCODER, Encoder, HeadsClassifier, tune_thresholds

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    project = build_project(args.project)
    frame = project.frame(active_only=True)
    frame = frame[frame[LABEL].notna()].reset_index(drop=True)
    sources = list(IMPORTS)
    print(f"{len(frame):,} records with a known '{LABEL}': "
          + ", ".join(f"{s} {int((frame.source == s).sum()):,} ({frame.loc[frame.source == s, LABEL].mean():.0%} hate)"
                      for s in sources), flush=True)

    cache = project.root / "cache"
    t_emb = time.perf_counter()
    Encoder(DEFAULT_ENCODER, cache_dir=cache).encode(frame["text"].tolist(), show_progress=True)  # cached once
    emb_s = time.perf_counter() - t_emb

    def fit(train_sources: list[str]):
        part = frame[frame.source.isin(train_sources)]
        pick = {s: part[part.split == s] for s in ("train", "valid", "calib")}
        clf = HeadsClassifier([LABEL], cache_dir=cache, seed=0)
        clf.fit(pick["train"]["text"].tolist(), pick["train"][[LABEL]].to_numpy(float),
                valid=(pick["valid"]["text"].tolist(), pick["valid"][[LABEL]].to_numpy(float)))
        p_cal = clf.predict_proba(pick["calib"]["text"].tolist())
        tuned = tune_thresholds(pick["calib"][[LABEL]].to_numpy(float), p_cal, taxonomy=project.taxonomy,
                                label_names=[LABEL])
        return clf, float(tuned.loc[LABEL, "threshold"])

    configs = {f"only {s}": [s] for s in sources}
    configs["all sources"] = sources
    configs.update({f"all but {s}": [x for x in sources if x != s] for s in sources})
    holdout = {s: frame[(frame.source == s) & (frame.split == "holdout")] for s in sources}
    results = {}
    for name, train_sources in configs.items():
        t = time.perf_counter()
        clf, thr = fit(train_sources)
        row = {"threshold": thr, "train_sources": train_sources, "fit_s": round(time.perf_counter() - t, 1)}
        for s, h in holdout.items():
            p = clf.predict_proba(h["text"].tolist())[:, 0]
            y = h[LABEL].to_numpy(float)
            row[s] = {"tuned": rates(y, p, thr), "p>=0.5": rates(y, p, 0.5), "unseen": s not in train_sources}
        results[name] = row
        print(f"  {name:<26} threshold {thr:.2f}  ({row['fit_s']:.0f} s)", flush=True)

    print(f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, torch threads {args.threads}; "
          f"embedding {len(frame):,} texts: {emb_s:.0f} s (cached afterwards)")
    print(f"hate at the tuned threshold on each source's holdout: recall / FPR / F1 (* = source not trained "
          f"or tuned on; n positives: " + ", ".join(f"{s} {int((h[LABEL] == 1).sum())}"
                                                     for s, h in holdout.items()) + ")")
    for at in ("tuned", "p>=0.5"):
        if at != "tuned":
            print(f"\nthe same models at p >= 0.5 (is it the threshold, or the model?)")
        head = f"{'trained and tuned on':<26}{'thr':>6}  " + "".join(f"{s:>24}" for s in sources)
        print(head)
        print("-" * len(head))
        for name, row in results.items():
            cells = "".join(f"{('*' if row[s]['unseen'] else ' ') + '{recall:.2f} / {fpr:.2f} / {f1:.2f}'.format(**row[s][at]):>24}"
                            for s in sources)
            print(f"{name:<26}{row['threshold'] if at == 'tuned' else 0.5:>6.2f}  {cells}")
    loo = {s: results[f"all but {s}"][s]["tuned"] for s in sources}
    met = {s: bool(r["recall"] >= 0.6 and r["fpr"] <= 0.1) for s, r in loo.items()}
    hx_delta = results["all sources"]["hatexplain"]["tuned"]["f1"] - results["only hatexplain"]["hatexplain"]["tuned"]["f1"]
    print(f"\nUnseen source (all but X, scored on X), target recall >= 0.6 at FPR <= 0.1: "
          + ", ".join(f"{s} {r['recall']:.2f}/{r['fpr']:.2f} {'met' if met[s] else 'NOT met'}" for s, r in loo.items()))
    print(f"HateXplain holdout F1 of hate, all sources vs HateXplain only: {hx_delta:+.3f} (target >= -0.01)")
    print(f"Whole call: {(time.perf_counter() - t0) / 60:.1f} min")
    print(json.dumps({"sources": sources, "results": results, "unseen": loo, "unseen_target_met": met,
                      "hatexplain_f1_delta_all_vs_only": round(hx_delta, 4),
                      "call_min": round((time.perf_counter() - t0) / 60, 2)}, default=float))


if __name__ == "__main__":
    main()
