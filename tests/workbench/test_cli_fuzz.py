"""No traceback for a user's mistake: every verb of the command line, driven by Hypothesis with bad paths,
bad files and bad option values, ends in a usage message or one ``error:`` line, never a traceback.

The verbs are read from the parser itself, so a verb added later is fuzzed without touching this file. Three
verbs are left out: ``run``, ``server start`` and ``review listen`` start long-lived servers when their input
is fine (their bad input is covered by their own tests)."""

from __future__ import annotations

import argparse
import contextlib
import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.cli import build_parser, main

SKIP = {("run",), ("server", "start"), ("review", "listen")}
BAD_VALUES = ["-1", "0", "nan", "abc", "", "1e999", "x=y", "==", "hate=0.5,x", "T9", "../..", "*"]


def _verbs() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    out = {}

    def walk(parser, prefix):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, (*prefix, name))
                return
        if prefix not in SKIP:
            out[prefix] = parser

    walk(build_parser(), ())
    return out


VERBS = _verbs()


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """Paths a user gets wrong: missing, a file for a folder, an empty folder, broken YAML / JSON / bytes."""
    root = tmp_path_factory.mktemp("bad-input")
    (root / "plain.txt").write_text("hello\n")
    (root / "empty").mkdir()
    (root / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (root / "broken.json").write_text('{"text": "unclosed\n')
    (root / "broken.jsonl").write_text('{"text": "ok", "hate": 1}\n{"text": \n')
    (root / "broken.yaml").write_text("labels: [hate,\n  - : :\n")
    (root / "empty.csv").write_text("")
    broken_project = root / "project-bad-yaml"
    broken_project.mkdir()
    (broken_project / "workbench.yaml").write_text("name: demo\nsplits: {train: 0.8,\n  valid: [\n")
    broken_taxonomy = root / "project-bad-taxonomy"
    broken_taxonomy.mkdir()
    (broken_taxonomy / "workbench.yaml").write_text("name: demo\n")
    (broken_taxonomy / "taxonomy.yaml").write_text("labels:\n  - name: hate\n    tier: [\n")
    model = root / "model-bad-card"
    model.mkdir()
    (model / "card.json").write_text('{"labels": ["hate"], ')
    names = [
        "missing",
        "plain.txt",
        "empty",
        "binary.bin",
        "broken.json",
        "broken.jsonl",
        "broken.yaml",
        "empty.csv",
        "plain.txt/sub",
        "project-bad-yaml",
        "project-bad-taxonomy",
        "model-bad-card",
    ]
    return [str(root / n) for n in names]


def _value(bad_paths):
    return st.one_of(st.sampled_from(bad_paths), st.sampled_from(BAD_VALUES), st.text(max_size=12))


@st.composite
def _argv(draw, bad_paths):
    verb = draw(st.sampled_from(sorted(VERBS)))
    parser = VERBS[verb]
    argv = list(verb)
    for action in parser._actions:
        if action.option_strings or action.dest == "help":
            continue
        argv.append(draw(_value(bad_paths)))
    options = [a for a in parser._actions if a.option_strings and a.dest not in ("help", "demo")]
    for action in draw(st.lists(st.sampled_from(options), max_size=3, unique_by=id)) if options else []:
        flag = action.option_strings[-1]
        if action.nargs == 0:
            argv.append(flag)
        else:
            argv.append(f"{flag}={draw(_value(bad_paths))}")
    return argv


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_verb_answers_bad_input_without_a_traceback(bad, tmp_path, monkeypatch, data):
    monkeypatch.setenv("HOME", str(tmp_path))  # the default Argilla home, never the user's
    monkeypatch.chdir(tmp_path)
    for var in ("ARGILLA_API_URL", "ARGILLA_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    argv = data.draw(_argv(bad))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse: a usage error (2) or --help (0)
            code = e.code
        except Exception as e:  # noqa: BLE001 - the point: any exception escaping main is a traceback
            pytest.fail(f"workbench {' '.join(argv)!r} raised {type(e).__name__}: {e}")
    assert code in (0, 1, 2, 3), (argv, code, err.getvalue()[-2000:])  # 3: `server status`, not running
    if code == 2:
        assert err.getvalue().strip(), f"workbench {argv}: exit 2 without a word"


def test_the_fuzzer_covers_every_verb():
    assert len(VERBS) >= 45 and ("import",) in VERBS and ("model", "predict") in VERBS
    assert os.environ.get("HOME")  # the fuzz test replaces it per example
