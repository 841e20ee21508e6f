"""Family ``finetune``: the sentence-transformer body fine-tuned end to end with a multi-label linear head
(warm-up, linear or cosine schedule, early stopping on ``valid``, optional curriculum phases,
optional frozen lower layers, length-bucketed batches). Runs on CUDA when it is available."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from curation import WorkbenchError

from ._contract import Classifier, check_targets, encoder_head, seed_everything, write_json
from ._embeddings import DEFAULT_ENCODER, length_sorted_batches, resolve_model_path
from ._losses import LossConfig, LossStep
from ._spelling import SpellingNormaliser

__all__ = ["FineTuneArgs", "FineTunedClassifier", "default_device"]


def default_device() -> str:
    """``"cuda"`` when a CUDA device is available, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True)
class FineTuneArgs:
    """Arguments of a fine-tuning run (validated on creation)."""

    # lr 8e-5 for 1.5 epochs reaches the loss of 5e-5 for 2 on HateXplain's train-side valid split in
    # two thirds of the time (docs/measurements/training.md)
    epochs: float = 1.5
    lr: float = 8e-5
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
            raise WorkbenchError(
                "fine-tune arguments",
                expected="epochs > 0, lr > 0, batch_size >= 1, max_length >= 8",
                got=f"epochs={self.epochs}, lr={self.lr}, batch_size={self.batch_size}, max_length={self.max_length}",
            )
        if not 0 <= self.warmup_ratio < 1:
            raise WorkbenchError("warmup_ratio", expected="a number in [0, 1)", got=repr(self.warmup_ratio))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["curriculum"] = list(self.curriculum)
        return d

    @classmethod
    def from_dict(cls, data) -> FineTuneArgs:
        d = dict(data)
        d["curriculum"] = tuple(d.get("curriculum", ()))
        return cls(**d)


def _bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator, bucket: int) -> list[np.ndarray]:
    """Shuffle, cut into chunks of ``bucket`` batches, sort each chunk by length, batch, shuffle batches."""
    idx = rng.permutation(len(lengths))
    chunk = batch_size * bucket
    batches = []
    for i in range(0, len(idx), chunk):
        part = idx[i : i + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[j : j + batch_size] for j in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


class FineTunedClassifier(Classifier):
    """The sentence-transformer body fine-tuned end to end with a multi-label linear head.

    Mean pooling over tokens, then a linear layer per label. ``args`` controls the schedule, early
    stopping on ``valid``, layer freezing and curriculum phases: with ``curriculum=(1, 1, 1)`` and
    ``phases`` given to :meth:`fit`, the first epoch trains on phase-0 examples (positives + clean),
    the next adds phase 1 (hard negatives), the next phase 2 (perturbations).
    """

    family = "finetune"
    has_encoder = True
    runtime_params = ("device",)
    param_types = {"args": FineTuneArgs, "loss": LossConfig, "spelling": SpellingNormaliser}

    def __init__(
        self,
        labels: Sequence[str],
        *,
        encoder: str = DEFAULT_ENCODER,
        args: FineTuneArgs | None = None,
        loss: LossConfig | None = None,
        hierarchy: Sequence[tuple[str, str]] = (),
        spelling: SpellingNormaliser | None = None,
        device: str | None = None,
    ):
        super().__init__()
        self.labels = list(labels)
        self.encoder = encoder
        self.spelling = spelling
        self.args = args or FineTuneArgs()
        self.loss = loss or LossConfig()
        self.hierarchy = [tuple(p) for p in hierarchy]
        self.device = device
        self.device_: str | None = None  # where the module runs: ``device``, else CUDA when available
        self.module_ = None
        self.tokenizer_ = None
        self.pos_weight_: np.ndarray | None = None
        self.train_seconds_: float | None = None
        self.body_dir_: str | None = None  # where save()/load() keep the body and tokenizer

    def _tokenize(self, texts: Sequence[str]):
        enc = self.tokenizer_(list(texts), truncation=True, max_length=self.args.max_length, padding=False)
        return enc["input_ids"]

    def _collate(self, ids_list):
        import torch

        n = max(len(x) for x in ids_list)
        ids = torch.zeros((len(ids_list), n), dtype=torch.long)
        mask = torch.zeros((len(ids_list), n), dtype=torch.long)
        for i, x in enumerate(ids_list):
            ids[i, : len(x)] = torch.tensor(x)
            mask[i, : len(x)] = 1
        return ids.to(self.device_), mask.to(self.device_)

    def _build(self, body_path: str):
        import torch.nn as nn
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer_ = AutoTokenizer.from_pretrained(body_path)
        body = AutoModel.from_pretrained(body_path, attn_implementation="eager")
        head = nn.Linear(body.config.hidden_size, len(self.labels))
        self.device_ = self.device or default_device()
        return encoder_head(body, head, normalize=False).to(self.device_)

    def fit(
        self,
        texts: Sequence[str],
        targets: np.ndarray,
        *,
        valid: tuple[Sequence[str], np.ndarray] | None = None,
        phases: Sequence[int] | None = None,
        show_progress: bool = False,
        log: Callable[[str], None] | None = None,
        monitor=None,
    ) -> FineTunedClassifier:
        import torch
        from tqdm.auto import tqdm

        a = self.args
        y = check_targets(texts, targets, self.labels)
        if a.threads:
            torch.set_num_threads(a.threads)
        seed_everything(a.seed, a.deterministic)
        t_start = time.perf_counter()
        module = self._build(resolve_model_path(self.encoder))
        self._freeze(module)
        ids = self._tokenize(self.read(texts))
        lengths = np.array([len(x) for x in ids])
        yt = torch.from_numpy(y)
        step_loss = LossStep(y, self.labels, self.loss, self.hierarchy)
        self.pos_weight_ = step_loss.pos_weight
        vids = vy = None
        if valid is not None:
            vids = self._tokenize(self.read(valid[0]))
            vy = torch.from_numpy(check_targets(valid[0], valid[1], self.labels))
        schedule = self._schedule(len(texts), lengths, phases)
        total_steps = sum(len(b) for b in schedule)
        opt, sched = self._optimizer(module, total_steps)
        self.history_ = []
        bar = tqdm(total=total_steps, disable=not show_progress, desc="fine-tune")
        best_state = self._train_loop(
            module, ids, yt, step_loss, schedule, opt, sched, valid=(vids, vy), bar=bar, log=log, monitor=monitor
        )
        bar.close()
        if best_state is not None:
            module.load_state_dict(best_state)
        module.eval()
        self.module_ = module
        self.labels_ = list(self.labels)
        self.train_seconds_ = time.perf_counter() - t_start
        return self

    def _schedule(self, n: int, lengths: np.ndarray, phases: Sequence[int] | None) -> list[list[np.ndarray]]:
        """Batches of every epoch, in order (length-bucketed; a curriculum's phase k adds the rows of phase k; a
        fractional last epoch is cut short)."""
        a = self.args
        # epochs per phase: plain training is one phase over everything
        phase_arr = np.zeros(n, dtype=int) if phases is None else np.asarray(phases, dtype=int)
        plan = list(a.curriculum) if (a.curriculum and phases is not None) else [a.epochs]
        rng = np.random.default_rng(a.seed)
        schedule = []
        for k, ep in enumerate(plan):
            allowed = np.flatnonzero(phase_arr <= k) if len(plan) > 1 else np.arange(n)
            whole, frac = int(ep), ep - int(ep)
            for e in range(whole + (1 if frac > 0 else 0)):
                bs = [allowed[b] for b in _bucketed_batches(lengths[allowed], a.batch_size, rng, a.bucket_size)]
                if e == whole:  # a fractional last epoch
                    bs = bs[: max(1, int(round(frac * len(bs))))]
                schedule.append(bs)
        return schedule

    def _optimizer(self, module, total_steps: int):
        """AdamW with the body's and the head's learning rates, warm-up then the configured schedule."""
        import torch

        a = self.args
        body_params = [p for n, p in module.named_parameters() if n.startswith("body.") and p.requires_grad]
        head_params = list(module.head.parameters())
        opt = torch.optim.AdamW(
            [{"params": body_params, "lr": a.lr}, {"params": head_params, "lr": a.head_lr}], weight_decay=a.weight_decay
        )
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

        return opt, torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)

    def _train_loop(self, module, ids, yt, step_loss, schedule, opt, sched, *, valid, bar, log, monitor):
        """The steps of every epoch, evaluated on valid ``evals_per_epoch`` times an epoch; stops after
        ``patience`` evaluations without improvement. Returns the best state seen (``None`` without valid)."""
        import torch

        a = self.args
        vids, vy = valid
        best, best_state, bad, step = math.inf, None, 0, 0
        total_steps = sum(len(b) for b in schedule)
        for ep_i, batches in enumerate(schedule):
            eval_points = set(np.linspace(0, len(batches), a.evals_per_epoch + 1, dtype=int)[1:].tolist())
            running, seen = 0.0, 0
            for b_i, b in enumerate(batches, start=1):
                module.train()
                x_ids, x_mask = self._collate([ids[i] for i in b])
                loss = step_loss(module.logits(x_ids, x_mask), yt[b])
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
                opt.step()
                sched.step()
                step += 1
                running += float(loss.detach()) * len(b)
                seen += len(b)
                bar.update(1)
                if vids is None or b_i not in eval_points:
                    continue
                vl, vprobs = self._valid_loss(module, vids, vy, step_loss)
                rec = {
                    "epoch": ep_i + b_i / len(batches),
                    "step": step,
                    "train_loss": running / max(seen, 1),
                    "valid_loss": vl,
                }
                self.history_.append(rec)
                if monitor is not None:
                    monitor(rec["epoch"], rec["train_loss"], lambda: vprobs, valid_loss=vl)
                if log:
                    log(f"step {step}/{total_steps} train {rec['train_loss']:.4f} valid {vl:.4f}")
                if vl < best - 1e-4:
                    best, bad = vl, 0
                    best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
                else:
                    bad += 1
                    if bad >= a.patience:
                        return best_state
        return best_state

    def _freeze(self, module) -> None:
        a = self.args
        body = module.body
        if a.freeze_embeddings or a.freeze_layers > 0:
            for p in body.embeddings.parameters():
                p.requires_grad = False
        layers = getattr(getattr(body, "encoder", None), "layer", [])
        for layer in list(layers)[: a.freeze_layers]:
            for p in layer.parameters():
                p.requires_grad = False

    def _valid_loss(self, module, vids, vy, step_loss: LossStep) -> tuple[float, np.ndarray]:
        """The valid loss and the valid probabilities (in the order of ``vids``)."""
        import torch

        module.eval()
        total, n = 0.0, 0
        probs = np.zeros((len(vids), len(self.labels)), dtype=np.float32)
        with torch.no_grad():
            for b in length_sorted_batches([len(x) for x in vids], 128):
                x_ids, x_mask = self._collate([vids[i] for i in b])
                lg = module.logits(x_ids, x_mask)
                total += float(step_loss(lg, vy[b], train=False)) * len(b)
                probs[b] = torch.sigmoid(lg).float().numpy()
                n += len(b)
        return total / max(n, 1), probs

    def predict_proba(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        import torch

        self._require_fitted()
        texts = self.read(texts)
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

    @property
    def export_max_length(self) -> int:
        return self.args.max_length

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
        write_json(
            path / "config.json",
            {
                **self.get_config(),
                "pos_weight": self.pos_weight_.tolist(),
                "history": self.history_,
                "train_seconds": self.train_seconds_,
            },
        )
        self.body_dir_ = str(path / "body")
        return path

    def _require_saved(self) -> str:
        if self.body_dir_ is None:
            raise WorkbenchError(
                "fine-tuned model",
                expected="a saved model (its tokenizer files are exported)",
                got="an unsaved one",
                fix="save() it before exporting",
            )
        return self.body_dir_

    @classmethod
    def load(cls, path, *, device: str | None = None, **_) -> FineTunedClassifier:
        import torch

        path = Path(path)
        cfg = cls._read_config(path)
        m = cls.from_config(cfg, device=device)
        module = m._build(str(path / "body"))
        module.head.load_state_dict(torch.load(path / "head.pt", weights_only=True, map_location=m.device_))
        module.eval()
        m.module_, m.labels_ = module, list(m.labels)
        m.pos_weight_ = np.asarray(cfg.get("pos_weight", []))
        m.history_ = cfg.get("history", [])
        m.train_seconds_ = cfg.get("train_seconds")
        m.body_dir_ = str(path / "body")
        return m
