"""The policy layer: per-label thresholds to decisions, decisions to one action per text.

Actions follow decisions. A label acts only when it is decided (its probability reaches its threshold,
and its primary is decided too where the hierarchy is enforced): an undecided label is ``allow``, always.
A decided label acts at its taxonomy action, which is also its **ceiling**; ``none`` silences it
everywhere. With **bands** (tuned on calib by :func:`tune_bands` at precision targets) a decided label
starts at ``badge`` and its confidence raises it: ``warn`` at or above ``t_warn``, ``hide`` at or above
``t_hide``, never above the ceiling. So the false-positive rate the gate certifies for the decision
bounds every action users see, and a band tuned below the threshold cannot act on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from curation import WorkbenchError

__all__ = ["ACTION_SEVERITY", "BAND_PRECISION", "Policy", "tune_bands"]

ACTION_SEVERITY = {"allow": 0, "none": 0, "badge": 1, "warn": 2, "hide": 3}
BAND_PRECISION = {"hide": 0.95, "warn": 0.80, "badge": 0.60}
"""Default precision targets of the bands: hide when very confident, warn when fairly, badge below."""


def tune_bands(
    y: np.ndarray,
    probs: np.ndarray,
    labels: Sequence[str],
    *,
    targets: dict[str, float] | None = None,
    min_support: int = 5,
    weights: np.ndarray | None = None,
) -> dict[str, dict[str, float]]:
    """Per label, the lowest threshold whose calib precision meets each band's target (``None`` where no
    threshold with at least ``min_support`` positives above it does). Unknown targets are left out.
    ``weights`` (n, L): precision at the production base rates (:func:`training.evaluation.base_rate_weights`).

    >>> y = np.array([[1], [1], [1], [1], [1], [0], [1], [0], [0], [0]], dtype=float)
    >>> p = np.array([[.95], [.9], [.85], [.8], [.75], [.7], [.6], [.5], [.3], [.1]])
    >>> tune_bands(y, p, ["spam"], targets={"hide": 1.0, "warn": 0.8}, min_support=2)
    {'spam': {'hide': 0.75, 'warn': 0.6}}
    """
    targets = dict(targets or BAND_PRECISION)
    out: dict[str, dict[str, float]] = {}
    for j, lab in enumerate(labels):
        known = ~np.isnan(y[:, j])
        yk, pk = y[known, j], probs[known, j]
        wk = np.ones(len(yk)) if weights is None else np.asarray(weights, dtype=float)[known, j]
        order = np.argsort(-pk, kind="stable")
        ys, ps, ws = yk[order], pk[order], wk[order]
        tp = np.cumsum(ys == 1)
        precision = np.cumsum(ws * (ys == 1)) / np.maximum(np.cumsum(ws), 1e-12)
        bands = {}
        for band, target in targets.items():
            ok = np.flatnonzero((precision >= target) & (tp >= min_support))
            # the lowest threshold at which precision still holds: the last such cut, at a distinct value
            if ok.size:
                cut = ok[-1]
                while cut + 1 < len(ps) and ps[cut + 1] == ps[cut]:
                    cut += 1
                bands[band] = round(float(ps[cut]), 6)
            else:
                bands[band] = None
        out[lab] = bands
    return out


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
    bands: tuple[dict, ...] = ()
    hierarchy: tuple[tuple[str, str], ...] = ()

    def __init__(
        self,
        labels: Sequence[str],
        thresholds: Sequence[float],
        actions: Sequence[str],
        bands: Sequence[dict | None] | None = None,
        hierarchy: Sequence[tuple[str, str]] = (),
    ):
        """``hierarchy``: (secondary, primary) pairs to enforce: a secondary label is decided (and acts)
        only when its primary is decided too."""
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
        bands = list(bands) if bands is not None else [None] * len(labels)
        if len(bands) != len(labels):
            raise WorkbenchError("policy bands", expected=f"{len(labels)} (one per label)", got=str(len(bands)))
        object.__setattr__(self, "bands", tuple({k: v for k, v in (b or {}).items() if v is not None} for b in bands))
        pairs = tuple((str(c), str(p)) for c, p in hierarchy)
        unknown = [x for pair in pairs for x in pair if x not in self.labels]
        if unknown:
            raise WorkbenchError(
                "policy hierarchy", expected=f"pairs of labels among {list(self.labels)}", got=str(unknown)
            )
        object.__setattr__(self, "hierarchy", pairs)

    @classmethod
    def combine(cls, policies: Sequence[Policy]) -> Policy:
        """One policy over several heads (label names must not repeat)."""
        labels = [lab for p in policies for lab in p.labels]
        if len(set(labels)) != len(labels):
            raise WorkbenchError("model set", expected="heads with distinct labels", got=str(labels))
        return cls(
            labels,
            [t for p in policies for t in p.thresholds],
            [a for p in policies for a in p.actions],
            [b for p in policies for b in p.bands],
        )

    def decide(self, probs: np.ndarray) -> np.ndarray:
        probs = np.asarray(probs)
        if probs.ndim != 2 or probs.shape[1] != len(self.labels):
            raise WorkbenchError(
                "probabilities",
                expected=f"shape (n, {len(self.labels)}) in label order {list(self.labels)}",
                got=f"shape {probs.shape}",
            )
        decided = probs >= np.asarray(self.thresholds)[None, :]
        index = {lab: j for j, lab in enumerate(self.labels)}
        for child, parent in self.hierarchy:  # a secondary label never fires without its primary
            decided[:, index[child]] &= decided[:, index[parent]]
        return decided

    def label_action(self, j: int, p: float, decided: bool) -> str:
        """One label's action for probability ``p``: ``allow`` unless decided; then its taxonomy action
        (the ceiling; ``none`` is ``allow``), or with bands the highest band ``p`` reaches, at least
        ``badge`` and at most the ceiling.

        >>> pol = Policy(["spam"], [0.5], ["warn"], [{"hide": 0.9, "warn": 0.7, "badge": 0.3}])
        >>> [pol.label_action(0, p, p >= 0.5) for p in (0.4, 0.55, 0.75, 0.95)]
        ['allow', 'badge', 'warn', 'warn']
        """
        ceiling = self.actions[j]
        if not decided or ACTION_SEVERITY[ceiling] == 0:
            return "allow"
        bands = self.bands[j] if self.bands else {}
        if not bands:
            return ceiling
        reached = next((b for b in ("hide", "warn", "badge") if b in bands and p >= bands[b]), "badge")
        return reached if ACTION_SEVERITY[reached] <= ACTION_SEVERITY[ceiling] else ceiling

    def apply(self, probs: np.ndarray) -> list[dict]:
        """Per text: probabilities, decisions, fired labels, each label's action and the most severe
        action (``allow`` if none)."""
        dec = self.decide(probs)
        out = []
        for row_p, row_d in zip(np.asarray(probs), dec):
            fired = np.flatnonzero(row_d)
            per_label = {
                lab: self.label_action(j, float(row_p[j]), bool(row_d[j])) for j, lab in enumerate(self.labels)
            }
            fired_by_name = dict(zip(self.labels, row_d))
            for child, parent in self.hierarchy:  # held back by its primary: no action either
                if not fired_by_name[parent]:
                    per_label[child] = "allow"
            action = max(per_label.values(), key=lambda a: ACTION_SEVERITY[a], default="allow")
            out.append(
                {
                    "probabilities": {lab: round(float(p), 6) for lab, p in zip(self.labels, row_p)},
                    "decisions": {lab: bool(d) for lab, d in zip(self.labels, row_d)},
                    "labels": [self.labels[i] for i in fired],
                    "actions": {lab: a for lab, a in per_label.items() if a != "allow"},
                    "action": action,
                }
            )
        return out
