"""Family ``heads``: a frozen sentence encoder (embeddings cached on disk) + torch heads, one output
per label. Seconds to minutes on a CPU; the default of the one-click retrain."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from ._contract import Classifier, check_targets, encoder_head, seed_everything, write_json
from ._embeddings import DEFAULT_ENCODER, Encoder, resolve_model_path
from ._losses import LossConfig, LossStep
from ._spelling import SpellingNormaliser

__all__ = ["HeadsClassifier"]


def _make_head(dim: int, n_labels: int, hidden: int, dropout: float):
    import torch.nn as nn

    if hidden <= 0:
        return nn.Linear(dim, n_labels)
    return nn.Sequential(
        nn.Dropout(dropout), nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, n_labels)
    )


class HeadsClassifier(Classifier):
    """Frozen sentence encoder + torch heads (one output per label).

    Parameters
    ----------
    labels : sequence of str
        Output order (the taxonomy order).
    encoder : str
        Packaged encoder name or a local model directory.
    hidden : int
        0 for linear heads, else the width of one hidden layer.
    hierarchy : sequence of (child, parent) label names
        Pairs penalised by ``loss.hierarchy_weight``.
    spelling : SpellingNormaliser, optional
        The model's first step: how it reads the texts it is given (``None``: as they are).
    cache_dir : path-like, optional
        Where embeddings are cached (not a hyper-parameter: never saved).
    device : str, optional
        Where the encoder and the heads run (default: CUDA when available, else the CPU).
    """

    family = "heads"
    has_encoder = True
    runtime_params = ("cache_dir", "device")
    param_types = {"loss": LossConfig, "spelling": SpellingNormaliser}

    def __init__(
        self,
        labels: Sequence[str],
        *,
        encoder: str = DEFAULT_ENCODER,
        hidden: int = 0,
        dropout: float = 0.1,
        epochs: int = 200,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 256,
        patience: int = 15,
        loss: LossConfig | None = None,
        seed: int = 0,
        max_length: int = 128,
        spelling: SpellingNormaliser | None = None,
        cache_dir=None,
        hierarchy: Sequence[tuple[str, str]] = (),
        device: str | None = None,
    ):
        super().__init__()
        self._set_params(locals())
        self.labels = list(labels)
        self.loss = loss or LossConfig()
        self.hierarchy = [tuple(p) for p in hierarchy]
        self.head_ = None
        self.pos_weight_: np.ndarray | None = None
        self._enc: Encoder | None = None

    def _encoder(self) -> Encoder:
        if self._enc is None:
            self._enc = Encoder(self.encoder, cache_dir=self.cache_dir, max_length=self.max_length, device=self.device)
        return self._enc

    def fit(
        self,
        texts: Sequence[str],
        targets: np.ndarray,
        *,
        valid: tuple[Sequence[str], np.ndarray] | None = None,
        show_progress: bool = False,
        monitor=None,
    ) -> HeadsClassifier:
        """Fit the heads; ``monitor`` (a :class:`training.families.EpochLog`) scores ``valid`` after each epoch."""
        import torch

        y = check_targets(texts, targets, self.labels)
        seed_everything(self.seed)
        x = torch.from_numpy(self._encoder().encode(self.read(texts), show_progress=show_progress))
        yt = torch.from_numpy(y)
        xv = yv = None
        if valid is not None:
            xv = torch.from_numpy(self._encoder().encode(self.read(valid[0])))
            yv = torch.from_numpy(check_targets(valid[0], valid[1], self.labels))
        step = LossStep(y, self.labels, self.loss, self.hierarchy)
        self.pos_weight_ = step.pos_weight
        head = _make_head(x.shape[1], len(self.labels), self.hidden, self.dropout)
        opt = torch.optim.AdamW(head.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        gen = torch.Generator().manual_seed(self.seed)
        best, best_state, bad = math.inf, None, 0
        self.history_ = []
        for epoch in range(self.epochs):
            head.train()
            perm = torch.randperm(len(x), generator=gen)
            total = 0.0
            for i in range(0, len(x), self.batch_size):
                idx = perm[i : i + self.batch_size]
                loss = step(head(x[idx]), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            rec = {"epoch": epoch + 1, "train_loss": total / max(len(x), 1)}
            if xv is not None:
                head.eval()
                with torch.no_grad():
                    logits_v = head(xv)
                    vl = float(step(logits_v, yv, train=False))
                rec["valid_loss"] = vl
                if monitor is not None:
                    monitor(epoch + 1, rec["train_loss"], lambda: torch.sigmoid(logits_v).numpy(), valid_loss=vl)
                if vl < best - 1e-5:
                    best, best_state, bad = vl, copy.deepcopy(head.state_dict()), 0
                else:
                    bad += 1
            self.history_.append(rec)
            if xv is not None and bad >= self.patience:
                break
        if best_state is not None:
            head.load_state_dict(best_state)
        head.eval()
        self.head_ = head
        self.labels_ = list(self.labels)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        self._require_fitted()
        x = torch.from_numpy(self._encoder().encode(self.read(texts)))
        with torch.no_grad():
            return torch.sigmoid(self.head_(x)).numpy().astype(np.float32)

    def export_module(self):
        """A torch module (token ids, mask) -> probabilities: encoder + mean pooling + L2 norm + head,
        and the directory of its tokenizer."""
        self._require_fitted()
        from transformers import AutoModel

        body = AutoModel.from_pretrained(resolve_model_path(self.encoder), attn_implementation="eager")
        return (encoder_head(body, copy.deepcopy(self.head_), normalize=True).eval(), resolve_model_path(self.encoder))

    @property
    def export_max_length(self) -> int:
        return self.max_length

    def save(self, path) -> Path:
        import torch

        self._require_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        torch.save(self.head_.state_dict(), path / "head.pt")
        write_json(
            path / "config.json",
            {**self.get_config(), "pos_weight": self.pos_weight_.tolist(), "history": self.history_},
        )
        return path

    @classmethod
    def load(cls, path, *, cache_dir=None, device: str | None = None) -> HeadsClassifier:
        import torch

        path = Path(path)
        cfg = cls._read_config(path)
        m = cls.from_config(cfg, cache_dir=cache_dir, device=device)
        head = _make_head(m._encoder().dimension, len(m.labels), m.hidden, m.dropout)
        head.load_state_dict(torch.load(path / "head.pt", weights_only=True))
        head.eval()
        m.head_, m.labels_ = head, list(m.labels)
        m.pos_weight_ = np.asarray(cfg.get("pos_weight", []))
        m.history_ = cfg.get("history", [])
        return m
