"""The workbench as people install it: a wheel built from the tracked files, installed into a fresh
virtualenv outside the checkout, used from another folder.

1. The core (no extras) can ``import training`` and train the ``tfidf`` recipe on a small project, has
   neither argilla-server nor JupyterLab, and ``workbench run`` says which extra to install.
2. With ``[workbench]`` added, ``workbench init --demo`` builds the demo from the data inside the wheel
   and ``workbench run`` starts Argilla and JupyterLab (serving the wheel's notebooks, copied under the
   home) and stops both on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ..conftest import REPO, argilla_port

pytestmark = pytest.mark.slow


def _run(argv, *, cwd, env, timeout=900, check=True):
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, f"{argv} exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the tracked files (what a fresh clone has, nothing built beside it)."""
    src = tmp_path_factory.mktemp("src")
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        if (REPO / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, src / rel)
    out = tmp_path_factory.mktemp("dist")
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)],
        cwd=src,
        env=os.environ.copy(),
    )
    (found,) = out.glob("moderation_workbench-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("venv") / "v"
    _run([sys.executable, "-m", "venv", str(path)], cwd=path.parent, env=os.environ.copy())
    return path


def _install(py: str, spec: str, *, cwd: Path, env: dict) -> None:
    """``pip install spec`` into the venv of ``py``, done by uv where the test environment has it (as ``make
    install`` does: several times faster, the same resolution given pip's configuration, tools/uv_args.py),
    else by pip without byte-compiling up front (Python writes the bytecode of what is imported on first use)."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv is None:
        _run([py, "-m", "pip", "install", "--quiet", "--no-compile", spec], cwd=cwd, env=env)
        return
    pip_config = _run([sys.executable, str(REPO / "tools" / "uv_args.py")], cwd=cwd, env=os.environ.copy())
    _run([uv, "pip", "install", "--quiet", "--python", py, *shlex.split(pip_config.stdout), spec], cwd=cwd, env=env)


def _env(venv: Path, home: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "ARGILLA_", "WORKBENCH_"))
    }
    env.update(
        PATH=f"{venv / 'bin'}:{env.get('PATH', '')}", HF_HUB_OFFLINE="1", WORKBENCH_HOME=str(home), PYTHONNOUSERSITE="1"
    )
    return env


CORE_CHECK = """
import importlib.util, json, sys
import foundation, training, curation, training.evaluation, curation.views
from curation import Project, Taxonomy
from training import TrainSpec, train_model
for package in (foundation, curation, training, training.evaluation, curation.views):
    assert "site-packages" in package.__file__, package.__file__
missing = [m for m in ("argilla_server", "argilla", "jupyterlab", "ipywidgets", "umap") if importlib.util.find_spec(m)]
assert not missing, f"the core pulled in {missing}"
tax = Taxonomy.from_dict({"labels": [{"name": "spam", "group": "spam", "tier": "T4"}]})
words = ["buy cheap pills now", "win a free prize today", "click this link for money", "limited offer act now"]
clean = ["see you at the match", "the meeting moved to noon", "thanks for the notes", "lunch at the usual place"]
rows = [{"text": f"{t} {i}", "spam": 1} for i in range(40) for t in words[:1]] + \\
       [{"text": f"{words[i % 4]} number {i}", "spam": 1} for i in range(60)] + \\
       [{"text": f"{clean[i % 4]} number {i}", "spam": 0} for i in range(200)]
import pandas as pd
project = Project.init(sys.argv[1], taxonomy=tax)
project.import_frame(pd.DataFrame(rows), source="tiny")
model = train_model(project, sys.argv[2], TrainSpec(recipe="tfidf", mix=False))
print(json.dumps({"labels": model.labels, "recipe": model.card.recipe,
                  "probability": float(model.classifier().predict_proba(["buy cheap pills now 7"])[0, 0])}))
"""


def test_core_wheel_trains_tfidf_and_the_workbench_extra_runs(wheel, venv, tmp_path):
    work = tmp_path / "elsewhere"  # far from the checkout: nothing can be read from beside the package
    work.mkdir()
    env = _env(venv, tmp_path / "home")
    py = str(venv / "bin" / "python")
    _install(py, str(wheel), cwd=work, env=env)

    core = _run([py, "-c", CORE_CHECK, str(work / "proj"), str(work / "model")], cwd=work, env=env)
    result = json.loads(core.stdout.strip().splitlines()[-1])
    assert result["labels"] == ["spam"] and result["recipe"] == "tfidf" and result["probability"] > 0.5
    assert (work / "model" / "model.json").exists()
    hint = _run([str(venv / "bin" / "workbench"), "run", str(work / "proj")], cwd=work, env=env, check=False)
    assert hint.returncode == 2, hint.stderr
    assert "pip install 'moderation-workbench[workbench]'" in hint.stderr

    _install(py, f"{wheel}[workbench]", cwd=work, env=env)
    _run([str(venv / "bin" / "workbench"), "init", str(work / "demo"), "--demo"], cwd=work, env=env)
    assert (work / "demo" / "workbench.yaml").exists()
    run = subprocess.Popen(
        [str(venv / "bin" / "workbench"), "run", str(work / "demo"), "--argilla-port", str(argilla_port(90))],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not any(line.startswith("JupyterLab log:") for line in lines):
            line = run.stdout.readline()
            if not line and run.poll() is not None:
                break
            lines.append(line.rstrip("\n"))
        assert any(line.startswith("JupyterLab log:") for line in lines), "\n".join(lines)
        lab = next(line.split(": ", 1)[1] for line in lines if line.startswith("JupyterLab: "))
        token = (tmp_path / "home" / "jupyter" / "token").read_text().strip()
        assert token not in "\n".join(lines)  # the secret never reaches the terminal
        request = urllib.request.Request(
            lab.replace("/lab", "/api/contents"), headers={"Authorization": f"token {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as r:
            served = {item["name"] for item in json.loads(r.read())["content"]}
        shipped = {p.name for p in (REPO / "notebooks").glob("*.ipynb")}
        assert shipped <= served, served  # the wheel's notebooks, copied under the home
        assert (tmp_path / "home" / "notebooks" / "00_quickstart.ipynb").exists()
        argilla = next(line.split(": ", 1)[1] for line in lines if line.startswith("Argilla: "))
        with urllib.request.urlopen(argilla + "/api/v1/status", timeout=30) as r:
            assert r.status == 200
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGINT)
            try:
                rest, _ = run.communicate(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
                rest, _ = run.communicate()
            lines += rest.splitlines()
    assert run.returncode == 0, "\n".join(lines)
    assert any(line.startswith("stopping: ") and "jupyterlab" in line for line in lines), "\n".join(lines)
    state = tmp_path / "home" / "argilla" / "run" / "state.json"
    assert not state.exists()  # the stack this run started is stopped
