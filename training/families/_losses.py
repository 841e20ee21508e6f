"""Multi-label losses with unknown labels masked out.

``targets`` hold 1.0, 0.0 or NaN (unknown); an unknown target contributes nothing to the loss —
neither as a positive nor as a negative.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from curation import WorkbenchError

if TYPE_CHECKING:  # torch is imported when a loss is computed, not when training is imported
    import torch

__all__ = ["LossConfig", "LossStep", "pos_weights", "masked_multilabel_loss", "hierarchy_penalty"]


@dataclass(frozen=True)
class LossConfig:
    """How a run weighs its labels (recorded in the model card).

    Parameters
    ----------
    kind : {"bce", "focal"}
    pos_weight_cap : float
        ``pos_weight = negatives / positives`` per label, capped here (10 by default).
    pos_weight_overrides : mapping label -> float
        Replace the computed weight of these labels.
    class_weights : mapping label -> float
        Extra per-label multiplier of the whole loss term (for severe imbalance).
    focal_gamma : float
        Focusing parameter of the focal loss.
    label_smoothing : float
        Targets move to ``eps/2`` and ``1 - eps/2``.
    hierarchy_weight : float
        Weight of the penalty for predicting a secondary label above its primary.
    use_pos_weight : bool
        Apply ``pos_weight`` at all.
    """

    kind: str = "bce"
    pos_weight_cap: float = 10.0
    pos_weight_overrides: Mapping[str, float] = field(default_factory=dict)
    class_weights: Mapping[str, float] = field(default_factory=dict)
    focal_gamma: float = 2.0
    label_smoothing: float = 0.0
    hierarchy_weight: float = 0.0
    use_pos_weight: bool = True

    def __post_init__(self):
        if self.kind not in ("bce", "focal"):
            raise WorkbenchError("loss kind", expected="'bce' or 'focal'", got=repr(self.kind))
        if self.pos_weight_cap < 1:
            raise WorkbenchError("pos_weight_cap", expected="a number >= 1", got=repr(self.pos_weight_cap))
        if not 0 <= self.label_smoothing < 0.5:
            raise WorkbenchError("label_smoothing", expected="a number in [0, 0.5)", got=repr(self.label_smoothing))
        if self.focal_gamma < 0 or self.hierarchy_weight < 0:
            raise WorkbenchError(
                "focal_gamma / hierarchy_weight",
                expected="non-negative numbers",
                got=f"{self.focal_gamma} / {self.hierarchy_weight}",
            )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["pos_weight_overrides"], d["class_weights"] = dict(self.pos_weight_overrides), dict(self.class_weights)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LossConfig:
        """The inverse of :meth:`to_dict` (unknown keys are an error).

        >>> LossConfig.from_dict(LossConfig(kind="focal").to_dict()) == LossConfig(kind="focal")
        True
        """
        names = {f.name for f in fields(cls)}
        extra = sorted(set(data) - names)
        if extra:
            raise WorkbenchError("loss settings", expected=f"keys of {sorted(names)}", got=str(extra))
        return cls(**dict(data))


def pos_weights(targets: np.ndarray, labels: Sequence[str], config: LossConfig) -> np.ndarray:
    """Per-label ``negatives / positives`` over known targets, capped, with overrides.

    >>> y = np.array([[1, 0], [0, np.nan], [0, 0], [0, 1]], dtype=float)
    >>> pos_weights(y, ["a", "b"], LossConfig(pos_weight_cap=2.5)).tolist()  # 3/1 capped, 2/1 (NaN ignored)
    [2.5, 2.0]
    """
    pos = np.nansum(targets == 1, axis=0).astype(float)
    neg = np.nansum(targets == 0, axis=0).astype(float)
    w = np.where(pos > 0, neg / np.maximum(pos, 1), config.pos_weight_cap)
    w = np.clip(w, 1.0 if config.pos_weight_cap >= 1 else 0.0, config.pos_weight_cap)
    for j, lab in enumerate(labels):
        if lab in config.pos_weight_overrides:
            w[j] = float(config.pos_weight_overrides[lab])
    return w


def masked_multilabel_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    pos_weight: torch.Tensor | None = None,
    class_weight: torch.Tensor | None = None,
    kind: str = "bce",
    focal_gamma: float = 2.0,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Mean loss over known (non-NaN) targets only.

    >>> import torch
    >>> lg = torch.tensor([[0.0, 5.0]]); t = torch.tensor([[1.0, float("nan")]])
    >>> round(float(masked_multilabel_loss(lg, t)), 4)  # only the first label counts: -log(0.5)
    0.6931
    """
    import torch
    import torch.nn.functional as F

    mask = ~torch.isnan(targets)
    y = torch.where(mask, targets, torch.zeros_like(targets))
    if label_smoothing:
        y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    if kind == "focal":
        bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
        p = torch.sigmoid(logits)
        p_t = p * y + (1 - p) * (1 - y)
        loss = bce * (1 - p_t).clamp_min(0) ** focal_gamma
        if pos_weight is not None:
            loss = loss * (1 + (pos_weight - 1) * y)
    else:
        loss = F.binary_cross_entropy_with_logits(logits, y, reduction="none", pos_weight=pos_weight)
    if class_weight is not None:
        loss = loss * class_weight
    loss = loss * mask
    return loss.sum() / mask.sum().clamp_min(1)


def hierarchy_penalty(probs: torch.Tensor, child_parent: Sequence[tuple[int, int]]) -> torch.Tensor:
    """Mean amount by which a secondary label's probability exceeds its primary's.

    >>> import torch
    >>> p = torch.tensor([[0.2, 0.9], [0.8, 0.1]])
    >>> round(float(hierarchy_penalty(p, [(1, 0)])), 3)  # child 1 above parent 0 by 0.7 in row 0
    0.35
    """
    import torch

    if not child_parent:
        return probs.new_zeros(())
    child = torch.tensor([c for c, _ in child_parent], device=probs.device)
    parent = torch.tensor([p for _, p in child_parent], device=probs.device)
    return torch.relu(probs[:, child] - probs[:, parent]).mean()


class LossStep:
    """The loss of one batch, set up once per fit and shared by every torch family.

    Masked BCE (or focal) loss with ``pos_weight`` and per-label class weights; during training
    also label smoothing and the hierarchy penalty (``train=False`` gives the plain validation
    loss used for early stopping).

    Parameters
    ----------
    targets : ndarray of shape (n, n_labels)
        Training targets (1.0 / 0.0 / NaN), for ``pos_weight``.
    labels : sequence of str
        Label order.
    config : LossConfig
    hierarchy : sequence of (child, parent) label names

    Examples
    --------
    >>> import torch
    >>> step = LossStep(np.array([[1.0, 0.0], [0.0, np.nan]]), ["a", "b"], LossConfig())
    >>> step.pos_weight.tolist()
    [1.0, 10.0]
    >>> round(float(step(torch.zeros(1, 2), torch.tensor([[1.0, float("nan")]]))), 4)
    0.6931
    """

    def __init__(
        self, targets: np.ndarray, labels: Sequence[str], config: LossConfig, hierarchy: Sequence[tuple[str, str]] = ()
    ):
        import torch

        labels = list(labels)
        self.config = config
        self.pos_weight = pos_weights(targets, labels, config)
        self._pw = torch.tensor(self.pos_weight, dtype=torch.float32) if config.use_pos_weight else None
        self._cw = torch.tensor([config.class_weights.get(lab, 1.0) for lab in labels], dtype=torch.float32)
        self._pairs = [(labels.index(c), labels.index(p)) for c, p in hierarchy]

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor, *, train: bool = True) -> torch.Tensor:
        import torch

        dev = logits.device
        c = self.config
        loss = masked_multilabel_loss(
            logits,
            targets.to(dev),
            pos_weight=None if self._pw is None else self._pw.to(dev),
            class_weight=self._cw.to(dev),
            kind=c.kind,
            focal_gamma=c.focal_gamma,
            label_smoothing=c.label_smoothing if train else 0.0,
        )
        if train and c.hierarchy_weight and self._pairs:
            loss = loss + c.hierarchy_weight * hierarchy_penalty(torch.sigmoid(logits), self._pairs)
        return loss
