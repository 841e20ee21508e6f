"""The tiny real world two test modules train models on (``tests/training/test_suites_gate.py`` and
``tests/workbench/test_loop.py``): a post with 'zorg' in it is hate, any other post is not, and a project
suite planted on top of it."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import yaml

from curation import Project, Taxonomy
from curation.suites import expand_project_suites

WORDS = "apple river window cloud music table garden paper stone light".split()
HATE_TAXONOMY = {"labels": [{"name": "hate", "tier": "T2"}]}


def zorg_project(root: Path, suite: dict, *, hate_group: str | None = None) -> Project:
    """400 posts of five common words, every third one hate with 'zorg' among its words (and, when
    ``hate_group`` is given, that word in front of every other hateful post: a group named only in hate),
    and ``suite`` written to ``suites/`` and expanded."""
    rng = random.Random(0)
    rows = []
    for i in range(400):
        words = rng.sample(WORDS, 5)
        hate = i % 3 == 0
        if hate:
            words.insert(rng.randrange(6), "zorg")
            if hate_group and i % 2:
                words.insert(0, hate_group)
        rows.append({"text": " ".join(words) + f" {i}", "hate": int(hate)})
    p = Project.init(root, taxonomy=Taxonomy.from_dict(HATE_TAXONOMY))
    p.records.import_frame(pd.DataFrame(rows), source="synthetic")
    (p.root / "suites").mkdir()
    (p.root / "suites" / f"{suite['suite']}.yaml").write_text(yaml.safe_dump(suite))
    expand_project_suites(p.root, p.taxonomy)
    return p
