"""Benchmark: the loop turned until it converges. Does fixing what the functional suites find make the model
better where it fails, turn after turn, without making it worse where it was good?

    python -m bench.turns --out DIR [--turns 3] [--start hatexplain|multi|both] [--recipe ensemble|heads]
                         [--encoder all-MiniLM-L6-v2|all-mpnet-base-v2] [--m0 MODEL_DIR] [--project DIR]
                         [--threads 2] [--per-batch 20] [--min-gain 0.01]

1. The start's project gets the starter ``hate`` suite (``workbench/templates/suites/hate.yaml``), expanded
   into test-side and train-side cases. ``--start hatexplain``: the project of ``bench/hatexplain.py``
   (official train -> train/valid, val -> calib/holdout); ``--start multi``: HateXplain with those same
   splits plus Davidson, ETHOS and the OpenAI moderation set merged (``multi_source_project``: unknowns
   masked, each source rate-balanced, thresholds tuned with every source's calib counting equally);
   ``both`` runs the two and prints them side by side. The bench does not review the suite cases, so the
   models are gated on them by the explicit flag (``suite_pending``).
2. **M0** = the recipe on the start's project (``--m0`` reuses a model directory for the hatexplain start).
3. Each turn (``workbench.turns.run_turns``): the latest model's suite result names the failing
   functionalities; ``generate --from-suite`` makes a new pending batch per failing functionality and per
   contrast (train-side cases balanced over the groups and over the two signs, then obfuscated and
   perturbed copies of both signs); the batches are reviewed through the real path (the embedded Argilla
   stack is started, a sample of every batch is pushed to ``batch-review``, the bench's annotator answers
   each sampled record with the labels its template expects, the pull applies the acceptance rule); the
   next model is trained on the new snapshot. The loop stops early when a turn improves no functionality
   by ``--min-gain`` or the model fails none.
4. Per model (M0, M1, ...): the suite's test-side pass rate per minimum-functionality test and failure rate
   per invariance / directional test, and those tests again on the HateXplain val posts (real posts); HateXplain val (3-class
   reading, as ``bench/hatexplain.py``: accuracy, macro-F1, AUROC); ``hate`` on four sources: HateXplain
   val and, for Davidson, ETHOS and OpenAI moderation ``H``, every record the multi-source start neither
   trained nor tuned on (its holdout split, and the negatives rate balancing left out): recall and FPR at
   the model's own threshold and recall at FPR <= 0.1 (the best threshold on that source: what the model
   can do); the unintended-bias table (false-positive rate per group on the suite's benign cases); the
   identity balance of the training mix (warnings); minutes per turn.

Targets (issue 33): after the last turn every non-known-gap functionality >= 0.90 on the test side and none
that M0 passed below its minimum; HateXplain val macro-F1 >= M0's; ``hate`` R@FPR <= 0.1 higher than M0's on
at least three of the four sources; a turn under 25 minutes. Last line: JSON with every turn of every start.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from bench import hatexplain as _hx

REPO = Path(__file__).resolve().parents[1]

HX_DATA, default_spec, hatexplain_project, multi_source_project, scores, three_class = (
    _hx.DATA,
    _hx.default_spec,
    _hx.hatexplain_project,
    _hx.multi_source_project,
    _hx.scores,
    _hx.three_class,
)

SHARED = REPO.parent / "shared" / "data"
SOURCES = {  # source -> (file, importer format, the field that means hate in that format's raw records)
    name: (SHARED / rel, fmt, key) for name, (rel, fmt, key, _) in _hx.OTHER_SOURCES.items()
}
FPR_MAX = 0.1


def cross_sources(
    multi, max_pos: int = 800, max_neg: int = 1600, seed: int = 0
) -> dict[str, tuple[list[str], np.ndarray]]:
    """HateXplain val, and for each other source every post the multi-source project ``multi`` does not
    train or tune on (its holdout, and what rate balancing left out), a seeded sample of up to ``max_pos``
    hate and ``max_neg`` other posts (recall and FPR are per class: the sample does not bias them)."""
    from curation import normalise_text
    from curation.ingest import read_file

    val = pd.read_csv(HX_DATA / "val.csv")
    out = {"hatexplain": (val["text"].astype(str).tolist(), (val["category"] == 1).to_numpy(int))}
    stored = multi.records.frame(include_unreviewed=True)
    used = {normalise_text(t) for t in stored.loc[stored["split"].isin(["train", "valid", "calib"]), "text"]}
    for name, (path, fmt, key) in SOURCES.items():
        rows = [(r.text, r.labels.get(key)) for r in read_file(path, fmt).records if normalise_text(r.text) not in used]
        df = pd.DataFrame(rows, columns=["text", "hate"]).dropna()
        pos, neg = df[df["hate"] == 1], df[df["hate"] == 0]
        df = pd.concat(
            [
                pos.sample(min(len(pos), max_pos), random_state=seed),
                neg.sample(min(len(neg), max_neg), random_state=seed),
            ]
        )
        out[name] = (df["text"].astype(str).tolist(), df["hate"].to_numpy(int))
    return out


def hate_rates(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """Recall and FPR at the model's threshold, and the best recall any threshold reaches at FPR <= 0.1."""
    from sklearn.metrics import roc_curve

    fired = p >= threshold
    fpr, tpr, _ = roc_curve(y, p)
    return {
        "recall": float(fired[y == 1].mean()),
        "fpr": float(fired[y == 0].mean()),
        "recall_at_fpr": float(tpr[fpr <= FPR_MAX].max()),
    }


def review_batches(project, per_batch: int, rounds: int = 4) -> dict:
    """Push a sample of every pending batch to batch-review on a fresh embedded stack, answer each sampled
    record as its template says (the bench's annotator), pull: the acceptance rule (a sequential sampling
    plan) decides, and a batch it says needs more reviews gets them pushed and answered, up to ``rounds``."""
    from bench.review_stack import new_annotator, review_stack
    from workbench.review import BATCH_REVIEW, pull, push_batches

    with review_stack("loop-argilla-") as owner:
        answered: set[str] = set()
        pushed, report, annotator = 0, {}, None
        for _ in range(rounds):
            pushed += push_batches(project, owner, per_batch=per_batch).get("pushed") or 0
            annotator = annotator or new_annotator(owner, project)
            _answer(project, annotator, answered)
            report = pull(project, owner)[BATCH_REVIEW]["batches"]
            if not any(i.get("verdict") == "needs_more" for i in report.values()):
                break
    return {"pushed": pushed, "answered": len(answered), "batches": report}


def _answer(project, annotator, answered: set[str]) -> None:
    """Answer every sampled record not answered yet with the labels its template expects (its stored labels)
    and "valid: yes"."""
    from workbench.review import BATCH_REVIEW, NONE_LABEL

    ds = annotator.datasets(name=BATCH_REVIEW, workspace=str(project.settings.name))
    http = annotator.api.http_client
    expected = project.records.frame(include_unreviewed=True).set_index("id")
    names = list(project.taxonomy.label_names)
    offset = 0
    while True:
        found = http.post(
            f"/api/v1/me/datasets/{ds.id}/records/search", params={"limit": 1000, "offset": offset}, json={}
        ).json()
        items = found["items"]
        for hit in items:
            rec = hit["record"]
            if rec["id"] in answered:
                continue
            row = expected.loc[rec["external_id"]]
            labels = [lab for lab in names if row[lab] == 1] or [NONE_LABEL]
            r = http.post(
                f"/api/v1/records/{rec['id']}/responses",
                json={"status": "submitted", "values": {"labels": {"value": labels}, "valid": {"value": "yes"}}},
            )
            r.raise_for_status()
            answered.add(rec["id"])
        offset += len(items)
        if len(items) < 1000:
            break


def evaluation(sources: dict, suites: list | None = None) -> Callable:
    """``evaluate(model)`` for the loop: HateXplain val (3-class), ``hate`` rates on every source and, with
    ``suites``, their invariance and directional tests on the HateXplain val posts (real posts, no template:
    the failure rate per test, at most 500 posts each; the benign originals are the posts labelled normal)."""
    from curation.suites import filler_values
    from training.evaluation import run_perturbations

    tests = [f for s in suites or [] for f in s.functionalities if f.type != "mft"]

    def evaluate(model) -> dict:
        predict = model.predictor("torch")
        j = model.labels.index("hate")
        out: dict = {"cross": {}}
        for name, (texts, y) in sources.items():
            p = predict(texts)
            if name == "hatexplain":
                val = pd.read_csv(HX_DATA / "val.csv")
                out["hx"] = [round(x, 4) for x in scores(val["category"].to_numpy(), three_class(p))]
            out["cross"][name] = {k: round(v, 4) for k, v in hate_rates(y, p[:, j], model.thresholds[j]).items()}
        if tests:
            val = pd.read_csv(HX_DATA / "val.csv")
            category = {"hate": 1, "offensive": 2}
            known = np.stack([(val["category"] == category[lab]).to_numpy(float) for lab in model.labels], axis=1)
            result = run_perturbations(
                tests,
                val["text"].astype(str).tolist(),
                predict,
                label_names=model.labels,
                thresholds=model.thresholds,
                fillers=filler_values(suites),
                known=known,
            )
            rates = result.functionalities if result is not None else pd.DataFrame(columns=["pass_rate"])
            out["perturbed_hx"] = {str(f): round(1 - float(r), 4) for f, r in rates["pass_rate"].items()}
        return out

    return evaluate


def start_project(start: str, root: Path):
    """The start's project with the starter ``hate`` suite expanded (a fresh one: refuses an existing folder):
    its minimum-functionality tests and its invariance and directional tests."""
    from curation.suites import expand_project_suites
    from workbench import STARTER_SUITES

    if root.exists():
        sys.exit(f"{root} exists: a start begins from a fresh project (remove it or pass --project)")
    project = hatexplain_project(root) if start == "hatexplain" else multi_source_project(root)
    (project.layout.suites).mkdir()
    shutil.copyfile(STARTER_SUITES / "hate.yaml", project.layout.suites / "hate.yaml")
    cases = expand_project_suites(project.root, project.taxonomy)
    test = [c for c in cases if c.side == "test"]
    print(f"[{start}] suite: {len(test)} test-side and {len(cases) - len(test)} train-side cases", flush=True)
    return project, test


def run_start(start: str, args, sources: dict) -> dict:
    """M0 and up to ``--turns`` turns from one start; prints each turn as it ends."""
    from curation.suites import load_suites
    from training import train_model
    from training.artifacts import load_model
    from training.evaluation import run_suite
    from workbench.turns import run_turns

    out = Path(args.out) / start
    project, test = start_project(start, Path(args.project) / start)
    suites = load_suites(project.root, project.taxonomy)
    onnx = tuple(v for v in args.onnx.split(",") if v)
    spec = default_spec(threads=args.threads, onnx=onnx, recipe=args.recipe, encoder=args.encoder)
    spec = dataclasses.replace(
        spec,
        suite_pending=True,  # the bench does not review suite cases: the explicit flag
        threshold_groups="source" if start == "multi" else None,  # every source's calib counts equally
    )
    t0 = time.perf_counter()
    m0 = load_model(args.m0) if args.m0 and start == "hatexplain" else train_model(project, out / "m0", spec)
    m0_minutes = (time.perf_counter() - t0) / 60

    def suite_of(model):
        return run_suite(test, model.predictor("torch"), label_names=model.labels, thresholds=model.thresholds)

    def on_turn(turn) -> None:
        status = project.batches.frame().set_index("id")["status"]
        made = {b.batch_id for b in turn.made["batches"]}
        ok = int((status.reindex(sorted(made)) == "accepted").sum())
        print(
            f"[{start}] turn {turn.index}: {sum(b.stored for b in turn.made['batches'])} records in "
            f"{len(made)} batches, {ok} accepted; overall pass rate "
            f"{turn.result.cases['passed'].mean():.3f}; improved {turn.improved}; {turn.minutes:.1f} min",
            flush=True,
        )

    history = run_turns(
        project,
        m0,
        train=lambda k: train_model(project, out / f"m{k}", spec),
        review=lambda p, made: review_batches(p, args.per_batch),
        suite=suite_of,
        evaluate=evaluation(sources, suites),
        turns=args.turns,
        min_gain=args.min_gain,
        on_turn=on_turn,
    )
    balance = history.turns[-1].model.card.mix.get("identity_balance", {}) if history.turns else {}
    project.close()
    return {
        "history": history,
        "m0_minutes": m0_minutes,
        "m0_reused": bool(args.m0 and start == "hatexplain"),
        "balance": balance,
    }


def print_start(start: str, run: dict) -> dict:
    """The per-turn tables of one start; returns its JSON entry."""
    h = run["history"]
    table = h.table()
    models = [c for c in table.columns if c.startswith("M")]
    evals = [h.start_evaluation] + [t.evaluation for t in h.turns]
    m0 = "reused" if run["m0_reused"] else f"trained in {run['m0_minutes']:.1f} min"
    print(f"\n== start: {start} (M0 {m0}; stopped: {h.stopped}; best model: {h.best})")
    print(f"{'turn':<30}" + "".join(f"{m:>8}" for m in models))
    print(f"{'minutes':<30}{'':>8}" + "".join(f"{t.minutes:>8.1f}" for t in h.turns))
    print(
        f"{'records generated':<30}{'':>8}" + "".join(f"{sum(b.stored for b in t.made['batches']):>8}" for t in h.turns)
    )
    kinds = table["type"] if "type" in table else pd.Series("mft", index=table.index)
    print("minimum-functionality tests: pass rate")
    for name, row in table[kinds == "mft"].iterrows():
        gap = " (known gap)" if row["known_gap"] else ""
        print(f"{str(name) + gap:<30}" + "".join(f"{row[m]:>8.3f}" for m in models) + f"   min {row['min_pass']:.2f}")
    print(f"{'all test-side MFT cases':<30}" + "".join(f"{x:>8.3f}" for x in h.overall().values()))
    if (kinds != "mft").any():
        print("invariance / directional tests on the suite: failure rate")
        for name, row in table[kinds != "mft"].iterrows():
            print(f"{name:<30}" + "".join(f"{1 - row[m]:>8.3f}" for m in models) + f"   max {1 - row['min_pass']:.2f}")
    if "perturbed_hx" in evals[0]:
        print("invariance / directional tests on HateXplain val posts: failure rate")
        for name in evals[0]["perturbed_hx"]:
            print(f"{name:<30}" + "".join(f"{e['perturbed_hx'].get(name, float('nan')):>8.3f}" for e in evals))
    print(f"{'HateXplain val macro-F1':<30}" + "".join(f"{e['hx'][1]:>8.3f}" for e in evals))
    for src in evals[0]["cross"]:
        print(f"{'hate R@FPR<=.1 ' + src:<30}" + "".join(f"{e['cross'][src]['recall_at_fpr']:>8.3f}" for e in evals))
    last = h.results()[models[-1]]
    bias = pd.concat({"M0": h.start.by_group(), models[-1]: last.by_group()}, axis=1)
    print(f"\nunintended bias (suite benign cases per group), M0 vs {models[-1]}: false-positive rate")
    print(bias.xs("fpr", axis=1, level=1).round(3).to_string())
    terms = run["balance"].get("hate", {})
    over = sorted(t for t, v in terms.items() if max(v.values()) > 3 * max(min(v.values()), 1))
    print(f"identity balance of the last training mix: {len(over)} of {len(terms)} group terms over 3:1 {over}")
    return targets(start, table, models, evals, h, run)


def targets(start: str, table: pd.DataFrame, models: list[str], evals: list[dict], h, run: dict) -> dict:
    """The issue's targets for one start, printed, and the start's JSON entry."""
    first, last = models[0], models[-1]
    kinds = table["type"] if "type" in table else pd.Series("mft", index=table.index)
    perturbed = table[kinds != "mft"]
    table = table[kinds == "mft"]
    non_gap = table[~table["known_gap"].astype(bool)]
    every = bool((non_gap[last] >= 0.90).all())
    passed_m0 = non_gap[non_gap[first] >= non_gap["min_pass"]]
    kept = bool((passed_m0[last] >= passed_m0["min_pass"]).all())
    hx_ok = evals[-1]["hx"][1] >= evals[0]["hx"][1]
    r_at = [
        (e["cross"][s]["recall_at_fpr"], evals[0]["cross"][s]["recall_at_fpr"]) for e in evals[-1:] for s in e["cross"]
    ]
    better = sum(a > b for a, b in r_at)
    slowest = max((t.minutes for t in h.turns), default=0.0)
    on_hx = evals[-1].get("perturbed_hx", {})
    inv_hx = {k: v for k, v in on_hx.items() if k in ("inv_typos", "inv_leetspeak")}
    inv_ok = bool(inv_hx) and max(inv_hx.values()) <= 0.05
    print(
        f"targets [{start}]: INV typos and leetspeak failure <= 5 % on HateXplain val posts: "
        f"{'YES' if inv_ok else 'NO'} ({inv_hx}); on the suite after the last turn: "
        + ", ".join(f"{f} {1 - v:.3f}" for f, v in perturbed[last].items())
    )
    print(
        f"targets [{start}]: every non-known-gap functionality >= 0.90: {'YES' if every else 'NO'}; none M0 passed "
        f"below its minimum: {'YES' if kept else 'NO'}; HateXplain macro-F1 >= M0: {'YES' if hx_ok else 'NO'} "
        f"({evals[-1]['hx'][1] - evals[0]['hx'][1]:+.4f}); R@FPR<=0.1 higher on {better} of {len(evals[0]['cross'])} "
        f"sources ({'YES' if better >= 3 else 'NO'}); slowest turn {slowest:.1f} min ({'YES' if slowest < 25 else 'NO'})"
    )
    return {
        "stopped": h.stopped,
        "best": h.best,
        "m0_minutes": round(run["m0_minutes"], 1),
        "turn_minutes": [round(t.minutes, 1) for t in h.turns],
        "suite": {m: {str(f): round(float(v), 4) for f, v in table[m].items()} for m in models},
        "overall": {m: round(x, 4) for m, x in h.overall().items()},
        "hx": {m: e["hx"] for m, e in zip(models, evals)},
        "cross": {m: e["cross"] for m, e in zip(models, evals)},
        "group_fpr": {m: {str(g): v for g, v in r.by_group()["fpr"].items()} for m, r in h.results().items()},
        "perturbed_suite": {m: {str(f): round(1 - float(v), 4) for f, v in perturbed[m].items()} for m in models},
        "perturbed_hx": {m: e.get("perturbed_hx", {}) for m, e in zip(models, evals)},
        "targets": {
            "every_0.90": every,
            "kept": kept,
            "hx_not_lower": hx_ok,
            "sources_better": better,
            "inv_hx_0.05": inv_ok,
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder for START/m0, START/m1, ...")
    ap.add_argument("--turns", type=int, default=3, help="at most this many turns (stops early, see above)")
    ap.add_argument("--start", choices=["hatexplain", "multi", "both"], default="both")
    ap.add_argument(
        "--recipe",
        choices=["ensemble", "heads"],
        default="ensemble",
        help="ensemble (the default recipe: fine-tuned MiniLMs + TF-IDF) or heads (frozen MiniLM + heads)",
    )
    ap.add_argument(
        "--encoder",
        default="all-MiniLM-L6-v2",
        help="the members' sentence encoder: all-MiniLM-L6-v2, or all-mpnet-base-v2 where there is a GPU (make mpnet)",
    )
    ap.add_argument("--m0", help="reuse this model directory as the hatexplain start's M0 (bench/hatexplain.py)")
    ap.add_argument("--project", default=str(REPO / "build" / "bench-loop"), help="folder for the starts' projects")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--per-batch", type=int, default=20, help="records per batch the annotator reviews")
    ap.add_argument("--min-gain", type=float, default=0.01, help="a turn improves a functionality by at least this")
    ap.add_argument("--onnx", default="", help="ONNX variants of every model (re-gated on the suite too)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    starts = ["hatexplain", "multi"] if args.start == "both" else [args.start]
    multi = multi_source_project(Path(tempfile.mkdtemp(prefix="loop-sources-")) / "p")  # what multi trains on
    sources = cross_sources(multi)
    shutil.rmtree(multi.root.parent, ignore_errors=True)
    runs = {start: run_start(start, args, sources) for start in starts}
    print()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, torch threads {args.threads}; recipe {args.recipe}; "
        f"encoder {args.encoder}; "
        f"sources scored: " + ", ".join(f"{k} {len(v[0])}" for k, v in sources.items())
    )
    report = {start: print_start(start, run) for start, run in runs.items()}
    print(
        json.dumps(
            {
                "recipe": args.recipe,
                "encoder": args.encoder,
                "turns": args.turns,
                "starts": report,
                "minutes": round((time.perf_counter() - t0) / 60, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
