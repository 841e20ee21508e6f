"""A 100,000-point map in a real browser: Debian's chromium (headless, driven by Playwright, no browser
download) opens the standalone map.html, the WebGL scatter renders, and a lasso drawn with the mouse
selects the points inside it — as many as the same polygon selects in Python."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from workbench.maps import EmbeddingMap
from workbench.maps.figure import _point_in_polygon

pytestmark = pytest.mark.slow

N = 100_000


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 6, (12, 2))
    which = rng.integers(0, 12, N)
    xy = centers[which] + rng.normal(0, 1.0, (N, 2))
    words = np.array(
        [
            "you",
            "will",
            "regret",
            "this",
            "free",
            "gift",
            "card",
            "click",
            "now",
            "they",
            "should",
            "all",
            "leave",
            "nobody",
            "cares",
            "what",
            "think",
        ]
    )
    texts = [" ".join(words[rng.integers(0, len(words), 14)]) for _ in range(N)]
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(N)],
            "text": texts,
            "x": xy[:, 0],
            "y": xy[:, 1],
            "hate": (which % 3 == 0).astype(float),
            "spam": (which % 4 == 1).astype(float),
            "origin": np.where(which % 5 == 0, "generated", "real"),
            "split": "train",
            "status": "active",
            "seed_id": None,
            "batch_id": None,
        }
    )


@pytest.fixture(scope="module")
def browser():
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("chromium is missing: `make chromium` installs Debian's package (the tests never download one)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=exe, headless=True, args=["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader"]
        )
        yield b
        b.close()


def test_a_100k_point_map_renders_and_takes_a_lasso(browser, tmp_path):
    frame = _frame()
    m = EmbeddingMap(frame, ["hate", "spam"], widget=False, height=700)
    m.colour_by("label", label="hate")
    path = tmp_path / "map.html"
    m.write_html(path)
    assert m.payload_mb() < 20
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_selector(".plotly-graph-div .gl-canvas-context, .plotly-graph-div canvas", timeout=120_000)
    page.wait_for_function(
        "() => { const gd = document.querySelector('.plotly-graph-div');"
        " return gd && gd._fullData && gd._fullData.length > 0 }",
        timeout=120_000,
    )
    drawn = page.evaluate(
        "() => document.querySelector('.plotly-graph-div')._fullData.reduce((n, t) => n + t.x.length, 0)"
    )
    assert drawn == N
    page.evaluate(
        "() => { const gd = document.querySelector('.plotly-graph-div'); window.__sel = null;"
        " gd.on('plotly_selected', e => { window.__sel = e ? {n: e.points.length,"
        " xs: e.lassoPoints.x, ys: e.lassoPoints.y} : {n: 0}; }); }"
    )
    box = page.locator(".plotly-graph-div .nsewdrag").first.bounding_box()
    cx, cy, r = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, min(box["width"], box["height"]) / 4
    page.mouse.move(cx - r, cy - r)
    page.mouse.down()
    for px, py in [(cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r * 0.5), (cx - r, cy - r)]:
        page.mouse.move(px, py, steps=8)
    page.mouse.up()
    page.wait_for_function("() => window.__sel !== null", timeout=120_000)
    sel = page.evaluate("() => window.__sel")
    page.screenshot(path=str(tmp_path / "map-lasso.png"))
    inside = _point_in_polygon(
        frame["x"].to_numpy(np.float32), frame["y"].to_numpy(np.float32), sel["xs"], sel["ys"]
    ).sum()
    assert 1000 < sel["n"] < N and abs(sel["n"] - inside) <= max(5, 0.001 * inside)
    assert not errors, errors
