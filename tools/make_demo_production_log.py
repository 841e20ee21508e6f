"""Write ``data/demo/production_log.jsonl``: two weeks of "production" posts for notebook 08 and the demo.

Week 1 is like the demo's own data (220 Davidson tweets and 80 prompts of the OpenAI moderation evaluation
set, none of them in the demo's slices); week 2 is 300 OpenAI moderation prompts only (the style shift the
monitor should see). A third week of OpenAI moderation prompts (the rest of the set) is written apart, with
its gold labels, to ``data/demo/production_week3.jsonl``: the week after the pool, never imported, where
notebook 08 compares the shipped model with the one retrained on reviewed posts. ``production_gold.jsonl``
holds every pool post's gold labels (what the notebook test's annotators answer). A moderators' audit of a random half of the posts gives decisions on ``hate`` (both
sources) and ``offensive`` (Davidson only: the OpenAI set has no such label): ``moderator_confirm`` when the gold label is 1,
``moderator_overturn`` when it is 0; some gold positives were also reported by users. Seeded: running it
again writes the same file.

    python tools/make_demo_production_log.py ../shared/data
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"


def main(shared: Path) -> None:
    rng = random.Random(8)
    in_slice = {json.loads(line)["prompt"] for line in (DEMO / "openai_moderation_slice.jsonl").open()}
    with open(DEMO / "davidson_slice.csv", newline="", encoding="utf-8") as f:
        in_slice |= {r["tweet"] for r in csv.DictReader(f)}
    openai = [json.loads(line) for line in gzip.open(shared / "openai_moderation" / "samples-1680.jsonl.gz", "rt")]
    openai = [o for o in openai if o["prompt"] not in in_slice and len(o["prompt"]) < 1200]
    with open(shared / "davidson" / "labeled_data.csv", newline="", encoding="utf-8") as f:
        davidson = [r for r in csv.DictReader(f) if r["tweet"] not in in_slice]
    picked = rng.sample(range(len(openai)), 380)
    prompts = [(f"oai-{i}", openai[k]["prompt"], {"hate": openai[k].get("H")}) for i, k in enumerate(picked)]
    tweets = [
        (f"dav-{r['']}", r["tweet"], {"hate": int(r["class"] == "0"), "offensive": int(r["class"] == "1")})
        for r in rng.sample(davidson, 220)
    ]
    week1 = tweets + prompts[:80]
    rng.shuffle(week1)
    week2 = prompts[80:]
    rows = []
    for day0, posts in ((0, week1), (7, week2)):
        for k, (pid, text, gold) in enumerate(posts):
            minutes = int((day0 + 7 * k / len(posts)) * 24 * 60)
            time = f"2026-11-{2 + minutes // 1440:02d}T{minutes % 1440 // 60:02d}:{minutes % 60:02d}:00Z"
            rows.append({"id": pid, "text": text, "time": time, "context": "POST"})
            if any(v == 1 for v in gold.values()) and rng.random() < 0.3:
                lab = next(lab for lab, v in gold.items() if v == 1)
                rows.append({"id": pid, "time": time, "feedback": {"type": "user_report", "label": lab}})
            if rng.random() < 0.5:  # the moderators' random audit
                for lab, v in gold.items():
                    if v in (0, 1):
                        kind = "moderator_confirm" if v == 1 else "moderator_overturn"
                        rows.append({"id": pid, "time": time, "feedback": {"type": kind, "label": lab}})
    out = DEMO / "production_log.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"{out}: {sum('text' in r for r in rows)} posts, {sum('feedback' in r for r in rows)} feedback rows")
    # gold of the pool's posts (the notebook test's annotators) and the third week, never imported
    used = set(picked)
    gold = [{"id": pid, **_openai_gold(openai[k])} for pid, k in zip((p[0] for p in prompts), picked)]
    gold += [{"id": pid, **g} for pid, _, g in tweets]
    (DEMO / "production_gold.jsonl").write_text("".join(json.dumps(g) + "\n" for g in gold))
    week3 = [o for k, o in enumerate(openai) if k not in used]
    start = 14 * 24 * 60
    w3 = []
    for k, o in enumerate(week3):
        minutes = start + int(7 * 24 * 60 * k / len(week3))
        time = f"2026-11-{2 + minutes // 1440:02d}T{minutes % 1440 // 60:02d}:{minutes % 60:02d}:00Z"
        w3.append({"id": f"oai-w3-{k}", "text": o["prompt"], "time": time, **_openai_gold(o)})
    (DEMO / "production_week3.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in w3))
    print(f"week 3: {len(w3)} posts, {sum(r['hate'] == 1 for r in w3)} hateful")


OPENAI_GOLD = {"H": "hate", "HR": "harassment", "V": "violence", "S": "sexual", "SH": "self_harm"}


def _openai_gold(o: dict) -> dict:
    """The demo labels an OpenAI moderation prompt's gold knows (None: not annotated there)."""
    return {lab: o.get(key) for key, lab in OPENAI_GOLD.items()}


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else REPO.parent / "shared" / "data"))
