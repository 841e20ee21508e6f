"""Perturbations, and the invariance and directional tests built from them (CheckList, Ribeiro et al. 2020).

A minimum-functionality test (``type: mft``) says "this text must get that label". The two other kinds
need no label of their own, so they also run on real posts:

- **invariance** (``type: inv``): a perturbation must not change the model's decision on the labels the
  functionality names (a typo, leetspeak, spacing, another group named where the text is benign, a benign
  clause added). A case fails when the decision on the original and on the perturbed text differ.
- **directional** (``type: dir``): a change must move the score one way: ``expect: {hate: 1}`` says the
  perturbed text's ``hate`` score must not fall below the original's (by more than :data:`DIR_TOLERANCE`),
  ``expect: {hate: 0}`` that it must not rise.

In a suite file::

    - name: inv_typos
      type: inv
      perturbation: typos           # typos | leetspeak | spacing | homoglyphs, {swap: FILLER} | {append: FILLER}
      expect: {hate: 1}             # the labels whose decision must not change (inv) or the direction (dir)
      originals: all                # which originals: all | hateful | benign (by what they expect)
      from: [explicit_derogation]   # the minimum-functionality tests whose cases are perturbed (default: all)
      max_fail: 0.05                # the highest failure rate (default: the tier's, PERTURBATION_MAX_FAIL)

The originals are the suite's minimum-functionality cases of the same side (test-side cases for the gate,
train-side ones for ``generate --from-suite``; ``{swap: group}`` and ``{append: ...}`` take the filler's
values of that side too), so the side rule holds. Each perturbed case keeps its original's text and, for an
invariance test, the original's expected labels: a failing one gives the loop contrast pairs of both signs.
On real posts (:func:`perturb_posts`) the originals are the posts, with every value of the fillers.

Every perturbation is seeded by the case (the same text perturbed the same way on every run) and returns
``None`` when it does not apply (no word long enough, no group named).
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any, Callable, Mapping, Sequence

from .._errors import WorkbenchError

__all__ = [
    "PERTURBATIONS",
    "PERTURBATION_MAX_FAIL",
    "DIR_TOLERANCE",
    "TEST_TYPES",
    "perturbation_spec",
    "perturb_text",
    "perturb_posts",
    "perturbation_name",
    "filler_values",
]

TEST_TYPES = ("mft", "inv", "dir")
PERTURBATION_MAX_FAIL = {"T1": 0.02, "T2": 0.05, "T3": 0.10, "T4": 0.15, "T5": 0.20}
"""The highest failure rate an invariance or directional test may have, by the tier it guards."""
DIR_TOLERANCE = 0.02
"""A directional test's score may move the wrong way by this much (probability) before the case fails."""

_WORD = re.compile(r"[A-Za-z]{4,}")
_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}


def _long_words(text: str) -> list[re.Match]:
    return list(_WORD.finditer(text))


def _replace(text: str, m: re.Match, new: str) -> str:
    return text[: m.start()] + new + text[m.end() :]


def typos(text: str, rng: random.Random, values: Sequence[str] = ()) -> str | None:
    """Two neighbouring letters of one word (of four letters or more, not its first letter) swapped."""
    words = [m for m in _long_words(text) if len(set(m.group(0)[1:])) > 1]
    if not words:
        return None
    m = rng.choice(words)
    w = m.group(0)
    spots = [i for i in range(1, len(w) - 1) if w[i] != w[i + 1]]
    i = rng.choice(spots)
    return _replace(text, m, w[:i] + w[i + 1] + w[i] + w[i + 2 :])


def leetspeak(text: str, rng: random.Random, values: Sequence[str] = ()) -> str | None:
    """One word (four letters or more, with a letter left over) written with digits for some letters."""
    words = [m for m in _long_words(text) if any(c.lower() in _LEET for c in m.group(0)[1:])]
    if not words:
        return None
    m = rng.choice(words)
    w = m.group(0)
    return _replace(text, m, w[0] + "".join(_LEET.get(c.lower(), c) for c in w[1:]))


def spacing(text: str, rng: random.Random, values: Sequence[str] = ()) -> str | None:
    """One word (four letters or more) written with its letters spaced out."""
    words = _long_words(text)
    if not words:
        return None
    m = rng.choice(words)
    return _replace(text, m, " ".join(m.group(0)))


_LOOKALIKE = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441", "x": "\u0445", "i": "\u0456"}


def homoglyphs(text: str, rng: random.Random, values: Sequence[str] = ()) -> str | None:
    """The letters of one word (four letters or more) that have a Cyrillic look-alike written with it (``hаte``
    with a Cyrillic ``а``: the same on screen, another word to a tokenizer)."""
    words = [m for m in _long_words(text) if any(c in _LOOKALIKE for c in m.group(0))]
    if not words:
        return None
    m = rng.choice(words)
    return _replace(text, m, "".join(_LOOKALIKE.get(c, c) for c in m.group(0)))


def swap(text: str, rng: random.Random, values: Sequence[str]) -> str | None:
    """One of ``values`` the text names (a whole word or phrase, any case) replaced by another of them."""
    found = [(m, v) for v in values for m in re.finditer(rf"(?<!\w){re.escape(v)}(?!\w)", text, flags=re.IGNORECASE)]
    if not found or len(values) < 2:
        return None
    m, v = rng.choice(found)
    other = rng.choice([x for x in values if x.lower() != v.lower()])
    return _replace(text, m, other)


def append(text: str, rng: random.Random, values: Sequence[str]) -> str | None:
    """One of ``values`` (a clause) added after the text, as a sentence of its own."""
    if not values:
        return None
    clause = rng.choice(list(values))
    end = "" if text.rstrip().endswith((".", "!", "?")) else "."
    return f"{text.rstrip()}{end} {clause}"


PERTURBATIONS: dict[str, Callable[..., str | None]] = {
    "typos": typos,
    "leetspeak": leetspeak,
    "spacing": spacing,
    "homoglyphs": homoglyphs,
    "swap": swap,
    "append": append,
}
_NEEDS_VALUES = ("swap", "append")


def perturbation_spec(raw: Any, where: str, fillers: Mapping[str, Any]) -> dict[str, str]:
    """``{"kind": ..., "filler": ...}`` from a suite's ``perturbation`` (a name, or ``{swap|append: FILLER}``)."""
    if isinstance(raw, str) and raw in PERTURBATIONS and raw not in _NEEDS_VALUES:
        return {"kind": raw}
    if isinstance(raw, Mapping) and len(raw) == 1:
        kind, filler = next(iter(raw.items()))
        if kind in _NEEDS_VALUES and filler in fillers:
            return {"kind": str(kind), "filler": str(filler)}
        if kind in _NEEDS_VALUES:
            raise WorkbenchError(
                f"{where}: perturbation",
                expected=f"{{{kind}: FILLER}} naming one of the suite's fillers {sorted(fillers)}",
                got=repr(filler),
                fix="add the filler (its values by side) or name an existing one",
            )
    plain = [k for k in PERTURBATIONS if k not in _NEEDS_VALUES]
    raise WorkbenchError(
        f"{where}: perturbation",
        expected=f"one of {plain}, or {{swap: FILLER}} / {{append: FILLER}}",
        got=repr(raw),
        fix="e.g. perturbation: typos, or perturbation: {swap: group}",
    )


def perturbation_name(spec: Mapping[str, str]) -> str:
    """``typos``, ``swap:group``: how a case and a report name its perturbation."""
    return spec["kind"] + (f":{spec['filler']}" if spec.get("filler") else "")


def perturb_text(spec: Mapping[str, str], text: str, key: str, values: Sequence[str] = ()) -> str | None:
    """``text`` perturbed as ``spec`` says, seeded by ``key``; ``None`` when it does not apply or changes nothing."""
    rng = random.Random(int(hashlib.sha256(key.encode()).hexdigest()[:16], 16))
    out = PERTURBATIONS[spec["kind"]](text, rng, list(values))
    return out if out is not None and out != text else None


def perturb_posts(
    tests: Sequence[Any], texts: Sequence[str], fillers: Mapping[str, Sequence[str]], *, max_posts: int = 500
) -> list[dict[str, Any]]:
    """Pairs (original post, perturbed post) for each invariance or directional functionality of ``tests``
    (:class:`curation.suites.Functionality` with ``type`` inv or dir) over real posts ``texts``: at most
    ``max_posts`` per test, the posts it applies to, in a seeded order. ``fillers``: slot -> every value."""
    out = []
    for f in tests:
        spec = f.perturbation
        values = fillers.get(spec.get("filler", ""), ())
        order = list(range(len(texts)))
        random.Random(f"{f.name}/posts").shuffle(order)
        n = 0
        for i in order:
            if n >= max_posts:
                break
            new = perturb_text(spec, texts[i], f"{f.name}/{texts[i]}", values)
            if new is None:
                continue
            out.append({"functionality": f.name, "index": i, "original": texts[i], "text": new})
            n += 1
    return out


def filler_values(suites: Sequence[Any]) -> dict[str, list[str]]:
    """Every value of every filler of ``suites``, all sides together (for real posts, which have no side)."""
    out: dict[str, list[str]] = {}
    for suite in suites:
        for slot, by_side in suite.fillers.items():
            bucket = out.setdefault(slot, [])
            bucket += [v for side in ("test", "train", "both") for v in by_side.get(side, ()) if v not in bucket]
    return out
