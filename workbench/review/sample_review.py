"""The review side of the production loop: :class:`SampleReviewLoop`, what :func:`training.production_loop.watch` pushes its
review sample through and pulls the answers from (training never imports this layer; it is handed one)."""

from __future__ import annotations

from typing import Any

from curation import Project

from .pull import pull
from .push import push_sample

__all__ = ["SampleReviewLoop"]


class SampleReviewLoop:
    """The Argilla side of :func:`training.production_loop.watch`: ``push`` sends a review sample to ``sample-review``
    (:func:`push_sample`), ``pull`` applies every submitted answer (:func:`workbench.review.pull`)."""

    def __init__(self, client, *, workspace: str | None = None, min_submitted: int = 1, seed: int = 0):
        self.client, self.workspace, self.min_submitted, self.seed = client, workspace, min_submitted, seed

    def push(self, project: Project, model, n: int, strategy: str, scores) -> dict[str, Any]:
        return push_sample(
            project,
            self.client,
            model,
            n=n,
            strategy=strategy,
            seed=self.seed,
            workspace=self.workspace,
            min_submitted=self.min_submitted,
            scores=scores,
        )

    def pull(self, project: Project) -> dict[str, Any]:
        return pull(project, self.client, workspace=self.workspace)
