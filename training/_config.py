"""One training configuration, three doors: the ``training:`` section of workbench.yaml, the retrain
panel's advanced options and ``workbench train`` flags set the same fields; a flag beats the panel,
the panel beats the yaml, the yaml beats the defaults (:func:`resolve_training`). The resolved settings
and where each one came from go into the model card (``training``).

=====================  =========================================================================
field                  meaning
=====================  =========================================================================
``recipe``             heads | ensemble | tfidf
``encoder``            all-MiniLM-L6-v2 (default) | all-mpnet-base-v2 | a local sentence-transformers folder
``epochs``             epochs (heads: the cap under early stopping; ensemble: the fine-tune)
``lr``                 learning rate (heads: the head's; ensemble: the encoder's)
``batch_size``         examples per step
``max_length``         tokens per text
``loss``               ``bce`` or ``focal`` (with ``focal_gamma``)
``pos_weight_cap``     ``pos_weight = negatives / positives`` per label, capped
``pos_weight``         overrides, per label or per tier (``{hate: 5, T1: 8}``; a label beats its tier)
``class_weights``      ``auto`` (from label counts, as the guide says) or a table ``{label: w}``
``class_weight_cap``   the highest weight ``auto`` gives, and a table may give (20 by default: higher is unstable)
``allow_above_cap``    labels (a list, or ``{label: true}``) whose ``pos_weight`` / class weight may exceed its cap
``label_smoothing``    targets move to eps/2 and 1 - eps/2
``hierarchy_weight``   penalty for a secondary label above its primary
``curriculum``         fine-tune phases (e.g. ``[1, 1, 1]``)
``patience``           early stopping: evaluations without improvement before stopping
=====================  =========================================================================
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from curation import TIERS, WorkbenchError

__all__ = [
    "TrainingConfig",
    "resolve_training",
    "auto_class_weights",
    "apply_training",
    "pos_weight_overrides",
    "yaml_layer",
]


@dataclass(frozen=True)
class TrainingConfig:
    """The fields of the module docstring; ``None`` = the recipe's own default."""

    recipe: str | None = None
    encoder: str | None = None
    epochs: float | None = None
    lr: float | None = None
    batch_size: int | None = None
    max_length: int | None = None
    loss: str | None = None
    focal_gamma: float | None = None
    pos_weight_cap: float | None = None
    pos_weight: Mapping[str, float] = field(default_factory=dict)
    class_weights: str | Mapping[str, float] | None = None
    class_weight_cap: float | None = None
    allow_above_cap: tuple[str, ...] | None = None
    label_smoothing: float | None = None
    hierarchy_weight: float | None = None
    curriculum: tuple[float, ...] | None = None
    patience: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, *, where: str = "training settings") -> TrainingConfig:
        data = dict(data or {})
        names = {f.name for f in dataclasses.fields(cls)}
        extra = sorted(set(data) - names)
        if extra:
            raise WorkbenchError(
                where,
                expected=f"keys among {sorted(names)}",
                got=f"unknown keys {extra}",
                fix="see the table in training/_config.py (or docs/reference/configuration.md)",
            )
        allow = data.get("allow_above_cap")
        if isinstance(allow, Mapping):
            data["allow_above_cap"] = tuple(sorted(str(k) for k, v in allow.items() if v))
        elif isinstance(allow, (list, tuple)):
            data["allow_above_cap"] = tuple(str(x) for x in allow)
        elif allow is not None:
            raise WorkbenchError(
                f"{where}: allow_above_cap",
                expected="the labels allowed above the cap: a list, or a mapping label -> true",
                got=repr(allow),
                fix="e.g. allow_above_cap: [hate]",
            )
        if "curriculum" in data and data["curriculum"] is not None:
            data["curriculum"] = tuple(float(x) for x in data["curriculum"])
        cw = data.get("class_weights")
        if cw is not None and cw != "auto" and not isinstance(cw, Mapping):
            raise WorkbenchError(
                f"{where}: class_weights", expected="'auto' or a mapping label -> weight", got=repr(cw)
            )
        return cls(**data)

    def set_fields(self) -> dict[str, Any]:
        """The fields that are set (not ``None`` and not empty)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None and v != {}}


def resolve_training(*layers: tuple[str, TrainingConfig | Mapping[str, Any] | None]) -> tuple[TrainingConfig, dict]:
    """Merge ``(source, settings)`` layers, lowest precedence first (``("yaml", ...), ("panel", ...),
    ("flag", ...)``). Returns the merged config and ``{field: source}`` for every field that was set."""
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for source, layer in layers:
        cfg = (
            layer if isinstance(layer, TrainingConfig) else TrainingConfig.from_dict(layer, where=f"{source} settings")
        )
        for k, v in cfg.set_fields().items():
            merged[k] = v
            origin[k] = source
    return TrainingConfig.from_dict(merged), origin


def auto_class_weights(targets: np.ndarray, labels: Sequence[str], *, cap: float = 20.0) -> dict[str, float]:
    """Weights for under-represented labels, as the class-imbalance guide sets them by hand: a label with
    r times fewer positives than the most frequent one gets ``1 + 4 log10(r)`` up to r = 10 (5x at 10:1)
    and ``5 log10(r)`` beyond (10x at 100:1, 15x at 1000:1), never above ``cap``.

    >>> y = np.array([[1, 1, 1]] * 1 + [[1, 1, 0]] * 9 + [[1, 0, 0]] * 90, dtype=float)
    >>> auto_class_weights(y, ["common", "tenfold", "hundredfold"])
    {'common': 1.0, 'tenfold': 5.0, 'hundredfold': 10.0}
    """
    pos = np.nansum(np.asarray(targets) == 1, axis=0).astype(float)
    top = pos.max() if len(pos) else 0.0
    out = {}
    for lab, n in zip(labels, pos):
        r = top / n if n > 0 else (top if top > 0 else 1.0)
        w = 1 + 4 * math.log10(r) if r <= 10 else 5 * math.log10(r)
        out[lab] = round(float(min(cap, max(1.0, w))), 3)
    return out


def pos_weight_overrides(config: TrainingConfig, labels: Sequence[str], tiers: Mapping[str, str]) -> dict[str, float]:
    """Per-label ``pos_weight`` overrides: a tier's value for each of its labels, a label's own beating it."""
    given = dict(config.pos_weight or {})
    bad = [k for k in given if k not in labels and k not in TIERS]
    if bad:
        raise WorkbenchError("pos_weight", expected=f"labels {list(labels)} or tiers {list(TIERS)}", got=str(bad))
    out = {lab: float(given[tiers[lab]]) for lab in labels if tiers.get(lab) in given}
    out.update({lab: float(given[lab]) for lab in labels if lab in given})
    return out


def apply_training(
    spec,
    config: TrainingConfig,
    origin: Mapping[str, str],
    *,
    labels: Sequence[str],
    tiers: Mapping[str, str],
    train_targets: np.ndarray,
    applies: frozenset[str] | None = None,
    family: str | None = None,
):
    """``spec`` (a :class:`training.TrainSpec`) with ``config``'s settings applied: the loss, the
    fine-tune arguments and the heads' parameters; ``class_weights: auto`` computed from the training
    rows. Returns the new spec and the card's ``training`` entry (settings, their origin, the weights, and
    ``not_applied``: the workbench.yaml settings the recipe cannot apply).

    Nothing is recorded as applied that was not: a setting the recipe cannot apply is refused when a flag or
    the panel gave it, and listed under ``not_applied`` when workbench.yaml did (the project's defaults
    serve every recipe). ``applies``: the settings the recipe's family applies (``Recipe.applies``; ``None``:
    all), ``family`` its name. A ``pos_weight`` or class weight above its cap is refused unless its label is
    named in ``allow_above_cap``."""
    from .families._losses import LossConfig

    family = family or spec.recipe
    s, not_applied = _applicable(spec.recipe, family, applies, config.set_fields(), origin)
    loss = spec.loss.to_dict()
    for key, name in (
        ("loss", "kind"),
        ("focal_gamma", "focal_gamma"),
        ("pos_weight_cap", "pos_weight_cap"),
        ("label_smoothing", "label_smoothing"),
        ("hierarchy_weight", "hierarchy_weight"),
    ):
        if key in s:
            loss[name] = s[key]
    allowed = set(s.get("allow_above_cap") or ())
    if "pos_weight" in s:
        overrides = pos_weight_overrides(config, labels, tiers)
        _refuse_above_cap(overrides, float(loss["pos_weight_cap"]), allowed, "pos_weight", "pos_weight_cap")
        loss["pos_weight_overrides"] = {**loss["pos_weight_overrides"], **overrides}
    weights = None
    cw_cap = float(s.get("class_weight_cap") or 20.0)
    if s.get("class_weights") == "auto":
        weights = auto_class_weights(train_targets, labels, cap=cw_cap)
    elif isinstance(s.get("class_weights"), Mapping):
        unknown = [k for k in s["class_weights"] if k not in labels]
        if unknown:
            raise WorkbenchError("class_weights", expected=f"labels among {list(labels)}", got=str(unknown))
        weights = {k: float(v) for k, v in s["class_weights"].items()}
        _refuse_above_cap(weights, cw_cap, allowed, "class_weights", "class_weight_cap")
    if weights is not None:
        loss["class_weights"] = weights
    ft = {k: s[k] for k in ("epochs", "lr", "batch_size", "max_length", "patience") if k in s}
    if "curriculum" in s:
        ft["curriculum"] = tuple(s["curriculum"])
    heads = {k: s[k] for k in ("lr", "batch_size", "max_length", "patience") if k in s}
    if "epochs" in s:
        heads["epochs"] = max(1, int(round(float(s["epochs"]))))
    new = dataclasses.replace(
        spec,
        encoder=s.get("encoder", spec.encoder),
        loss=LossConfig.from_dict(loss),
        finetune=dataclasses.replace(spec.finetune, **ft),
        finetune_members=tuple(dataclasses.replace(a, **ft) for a in spec.finetune_members),
        heads_params={**spec.heads_params, **heads},
    )
    entry = {
        "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in s.items()},
        "origin": {k: v for k, v in origin.items() if k in s},
    }
    if not_applied:
        entry["not_applied"] = {k: f"the {family} family does not apply it (from {origin.get(k)})" for k in not_applied}
    if weights is not None:
        entry["class_weights"] = weights
    return new, entry


def _applicable(
    recipe: str, family: str, applies: frozenset[str] | None, settings: dict[str, Any], origin: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """The settings ``recipe`` applies, and those it does not that came from workbench.yaml; one it does not
    apply that a flag or the panel gave is refused."""
    if applies is None:
        return settings, []
    unsupported = [k for k in settings if k not in applies]
    explicit = [k for k in unsupported if origin.get(k, "flag") != "yaml"]
    if explicit:
        raise WorkbenchError(
            f"training settings of recipe {recipe!r}",
            expected=f"settings the {family} family applies: {sorted(applies)}",
            got=", ".join(f"{k} (from {origin.get(k, 'flag')})" for k in explicit),
            fix="drop them, or train a recipe that applies them (heads, ensemble); nothing was trained",
        )
    return {k: v for k, v in settings.items() if k in applies}, unsupported


def _refuse_above_cap(weights: Mapping[str, float], cap: float, allowed: set, what: str, cap_name: str) -> None:
    above = {lab: w for lab, w in weights.items() if w > cap and lab not in allowed}
    if above:
        raise WorkbenchError(
            what,
            expected=f"weights at most {cap_name} {cap:g}",
            got=", ".join(f"{lab} {w:g}" for lab, w in above.items()),
            fix=f"lower them, raise {cap_name}, or name the labels in allow_above_cap (e.g. allow_above_cap: "
            f"[{next(iter(above))}])",
        )


def yaml_layer(settings: Any) -> dict[str, Any]:
    """The project's own layer: ``training:`` of workbench.yaml, with ``loss.pos_weight_cap`` (where the
    distribution report reads it) as the cap when ``training:`` does not set one (``settings``: the project's
    :class:`curation.ProjectSettings`)."""
    layer = dict(settings.training or {})
    cap = settings.loss.pos_weight_cap
    if cap is not None:
        layer.setdefault("pos_weight_cap", cap)
    return layer
