"""Each model family trained on a small real slice, tuned, evaluated, gated, exported to ONNX
(fp32, fp16, int8) and reloaded through `workbench predict` — all on the CPU."""

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from curation import Project, Taxonomy, TaxonomyError, WorkbenchError
from curation.suites import SuiteCase
from training import TrainSpec, train_model, train_model_set
from training.artifacts import ModelSet, load_model, promote, promoted_model
from training.evaluation import run_suite
from training.families import FineTuneArgs, SpellingNormaliser
from workbench.cli import main

from ..conftest import REPO

pytestmark = pytest.mark.slow  # every test here trains a model

TAXONOMY = {
    "name": "slice",
    "labels": [
        {
            "name": "hate",
            "group": "safety",
            "tier": "T2",
            "gate": {"min_f1": 0.2, "recall_floor": 0.3, "fpr_budget": 0.4},
        },
        {
            "name": "offensive",
            "group": "safety",
            "tier": "T3",
            "gate": {"min_f1": 0.5, "recall_floor": 0.5, "fpr_budget": 0.4},
        },
        {
            "name": "scam",
            "group": "spam",
            "tier": "T4",
            "gate": {"min_f1": 0.0, "recall_floor": 0.0, "fpr_budget": 1.0},
        },
        {
            "name": "spam",
            "group": "spam",
            "tier": "T4",
            "gate": {"min_f1": 0.0, "recall_floor": 0.0, "fpr_budget": 1.0},
        },
    ],
}


@pytest.fixture(scope="module")
def slice_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("train") / "proj"
    p = Project.init(root, taxonomy=Taxonomy.from_dict(TAXONOMY))
    p.records.import_file(REPO / "data" / "demo" / "davidson_slice.csv", "davidson")
    p.seeds.import_file(REPO / "data" / "demo" / "seeds.yaml")
    # scam and spam are known only on the seeds' generated records, which never reach calib or holdout: a
    # real audit of 300 of the tweets (none is scam or spam) gives the spam group its evaluation splits
    tweets = pd.read_csv(REPO / "data" / "demo" / "davidson_slice.csv")["tweet"].head(300)
    p.records.import_frame(pd.DataFrame({"text": tweets, "scam": 0, "spam": 0}), source="spam-audit")
    yield p
    p.close()


def _predict_cli(model_dir, tmp_path, variant=None):
    inp = tmp_path / "in.jsonl"
    inp.write_text(
        '{"text": "you are a worthless idiot and everyone hates you", "id": 1}\n'
        '{"text": "thanks for the lovely dinner last night"}\n'
    )
    out = tmp_path / f"out-{variant}.jsonl"
    args = ["predict", str(model_dir), "--input", str(inp), "--output", str(out)]
    if variant:
        args += ["--variant", variant]
    assert main(args) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 and rows[0]["input"]["id"] == 1 and "id" not in rows[0]  # the input apart
    assert all(isinstance(r["gate_passed"], bool) for r in rows)
    for r in rows:
        assert set(r["probabilities"]) == set(r["decisions"])
        assert r["action"] in ("allow", "badge", "warn", "hide")
        assert all(0.0 <= v <= 1.0 for v in r["probabilities"].values())
        assert all(r["decisions"][lab] for lab in r["actions"])  # no undecided label acts
        assert r["variant"] == (variant or r["variant"]) and r["variant"] in ("torch", "fp32", "fp16", "int8")
    return rows


@pytest.fixture(scope="module")
def heads_model(slice_project, tmp_path_factory):
    out = tmp_path_factory.mktemp("m") / "heads"
    return train_model(
        slice_project, out, TrainSpec(recipe="heads", group="safety", mix=False, onnx=("fp32", "fp16", "int8"))
    )


def test_heads_family_end_to_end(heads_model, tmp_path):
    m = heads_model
    card = m.card
    assert card.labels == ["hate", "offensive"]
    assert card.snapshot_id.startswith("snap-") and card.excluded_seeds == []
    assert set(card.variants) == {"torch", "fp32", "fp16", "int8"}
    assert card.variants["torch"].passed, card.variants["torch"].gate
    assert card.variants["fp32"].max_abs_diff_vs_torch < 1e-4
    assert card.variants["fp16"].max_abs_diff_vs_torch < 1e-2
    assert (m.root / "report" / "report.html").exists() and (m.root / "report" / "report.md").exists()
    assert set(card.label_counts["hate"]) == {"positives", "negatives", "unknown"}
    # the card counts the training labels by where they came from (the slice's are an imported dataset's)
    by_source = card.mix["label_provenance"]["hate"]
    assert sum(by_source.values()) == card.split_sizes["train"] and by_source.get("gold", 0) > 0, by_source
    for v in ("torch", "fp32", "fp16", "int8"):
        rows = _predict_cli(m.root, tmp_path, v)
        assert rows[0]["probabilities"]["offensive"] > rows[1]["probabilities"]["offensive"]
    assert main(["gate", str(m.root)]) == 0  # torch passes, so the best variant passes


OBFUSCATED = [
    "y0u 4r3 4 w0rthl3ss 1d10t and 3v3ry0n3 h4t3s y0u",  # leetspeak
    "you are a w o r t h l e s s idiot",  # spaced out
    "you are a w\u043erthl\u0435ss idiot",  # Cyrillic look-alikes
    "you are a worth\u200bless ｉｄｉｏｔ",  # zero-width, full width
    "thaaaaanks for the l\u00f6vely dinner",  # stretched, accents
]


def test_the_normaliser_reads_alike_on_every_path(heads_model, tmp_path):
    """Parity of the spelling normaliser: the card records it; the torch model and every ONNX variant (the
    graph starts at token ids, so the model directory reads the texts first) score an obfuscated text exactly
    as its plain form; so do `workbench predict` and the suites, which score through the same predictor."""
    m = heads_model
    spelling = SpellingNormaliser()
    assert m.card.spelling == spelling.to_dict() and m.classifier().spelling == spelling
    plain = spelling.apply(OBFUSCATED)
    assert all(a != b for a, b in zip(plain, OBFUSCATED))
    for v in ("torch", "fp32", "fp16", "int8"):
        predict = m.predictor(v)
        np.testing.assert_allclose(predict(OBFUSCATED), predict(plain), atol=1e-6, err_msg=v)
    # trained through it: the encoder never saw an obfuscated text, so a model without it reads them otherwise
    raw = m.classifier()._encoder().encode(OBFUSCATED)
    assert not np.allclose(raw, m.classifier()._encoder().encode(plain))
    for texts, name in ((OBFUSCATED, "obf"), (plain, "plain")):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
        assert (
            main(
                [
                    "predict",
                    str(m.root),
                    "--input",
                    str(tmp_path / f"{name}.jsonl"),
                    "--output",
                    str(tmp_path / f"{name}-out.jsonl"),
                    "--variant",
                    "int8",
                ]
            )
            == 0
        )
    read = [
        [json.loads(x)["probabilities"] for x in (tmp_path / f"{n}-out.jsonl").read_text().splitlines()]
        for n in ("obf", "plain")
    ]
    assert read[0] == read[1]

    def cases(texts):
        return [SuiteCase(f"c{i}", "s", "insults", t, "test", {"offensive": 1}, "T3") for i, t in enumerate(texts)]

    kw = {"label_names": m.labels, "thresholds": m.thresholds}
    scored = [run_suite(cases(t), m.predictor("int8"), **kw).cases["passed"].tolist() for t in (OBFUSCATED, plain)]
    assert scored[0] == scored[1]


def test_gate_json_shows_status_minimum_and_intervals_per_label(heads_model, capsys):
    main(["gate", str(heads_model.root), "--json"])
    report = json.loads(capsys.readouterr().out)
    labels = report["variants"]["torch"]["labels"]
    for lab, row in labels.items():
        assert row["status"] in ("pass", "fail", "insufficient_evidence")
        assert row["min_positives"] == {"hate": 20, "offensive": 10}[lab]
        lo, hi = row["recall_ci"]
        assert lo <= row["recall"] <= hi and row["fpr_ci"][0] <= row["fpr"] <= row["fpr_ci"][1]
        assert (row["status"] == "insufficient_evidence") == (row["positives"] < row["min_positives"])
    # a minimum above the holdout's positives: insufficient evidence, listed apart from the failures
    tax = heads_model.taxonomy.to_dict()
    for lab in tax["labels"]:
        if lab["name"] == "offensive":
            lab["min_holdout_positives"] = 100_000
    from curation import Taxonomy

    Taxonomy.from_dict(tax).save(heads_model.root / "taxonomy.yaml")
    try:
        heads_model.evaluate()
        main(["gate", str(heads_model.root), "--json"])
        after = json.loads(capsys.readouterr().out)["variants"]["torch"]
        assert after["labels"]["offensive"]["status"] == "insufficient_evidence"
        assert (
            after["insufficient_evidence"] == ["offensive"] and after["labels"]["offensive"]["min_positives"] == 100_000
        )
    finally:
        Taxonomy.from_dict(TAXONOMY).save(heads_model.root / "taxonomy.yaml")
        heads_model.evaluate()


def test_finetune_family_end_to_end(slice_project, tmp_path):
    spec = TrainSpec(
        recipe="ensemble",
        group="safety",
        mix=False,
        onnx=("fp32", "fp16", "int8"),
        finetune=FineTuneArgs(epochs=1, max_length=32, batch_size=32, evals_per_epoch=1),
    )
    m = train_model(slice_project, tmp_path / "ft", spec)
    assert m.card.classifier["family"] == "ensemble"
    # the default ensemble: the character member beside TF-IDF, the weights tuned on calib and in the card
    assert m.card.classifier["members"] == ["finetune", "tfidf", "chars"]
    assert m.card.classifier["weight_tuning"]["split"] == "calib"
    assert abs(sum(m.card.classifier["weights"]) - 1) < 1e-6
    assert m.classifier().members[2].family == "chars" and m.classifier().weights == m.card.classifier["weights"]
    assert set(m.card.variants) == {"torch", "fp32", "fp16", "int8"}
    assert m.card.variants["fp32"].max_abs_diff_vs_torch < 1e-4
    ft = m.classifier().members[0]
    assert ft.history_ and "valid_loss" in ft.history_[0]
    for v in ("torch", "int8"):
        _predict_cli(m.root, tmp_path, v)


def test_thresholds_tuned_with_each_source_counting_equally(slice_project, tmp_path):
    assert (
        main(
            [
                "model",
                "train",
                str(slice_project.root),
                "--out",
                str(tmp_path / "g"),
                "--recipe",
                "tfidf",
                "--group",
                "safety",
                "--no-mix",
                "--thresholds-per-source",
            ]
        )
        == 0
    )
    m = load_model(tmp_path / "g")
    assert m.card.threshold_groups == "source"
    assert set(m.card.thresholds) == set(m.card.labels)
    with pytest.raises(WorkbenchError, match="threshold_groups: expected a column of the task view"):
        train_model(
            slice_project,
            tmp_path / "bad",
            TrainSpec(recipe="tfidf", group="safety", mix=False, threshold_groups="no_such_column"),
        )
    assert not (tmp_path / "bad").exists()


def test_tfidf_family_end_to_end(slice_project, tmp_path):
    m = train_model(slice_project, tmp_path / "tf", TrainSpec(recipe="tfidf", group="safety", mix=True))
    assert m.card.mix["applied"] and "summary" in m.card.mix
    by_source = m.card.mix["label_provenance"]["hate"]  # the training labels by where they came from
    assert sum(by_source.values()) == m.card.split_sizes["train"] and by_source.get("gold", 0) > 0, by_source
    assert set(m.card.variants) == {"torch"}
    _predict_cli(m.root, tmp_path)
    with pytest.raises(WorkbenchError, match="ONNX export of the tfidf recipe"):
        TrainSpec(recipe="tfidf", onnx=("int8",))


def test_corrupted_export_fails_gate_and_cannot_be_promoted(heads_model, tmp_path, capsys):
    import onnx
    from onnx import numpy_helper

    m_dir = tmp_path / "corrupt"
    shutil.copytree(heads_model.root, m_dir)
    path = m_dir / "onnx" / "model.fp32.onnx"
    model = onnx.load(str(path))
    for init in model.graph.initializer:  # zero every float weight
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float32:
            init.CopyFrom(numpy_helper.from_array(np.zeros_like(arr), init.name))
    onnx.save(model, str(path))
    # the file changed since it was gated: refused before any re-evaluation
    assert main(["promote", str(m_dir), "--variant", "fp32"]) == 2
    assert "got a file changed since" in capsys.readouterr().err
    # re-gated, it fails: probabilities collapse to a constant
    main(["evaluate", str(m_dir)])
    card = load_model(m_dir).card
    assert not card.variants["fp32"].passed
    checks = [f.check for f in card.variants["fp32"].gate.failures]
    assert "collapse (near-constant outputs)" in checks
    assert main(["promote", str(m_dir), "--variant", "fp32"]) == 2
    assert "refused: expected a variant that passed its gate, got a failed gate" in capsys.readouterr().err


def test_int8_parity_rule_both_ways(heads_model, tmp_path, capsys):
    """Variants are judged by decisions (agreement, F1 deltas) with the largest probability difference
    reported: the fp32 export passes parity; the dynamic int8's verdict follows its numbers; a
    deliberately broken int8 file (every float tensor zeroed: near-constant outputs) fails loudly by
    name and cannot be promoted."""
    import onnx
    from onnx import numpy_helper

    def parity_failures(info):
        return [f for f in info.gate.failures if f.check.startswith(("parity", "collapse"))]

    variants = heads_model.card.variants
    fp32 = variants["fp32"]
    assert fp32.decision_agreement == 1.0 and fp32.f1_delta_max < 1e-9 and not parity_failures(fp32)
    int8 = variants["int8"]
    assert int8.collapsed == [] and 0 < int8.max_abs_diff_vs_torch < 0.3
    holds = int8.decision_agreement >= 0.995 and int8.f1_delta_max <= 0.01
    assert holds == (not parity_failures(int8)), int8.gate.failures

    m_dir = tmp_path / "broken-int8"
    shutil.copytree(heads_model.root, m_dir)
    path = m_dir / "onnx" / "model.int8.onnx"
    model = onnx.load(str(path))
    for init in model.graph.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float32 and arr.ndim >= 1:
            init.CopyFrom(numpy_helper.from_array(np.zeros_like(arr), init.name))
    onnx.save(model, str(path))
    main(["evaluate", str(m_dir)])
    bad = load_model(m_dir).card.variants["int8"]
    assert not bad.passed and bad.collapsed
    assert "collapse (near-constant outputs)" in [f.check for f in bad.gate.failures]
    capsys.readouterr()
    assert main(["promote", str(m_dir), "--variant", "int8"]) == 2
    assert "refused: expected a variant that passed its gate, got a failed gate" in capsys.readouterr().err


def test_int8_plan_keeps_the_lossiest_groups_in_fp32(heads_model, tmp_path):
    """The int8 variant is planned on calib: when quantising everything misses the target, each MatMul
    group's loss is measured (once per graph and calib: a plan for another target reuses the losses) and
    the lossiest groups stay fp32, as few as the target allows; the file
    written is the plan's (its quantised MatMuls counted) and meets the target on calib when scored
    again, reproducing the plan's calib figure; the variant is then gated on holdout."""
    import onnx

    from training.artifacts import matmul_groups

    first = heads_model.card.int8_plan
    assert first["tries"][0]["kept"] == 0  # the default plan starts from everything in int8
    assert first["met_target"] == (
        first["calib"]["agreement"] >= first["target"]["min_agreement"]
        and first["calib"]["f1_delta_max"] <= first["target"]["max_f1_delta"]
    )
    m_dir = tmp_path / "planned"
    shutil.copytree(heads_model.root, m_dir)
    model = load_model(m_dir)
    bound = first["tries"][0]["max_abs_dp"] / 2  # a target that all-int8 misses and all-fp32 meets
    model.card.int8_target = {"max_abs_dp": bound}
    model.save_card()
    model.export(["fp32", "int8"])
    plan = model.card.int8_plan
    assert not plan["tries"][0]["met"] and plan["met_target"]
    groups = matmul_groups(m_dir / "onnx" / "model.fp32.onnx")
    assert set(plan["loss"]) == set(groups)
    # the first plan measured every group's loss (its all-int8 try missed the default target); this plan has
    # the same graph and calib, so it reuses those losses instead of measuring them again
    assert set(first["loss"]) == set(groups) and not first["loss_reused"]
    assert plan["loss_reused"] and plan["loss"] == first["loss"] and plan["measured_on"] == first["measured_on"]
    ranked = sorted(plan["loss"], key=lambda g: -plan["loss"][g])
    k = len(plan["kept_fp32"])
    assert 0 < k <= len(groups) and plan["kept_fp32"] == ranked[:k]
    graph = onnx.load(str(m_dir / "onnx" / "model.int8.onnx"), load_external_data=False)
    assert sum(n.op_type == "MatMulInteger" for n in graph.graph.node) == plan["quantised_nodes"]
    assert plan["quantised_nodes"] + plan["kept_nodes"] == sum(len(v) for v in groups.values())
    _, texts, _ = model.split("calib")
    dp = np.abs(model.predictor("int8")(texts) - model.predictor("fp32")(texts)).max()
    assert dp <= bound + 1e-6 and dp == pytest.approx(plan["calib"]["max_abs_dp"], abs=1e-5)
    assert model.card.variants["int8"].decision_agreement is not None  # then gated on holdout


def test_shuffled_taxonomy_raises_label_order_error(heads_model):
    shuffled = Taxonomy.from_dict({"labels": [{"name": "offensive"}, {"name": "hate"}, {"name": "scam"}]})
    with pytest.raises(
        TaxonomyError,
        match=re.escape(
            "Label order of model ['hate', 'offensive'] does not match taxonomy ['offensive', 'hate']; "
            "re-export the model or load it with the taxonomy it was trained on"
        ),
    ):
        load_model(heads_model.root, taxonomy=shuffled)
    load_model(heads_model.root, taxonomy=Taxonomy.from_dict(TAXONOMY))  # the right order loads


@pytest.mark.parametrize("recipe", ["tfidf", "heads"])
def test_tuning_never_reads_holdout(tmp_path, recipe):
    p = Project.init(tmp_path / "p", taxonomy=Taxonomy.from_dict(TAXONOMY))
    p.records.import_file(REPO / "data" / "demo" / "davidson_slice.csv", "davidson")
    spec = TrainSpec(recipe=recipe, group="safety", mix=False)
    m1 = train_model(p, tmp_path / "m1", spec)
    f = p.records.frame()
    hold = f[f["split"] == "holdout"]
    for rid, h, o in zip(hold["id"], hold["hate"], hold["offensive"]):  # poison every holdout label
        p.store.set_labels(rid, {"hate": int(1 - h), "offensive": int(1 - o)}, actor="poisoner")
    m2 = train_model(p, tmp_path / "m2", spec)
    assert m1.card.snapshot_id != m2.card.snapshot_id
    assert m1.card.thresholds == m2.card.thresholds
    assert m1.card.metrics["macro_f1"] != m2.card.metrics["macro_f1"]  # holdout itself did change


def test_model_set_and_promotion(slice_project, heads_model, tmp_path):
    train_model_set(slice_project, tmp_path / "set", ["safety", "spam"], TrainSpec(recipe="tfidf", mix=False))
    loaded = ModelSet.load(tmp_path / "set")
    assert loaded.labels == ["hate", "offensive", "scam", "spam"]
    out = loaded.predict(["click here to claim your prize by paying the fee", "you stupid idiot"])
    assert set(out[0]["probabilities"]) == {"hate", "offensive", "scam", "spam"}
    rows = _predict_cli(tmp_path / "set", tmp_path)
    assert "scam" in rows[0]["decisions"]
    # promotion: a passing model is promoted; the next model is compared with it
    passed = [v for v in ("fp16", "fp32", "torch") if heads_model.card.variants[v].passed]
    promoted = next(v for v in passed if v != heads_model.best_variant())  # not the one predict picked before
    entry = promote(heads_model, variant=promoted)
    assert promoted_model(slice_project).root == heads_model.root.resolve()
    assert entry["snapshot_id"] == heads_model.card.snapshot_id
    # what is served is what was promoted: predict without --variant names it on every row
    assert {r["variant"] for r in _predict_cli(heads_model.root, tmp_path)} == {promoted}
    nxt = train_model(slice_project, tmp_path / "next", TrainSpec(recipe="heads", group="safety", mix=False))
    cmp_labels = [r["label"] for r in nxt.card.comparison["per_label"]]
    assert cmp_labels == ["hate", "offensive"]
    assert nxt.card.comparison["variant"] == promoted and "McNemar" in nxt.card.comparison["test"]
    row = nxt.card.comparison["per_label"][0]
    assert {"lost_positives", "gained_positives", "p_recall", "p_fpr", "regression"} <= set(row)


def test_quarantined_seed_is_named_in_the_model(slice_project, tmp_path):
    slice_project.seeds.quarantine("seed-scam-giftcard", reason="test")
    try:
        m = train_model(slice_project, tmp_path / "q", TrainSpec(recipe="tfidf", group="spam", mix=False))
        assert m.card.excluded_seeds == ["seed-scam-giftcard"]
    finally:
        slice_project.seeds.unquarantine("seed-scam-giftcard")
