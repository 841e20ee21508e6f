"""Benchmark: pushing review records to the embedded Argilla, against the raw SDK logging rate.

    python -m bench.review [--records 10000] [--per-batch 20]

1. A project (demo taxonomy) gets ``--records`` real posts (HateXplain and Davidson texts, MIT /
   CC-BY licences in ../shared/data) as pending generated batches of ``--per-batch`` records, their
   labels as the generator's intended labels. Embeddings are computed once beforehand (training's cache).
2. On one embedded stack, in one run: the same records logged with the raw SDK (``records.log`` of
   ready ``rg.Record`` objects: text, metadata, vector, scored suggestion) into one dataset, then
   ``workbench.review.push_batches`` into ``batch-review`` (what a user runs: sampling, conversion,
   idempotence check, logging), then the same push again with nothing changed, then a pull after an
   annotator answered 1,000 records.
3. Prints records/s side by side and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("WORKBENCH_SHARED_DATA") or REPO.parent / "shared" / "data")


def posts(n: int):
    import pandas as pd

    hx = pd.read_csv(DATA / "hatexplain" / "train.csv")
    hx = pd.DataFrame(
        {
            "text": hx["text"].astype(str),
            "hate": (hx["category"] == 1).astype(int),
            "offensive": (hx["category"] == 2).astype(int),
        }
    )
    dv = pd.read_csv(DATA / "davidson" / "labeled_data.csv")
    dv = pd.DataFrame(
        {
            "text": dv["tweet"].astype(str),
            "hate": (dv["class"] == 0).astype(int),
            "offensive": (dv["class"] == 1).astype(int),
        }
    )
    out = pd.concat([hx, dv], ignore_index=True).drop_duplicates("text")
    return out.sample(n=n, random_state=0).reset_index(drop=True)


def build_project(root: Path, n: int, per_batch: int):
    from curation import Project, RawRecord, ReadResult

    p = Project.init(root, taxonomy=REPO / "data" / "demo" / "taxonomy.yaml", name="bench-review")
    df = posts(n)
    seeds, batches, records = [], [], []
    for b in range(0, n, per_batch):
        sid, bid = f"seed-{b // per_batch:04d}", f"batch-{b // per_batch:04d}"
        seeds.append(
            {
                "id": sid,
                "text": f"seed {b // per_batch}",
                "target_labels": ["offensive"],
                "kind": "positive",
                "status": "approved",
            }
        )
        batches.append({"id": bid, "seed_id": sid, "provider": "bench", "params": {}, "status": "pending"})
        for i, row in df.iloc[b : b + per_batch].iterrows():
            records.append(
                RawRecord(
                    where=f"row {i}",
                    text=row["text"],
                    source_id=f"{bid}#{i}",
                    origin="generated",
                    batch_id=bid,
                    provenance="generator",
                    labels={"hate": int(row["hate"]), "offensive": int(row["offensive"])},
                )
            )
    res = ReadResult(records, [], source="generated", format="generated", seeds=seeds, batches=batches)
    p.records.import_result(res, fractions={"train": 0.9, "valid": 0.1})
    return p


def _raw_sdk(client, project, frame, vectors, dimension: int, result: dict) -> None:
    """Log every record straight through the SDK into a dataset of the batch-review settings (the baseline)."""
    import argilla as rg

    from workbench.review import BATCH_REVIEW
    from workbench.review.push import workspace_for
    from workbench.review.records import batch_record
    from workbench.review.templates import settings_for

    labels = list(project.taxonomy.label_names)
    seeds = project.seeds.frame().set_index("id")
    workspace_for(client, project)
    raw_ds = rg.Dataset(
        name="raw-sdk",
        workspace=project.settings.name,
        client=client,
        settings=settings_for(BATCH_REVIEW, project.taxonomy, dimensions=dimension),
    ).create()
    ready = [
        batch_record(row, seeds.loc[row["seed_id"], "text"], labels, v)
        for row, v in zip(frame.to_dict(orient="records"), vectors)
    ]
    t = time.perf_counter()
    raw_ds.records.log(ready, batch_size=256)
    result["raw_sdk_s"] = time.perf_counter() - t
    result["raw_sdk_rps"] = len(frame) / result["raw_sdk_s"]
    print(f"raw SDK records.log: {result['raw_sdk_s']:.1f} s ({result['raw_sdk_rps']:.1f} records/s)", flush=True)


def _push_answer_pull(client, project, args, result: dict) -> None:
    """push-batches, an unchanged re-push, ``args.answers`` answers, pull: each timed into ``result``."""
    from workbench.review import BATCH_REVIEW, pull, push_batches

    t = time.perf_counter()
    pushed = push_batches(project, client, per_batch=args.per_batch)
    result["push_s"] = time.perf_counter() - t
    result["push_rps"] = pushed["pushed"] / result["push_s"]
    print(
        f"workbench review push-batches: {pushed['pushed']} records in {result['push_s']:.1f} s "
        f"({result['push_rps']:.1f} records/s)",
        flush=True,
    )
    t = time.perf_counter()
    again = push_batches(project, client, per_batch=args.per_batch)
    result["repush_unchanged_s"] = time.perf_counter() - t
    assert again["pushed"] == 0 and again["unchanged"] == args.records, again
    print(f"unchanged re-push: {result['repush_unchanged_s']:.1f} s (pushed {again['pushed']})", flush=True)
    ds = client.datasets(name=BATCH_REVIEW, workspace=project.settings.name)
    http = client.api.http_client
    answered = 0
    for rec in ds.records(with_responses=False, with_suggestions=False, limit=args.answers):
        r = http.post(
            f"/api/v1/records/{rec._server_id}/responses",
            json={"status": "submitted", "values": {"labels": {"value": ["offensive"]}, "valid": {"value": "yes"}}},
        )
        answered += r.status_code < 300
    t = time.perf_counter()
    report = pull(project, client)
    result["pull_s"] = time.perf_counter() - t
    result["pull_answers"] = answered
    print(
        f"pull after {answered} answers: {result['pull_s']:.1f} s "
        f"({report['applied']['annotations']} annotation events, {report['applied']['labels']} label changes)",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--per-batch", type=int, default=20)
    ap.add_argument("--answers", type=int, default=1_000)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import argilla as rg

    from training.families import Encoder
    from workbench.argilla import ServerStack, StackSettings

    work = Path(tempfile.mkdtemp(prefix="bench-review-"))
    t = time.perf_counter()
    project = build_project(work / "proj", args.records, args.per_batch)
    print(
        f"project: {args.records} pending records in {args.records // args.per_batch} batches "
        f"({time.perf_counter() - t:.1f} s)",
        flush=True,
    )
    frame = project.records.frame()
    t = time.perf_counter()
    enc = Encoder(cache_dir=project.layout.cache)
    vectors = enc.encode(frame["text"].tolist())
    print(f"embeddings computed once beforehand: {time.perf_counter() - t:.1f} s", flush=True)
    stack = ServerStack(StackSettings(home=work / "argilla", port=6960))
    info = stack.start(timeout=120)
    print(f"stack up in {info['seconds']:.1f} s", flush=True)
    result = {"n": args.records}
    try:
        env = stack.env()
        client = rg.Argilla(api_url=env["ARGILLA_API_URL"], api_key=env["ARGILLA_API_KEY"], timeout=600)
        _raw_sdk(client, project, frame, vectors, enc.dimension, result)
        _push_answer_pull(client, project, args, result)
    finally:
        stack.stop()
    ratio = result["push_rps"] / result["raw_sdk_rps"]
    print()
    print(f"{'':<34}{'records/s':>10}{'seconds':>9}")
    print(f"{'raw SDK records.log':<34}{result['raw_sdk_rps']:>10.1f}{result['raw_sdk_s']:>9.1f}")
    print(f"{'workbench review push-batches':<34}{result['push_rps']:>10.1f}{result['push_s']:>9.1f}")
    print(
        f"push vs raw SDK: {ratio:.2f}x (target >= 0.80); push of {args.records} in {result['push_s']:.1f} s "
        f"(target < 90 s); unchanged re-push {result['repush_unchanged_s']:.1f} s (target < 10 s)"
    )
    result["push_vs_raw"] = ratio
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
