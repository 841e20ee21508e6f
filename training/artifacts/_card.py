"""The model card (``MODEL/model.json``) as types: :class:`ModelCard`, which records what the evaluation
decided (one :class:`~training.evaluation.VariantResult` per evaluated variant, whose ``gate`` is a
:class:`~training.evaluation.GateVerdict` of :class:`~training.evaluation.GateFailure` fields; the production
slice; the comparison with the promoted model).

Cards are versioned (``format``): version 2 is what :func:`training.train_model` writes now; version 1
cards (written before the card had types; ``tests/fixtures/legacy_models``) load, with their gate
failures' ``what`` read into fields and the recipe names of that time (``fast``, ``finetune``) read as
today's. Keys a card holds that this version does not know are kept in ``extra`` and written back, so
loading and saving never drops anything.

The production loop's records are typed too: :class:`ProductionRecord` (``card.production``: the labelled
production posts in the training mix, per label, and the gate's production slice) and
:class:`Recalibration` (``card.recalibration``: thresholds re-tuned on labelled production posts). Cards
written before they had types kept the recalibration as a plain ``recalibration`` object; it loads into
the type.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from curation import WorkbenchError

from ..evaluation._report import ProductionSlice, VariantResult

__all__ = [
    "ModelCard",
    "CARD_FORMAT",
    "ProductionMix",
    "ProductionRecord",
    "Recalibration",
]

CARD_FORMAT = 2
_V1_RECIPES = {"fast": "heads", "finetune": "ensemble"}  # recipe names in version-1 cards


def _from_mapping(cls, data: Mapping[str, Any] | None, renames: Mapping[str, str] | None = None):
    """A dataclass from a card's object: known keys into fields, the rest into its ``extra``."""
    if data is None or isinstance(data, cls):
        return data
    data = {(renames or {}).get(k, k): v for k, v in data.items()}
    names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
    return cls(
        **{k: v for k, v in data.items() if k in names},
        extra={**data.get("extra", {}), **{k: v for k, v in data.items() if k not in names and k != "extra"}},
    )


def _as_dict(obj) -> dict[str, Any]:
    out = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.name != "extra"}
    for k, v in out.items():
        if dataclasses.is_dataclass(v):
            out[k] = _as_dict(v)
    return {**{k: v for k, v in out.items() if v is not None}, **obj.extra}


@dataclass
class ProductionMix:
    """The labelled production posts the model trained on: how many joined the mix (``posts``, of
    ``available``; ``left_out`` by ``mixing.production_share`` = ``cap``; ``repeat``: times each counts in the
    fit; ``share``: of the rows fitted), per label
    the posts that know it, their positives and hard negatives (overturned firings), and the posts refused as
    near duplicates of curated calib / holdout records."""

    posts: int = 0
    available: int = 0
    left_out: int = 0
    share: float = 0.0
    cap: float | None = None
    repeat: int = 1  # each post counted this many times in the fit (curation.views.production_part)
    per_label: dict[str, dict[str, int]] = field(default_factory=dict)
    refused: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ProductionRecord:
    """What the production loop gave a model: its training posts (``mix``) and its production slice."""

    mix: ProductionMix | None = None
    slice: ProductionSlice | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ProductionRecord | None:
        rec = _from_mapping(cls, data)
        if rec is not None:
            rec.mix = _from_mapping(ProductionMix, rec.mix)
            rec.slice = _from_mapping(ProductionSlice, rec.slice)
        return rec


@dataclass
class Recalibration:
    """A recalibrated model's record (:func:`training.production_loop.recalibrate`): its parent, the labelled production
    posts it was tuned on (``source``: sample-review or feedback), the labels retuned, old thresholds, the
    tuning rows and the check part's verdict before and after."""

    parent: str
    at: str | None = None
    source: str | None = None
    calibration_sets: list[str] = field(default_factory=list)
    check_posts: int = 0
    production_decision_rates: dict[str, float] = field(default_factory=dict)
    window: str | None = None
    retuned: list[str] = field(default_factory=list)
    old_thresholds: dict[str, float] = field(default_factory=dict)
    tuning: list[dict[str, Any]] = field(default_factory=list)
    check_before: dict[str, Any] = field(default_factory=dict)
    check: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelCard:
    """What a model directory says about its model; see the module docstring."""

    labels: list[str]
    thresholds: dict[str, float]
    snapshot_id: str
    project: str
    taxonomy_hash: str
    recipe: str
    classifier: dict[str, Any]
    format: int = CARD_FORMAT
    created_at: str | None = None
    excluded_seeds: list[str] = field(default_factory=list)
    group: str | None = None
    include_unreviewed: bool = False
    generated_splits: dict[str, Any] = field(default_factory=dict)
    threshold_tuning: list[dict[str, Any]] = field(default_factory=list)
    threshold_groups: str | None = None
    loss: dict[str, Any] = field(default_factory=dict)
    encoder: str | None = None
    pos_weight: dict[str, Any] = field(default_factory=dict)
    label_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    mix: dict[str, Any] = field(default_factory=dict)
    split_sizes: dict[str, int] = field(default_factory=dict)
    min_holdout_positives: int = 1
    parity: dict[str, Any] | None = None
    cache_dir: str | None = None
    variants: dict[str, VariantResult] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    comparison: dict[str, Any] | None = None
    int8_plan: dict[str, Any] | None = None
    int8_target: dict[str, Any] | None = None
    # known gaps a promoted model passed: they must keep passing
    graduated_vectors: list[str] = field(default_factory=list)
    # hide / warn / badge thresholds per label, tuned on calib (training.artifacts._policy.tune_bands)
    policy_bands: dict[str, dict[str, float | None]] = field(default_factory=dict)
    # per-epoch valid metrics and the guide's warnings (training.families._epochs)
    history: list[dict[str, Any]] = field(default_factory=list)
    # the training settings (workbench.yaml / panel / flags), where each came from, the class weights used
    training: dict[str, Any] = field(default_factory=dict)
    # the production mix calib and holdout were scored at (training.evaluation.base_rate_setting); None = raw rates
    base_rates: dict[str, Any] | None = None
    # the functional-suite cases the model is gated on: how many, pending left out or included, disputed
    suites: dict[str, Any] | None = None
    # the production loop: labelled production posts in the mix and the production slice of the gate
    production: ProductionRecord | None = None
    # thresholds re-tuned on labelled production posts (training.production_loop.recalibrate); None for a trained model
    recalibration: Recalibration | None = None
    # how the model reads text: its spelling normaliser's version and options (training.families.SpellingNormaliser),
    # the same in every member that reads text; None for a model without one (every card before it had one)
    spelling: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def training_mix(self) -> dict[str, Any]:
        """The training mix as the card tells it: the mix report with ``production`` (the typed
        :class:`ProductionMix`, or ``None`` when no production post was labelled)."""
        return {**self.mix, "production": self.production.mix if self.production else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "model card") -> ModelCard:
        data = dict(data)
        version = data.get("format", 1)
        if not isinstance(version, int) or version > CARD_FORMAT:
            raise WorkbenchError(
                where,
                expected=f"a card of format 1..{CARD_FORMAT}",
                got=f"format {version!r}",
                fix="upgrade the workbench to read cards written by a newer version",
            )
        missing = [
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and f.name not in data
        ]
        if missing:
            raise WorkbenchError(
                where,
                expected="a model card with " + ", ".join(missing),
                got="a card without them",
                fix="point at a directory written by `workbench train`",
            )
        if version == 1:
            data["recipe"] = _V1_RECIPES.get(data["recipe"], data["recipe"])
        names = {f.name for f in dataclasses.fields(cls)} - {"extra", "variants"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names and k not in ("variants", "extra")}
        variants = {name: VariantResult.from_dict(v) for name, v in (data.get("variants") or {}).items()}
        known["format"] = CARD_FORMAT  # migrated: in memory every card is of the current format
        known["production"] = ProductionRecord.from_dict(known.get("production"))
        known["recalibration"] = _from_mapping(Recalibration, known.get("recalibration"), {"from": "source"})
        return cls(**known, variants=variants, extra={**data.get("extra", {}), **extra})

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("variants", "extra")}
        out["format"] = CARD_FORMAT
        out["variants"] = {name: v.to_dict() for name, v in self.variants.items()}
        for name in ("production", "recalibration"):
            if out[name] is not None:
                out[name] = _as_dict(out[name])
        return {**{k: v for k, v in out.items() if v is not None or k in ("group", "encoder")}, **self.extra}

    def variant(self, name: str) -> VariantResult | None:
        return self.variants.get(name)


PROVENANCE_KINDS = {
    "generator": "generator",
    "annotator": "annotator-agreed",
    "adjudicated": "adjudicated",
    "disputed": "disputed-unknown",
}


def label_provenance_counts(rows, names: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per label, the training rows' labels by where they came from: ``generator``, ``annotator-agreed``,
    ``adjudicated``, ``disputed-unknown`` (annotators split; masked), or the store's own provenance name
    (``gold`` for an imported dataset's labels, ``implied``, ``repair``, ``model``); a label never given is
    ``unknown``.

    >>> import pandas as pd
    >>> rows = pd.DataFrame({"label_provenance": [{"hate": "annotator"}, {"hate": "disputed"}, {}]})
    >>> label_provenance_counts(rows, ["hate"])
    {'hate': {'annotator-agreed': 1, 'disputed-unknown': 1, 'unknown': 1}}
    """
    out: dict[str, dict[str, int]] = {lab: {} for lab in names}
    if "label_provenance" not in rows.columns:
        return out
    for prov in rows["label_provenance"]:
        prov = json.loads(prov) if isinstance(prov, str) and prov else prov  # a snapshot keeps it as JSON text
        prov = prov if isinstance(prov, dict) else {}
        for lab in names:
            kind = PROVENANCE_KINDS.get(prov.get(lab), prov.get(lab) or "unknown")
            out[lab][kind] = out[lab].get(kind, 0) + 1
    return {lab: dict(sorted(c.items())) for lab, c in out.items()}
