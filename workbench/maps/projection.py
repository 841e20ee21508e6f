"""The 2-D projection of record embeddings, fitted once per snapshot and extended without refitting.

:class:`Projection` reduces the sentence embeddings with PCA (50 components), finds each record's
nearest neighbours with faiss (exact up to 20,000 records, an HNSW graph above) and lays the graph out
with umap-learn (``precomputed_knn``). Records added afterwards are *placed*, not refitted, the way
``UMAP.transform`` starts: each new record's exact nearest stored records, umap's fuzzy membership
weights, and the weighted mean of their positions (exactly a stored record's position for a copy of it).
Two things of umap-learn are left out on purpose: pynndescent for the neighbour search (on this
2-core machine it compiles for about 35 s in every fresh process before it searches, where faiss
needs 6 s for 100,000 records) and the extra layout epochs of ``transform`` (a placed point that stays
among its neighbours, without moving anything else, is what an analyst watching the map wants).

:func:`build_map` ties this to a project: embeddings come from the training embedding cache
(``training.families.Encoder``, ``DIR/cache/embeddings.sqlite``), projections are cached under
``DIR/cache/maps/`` by (snapshot id, encoder, parameters), and later records reuse the newest cached
projection for the same encoder and parameters until a refit is asked for.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from curation import Project, WorkbenchError
from foundation import atomic_write_bytes, atomic_write_text, utc_now
from training import BatchJobs, LocalJobs, embed_texts, node_name
from training.families import DEFAULT_ENCODER, Encoder

__all__ = ["ProjectionParams", "Projection", "MapData", "PlaceBlocks", "build_map"]


@dataclass(frozen=True)
class ProjectionParams:
    """What a projection depends on besides its data (part of the cache key).

    ``n_epochs=None`` lets the size decide: 200 layout epochs up to 10,000 points, 120 up to 50,000,
    80 above (umap-learn's default is 200 at any size above 10,000; ``bench/maps.py`` prints both).
    """

    n_neighbors: int = 15
    min_dist: float = 0.1
    pca_components: int = 50
    n_epochs: int | None = None
    init: str = "pca"
    random_state: int = 0

    def epochs_for(self, n: int) -> int:
        if self.n_epochs is not None:
            return self.n_epochs
        return 200 if n <= 10_000 else 120 if n <= 50_000 else 80

    @property
    def key(self) -> str:
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


EXACT_KNN_UP_TO = 20_000
CACHE_FORMAT = 2  # bumped when a cached projection's contents change: older files are refitted, not read


def _knn(query: np.ndarray, data: np.ndarray, k: int, *, exact: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest ``data`` rows of each ``query`` row (Euclidean), nearest first, with faiss:
    an exact flat index, or an HNSW graph (recall about 0.95 at k=15 on 100,000 MiniLM embeddings)."""
    import faiss

    data = np.ascontiguousarray(data, dtype=np.float32)
    query = np.ascontiguousarray(query, dtype=np.float32)
    if exact:
        index = faiss.IndexFlatL2(data.shape[1])
    else:
        index = faiss.IndexHNSWFlat(data.shape[1], 16)
        index.hnsw.efConstruction = 40
    index.add(data)
    if not exact:
        index.hnsw.efSearch = max(48, 2 * k)
    d2, idx = index.search(query, k)
    return idx.astype(np.int64), np.sqrt(np.maximum(d2, 0.0)).astype(np.float32)


def _neighbour_graph(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest rows, itself included (what umap-learn expects): exact up to
    ``EXACT_KNN_UP_TO`` rows, approximate (HNSW) above."""
    idx, dist = _knn(x, x, k, exact=len(x) <= EXACT_KNN_UP_TO)
    dist[idx < 0] = np.inf  # fewer than k found (HNSW, rare): umap-learn reads -1 as "no neighbour"
    return idx, dist


def _memberships(dist: np.ndarray, k: int, n_iter: int = 64) -> np.ndarray:
    """umap's fuzzy membership of each neighbour, as ``UMAP.transform`` computes it (no local
    connectivity: weights ``exp(-d / sigma)`` with ``sigma`` found by bisection so that each row's
    weights sum to log2(k)); plain numpy, so a fresh kernel pays no compilation before placing."""
    target = np.log2(k)
    lo, hi = np.zeros(len(dist)), np.full(len(dist), np.inf)
    sigma = np.ones(len(dist))
    d = dist.astype(np.float64)
    for _ in range(n_iter):
        total = np.exp(-d / sigma[:, None]).sum(axis=1)
        high = total > target
        hi = np.where(high, sigma, hi)
        lo = np.where(high, lo, sigma)
        sigma = np.where(np.isinf(hi), sigma * 2, (lo + hi) / 2)
    mean = d.mean()
    sigma = np.maximum(sigma, 1e-3 * np.maximum(d.mean(axis=1), mean))
    return np.exp(-d / sigma[:, None])


@dataclass
class Projection:
    """Fitted 2-D coordinates of a set of records, able to place new ones (see the module docstring)."""

    ids: np.ndarray
    coords: np.ndarray
    components: np.ndarray
    reduced: np.ndarray
    neighbors: np.ndarray
    params: ProjectionParams = field(default_factory=ProjectionParams)
    info: dict = field(default_factory=dict)

    # -------------------------------------------------------------- fitting
    @classmethod
    def fit(
        cls, ids: Sequence[str], embeddings: np.ndarray, params: ProjectionParams | None = None, **umap_overrides
    ) -> Projection:
        """PCA, then umap-learn on the reduced vectors. ``umap_overrides`` go to ``umap.UMAP`` as they are."""
        import umap
        from sklearn.decomposition import PCA

        params = params or ProjectionParams()
        x = np.asarray(embeddings, dtype=np.float32)
        if x.ndim != 2 or len(x) != len(ids):
            raise WorkbenchError(
                "projection input",
                expected=f"{len(ids)} embedding rows (one per id)",
                got=f"an array of shape {x.shape}",
            )
        if len(x) < 4:
            raise WorkbenchError(
                "projection input",
                expected="at least 4 records",
                got=str(len(x)),
                fix="import or generate more records before drawing a map",
            )
        t0 = time.perf_counter()
        n_comp = min(params.pca_components, x.shape[1], len(x) - 1)
        pca = PCA(
            n_components=n_comp, svd_solver="randomized" if len(x) > 5000 else "full", random_state=params.random_state
        ).fit(x)
        components = pca.components_.astype(np.float32)
        reduced = x @ components.T  # not centred: distances are the same, cosines stay meaningful
        t_pca = time.perf_counter()
        n_neighbors = max(2, min(params.n_neighbors, len(x) - 1))
        idx, dist = _neighbour_graph(reduced, n_neighbors)
        t_knn = time.perf_counter()
        kwargs = dict(
            n_neighbors=n_neighbors,
            min_dist=params.min_dist,
            n_components=2,
            n_epochs=params.epochs_for(len(x)),
            init=params.init if len(x) > n_neighbors + 2 else "random",
            random_state=params.random_state,
            low_memory=True,
            n_jobs=1,
            precomputed_knn=(idx, dist),
            force_approximation_algorithm=True,
        )
        kwargs.update(umap_overrides)
        with warnings.catch_warnings():  # "no search index: umap's own transform unavailable" (we place ourselves)
            warnings.simplefilter("ignore", UserWarning)
            coords = umap.UMAP(**kwargs).fit_transform(reduced).astype(np.float32)
        is_self = idx == np.arange(len(idx))[:, None]
        neighbors = np.take_along_axis(idx, np.argsort(is_self, axis=1, kind="stable"), axis=1)[:, :-1]
        info = {
            "n": int(len(x)),
            "pca_s": round(t_pca - t0, 2),
            "knn_s": round(t_knn - t_pca, 2),
            "umap_s": round(time.perf_counter() - t_knn, 2),
            "n_epochs": kwargs["n_epochs"],
            "fitted_at": utc_now(),
        }
        return cls(
            ids=np.asarray(ids, dtype=object),
            coords=coords,
            components=components,
            reduced=reduced,
            neighbors=neighbors.astype(np.int32),
            params=params,
            info=info,
        )

    # -------------------------------------------------------------- placing new records
    def reduce(self, embeddings: np.ndarray) -> np.ndarray:
        """Embeddings in the fitted PCA subspace (projected, not centred)."""
        return np.asarray(embeddings, dtype=np.float32) @ self.components.T

    def transform(self, embeddings: np.ndarray, *, return_neighbors: bool = False):
        """2-D positions for new records among the fitted ones, without moving any fitted point (with
        ``return_neighbors``, also each new record's nearest fitted records, as row indexes)."""
        x = self.reduce(embeddings)
        if len(x) == 0:
            empty = np.zeros((0, 2), dtype=np.float32)
            return (empty, np.zeros((0, self.neighbors.shape[1]), dtype=np.int32)) if return_neighbors else empty
        k = min(self.params.n_neighbors, len(self.reduced))
        idx, dist = _knn(x, self.reduced, k, exact=True)
        weights = _memberships(dist, k)
        placed = (weights[:, :, None] * self.coords[idx]).sum(axis=1) / weights.sum(axis=1, keepdims=True)
        copies = dist[:, 0] <= 1e-6  # a copy of a stored record sits on it (umap's rule too)
        placed[copies] = self.coords[idx[copies, 0]]
        placed = placed.astype(np.float32)
        return (placed, idx[:, : self.neighbors.shape[1]].astype(np.int32)) if return_neighbors else placed

    # -------------------------------------------------------------- storage
    def save(self, path) -> Path:
        import io

        buf = io.BytesIO()
        np.savez(
            buf,
            ids=self.ids.astype(str),
            coords=self.coords,
            components=self.components,
            reduced=self.reduced,
            neighbors=self.neighbors,
            meta=np.array(json.dumps({"params": asdict(self.params), "info": self.info})),
        )
        return atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path) -> Projection:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            return cls(
                ids=z["ids"].astype(object),
                coords=z["coords"],
                components=z["components"],
                reduced=z["reduced"],
                neighbors=z["neighbors"],
                params=ProjectionParams(**meta["params"]),
                info=meta["info"],
            )


# ------------------------------------------------------------------ projects
class PlaceBlocks:
    """A batch-job block function (:mod:`training._batchjobs`): ``{"id", "vector"} -> {"id", "xy",
    "neighbors", "node"}``, the projection loaded once per actor from its cache file."""

    def __init__(self, path: str):
        self.projection = Projection.load(path)

    def __call__(self, block: dict) -> dict:
        vectors = np.asarray(block["vector"])
        if vectors.dtype == object:  # a column of arrays, as pandas hands it over
            vectors = np.stack(vectors)
        xy, neighbors = self.projection.transform(vectors.astype(np.float32), return_neighbors=True)
        return {"id": np.asarray(block["id"]), "xy": xy, "neighbors": neighbors, "node": np.full(len(xy), node_name())}


def _cache_dir(project: Project) -> Path:
    return project.layout.maps_cache


def _index(project: Project) -> list[dict]:
    path = _cache_dir(project) / "index.json"
    return json.loads(path.read_text()) if path.exists() else []


def _cached(project: Project, encoder_id: str, params: ProjectionParams, snapshot_id: str | None) -> dict | None:
    hits = [
        e
        for e in _index(project)
        if e.get("format") == CACHE_FORMAT
        and e["encoder"] == encoder_id
        and e["params"] == params.key
        and (snapshot_id is None or e["snapshot_id"] == snapshot_id)
        and (_cache_dir(project) / e["file"]).exists()
    ]
    return max(hits, key=lambda e: e["created_at"]) if hits else None


@dataclass
class MapData:
    """A project's map: the records, where they sit, and what the map knows about their neighbourhoods.

    ``frame`` has one row per stored record (active, pending review and quarantined) with ``x``, ``y``,
    ``placed`` (True when placed by :meth:`Projection.transform` rather than fitted) and, with a model,
    ``p_<label>`` scores; ``reduced`` holds each row's PCA-reduced embedding and ``neighbors`` the rows of
    its nearest records (-1 where a fitted neighbour is no longer stored); ``thresholds`` the model's.
    """

    frame: pd.DataFrame
    projection: Projection
    reduced: np.ndarray
    neighbors: np.ndarray
    labels: list[str]
    thresholds: dict[str, float] = field(default_factory=dict)


def _model_scores(frame: pd.DataFrame, model) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    from training.artifacts import ModelDirectory, load_model

    model = model if isinstance(model, ModelDirectory) else load_model(model)
    probs = np.asarray(model.predictor("torch")(frame["text"].tolist()), dtype=np.float32)
    labels = list(model.labels)
    return (
        {f"p_{lab}": probs[:, j] for j, lab in enumerate(labels)},
        {lab: float(t) for lab, t in zip(labels, model.thresholds)},
    )


def build_map(
    project: Project,
    *,
    model=None,
    encoder: str = DEFAULT_ENCODER,
    params: ProjectionParams | None = None,
    refit: bool = False,
    snapshot_id: str | None = None,
    progress: bool = False,
    jobs: BatchJobs | None = None,
) -> MapData:
    """Embed (through the cache), project and assemble the map of every stored record.

    The projection is the cached one for ``snapshot_id`` when given; else the newest cached one for the
    same encoder and parameters (so the map stays put as records arrive); else (or with ``refit``) a new
    fit on the active records of the current snapshot, cached for next time. ``model`` (a model
    directory) adds its scores and thresholds, for the error colouring and the confusion column.
    ``jobs`` (:func:`training.batch_jobs`): where embedding and placing run (``batch_jobs("auto")``: a Ray
    cluster); this process by default, with the same results.
    """
    params = params or ProjectionParams()
    enc = Encoder(encoder, cache_dir=project.layout.cache)
    frame = project.records.frame()
    if frame.empty:
        raise WorkbenchError(
            f"map of {project.root}",
            expected="stored records",
            got="an empty store",
            fix="import data first (workbench import)",
        )
    hit = None if refit else _cached(project, enc.model_id, params, snapshot_id)
    if hit is None and snapshot_id is not None and not refit:
        raise WorkbenchError(
            f"map of snapshot {snapshot_id}",
            expected="a cached projection of it",
            got="none",
            fix="call without snapshot_id (fits the current snapshot) or refit=True",
        )
    jobs = jobs or LocalJobs()
    emb = embed_texts(frame, encoder=encoder, jobs=jobs, cache_dir=project.layout.cache, progress=progress)
    if hit is None:
        active = (frame["status"] == "active").to_numpy()
        fit_on = active if active.sum() >= 4 else np.ones(len(frame), dtype=bool)
        proj = Projection.fit(frame.loc[fit_on, "id"].tolist(), emb[fit_on], params)
        sid = project.snapshots.id()
        name = f"{sid[:16]}-{enc.model_id.replace('/', '_').replace('@', '-')}-{params.key}.npz"
        proj_file = proj.save(_cache_dir(project) / name)
        entry = {
            "file": name,
            "format": CACHE_FORMAT,
            "snapshot_id": sid,
            "encoder": enc.model_id,
            "params": params.key,
            "n": int(fit_on.sum()),
            "created_at": utc_now(),
        }
        entries = [e for e in _index(project) if e["file"] != name] + [entry]
        atomic_write_text(_cache_dir(project) / "index.json", json.dumps(entries, indent=1))
        proj.info["snapshot_id"] = sid
    else:
        proj_file = _cache_dir(project) / hit["file"]
        proj = Projection.load(proj_file)
        proj.info["snapshot_id"] = hit["snapshot_id"]
    pos = {rid: i for i, rid in enumerate(proj.ids)}
    at = np.array([pos.get(rid, -1) for rid in frame["id"]])
    fitted, placed = at >= 0, at < 0
    k = proj.neighbors.shape[1]
    xy = np.zeros((len(frame), 2), dtype=np.float32)
    fitted_nb = np.full((len(frame), k), -1, dtype=np.int64)  # neighbours as projection rows
    xy[fitted], fitted_nb[fitted] = proj.coords[at[fitted]], proj.neighbors[at[fitted]]
    if placed.any():
        new = pd.DataFrame({"id": frame.loc[placed, "id"].to_numpy(), "vector": list(emb[placed])})
        ids, xy_new, nb_new = [], [], []
        for out in jobs.map(PlaceBlocks, {"path": str(proj_file)}, new, columns=("id", "vector")):
            ids += out["id"].tolist()
            xy_new.append(out["xy"])
            nb_new.append(out["neighbors"])
        order = pd.Series(range(len(ids)), index=ids)[new["id"]].to_numpy()
        xy[placed], fitted_nb[placed] = np.concatenate(xy_new)[order], np.concatenate(nb_new)[order]
    row_of = np.full(len(proj.ids) + 1, -1, dtype=np.int64)  # projection row -> frame row (last: -1 -> -1)
    row_of[at[fitted]] = np.flatnonzero(fitted)
    neighbors = row_of[fitted_nb]
    frame["x"], frame["y"], frame["placed"] = xy[:, 0], xy[:, 1], placed
    thresholds: dict[str, float] = {}
    if model is not None:
        scores, thresholds = _model_scores(frame, model)
        for col, values in scores.items():
            frame[col] = values
    return MapData(
        frame=frame,
        projection=proj,
        reduced=proj.reduce(emb),
        neighbors=neighbors,
        labels=list(project.taxonomy.label_names),
        thresholds=thresholds,
    )
