"""The review notebooks (02 seed review, 03 batch review, 06 error review, 08 the production loop) run headless against the
embedded Argilla; where a notebook says "now in Argilla", the test answers as annotators would (their
own users, the UI's endpoints), then runs the rest and checks what the notebook shows."""

from __future__ import annotations

import ast
import uuid

import pytest
import yaml

from workbench import build_demo

from ..conftest import REPO, strict_notebook
from .test_review_loop import _annotator, _answer, owner, stack  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def _project(tmp_path):
    root = tmp_path / "demo"
    build_demo(root)
    cfg = yaml.safe_load((root / "workbench.yaml").read_text())
    cfg["name"] = f"nb-{uuid.uuid4().hex[:6]}"  # its own Argilla workspace
    (root / "workbench.yaml").write_text(yaml.safe_dump(cfg))
    return root, cfg["name"]


def _run(name, root, stack, monkeypatch, answer):  # noqa: F811 (the fixture)
    """Execute ``name`` cell by cell; at the "Now in Argilla" cell call ``answer()``; return code cells."""
    import nbformat
    from nbclient import NotebookClient

    for k, v in {**stack.env(), "WORKBENCH_PROJECT": str(root), "HF_HUB_OFFLINE": "1"}.items():
        monkeypatch.setenv(k, v)
    nb = strict_notebook(nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4))
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO / "notebooks")}}
    )
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown" and "Now in Argilla" in cell.source:
                answer()
            elif cell.cell_type == "code":
                client.execute_cell(cell, i)
    return [c for c in nb.cells[1:] if c.cell_type == "code"]


def _text(cell) -> str:
    return "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs if o.output_type == "execute_result")


def test_seed_review_notebook(tmp_path, stack, owner, monkeypatch):  # noqa: F811
    root, ws = _project(tmp_path)

    def answer():
        ann = _annotator(owner, stack, ws)
        _answer(
            ann,
            ws,
            "seed-review",
            lambda rec: (
                {"verdict": "reject", "reason": "too vague"}
                if rec.id == "seed:seed-spam-followers"
                else {"verdict": "approve"}
            ),
        )

    cells = _run("02_seed_review", root, stack, monkeypatch, answer)
    applied = ast.literal_eval(_text(cells[2]))
    assert applied["seeds_rejected"] == 1 and applied["annotations"] > 0
    assert "seed-spam-followers" in _text(cells[-1]) and "too vague" in _text(cells[-1])


def test_batch_review_notebook_ends_with_the_poisoned_seed_quarantined(tmp_path, stack, owner, monkeypatch):  # noqa: F811
    root, ws = _project(tmp_path)

    def answer():
        ann = _annotator(owner, stack, ws)
        # the poisoned seed's batch holds real hateful or offensive posts labelled harmless: invalid
        _answer(
            ann,
            ws,
            "batch-review",
            lambda rec: (
                {"valid": "no", "labels": ["offensive"]}
                if rec.metadata.get("seed_id") == "seed-banter"
                else {"valid": "yes", "labels": ["none"]}
            ),
        )

    cells = _run("03_batch_review", root, stack, monkeypatch, answer)
    assert "seed-banter" in _text(cells[2]) and "10" in _text(cells[2])
    assert "rejected" in _text(cells[4])
    quarantined, reason = ast.literal_eval(_text(cells[-1]))
    assert quarantined and "rejected in review" in reason


def test_error_review_notebook_brings_corrections_back(tmp_path, stack, owner, monkeypatch):  # noqa: F811
    root, ws = _project(tmp_path)

    def answer():
        ann = _annotator(owner, stack, ws)
        _answer(ann, ws, "error-review", lambda rec: {"labels": ["none"]})

    cells = _run("06_error_review", root, stack, monkeypatch, answer)
    applied = ast.literal_eval(_text(cells[3]))
    assert applied["labels"] > 0
    before, after = ast.literal_eval(_text(cells[-1]))
    assert before != after  # the corrections changed the snapshot the next retrain reads


def test_production_loop_notebook_runs_drift_sample_review_retrain_and_compares_on_the_unseen_week(
    tmp_path,
    stack,  # noqa: F811
    owner,  # noqa: F811
    monkeypatch,
):
    """Notebook 08 end to end: the shifted week alerts, a mixed sample of 150 posts goes to sample-review, two
    annotators answer with the posts' gold labels, the retrained model trains on the labelled production posts,
    is gated on both slices, and the shipped and retrained models are compared on week 3 (never imported)."""
    import json

    from workbench._demo import demo_data_dir

    root, ws = _project(tmp_path)
    gold = {}
    for line in (demo_data_dir() / "production_gold.jsonl").read_text().splitlines():
        row = json.loads(line)
        gold[row.pop("id")] = [lab for lab, v in row.items() if v == 1] or ["none"]

    def answer():
        for _ in range(2):
            ann = _annotator(owner, stack, ws)
            assert _answer(ann, ws, "sample-review", lambda rec: {"labels": gold[rec.id.removeprefix("pool:")]}) == 150

    cells = _run("08_production_monitoring", root, stack, monkeypatch, answer)
    n, feedback = ast.literal_eval(_text(cells[2]))
    assert n == 600 and set(feedback) == {"moderator_confirm", "moderator_overturn", "user_report"}
    assert "PSI" in _text(cells[3])  # the alerting rows say why
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in cells[4].outputs)
    alerting, next_step = ast.literal_eval(_text(cells[5]))
    assert "offensive" in alerting and "budget" in next_step
    selected, reasons = ast.literal_eval(_text(cells[6]))
    assert selected == 150 and any(r.startswith("rare:") for r in reasons)
    assert any(r.startswith("uncertain-diverse:") for r in reasons)
    labelled, trained_on = ast.literal_eval(_text(cells[7]))
    assert sum(labelled.values()) > 150 and trained_on > 50  # the audit's labels and the sample's
    assert "production_holdout" in labelled and "status" in _text(cells[8])
    shipped_ap, retrained_ap = ast.literal_eval(_text(cells[-1]))
    assert retrained_ap > shipped_ap, (shipped_ap, retrained_ap)  # the reviewed posts taught the next model
