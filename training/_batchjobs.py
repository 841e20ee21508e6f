"""Batch jobs over many records — embedding, scoring and whatever else maps a stateful model over blocks —
in this process, or as Ray Data jobs on a Ray cluster (``--ray auto|ADDRESS``).

A job is a *block function*: a class whose constructor loads the heavy thing once (an encoder, a model,
a projection) and whose ``__call__`` maps one block ``{"id": ..., <columns>}`` (numpy arrays) to a block
of results. The same class runs in both places:

- :class:`LocalJobs` calls it block by block in this process (the single-process path);
- :class:`RayJobs` hands it to ``ray.data.Dataset.map_batches`` as a callable class, so Ray runs it in
  a pool of stateful actors (one per CPU, or one per GPU share when the cluster has GPUs), streams the
  blocks through them and hands the result blocks back to this process as they finish.

Results come back to the caller, which writes them through the store's normal path (the embedding
cache, an output file written atomically, the review datasets): workers never write project files.
Every result block carries the Ray node that computed it (``node``), so a run can say where work went.

Ray is optional (``pip install 'moderation-workbench[scale]'``); asking for it without it installed is
an error with that hint, raised when the job starts, not at import.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np
import pandas as pd

from curation import WorkbenchError

from .families._embeddings import default_threads

__all__ = [
    "BatchJobs",
    "LocalJobs",
    "RayJobs",
    "batch_jobs",
    "JobReport",
    "EmbedBlocks",
    "ScoreBlocks",
    "embed_texts",
    "score_texts",
    "embed_project",
    "score_project",
    "node_name",
]

RAY_INSTALL = "pip install 'moderation-workbench[scale]'"


@dataclasses.dataclass
class JobReport:
    """What a job did: rows, blocks, actors and the rows each Ray node computed (``{"local": n}`` here)."""

    rows: int = 0
    blocks: int = 0
    actors: int = 1
    nodes: Counter = dataclasses.field(default_factory=Counter)
    seconds: float = 0.0


def node_name() -> str:
    """The Ray node this runs on inside a Ray actor, else ``local``."""
    try:
        import ray

        if ray.is_initialized() and ray.get_runtime_context().get_actor_id() is not None:  # in a Ray actor
            return ray.get_runtime_context().get_node_id()
    except ImportError:  # pragma: no cover - ray is optional
        pass
    return "local"


# --------------------------------------------------------------------------------------------- block functions


class EmbedBlocks:
    """``{"id", "text"} -> {"id", "vector", "node"}`` with a sentence encoder loaded once per actor."""

    def __init__(self, encoder: str, max_length: int = 128, batch_size: int = 64, device: Optional[str] = None):
        from .families._embeddings import Encoder

        self.encoder = Encoder(encoder, max_length=max_length, batch_size=batch_size, device=device or _device())
        self.encoder.load()

    def __call__(self, block: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.encoder.encode([str(t) for t in block["text"]])
        return {"id": np.asarray(block["id"]), "vector": vectors, "node": np.full(len(vectors), node_name())}


class ScoreBlocks:
    """``{"id", "text"} -> {"id", "probs", "node"}`` with one model variant loaded once per actor."""

    def __init__(self, model_dir: str, variant: str, threads: int = 1):
        from .artifacts._modeldir import load_model

        self.predict = load_model(model_dir).predictor(variant, threads=threads)

    def __call__(self, block: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        probs = np.asarray(self.predict([str(t) for t in block["text"]]), dtype=np.float32)
        return {"id": np.asarray(block["id"]), "probs": probs, "node": np.full(len(probs), node_name())}


def _device() -> str:
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover
        return "cpu"


# --------------------------------------------------------------------------------------------- runners


def _blocks_of(frame: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    n = max(1, min(n, len(frame)))
    bounds = np.linspace(0, len(frame), n + 1).astype(int)
    return [frame.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _as_block(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {c: (np.stack(frame[c].to_numpy()) if c == "vector" else frame[c].to_numpy()) for c in frame.columns}


class BatchJobs:
    """Where block functions run: :class:`LocalJobs` or :class:`RayJobs`."""

    report: JobReport

    def map(
        self,
        fn: type,
        kwargs: dict,
        rows: pd.DataFrame | None = None,
        *,
        parquet: Optional[Path] = None,
        columns: Sequence[str] = ("id", "text"),
        gpu: bool = False,
    ) -> Iterator[dict[str, np.ndarray]]:
        """Result blocks of ``fn(**kwargs)`` over ``rows`` (a frame with ``columns``) or over the columns
        of a Parquet file; ``gpu``: the function can use a GPU when one is there."""
        raise NotImplementedError


class LocalJobs(BatchJobs):
    """This process, block after block: the single-process path (and the reference Ray is checked against)."""

    def __init__(self, block_size: int = 4096):
        self.block_size = block_size
        self.report = JobReport()

    def map(self, fn, kwargs, rows=None, *, parquet=None, columns=("id", "text"), gpu=False):
        import time

        began = time.monotonic()
        if rows is None:
            rows = pd.read_parquet(parquet, columns=list(columns))
        worker = fn(**kwargs)
        blocks = _blocks_of(rows[list(columns)], -(-len(rows) // self.block_size)) if len(rows) else []
        self.report = JobReport(rows=len(rows), blocks=len(blocks), actors=1)
        for block in blocks:
            out = worker(_as_block(block))
            self.report.nodes.update(Counter(out["node"].tolist()))
            yield out
        self.report.seconds = time.monotonic() - began


class RayJobs(BatchJobs):
    """Ray Data over a Ray cluster: ``address`` is ``"auto"`` (the cluster this machine belongs to, else a
    new one here), ``"local"`` (a new cluster on this machine, on loopback) or ``HOST:PORT`` /
    ``ray://HOST:PORT``.

    ``actors``: the pool size (default: one per CPU of the cluster, or one per GPU when it has GPUs and the
    job can use them); ``blocks``: at least this many blocks (default: 4 per actor), so every actor gets
    work and results stream back while the rest runs. Connecting sets ``RAY_USAGE_STATS_ENABLED=0`` (no
    usage reports) unless already set, and for a cluster started here Ray's switch that keeps it on
    loopback (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``)."""

    def __init__(
        self,
        address: str = "auto",
        *,
        actors: Optional[int] = None,
        blocks: Optional[int] = None,
        batch_size: int = 1024,
        cpus_per_actor: float = 1.0,
        gpu_share: float = 1.0,
    ):
        self.address = address
        self.actors = actors
        self.blocks = blocks
        self.batch_size = batch_size
        self.cpus_per_actor = cpus_per_actor
        self.gpu_share = gpu_share
        self.report = JobReport()

    def _ray(self):
        if self.address in ("auto", "local") and "ray" not in sys.modules:
            # a cluster started here listens on loopback only (Ray's switch for single-machine clusters)
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            import ray
        except ImportError as e:
            raise WorkbenchError(
                "a Ray batch job (--ray)",
                expected="the [scale] extra of moderation-workbench installed",
                got="no module 'ray' in this environment",
                fix=RAY_INSTALL + ", or run without --ray (the single-process path)",
            ) from e
        if not ray.is_initialized():
            options = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if self.address == "local":
                ray.init(**options)
            else:
                try:
                    ray.init(address=self.address, **options)
                except ConnectionError as e:
                    if self.address != "auto":
                        raise WorkbenchError(
                            f"the Ray cluster at {self.address}",
                            expected="a running cluster (ray start --head on the head node)",
                            got=str(e).splitlines()[0][:200],
                            fix="check the address, or pass --ray local to start one on this machine",
                        ) from e
                    ray.init(**options)  # auto: no cluster on this machine yet, so start one here
        import ray.data

        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the workbench shows its own progress
        context.print_on_execution_start = False
        # the whole pool is up (every actor has loaded its model) before the first block goes out, so the
        # blocks spread over every actor instead of piling onto the first one ready
        context.wait_for_min_actors_s = 600
        return ray

    def map(self, fn, kwargs, rows=None, *, parquet=None, columns=("id", "text"), gpu=False):
        import time

        ray = self._ray()
        began = time.monotonic()
        resources = ray.cluster_resources()
        gpus = resources.get("GPU", 0.0) if gpu else 0.0
        if gpus:
            actors = self.actors or max(1, int(gpus / self.gpu_share))
            remote: dict[str, Any] = {"num_gpus": self.gpu_share}
        else:
            actors = self.actors or max(1, int(resources.get("CPU", 1.0) / self.cpus_per_actor))
            remote = {"num_cpus": self.cpus_per_actor}
        want_blocks = self.blocks or 4 * actors
        if rows is not None:
            n = len(rows)
            blocks = _blocks_of(rows[list(columns)].reset_index(drop=True), want_blocks) if n else []
            per_block = min((len(b) for b in blocks), default=1)
            ds = ray.data.from_pandas(blocks) if n else None
        else:
            # This process reads the snapshot's Parquet in slices straight into the object store: a Ray read
            # task would need a CPU that the actor pool already holds (on a small cluster, forever).
            import pyarrow as pa
            import pyarrow.parquet as pq

            source = pq.ParquetFile(parquet)
            n = source.metadata.num_rows
            per_block = max(1, -(-n // want_blocks))
            slices = source.iter_batches(batch_size=per_block, columns=list(columns))
            ds = ray.data.from_arrow([pa.Table.from_batches([b]) for b in slices]) if n else None
        self.report = JobReport(rows=n, blocks=min(want_blocks, max(1, n)), actors=actors)
        if n == 0:
            return
        mapped = ds.map_batches(
            fn,
            fn_constructor_kwargs=kwargs,
            # no larger than a block, or Ray bundles blocks together and hands them to fewer actors
            batch_size=min(self.batch_size, per_block),
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=2),
            **remote,
        )
        for out in mapped.iter_batches(batch_size=None, batch_format="numpy"):
            self.report.nodes.update(Counter(out["node"].tolist()))
            yield out
        self.report.seconds = time.monotonic() - began


def batch_jobs(ray: Optional[str] = None, **options) -> BatchJobs:
    """:class:`RayJobs` at ``ray`` (``auto`` or an address) when given, else :class:`LocalJobs`."""
    if ray:
        return RayJobs(ray, **options)
    return LocalJobs(**{k: v for k, v in options.items() if k == "block_size"})


# --------------------------------------------------------------------------------------------- the jobs


def _collect(blocks: Iterator[dict[str, np.ndarray]], key: str) -> tuple[list, np.ndarray]:
    ids: list = []
    values: list[np.ndarray] = []
    for out in blocks:
        ids.extend(out["id"].tolist())
        values.append(np.asarray(out[key], dtype=np.float32))
    return ids, (np.concatenate(values) if values else np.zeros((0, 0), dtype=np.float32))


def _in_order(want: Sequence, ids: list, values: np.ndarray) -> np.ndarray:
    at = {rid: i for i, rid in enumerate(ids)}
    missing = [rid for rid in want if rid not in at]
    if missing:
        raise WorkbenchError(
            "a batch job's results",
            expected=f"one row for each of the {len(want)} inputs",
            got=f"{len(missing)} missing (first: {missing[0]!r})",
            fix="run it again; a worker that died takes its block with it",
        )
    return values[[at[rid] for rid in want]] if len(want) else values


def embed_texts(
    frame: pd.DataFrame,
    *,
    encoder: str,
    jobs: BatchJobs,
    cache_dir=None,
    max_length: int = 128,
    batch_size: int = 64,
    parquet: Optional[Path] = None,
    progress: bool = False,
) -> np.ndarray:
    """Embeddings of ``frame["text"]`` (rows in ``frame`` order; ``frame["id"]`` unique) computed by ``jobs``,
    those already in the embedding cache under ``cache_dir`` taken from it and the new ones written to it
    as each block arrives. ``parquet``: the file ``frame`` was read from; when nothing is cached yet a Ray
    job slices it into blocks straight from the file."""
    from .families._embeddings import EmbeddingCache, Encoder

    enc = Encoder(encoder, max_length=max_length)
    keys = [enc.cache_key(t) for t in frame["text"]]
    cache = EmbeddingCache(Path(cache_dir) / "embeddings.sqlite") if cache_dir else None
    found = cache.get(enc.model_id, keys) if cache else {}
    todo = frame.loc[[k not in found for k in keys], ["id", "text"]].drop_duplicates("text")
    if len(todo):
        whole = parquet is not None and len(todo) == len(frame) and isinstance(jobs, RayJobs)
        blocks = jobs.map(
            EmbedBlocks,
            {"encoder": encoder, "max_length": max_length, "batch_size": batch_size},
            None if whole else todo,
            parquet=parquet if whole else None,
        )
        key_of = dict(zip(frame["id"], keys))
        with _progress(len(todo), "embed", progress) as tick:
            for out in blocks:
                vectors = np.asarray(out["vector"], dtype=np.float32)
                new = {key_of[rid]: v for rid, v in zip(out["id"].tolist(), vectors)}
                found.update(new)
                if cache:
                    cache.put(enc.model_id, new)
                tick(len(new))
    if frame.empty:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([found[k] for k in keys]).astype(np.float32)


def score_texts(
    frame: pd.DataFrame,
    model_dir,
    *,
    variant: str,
    jobs: BatchJobs,
    threads: Optional[int] = None,
    parquet: Optional[Path] = None,
    progress: bool = False,
) -> np.ndarray:
    """Probabilities of ``model_dir``'s ``variant`` for ``frame["text"]``, rows in ``frame`` order, computed
    by ``jobs`` (a Ray job slices ``parquet`` into blocks straight from the file when given). ``threads``: onnxruntime threads per
    worker (default: every core in this process, an actor's CPUs on Ray)."""
    if threads is None:
        threads = max(1, int(jobs.cpus_per_actor)) if isinstance(jobs, RayJobs) else default_threads()
    blocks = jobs.map(
        ScoreBlocks,
        {"model_dir": str(Path(model_dir).resolve()), "variant": variant, "threads": threads},
        None if parquet is not None and isinstance(jobs, RayJobs) else frame,
        parquet=parquet,
    )

    def counted():
        with _progress(len(frame), "score", progress) as tick:
            for out in blocks:
                tick(len(out["id"]))
                yield out

    ids, probs = _collect(counted(), "probs")
    return _in_order(frame["id"].tolist(), ids, probs)


# --------------------------------------------------------------------------------------------- over a project


def embed_project(
    project, *, encoder: Optional[str] = None, jobs: Optional[BatchJobs] = None, progress: bool = False
) -> tuple[list[str], np.ndarray, JobReport]:
    """Embed the records of the project's current snapshot into its embedding cache (``DIR/cache``), the
    cached ones skipped; returns (ids, vectors in snapshot order, the job's report). What training, the
    maps and error mining then read from the cache."""
    from .families._embeddings import DEFAULT_ENCODER

    jobs = jobs or LocalJobs()
    parquet = project.snapshots.records_path()
    frame = pd.read_parquet(parquet, columns=["id", "text"])
    vectors = embed_texts(
        frame,
        encoder=encoder or DEFAULT_ENCODER,
        jobs=jobs,
        cache_dir=project.layout.cache,
        parquet=parquet,
        progress=progress,
    )
    return frame["id"].tolist(), vectors, jobs.report


def score_project(
    project,
    model,
    out,
    *,
    variant: Optional[str] = None,
    jobs: Optional[BatchJobs] = None,
    threads: Optional[int] = None,
    enforce_hierarchy: bool = False,
    progress: bool = False,
    warn: Optional[Callable[[str], None]] = None,
) -> tuple[int, JobReport]:
    """Score the records of the project's current snapshot with ``model`` (a model directory; the variant
    that serves it, :meth:`training.artifacts.ModelDirectory.serving_variant`, unless ``variant``) and write ``out`` as
    JSONL, one row a record: ``id``, ``text``, then probabilities, decisions, action, ``variant`` and
    ``gate_passed`` (false, and ``warn`` called with why, when the variant did not pass its gate and the model
    is not promoted), atomically. Returns (rows, report)."""
    import json

    from foundation import atomic_write_text

    from .artifacts._modeldir import ModelDirectory, load_model
    from .artifacts._predict import gate_status, warn_unvetted

    model = model if isinstance(model, ModelDirectory) else load_model(model)
    variant = variant or model.serving_variant()
    passed, reasons = gate_status(model, variant)
    warn_unvetted(reasons, warn)
    jobs = jobs or LocalJobs()
    parquet = project.snapshots.records_path()
    frame = pd.read_parquet(parquet, columns=["id", "text"])
    probs = score_texts(
        frame, model.root, variant=variant, jobs=jobs, threads=threads, parquet=parquet, progress=progress
    )
    results = model.policy(enforce_hierarchy=enforce_hierarchy).apply(probs)
    lines = [
        json.dumps({"id": rid, "text": text, **r, "variant": variant, "gate_passed": passed}, ensure_ascii=False)
        for rid, text, r in zip(frame["id"], frame["text"], results)
    ]
    atomic_write_text(out, "\n".join(lines) + ("\n" if lines else ""))
    return len(lines), jobs.report


class _progress:
    """A tqdm bar over rows when asked for, else a no-op counter."""

    def __init__(self, total: int, what: str, show: bool):
        self.bar = None
        if show:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=what, unit="rec")

    def __enter__(self):
        return (lambda n: self.bar.update(n)) if self.bar else (lambda n: None)

    def __exit__(self, *exc):
        if self.bar:
            self.bar.close()
