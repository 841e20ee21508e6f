"""Model sets: several heads (one per label group, each with its own thresholds and gate) served
together through one policy layer (hide > warn > badge > allow).

::

    SET/set.json     the heads, in order
    SET/GROUP/       one model directory per label group
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from foundation import atomic_write_text, utc_now

from ._modeldir import ModelDirectory, load_model
from ._policy import Policy

__all__ = ["ModelSet", "open_model"]


@dataclass
class ModelSet:
    """Several heads (one per label group) served together through one policy layer."""

    root: Path
    models: list[ModelDirectory]

    @classmethod
    def load(cls, root) -> ModelSet:
        root = Path(root)
        spec = json.loads((root / "set.json").read_text())
        return cls(root, [ModelDirectory(root / g) for g in spec["heads"]])

    @classmethod
    def create(cls, root, heads: Sequence[str], models: list[ModelDirectory]) -> ModelSet:
        root = Path(root)
        atomic_write_text(root / "set.json", json.dumps({"heads": list(heads), "created_at": utc_now()}, indent=2))
        return cls(root, models)

    @property
    def labels(self) -> list[str]:
        return [lab for m in self.models for lab in m.labels]

    def policy(self, *, enforce_hierarchy: bool = False) -> Policy:
        """One policy over the heads; with ``enforce_hierarchy`` the taxonomy's (secondary, primary) pairs
        are enforced across heads too."""
        combined = Policy.combine([m.policy() for m in self.models])
        if not enforce_hierarchy:
            return combined
        tax = self.models[0].taxonomy
        pairs = [(lab, tax[lab].parent) for lab in combined.labels if tax[lab].parent in combined.labels]
        return Policy(combined.labels, combined.thresholds, combined.actions, combined.bands, pairs)

    def predict(
        self, texts: Sequence[str], *, variant: str | None = None, threads: int = 2, enforce_hierarchy: bool = False
    ) -> list[dict]:
        variants = [variant or m.serving_variant() for m in self.models]
        probs = np.concatenate(
            [m.predictor(v, threads=threads)(list(texts)) for m, v in zip(self.models, variants)], axis=1
        )
        named = variants[0] if len(set(variants)) == 1 else ",".join(variants)  # one per head when they differ
        return [{**row, "variant": named} for row in self.policy(enforce_hierarchy=enforce_hierarchy).apply(probs)]


def open_model(path) -> ModelDirectory | ModelSet:
    """A model directory or a model set, whichever ``path`` holds."""
    root = Path(path)
    return ModelSet.load(root) if (root / "set.json").exists() else load_model(root)
