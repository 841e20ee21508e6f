"""Write ``data/demo/production_log.jsonl``: two weeks of "production" posts for notebook 08 and the demo.

Week 1 is like the demo's own data (220 Davidson tweets and 80 prompts of the OpenAI moderation evaluation
set, none of them in the demo's slices); week 2 is 300 OpenAI moderation prompts only (the style shift the
monitor should see). A moderators' audit of a random half of the posts gives decisions on ``hate`` (both
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
    prompts = [(f"oai-{i}", o["prompt"], {"hate": o.get("H")}) for i, o in enumerate(rng.sample(openai, 380))]
    tweets = [(f"dav-{r['']}", r["tweet"], {"hate": int(r["class"] == "0"), "offensive": int(r["class"] == "1")})
              for r in rng.sample(davidson, 220)]  # fmt: skip
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


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else REPO.parent / "shared" / "data"))
