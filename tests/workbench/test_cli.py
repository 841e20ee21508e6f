import json

import pandas as pd
import pytest

from workbench.cli import main

from .conftest import shared


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli") / "demo"
    assert main(["init", str(root), "--demo"]) == 0
    return root


def test_demo_stats_json(demo, capsys):
    capsys.readouterr()
    assert main(["stats", str(demo), "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["n_records"] == 2716
    assert st["by_source"] == {"davidson": 2000, "openai_moderation": 700, "seeds": 16}
    assert st["labels"]["harassment"]["unknown_rate"] > 0.7  # only the OpenAI slice knows it
    assert st["seeds"]["n"] == 3


def test_stats_table(demo, capsys):
    capsys.readouterr()
    assert main(["stats", str(demo)]) == 0
    out = capsys.readouterr().out
    assert "snapshot  snap-" in out and "unk%" in out and "hate_threatening" in out


def test_quarantine_roundtrip_via_cli(demo, capsys):
    capsys.readouterr()
    main(["snapshot", str(demo)])
    snap0 = json.loads(capsys.readouterr().out)["snapshot_id"]
    assert main(["quarantine", str(demo), "seed-scam-giftcard", "--reason", "sample failed"]) == 0
    out = capsys.readouterr().out
    assert "6 records left the training views" in out and snap0 in out
    assert main(["seeds", str(demo)]) == 0
    assert "QUARANTINED (sample failed)" in capsys.readouterr().out
    assert main(["unquarantine", str(demo), "seed-scam-giftcard"]) == 0
    assert snap0 in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_export(demo, tmp_path, fmt):
    out = tmp_path / f"records.{fmt}"
    assert main(["export", str(demo), "--format", fmt, "--out", str(out)]) == 0
    if fmt == "jsonl":
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert len(rows) == 2716
        assert rows[0]["labels"]["harassment"] is None  # unknown stays unknown, not 0
        assert set(rows[0]) >= {"id", "text", "split", "source", "origin", "labels", "label_provenance"}
    else:
        df = pd.read_parquet(out)
        assert len(df) == 2716 and str(df["hate"].dtype) == "Int8"


def test_import_error_exit_code(demo, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "nonsense": 1}\n')
    capsys.readouterr()
    assert main(["import", str(demo), str(bad), "--format", "jsonl", "--map", "nonsense=hate_speech"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: import of") and "label map: target 'hate_speech' is not a taxonomy label" in err


def test_import_real_file_and_report(tmp_path, capsys):
    root = tmp_path / "p"
    assert main(["init", str(root)]) == 0
    assert main(["import", str(root), str(shared("ethos/Ethos_Dataset_Binary.csv")), "--format", "ethos",
                 "--context", "comment"]) == 0
    capsys.readouterr()
    assert main(["report", str(root), "--out", str(tmp_path / "rep"), "--no-png"]) == 0
    assert (tmp_path / "rep" / "class_distribution.csv").exists()
    assert (tmp_path / "rep" / "split_calib_vs_holdout.csv").exists()


def test_map_syntax_error(tmp_path, capsys):
    root = tmp_path / "p"
    main(["init", str(root)])
    capsys.readouterr()
    assert main(["import", str(root), "x.csv", "--format", "csv", "--map", "oops"]) == 2
    assert "--map 'oops': expected COLUMN=LABEL" in capsys.readouterr().err
