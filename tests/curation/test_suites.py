"""Functional suites: schema errors, expansion with provenance, the side rule, leakage, review state."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation import Project, Taxonomy, WorkbenchError
from curation.suites import (
    case_review_state,
    expand_project_suites,
    expand_suite,
    leakage_report,
    load_suite,
    read_cases,
)

TAX = Taxonomy.from_dict(
    {"labels": [{"name": "hate", "tier": "T2"}, {"name": "offensive", "tier": "T3"}, {"name": "threat", "tier": "T1"}]}
)

SUITE = {
    "suite": "mini",
    "licence": "MIT",
    "fillers": {
        "group": {"test": ["women", "Muslims"], "train": ["Sikhs", "Roma people", "Arabs"]},
        "adj": ["vile", "worthless"],  # a plain list is test-side
    },
    "functionalities": [
        {
            "name": "derogation",
            "description": "plain derogation",
            "expect": {"hate": 1, "offensive": None},
            "templates": [
                {"id": "d1", "text": "{group} are {adj}.", "side": "test"},
                {"id": "d2", "text": "I hate {group}.", "side": "both"},
            ],
        },
        {
            "name": "negation",
            "expect": {"hate": 0},
            "min_pass": 0.5,
            "known_gap": True,
            "templates": [{"id": "n1", "text": "{group} are not awful.", "side": "train"}],
            "cases": [
                "Nobody should hate anyone.",
                {"text": "I hate Mondays.", "side": "train", "expect": {"hate": 0}},
            ],
        },
    ],
}


def _write(tmp_path, data, name="mini.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_expansion_carries_provenance_and_keeps_the_sides_apart(tmp_path):
    suite = load_suite(_write(tmp_path, SUITE), TAX)
    cases = expand_suite(suite)
    test = {c.text: c for c in cases if c.side == "test"}
    train = {c.text: c for c in cases if c.side == "train"}
    assert set(test) == {
        "women are vile.",
        "women are worthless.",
        "Muslims are vile.",
        "Muslims are worthless.",
        "I hate women.",
        "I hate Muslims.",
        "Nobody should hate anyone.",
    }
    assert set(train) == {
        "I hate Sikhs.",
        "I hate Roma people.",
        "I hate Arabs.",
        "Sikhs are not awful.",
        "Roma people are not awful.",
        "Arabs are not awful.",
        "I hate Mondays.",
    }
    c = test["Muslims are worthless."]
    assert (c.suite, c.functionality, c.template_id, c.fillers) == (
        "mini",
        "derogation",
        "d1",
        {"group": "Muslims", "adj": "worthless"},
    )
    assert c.expect == {"hate": 1} and c.tier == "T2" and c.min_pass == 0.9 and c.origin == "suite"
    neg = train["I hate Mondays."]
    assert neg.expect == {"hate": 0} and neg.known_gap and neg.min_pass == 0.5 and neg.tier == "T2"
    assert len({c.id for c in cases}) == len(cases)
    assert [c.id for c in expand_suite(load_suite(_write(tmp_path, SUITE), TAX))] == [c.id for c in cases]  # stable


def test_a_test_side_case_equal_to_a_train_side_one_is_refused(tmp_path):
    data = json.loads(json.dumps(SUITE))
    data["fillers"]["group"]["both"] = ["Jews"]  # "I hate Jews." from the 'both' template on both sides
    with pytest.raises(WorkbenchError, match="train-side case\\(s\\) equal to test-side ones, e.g. derogation"):
        expand_suite(load_suite(_write(tmp_path, data), TAX))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["functionalities"][0]["expect"].update(nonsense=1), "labels of the taxonomy"),
        (lambda d: d["functionalities"][0]["templates"].append({"text": "{nobody} hi"}), "add fillers.nobody"),
        (lambda d: d["functionalities"][0]["templates"][0].update(side="dev"), "one of \\['test', 'train', 'both'\\]"),
        (lambda d: d["functionalities"][1].update(min_pass=2), "a share in \\[0, 1\\]"),
        (lambda d: d["functionalities"][1].update(name="derogation"), "a name used once"),
        (lambda d: d["functionalities"][0]["expect"].update(hate=2), "1, 0 or null"),
        (lambda d: d.update(extra=1), "unknown keys \\['extra'\\]"),
    ],
)
def test_schema_errors_say_where_and_what(tmp_path, change, message):
    data = json.loads(json.dumps(SUITE))
    change(data)
    with pytest.raises(WorkbenchError, match=message):
        load_suite(_write(tmp_path, data), TAX)


_scalar = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=8))
_yamlish = st.recursive(
    _scalar, lambda s: st.lists(s, max_size=3) | st.dictionaries(st.text(max_size=8), s, max_size=4), max_leaves=12
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        _yamlish,
        st.fixed_dictionaries({"functionalities": st.lists(_yamlish, max_size=3)}, optional={"fillers": _yamlish}),
    )
)
def test_any_yaml_is_a_suite_or_a_clear_error(tmp_path, data):
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(data))
    try:
        expand_suite(load_suite(path, TAX))
    except WorkbenchError as e:
        assert "expected" in str(e)


def test_project_expansion_never_stores_records_and_reports_leakage(tmp_path):
    p = Project.init(tmp_path / "p", taxonomy=TAX)
    p.records.import_frame(
        pd.DataFrame(
            {
                "text": ["Muslims are worthless!!", "a perfectly ordinary post about the weather today"] * 1,
                "hate": [1, 0],
            }
        ),
        source="t",
    )
    (p.root / "suites").mkdir()
    _write(p.root / "suites", SUITE)
    snap = p.snapshots.id()
    n_records = len(p.records.frame())
    cases = expand_project_suites(p.root, p.taxonomy)
    assert [c.id for c in read_cases(p.root)] == [c.id for c in cases]
    assert len(p.records.frame()) == n_records and p.snapshots.id() == snap  # cases are not records
    frame = p.records.frame().assign(split="train")  # as if the leaked record were a training record
    leaks = leakage_report(cases, frame)
    assert leaks["case"].tolist() == ["Muslims are worthless."] and leaks["similarity"].iloc[0] >= 0.8
    assert leakage_report(cases, frame.assign(split="holdout")).empty  # holdout records are no leakage
    p.close()


def test_review_state_keeps_agreed_cases_and_lists_disputes():
    suite, other = json.dumps({"dataset": "suite-review"}), json.dumps({"dataset": "batch-review"})
    rows = [
        ("ann1", "c1", "verdict", "yes", suite),
        ("ann2", "c1", "verdict", "yes", suite),
        ("ann1", "c2", "verdict", "yes", suite),
        ("ann2", "c2", "verdict", "no", suite),
        ("ann2", "c2", "labels", ["offensive"], suite),
        ("ann1", "c3", "verdict", "unsure", suite),
        ("ann2", "c3", "verdict", "no", other),  # another dataset's answer is not a suite answer
        ("ann1", "c4", "verdict", "no", suite),
        ("ann1", "c4", "verdict", "yes", suite),  # changed their mind: the latest answer counts
        ("ann2", "c4", "verdict", "unsure", suite),
    ]
    events = pd.DataFrame(
        [(i, a, "annotation", t, q, json.dumps(v), d) for i, (a, t, q, v, d) in enumerate(rows)],
        columns=["seq", "actor", "kind", "target", "question", "value", "detail"],
    )
    state = case_review_state(events, ["c1", "c2", "c3", "c4", "c5"]).set_index("case_id")
    assert state["state"].to_dict() == {"c1": "kept", "c2": "disputed", "c3": "pending", "c4": "kept", "c5": "pending"}
    assert state.loc["c2", "corrected"] == [["offensive"]] and state.loc["c4", "unsure"] == 1
