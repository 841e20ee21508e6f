"""A user's mistakes, one test each, through the real command line: a clear message that says what was
expected, what arrived and how to fix it; nothing already stored lost or half-written; never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from curation import Project
from curation.store import Store
from curation.store._lock import WriteLock
from workbench.cli import main

from ..conftest import REPO

WORKBENCH = str(Path(sys.executable).parent / "workbench")


def _imports(root) -> int:
    with Store(root / "store.sqlite") as st:
        return st.conn.execute("SELECT COUNT(*) FROM imports").fetchone()[0]


@pytest.fixture
def root(tmp_path, small_taxonomy):
    Project.init(tmp_path / "proj", taxonomy=small_taxonomy).close()
    return tmp_path / "proj"


def test_a_mistyped_label_column_is_refused_with_both_fixes(root, tmp_path, capsys):
    data = tmp_path / "posts.csv"
    data.write_text("text,hte,lang\nyou people are vermin,1,en\nlovely day,0,en\n")
    assert main(["import", str(root), str(data), "--format", "csv"]) == 2
    err = capsys.readouterr().err
    assert "column 'hte' looks like a label (did you mean 'hate'?)" in err and "nothing was written" in err
    assert "--map hte=LABEL" in err and "--ignore-column hte" in err and "labels: hate, offensive" in err
    assert "'lang'" not in err  # a plain metadata column is kept as it was
    assert _imports(root) == 0
    assert main(["import", str(root), str(data), "--format", "csv", "--map", "hte=hate"]) == 0
    with Project(root) as p:
        assert sorted(p.records.frame()["hate"].tolist()) == [0.0, 1.0]


def test_a_binary_column_that_is_no_label_can_be_kept_out(root, tmp_path, capsys):
    data = tmp_path / "posts.jsonl"
    data.write_text('{"text": "hello there", "is_reply": true}\n{"text": "and you", "is_reply": false}\n')
    assert main(["import", str(root), str(data), "--format", "jsonl"]) == 2
    assert "column 'is_reply' looks like a label (its values are all 1/0" in capsys.readouterr().err
    assert main(["import", str(root), str(data), "--format", "jsonl", "--ignore-column", "is_reply"]) == 0
    err = capsys.readouterr().err  # the import's stages, labelled, on stderr
    for stage in ("import: reading", "import: checking 2 rows", "duplicates and splits of 2 new records", "writing 2"):
        assert stage in err, err
    with Project(root) as p:
        assert len(p.records.frame()) == 2


def test_a_text_over_the_length_limit_is_refused_naming_its_line(root, tmp_path, capsys):
    data = tmp_path / "posts.jsonl"
    data.write_text(json.dumps({"text": "ok", "hate": 0}) + "\n" + json.dumps({"text": "x" * 20_001, "hate": 1}) + "\n")
    assert main(["import", str(root), str(data), "--format", "jsonl"]) == 2
    err = capsys.readouterr().err
    assert f"{data} line 2: a text of 20,001 characters; expected at most 20,000 (max_text_chars" in err
    assert _imports(root) == 0
    cfg = (root / "workbench.yaml").read_text() + "max_text_chars: 30000\n"
    (root / "workbench.yaml").write_text(cfg)
    assert main(["import", str(root), str(data), "--format", "jsonl"]) == 0


def test_an_empty_file_says_0_records_and_creates_no_import(root, tmp_path, capsys):
    data = tmp_path / "empty.csv"
    data.write_text("text,hate\n")
    assert main(["import", str(root), str(data), "--format", "csv"]) == 0
    out = capsys.readouterr()
    assert "0 records in" in out.err and "no import was created" in out.err
    assert json.loads(out.out)["n_read"] == 0 and _imports(root) == 0


def test_a_yaml_syntax_error_in_workbench_yaml_names_the_file_and_line(root, capsys):
    cfg = root / "workbench.yaml"
    cfg.write_text(cfg.read_text() + "splits: {train: 0.8,\n  valid: [\n")
    assert main(["stats", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {cfg} line ") and "expected valid YAML" in err and "Traceback" not in err


def test_predict_with_a_missing_input_says_so(tmp_path, capsys):
    model = REPO / "tests" / "fixtures" / "legacy_models" / "tfidf"
    missing = tmp_path / "nope.jsonl"
    assert main(["predict", str(model), "--input", str(missing), "--output", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert f"--input {missing}" in err and "no such file" in err and "check the path" in err


def test_a_missing_file_anywhere_is_one_error_line(root, tmp_path, capsys):
    assert main(["import", str(root), str(tmp_path / "nope.csv"), "--format", "csv"]) == 2
    assert "nope.csv" in capsys.readouterr().err


def _failed_model(tmp_path) -> Path:
    """The legacy tf-idf model with its gate verdict turned to failed (a copy), and no promotion."""
    model = tmp_path / "failed"
    shutil.copytree(REPO / "tests" / "fixtures" / "legacy_models" / "tfidf", model)
    card = json.loads((model / "model.json").read_text())
    card["project"] = str(tmp_path / "no-project")
    for info in card["variants"].values():
        info["passed"] = False
        info["gate"]["passed"] = False
    (model / "model.json").write_text(json.dumps(card))
    return model


def test_predict_on_a_gate_failed_unpromoted_model_warns_marks_rows_and_require_pass_refuses(tmp_path, capsys):
    model = _failed_model(tmp_path)
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text('{"text": "you people are vermin", "hate": 0}\n{"text": "lovely day"}\n')
    assert main(["predict", str(model), "--input", str(inp), "--output", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: ") and "did not pass its gate and this model is not promoted" in err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["gate_passed"] for r in rows] == [False, False]
    # the input's gold field stays with the input, apart from the predictions
    assert rows[0]["input"] == {"text": "you people are vermin", "hate": 0} and "hate" not in rows[0]
    assert set(rows[0]) >= {"input", "probabilities", "decisions", "action", "variant", "gate_passed"}
    out.unlink()
    assert main(["predict", str(model), "--input", str(inp), "--output", str(out), "--require-pass"]) == 2
    assert "--require-pass" in capsys.readouterr().err and not out.exists()
    # the fixture as shipped passed its gate: no warning, rows marked passed
    good = REPO / "tests" / "fixtures" / "legacy_models" / "tfidf"
    assert main(["predict", str(good), "--input", str(inp), "--output", str(out), "--require-pass"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert all(json.loads(line)["gate_passed"] for line in out.read_text().splitlines())


@pytest.mark.slow
def test_ctrl_c_during_an_import_says_interrupted_and_writes_nothing(root, tmp_path):
    data = tmp_path / "big.csv"
    data.write_text(
        "text,hate\n" + "".join(f"post number {i} about topic {i % 97} and more,{i % 2}\n" for i in range(60_000))
    )
    proc = subprocess.Popen(
        [WORKBENCH, "import", str(root), str(data), "--format", "csv"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # as a command typed at a terminal gets it, whatever this test runs under (a shell's background job,
        # as make test's may be, has SIGINT ignored, and Python then installs no KeyboardInterrupt handler)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = []
    while not seen or "checking 60,000 rows" not in seen[-1]:  # the import holds the write lock: under way
        seen.append(proc.stderr.readline())
        assert seen[-1], f"the import ended before it was interrupted: {seen}"
    assert WriteLock(root / "store.sqlite", timeout=0).holder().get("pid") == proc.pid
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    _, rest = proc.communicate(timeout=120)
    err = "".join(seen) + rest
    assert proc.returncode == 130, err
    assert "interrupted; nothing was written" in err and "Traceback" not in err
    assert _imports(root) == 0
    with Project(root) as p:
        assert len(p.records.frame()) == 0
