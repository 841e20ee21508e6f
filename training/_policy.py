"""The policy layer: per-label thresholds to decisions, decisions to one action per text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from curation import WorkbenchError

__all__ = ["ACTION_SEVERITY", "Policy"]

ACTION_SEVERITY = {"allow": 0, "none": 0, "badge": 1, "warn": 2, "hide": 3}


@dataclass(frozen=True)
class Policy:
    """Thresholds and actions per label.

    Examples
    --------
    >>> pol = Policy(["spam", "threat"], [0.5, 0.2], ["badge", "hide"])
    >>> out = pol.apply(np.array([[0.9, 0.1], [0.9, 0.3], [0.1, 0.1]]))
    >>> [o["action"] for o in out]
    ['badge', 'hide', 'allow']
    >>> out[1]["labels"]
    ['spam', 'threat']
    """

    labels: tuple[str, ...]
    thresholds: tuple[float, ...]
    actions: tuple[str, ...]

    def __init__(self, labels: Sequence[str], thresholds: Sequence[float], actions: Sequence[str]):
        if not (len(labels) == len(thresholds) == len(actions)):
            raise WorkbenchError(
                "policy",
                expected="one threshold and one action per label",
                got=f"{len(labels)} labels, {len(thresholds)} thresholds, {len(actions)} actions",
            )
        bad = [a for a in actions if a not in ACTION_SEVERITY]
        if bad:
            raise WorkbenchError("policy actions", expected=f"among {list(ACTION_SEVERITY)}", got=str(bad))
        object.__setattr__(self, "labels", tuple(labels))
        object.__setattr__(self, "thresholds", tuple(float(t) for t in thresholds))
        object.__setattr__(self, "actions", tuple(actions))

    @classmethod
    def combine(cls, policies: Sequence[Policy]) -> Policy:
        """One policy over several heads (label names must not repeat)."""
        labels = [lab for p in policies for lab in p.labels]
        if len(set(labels)) != len(labels):
            raise WorkbenchError("model set", expected="heads with distinct labels", got=str(labels))
        return cls(labels, [t for p in policies for t in p.thresholds], [a for p in policies for a in p.actions])

    def decide(self, probs: np.ndarray) -> np.ndarray:
        probs = np.asarray(probs)
        if probs.ndim != 2 or probs.shape[1] != len(self.labels):
            raise WorkbenchError(
                "probabilities",
                expected=f"shape (n, {len(self.labels)}) in label order {list(self.labels)}",
                got=f"shape {probs.shape}",
            )
        return probs >= np.asarray(self.thresholds)[None, :]

    def apply(self, probs: np.ndarray) -> list[dict]:
        """Per text: probabilities, decisions, fired labels and the most severe action (``allow`` if none)."""
        dec = self.decide(probs)
        sev = np.array([ACTION_SEVERITY[a] for a in self.actions])
        out = []
        for row_p, row_d in zip(np.asarray(probs), dec):
            fired = np.flatnonzero(row_d)
            action = "allow"
            if fired.size:
                k = fired[np.argmax(sev[fired])]
                action = self.actions[k] if sev[k] > 0 else "allow"
            out.append(
                {
                    "probabilities": {lab: round(float(p), 6) for lab, p in zip(self.labels, row_p)},
                    "decisions": {lab: bool(d) for lab, d in zip(self.labels, row_d)},
                    "labels": [self.labels[i] for i in fired],
                    "action": action,
                }
            )
        return out
