"""Family ``ensemble``: a weighted mean of members' probabilities (members share the label order).

The ``ensemble`` recipe averages fine-tuned encoders with a TF-IDF and a character n-gram model; weights are
tuned on the calib split by default (:meth:`EnsembleClassifier.fit_weights`), or fixed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from curation import WorkbenchError

from ._contract import Classifier, check_targets, load_classifier, write_json

__all__ = ["EnsembleClassifier"]


class EnsembleClassifier(Classifier):
    """Weighted mean of members' probabilities (members share the label order)."""

    family = "ensemble"
    runtime_params = ("*",)  # handed on to each member, which keeps what it takes

    def __init__(self, members: Sequence[Classifier], *, weights: Sequence[float] | None = None):
        super().__init__()
        if not members:
            raise WorkbenchError("ensemble", expected="at least one member", got="none")
        self.members = list(members)
        self.weights = [float(w) for w in weights] if weights is not None else [1.0] * len(self.members)
        if len(self.weights) != len(self.members) or min(self.weights) < 0 or sum(self.weights) <= 0:
            raise WorkbenchError(
                "ensemble weights",
                expected=f"{len(self.members)} non-negative weights with a positive sum",
                got=str(self.weights),
            )
        self.labels = list(self.members[0].labels)
        for m in self.members:
            if list(m.labels) != self.labels:
                raise WorkbenchError("ensemble members", expected=f"label order {self.labels}", got=str(m.labels))

    def get_config(self) -> dict:
        """Weights and member families; each member keeps its own ``config.json`` beside it."""
        tuned = [h for h in self.history_ if "fit_weights" in h]
        return {
            "family": self.family,
            "labels": self.labels,
            "weights": self.weights,
            "members": [m.family for m in self.members],
            **({"weight_tuning": tuned[-1]} if tuned else {}),  # where the weights were tuned, and the loss there
        }

    def fit(self, texts, targets, *, valid=None, **kw) -> EnsembleClassifier:
        monitor = kw.pop("monitor", None)
        first_encoder = next((i for i, m in enumerate(self.members) if m.has_encoder), 0)
        for i, m in enumerate(self.members):  # the monitor follows the first encoder member (the one trained longest)
            extra = {**(kw if m.has_encoder else {}), **({"monitor": monitor} if i == first_encoder else {})}
            m.fit(texts, targets, valid=valid, **extra)
        self.labels_ = list(self.labels)
        return self

    def fit_weights(
        self, texts: Sequence[str], targets: np.ndarray, *, step: float = 0.1, split: str = "calib"
    ) -> list[float]:
        """Choose weights on held-out data (``split``: calib by default): the point of a grid over the simplex
        (``step``) with the lowest masked log loss of the weighted mean. Returns the weights."""
        import itertools

        y = check_targets(texts, targets, self.labels)
        probs = [np.clip(m.predict_proba(texts).astype(np.float64), 1e-6, 1 - 1e-6) for m in self.members]
        known = ~np.isnan(y)
        yk = np.where(known, y, 0.0)
        k = len(self.members)
        ticks = int(round(1 / step))
        best, best_w = np.inf, self.weights
        for combo in itertools.product(range(ticks + 1), repeat=k - 1):
            if sum(combo) > ticks:
                continue
            w = np.array([*combo, ticks - sum(combo)], dtype=float) / ticks
            p = sum(wi * pi for wi, pi in zip(w, probs))
            loss = -(yk * np.log(p) + (1 - yk) * np.log(1 - p))[known].mean()
            if loss < best - 1e-12:
                best, best_w = loss, w.tolist()
        self.weights = [round(x, 6) for x in best_w]
        self.history_.append({"fit_weights": self.weights, "split": split, "log_loss": round(float(best), 6)})
        return self.weights

    @property
    def fitted(self) -> bool:
        return all(m.labels_ is not None for m in self.members)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        w = np.asarray(self.weights, dtype=np.float64)
        probs = [m.predict_proba(texts) for m in self.members]
        return (sum(wi * p for wi, p in zip(w, probs)) / w.sum()).astype(np.float32)

    def save(self, path) -> Path:
        path = Path(path)
        for i, m in enumerate(self.members):
            m.save(path / f"member{i}-{m.family}")
        write_json(path / "config.json", self.get_config())
        return path

    @classmethod
    def load(cls, path, **kw) -> EnsembleClassifier:
        path = Path(path)
        cfg = cls._read_config(path)
        members = [load_classifier(path / f"member{i}-{fam}", **kw) for i, fam in enumerate(cfg["members"])]
        e = cls(members, weights=cfg["weights"])
        e.labels_ = list(e.labels)
        e.history_ = [cfg["weight_tuning"]] if cfg.get("weight_tuning") else []
        return e
