"""The six built-in review datasets, each one :class:`.registry.ReviewDataset` declaration: settings,
guidelines, how answers are applied, and its ``workbench review`` verbs. Names and questions are a public
interface (see :mod:`.templates`)."""

from __future__ import annotations

import importlib
from typing import Any, Callable

from .registry import ReviewDataset, ReviewVerb, register_dataset
from .templates import (
    ADJUDICATION,
    BATCH_REVIEW,
    ERROR_REVIEW,
    SAMPLE_REVIEW,
    SEED_REVIEW,
    SUITE_REVIEW,
    label_question,
)


def _side(module: str, name: str) -> Callable[..., Any]:
    """``name`` of ``.push`` or ``.pull``, imported when it first runs: declaring the datasets (which the
    command line's parser reads for ``workbench review`` verbs) imports neither side nor the Argilla SDK."""

    def run(*args, **kwargs):
        return getattr(importlib.import_module(f".{module}", __package__), name)(*args, **kwargs)

    run.__name__ = run.__qualname__ = name
    return run


def labels_and_note(rg, taxonomy) -> list:
    """The questions of a dataset that asks for a record's labels: the taxonomy's labels and a free note."""
    return [label_question(rg, taxonomy), rg.TextQuestion(name="note", required=False)]


__all__ = ["MIN_SUBMITTED", "SAMPLING_STRATEGIES"]

MIN_SUBMITTED = ("--min-submitted", {"type": int, "default": 1, "help": "answers a record needs (task distribution)"})
SAMPLING_STRATEGIES = ("uncertainty", "rare", "diverse", "mixed", "random")


def _load_model(path):
    from training.artifacts import load_model

    return load_model(path)


def _jobs(args):
    """The batch jobs ``--ray`` / ``--actors`` ask for (this process without ``--ray``)."""
    from training import batch_jobs

    return batch_jobs(args.ray, actors=args.actors) if args.ray else batch_jobs()


register_dataset(
    ReviewDataset(
        SEED_REVIEW,
        task=(
            "Decide whether this seed may generate training data. **approve** it when its examples would "
            "teach the labels it targets; **reject** it when they would teach something wrong; "
            "**needs_edit** with a corrected text in `edited_text`. A *hard-negative* seed must be "
            "genuinely benign content near the boundary of its labels — never coercive, threatening or "
            "harassing content framed as acceptable. Reject such a seed: one bad seed poisons its whole "
            "batch."
        ),
        fields=lambda rg: [
            rg.TextField(name="text", title="Seed"),
            rg.TextField(name="kind", title="Kind"),
            rg.TextField(name="targets", title="Target labels and overlap"),
            rg.TextField(name="examples", title="Examples from its batches", use_markdown=True),
        ],
        questions=lambda rg, taxonomy: [
            rg.LabelQuestion(name="verdict", labels=["approve", "reject", "needs_edit"]),
            rg.TextQuestion(name="edited_text", required=False),
            rg.TextQuestion(name="reason", required=False),
        ],
        pull=_side("pull", "pull_seeds"),
        status_agreement=False,
        verbs=(
            ReviewVerb(
                "push-seeds",
                "seeds into the seed-review dataset",
                lambda args, project, client: _side("push", "push_seeds")(
                    project, client, workspace=args.workspace, min_submitted=args.min_submitted, progress=True
                ),
                (MIN_SUBMITTED,),
            ),
        ),
    )
)

register_dataset(
    ReviewDataset(
        BATCH_REVIEW,
        task=(
            "Label the text with every label that applies, or **none** when no label applies; the "
            "suggestion is what the generator intended, not the truth. Then say whether it is a **valid** "
            "example of its seed (realistic, on topic, of the seed's kind). A batch whose sample has too "
            "many invalid or mislabelled records is rejected, and its seed with it."
        ),
        fields=lambda rg: [
            rg.TextField(name="text", title="Text"),
            rg.TextField(name="seed", title="Seed it came from"),
        ],
        questions=lambda rg, taxonomy: [
            label_question(rg, taxonomy),
            rg.LabelQuestion(name="valid", labels=["yes", "no"]),
        ],
        pull=_side("pull", "pull_batches"),
        accepts_selection=True,
        verbs=(
            ReviewVerb(
                "push-batches",
                "a sample of every pending batch into batch-review",
                lambda args, project, client: _side("push", "push_batches")(
                    project,
                    client,
                    per_batch=args.per_batch,
                    status=args.status,
                    workspace=args.workspace,
                    min_submitted=args.min_submitted,
                    progress=True,
                ),
                (
                    MIN_SUBMITTED,
                    ("--per-batch", {"type": int, "default": 20, "help": "records per batch"}),
                    (
                        "--status",
                        {
                            "choices": ["pending", "accepted"],
                            "default": "pending",
                            "help": "pending: batches awaiting review; accepted: audit batches already accepted",
                        },
                    ),
                ),
            ),
        ),
    )
)

register_dataset(
    ReviewDataset(
        ERROR_REVIEW,
        task=(
            "The model disagrees with this record's labels, or is confident about a label nobody gave it. "
            "Label the text with every label that applies (or **none**); the suggestion is the model's "
            "opinion with its probabilities, not the truth. Often the model is right and a label is "
            "missing: say so by choosing it. Use **note** for anything the team should know."
        ),
        fields=lambda rg: [rg.TextField(name="text", title="Text")],
        questions=labels_and_note,
        metadata=lambda rg: [
            rg.TermsMetadataProperty(name="error_type"),
            rg.TermsMetadataProperty(name="label"),
            rg.FloatMetadataProperty(name="label_quality_score", min=0.0, max=1.0),
        ],
        pull=_side("pull", "pull_labels"),
        accepts_selection=True,
        verbs=(
            ReviewVerb(
                "push-errors",
                "what a model gets wrong (never holdout) into error-review",
                lambda args, project, client: _side("push", "push_errors")(
                    project,
                    client,
                    _load_model(args.model),
                    per_kind=args.per_kind,
                    workspace=args.workspace,
                    min_submitted=args.min_submitted,
                    progress=True,
                    jobs=_jobs(args),
                ),
                (
                    MIN_SUBMITTED,
                    ("--model", {"required": True, "help": "a model directory"}),
                    ("--per-kind", {"type": int, "default": 50, "help": "records per label and error type"}),
                ),
                ray=True,
            ),
        ),
    )
)

register_dataset(
    ReviewDataset(
        SUITE_REVIEW,
        task=(
            "This is a functional test case: a short text written to check one capability of the model "
            "(its functionality is shown with what the text should and should not be labelled). Answer "
            "**yes** when the text carries exactly the expected labels, **no** when it does not (then choose "
            "the labels it does carry in `labels`, or **none**), **unsure** when it depends on context. A "
            "case stays in the model's gate only when the reviewers agree with its expectation."
        ),
        fields=lambda rg: [
            rg.TextField(name="text", title="Test case"),
            rg.TextField(name="expected", title="Functionality and expected labels"),
        ],
        questions=lambda rg, taxonomy: [
            rg.LabelQuestion(name="verdict", labels=["yes", "no", "unsure"]),
            label_question(rg, taxonomy, required=False),
        ],
        metadata=lambda rg: [rg.TermsMetadataProperty(name="functionality")],
        pull=_side("pull", "pull_suite"),
        after_apply=lambda project, counts: {**counts, **_side("pull", "suite_review_report")(project)},
        in_status=False,
        verbs=(
            ReviewVerb(
                "push-suite",
                "the functional suites' test-side cases into suite-review (a case stays gated when reviewers agree)",
                lambda args, project, client: _side("push", "push_suite")(
                    project, client, workspace=args.workspace, min_submitted=args.min_submitted, progress=True
                ),
                (("--min-submitted", {"type": int, "default": 2, "help": "answers a case needs (default 2)"}),),
            ),
        ),
    )
)

register_dataset(
    ReviewDataset(
        SAMPLE_REVIEW,
        task=(
            "This is a post from production, picked because the model was unsure of it, scored it high for a "
            "rare label, or because it is unlike the other posts picked. Label it with every label that "
            "applies, or **none**; the suggestion is the model's opinion with its probabilities, not the "
            "truth. Your answers measure and recalibrate the model where it is used now."
        ),
        fields=lambda rg: [rg.TextField(name="text", title="Production post")],
        questions=labels_and_note,
        metadata=lambda rg: [rg.TermsMetadataProperty(name=m) for m in ("sampling", "model", "time")],
        pull=_side("pull", "pull_sample"),
        verbs=(
            ReviewVerb(
                "push-sample",
                "production posts worth a person's time (active sampling) into sample-review",
                lambda args, project, client: _side("push", "push_sample")(
                    project,
                    client,
                    _load_model(args.model),
                    n=args.n,
                    strategy=args.strategy,
                    seed=args.seed,
                    workspace=args.workspace,
                    min_submitted=args.min_submitted,
                    progress=True,
                ),
                (
                    MIN_SUBMITTED,
                    ("--model", {"required": True, "help": "the shipped model directory (its scores pick the posts)"}),
                    ("--n", {"type": int, "default": 200, "help": "posts to push"}),
                    (
                        "--strategy",
                        {
                            "choices": list(SAMPLING_STRATEGIES),
                            "default": "mixed",
                            "help": "see docs/explanation/production.md, 'Active sampling'",
                        },
                    ),
                    ("--seed", {"type": int, "default": 0, "help": "random seed (random, diverse and mixed)"}),
                ),
            ),
        ),
    )
)

register_dataset(
    ReviewDataset(
        ADJUDICATION,
        task=(
            "The annotators split on this record without a clear majority, so its disputed labels are stored "
            "**unknown** and it counts as an error in its batch's acceptance until you settle it. Their answers "
            "are shown beside the text. Label it with every label that applies (or **none**); for a generated "
            "record, say whether it is a **valid** example of its seed. Only adjudicators' answers count (the "
            "owners and admins, or the users named under `review.adjudicators` in workbench.yaml)."
        ),
        fields=lambda rg: [
            rg.TextField(name="text", title="Text"),
            rg.TextField(name="answers", title="What the annotators answered", use_markdown=True),
            rg.TextField(name="disputed", title="Disputed labels"),
        ],
        questions=lambda rg, taxonomy: [
            label_question(rg, taxonomy),
            rg.LabelQuestion(name="valid", labels=["yes", "no"], required=False),
        ],
        pull=_side("pull", "pull_adjudication"),
        status_agreement=False,
        verbs=(
            ReviewVerb(
                "push-adjudication",
                "every record with a disputed label into adjudication, with each annotator's answers",
                lambda args, project, client: _side("push", "push_adjudication")(
                    project, client, workspace=args.workspace, progress=True
                ),
            ),
        ),
    )
)
