"""Model families with one contract: ``fit(texts, targets)``, ``predict_proba(texts)``, ``save``, ``load``.

``targets`` is an array of shape (n, n_labels) holding 1.0, 0.0 or NaN (unknown, masked out).

1. :class:`HeadsClassifier` — frozen sentence encoder (cached embeddings) + per-label linear or
   small MLP heads in torch. Seconds to minutes on a CPU; the default of the one-click retrain.
2. :class:`FineTunedClassifier` — the encoder fine-tuned end to end with a multi-label head
   (warm-up, linear or cosine schedule, early stopping on ``valid``, optional curriculum phases,
   optional frozen lower layers, length-bucketed batches).
3. :class:`TfidfClassifier` — word and character TF-IDF + logistic regression per label, a fast
   lexical baseline and ensemble member.
4. :class:`EnsembleClassifier` — a weighted mean of members' probabilities.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from curation import WorkbenchError

from ._embeddings import DEFAULT_ENCODER, Encoder, length_sorted_batches, resolve_model_path
from ._losses import LossConfig, hierarchy_penalty, masked_multilabel_loss, pos_weights

__all__ = ["HeadsClassifier", "FineTunedClassifier", "TfidfClassifier", "EnsembleClassifier",
           "load_classifier", "FAMILIES"]


def _check_targets(texts: Sequence[str], targets: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    y = np.asarray(targets, dtype=np.float32)
    if y.ndim != 2 or y.shape[0] != len(texts) or y.shape[1] != len(labels):
        raise WorkbenchError("training targets", expected=f"shape ({len(texts)}, {len(labels)})",
                             got=f"shape {y.shape}", fix="pass one row per text and one column per label")
    ok = np.isnan(y) | (y == 0) | (y == 1)
    if not ok.all():
        raise WorkbenchError("training targets", expected="1.0, 0.0 or NaN (unknown)",
                             got=f"{np.unique(y[~ok])[:5].tolist()}")
    return y


def _seed_everything(seed: int, deterministic: bool = False) -> None:
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True)


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, default=str))


class _Base:
    family = "base"

    def __init__(self):
        self.labels_: list[str] | None = None
        self.history_: list[dict] = []

    def _require_fitted(self):
        if self.labels_ is None:
            raise WorkbenchError(f"{type(self).__name__}", expected="a fitted model", got="an unfitted one",
                                 fix="call fit() or load() first")

    def get_config(self) -> dict:
        raise NotImplementedError


# ============================================================================ heads on a frozen encoder
def _make_head(dim: int, n_labels: int, hidden: int, dropout: float):
    import torch.nn as nn

    if hidden <= 0:
        return nn.Linear(dim, n_labels)
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(hidden, n_labels))


class HeadsClassifier(_Base):
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
    """

    family = "heads"

    def __init__(self, labels: Sequence[str], *, encoder: str = DEFAULT_ENCODER, hidden: int = 0,
                 dropout: float = 0.1, epochs: int = 200, lr: float = 3e-3, weight_decay: float = 1e-4,
                 batch_size: int = 256, patience: int = 15, loss: LossConfig | None = None, seed: int = 0,
                 max_length: int = 128, cache_dir=None, hierarchy: Sequence[tuple[str, str]] = ()):
        super().__init__()
        self.labels = list(labels)
        self.encoder = encoder
        self.hidden = hidden
        self.dropout = dropout
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.patience = patience
        self.loss = loss or LossConfig()
        self.seed = seed
        self.max_length = max_length
        self.cache_dir = cache_dir
        self.hierarchy = [tuple(p) for p in hierarchy]
        self.head_ = None
        self.pos_weight_: np.ndarray | None = None

    def get_config(self) -> dict:
        return {"family": self.family, "labels": self.labels, "encoder": self.encoder, "hidden": self.hidden,
                "dropout": self.dropout, "epochs": self.epochs, "lr": self.lr, "weight_decay": self.weight_decay,
                "batch_size": self.batch_size, "patience": self.patience, "loss": self.loss.to_dict(),
                "seed": self.seed, "max_length": self.max_length, "hierarchy": [list(p) for p in self.hierarchy]}

    def _encoder(self) -> Encoder:
        if getattr(self, "_enc", None) is None:
            self._enc = Encoder(self.encoder, cache_dir=self.cache_dir, max_length=self.max_length)
        return self._enc

    def fit(self, texts: Sequence[str], targets: np.ndarray, *, valid: tuple[Sequence[str], np.ndarray] | None = None,
            show_progress: bool = False) -> "HeadsClassifier":
        import torch

        y = _check_targets(texts, targets, self.labels)
        _seed_everything(self.seed)
        x = torch.from_numpy(self._encoder().encode(texts, show_progress=show_progress))
        yt = torch.from_numpy(y)
        xv = yv = None
        if valid is not None:
            xv = torch.from_numpy(self._encoder().encode(valid[0]))
            yv = torch.from_numpy(_check_targets(valid[0], valid[1], self.labels))
        self.pos_weight_ = pos_weights(y, self.labels, self.loss)
        pw = torch.tensor(self.pos_weight_, dtype=torch.float32) if self.loss.use_pos_weight else None
        cw = torch.tensor([self.loss.class_weights.get(lab, 1.0) for lab in self.labels], dtype=torch.float32)
        cp = [(self.labels.index(c), self.labels.index(p)) for c, p in self.hierarchy]
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
                idx = perm[i:i + self.batch_size]
                logits = head(x[idx])
                loss = masked_multilabel_loss(logits, yt[idx], pos_weight=pw, class_weight=cw, kind=self.loss.kind,
                                              focal_gamma=self.loss.focal_gamma,
                                              label_smoothing=self.loss.label_smoothing)
                if self.loss.hierarchy_weight and cp:
                    loss = loss + self.loss.hierarchy_weight * hierarchy_penalty(torch.sigmoid(logits), cp)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            rec = {"epoch": epoch + 1, "train_loss": total / max(len(x), 1)}
            if xv is not None:
                head.eval()
                with torch.no_grad():
                    vl = float(masked_multilabel_loss(head(xv), yv, pos_weight=pw, class_weight=cw, kind=self.loss.kind,
                                                      focal_gamma=self.loss.focal_gamma))
                rec["valid_loss"] = vl
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
        x = torch.from_numpy(self._encoder().encode(list(texts)))
        with torch.no_grad():
            return torch.sigmoid(self.head_(x)).numpy().astype(np.float32)

    def export_module(self):
        """A torch module (token ids, mask) -> probabilities: encoder + mean pooling + L2 norm + head."""
        self._require_fitted()
        from transformers import AutoModel

        body = AutoModel.from_pretrained(resolve_model_path(self.encoder), attn_implementation="eager")
        return _EncoderHead(body, copy.deepcopy(self.head_), normalize=True).eval(), resolve_model_path(self.encoder)

    def save(self, path) -> Path:
        import torch

        self._require_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        torch.save(self.head_.state_dict(), path / "head.pt")
        _write_json(path / "config.json", {**self.get_config(), "pos_weight": self.pos_weight_.tolist(),
                                           "history": self.history_})
        return path

    @classmethod
    def load(cls, path, *, cache_dir=None) -> "HeadsClassifier":
        import torch

        path = Path(path)
        cfg = json.loads((path / "config.json").read_text())
        m = cls(cfg["labels"], encoder=cfg["encoder"], hidden=cfg["hidden"], dropout=cfg["dropout"],
                epochs=cfg["epochs"], lr=cfg["lr"], weight_decay=cfg["weight_decay"], batch_size=cfg["batch_size"],
                patience=cfg["patience"], loss=LossConfig(**cfg["loss"]), seed=cfg["seed"],
                max_length=cfg["max_length"], cache_dir=cache_dir, hierarchy=cfg["hierarchy"])
        dim = m._encoder().dimension
        head = _make_head(dim, len(m.labels), m.hidden, m.dropout)
        head.load_state_dict(torch.load(path / "head.pt", weights_only=True))
        head.eval()
        m.head_, m.labels_ = head, list(m.labels)
        m.pos_weight_ = np.asarray(cfg.get("pos_weight", []))
        m.history_ = cfg.get("history", [])
        return m


class _EncoderHead:  # built lazily as a torch.nn.Module subclass (keeps torch out of import time)
    def __new__(cls, body, head, *, normalize: bool):
        import torch
        import torch.nn as nn

        class EncoderHead(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = body
                self.head = head
                self.normalize = normalize

            def embed(self, input_ids, attention_mask):
                hidden = self.body(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
                m = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)
                if self.normalize:
                    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                return pooled

            def logits(self, input_ids, attention_mask):
                return self.head(self.embed(input_ids, attention_mask))

            def forward(self, input_ids, attention_mask):
                return torch.sigmoid(self.logits(input_ids, attention_mask))

        return EncoderHead()


# ============================================================================ fine-tuned encoder
@dataclass(frozen=True)
class FineTuneArgs:
    """Arguments of a fine-tuning run (validated on creation)."""

    epochs: float = 2.0
    lr: float = 5e-5
    head_lr: float = 1e-3
    batch_size: int = 32
    max_length: int = 64
    warmup_ratio: float = 0.06
    schedule: str = "linear"
    weight_decay: float = 0.01
    freeze_layers: int = 0
    freeze_embeddings: bool = False
    patience: int = 2
    evals_per_epoch: int = 2
    seed: int = 0
    deterministic: bool = False
    curriculum: tuple[float, ...] = ()
    threads: int | None = None
    bucket_size: int = 64

    def __post_init__(self):
        if self.schedule not in ("linear", "cosine", "constant"):
            raise WorkbenchError("schedule", expected="'linear', 'cosine' or 'constant'", got=repr(self.schedule))
        if self.epochs <= 0 or self.lr <= 0 or self.batch_size < 1 or self.max_length < 8:
            raise WorkbenchError("fine-tune arguments", expected="epochs > 0, lr > 0, batch_size >= 1, max_length >= 8",
                                 got=f"epochs={self.epochs}, lr={self.lr}, batch_size={self.batch_size}, "
                                     f"max_length={self.max_length}")
        if not 0 <= self.warmup_ratio < 1:
            raise WorkbenchError("warmup_ratio", expected="a number in [0, 1)", got=repr(self.warmup_ratio))


def _bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator, bucket: int) -> list[np.ndarray]:
    """Shuffle, cut into chunks of ``bucket`` batches, sort each chunk by length, batch, shuffle batches."""
    idx = rng.permutation(len(lengths))
    chunk = batch_size * bucket
    batches = []
    for i in range(0, len(idx), chunk):
        part = idx[i:i + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[j:j + batch_size] for j in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


class FineTunedClassifier(_Base):
    """The sentence-transformer body fine-tuned end to end with a multi-label linear head.

    Mean pooling over tokens, then a linear layer per label. ``args`` controls the schedule, early
    stopping on ``valid``, layer freezing and curriculum phases: with ``curriculum=(1, 1, 1)`` and
    ``phases`` given to :meth:`fit`, the first epoch trains on phase-0 examples (positives + clean),
    the next adds phase 1 (hard negatives), the next phase 2 (perturbations).
    """

    family = "finetune"

    def __init__(self, labels: Sequence[str], *, encoder: str = DEFAULT_ENCODER, args: FineTuneArgs | None = None,
                 loss: LossConfig | None = None, hierarchy: Sequence[tuple[str, str]] = (), device: str = "cpu"):
        super().__init__()
        self.labels = list(labels)
        self.encoder = encoder
        self.args = args or FineTuneArgs()
        self.loss = loss or LossConfig()
        self.hierarchy = [tuple(p) for p in hierarchy]
        self.device = device
        self.module_ = None
        self.tokenizer_ = None
        self.pos_weight_: np.ndarray | None = None
        self.train_seconds_: float | None = None
        self.body_dir_: str | None = None  # where save()/load() keep the body and tokenizer

    def get_config(self) -> dict:
        a = asdict(self.args)
        a["curriculum"] = list(self.args.curriculum)
        return {"family": self.family, "labels": self.labels, "encoder": self.encoder, "args": a,
                "loss": self.loss.to_dict(), "hierarchy": [list(p) for p in self.hierarchy]}

    def _tokenize(self, texts: Sequence[str]):
        enc = self.tokenizer_(list(texts), truncation=True, max_length=self.args.max_length, padding=False)
        return enc["input_ids"]

    def _collate(self, ids_list):
        import torch

        n = max(len(x) for x in ids_list)
        ids = torch.zeros((len(ids_list), n), dtype=torch.long)
        mask = torch.zeros((len(ids_list), n), dtype=torch.long)
        for i, x in enumerate(ids_list):
            ids[i, :len(x)] = torch.tensor(x)
            mask[i, :len(x)] = 1
        return ids.to(self.device), mask.to(self.device)

    def _build(self, body_path: str):
        import torch.nn as nn
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer_ = AutoTokenizer.from_pretrained(body_path)
        body = AutoModel.from_pretrained(body_path, attn_implementation="eager")
        head = nn.Linear(body.config.hidden_size, len(self.labels))
        return _EncoderHead(body, head, normalize=False).to(self.device)

    def fit(self, texts: Sequence[str], targets: np.ndarray, *, valid: tuple[Sequence[str], np.ndarray] | None = None,
            phases: Sequence[int] | None = None, show_progress: bool = False,
            log: Callable[[str], None] | None = None) -> "FineTunedClassifier":
        import torch
        from tqdm.auto import tqdm

        a = self.args
        y = _check_targets(texts, targets, self.labels)
        if a.threads:
            torch.set_num_threads(a.threads)
        _seed_everything(a.seed, a.deterministic)
        t_start = time.perf_counter()
        module = self._build(resolve_model_path(self.encoder))
        self._freeze(module)
        ids = self._tokenize(texts)
        lengths = np.array([len(x) for x in ids])
        yt = torch.from_numpy(y)
        self.pos_weight_ = pos_weights(y, self.labels, self.loss)
        pw = torch.tensor(self.pos_weight_, dtype=torch.float32) if self.loss.use_pos_weight else None
        cw = torch.tensor([self.loss.class_weights.get(lab, 1.0) for lab in self.labels], dtype=torch.float32)
        cp = [(self.labels.index(c), self.labels.index(p)) for c, p in self.hierarchy]
        vids = vy = None
        if valid is not None:
            vids = self._tokenize(valid[0])
            vy = torch.from_numpy(_check_targets(valid[0], valid[1], self.labels))
        # epochs per phase: plain training is one phase over everything
        phase_arr = np.zeros(len(texts), dtype=int) if phases is None else np.asarray(phases, dtype=int)
        plan = list(a.curriculum) if (a.curriculum and phases is not None) else [a.epochs]
        rng = np.random.default_rng(a.seed)
        schedule_batches = []
        for k, ep in enumerate(plan):
            allowed = np.flatnonzero(phase_arr <= k) if len(plan) > 1 else np.arange(len(texts))
            whole, frac = int(ep), ep - int(ep)
            for e in range(whole + (1 if frac > 0 else 0)):
                bs = [allowed[b] for b in _bucketed_batches(lengths[allowed], a.batch_size, rng, a.bucket_size)]
                if e == whole:  # a fractional last epoch
                    bs = bs[:max(1, int(round(frac * len(bs))))]
                schedule_batches.append(bs)
        total_steps = sum(len(b) for b in schedule_batches)
        body_params = [p for n, p in module.named_parameters() if n.startswith("body.") and p.requires_grad]
        head_params = list(module.head.parameters())
        opt = torch.optim.AdamW([{"params": body_params, "lr": a.lr}, {"params": head_params, "lr": a.head_lr}],
                                weight_decay=a.weight_decay)
        warm = int(a.warmup_ratio * total_steps)

        def lr_lambda(step):
            if step < warm:
                return (step + 1) / max(1, warm)
            prog = (step - warm) / max(1, total_steps - warm)
            if a.schedule == "cosine":
                return 0.5 * (1 + math.cos(math.pi * prog))
            if a.schedule == "linear":
                return max(0.0, 1 - prog)
            return 1.0

        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
        best, best_state, bad, step = math.inf, None, 0, 0
        self.history_ = []
        bar = tqdm(total=total_steps, disable=not show_progress, desc="fine-tune")
        stop = False
        for ep_i, batches in enumerate(schedule_batches):
            eval_points = set(np.linspace(0, len(batches), a.evals_per_epoch + 1, dtype=int)[1:].tolist())
            running, seen = 0.0, 0
            for b_i, b in enumerate(batches, start=1):
                module.train()
                x_ids, x_mask = self._collate([ids[i] for i in b])
                logits = module.logits(x_ids, x_mask)
                loss = masked_multilabel_loss(logits, yt[b].to(self.device), pos_weight=pw, class_weight=cw,
                                              kind=self.loss.kind, focal_gamma=self.loss.focal_gamma,
                                              label_smoothing=self.loss.label_smoothing)
                if self.loss.hierarchy_weight and cp:
                    loss = loss + self.loss.hierarchy_weight * hierarchy_penalty(torch.sigmoid(logits), cp)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
                opt.step()
                sched.step()
                step += 1
                running += float(loss.detach()) * len(b)
                seen += len(b)
                bar.update(1)
                if vids is not None and b_i in eval_points:
                    vl = self._valid_loss(module, vids, vy, pw, cw)
                    rec = {"epoch": ep_i + b_i / len(batches), "step": step, "train_loss": running / max(seen, 1),
                           "valid_loss": vl}
                    self.history_.append(rec)
                    if log:
                        log(f"step {step}/{total_steps} train {rec['train_loss']:.4f} valid {vl:.4f}")
                    if vl < best - 1e-4:
                        best, bad = vl, 0
                        best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
                    else:
                        bad += 1
                        if bad >= a.patience:
                            stop = True
                            break
            if stop:
                break
        bar.close()
        if best_state is not None:
            module.load_state_dict(best_state)
        module.eval()
        self.module_ = module
        self.labels_ = list(self.labels)
        self.train_seconds_ = time.perf_counter() - t_start
        return self

    def _freeze(self, module) -> None:
        a = self.args
        body = module.body
        if a.freeze_embeddings or a.freeze_layers > 0:
            for p in body.embeddings.parameters():
                p.requires_grad = False
        layers = getattr(getattr(body, "encoder", None), "layer", [])
        for layer in list(layers)[:a.freeze_layers]:
            for p in layer.parameters():
                p.requires_grad = False

    def _valid_loss(self, module, vids, vy, pw, cw) -> float:
        import torch

        module.eval()
        total, n = 0.0, 0
        with torch.no_grad():
            for b in length_sorted_batches([len(x) for x in vids], 128):
                x_ids, x_mask = self._collate([vids[i] for i in b])
                lg = module.logits(x_ids, x_mask)
                total += float(masked_multilabel_loss(lg, vy[b].to(self.device), pos_weight=pw, class_weight=cw,
                                                      kind=self.loss.kind, focal_gamma=self.loss.focal_gamma)) * len(b)
                n += len(b)
        return total / max(n, 1)

    def predict_proba(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        import torch

        self._require_fitted()
        texts = list(texts)
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        if not texts:
            return out
        ids = self._tokenize(texts)
        self.module_.eval()
        with torch.no_grad():
            for b in length_sorted_batches([len(x) for x in ids], batch_size):
                x_ids, x_mask = self._collate([ids[i] for i in b])
                out[b] = self.module_(x_ids, x_mask).cpu().numpy()
        return out

    def export_module(self):
        self._require_fitted()
        return copy.deepcopy(self.module_).cpu().eval(), self._require_saved()

    def save(self, path) -> Path:
        import torch

        self._require_fitted()
        path = Path(path)
        (path / "body").mkdir(parents=True, exist_ok=True)
        self.module_.body.save_pretrained(path / "body")
        self.tokenizer_.save_pretrained(path / "body")
        torch.save(self.module_.head.state_dict(), path / "head.pt")
        _write_json(path / "config.json", {**self.get_config(), "pos_weight": self.pos_weight_.tolist(),
                                           "history": self.history_, "train_seconds": self.train_seconds_})
        self.body_dir_ = str(path / "body")
        return path

    def _require_saved(self) -> str:
        if self.body_dir_ is None:
            raise WorkbenchError("fine-tuned model", expected="a saved model (its tokenizer files are exported)",
                                 got="an unsaved one", fix="save() it before exporting")
        return self.body_dir_

    @classmethod
    def load(cls, path, **_) -> "FineTunedClassifier":
        import torch

        path = Path(path)
        cfg = json.loads((path / "config.json").read_text())
        args = dict(cfg["args"])
        args["curriculum"] = tuple(args.get("curriculum", ()))
        m = cls(cfg["labels"], encoder=cfg["encoder"], args=FineTuneArgs(**args), loss=LossConfig(**cfg["loss"]),
                hierarchy=cfg["hierarchy"])
        module = m._build(str(path / "body"))
        module.head.load_state_dict(torch.load(path / "head.pt", weights_only=True))
        module.eval()
        m.module_, m.labels_ = module, list(m.labels)
        m.pos_weight_ = np.asarray(cfg.get("pos_weight", []))
        m.history_ = cfg.get("history", [])
        m.train_seconds_ = cfg.get("train_seconds")
        m.body_dir_ = str(path / "body")
        return m


# ============================================================================ lexical baseline
class TfidfClassifier(_Base):
    """Word (1-2) and character (2-5, within words) TF-IDF + one logistic regression per label,
    each fitted on the rows where that label is known."""

    family = "tfidf"

    def __init__(self, labels: Sequence[str], *, C: float = 4.0, max_features: int = 200_000,
                 class_weight: str | None = "balanced", seed: int = 0):
        super().__init__()
        self.labels = list(labels)
        self.C = C
        self.max_features = max_features
        self.class_weight = class_weight
        self.seed = seed
        self.vectorizer_ = None
        self.estimators_: list = []

    def get_config(self) -> dict:
        return {"family": self.family, "labels": self.labels, "C": self.C, "max_features": self.max_features,
                "class_weight": self.class_weight, "seed": self.seed}

    def fit(self, texts: Sequence[str], targets: np.ndarray, *, valid=None, **_) -> "TfidfClassifier":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion

        y = _check_targets(texts, targets, self.labels)
        self.vectorizer_ = FeatureUnion([
            ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=self.max_features)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                                     max_features=self.max_features)),
        ])
        x = self.vectorizer_.fit_transform(list(texts))
        self.estimators_ = []
        for j in range(len(self.labels)):
            known = ~np.isnan(y[:, j])
            yj = y[known, j]
            if known.sum() == 0 or len(np.unique(yj)) < 2:
                self.estimators_.append(float(yj.mean()) if known.any() else 0.0)  # constant prior
                continue
            clf = LogisticRegression(C=self.C, max_iter=2000, class_weight=self.class_weight, random_state=self.seed)
            clf.fit(x[known], yj.astype(int))
            self.estimators_.append(clf)
        self.labels_ = list(self.labels)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self._require_fitted()
        x = self.vectorizer_.transform(list(texts))
        cols = [np.full(x.shape[0], e, dtype=np.float32) if isinstance(e, float) else e.predict_proba(x)[:, 1]
                for e in self.estimators_]
        return np.stack(cols, axis=1).astype(np.float32) if cols else np.zeros((x.shape[0], 0), np.float32)

    def save(self, path) -> Path:
        import joblib

        self._require_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        joblib.dump({"vectorizer": self.vectorizer_, "estimators": self.estimators_}, path / "tfidf.joblib")
        _write_json(path / "config.json", self.get_config())
        return path

    @classmethod
    def load(cls, path, **_) -> "TfidfClassifier":
        """Loads a joblib pickle: only load model directories you trust."""
        import joblib

        path = Path(path)
        cfg = json.loads((path / "config.json").read_text())
        m = cls(cfg["labels"], C=cfg["C"], max_features=cfg["max_features"], class_weight=cfg["class_weight"],
                seed=cfg["seed"])
        state = joblib.load(path / "tfidf.joblib")
        m.vectorizer_, m.estimators_ = state["vectorizer"], state["estimators"]
        m.labels_ = list(m.labels)
        return m


# ============================================================================ ensemble
class EnsembleClassifier(_Base):
    """Weighted mean of members' probabilities (members share the label order)."""

    family = "ensemble"

    def __init__(self, members: Sequence[_Base], *, weights: Sequence[float] | None = None):
        super().__init__()
        if not members:
            raise WorkbenchError("ensemble", expected="at least one member", got="none")
        self.members = list(members)
        self.weights = [float(w) for w in weights] if weights is not None else [1.0] * len(self.members)
        if len(self.weights) != len(self.members) or min(self.weights) < 0 or sum(self.weights) <= 0:
            raise WorkbenchError("ensemble weights", expected=f"{len(self.members)} non-negative weights with a "
                                 f"positive sum", got=str(self.weights))
        self.labels = list(self.members[0].labels)
        for m in self.members:
            if list(m.labels) != self.labels:
                raise WorkbenchError("ensemble members", expected=f"label order {self.labels}", got=str(m.labels))

    def get_config(self) -> dict:
        return {"family": self.family, "labels": self.labels, "weights": self.weights,
                "members": [m.family for m in self.members]}

    def fit(self, texts, targets, *, valid=None, **kw) -> "EnsembleClassifier":
        for m in self.members:
            m.fit(texts, targets, valid=valid, **(kw if m.family == "finetune" else {}))
        self.labels_ = list(self.labels)
        return self

    def fit_weights(self, texts: Sequence[str], targets: np.ndarray, *, step: float = 0.1) -> list[float]:
        """Choose weights on held-out data (the valid split): the point of a grid over the simplex
        (``step``) with the lowest masked log loss of the weighted mean. Returns the weights."""
        import itertools

        y = _check_targets(texts, targets, self.labels)
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
        self.history_.append({"fit_weights": self.weights, "valid_log_loss": float(best)})
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
        _write_json(path / "config.json", self.get_config())
        return path

    @classmethod
    def load(cls, path, **kw) -> "EnsembleClassifier":
        path = Path(path)
        cfg = json.loads((path / "config.json").read_text())
        members = [load_classifier(path / f"member{i}-{fam}", **kw) for i, fam in enumerate(cfg["members"])]
        e = cls(members, weights=cfg["weights"])
        e.labels_ = list(e.labels)
        return e


FAMILIES: dict[str, type] = {"heads": HeadsClassifier, "finetune": FineTunedClassifier, "tfidf": TfidfClassifier,
                             "ensemble": EnsembleClassifier}


def load_classifier(path, **kw):
    """Load any family from its saved directory (``config.json`` names the family)."""
    path = Path(path)
    try:
        fam = json.loads((path / "config.json").read_text())["family"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError) as e:
        raise WorkbenchError(f"classifier at {path}", expected="a config.json naming its family",
                             got=type(e).__name__, fix="point at a directory written by save()") from e
    if fam not in FAMILIES:
        raise WorkbenchError(f"classifier at {path}", expected=f"a family in {list(FAMILIES)}", got=repr(fam))
    return FAMILIES[fam].load(path, **kw)
