"""The project's configuration files as typed models: ``workbench.yaml`` (:class:`ProjectSettings`),
``taxonomy.yaml`` (:class:`TaxonomyFile`) and ``suites/*.yaml`` (:class:`SuiteFile`), with their JSON
Schemas (:func:`json_schemas`; ``workbench schema`` writes them, the wheel ships them, and the files
``workbench init`` writes name them on a ``# yaml-language-server: $schema=`` line so an editor completes
and checks them).

pydantic v2 (MIT; already a dependency of the Argilla SDK, and of the core since this module) does the
parsing; :func:`load_yaml` turns its errors into the project's what / expected / got / fix errors with the
file, the line and the dotted key (a typo'd key names the known ones and the closest). ``workbench.yaml``
is parsed whole by :class:`ProjectSettings` (missing blocks and fields take the defaults, an unknown key is
refused). ``taxonomy.yaml`` and ``suites/*.yaml`` are still read by their own loaders (:mod:`._taxonomy`,
:mod:`._suites`: keys, types, and what a schema cannot say - a parent that must exist, cycles, the
train/test side rule); :class:`TaxonomyFile` and :class:`SuiteFile` give their schemas, and a test keeps
their keys equal to what the loaders accept. Every file an earlier version wrote still loads
(``tests/fixtures/legacy_configs``, written by the code of nine commits since the first).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._errors import WorkbenchError
from ._splits import DEFAULT_FRACTIONS, DEFAULT_SYNTHETIC_FRACTIONS
from .ingest._validate import DEFAULT_MAX_TEXT_CHARS
from .production._pool import DEFAULT_PRODUCTION_SPLITS

__all__ = [
    "ProjectSettings",
    "TaxonomyFile",
    "SuiteFile",
    "SCHEMA_FILES",
    "SCHEMA_FOLDER",
    "json_schemas",
    "modeline",
    "write_schemas",
    "load_yaml",
    "validate_settings",
]

Share = Field(ge=0.0, le=1.0)
Range = list[float]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


# ---------------------------------------------------------------------------------------------- workbench.yaml
class Dedup(_Model):
    """Near-duplicate detection (MinHash over character shingles)."""

    threshold: float = Field(
        0.8, gt=0.0, le=1.0, description="estimated Jaccard similarity that makes a near duplicate"
    )
    num_perm: int = Field(64, ge=8, description="MinHash permutations")
    shingle: int = Field(5, ge=1, description="characters per shingle")


class Mixing(_Model):
    """The training mix (curation.views.training_mix)."""

    clean_share: float = Field(0.80, ge=0.0, le=1.0, description="share of rows with no positive label")
    clean_share_range: Range = Field([0.70, 0.85], min_length=2, max_length=2, description="accepted clean share")
    head_cap: float = Field(0.10, ge=0.0, le=1.0, description="the most one source's head may hold")
    hard_negative_share: float = Field(0.30, ge=0.0, le=1.0, description="hard negatives' share of the clean rows")
    hard_negative_range: Range = Field([0.20, 0.40], min_length=2, max_length=2)
    hard_negatives_per_label: dict[str, int] = Field(
        default_factory=dict, description="hard negatives wanted per label"
    )
    production_share: float = Field(
        0.30, ge=0.0, lt=1.0, description="labelled production posts' share of the rows fitted"
    )
    production_max_repeat: int = Field(10, ge=1, description="how often one production post may be repeated")
    tail_floor: int | None = Field(
        None, ge=0, description="one training floor for every label (default: each label's min_positives)"
    )


class Evaluation(_Model):
    """The evaluation view of calib and holdout."""

    clean_share: float = Field(0.95, gt=0.0, lt=1.0, description="clean share the evaluation view is weighted to")
    clean_share_range: Range = Field([0.90, 0.98], min_length=2, max_length=2)
    base_rates: Union[Literal["raw", "project"], dict[str, float], None] = Field(
        None, description="'raw', 'project' (default) or production rates per label"
    )


class Loss(_Model):
    pos_weight_cap: float = Field(10.0, gt=0.0, description="the cap of negatives / positives per label")


class Generation(_Model):
    """Generated records and the generation providers."""

    splits: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_SYNTHETIC_FRACTIONS), description="splits of generated records"
    )
    pool_sources: list[str] = Field(default_factory=list, description="sources the retrieval provider searches")
    base_url: str | None = Field(None, description="the OpenAI-compatible endpoint")
    model: str | None = Field(None, description="the endpoint's model name")
    api_key_env: str | None = Field(None, description="the environment variable holding its API key")
    chunk: int | None = None
    concurrency: int | None = None
    rpm: float | None = None
    max_attempts: int | None = None
    timeout: float | None = None
    temperature: float | None = None
    backoff: float | None = None
    max_backoff: float | None = None


class Production(_Model):
    splits: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_PRODUCTION_SPLITS),
        description="splits of labelled production posts (never the curated holdout)",
    )


class Monitoring(_Model):
    limits: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="drift limits per tier or label, e.g. {T2: {psi_max: 0.15}}"
    )


class Review(_Model):
    """The review team: disputes, gold checks and annotator flags (docs/how-to/review-team.md)."""

    dispute_margin: float = Field(
        0.2, ge=0.0, lt=1.0, description="the lead over the runner-up, as a share of all votes, that decides"
    )
    gold_rate: float = Field(
        0.10, ge=0.0, lt=1.0, description="share of a batch-review push that is known-answer (gold) records"
    )
    error_floor: float = Field(
        0.15, gt=0.0, lt=1.0, description="an annotator is flagged when the evidence says their error rate exceeds it"
    )
    confidence: float = Field(0.95, gt=0.5, lt=1.0, description="the confidence of that evidence (Wilson interval)")
    adjudicators: list[str] = Field(
        default_factory=list, description="users whose adjudication answers count (default: the owners and admins)"
    )


class ProjectSettings(_Model):
    """``workbench.yaml``."""

    name: str = Field("workbench-project", description="the project's name (its Argilla workspace)")
    splits: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_FRACTIONS),
        description="split fractions of new real records",
    )
    dedup: Dedup = Field(default_factory=Dedup)
    mixing: Mixing = Field(default_factory=Mixing)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    loss: Loss = Field(default_factory=Loss)
    generation: Generation = Field(default_factory=Generation)
    production: Production = Field(default_factory=Production)
    monitoring: Monitoring | None = None
    training: dict[str, Any] | None = Field(
        None, description="training settings (recipe, encoder, epochs, ...; checked by training.TrainingConfig)"
    )
    max_text_chars: int = Field(
        DEFAULT_MAX_TEXT_CHARS,
        gt=0,
        description="the longest text an import accepts, in characters (a longer one is refused with its line)",
    )
    review: Review = Field(default_factory=Review)
    lock_timeout_s: float | None = Field(
        None,
        ge=0,
        description="how long a write waits for another process's write, in seconds (default 300; "
        "WORKBENCH_LOCK_TIMEOUT overrides it)",
    )

    def to_config(self) -> dict[str, Any]:
        """The plain dict the project reads (unset optional fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)


# ---------------------------------------------------------------------------------------------- taxonomy.yaml
Tier = Literal["T1", "T2", "T3", "T4", "T5"]


class GateFile(_Model):
    min_f1: float | None = Field(None, ge=0.0, le=1.0)
    recall_floor: float | None = Field(None, ge=0.0, le=1.0)
    fpr_budget: float | None = Field(None, ge=0.0, le=1.0)


class LabelFile(_Model):
    name: str = Field(description="snake_case, no spaces, commas or '='")
    description: str | None = None
    group: str | None = None
    tier: Tier | None = Field(None, description="T1 zero-tolerance ... T5 routing (default T3)")
    parent: str | None = Field(None, description="the primary label of a secondary one")
    gate: GateFile | None = None
    threshold_range: Range | None = Field(None, min_length=2, max_length=2)
    action: Literal["hide", "warn", "badge", "none"] | None = Field(None, description="the ceiling of what it may do")
    min_positives: int | None = Field(None, ge=0)
    min_holdout_positives: int | None = Field(None, ge=0)


class TaxonomyFile(_Model):
    """``taxonomy.yaml``: ordered labels (the order is the model's output order)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    description: str | None = None
    labels: list[Union[LabelFile, str]] = Field(min_length=1)


# ---------------------------------------------------------------------------------------------- suites/*.yaml
Side = Literal["test", "train", "both"]


class TemplateFile(_Model):
    id: str | None = None
    text: str
    side: Side | None = None


class CaseFile(_Model):
    text: str
    side: Side | None = None
    expect: dict[str, int | None] | None = None


class FunctionalityFile(_Model):
    name: str
    description: str | None = None
    type: Literal["mft", "inv", "dir"] | None = Field(
        None, description="mft (default): a label; inv: a perturbation changes no decision; dir: moves it one way"
    )
    perturbation: (
        Union[Literal["typos", "leetspeak", "spacing", "homoglyphs"], dict[Literal["swap", "append"], str]] | None
    ) = Field(None, description="inv / dir: typos, leetspeak, spacing, homoglyphs, {swap: FILLER} or {append: FILLER}")
    originals: Literal["all", "hateful", "benign"] | None = None
    from_: list[str] | None = Field(None, alias="from", description="inv / dir: the mft functionalities perturbed")
    max_fail: float | None = Field(None, ge=0.0, le=1.0)
    expect: dict[str, int | None] = Field(description="label -> 1, 0 or null (unknown)")
    tier: Tier | None = None
    min_pass: float | None = Field(None, ge=0.0, le=1.0)
    known_gap: bool | None = None
    max_cases: int | None = Field(None, ge=1)
    templates: list[TemplateFile] | None = None
    cases: list[Union[CaseFile, str]] | None = Field(None, description="literal cases: a text, or a mapping")


class SuiteFile(_Model):
    """``suites/*.yaml``: a functional suite."""

    suite: str | None = None
    description: str | None = None
    licence: str | None = None
    license: str | None = None
    fillers: dict[str, Union[list[str], dict[str, list[str]]]] | None = None
    functionalities: list[FunctionalityFile] = Field(min_length=1)


SCHEMA_FILES = {
    "workbench.schema.json": ProjectSettings,
    "taxonomy.schema.json": TaxonomyFile,
    "suite.schema.json": SuiteFile,
}


SCHEMA_FOLDER = "schemas"  # in a project directory: DIR/schemas/*.schema.json, written by Project.init


def modeline(schema_file: str, *, up: int = 0) -> str:
    """The first line of a configuration file that points YAML editors (yaml-language-server) at its schema,
    relative to the file (``up``: folders between the file and the project directory)."""
    return f"# yaml-language-server: $schema={'../' * up}{SCHEMA_FOLDER}/{schema_file}\n"


def write_schemas(folder) -> list[Path]:
    """The three JSON Schemas into ``folder`` (atomically); returns the files."""
    import json

    from foundation import atomic_write_text

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, schema in json_schemas().items():
        atomic_write_text(folder / name, json.dumps(schema, indent=2) + "\n")
        out.append(folder / name)
    return out


def json_schemas() -> dict[str, dict]:
    """File name -> JSON Schema of the three configuration files."""
    out = {}
    for name, model in SCHEMA_FILES.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = {"ProjectSettings": "workbench.yaml", "TaxonomyFile": "taxonomy.yaml"}.get(
            model.__name__, "suites/*.yaml"
        )
        out[name] = schema
    return out


# ---------------------------------------------------------------------------------------------- loading
def _key_lines(text: str) -> dict[tuple, int]:
    """(key, index, ...) path -> 1-based line, from the YAML node tree (keys and list items)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    lines: dict[tuple, int] = {}

    def walk(node, path):
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                here = (*path, key.value)
                lines[here] = key.start_mark.line + 1
                walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[(*path, i)] = item.start_mark.line + 1
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return lines


def _known_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The field names of the model that holds the key at ``loc`` (for a typo's 'expected')."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _model_in(field.annotation)
    return sorted(getattr(current, "model_fields", {})) if current is not None else []


def _model_in(annotation) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _error(model: type[BaseModel], err: dict, where: str, lines: dict[tuple, int]) -> WorkbenchError:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in ("str", "function-after")))
    # pydantic names union branches in the location (e.g. 'LabelFile'); they are not keys of the file
    loc = tuple(p for p in loc if not (isinstance(p, str) and p[:1].isupper()))
    line = next((lines[loc[:k]] for k in range(len(loc), 0, -1) if loc[:k] in lines), None)
    dotted = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
    place = f"{where} line {line}" if line else where
    if err["type"] == "extra_forbidden":
        known = _known_keys(model, loc)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        return WorkbenchError(
            f"{place}: {dotted}",
            expected=f"a key among {known}" if known else "a known key",
            got=f"unknown key {loc[-1]!r}",
            fix=f"did you mean {close[0]!r}?" if close else "remove it, or see `workbench schema` for the keys",
        )
    got = err.get("input")
    return WorkbenchError(
        f"{place}: {dotted or 'the file'}",
        expected=err["msg"].removeprefix("Input should be ").removeprefix("Value error, "),
        got=repr(got)[:80] if err["type"] != "missing" else "nothing",
        fix="see `workbench schema` (or the configuration reference) for the file's keys and types",
    )


def validate_settings(model: type[BaseModel], data: Any, *, where: str, text: str | None = None) -> BaseModel:
    """``data`` parsed by ``model``; the first problem as a what / expected / got / fix error with its line
    (when ``text``, the file's YAML, is given)."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as e:
        lines = _key_lines(text) if text else {}
        raise _error(model, e.errors()[0], where, lines) from None


def load_yaml(path, model: type[BaseModel]) -> tuple[Any, BaseModel]:
    """Read a YAML file and check it against ``model``: (the raw data, the parsed model)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    data = parse_yaml(text, path)
    return data, validate_settings(model, data, where=str(path), text=text)


def parse_yaml(text: str, path) -> Any:
    """``text`` (the contents of ``path``) as YAML; a syntax error names the file, line and column."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise WorkbenchError(
            f"{path}" + (f" line {mark.line + 1} column {mark.column + 1}" if mark else ""),
            expected="valid YAML",
            got=str(getattr(e, "problem", None) or e),
            fix="check the indentation and quote text that contains ':' or '#'",
        ) from None
