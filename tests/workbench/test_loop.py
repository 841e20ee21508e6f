"""The loop turned until it converges (``workbench.turns``), the suite material that teaches the capability
(both signs perturbed, groups balanced, disjoint from the test side), the identity-balance report and the
per-group false-positive table - on a tiny real world and the starter suite."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from curation import Project, Taxonomy, normalise_text
from curation.suites import balance_warnings, expand_suite, identity_balance, load_suite
from training import TrainSpec, prepare_training, train_model
from training.evaluation import run_suite, suite_result
from workbench import STARTER_SUITES
from workbench.generate import SuiteProvider, balanced_sizes, generate_from_suite
from workbench.generate.base import GenerationStats, SeedSpec, Slot
from workbench.turns import (
    CONVERGED,
    LOST_GROUND,
    NOT_IMPROVED,
    NOTHING_TO_GENERATE,
    TurnHistory,
    accept_generated,
    run_turns,
)

from ..zorg_world import HATE_TAXONOMY, zorg_project


def _world(root: Path, *, negated_train: bool = True) -> Project:
    """'zorg' in a post is hate, except after 'no'; the suite's groups are 'quns' (named only in hateful
    posts of the store: unbalanced on purpose) and, on the test side, 'yoks'."""
    negated = [{"text": "no zorg {group} {w} at all", "side": "test"}]
    if negated_train:
        negated.append({"text": "no zorg {group} {w} at all", "side": "train"})
    suite = {
        "suite": "planted",
        "fillers": {
            "w": {"test": ["apple", "river", "cloud", "music"], "train": ["table", "stone", "garden"]},
            "group": {"test": ["yoks"], "train": ["quns", "bips"]},
        },
        "functionalities": [
            {
                "name": "says_zorg",
                "expect": {"hate": 1},
                "templates": [
                    {"text": "{group} zorg {w}", "side": "test"},
                    {"text": "{group} zorg {w}", "side": "train"},
                ],
            },
            {"name": "negated_zorg", "expect": {"hate": 0}, "templates": negated},
            {"name": "plain", "expect": {"hate": 0}, "templates": [{"text": "{group} {w} garden paper"}]},
        ],
    }
    return zorg_project(root, suite, hate_group="quns")


SPEC = TrainSpec(recipe="tfidf", mix=False, suite_pending=True)


def _train(p: Project, root: Path):
    return lambda k: train_model(p, root / f"m{k}", SPEC)


@pytest.mark.slow  # trains models
def test_the_loop_fixes_a_planted_failure_and_stops_when_nothing_fails(tmp_path):
    p = _world(tmp_path / "p")
    m0 = train_model(p, tmp_path / "m0", SPEC)
    assert [f.subject for f in suite_result(m0).verdict.failures] == ["negated_zorg"]
    seen = []
    history = run_turns(
        p,
        m0,
        train=_train(p, tmp_path),
        review=lambda proj, made: accept_generated(proj, made, reason="test: planted", actor="test"),
        turns=3,
        on_turn=seen.append,
    )
    assert history.stopped == CONVERGED and len(history.turns) == 1 and seen == history.turns
    turn = history.turns[0]
    assert turn.improved == ["negated_zorg"] and not turn.result.verdict.failures
    assert {b.seed_id for b in turn.made["batches"]} == {"suite-negated_zorg", "suite-says_zorg"}
    assert len(turn.review["accepted"]) == 2
    table = history.table()
    assert list(table.columns[:2]) == ["M0", "M1"] and table.loc["negated_zorg", "M0"] == 0.0
    assert table.loc["negated_zorg", "M1"] == 1.0 and table.loc["says_zorg", "M1"] == 1.0
    assert history.best == "M1" and history.best_model is turn.model
    from workbench.panels import turns_figure

    fig = turns_figure(history.results())
    assert sorted(t.name for t in fig.data) == ["negated_zorg", "plain", "says_zorg"]
    assert list(fig.data[0].x) == ["M0", "M1"]
    p.close()


@pytest.mark.slow  # trains models
def test_the_loop_stops_early_when_a_turn_improves_nothing(tmp_path):
    p = _world(tmp_path / "p")
    m0 = train_model(p, tmp_path / "m0", SPEC)
    # a review that accepts nothing: the batches stay pending, the next model learns nothing new
    history = run_turns(p, m0, train=_train(p, tmp_path), review=lambda proj, made: {"accepted": []}, turns=3)
    assert history.stopped == NOT_IMPROVED and len(history.turns) == 1
    assert history.turns[0].improved == [] and history.turns[0].result.verdict.failures
    assert history.table()["M1"].equals(history.table()["M0"])
    p.close()


@pytest.mark.slow  # trains models
def test_the_loop_stops_when_a_failure_has_no_train_side_material(tmp_path):
    p = _world(tmp_path / "p", negated_train=False)
    m0 = train_model(p, tmp_path / "m0", SPEC)
    history = run_turns(p, m0, train=_train(p, tmp_path), review=lambda proj, made: {}, turns=3)
    assert history.stopped.startswith(NOTHING_TO_GENERATE) and "negated_zorg" in history.stopped
    assert history.turns == []
    p.close()


@pytest.mark.slow  # trains models
def test_each_turn_makes_new_batches(tmp_path):
    p = _world(tmp_path / "p")
    m0 = train_model(p, tmp_path / "m0", SPEC)
    first = generate_from_suite(p, m0, n=10, round=0)
    second = generate_from_suite(p, m0, n=10, round=1)
    ids = [{b.batch_id for b in made["batches"]} for made in (first, second)]
    assert len(ids[0]) == 2 and not ids[0] & ids[1]
    frame = p.records.frame(include_unreviewed=True)
    texts = [set(frame.loc[frame["batch_id"].isin(i), "text"]) for i in ids]
    assert len(texts[0] & texts[1]) < len(texts[0])  # the second turn starts elsewhere
    p.close()


def test_identity_balance_reports_and_warns_on_an_unbalanced_mix(tmp_path):
    mix = pd.DataFrame(
        {
            "text": ["Sikhs are vile"] * 20
            + ["Sikhs live here", "SIKHS, hello"]
            + ["Arabs cook", "Arabs are vile"] * 6,
            "hate": [1] * 20 + [0, 0] + [0, 1] * 6,
        }
    )
    mix.loc[len(mix)] = {"text": "Sikhsville is a town", "hate": 1}  # not a whole word: not counted
    mix.loc[len(mix)] = {"text": "Sikhs again", "hate": np.nan}  # unknown: not counted
    table = identity_balance(mix, ["Sikhs", "Arabs", "Roma"], "hate").set_index("term")
    assert table.loc["Sikhs", ["positives", "negatives"]].tolist() == [20, 2]
    assert table.loc["Sikhs", "unbalanced"] and table.loc["Sikhs", "ratio"] == 10
    assert table.loc["Arabs", ["positives", "negatives"]].tolist() == [6, 6] and not table.loc["Arabs", "unbalanced"]
    assert table.loc["Roma", "positives"] == 0 and not table.loc["Roma", "unbalanced"]  # never named
    warnings = balance_warnings(table.reset_index(), "hate")
    assert len(warnings) == 1 and "'Sikhs'" in warnings[0] and "20 positive and 2 negative" in warnings[0]
    assert "add reviewed negative examples" in warnings[0] and "may come to mean hate" in warnings[0]
    other_way = pd.DataFrame({"text": ["Roma live here"] * 12 + ["Roma are vile"], "hate": [0] * 12 + [1]})
    (line,) = balance_warnings(identity_balance(other_way, ["Roma"], "hate"), "hate")
    assert "1 positive and 12 negative" in line and "hate about the group may be missed" in line
    with pytest.raises(KeyError, match="no column 'violence'"):
        identity_balance(mix, ["Sikhs"], "violence")


@pytest.mark.slow  # trains models
def test_training_reports_the_identity_balance_of_its_mix_and_warns(tmp_path, caplog):
    p = _world(tmp_path / "p")
    run = prepare_training(p, SPEC)
    balance = run.mix_report["identity_balance"]["hate"]
    assert balance["quns"]["negatives"] == 0 and balance["quns"]["positives"] > 30  # named in hateful posts only
    assert balance["yoks"] == {"positives": 0, "negatives": 0}
    assert any("'quns'" in w for w in run.warnings) and "'quns'" in caplog.text
    # the suite's contrasts name the groups on both signs: accepted, they bring the balance back
    m0 = train_model(p, tmp_path / "m0", SPEC)
    made = generate_from_suite(p, m0, n=40)
    accept_generated(p, made, reason="test", actor="test")
    after = prepare_training(p, SPEC).mix_report["identity_balance"]["hate"]
    bips = after["bips"]  # only the new material names bips: as often on each sign (a perturbation may hide it)
    assert bips["positives"] > 10 and abs(bips["positives"] - bips["negatives"]) <= 0.25 * bips["positives"]
    assert after["quns"]["negatives"] > 0
    p.close()


def _starter_cases():
    suite = load_suite(STARTER_SUITES / "hate.yaml", Taxonomy.from_dict(HATE_TAXONOMY))
    return expand_suite(suite)


def _batch(provider: SuiteProvider, functionality: str, n: int):
    seed = SeedSpec(f"suite-{functionality}", "", "positive", ("hate",), batch_size=n)
    return list(provider.generate(seed, [Slot(i, {}) for i in range(n)], stats=GenerationStats()))


def test_suite_material_perturbs_both_signs_alike_and_spreads_over_the_groups():
    cases = _starter_cases()
    train = [c for c in cases if c.side == "train"]
    provider = SuiteProvider(train)
    kinds = {}
    for func in ("explicit_derogation", "negated_hate", "positive_identity", "counter_speech"):
        items = _batch(provider, func, 600)
        n_cases = sum(c.functionality == func for c in train)
        perturbed = [it for it in items[n_cases:] if it.meta.get("perturbations")]
        assert len(perturbed) == len(items) - n_cases  # every item past the cases is a variant
        words = [it for it in perturbed if it.meta["perturbations"][0].startswith("word:")]
        kinds[func] = len(words) / len(perturbed)
        assert {k for it in words for k in it.meta["perturbations"]} >= {"word:leetspeak", "word:spaced", "word:masked"}
        whole = {k for it in perturbed for k in it.meta["perturbations"] if not k.startswith("word:")}
        assert {"swap", "deletion", "joined", "leetspeak", "spacing"} <= whole
        groups = collections.Counter(it.meta["fillers"]["group"] for it in items[:n_cases])
        assert len(groups) == 12
        even = 12 * min(groups.values())  # the cases take turns over the groups: any prefix up to here is even
        for k in (12, 60, even):
            prefix = collections.Counter(it.meta["fillers"]["group"] for it in items[:k])
            assert set(prefix.values()) == {k // 12}, (func, k, prefix)
    # hateful and benign functionalities get the same share of hidden words: spelling carries no label
    assert max(kinds.values()) - min(kinds.values()) < 0.1 and min(kinds.values()) > 0.35


def test_suite_material_never_equals_a_test_side_case():
    cases = _starter_cases()
    train = [c for c in cases if c.side == "train"]
    test_texts = {normalise_text(c.text) for c in cases if c.side == "test"}
    for func in ("spelling_variants", "explicit_derogation", "negated_hate"):
        items = _batch(SuiteProvider(train, test_texts=test_texts), func, 800)
        assert not {normalise_text(it.text) for it in items} & test_texts
        assert len({normalise_text(it.text) for it in items}) == len(items)  # no repeats within a batch
    # what the provider would make is refused once it is a test-side text: it draws another variant
    plain = _batch(SuiteProvider(train), "explicit_derogation", 400)
    n_cases = sum(c.functionality == "explicit_derogation" for c in train)
    taken = {normalise_text(it.text) for it in plain[n_cases:]}
    again = _batch(SuiteProvider(train, test_texts=taken), "explicit_derogation", 400)
    assert not {normalise_text(it.text) for it in again} & taken
    assert [it.text for it in again[:n_cases]] == [it.text for it in plain[:n_cases]]  # the cases themselves stay


def test_batch_sizes_name_the_groups_equally_often_on_both_signs(tmp_path):
    cases = [c for c in _starter_cases() if c.side == "train"]
    seeds = ["suite-explicit_derogation", "suite-negated_hate", "suite-neutral_identity", "suite-positive_identity"]
    sizes = balanced_sizes(seeds, cases)
    hateful = sizes["suite-explicit_derogation"]
    assert hateful == sizes["suite-negated_hate"] + sizes["suite-neutral_identity"] + sizes["suite-positive_identity"]
    provider = SuiteProvider(cases)
    counts = collections.Counter()
    for sid in seeds:
        func = sid.removeprefix("suite-")
        for it in _batch(provider, func, sizes[sid]):
            counts[(it.meta["fillers"]["group"], func == "explicit_derogation")] += 1
    groups = {g for g, _ in counts}
    assert len(groups) == 12
    for g in groups:  # every group named about as often in hateful as in benign items
        assert 0.8 <= counts[(g, True)] / counts[(g, False)] <= 1.25, (g, counts[(g, True)], counts[(g, False)])


def test_the_suite_result_has_a_false_positive_rate_per_group(tmp_path):
    cases = [c for c in _starter_cases() if c.side == "test"]

    def fires_on_muslims(texts):  # a model that treats one group's name as hate
        return np.array([[1.0 if "Muslims" in t else 0.0] for t in texts])

    result = run_suite(cases, fires_on_muslims, label_names=["hate"], thresholds=[0.5])
    table = result.by_group()
    assert table.loc["Muslims", "fpr"] == 1.0 and table.loc["Muslims", "fnr"] == 0.0
    others = table.drop(index="Muslims")
    assert (others["fpr"] == 0.0).all() and (others["fnr"] == 1.0).all()
    assert table["benign"].sum() == sum(  # the minimum-functionality cases: a perturbed copy is not counted again
        1 for c in cases if c.type == "mft" and "group" in c.fillers and all(v == 0 for v in c.expect.values())
    )
    assert set(table.index) == {c.fillers["group"] for c in cases if "group" in c.fillers}


def _suite_result(rates: dict[str, float], cases: int = 10):
    """A suite result's shape (functionalities, cases, verdict) with the given pass rates, for the stop rule
    alone: what generates, reviews and trains is tested on real models above."""
    from types import SimpleNamespace

    passed = [i < round(r * cases) for r in rates.values() for i in range(cases)]
    funcs = pd.DataFrame({"pass_rate": list(rates.values()), "min_pass": 0.9, "known_gap": False}, index=list(rates))
    failures = [SimpleNamespace(subject=f) for f, r in rates.items() if r < 0.9]
    return SimpleNamespace(
        cases=pd.DataFrame({"passed": passed}), functionalities=funcs, verdict=SimpleNamespace(failures=failures)
    )


def test_the_loop_stops_when_a_turn_loses_ground_and_names_the_best_model(monkeypatch):
    # M0 0.4 overall, M1 0.7, M2 gains on "b" but loses more on "a": 0.6 < 0.7 - min_gain
    rates = [{"a": 0.4, "b": 0.4}, {"a": 1.0, "b": 0.4}, {"a": 0.6, "b": 0.6}, {"a": 1.0, "b": 1.0}]
    models = ["m0", "m1", "m2", "m3"]
    monkeypatch.setattr(
        "workbench.turns.generate_from_suite", lambda project, model, **kw: {"batches": ["b"], "skipped": {}}
    )
    history = run_turns(
        None,
        "m0",
        train=lambda k: models[k],
        review=lambda project, made: {},
        suite=lambda m: _suite_result(rates[models.index(m)]),
        turns=3,
    )
    assert history.stopped.startswith(LOST_GROUND) and len(history.turns) == 2
    assert "0.700 (best, M1) -> 0.600" in history.stopped
    assert history.turns[1].improved == ["b"]  # it did improve something: the net loss stops it
    assert history.overall() == {"M0": 0.4, "M1": 0.7, "M2": 0.6}
    assert history.best == "M1" and history.best_model == "m1"


def test_the_best_model_is_the_earliest_on_a_tie():
    history = TurnHistory(_suite_result({"a": 0.5}), start_model="m0")
    assert history.best == "M0" and history.best_model == "m0"
    from workbench.turns import Turn

    history.turns.append(Turn(1, "m1", _suite_result({"a": 0.5}), {}, None, [], 0.0))
    assert history.best == "M0"
    history.turns.append(Turn(2, "m2", _suite_result({"a": 0.8}), {}, None, ["a"], 0.0))
    assert history.best == "M2" and history.best_model == "m2"
