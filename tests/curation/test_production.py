"""The production log importer: scored posts become an unlabelled pool, moderator decisions known labels,
user reports signals; bad input names file, line and field, and nothing is written."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation import ImportValidationError

MODELS = {"m-2026-11": ["hate", "offensive", "spam"]}


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _counts(project):
    conn = project.store.conn
    return tuple(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("production", "feedback", "records"))


def test_posts_form_an_unlabelled_pool_and_moderators_give_labels(project, tmp_path):
    log = _write(
        tmp_path / "week1.jsonl",
        [
            {
                "id": "p1",
                "text": "you people are vermin",
                "time": "2026-11-02T10:00:00Z",
                "model": "m-2026-11",
                "scores": {"hate": 0.91, "offensive": 0.4},
                "decisions": {"hate": 1},
                "feedback": {"type": "moderator_confirm", "label": "hate"},
            },
            {
                "id": "p2",
                "text": "lovely weather today",
                "time": "2026-11-02T11:30:00+01:00",
                "scores": {"hate": 0.02},
                "feedback": {"type": "user_report", "label": "spam"},
            },
            {
                "id": "p3",
                "text": "buy followers now",
                "time": "2026-11-03",
                "scores": {"spam": 0.7},
                "decisions": {"spam": 1},
                "feedback": {"type": "moderator_overturn", "label": "spam"},
            },
        ],
    )
    summary = project.production.import_log(log, models=MODELS)
    assert (summary.n_posts, summary.n_feedback, summary.n_labelled) == (3, 3, 2)
    assert summary.feedback == {"moderator_confirm": 1, "user_report": 1, "moderator_overturn": 1}
    pool = project.production.posts().set_index("id")
    # a row without a model name is the one model given; times are UTC
    assert pool.loc["p2", "model"] == "m-2026-11"
    assert str(pool.loc["p2", "time"]) == "2026-11-02 10:30:00+00:00"
    assert pool.loc["p1", "labels"] == {"hate": 1} and pool.loc["p1", "label_provenance"] == {"hate": "moderator"}
    assert pool.loc["p3", "labels"] == {"spam": 0}  # an overturn: the post does not carry the label
    assert pool.loc["p2", "labels"] == {} and pool.loc["p2", "split"] is None  # a report is a signal, not a label
    assert {pool.loc["p1", "split"], pool.loc["p3", "split"]} <= {"production_calib", "train", "valid"}
    assert _counts(project)[2] == 0  # the pool is not training data
    # the same file again is a no-op; a later row may bring feedback only, for a stored post
    again = project.production.import_log(log, models=MODELS)
    assert (again.n_posts, again.n_feedback, again.n_already_stored, again.import_id) == (0, 0, 3, "")
    later = _write(
        tmp_path / "later.jsonl",
        [{"id": "p2", "time": "2026-11-04T09:00:00Z", "feedback": {"type": "moderator_overturn", "label": "spam"}}],
    )
    assert project.production.import_log(later, models=MODELS).n_labelled == 1
    # a second decision on a post already labelled adds its label (and keeps the first)
    more = _write(
        tmp_path / "more.jsonl",
        [
            {
                "id": "p1",
                "time": "2026-11-05T09:00:00Z",
                "feedback": {"type": "moderator_overturn", "label": "offensive"},
            }
        ],
    )
    assert project.production.import_log(more, models=MODELS).n_labelled == 0
    p1 = project.production.posts().set_index("id").loc["p1"]
    assert p1["labels"] == {"hate": 1, "offensive": 0} and p1["label_provenance"] == {
        "hate": "moderator",
        "offensive": "moderator",
    }
    fb = project.production.feedback()
    assert list(fb["type"]) == [
        "moderator_confirm",
        "user_report",
        "moderator_overturn",
        "moderator_overturn",
        "moderator_overturn",
    ]


def test_labelled_posts_never_go_to_the_holdout(project, tmp_path):
    rows = [
        {
            "id": f"p{i}",
            "text": f"post number {i}",
            "time": "2026-11-02T10:00:00Z",
            "feedback": {"type": "moderator_confirm" if i % 2 else "moderator_overturn", "label": "hate"},
        }
        for i in range(400)
    ]
    project.production.import_log(_write(tmp_path / "log.jsonl", rows))
    splits = project.production.posts()["split"].value_counts(normalize=True)
    assert set(splits.index) == {"production_holdout", "production_calib", "train", "valid"}
    assert abs(splits["train"] - 0.6) < 0.08 and abs(splits["production_holdout"] - 0.15) < 0.06
    assert abs(splits["valid"] - 0.1) < 0.05


def test_a_project_that_states_the_old_fractions_keeps_them_and_stored_splits_never_move(project, tmp_path):
    """A workbench.yaml written before production_holdout existed states {production_calib, train, valid}:
    it is read whole (not merged with the new default), and a labelled post keeps the split it got."""
    import yaml

    from curation import Project
    from curation.production import production_split

    p = project
    cfg = yaml.safe_load((p.root / "workbench.yaml").read_text())
    cfg["production"] = {"splits": {"production_calib": 0.5, "train": 0.4, "valid": 0.1}}
    (p.root / "workbench.yaml").write_text(yaml.safe_dump(cfg))
    p = Project(p.root)
    rows = [
        {
            "id": f"p{i}",
            "text": f"post {i}",
            "time": "2026-11-02T10:00:00Z",
            "feedback": {"type": "moderator_confirm", "label": "hate"},
        }
        for i in range(200)
    ]
    p.production.import_log(_write(tmp_path / "log.jsonl", rows))
    before = p.production.posts().set_index("id")["split"]
    assert set(before) == {"production_calib", "train", "valid"}
    old = {"production_calib": 0.5, "train": 0.4, "valid": 0.1}
    assert all(before[pid] == production_split(pid, old) for pid in before.index)
    # the new default fractions apply to new posts only: relabelling a stored post keeps its split
    (p.root / "workbench.yaml").write_text(yaml.safe_dump({**cfg, "production": {}}))
    p = Project(p.root)
    again = [{**r, "feedback": {"type": "moderator_overturn", "label": "offensive"}} for r in rows]
    p.production.import_log(_write(tmp_path / "again.jsonl", again))
    assert (p.production.posts().set_index("id")["split"] == before).all()
    p.close()


@pytest.mark.parametrize(
    "row, field, words",
    [
        ({"id": "x", "time": "2026-11-02T10:00:00Z"}, "text", "expected the post's text"),
        (
            {
                "id": "x",
                "text": "t",
                "time": "2026-11-02T10:00:00Z",
                "feedback": {"type": "user_report", "label": "violence"},
            },
            "feedback.label",
            "expected a taxonomy label",
        ),
        (
            {"id": "x", "text": "t", "time": "2026-11-02T10:00:00Z", "feedback": {"type": "like", "label": "hate"}},
            "feedback.type",
            "user_report",
        ),
        ({"id": "x", "text": "t", "time": "last tuesday"}, "time", "ISO 8601"),
        (
            {"id": "x", "text": "t", "time": "2026-11-02T10:00:00Z", "scores": {"scam": 0.3}},
            "scores",
            "label 'scam' is not a label of model 'm-2026-11'",
        ),
        ({"id": "x", "text": "t", "time": "2026-11-02T10:00:00Z", "scores": {"hate": 1.7}}, "scores", "[0, 1]"),
        ({"id": "x", "text": "t", "time": "2026-11-02T10:00:00Z", "decisions": {"hate": 0.5}}, "decisions", "0 or 1"),
        ({"id": "x", "text": "t", "time": "2026-11-02T10:00:00Z", "model": "m-old"}, "model", "not a known model"),
    ],
)
def test_bad_rows_name_file_line_and_field_and_nothing_is_written(project, tmp_path, row, field, words):
    good = {
        "id": "ok",
        "text": "fine",
        "time": "2026-11-01T00:00:00Z",
        "feedback": {"type": "moderator_confirm", "label": "hate"},
    }
    log = _write(tmp_path / "bad.jsonl", [good, row])
    before = _counts(project)
    with pytest.raises(ImportValidationError) as e:
        project.production.import_log(log, models=MODELS)
    msg = str(e.value)
    assert f"bad.jsonl line 2: field '{field}'" in msg and words in msg and "nothing was written" in msg
    assert _counts(project) == before  # the valid first row was not written either


def test_csv_logs_and_a_changed_text_under_a_stored_id(project, tmp_path):
    csv_log = tmp_path / "log.csv"
    csv_log.write_text(
        "id,text,time,scores,feedback_type,feedback_label\n"
        'c1,"you, people",2026-11-02T10:00:00Z,"{""hate"": 0.8}",appeal,hate\n'
        "c2,hello,2026-11-02T10:05:00Z,,,\n"
    )
    s = project.production.import_log(csv_log)
    assert (s.n_posts, s.feedback) == (2, {"appeal": 1})
    assert project.production.posts().set_index("id").loc["c1", "scores"] == {"hate": 0.8}
    clash = _write(tmp_path / "clash.jsonl", [{"id": "c2", "text": "other text", "time": "2026-11-02T10:05:00Z"}])
    with pytest.raises(ImportValidationError, match="clash.jsonl line 1: id 'c2' is already stored"):
        project.production.import_log(clash)


_texty = st.one_of(st.none(), st.text(string.ascii_letters + " ", max_size=12), st.integers(), st.floats())
_row = st.fixed_dictionaries(
    {"id": st.one_of(st.text(string.ascii_lowercase, min_size=0, max_size=3), st.integers(0, 5))},
    optional={
        "text": _texty,
        "time": st.one_of(st.sampled_from(["2026-11-02T10:00:00Z", "2026-13-01", "", "2026-11-02 10:00"]), _texty),
        "scores": st.one_of(_texty, st.dictionaries(st.sampled_from(["hate", "spam", "nope"]), _texty, max_size=2)),
        "feedback": st.one_of(
            _texty,
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["user_report", "appeal", "moderator_confirm", "bad"]),
                    "label": st.sampled_from(["hate", "spam", "nope"]),
                }
            ),
        ),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_row, max_size=6))
def test_fuzzed_logs_import_whole_or_not_at_all(project, tmp_path, rows):
    before = _counts(project)
    path = tmp_path / "fuzz.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    try:
        s = project.production.import_log(path)
    except ImportValidationError as e:
        assert "fuzz.jsonl" in str(e) and _counts(project) == before
    else:
        after = _counts(project)
        assert after[0] - before[0] == s.n_posts and after[1] - before[1] == s.n_feedback
