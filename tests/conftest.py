from __future__ import annotations

from pathlib import Path

import pytest

from curation import Project, Taxonomy

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
STARTER_TAXONOMY = REPO / "workbench" / "templates" / "taxonomy.yaml"


def shared(path: str) -> Path:
    p = SHARED_DATA / path
    if not p.exists():
        pytest.fail(f"public data file {p} is missing: the tests read ../shared/data beside the checkout")
    return p


@pytest.fixture
def small_taxonomy() -> Taxonomy:
    return Taxonomy.from_dict({"name": "small", "labels": [
        {"name": "hate", "group": "safety", "tier": "T2"},
        {"name": "offensive", "group": "safety", "tier": "T3"},
        {"name": "hate_race", "group": "safety", "tier": "T3", "parent": "hate"},
        {"name": "scam", "group": "spam", "tier": "T2"},
        {"name": "spam", "group": "spam", "tier": "T4"},
    ]})


@pytest.fixture
def project(tmp_path, small_taxonomy):
    p = Project.init(tmp_path / "proj", taxonomy=small_taxonomy)
    yield p
    p.close()


@pytest.fixture
def starter_project(tmp_path):
    p = Project.init(tmp_path / "starter", taxonomy=STARTER_TAXONOMY)
    yield p
    p.close()
