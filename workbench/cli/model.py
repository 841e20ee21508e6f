"""Model verbs: ``workbench model train | evaluate | gate | predict | promote | export``.

``train``, ``evaluate``, ``gate``, ``predict`` and ``promote`` also work without the ``model`` prefix.
"""

from __future__ import annotations

import argparse
import json
import sys

from training import RECIPES, VARIANTS

from ._verbs import DIR, JSON, MODEL, add_verb

GROUP = "model"
SUMMARY = "model train | evaluate | gate | predict | promote | export  (the first five also without 'model')"


def _csv(text: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in (text or "").split(",") if x.strip())


def _print_variants(variants: dict) -> None:
    """One line per :class:`training.VariantResult`."""
    print(f"{'variant':<8}{'gate':>6}{'micro-F1':>10}{'macro-F1':>10}{'agree':>8}{'|dF1|':>8}{'max|dp|':>9}")
    for v, i in variants.items():
        cols = (i.decision_agreement, i.f1_delta_max, i.max_abs_diff_vs_torch)
        extra = "".join(f"{'' if x is None else format(x, '.4f'):>{w}}" for x, w in zip(cols, (8, 8, 9)))
        print(
            f"{v:<8}{'pass' if i.passed else 'FAIL':>6}{i.summary['micro_f1']:>10.3f}"
            f"{i.summary['macro_f1']:>10.3f}{extra}"
        )


def train(args) -> int:
    from curation import Project
    from training import FineTuneArgs, TrainSpec, train_model, train_model_set

    ft = FineTuneArgs(epochs=args.epochs) if args.epochs else FineTuneArgs()
    spec = TrainSpec(
        recipe=args.recipe,
        group=args.group,
        mix=not args.no_mix,
        onnx=_csv(args.onnx),
        finetune=ft,
        seed=args.seed,
        include_unreviewed=args.include_unreviewed,
        threshold_groups="source" if args.thresholds_per_source else None,
    )
    with Project(args.dir) as project:
        if args.groups:
            models = train_model_set(project, args.out, _csv(args.groups), spec, show_progress=True).models
        else:
            models = [train_model(project, args.out, spec, show_progress=True)]
    for m in models:
        print(f"model {m.root}: labels {m.labels}, snapshot {m.card.snapshot_id}")
        for w in m.card.warnings:
            print(f"  warning: {w}")
        for u in m.card.mix.get("unmet", []):
            print(f"  mix: {u}")
        _print_variants(m.card.variants)
        regs = m.regressions()
        if regs is not None:
            print(
                f"  against the promoted model {m.card.comparison['against']}: "
                + (
                    ", ".join(f"{r['label']} F1 {r['delta_f1']:+.3f} recall {r['delta_recall']:+.3f}" for r in regs)
                    if regs
                    else "no per-label regression"
                )
            )
    return 0


def evaluate(args) -> int:
    from training import load_model

    _print_variants(load_model(args.model).evaluate_all())
    return 0


def gate(args) -> int:
    from training import load_model

    model = load_model(args.model)
    report = model.gate_report()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for v, info in model.card.variants.items():
            print(f"{v:<6} {'PASS' if info.passed else 'FAIL'}")
            for f in info.gate.failures:
                print(f"       {f.line()}")
            for f in info.gate.notes:  # known gaps: reported, not failing
                print(f"       note: {f.line()}")
    return 0 if report["passed"] else 1


def predict(args) -> int:
    from training import predict_file

    n = predict_file(args.model, args.input, args.output, variant=args.variant, threads=args.threads)
    print(f"scored {n} texts -> {args.output}")
    return 0


def promote(args) -> int:
    from training import load_model
    from training import promote as promote_model

    entry = promote_model(load_model(args.model), variant=args.variant, accept_regression=args.accept_regression)
    print(f"promoted {entry['model']} ({entry['variant']}), snapshot {entry['snapshot_id']}")
    if "accepted_regression" in entry:
        accepted = entry["accepted_regression"]
        print(f"  regression accepted on {', '.join(accepted['labels'])}: {accepted['reason']}")
    return 0


def export(args) -> int:
    from training import load_model

    # int8 is planned on calib (minutes on a large model): say what each try gave
    _print_variants(load_model(args.model).export(_csv(args.onnx), on_step=lambda msg: print(msg, file=sys.stderr)))
    return 0


def _add_verbs(sub: argparse._SubParsersAction, *, with_export: bool) -> None:
    variant = {"choices": ["torch", *VARIANTS], "help": "default: the fastest variant that passed its gate"}
    add_verb(
        sub,
        "train",
        train,
        "train, tune (calib), evaluate (holdout), gate a model from a snapshot",
        DIR,
        ("--out", {"required": True, "help": "model directory (a model set when --groups is given)"}),
        ("--recipe", {"default": "heads", "choices": list(RECIPES), "metavar": "RECIPE", "help": ", ".join(RECIPES)}),
        ("--group", {"help": "train one label group (task view)"}),
        ("--groups", {"help": "comma-separated label groups: one head each, served as a model set"}),
        ("--onnx", {"default": "", "help": f"export and gate these ONNX variants, e.g. {','.join(VARIANTS)}"}),
        ("--no-mix", {"action": "store_true", "help": "train on the whole train split, without the mix"}),
        ("--epochs", {"type": float, "help": "fine-tune epochs (ensemble recipe)"}),
        ("--seed", {"type": int, "default": 0}),
        (
            "--thresholds-per-source",
            {
                "action": "store_true",
                "help": "tune thresholds with each source's calib counting equally (recorded in the model card)",
            },
        ),
        (
            "--include-unreviewed",
            {
                "action": "store_true",
                "help": "also train on generated batches that await review (recorded in the model card)",
            },
        ),
    )
    add_verb(sub, "evaluate", evaluate, "re-evaluate a model and its ONNX variants on holdout and re-gate them", MODEL)
    add_verb(
        sub, "gate", gate, "print a model's gate verdict per variant (exit 1 if the best variant fails)", MODEL, JSON
    )
    add_verb(
        sub,
        "predict",
        predict,
        'score a JSONL file of {"text": ...} lines',
        ("model", {"help": "a model directory or a model set"}),
        ("--input", {"required": True}),
        ("--output", {"required": True}),
        ("--variant", variant),
        ("--threads", {"type": int, "default": 2}),
    )
    add_verb(
        sub,
        "promote",
        promote,
        "make a model the project's promoted model (refused unless its gate passed)",
        MODEL,
        ("--variant", variant),
        (
            "--accept-regression",
            {
                "metavar": "REASON",
                "help": "promote although a label regressed against the promoted model (the reason is recorded)",
            },
        ),
    )
    if with_export:
        add_verb(
            sub,
            "export",
            export,
            "export ONNX variants, then evaluate, parity-check and gate each",
            MODEL,
            ("--onnx", {"required": True, "help": f"variants, e.g. {','.join(VARIANTS)}"}),
        )


def register(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser("model", help="train, evaluate, gate, predict with, promote and export models")
    _add_verbs(g.add_subparsers(dest="action", required=True, metavar="ACTION"), with_export=True)
    _add_verbs(sub, with_export=False)  # the short forms
