"""The ``workbench`` command.

Library code raises :class:`curation.WorkbenchError`; only this module turns errors into exit codes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

__all__ = ["main", "build_parser"]


def _parse_map(items: Sequence[str] | None) -> dict[str, str | None]:
    from curation import WorkbenchError

    out: dict[str, str | None] = {}
    for item in items or []:
        if "=" not in item:
            raise WorkbenchError(f"--map {item!r}", expected="COLUMN=LABEL (or COLUMN=- to drop the column)",
                                 got=repr(item))
        col, lab = item.split("=", 1)
        out[col.strip()] = None if lab.strip() in ("", "-") else lab.strip()
    return out


def _parse_fractions(text: str | None) -> dict[str, float] | None:
    from curation import WorkbenchError

    if not text:
        return None
    out = {}
    for part in text.split(","):
        key, _, val = part.partition("=")
        try:
            out[key.strip()] = float(val)
        except ValueError as e:
            raise WorkbenchError(f"--fractions {text!r}", expected="SPLIT=FRACTION pairs, e.g. calib=0.5,holdout=0.5",
                                 got=repr(part)) from e
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workbench", description="Moderation data workbench.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("init", help="create a project directory")
    s.add_argument("dir")
    s.add_argument("--demo", action="store_true", help="load the demo taxonomy, data slices and seeds")
    s.add_argument("--taxonomy", help="taxonomy YAML (default: the starter taxonomy of the public datasets)")
    s.add_argument("--name", help="project name (default: the directory name)")

    s = sub.add_parser("import", help="import a file into a project (all or nothing)")
    s.add_argument("dir")
    s.add_argument("path")
    s.add_argument("--format", required=True, dest="fmt",
                   help="hatexplain, davidson, openai_moderation, jigsaw, ethos, csv, jsonl or seeds")
    s.add_argument("--source", help="source name recorded on every record (default: the format)")
    s.add_argument("--context", help="MESSAGE, POST, COMMENT, BIO, LISTING, REVIEW or GENERAL")
    s.add_argument("--map", action="append", metavar="COLUMN=LABEL",
                   help="map a column to a taxonomy label (COLUMN=- drops it); repeatable")
    s.add_argument("--text-field", default="text")
    s.add_argument("--id-field")
    s.add_argument("--context-field")
    s.add_argument("--repair-hierarchy", action="store_true",
                   help="set a missing primary label when its secondary label is set")
    s.add_argument("--fractions", metavar="SPLIT=F,...",
                   help="split fractions for this import only, e.g. calib=0.5,holdout=0.5 for an evaluation file")

    s = sub.add_parser("stats", help="print project stats")
    s.add_argument("dir")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("snapshot", help="write a content-addressed snapshot of the active records")
    s.add_argument("dir")

    s = sub.add_parser("export", help="a project's records as JSONL/Parquet (--format, --out), or a model's "
                                      "ONNX variants (--onnx), each then evaluated, parity-checked and gated")
    s.add_argument("dir", help="a project directory or a model directory")
    s.add_argument("--format", choices=["jsonl", "parquet"], dest="fmt", help="records: output format")
    s.add_argument("--out", help="records: output file")
    s.add_argument("--active-only", action="store_true", help="records: leave out quarantined records")
    s.add_argument("--onnx", help="model: variants to export, e.g. fp32,fp16,int8")

    s = sub.add_parser("report", help="class distribution (table, PNG, HTML), split report, duplicate conflicts")
    s.add_argument("dir")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--split", default="train", help="split for the class distribution ('all' for every split)")
    s.add_argument("--no-png", action="store_true", help="skip the PNG export")

    s = sub.add_parser("seeds", help="list seeds with their batches and records")
    s.add_argument("dir")

    s = sub.add_parser("quarantine", help="quarantine a seed: its batches' records leave every training view")
    s.add_argument("dir")
    s.add_argument("seed")
    s.add_argument("--reason", required=True)

    s = sub.add_parser("unquarantine", help="undo a seed quarantine")
    s.add_argument("dir")
    s.add_argument("seed")
    s.add_argument("--reason")

    s = sub.add_parser("train", help="train, tune (calib), evaluate (holdout), gate a model from a snapshot")
    s.add_argument("dir")
    s.add_argument("--out", required=True, help="model directory (a model set when --groups is given)")
    s.add_argument("--recipe", default="fast", choices=["fast", "finetune", "tfidf"])
    s.add_argument("--group", help="train one label group (task view)")
    s.add_argument("--groups", help="comma-separated label groups: one head each, served as a model set")
    s.add_argument("--onnx", default="", help="export and gate these ONNX variants, e.g. fp32,fp16,int8")
    s.add_argument("--no-mix", action="store_true", help="train on the whole train split, without the mix")
    s.add_argument("--epochs", type=float, help="fine-tune epochs (finetune recipe)")
    s.add_argument("--seed", type=int, default=0)

    s = sub.add_parser("evaluate", help="re-evaluate a model and its ONNX variants on holdout and re-gate them")
    s.add_argument("model")

    s = sub.add_parser("gate", help="print a model's gate verdict per variant (exit 1 if the best variant fails)")
    s.add_argument("model")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("predict", help="score a JSONL file of {\"text\": ...} lines")
    s.add_argument("model", help="a model directory or a model set")
    s.add_argument("--input", required=True)
    s.add_argument("--output", required=True)
    s.add_argument("--variant", help="torch, fp32, fp16 or int8 (default: the fastest that passed its gate)")
    s.add_argument("--threads", type=int, default=2)

    s = sub.add_parser("promote", help="make a model the project's promoted model (refused unless its gate passed)")
    s.add_argument("model")
    s.add_argument("--variant")

    s = sub.add_parser("server", help="the local Argilla stack: start | stop | status | logs | env | reindex")
    ssub = s.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("start", "start Argilla (embedded search, SQLite, Valkey) and wait until it is healthy"),
                         ("stop", "stop every process this home's stack started"),
                         ("status", "is it running, where, which pids (exit 3 when not running)"),
                         ("logs", "the last lines of each process's log"),
                         ("env", "print the ARGILLA_API_URL / ARGILLA_API_KEY exports of the running stack"),
                         ("reindex", "rebuild the search index from Argilla's database")):
        a = ssub.add_parser(action, help=text)
        a.add_argument("--home", help="stack directory (default $WORKBENCH_ARGILLA_HOME or ~/.workbench/argilla)")
        if action == "start":
            a.add_argument("--host", default="127.0.0.1", help="bind address (loopback unless --allow-remote)")
            a.add_argument("--port", type=int, default=6900, help="first port to try (then the next free one)")
            a.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
            a.add_argument("--database-url", help="external PostgreSQL (default: SQLite under --home); "
                           "or $WORKBENCH_ARGILLA_DATABASE_URL")
            a.add_argument("--search-url", help="external Elasticsearch/OpenSearch (default: embedded engine); "
                           "or $WORKBENCH_ARGILLA_SEARCH_URL")
            a.add_argument("--search-engine", choices=["elasticsearch", "opensearch"],
                           help="what --search-url is (default elasticsearch)")
            a.add_argument("--redis-url", help="external Redis (default: embedded Valkey); or $REDIS_URL")
            a.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for health")
        if action == "status":
            a.add_argument("--json", action="store_true")
        if action == "logs":
            a.add_argument("component", nargs="?", choices=["valkey", "server", "worker", "migrate", "reindex"])
            a.add_argument("-n", "--lines", type=int, default=50)
        if action == "reindex":
            g = a.add_mutually_exclusive_group()
            g.add_argument("--check", action="store_true", help="only compare; exit 1 when they disagree")
            g.add_argument("--repair", action="store_true", help="rebuild only the datasets that disagree")
    return p


def _run_server_command(args: argparse.Namespace) -> int:
    from .argilla.stack import ServerStack, StackError, StackSettings

    try:
        if args.action == "start":
            settings = StackSettings.from_env(
                home=args.home, host=args.host, port=args.port, allow_remote=args.allow_remote,
                database_url=args.database_url, search_url=args.search_url, search_engine=args.search_engine,
                redis_url=args.redis_url,
            )
        else:
            settings = StackSettings.from_env(home=args.home)
        stack = ServerStack(settings)
        if args.action == "start":
            info = stack.start(timeout=args.timeout)
            pids = ", ".join(f"{n} {c['pid']}" for n, c in info["components"].items())
            if info["already_running"]:
                print(f"Argilla is already running at {info['url']} ({pids}).")
            else:
                print(f"Argilla is up at {info['url']} after {info['seconds']:.1f} s ({pids}).")
            print(f"Owner user, password and API key: {info['secrets_file']} (readable only by you).")
            print("For the SDK in this shell:  eval \"$(workbench server env"
                  + (f" --home {args.home}" if args.home else "") + ')"')
        elif args.action == "stop":
            stopped = stack.stop()
            print(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")
        elif args.action == "status":
            info = stack.status()
            if args.json:
                print(json.dumps(info, indent=2))
            elif info["running"]:
                pids = ", ".join(f"{n} {c['pid']}" for n, c in info["components"].items())
                print(f"running at {info['url']} ({pids}); home {info['home']}")
            elif info["stale"]:
                dead = [n for n, c in info["components"].items() if not c["alive"]]
                print(f"not running: stale state from an earlier run ({', '.join(dead)} gone); "
                      "`workbench server start` cleans it up")
            else:
                print(f"not running (home {info['home']})")
            return 0 if info["running"] else 3
        elif args.action == "logs":
            print(stack.logs(args.component, args.lines))
        elif args.action == "env":
            for key, value in stack.env().items():
                print(f"export {key}={value}")
        elif args.action == "reindex":
            code, report = stack.reindex(check=args.check, repair=args.repair)
            print(json.dumps(report, indent=2))
            return code
        return 0
    except StackError as e:
        print(f"error: workbench server {args.action}: {e}", file=sys.stderr)
        return 2


def _print_stats(st: dict) -> None:
    print(f"taxonomy  {st['taxonomy']['name']} ({st['taxonomy']['hash']}), {len(st['taxonomy']['labels'])} labels")
    print(f"snapshot  {st['snapshot_id']}")
    print(f"records   {st['n_records']} ({st['n_active']} active, {st['n_quarantined']} quarantined)")
    for key in ("by_source", "by_origin", "by_context", "by_split"):
        print(f"{key[3:]:<9} " + ", ".join(f"{k} {v}" for k, v in st[key].items()))
    print(f"dedup     {st['exact_duplicates']} exact duplicates, {st['near_duplicate_pairs']} duplicate pairs, "
          f"{st['conflicting_duplicate_pairs']} with conflicting labels")
    if "seeds" in st:
        q = st["seeds"]["quarantined"]
        print(f"seeds     {st['seeds']['n']} ({len(q)} quarantined{': ' + ', '.join(q) if q else ''})")
    splits = [s for s in ("train", "valid", "calib", "holdout") if s in st["splits"]]
    print()
    head = f"{'label':<24}{'pos':>7}{'neg':>8}{'unknown':>9}{'unk%':>7}" + "".join(f"{s + '%':>9}" for s in splits)
    print(head)
    print("-" * len(head))
    for lab, d in st["labels"].items():
        rates = ""
        for s in splits:
            r = st["splits"][s]["positive_rate"].get(lab)
            rates += f"{'-' if r is None else f'{100 * r:.1f}':>9}"
        print(f"{lab:<24}{d['positives']:>7}{d['negatives']:>8}{d['unknown']:>9}{100 * d['unknown_rate']:>7.1f}{rates}")


def _csv(text: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in (text or "").split(",") if x.strip())


def _run_model_command(args: argparse.Namespace) -> int:
    from training import load_model, promote

    if args.command == "predict":
        return _predict(args)
    model = load_model(args.model)
    if args.command == "export":
        variants = model.export(_csv(args.onnx))
        _print_variants(variants)
    elif args.command == "evaluate":
        _print_variants(model.evaluate_all())
    elif args.command == "gate":
        variants = model.card.get("variants", {})
        best = model.best_variant()
        if args.json:
            print(json.dumps({v: {"passed": i["passed"], "failures": i["gate"]["failures"],
                                  "max_abs_diff_vs_torch": i.get("max_abs_diff_vs_torch")}
                              for v, i in variants.items()} | {"best_variant": best}, indent=2))
        else:
            for v, info in variants.items():
                print(f"{v:<6} {'PASS' if info['passed'] else 'FAIL'}")
                for f in info["gate"]["failures"]:
                    print(f"       {f['what']}: {f['check']} {f['value']} (required {f['required']})")
        return 0 if variants.get(best, {}).get("passed") else 1
    elif args.command == "promote":
        entry = promote(model, variant=args.variant)
        print(f"promoted {entry['model']} ({entry['variant']}), snapshot {entry['snapshot_id']}")
    return 0


def _print_variants(variants: dict) -> None:
    print(f"{'variant':<8}{'gate':>6}{'micro-F1':>10}{'macro-F1':>10}{'max|dp|':>9}")
    for v, i in variants.items():
        d = i.get("max_abs_diff_vs_torch")
        print(f"{v:<8}{'pass' if i['passed'] else 'FAIL':>6}{i['summary']['micro_f1']:>10.3f}"
              f"{i['summary']['macro_f1']:>10.3f}{'' if d is None else f'{d:.4f}':>9}")


def _predict(args: argparse.Namespace) -> int:
    from curation import WorkbenchError
    from training import ModelSet, load_model

    texts = []
    for n, line in enumerate(Path(args.input).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise WorkbenchError(f"{args.input} line {n}", expected='one JSON object per line, {"text": ...}',
                                 got=f"malformed JSON ({e.msg})") from e
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise WorkbenchError(f"{args.input} line {n} field 'text'", expected="a string", got=repr(obj)[:60])
        texts.append(obj)
    root = Path(args.model)
    target = ModelSet.load(root) if (root / "set.json").exists() else load_model(root)
    results = target.predict([o["text"] for o in texts], variant=args.variant, threads=args.threads)
    lines = [json.dumps({**{k: v for k, v in o.items() if k != "text"}, "text": o["text"], **r}, ensure_ascii=False)
             for o, r in zip(texts, results)]
    Path(args.output).write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    print(f"scored {len(lines)} texts -> {args.output}")
    return 0


def _train(args: argparse.Namespace, project) -> None:
    from training import FineTuneArgs, TrainSpec, train_model, train_model_set

    ft = FineTuneArgs(epochs=args.epochs) if args.epochs else FineTuneArgs()
    spec = TrainSpec(recipe=args.recipe, group=args.group, mix=not args.no_mix, onnx=_csv(args.onnx),
                     finetune=ft, seed=args.seed)
    if args.groups:
        mset = train_model_set(project, args.out, _csv(args.groups), spec, show_progress=True)
        models = mset.models
    else:
        models = [train_model(project, args.out, spec, show_progress=True)]
    for m in models:
        print(f"model {m.root}: labels {m.labels}, snapshot {m.card['snapshot_id']}")
        for w in m.card["warnings"]:
            print(f"  warning: {w}")
        for u in m.card["mix"].get("unmet", []):
            print(f"  mix: {u}")
        _print_variants(m.card["variants"])
        cmp_ = m.card.get("comparison")
        if cmp_:
            regs = [r for r in cmp_["per_label"] if r["regression"]]
            print(f"  against the promoted model {cmp_['against']}: "
                  + (", ".join(f"{r['label']} F1 {r['delta_f1']:+.3f} recall {r['delta_recall']:+.3f}"
                               for r in regs) if regs else "no per-label regression"))


def _run(args: argparse.Namespace) -> int:
    from curation import Project, WorkbenchError, load_taxonomy

    if args.command == "export" and (Path(args.dir) / "model.json").exists():
        if not args.onnx:
            raise WorkbenchError(f"export of model {args.dir}", expected="--onnx VARIANTS", got="none",
                                 fix="e.g. workbench export MODEL --onnx fp32,fp16,int8")
        args.model = args.dir
        return _run_model_command(args)
    if args.command in ("evaluate", "gate", "predict", "promote"):
        return _run_model_command(args)
    if args.command == "server":
        return _run_server_command(args)

    if args.command == "init":
        if args.demo:
            from ._demo import build_demo

            project, steps = build_demo(args.dir, progress=lambda w: print(f"loading {w} ...", flush=True))
            for what, s in steps:
                print(f"  {what}: {s.n_inserted} records ({s.n_exact_duplicates} exact duplicates, "
                      f"{s.n_near_duplicate_pairs} duplicate pairs)")
        else:
            tax = args.taxonomy or Path(__file__).parent / "templates" / "taxonomy.yaml"
            project = Project.init(args.dir, taxonomy=load_taxonomy(tax), name=args.name)
        print(f"project ready at {project.root} (taxonomy {project.taxonomy.content_hash})")
        project.close()
        return 0

    with Project(args.dir) as project:
        if args.command == "import":
            if args.fmt == "seeds":
                s = project.import_seeds(args.path, source=args.source or "seeds")
            else:
                s = project.import_file(args.path, args.fmt, source=args.source, context=args.context,
                                        label_map=_parse_map(args.map), text_field=args.text_field,
                                        id_field=args.id_field, context_field=args.context_field,
                                        repair_hierarchy=args.repair_hierarchy,
                                        fractions=_parse_fractions(args.fractions))
            print(json.dumps(s.to_dict(), indent=2))
        elif args.command == "stats":
            st = project.stats()
            if args.json:
                print(json.dumps(st, indent=2))
            else:
                _print_stats(st)
        elif args.command == "snapshot":
            print(json.dumps(project.snapshot(), indent=2))
        elif args.command == "export":
            if not args.fmt or not args.out:
                raise WorkbenchError(f"export of project {args.dir}", expected="--format jsonl|parquet and --out PATH",
                                     got=f"--format {args.fmt} --out {args.out}")
            out = project.export(args.out, fmt=args.fmt, active_only=args.active_only)
            print(f"wrote {out}")
        elif args.command == "report":
            _report(project, Path(args.out), split=None if args.split == "all" else args.split, png=not args.no_png)
        elif args.command == "seeds":
            df = project.store.seeds()
            if df.empty:
                print("no seeds")
            for _, r in df.iterrows():
                flag = f"QUARANTINED ({r['quarantine_reason']})" if r["quarantined"] else r["status"]
                print(f"{r['id']:<32} {r['kind']:<14} {','.join(r['target_labels']):<20} "
                      f"{r['n_batches']:>3} batches {r['n_records']:>5} records  {flag}")
        elif args.command == "quarantine":
            before = project.snapshot_id()
            n = project.quarantine_seed(args.seed, reason=args.reason, actor="cli")
            print(f"seed {args.seed} quarantined: {n} records left the training views; "
                  f"snapshot {before} -> {project.snapshot_id()}")
        elif args.command == "train":
            _train(args, project)
        elif args.command == "unquarantine":
            n = project.unquarantine_seed(args.seed, actor="cli", reason=args.reason)
            print(f"seed {args.seed} restored: {n} records back in the training views; "
                  f"snapshot {project.snapshot_id()}")
    return 0


def _report(project, out: Path, *, split: str | None, png: bool) -> None:
    from curation import distribution_figure, save_figure_png

    out.mkdir(parents=True, exist_ok=True)
    dist = project.class_distribution(split=split)
    dist.to_csv(out / "class_distribution.csv")
    fig = distribution_figure(dist, title=f"Positives per label vs tier floor ({split or 'all splits'})")
    fig.write_html(out / "class_distribution.html", include_plotlyjs="cdn")
    written = ["class_distribution.csv", "class_distribution.html"]
    if png:
        save_figure_png(fig, out / "class_distribution.png")
        written.append("class_distribution.png")
    for name, frame in project.split_report().items():
        frame.to_csv(out / f"split_{name}.csv")
        written.append(f"split_{name}.csv")
    project.duplicate_conflicts().to_csv(out / "duplicate_conflicts.csv", index=False)
    written.append("duplicate_conflicts.csv")
    print(dist[["tier", "positives", "negatives", "unknown_rate", "floor", "below_floor", "pos_weight"]]
          .to_string(float_format=lambda v: f"{v:.2f}"))
    print(f"\nwrote {', '.join(written)} to {out}")


def main(argv: Sequence[str] | None = None) -> int:
    from curation import WorkbenchError

    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except WorkbenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
