"""Ingest: validated rows into the store, with dedup and split assignment, in one transaction.

An import is checked in full first (rows, label map, seeds and batches of a seeds file, ids already
stored); only then are exact and near duplicates linked (MinHash + LSH against the stored
signatures), splits assigned to the new records (duplicate groups stay in one split, stored records
never move) and everything written by :meth:`Store.insert_import` in a single transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Sequence, TypedDict

import numpy as np

from foundation import canonical_json, utc_now

from .._errors import ImportValidationError, StoreError
from .._records import (
    CONTEXTS,
    EVALUATION_SPLITS,
    SYNTHETIC_ORIGINS,
    ReadResult,
    normalise_text,
    text_hash,
)
from .._seeds import seed_version_id, validate_seed
from .._splits import assign_splits, validate_fractions
from .._taxonomy import Taxonomy
from ..store._store import Store
from ._dedup import duplicate_groups, minhash_signatures, near_duplicate_pairs
from ._importers import FORMATS
from ._validate import DEFAULT_MAX_TEXT_CHARS, short_enough, unknown_label_columns, validate_record

__all__ = ["ImportOptions", "ImportSummary", "ingest", "dedup_and_split", "duplicate_mask"]


class ImportOptions(TypedDict, total=False):
    """How an import stores its rows; every ``Project.import_*`` method takes them as keywords.

    ``context``: the context of rows that name none; ``label_map``: dataset column -> taxonomy label
    (``None`` drops the column); ``repair_hierarchy``: set a secondary label's primary where the row has
    the secondary but not the primary; ``fractions``: split fractions for this import's new records only
    (e.g. ``{"calib": 0.5, "holdout": 0.5}`` for a published evaluation file; stored records keep their
    splits); ``actor``: who imports (the event log); ``progress``: called with each stage as it starts."""

    context: str | None
    label_map: Mapping[str, str | None] | None
    repair_hierarchy: bool
    fractions: Mapping[str, float] | None
    actor: str
    progress: Callable[[str], None] | None


# dataset column -> workbench label, for built-in formats whose columns are not label names already


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
    n_quarantined_evaluation_twins: int = 0  # generated near-duplicates of calib/holdout records

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PLAN_FIELDS = ("target_labels", "kind", "overlap", "batch_size", "context")


def _plan(sd: Mapping[str, Any]) -> dict[str, Any]:
    """A seed's generation plan, normalised for comparison."""
    return {
        "target_labels": list(sd.get("target_labels") or []),
        "kind": sd.get("kind") or "positive",
        "overlap": {str(k): float(v) for k, v in dict(sd.get("overlap") or {}).items()},
        "batch_size": sd.get("batch_size"),
        "context": (str(sd["context"]).upper() if sd.get("context") else None),
    }


def _new_seeds_and_batches(
    store: Store, result: ReadResult, labels: set[str], problems: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The seed versions and batches of ``result`` that are not stored yet, and the plan changes.

    Every seed is validated. A seed whose text equals its latest stored version is that version
    (re-importing a file is a no-op); a changed text is a new version (``ID@vN``) and the file's new
    batches go under it, while batches already stored stay where they are. The same text with another
    generation plan (overlap rates, batch size, target labels, kind, context) is a new *plan* of that
    version: returned as ``{"id", "old", "new"}`` and written over the stored plan, with an event.
    """
    versions = store.seed_versions()
    plans = store.seed_plans()
    stored_batches = store.batches()
    new_seeds, new_batches, replans, current = [], [], [], {}
    for sd in result.seeds:
        problems.extend(validate_seed(sd, labels=labels, where=sd.get("_where")))
        base = sd["id"]
        latest = versions.get(base, [])[-1:]  # (id, version, text) of the newest stored version
        if latest and latest[0][2] == sd.get("text"):
            current[base] = latest[0][0]
            old, new = _plan(plans.get(latest[0][0], {})), _plan(sd)
            if old != new:
                replans.append({"id": latest[0][0], "old": old, "new": new})
            continue
        version = latest[0][1] + 1 if latest else 1
        current[base] = seed_version_id(base, version)
        new_seeds.append(
            {
                **{k: v for k, v in sd.items() if not k.startswith("_")},
                "id": current[base],
                "base_id": base,
                "version": version,
            }
        )
    for bt in result.batches:
        stored_seed = stored_batches.get(bt["id"])
        if stored_seed is None:
            new_batches.append(
                {
                    **{k: v for k, v in bt.items() if not k.startswith("_")},
                    "seed_id": current.get(bt["seed_id"], bt["seed_id"]),
                }
            )
        elif versions and stored_seed not in {v[0] for v in versions.get(bt["seed_id"], [])}:
            problems.append(f"{bt.get('_where', 'batch')}: batch {bt['id']!r} is stored under seed {stored_seed!r}")
    return new_seeds, new_batches, replans


def ingest(
    store: Store,
    taxonomy: Taxonomy,
    settings: Any,
    result: ReadResult,
    *,
    root,
    source: str | None = None,
    context: str | None = None,
    label_map: Mapping[str, str | None] | None = None,
    path: str | None = None,
    repair_hierarchy: bool = False,
    actor: str = "import",
    fractions: Mapping[str, float] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportSummary:
    """Validate parsed rows (and the seeds and batches of a seeds file) against the taxonomy and the
    store, deduplicate, assign splits and store them in one transaction (``settings``: the project's
    :class:`curation.ProjectSettings`).

    Nothing is written unless every row is valid; the error lists every problem with its file,
    line and field. The whole import, its reads of the store included, holds the project's write lock.
    ``progress`` is called with each stage as it starts ("checking 200,000 rows", ...).
    """
    stage = progress or (lambda _: None)
    if fractions is not None:
        fractions = validate_fractions(fractions, allow_missing=True)
    # one writer at a time: the checks against the store and the write see the same store
    with store.write_lock("import"):
        source = source or result.source
        context = (context or result.context).upper()
        where0 = path or result.format
        problems = list(result.problems)
        lmap = _check_source_context_and_map(result, source, context, label_map, taxonomy, where0, problems)
        problems.extend(unknown_label_columns(result, taxonomy.label_names))
        # 1. seeds and batches of a seeds file, then every row against the taxonomy and them
        stage(f"checking {len(result.records):,} rows")
        new_seeds, new_batches, replans = _new_seeds_and_batches(store, result, set(taxonomy.label_names), problems)
        checked = _checked_rows(
            store,
            taxonomy,
            result,
            new_seeds,
            new_batches,
            lmap=lmap,
            source=source,
            context=context,
            repair=repair_hierarchy,
            problems=problems,
            max_chars=int(settings.max_text_chars or DEFAULT_MAX_TEXT_CHARS),
        )
        # 2. against the store: new, already stored, or a clash
        new_rows, already = _new_rows(store, checked, problems)
        if problems:
            raise ImportValidationError(
                f"import of {where0} into {root}: nothing was written", problems=problems, fix=None
            )
        # 3. deduplicate, split and store in one transaction
        stage(f"duplicates and splits of {len(new_rows):,} new records")
        digest = canonical_json([source, where0, [r["id"] for r in new_rows], utc_now()])
        import_id = "imp-" + hashlib.sha256(digest.encode()).hexdigest()[:12]
        pairs_out, n_exact, n_conflict, n_twins = dedup_and_split(
            store, taxonomy, settings, new_rows, fractions=fractions
        )
        for r in new_rows:
            r["import_id"] = import_id
        writes = bool(new_rows or new_seeds or new_batches or replans)
        if writes:
            stage(f"writing {len(new_rows):,} records in one transaction")
            params = {
                "context": context,
                "label_map": lmap,
                "repair_hierarchy": repair_hierarchy,
                "fractions": fractions,
            }
            store.insert_import(
                seeds=new_seeds,
                batches=new_batches,
                seed_plans=replans,
                import_row={"id": import_id, "source": source, "format": result.format, "path": path, "params": params},
                records=new_rows,
                near_dups=pairs_out,
                actor=actor,
            )
        return ImportSummary(
            import_id=import_id if writes else "",
            source=source,
            n_read=len(result.records),
            n_inserted=len(new_rows),
            n_already_stored=already,
            n_same_in_file=checked.same_in_file,
            n_exact_duplicates=n_exact,
            n_near_duplicate_pairs=len(pairs_out),
            n_conflicting_pairs=n_conflict,
            n_repaired=checked.repaired,
            n_implied=checked.implied,
            splits=dict(Counter(r["split"] for r in new_rows)),
            n_quarantined_evaluation_twins=n_twins,
        )


def _check_source_context_and_map(
    result: ReadResult, source, context: str, label_map, taxonomy: Taxonomy, where0: str, problems: list[str]
) -> dict[str, str | None]:
    """The import's source name and context checked; the label map (the format's, then the user's, ``-`` or
    empty dropping a column) with every target a taxonomy label."""
    if context not in CONTEXTS:
        problems.insert(0, f"{where0}: context {context!r} is not one of {list(CONTEXTS)}; pass --context")
    if not source or any(c in source for c in ":\n\t"):
        problems.insert(0, f"{where0}: source name {source!r} must be non-empty without ':' or tabs; pass --source")
    lmap: dict[str, str | None] = dict(FORMATS[result.format].label_map if result.format in FORMATS else {})
    lmap.update({k: (None if v in (None, "-", "") else v) for k, v in (label_map or {}).items()})
    names = set(taxonomy.label_names)
    for target in {v for v in lmap.values() if v is not None}:
        if target not in names:
            problems.append(f"label map: target {target!r} is not a taxonomy label; expected one of {sorted(names)}")
    return lmap


@dataclass
class _CheckedRows:
    rows: list[dict[str, Any]]
    first_seen: dict[str, tuple[str, str, str]]  # id -> (where, text_hash, labels)
    same_in_file: int = 0
    repaired: int = 0
    implied: int = 0


def _checked_rows(
    store: Store,
    taxonomy: Taxonomy,
    result: ReadResult,
    new_seeds,
    new_batches,
    *,
    lmap,
    source: str,
    context: str,
    repair: bool,
    problems: list[str],
    max_chars: int = DEFAULT_MAX_TEXT_CHARS,
) -> _CheckedRows:
    """Every parsed row validated (:func:`validate_record`), with stable ids for repeated texts of a source
    without ids; a row repeated in the file is counted once, an id reused for another text is a problem, and
    so is a text longer than ``max_chars`` (``max_text_chars`` of workbench.yaml)."""
    known_seeds = store.seed_ids() | {sd["id"] for sd in new_seeds}
    known_batches = {**store.batches(), **{bt["id"]: bt["seed_id"] for bt in new_batches}}
    out = _CheckedRows([], {})
    names = set(taxonomy.label_names)
    hash_counts: Counter[str] = Counter()
    for rec in short_enough(result.records, max_chars, problems):
        row = validate_record(
            rec,
            taxonomy=taxonomy,
            lmap=lmap,
            names=names,
            known_seeds=known_seeds,
            known_batches=known_batches,
            problems=problems,
            source=source,
            context=context,
            repair=repair,
        )
        if row is None:
            continue
        out.repaired += row.pop("_repaired")
        out.implied += row.pop("_implied")
        if rec.source_id in (None, ""):
            hash_counts[row["text_hash"]] += 1
            k = hash_counts[row["text_hash"]]
            if k > 1:  # the k-th identical text of a source without ids gets a stable suffix
                row["id"] = f"{row['id']}~{k}"
        prev = out.first_seen.get(row["id"])
        if prev is not None:
            if prev[1] == row["text_hash"] and prev[2] == row["labels"]:
                out.same_in_file += 1
            else:
                problems.append(
                    f"{rec.where}: duplicate id {row['id']!r} with different text or labels "
                    f"(first at {prev[0]}); ids must be unique per source"
                )
            continue
        out.first_seen[row["id"]] = (rec.where, row["text_hash"], row["labels"])
        out.rows.append(row)
    return out


def _new_rows(store: Store, checked: _CheckedRows, problems: list[str]) -> tuple[list[dict[str, Any]], int]:
    """The rows not stored yet, and how many are stored already as they are; an id stored with another text
    or other labels is a problem (labels change through annotation, not re-import)."""
    stored = store.existing([r["id"] for r in checked.rows])
    new_rows, already = [], 0
    for r in checked.rows:
        s = stored.get(r["id"])
        if s is None:
            new_rows.append(r)
        elif s == (r["text_hash"], r["labels"]):
            already += 1
        else:
            problems.append(
                f"{checked.first_seen[r['id']][0]}: id {r['id']!r} is already stored with different text "
                f"or labels; change labels through annotation, or import under another --source"
            )
    return new_rows, already


def _near_pairs(old_sig: np.ndarray, norms: Sequence[str], cfg: Any) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    """MinHash signatures of new normalised texts and their near-duplicate pairs among themselves and
    with the stored signatures (row indices: stored rows first, then the new ones); ``cfg``: the ``dedup``
    settings."""
    new_sig = minhash_signatures(list(norms), num_perm=int(cfg.num_perm), k=int(cfg.shingle))
    n_old = len(old_sig)
    if n_old and old_sig.shape[1] != new_sig.shape[1]:
        raise StoreError(
            "dedup settings",
            expected=f"num_perm {old_sig.shape[1]} as used by the stored records",
            got=str(new_sig.shape[1]),
            fix="restore dedup.num_perm in workbench.yaml",
        )
    sigs = np.vstack([old_sig, new_sig]) if n_old else new_sig
    return new_sig, near_duplicate_pairs(sigs, query_from=n_old, threshold=float(cfg.threshold))


def dedup_and_split(
    store: Store,
    taxonomy: Taxonomy,
    settings: Any,
    new_rows: list[dict[str, Any]],
    *,
    fractions: Mapping[str, float] | None = None,
) -> tuple[list[tuple[str, str, float]], int, int]:
    """Fill in dup_of, near_dup_group, signature and split of new rows (in place).

    Returns the near-duplicate pairs to store, the number of exact duplicates, the number of duplicate
    pairs whose known labels conflict and the number of generated records quarantined as twins of a
    calib or holdout record."""
    if not new_rows:
        return [], 0, 0, 0
    old_ids, old_norm, old_split, old_group, old_sig = store.dedup_index()
    n_old, n_new = len(old_ids), len(new_rows)
    new_sig, pairs = _near_pairs(old_sig, [r["_norm"] for r in new_rows], settings.dedup)
    ids = old_ids + [r["id"] for r in new_rows]
    n_exact = _link_exact_duplicates(old_norm + [r["norm_hash"] for r in new_rows], ids, new_rows, n_old, pairs)
    comp, rows_idx, group_key = _duplicate_groups(pairs, old_group, ids, n_old, n_new)
    n_old_sel = sum(1 for i in rows_idx if i < n_old)
    synthetic = np.array([i >= n_old and new_rows[i - n_old]["origin"] in SYNTHETIC_ORIGINS for i in rows_idx])
    splits = assign_splits(
        _label_matrix(taxonomy, rows_idx, n_old_sel, new_rows, n_old),
        ids=[ids[i] for i in rows_idx],
        groups=comp[rows_idx],
        fixed=[old_split[i] if i < n_old else None for i in rows_idx],
        strata=_strata(rows_idx, n_old_sel, new_rows, n_old),
        fractions=fractions or settings.splits,
        synthetic=synthetic,
        synthetic_fractions=settings.generation.splits,
    )
    n_twins = _keep_evaluation_twins_out(rows_idx, comp, splits, synthetic, [ids[i] for i in rows_idx], new_rows, n_old)
    for k, i in enumerate(rows_idx[n_old_sel:], start=n_old_sel):
        r = new_rows[i - n_old]
        r["split"] = splits[k]
        r["near_dup_group"] = group_key[int(comp[i])]
        r["signature"] = new_sig[i - n_old].tobytes()
        r.pop("_norm", None)
    n_conflict = _conflicting_pairs(store, pairs, ids, new_rows, n_old)
    return [(ids[a], ids[b], float(s)) for a, b, s in pairs], n_exact, n_conflict, n_twins


def _link_exact_duplicates(norm: list[str], ids: list[str], new_rows, n_old: int, pairs: list) -> int:
    """Exact duplicates (same normalised text) are linked even if LSH missed them: ``dup_of`` of each new row,
    the missing pairs appended to ``pairs``. Returns how many new rows are exact duplicates."""
    first_by_norm: dict[str, int] = {}
    for i, h in enumerate(norm):
        first_by_norm.setdefault(h, i)
    n_exact = 0
    pair_set = {(a, b) for a, b, _ in pairs}
    for i in range(n_old, len(norm)):
        j = first_by_norm[norm[i]]
        new_rows[i - n_old]["dup_of"] = ids[j] if j != i else None
        if j != i:
            n_exact += 1
            if (j, i) not in pair_set:
                pairs.append((j, i, 1.0))
                pair_set.add((j, i))
    return n_exact


def _duplicate_groups(pairs, old_group: list[str], ids: list[str], n_old: int, n_new: int):
    """Connected components of the pairs (stored groups stay linked); the rows to split (stored members of the
    touched groups first, then the new rows) and each component's key (a stored group keeps its key)."""
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
    return comp, rows_idx, group_key


def _label_matrix(taxonomy: Taxonomy, rows_idx, n_old_sel: int, new_rows, n_old: int) -> np.ndarray:
    """Known labels of the rows to split (stored rows keep their split: their labels are not needed)."""
    lab_mat = np.full((len(rows_idx), len(taxonomy)), np.nan)
    label_index = {n: k for k, n in enumerate(taxonomy.label_names)}
    for k, i in enumerate(rows_idx[n_old_sel:], start=n_old_sel):
        for lab, v in json.loads(new_rows[i - n_old]["labels"]).items():
            lab_mat[k, label_index[lab]] = v
    return lab_mat


def _strata(rows_idx, n_old_sel: int, new_rows, n_old: int) -> np.ndarray | None:
    """(source, context) of each new row, when the import has more than one: split within each."""
    cats = sorted({(r["source"], r["context"]) for r in new_rows})
    if len(cats) <= 1:
        return None
    cat_index = {c: k for k, c in enumerate(cats)}
    strata = np.zeros((len(rows_idx), len(cats)), dtype=bool)
    for k, i in enumerate(rows_idx[n_old_sel:], start=n_old_sel):
        r = new_rows[i - n_old]
        strata[k, cat_index[(r["source"], r["context"])]] = True
    return strata


def _conflicting_pairs(store: Store, pairs, ids: list[str], new_rows, n_old: int) -> int:
    """Duplicate pairs whose known labels differ on a label both know."""
    labels_of: dict[int, dict[str, int]] = {}
    old_needed = sorted({a for a, b, _ in pairs if a < n_old})
    if old_needed:
        old_labels = store.existing([ids[a] for a in old_needed])
        for a in old_needed:
            labels_of[a] = json.loads(old_labels[ids[a]][1])

    def labels(i: int) -> dict[str, int]:
        if i not in labels_of:
            labels_of[i] = json.loads(new_rows[i - n_old]["labels"]) if i >= n_old else {}
        return labels_of[i]

    return sum(1 for a, b, _ in pairs if any(labels(a)[k] != labels(b)[k] for k in labels(a).keys() & labels(b).keys()))


def _keep_evaluation_twins_out(rows_idx, comp, splits, synthetic, row_ids, new_rows, n_old) -> int:
    """A generated record that near-duplicates a calib or holdout record cannot join its group there (the
    evaluation splits hold only real data) nor train beside it (the holdout would be scored on text the
    model learnt): it is stored quarantined, with the twin named. Returns how many."""
    eval_member: dict[int, tuple[str, str]] = {}  # group -> (id, split) of a member in calib or holdout
    for k, i in enumerate(rows_idx):
        if splits[k] in EVALUATION_SPLITS:
            eval_member.setdefault(int(comp[i]), (row_ids[k], splits[k]))
    n = 0
    for k, i in enumerate(rows_idx):
        twin = eval_member.get(int(comp[i]))
        if synthetic[k] and twin is not None:
            r = new_rows[i - n_old]
            r["status"] = "quarantined"
            r["status_reason"] = (
                f"near-duplicate of {twin[1]} record {twin[0]}: kept out of training so the evaluation stays clean"
            )
            n += 1
    return n


def duplicate_mask(
    store: Store,
    settings: Any,
    texts: Sequence[str],
    *,
    near: bool = True,
    ignore_sources: Sequence[str] = (),
) -> list[bool]:
    """For each text: an exact duplicate (same normalised text) or near duplicate (MinHash + LSH, the
    project's threshold) of a stored record or of an earlier text of ``texts``. With ``near=False``,
    only the very same string counts (for adversarial variants, whose point is to be near their parent),
    and records of ``ignore_sources`` (a retrieval pool, whose texts are proposed as new examples) do
    not count."""
    texts = list(texts)
    if not texts:
        return []
    if not near:
        seen = set(store.text_hashes(exclude_sources=ignore_sources))
        out = []
        for t in texts:
            h = text_hash(t)
            out.append(h in seen)
            seen.add(h)
        return out
    old_ids, old_norm, _, _, old_sig = store.dedup_index()
    norms = [normalise_text(t) for t in texts]
    hashes = [text_hash(n)[:16] for n in norms]
    dup = [False] * len(texts)
    seen = set(old_norm)
    for i, h in enumerate(hashes):
        dup[i] = h in seen
        seen.add(h)
    n_old = len(old_ids)
    for a, b, _ in _near_pairs(old_sig, norms, settings.dedup)[1]:
        later = max(a, b)  # the later of the pair is the duplicate: a stored record or an earlier text stays
        if later >= n_old:
            dup[later - n_old] = True
    return dup


def stored_twins(store: Store, settings: Any, texts: Sequence[str]) -> list[tuple[str, str] | None]:
    """For each text, the (id, split) of a stored record it duplicates (the same normalised text, or a near
    duplicate at the project's MinHash threshold), else ``None``; the earliest stored twin wins."""
    texts = list(texts)
    if not texts:
        return []
    old_ids, old_norm, old_splits, _, old_sig = store.dedup_index()
    first: dict[str, int] = {}
    for i, h in enumerate(old_norm):
        first.setdefault(h, i)
    norms = [normalise_text(t) for t in texts]
    out: list[tuple[str, str] | None] = []
    for n in norms:
        i = first.get(text_hash(n)[:16])
        out.append(None if i is None else (old_ids[i], old_splits[i]))
    n_old = len(old_ids)
    if n_old:
        for a, b, _ in sorted(_near_pairs(old_sig, norms, settings.dedup)[1]):
            if a < n_old <= b and out[b - n_old] is None:
                out[b - n_old] = (old_ids[a], old_splits[a])
    return out
