"""The hierarchy penalty on a small real slice with primary / secondary structure (ETHOS: ``hate`` and its
target labels; the binary file gives hateful and clean posts, the multi-label file the targets of the
hateful ones): with the penalty on, fewer (record, secondary) pairs score the secondary above its
primary than with it off. At inference the policy layer can enforce the constraint."""

from __future__ import annotations

import numpy as np
import pytest

from curation import Project, Taxonomy
from training import TrainingConfig, TrainSpec, train_model
from training.artifacts import Policy, split_arrays

from ..conftest import shared

pytestmark = pytest.mark.slow

SECONDARY = ["hate_gender", "hate_race", "hate_religion", "hate_national_origin"]


@pytest.fixture(scope="module")
def ethos(tmp_path_factory):
    tax = Taxonomy.from_dict(
        {"labels": [{"name": "hate", "tier": "T2"}, *({"name": s, "tier": "T5", "parent": "hate"} for s in SECONDARY)]}
    )
    p = Project.init(tmp_path_factory.mktemp("ethos") / "p", taxonomy=tax)
    p.records.import_file(shared("ethos/Ethos_Dataset_Binary.csv"), "ethos")
    p.records.import_file(
        shared("ethos/Ethos_Dataset_Multi_Label.csv"),
        "ethos",
        label_map={
            "hate_violence": None,
            "hate_directed": None,
            "hate_disability": None,
            "hate_sexual_orientation": None,
        },
    )
    yield p
    p.close()


def _violations(model, project) -> tuple[int, np.ndarray, np.ndarray]:
    frame, _, _ = project.snapshots.read(model.card.snapshot_id)
    view = frame[frame["split"].isin(["valid", "calib", "holdout"])]
    _, texts, _ = split_arrays(view.assign(split="x"), model.labels, "x")
    probs = model.classifier().predict_proba(texts)
    parent = model.labels.index("hate")
    children = [model.labels.index(s) for s in SECONDARY]
    return int((probs[:, children] > probs[:, [parent]] + 1e-6).sum()), probs, np.asarray(model.thresholds)


def test_the_hierarchy_penalty_lowers_secondary_above_primary_violations(ethos, tmp_path):
    def train(weight, name):
        spec = TrainSpec(recipe="heads", mix=False, training=TrainingConfig.from_dict({"hierarchy_weight": weight}))
        return train_model(ethos, tmp_path / name, spec)

    off, on = train(0.0, "off"), train(3.0, "on")
    assert on.card.loss["hierarchy_weight"] == 3.0 and off.card.loss["hierarchy_weight"] == 0.0
    v_off, _, _ = _violations(off, ethos)
    v_on, probs, thr = _violations(on, ethos)
    assert v_off > 0 and v_on < v_off, (v_on, v_off)
    # the policy layer can enforce it: no secondary decision without its primary
    pol = on.policy(enforce_hierarchy=True)
    decided = pol.decide(probs)
    parent = on.labels.index("hate")
    assert not (decided[:, [on.labels.index(s) for s in SECONDARY]] & ~decided[:, [parent]]).any()
    loose = Policy(on.labels, thr, ["badge"] * len(on.labels)).decide(probs)
    assert decided.sum() <= loose.sum()
    # the same from the command line
    import json

    from workbench.cli import main

    frame = ethos.records.frame()
    texts = frame.loc[frame["split"] == "holdout", "text"].head(200).tolist()
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    args = ["predict", str(on.root), "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl")]
    assert main([*args, "--enforce-hierarchy"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(rows) == len(texts)
    assert all("hate" in r["labels"] for r in rows if set(r["labels"]) & set(SECONDARY))
