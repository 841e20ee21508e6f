"""The review datasets, one declaration each (:class:`ReviewDataset`) in :data:`REVIEW_DATASETS`.

A declaration names the dataset and says everything the rest of the review layer needs of it: its
fields, questions and extra metadata (the Argilla settings, built by :func:`.templates.settings_for`), the
task paragraph of its guidelines, how submitted answers are applied (``pull``: it fills the shared
:class:`curation.ReviewOutcome` and returns the dataset's report; ``after_apply`` completes the report
once the store has applied the outcome), whether ``status`` reports label agreement, and its command-line
verbs (:class:`ReviewVerb`). :func:`.pull.pull`, :func:`.pull.review_status`, the settings and
``workbench review ...`` all iterate over the registry, so adding a dataset is one
:func:`register_dataset` call and touches no other module. The built-in five are declared in
:mod:`.datasets`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from foundation import Registry

from .answers import collect_answers

if TYPE_CHECKING:
    from curation import Project, ReviewOutcome

__all__ = ["ReviewDataset", "ReviewVerb", "PullContext", "REVIEW_DATASETS", "register_dataset"]


@dataclass
class PullContext:
    """What a dataset's ``pull`` reads and writes: the project, the Argilla dataset, user id -> name, the
    owner's id, the shared outcome, and the pull's options (``weights``: user id -> the weight of their
    answers, 0 for a flagged annotator; ``gold``: the dataset's known-answer record ids; ``margin``: the
    dispute margin). ``collected``: the dataset's submitted answers (:func:`.answers.collect_answers`), read
    once per pull."""

    project: Project
    dataset: Any
    users: dict[str, str]
    owner: str
    outcome: ReviewOutcome
    options: dict[str, Any] = field(default_factory=dict)
    collected: Any = None

    def answers(self):
        """(answers, metadata, counts) of the dataset, read on first use."""
        if self.collected is None:
            self.collected = collect_answers(self.dataset)
        return self.collected


@dataclass(frozen=True)
class ReviewVerb:
    """One ``workbench review VERB DIR``: its help line, its arguments (``add_verb`` specs, after ``DIR``
    and the connection options), ``ray`` (it takes the ``--ray`` / ``--actors`` options of the heavy
    steps) and ``run(args, project, client) -> report``."""

    name: str
    help: str
    run: Callable[[Any, Project, Any], Any]
    arguments: tuple[tuple, ...] = ()
    ray: bool = False


@dataclass(frozen=True)
class ReviewDataset:
    """One review dataset. ``fields(rg)``, ``questions(rg, taxonomy)`` and ``metadata(rg)`` build its
    Argilla settings (``rg`` is the Argilla SDK module, imported only when a dataset is created);
    ``task`` opens its guidelines (the taxonomy's label descriptions follow)."""

    name: str
    task: str
    fields: Callable[[Any], list]
    questions: Callable[[Any, Any], list]
    metadata: Callable[[Any], list] = lambda rg: []
    pull: Callable[[PullContext], dict] | None = None
    after_apply: Callable[[Project, dict], dict] | None = None
    status_agreement: bool = True  # `review status` shows its label agreement and conflicts
    in_status: bool = True
    accepts_selection: bool = False  # `push-tagged --dataset` may send a map selection to it
    verbs: tuple[ReviewVerb, ...] = ()


REVIEW_DATASETS: Registry[ReviewDataset] = Registry(
    "review dataset", fix="declare it with workbench.review.register_dataset(ReviewDataset(...))"
)
"""Dataset name -> declaration, in the order datasets are pulled and reported."""


def register_dataset(dataset: ReviewDataset) -> ReviewDataset:
    return REVIEW_DATASETS.add(dataset.name, dataset)
