"""A project directory: configuration, taxonomy, record store and snapshots.

::

    DIR/workbench.yaml   settings (split fractions, dedup, mixing defaults)
    DIR/taxonomy.yaml    the label taxonomy (its content hash is its version)
    DIR/store.sqlite     records, seeds, batches, near-duplicate pairs, append-only events
    DIR/snapshots/ID/    content-addressed snapshots that models are trained from
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import yaml

from ._dedup import duplicate_groups, minhash_signatures, near_duplicate_pairs
from ._errors import ImportValidationError, StoreError, WorkbenchError
from ._importers import OPENAI_LABELS, ReadResult, read_file, records_from_frame, records_from_hf
from ._io import atomic_write_bytes, atomic_write_text
from ._reports import class_distribution, duplicate_conflicts, project_stats
from ._records import (CONTEXTS, ORIGINS, RESERVED_COLUMNS, RawRecord, normalise_text, parse_label_value,
                       stable_record_id, text_hash)
from ._splits import DEFAULT_FRACTIONS, assign_splits, split_report, validate_fractions
from ._store import SEED_KINDS, SEED_STATUSES, Store, canonical_json
from ._taxonomy import Taxonomy, load_taxonomy
from ._views import MixResult, evaluation_view, task_view, training_mix

__all__ = ["Project", "ImportSummary", "DEFAULT_CONFIG", "DEFAULT_LABEL_MAPS"]

DEFAULT_CONFIG: dict[str, Any] = {
    "name": "workbench-project",
    "splits": dict(DEFAULT_FRACTIONS),
    "dedup": {"threshold": 0.8, "num_perm": 64, "shingle": 5},
    "mixing": {"clean_share": 0.80, "clean_share_range": [0.70, 0.85], "head_cap": 0.10, "tail_floor": 500,
               "hard_negative_share": 0.30, "hard_negative_range": [0.20, 0.40]},
    "evaluation": {"clean_share": 0.95, "clean_share_range": [0.90, 0.98]},
    "loss": {"pos_weight_cap": 10.0},
}

# dataset column -> workbench label, for built-in formats whose columns are not label names already
DEFAULT_LABEL_MAPS: dict[str, dict[str, str | None]] = {"openai_moderation": dict(OPENAI_LABELS)}


@dataclass
class ImportSummary:
    """What one import did."""

    import_id: str
    source: str
    n_read: int
    n_inserted: int
    n_already_stored: int
    n_same_in_file: int
    n_exact_duplicates: int
    n_near_duplicate_pairs: int
    n_conflicting_pairs: int
    n_repaired: int
    n_implied: int
    splits: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _deep_merge(base: dict, override: Mapping) -> dict:
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


class Project:
    """A workbench project on disk.

    Parameters
    ----------
    root : path-like
        The project directory (made by :meth:`init`).

    Examples
    --------
    >>> import tempfile
    >>> from curation import Taxonomy
    >>> tax = Taxonomy.from_dict({"labels": [{"name": "hate", "tier": "T2"}, {"name": "offensive"}]})
    >>> p = Project.init(tempfile.mkdtemp() + "/proj", taxonomy=tax)
    >>> s = p.import_frame(pd.DataFrame({"text": ["you are great", "I hate you all"],
    ...                                   "hate": [0, 1]}), source="toy")
    >>> s.n_inserted, bool(p.frame()["offensive"].isna().all())
    (2, True)
    >>> p.close()
    """

    CONFIG = "workbench.yaml"
    TAXONOMY = "taxonomy.yaml"
    STORE = "store.sqlite"

    def __init__(self, root):
        self.root = Path(root)
        self._store: Store | None = None
        self._taxonomy: Taxonomy | None = None
        self._config: dict[str, Any] | None = None

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def init(cls, root, *, taxonomy: Taxonomy | str | os.PathLike, name: str | None = None,
             config: Mapping[str, Any] | None = None) -> "Project":
        """Create a project directory with its config, taxonomy and an empty store."""
        root = Path(root)
        if (root / cls.CONFIG).exists():
            raise StoreError(f"project {root}", expected="a directory without a project", got="an existing project",
                             fix="open it with Project(root) or choose a new directory")
        tax = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
        cfg = _deep_merge(DEFAULT_CONFIG, dict(config or {}))
        cfg["name"] = name or (cfg["name"] if config and "name" in config else root.name)
        validate_fractions(cfg["splits"])
        root.mkdir(parents=True, exist_ok=True)
        tax.save(root / cls.TAXONOMY)
        Store(root / cls.STORE).open().close()
        atomic_write_text(root / cls.CONFIG, yaml.safe_dump(cfg, sort_keys=False))
        return cls(root)

    @property
    def config(self) -> dict[str, Any]:
        if self._config is None:
            path = self.root / self.CONFIG
            if not path.exists():
                raise StoreError(f"project {self.root}", expected=f"a {self.CONFIG} file", got="none",
                                 fix="run `workbench init DIR` first")
            cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            self._config = _deep_merge(DEFAULT_CONFIG, cfg)
            validate_fractions(self._config["splits"])
        return self._config

    @property
    def taxonomy(self) -> Taxonomy:
        if self._taxonomy is None:
            self._taxonomy = load_taxonomy(self.root / self.TAXONOMY)
            clash = set(self._taxonomy.label_names) & RESERVED_COLUMNS
            if clash:
                raise WorkbenchError(f"{self.root / self.TAXONOMY}", expected="label names that are not record fields",
                                     got=str(sorted(clash)), fix="rename those labels")
        return self._taxonomy

    @property
    def store(self) -> Store:
        if self._store is None:
            _ = self.config  # a directory without a project is an error, not a new store
            self._store = Store(self.root / self.STORE).open()
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ importing
    def import_file(self, path, fmt: str, *, source: str | None = None, context: str | None = None,
                    label_map: Mapping[str, str | None] | None = None, text_field: str = "text",
                    id_field: str | None = None, context_field: str | None = None,
                    repair_hierarchy: bool = False, fractions: Mapping[str, float] | None = None,
                    actor: str = "import") -> ImportSummary:
        """Import a file in one of :data:`curation.FORMATS`. All or nothing.

        ``fractions`` overrides the project's split fractions for this import's new records only,
        e.g. ``{"calib": 0.5, "holdout": 0.5}`` for a published evaluation file that must never be
        trained on. Records already stored keep their splits."""
        label_columns = self._generic_label_columns(label_map) if fmt in ("csv", "jsonl") else None
        res = read_file(path, fmt, text_field=text_field, id_field=id_field, context_field=context_field,
                        label_columns=label_columns)
        return self.import_records(res, source=source, context=context, label_map=label_map, path=str(path),
                                   repair_hierarchy=repair_hierarchy, fractions=fractions, actor=actor)

    def import_frame(self, frame: pd.DataFrame, *, source: str, context: str = "GENERAL",
                     label_map: Mapping[str, str | None] | None = None, text_field: str = "text",
                     id_field: str | None = None, context_field: str | None = None,
                     repair_hierarchy: bool = False, actor: str = "import") -> ImportSummary:
        """Import a pandas DataFrame (label columns named like taxonomy labels, or mapped)."""
        res = records_from_frame(frame, text_field=text_field, id_field=id_field, context_field=context_field,
                                 label_columns=self._generic_label_columns(label_map))
        return self.import_records(res, source=source, context=context, label_map=label_map,
                                   repair_hierarchy=repair_hierarchy, actor=actor)

    def import_hf(self, dataset, *, source: str, context: str = "GENERAL",
                  label_map: Mapping[str, str | None] | None = None, text_field: str = "text",
                  id_field: str | None = None, repair_hierarchy: bool = False, actor: str = "import") -> ImportSummary:
        """Import an already loaded Hugging Face ``datasets.Dataset``."""
        res = records_from_hf(dataset, text_field=text_field, id_field=id_field,
                              label_columns=self._generic_label_columns(label_map))
        return self.import_records(res, source=source, context=context, label_map=label_map,
                                   repair_hierarchy=repair_hierarchy, actor=actor)

    def _generic_label_columns(self, label_map: Mapping[str, str | None] | None) -> dict[str, str | None]:
        cols: dict[str, str | None] = {n: n for n in self.taxonomy.label_names}
        cols.update(dict(label_map or {}))
        return cols

    def import_records(self, result: ReadResult, *, source: str | None = None, context: str | None = None,
                       label_map: Mapping[str, str | None] | None = None, path: str | None = None,
                       repair_hierarchy: bool = False, actor: str = "import",
                       new_seeds: Sequence[Mapping[str, Any]] = (), new_batches: Sequence[Mapping[str, Any]] = (),
                       fractions: Mapping[str, float] | None = None) -> ImportSummary:
        """Validate parsed rows against the taxonomy, deduplicate, assign splits and store them.

        Nothing is written unless every row is valid; the error lists every problem with its file,
        line and field.
        """
        tax = self.taxonomy
        if fractions is not None:
            fractions = validate_fractions(fractions, allow_missing=True)
        source = source or result.source
        context = (context or result.context).upper()
        where0 = path or result.format
        problems = list(result.problems)
        if context not in CONTEXTS:
            problems.insert(0, f"{where0}: context {context!r} is not one of {list(CONTEXTS)}; pass --context")
        if not source or any(c in source for c in ":\n\t"):
            problems.insert(0, f"{where0}: source name {source!r} must be non-empty without ':' or tabs; pass --source")
        lmap: dict[str, str | None] = dict(DEFAULT_LABEL_MAPS.get(result.format, {}))
        lmap.update({k: (None if v in (None, "-", "") else v) for k, v in (label_map or {}).items()})
        names = set(tax.label_names)
        for target in {v for v in lmap.values() if v is not None}:
            if target not in names:
                problems.append(f"label map: target {target!r} is not a taxonomy label; expected one of "
                                f"{sorted(names)}")
        known_seeds = self.store.seed_ids() | {sd["id"] for sd in new_seeds}
        known_batches = {**self.store.batches(), **{bt["id"]: bt["seed_id"] for bt in new_batches}}

        rows: list[dict[str, Any]] = []
        first_seen: dict[str, tuple[str, str, str]] = {}  # id -> (where, text_hash, labels)
        same_in_file = 0
        n_repaired = n_implied = 0
        hash_counts: Counter[str] = Counter()
        for rec in result.records:
            row = self._validate(rec, lmap=lmap, names=names, known_seeds=known_seeds,
                                 known_batches=known_batches, problems=problems,
                                 source=source, context=context, repair=repair_hierarchy)
            if row is None:
                continue
            n_repaired += row.pop("_repaired")
            n_implied += row.pop("_implied")
            if rec.source_id in (None, ""):
                hash_counts[row["text_hash"]] += 1
                k = hash_counts[row["text_hash"]]
                if k > 1:  # the k-th identical text of a source without ids gets a stable suffix
                    row["id"] = f"{row['id']}~{k}"
            prev = first_seen.get(row["id"])
            if prev is not None:
                if prev[1] == row["text_hash"] and prev[2] == row["labels"]:
                    same_in_file += 1
                    continue
                problems.append(f"{rec.where}: duplicate id {row['id']!r} with different text or labels "
                                f"(first at {prev[0]}); ids must be unique per source")
                continue
            first_seen[row["id"]] = (rec.where, row["text_hash"], row["labels"])
            rows.append(row)

        stored = self.store.existing([r["id"] for r in rows])
        new_rows = []
        already = 0
        for r in rows:
            s = stored.get(r["id"])
            if s is None:
                new_rows.append(r)
            elif s == (r["text_hash"], r["labels"]):
                already += 1
            else:
                problems.append(f"{first_seen[r['id']][0]}: id {r['id']!r} is already stored with different text "
                                f"or labels; change labels through annotation, or import under another --source")
        if problems:
            raise ImportValidationError(f"import of {where0} into {self.root}: nothing was written",
                                        problems=problems, fix=None)

        import_id = "imp-" + hashlib.sha256(
            canonical_json([source, where0, [r["id"] for r in new_rows], _now_iso()]).encode()).hexdigest()[:12]
        pairs_out, n_exact, n_conflict = self._dedup_and_split(new_rows, fractions=fractions)
        for r in new_rows:
            r["import_id"] = import_id
        if new_rows or new_seeds or new_batches:
            self.store.insert_import(seeds=new_seeds, batches=new_batches,
                import_row={"id": import_id, "source": source, "format": result.format, "path": path,
                            "params": {"context": context, "label_map": lmap, "repair_hierarchy": repair_hierarchy,
                                       "fractions": fractions}},
                records=new_rows, near_dups=pairs_out, actor=actor)
        return ImportSummary(import_id=import_id if (new_rows or new_seeds or new_batches) else "", source=source, n_read=len(result.records),
                             n_inserted=len(new_rows), n_already_stored=already, n_same_in_file=same_in_file,
                             n_exact_duplicates=n_exact, n_near_duplicate_pairs=len(pairs_out),
                             n_conflicting_pairs=n_conflict, n_repaired=n_repaired, n_implied=n_implied,
                             splits=dict(Counter(r["split"] for r in new_rows)))

    def _validate(self, rec: RawRecord, *, lmap, names, known_seeds, known_batches, problems, source, context, repair
                  ) -> dict[str, Any] | None:
        tax = self.taxonomy
        ok = True
        text = rec.text
        if not isinstance(text, str):
            problems.append(f"{rec.where} field 'text': expected a string, got {type(text).__name__}")
            return None
        if not text.strip():
            problems.append(f"{rec.where} field 'text': empty text; drop the row or fill it in")
            return None
        if "\x00" in text:
            problems.append(f"{rec.where} field 'text': contains a NUL character; clean the text")
            return None
        labels: dict[str, int] = {}
        for col, raw in rec.labels.items():
            target = lmap.get(col, col)
            if target is None:
                continue
            if target not in names:
                problems.append(f"{rec.where} field {col!r}: unknown label {target!r}; expected one of "
                                f"{sorted(names)}; add it to the taxonomy, map it (--map {col}=LABEL) "
                                f"or drop it (--map {col}=-)")
                ok = False
                continue
            try:
                v = parse_label_value(raw)
            except ValueError:
                problems.append(f"{rec.where} field {col!r}: value {raw!r} not in {{0, 1, unknown}}; "
                                f"use 1, 0 or leave it empty for unknown")
                ok = False
                continue
            if v is not None:
                if target in labels and labels[target] != v:
                    problems.append(f"{rec.where} field {col!r}: label {target!r} given twice with different values")
                    ok = False
                labels[target] = v
        ctx = (rec.context or context).upper()
        if ctx not in CONTEXTS:
            problems.append(f"{rec.where} field 'context': {rec.context!r} is not one of {list(CONTEXTS)}")
            ok = False
        if rec.origin not in ORIGINS:
            problems.append(f"{rec.where} field 'origin': {rec.origin!r} is not one of {list(ORIGINS)}")
            ok = False
        seed_id = rec.seed_id
        if rec.batch_id is not None:
            bseed = known_batches.get(rec.batch_id)
            if bseed is None:
                problems.append(f"{rec.where} field 'batch_id': unknown batch {rec.batch_id!r}; add the batch first")
                ok = False
            elif seed_id is not None and seed_id != bseed:
                problems.append(f"{rec.where} field 'seed_id': {seed_id!r} but batch {rec.batch_id!r} belongs to "
                                f"seed {bseed!r}")
                ok = False
            else:
                seed_id = bseed
        if seed_id is not None and seed_id not in known_seeds:
            problems.append(f"{rec.where} field 'seed_id': unknown seed {seed_id!r}; add the seed first")
            ok = False
        if not ok:
            return None
        prov = {k: "gold" for k in labels}
        repaired = implied = 0
        for lab in tax.labels:  # hierarchy: a secondary label needs its primary
            if lab.parent is None or labels.get(lab.name) != 1:
                continue
            chain = []
            p = lab.parent
            while p is not None:
                chain.append(p)
                p = tax[p].parent
            for parent in chain:
                if labels.get(parent) == 1:
                    continue
                if repair:
                    labels[parent] = 1
                    prov[parent] = "repair"
                    repaired += 1
                else:
                    problems.append(f"{rec.where}: secondary label {lab.name!r} is set without its primary "
                                    f"{parent!r} (which is {labels.get(parent, 'unknown')}); fix the data or import "
                                    f"with --repair-hierarchy to set the primary")
                    return None
        for lab in tax.labels:  # a known-negative primary implies its secondaries are negative
            if lab.parent is not None and lab.name not in labels:
                p = lab.parent
                while p is not None and labels.get(p) != 0:
                    p = tax[p].parent
                if p is not None:
                    labels[lab.name] = 0
                    prov[lab.name] = "implied"
                    implied += 1
        norm = normalise_text(text)
        th = text_hash(text)
        return {
            "id": stable_record_id(source, rec.source_id, text), "text": text, "text_hash": th,
            "norm_hash": text_hash(norm)[:16], "_norm": norm, "context": ctx, "source": source,
            "origin": rec.origin, "seed_id": seed_id, "batch_id": rec.batch_id,
            "labels": canonical_json(labels), "label_provenance": canonical_json(prov),
            "meta": canonical_json({k: v for k, v in rec.meta.items()}), "status": "active",
            "_repaired": repaired, "_implied": implied,
        }

    def _dedup_and_split(self, new_rows: list[dict[str, Any]], *, fractions: Mapping[str, float] | None = None
                         ) -> tuple[list[tuple[str, str, float]], int, int]:
        """Fill in dup_of, near_dup_group, signature and split of new rows (in place).

        Returns the near-duplicate pairs to store, the number of exact duplicates and the number
        of duplicate pairs whose known labels conflict."""
        if not new_rows:
            return [], 0, 0
        cfg = self.config["dedup"]
        old_ids, old_norm, old_split, old_group, old_sig = self.store.dedup_index()
        n_old, n_new = len(old_ids), len(new_rows)
        new_sig = minhash_signatures([r["_norm"] for r in new_rows], num_perm=int(cfg["num_perm"]),
                                     k=int(cfg["shingle"]))
        if n_old and old_sig.shape[1] != new_sig.shape[1]:
            raise StoreError("dedup settings", expected=f"num_perm {old_sig.shape[1]} as used by the stored records",
                             got=str(new_sig.shape[1]), fix="restore dedup.num_perm in workbench.yaml")
        sigs = np.vstack([old_sig, new_sig]) if n_old else new_sig
        ids = old_ids + [r["id"] for r in new_rows]
        norm = old_norm + [r["norm_hash"] for r in new_rows]
        pairs = near_duplicate_pairs(sigs, query_from=n_old, threshold=float(cfg["threshold"]))
        # exact duplicates (same normalised text) are linked even if LSH missed them
        first_by_norm: dict[str, int] = {}
        for i, h in enumerate(norm):
            first_by_norm.setdefault(h, i)
        n_exact = 0
        pair_set = {(a, b) for a, b, _ in pairs}
        for i in range(n_old, n_old + n_new):
            j = first_by_norm[norm[i]]
            r = new_rows[i - n_old]
            r["dup_of"] = ids[j] if j != i else None
            if j != i:
                n_exact += 1
                if (j, i) not in pair_set:
                    pairs.append((j, i, 1.0))
                    pair_set.add((j, i))
        # stored groups stay linked: chain old members of the same group
        edges = [(a, b) for a, b, _ in pairs]
        last_of_group: dict[str, int] = {}
        for i, g in enumerate(old_group):
            if g in last_of_group:
                edges.append((last_of_group[g], i))
            last_of_group[g] = i
        comp = duplicate_groups(n_old + n_new, edges)
        touched = {int(comp[i]) for i in range(n_old, n_old + n_new)}
        rows_idx = [i for i in range(n_old) if int(comp[i]) in touched] + list(range(n_old, n_old + n_new))
        group_key: dict[int, str] = {}
        for i in rows_idx:  # old rows come first, so a stored group keeps its key
            c = int(comp[i])
            if c not in group_key:
                group_key[c] = old_group[i] if i < n_old else ids[i]
        tax = self.taxonomy
        lab_mat = np.full((len(rows_idx), len(tax)), np.nan)
        label_index = {n: k for k, n in enumerate(tax.label_names)}
        n_old_sel = sum(1 for i in rows_idx if i < n_old)
        for k, i in enumerate(rows_idx[n_old_sel:], start=n_old_sel):
            for lab, v in json.loads(new_rows[i - n_old]["labels"]).items():
                lab_mat[k, label_index[lab]] = v
        fixed = [old_split[i] if i < n_old else None for i in rows_idx]
        cats = sorted({(r["source"], r["context"]) for r in new_rows})
        strata = None
        if len(cats) > 1:
            cat_index = {c: k for k, c in enumerate(cats)}
            strata = np.zeros((len(rows_idx), len(cats)), dtype=bool)
            for k, i in enumerate(rows_idx[n_old_sel:], start=n_old_sel):
                r = new_rows[i - n_old]
                strata[k, cat_index[(r["source"], r["context"])]] = True
        splits = assign_splits(lab_mat, ids=[ids[i] for i in rows_idx], groups=comp[rows_idx], fixed=fixed,
                               strata=strata, fractions=fractions or self.config["splits"])
        for k, i in enumerate(rows_idx[n_old_sel:], start=n_old_sel):
            r = new_rows[i - n_old]
            r["split"] = splits[k]
            r["near_dup_group"] = group_key[int(comp[i])]
            r["signature"] = new_sig[i - n_old].tobytes()
            r.pop("_norm", None)
        # conflicts among new pairs (both labels known and different)
        labels_of: dict[int, dict[str, int]] = {}

        def _labels(i: int) -> dict[str, int]:
            if i not in labels_of:
                labels_of[i] = (json.loads(new_rows[i - n_old]["labels"]) if i >= n_old else {})
            return labels_of[i]

        old_needed = sorted({a for a, b, _ in pairs if a < n_old})
        if old_needed:
            old_labels = self.store.existing([ids[a] for a in old_needed])
            for a in old_needed:
                labels_of[a] = json.loads(old_labels[ids[a]][1])
        n_conflict = 0
        for a, b, _ in pairs:
            la, lb = _labels(a), _labels(b)
            if any(la[k] != lb[k] for k in la.keys() & lb.keys()):
                n_conflict += 1
        return [(ids[a], ids[b], float(s)) for a, b, s in pairs], n_exact, n_conflict

    # ------------------------------------------------------------------ seeds and batches
    def import_seeds(self, path, *, source: str = "seeds", actor: str = "import") -> ImportSummary:
        """Import a seeds YAML file (seeds, their batches and the batches' records) in one transaction.

        Layout::

            seeds:
              - id: seed-1
                kind: positive | hard_negative
                target_labels: [scam]
                status: proposed | approved | rejected
                text: "..."
                overlap: {spam: 0.6}          # optional: expected co-label rates
                batches:
                  - id: batch-1
                    provider: handwritten      # or the generator's name
                    params: {}                 # optional
                    records:
                      - {text: "...", labels: {scam: 1, spam: 0}, context: MESSAGE}

        Seeds and batches already stored with the same id are kept as they are (re-importing a file
        is a no-op); records are validated like any import.
        """
        path = Path(path)
        problems: list[str] = []
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            raise ImportValidationError(f"seed file {path}", expected="a readable UTF-8 YAML file",
                                        got=str(e).splitlines()[0]) from e
        if not isinstance(data, Mapping) or not isinstance(data.get("seeds"), list):
            raise ImportValidationError(f"seed file {path}", expected="a mapping with a 'seeds' list",
                                        got=type(data).__name__, fix="see data/demo/seeds.yaml")
        stored_seeds, stored_batches = self.store.seed_ids(), self.store.batches()
        new_seeds: list[dict[str, Any]] = []
        new_batches: list[dict[str, Any]] = []
        records: list[RawRecord] = []
        seen: set[str] = set()
        for i, sd in enumerate(data["seeds"]):
            where = f"{path} seeds[{i}]"
            if not isinstance(sd, Mapping) or not isinstance(sd.get("id"), str) or not sd.get("id"):
                problems.append(f"{where}: expected a mapping with a string 'id'")
                continue
            sid = sd["id"]
            if sid in seen:
                problems.append(f"{where}: seed id {sid!r} appears twice in the file")
                continue
            seen.add(sid)
            targets = sd.get("target_labels") or []
            bad = [t for t in targets if t not in self.taxonomy]
            if bad or not targets:
                problems.append(f"{where} field 'target_labels': expected taxonomy labels, got {targets!r}")
            if sd.get("kind", "positive") not in SEED_KINDS:
                problems.append(f"{where} field 'kind': expected one of {list(SEED_KINDS)}, got {sd.get('kind')!r}")
            if sd.get("status", "proposed") not in SEED_STATUSES:
                problems.append(f"{where} field 'status': expected one of {list(SEED_STATUSES)}, got {sd.get('status')!r}")
            if not isinstance(sd.get("text"), str) or not sd["text"].strip():
                problems.append(f"{where} field 'text': expected the seed's text, got {sd.get('text')!r}")
            if sid not in stored_seeds:
                new_seeds.append({"id": sid, "text": sd.get("text"), "target_labels": targets,
                                  "kind": sd.get("kind", "positive"), "overlap": sd.get("overlap"),
                                  "status": sd.get("status", "proposed"), "notes": sd.get("notes")})
            for j, bt in enumerate(sd.get("batches") or []):
                bwhere = f"{where}.batches[{j}]"
                if not isinstance(bt, Mapping) or not isinstance(bt.get("id"), str):
                    problems.append(f"{bwhere}: expected a mapping with a string 'id'")
                    continue
                bid = bt["id"]
                if bid in stored_batches and stored_batches[bid] != sid:
                    problems.append(f"{bwhere}: batch {bid!r} is stored under seed {stored_batches[bid]!r}")
                    continue
                if bid not in stored_batches:
                    new_batches.append({"id": bid, "seed_id": sid, "provider": str(bt.get("provider", "unknown")),
                                        "params": bt.get("params") or {}})
                for k, rec in enumerate(bt.get("records") or []):
                    rwhere = f"{bwhere}.records[{k}]"
                    if not isinstance(rec, Mapping):
                        problems.append(f"{rwhere}: expected a mapping with 'text' and 'labels'")
                        continue
                    labels = rec.get("labels") or {}
                    if not isinstance(labels, Mapping):
                        problems.append(f"{rwhere} field 'labels': expected a mapping label -> 1/0/null")
                        continue
                    records.append(RawRecord(where=rwhere, text=rec.get("text"), labels=dict(labels),
                                             context=rec.get("context"), origin=rec.get("origin", "generated"),
                                             seed_id=sid, batch_id=bid))
        res = ReadResult(records, problems, source=source, context="GENERAL", format="seeds")
        return self.import_records(res, source=source, path=str(path), actor=actor, new_seeds=new_seeds,
                                   new_batches=new_batches)

    def add_seed(self, seed_id: str, *, text: str, target_labels: Sequence[str], kind: str = "positive",
                 overlap: Mapping[str, float] | None = None, status: str = "proposed", actor: str = "user") -> None:
        unknown = [t for t in target_labels if t not in self.taxonomy]
        if unknown:
            raise StoreError(f"seed {seed_id!r}: target labels", expected=f"taxonomy labels {list(self.taxonomy.label_names)}",
                             got=str(unknown), fix="add the labels to the taxonomy or fix their names")
        self.store.add_seed(seed_id, text=text, target_labels=target_labels, kind=kind, overlap=overlap,
                            status=status, actor=actor)

    def add_batch(self, batch_id: str, *, seed_id: str, provider: str, params: Mapping[str, Any] | None = None,
                  actor: str = "user") -> None:
        self.store.add_batch(batch_id, seed_id=seed_id, provider=provider, params=params, actor=actor)

    def quarantine_seed(self, seed_id: str, *, reason: str, actor: str = "user") -> int:
        """Remove every record of the seed's batches from all training views (reversible)."""
        return self.store.quarantine_seed(seed_id, reason=reason, actor=actor)

    def unquarantine_seed(self, seed_id: str, *, actor: str = "user", reason: str | None = None) -> int:
        return self.store.unquarantine_seed(seed_id, actor=actor, reason=reason)

    # ------------------------------------------------------------------ reading
    def frame(self, *, active_only: bool = False) -> pd.DataFrame:
        """Every record with one column per taxonomy label (1.0 / 0.0 / NaN = unknown)."""
        return self.store.frame(self.taxonomy.label_names, active_only=active_only)

    def stats(self) -> dict[str, Any]:
        """Counts, label stats (with unknown rates), per-split rates, duplicates and seeds."""
        return project_stats(self.frame(), self.taxonomy, pairs=self.store.near_dup_pairs(),
                             seeds=self.store.seeds(), snapshot_id=self.snapshot_id())

    def duplicate_conflicts(self) -> pd.DataFrame:
        """Duplicate pairs (exact or near) whose known labels disagree: review them."""
        return duplicate_conflicts(self.frame(), self.store.near_dup_pairs(), self.taxonomy.label_names)

    def class_distribution(self, *, split: str | None = "train") -> pd.DataFrame:
        return class_distribution(self.frame(active_only=True), self.taxonomy, split=split,
                                  pos_weight_cap=float(self.config["loss"]["pos_weight_cap"]))

    def task_view(self, group: str | None = None) -> pd.DataFrame:
        return task_view(self.frame(active_only=True), self.taxonomy, group)

    def training_mix(self, group: str | None = None, **overrides) -> MixResult:
        """The training mix of a label group with the project's mixing settings (overridable)."""
        view = self.task_view(group)
        labels = [c for c in self.taxonomy.label_names if c in view.columns]
        settings = {**self.config["mixing"], **overrides}
        floors = {lab: self.taxonomy[lab].min_positives for lab in labels}
        floors.update(settings.pop("floors", None) or {})
        return training_mix(view, labels, floors=floors, **settings)

    def evaluation_view(self, group: str | None = None, **overrides) -> MixResult:
        view = self.task_view(group)
        labels = [c for c in self.taxonomy.label_names if c in view.columns]
        return evaluation_view(view, labels, **{**self.config["evaluation"], **overrides})

    def snapshot_id(self) -> str:
        return self.store.snapshot_id(self.taxonomy.content_hash)

    def split_report(self) -> dict[str, pd.DataFrame]:
        return split_report(self.frame(active_only=True), self.taxonomy.label_names)

    def snapshot(self) -> dict[str, Any]:
        """Write (or reuse) ``snapshots/ID/`` with the active records and a manifest; return the manifest."""
        sid = self.snapshot_id()
        folder = self.root / "snapshots" / sid
        manifest_path = folder / "manifest.json"
        if manifest_path.exists():
            return json.loads(manifest_path.read_text())
        frame = self.frame(active_only=True)
        folder.mkdir(parents=True, exist_ok=True)
        table = _export_frame(frame, self.taxonomy.label_names)
        buf = _parquet_bytes(table)
        atomic_write_bytes(folder / "records.parquet", buf)
        manifest = {
            "snapshot_id": sid, "created_at": _now_iso(), "taxonomy_hash": self.taxonomy.content_hash,
            "labels": list(self.taxonomy.label_names), "n_records": int(len(frame)),
            "splits": {k: int(v) for k, v in frame["split"].value_counts().items()},
            "excluded_seeds": self.store.quarantined_seeds(),
            "records_sha256": hashlib.sha256(buf).hexdigest(),
        }
        self.taxonomy.save(folder / "taxonomy.yaml")
        atomic_write_text(manifest_path, json.dumps(manifest, indent=2))  # written last: marks it complete
        return manifest

    def export(self, out, *, fmt: str = "jsonl", active_only: bool = False) -> Path:
        """Export records (full truth: unknown labels stay null) as JSONL or Parquet, atomically."""
        out = Path(out)
        frame = self.frame(active_only=active_only)
        table = _export_frame(frame, self.taxonomy.label_names)
        if fmt == "parquet":
            atomic_write_bytes(out, _parquet_bytes(table))
        elif fmt == "jsonl":
            lines = []
            for rec in table.to_dict(orient="records"):
                rec["labels"] = {k: (None if pd.isna(rec[k]) else int(rec[k])) for k in self.taxonomy.label_names}
                for k in self.taxonomy.label_names:
                    rec.pop(k)
                lines.append(json.dumps(rec, ensure_ascii=False, default=str))
            atomic_write_text(out, "\n".join(lines) + ("\n" if lines else ""))
        else:
            raise WorkbenchError("export format", expected="jsonl or parquet", got=repr(fmt))
        return out


def _now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def _export_frame(frame: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    out = frame.copy()
    for k in labels:
        out[k] = out[k].astype("Int8")
    out["label_provenance"] = [json.dumps(x, sort_keys=True) for x in out["label_provenance"]]
    out["meta"] = [json.dumps(x, sort_keys=True, ensure_ascii=False) for x in out["meta"]]
    return out


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    import io

    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()
