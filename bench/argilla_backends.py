"""Embedded Argilla vs argilla-server on osmem-server (an in-memory OpenSearch-compatible server).

    python -m bench.argilla_backends [--records 20000] [--osmem-records N] [--reps 40] [--skip-osmem]

Logs N real posts (HateXplain train, the Jigsaw subset and Davidson, from ../shared/data) through the Argilla SDK, each
with a text field, three metadata properties, a 384-dim MiniLM vector and a multi-label suggestion with
scores, then times single requests as the UI makes them: a text search, a metadata filter, a similarity
search (embedded only: osmem has no kNN) and the dataset progress. Both stacks run the same argilla-server
with the same SQLite database and Valkey; only the search engine differs (osmem through the scale-out
path: ``search_url`` + ``search_engine=opensearch``). Prints a table with the ratios.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
LABELS = ["none", "offensive", "hate", "toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
JIGSAW = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
WORDS = [
    "people",
    "women",
    "muslim",
    "stupid",
    "kill",
    "thanks",
    "article",
    "white",
    "hate",
    "wikipedia",
    "page",
    "black",
    "love",
    "fuck",
    "edit",
    "jews",
    "country",
    "talk",
    "never",
    "world",
]


def load_posts(n: int) -> pd.DataFrame:
    hx = pd.read_csv(DATA / "hatexplain" / "train.csv")
    hx = pd.DataFrame(
        {
            "text": hx["text"].astype(str),
            "source": "hatexplain",
            "labels": hx["category"].map({0: ["none"], 1: ["hate"], 2: ["offensive"]}),
        }
    )
    jg = pd.read_csv(DATA / "jigsaw_toxic_subset" / "train.csv")
    jg = pd.DataFrame(
        {
            "text": jg["comment_text"].astype(str),
            "source": "jigsaw",
            "labels": [[c for c in JIGSAW if row[c] == 1] or ["none"] for _, row in jg.iterrows()],
        }
    )
    dv = pd.read_csv(DATA / "davidson" / "labeled_data.csv")
    dv = pd.DataFrame(
        {
            "text": dv["tweet"].astype(str),
            "source": "davidson",
            "labels": dv["class"].map({0: ["hate"], 1: ["offensive"], 2: ["none"]}),
        }
    )
    posts = pd.concat([hx, jg, dv], ignore_index=True)
    if n > len(posts):
        raise SystemExit(f"--records {n}: only {len(posts)} posts in {DATA}")
    posts = posts.sample(n=n, random_state=0).reset_index(drop=True)
    posts["length"] = posts["text"].str.len()
    return posts


def embed(texts: list[str], cache_dir: Path) -> np.ndarray:
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = cache_dir / f"minilm-{key}.npy"
    if path.exists():
        return np.load(path)
    from training.families import Encoder

    vectors = Encoder().encode(texts, show_progress=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def build_records(posts: pd.DataFrame, vectors: np.ndarray):
    import argilla as rg

    records = []
    for i, row in posts.iterrows():
        labels = row["labels"]
        # a suggestion with one score per label, as a classifier would give (derived from the gold labels)
        scores = [round(0.55 + 0.4 * ((i * 7 + k * 13) % 10) / 10, 3) for k in range(len(labels))]
        records.append(
            rg.Record(
                fields={"text": row["text"]},
                metadata={"source": row["source"], "length": int(row["length"]), "agreement": float(scores[0])},
                vectors={"minilm": vectors[i].tolist()},
                suggestions=[rg.Suggestion("labels", value=labels, score=scores, agent="bench")],
            )
        )
    return records


def percentiles(times: list[float]) -> tuple[float, float]:
    ms = sorted(1000 * t for t in times)
    return statistics.median(ms), ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]


def _log_records(ds, records, name: str, info: dict, profile: bool) -> float:
    """``records.log`` of every record (py-spy on the server meanwhile with ``profile``); its seconds."""
    profiler = None
    if profile:
        import subprocess

        out = REPO / "build" / "bench-argilla" / f"profile-{name}.txt"
        profiler = subprocess.Popen(
            [
                "py-spy",
                "record",
                "--format",
                "raw",
                "-r",
                "50",
                "-o",
                str(out),
                "-p",
                str(info["components"]["server"]["pid"]),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1)
    began = time.perf_counter()
    ds.records.log(records, batch_size=256)
    log_s = time.perf_counter() - began
    if profiler is not None:
        profiler.send_signal(2)
        profiler.wait(30)
        print(f"[{name}] py-spy profile of the server while logging: {out}")
    return log_s


def _query_timings(env, ds, vectors: np.ndarray, reps: int, search_url, name: str, result: dict) -> dict:
    """p50 / p95 of each query kind into ``result``; the first page's totals."""
    import httpx

    http = httpx.Client(
        base_url=env["ARGILLA_API_URL"] + "/api/v1",
        headers={"X-Argilla-Api-Key": env["ARGILLA_API_KEY"]},
        timeout=120,
    )
    search = f"/datasets/{ds.id}/records/search"
    rng = np.random.default_rng(0)

    def timed(fn) -> list[float]:
        fn(0)  # warm
        out = []
        for k in range(reps):
            t = time.perf_counter()
            fn(k + 1)
            out.append(time.perf_counter() - t)
        return out

    def ok(r):
        assert r.status_code < 300, (r.status_code, r.text[:300])
        return r.json()

    totals = {}

    def text_search(k):
        body = {"query": {"text": {"q": WORDS[k % len(WORDS)]}}}
        totals.setdefault("text", ok(http.post(search, params={"limit": 50}, json=body))["total"])

    def metadata_filter(k):
        body = {
            "filters": {
                "and": [
                    {
                        "type": "terms",
                        "scope": {"entity": "metadata", "metadata_property": "source"},
                        "values": ["jigsaw" if k % 2 else "hatexplain"],
                    },
                    {
                        "type": "range",
                        "scope": {"entity": "metadata", "metadata_property": "length"},
                        "ge": 20 + k,
                        "le": 400 + 10 * k,
                    },
                ]
            }
        }
        totals.setdefault("filter", ok(http.post(search, params={"limit": 50}, json=body))["total"])

    def similarity(k):
        value = vectors[int(rng.integers(len(vectors)))].tolist()
        body = {"query": {"vector": {"name": "minilm", "value": value, "order": "most_similar"}}}
        totals.setdefault("similarity", len(ok(http.post(search, params={"limit": 50}, json=body))["items"]))

    def progress(k):
        ok(http.get(f"/datasets/{ds.id}/progress"))

    queries = {"text search": text_search, "metadata filter": metadata_filter, "progress": progress}
    if search_url is None:
        queries["similarity search"] = similarity
    for qname, fn in queries.items():
        result[qname] = percentiles(timed(fn))
        print(f"[{name}] {qname}: p50 {result[qname][0]:.1f} ms, p95 {result[qname][1]:.1f} ms", flush=True)
    return totals


def run_backend(
    name: str,
    posts: pd.DataFrame,
    vectors: np.ndarray,
    reps: int,
    search_url: str | None,
    profile: bool = False,
    patches: bool = True,
) -> dict:
    import argilla as rg

    from workbench.argilla.stack import ServerStack, StackSettings

    home = Path(tempfile.mkdtemp(prefix=f"bench-argilla-{name}-"))
    settings = StackSettings(
        home=home, port=6950, search_url=search_url, search_engine="opensearch", redis_url=None, database_url=None
    )
    stack = ServerStack(settings)
    os.environ["WORKBENCH_ARGILLA_PATCHES"] = "1" if patches else "0"
    info = stack.start(timeout=120)
    print(f"[{name}] stack up at {info['url']} in {info['seconds']} s", flush=True)
    result = {"start_s": info["seconds"], "records": len(posts)}
    try:
        env = stack.env()
        client = rg.Argilla(api_url=env["ARGILLA_API_URL"], api_key=env["ARGILLA_API_KEY"], timeout=600)
        ds = rg.Dataset(
            name=f"bench-{name}",
            workspace="moderation",
            client=client,
            settings=rg.Settings(
                fields=[rg.TextField(name="text")],
                questions=[rg.MultiLabelQuestion(name="labels", labels=LABELS)],
                metadata=[
                    rg.TermsMetadataProperty("source"),
                    rg.IntegerMetadataProperty("length"),
                    rg.FloatMetadataProperty("agreement"),
                ],
                vectors=[rg.VectorField(name="minilm", dimensions=vectors.shape[1])],
            ),
        ).create()
        records = build_records(posts, vectors)
        result["log_s"] = _log_records(ds, records, name, info, profile)
        result["log_rps"] = len(records) / result["log_s"]
        print(
            f"[{name}] logged {len(records)} records in {result['log_s']:.1f} s ({result['log_rps']:.1f} records/s)",
            flush=True,
        )

        totals = _query_timings(env, ds, vectors, reps, search_url, name, result)
        result["first_page_totals"] = totals
    finally:
        stack.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--osmem-records", type=int, help="records for the osmem run (default: --records)")
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--skip-osmem", action="store_true")
    parser.add_argument(
        "--stock-embedded",
        action="store_true",
        help="also run the embedded engine under a stock argilla-server (no workbench patches)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the server while it logs (needs py-spy); writes build/bench-argilla/profile-*.txt",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    posts = load_posts(args.records)
    vectors = embed(posts["text"].tolist(), REPO / "build" / "bench-argilla")
    results = {"embedded": run_backend("embedded", posts, vectors, args.reps, None, args.profile)}
    if args.stock_embedded:
        results["embedded-stock"] = run_backend(
            "embedded-stock", posts, vectors, args.reps, None, args.profile, patches=False
        )
    if not args.skip_osmem:
        from osmem_server import OsmemServer

        n = args.osmem_records or args.records
        server = OsmemServer.start(japanese=False)
        try:
            # osmem runs under a stock argilla-server: the set-up a team would otherwise have
            results["osmem"] = run_backend(
                "osmem", posts.iloc[:n], vectors[:n], args.reps, server.url, args.profile, patches=False
            )
        finally:
            server.close()

    print()
    print(f"machine: {os.cpu_count()} cores; argilla-server 2.8.0 on SQLite + Valkey in both columns")
    cols = list(results)
    both = "osmem" in results
    print(f"{'':<26}" + "".join(f"{c:>16}" for c in cols) + (f"{'embedded vs osmem':>20}" if both else ""))
    print(f"{'records':<26}" + "".join(f"{results[c]['records']:>16}" for c in cols))
    row = {c: results[c]["log_rps"] for c in cols}
    print(
        f"{'logging, records/s':<26}"
        + "".join(f"{v:>16.1f}" for v in row.values())
        + (f"{row['embedded'] / row['osmem']:>19.2f}x" if both else "")
    )
    for q in ("text search", "metadata filter", "similarity search", "progress"):
        for i, label in ((0, "p50"), (1, "p95")):
            vals = {c: results[c][q][i] if q in results[c] else None for c in cols}
            cells = "".join(f"{'n/a':>16}" if v is None else f"{v:>13.1f} ms" for v in vals.values())
            ratio = (
                f"{vals['osmem'] / vals['embedded']:>19.2f}x"
                if both and vals["osmem"] is not None and vals["embedded"] is not None
                else ""
            )
            print(f"{q + ' ' + label:<26}{cells}{ratio}")
    print(
        "(embedded vs osmem: records/s ratio for logging, osmem/embedded latency ratio for queries; "
        ">1 means the embedded stack is faster)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
