"""Benchmark: import + dedup + split of 100k records generated from the real public texts.

    python -m bench.import_dedup_split [--n 100000] [--seed 0]

The records are made from the texts in ../shared/data (HateXplain, Davidson, Jigsaw, OpenAI, ETHOS):
about a third are the real texts, the rest light perturbations of them (dropped or swapped words,
added hashtags or punctuation, case changes), so exact and near-duplicates occur at a realistic
rate. The whole import path runs: JSONL parsing, validation against the taxonomy, MinHash
signatures, LSH near-duplicate search, duplicate groups, iterative multi-label stratification and
one SQLite transaction. Target: under 60 s for 100k records on a 2-core machine.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

from curation import Project, load_taxonomy  # noqa: E402

DATA = REPO.parent / "shared" / "data"


def real_texts() -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    for name in ("train.csv", "val.csv"):
        for r in csv.DictReader(open(DATA / "hatexplain" / name, encoding="utf-8")):
            c = int(r["category"])
            out.append((r["text"], {"hate": int(c == 1), "offensive": int(c == 2)}))
    for r in csv.DictReader(open(DATA / "davidson" / "labeled_data.csv", encoding="utf-8")):
        c = int(r["class"])
        out.append((r["tweet"], {"hate": int(c == 0), "offensive": int(c == 1)}))
    for r in csv.DictReader(open(DATA / "jigsaw_toxic_subset" / "train.csv", encoding="utf-8")):
        out.append((r["comment_text"], {k: int(r[k]) for k in ("toxic", "obscene", "threat", "insult")}))
    codes = {"H": "hate", "HR": "harassment", "V": "violence", "S": "sexual", "SH": "self_harm"}
    for line in gzip.open(DATA / "openai_moderation" / "samples-1680.jsonl.gz", "rt", encoding="utf-8"):
        o = json.loads(line)
        out.append((o["prompt"], {lab: o[c] for c, lab in codes.items() if c in o}))
    for r in csv.DictReader(open(DATA / "ethos" / "Ethos_Dataset_Binary.csv", encoding="utf-8"), delimiter=";"):
        out.append((r["comment"], {"hate": int(float(r["isHate"]) >= 0.5)}))
    return out


def perturb(text: str, rng: np.random.Generator) -> str:
    words = text.split()
    kind = rng.integers(0, 5)
    if kind == 0 and len(words) > 3:
        del words[rng.integers(0, len(words))]
    elif kind == 1 and len(words) > 3:
        i = rng.integers(0, len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    elif kind == 2:
        words.append(["#news", "lol", "!!!", "smh", "#tbt", "wow"][rng.integers(0, 6)])
    elif kind == 3:
        return text.upper() if rng.random() < 0.5 else text.lower() + " ..."
    else:
        words.insert(0, f"@user{rng.integers(0, 10**6)}")
    return " ".join(words)


def generate(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    base = real_texts()
    rows = []
    for i in range(n):
        text, labels = base[rng.integers(0, len(base))]
        if rng.random() < 0.65:
            text = perturb(text, rng)
            if rng.random() < 0.5:
                text = perturb(text, rng)
        rows.append({"id": str(i), "text": text, **labels})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        rows = generate(args.n, args.seed)
        path = tmp / "records.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        t_gen = time.perf_counter() - t0

        project = Project.init(tmp / "p", taxonomy=load_taxonomy(REPO / "workbench" / "templates" / "taxonomy.yaml"))
        t0 = time.perf_counter()
        summary = project.records.import_file(path, "jsonl", source="bench", id_field="id")
        t_import = time.perf_counter() - t0

        # an incremental import on top: existing records must not move
        before = project.records.frame()[["id", "split"]].set_index("id")["split"]
        extra = generate(10_000, args.seed + 1)
        path2 = tmp / "more.jsonl"
        with open(path2, "w", encoding="utf-8") as f:
            for r in extra:
                f.write(json.dumps({**r, "id": "x" + r["id"]}, ensure_ascii=False) + "\n")
        t0 = time.perf_counter()
        project.records.import_file(path2, "jsonl", source="bench", id_field="id")
        t_incr = time.perf_counter() - t0
        after = project.records.frame().set_index("id")["split"]
        moved = int((after.loc[before.index] != before).sum())
        cvh = project.reports.split_report()["calib_vs_holdout"]
        big = cvh[cvh["positives"] >= 200]
        project.close()

    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"generated {args.n} records from the real texts in {t_gen:.1f} s (not timed below)")
    print()
    print(f"{'step':<44}{'records':>9}{'seconds':>9}{'records/s':>11}")
    print(f"{'import + dedup + split (empty store)':<44}{args.n:>9}{t_import:>9.1f}{args.n / t_import:>11.0f}")
    print(f"{'incremental import on top of it':<44}{10_000:>9}{t_incr:>9.1f}{10_000 / t_incr:>11.0f}")
    print()
    print(
        f"exact duplicates {summary.n_exact_duplicates}, duplicate pairs {summary.n_near_duplicate_pairs}, "
        f"with conflicting labels {summary.n_conflicting_pairs}"
    )
    print(f"splits {summary.splits}")
    print(f"records moved by the incremental import: {moved}")
    print(
        f"max calib-vs-holdout rate difference over labels with >= 200 positives: "
        f"{big['diff_pp'].max():.2f} pp ({', '.join(big.index)})"
    )
    verdict = "PASS" if t_import < 60 else "FAIL"
    print(f"target: 100k in under 60 s -> {verdict} ({t_import:.1f} s)")


if __name__ == "__main__":
    main()
