"""`workbench run` (what `make run` starts): Argilla with the demo's review datasets and JupyterLab on the
notebooks, both on 127.0.0.1, URLs printed and secrets not; a second run says the first is running;
SIGINT (Ctrl-C) stops both."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from workbench import build_demo

from ..conftest import argilla_port

pytestmark = pytest.mark.slow


def _get(url: str, headers: dict | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_workbench_run_serves_both_and_stops_on_ctrl_c(tmp_path):
    build_demo(tmp_path / "demo")
    home = tmp_path / "home"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("ARGILLA_API_URL", None)
    env.pop("ARGILLA_API_KEY", None)
    cmd = [
        str(Path(sys.executable).parent / "workbench"),
        "run",
        str(tmp_path / "demo"),
        "--home",
        str(home),
        "--argilla-port",
        str(argilla_port(90)),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline and not any(x.startswith("JupyterLab log:") for x in lines):
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line.rstrip("\n"))
        out = "\n".join(lines)
        jupyter = next(x.split(": ", 1)[1] for x in lines if x.startswith("JupyterLab: "))
        argilla = next(x.split(": ", 1)[1] for x in lines if x.startswith("Argilla: "))
        assert jupyter.startswith("http://127.0.0.1:") and jupyter.endswith("/lab")
        assert argilla.startswith("http://127.0.0.1:")
        token = (home / "jupyter" / "token").read_text().strip()
        secrets_ = json.loads((home / "argilla" / "secrets.json").read_text())
        assert oct((home / "jupyter" / "token").stat().st_mode & 0o777) == "0o600"
        assert token not in out and secrets_["api_key"] not in out  # where they are, never what they are
        assert (home / "logs" / "jupyter.log").stat().st_size > 0  # JupyterLab's own start-up lines went here
        base = jupyter.removesuffix("/lab")
        assert _get(base + "/api/status", {"Authorization": f"token {token}"}) == 200
        assert _get(base + "/api/status") == 403  # no token, no entry
        assert _get(base + "/api/contents/00_quickstart.ipynb", {"Authorization": f"token {token}"}) == 200
        # the demo's review datasets were pushed
        import argilla as rg

        client = rg.Argilla(api_url=argilla, api_key=secrets_["api_key"])
        names = {d.name for d in client.datasets}
        assert {"seed-review", "batch-review"} <= names
        second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        assert second.returncode == 2 and "already running" in second.stderr and jupyter in second.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest = proc.communicate(timeout=90)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            rest = ""
    assert proc.returncode == 0 and "stopping: jupyterlab" in rest
    assert _get_refused(base + "/api/status") and _get_refused(argilla + "/api/v1/status")
    assert not (home / "run" / "session.json").exists()


def _get_refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=5)
    except urllib.error.HTTPError:
        return False
    except (urllib.error.URLError, OSError):
        return True
    return False
