"""The per-epoch monitor's warning signs (the class-imbalance guide's): overfitting, low precision, an
oscillating loss and a label stuck at zero recall, each naming what to change; the monitor keeps them in
each entry of the history a card stores."""

from __future__ import annotations

import numpy as np

from training.families._epochs import EpochLog, epoch_record, warning_signs


def _entry(epoch, loss, valid_loss=None, *, precision=0.8, recall=0.7, positives=10):
    m = {"precision": precision, "recall": recall, "f1": 0.7, "positives": positives}
    return {"epoch": epoch, "loss": loss, "valid_loss": valid_loss, "labels": {"hate": m}, "warnings": []}


def test_valid_loss_rising_while_train_loss_falls_is_overfitting():
    h = [_entry(1, 0.50, 0.40), _entry(2, 0.40, 0.38), _entry(3, 0.30, 0.41), _entry(4, 0.20, 0.45)]
    (sign,) = warning_signs(h)
    assert sign.startswith("overfitting: valid loss rose 0.3800 -> 0.4500 while train loss fell 0.4000 -> 0.2000")
    assert "--epochs 2" in sign  # the epoch with the lowest valid loss
    # one rise is noise, not a sign; both falling is learning; no valid loss, no verdict
    assert warning_signs(h[:3]) == []
    assert warning_signs([_entry(1, 0.5, 0.5), _entry(2, 0.4, 0.4), _entry(3, 0.3, 0.3)]) == []
    assert warning_signs([_entry(1, 0.5), _entry(2, 0.4), _entry(3, 0.3)]) == []
    # a rise within noise (under 1 %) is not a sign
    assert warning_signs([_entry(1, 0.45, 0.4598), _entry(2, 0.44, 0.4599), _entry(3, 0.43, 0.4600)]) == []
    # valid loss rising with the train loss rising too is not this sign
    assert warning_signs([_entry(1, 0.3, 0.3), _entry(2, 0.4, 0.4), _entry(3, 0.45, 0.5)]) == []


def test_precision_under_the_floor_asks_for_a_lower_weight():
    (sign,) = warning_signs([_entry(1, 0.5, precision=0.3)])
    assert sign == "hate: precision 0.30 under 0.5 - lower its weight (--pos-weight hate=1)"
    assert warning_signs([_entry(1, 0.5, precision=0.0, recall=0.0)]) == []  # no decision yet: not this sign
    assert warning_signs([_entry(1, 0.5, precision=0.3, positives=0)]) == []  # no positives in valid: nothing


def test_an_oscillating_loss_asks_for_a_lower_learning_rate():
    h = [_entry(1, 0.5), _entry(2, 0.6), _entry(3, 0.4), _entry(4, 0.55)]
    assert warning_signs(h) == ["loss oscillates (up, down, up) - lower the learning rate (--lr)"]
    assert warning_signs([_entry(1, 0.6), _entry(2, 0.5), _entry(3, 0.4), _entry(4, 0.3)]) == []


def test_the_monitor_keeps_each_epoch_with_its_signs():
    y = np.array([[1.0, 0.0], [0.0, np.nan], [1.0, 1.0], [0.0, 0.0]])
    seen = []
    mon = EpochLog((["a", "b", "c", "d"], y), ["hate", "offensive"], on_epoch=seen.append)
    probs = iter(
        [
            np.array([[0.9, 0.6], [0.8, 0.1], [0.7, 0.8], [0.6, 0.1]]),  # offensive: 1 of 2 firings wrong
            np.array([[0.9, 0.1], [0.1, 0.1], [0.8, 0.2], [0.2, 0.1]]),
            np.array([[0.9, 0.1], [0.1, 0.1], [0.8, 0.2], [0.2, 0.1]]),
        ]
    )
    for epoch, loss, vloss in ((1, 0.6, 0.50), (2, 0.5, 0.55), (3, 0.4, 0.60)):
        mon(epoch, loss, lambda: next(probs), valid_loss=vloss)
    assert [h["epoch"] for h in mon.history] == [1, 2, 3] and seen == mon.history
    first = mon.history[0]
    assert first["labels"]["hate"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "positives": 2}
    assert first["labels"]["offensive"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "positives": 1}
    assert "offensive: precision 0.50" not in " ".join(first["warnings"])  # at the floor: no sign
    assert mon.history[1]["warnings"] == []
    last = mon.history[2]["warnings"]
    assert any(w.startswith("offensive: stuck at zero recall for 2 epochs") for w in last)
    assert any(w.startswith("overfitting: valid loss rose 0.5000 -> 0.6000") for w in last)
    assert epoch_record(1, None, y, np.zeros((4, 2)), ["hate", "offensive"])["loss"] is None
