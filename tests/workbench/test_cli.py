import json

import pandas as pd
import pytest

from workbench.cli import main

from ..conftest import shared


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
    error = err[err.index("error: ") :]  # after the import's stages
    assert error.startswith("error: import of") and "label map: target 'hate_speech' is not a taxonomy label" in error


def test_import_real_file_and_report(tmp_path, capsys):
    root = tmp_path / "p"
    assert main(["init", str(root)]) == 0
    assert (
        main(
            [
                "import",
                str(root),
                str(shared("ethos/Ethos_Dataset_Binary.csv")),
                "--format",
                "ethos",
                "--context",
                "comment",
            ]
        )
        == 0
    )
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


def test_help_lists_the_verb_groups(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "verb groups:" in out
    for group in ("project and data", "model", "server"):
        assert f"\n  {group} " in out
    for verb in ("init", "import", "model", "train", "server"):
        assert f"\n    {verb}" in out


def test_model_verbs_under_model(capsys):
    with pytest.raises(SystemExit):
        main(["model", "--help"])
    out = capsys.readouterr().out
    for verb in ("train", "evaluate", "gate", "predict", "promote", "export"):
        assert verb in out


@pytest.mark.slow
def test_closed_pipe_ends_quietly(demo):
    import subprocess
    import sys

    code = f"import sys; from workbench.cli import main; sys.exit(main(['stats', {str(demo)!r}, '--json']))"
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stdout.read(10)
    p.stdout.close()  # the reader goes away, as `| head -c 10` does
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 0
    assert first.startswith(b"{") and "Traceback" not in err and "BrokenPipe" not in err


def test_import_seeds_as_a_format(tmp_path, capsys):
    from ..conftest import REPO

    root = tmp_path / "p"
    assert main(["init", str(root), "--taxonomy", str(REPO / "data" / "demo" / "taxonomy.yaml")]) == 0
    capsys.readouterr()
    assert main(["import", str(root), str(REPO / "data" / "demo" / "seeds.yaml"), "--format", "seeds"]) == 0
    assert json.loads(capsys.readouterr().out)["n_inserted"] == 16
    assert main(["seeds", str(root)]) == 0
    assert capsys.readouterr().out.count(" batches ") == 3


def test_stack_errors_take_the_one_error_path(tmp_path, capsys):
    from curation import WorkbenchError
    from workbench.argilla import StackError

    assert issubclass(StackError, WorkbenchError)
    assert main(["server", "env", "--home", str(tmp_path / "nohome")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Argilla is not running") and "Traceback" not in err


def test_run_restores_the_callers_sigterm_handler_when_it_ends(tmp_path, capsys):
    """`workbench run` handles SIGTERM while it waits; once it ends the caller's handler is back."""
    import signal

    from workbench.session import WorkbenchSession

    def mine(*_):
        pass

    before = signal.signal(signal.SIGTERM, mine)
    try:
        session = WorkbenchSession(tmp_path / "proj", home=tmp_path / "home")
        session.wait()  # nothing started: returns at once, after stopping nothing
        assert signal.getsignal(signal.SIGTERM) is mine
        assert "stopping: nothing left" in capsys.readouterr().out
    finally:
        signal.signal(signal.SIGTERM, before)


def test_the_parser_is_built_without_the_heavy_libraries():
    """`workbench --help` answers in a fraction of a second (bench/cli_startup.py times every verb): building
    the parser imports none of pandas, scikit-learn, SciPy, torch or the Argilla SDK."""
    import subprocess
    import sys

    code = (
        "import sys; from workbench.cli import build_parser; build_parser(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'pandas', 'sklearn', 'scipy', 'torch', 'argilla', 'numpy', 'training'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_recipes_and_variants_the_parser_names_are_trainings():
    from training import RECIPES
    from training.artifacts import VARIANTS
    from workbench.cli import model

    assert tuple(RECIPES) == model.RECIPES and tuple(VARIANTS) == model.VARIANTS


def test_an_unknown_recipe_is_refused_naming_the_known_ones(tmp_path, capsys):
    from curation import Project, Taxonomy

    Project.init(tmp_path / "p", taxonomy=Taxonomy.from_dict({"labels": [{"name": "hate"}]})).close()
    assert main(["train", str(tmp_path / "p"), "--out", str(tmp_path / "m"), "--recipe", "haeds"]) == 2
    err = capsys.readouterr().err
    assert "'haeds'" in err and "heads" in err and "ensemble" in err
