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

    s = sub.add_parser("stats", help="print project stats")
    s.add_argument("dir")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("snapshot", help="write a content-addressed snapshot of the active records")
    s.add_argument("dir")

    s = sub.add_parser("export", help="export records as JSONL or Parquet")
    s.add_argument("dir")
    s.add_argument("--format", required=True, choices=["jsonl", "parquet"], dest="fmt")
    s.add_argument("--out", required=True)
    s.add_argument("--active-only", action="store_true")

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
    return p


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


def _run(args: argparse.Namespace) -> int:
    from curation import Project, load_taxonomy

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
                                        repair_hierarchy=args.repair_hierarchy)
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
