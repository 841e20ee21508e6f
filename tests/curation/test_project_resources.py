"""Project grouped by resource (issue 44), the way Argilla's SDK groups a dataset: a handful of its own members
(settings, layout, taxonomy, store, init, close) and the rest on small objects over the store. The 0.x flat
methods read for one release, with a warning that names the new spelling."""

from __future__ import annotations

import inspect

import pandas as pd
import pytest

from curation import Project, ProjectLayout, Taxonomy
from curation._project_parts import FLAT_METHODS
from foundation import WorkbenchDeprecationWarning

RESOURCES = ("records", "seeds", "batches", "production", "views", "snapshots", "reports")


@pytest.fixture
def project(tmp_path):
    tax = Taxonomy.from_dict({"labels": [{"name": "hate", "tier": "T2"}, {"name": "spam", "tier": "T4"}]})
    p = Project.init(tmp_path / "p", taxonomy=tax)
    p.records.import_frame(pd.DataFrame({"text": ["hello there", "buy pills now"], "spam": [0, 1]}), source="toy")
    yield p
    p.close()


def test_a_project_keeps_a_few_members_and_groups_the_rest_by_resource(project):
    own = sorted(n for n, _ in inspect.getmembers(Project) if not n.startswith("_"))
    assert own == ["close", "config", "init", "settings", "store", "taxonomy"], own  # config: deprecated, one release
    for name in RESOURCES:
        methods = [n for n, v in inspect.getmembers(type(getattr(project, name))) if callable(v) and n[0] != "_"]
        assert 1 <= len(methods) <= 11, (name, methods)
    assert isinstance(project.layout, ProjectLayout) and project.layout.store.exists()
    assert project.records.frame()["spam"].tolist() == [0.0, 1.0]
    assert project.snapshots.id() == project.snapshots.take()["snapshot_id"]


@pytest.mark.parametrize("old", sorted(FLAT_METHODS))
def test_every_flat_method_still_works_for_one_release_with_a_warning(project, old):
    resource, new = FLAT_METHODS[old].split(".")
    with pytest.warns(
        WorkbenchDeprecationWarning, match=rf"Project\.{old}\(\) moved to project\.{resource}\.{new}\(\)"
    ):
        method = getattr(project, old)
    assert method == getattr(getattr(project, resource), new)


@pytest.mark.parametrize("old, new", [("seeds", "frame"), ("batches", "frame"), ("production", "posts")])
def test_the_flat_methods_named_like_a_resource_are_the_resource_called(project, old, new):
    with pytest.warns(WorkbenchDeprecationWarning, match=rf"project\.{old}\(\) moved to project\.{old}\.{new}\(\)"):
        frame = getattr(project, old)()
    assert frame.equals(getattr(getattr(project, old), new)())


def test_settings_are_typed_and_the_raw_dict_is_deprecated(project):
    assert project.settings.mixing.head_cap == 0.10 and project.settings.name == "p"
    with pytest.warns(WorkbenchDeprecationWarning, match="Project.config .* moved to Project.settings"):
        assert project.config["mixing"]["head_cap"] == 0.10
    with pytest.raises(AttributeError, match="no attribute 'no_such_method'"):
        project.no_such_method
