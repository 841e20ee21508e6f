"""Review verbs: each review dataset's own (``push-seeds``, ``push-batches``, ``push-errors``, ``push-suite``,
``push-sample``: declared with the dataset, :data:`workbench.review.REVIEW_DATASETS`), then ``push-tagged``,
``pull`` and ``status`` over every dataset, against Argilla, and ``accept-batch`` (no Argilla: an explicit
acceptance without review) and ``annotators`` (no Argilla: each annotator's quality and flag, ``--clear``)."""

from __future__ import annotations

import argparse
import json
import os

from ._verbs import DIR, JSON, RAY, add_verb

GROUP = "review"
SUMMARY = "push a review dataset (push-seeds, push-batches, ...), push-tagged, pull, status, accept-batch"

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


def _dataset_verb(verb):
    """The handler of a review dataset's verb (its declaration's ``run``)."""

    def handler(args) -> int:
        return _run(args, lambda project, client: verb.run(args, project, client))

    handler.__name__ = verb.name.replace("-", "_")
    return handler


def push_tagged(args) -> int:
    from training.artifacts import load_model
    from workbench.review import push_selection

    model = load_model(args.model) if args.model else None

    def work(project, client):
        ids = project.records.tags(args.tag)["record_id"].tolist()
        if not ids:
            from curation import WorkbenchError

            raise WorkbenchError(
                f"tag {args.tag!r}",
                expected="tagged records",
                got="none",
                fix="tag a map selection first (EmbeddingMap.selected_ids -> project.records.tag)",
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
        project.batches.accept(args.batch, reason=args.reason, actor=args.by)
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


def annotators(args) -> int:
    """Each annotator's quality from the store (no Argilla): answers, gold accuracy with its interval, overlap
    accuracy, weight, flag and why; ``--clear NAME`` clears a flag."""
    from curation import Project, WorkbenchError, clear_annotator
    from workbench.review import annotator_report

    with Project(args.dir) as project:
        if args.clear:
            quality, _ = annotator_report(project)
            if args.clear not in quality:
                raise WorkbenchError(
                    f"annotator {args.clear!r}",
                    expected="an annotator with recorded answers",
                    got=", ".join(sorted(quality)) or "no annotator has answered yet",
                    fix="`workbench review annotators DIR` lists them",
                )
            if not clear_annotator(project.store, args.clear, actor=args.by, reason=args.reason):
                print(f"{args.clear} is not flagged; nothing to clear")
                return 0
            print(f"cleared {args.clear}: their answers count again from the next pull (older ones are no evidence)")
        quality, _ = annotator_report(project)
    print(json.dumps({"annotators": {u: q.to_dict() for u, q in sorted(quality.items())}}, indent=2))
    return 0


def listen(args) -> int:
    """Decide batches live: a webhook receiver on 127.0.0.1 that pulls as answers arrive, until Ctrl-C."""
    import time

    from workbench.review import connect
    from workbench.review.live import LiveReview

    live = LiveReview(args.dir, connect(args.home), workspace=args.workspace, port=args.port, max_error=args.max_error)
    print(f"listening on {live.start()} for Argilla's answer events; Ctrl-C stops (a later pull catches up)")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:  # the way to stop it, not an interruption of a write: each pull is one transaction
        pass
    finally:
        live.stop()
        print(f"stopped after {live.applied} live pulls; the webhook is removed")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser("review", help="push seeds and batches to Argilla, pull the answers back")
    verbs = g.add_subparsers(dest="action", required=True, metavar="ACTION")
    from workbench.review import REVIEW_DATASETS

    min_sub = ("--min-submitted", {"type": int, "default": 1, "help": "answers a record needs (task distribution)"})
    for declared in REVIEW_DATASETS.values():
        for verb in declared.verbs:
            extra = RAY if verb.ray else ()
            add_verb(verbs, verb.name, _dataset_verb(verb), verb.help, DIR, *CONNECTION, *verb.arguments, *extra)
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
        "push-tagged",
        push_tagged,
        "records tagged in the store (a map selection) into a review",
        DIR,
        *CONNECTION,
        min_sub,
        ("--tag", {"required": True, "help": "the tag (workbench tags DIR lists them)"}),
        (
            "--dataset",
            {"choices": [n for n, d in REVIEW_DATASETS.items() if d.accepts_selection], "default": "error-review"},
        ),
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
    add_verb(
        verbs,
        "status",
        status,
        "per dataset counts, batch status, agreement, conflicts, annotators (always JSON)",
        DIR,
        *CONNECTION,
        JSON,
    )
    add_verb(
        verbs,
        "listen",
        listen,
        "decide batches live: a webhook receiver on 127.0.0.1 applies answers as they arrive (Ctrl-C stops)",
        DIR,
        *CONNECTION,
        ("--port", {"type": int, "default": 0, "help": "the receiver's port on 127.0.0.1 (default: a free one)"}),
        ("--max-error", {"type": float, "default": 0.10, "help": "the sampling plan's error-rate limit"}),
    )
    add_verb(
        verbs,
        "annotators",
        annotators,
        "each annotator's gold accuracy, overlap accuracy and flag (--clear NAME clears a flag)",
        DIR,
        ("--clear", {"metavar": "NAME", "help": "clear this annotator's flag (the owner's call)"}),
        ("--by", {"default": os.environ.get("USER") or "owner", "help": "who clears it (default $USER)"}),
        ("--reason", {"help": "why the flag is cleared (recorded)"}),
    )
