"""The offline providers on the demo project: retrieval (MMR over training's embedding cache) and
perturbation (label-preserving variants), with Hypothesis properties of the perturbations."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench import build_demo
from workbench.cli import main
from workbench.generate import PERTURBATIONS, generate, make_provider, perturb


@pytest.fixture
def demo(tmp_path):
    project, _ = build_demo(tmp_path / "demo")
    yield project
    project.close()


@pytest.mark.slow
def test_retrieval_makes_pending_batches_with_overlap_by_construction(demo):
    out = generate(demo, make_provider(demo, "retrieval"), n=20)
    assert {s.seed_id for s in out} == {"seed-scam-giftcard", "seed-spam-followers", "seed-hn-giveaway"}
    assert all(s.stored == 20 and s.dropped_duplicate == 0 for s in out)
    f = demo.records.frame()
    gen = f[f["batch_id"].str.startswith("gen-", na=False)]
    scam = gen[gen["seed_id"] == "seed-scam-giftcard"]
    assert ((scam["scam"] == 1) & (scam["spam"] == 1)).sum() == round(0.6 * 20)  # overlap {spam: 0.6}
    assert set(gen["status"]) == {"pending"} and set(gen["split"]) <= {"train", "valid"}
    meta = scam.iloc[0]["meta"]
    assert meta["provider"] == "retrieval" and meta["model"].startswith("all-MiniLM-L6-v2") and "similarity" in meta
    assert (demo.layout.cache / "embeddings.sqlite").exists()  # training's cache, not a second one
    again = generate(demo, make_provider(demo, "retrieval"), n=20)
    assert all(s.made == 0 and s.stored == 0 for s in again)


def test_perturbation_makes_pending_variants_with_their_parents_labels(demo, capsys):
    assert main(["generate", str(demo.root), "--provider", "perturbation", "--n", "8"]) == 0
    assert "pending" in capsys.readouterr().out
    f = demo.records.frame()
    var = f[f["origin"] == "perturbation"]
    assert len(var) == 24 and set(var["status"]) == {"pending"} and set(var["split"]) <= {"train", "valid"}
    parents = f.set_index("id")
    for _, row in var.iterrows():
        parent = parents.loc[row["meta"]["parent_id"]]
        assert row["text"] != parent["text"]
        for lab in ("scam", "spam"):
            assert (row[lab] == parent[lab]) or (row[lab] != row[lab] and parent[lab] != parent[lab])
        assert row["label_provenance"]["scam"] == "generator" and row["meta"]["perturbations"]
    assert main(["generate", str(demo.root), "--provider", "perturbation", "--n", "8", "--write-vectors"]) == 0
    assert len(demo.records.frame()) == len(f)  # nothing new
    from training import TrainSpec, train_model
    from training.evaluation import load_vectors

    # pending variants are not yet known to keep their parents' labels: no vector from them
    vectors = load_vectors(demo.root / "regression_vectors.yaml", demo.taxonomy)
    assert len(vectors) == 0
    batches = sorted(set(var["batch_id"]))
    for bid in batches[:-1]:
        demo.batches.accept(bid, reason="read by the test", actor="test")
    main(["generate", str(demo.root), "--provider", "perturbation", "--n", "8", "--write-vectors"])
    vectors = load_vectors(demo.root / "regression_vectors.yaml", demo.taxonomy)  # the gate can read it
    accepted = var[var["batch_id"].isin(batches[:-1])]
    assert 0 < len(vectors) <= len(accepted) and {v["text"] for v in vectors.positives + vectors.hard_negatives} <= set(
        accepted["text"]
    )
    demo.batches.accept(batches[-1], reason="read by the test", actor="test")
    main(["generate", str(demo.root), "--provider", "perturbation", "--n", "8", "--write-vectors"])
    vectors = load_vectors(demo.root / "regression_vectors.yaml", demo.taxonomy)
    assert len(vectors.positives) == 16 and len(vectors.hard_negatives) == 8
    assert {v["text"] for v in vectors.positives} <= set(var["text"])
    # a batch rejected later: the gate of the next model leaves its vectors out
    demo.batches.set_status(batches[0], "rejected", actor="test", reason="found wanting")
    model = train_model(demo, demo.root / "models" / "m", TrainSpec(recipe="tfidf", mix=False))
    gated = load_vectors(model.root / "regression_vectors.yaml", demo.taxonomy)
    rejected = set(var.loc[var["batch_id"] == batches[0], "text"])
    assert rejected and not rejected & {v["text"] for v in gated.positives + gated.hard_negatives}
    assert len(gated) == len(vectors) - len(rejected)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(min_size=1, max_size=120).filter(lambda t: t.strip()),
    seed=st.integers(0, 2**32 - 1),
    kinds=st.lists(st.sampled_from(sorted(PERTURBATIONS)), min_size=1, max_size=4, unique=True),
)
def test_perturbations_are_deterministic_and_never_empty(text, seed, kinds):
    out, applied = perturb(text, seed, kinds=kinds)
    assert out.strip() and out != text
    assert perturb(text, seed, kinds=kinds) == (out, applied)
    assert set(applied) <= set(kinds) | {"emoji"}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1000))
def test_perturbation_provider_keeps_labels(demo_frame, seed):
    from workbench.generate import PerturbationProvider, SeedSpec, plan_slots
    from workbench.generate.base import GenerationStats

    frame, labels = demo_frame
    provider = PerturbationProvider(frame, labels)
    spec = SeedSpec(f"s{seed}", "x", "positive", ("offensive",))
    items = list(provider.generate(spec, plan_slots(spec, 5), stats=GenerationStats()))
    by_id = frame.set_index("id")
    assert len(items) == 5
    for item in items:
        parent = by_id.loc[item.meta["parent_id"]]
        assert item.labels["offensive"] == 1 and item.text.strip()
        assert item.labels == {lab: int(parent[lab]) for lab in labels if parent[lab] == parent[lab]}
    again = list(provider.generate(spec, plan_slots(spec, 5), stats=GenerationStats()))
    assert [(i.text, i.labels) for i in again] == [(i.text, i.labels) for i in items]


@pytest.fixture(scope="module")
def demo_frame(tmp_path_factory):
    project, _ = build_demo(tmp_path_factory.mktemp("pert") / "demo")
    frame = project.records.frame(active_only=True)
    labels = list(project.taxonomy.label_names)
    project.close()
    return frame, labels


def test_summary_is_json_ready(demo):
    out = generate(demo, make_provider(demo, "perturbation"), n=3)
    json.dumps([s.to_dict() for s in out])
    assert demo.batches.frame().set_index("id").loc[out[0].batch_id, "summary"]["asked"] == 3


@pytest.mark.slow
def test_from_suite_with_retrieval_adds_real_pool_posts_for_each_seed(demo):
    """``retrieve=True``: beside the train-side material, a batch of the pool's real posts per seed,
    pending with the seed's labels as a suggestion (review decides)."""
    from curation.suites import expand_project_suites
    from training import TrainSpec, train_model
    from workbench import add_starter_suites
    from workbench.generate import generate_from_suite

    add_starter_suites(demo)
    expand_project_suites(demo.root, demo.taxonomy)
    model = train_model(demo, demo.root / "models" / "m0", TrainSpec(recipe="tfidf", mix=False, suite_pending=True))
    made = generate_from_suite(demo, model, n=12, retrieve=True)
    by_provider: dict[str, set[str]] = {}
    for b in made["batches"]:
        by_provider.setdefault(b.batch_id.split("-")[-2], set()).add(b.seed_id)
    assert by_provider["retrieval"] == by_provider["suite"] == set(made["seeds"])
    frame = demo.records.frame(include_unreviewed=True)
    pool = frame[frame["batch_id"].str.contains("-retrieval-", na=False)]
    assert len(pool) and set(pool["status"]) == {"pending"}
    sources = set(demo.settings.generation.pool_sources)
    stored_pool = set(frame.loc[frame["source"].isin(sources), "text"])
    assert set(pool["text"]) <= stored_pool  # real posts of the pool, not written ones
    assert all(m["similarity"] > 0 for m in pool["meta"])  # nearest the functionality's train-side cases
    default = generate_from_suite(demo, model, n=12, round=1)  # without the flag: no retrieval
    assert not any("-retrieval-" in b.batch_id for b in default["batches"])
