"""``--from-suite``: a model's failing functionalities become seeds and pending batches built from the
suites' **train-side** material only.

For each functionality the model fails (its gate verdict on the suites, :meth:`training.ModelDirectory.run_suite`),
and for each of its **contrasts** (the functionalities it passes that expect the opposite on one of the
failing one's labels: negated hate and counter-speech for explicit derogation):

- a seed ``suite-<functionality>`` (approved: the suite was written and reviewed by the team; its text is
  the functionality's description; targets the labels it expects 1, or, when it expects only 0s, a
  hard-negative seed on those labels);
- a batch from the ``suite`` provider: the functionality's train-side cases (train-side templates x
  train-side fillers, and train-side literal cases), then label-preserving perturbations of them
  (leetspeak, spacing, swapped characters, ...) until the batch is full; each item keeps the case's
  provenance (suite, template, fillers) and expected labels;
- when an LLM endpoint is configured (``generation.base_url`` and ``generation.model``), a batch from the
  ``openai-compatible`` provider for the same seed as well.

Every batch is pending and goes through batch review like any other: the suite cannot put unreviewed
data into training, and no test-side text is ever used (expansion already refused suites whose sides
meet).

Why the contrasts: batches for the failing functionalities alone teach a shortcut. Measured with
``bench/loop.py``: M0 failed five positive functionalities of the starter ``hate`` suite; M1 trained on
their train-side batches alone passed all five (1.000) and failed every negative one it had passed
(negated hate 0.983 -> 0.000, counter-speech 0.980 -> 0.000, neutral and positive mentions 1.000 ->
0.000): a protected group named at all had become hate. The contrasts keep the minimal pairs together.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

from curation import Project, SuiteCase, WorkbenchError, read_cases

from .base import GenerationStats, Item, SeedSpec, Slot
from .perturbation import perturb

__all__ = ["SuiteProvider", "generate_from_suite", "suite_seed_id"]


def suite_seed_id(functionality: str) -> str:
    return f"suite-{functionality}"


class SuiteProvider:
    """Items from the train-side cases of a seed's functionality, then perturbations of them."""

    name = "suite"

    def __init__(self, cases: Sequence[SuiteCase], *, n_ops: int = 2):
        train = [c for c in cases if c.side == "train"]
        if any(c.side != "train" for c in cases):
            raise WorkbenchError("suite provider", expected="train-side cases only", got="test-side cases among them")
        self.by_seed: dict[str, list[SuiteCase]] = {}
        for c in sorted(train, key=lambda c: c.id):
            self.by_seed.setdefault(suite_seed_id(c.functionality), []).append(c)
        self.n_ops = n_ops
        self.model = "train-side-v1"
        self.params = {"n_ops": n_ops}

    def generate(self, seed: SeedSpec, slots: Sequence[Slot], *, stats: GenerationStats, on_item=None):
        pool = self.by_seed.get(seed.id, [])
        for slot in slots:
            stats.requests += 1
            if not pool:
                stats.failed_slots += 1
                continue
            case = pool[slot.index % len(pool)]
            meta: dict[str, Any] = {
                "suite": case.suite,
                "functionality": case.functionality,
                "case_id": case.id,
                "template_id": case.template_id,
                "fillers": case.fillers,
            }
            text = case.text
            if slot.index >= len(pool):  # past the cases: a perturbed copy of one of them
                key = int(hashlib.sha256(f"{seed.id}#{slot.index}".encode()).hexdigest()[:8], 16)
                text, applied = perturb(case.text, key, n_ops=self.n_ops)
                meta["perturbations"] = applied
            item = Item(slot.index, text, dict(case.expect), meta)
            if on_item is not None:
                on_item(item)
            yield item


def _seed_for(project: Project, functionality: str, cases: list[SuiteCase], description: str, actor: str) -> str:
    """The approved seed of a failing functionality (added when missing; kept as it is when stored)."""
    sid = suite_seed_id(functionality)
    seeds = project.seeds()
    if sid in set(seeds["id"]):
        return sid
    expect = cases[0].expect
    positive = [lab for lab, v in expect.items() if v == 1]
    kind, targets = ("positive", positive) if positive else ("hard_negative", [lab for lab in expect])
    project.add_seed(
        sid,
        text=f"{description} (functional test '{functionality}' of suite {cases[0].suite}, train side)",
        target_labels=targets,
        kind=kind,
        status="approved",
        actor=actor,
    )
    return sid


def generate_from_suite(
    project: Project,
    model,
    *,
    n: int | None = None,
    progress: bool = False,
    use_llm: bool | None = None,
    actor: str = "generate-from-suite",
    result=None,
    contrast: bool = True,
) -> dict[str, Any]:
    """Seeds and pending batches for every functionality ``model`` fails (see the module docstring).

    ``n``: items per batch (default: twice the functionality's train-side cases, at most 200).
    ``use_llm``: also ask the configured openai-compatible endpoint (default: when one is configured).
    ``result``: the model's :class:`training.SuiteResult` when the caller ran the suites already (e.g. on
    cases the model was not trained with); by default the model's own gate cases are run. ``contrast``: also
    the passing functionalities that expect the opposite on a failing one's label (see the module docstring;
    on by default).
    Returns ``{"failing": [...], "seeds": [...], "batches": [BatchSummary, ...], "skipped": {func: why}}``."""
    from curation import load_suites

    from .run import generate, make_provider

    result = result if result is not None else model.run_suite()
    if result is None:
        raise WorkbenchError(
            f"suite results of {model.root}",
            expected="a model gated on functional-suite cases",
            got="none",
            fix="expand the project's suites (workbench suite expand DIR), then train",
        )
    failing = [f.subject for f in result.verdict.failures if f.kind == "functionality"]
    cases = [c for c in read_cases(project.root) if c.side == "train"]
    functionalities = {f.name: f for s in load_suites(project.root, project.taxonomy) for f in s.functionalities}
    described = {name: f.description for name, f in functionalities.items()}
    contrasts = _contrasts(failing, functionalities) if contrast else []
    seeds, skipped = [], {}
    quarantined = set(project.seeds().query("quarantined")["id"]) if len(project.seeds()) else set()
    for func in failing + contrasts:
        mine = [c for c in cases if c.functionality == func]
        if not mine:
            if func in failing:
                skipped[func] = "no train-side templates or fillers: write some (side: train) to generate from"
            continue
        sid = _seed_for(project, func, mine, described.get(func, func), actor)
        if sid in quarantined:
            skipped[func] = f"seed {sid} is quarantined (a batch of it was rejected in review)"
            continue
        seeds.append(sid)
    batches = []
    if seeds:
        provider = SuiteProvider(cases)
        sizes = {
            suite_seed_id(f): min(200, 2 * sum(1 for c in cases if c.functionality == f)) for f in failing + contrasts
        }
        for sid in seeds:
            batches += generate(project, provider, only={sid}, n=n or sizes[sid], progress=progress, actor=actor)
        cfg = project.config.get("generation") or {}
        if use_llm or (use_llm is None and cfg.get("base_url") and cfg.get("model")):
            llm = make_provider(project, "openai-compatible")
            for sid in seeds:
                batches += generate(project, llm, only={sid}, n=n or sizes[sid], progress=progress, actor=actor)
    return {"failing": failing, "contrasts": contrasts, "seeds": seeds, "batches": batches, "skipped": skipped}


def _contrasts(failing: list[str], functionalities: dict) -> list[str]:
    """Functionalities not failing (nor known gaps) that expect the opposite of a failing one on one of its
    labels."""
    out = []
    for name, f in functionalities.items():
        if name in failing or f.known_gap:
            continue
        if any(
            lab in functionalities[bad].expect and functionalities[bad].expect[lab] != v
            for bad in failing
            if bad in functionalities
            for lab, v in f.expect.items()
        ):
            out.append(name)
    return out
