"""int8 that keeps its decisions: which MatMuls of the exported graph stay in fp32, chosen on calib.

Dynamic int8 of every MatMul of a fine-tuned MiniLM moves probabilities by up to ~0.1, and about one
(record, label) decision in a hundred flips at the model's thresholds: too many for the gate's parity
rule. The loss is not spread evenly: a few MatMuls (on these encoders, the feed-forward blocks of the
lower layers) account for most of it. So the int8 variant is planned on the **calib** split, never on
holdout, which stays the gate's:

1. quantise everything; if calib decisions already agree with fp32 within :data:`INT8_CALIB_TARGET`
   (the gate's rule with a margin for the difference between two samples), that is the variant;
2. otherwise measure each group of MatMuls (one layer's query/key/value, attention output,
   feed-forward in, feed-forward out) alone in int8: the mean probability change it causes on a calib
   sample is its loss;
3. keep the k lossiest groups in fp32, with the smallest k that meets the target on the whole calib
   split (binary search: agreement grows with k up to sampling noise).

Step 2 is most of the plan's time (a quantisation and a calib pass per group). Its losses depend only on
the fp32 graph and what it is scored against, so the plan records both as digests (``measured_on``), and a
plan for another target on the same graph and calib (re-exporting after changing ``int8_target``) reuses
them instead of measuring again; any change to the graph, the calib texts or the scoring measures anew.

The plan (groups kept, each try's calib agreement and F1 change, the losses) goes into the model card;
the variant is then gated on holdout like any other. Imports: numpy, onnx / onnxruntime (on call) and
this package's parity check and file digest.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from foundation import file_sha256

from ..evaluation._parity import parity_check

__all__ = ["INT8_CALIB_TARGET", "matmul_groups", "quantize_int8", "plan_int8"]

# The gate asks >= 0.995 agreement and <= 0.01 |dF1| on holdout; a calib split of ~2,000 records
# misjudges agreement by a few tenths of a percent (one flip moves a label's F1 by ~0.001), so the
# plan aims at 40 % of the allowed flips and three quarters of the allowed F1 change.
INT8_CALIB_TARGET = {"min_agreement": 0.998, "max_f1_delta": 0.0075}

# BERT-like encoders (MiniLM) name attention's projections self/query..value and output; MPNet attn/q..v and o
_LAYER = re.compile(
    r"layer\.(\d+)/(attention/self/(?:query|key|value)|attention/attn/[qkv]|attention/attn/o|attention/output"
    r"|intermediate|output)/"
)
_KIND = {
    "attention/output": "attention-out",
    "attention/attn/o": "attention-out",
    "intermediate": "ffn-in",
    "output": "ffn-out",
}


def matmul_groups(fp32: Path) -> dict[str, list[str]]:
    """The weight MatMuls of an exported encoder graph, grouped by layer and block.

    ``{"layer0.qkv": [...], "layer0.attention-out": [...], "layer0.ffn-in": [...], "layer0.ffn-out": [...],
    ..., "other": [...]}`` (``other``: the head and anything outside the layers); the members of an
    averaged ensemble share a group (same layer, same block). MatMuls between two activations
    (attention scores) are not quantised by dynamic int8 and not listed.
    """
    import onnx

    model = onnx.load(str(fp32), load_external_data=False)
    weights = {i.name for i in model.graph.initializer}
    groups: dict[str, list[str]] = defaultdict(list)
    for node in model.graph.node:
        if node.op_type not in ("MatMul", "Gemm") or node.input[1] not in weights:  # the quantiser takes Gemm too
            continue
        m = _LAYER.search(node.name)
        key = "other" if not m else f"layer{m.group(1)}.{_KIND.get(m.group(2), 'qkv')}"
        groups[key].append(node.name)
    return dict(groups)


@contextmanager
def _quiet():
    """onnxruntime's quantiser logs a pre-processing hint on the root logger at every call."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def quantize_int8(fp32: Path, out: Path, *, keep_fp32: Sequence[str] = (), only: Sequence[str] | None = None) -> Path:
    """Dynamic int8 (per-channel weights) of the MatMuls of ``fp32``, except the nodes in ``keep_fp32``
    (``only``: quantise just these nodes)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    def named(nodes):  # the quantiser rewrites a Gemm as "<name>_MatMul" + Add before it filters by name
        return [x for n in nodes for x in (n, f"{n}_MatMul")]

    kwargs = {"nodes_to_quantize": named(only)} if only is not None else {}
    with _quiet():
        quantize_dynamic(
            str(fp32),
            str(out),
            per_channel=True,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=named(keep_fp32),
            **kwargs,
        )
    return Path(out)


def plan_int8(
    fp32: Path,
    out: Path,
    *,
    score: Callable[[Sequence[str]], np.ndarray],
    texts: Sequence[str],
    y: np.ndarray,
    reference: np.ndarray,
    thresholds: Sequence[float],
    label_names: Sequence[str],
    target: dict | None = None,
    probe_size: int = 1024,
    on_step: Callable[[str], None] | None = None,
    previous: dict | None = None,
) -> dict:
    """Write the int8 variant of ``fp32`` to ``out``, keeping in fp32 the fewest MatMul groups that make it
    agree with fp32 on calib (see the module docstring).

    ``score(part)`` scores ``texts`` or their first ``probe_size`` rows with the graph currently at
    ``out`` (the whole model, as the gate scores it); ``reference`` is fp32's scores of ``texts``
    (calib) and ``y`` their labels. ``target`` overrides :data:`INT8_CALIB_TARGET` (``min_agreement``,
    ``max_f1_delta``, and optionally ``max_abs_dp``, a bound on the largest probability change).
    ``previous``: an earlier plan of this model (the card's ``int8_plan``), whose per-group losses are
    reused when they were measured on the same graph and probe scores (``measured_on``).
    Returns the plan: ``kept_fp32`` (groups), ``kept_nodes``, ``quantised_nodes``, ``calib`` (agreement, F1 change,
    largest probability change of the chosen graph), ``met_target``, ``tries``, ``loss`` per group,
    ``measured_on`` (``None`` when no loss was needed) and ``loss_reused``.
    """
    target = {**INT8_CALIB_TARGET, **(target or {})}
    texts = list(texts)
    groups = matmul_groups(fp32)
    say = on_step or (lambda msg: None)
    tries: list[dict] = []

    def attempt(kept: list[str]) -> tuple[bool, dict]:
        quantize_int8(fp32, out, keep_fp32=[n for g in kept for n in groups[g]])
        info, failures = parity_check(
            "int8", y, score(texts), reference, thresholds, label_names=label_names, rule=target
        )
        dp = info["max_abs_diff_vs_torch"]
        met = not failures and dp <= target.get("max_abs_dp", np.inf)
        row = {
            "kept": len(kept),
            "agreement": info["decision_agreement"],
            "f1_delta_max": info["f1_delta_max"],
            "max_abs_dp": round(dp, 6),
            "met": bool(met),
        }
        tries.append(row)
        say(
            f"int8 with {len(kept)} group(s) in fp32: calib agreement {row['agreement']:.4f}, "
            f"|dF1| {row['f1_delta_max']:.4f}"
        )
        return row["met"], row

    ok, best = attempt([])
    loss: dict[str, float] = {}
    measured_on: dict[str, str] | None = None
    reused = False
    chosen: list[str] = []
    if not ok:
        probe = texts[:probe_size]
        ref_probe = np.asarray(reference[: len(probe)], dtype=float)
        measured_on = _measured_on(fp32, ref_probe)
        previous = previous or {}
        reused = previous.get("measured_on") == measured_on and set(previous.get("loss") or ()) == set(groups)
        if reused:
            loss = dict(previous["loss"])
        else:
            for g, nodes in groups.items():  # each group alone in int8: the probability change it causes
                quantize_int8(fp32, out, only=nodes)
                loss[g] = round(float(np.abs(score(probe) - ref_probe).mean()), 6)
        order = sorted(loss, key=lambda g: -loss[g])
        say(
            f"int8 loss per group {'reused from the last plan' if reused else 'measured on calib'}: "
            + ", ".join(f"{g} {loss[g]:.4f}" for g in order[:4])
        )
        lo, hi = 1, len(order)
        found: int | None = None
        while lo <= hi:  # smallest k whose calib check passes
            k = (lo + hi) // 2
            if attempt(order[:k])[0]:
                found, hi = k, k - 1
            else:
                lo = k + 1
        if found is None:  # even all groups in fp32 miss the target: keep the best try, the gate decides
            found = max(tries[1:], key=lambda r: (r["agreement"], -r["f1_delta_max"]))["kept"]
        chosen = order[:found]
        if tries[-1]["kept"] == found:
            ok, best = tries[-1]["met"], tries[-1]
        else:  # rewrite the chosen graph (the search left another one at ``out``)
            ok, best = attempt(chosen)
    kept_nodes = [n for g in chosen for n in groups[g]]
    total = sum(len(v) for v in groups.values())
    return {
        "kept_fp32": chosen,
        "kept_nodes": len(kept_nodes),
        "quantised_nodes": total - len(kept_nodes),
        "calib": {k: best[k] for k in ("agreement", "f1_delta_max", "max_abs_dp")},
        "met_target": ok,
        "target": target,
        "tries": tries,
        "loss": loss,
        "measured_on": measured_on,
        "loss_reused": reused,
    }


def _measured_on(fp32: Path, ref_probe: np.ndarray) -> dict[str, str]:
    """Digests of what per-group losses depend on: the fp32 graph's bytes and its scores on the probe
    (which stand for the calib texts and the scoring around the graph, e.g. an ensemble's lexical part)."""
    scores = hashlib.sha256(np.round(np.asarray(ref_probe, dtype=np.float64), 6).tobytes()).hexdigest()
    return {"graph_sha256": file_sha256(fp32), "probe_scores_sha256": scores}
