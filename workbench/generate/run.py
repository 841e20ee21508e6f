"""``generate``: seeds -> slots -> cached or new items -> dedup -> one pending batch per seed and provider.

Batch ids are derived from the seed version and what makes the items, so running again extends the
same batch: cached items cost nothing, stored ones are not added twice, and a changed seed text (a
new seed version) gets a batch of its own while the old one stays as it was.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from curation import RawRecord, ReadResult, WorkbenchError

from .base import GenerationStats, Item, Provider, SeedSpec
from .cache import GenerationCache, cache_key
from .plan import plan_slots, replan_slots

if TYPE_CHECKING:
    from curation import Project

__all__ = ["PROVIDERS", "BatchSummary", "generate", "make_provider", "batch_id_for"]

PROVIDERS = ("openai-compatible", "retrieval", "perturbation")
SOURCE = "generated"


@dataclass
class BatchSummary:
    """What one seed's batch got in one run."""

    seed_id: str
    batch_id: str
    asked: int
    made: int = 0
    from_cache: int = 0
    already_stored: int = 0
    stored: int = 0
    dropped_duplicate: int = 0
    missing: int = 0  # slots still without an item after every attempt
    dropped_slots: int = 0  # slots a new plan of the seed no longer wants (their records quarantined)
    stats: GenerationStats = field(default_factory=GenerationStats)

    def to_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in asdict(self).items() if k != "stats"}, **vars(self.stats)}


def batch_id_for(provider: Provider, seed: SeedSpec) -> str:
    """``gen-{seed id}-{provider}-{hash of model and params}``: one batch per seed version and maker."""
    h = hashlib.sha256(
        json.dumps([provider.name, provider.model, dict(provider.params)], sort_keys=True).encode()
    ).hexdigest()[:8]
    return f"gen-{seed.id}-{provider.name}-{h}"


def make_provider(
    project: Project,
    name: str,
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
    pool: str | None = None,
    **options,
) -> Provider:
    """A provider by name, with settings from the arguments or the ``generation:`` section of workbench.yaml."""
    cfg = project.settings.generation.model_dump(mode="json", exclude_none=True)
    if name == "openai-compatible":
        base_url = base_url or cfg.get("base_url")
        model = model or cfg.get("model")
        if not base_url or not model:
            raise WorkbenchError(
                "provider openai-compatible",
                expected="--base-url URL and --model NAME",
                got=f"base_url={base_url!r}, model={model!r}",
                fix="pass them, or set generation.base_url and generation.model in workbench.yaml",
            )
        from .openai_compatible import OpenAICompatibleProvider

        settings = {
            k: cfg[k]
            for k in ("chunk", "concurrency", "rpm", "max_attempts", "timeout", "temperature", "backoff", "max_backoff")
            if k in cfg
        }
        return OpenAICompatibleProvider(
            project.taxonomy,
            base_url=base_url,
            model=model,
            api_key_env=api_key_env or cfg.get("api_key_env"),
            **{**settings, **options},
        )
    if name == "retrieval":
        from training.families import Encoder

        from .retrieval import RetrievalProvider

        everything = project.records.frame()
        frame = everything[everything["status"] == "active"]
        sources: list[str] = []
        if pool:
            from curation.ingest import read_file

            fmt = "jsonl" if str(pool).endswith((".jsonl", ".jsonl.gz")) else "csv"
            texts = [r.text for r in read_file(pool, fmt, label_columns={}).records if isinstance(r.text, str)]
        else:  # pool records of train and valid only: a retrieved twin shares its pool record's split
            sources = list(cfg.get("pool_sources") or [])
            texts = frame[frame["source"].isin(sources) & frame["split"].isin(["train", "valid"])]["text"].tolist()
        stored = set(everything.loc[~everything["source"].isin(sources), "text"])  # already proposed or labelled
        texts = [t for t in texts if t not in stored]
        positives = {lab: frame.loc[frame[lab] == 1, "text"].head(200).tolist() for lab in project.taxonomy.label_names}
        provider = RetrievalProvider(
            texts,
            Encoder(cache_dir=project.layout.cache),
            positives=positives,
            pool_name=f"file:{Path(pool).name}" if pool else "sources:" + ",".join(sources),
            **options,
        )
        provider.pool_sources = tuple(sources)
        return provider
    if name == "perturbation":
        from .perturbation import PerturbationProvider

        return PerturbationProvider(project.records.frame(active_only=True), project.taxonomy.label_names, **options)
    raise WorkbenchError("provider", expected=f"one of {list(PROVIDERS)}", got=repr(name))


def _seeds(project: Project, labels: Sequence[str] | None, *, only: set[str] | None = None) -> list[SeedSpec]:
    df = project.seeds.latest()
    df = df[(df["status"] == "approved") & ~df["quarantined"]]
    if only is not None:
        df = df[df["base_id"].isin(only)]
    if labels:
        df = df[[bool(set(t) & set(labels)) for t in df["target_labels"]]]
    return [SeedSpec.from_row(r) for r in df.to_dict(orient="records")]


def generate(
    project: Project,
    provider: Provider,
    *,
    seeds_file=None,
    labels: Sequence[str] | None = None,
    n: int | None = None,
    progress: bool = False,
    actor: str = "generate",
    only: set[str] | None = None,
) -> list[BatchSummary]:
    """Make (or extend) one pending batch for every approved seed (of ``labels``, when given).

    With ``seeds_file``, its seeds that are not stored yet are imported first and only its seeds are
    generated for (not every approved seed of the project); ``only`` names the seeds (base ids) to
    generate for. ``n`` overrides each seed's ``batch_size``. Generated records go to the splits of ``generation.splits`` (train and valid by
    default), with provenance: provider, model, params, seed version, batch, prompt hash.
    """
    if seeds_file is not None:
        from curation.ingest import read_seeds

        in_file = {sd["id"] for sd in read_seeds(seeds_file).seeds}
        only = in_file if only is None else only & in_file
        project.records.import_file(seeds_file, "seeds", actor=actor)
    cache = GenerationCache(project.layout.generation_cache)
    out = []
    try:
        for seed in _seeds(project, labels, only=only):
            out.append(_one_batch(project, provider, cache, seed, n or seed.batch_size, progress=progress, actor=actor))
    finally:
        cache.close()
    return out


def _one_batch(
    project: Project, provider: Provider, cache: GenerationCache, seed: SeedSpec, n: int, *, progress: bool, actor: str
) -> BatchSummary:
    from tqdm.auto import tqdm

    bid = batch_id_for(provider, seed)
    summary = BatchSummary(seed.id, bid, asked=n)
    known = project.batches.frame().set_index("id")
    existing = (
        {int(i): v for i, v in (known.loc[bid, "summary"].get("slots") or {}).items()} if bid in known.index else {}
    )
    slots, dropped = replan_slots(plan_slots(seed, n), existing)
    keys = {
        s.index: cache_key(provider.name, provider.model, provider.params, seed.id, seed.text, s.index, s.labels)
        for s in slots
    }
    items: dict[int, Item] = {}
    for key, item in cache.get_many(list(keys.values())).items():
        items[item.index] = item
    summary.from_cache = len(items)
    missing = [s for s in slots if s.index not in items]
    if missing:
        bar = tqdm(total=len(missing), desc=f"{seed.id} ({provider.name})", disable=not progress, leave=False)

        def keep(item: Item) -> None:  # cached the moment it arrives: a killed run resumes here
            cache.put(keys[item.index], item)
            bar.update(1)

        for item in provider.generate(seed, missing, stats=summary.stats, on_item=keep):
            items[item.index] = item
        bar.close()
    summary.made = len(items) - summary.from_cache
    summary.missing = len(slots) - len(items)
    summary.dropped_slots = len(dropped)
    _store(project, provider, seed, bid, [items[i] for i in sorted(items)], summary, actor=actor)
    if bid in project.store.batches():
        _save_plan(project, bid, existing, slots, dropped, seed, actor=actor)
    return summary


def _save_plan(project: Project, bid: str, existing, slots, dropped: list[int], seed: SeedSpec, *, actor: str) -> None:
    """Keep the batch's slots (every index ever used, active or dropped) in its summary; quarantine the
    stored records of slots the new plan dropped, so the batch holds what its plan says."""
    plan = {str(i): dict(v) for i, v in existing.items()}
    for i in dropped:
        plan[str(i)] = {**plan[str(i)], "active": False}
    for s in slots:
        plan[str(s.index)] = {"labels": dict(s.labels), "overlap_label": s.overlap_label, "active": True}
    if plan != {str(i): dict(v) for i, v in existing.items()}:
        project.store.update_batch_summary(bid, "slots", plan, actor=actor)
    ids = [f"{SOURCE}:{bid}#{i}" for i in dropped]
    stored = project.store.existing(ids)
    if stored:
        project.store.quarantine_records(
            sorted(stored), reason=f"slot dropped by a new generation plan of seed {seed.id}", actor=actor
        )


def _store(
    project: Project,
    provider: Provider,
    seed: SeedSpec,
    bid: str,
    items: list[Item],
    summary: BatchSummary,
    *,
    actor: str,
) -> None:
    origin = "perturbation" if provider.name == "perturbation" else "generated"
    ids = [f"{SOURCE}:{bid}#{it.index}" for it in items]
    stored = project.store.existing(ids)
    fresh = [it for it, rid in zip(items, ids) if rid not in stored]
    summary.already_stored = len(items) - len(fresh)
    # a variant is meant to sit next to its parent and a retrieved text is a pool text: for them only the
    # very same string counts as a duplicate, and the pool's own records do not count
    dup = project.records.duplicate_mask(
        [it.text for it in fresh],
        near=provider.name == "openai-compatible",
        ignore_sources=getattr(provider, "pool_sources", ()),
    )
    summary.dropped_duplicate = sum(dup)
    keep = [it for it, d in zip(fresh, dup) if not d]
    batch_known = bid in project.store.batches()
    if not keep and batch_known:
        return
    params = {"model": provider.model, **dict(provider.params)}
    records = [
        RawRecord(
            where=f"{bid}#{it.index}",
            text=it.text,
            labels=dict(it.labels),
            source_id=f"{bid}#{it.index}",
            context=seed.context,
            origin=origin,
            batch_id=bid,
            provenance="generator",
            meta={
                "provider": provider.name,
                "model": provider.model,
                "params": dict(provider.params),
                "seed_version": seed.version,
                "item_index": it.index,
                **it.meta,
            },
        )
        for it in keep
    ]
    batches = (
        []
        if batch_known
        else [
            {
                "id": bid,
                "seed_id": seed.id,
                "provider": provider.name,
                "params": params,
                "status": "pending",
                "summary": summary.to_dict(),
            }
        ]
    )
    res = ReadResult(records, [], source=SOURCE, context=seed.context, format="generated", batches=batches)
    result = project.records.import_result(res, actor=actor, fractions=project.settings.generation.splits)
    summary.stored = result.n_inserted
