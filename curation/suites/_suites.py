"""Functional test suites (CheckList-style behavioural tests per label and failure mode): schema,
expansion into cases, the train/test side rule, leakage against stored records, and review state.

A project keeps suites in ``DIR/suites/*.yaml``::

    suite: hate-starter                 # name (default: the file's stem)
    description: ...
    licence: ...                        # who wrote it, under which terms
    fillers:                            # slot -> values; a plain list is test-side
      group: {test: [women, Muslims], train: [Sikhs, Roma], both: [...]}
      neg_attribute: [disgusting, vermin]
    functionalities:
      - name: explicit_derogation
        description: Plain statements of hatred or contempt for a protected group.
        expect: {hate: 1, violence: 0}  # 1, 0 or unknown (left out / null) per label
        tier: T2                        # the tier it guards (default: the tier of its first expected label)
        min_pass: 0.9                   # default: the tier's (T1 0.95, T2 0.90, T3 0.80, T4 0.70, T5 0.60)
        known_gap: false                # reported, never failing
        max_cases: 60                   # per template and side (a seeded sample of the filler product)
        templates:
          - {id: ed1, text: "I hate {group}.", side: test}      # side: test (default) | train | both
        cases:
          - {text: "A literal case.", side: test, expect: {hate: 1}}   # expect overrides the functionality's

**Sides.** The gate runs test-side cases; generation (``workbench generate --from-suite``) uses only
train-side templates and fillers. A case is on a side when its template (or literal case) and every
filler it uses are on that side or ``both``. Expansion refuses a suite in which a test-side case is
the same text (normalised) as a train-side case: the loop would then train on what the gate measures.

**Cases** are ``origin: suite`` and are never stored as records: they live in
``DIR/suites/cases.jsonl`` (rewritten by :func:`expand_project_suites`), so no training view or snapshot
can hold one. Each has a stable id (suite, functionality, side, text) and its provenance (suite,
functionality, template id, fillers).

**Review** answers (``yes`` / ``no`` / ``unsure``, optional corrected labels) come from the Argilla
dataset ``suite-review`` and are annotation events of the store (target: the case id). A case stays in the gate when it has at least
``min_answers`` answers and no ``no`` (:func:`case_review_state`); fewer answers leave it ``pending``
(reported; gated on only with an explicit flag); any ``no`` makes it ``disputed`` (out of the gate,
listed per functionality).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd
import yaml

from foundation import atomic_write_text

from .._errors import WorkbenchError
from .._layout import ProjectLayout
from .._records import normalise_text
from .._taxonomy import TIERS, Taxonomy
from ..ingest._dedup import duplicate_groups, minhash_signatures, near_duplicate_pairs
from ._perturb import PERTURBATION_MAX_FAIL, TEST_TYPES, perturb_text, perturbation_name, perturbation_spec

__all__ = [
    "SUITE_MIN_PASS",
    "SIDES",
    "Functionality",
    "Suite",
    "SuiteCase",
    "load_suite",
    "load_suites",
    "expand_suite",
    "expand_project_suites",
    "read_cases",
    "leakage_report",
    "case_review_state",
    "REVIEW_ANSWERS",
    "SUITE_REVIEW",
]

SUITE_MIN_PASS = {"T1": 0.95, "T2": 0.90, "T3": 0.80, "T4": 0.70, "T5": 0.60}
"""The lowest pass rate a functionality may have, by the tier it guards (overridable per functionality)."""
SIDES = ("test", "train", "both")
REVIEW_ANSWERS = ("yes", "no", "unsure")
_SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_FUNC_KEYS = {"name", "description", "expect", "tier", "min_pass", "known_gap", "max_cases", "templates", "cases"}
_PERTURBED_KEYS = {"type", "perturbation", "originals", "from", "max_fail"}
_ON = ("all", "hateful", "benign")
_SUITE_KEYS = {"suite", "description", "licence", "license", "fillers", "functionalities"}


@dataclass(frozen=True)
class SuiteCase:
    """One expanded case (``origin`` is always ``suite``)."""

    id: str
    suite: str
    functionality: str
    text: str
    side: str  # test | train
    expect: dict[str, int]
    tier: str
    min_pass: float = 0.9
    known_gap: bool = False
    template_id: str | None = None
    fillers: dict[str, str] = field(default_factory=dict)
    origin: str = "suite"
    type: str = "mft"  # mft | inv | dir (curation.suites._perturb)
    original: str | None = None  # inv / dir: the text before the perturbation
    perturbation: str | None = None  # inv / dir: typos, leetspeak, swap:group, ...

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Functionality:
    name: str
    description: str
    expect: dict[str, int]
    tier: str
    min_pass: float
    known_gap: bool
    max_cases: int
    templates: tuple[dict[str, Any], ...]
    cases: tuple[dict[str, Any], ...]
    type: str = "mft"  # mft | inv | dir
    perturbation: dict[str, str] | None = None  # inv / dir: {"kind": ..., "filler": ...}
    on: str = "all"  # inv / dir: the originals (suite key ``originals``): all | hateful | benign
    sources: tuple[str, ...] = ()  # inv / dir: the mft functionalities perturbed (empty: all of the suite's)


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    licence: str | None
    fillers: dict[str, dict[str, tuple[str, ...]]]  # slot -> side -> values
    functionalities: tuple[Functionality, ...]
    path: str | None = None

    def functionality(self, name: str) -> Functionality:
        for f in self.functionalities:
            if f.name == name:
                return f
        raise KeyError(name)


def _err(where: str, expected: str, got: Any, fix: str | None = None) -> WorkbenchError:
    return WorkbenchError(where, expected=expected, got=repr(got) if not isinstance(got, str) else got, fix=fix)


def _side(value: Any, where: str) -> str:
    side = "test" if value is None else value
    if side not in SIDES:
        raise _err(f"{where}: side", f"one of {list(SIDES)}", side)
    return side


def _expect(raw: Any, labels: Sequence[str], where: str) -> dict[str, int]:
    if not isinstance(raw, Mapping) or not raw:
        raise _err(f"{where}: expect", "a mapping label -> 1, 0 or null (unknown)", raw, "e.g. expect: {hate: 1}")
    out = {}
    for lab, v in raw.items():
        if lab not in labels:
            raise _err(f"{where}: expect", f"labels of the taxonomy {list(labels)}", lab)
        if v is None or v == "unknown":
            continue
        if v not in (0, 1) or isinstance(v, bool):
            raise _err(f"{where}: expect.{lab}", "1, 0 or null (unknown)", v)
        out[str(lab)] = int(v)
    if not out:
        raise _err(f"{where}: expect", "at least one label expected 1 or 0", raw)
    return out


def _fillers(raw: Any, where: str) -> dict[str, dict[str, tuple[str, ...]]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _err(
            f"{where}: fillers", "a mapping slot -> list, or slot -> {test: [...], train: [...], both: [...]}", raw
        )
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for slot, values in raw.items():
        sides = {"test": values} if isinstance(values, list) else values
        if not isinstance(sides, Mapping) or set(sides) - set(SIDES):
            raise _err(f"{where}: fillers.{slot}", "a list (test-side) or a mapping of test / train / both", values)
        out[str(slot)] = {}
        for side, vals in sides.items():
            if not isinstance(vals, list) or not all(isinstance(v, str) and v.strip() for v in vals):
                raise _err(f"{where}: fillers.{slot}.{side}", "a list of non-empty strings", vals)
            out[str(slot)][side] = tuple(vals)
    return out


def load_suite(path, taxonomy: Taxonomy) -> Suite:
    """Read and check one suite file against the taxonomy (every error names the place and the fix)."""
    path = Path(path)
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise _err(where, "a YAML suite file", f"a YAML error: {e}") from e
    if not isinstance(raw, Mapping):
        raise _err(where, "a mapping with 'functionalities'", type(raw).__name__)
    unknown = sorted(set(raw) - _SUITE_KEYS)
    if unknown:
        raise _err(where, f"keys among {sorted(_SUITE_KEYS)}", f"unknown keys {unknown}")
    labels = list(taxonomy.label_names)
    fillers = _fillers(raw.get("fillers"), where)
    funcs = []
    names: set[str] = set()
    for i, fr in enumerate(raw.get("functionalities") or []):
        funcs.append(_functionality(fr, f"{where}: functionalities[{i}]", where, taxonomy, labels, fillers, names))
    if not funcs:
        raise _err(where, "at least one functionality", "none")
    mft = {f.name for f in funcs if f.type == "mft"}
    for f in funcs:
        if f.type != "mft" and (not mft or set(f.sources) - mft):
            raise _err(
                f"{where}: functionality {f.name}: from",
                f"minimum-functionality tests of this suite {sorted(mft)}",
                sorted(set(f.sources) - mft) or "none in the suite",
            )
    return Suite(
        name=str(raw.get("suite") or path.stem),
        description=str(raw.get("description") or ""),
        licence=raw.get("licence") or raw.get("license"),
        fillers=fillers,
        functionalities=tuple(funcs),
        path=str(path),
    )


def _functionality(fr, fw: str, where: str, taxonomy: Taxonomy, labels, fillers, names: set[str]) -> Functionality:
    """One functionality of a suite file, checked (its name once, known keys, expectation, tier, pass rate)."""
    if not isinstance(fr, Mapping) or not fr.get("name"):
        raise _err(fw, "a mapping with a name", fr)
    fw = f"{where}: functionality {fr['name']}"
    kind = fr.get("type", "mft")
    if kind not in TEST_TYPES:
        raise _err(f"{fw}: type", f"one of {list(TEST_TYPES)}", kind, "mft: a label; inv: no change; dir: one way")
    if True in fr:  # YAML 1.1 reads a bare `on:` key as true
        raise _err(fw, "the key 'originals' (all | hateful | benign)", "'on', which YAML reads as true", "rename it")
    allowed = _FUNC_KEYS | _PERTURBED_KEYS if kind != "mft" else _FUNC_KEYS | {"type"}
    unknown = sorted(set(fr) - allowed)
    if unknown:
        raise _err(fw, f"keys among {sorted(allowed)}", f"unknown keys {unknown}")
    if fr["name"] in names:
        raise _err(fw, "a name used once in the suite", fr["name"])
    names.add(fr["name"])
    expect = _expect(fr.get("expect"), labels, fw)
    first = next((lab for lab, v in expect.items() if v == 1), next(iter(expect)))
    tier = fr.get("tier") or taxonomy[first].tier
    if tier not in TIERS:
        raise _err(f"{fw}: tier", f"one of {list(TIERS)}", tier)
    min_pass = fr.get("min_pass", SUITE_MIN_PASS[tier])
    if not isinstance(min_pass, (int, float)) or not 0 <= min_pass <= 1:
        raise _err(f"{fw}: min_pass", "a share in [0, 1]", min_pass)
    if kind != "mft":
        return _perturbed_functionality(fr, fw, expect, tier, fillers)
    templates = _templates(fr.get("templates") or [], fw, fillers)
    literal = _literal_cases(fr.get("cases") or [], fw, labels, expect)
    if not templates and not literal:
        raise _err(fw, "templates or literal cases", "neither")
    return Functionality(
        name=str(fr["name"]),
        description=str(fr.get("description") or fr["name"]),
        expect=expect,
        tier=tier,
        min_pass=float(min_pass),
        known_gap=bool(fr.get("known_gap", False)),
        max_cases=int(fr.get("max_cases", 60)),
        templates=tuple(templates),
        cases=tuple(literal),
    )


def _perturbed_functionality(fr, fw: str, expect: dict[str, int], tier: str, fillers) -> Functionality:
    """An invariance or directional test (``curation.suites._perturb``): a perturbation of other tests' cases."""
    if fr.get("templates") or fr.get("cases"):
        raise _err(fw, "no templates or cases (its cases are perturbed copies of others')", "some", "drop them")
    if fr.get("originals", "all") not in _ON:
        raise _err(f"{fw}: originals", f"one of {list(_ON)}", fr.get("originals"))
    sources = fr.get("from") or []
    if isinstance(sources, str):
        sources = [sources]
    max_fail = fr.get("max_fail", PERTURBATION_MAX_FAIL[tier])
    if not isinstance(max_fail, (int, float)) or not 0 <= max_fail <= 1:
        raise _err(f"{fw}: max_fail", "a share in [0, 1]", max_fail)
    return Functionality(
        name=str(fr["name"]),
        description=str(fr.get("description") or fr["name"]),
        expect=expect,
        tier=tier,
        min_pass=round(1.0 - float(max_fail), 6),
        known_gap=bool(fr.get("known_gap", False)),
        max_cases=int(fr.get("max_cases", 200)),
        templates=(),
        cases=(),
        type=fr["type"],
        perturbation=perturbation_spec(fr.get("perturbation"), fw, fillers),
        on=fr.get("originals", "all"),
        sources=tuple(str(x) for x in sources),
    )


def _templates(raw: list, fw: str, fillers) -> list[dict[str, Any]]:
    out = []
    for j, t in enumerate(raw):
        tw = f"{fw}: templates[{j}]"
        if not isinstance(t, Mapping) or not isinstance(t.get("text"), str) or not t["text"].strip():
            raise _err(tw, "a mapping with a text", t)
        for slot in _SLOT.findall(t["text"]):
            if slot not in fillers:
                raise _err(tw, f"slots among the fillers {sorted(fillers)}", slot, f"add fillers.{slot}")
        out.append({"id": str(t.get("id") or f"t{j}"), "text": t["text"], "side": _side(t.get("side"), tw)})
    return out


def _literal_cases(raw: list, fw: str, labels, expect: dict[str, int]) -> list[dict[str, Any]]:
    out = []
    for j, c in enumerate(raw):
        cw = f"{fw}: cases[{j}]"
        if isinstance(c, str):
            c = {"text": c}
        if not isinstance(c, Mapping) or not isinstance(c.get("text"), str) or not c["text"].strip():
            raise _err(cw, "a text, or a mapping with a text", c)
        exp = _expect(c["expect"], labels, cw) if c.get("expect") is not None else expect
        out.append({"text": c["text"], "side": _side(c.get("side"), cw), "expect": exp})
    return out


def load_suites(root, taxonomy: Taxonomy) -> list[Suite]:
    """Every ``DIR/suites/*.yaml`` of a project, by file name."""
    folder = ProjectLayout(root).suites
    suites = [load_suite(p, taxonomy) for p in sorted(folder.glob("*.yaml"))] if folder.is_dir() else []
    seen: set[str] = set()
    funcs: dict[str, str] = {}
    for s in suites:
        if s.name in seen:
            raise _err(f"suite {s.path}", "suite names used once in a project", s.name)
        seen.add(s.name)
        for f in s.functionalities:
            if f.name in funcs:
                raise _err(
                    f"suite {s.path}",
                    "functionality names used once in a project",
                    f"{f.name!r}, also in suite {funcs[f.name]}",
                    "rename one of them",
                )
            funcs[f.name] = s.name
    return suites


def _case_id(suite: str, func: str, side: str, text: str) -> str:
    h = hashlib.sha256(f"{suite}\0{func}\0{side}\0{text}".encode()).hexdigest()[:16]
    return f"suite:{suite}:{func}:{h}"


def _side_values(values: Mapping[str, tuple[str, ...]], side: str) -> list[str]:
    return list(values.get(side, ())) + list(values.get("both", ()))


def _on_side(item_side: str, side: str) -> bool:
    return item_side in (side, "both")


def expand_suite(suite: Suite, *, seed: int = 0) -> list[SuiteCase]:
    """Every functionality's templates x fillers (at most ``max_cases`` per template and side: a
    seeded sample of the product) and literal cases, on each side. Raises when a test-side case
    has the text of a train-side one (normalised)."""
    out: list[SuiteCase] = []
    for f in suite.functionalities:
        if f.type != "mft":
            continue
        for side in ("test", "train"):
            seen: set[str] = set()
            for text, expect, template_id, fill in _side_cases(suite, f, side, seed):
                text = " ".join(text.split())
                if text in seen:
                    continue
                seen.add(text)
                out.append(_case(suite, f, side, text, expect, template_id=template_id, fillers=fill))
    for f in suite.functionalities:
        if f.type != "mft":
            out += _perturbed_cases(suite, f, out, seed)
    _refuse_shared_cases(suite, out)
    return out


def _perturbed_cases(suite: Suite, f: Functionality, mft: list[SuiteCase], seed: int) -> list[SuiteCase]:
    """An invariance or directional test's cases on each side: that side's cases of its ``from`` tests (those
    ``originals`` selects, at most ``max_cases`` in a seeded sample), perturbed with that side's filler values. An
    invariance case expects what its original expects on the test's labels; a directional train-side case
    only comes from an original that already expects the direction (adding a threat to hate is hate: a
    label the loop may train on)."""
    out = []
    values = suite.fillers.get((f.perturbation or {}).get("filler", ""), {})
    for side in ("test", "train"):
        pool = [
            c for c in mft if c.type == "mft" and c.side == side and (not f.sources or c.functionality in f.sources)
        ]
        pool = [c for c in pool if any(lab in c.expect for lab in f.expect) or f.type == "dir"]
        hateful = [c for c in pool if any(v == 1 for v in c.expect.values())]
        signed = {c.id for c in hateful}
        pool = {"all": pool, "hateful": hateful, "benign": [c for c in pool if c.id not in signed]}[f.on]
        if f.type == "dir" and side == "train":
            pool = [c for c in pool if all(c.expect.get(lab) == v for lab, v in f.expect.items())]
        random.Random(f"{suite.name}/{f.name}/{side}/{seed}").shuffle(pool)
        seen: set[str] = set()
        for c in pool:
            if len(seen) >= f.max_cases:
                break
            text = perturb_text(f.perturbation, c.text, f"{f.name}/{c.id}", _side_values(values, side))
            if text is None or text in seen:
                continue
            seen.add(text)
            expect = {lab: c.expect[lab] for lab in f.expect if lab in c.expect} if f.type == "inv" else f.expect
            out.append(
                _case(
                    suite,
                    f,
                    side,
                    text,
                    expect,
                    template_id=c.template_id,
                    fillers=dict(c.fillers),
                    type=f.type,
                    original=c.text,
                    perturbation=perturbation_name(f.perturbation),
                )
            )
    return out


def _case(suite: Suite, f: Functionality, side: str, text: str, expect: Mapping[str, int], **more) -> SuiteCase:
    """One expanded case of functionality ``f`` (its id from suite, functionality, side and text)."""
    return SuiteCase(
        id=_case_id(suite.name, f.name, side, text),
        suite=suite.name,
        functionality=f.name,
        text=text,
        side=side,
        expect=dict(expect),
        tier=f.tier,
        min_pass=f.min_pass,
        known_gap=f.known_gap,
        **more,
    )


def _side_cases(suite: Suite, f: Functionality, side: str, seed: int):
    """(text, expect, template id, fillers) of one functionality's templates and literal cases on ``side``."""
    for t in f.templates:
        if not _on_side(t["side"], side):
            continue
        slots = list(dict.fromkeys(_SLOT.findall(t["text"])))
        pools = [_side_values(suite.fillers[s], side) for s in slots]
        if any(not p for p in pools):
            continue  # a slot without fillers on this side: the template has no case here
        combos = list(itertools.product(*pools))
        if len(combos) > f.max_cases:
            key = f"{suite.name}/{f.name}/{t['id']}/{side}/{seed}"
            combos = random.Random(key).sample(combos, f.max_cases)
        for combo in combos:
            fill = dict(zip(slots, combo))
            yield _SLOT.sub(lambda m, fill=fill: fill[m.group(1)], t["text"]), f.expect, t["id"], fill
    for c in f.cases:
        if _on_side(c["side"], side):
            yield c["text"], c["expect"], None, {}


def _refuse_shared_cases(suite: Suite, out: list[SuiteCase]) -> None:
    test = {normalise_text(c.text): c for c in out if c.side == "test"}
    clash = [(test[k], c) for c in out if c.side == "train" for k in [normalise_text(c.text)] if k in test]
    if clash:
        a, _ = clash[0]
        raise _err(
            f"suite {suite.name}",
            "test-side and train-side cases that differ (the loop must not train on what the gate measures)",
            f"{len(clash)} train-side case(s) equal to test-side ones, e.g. {a.functionality}: {a.text!r}",
            "give the template or the filler values one side (test or train), not both",
        )


def _cases_path(root) -> Path:
    return ProjectLayout(root).suite_cases


def expand_project_suites(root, taxonomy: Taxonomy) -> list[SuiteCase]:
    """Expand every suite of the project and write ``DIR/suites/cases.jsonl`` (all or nothing)."""
    cases = [c for s in load_suites(root, taxonomy) for c in expand_suite(s)]
    lines = "".join(json.dumps(c.to_dict(), ensure_ascii=False, sort_keys=True) + "\n" for c in cases)
    path = _cases_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, lines)
    return cases


def read_cases(root_or_file) -> list[SuiteCase]:
    """The expanded cases of a project (``DIR``) or of a cases file (empty when never expanded)."""
    p = Path(root_or_file)
    path = p if p.is_file() else _cases_path(p)
    if not path.exists():
        return []
    return [SuiteCase(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def leakage_report(
    cases: Sequence[SuiteCase], records: pd.DataFrame, *, threshold: float = 0.8, splits=("train", "valid")
) -> pd.DataFrame:
    """Test-side cases that are the same text as, or a near-duplicate (MinHash Jaccard >= ``threshold``)
    of, a stored record of ``splits`` (a model trained on that record has seen the case)."""
    test = [c for c in cases if c.side == "test"]
    pool = records[records["split"].isin(splits)] if len(records) else records
    cols = ["case_id", "functionality", "case", "record_id", "record", "similarity"]
    if not test or not len(pool):
        return pd.DataFrame(columns=cols)
    texts = [normalise_text(c.text) for c in test] + [normalise_text(t) for t in pool["text"]]
    sig = minhash_signatures(texts)
    pairs = near_duplicate_pairs(sig, threshold=threshold)  # linked as stars: groups give every case-record pair
    groups = duplicate_groups(len(texts), [(i, j) for i, j, _ in pairs])
    members: dict[int, list[int]] = {}
    for i in {k for pair in pairs for k in pair[:2]}:
        members.setdefault(int(groups[i]), []).append(i)
    rows = []
    for idx in members.values():
        for a in (i for i in idx if i < len(test)):
            for b in (i for i in idx if i >= len(test)):
                r = pool.iloc[b - len(test)]
                sim = float((sig[a] == sig[b]).mean())
                rows.append((test[a].id, test[a].functionality, test[a].text, r["id"], r["text"], round(sim, 3)))
    return pd.DataFrame(rows, columns=cols).sort_values(["case_id", "record_id"]).reset_index(drop=True)


SUITE_REVIEW = "suite-review"
"""The Argilla dataset of the suite review; its answers are the store's ``annotation`` events of that dataset."""


def case_review_state(events: pd.DataFrame, case_ids: Iterable[str], *, min_answers: int = 2) -> pd.DataFrame:
    """Per case: answers, yes / no / unsure counts, corrected labels given, and ``state``:
    ``kept`` (at least ``min_answers`` answers and no ``no``), ``disputed`` (a ``no``) or ``pending``.

    ``events`` are the store's (:meth:`curation.store.Store.events`): the ``annotation`` events of the
    ``suite-review`` dataset, question ``verdict`` (``"yes"`` / ``"no"`` / ``"unsure"``, JSON) and the
    optional ``labels`` (the labels the annotator says the text carries). Each annotator's latest answer
    to a question counts."""
    ids = list(case_ids)
    cols = ["case_id", "answers", *REVIEW_ANSWERS, "corrected", "state"]
    ev = events[events["kind"] == "annotation"] if len(events) else events
    if len(ev):
        ds = [json.loads(d or "{}").get("dataset") for d in ev["detail"]]
        ev = ev[[d == SUITE_REVIEW for d in ds]]
    latest = ev.sort_values("seq").drop_duplicates(["target", "actor", "question"], keep="last") if len(ev) else ev
    by_case = {k: g for k, g in latest.groupby("target")} if len(latest) else {}
    rows = []
    for cid in ids:
        g = by_case.get(cid)
        verdicts = [] if g is None else [json.loads(v) for v in g.loc[g["question"] == "verdict", "value"]]
        corrected = [] if g is None else [json.loads(v) for v in g.loc[g["question"] == "labels", "value"]]
        counts = {a: verdicts.count(a) for a in REVIEW_ANSWERS}
        state = "disputed" if counts["no"] else "kept" if len(verdicts) >= min_answers else "pending"
        rows.append({"case_id": cid, "answers": len(verdicts), **counts, "corrected": corrected, "state": state})
    return pd.DataFrame(rows, columns=cols)
