"""After the model ships, the production loop: ``workbench production-log import DIR FILE`` (a production log of scored posts and
feedback into the project's pool), ``workbench monitor DIR --model M`` (drift per label and window against
calib, with alerts at the tier's limits; ``--recalibrate-if-drift --out M2`` recalibrates when the latest
window alerts) and ``workbench recalibrate M --from sample-review|feedback --out M2`` (new thresholds on
labelled production posts, same weights); ``workbench watch DIR --model M`` is the loop's front door
(:func:`training.production_loop.watch`: drift, then ``--budget N`` pushes a review sample when the latest window alerts,
``--retrain --out M2`` pulls the answers, retrains on the project with its labelled production posts and
gates on the curated holdout and the production slice, ``--recalibrate --out M2`` re-tunes thresholds)."""

from __future__ import annotations

import argparse
import json

from ._verbs import DIR, JSON, add_verb

GROUP = "production loop"
SUMMARY = (
    "production-log import DIR FILE | monitor DIR --model M | watch DIR --model M [--budget N | --retrain --out M2] "
    "| recalibrate M --out M2  (after the model ships)"
)


def _models(project, paths) -> dict[str, list[str]]:
    """Model name -> labels for the importer's score check: the ``--model`` directories, else the promoted."""
    from training.artifacts import load_model, promoted_model

    models = [load_model(p) for p in paths or ()]
    if not models:
        promoted = promoted_model(project)
        models = [promoted] if promoted is not None else []
    return {m.root.name: m.labels for m in models}


def feedback_import(args) -> int:
    from curation import Project

    with Project(args.dir) as project:
        summary = project.production.import_log(args.file, models=_models(project, args.model), context=args.context)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
        return 0
    print(
        f"{summary.n_posts} posts into the pool ({summary.n_already_stored} already stored), "
        f"{summary.n_feedback} feedback events{' ' + str(summary.feedback) if summary.feedback else ''}, "
        f"{summary.n_labelled} posts newly labelled "
        "by moderators"
    )
    return 0


def monitor(args) -> int:
    from curation import Project
    from training.artifacts import load_model
    from training.production_loop import monitor as run_monitor
    from training.production_loop import monitor_table, production_scores, recalibrate

    if args.recalibrate_if_drift and not args.out:
        from curation import WorkbenchError

        raise WorkbenchError("--recalibrate-if-drift", expected="--out M2 (where the new model goes)", got="no --out")
    with Project(args.dir) as project:
        model = load_model(args.model)
        model.check_taxonomy(project.taxonomy)
        limits = project.settings.monitoring.limits if project.settings.monitoring else None
        pool = project.production.posts()
        scores = production_scores(model, pool) if len(pool) else None  # once, for the monitor and recalibration
        result = run_monitor(
            model,
            pool,
            project.production.feedback(),
            window=args.window,
            limits=limits,
            min_n=args.min_n,
            scores=scores,
        )
        latest = [lab for lab, f in result["windows"][-1]["labels"].items() if f["alert"]]
        if args.recalibrate_if_drift and latest:
            m2 = recalibrate(model, project, args.out, source=args.source, window=args.window, scores=scores)
            result["recalibrated"] = {
                "out": str(m2.root),
                "labels_alerting": latest,
                "passed": m2.card.variants["torch"].passed,
            }
    if args.figure:
        from workbench.panels.monitor import monitor_figure

        monitor_figure(result).write_html(args.figure, include_plotlyjs=True)  # standalone: no network needed
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        table = monitor_table(result)
        print(table.to_string(index=False))
        alerts = table[table["alert"] != ""]
        print(f"{len(alerts)} alert(s) in {len(result['windows'])} window(s) of {args.window}")
        if "recalibrated" in result:
            r = result["recalibrated"]
            print(
                f"latest window alerts on {', '.join(latest)}: recalibrated into {r['out']} "
                f"(gate {'PASS' if r['passed'] else 'FAIL'}; promote it with `workbench promote {r['out']}`)"
            )
    return 0


def recalibrate(args) -> int:
    from curation import Project
    from training.artifacts import load_model
    from training.production_loop import recalibrate as run
    from training.production_loop import recalibration_table

    model = load_model(args.model)
    with Project(args.project or model.card.project) as project:
        m2 = run(model, project, args.out, source=args.source, window=args.window, min_positives=args.min_positives)
    rec = m2.card.recalibration
    torch = m2.card.variants["torch"]
    if args.json:
        print(
            json.dumps(
                {
                    "out": str(m2.root),
                    "recalibration": m2.card.to_dict()["recalibration"],
                    "gate": torch.gate.to_dict(),
                },
                indent=2,
            )
        )
        return 0 if torch.passed else 1
    print(recalibration_table(m2).to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"tuned on {rec.calibration_sets[1]}; checked on {rec.check_posts} other posts and the holdout")
    print("\n".join(torch.gate.lines()))
    return 0 if torch.passed else 1


def watch(args) -> int:
    from curation import Project
    from training.artifacts import load_model
    from training.production_loop import watch as run_watch

    model = load_model(args.model)
    review = None
    with Project(args.dir) as project:
        if args.budget or args.retrain or args.recalibrate:
            from workbench.review import SampleReviewLoop, connect

            review = SampleReviewLoop(connect(args.home), workspace=args.workspace, seed=args.seed)
        result = run_watch(
            project,
            model,
            window=args.window,
            budget=args.budget,
            strategy=args.strategy,
            review=review,
            retrain=args.retrain,
            recalibrate=args.recalibrate,
            out=args.out,
            min_n=args.min_n,
            show_progress=not args.json,
        )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
        return 0
    print(
        f"latest {args.window} window: "
        + ("; ".join(f"{lab}: {', '.join(r)}" for lab, r in result.alerting.items()) or "no alert")
    )
    print(f"labelled production posts per split: {result.labelled or 'none'}")
    if result.sample is not None:
        print(f"pushed {result.sample['selected']} posts to sample-review ({result.sample['reasons']})")
    if result.candidate is not None:
        print(f"{result.action} into {result.candidate}: gate {'PASS' if result.gate['passed'] else 'FAIL'}")
        mix = (result.production or {}).get("mix") or {}
        if mix:
            pos = ", ".join(f"{lab} {c['positives']}" for lab, c in mix["per_label"].items() if c["posts"])
            print(f"  trained on {mix['posts']} labelled production posts (positives {pos or 'none'})")
        prod = (result.gate or {}).get("production")
        if prod:
            print(
                f"  production slice ({prod['posts']} posts): "
                + ", ".join(f"{lab} {row['status']}" for lab, row in prod["labels"].items())
            )
    print(f"next: {result.next}")
    return 0


def _old_feedback_import(args) -> int:
    import sys

    print(
        "note: `workbench feedback import` is now `workbench production-log import` "
        "(the old spelling goes in the next release)",
        file=sys.stderr,
    )
    return feedback_import(args)


def register(sub: argparse._SubParsersAction) -> None:
    for name, handler, help_ in (
        ("production-log", feedback_import, "production logs: scored posts and feedback into the project's pool"),
        ("feedback", _old_feedback_import, None),  # the 0.x spelling, hidden, one release
    ):
        _add_log_import(sub, name, handler, help_)
    _add_loop_verbs(sub)


def _add_log_import(sub: argparse._SubParsersAction, name: str, handler, help_: str | None) -> None:
    g = sub.add_parser(name, help=help_) if help_ else sub.add_parser(name)
    verbs = g.add_subparsers(dest="action", required=True, metavar="ACTION")
    add_verb(
        verbs,
        "import",
        handler,
        "a JSONL or CSV production log (docs/reference/production-log.md)",
        DIR,
        ("file",),
        (
            "--model",
            {
                "action": "append",
                "help": "model directory whose scores the log holds (repeatable); default: the promoted model",
            },
        ),
        ("--context", {"default": "GENERAL", "help": "context of rows that name none"}),
        JSON,
    )


def _add_loop_verbs(sub: argparse._SubParsersAction) -> None:
    add_verb(
        sub,
        "monitor",
        monitor,
        "drift of a shipped model per label and window: PSI, KS, decision and overturn rates, alerts",
        DIR,
        ("--model", {"required": True, "help": "the model directory to watch"}),
        ("--window", {"default": "1d", "help": "window length (1d, 12h, 7d)"}),
        ("--min-n", {"type": int, "default": 50, "help": "posts a window needs before it may alert"}),
        ("--figure", {"help": "write the per-label rate-over-time figure to this HTML file"}),
        (
            "--recalibrate-if-drift",
            {"action": "store_true", "help": "recalibrate into --out when the latest window alerts"},
        ),
        ("--out", {"help": "the recalibrated model directory (with --recalibrate-if-drift)"}),
        (
            "--from",
            {
                "dest": "source",
                "choices": ["sample-review", "feedback"],
                "default": "sample-review",
                "help": "labelled production posts to recalibrate on",
            },
        ),
        JSON,
    )
    add_verb(
        sub,
        "watch",
        watch,
        "the production loop: drift, a review sample when it alerts, then retrain (or recalibrate) and gate",
        DIR,
        ("--model", {"required": True, "help": "the shipped model directory"}),
        ("--window", {"default": "7d", "help": "window length (1d, 12h, 7d)"}),
        ("--min-n", {"type": int, "default": 50, "help": "posts a window needs before it may alert"}),
        ("--budget", {"type": int, "help": "push this many posts to sample-review when the latest window alerts"}),
        ("--strategy", {"choices": ["uncertainty", "rare", "diverse", "mixed", "random"], "default": "mixed"}),
        ("--seed", {"type": int, "default": 0, "help": "random seed of the sample"}),
        ("--retrain", {"action": "store_true", "help": "pull the answers, retrain on the project, gate; needs --out"}),
        ("--recalibrate", {"action": "store_true", "help": "pull the answers, re-tune thresholds; needs --out"}),
        ("--out", {"help": "the candidate model directory"}),
        (
            "--home",
            {"help": "a local stack's home (default: $ARGILLA_API_URL / $ARGILLA_API_KEY, else the default stack)"},
        ),
        ("--workspace", {"help": "Argilla workspace (default: the project's name)"}),
        JSON,
    )
    add_verb(
        sub,
        "recalibrate",
        recalibrate,
        "new thresholds for a shipped model from labelled production posts (same weights), re-gated",
        ("model",),
        ("--from", {"dest": "source", "choices": ["sample-review", "feedback"], "default": "sample-review"}),
        ("--out", {"required": True, "help": "the new model directory"}),
        ("--project", {"help": "the project (default: the one the model was trained from)"}),
        ("--window", {"default": "7d", "help": "the recent window whose decision rates weight the figures"}),
        (
            "--min-positives",
            {"type": int, "default": 5, "help": "positives (and negatives) a label needs to be retuned"},
        ),
        JSON,
    )
