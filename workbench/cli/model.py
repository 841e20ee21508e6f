"""Model verbs: ``workbench model train | evaluate | gate | predict | promote | export``.

``train``, ``evaluate``, ``gate``, ``predict`` and ``promote`` also work without the ``model`` prefix.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys

from ._verbs import DIR, JSON, MODEL, REQUIRE_PASS, add_verb

# The built-in recipes and ONNX variants, named here so that `--help` imports no training code (which costs
# seconds); tests/workbench/test_cli.py keeps them equal to training.RECIPES and training.artifacts.VARIANTS. A recipe
# registered by the user's own code is still accepted: the training checks the name against the registry.
RECIPES = ("heads", "ensemble", "tfidf")
VARIANTS = ("fp32", "fp16", "int8")

GROUP = "model"
SUMMARY = "model train | evaluate | gate | predict | promote | export  (the first five also without 'model')"


def _csv(text: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in (text or "").split(",") if x.strip())


def _print_variants(variants: dict) -> None:
    """One line per :class:`training.evaluation.VariantResult`."""
    print(f"{'variant':<8}{'gate':>6}{'micro-F1':>10}{'macro-F1':>10}{'agree':>8}{'|dF1|':>8}{'max|dp|':>9}")
    for v, i in variants.items():
        cols = (i.decision_agreement, i.f1_delta_max, i.max_abs_diff_vs_torch)
        extra = "".join(f"{'' if x is None else format(x, '.4f'):>{w}}" for x, w in zip(cols, (8, 8, 9)))
        print(
            f"{v:<8}{'pass' if i.passed else 'FAIL':>6}{i.summary['micro_f1']:>10.3f}"
            f"{i.summary['macro_f1']:>10.3f}{extra}"
        )


def _weights(text: str | None, what: str) -> dict[str, float] | None:
    """``LABEL=W,LABEL=W`` (or ``T1=W`` for a tier) as a mapping; ``None`` when not given."""
    from curation import WorkbenchError

    if not text:
        return None
    out = {}
    for part in _csv(text):
        name, eq, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise WorkbenchError(
                what, expected="LABEL=WEIGHT[,LABEL=WEIGHT...]", got=repr(text), fix=f"e.g. {what} hate=5,T1=8"
            ) from None
        if not eq:
            raise WorkbenchError(what, expected="LABEL=WEIGHT", got=repr(part))
    return out


def _training_flags(args):
    """The flag door of the training configuration (only what was given)."""
    from training import TrainingConfig

    cw = args.class_weights
    flags = {
        "recipe": args.recipe,
        "encoder": args.encoder,
        "epochs": args.epochs,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "loss": args.loss,
        "focal_gamma": args.focal_gamma,
        "pos_weight_cap": args.pos_weight_cap,
        "pos_weight": _weights(args.pos_weight, "--pos-weight"),
        "class_weights": cw if cw in (None, "auto") else _weights(cw, "--class-weights"),
        "class_weight_cap": args.class_weight_cap,
        "label_smoothing": args.label_smoothing,
        "hierarchy_weight": args.hierarchy_weight,
        "curriculum": tuple(float(x) for x in _csv(args.curriculum)) if args.curriculum else None,
        "patience": args.patience,
    }
    return TrainingConfig.from_dict({k: v for k, v in flags.items() if v is not None}, where="workbench train flags")


class EpochProgress:
    """``workbench train``'s view of the epochs: one bar per fit, its figures (loss, valid loss, macro-F1s) beside
    the epoch number, instead of a line per epoch; a warning sign repeated over the epochs is counted and
    shown once at the end (the last epoch's signs are in the model's warnings, printed after it)."""

    def __init__(self) -> None:
        self.bar = None
        self.last_epoch = None
        self.epochs = 0
        self.signs: dict[str, tuple[int, str]] = {}  # the sign without its numbers -> (epochs seen, last text)
        self.last: set[str] = set()

    def __call__(self, rec: dict) -> None:
        from tqdm.auto import tqdm

        if self.bar is None or (self.last_epoch is not None and rec["epoch"] <= self.last_epoch):
            self.close_bar()
            self.bar = tqdm(desc="fit", unit="epoch", total=None, leave=True)
        self.last_epoch = rec["epoch"]
        self.epochs += 1

        def fmt(x):
            return "-" if x is None else f"{x:.3f}"

        self.bar.set_postfix_str(
            f"loss {fmt(rec['loss'])} valid {fmt(rec.get('valid_loss'))} primary F1 {fmt(rec['primary_macro_f1'])} "
            f"secondary F1 {fmt(rec['secondary_macro_f1'])}",
            refresh=False,
        )
        self.bar.update(1)
        self.last = {_sign(w) for w in rec["warnings"]}
        for w in rec["warnings"]:
            self.signs[_sign(w)] = (self.signs.get(_sign(w), (0, ""))[0] + 1, w)

    def close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def close(self) -> None:
        self.close_bar()
        for key, (count, text) in self.signs.items():
            if key not in self.last:  # a sign the last epoch no longer shows (those are the model's warnings)
                print(f"  earlier epochs: {text} (in {count} of {self.epochs} epochs)")


def _sign(warning: str) -> str:
    """A warning sign without its figures: the same sign at every epoch is one key."""
    return re.sub(r"\d+(\.\d+)?", "#", warning)


def train(args) -> int:
    from curation import Project
    from training import TrainSpec, resolve_training, train_model, train_model_set, yaml_layer
    from training.evaluation import GateReport
    from training.families import FineTuneArgs

    flags = _training_flags(args)
    with Project(args.dir) as project:
        merged, _ = resolve_training(("yaml", yaml_layer(project.settings)), ("flag", flags))
        spec = TrainSpec(
            recipe=merged.recipe or "heads",
            group=args.group,
            mix=not args.no_mix,
            onnx=_csv(args.onnx),
            finetune=FineTuneArgs(),
            seed=args.seed,
            include_unreviewed=args.include_unreviewed,
            threshold_groups="source" if args.thresholds_per_source else None,
            training=flags,
            training_source="flag",
        )
        progress = EpochProgress()
        kw = {"show_progress": True, "on_epoch": progress}
        # the training's warnings reach the card, printed below once; not also through its log
        log = logging.getLogger("workbench.training")
        level = log.level
        log.setLevel(logging.ERROR)
        try:
            if args.groups:
                models = train_model_set(project, args.out, _csv(args.groups), spec, **kw).models
            else:
                models = [train_model(project, args.out, spec, **kw)]
        finally:
            log.setLevel(level)
            progress.close()
    for m in models:
        print(f"model {m.root}: labels {m.labels}, snapshot {m.card.snapshot_id}")
        for w in m.card.warnings:
            print(f"  warning: {w}")
        for u in m.card.mix.get("unmet", []):
            print(f"  mix: {u}")
        prod = m.card.production
        if prod is not None and prod.mix is not None:
            pos = ", ".join(f"{lab} {c['positives']}" for lab, c in prod.mix.per_label.items() if c["posts"])
            print(
                f"  production posts in the mix: {prod.mix.posts} of {prod.mix.available} "
                f"({prod.mix.share:.1%}; positives {pos or 'none'}); refused as twins of curated evaluation "
                f"records: {len(prod.mix.refused)}"
            )
        _print_variants(m.card.variants)
        regs = GateReport.of(m).regressions()
        if regs is not None:
            print(
                f"  against the promoted model {m.card.comparison['against']}: "
                + (
                    ", ".join(
                        f"{r['label']} on the production slice ({r['lost_positives']} positives lost)"
                        if r.get("slice") == "production"
                        else f"{r['label']} F1 {r['delta_f1']:+.3f} recall {r['delta_recall']:+.3f}"
                        for r in regs
                    )
                    if regs
                    else "no per-label regression"
                )
            )
    return 0


def evaluate(args) -> int:
    from training.artifacts import load_model

    _print_variants(load_model(args.model).evaluate().variants)
    return 0


def gate(args) -> int:
    from training.artifacts import load_model
    from training.evaluation import GateReport

    model = load_model(args.model)
    gate_report = GateReport.of(model)  # what the model's last evaluation decided
    report = gate_report.to_dict()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for v, info in model.card.variants.items():
            print(f"{v:<6} {'PASS' if info.passed else 'FAIL'}")
            for f in info.gate.failures:
                print(f"       {f.line()}")
            for f in info.gate.insufficient:  # neither pass nor fail: too few holdout positives to tell
                print(f"       insufficient evidence: {f.line()}")
            for f in info.gate.notes:  # known gaps: reported, not failing
                print(f"       note: {f.line()}")
        best = report["best_variant"]
        if best in report["variants"]:
            print(f"\nper label ({best}; 95 % Wilson intervals):")
            _print_label_table(report["variants"][best]["labels"])
        if report.get("production"):
            print(
                f"\nproduction slice ({report['production']['posts']} production_holdout posts of the team's own "
                "platform, never trained or tuned on; torch):"
            )
            _print_label_table(report["production"]["labels"])
    return 0 if report["passed"] else 1


def _print_label_table(labels: dict) -> None:
    def rate(row, key):
        v, ci = row.get(key), row.get(f"{key}_ci")
        if v is None:
            return "-"
        return f"{v:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci and ci[0] is not None else f"{v:.3f}"

    print(f"{'label':<20}{'status':<23}{'pos/min':>9}  {'recall':<22}{'precision':<22}{'fpr':<22}")
    for lab, row in labels.items():
        print(
            f"{lab:<20}{row['status']:<23}{str(row.get('positives')) + '/' + str(row['min_positives']):>9}  "
            f"{rate(row, 'recall'):<22}{rate(row, 'precision'):<22}{rate(row, 'fpr'):<22}"
        )


def warn(message: str) -> None:
    """A warning for the person at the terminal: on stderr, apart from the output."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def predict(args) -> int:
    from training.artifacts import open_model, predict_file, require_pass

    model = open_model(args.model)
    if args.require_pass:
        require_pass(model, args.variant)
    n = predict_file(
        model,
        args.input,
        args.output,
        variant=args.variant,
        threads=args.threads,
        enforce_hierarchy=args.enforce_hierarchy,
        warn=warn,
    )
    print(f"scored {n} texts -> {args.output}")
    return 0


def promote(args) -> int:
    from training.artifacts import load_model
    from training.artifacts import promote as promote_model

    entry = promote_model(
        load_model(args.model),
        variant=args.variant,
        accept_regression=args.accept_regression,
        accept_insufficient=args.accept_insufficient,
    )
    print(f"promoted {entry['model']} ({entry['variant']}), snapshot {entry['snapshot_id']}")
    if "accepted_insufficient" in entry:
        thin = entry["accepted_insufficient"]
        print(f"  insufficient evidence accepted on {', '.join(thin['labels'])}: {thin['reason']}")
    if "accepted_regression" in entry:
        accepted = entry["accepted_regression"]
        print(f"  regression accepted on {', '.join(accepted['labels'])}: {accepted['reason']}")
    return 0


def export(args) -> int:
    from training.artifacts import load_model

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
        (
            "--recipe",
            {
                "metavar": "RECIPE",
                "help": ", ".join(RECIPES) + " (default: training.recipe of workbench.yaml, else heads)",
            },
        ),
        ("--group", {"help": "train one label group (task view)"}),
        (
            "--encoder",
            {"help": "all-MiniLM-L6-v2 (default), all-mpnet-base-v2 or a local sentence-transformers folder"},
        ),
        ("--groups", {"help": "comma-separated label groups: one head each, served as a model set"}),
        ("--onnx", {"default": "", "help": f"export and gate these ONNX variants, e.g. {','.join(VARIANTS)}"}),
        ("--no-mix", {"action": "store_true", "help": "train on the whole train split, without the mix"}),
        ("--epochs", {"type": float, "help": "epochs (heads: the cap under early stopping; ensemble: fine-tune)"}),
        ("--lr", {"type": float, "help": "learning rate (heads: the head's; ensemble: the encoder's)"}),
        ("--batch-size", {"type": int}),
        ("--max-length", {"type": int, "help": "tokens per text"}),
        ("--loss", {"choices": ["bce", "focal"]}),
        ("--focal-gamma", {"type": float}),
        ("--pos-weight-cap", {"type": float, "help": "cap of negatives/positives per label"}),
        ("--pos-weight", {"metavar": "L=W,T1=W", "help": "pos_weight overrides per label or per tier"}),
        ("--class-weights", {"metavar": "auto|L=W,...", "help": "auto (from label counts) or a table"}),
        ("--class-weight-cap", {"type": float, "help": "highest weight of --class-weights auto (default 20)"}),
        ("--label-smoothing", {"type": float}),
        ("--hierarchy-weight", {"type": float, "help": "penalty for a secondary label above its primary"}),
        ("--curriculum", {"metavar": "1,1,1", "help": "fine-tune curriculum phases (ensemble recipe)"}),
        ("--patience", {"type": int, "help": "early stopping patience"}),
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
        ("--enforce-hierarchy", {"action": "store_true", "help": "a secondary label fires only with its primary"}),
        REQUIRE_PASS,
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
        (
            "--accept-insufficient",
            {
                "metavar": "REASON",
                "help": "promote although a T1 label has too few holdout positives to show its gate holds "
                "(the reason is recorded)",
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
