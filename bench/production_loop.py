"""Benchmark: the production loop closes. Does a review budget spent on the team's own platform, answered
through the real sample-review path and trained on, make the next model better on the week it never saw,
and does active sampling beat random at it?

    python -m bench.production_loop --out DIR [--budget 300] [--strategy mixed] [--model MODEL_DIR]
                                    [--curve 50,100,200,400] [--seeds 3] [--threads 2]

1. **M**: the HateXplain model of ``bench/drift.py`` (``heads`` recipe of ``bench/hatexplain.py``'s project:
   frozen all-MiniLM-L6-v2 + per-label heads), or ``--model``.
2. **The platform**: posts of other styles with their gold labels (Davidson tweets, ETHOS comments, the
   OpenAI moderation sample: ``bench/drift.py``'s ``week_two_sources``), shuffled and stamped over three
   weeks. Weeks 1-2 are the pool, imported as a production log with M's scores into a copy of M's project;
   week 3 is for evaluation only and never imported.
3. **Per strategy** (``random``, ``uncertainty``, ``rare``, ``mixed``; or ``--strategy`` alone): a fresh copy
   of that project, ``budget`` posts pushed to ``sample-review`` on the embedded Argilla stack, answered by
   the bench's annotator with the gold labels (through the HTTP API, as the UI does), pulled; then M' = the
   same recipe retrained on the project (labelled production posts of the train split join it; the card
   counts them).
4. **Seeds**: the strategies whose picks depend on a seed (``random``, ``mixed``) run ``--seeds`` times (default
   3) and are reported as the mean, with each run's ``hate`` AP and the spread: one seed's difference between
   two strategies is often smaller than the seeds' own.
5. **Scores on week 3**: per label average precision and recall at the tier's FPR budget (the best threshold
   that keeps week 3's FPR within it: what the ranking allows), and the curated holdout's macro-F1 (M's
   card against M''s).
6. **The curve**: week-3 ``hate`` AP against the budget (``--curve``) for ``mixed`` and ``random`` (seed 1).

Last line: JSON (``m``, ``strategies`` {name: per-label figures, holdout macro-F1, production posts
trained on, minutes}, ``curve``, ``targets``, ``minutes``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from bench import drift as _drift
from bench import hatexplain as _hx

REPO = Path(__file__).resolve().parents[1]

STRATEGIES = ("random", "uncertainty", "rare", "mixed")
LABELS = ("hate", "offensive")


def platform_posts(seed: int = 0) -> pd.DataFrame:
    """The platform's posts over three weeks (gold ``hate`` / ``offensive``, NaN where a source does not
    know it): all of ETHOS and the OpenAI sample, 3000 Davidson tweets, shuffled, then stamped in order."""
    posts = _drift.week_two_sources(seed)
    dav = posts[posts["source"] == "davidson"].head(3000)
    posts = pd.concat([dav, posts[posts["source"] != "davidson"]]).sample(frac=1.0, random_state=seed)
    posts = posts.drop_duplicates("text").reset_index(drop=True)
    start = pd.Timestamp("2026-11-02T00:00:00Z")
    posts["time"] = [(start + pd.Timedelta(days=21 * i / len(posts))).isoformat() for i in range(len(posts))]
    posts["week"] = 1 + (np.arange(len(posts)) * 3) // len(posts)
    posts["id"] = [f"post{i:05d}" for i in range(len(posts))]
    return posts


def week3_figures(model, week3: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per label: positives, average precision, and recall at the tier's FPR budget on week 3
    (:func:`training.production_loop.compare_on_posts`, as notebook 08 reads it)."""
    from training.production_loop import compare_on_posts

    table = compare_on_posts({"m": model}, week3)
    return {
        row.label: {
            "positives": int(row.positives),
            "ap": round(float(row.ap), 4),
            "recall_at_fpr": round(float(row.recall_at_fpr_budget), 4),
            "fpr_budget": row.fpr_budget,
        }
        for row in table.itertuples()
    }


def base_project(model, stream: pd.DataFrame, out: Path):
    """A copy of M's project (records, cache; no models) with weeks 1-2 imported as a production log."""
    from curation import Project

    src = Path(model.card.project)
    dst = out / "base-project"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("models", "snapshots"))
    pool = stream[stream["week"] <= 2]
    scores = model.predictor(model.serving_variant())(pool["text"].tolist())
    log = out / "pool.jsonl"
    with log.open("w") as f:
        for row, s in zip(pool.to_dict(orient="records"), scores):
            f.write(
                json.dumps(
                    {
                        "id": row["id"],
                        "text": row["text"],
                        "time": row["time"],
                        "model": model.root.name,
                        "scores": {lab: round(float(v), 6) for lab, v in zip(model.labels, s)},
                    }
                )
                + "\n"
            )
    project = Project(dst)
    project.production.import_log(log, models={model.root.name: model.labels})
    project.close()
    return dst


def one_turn(model, base: Path, out: Path, stream, week3, strategy: str, budget: int, owner, spec, seed: int):
    """A copy of the base project, ``budget`` posts of ``strategy`` reviewed with gold, M' trained on it."""
    import yaml

    from bench.review_stack import new_annotator
    from curation import Project
    from training import train_model
    from workbench.review.push import workspace_for

    t0 = time.perf_counter()
    name = f"{strategy}-{budget}"
    pdir = out / "projects" / name
    if pdir.exists():
        shutil.rmtree(pdir)
    shutil.copytree(base, pdir)
    cfg = yaml.safe_load((pdir / "workbench.yaml").read_text())
    cfg["name"] = f"pl-{name}-{uuid.uuid4().hex[:6]}"
    (pdir / "workbench.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    project = Project(pdir)
    workspace_for(owner, project)
    user = new_annotator(owner, project)
    answered = _drift.review_round(project, owner, user, model, stream, budget, strategy, seed, set())
    mdir = out / "models" / name
    if mdir.exists():
        shutil.rmtree(mdir)
    m2 = train_model(project, mdir, spec)
    project.close()
    prod = m2.card.production.mix if m2.card.production else None
    return {
        "week3": week3_figures(m2, week3),
        "holdout_macro_f1": round(float(m2.card.metrics["macro_f1"]), 4),
        "reviewed": len(answered),
        "production_posts_trained": prod.posts if prod else 0,
        "production_positives": {lab: c["positives"] for lab, c in (prod.per_label if prod else {}).items()},
        "minutes": round((time.perf_counter() - t0) / 60, 1),
    }


SEEDED = ("random", "mixed")  # the strategies whose picks depend on the seed (uncertainty and rare do not)


def summarise(runs: list[dict]) -> dict:
    """One strategy's runs (one per seed): the mean of every week-3 figure and of the holdout macro-F1, with
    each run's hate AP and the spread, so that a difference smaller than the seeds' is read as one."""
    out = dict(runs[0])
    out["week3"] = {
        lab: {
            k: (round(float(np.mean([r["week3"][lab][k] for r in runs])), 4) if k in ("ap", "recall_at_fpr") else v)
            for k, v in fig.items()
        }
        for lab, fig in runs[0]["week3"].items()
    }
    out["holdout_macro_f1"] = round(float(np.mean([r["holdout_macro_f1"] for r in runs])), 4)
    out["seeds"] = len(runs)
    out["hate_ap_runs"] = [r["week3"]["hate"]["ap"] for r in runs]
    out["hate_ap_sd"] = round(float(np.std(out["hate_ap_runs"], ddof=1)), 4) if len(runs) > 1 else None
    out["minutes"] = round(sum(r["minutes"] for r in runs), 1)
    return out


def _model(args, out: Path, spec):
    """``--model``, or the heads recipe trained on the HateXplain bench project (a fresh ``out/model``)."""
    from training import train_model
    from training.artifacts import load_model

    if args.model:
        return load_model(args.model)
    hx_project = _hx.hatexplain_project(out / "hatexplain-project")
    mdir = out / "model"
    if mdir.exists():
        shutil.rmtree(mdir)
    model = train_model(hx_project, mdir, spec, show_progress=True)
    hx_project.close()
    return model


def _runs(model, base, out: Path, stream, week3, args, spec, strategies, curve_budgets):
    """Every strategy at the budget (its seeds), then the hate-AP curve of mixed and random, on one embedded
    stack: (results per strategy, curve)."""
    from bench.review_stack import review_stack

    results, curve = {}, {"mixed": {}, "random": {}}
    with review_stack("prodloop-argilla-") as owner:
        for strategy in strategies:
            runs = []
            for seed in range(1, (args.seeds if strategy in SEEDED else 1) + 1):
                runs.append(one_turn(model, base, out, stream, week3, strategy, args.budget, owner, spec, seed))
                print(f"{strategy} seed {seed}: {json.dumps(runs[-1])}", flush=True)
            results[strategy] = summarise(runs)
        for strategy in curve:
            for b in curve_budgets:
                r = (
                    results[strategy]
                    if (b == args.budget and strategy in results)
                    else one_turn(model, base, out, stream, week3, strategy, b, owner, spec, 1)
                )
                curve[strategy][b] = r["week3"]["hate"]["ap"]
                print(f"curve {strategy} {b}: hate AP {curve[strategy][b]}", flush=True)
    return results, curve


def _table(model, m_fig: dict, m_f1: float, results: dict, args) -> None:
    """One row per model: week-3 AP and R@FPR per label, holdout macro-F1, posts trained on, minutes."""
    head = f"{'model':<24}" + "".join(f"{lab + ' AP':>14}{lab + ' R@FPR':>15}" for lab in model.labels)
    print(head + f"{'holdout F1':>12}{'prod posts':>12}{'min':>6}")
    print(
        f"{'M':<24}"
        + "".join(f"{m_fig[lab]['ap']:>14.3f}{m_fig[lab]['recall_at_fpr']:>15.3f}" for lab in model.labels)
        + f"{m_f1:>12.3f}{'-':>12}{'-':>6}"
    )
    for name, r in results.items():
        figs = "".join(
            f"{r['week3'][lab]['ap']:>14.3f}{r['week3'][lab]['recall_at_fpr']:>15.3f}" for lab in model.labels
        )
        tag = f"M'({name}, {args.budget})" + (f" x{r['seeds']}" if r.get("seeds", 1) > 1 else "")
        print(f"{tag:<24}{figs}{r['holdout_macro_f1']:>12.3f}{r['production_posts_trained']:>12}{r['minutes']:>6.1f}")
    spread = {name: r["hate_ap_sd"] for name, r in results.items() if r.get("hate_ap_sd") is not None}
    if spread:
        print(
            "hate AP over seeds (sd): "
            + ", ".join(f"{n} {results[n]['hate_ap_runs']} (sd {v})" for n, v in spread.items())
        )


def _targets(model, m_fig: dict, m_f1: float, results: dict) -> dict:
    """The issue's targets on the label that drifted worst (lowest week-3 AP of M among labels with >= 30
    week-3 positives)."""
    eligible = [lab for lab in model.labels if m_fig[lab]["positives"] >= 30]
    worst = min(eligible, key=lambda lab: m_fig[lab]["ap"]) if eligible else None
    if "mixed" not in results or not worst:
        return {}
    mixed = results["mixed"]
    targets = {
        "worst_label": worst,
        "mixed_beats_m_on_every_label": all(mixed["week3"][lab]["ap"] > m_fig[lab]["ap"] for lab in eligible),
        "mixed_gain_on_worst": round(mixed["week3"][worst]["ap"] - m_fig[worst]["ap"], 4),
        "mixed_gain_on_worst_at_least_0.05": mixed["week3"][worst]["ap"] - m_fig[worst]["ap"] >= 0.05,
        "holdout_f1_within_0.01": mixed["holdout_macro_f1"] >= m_f1 - 0.01,
    }
    if "random" in results:
        targets["mixed_at_least_random_on_worst"] = (
            mixed["week3"][worst]["ap"] >= results["random"]["week3"][worst]["ap"]
        )
    return targets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", help="reuse this model directory (trained on the HateXplain bench project)")
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--strategy", choices=STRATEGIES, help="only this strategy (default: all four)")
    ap.add_argument("--curve", default="50,100,200,400", help="budgets of the hate-AP curve ('' for none)")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per strategy whose picks depend on one (random, mixed)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    spec = _hx.default_spec(threads=args.threads, onnx=(), recipe="heads")
    model = _model(args, out, spec)
    t_model = time.perf_counter() - t0
    stream = platform_posts()
    week3 = stream[stream["week"] == 3].reset_index(drop=True)
    m_fig = week3_figures(model, week3)
    m_f1 = round(float(model.card.metrics["macro_f1"]), 4)
    base = base_project(model, stream, out)
    strategies = [args.strategy] if args.strategy else list(STRATEGIES)
    curve_budgets = [int(b) for b in args.curve.split(",") if b.strip()]
    results, curve = _runs(model, base, out, stream, week3, args, spec, strategies, curve_budgets)
    minutes = (time.perf_counter() - t0) / 60

    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch threads {args.threads}")
    print(
        f"M {model.root} ({'reused' if args.model else f'trained in {t_model / 60:.1f} min'}); platform "
        f"{len(stream)} posts {stream['source'].value_counts().to_dict()}; pool weeks 1-2 "
        f"{int((stream['week'] <= 2).sum())}, week 3 {len(week3)} (never imported)"
    )
    pos = ", ".join(f"{lab} {m_fig[lab]['positives']}" for lab in model.labels)
    print(f"week-3 positives: {pos}")
    print()
    _table(model, m_fig, m_f1, results, args)
    if curve_budgets:
        print()
        print("week-3 hate AP against the review budget (M: " + f"{m_fig['hate']['ap']:.3f})")
        print(f"{'budget':<10}" + "".join(f"{b:>8}" for b in curve_budgets))
        for strategy, row in curve.items():
            print(f"{strategy:<10}" + "".join(f"{row.get(b, float('nan')):>8.3f}" for b in curve_budgets))
    targets = _targets(model, m_fig, m_f1, results)
    print()
    print("targets: " + ", ".join(f"{k} {v}" for k, v in targets.items()))
    print(
        json.dumps(
            {
                "m": {"week3": m_fig, "holdout_macro_f1": m_f1},
                "budget": args.budget,
                "strategies": results,
                "curve": curve,
                "targets": targets,
                "minutes": round(minutes, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
