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
  ``random``), ``model`` and ``time``;
- ``adjudication``: each record whose annotators split on a label without a clear majority (stored
  unknown, provenance ``disputed``), with every annotator's answers beside it; questions ``labels`` (as
  above) and ``valid`` (optional: for a generated record, is it a valid example of its seed?); extra
  metadata ``disputed`` (the labels in dispute). Only adjudicators' answers count (``review.adjudicators``
  in workbench.yaml; default the owners and admins).

Every record carries metadata ``record_id``, ``seed_id``, ``batch_id``, ``split``, ``source``,
``context`` and its sentence embedding (vector ``embedding``) for "find similar".
"""

from __future__ import annotations

from curation import Taxonomy

from .registry import REVIEW_DATASETS

__all__ = [
    "SEED_REVIEW",
    "BATCH_REVIEW",
    "ERROR_REVIEW",
    "SUITE_REVIEW",
    "SAMPLE_REVIEW",
    "ADJUDICATION",
    "DATASETS",
    "NONE_LABEL",
    "METADATA",
    "VECTOR",
    "settings_for",
    "guidelines",
    "label_question",
]

SEED_REVIEW, BATCH_REVIEW, ERROR_REVIEW, SUITE_REVIEW = "seed-review", "batch-review", "error-review", "suite-review"
SAMPLE_REVIEW, ADJUDICATION = "sample-review", "adjudication"
DATASETS = (SEED_REVIEW, BATCH_REVIEW, ERROR_REVIEW, SUITE_REVIEW, SAMPLE_REVIEW, ADJUDICATION)
NONE_LABEL = "none"
METADATA = ("record_id", "seed_id", "batch_id", "split", "source", "context")
VECTOR = "embedding"


def guidelines(taxonomy: Taxonomy, dataset: str) -> str:
    """Markdown guidelines: the dataset's task (its declaration), then the taxonomy's label descriptions."""
    labels = "\n".join(
        f"- **{lab.name}** ({lab.tier}): {lab.description or 'no description yet'}" for lab in taxonomy.labels
    )
    return f"{REVIEW_DATASETS.lookup(dataset).task}\n\n### Labels\n{labels}\n"


def label_question(rg, taxonomy: Taxonomy, *, required: bool = True):
    """The ``labels`` question: the taxonomy's labels in taxonomy order, plus ``none`` (an empty multi-label
    answer is refused by argilla-server)."""
    return rg.MultiLabelQuestion(name="labels", labels=[*taxonomy.label_names, NONE_LABEL], required=required)


def settings_for(dataset: str, taxonomy: Taxonomy, *, dimensions: int, min_submitted: int = 1):
    """``argilla.Settings`` of a review dataset, from its declaration (:mod:`.registry`)."""
    import argilla as rg

    declared = REVIEW_DATASETS.lookup(dataset)
    return rg.Settings(
        fields=declared.fields(rg),
        questions=declared.questions(rg, taxonomy),
        metadata=[rg.TermsMetadataProperty(name=m) for m in METADATA] + declared.metadata(rg),
        vectors=[rg.VectorField(name=VECTOR, dimensions=dimensions)],
        guidelines=guidelines(taxonomy, dataset),
        distribution=rg.TaskDistribution(min_submitted=min_submitted),
        allow_extra_metadata=True,
    )  # content_hash, intended: bookkeeping, not filters
