"""Review verbs: ``workbench review push-seeds | push-batches | push-errors | push-tagged | push-suite |
push-sample | pull | status DIR``
against Argilla, and ``accept-batch`` (no Argilla: an explicit acceptance without review)."""

from __future__ import annotations

import argparse
import json
import os

from ._verbs import DIR, RAY, add_verb, jobs_of

GROUP = "review"
SUMMARY = (
    "review push-seeds | push-batches | push-errors | push-tagged | push-suite | push-sample | pull | status | "
    "accept-batch"
)

CONNECTION = (
    ("--home", {"help": "a local stack's home (default: $ARGILLA_API_URL / $ARGILLA_API_KEY, else the default stack)"}),
    ("--workspace", {"help": "Argilla workspace (default: the project's name)"}),
)


def _run(args, work) -> int:
    from curation import Project
    from workbench.review import connect

    client = connect(args.home)
    with Project(args.dir) as project:
        out = work(project, client)
    print(json.dumps(out, indent=2, default=str))
    return 0


def push_seeds(args) -> int:
    from workbench.review import push_seeds as push

    return _run(args, lambda p, c: push(p, c, workspace=args.workspace, min_submitted=args.min_submitted))


def push_batches(args) -> int:
    from workbench.review import push_batches as push

    return _run(
        args,
        lambda p, c: push(
            p,
            c,
            per_batch=args.per_batch,
            status=args.status,
            workspace=args.workspace,
            min_submitted=args.min_submitted,
        ),
    )


def push_suite(args) -> int:
    from workbench.review import push_suite as push

    return _run(args, lambda p, c: push(p, c, workspace=args.workspace, min_submitted=args.min_submitted))


def push_errors(args) -> int:
    from training import load_model
    from workbench.review import push_errors as push

    model = load_model(args.model)
    return _run(
        args,
        lambda p, c: push(
            p, c, model, per_kind=args.per_kind, workspace=args.workspace, min_submitted=args.min_submitted,
            jobs=jobs_of(args),
        ),
    )  # fmt: skip


def push_sample(args) -> int:
    from training import load_model
    from workbench.review import push_sample as push

    model = load_model(args.model)
    return _run(
        args,
        lambda p, c: push(p, c, model, n=args.n, strategy=args.strategy, seed=args.seed, workspace=args.workspace,
                          min_submitted=args.min_submitted),
    )  # fmt: skip


def push_tagged(args) -> int:
    from training import load_model
    from workbench.review import push_selection

    model = load_model(args.model) if args.model else None

    def work(project, client):
        ids = project.tags(args.tag)["record_id"].tolist()
        if not ids:
            from curation import WorkbenchError

            raise WorkbenchError(
                f"tag {args.tag!r}",
                expected="tagged records",
                got="none",
                fix="tag a map selection first (EmbeddingMap.selected_ids -> project.tag)",
            )
        return push_selection(
            project,
            client,
            ids,
            dataset=args.dataset,
            model=model,
            reason=f"tag {args.tag}",
            workspace=args.workspace,
            min_submitted=args.min_submitted,
        )

    return _run(args, work)


def accept_batch(args) -> int:
    from curation import Project

    with Project(args.dir) as project:
        project.accept_batch(args.batch, reason=args.reason, actor=args.by)
    print(
        f"batch {args.batch} accepted without review by {args.by} ({args.reason}); "
        "audit it later with `workbench review push-batches DIR --status accepted`"
    )
    return 0


def pull(args) -> int:
    from workbench.review import pull as run

    return _run(args, lambda p, c: run(p, c, workspace=args.workspace, max_error=args.max_error))


def status(args) -> int:
    from workbench.review import review_status

    return _run(args, lambda p, c: review_status(p, c, workspace=args.workspace))


def register(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser("review", help="push seeds and batches to Argilla, pull the answers back")
    verbs = g.add_subparsers(dest="action", required=True, metavar="ACTION")
    min_sub = ("--min-submitted", {"type": int, "default": 1, "help": "answers a record needs (task distribution)"})
    add_verb(verbs, "push-seeds", push_seeds, "seeds into the seed-review dataset", DIR, *CONNECTION, min_sub)
    add_verb(
        verbs,
        "push-batches",
        push_batches,
        "a sample of every pending batch into batch-review",
        DIR,
        *CONNECTION,
        min_sub,
        ("--per-batch", {"type": int, "default": 20, "help": "records per batch"}),
        (
            "--status",
            {
                "choices": ["pending", "accepted"],
                "default": "pending",
                "help": "pending: batches awaiting review; accepted: audit batches already accepted",
            },
        ),
    )
    add_verb(
        verbs,
        "push-suite",
        push_suite,
        "the functional suites' test-side cases into suite-review (a case stays gated when reviewers agree)",
        DIR,
        *CONNECTION,
        ("--min-submitted", {"type": int, "default": 2, "help": "answers a case needs (default 2)"}),
    )
    add_verb(
        verbs,
        "accept-batch",
        accept_batch,
        "accept a batch without review (explicit: who and why are recorded)",
        DIR,
        ("batch", {"help": "batch id"}),
        ("--reason", {"required": True, "help": "why it needs no review"}),
        ("--by", {"default": os.environ.get("USER") or "user", "help": "who accepts it (default $USER)"}),
    )
    add_verb(
        verbs,
        "push-errors",
        push_errors,
        "what a model gets wrong (never holdout) into error-review",
        DIR,
        *CONNECTION,
        min_sub,
        ("--model", {"required": True, "help": "a model directory"}),
        ("--per-kind", {"type": int, "default": 50, "help": "records per label and error type"}),
        *RAY,
    )
    add_verb(
        verbs,
        "push-sample",
        push_sample,
        "production posts worth a person's time (active sampling) into sample-review",
        DIR,
        *CONNECTION,
        min_sub,
        ("--model", {"required": True, "help": "the shipped model directory (its scores pick the posts)"}),
        ("--n", {"type": int, "default": 200, "help": "posts to push"}),
        (
            "--strategy",
            {
                "choices": ["uncertainty", "rare", "diverse", "mixed", "random"],
                "default": "mixed",
                "help": "see docs/explanation/production.md, 'Active sampling'",
            },
        ),
        ("--seed", {"type": int, "default": 0, "help": "random seed (random, diverse and mixed)"}),
    )
    add_verb(
        verbs,
        "push-tagged",
        push_tagged,
        "records tagged in the store (a map selection) into a review",
        DIR,
        *CONNECTION,
        min_sub,
        ("--tag", {"required": True, "help": "the tag (workbench tags DIR lists them)"}),
        ("--dataset", {"choices": ["error-review", "batch-review"], "default": "error-review"}),
        ("--model", {"help": "a model directory: its decisions become the suggestion"}),
    )
    add_verb(
        verbs,
        "pull",
        pull,
        "submitted answers into the store: seed verdicts, batch acceptance, labels",
        DIR,
        *CONNECTION,
        (
            "--max-error",
            {
                "type": float,
                "default": 0.10,
                "help": "the error-rate limit of the batch sampling plan: a batch is accepted only when its sample "
                "shows (95 %% upper bound, sequential test) that its error rate is below it",
            },
        ),
    )
    add_verb(verbs, "status", status, "per dataset counts, batch status, agreement, conflicts", DIR, *CONNECTION)
