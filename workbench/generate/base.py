"""The protocol every provider keeps, and what flows through it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Protocol, Sequence

__all__ = ["SeedSpec", "Slot", "Item", "GenerationStats", "Provider"]


@dataclass(frozen=True)
class SeedSpec:
    """One seed version as generation sees it."""

    id: str
    text: str
    kind: str  # positive | hard_negative
    target_labels: tuple[str, ...]
    overlap: Mapping[str, float] = field(default_factory=dict)
    context: str = "GENERAL"
    batch_size: int = 200
    version: int = 1

    @classmethod
    def from_row(cls, row: Mapping[str, Any], *, default_size: int = 200) -> SeedSpec:
        """From a row of :meth:`curation.Project.seeds.frame` (missing values come as None or NaN)."""

        def given(key):
            v = row.get(key)
            return None if v is None or (isinstance(v, float) and v != v) else v

        return cls(
            id=row["id"],
            text=row["text"],
            kind=row["kind"],
            target_labels=tuple(row["target_labels"]),
            overlap=dict(given("overlap") or {}),
            context=str(given("context") or "GENERAL").upper(),
            batch_size=int(given("batch_size") or default_size),
            version=int(given("version") or 1),
        )


@dataclass(frozen=True)
class Slot:
    """One item to make: its index in the batch and its intended labels (1 = exhibits, 0 = must not)."""

    index: int
    labels: Mapping[str, int]
    overlap_label: str | None = None  # the co-label this item must also exhibit, when it is an overlap item


@dataclass
class Item:
    """One generated example for a slot."""

    index: int
    text: str
    labels: Mapping[str, int]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class GenerationStats:
    """What a provider met while making a batch (everything invalid is counted, never stored)."""

    requests: int = 0
    retried: int = 0
    refused: int = 0
    malformed: int = 0
    truncated: int = 0
    repeated_seed: int = 0
    mislabelled: int = 0
    failed_slots: int = 0

    def add(self, other: GenerationStats) -> None:
        for k, v in vars(other).items():
            setattr(self, k, getattr(self, k) + v)


class Provider(Protocol):
    """``generate(seed, slots, ...)`` yields one :class:`Item` per slot it could fill.

    ``name``, ``model`` and ``params`` identify what the provider makes: with the seed id, the seed's
    text hash and the item index they form the cache key, so the same request is never paid twice.
    """

    name: str
    model: str
    params: Mapping[str, Any]

    def generate(self, seed: SeedSpec, slots: Sequence[Slot], *, stats: GenerationStats) -> Iterator[Item]: ...
