"""Benchmark: inference throughput and probability parity, torch vs ONNX fp32 / fp16 / int8.

    python bench/inference.py --model MODEL_DIR [--threads 2] [--n 1922] [--repeats 3]

Scores the same texts (the official HateXplain val split) with the model's encoder + head in torch
and with each exported ONNX variant on onnxruntime, all with the same number of threads and the
same length-sorted batching, and prints texts/s, the speed-up over torch and the largest absolute
probability difference from torch. Target: int8 at least 1.5x torch, max difference under 0.05.
MODEL_DIR is a model written by ``bench/hatexplain.py`` (or ``workbench train ... --onnx``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def timed(fn, texts, repeats: int) -> tuple[float, np.ndarray]:
    out = fn(texts[:64])  # warm-up: sessions, allocations, first-call overheads
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(texts)
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=1922)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import torch

    from training import OnnxEncoderHead, load_model
    from training._families import neural_members

    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    clf = model.classifier()
    members = neural_members(clf)
    if not members:
        sys.exit(f"{args.model} has no encoder to export (tfidf recipe?)")
    weights = np.array([1.0 if i is None else clf.weights[i] for i, _ in members])
    weights = weights / weights.sum()

    def torch_neural(batch):  # exactly what the ONNX graph computes: the weighted encoder members
        return sum(w * m.predict_proba(batch) for w, (_, m) in zip(weights, members))
    texts = pd.read_csv(REPO.parent / "shared" / "data" / "hatexplain" / "val.csv")["text"].astype(str).tolist()
    texts = texts[:args.n]

    rows = []
    tps_torch, p_torch = timed(torch_neural, texts, args.repeats)
    rows.append(("torch (fp32)", tps_torch, 1.0, 0.0, 0.0))
    for v in ("fp32", "fp16", "int8"):
        if not (model.root / "onnx" / f"model.{v}.onnx").exists():
            continue
        sess = OnnxEncoderHead(model.root / "onnx", v, threads=args.threads)
        tps, p = timed(sess.predict_proba, texts, args.repeats)
        diff = np.abs(p - p_torch)
        rows.append((f"onnx {v}", tps, tps / tps_torch, float(diff.max()), float(diff.mean())))

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {args.threads} threads; "
          f"{len(texts)} HateXplain val texts, best of {args.repeats}; model {args.model} "
          f"({len(members)} encoder member(s): {', '.join(type(m).__name__ for _, m in members)})")
    print(f"{'runtime':<14}{'texts/s':>9}{'vs torch':>10}{'max |dp|':>10}{'mean |dp|':>11}")
    for name, tps, ratio, mx, mean in rows:
        print(f"{name:<14}{tps:>9.0f}{ratio:>9.2f}x{mx:>10.4f}{mean:>11.5f}")
    int8 = next((r for r in rows if r[0] == "onnx int8"), None)
    if int8:
        ok = int8[2] >= 1.5 and int8[3] < 0.05
        print(f"target int8 >= 1.5x torch with max |dp| < 0.05: {'MET' if ok else 'NOT MET'} "
              f"({int8[2]:.2f}x, {int8[3]:.4f})")


if __name__ == "__main__":
    main()
