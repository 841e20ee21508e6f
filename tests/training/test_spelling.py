"""The spelling normaliser (issue 45's first step): what people do to a word to get it past a filter is read
back as the word; what it has no step for is left as it is; its options are what a card records."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation import WorkbenchError
from training.families import SpellingNormaliser

# words of letters only, no letter three times in a row (a stretched word is a perturbation of its own)
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=9).filter(
    lambda w: not any(w[i] == w[i + 1] == w[i + 2] for i in range(len(w) - 2))
)
LEET_OF = str.maketrans({"o": "0", "i": "1", "e": "3", "a": "4", "s": "5", "t": "7"})
FULL_WIDTH = {c: chr(ord(c) - ord("a") + 0xFF41) for c in "abcdefghijklmnopqrstuvwxyz"}
CYRILLIC_LOOKALIKE = str.maketrans(
    {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441", "x": "\u0445"}
)
ACCENTED = str.maketrans({"a": "\u00e2", "e": "\u00eb", "i": "\u00ef", "o": "\u00f6", "u": "\u00fa", "n": "\u00f1"})


def _perturb(word: str, how: str) -> str:
    if how == "leet":
        return word.translate(LEET_OF)
    if how == "spaced":
        return " ".join(word)
    if how == "zero_width":
        return "\u200b".join(word)
    if how == "full_width":
        return "".join(FULL_WIDTH[c] for c in word)
    if how == "homoglyph":
        return word.translate(CYRILLIC_LOOKALIKE)
    if how == "accents":
        return word.translate(ACCENTED)
    return word[0] * 5 + word[1:] if how == "stretched" else word


@settings(max_examples=300, deadline=None)
@given(
    st.lists(WORD, min_size=1, max_size=6),
    st.sampled_from(["leet", "spaced", "zero_width", "full_width", "homoglyph", "accents"]),
)
def test_a_perturbed_word_reads_back_as_the_word(words, how):
    """A word written in leetspeak needs one letter left to be read as a word (all digits is a number), and
    digits then a unit (``4k``, ``5th``, ``7pm``) stay a quantity."""
    if how == "leet":
        words = [w for w in words if set(w) - set("oieast") and not re.fullmatch(r"\d+[a-z]*", _perturb(w, how))] or [
            "hate"
        ]
    if how == "spaced":  # two single letters may be two words ("I a"): three or more are joined
        words = [w for w in words if len(w) >= 3] or ["hate"]
    if how == "homoglyph":  # look-alikes are read as Latin in a text that has Latin letters (not in a Russian one)
        words = [*words, "ok"]
    normalise = SpellingNormaliser()
    text = " ".join(words)
    perturbed = " ".join(_perturb(w, how) if i % 2 == 0 else w for i, w in enumerate(words))
    if how == "spaced":  # two spaced-out words side by side would read as one: keep them apart
        perturbed = ", ".join(_perturb(w, how) if i % 2 == 0 else w for i, w in enumerate(words))
        text = ", ".join(words)
    assert normalise(perturbed) == text


TRICKY = st.sampled_from([*"ab xo 4301@$.,!_", "\u200b", "\u00ad", "\u0301", "é", "İ", "ß", "ﬁ", "①", "²", "ｈ"])


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=80), st.text(alphabet=TRICKY, max_size=30)))
def test_normalising_twice_is_normalising_once(text):
    """What one pass leaves has nothing left for a second (a digit read as a letter before an accent is
    composed with it; a zero-width character is removed before NFKC composes what it separated)."""
    normalise = SpellingNormaliser()
    assert normalise(normalise(text)) == normalise(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(WORD, min_size=1, max_size=8), st.sampled_from([", ", ". ", " ", "! "]))
def test_plain_words_are_left_as_they_are(words, sep):
    text = sep.join(w.capitalize() if i % 3 == 0 else w for i, w in enumerate(words))
    assert SpellingNormaliser()(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "call me at 555-1234",
        "it was 2024, the 4th time",
        "10k people at 5pm",
        "@bob said hi",
        "100% sure",
        "good, cool",
        "Yankees 4ever, see you 2day",
        "@JamesOKeefeIII wrote http://artistdata.com/a/2oy4 &#8220;yes&#8221; &amp; more",
    ],
)
def test_numbers_mentions_and_doubled_letters_stay(text):
    assert SpellingNormaliser()(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "\u041f\u0440\u0438\u0432\u0435\u0442, \u0434\u0440\u0443\u0433",  # Russian words: letters with no Latin look-alike
        "\u0414\u041e\u041c",  # a Cyrillic word alone, not in a Latin text
        "\u03a4\u03bf \u03c3\u03c0\u03af\u03c4\u03b9 \u03bc\u03bf\u03c5",  # Greek
        "\u6211\u6068\u4f60 and \u0645\u0631\u062d\u0628\u0627",  # Chinese, Arabic
    ],
)
def test_words_of_other_scripts_stay(text):
    assert SpellingNormaliser()(text) == text


def test_look_alike_letters_of_another_script_read_as_latin():
    normalise = SpellingNormaliser()
    assert normalise("I h\u0430te y\u043eu") == "I hate you"  # Cyrillic a and o inside Latin words
    assert normalise("\u041d\u0410\u0422\u0415 them all") == "HATE them all"  # a whole look-alike word, Latin text
    assert (
        normalise("h\u00e2t\u00eb") == "hate"
        and SpellingNormaliser(accents=False)("h\u00e2t\u00eb") == "h\u00e2t\u00eb"
    )
    assert SpellingNormaliser(homoglyphs=False)("h\u0430te") == "h\u0430te"


def test_an_option_a_card_does_not_name_is_off():
    """A card written before an option existed was trained without it: it is served without it."""
    old = SpellingNormaliser.from_dict({"nfkc": True, "zero_width": True, "version": 1})
    assert old.homoglyphs is False and old.leetspeak is False and old("h\u0430te h4t3") == "h\u0430te h4t3"


def test_each_step_is_an_option_and_the_card_records_them():
    assert SpellingNormaliser()("haaaate") == "haate" and SpellingNormaliser(letter_runs=False)("haaaate") == "haaaate"
    off = SpellingNormaliser(nfkc=False, zero_width=False, spaced_letters=False, leetspeak=False, letter_runs=False)
    assert off("h 4 t 3\u200b ｈａｔｅ") == "h 4 t 3\u200b ｈａｔｅ"
    recorded = SpellingNormaliser(leetspeak=False).to_dict()
    assert recorded["version"] == 1 and recorded["leetspeak"] is False
    assert SpellingNormaliser.from_dict(recorded) == SpellingNormaliser(leetspeak=False)
    with pytest.raises(WorkbenchError, match="got \\['lowercase'\\]"):
        SpellingNormaliser.from_dict({**recorded, "lowercase": True})
    with pytest.raises(WorkbenchError, match="expected version 1"):
        SpellingNormaliser.from_dict({**recorded, "version": 9})
