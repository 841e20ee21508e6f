"""Batch verbs over every record of a project's current snapshot: ``workbench embed DIR`` (into the
embedding cache) and ``workbench score DIR --model M --out FILE.jsonl`` (rows as ``workbench predict``
writes them), in this process or as Ray Data jobs with ``--ray auto|ADDRESS``."""

from __future__ import annotations

import argparse

from ._verbs import DIR, RAY, REQUIRE_PASS, add_verb, jobs_of

GROUP = "batch"
SUMMARY = "embed DIR | score DIR --model M --out FILE  (every record; --ray runs them on a Ray cluster)"


def _where(report) -> str:
    nodes = ", ".join(f"{n[:8]} {c:,}" for n, c in sorted(report.nodes.items()))
    return f"{report.rows:,} records in {report.blocks} blocks, {report.actors} actor(s); rows per node: {nodes or '-'}"


def embed(args) -> int:
    from curation import Project
    from training import embed_project

    with Project(args.dir) as project:
        ids, vectors, report = embed_project(project, encoder=args.encoder, jobs=jobs_of(args), progress=not args.quiet)
    done = f"{report.rows:,} computed, {len(ids) - report.rows:,} from the cache" if report.rows else "all cached"
    print(f"embedded {len(ids):,} records ({done}) into {args.dir}/cache/embeddings.sqlite")
    if report.rows:
        print(f"  {_where(report)}; {report.seconds:.1f} s")
    return 0


def score(args) -> int:
    from curation import Project
    from training import score_project
    from training.artifacts import load_model, require_pass

    from .model import warn

    with Project(args.dir) as project:
        model = load_model(args.model, taxonomy=project.taxonomy)
        if args.require_pass:
            require_pass(model, args.variant)
        n, report = score_project(
            project,
            model,
            args.out,
            variant=args.variant,
            jobs=jobs_of(args),
            enforce_hierarchy=args.enforce_hierarchy,
            progress=not args.quiet,
            warn=warn,
        )
    print(f"scored {n:,} records with {args.model} ({args.variant or model.serving_variant()}) -> {args.out}")
    print(f"  {_where(report)}; {report.seconds:.1f} s")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    quiet = ("--quiet", {"action": "store_true", "help": "no progress bar"})
    add_verb(
        sub,
        "embed",
        embed,
        "embed every record of the current snapshot into the embedding cache (cached ones skipped)",
        DIR,
        ("--encoder", {"help": "sentence encoder (default all-MiniLM-L6-v2)"}),
        *RAY,
        quiet,
    )
    add_verb(
        sub,
        "score",
        score,
        "score every record of the current snapshot with a model (JSONL rows: id, text, probabilities, decisions, "
        "action, variant, gate_passed)",
        DIR,
        ("--model", {"required": True, "help": "a model directory"}),
        ("--out", {"required": True, "help": "output JSONL"}),
        ("--variant", {"help": "torch, fp32, fp16 or int8 (default: the best variant that passed its gate)"}),
        ("--enforce-hierarchy", {"action": "store_true", "help": "a child label fires only with its parent"}),
        REQUIRE_PASS,
        *RAY,
        quiet,
    )
