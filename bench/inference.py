"""Benchmark: inference throughput and parity, torch vs ONNX fp32 / fp16 / int8.

    python -m bench.inference --model MODEL_DIR [--threads 2] [--n 1922] [--repeats 3]

Speed: the same texts (the official HateXplain val split) scored by the model's encoder + head in
torch and by each exported ONNX variant on onnxruntime, with the same threads and the same
length-sorted batching: texts/s and the speed-up over torch. Parity: every variant re-evaluated and
re-gated on the model's holdout under the gate's parity rule (``training/evaluation/_parity.py``): decision
agreement with torch at the thresholds, the largest per-label F1 change, the largest probability
difference, and whether the gate passed. Targets (issue): int8 >= 1.5x torch, agreement >= 99.5 %,
|dF1| <= 0.01. MODEL_DIR is a model written by ``bench/hatexplain.py`` (or ``workbench train ... --onnx``).
Ends with one JSON line (``torch_tps``; per variant under ``variants``: ``tps``, ``speedup``,
``decision_agreement``, ``max_abs_dp``, ``f1_delta_max``, ``passed``).
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


def timed(fn, texts, repeats: int) -> tuple[float, np.ndarray]:
    out = fn(texts[:64])  # warm-up: sessions, allocations, first-call overheads
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(texts)
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best, out


def _variant_table(rows: list[tuple], gated: dict) -> dict:
    """Print one line per runtime (throughput, its ratio to torch, probability differences, the gate's
    agreement and F1 delta on holdout); returns the ONNX variants' figures."""
    print(
        f"{'runtime':<14}{'texts/s':>9}{'vs torch':>10}{'max |dp|':>10}{'mean |dp|':>11}"
        f"{'agreement':>11}{'max |dF1|':>11}{'gate':>6}   (agreement, dF1, gate: whole model on holdout)"
    )
    variants = {}
    for name, tps, ratio, mx, mean in rows:
        v = name.split()[-1] if name.startswith("onnx") else "torch"
        g = gated.get(v)
        agree = 1.0 if g is None or g.decision_agreement is None else g.decision_agreement
        df1 = 0.0 if g is None or g.f1_delta_max is None else g.f1_delta_max
        passed = g is not None and g.passed
        print(
            f"{name:<14}{tps:>9.0f}{ratio:>9.2f}x{mx:>10.4f}{mean:>11.5f}{agree:>11.4f}{df1:>11.4f}"
            f"{'pass' if passed else 'FAIL':>6}"
        )
        if v != "torch":
            variants[v] = {
                "tps": round(tps, 1),
                "speedup": round(ratio, 3),
                "decision_agreement": agree,
                "max_abs_dp": round(mx, 5),
                "max_abs_dp_model": g.max_abs_diff_vs_torch if g else None,
                "f1_delta_max": df1,
                "passed": passed,
            }
    return variants


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=1922)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import torch

    from training.artifacts import OnnxEncoderHead, load_model
    from training.families import neural_members

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
    texts = texts[: args.n]

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
    gated = model.evaluate().variants  # every variant on holdout, under the gate's current parity rule

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; {args.threads} threads; "
        f"{len(texts)} HateXplain val texts, best of {args.repeats}; model {args.model} "
        f"({len(members)} encoder member(s): {', '.join(type(m).__name__ for _, m in members)})"
    )
    variants = _variant_table(rows, gated)
    int8 = variants.get("int8")
    if int8:
        ok = int8["speedup"] >= 1.5 and int8["decision_agreement"] >= 0.995 and int8["f1_delta_max"] <= 0.01
        print(
            f"target int8 >= 1.5x torch, agreement >= 0.995, |dF1| <= 0.01: {'MET' if ok else 'NOT MET'} "
            f"({int8['speedup']:.2f}x, {int8['decision_agreement']:.4f}, {int8['f1_delta_max']:.4f})"
        )
        plan = model.card.int8_plan
        if plan:  # how the export chose the int8 graph (on calib)
            calib = plan.get("calib") or {}
            print(
                f"int8 plan (calib): {len(plan['kept_fp32'])} MatMul group(s) kept in fp32 "
                f"({', '.join(plan['kept_fp32']) or 'none'}); {plan.get('quantised_nodes', '?')} MatMuls in int8; "
                f"calib agreement {calib.get('agreement')}, |dF1| {calib.get('f1_delta_max')}"
            )
            int8["plan_kept_fp32"] = plan["kept_fp32"]
    if int8 and "fp32" in variants:
        print(f"int8 vs ONNX fp32: {int8['tps'] / variants['fp32']['tps']:.2f}x")
    print(
        json.dumps({"torch_tps": round(tps_torch, 1), "threads": args.threads, "n": len(texts), "variants": variants})
    )


if __name__ == "__main__":
    main()
