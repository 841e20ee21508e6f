"""CheckList's invariance and directional tests (``type: inv | dir``): they expand from a suite's own cases on
each side, gate a model with a failure rate per test, run on real unlabelled posts (`workbench suite run --on
holdout|pool`) and feed generation with contrast pairs of both signs."""

from __future__ import annotations

import json
import random

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from curation import Project, Taxonomy, WorkbenchError
from curation.suites import PERTURBATIONS, expand_suite, load_suite, perturb_text, read_cases
from training import TrainSpec, train_model
from workbench.cli import main

from ..zorg_world import HATE_TAXONOMY, WORDS, zorg_project

TAX = Taxonomy.from_dict(HATE_TAXONOMY)

SUITE = {
    "suite": "perturbed",
    "fillers": {
        "w": {"test": ["apple", "river", "cloud", "music"], "train": ["table", "stone"]},
        "calm": {"test": ["see you soon"], "train": ["bye for now"]},
        "marker": {"test": ["zorg"], "train": ["zorg zorg"]},
        "token": {"test": ["zorg", "garden"], "train": ["zorg", "light"]},
    },
    "functionalities": [
        {
            "name": "says_zorg",
            "expect": {"hate": 1},
            "templates": [{"text": "{w} zorg {w} garden"}, {"text": "zorg zorg {w} light", "side": "train"}],
        },
        {
            "name": "plain",
            "expect": {"hate": 0},
            "templates": [{"text": "{w} garden paper"}, {"text": "{w} window light", "side": "train"}],
        },
        {"name": "inv_typos", "type": "inv", "perturbation": "typos", "expect": {"hate": 1}},
        # planted: says 'zorg' and a plain word may stand for each other, which they may not (both signs fail)
        {"name": "inv_token_swap", "type": "inv", "perturbation": {"swap": "token"}, "expect": {"hate": 1}},
        {"name": "inv_calm_clause", "type": "inv", "perturbation": {"append": "calm"}, "expect": {"hate": 1}},
        {"name": "dir_marker_raises", "type": "dir", "perturbation": {"append": "marker"}, "expect": {"hate": 1}},
        # planted: says the marker must not raise hate, which it does
        {
            "name": "dir_marker_keeps_low",
            "type": "dir",
            "perturbation": {"append": "marker"},
            "expect": {"hate": 0},
            "originals": "benign",
            "from": ["plain"],
        },
    ],
}


def _suite(tmp_path, raw=SUITE):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_suite(path, TAX)


def test_perturbation_tests_expand_from_the_suites_own_cases_on_each_side(tmp_path):
    cases = expand_suite(_suite(tmp_path))
    mft = {(c.side, c.text): c for c in cases if c.type == "mft"}
    perturbed = [c for c in cases if c.type != "mft"]
    assert {c.functionality for c in perturbed} == {
        "inv_typos",
        "inv_token_swap",
        "inv_calm_clause",
        "dir_marker_raises",
        "dir_marker_keeps_low",
    }
    for c in perturbed:
        original = mft[(c.side, c.original)]  # an original of the same side: the side rule holds
        assert c.text != c.original and c.perturbation
        if c.type == "inv":  # the original's labels: hateful and benign originals alike
            assert c.expect == original.expect
    inv = [c for c in perturbed if c.functionality == "inv_typos"]
    assert {c.expect["hate"] for c in inv if c.side == "test"} == {0, 1}
    assert {c.expect["hate"] for c in inv if c.side == "train"} == {0, 1}
    # a directional train-side case comes only from an original that already expects its direction
    raises = [c for c in perturbed if c.functionality == "dir_marker_raises" and c.side == "train"]
    assert raises and all(mft[("train", c.original)].expect == {"hate": 1} for c in raises)
    # fillers stay on their side: a test-side clause never reaches the train side
    calm = [c for c in perturbed if c.functionality == "inv_calm_clause"]
    assert all(c.text.endswith("see you soon") for c in calm if c.side == "test")
    assert all(c.text.endswith("bye for now") for c in calm if c.side == "train")
    keeps_low = [c for c in perturbed if c.functionality == "dir_marker_keeps_low"]
    assert keeps_low and all(c.original.endswith("garden paper") or c.side == "train" for c in keeps_low)
    assert all(c.min_pass == 0.95 for c in perturbed)  # T2: at most 5 % may fail
    assert expand_suite(_suite(tmp_path)) == cases  # seeded: the same cases every time


@pytest.mark.parametrize(
    "change, message",
    [
        ({"type": "sideways"}, "type: expected one of \\['mft', 'inv', 'dir'\\]"),
        (
            {"perturbation": "shouting"},
            "perturbation: expected one of \\['typos', 'leetspeak', 'spacing', 'homoglyphs'\\]",
        ),
        ({"perturbation": {"swap": "groups"}}, "naming one of the suite's fillers"),
        ({"from": ["inv_calm_clause"]}, "from: expected minimum-functionality tests of this suite"),
        ({"templates": [{"text": "a {w}"}]}, "no templates or cases"),
        ({"originals": "everything"}, "originals: expected one of \\['all', 'hateful', 'benign'\\]"),
        ({True: "benign"}, "expected the key 'originals'"),
        ({"max_fail": 2}, "max_fail: expected a share in \\[0, 1\\]"),
    ],
)
def test_a_wrong_perturbation_test_is_refused_with_the_fix(tmp_path, change, message):
    raw = json.loads(json.dumps(SUITE))
    raw["functionalities"][2].update(change)
    with pytest.raises(WorkbenchError, match=message):
        _suite(tmp_path, raw)


TEXT = st.text(alphabet=st.sampled_from([*"abcdefghij", " ", ".", "!", "Z", "é"]), max_size=60)


@settings(max_examples=300, deadline=None)
@given(TEXT, st.sampled_from(sorted(PERTURBATIONS)), st.text(max_size=8))
def test_a_perturbation_changes_the_text_or_says_it_does_not_apply(text, kind, key):
    spec = {"kind": kind, **({"filler": "f"} if kind in ("swap", "append") else {})}
    values = ["abcd", "ghij", "a calm clause"]
    out = perturb_text(spec, text, key, values)
    assert out is None or (out != text and isinstance(out, str))
    assert perturb_text(spec, text, key, values) == out  # seeded by the key
    if kind in ("typos", "leetspeak", "spacing") and out is not None:
        assert sorted(out.replace(" ", "")) != [] and len(out) >= len(text)


@pytest.mark.slow
def test_they_gate_run_on_posts_and_feed_generation_with_pairs_of_both_signs(tmp_path, capsys):
    p = zorg_project(tmp_path / "p", SUITE)
    m = train_model(p, tmp_path / "m", TrainSpec(recipe="tfidf", mix=False, suite_pending=True))
    torch = m.card.variants["torch"]
    failing = sorted(f.subject for f in torch.gate.failures if f.kind == "functionality")
    assert failing == ["dir_marker_keeps_low", "inv_token_swap"], torch.gate.failures
    rates = torch.suite["functionalities"]
    assert rates["inv_calm_clause"] == 1.0 and rates["dir_marker_raises"] == 1.0
    assert rates["inv_token_swap"] < 0.95 and rates["dir_marker_keeps_low"] == 0.0
    assert (
        torch.suite["details"]["inv_token_swap"]["type"] == "inv" and torch.suite["details"]["plain"]["type"] == "mft"
    )
    assert main(["suite", "run", str(m.root)]) == 1
    out = capsys.readouterr().out
    assert "FAIL functionality inv_token_swap (T2): unchanged decisions (" in out and " -> " in out
    assert "FAIL functionality dir_marker_keeps_low (T2): scores moved the right way (0/" in out
    # the notebook's figure: pass rates of the minimum-functionality tests beside the others' failure rates
    from training.evaluation import suite_result
    from workbench.panels import suite_figure, turns_figure

    fig = suite_figure({"M": suite_result(m)})
    left = [t for t in fig.data if t.type == "bar" and t.xaxis == "x"]
    right = {x: y for t in fig.data if t.type == "bar" and t.xaxis == "x2" for x, y in zip(t.x, t.y)}
    assert sorted(left[0].x) == ["plain", "says_zorg"]
    assert right["dir_marker_keeps_low"] == 1.0 and right["inv_calm_clause"] == 0.0
    assert {t.name for t in turns_figure({"M": suite_result(m)}).data} == {"plain", "says_zorg"}

    # on real posts, which need no label: the holdout split, then production posts
    assert main(["suite", "run", str(m.root), "--on", "holdout", "--json"]) == 1
    on_holdout = json.loads(capsys.readouterr().out)
    assert set(on_holdout["functionalities"]) == {
        "inv_typos",
        "inv_token_swap",
        "inv_calm_clause",
        "dir_marker_raises",
        "dir_marker_keeps_low",
    }
    assert on_holdout["functionalities"]["inv_token_swap"] < 0.95
    assert on_holdout["functionalities"]["dir_marker_keeps_low"] == 0
    assert on_holdout["details"]["dir_marker_keeps_low"]["cases"] > 0  # benign by their known labels
    rng = random.Random(1)
    log = tmp_path / "log.jsonl"
    log.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"x{i}",
                    "text": " ".join(rng.sample(WORDS, 4) + (["zorg"] if i % 2 else [])),
                    "time": "2026-12-01T10:00:00Z",
                }
            )
            + "\n"
            for i in range(60)
        )
    )
    p.production.import_log(log)
    assert main(["suite", "run", str(m.root), "--on", "pool", "--json", "--max-posts", "20"]) == 1
    on_pool = json.loads(capsys.readouterr().out)
    assert on_pool["details"]["inv_calm_clause"]["cases"] == 20  # at most --max-posts per test
    assert on_pool["functionalities"]["dir_marker_raises"] == 1.0
    # the benign ones picked by the model's own decisions: the posts without the marker
    assert (
        on_pool["details"]["dir_marker_keeps_low"]["cases"] == 20
        and on_pool["functionalities"]["dir_marker_keeps_low"] == 0
    )

    # a failing invariance test feeds generation: the perturbed train-side text and its original, both signs
    p.close()
    assert main(["generate", str(tmp_path / "p"), "--from-suite", str(m.root), "--n", "16"]) == 0
    capsys.readouterr()
    with Project(tmp_path / "p") as p:
        batches = p.batches.frame().set_index("seed_id")
        assert {"suite-inv_token_swap", "suite-dir_marker_keeps_low"} <= set(batches.index)
        records = p.records.frame(include_unreviewed=True)
        generated = records[records["origin"] == "generated"]  # a text two batches share is stored once
        mine = records[records["batch_id"] == batches.loc["suite-inv_token_swap", "id"]]
        cases = [c for c in read_cases(p.root) if c.side == "train" and c.functionality == "inv_token_swap"]
        assert {c.text for c in cases} <= set(mine["text"])  # every perturbed train-side text
        texts = set(generated["text"])
        pairs = [c for c in cases if c.original in texts]  # ... beside its original
        assert len(pairs) == len(cases) and {c.expect["hate"] for c in pairs} == {0, 1}
        for c in pairs:  # the pair carries one label: the original's
            assert set(generated[generated["text"].isin([c.text, c.original])]["hate"]) == {c.expect["hate"]}
        seed = p.seeds.frame().set_index("id").loc["suite-inv_token_swap"]
        assert seed["kind"] == "positive" and list(seed["target_labels"]) == ["hate"]
        test_texts = {c.text for c in read_cases(p.root) if c.side == "test"}
        assert not texts & test_texts
