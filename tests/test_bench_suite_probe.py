"""The suite probe's spelling normaliser (bench/suite_probe.py: the library's SpellingNormaliser, every step on):
what it reads through and what it leaves."""

from __future__ import annotations

import pytest

from bench.suite_probe import normalise_spelling


@pytest.mark.parametrize(
    "text, want",
    [
        ("women are d1sgusting.", "women are disgusting."),
        ("I h4te them", "I hate them"),
        ("they are p a t h e t i c.", "they are pathetic."),
        ("so n@sty and tr4sh", "so nasty and trash"),
        ("I have 3 cats and 1 dog", "I have 3 cats and 1 dog"),  # numbers stay numbers
        ("a b", "a b"),  # two single letters are not a spaced-out word
        ("what a lovely day", "what a lovely day"),
    ],
)
def test_normalise_spelling(text, want):
    assert normalise_spelling(text) == want
