"""The contract every model family keeps, and what the families share.

A family is a class with ``fit(texts, targets, *, valid=None, ...)``, ``predict_proba(texts)``,
``save(path)``, ``load(path)`` and its hyper-parameters. As in scikit-learn's ``get_params``, the
hyper-parameters are the constructor's keyword arguments, stored under the same names: they are
written once, in the signature, and :meth:`Classifier.get_params`, :meth:`Classifier.get_config`
(what ``config.json`` holds) and :meth:`Classifier.from_config` (what ``load`` builds from) are
derived from it. Arguments that say where or how to run rather than what to learn (``cache_dir``,
``device``) are listed in ``runtime_params`` and never saved.

``targets`` is an array of shape (n, n_labels) holding 1.0, 0.0 or NaN (unknown, masked out).

Families register themselves: a subclass that sets ``family`` is added to :data:`FAMILIES` when its
class is defined, and :func:`load_classifier` reads the name from ``config.json`` and asks the registry.
What a family can do is said by class attributes, not by checking its type: ``has_encoder`` (a sentence
encoder inside: ONNX export, embeddings), ``members`` on instances of composite families (the ensemble),
``runtime_params`` (what ``load`` accepts besides the saved files; ``"*"`` passes every one through).

The families that read text take ``spelling`` (a :class:`training.families.SpellingNormaliser` or ``None``):
the model's own first step, saved with its hyper-parameters, applied by :meth:`Classifier.read`.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from curation import WorkbenchError
from foundation import Registry, atomic_write_text

__all__ = [
    "Classifier",
    "FAMILIES",
    "load_classifier",
    "neural_members",
    "encoder_spelling",
    "check_targets",
    "seed_everything",
    "write_json",
    "encoder_head",
]

FAMILIES: Registry[type[Classifier]] = Registry("model family")
"""Family name -> class; filled by :class:`Classifier` subclasses as they are defined."""


def check_targets(texts: Sequence[str], targets: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """``targets`` as float32 of shape (len(texts), len(labels)) holding 1, 0 or NaN; else a clear error."""
    y = np.asarray(targets, dtype=np.float32)
    if y.ndim != 2 or y.shape[0] != len(texts) or y.shape[1] != len(labels):
        raise WorkbenchError(
            "training targets",
            expected=f"shape ({len(texts)}, {len(labels)})",
            got=f"shape {y.shape}",
            fix="pass one row per text and one column per label",
        )
    ok = np.isnan(y) | (y == 0) | (y == 1)
    if not ok.all():
        raise WorkbenchError(
            "training targets", expected="1.0, 0.0 or NaN (unknown)", got=f"{np.unique(y[~ok])[:5].tolist()}"
        )
    return y


def seed_everything(seed: int, deterministic: bool = False) -> None:
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True)


def write_json(path, obj: Any) -> Path:
    """JSON written atomically (numpy scalars and arrays, paths and the like as plain values)."""
    return atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default))


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _encode(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _encode(v) for k, v in value.items()}
    return value


class Classifier:
    """Base of the model families.

    Subclasses set ``family``, take their hyper-parameters as constructor arguments stored under
    the same attribute names, name the typed ones in ``param_types`` (a class with ``from_dict``)
    and implement ``fit``, ``predict_proba``, ``save`` and ``load``.
    """

    family: ClassVar[str] = "base"
    runtime_params: ClassVar[tuple[str, ...]] = ()
    param_types: ClassVar[dict[str, Any]] = {}
    has_encoder: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("family") is None:
            return  # an intermediate base class, not a family
        # the same class again (its module imported twice) replaces itself; another class is refused
        FAMILIES.add(cls.family, cls, same=lambda old, new: old.__qualname__ == new.__qualname__)

    @classmethod
    def runtime_kwargs(cls, runtime: Mapping[str, Any]) -> dict[str, Any]:
        """The runtime arguments this family's ``load`` takes."""
        if "*" in cls.runtime_params:
            return dict(runtime)
        return {k: v for k, v in runtime.items() if k in cls.runtime_params}

    def __init__(self):
        self.labels_: list[str] | None = None
        self.history_: list[dict] = []

    # -------------------------------------------------------------- parameters
    def _set_params(self, values: Mapping[str, Any]) -> None:
        """Store every constructor argument under its own name (called with ``locals()``)."""
        for name in inspect.signature(type(self).__init__).parameters:
            if name != "self" and name in values:
                setattr(self, name, values[name])

    @classmethod
    def param_names(cls) -> list[str]:
        """Constructor arguments that are hyper-parameters, in signature order."""
        sig = inspect.signature(cls.__init__)
        return [
            n
            for n, p in sig.parameters.items()
            if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and n not in cls.runtime_params
        ]

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters as given to the constructor (live objects)."""
        return {n: getattr(self, n) for n in self.param_names()}

    def get_config(self) -> dict[str, Any]:
        """``{"family": ..., **hyper-parameters}`` as plain JSON data (what ``config.json`` holds)."""
        return {"family": self.family, **{n: _encode(v) for n, v in self.get_params().items()}}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **runtime) -> Classifier:
        """An unfitted instance with the hyper-parameters of ``config`` (other keys are ignored, so a
        ``config.json`` with fitted extras such as ``history`` loads)."""
        kwargs = {}
        for name in cls.param_names():
            if name in config:
                value = config[name]
                kind = cls.param_types.get(name)
                kwargs[name] = kind.from_dict(value) if kind is not None and value is not None else value
        return cls(**kwargs, **runtime)

    # -------------------------------------------------------------- the contract
    def fit(self, texts: Sequence[str], targets: np.ndarray, *, valid=None, **kw) -> Classifier:
        raise NotImplementedError

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def save(self, path) -> Path:
        raise NotImplementedError

    @classmethod
    def load(cls, path, **runtime) -> Classifier:
        raise NotImplementedError

    # -------------------------------------------------------------- shared helpers
    def read(self, texts: Sequence[str]) -> list[str]:
        """The texts as this model reads them: through its spelling normaliser (the ``spelling``
        hyper-parameter of the families that read text) when it has one, else as they are. A family calls it
        first in ``fit`` (train and valid texts) and ``predict_proba``, so training, scoring and every path
        that scores through the model read alike; a model saved before it had one has none."""
        spelling = getattr(self, "spelling", None)
        return spelling.apply(texts) if spelling is not None else list(texts)

    def _require_fitted(self):
        if self.labels_ is None:
            raise WorkbenchError(
                f"{type(self).__name__}",
                expected="a fitted model",
                got="an unfitted one",
                fix="call fit() or load() first",
            )

    @staticmethod
    def _read_config(path) -> dict[str, Any]:
        return json.loads((Path(path) / "config.json").read_text())


def load_classifier(path, **runtime) -> Classifier:
    """Load any registered family from its saved directory (``config.json`` names the family);
    ``runtime`` are the arguments that are not saved (``cache_dir``, ``device``)."""
    path = Path(path)
    try:
        fam = json.loads((path / "config.json").read_text())["family"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError) as e:
        raise WorkbenchError(
            f"classifier at {path}",
            expected="a config.json naming its family",
            got=type(e).__name__,
            fix="point at a directory written by save()",
        ) from e
    cls = FAMILIES.lookup(
        fam, what=f"classifier at {path}", fix="import the module that defines that family before loading"
    )
    return cls.load(path, **cls.runtime_kwargs(runtime))


def neural_members(clf) -> list[tuple[int | None, Classifier]]:
    """(index in the composite, member) of every member with an encoder; ``None`` index for a lone model."""
    if clf.has_encoder:
        return [(None, clf)]
    return [(i, m) for i, m in enumerate(getattr(clf, "members", ())) if m.has_encoder]


def encoder_spelling(clf):
    """The spelling normaliser the encoder members of ``clf`` read through (what an ONNX export of them must
    apply before tokenising; ``None``: none, or no encoder member). Encoder members that read differently
    cannot share one graph: a clear error."""
    found = {repr(getattr(m, "spelling", None)): getattr(m, "spelling", None) for _, m in neural_members(clf)}
    if len(found) > 1:
        raise WorkbenchError(
            "the encoder members' spelling normalisers",
            expected="one normaliser for every encoder member (one ONNX graph reads them all)",
            got=", ".join(sorted(found)),
            fix="train the members with the same spelling options",
        )
    return next(iter(found.values()), None)


def encoder_head(body, head, *, normalize: bool):
    """A torch module: (token ids, mask) -> probabilities, as encoder + mean pooling (+ L2 norm) + head.

    Built on call, so that importing training does not import torch."""
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
