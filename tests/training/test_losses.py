"""Losses: unknown targets masked, focal and smoothing, pos_weight caps."""

import numpy as np
import pytest
import torch

from curation import WorkbenchError
from training.families import LossConfig, masked_multilabel_loss, pos_weights


def test_unknown_targets_get_no_gradient():
    logits = torch.zeros((2, 2), requires_grad=True)
    t = torch.tensor([[1.0, float("nan")], [0.0, 1.0]])
    masked_multilabel_loss(logits, t).backward()
    assert logits.grad[0, 1] == 0 and logits.grad[0, 0] != 0 and logits.grad[1, 1] != 0


def test_focal_and_smoothing_change_the_loss():
    lg, t = torch.tensor([[2.0, -1.0]]), torch.tensor([[1.0, 0.0]])
    bce = float(masked_multilabel_loss(lg, t))
    assert float(masked_multilabel_loss(lg, t, kind="focal", focal_gamma=2.0)) < bce
    assert float(masked_multilabel_loss(lg, t, label_smoothing=0.2)) > bce


def test_pos_weights_cap_and_override():
    y = np.array([[1, 0]] + [[0, 1]] * 30 + [[0, np.nan]], dtype=float)
    w = pos_weights(y, ["a", "b"], LossConfig(pos_weight_cap=10, pos_weight_overrides={"b": 3.0}))
    assert w.tolist() == [10.0, 3.0]
    with pytest.raises(WorkbenchError, match="loss kind: expected 'bce' or 'focal', got 'mse'"):
        LossConfig(kind="mse")
