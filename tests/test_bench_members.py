"""bench.spelling --compare members: the recipes it registers build the members each setting names (the
frozen-encoder heads with the ensemble's lexical members, with and without the character member), read
through the spec's normaliser, and tune their weights by the library ensemble's own rule."""

from __future__ import annotations

import dataclasses

import pytest

from bench.spelling import MEMBERS, register_member_recipes
from training import RECIPES, TrainSpec
from training.families import CharNgramClassifier, EnsembleClassifier, HeadsClassifier, TfidfClassifier


@pytest.fixture
def bench_recipes():
    """The bench's recipes registered for one test, then removed: the registry is the process's, and other
    tests (the command line's list of recipes) must not see them."""
    saved = dict(RECIPES)
    register_member_recipes()
    yield
    RECIPES.clear()
    RECIPES.update(saved)


def test_each_setting_builds_the_members_it_names(tmp_path, bench_recipes):
    register_member_recipes()  # twice is fine (a bench run imports it once, a test session may again)
    want = {
        "heads": [HeadsClassifier],
        "heads + tfidf": [HeadsClassifier, TfidfClassifier],
        "heads + tfidf + chars": [HeadsClassifier, TfidfClassifier, CharNgramClassifier],
        "chars alone": [CharNgramClassifier],
    }
    assert list(MEMBERS) == list(want)
    for name, (recipe, char) in MEMBERS.items():
        spec = dataclasses.replace(TrainSpec(), recipe=recipe, char_member=char)
        clf = RECIPES[recipe].build(spec, ["hate", "offensive"], [], tmp_path)
        members = clf.members if isinstance(clf, EnsembleClassifier) else [clf]
        assert [type(m) for m in members] == want[name], name
        assert all(m.spelling == spec.spelling for m in members), name
    assert RECIPES["heads-lexical"].after_fit is RECIPES["ensemble"].after_fit
