"""How people spell on a platform, read back as words: :class:`SpellingNormaliser`.

People write around filters: leetspeak (``h4t3``), spaced-out letters (``h a t e``), zero-width characters
inside a word, full-width or other compatibility forms (``ｈａｔｅ``), letters of another script that look like
Latin ones (Cyrillic ``а`` in ``hаte``), accents on a plain word (``hâtë``), stretched letters (``haaaaate``). A model
that saw ``hate`` in training reads none of these as ``hate``. The normaliser rewrites them before the
model reads the text. Each step is an option, and the options with the normaliser's version are what a model
card records (:meth:`SpellingNormaliser.to_dict`), so a model is served with the normaliser it was trained with.

This is not :func:`curation.normalise_text`, which makes the key of duplicate detection (casefolded, URLs and
mentions masked, punctuation dropped): this one keeps case, punctuation and everything else it has no step
for, because the model reads them.

The steps, in order: ``zero_width`` (zero-width characters and soft hyphens removed), ``nfkc`` (Unicode
compatibility forms to their plain letters), ``spaced_letters`` (three or more single letters with single spaces
between joined into one word), ``leetspeak`` (the digits, ``@`` and ``$`` of a word that has a letter read as
letters; numbers, quantities such as ``4th`` or ``10k`` and a number said as a word such as ``4ever`` stay),
``homoglyphs`` (in a text with Latin letters, a word whose letters of another script all look like Latin
letters has each read as its Latin letter, from the Unicode confusables table of ``confusable-homoglyphs``,
MIT; a word of another script with a letter that has no Latin look-alike is that script's word and stays;
after leetspeak, whose letters can make a text Latin), ``accents`` (a Latin word's accents dropped, by
``anyascii``, ISC: ``hâtë`` -> ``hate``; words of other scripts stay), ``letter_runs`` (a letter repeated
three or more times kept twice: ``cool`` and ``good`` stay).

URLs, @mentions and HTML entities (``&amp;``, ``&#128514;``) are left as they are by every step after
``nfkc``: they are not words. A card records every option; an option it does not name was not there when the model was trained, so it is
off for that model (:meth:`SpellingNormaliser.from_dict`).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import asdict, dataclass, fields
from typing import Any, Iterable, Mapping

from curation import WorkbenchError

__all__ = ["SpellingNormaliser", "SPELLING_VERSION"]

SPELLING_VERSION = 1
"""Bumped whenever a step's behaviour changes: a card names the version its model was trained with."""

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_SPACED = re.compile(r"(?<!\w)(?:[^\W\d_] ){2,}[^\W\d_](?!\w)")
_MARKS = "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a\u064b-\u065f\u0900-\u0903\u093a-\u094f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_TOKEN = re.compile(rf"[\w@$][\w@${_MARKS}]*")  # a word as leetspeak writes it (combining accents inside it)
_HAS_LETTER = re.compile(r"[^\W\d_]")
_NUMBER_WITH_UNIT = re.compile(r"\d+(?:st|nd|rd|th|s|k|m|am|pm|x|h|min|kg|km|cm|mm|gb|mb)", re.IGNORECASE)
_RUN = re.compile(r"([^\W\d_])\1{2,}")
_PROTECTED = re.compile(rf"((?:https?://|www\.)\S+|(?<![\w@${_MARKS}])@\w+|&#?\w+;)")
_LEADING_NUMBER = re.compile(r"\d+[^\W\d_]{2,}")  # 4ever, 2day: a number said as a word, not leetspeak
_WORD = re.compile(rf"[^\W\d_](?:[^\W\d_]|[{_MARKS}])*")  # letters, with the accents they carry


@dataclass(frozen=True)
class SpellingNormaliser:
    """The spelling steps to apply (each on by default), as one callable: ``normaliser(text) -> text``.

    >>> SpellingNormaliser()("I h4t3 y0u, h a t e you, haaaaate 2024")
    'I hate you, hate you, haate 2024'
    >>> SpellingNormaliser(leetspeak=False)("h4t3")
    'h4t3'
    """

    nfkc: bool = True
    zero_width: bool = True
    homoglyphs: bool = True
    accents: bool = True
    spaced_letters: bool = True
    leetspeak: bool = True
    letter_runs: bool = True
    version: int = SPELLING_VERSION

    def __post_init__(self) -> None:
        if self.version != SPELLING_VERSION:
            raise WorkbenchError(
                "spelling normaliser",
                expected=f"version {SPELLING_VERSION}",
                got=f"version {self.version}",
                fix="load the model with the workbench version that trained it, or retrain it",
            )

    def __call__(self, text: str) -> str:
        if self.zero_width:  # first: a character the removal brings together is then composed by NFKC
            text = text.translate(_ZERO_WIDTH)
        if self.nfkc:
            text = unicodedata.normalize("NFKC", text)
        parts = _PROTECTED.split(text)  # URLs, @mentions and HTML entities are kept as they are (odd places)
        parts[::2] = [self._words(part) for part in parts[::2]]
        return "".join(parts)

    def _words(self, text: str) -> str:
        if self.spaced_letters:
            text = _SPACED.sub(lambda m: m.group(0).replace(" ", ""), text)
        if self.leetspeak:
            text = _TOKEN.sub(_read_leet, text)
            if self.nfkc:  # a digit read as a letter before a combining accent: compose them too
                text = unicodedata.normalize("NFKC", text)
        if self.homoglyphs and not text.isascii():  # after leetspeak, whose letters can make a text Latin
            text = _read_homoglyphs(text)
        if self.accents and not text.isascii():  # after leetspeak, which can put a letter under an accent
            text = _WORD.sub(_drop_accents, text)
        if self.letter_runs:
            text = _RUN.sub(r"\1\1", text)
        return text

    def apply(self, texts: Iterable[str]) -> list[str]:
        return [self(t) for t in texts]

    def to_dict(self) -> dict[str, Any]:
        """What a model card records: the version and every option."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpellingNormaliser:
        """The normaliser a card recorded; an unknown option is refused with the known ones, an option the
        card does not name is off (it did not exist when the card was written)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise WorkbenchError(
                "spelling normaliser options",
                expected=f"options among {sorted(known)}",
                got=str(unknown),
                fix="check the model card's spelling block",
            )
        return cls(**{**{f.name: False for f in fields(cls) if f.type in (bool, "bool")}, **dict(data)})


def _read_leet(match: re.Match) -> str:
    """A whole token, read as letters when it has a letter (all of its digits, @ and $ at once, so that a
    second pass finds nothing left to read); numbers, quantities (4th, 10k, 5pm) and @mentions stay."""
    word = match.group(0)
    if (
        word.startswith("@")
        or not _HAS_LETTER.search(word)
        or _NUMBER_WITH_UNIT.fullmatch(word)
        or _LEADING_NUMBER.fullmatch(word)
    ):
        return word
    return word.translate(_LEET)


def _script(ch: str) -> str:
    """The script of a letter as the first word of its Unicode name (``LATIN``, ``CYRILLIC``, ``GREEK``)."""
    return unicodedata.name(ch, "?").split(" ", 1)[0]


@functools.lru_cache(maxsize=4096)
def _latin_lookalike(ch: str) -> str | None:
    """The ASCII letter ``ch`` (a letter of another script) is confusable with, or ``None``."""
    from confusable_homoglyphs import confusables

    for found in confusables.is_confusable(ch, greedy=True, preferred_aliases=["latin"]) or []:
        for glyph in found["homoglyphs"]:
            c = glyph["c"]
            if len(c) == 1 and c.isascii() and c.isalpha():
                return c
            plain = anyascii(c) if glyph["n"].startswith("LATIN") else ""
            if len(plain) == 1 and plain.isalpha():  # a small capital and the like: its letter, in ch's case
                return plain.lower() if ch.islower() else plain.upper()
    return None


def _read_homoglyphs(text: str) -> str:
    letters = [c for c in text if c.isalpha()]
    latin_text = any(_script(c) == "LATIN" for c in letters)

    def word(m: re.Match) -> str:
        w = m.group(0)
        foreign = [c for c in w if c.isalpha() and _script(c) != "LATIN"]
        if not foreign or not latin_text:
            return w
        mapped = {c: _latin_lookalike(c) for c in set(foreign)}
        if None in mapped.values():  # a letter with no Latin look-alike: a word of that script
            return w
        return "".join(mapped.get(c, c) for c in w)

    return _WORD.sub(word, text)


def _drop_accents(m: re.Match) -> str:
    w = m.group(0)
    if w.isascii() or any(c.isalpha() and _script(c) != "LATIN" for c in w):
        return w
    plain = anyascii(w)
    return plain if plain.isalpha() else w


def anyascii(text: str) -> str:
    from anyascii import anyascii as _anyascii

    return _anyascii(text)
