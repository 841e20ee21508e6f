"""Functional suites: ``workbench suite expand DIR`` (templates x fillers into cases, sides checked,
leakage reported), ``workbench suite status DIR`` (review state per functionality) and
``workbench suite run MODEL`` (pass rates per functionality and label at the model's thresholds; with
``--on holdout|pool`` the invariance and directional tests on real posts, which need no label)."""

from __future__ import annotations

import argparse
import json

from ._verbs import DIR, JSON, MODEL, add_verb

GROUP = "suite"
SUMMARY = "suite add-starter DIR | expand DIR | status DIR | run MODEL  (functional tests per label, gated on)"


def add_starter(args) -> int:
    from curation import Project
    from workbench._resources import add_starter_suites

    with Project(args.dir) as project:
        for name, what in add_starter_suites(project).items():
            print(f"{name}: {what}")
    return 0


def expand(args) -> int:
    from curation import Project
    from curation.suites import expand_project_suites, leakage_report

    with Project(args.dir) as project:
        cases = expand_project_suites(project.root, project.taxonomy)
        leaks = leakage_report(cases, project.records.frame(active_only=True))
    test = [c for c in cases if c.side == "test"]
    print(
        f"{len(cases)} cases ({len(test)} test-side, {len(cases) - len(test)} train-side) in {args.dir}/suites/cases.jsonl"
    )
    for func in sorted({c.functionality for c in cases}):
        n_test = sum(1 for c in test if c.functionality == func)
        n_train = sum(1 for c in cases if c.functionality == func and c.side == "train")
        print(f"  {func:<32} test {n_test:>4}  train {n_train:>4}")
    if len(leaks):
        print(f"leakage: {len(leaks)} test-side case(s) near-duplicate a train/valid record:")
        for _, r in leaks.head(20).iterrows():
            print(f"  {r['functionality']}: {r['case']!r} ~ {r['record_id']} {r['record']!r} ({r['similarity']})")
    return 0


def status(args) -> int:
    from curation import Project
    from curation.suites import case_review_state, read_cases

    with Project(args.dir) as project:
        cases = [c for c in read_cases(project.root) if c.side == "test"]
        state = case_review_state(project.store.events(), [c.id for c in cases], min_answers=args.min_answers)
    func = {c.id: c.functionality for c in cases}
    state["functionality"] = state["case_id"].map(func)
    table = state.groupby(["functionality", "state"]).size().unstack(fill_value=0)
    if args.json:
        print(json.dumps(table.to_dict(orient="index"), indent=2))
        return 0
    print(table.to_string() if len(table) else "no test-side cases: run `workbench suite expand DIR` first")
    for _, r in state[state["state"] == "disputed"].iterrows():
        print(f"disputed: {r['functionality']}: {r['case_id']} (no {r['no']}, yes {r['yes']})")
    return 0


def run(args) -> int:
    from training.artifacts import load_model
    from training.evaluation import suite_result

    model = load_model(args.model)
    if args.on != "suite":
        result = _on_posts(model, args)
        if result is None:
            return 0
    else:
        result = suite_result(model, variant=args.variant)
    if result is None:
        print(f"{args.model} has no functional-suite cases (expand the project's suites, then train)")
        return 0
    if args.json:
        print(json.dumps(result.summary(), indent=2))
    else:
        print(result.functionalities.to_string(float_format=lambda x: f"{x:.3f}"))
        if result.pending:
            print(f"{result.pending} test-side case(s) await review and were left out")
        for f in result.verdict.failures + result.verdict.notes:
            print(("known gap: " if f in result.verdict.notes else "FAIL ") + f.line())
        print("PASS" if result.verdict.passed else "FAIL")
    return 0 if result.verdict.passed else 1


def _on_posts(model, args):
    """The invariance and directional tests on real posts (``--on holdout|pool``); ``None`` (with why,
    printed) when there is nothing to run."""
    from training.evaluation import perturbations_on

    result = perturbations_on(model, args.on, variant=args.variant, max_posts=args.max_posts)
    if result is None:
        print(f"nothing to perturb in the {args.on} of {model.card.project} (no post, or no test applies to any)")
    return result


def register(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser("suite", help="functional test suites: expand, review status, run against a model")
    verbs = g.add_subparsers(dest="action", required=True, metavar="ACTION")
    add_verb(verbs, "add-starter", add_starter, "copy the starter suites whose labels the taxonomy has", DIR)
    add_verb(verbs, "expand", expand, "expand DIR/suites/*.yaml into cases (sides checked, leakage reported)", DIR)
    add_verb(
        verbs,
        "status",
        status,
        "review state of the test-side cases per functionality",
        DIR,
        ("--min-answers", {"type": int, "default": 2}),
        JSON,
    )
    add_verb(
        verbs,
        "run",
        run,
        "pass rate per functionality at the model's thresholds (exit 1 when a functionality fails)",
        MODEL,
        ("--variant", {"default": None, "help": "torch (default) or an exported ONNX variant"}),
        (
            "--on",
            {
                "choices": ["suite", "holdout", "pool"],
                "default": "suite",
                "help": "suite: the cases the model is gated on; holdout / pool: the invariance and directional "
                "tests on real posts (the model's holdout split, the project's production posts), no label needed",
            },
        ),
        ("--max-posts", {"type": int, "default": 500, "help": "posts perturbed per test with --on holdout|pool"}),
        JSON,
    )
