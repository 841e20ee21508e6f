"""Project and data verbs: init, import, stats, snapshot, export, report, seeds, quarantine, unquarantine."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

import curation
from curation import CONTEXTS, WorkbenchError
from curation.ingest import FORMATS

from ._verbs import DIR, JSON, add_verb

GROUP = "project and data"
SUMMARY = "init, import, stats, snapshot, export, report, seeds, quarantine, unquarantine, schema"


def _parse_map(items: Sequence[str] | None) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in items or []:
        if "=" not in item:
            raise WorkbenchError(
                f"--map {item!r}", expected="COLUMN=LABEL (or COLUMN=- to drop the column)", got=repr(item)
            )
        col, lab = item.split("=", 1)
        out[col.strip()] = None if lab.strip() in ("", "-") else lab.strip()
    return out


def _parse_fractions(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    out = {}
    for part in text.split(","):
        key, _, val = part.partition("=")
        try:
            out[key.strip()] = float(val)
        except ValueError as e:
            raise WorkbenchError(
                f"--fractions {text!r}", expected="SPLIT=FRACTION pairs, e.g. calib=0.5,holdout=0.5", got=repr(part)
            ) from e
    return out


def _init(args) -> int:
    from workbench import build_demo, starter_taxonomy_path

    if args.demo:
        project, steps = build_demo(args.dir, progress=lambda w: print(f"loading {w} ...", flush=True))
        for what, s in steps:
            print(
                f"  {what}: {s.n_inserted} records ({s.n_exact_duplicates} exact duplicates, "
                f"{s.n_near_duplicate_pairs} duplicate pairs)"
            )
    else:
        tax = curation.load_taxonomy(args.taxonomy or starter_taxonomy_path())
        project = curation.Project.init(args.dir, taxonomy=tax, name=args.name)
    print(f"project ready at {project.root} (taxonomy {project.taxonomy.content_hash})")
    project.close()
    return 0


class _Stages:
    """An import's stages on stderr as they start, each with the seconds since the command began."""

    def __init__(self, what: str) -> None:
        self.what, self.t0 = what, time.monotonic()

    def __call__(self, stage: str) -> None:
        print(f"{self.what}: {stage} ({time.monotonic() - self.t0:.1f} s)", file=sys.stderr, flush=True)


def _import(args) -> int:
    stages = _Stages("import")
    stages(f"reading {args.path}")
    with curation.Project(args.dir) as project:
        s = project.records.import_file(
            args.path,
            args.fmt,
            source=args.source,
            context=args.context,
            label_map={**_parse_map(args.map), **dict.fromkeys(args.ignore_column or [])},
            text_field=args.text_field,
            id_field=args.id_field,
            context_field=args.context_field,
            repair_hierarchy=args.repair_hierarchy,
            fractions=_parse_fractions(args.fractions),
            progress=stages,
        )
    if s.n_read == 0 and not s.import_id:
        print(f"0 records in {args.path}: nothing was imported and no import was created", file=sys.stderr)
    print(json.dumps(s.to_dict(), indent=2))
    return 0


def _print_stats(st: dict) -> None:
    print(f"taxonomy  {st['taxonomy']['name']} ({st['taxonomy']['hash']}), {len(st['taxonomy']['labels'])} labels")
    print(f"snapshot  {st['snapshot_id']}")
    print(f"records   {st['n_records']} ({st['n_active']} active, {st['n_quarantined']} quarantined)")
    for key in ("by_source", "by_origin", "by_context", "by_split"):
        print(f"{key[3:]:<9} " + ", ".join(f"{k} {v}" for k, v in st[key].items()))
    print(
        f"dedup     {st['exact_duplicates']} exact duplicates, {st['near_duplicate_pairs']} duplicate pairs, "
        f"{st['conflicting_duplicate_pairs']} with conflicting labels"
    )
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


def _stats(args) -> int:
    with curation.Project(args.dir) as project:
        st = project.reports.stats()
    if args.json:
        print(json.dumps(st, indent=2))
    else:
        _print_stats(st)
    return 0


def _snapshot(args) -> int:
    with curation.Project(args.dir) as project:
        print(json.dumps(project.snapshots.take(), indent=2))
    return 0


def _export(args) -> int:
    if (Path(args.dir) / "model.json").exists():
        raise WorkbenchError(
            f"export of project {args.dir}",
            expected="a project directory",
            got="a model directory",
            fix=f"ONNX export is `workbench model export {args.dir} --onnx ...`",
        )
    if not args.fmt or not args.out:
        raise WorkbenchError(
            f"export of project {args.dir}",
            expected="--format jsonl|parquet and --out PATH",
            got=f"--format {args.fmt} --out {args.out}",
        )
    with curation.Project(args.dir) as project:
        out = project.records.export(args.out, fmt=args.fmt, active_only=args.active_only)
    print(f"wrote {out}")
    return 0


def _report(args) -> int:
    if args.what == "splits":
        return _report_splits(args)
    if not args.out:
        raise WorkbenchError(
            f"report of project {args.dir}", expected="--out FOLDER", got="none", fix="pass --out build/report"
        )
    split = None if args.split == "all" else args.split
    with curation.Project(args.dir) as project:
        dist, files = project.reports.write(Path(args.out), split=split, png=not args.no_png)
    print(
        dist[["tier", "positives", "negatives", "unknown_rate", "floor", "below_floor", "pos_weight"]].to_string(
            float_format=lambda v: f"{v:.2f}"
        )
    )
    print(f"\nwrote {', '.join(f.name for f in files)} to {args.out}")
    return 0


def _report_splits(args) -> int:
    """Origin per split (every stored record) and the calib-vs-holdout label rates."""
    with curation.Project(args.dir) as project:
        rep = project.reports.split_report()
        migrations = project.store.migration_reports()
    print("records per origin and split (calib and holdout hold only real records):")
    print(rep["origin_counts"].to_string())
    if "calib_vs_holdout" in rep:
        print("\ncalib vs holdout, per label (positives, rate difference in percentage points):")
        print(rep["calib_vs_holdout"].to_string(float_format=lambda v: f"{v:.2f}"))
    for key, m in migrations.items():
        print(
            f"\n{key} ({m['at']}): {m['moved']} generated record(s) moved out of calib/holdout {m['from']} -> "
            f"{m['to']}, {m['quarantined']} quarantined as twins of evaluation records"
        )
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in rep.items():
            frame.to_csv(out / f"split_{name}.csv")
        print(f"\nwrote split_*.csv to {out}")
    return 0


def _seeds(args) -> int:
    with curation.Project(args.dir) as project:
        df = project.seeds.frame()
    if df.empty:
        print("no seeds")
    for _, r in df.iterrows():
        flag = f"QUARANTINED ({r['quarantine_reason']})" if r["quarantined"] else r["status"]
        print(
            f"{r['id']:<32} {r['kind']:<14} {','.join(r['target_labels']):<20} "
            f"{r['n_batches']:>3} batches {r['n_records']:>5} records  {flag}"
        )
    return 0


def _quarantine(args) -> int:
    with curation.Project(args.dir) as project:
        before = project.snapshots.id()
        n = project.seeds.quarantine(args.seed, reason=args.reason, actor="cli")
        print(
            f"seed {args.seed} quarantined: {n} records left the training views; "
            f"snapshot {before} -> {project.snapshots.id()}"
        )
    return 0


def _unquarantine(args) -> int:
    with curation.Project(args.dir) as project:
        n = project.seeds.unquarantine(args.seed, actor="cli", reason=args.reason)
        print(f"seed {args.seed} restored: {n} records back in the training views; snapshot {project.snapshots.id()}")
    return 0


def _schema(args) -> int:
    from curation import write_schemas

    folder = args.out or (f"{args.dir}/schemas" if args.dir else "schemas")
    for path in write_schemas(folder):
        print(path)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    add_verb(
        sub,
        "init",
        _init,
        "create a project directory",
        DIR,
        ("--demo", {"action": "store_true", "help": "load the demo taxonomy, data slices and seeds"}),
        ("--taxonomy", {"help": "taxonomy YAML (default: the starter taxonomy of the public datasets)"}),
        ("--name", {"help": "project name (default: the directory name)"}),
    )
    add_verb(
        sub,
        "import",
        _import,
        "import a file into a project (all or nothing)",
        DIR,
        ("path",),
        (
            "--format",
            {"required": True, "dest": "fmt", "choices": FORMATS, "metavar": "FORMAT", "help": ", ".join(FORMATS)},
        ),
        ("--source", {"help": "source name recorded on every record (default: the format)"}),
        ("--context", {"type": str.upper, "choices": CONTEXTS, "metavar": "CONTEXT", "help": ", ".join(CONTEXTS)}),
        (
            "--map",
            {
                "action": "append",
                "metavar": "COLUMN=LABEL",
                "help": "map a column to a taxonomy label (COLUMN=- drops it); repeatable",
            },
        ),
        (
            "--ignore-column",
            {
                "action": "append",
                "metavar": "COLUMN",
                "help": "keep a column that looks like a label out of the import (the same as --map COLUMN=-); "
                "repeatable",
            },
        ),
        ("--text-field", {"default": "text"}),
        ("--id-field",),
        ("--context-field",),
        (
            "--repair-hierarchy",
            {"action": "store_true", "help": "set a missing primary label when its secondary label is set"},
        ),
        (
            "--fractions",
            {
                "metavar": "SPLIT=F,...",
                "help": "split fractions for this import only, e.g. calib=0.5,holdout=0.5 for an evaluation file",
            },
        ),
    )
    add_verb(sub, "stats", _stats, "print project stats", DIR, JSON)
    add_verb(sub, "snapshot", _snapshot, "write a content-addressed snapshot of the active records", DIR)
    add_verb(
        sub,
        "export",
        _export,
        "a project's records as JSONL or Parquet (model ONNX: `workbench model export`)",
        ("dir", {"help": "a project directory"}),
        ("--format", {"choices": ["jsonl", "parquet"], "dest": "fmt", "help": "output format"}),
        ("--out", {"help": "output file"}),
        ("--active-only", {"action": "store_true", "help": "leave out quarantined records"}),
        ("--onnx", {"help": argparse.SUPPRESS}),
    )  # the old model-export spelling, for one more release
    add_verb(
        sub,
        "report",
        _report,
        "class distribution (table, PNG, HTML), split report, duplicate conflicts; `report DIR splits`: origin "
        "per split",
        DIR,
        (
            "what",
            {
                "nargs": "?",
                "choices": ["distribution", "splits"],
                "default": "distribution",
                "help": "distribution (default: files into --out) or splits (origin per split, printed)",
            },
        ),
        ("--out", {"help": "output folder (required for the distribution)"}),
        ("--split", {"default": "train", "help": "split for the class distribution ('all' for every split)"}),
        ("--no-png", {"action": "store_true", "help": "skip the PNG export"}),
    )
    add_verb(sub, "seeds", _seeds, "list seeds with their batches and records", DIR)
    add_verb(
        sub,
        "quarantine",
        _quarantine,
        "quarantine a seed: its batches' records leave every training view",
        DIR,
        ("seed",),
        ("--reason", {"required": True}),
    )
    add_verb(sub, "unquarantine", _unquarantine, "undo a seed quarantine", DIR, ("seed",), ("--reason",))
    add_verb(
        sub,
        "schema",
        _schema,
        "write the JSON Schemas of workbench.yaml, taxonomy.yaml and suites/*.yaml (for editors and CI)",
        ("dir", {"nargs": "?", "help": "a project: into DIR/schemas, where its files' first lines point"}),
        ("--out", {"help": "the folder to write them to instead (default DIR/schemas, or ./schemas)"}),
    )
