"""The workbench in a real browser (Debian's chromium, headless, Playwright, no browser download): what
`make run` starts, JupyterLab running 00_quickstart and 05_retrain_and_gate (the retrain button clicked,
the gate table awaited), a lasso on the map of 04_interference_map, then the Argilla UI signed into and
the batch-review dataset opened. Screenshots go to build/screenshots/."""

from __future__ import annotations

import json
import re
import shutil
from contextlib import contextmanager

import pytest

from curation import Project
from workbench import build_demo
from workbench.session import WorkbenchSession

from ..conftest import REPO, argilla_port

pytestmark = pytest.mark.slow
SHOTS = REPO / "build" / "screenshots"
OPEN = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook on screen (other tabs stay in the page, hidden)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    build_demo(root / "demo")
    notebooks = shutil.copytree(REPO / "notebooks", root / "notebooks")  # JupyterLab saves what it runs
    s = WorkbenchSession(root / "demo", home=root / "home", argilla_port=argilla_port(80), notebooks=notebooks)
    info = s.start(timeout=240)
    yield s, info
    s.stop()


@pytest.fixture(scope="module")
def page():
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("chromium is missing: `make chromium` installs Debian's package")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=exe, headless=True, args=["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader"]
        )
        pg = b.new_page(viewport={"width": 1500, "height": 1000})
        pg.set_default_timeout(240_000)
        # leaving a notebook with unsaved outputs asks "leave the page?": yes (a dismissed dialog would
        # keep the browser on the old notebook)
        pg.on("dialog", lambda dialog: dialog.accept())
        log = open(SHOTS / "console.log", "w")  # the page's console, for whoever reads a failure
        pg.on(
            "console", lambda msg: log.write(f"{msg.type}: {msg.text}\n") if msg.type in ("error", "warning") else None
        )
        pg.on("pageerror", lambda err: log.write(f"pageerror: {err}\n"))
        pg.on("requestfailed", lambda req: log.write(f"requestfailed: {req.url} {req.failure}\n"))
        yield pg
        b.close()
        log.close()


def _kernels(base: str, token: str) -> str:
    """The server's kernels and what each is doing (idle, busy, starting), read from its REST API."""
    import urllib.request

    try:
        req = urllib.request.Request(f"{base}/api/kernels", headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return ", ".join(f"{k['name']} {k['execution_state']} (last {k['last_activity']})" for k in json.load(r))
    except Exception as e:  # noqa: BLE001 (a diagnosis must not hide the failure it explains)
        return f"unreadable: {e!r}"


@contextmanager
def _step(page, name: str, session=None):
    """A step of the walk. On failure the page is saved as build/screenshots/FAILED-<name>.png and the
    error says what the open notebook showed, what its kernel was doing and the end of JupyterLab's log
    (CI keeps the output, not the screenshots)."""
    try:
        yield
    except Exception as e:
        page.screenshot(path=str(SHOTS / f"FAILED-{name}.png"), full_page=True)
        if session is None:
            raise
        s, info = session
        base = info["jupyter_url"].removesuffix("/lab")
        try:
            shown = page.inner_text(OPEN, timeout=5_000)[-3000:]
        except Exception as inner:  # noqa: BLE001
            shown = f"unreadable: {inner!r}"
        log = s.log_file.read_text(errors="replace")[-3000:] if s.log_file.exists() else "(no log)"
        raise AssertionError(
            f"step {name} failed: {e}\n--- kernels: {_kernels(base, s.token_file.read_text().strip())}"
            f"\n--- the open notebook showed (end):\n{shown}\n--- JupyterLab's log (end):\n{log}"
        ) from e


def _run_notebook(page, base: str, token: str, name: str) -> None:
    """Open one notebook in a workspace of its own (nothing else restored beside it) and Run All."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(f"{base}/lab/workspaces/nb{name[:2]}/tree/{name}.ipynb?token={token}")
    page.wait_for_selector(f"{OPEN} .jp-Notebook .jp-Cell")
    # "Run All" clicked before the kernel is ready can be lost: wait until the toolbar says idle
    page.wait_for_selector(f"{OPEN} .jp-Notebook-ExecutionIndicator[data-status='idle']", state="attached")
    assert not page.locator(".jp-Dialog:has-text('Select Kernel')").is_visible()  # started without asking
    page.locator(f"{OPEN} .jp-CodeCell .jp-InputPrompt").first.click()  # this notebook has the focus
    for _ in range(3):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
        try:  # the first code cell is running or has run
            page.wait_for_selector(
                f"{OPEN} .jp-CodeCell .jp-InputPrompt:text-matches('\\[(\\*|\\d+)\\]')", timeout=30_000
            )
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"Run All Cells did not start {name}")


def _await_output(page, session, selector: str, timeout_s: float = 400) -> None:
    """Wait for ``selector`` in the open notebook's outputs while its kernel works. A Run All that
    JupyterLab lost (seen under load: the kernel's socket reconnected, the first cell ran, the rest never
    did, the kernel idle) is run again, up to three times, each said on stdout; a kernel that is still busy
    is waited for, up to ``timeout_s`` in all."""
    import time

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    s, info = session
    base, token = info["jupyter_url"].removesuffix("/lab"), s.token_file.read_text().strip()
    deadline, reruns = time.monotonic() + timeout_s, 0
    while True:
        left_ms = max(1_000, int((deadline - time.monotonic()) * 1000))
        try:
            page.wait_for_selector(f"{OPEN} .jp-OutputArea {selector}", timeout=min(60_000, left_ms))
            return
        except PlaywrightTimeout:
            if time.monotonic() >= deadline:
                raise
        unrun = page.locator(f"{OPEN} .jp-CodeCell .jp-InputPrompt:text-matches('^\\[ ?\\]:?$')").count()
        if reruns < 3 and unrun and " idle " in f" {_kernels(base, token)} ":
            print(f"Run All was lost ({unrun} cells not run, kernel idle): running the notebook again")
            reruns += 1
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()


def _gate_rows(page) -> tuple[int, int]:
    """(rows of the panel's gate table, labels its caption announces)."""
    gate = page.locator(f"{OPEN} table.workbench-table:has(caption:has-text('holdout gate per label'))").last
    announced = int(re.search(r"\((\d+) labels\)", gate.locator("caption").inner_text()).group(1))
    return gate.locator("tbody tr").count(), announced


def test_jupyterlab_and_argilla_in_a_browser(session, page):
    s, info = session
    base = info["jupyter_url"].removesuffix("/lab")
    token = s.token_file.read_text().strip()
    with Project(s.project_root) as project:
        n_records = len(project.records.frame())
        n_safety = len(project.taxonomy.labels_in_group("safety"))

    # 00: the store's numbers and the distribution figure, drawn by plotly.js in the page
    with _step(page, "00", session):
        _run_notebook(page, base, token, "00_quickstart")
        _await_output(page, session, ".js-plotly-plot")
        text = page.inner_text(OPEN)
        assert "n_records" in text and str(n_records) in text
        page.screenshot(path=str(SHOTS / "00_quickstart.png"))

    # 05: Run All (the cell that trains once), then the button itself; its gate table has a row per label
    with _step(page, "05", session):
        _run_notebook(page, base, token, "05_retrain_and_gate")
        page.wait_for_selector(f"{OPEN} .jp-OutputArea >> text=holdout gate per label", timeout=400_000)
        assert _gate_rows(page) == (n_safety, n_safety)
        page.get_by_role("button", name="Retrain and gate").click()
        page.wait_for_selector(f"{OPEN} >> text=/training heads on safety/")
        page.wait_for_selector(f"{OPEN} >> text=/(PASSED|FAILED) gate in/", timeout=400_000)
        assert _gate_rows(page) == (n_safety, n_safety)
        text = page.inner_text(OPEN)
        assert "excluded seeds" in text and "export" in text
        promote = page.get_by_role("button", name="Promote")
        # Promote only after a pass, and with the evidence T1 labels need
        assert promote.is_enabled() == ("PASSED gate in" in text and "promotion blocked" not in text)
        page.locator(f"{OPEN} .widget-button:has-text('Retrain and gate')").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "retrain_panel.png"))

    # 04: a mouse lasso on the map; the panel counts what plotly.js selected
    with _step(page, "04", session):
        _run_notebook(page, base, token, "04_interference_map")
        _await_output(page, session, ".js-plotly-plot .nsewdrag")
        page.wait_for_selector(f"{OPEN} >> text=/label_a/", timeout=300_000)  # Run All reached the tables
        # the interference heatmap beside the map has its cells (plotly draws them as one image)
        page.wait_for_selector(f"{OPEN} .js-plotly-plot .heatmaplayer image", state="attached")
        plot = page.locator(f"{OPEN} .jp-OutputArea .js-plotly-plot").first
        plot.scroll_into_view_if_needed()
        page.locator(f"{OPEN} .modebar-btn[data-val='lasso']").first.click(force=True)
        box = plot.locator(".nsewdrag").first.bounding_box()
        cx, cy = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5
        r = min(box["width"], box["height"]) * 0.35
        page.mouse.move(cx - r, cy - r)
        page.mouse.down()
        for px, py in [(cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r), (cx - r, cy - r)]:
            page.mouse.move(px, py, steps=12)
        page.mouse.up()
        count = page.locator(f"{OPEN} .widget-html:has-text('selected')").first
        page.wait_for_function("el => /[1-9][0-9]* selected/.test(el.innerText)", arg=count.element_handle())
        selected = int(re.search(r"(\d+) selected", count.inner_text()).group(1))
        assert 0 < selected < n_records
        page.screenshot(path=str(SHOTS / "map_lasso.png"))

    # Argilla: a batch is generated and pushed (as 03 does), the owner signs in and opens batch-review
    with _step(page, "argilla"):
        import argilla as rg

        from workbench.generate import generate, make_provider
        from workbench.review import push_batches

        secrets = json.loads((s.home / "argilla" / "secrets.json").read_text())
        with Project(s.project_root) as project:
            generate(project, make_provider(project, "perturbation"), n=6)
            pushed = push_batches(project, rg.Argilla(api_url=info["argilla_url"], api_key=secrets["api_key"]))
        assert pushed["batches"] >= 1
        page.goto(info["argilla_url"] + "/sign-in")
        page.fill("input[type='text']", secrets["username"])
        page.fill("input[type='password']", secrets["password"])
        page.keyboard.press("Enter")
        page.wait_for_selector("text=batch-review")
        assert "seed-review" in page.inner_text("body")
        page.screenshot(path=str(SHOTS / "argilla_datasets.png"))
        page.get_by_text("batch-review").first.click()
        page.wait_for_url(re.compile(r"/dataset/.+/annotation-mode"))  # the dataset's own page opened
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1500)
        page.screenshot(path=str(SHOTS / "argilla_batch_review.png"))
        assert "/annotation-mode" in page.url, page.url  # and stayed there
        body = page.inner_text("body")
        assert "batch-review" in body and "valid" in body.lower(), body[:500]  # a record and its questions
