import re

import pytest
import yaml

from curation import Taxonomy, TaxonomyError, load_taxonomy

from ..conftest import REPO, STARTER_TAXONOMY


def test_defaults_follow_tier():
    tax = Taxonomy.from_dict({"labels": [{"name": "threat", "tier": "T1"}, {"name": "topic", "tier": "T5"}]})
    assert tax["threat"].action == "hide"
    assert tax["threat"].gate.recall_floor == 0.90
    assert tax["topic"].gate.fpr_budget == 0.20
    assert tax.label_names == ("threat", "topic")


def test_override_gate_and_range():
    tax = Taxonomy.from_dict(
        {
            "labels": [
                {"name": "scam", "tier": "T2", "gate": {"min_f1": 0.5}, "threshold_range": [0.2, 0.8], "action": "warn"}
            ]
        }
    )
    lab = tax["scam"]
    assert lab.gate.min_f1 == 0.5 and lab.gate.recall_floor == 0.75  # the rest from T2
    assert lab.threshold_range == (0.2, 0.8) and lab.action == "warn"


@pytest.mark.parametrize(
    "labels, message",
    [
        (
            [{"name": "a", "parent": "zzz"}],
            "<dict>: label 'a' (labels[0]): expected a parent that is one of ['a'], got unknown parent 'zzz'; "
            "add the parent label or fix its name",
        ),
        (
            [{"name": "a"}, {"name": "a"}],
            "<dict>: labels[1]: expected unique label names, got a second label named 'a'; rename or remove the duplicate",
        ),
        (
            [{"name": "a", "threshold_range": [0.2, 1.5]}],
            "<dict>: labels[0] ('a'): threshold_range[1]: expected a number in [0.0, 1.0], got 1.5; "
            "set threshold_range[1] inside [0.0, 1.0]",
        ),
        (
            [{"name": "a", "tier": "T9"}],
            "<dict>: labels[0] ('a'): tier: expected a tier in T1..T5, got 'T9'; set tier to one of T1, T2, T3, T4, T5",
        ),
        (
            [{"name": "a", "gate": {"min_f1": -0.1}}],
            "<dict>: labels[0] ('a'): gate.min_f1: expected a number in [0.0, 1.0], got -0.1; "
            "set gate.min_f1 inside [0.0, 1.0]",
        ),
        (
            [{"name": "a", "action": "ban"}],
            "<dict>: labels[0] ('a'): action: expected one of hide, warn, badge, none, got 'ban'",
        ),
        (
            [{"name": "a", "parent": "b"}, {"name": "b", "parent": "a"}],
            "<dict>: parents of 'a': expected a hierarchy without cycles, got a -> b -> a; break the cycle",
        ),
        (
            [{"name": "a", "colour": "red"}],
            "<dict>: labels[0] ('a'): expected keys among ['action', 'description', 'gate', 'group', 'min_holdout_positives', "
            "'min_positives', 'name', 'parent', 'threshold_range', 'tier'], got unknown keys ['colour']; remove or rename them",
        ),
    ],
)
def test_invalid_taxonomy_messages(labels, message):
    with pytest.raises(TaxonomyError, match=re.escape(message)):
        Taxonomy.from_dict({"labels": labels})


def test_hash_ignores_formatting_but_not_meaning(tmp_path):
    tax = load_taxonomy(STARTER_TAXONOMY)
    data = yaml.safe_load(STARTER_TAXONOMY.read_text())
    p = tmp_path / "t.yaml"
    p.write_text("# a comment\n" + yaml.safe_dump(data, default_flow_style=False))
    assert load_taxonomy(p).content_hash == tax.content_hash
    data["labels"][0]["tier"] = "T1"
    p.write_text(yaml.safe_dump(data))
    assert load_taxonomy(p).content_hash != tax.content_hash
    data["labels"][0], data["labels"][1] = data["labels"][1], data["labels"][0]
    p.write_text(yaml.safe_dump(data))
    assert load_taxonomy(p).label_names[0] == "offensive"


def test_saved_taxonomy_roundtrips(tmp_path):
    tax = load_taxonomy(REPO / "data" / "demo" / "taxonomy.yaml")
    tax.save(tmp_path / "t.yaml")
    again = load_taxonomy(tmp_path / "t.yaml")
    assert again == tax and again.content_hash == tax.content_hash


def test_label_order_error_names_both_orders():
    tax = Taxonomy.from_dict({"labels": ["spam", "threats"]})
    with pytest.raises(
        TaxonomyError,
        match=re.escape(
            "Label order of model ['threats', 'spam'] does not match taxonomy ['spam', 'threats']; "
            "re-export the model or load it with the taxonomy it was trained on"
        ),
    ):
        tax.check_label_order(["threats", "spam"])


def test_yaml_error_names_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("labels:\n  - {name: a, description: x, y}\n  - name: [\n")
    with pytest.raises(TaxonomyError, match=r"bad.yaml line \d+ column \d+: expected valid YAML"):
        load_taxonomy(p)


def test_missing_file():
    with pytest.raises(TaxonomyError, match="expected an existing YAML file, got no such file"):
        load_taxonomy("/nonexistent/taxonomy.yaml")
