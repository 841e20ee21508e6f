"""``workbench run``: the workbench people open — the embedded Argilla stack with the project's review
datasets pushed, and JupyterLab on the notebooks, both on 127.0.0.1.

Secrets never reach the terminal: JupyterLab gets a random token through its environment
(``JUPYTER_TOKEN``, not the command line), the token is written to ``HOME/jupyter/token`` (mode 0600)
and JupyterLab's own start-up lines, which repeat it, go to ``HOME/logs/jupyter.log``; the Argilla
owner's key stays in the stack's ``secrets.json``. Notebooks started in that JupyterLab find the stack
through ``ARGILLA_API_URL`` / ``ARGILLA_API_KEY`` and the project through ``WORKBENCH_PROJECT``.
One session per home: ``HOME/run/session.json`` holds its pid, and a second ``workbench run`` says
where the first one is. Stopping (Ctrl-C, SIGTERM) ends JupyterLab and the stack if this session
started it.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from curation import Project, WorkbenchError
from foundation import atomic_write_text

from ._resources import notebooks_dir
from .argilla.backend import ArgillaBackend, argilla_backend
from .argilla.processes import (
    any_free_port,
    create_time,
    is_ours,
    kill,
    read_private,
    spawn,
    workbench_home,
    write_private,
)

__all__ = ["WorkbenchSession", "default_workbench_home"]

default_workbench_home = workbench_home  # the one resolver, shared with the Argilla stack


class WorkbenchSession:
    """Start (and stop) Argilla + JupyterLab for one project; see the module docstring."""

    def __init__(
        self,
        project_root,
        *,
        home=None,
        argilla_port: int | None = None,  # None: $WORKBENCH_ARGILLA_PORT or 6900
        jupyter_port: int | None = None,
        notebooks=None,
        argilla: ArgillaBackend | None = None,
    ):
        self.project_root = Path(project_root).resolve()
        try:
            self.home = Path(home or workbench_home()).expanduser().absolute()
        except RuntimeError as e:  # ~name of a user this machine does not have
            raise WorkbenchError(
                f"--home {home}",
                expected="a folder",
                got=f"a ~user path this machine cannot resolve ({e})",
                fix="give the folder's full path",
            ) from e
        self.notebooks = Path(notebooks).resolve() if notebooks else None  # None: a copy of the shipped ones
        self.stack = argilla or argilla_backend(home=self.home / "argilla", port=argilla_port)
        self.jupyter_port = jupyter_port
        self.session_file = self.home / "run" / "session.json"
        self.token_file = self.home / "jupyter" / "token"
        self.log_file = self.home / "logs" / "jupyter.log"
        self._jupyter: dict | None = None  # processes.spawn's entry
        self._started_stack = False
        self._live = None  # the webhook receiver that decides batches as answers arrive (embedded stack only)
        self.info: dict = {}

    def running(self) -> dict | None:
        """The live session of this home, if any."""
        if not self.session_file.exists():
            return None
        info = read_private(self.session_file)
        return info if is_ours(info["session"]) else None

    def start(self, *, push: bool = True, timeout: float = 180.0) -> dict:
        from ._extras import require

        require("jupyterlab", "ipykernel", "ipywidgets", "argilla", "psutil", what="workbench run")
        other = self.running()
        if other:
            raise WorkbenchError(
                f"workbench run (home {self.home})",
                expected="no session running",
                got=f"one already running (pid {other['session']['pid']}): JupyterLab "
                f"{other['jupyter_url']}, Argilla {other['argilla_url']}",
                fix="use that one, or stop it (Ctrl-C in its terminal) first",
            )
        if not (self.project_root / "workbench.yaml").exists():
            raise WorkbenchError(
                f"project {self.project_root}",
                expected="a workbench project",
                got="none there",
                fix="workbench init DIR --demo",
            )
        before = self.stack.status()["running"]
        stack_info = self.stack.start(timeout=timeout)
        self._started_stack = not before
        try:
            env = self.stack.env()
            client = self._client(env)
            if push:
                self._push(client)
            self._start_live(client)
            url = self._start_jupyter(env, timeout)
        except BaseException:
            self.stop()
            raise
        self.info = {
            "session": {"pid": os.getpid(), "create_time": create_time(os.getpid())},
            "jupyter_url": url,
            "argilla_url": stack_info["url"],
            "jupyter_pid": self._jupyter["pid"],
            "notebooks": str(self.notebooks),
            "token_file": str(self.token_file),
            "secrets_file": str(stack_info["secrets_file"]),
            "log_file": str(self.log_file),
            "project": str(self.project_root),
            "live_review": self._live.url if self._live is not None else None,
        }
        write_private(self.session_file, self.info)
        return self.info

    @staticmethod
    def _client(env: dict):
        import argilla as rg

        return rg.Argilla(api_url=env["ARGILLA_API_URL"], api_key=env["ARGILLA_API_KEY"], timeout=120)

    def _push(self, client) -> None:
        from .review import push_batches, push_seeds

        with Project(self.project_root) as project:
            push_seeds(project, client)
            push_batches(project, client)  # the dataset exists (empty) even while no batch awaits review

    def _start_live(self, client) -> None:
        """Register the live review's webhook receiver (:class:`workbench.review.live.LiveReview`) with the
        embedded stack: answers are applied as they arrive. An Argilla run elsewhere may not reach this
        machine's loopback; there ``workbench review pull`` (or ``review listen`` where it can) does it."""
        from .argilla.backend import ExternalArgilla

        if isinstance(self.stack, ExternalArgilla):
            return
        from .review.live import LiveReview

        self._live = LiveReview(self.project_root, client)
        self._live.start()

    def _start_jupyter(self, env: dict, timeout: float) -> str:
        token = secrets.token_urlsafe(32)
        self.token_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.token_file, token + "\n", mode=0o600)
        port = self.jupyter_port or any_free_port("127.0.0.1")
        if self.notebooks is None:
            self.notebooks = notebooks_dir(self.home / "notebooks")
        child = {
            **os.environ,
            **env,
            "JUPYTER_TOKEN": token,
            "WORKBENCH_PROJECT": str(self.project_root),
            "HF_HUB_OFFLINE": "1",
            **self._lab_settings(),
        }
        argv = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.notebooks}",
            "--ServerApp.open_browser=False",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI machines run as root
            argv.append("--allow-root")
        self._jupyter = spawn("jupyter", argv, child, log_dir=self.log_file.parent)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not is_ours(self._jupyter):
                raise WorkbenchError(
                    "JupyterLab", expected="a running server", got="it exited", fix=f"see {self.log_file}"
                )
            try:
                req = urllib.request.Request(base + "/api/status", headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(req, timeout=5) as r:
                    if r.status == 200:
                        return base + "/lab"
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        raise WorkbenchError(
            "JupyterLab", expected=f"an answer within {timeout:.0f} s", got="none", fix=f"see {self.log_file}"
        )

    def _lab_settings(self) -> dict:
        """JupyterLab's settings and workspaces under this home. Written on first use (a user's later
        changes stay): notebooks start their kernel without asking, news and update checks off (they
        would call out to the internet, and their prompt covers the notebook)."""
        lab = self.home / "jupyter" / "lab"
        first = {
            "apputils-extension/notification": '{"fetchNews": "false", "checkForUpdates": false}',
            "notebook-extension/tracker": '{"autoStartDefaultKernel": true}',
        }
        for name, text in first.items():
            path = lab / "user-settings" / "@jupyterlab" / f"{name}.jupyterlab-settings"
            if not path.exists():
                atomic_write_text(path, text + "\n")
        return {
            "JUPYTERLAB_SETTINGS_DIR": str(lab / "user-settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(lab / "workspaces"),
        }

    def stop(self) -> list[str]:
        stopped = []
        if self._jupyter is not None and kill(self._jupyter, grace=20):
            stopped.append("jupyterlab")
        self._jupyter = None
        if self._live is not None:
            try:
                self._live.stop()
                stopped.append("live review")
            except Exception:  # the stack may be gone already; its webhook went with it
                pass
            self._live = None
        if self._started_stack:
            stopped += self.stack.stop()
            self._started_stack = False
        if self.session_file.exists() and self.info:
            self.session_file.unlink()
        return stopped

    def wait(self) -> None:
        """Block until Ctrl-C / SIGTERM or until JupyterLab exits, then stop everything this session started."""

        def _term(*_):
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, _term)
        # Ctrl-C stops the session even when SIGINT came in ignored (a shell starts background commands so,
        # and Python then installs no KeyboardInterrupt handler of its own)
        previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            while self._jupyter is not None and is_ours(self._jupyter):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            try:
                print("stopping: " + ", ".join(self.stop() or ["nothing left"]), flush=True)
            finally:
                signal.signal(signal.SIGTERM, previous)  # the caller's handlers again once run ends
                signal.signal(signal.SIGINT, previous_int)
