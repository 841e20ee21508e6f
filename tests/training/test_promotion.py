"""Gates that stop: a model whose labels regressed against the promoted one is refused at promotion,
and promoted only with a recorded reason. Real data: the Davidson slice of the demo."""

from __future__ import annotations

import json

import numpy as np
import pytest

from curation import Project, Taxonomy, WorkbenchError
from training import TrainSpec, train_model
from training.artifacts import promote, promoted_model
from training.evaluation import REGRESSION_TOLERANCE, GateReport
from workbench.cli import main

from ..conftest import REPO

pytestmark = pytest.mark.slow

OPEN_GATE = {"min_f1": 0.0, "recall_floor": 0.0, "fpr_budget": 1.0}  # the tier gates are not under test here


@pytest.fixture
def project(tmp_path):
    tax = Taxonomy.from_dict(
        {
            "labels": [
                {"name": "offensive", "tier": "T3", "gate": OPEN_GATE},
                {"name": "hate", "tier": "T2", "gate": OPEN_GATE},
            ]
        }
    )
    p = Project.init(tmp_path / "p", taxonomy=tax)
    p.records.import_file(REPO / "data" / "demo" / "davidson_slice.csv", "davidson")
    yield p
    p.close()


def test_promote_refuses_a_regressed_model_and_accepts_it_with_a_reason(project, tmp_path, capsys):
    spec = TrainSpec(recipe="tfidf", mix=False)
    good = train_model(project, tmp_path / "good", spec)
    promote(good)
    # corrupt the train split's offensive labels: the next model is worse on the same holdout
    f = project.records.frame()
    train = f[(f["split"] == "train") & (f["offensive"] == 1)]["id"].tolist()
    rng = np.random.default_rng(0)
    for rid in rng.choice(train, size=int(0.7 * len(train)), replace=False):
        project.store.set_labels(rid, {"offensive": 0}, actor="test")
    bad = train_model(project, tmp_path / "bad", spec)
    regs = GateReport.of(bad).regressions()
    assert regs and regs[0]["label"] == "offensive" and regs[0]["tolerance"] == REGRESSION_TOLERANCE["T3"]
    assert bad.card.variants["torch"].passed  # the gate itself passed: only the comparison stops it
    with pytest.raises(WorkbenchError, match="regressions: offensive F1 -") as e:
        promote(bad)
    assert "--accept-regression" in str(e.value)
    assert promoted_model(project).root == good.root.resolve()
    project.close()
    assert main(["promote", str(bad.root)]) == 2
    assert "refused" in capsys.readouterr().err
    assert main(["promote", str(bad.root), "--accept-regression", "relabelled on purpose for the test"]) == 0
    assert "regression accepted on offensive" in capsys.readouterr().out
    with Project(project.root) as p:
        assert promoted_model(p).root == bad.root.resolve()
    history = [json.loads(line) for line in (project.root / "models" / "history.jsonl").read_text().splitlines()]
    assert history[-1]["accepted_regression"] == {
        "reason": "relabelled on purpose for the test",
        "labels": ["offensive"],
    }
    assert "accepted_regression" not in history[0]
