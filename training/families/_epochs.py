"""Per-epoch monitoring, as the team's class-imbalance guide asks: after each epoch, per-label precision,
recall and F1 on ``valid`` (decisions at 0.5, unknown labels masked), the macro-F1 of the primary labels
and of the secondary ones (a secondary label scored on the rows where its primary is positive), the loss,
and the guide's warning signs, each naming the label and the change to try:

- a label stuck at zero recall for two evaluations in a row -> raise its weight (``--class-weights``);
- a label whose precision is under 0.5 -> lower its weight (``--pos-weight LABEL=...``);
- a loss that goes up, down and up again over the last evaluations -> lower the learning rate;
- a valid loss that rose at the last two evaluations (by 1 % or more) while the train loss fell
  (overfitting) -> fewer epochs (the best epoch is named) or more data.

:func:`epoch_record` makes one entry of the card's ``history``; families call it through
:class:`EpochLog`, which :func:`training.train_model` hands them.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["EpochLog", "epoch_record", "warning_signs"]

PRECISION_FLOOR = 0.5
MIN_RISE = 0.01  # the valid loss must rise by 1 % over the last two evaluations to count as overfitting


def _prf(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    known = ~np.isnan(y)
    yk, dk = y[known] == 1, p[known] >= 0.5
    tp = float((yk & dk).sum())
    fp = float((~yk & dk).sum())
    fn = float((yk & ~dk).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "positives": int(yk.sum()),
    }


def epoch_record(
    epoch: float,
    loss: float | None,
    y: np.ndarray,
    probs: np.ndarray,
    labels: Sequence[str],
    hierarchy: Sequence[tuple[str, str]] = (),
    *,
    valid_loss: float | None = None,
) -> dict[str, Any]:
    """One history entry: ``epoch``, ``loss`` (train), ``valid_loss``, ``labels`` -> precision / recall /
    F1 on valid, ``primary_macro_f1``, ``secondary_macro_f1`` (``None`` without secondary labels) and
    an empty ``warnings`` list (filled by :func:`warning_signs`)."""
    parent = dict(hierarchy)
    index = {lab: j for j, lab in enumerate(labels)}
    per_label = {}
    for j, lab in enumerate(labels):
        rows = slice(None)
        if lab in parent and parent[lab] in index:  # secondary: only where its primary is positive
            rows = y[:, index[parent[lab]]] == 1
        per_label[lab] = _prf(y[rows, j], probs[rows, j])
    primary = [per_label[lab]["f1"] for lab in labels if lab not in parent and per_label[lab]["positives"]]
    secondary = [per_label[lab]["f1"] for lab in labels if lab in parent and per_label[lab]["positives"]]
    return {
        "epoch": round(float(epoch), 4),
        "loss": None if loss is None else round(float(loss), 6),
        "valid_loss": None if valid_loss is None else round(float(valid_loss), 6),
        "labels": per_label,
        "primary_macro_f1": round(float(np.mean(primary)), 4) if primary else None,
        "secondary_macro_f1": round(float(np.mean(secondary)), 4) if secondary else None,
        "warnings": [],
    }


def warning_signs(history: Sequence[dict[str, Any]]) -> list[str]:
    """The guide's warning signs at the newest entry of ``history``.

    >>> h = [{"loss": 1.0, "labels": {"threat": {"recall": 0.0, "precision": 0.0, "positives": 4}}},
    ...      {"loss": 0.9, "labels": {"threat": {"recall": 0.0, "precision": 0.0, "positives": 4}}}]
    >>> warning_signs(h)
    ['threat: stuck at zero recall for 2 epochs - raise its weight (--class-weights threat=3)']
    """
    if not history:
        return []
    out = []
    now = history[-1]
    for lab, m in now["labels"].items():
        if not m.get("positives"):
            continue
        streak = 0
        for h in reversed(history):
            if h["labels"].get(lab, {}).get("recall", 1.0) == 0.0:
                streak += 1
            else:
                break
        if streak >= 2:
            out.append(f"{lab}: stuck at zero recall for {streak} epochs - raise its weight (--class-weights {lab}=3)")
        elif 0 < m["precision"] < PRECISION_FLOOR:
            out.append(
                f"{lab}: precision {m['precision']:.2f} under {PRECISION_FLOOR} - lower its weight "
                f"(--pos-weight {lab}=1)"
            )
    losses = [h["loss"] for h in history[-4:] if h.get("loss") is not None]
    if len(losses) == 4:
        steps = np.sign(np.diff(losses))
        if steps[0] > 0 > steps[1] and steps[2] > 0:
            out.append("loss oscillates (up, down, up) - lower the learning rate (--lr)")
    out += _overfitting(history)
    return out


def _overfitting(history: Sequence[dict[str, Any]]) -> list[str]:
    """The valid loss rose at each of the last two evaluations while the train loss fell at each."""
    last = history[-3:]
    if len(last) < 3 or any(h.get("loss") is None or h.get("valid_loss") is None for h in last):
        return []
    train, valid = [h["loss"] for h in last], [h["valid_loss"] for h in last]
    if not (valid[0] < valid[1] < valid[2] and train[0] > train[1] > train[2]):
        return []
    if valid[2] - valid[0] < MIN_RISE * valid[0]:  # a rise within noise
        return []
    best = min(history, key=lambda h: h["valid_loss"] if h.get("valid_loss") is not None else np.inf)
    return [
        f"overfitting: valid loss rose {valid[0]:.4f} -> {valid[2]:.4f} while train loss fell {train[0]:.4f} -> "
        f"{train[2]:.4f} - train fewer epochs (--epochs {best['epoch']:g}, the lowest valid loss) or add data"
    ]


class EpochLog:
    """Scores ``valid`` after each epoch and keeps the history; ``on_epoch(record)`` is called with each
    entry (the retrain panel draws it live, ``workbench train`` prints it)."""

    def __init__(
        self,
        valid: tuple[Sequence[str], np.ndarray] | None,
        labels: Sequence[str],
        hierarchy: Sequence[tuple[str, str]] = (),
        on_epoch: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.valid, self.labels, self.hierarchy, self.on_epoch = valid, list(labels), list(hierarchy), on_epoch
        self.history: list[dict[str, Any]] = []

    def __call__(self, epoch: float, loss: float | None, predict: Callable[[], np.ndarray], *, valid_loss=None) -> None:
        """Record one epoch; ``predict()`` gives the model's probabilities on ``valid`` (only called with
        one)."""
        if self.valid is None or not len(self.valid[0]):
            return
        rec = epoch_record(
            epoch,
            loss,
            np.asarray(self.valid[1], dtype=float),
            predict(),
            self.labels,
            self.hierarchy,
            valid_loss=valid_loss,
        )
        self.history.append(rec)
        rec["warnings"] = warning_signs(self.history)
        if self.on_epoch is not None:
            self.on_epoch(rec)
