"""Generation verb: ``workbench generate DIR --provider P`` turns approved seeds into pending batches."""

from __future__ import annotations

import argparse

from ._verbs import DIR, add_verb

GROUP = "generate"
SUMMARY = "generate DIR --provider openai-compatible|retrieval|perturbation (pending batches from seeds)"


def generate(args) -> int:
    from curation import Project, WorkbenchError
    from workbench.generate import generate as run
    from workbench.generate import make_provider

    options = {k: v for k, v in (("concurrency", args.concurrency), ("rpm", args.rpm)) if v is not None}
    if args.from_suite:
        return _from_suite(args)
    if not args.provider:
        raise WorkbenchError("workbench generate", expected="--provider NAME or --from-suite MODEL", got="neither")
    with Project(args.dir) as project:
        provider = make_provider(
            project,
            args.provider,
            base_url=args.base_url,
            model=args.model,
            api_key_env=args.api_key_env,
            pool=args.pool,
            **options,
        )
        labels = [x.strip() for x in (args.labels or "").split(",") if x.strip()] or None
        summaries = run(project, provider, seeds_file=args.seeds, labels=labels, n=args.n, progress=True)
        if args.write_vectors:
            from workbench.generate import write_regression_vectors

            pos, neg = write_regression_vectors(project)
            print(
                f"regression vectors: {pos} positives, {neg} hard negatives in {project.root / 'regression_vectors.yaml'}"
            )
    return _print_summaries(summaries)


def _from_suite(args) -> int:
    from curation import Project
    from training.artifacts import load_model
    from workbench.generate import generate_from_suite

    with Project(args.dir) as project:
        out = generate_from_suite(project, load_model(args.from_suite), n=args.n, progress=True)
    print("failing functionalities: " + (", ".join(out["failing"]) or "none"))
    if out["contrasts"]:
        print("their contrasts (passing, opposite expectation: kept as minimal pairs): " + ", ".join(out["contrasts"]))
    for func, why in out["skipped"].items():
        print(f"  skipped {func}: {why}")
    return _print_summaries(out["batches"]) if out["seeds"] else 0


def _print_summaries(summaries) -> int:
    cols = {
        "asked": "asked",
        "made": "made",
        "from_cache": "cached",
        "stored": "stored",
        "dropped_duplicate": "duplicate",
        "repeated_seed": "repeat",
        "mislabelled": "mislabelled",
        "refused": "refused",
        "malformed": "malformed",
        "truncated": "truncated",
        "retried": "retried",
        "missing": "missing",
    }
    width = max([len(s.seed_id) for s in summaries] + [5]) + 2
    print(f"{'seed':<{width}}" + "".join(f"{c:>12}" for c in cols.values()))
    for s in summaries:
        d = s.to_dict()
        print(f"{s.seed_id:<{width}}" + "".join(f"{d[c]:>12}" for c in cols))
    if not summaries:
        print("no approved seed to generate from (approve seeds in review, or pass --seeds FILE)")
    print(
        "dropped, never stored: duplicate (of a stored record), repeat (of the seed), mislabelled, refused, "
        "malformed, truncated answers"
    )
    print("new records are pending: they stay out of training until their batch is accepted in review")
    short = [s for s in summaries if s.missing]
    if short:
        print(
            "ended short after every attempt: "
            + ", ".join(f"{s.seed_id} ({s.missing} of {s.asked} missing)" for s in short)
            + "; run again to ask for the rest"
        )
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from workbench.generate import PROVIDERS

    add_verb(
        sub,
        "generate",
        generate,
        "turn approved seeds into pending batches (cached, resumable)",
        DIR,
        ("--provider", {"choices": PROVIDERS, "help": "required unless --from-suite"}),
        (
            "--from-suite",
            {
                "metavar": "MODEL",
                "help": "seeds and pending batches (train-side suite material, perturbed; the LLM when configured) "
                "for every functionality MODEL fails",
            },
        ),
        ("--seeds", {"help": "a seeds YAML file; its new seeds are imported first"}),
        ("--labels", {"help": "only seeds targeting these labels (comma-separated)"}),
        ("--n", {"type": int, "help": "items per seed (default: the seed's batch_size, else 200)"}),
        ("--base-url", {"help": "openai-compatible: e.g. http://127.0.0.1:8000/v1 (or generation.base_url)"}),
        ("--model", {"help": "openai-compatible: the model name (or generation.model)"}),
        (
            "--api-key-env",
            {"metavar": "VAR", "help": "openai-compatible: environment variable holding the key (read, never stored)"},
        ),
        ("--concurrency", {"type": int, "help": "openai-compatible: requests in flight"}),
        ("--rpm", {"type": float, "help": "openai-compatible: requests per minute"}),
        ("--pool", {"help": "retrieval: a CSV/JSONL file of texts (default: generation.pool_sources)"}),
        (
            "--write-vectors",
            {
                "action": "store_true",
                "help": "perturbation: add the variants to the project's "
                "regression_vectors.yaml, which every model's gate runs",
            },
        ),
    )
