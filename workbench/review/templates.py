"""The review datasets: names, fields, questions and guidelines (a public interface, documented in
docs/explanation/review-loops.md: scripts and other tools drive them through the Argilla SDK).

- ``seed-review``: the seed, its kind, targets and overlap, up to 5 examples of its batches; questions
  ``verdict`` (approve / reject / needs_edit), ``edited_text`` and ``reason`` (optional);
- ``batch-review``: a sample of every generated batch; questions ``labels`` (the taxonomy's labels in
  taxonomy order, plus ``none``: an empty multi-label answer is refused by argilla-server) and ``valid``
  (yes / no: is this a valid example of its seed?);
- ``error-review``: records the current model gets wrong or is unsure of (never holdout), with the
  model's probabilities as scored suggestions; questions ``labels`` (as above) and ``note`` (optional);
  extra metadata ``error_type``, ``label`` and ``label_quality_score``;
- ``suite-review``: the test-side cases of the functional suites, each with its functionality and
  expected labels; questions ``verdict`` (yes / no / unsure: does the case carry its expected labels?)
  and ``labels`` (optional: the labels it does carry, when the answer is no); extra metadata
  ``functionality``;
- ``sample-review``: production posts picked by active sampling (``workbench review push-sample``), with
  the model's probabilities as scored suggestions; questions ``labels`` (as above) and ``note`` (optional);
  extra metadata ``sampling`` (why it was picked: ``uncertainty:LABEL``, ``rare:LABEL``, ``diverse``,
  ``random``), ``model`` and ``time``.

Every record carries metadata ``record_id``, ``seed_id``, ``batch_id``, ``split``, ``source``,
``context`` and its sentence embedding (vector ``embedding``) for "find similar".
"""

from __future__ import annotations

from curation import Taxonomy

__all__ = [
    "SEED_REVIEW",
    "BATCH_REVIEW",
    "ERROR_REVIEW",
    "SUITE_REVIEW",
    "SAMPLE_REVIEW",
    "DATASETS",
    "NONE_LABEL",
    "METADATA",
    "VECTOR",
    "settings_for",
    "guidelines",
]

SEED_REVIEW, BATCH_REVIEW, ERROR_REVIEW, SUITE_REVIEW = "seed-review", "batch-review", "error-review", "suite-review"
SAMPLE_REVIEW = "sample-review"
DATASETS = (SEED_REVIEW, BATCH_REVIEW, ERROR_REVIEW, SUITE_REVIEW, SAMPLE_REVIEW)
NONE_LABEL = "none"
METADATA = ("record_id", "seed_id", "batch_id", "split", "source", "context")
VECTOR = "embedding"


def guidelines(taxonomy: Taxonomy, dataset: str) -> str:
    """Markdown guidelines built from the taxonomy's descriptions."""
    labels = "\n".join(
        f"- **{lab.name}** ({lab.tier}): {lab.description or 'no description yet'}" for lab in taxonomy.labels
    )
    if dataset == SEED_REVIEW:
        task = (
            "Decide whether this seed may generate training data. **approve** it when its examples would "
            "teach the labels it targets; **reject** it when they would teach something wrong; "
            "**needs_edit** with a corrected text in `edited_text`. A *hard-negative* seed must be "
            "genuinely benign content near the boundary of its labels — never coercive, threatening or "
            "harassing content framed as acceptable. Reject such a seed: one bad seed poisons its whole "
            "batch."
        )
    elif dataset == SUITE_REVIEW:
        task = (
            "This is a functional test case: a short text written to check one capability of the model "
            "(its functionality is shown with what the text should and should not be labelled). Answer "
            "**yes** when the text carries exactly the expected labels, **no** when it does not (then choose "
            "the labels it does carry in `labels`, or **none**), **unsure** when it depends on context. A "
            "case stays in the model's gate only when the reviewers agree with its expectation."
        )
    elif dataset == SAMPLE_REVIEW:
        task = (
            "This is a post from production, picked because the model was unsure of it, scored it high for a "
            "rare label, or because it is unlike the other posts picked. Label it with every label that "
            "applies, or **none**; the suggestion is the model's opinion with its probabilities, not the "
            "truth. Your answers measure and recalibrate the model where it is used now."
        )
    elif dataset == ERROR_REVIEW:
        task = (
            "The model disagrees with this record's labels, or is confident about a label nobody gave it. "
            "Label the text with every label that applies (or **none**); the suggestion is the model's "
            "opinion with its probabilities, not the truth. Often the model is right and a label is "
            "missing: say so by choosing it. Use **note** for anything the team should know."
        )
    else:
        task = (
            "Label the text with every label that applies, or **none** when no label applies; the "
            "suggestion is what the generator intended, not the truth. Then say whether it is a **valid** "
            "example of its seed (realistic, on topic, of the seed's kind). A batch whose sample has too "
            "many invalid or mislabelled records is rejected, and its seed with it."
        )
    return f"{task}\n\n### Labels\n{labels}\n"


def settings_for(dataset: str, taxonomy: Taxonomy, *, dimensions: int, min_submitted: int = 1):
    """``argilla.Settings`` of a review dataset."""
    import argilla as rg

    metadata = [rg.TermsMetadataProperty(name=m) for m in METADATA]
    vectors = [rg.VectorField(name=VECTOR, dimensions=dimensions)]
    distribution = rg.TaskDistribution(min_submitted=min_submitted)
    if dataset == SEED_REVIEW:
        fields = [
            rg.TextField(name="text", title="Seed"),
            rg.TextField(name="kind", title="Kind"),
            rg.TextField(name="targets", title="Target labels and overlap"),
            rg.TextField(name="examples", title="Examples from its batches", use_markdown=True),
        ]
        questions = [
            rg.LabelQuestion(name="verdict", labels=["approve", "reject", "needs_edit"]),
            rg.TextQuestion(name="edited_text", required=False),
            rg.TextQuestion(name="reason", required=False),
        ]
    elif dataset == BATCH_REVIEW:
        fields = [rg.TextField(name="text", title="Text"), rg.TextField(name="seed", title="Seed it came from")]
        questions = [
            rg.MultiLabelQuestion(name="labels", labels=[*taxonomy.label_names, NONE_LABEL]),
            rg.LabelQuestion(name="valid", labels=["yes", "no"]),
        ]
    elif dataset == SUITE_REVIEW:
        fields = [
            rg.TextField(name="text", title="Test case"),
            rg.TextField(name="expected", title="Functionality and expected labels"),
        ]
        questions = [
            rg.LabelQuestion(name="verdict", labels=["yes", "no", "unsure"]),
            rg.MultiLabelQuestion(name="labels", labels=[*taxonomy.label_names, NONE_LABEL], required=False),
        ]
        metadata += [rg.TermsMetadataProperty(name="functionality")]
    elif dataset == SAMPLE_REVIEW:
        fields = [rg.TextField(name="text", title="Production post")]
        questions = [
            rg.MultiLabelQuestion(name="labels", labels=[*taxonomy.label_names, NONE_LABEL]),
            rg.TextQuestion(name="note", required=False),
        ]
        metadata += [rg.TermsMetadataProperty(name=m) for m in ("sampling", "model", "time")]
    elif dataset == ERROR_REVIEW:
        fields = [rg.TextField(name="text", title="Text")]
        questions = [
            rg.MultiLabelQuestion(name="labels", labels=[*taxonomy.label_names, NONE_LABEL]),
            rg.TextQuestion(name="note", required=False),
        ]
        metadata += [
            rg.TermsMetadataProperty(name="error_type"),
            rg.TermsMetadataProperty(name="label"),
            rg.FloatMetadataProperty(name="label_quality_score", min=0.0, max=1.0),
        ]
    else:
        raise ValueError(f"unknown review dataset {dataset!r}")
    return rg.Settings(
        fields=fields,
        questions=questions,
        metadata=metadata,
        vectors=vectors,
        guidelines=guidelines(taxonomy, dataset),
        distribution=distribution,
        allow_extra_metadata=True,
    )  # content_hash, intended: bookkeeping, not filters
