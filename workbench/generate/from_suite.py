"""``--from-suite``: a model's failing functionalities become seeds and pending batches built from the
suites' **train-side** material only.

For each functionality the model fails (its gate verdict on the suites, :meth:`training.artifacts.ModelDirectory.run_suite`),
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

A failing invariance or directional test (``type: inv | dir``) is generated from like any other: its
train-side cases are perturbed copies of train-side cases, and each comes with its original, so the batch
holds contrast pairs (the original and the perturbed text, with the same labels) of both signs.

Every batch is pending and goes through batch review like any other: the suite cannot put unreviewed
data into training, and no test-side text is ever used (expansion already refused suites whose sides
meet).

Why the contrasts: batches for the failing functionalities alone teach a shortcut. Measured with
``bench/turns.py``: M0 failed five positive functionalities of the starter ``hate`` suite; M1 trained on
their train-side batches alone passed all five (1.000) and failed every negative one it had passed
(negated hate 0.983 -> 0.000, counter-speech 0.980 -> 0.000, neutral and positive mentions 1.000 ->
0.000): a protected group named at all had become hate. The contrasts keep the minimal pairs together.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from typing import Any, Iterable, Sequence

from curation import Project, WorkbenchError, normalise_text
from curation.suites import SuiteCase, read_cases

from .base import GenerationStats, Item, SeedSpec, Slot
from .perturbation import obfuscate_word, perturb

__all__ = ["SuiteProvider", "balanced_sizes", "generate_from_suite", "suite_seed_id"]


def suite_seed_id(functionality: str) -> str:
    return f"suite-{functionality}"


def _round_robin(cases: Sequence[SuiteCase], slot: str = "group") -> list[SuiteCase]:
    """``cases`` ordered so that the values of filler ``slot`` take turns: the first ``k`` cases of the
    order name every value about ``k / values`` times (a batch of any size is balanced over the groups)."""
    buckets: dict[str, list[SuiteCase]] = {}
    for c in sorted(cases, key=lambda c: c.id):
        buckets.setdefault(c.fillers.get(slot, ""), []).append(c)
    order = [buckets[k] for k in sorted(buckets)]
    return [b[i] for i in range(max((len(b) for b in order), default=0)) for b in order if i < len(b)]


class SuiteProvider:
    """Items from the train-side cases of a seed's functionality, then perturbations of them.

    The cases take turns over the ``group`` filler, so every group is named about equally often in a
    batch; past the cases, every other item hides one of the case's filler words the way insults and
    slurs are hidden (:func:`~workbench.generate.perturbation.obfuscate_word`: the attribute word, or the
    group when the template has no other slot) and the others get :func:`perturb`'s whole-text noise (swapped
    or dropped letters, added or removed spaces, leetspeak, ...). Both are applied to every functionality
    alike, to the hateful and to the benign ones, so a spelling never carries the label. ``round`` (a loop
    turn) starts the cases and the perturbations elsewhere and is part of the batch's identity (a new batch
    per turn). A variant whose text is a test-side case's (``test_texts``, normalised) is drawn again; the
    unperturbed train-side case is the fallback.
    """

    name = "suite"

    def __init__(self, cases: Sequence[SuiteCase], *, n_ops: int = 2, round: int = 0, test_texts: Iterable[str] = ()):
        train = [c for c in cases if c.side == "train"]
        if any(c.side != "train" for c in cases):
            raise WorkbenchError("suite provider", expected="train-side cases only", got="test-side cases among them")
        by_seed: dict[str, list[SuiteCase]] = {}
        for c in train:
            by_seed.setdefault(suite_seed_id(c.functionality), []).extend(_with_original(c))
        self.by_seed = {sid: _round_robin(pool) for sid, pool in by_seed.items()}
        self.n_ops = n_ops
        self.round = int(round)
        self.forbidden = {normalise_text(t) for t in test_texts}
        self.model = "train-side-v2"
        self.params = {"n_ops": n_ops, **({"round": self.round} if self.round else {})}

    def _variant(self, case: SuiteCase, key: str, seen: set[str]) -> tuple[str, dict[str, Any]]:
        """A perturbed copy of ``case`` that is no test-side text and new in the batch (``case.text`` itself
        after 8 tries)."""
        for attempt in range(8):
            k = int(hashlib.sha256(f"{key}#{attempt}".encode()).hexdigest()[:8], 16)
            words = [v for slot, v in sorted(case.fillers.items()) if slot != "group" and v in case.text]
            words = words or [v for v in case.fillers.values() if v in case.text]
            if words and k % 2 == 0:
                word = words[k % len(words)]
                hidden, kind = obfuscate_word(word, k)
                text, meta = case.text.replace(word, hidden, 1), {"perturbations": [f"word:{kind}"], "word": word}
            else:
                text, applied = perturb(case.text, k, n_ops=self.n_ops)
                meta = {"perturbations": applied}
            norm = normalise_text(text)
            if norm not in self.forbidden and norm not in seen and text != case.text:
                seen.add(norm)
                return text, meta
        return case.text, {"perturbations": []}

    def generate(self, seed: SeedSpec, slots: Sequence[Slot], *, stats: GenerationStats, on_item=None):
        pool = self.by_seed.get(seed.id, [])
        offset = (self.round * 7919) % len(pool) if pool else 0  # turn k starts elsewhere in the cases
        seen = {normalise_text(c.text) for c in pool}
        for slot in slots:
            stats.requests += 1
            if not pool:
                stats.failed_slots += 1
                continue
            at = slot.index + offset
            case = pool[at % len(pool)]
            meta: dict[str, Any] = {
                "suite": case.suite,
                "functionality": case.functionality,
                "case_id": case.id,
                "template_id": case.template_id,
                "fillers": case.fillers,
            }
            text = case.text
            if slot.index >= len(pool):  # past the cases: a perturbed copy of one of them
                text, extra = self._variant(case, f"{seed.id}#{self.round}#{slot.index}", seen)
                meta.update(extra)
            item = Item(slot.index, text, dict(case.expect), meta)
            if on_item is not None:
                on_item(item)
            yield item


def _with_original(case: SuiteCase) -> list[SuiteCase]:
    """A minimum-functionality case alone; an invariance or directional case as a contrast pair: the perturbed
    text and its original, both with the case's labels (an invariance case's are its original's, hateful or
    benign: both signs; a directional train-side case's original already expects the direction)."""
    if case.type == "mft" or not case.original:
        return [case]
    original = dataclasses.replace(case, id=f"{case.id}:original", text=case.original, perturbation=None)
    return [case, original]


def _seed_for(project: Project, functionality: str, cases: list[SuiteCase], description: str, actor: str) -> str:
    """The approved seed of a failing functionality (added when missing; kept as it is when stored)."""
    sid = suite_seed_id(functionality)
    seeds = project.seeds.frame()
    if sid in set(seeds["id"]):
        return sid
    expect = cases[0].expect
    positive = [lab for lab, v in expect.items() if v == 1]
    if cases[0].type != "mft":  # a perturbation test: its cases carry both signs; it targets its labels
        positive = sorted({lab for c in cases for lab in c.expect})
    kind, targets = ("positive", positive) if positive else ("hard_negative", [lab for lab in expect])
    project.seeds.add(
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
    round: int = 0,
    retrieve: bool = False,
) -> dict[str, Any]:
    """Seeds and pending batches for every functionality ``model`` fails (see the module docstring).

    ``n``: items per batch (default: twice the functionality's train-side cases, at most 200).
    ``use_llm``: also ask the configured openai-compatible endpoint (default: when one is configured).
    ``result``: the model's :class:`training.evaluation.SuiteResult` when the caller ran the suites already (e.g. on
    cases the model was not trained with); by default the model's own gate cases are run. ``contrast``: also
    the passing functionalities that expect the opposite on a failing one's label (see the module docstring;
    on by default). ``round``: the loop turn (each turn's batches are new ones, see :class:`SuiteProvider`).
    ``retrieve``: also a batch of real posts from the project's pool per seed (the ``retrieval`` provider,
    ``generation.pool_sources``: nearest to the mean of the functionality's train-side cases; they carry the seed's labels as a suggestion
    only, so ask for them when the batches go to real review, never to an accept-everything demo). Batch sizes are balanced over the two signs (:func:`balanced_sizes`).
    Returns ``{"failing": [...], "seeds": [...], "batches": [BatchSummary, ...], "skipped": {func: why}}``."""

    from .run import generate, make_provider

    if result is None:
        from training.evaluation import suite_result

        result = suite_result(model)
    if result is None:
        raise WorkbenchError(
            f"suite results of {model.root}",
            expected="a model gated on functional-suite cases",
            got="none",
            fix="expand the project's suites (workbench suite expand DIR), then train",
        )
    failing = [f.subject for f in result.verdict.failures if f.kind == "functionality"]
    cases = [c for c in read_cases(project.root) if c.side == "train"]
    seeds, contrasts, skipped = _pick_seeds(project, result, cases, contrast=contrast, actor=actor)
    batches = []
    if seeds:
        test_texts = [c.text for c in read_cases(project.root) if c.side == "test"]
        provider = SuiteProvider(cases, round=round, test_texts=test_texts)
        sizes = balanced_sizes(seeds, cases, n)
        for sid in seeds:
            batches += generate(project, provider, only={sid}, n=sizes[sid], progress=progress, actor=actor)
        cfg = project.settings.generation.model_dump(mode="json", exclude_none=True)
        if use_llm or (use_llm is None and cfg.get("base_url") and cfg.get("model")):
            llm = make_provider(project, "openai-compatible")
            for sid in seeds:
                batches += generate(project, llm, only={sid}, n=sizes[sid], progress=progress, actor=actor)
        if retrieve:  # real posts nearest the functionality's train-side cases (their mean embedding)
            pool = make_provider(project, "retrieval")
            pool.query_by(
                {sid: [c.text for c in provider.by_seed.get(sid, [])[:64]] for sid in seeds}, "train-side cases"
            )
            for sid in seeds:
                batches += generate(
                    project, pool, only={sid}, n=max(10, sizes[sid] // 4), progress=progress, actor=actor
                )
    return {"failing": failing, "contrasts": contrasts, "seeds": seeds, "batches": batches, "skipped": skipped}


def _pick_seeds(project: Project, result, cases: list[SuiteCase], *, contrast: bool, actor: str):
    """The seeds to generate for: every failing functionality with train-side material and an unquarantined
    seed, then its contrasts (only beside such material: alone they would teach the opposite shortcut).
    Returns (seed ids, contrasts, skipped functionalities with why)."""
    from curation.suites import load_suites

    failing = [f.subject for f in result.verdict.failures if f.kind == "functionality"]
    functionalities = {f.name: f for s in load_suites(project.root, project.taxonomy) for f in s.functionalities}
    seeds: list[str] = []
    skipped: dict[str, str] = {}
    quarantined = set(project.seeds.frame().query("quarantined")["id"]) if len(project.seeds.frame()) else set()

    def add(func: str) -> bool:
        mine = [c for c in cases if c.functionality == func]
        if not mine:
            if func in failing:
                skipped[func] = "no train-side templates or fillers: write some (side: train) to generate from"
            return False
        described = functionalities[func].description if func in functionalities else func
        sid = _seed_for(project, func, mine, described, actor)
        if sid in quarantined:
            skipped[func] = f"seed {sid} is quarantined (a batch of it was rejected in review)"
            return False
        seeds.append(sid)
        return True

    fixing = [func for func in failing if add(func)]
    contrasts = _contrasts(fixing, failing, functionalities) if contrast else []
    for func in contrasts:
        add(func)
    return seeds, contrasts, skipped


def balanced_sizes(seeds: Sequence[str], cases: Sequence[SuiteCase], n: int | None = None) -> dict[str, int]:
    """Items per seed batch: ``n`` (default: twice the functionality's train-side cases, at most 200), then
    the batches of whichever sign (hateful: some label expected 1; benign: none) names fewer groups scaled
    up until both signs name the ``group`` fillers equally often: a group named in the new material then
    carries no label (identity balance by construction; :class:`SuiteProvider` spreads a batch evenly over
    the groups).

    >>> from curation.suites import SuiteCase
    >>> c = lambda f, e, g: SuiteCase(f"{f}{g}", "s", f, f"{g} x", "train", e, "T2", fillers={"group": g})
    >>> cases = [c("hateful", {"hate": 1}, g) for g in "ab"] + [c(f, {"hate": 0}, g) for f in ("neg", "neutral") for g in "ab"]
    >>> balanced_sizes(["suite-hateful", "suite-neg", "suite-neutral"], cases, 10)
    {'suite-hateful': 20, 'suite-neg': 10, 'suite-neutral': 10}
    """
    by_seed: dict[str, list[SuiteCase]] = {}
    for c in cases:
        by_seed.setdefault(suite_seed_id(c.functionality), []).append(c)
    sizes = {sid: n or min(200, 2 * len(by_seed.get(sid, []))) for sid in seeds}
    named = [sid for sid in seeds if any("group" in c.fillers for c in by_seed.get(sid, []))]
    sign = {sid: any(v == 1 for v in by_seed[sid][0].expect.values()) for sid in named}
    totals = {s: sum(sizes[sid] for sid in named if sign[sid] == s) for s in (True, False)}
    if totals[True] and totals[False]:
        small = min(totals, key=totals.get)
        factor = totals[not small] / totals[small]
        for sid in named:
            if sign[sid] == small:
                sizes[sid] = int(math.ceil(sizes[sid] * factor))
    return sizes


def _contrasts(fixing: list[str], failing: list[str], functionalities: dict) -> list[str]:
    """Functionalities not failing (nor known gaps) that expect the opposite of one being fixed on one of
    its labels."""
    out = []
    fixing = [bad for bad in fixing if bad in functionalities and functionalities[bad].type == "mft"]
    for name, f in functionalities.items():
        if name in failing or f.known_gap or f.type != "mft":  # a perturbation test's pairs are both signs already
            continue
        if any(
            lab in functionalities[bad].expect and functionalities[bad].expect[lab] != v
            for bad in fixing
            if bad in functionalities
            for lab, v in f.expect.items()
        ):
            out.append(name)
    return out
