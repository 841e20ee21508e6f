"""Map verbs: ``workbench map DIR [--model MODEL] --out FOLDER`` (a standalone map and the interference
and cluster tables, for people who are not in a notebook) and ``workbench tag DIR --tag T --ids ID ...``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._verbs import DIR, RAY, add_verb, jobs_of

GROUP = "map"
SUMMARY = "map DIR --out FOLDER | tag  (embedding map, label interference, clusters; tag records)"


def draw(args) -> int:
    from curation import Project
    from training.artifacts import load_model
    from workbench.maps import EmbeddingMap, build_map, find_clusters, interference_figure, map_interference

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with Project(args.dir) as project:
        model = load_model(args.model, taxonomy=project.taxonomy) if args.model else None
        data = build_map(project, model=model, refit=args.refit, progress=not args.quiet, jobs=jobs_of(args))
        table = map_interference(data)
        frame, clusters = find_clusters(data.frame, data.labels)
    table.to_csv(out / "interference.csv", index=False)
    clusters.to_csv(out / "clusters.csv", index=False)
    m = EmbeddingMap(frame, data.labels, thresholds=data.thresholds, widget=False)
    colour = args.colour or ("error" if model is not None and args.label else "review")
    m.colour_by(colour, label=args.label, pair=tuple(args.pair.split(",")) if args.pair else None)
    m.write_html(out / "map.html")
    heat = interference_figure(table, data.labels)
    heat.write_html(out / "interference.html", include_plotlyjs=True)
    placed = int(frame["placed"].sum())
    print(
        f"map of {len(frame):,} records ({placed:,} placed on the snapshot {data.projection.info['snapshot_id']} "
        f"projection) -> {out / 'map.html'}"
    )
    print(f"interference: {len(table)} label pairs -> {out / 'interference.csv'}")
    for r in table.head(5).itertuples():
        print(
            f"  {r.label_a} x {r.label_b}: score {r.interference_score:.2f} (mixing {r.mixing:.2f}, "
            f"co-occurrence {r.co_occurrence:.2f})"
        )
    print(f"clusters: {len(clusters)} -> {out / 'clusters.csv'}")
    return 0


def tag(args) -> int:
    from curation import Project

    ids = list(args.ids)
    if args.ids_file:
        ids += [line.strip() for line in Path(args.ids_file).read_text().splitlines() if line.strip()]
    with Project(args.dir) as project:
        if not ids:
            for name, n in project.records.tags().groupby("tag").size().items():
                print(f"{name}\t{n}")
            return 0
        if not args.tag:
            from curation import WorkbenchError

            raise WorkbenchError("workbench tag", expected="--tag NAME with the ids", got="ids without a tag")
        n = project.records.tag(ids, args.tag, note=args.note)
    print(f"{n} records newly tagged {args.tag!r} ({len(set(ids))} given)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    add_verb(
        sub,
        "map",
        draw,
        "write map.html (standalone), interference.csv and clusters.csv",
        DIR,
        ("--out", {"required": True, "help": "output folder"}),
        ("--model", {"help": "a model directory: its scores in the hover, error colouring, confusion"}),
        (
            "--colour",
            {
                "choices": ["label", "pair", "error", "seed", "batch", "origin", "split", "review", "cluster"],
                "help": "colour of the written map (default: review status)",
            },
        ),
        ("--label", {"help": "label for --colour label|error"}),
        ("--pair", {"help": "A,B for --colour pair"}),
        ("--refit", {"action": "store_true", "help": "fit a new projection instead of reusing the cached one"}),
        ("--quiet", {"action": "store_true", "help": "no progress bar"}),
        *RAY,
    )
    add_verb(
        sub,
        "tag",
        tag,
        "tag records by id (no ids: list the tags)",
        DIR,
        ("--tag", {"help": "tag name"}),
        ("--ids", {"nargs": "+", "default": [], "help": "record ids"}),
        ("--ids-file", {"help": "a file with one id per line"}),
        ("--note", {"help": "why"}),
    )
