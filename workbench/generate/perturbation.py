"""``perturbation`` (offline): label-preserving adversarial variants of existing records.

Character swaps and deletions, leetspeak, added and removed spaces, casing, homoglyphs, emoji insertion
and punctuation noise, the obfuscations moderation models meet in the wild; :func:`obfuscate_word` hides
one word the way slurs and insults are hidden (``f1lthy``, ``f i l t h y``, ``f*lthy``, ``fiilthy``). :func:`perturb` is a pure function of the text and a
random generator: the same seed gives the same variant, a variant is never empty and its labels are
its parent's. The provider draws parents from the store's active records (real ones and accepted
generated ones, never other perturbations) that match the seed (positives of its target labels, or
for a hard-negative seed records known negative for them) and stores variants as
``origin=perturbation`` with the parent's id.
"""

from __future__ import annotations

import random
from typing import Callable, Iterator, Mapping, Sequence

from curation import WorkbenchError

from .base import GenerationStats, Item, SeedSpec, Slot

__all__ = ["PERTURBATIONS", "obfuscate_word", "perturb", "PerturbationProvider"]

_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7", "g": "9", "b": "8"}
_HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і"}  # Cyrillic
_EMOJI = ["😂", "🔥", "💯", "👀", "😡", "🙄", "✨", "💀"]
_NOISE = ["!", "!!", "?", "...", "*", "~", "."]


def _word_positions(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch.isalpha()]


def _swap(text: str, rng: random.Random) -> str:
    pos = [i for i in range(len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha()]
    if not pos:
        return text
    i = rng.choice(pos)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _map_some(table: Mapping[str, str], share: float) -> Callable[[str, random.Random], str]:
    def apply(text: str, rng: random.Random) -> str:
        return "".join(table[ch.lower()] if ch.lower() in table and rng.random() < share else ch for ch in text)

    return apply


def _spacing(text: str, rng: random.Random) -> str:
    pos = _word_positions(text)
    if not pos:
        return text
    i = rng.choice(pos)
    return text[: i + 1] + " " + text[i + 1 :] if rng.random() < 0.5 else text.replace(" ", "  ", 1)


def _deletion(text: str, rng: random.Random) -> str:
    """One letter inside a word dropped (``disgusting`` -> ``disgustng``)."""
    pos = [i for i in range(1, len(text) - 1) if text[i].isalpha() and text[i - 1].isalpha() and text[i + 1].isalpha()]
    if not pos:
        return text
    i = rng.choice(pos)
    return text[:i] + text[i + 1 :]


def _joined(text: str, rng: random.Random) -> str:
    """One space between two words removed (``are vile`` -> ``arevile``)."""
    pos = [i for i in range(1, len(text) - 1) if text[i] == " " and text[i - 1].isalnum() and text[i + 1].isalnum()]
    if not pos:
        return text
    i = rng.choice(pos)
    return text[:i] + text[i + 1 :]


def _casing(text: str, rng: random.Random) -> str:
    return "".join(ch.upper() if rng.random() < 0.5 else ch.lower() for ch in text)


def _emoji(text: str, rng: random.Random) -> str:
    spaces = [i for i, ch in enumerate(text) if ch == " "] + [len(text)]
    i = rng.choice(spaces)
    return text[:i] + " " + rng.choice(_EMOJI) + text[i:]


def _punctuation(text: str, rng: random.Random) -> str:
    spaces = [i for i, ch in enumerate(text) if ch == " "] + [len(text)]
    i = rng.choice(spaces)
    return text[:i] + rng.choice(_NOISE) + text[i:]


PERTURBATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "swap": _swap,
    "deletion": _deletion,
    "joined": _joined,
    "leetspeak": _map_some(_LEET, 0.5),
    "spacing": _spacing,
    "casing": _casing,
    "homoglyph": _map_some(_HOMOGLYPHS, 0.4),
    "emoji": _emoji,
    "punctuation": _punctuation,
}


def _mask(word: str, rng: random.Random) -> str:
    inner = [i for i in range(1, len(word) - 1) if word[i].isalpha()]
    if not inner:
        return word
    i = rng.choice(inner)
    return word[:i] + rng.choice("*#@") + word[i + 1 :]


def _stretch(word: str, rng: random.Random) -> str:
    pos = [i for i, ch in enumerate(word) if ch.isalpha()]
    if not pos:
        return word
    i = rng.choice(pos)
    return word[: i + 1] + word[i] * rng.randint(1, 2) + word[i + 1 :]


_WORD_OBFUSCATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "leetspeak": _map_some(_LEET, 1.0),
    "spaced": lambda w, rng: " ".join(w),
    "masked": _mask,
    "swap": _swap,
    "deletion": _deletion,
    "stretched": _stretch,
}


def obfuscate_word(word: str, seed: int) -> tuple[str, str]:
    """``word`` hidden as slurs and insults are hidden, deterministic in ``seed``: the variant and its kind.

    Returns ``word`` itself (kind ``"none"``) when no obfuscation changes it.

    >>> obfuscate_word("filthy", 3) == obfuscate_word("filthy", 3)
    True
    >>> obfuscate_word("filthy", 3)[0] != "filthy"
    True
    """
    rng = random.Random(seed)
    kinds = list(_WORD_OBFUSCATIONS)
    rng.shuffle(kinds)
    for kind in kinds:
        out = _WORD_OBFUSCATIONS[kind](word, rng)
        if out != word:
            return out, kind
    return word, "none"


def perturb(
    text: str, seed: int, *, kinds: Sequence[str] = tuple(PERTURBATIONS), n_ops: int = 2
) -> tuple[str, list[str]]:
    """A variant of ``text`` after ``n_ops`` perturbations drawn from ``kinds``; deterministic in ``seed``.

    Returns the variant and the perturbations applied. A text with nothing to perturb gets an emoji.

    >>> perturb("send me your password now", 7) == perturb("send me your password now", 7)
    True
    """
    unknown = [k for k in kinds if k not in PERTURBATIONS]
    if unknown or not kinds:
        raise WorkbenchError("perturbations", expected=f"some of {list(PERTURBATIONS)}", got=str(list(kinds)))
    rng = random.Random(seed)
    out, applied = text, []
    for _ in range(n_ops):
        kind = rng.choice(list(kinds))
        out = PERTURBATIONS[kind](out, rng)
        applied.append(kind)
    if out == text or not out.strip():
        out, applied = _emoji(text, rng), applied + ["emoji"]
    return out, applied


class PerturbationProvider:
    """Variants of stored records matching a seed (see the module docstring).

    Parameters
    ----------
    records : pandas.DataFrame
        Candidate parents: ``id``, ``text``, ``origin`` and one float column per label (NaN unknown).
    labels : sequence of str
        The taxonomy's labels (the columns to carry over).
    kinds : sequence of str
        Perturbations to draw from.
    """

    name = "perturbation"

    def __init__(self, records, labels: Sequence[str], *, kinds: Sequence[str] = tuple(PERTURBATIONS), n_ops: int = 2):
        self.records = records[records["origin"] != "perturbation"].reset_index(drop=True)
        self.labels = list(labels)
        self.kinds = tuple(kinds)
        self.n_ops = n_ops
        self.model = "rules-v1"
        self.params = {"kinds": list(self.kinds), "n_ops": n_ops}

    def _parents(self, seed: SeedSpec):
        want = 0.0 if seed.kind == "hard_negative" else 1.0
        # parents from train and valid only: a variant shares its parent's duplicate group and so its split,
        # and calib and holdout stay real, unperturbed data
        mask = (self.records[list(seed.target_labels)] == want).all(axis=1) & self.records["split"].isin(
            ["train", "valid"]
        )
        return self.records[mask].sort_values("id").reset_index(drop=True)

    def generate(
        self, seed: SeedSpec, slots: Sequence[Slot], *, stats: GenerationStats, on_item=None
    ) -> Iterator[Item]:
        parents = self._parents(seed)
        if parents.empty:
            stats.failed_slots += len(slots)
            return
        for slot in slots:
            rng = random.Random(f"{seed.id}:{slot.index}")
            parent = parents.iloc[rng.randrange(len(parents))]
            text, applied = perturb(parent["text"], rng.randrange(2**32), kinds=self.kinds, n_ops=self.n_ops)
            labels = {lab: int(parent[lab]) for lab in self.labels if parent[lab] == parent[lab]}  # NaN stays unknown
            item = Item(slot.index, text, labels, {"parent_id": parent["id"], "perturbations": applied})
            if on_item is not None:
                on_item(item)
            yield item
