"""Benchmark: what each step of the spelling normaliser does for a model that reads through it.

    python -m bench.spelling [--project DIR] [--recipe heads|ensemble] [--compare steps|members] [--threads 2]

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
hour or more per setting on this machine).

``--compare members`` (``make bench-members``) asks the other question of issue 45: what the character
n-gram member adds beside the word-level ones, every normaliser step on. Settings: ``heads`` alone; ``heads +
tfidf`` and ``heads + tfidf + chars`` (the ensemble's lexical members around the frozen-encoder member, the
members' weights tuned on calib as the default ensemble's are; this bench registers that recipe, the
library's ensemble fine-tunes its encoder members, a quarter of an hour per model here); and ``chars`` alone.
Last line: JSON.
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


MEMBERS = {  # --compare members: setting -> (recipe, char member)
    "heads": ("heads", False),
    "heads + tfidf": ("heads-lexical", False),
    "heads + tfidf + chars": ("heads-lexical", True),
    "chars alone": ("chars-alone", False),
}


def register_member_recipes() -> None:
    """Two recipes of this bench: the frozen-encoder heads averaged with the lexical members (the default
    ensemble's TF-IDF and, with ``char_member``, character n-grams; weights tuned on calib by the
    ensemble's own rule), and the character member alone."""
    from training import RECIPES, Recipe, register_recipe
    from training.families import CharNgramClassifier, EnsembleClassifier, TfidfClassifier

    ensemble = RECIPES.lookup("ensemble", what="recipe")
    heads = RECIPES.lookup("heads", what="recipe")

    def lexical_members(spec, labels, hierarchy, cache_dir):
        # the library ensemble's own TF-IDF and character members, built as it builds them (its fine-tune
        # members are only constructed here, never fitted)
        built = ensemble.build(dataclasses.replace(spec, ensemble_weights="calib"), labels, hierarchy, cache_dir)
        return [m for m in built.members if isinstance(m, (TfidfClassifier, CharNgramClassifier))]

    def chars(spec, labels, hierarchy, cache_dir):
        return lexical_members(dataclasses.replace(spec, char_member=True), labels, hierarchy, cache_dir)[-1]

    def lexical(spec, labels, hierarchy, cache_dir):
        members = lexical_members(spec, labels, hierarchy, cache_dir)
        return EnsembleClassifier([heads.build(spec, labels, hierarchy, cache_dir), *members])

    if "heads-lexical" not in RECIPES:
        register_recipe(
            Recipe(
                "heads-lexical",
                "ensemble",
                "bench: heads + lexical members",
                lexical,
                False,
                after_fit=ensemble.after_fit,
            )
        )
        register_recipe(Recipe("chars-alone", "chars", "bench: the character member alone", chars, False))


def _row(model, evaluate, seconds: float) -> dict:
    """One setting's figures (the module docstring); the members' weights where the model is an ensemble."""
    from training.evaluation import suite_result

    result = suite_result(model)
    funcs = result.functionalities
    mft = result.cases[result.cases["type"] == "mft"]
    ev = evaluate(model)
    row = {
        "HX val macro-F1": ev["hx"][1],
        "MFT spelling_variants": round(float(funcs.loc["spelling_variants", "pass_rate"]), 4),
        "MFT all cases": round(float(mft["passed"].mean()), 4),
        **{f"suite {t} fail": round(1 - float(funcs.loc[t, "pass_rate"]), 4) for t in INVARIANCE},
        **{f"HX posts {t} fail": ev["perturbed_hx"].get(t) for t in INVARIANCE},
        "minutes": round(seconds / 60, 1),
    }
    weights = getattr(model.classifier(), "weights", None)
    if weights is not None:
        row["weights"] = "/".join(f"{w:.2f}" for w in weights)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--project", default=str(REPO / "build" / "bench-spelling"), help="the start's project")
    ap.add_argument("--recipe", choices=["heads", "ensemble"], default="heads")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated setting names (default: every one)")
    ap.add_argument(
        "--compare", choices=["steps", "members"], default="steps", help="normaliser steps, or ensemble members"
    )
    args = ap.parse_args()

    import torch

    from bench.hatexplain import DATA, default_spec
    from bench.turns import evaluation, start_project
    from curation.suites import load_suites
    from training import train_model

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
    if args.compare == "members":
        register_member_recipes()
        variants = {
            name: dataclasses.replace(spec, recipe=recipe, char_member=char) for name, (recipe, char) in MEMBERS.items()
        }
    else:
        variants = {name: dataclasses.replace(spec, spelling=spelling) for name, spelling in settings().items()}
    wanted = [s for s in args.only.split(",") if s]
    rows = {}
    for name, variant in variants.items():
        if wanted and name not in wanted:
            continue
        t0 = time.perf_counter()
        model = train_model(project, root / "models" / name.replace(" ", "-").replace("+", "and"), variant)
        rows[name] = _row(model, evaluate, time.perf_counter() - t0)
        print(f"{name}: {rows[name]}", flush=True)
    project.close()
    table = pd.DataFrame(rows).T
    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch threads {args.threads}; recipe {args.recipe}")
    pd.set_option("display.width", 200)
    print(table.to_string())
    if args.compare == "steps" and "all steps" in rows:
        base = table.loc["all steps"]
        print(
            "\nremoving one step, against every step (a positive F1 / pass-rate delta or a negative failure delta: "
            "the step hurt):"
        )
        print((table.drop(index=["all steps"]) - base).round(4).to_string())
    print(json.dumps({"recipe": args.recipe, "compare": args.compare, "settings": rows}))


if __name__ == "__main__":
    main()
