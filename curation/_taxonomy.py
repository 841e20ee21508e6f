"""Taxonomy: the ordered label list that every record, view and model is read against.

The order of ``Taxonomy.labels`` is the model's output order; it is stored in every model and
checked on load. The taxonomy's version is a content hash over its resolved (defaults filled in)
form, so reformatting the YAML or adding comments does not change it, but any semantic change does.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from foundation import atomic_write_text

from ._errors import TaxonomyError

__all__ = ["Gate", "Label", "Taxonomy", "TIER_DEFAULTS", "DRIFT_DEFAULTS", "TIERS", "ACTIONS", "load_taxonomy"]

TIERS = ("T1", "T2", "T3", "T4", "T5")
ACTIONS = ("hide", "warn", "badge", "none")

# Per-tier defaults. T1 is zero-tolerance (child safety, credible threats), T5 is routing/topic.
# min_positives is the count below which the trainer and the distribution report warn.
# min_holdout_positives is the evidence a gate needs: a label with fewer holdout positives is
# "insufficient_evidence", neither pass nor fail (a recall of 1.0 on one positive proves nothing).
TIER_DEFAULTS: dict[str, dict[str, Any]] = {
    "T1": {
        "gate": {"min_f1": 0.70, "recall_floor": 0.90, "fpr_budget": 0.02},
        "threshold_range": (0.02, 0.70),
        "action": "hide",
        "min_positives": 300,
        "min_holdout_positives": 30,
    },
    "T2": {
        "gate": {"min_f1": 0.65, "recall_floor": 0.75, "fpr_budget": 0.02},
        "threshold_range": (0.05, 0.90),
        "action": "hide",
        "min_positives": 300,
        "min_holdout_positives": 20,
    },
    "T3": {
        "gate": {"min_f1": 0.60, "recall_floor": 0.60, "fpr_budget": 0.05},
        "threshold_range": (0.05, 0.95),
        "action": "warn",
        "min_positives": 200,
        "min_holdout_positives": 10,
    },
    "T4": {
        "gate": {"min_f1": 0.50, "recall_floor": 0.40, "fpr_budget": 0.10},
        "threshold_range": (0.10, 0.95),
        "action": "badge",
        "min_positives": 100,
        "min_holdout_positives": 5,
    },
    "T5": {
        "gate": {"min_f1": 0.40, "recall_floor": 0.00, "fpr_budget": 0.20},
        "threshold_range": (0.10, 0.95),
        "action": "badge",
        "min_positives": 50,
        "min_holdout_positives": 5,
    },
}

# Per-tier drift limits of a shipped model (training.production_loop._drift): a window alerts when a label's score
# distribution moved past ``psi_max`` (population stability index against calib), its positive-decision rate
# left [calib rate / rate_ratio_max, calib rate x rate_ratio_max], or moderators overturned more than
# ``overturn_max`` of its decisions. Overridden per tier or per label by workbench.yaml ``monitoring.limits``.
DRIFT_DEFAULTS: dict[str, dict[str, float]] = {
    "T1": {"psi_max": 0.10, "rate_ratio_max": 1.5, "overturn_max": 0.10},
    "T2": {"psi_max": 0.20, "rate_ratio_max": 2.0, "overturn_max": 0.20},
    "T3": {"psi_max": 0.25, "rate_ratio_max": 2.5, "overturn_max": 0.30},
    "T4": {"psi_max": 0.25, "rate_ratio_max": 3.0, "overturn_max": 0.40},
    "T5": {"psi_max": 0.30, "rate_ratio_max": 4.0, "overturn_max": 0.50},
}

_LABEL_KEYS = {
    "name",
    "description",
    "group",
    "tier",
    "parent",
    "gate",
    "threshold_range",
    "action",
    "min_positives",
    "min_holdout_positives",
}
_GATE_KEYS = {"min_f1", "recall_floor", "fpr_budget"}


@dataclass(frozen=True)
class Gate:
    """Per-label promotion gate, evaluated on holdout."""

    min_f1: float
    recall_floor: float
    fpr_budget: float


@dataclass(frozen=True)
class Label:
    """One label of the taxonomy, with its tier defaults resolved."""

    name: str
    description: str
    group: str
    tier: str
    parent: str | None
    gate: Gate
    threshold_range: tuple[float, float]
    action: str
    min_positives: int
    min_holdout_positives: int = 0


@dataclass(frozen=True)
class Taxonomy:
    """An ordered, validated label taxonomy.

    Build it with :func:`load_taxonomy` or :meth:`Taxonomy.from_dict`; both validate.

    Examples
    --------
    >>> tax = Taxonomy.from_dict({"name": "demo", "labels": [
    ...     {"name": "hate", "group": "safety", "tier": "T2"},
    ...     {"name": "hate_race", "group": "safety", "tier": "T3", "parent": "hate"}]})
    >>> tax.label_names
    ('hate', 'hate_race')
    >>> tax.children("hate")
    ('hate_race',)
    >>> tax["hate"].gate.fpr_budget
    0.02
    """

    name: str
    labels: tuple[Label, ...]
    source: str = field(default="<dict>", compare=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> Taxonomy:
        if not isinstance(data, Mapping):
            raise TaxonomyError(
                f"{source}",
                expected="a mapping with keys 'name' and 'labels'",
                got=type(data).__name__,
                fix="see data/demo/taxonomy.yaml for the layout",
            )
        raw_labels = data.get("labels")
        if not isinstance(raw_labels, list) or not raw_labels:
            raise TaxonomyError(
                f"{source}: 'labels'",
                expected="a non-empty list of labels",
                got=repr(raw_labels)[:80],
                fix="list at least one label under 'labels:'",
            )
        labels = _parse_labels(raw_labels, source)
        _check_hierarchy(labels, source)
        name = data.get("name", "taxonomy")
        if not isinstance(name, str) or not name:
            raise TaxonomyError(f"{source}: 'name'", expected="a non-empty string", got=repr(name))
        unknown = set(data) - {"name", "labels", "description"}
        if unknown:
            raise TaxonomyError(
                f"{source}",
                expected="top-level keys name, description, labels",
                got=f"unknown keys {sorted(unknown)}",
                fix="remove or rename them",
            )
        return cls(name=name, labels=tuple(labels), source=source)

    # ------------------------------------------------------------------ queries
    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(lab.name for lab in self.labels)

    @property
    def groups(self) -> tuple[str, ...]:
        out: list[str] = []
        for lab in self.labels:
            if lab.group not in out:
                out.append(lab.group)
        return tuple(out)

    def __getitem__(self, name: str) -> Label:
        for lab in self.labels:
            if lab.name == name:
                return lab
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(lab.name == name for lab in self.labels)

    def __len__(self) -> int:
        return len(self.labels)

    def index(self, name: str) -> int:
        return self.label_names.index(name)

    def children(self, name: str) -> tuple[str, ...]:
        return tuple(lab.name for lab in self.labels if lab.parent == name)

    def labels_in_group(self, group: str) -> tuple[str, ...]:
        names = tuple(lab.name for lab in self.labels if lab.group == group)
        if not names:
            raise TaxonomyError(
                f"label group {group!r}",
                expected=f"one of {list(self.groups)}",
                got=repr(group),
                fix="pick a group that the taxonomy defines",
            )
        return names

    def to_dict(self) -> dict[str, Any]:
        """The resolved taxonomy (defaults filled in) as plain data; the hash is taken over this."""
        labels = []
        for lab in self.labels:
            d = asdict(lab)
            d["threshold_range"] = list(lab.threshold_range)
            if d["min_holdout_positives"] == TIER_DEFAULTS[lab.tier]["min_holdout_positives"]:
                del d["min_holdout_positives"]  # the tier's default: the hash of a taxonomy that never set it stays
            labels.append(d)
        return {"name": self.name, "labels": labels}

    @property
    def content_hash(self) -> str:
        """Version of the taxonomy: sha256 over its canonical resolved form (16 hex digits)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def check_label_order(self, other: Sequence[str], *, what: str = "model", subset: bool = False) -> None:
        """Raise :class:`TaxonomyError` unless ``other`` is this taxonomy's label order.

        With ``subset``, ``other`` may name only some labels (a model of one label group); they must
        then appear in the taxonomy's relative order. The one label-order check of the workbench.

        >>> tax = Taxonomy.from_dict({"labels": ["spam", "threats", "hate"]})
        >>> tax.check_label_order(["spam", "hate"], subset=True)
        >>> tax.check_label_order(["hate", "spam"], subset=True)
        Traceback (most recent call last):
        ...
        curation._errors.TaxonomyError: Label order of model ['hate', 'spam'] does not match taxonomy ['spam', \
'hate']; re-export the model or load it with the taxonomy it was trained on
        """
        mine = set(other)
        theirs = [lab for lab in self.label_names if lab in mine] if subset else list(self.label_names)
        if list(other) != theirs:
            raise TaxonomyError(
                f"Label order of {what} {list(other)} does not match taxonomy {theirs}",
                fix=f"re-export the {what} or load it with the taxonomy it was trained on",
            )

    def save(self, path: str | os.PathLike, *, header: str = "") -> Path:
        """Write the resolved taxonomy as YAML, atomically (``header``: comment lines to put first)."""
        path = Path(path)
        text = header + yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        atomic_write_text(path, text)
        return path


def _parse_labels(raw_labels: list, source: str) -> list[Label]:
    labels: list[Label] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_labels):
        lab = _parse_label(raw, where=f"{source}: labels[{i}]")
        if lab.name in seen:
            raise TaxonomyError(
                f"{source}: labels[{i}]",
                expected="unique label names",
                got=f"a second label named {lab.name!r}",
                fix="rename or remove the duplicate",
            )
        seen.add(lab.name)
        labels.append(lab)
    return labels


def _check_hierarchy(labels: list[Label], source: str) -> None:
    """Every parent is another label of the taxonomy, and a chain of parents ends."""
    names = {lab.name for lab in labels}
    for i, lab in enumerate(labels):
        if lab.parent is None:
            continue
        if lab.parent not in names:
            raise TaxonomyError(
                f"{source}: label {lab.name!r} (labels[{i}])",
                expected=f"a parent that is one of {sorted(names)}",
                got=f"unknown parent {lab.parent!r}",
                fix="add the parent label or fix its name",
            )
        if lab.parent == lab.name:
            raise TaxonomyError(
                f"{source}: label {lab.name!r}",
                expected="a parent other than itself",
                got=repr(lab.parent),
                fix="remove 'parent' or name the primary label",
            )
    by_name = {lab.name: lab for lab in labels}
    for lab in labels:  # cycles: a chain of parents must end
        chain = [lab.name]
        cur = lab.parent
        while cur is not None:
            if cur in chain:
                raise TaxonomyError(
                    f"{source}: parents of {lab.name!r}",
                    expected="a hierarchy without cycles",
                    got=" -> ".join(chain + [cur]),
                    fix="break the cycle",
                )
            chain.append(cur)
            cur = by_name[cur].parent


def _num(value: Any, where: str, key: str, lo: float = 0.0, hi: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TaxonomyError(f"{where}: {key}", expected=f"a number in [{lo}, {hi}]", got=repr(value))
    if not (lo <= float(value) <= hi):
        raise TaxonomyError(
            f"{where}: {key}",
            expected=f"a number in [{lo}, {hi}]",
            got=repr(value),
            fix=f"set {key} inside [{lo}, {hi}]",
        )
    return float(value)


def _parse_gate(gate_raw: Any, defaults: Mapping[str, float], where: str) -> Gate:
    if not isinstance(gate_raw, Mapping):
        raise TaxonomyError(
            f"{where}: gate", expected="a mapping of min_f1, recall_floor, fpr_budget", got=repr(gate_raw)
        )
    unknown = set(gate_raw) - _GATE_KEYS
    if unknown:
        raise TaxonomyError(
            f"{where}: gate", expected=f"keys among {sorted(_GATE_KEYS)}", got=f"unknown keys {sorted(unknown)}"
        )
    return Gate(**{k: _num(v, where, f"gate.{k}") for k, v in {**defaults, **gate_raw}.items()})


def _parse_range(rng: Any, where: str) -> tuple[float, float]:
    if not isinstance(rng, (list, tuple)) or len(rng) != 2:
        raise TaxonomyError(
            f"{where}: threshold_range", expected="two numbers [low, high] inside [0, 1]", got=repr(rng)
        )
    lo = _num(rng[0], where, "threshold_range[0]")
    hi = _num(rng[1], where, "threshold_range[1]")
    if lo >= hi:
        raise TaxonomyError(
            f"{where}: threshold_range", expected="low < high", got=repr(list(rng)), fix="swap or widen the bounds"
        )
    return lo, hi


def _parse_label(raw: Any, *, where: str) -> Label:
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, Mapping):
        raise TaxonomyError(where, expected="a mapping with at least 'name'", got=repr(raw)[:80])
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or name != name.strip() or any(c in name for c in " ,=\n\t"):
        raise TaxonomyError(
            f"{where}: name",
            expected="a non-empty name without spaces, commas or '='",
            got=repr(name),
            fix="use snake_case names such as 'hate_speech'",
        )
    where = f"{where} ({name!r})"
    unknown = set(raw) - _LABEL_KEYS
    if unknown:
        raise TaxonomyError(
            where,
            expected=f"keys among {sorted(_LABEL_KEYS)}",
            got=f"unknown keys {sorted(unknown)}",
            fix="remove or rename them",
        )
    tier = raw.get("tier", "T3")
    if tier not in TIERS:
        raise TaxonomyError(
            f"{where}: tier", expected="a tier in T1..T5", got=repr(tier), fix="set tier to one of " + ", ".join(TIERS)
        )
    defaults = TIER_DEFAULTS[tier]
    gate = _parse_gate(raw.get("gate") or {}, defaults["gate"], where)
    lo, hi = _parse_range(raw.get("threshold_range", defaults["threshold_range"]), where)
    action = raw.get("action", defaults["action"])
    if action not in ACTIONS:
        raise TaxonomyError(f"{where}: action", expected="one of " + ", ".join(ACTIONS), got=repr(action))
    counts = {}
    for key in ("min_positives", "min_holdout_positives"):
        value = raw.get(key, defaults[key])
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TaxonomyError(f"{where}: {key}", expected="a non-negative integer", got=repr(value))
        counts[key] = value
    group = raw.get("group", "safety")
    if not isinstance(group, str) or not group:
        raise TaxonomyError(f"{where}: group", expected="a non-empty string", got=repr(group))
    parent = raw.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise TaxonomyError(f"{where}: parent", expected="a label name or nothing", got=repr(parent))
    desc = raw.get("description", "")
    if not isinstance(desc, str):
        raise TaxonomyError(f"{where}: description", expected="a string", got=repr(desc)[:80])
    return Label(
        name=name,
        description=desc,
        group=group,
        tier=tier,
        parent=parent,
        gate=gate,
        threshold_range=(lo, hi),
        action=action,
        **counts,
    )


def load_taxonomy(path: str | os.PathLike) -> Taxonomy:
    """Load and validate a taxonomy YAML file.

    Raises
    ------
    TaxonomyError
        With the file name and the label at fault when the file is invalid.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise TaxonomyError(
            f"taxonomy file {path}",
            expected="an existing YAML file",
            got="no such file",
            fix="run `workbench init DIR` or pass the right path",
        ) from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path} line {mark.line + 1} column {mark.column + 1}" if mark is not None else f"{path}"
        raise TaxonomyError(
            where,
            expected="valid YAML",
            got=getattr(e, "problem", None) or str(e).splitlines()[0],
            fix="quote text that contains ':' ',' '{' or '}'",
        ) from e
    return Taxonomy.from_dict(data, source=str(path))
