"""The configuration files as typed models: every file an earlier version wrote loads, a typo'd key is an
error with its line and the closest known key, the JSON Schemas shipped are the models', and the files
`workbench init` writes name their schema and validate against it."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from curation import (
    DEFAULT_CONFIG,
    SCHEMA_FILES,
    Project,
    ProjectSettings,
    SuiteFile,
    TaxonomyFile,
    WorkbenchError,
    json_schemas,
    load_taxonomy,
)
from curation._settings import load_yaml
from curation._taxonomy import _GATE_KEYS, _LABEL_KEYS
from curation.suites import load_suite
from curation.suites._suites import _FUNC_KEYS, _PERTURBED_KEYS, _SUITE_KEYS

from ..conftest import REPO

LEGACY = REPO / "tests" / "fixtures" / "legacy_configs"
VERSIONS = sorted(p.name for p in LEGACY.iterdir() if p.is_dir())


def test_there_are_files_of_every_version_since_the_first():
    assert len(VERSIONS) == 9
    assert all((LEGACY / v / "workbench.yaml").exists() and (LEGACY / v / "taxonomy.yaml").exists() for v in VERSIONS)
    assert sum((LEGACY / v / "suites").is_dir() for v in VERSIONS) >= 4


@pytest.mark.parametrize("version", VERSIONS)
def test_every_config_an_earlier_version_wrote_still_loads(tmp_path, version):
    old = LEGACY / version
    root = tmp_path / "p"
    root.mkdir()
    for name in ("workbench.yaml", "taxonomy.yaml"):
        (root / name).write_text((old / name).read_text())
    (root / "suites").mkdir()
    for suite in sorted((old / "suites").glob("*.yaml")) if (old / "suites").is_dir() else []:
        (root / "suites" / suite.name).write_text(suite.read_text())
    p = Project(root)
    assert p.settings.name == f"made-by-{version}"
    assert p.settings.mixing.production_share == DEFAULT_CONFIG["mixing"]["production_share"]  # defaults fill in
    written = yaml.safe_load((old / "workbench.yaml").read_text())
    assert p.settings.splits == written["splits"] and p.settings.dedup.model_dump() == written["dedup"]
    for suite in sorted((root / "suites").glob("*.yaml")):
        load_yaml(suite, SuiteFile)
        load_suite(suite, p.taxonomy)
    load_yaml(old / "starter_taxonomy.yaml", TaxonomyFile)
    load_taxonomy(old / "starter_taxonomy.yaml")
    p.close()


def test_a_typo_in_workbench_yaml_names_the_key_its_line_and_the_fix(tmp_path, small_taxonomy):
    p = Project.init(tmp_path / "p", taxonomy=small_taxonomy)
    cfg = (tmp_path / "p" / "workbench.yaml").read_text()
    lines = cfg.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("head_cap:"))
    lines[at] = lines[at].replace("head_cap", "head_cpa")
    (tmp_path / "p" / "workbench.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(WorkbenchError) as e:
        Project(tmp_path / "p").settings
    message = str(e.value)
    assert f"workbench.yaml line {at + 1}: mixing.head_cpa" in message
    assert "got unknown key 'head_cpa'" in message and "did you mean 'head_cap'?" in message
    assert "expected a key among [" in message and "'production_share'" in message
    p.close()


def test_a_wrong_type_is_refused_with_its_line(tmp_path, small_taxonomy):
    Project.init(tmp_path / "p", taxonomy=small_taxonomy).close()
    path = tmp_path / "p" / "workbench.yaml"
    path.write_text(path.read_text().replace("num_perm: 64", "num_perm: many"))
    with pytest.raises(WorkbenchError, match=r"line \d+: dedup.num_perm: expected a valid integer.*got 'many'"):
        Project(tmp_path / "p").settings
    with pytest.raises(WorkbenchError, match="mixing.production_share"):
        Project.init(tmp_path / "q", taxonomy=small_taxonomy, config={"mixing": {"production_share": 1.5}})


def test_the_shipped_schemas_are_the_models():
    for name, schema in json_schemas().items():
        shipped = json.loads((REPO / "curation" / "schemas" / name).read_text())
        assert shipped == schema, f"curation/schemas/{name} is stale: run `workbench schema --out curation/schemas`"
    assert set(SCHEMA_FILES) == {"workbench.schema.json", "taxonomy.schema.json", "suite.schema.json"}


def test_the_schemas_know_the_keys_the_loaders_accept():
    schemas = json_schemas()
    assert set(schemas["taxonomy.schema.json"]["properties"]) == {"name", "description", "labels"}
    defs = schemas["taxonomy.schema.json"]["$defs"]
    assert set(defs["LabelFile"]["properties"]) == _LABEL_KEYS
    assert set(defs["GateFile"]["properties"]) == _GATE_KEYS
    suite = schemas["suite.schema.json"]
    assert set(suite["properties"]) == _SUITE_KEYS
    assert set(suite["$defs"]["FunctionalityFile"]["properties"]) == _FUNC_KEYS | _PERTURBED_KEYS
    assert set(ProjectSettings.model_fields) >= set(DEFAULT_CONFIG)


def test_init_writes_files_that_name_their_schema_and_validate_against_it(tmp_path):
    from workbench import add_starter_suites

    p = Project.init(tmp_path / "p", taxonomy=REPO / "workbench" / "templates" / "taxonomy.yaml")
    add_starter_suites(p)
    checks = [
        ("workbench.yaml", "schemas/workbench.schema.json"),
        ("taxonomy.yaml", "schemas/taxonomy.schema.json"),
        *[(f"suites/{s.name}", "../schemas/suite.schema.json") for s in sorted((p.root / "suites").glob("*.yaml"))],
    ]
    assert len(checks) >= 4
    for name, schema_ref in checks:
        text = (p.root / name).read_text()
        assert text.splitlines()[0] == f"# yaml-language-server: $schema={schema_ref}", name
        schema = json.loads(((p.root / name).parent / schema_ref).read_text())
        jsonschema.validate(yaml.safe_load(text), schema)
    bad = yaml.safe_load((p.root / "workbench.yaml").read_text())
    bad["mixing"]["head_cpa"] = 0.1
    with pytest.raises(jsonschema.ValidationError, match="head_cpa"):
        jsonschema.validate(bad, json.loads((p.root / "schemas" / "workbench.schema.json").read_text()))
    p.close()


def test_workbench_schema_writes_the_three(tmp_path, capsys):
    from workbench.cli import main

    assert main(["schema", "--out", str(tmp_path / "s")]) == 0
    assert sorted(f.name for f in (tmp_path / "s").iterdir()) == sorted(SCHEMA_FILES)
    assert json.loads((tmp_path / "s" / "workbench.schema.json").read_text())["title"] == "workbench.yaml"
