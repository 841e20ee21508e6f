"""Pushing review records: the workspace and datasets are created when missing, then records are logged in
batches. Idempotent: a record whose content is unchanged is not sent again, a changed one is updated in
place (same id), and a record an annotator already answered is never overwritten."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import numpy as np

from curation import Project, WorkbenchError

from .records import batch_record, error_record, sample_record, seed_record, suite_record
from .templates import (
    ADJUDICATION,
    BATCH_REVIEW,
    ERROR_REVIEW,
    SAMPLE_REVIEW,
    SEED_REVIEW,
    SUITE_REVIEW,
    VECTOR,
    settings_for,
)

__all__ = [
    "push_seeds",
    "push_batches",
    "push_errors",
    "push_selection",
    "push_suite",
    "push_sample",
    "workspace_for",
    "dataset_for",
    "gold_id",
    "push_adjudication",
]


def workspace_for(client, project: Project, name: str | None = None):
    """The project's workspace (named after the project unless ``name`` is given), created when missing."""
    import argilla as rg

    name = name or str(project.settings.name)
    ws = client.workspaces(name)
    return ws if ws is not None else rg.Workspace(name=name, client=client).create()


def dataset_for(
    client,
    project: Project,
    dataset: str,
    *,
    workspace=None,
    dimensions: int = 384,
    min_submitted: int = 1,
    create: bool = True,
):
    import warnings

    import argilla as rg

    ws = workspace_for(client, project, workspace)
    with warnings.catch_warnings():  # the SDK warns when a dataset is missing; here that is an answer, not a problem
        warnings.simplefilter("ignore", UserWarning)
        ds = client.datasets(name=dataset, workspace=ws)
    if ds is None and create:
        ds = rg.Dataset(
            name=dataset,
            workspace=ws,
            client=client,
            settings=settings_for(dataset, project.taxonomy, dimensions=dimensions, min_submitted=min_submitted),
        ).create()
    return ds


def _encoder(project: Project):
    from training.families import Encoder

    return Encoder(cache_dir=project.layout.cache)


def _sync(ds, records: list, texts: list[str], encoder, *, progress: bool) -> dict[str, int]:
    """Log the records that are new or changed and not answered yet (embedding only those); count the rest."""
    existing: dict[str, tuple[Any, bool]] = {}
    for rec in ds.records(with_responses=True, with_suggestions=False, with_vectors=False):
        existing[str(rec.id)] = ((rec.metadata or {}).get("content_hash"), len(rec.responses) > 0)
    send, send_texts, unchanged, answered = [], [], 0, 0
    for rec, text in zip(records, texts):
        have = existing.get(str(rec.id))
        if have is not None and have[1]:
            answered += 1
        elif have is not None and have[0] == rec.metadata["content_hash"]:
            unchanged += 1
        else:
            send.append(rec)
            send_texts.append(text)
    if send:
        for rec, vector in zip(send, encoder.encode(send_texts, show_progress=progress)):
            rec.vectors[VECTOR] = [float(x) for x in vector]
        ds.records.log(send, batch_size=min(256, len(send)))  # a larger one makes the SDK print a notice
    return {"pushed": len(send), "unchanged": unchanged, "answered_kept": answered}


def push_seeds(
    project: Project, client, *, workspace: str | None = None, min_submitted: int = 1, progress: bool = False
) -> dict[str, int]:
    """Every current seed (newest version, not quarantined) into ``seed-review``, with up to 5 examples."""
    seeds = project.seeds.latest()
    seeds = seeds[~seeds["quarantined"]]
    frame = project.records.frame()
    enc = _encoder(project)
    ds = dataset_for(
        client, project, SEED_REVIEW, workspace=workspace, dimensions=enc.dimension, min_submitted=min_submitted
    )
    rows = seeds.to_dict(orient="records")
    records = [seed_record(s, frame.loc[frame["seed_id"] == s["id"], "text"].head(5).tolist()) for s in rows]
    return _sync(ds, records, [s["text"] for s in rows], enc, progress=progress)


def _sample(rows, per_batch: int, batch_id: str, labels: list[str]):
    """The first ``per_batch`` records of the batch's review order: stratified by intended label
    combination (proportional, one of each combination first), the same every time for the same batch,
    and nested — a larger sample extends a smaller one, so a top-up adds records and keeps the answered
    ones."""
    if len(rows) <= per_batch:
        return rows
    groups: dict[tuple, list[int]] = {}
    for i, row in enumerate(rows.to_dict(orient="records")):
        groups.setdefault(tuple(row.get(lab) == 1 for lab in labels), []).append(i)
    keyed: list[tuple[float, int, int]] = []
    for g, (combo, members) in enumerate(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))):
        random.Random(f"{batch_id}|{combo}").shuffle(members)
        keyed += [(k / len(members), g, i) for k, i in enumerate(members)]  # systematic: evenly spread
    chosen = [i for _, _, i in sorted(keyed)[:per_batch]]
    return rows.iloc[sorted(chosen)]


def _review_targets(batches, per_batch: int) -> dict[str, int]:
    """Records to have in review per batch: ``per_batch``, or for a batch the sampling plan said needs more
    (its summary's ``review``), what it has reviewed plus what it needs."""
    out = {}
    for bid, summary in zip(batches["id"], batches["summary"]):
        review = (summary or {}).get("review") or {}
        extra = review.get("reviewed", 0) + review.get("needs", 0) if review.get("verdict") == "needs_more" else 0
        out[bid] = max(per_batch, int(extra))
    return out


def gold_id(record_id: str) -> str:
    """The review id of a known-answer copy of a store record: shaped like a store id of the same source.

    >>> gold_id("llm:0123456789abcdef")[:4]
    'llm:'
    """
    source = record_id.rsplit(":", 1)[0] if ":" in record_id else "record"
    return f"{source}:{hashlib.sha1(f'gold|{record_id}'.encode()).hexdigest()[:16]}"


def _gold_records(project: Project, frame, seeds, labels: list[str], *, exclude: set, n_sample: int) -> list:
    """Known-answer copies to mix into a batch-review push, at the project's ``review.gold_rate`` of the queue:
    records two or more unflagged annotators labelled alike in batch review (never a holdout record, each
    copied once), registered in the store first (:func:`curation.record_gold`). [(record, text)]; a copy
    looks like any sampled record."""
    from curation import record_gold

    from .quality import annotator_report, gold_candidates, stored_answers

    rate = float(project.settings.review.gold_rate)
    want = round(n_sample * rate / (1 - rate))
    if want <= 0:
        return []
    quality, _ = annotator_report(project)
    events = project.store.events()
    pushed = {json.loads(d).get("record_id") for d in events.loc[events["kind"] == "gold_pushed", "detail"]}
    prefix = f"{BATCH_REVIEW}|"
    answers = [a for a in stored_answers(events) if a.key.startswith(prefix)]
    flagged = {u for u, q in quality.items() if q.flagged}
    known = {key.removeprefix(prefix): labs for key, labs in gold_candidates(answers, labels, excluded=flagged).items()}
    rows = frame.set_index("id", drop=False)
    usable = [
        rid
        for rid in known
        if rid in rows.index and rid not in exclude and rid not in pushed and rows.loc[rid, "split"] != "holdout"
    ]
    out, entries = [], []
    for rid in sorted(usable, key=lambda r: hashlib.sha1(r.encode()).hexdigest())[:want]:  # a fixed, mixed order
        row = {**rows.loc[rid].to_dict(), **known[rid], "id": gold_id(rid)}
        seed_text = seeds.loc[row["seed_id"], "text"] if row.get("seed_id") in seeds.index else ""
        out.append((batch_record(row, seed_text, labels), row["text"]))
        entries.append({"id": row["id"], "dataset": BATCH_REVIEW, "record_id": rid, "labels": known[rid]})
    if entries:
        record_gold(project.store, entries)
    return out


def push_batches(
    project: Project,
    client,
    *,
    per_batch: int = 20,
    status: str = "pending",
    model=None,
    workspace: str | None = None,
    min_submitted: int = 1,
    progress: bool = False,
) -> dict[str, Any]:
    """A stratified sample (``per_batch`` records) of every batch awaiting review into ``batch-review``;
    the generator's intended labels are the suggestion. A batch whose last pull said it needs N more
    reviews (the sampling plan, :mod:`.acceptance`) gets exactly N more records beside the answered ones.

    ``status="accepted"`` audits batches already accepted (imported as accepted, accepted without
    review, or from before batch review existed): their samples are marked ``audit`` and a failed
    audit rejects the batch and quarantines its seed on the next pull, as for a pending batch.

    With a promoted model (or ``model``), the batches are pre-screened first (:mod:`.prescreen`): the
    sampled records carry ``model_score_<label>`` and each batch's summary its flag rate.
    """
    import pandas as pd

    if status not in ("pending", "accepted"):
        raise WorkbenchError("push-batches --status", expected="pending or accepted", got=repr(status))
    batches = project.batches.frame()
    chosen = batches[batches["status"] == status]
    frame = project.records.frame()
    seeds = project.seeds.frame().set_index("id")
    labels = list(project.taxonomy.label_names)
    targets = _review_targets(chosen, per_batch)
    parts = [
        _sample(
            frame[(frame["batch_id"] == bid) & (frame["status"] != "quarantined")].sort_values("id"),
            targets[bid],
            bid,
            labels,
        )
        for bid in chosen["id"]
    ]
    sample = pd.concat(parts) if parts else frame.iloc[:0]
    if model is None:
        from training.artifacts import promoted_model

        model = promoted_model(project)
    figures: dict[str, dict] = {}
    scores: dict[str, dict[str, float]] = {}
    if model is not None and len(chosen):
        from .prescreen import prescreen_batches

        figures, scores = prescreen_batches(project, model, chosen, frame)
    enc = _encoder(project)
    ds = dataset_for(
        client, project, BATCH_REVIEW, workspace=workspace, dimensions=enc.dimension, min_submitted=min_submitted
    )
    rows = sample.to_dict(orient="records")
    records = [
        batch_record(
            row, seeds.loc[row["seed_id"], "text"], labels, audit=status == "accepted", scores=scores.get(row["id"])
        )
        for row in rows
    ]
    gold = _gold_records(project, frame, seeds, labels, exclude=set(sample["id"]), n_sample=len(rows))
    out: dict[str, Any] = _sync(
        ds, records + [g[0] for g in gold], [r["text"] for r in rows] + [g[1] for g in gold], enc, progress=progress
    )
    out["batches"] = len(chosen)
    if gold:
        out["gold"] = len(gold)
    topped = {bid: n for bid, n in targets.items() if n > per_batch}
    if topped:
        out["topped_up"] = topped
    if figures:
        out["prescreen"] = figures
    return out


def push_errors(
    project: Project,
    client,
    model,
    *,
    per_kind: int = 50,
    workspace: str | None = None,
    min_submitted: int = 1,
    progress: bool = False,
    jobs=None,
) -> dict[str, int]:
    """What ``model`` (a model directory) gets wrong or is unsure of on train / valid / calib — never
    holdout — into ``error-review``, worst first, with the model's probabilities as scored suggestions.
    ``jobs``: where the mining's scoring and embedding run (:func:`training.batch_jobs`)."""
    from .errors import mine_errors

    errors = mine_errors(project, model, per_kind=per_kind, jobs=jobs)
    frame = project.records.frame().set_index("id")
    by_record = {rid: grp.to_dict(orient="records") for rid, grp in errors.groupby("record_id", sort=False)}
    rows = [{**frame.loc[rid].to_dict(), "id": rid} for rid in by_record]
    enc = _encoder(project)
    ds = dataset_for(
        client, project, ERROR_REVIEW, workspace=workspace, dimensions=enc.dimension, min_submitted=min_submitted
    )
    records = [error_record(row, by_record[row["id"]], model.labels, model.thresholds) for row in rows]
    out = _sync(ds, records, [r["text"] for r in rows], enc, progress=progress)
    out.update({f"n_{k}": int(v) for k, v in errors["error_type"].value_counts().items()})
    return out


def push_selection(
    project: Project,
    client,
    ids,
    *,
    dataset: str = ERROR_REVIEW,
    model=None,
    reason: str = "map selection",
    workspace: str | None = None,
    min_submitted: int = 1,
    progress: bool = False,
) -> dict[str, int]:
    """Send chosen records (a map selection, a cluster) to ``error-review`` or ``batch-review``.

    In the error review the suggestion is ``model``'s decisions when a model directory is given, else
    the labels the store holds (agent ``store``), and the record's ``error_type`` metadata is ``reason``;
    in the batch review the suggestion is the record's stored labels, as for a sampled batch record.
    Unknown ids are refused before anything is sent.
    """
    if dataset not in (ERROR_REVIEW, BATCH_REVIEW):
        raise WorkbenchError(
            "selection review dataset", expected=f"{ERROR_REVIEW!r} or {BATCH_REVIEW!r}", got=repr(dataset)
        )
    ids = list(dict.fromkeys(ids))
    frame = project.records.frame().set_index("id", drop=False)
    unknown = [i for i in ids if i not in frame.index]
    if unknown:
        raise WorkbenchError(
            "selection",
            expected="ids of stored records",
            got=f"{len(unknown)} unknown, e.g. {unknown[:3]}",
            fix="select on a map of this project; nothing was sent",
        )
    if not ids:
        return {"pushed": 0, "unchanged": 0, "answered_kept": 0, "selected": 0}
    rows = [frame.loc[i].to_dict() for i in ids]
    labels = list(project.taxonomy.label_names)
    enc = _encoder(project)
    ds = dataset_for(
        client, project, dataset, workspace=workspace, dimensions=enc.dimension, min_submitted=min_submitted
    )
    if dataset == BATCH_REVIEW:
        seeds = project.seeds.frame().set_index("id")["text"].to_dict()
        records = [batch_record(row, seeds.get(row["seed_id"], "") or "", labels) for row in rows]
    else:
        if model is not None:
            labels, thresholds, agent = list(model.labels), list(model.thresholds), "model"
            probs = np.asarray(model.predictor(model.serving_variant())([r["text"] for r in rows]), dtype=float)
        else:
            thresholds, agent = [0.5] * len(labels), "store"
            probs = np.array([[1.0 if r.get(lab) == 1 else 0.0 for lab in labels] for r in rows])
        records = []
        for row, p in zip(rows, probs):
            by_label = dict(zip(labels, np.round(p, 4).tolist()))
            top = labels[int(np.argmax(p))]
            err = {
                "error_type": reason,
                "label": top,
                "label_quality_score": float("nan"),
                "probability": by_label[top],
                "probs": by_label,
            }
            records.append(error_record(row, [err], labels, thresholds, agent=agent))
    out = _sync(ds, records, [r["text"] for r in rows], enc, progress=progress)
    out["selected"] = len(ids)
    return out


def push_suite(
    project: Project, client, *, workspace: str | None = None, min_submitted: int = 2, progress: bool = False
) -> dict[str, int]:
    """The test-side cases of the project's expanded suites into ``suite-review`` (each case needs
    ``min_submitted`` answers: two by default, the number a case needs to stay in the gate)."""
    from curation.suites import load_suites, read_cases

    cases = [c for c in read_cases(project.root) if c.side == "test"]
    if not cases:
        raise WorkbenchError(
            f"suite review of {project.root}",
            expected="expanded suite cases",
            got="none",
            fix="write DIR/suites/*.yaml (workbench suite add-starter DIR) and run workbench suite expand DIR",
        )
    described = {f.name: f.description for s in load_suites(project.root, project.taxonomy) for f in s.functionalities}
    enc = _encoder(project)
    ds = dataset_for(
        client, project, SUITE_REVIEW, workspace=workspace, dimensions=enc.dimension, min_submitted=min_submitted
    )
    records = [suite_record(c, described.get(c.functionality, "")) for c in cases]
    return _sync(ds, records, [c.text for c in cases], enc, progress=progress)


def push_sample(
    project: Project,
    client,
    model,
    *,
    n: int = 200,
    strategy: str = "mixed",
    seed: int = 0,
    workspace: str | None = None,
    min_submitted: int = 1,
    progress: bool = False,
    scores=None,
) -> dict[str, Any]:
    """``n`` production pool posts nobody has labelled yet, picked by ``strategy`` (see
    :mod:`training.production_loop._sampling`), into ``sample-review`` with ``model``'s probabilities as suggestions and
    the reason each was picked in its metadata. Pulled answers label the pool posts (``workbench review pull``).
    ``scores``: the unlabelled posts' scores when the caller has them already (:func:`training.production_loop.watch`)."""
    from collections import Counter

    from training.production_loop import drift_reference, production_scores, select_for_review

    pool = project.production.posts()
    pool = pool[[not labels for labels in pool["labels"]]].reset_index(drop=True)
    if not len(pool):
        raise WorkbenchError(
            f"sample review of {project.root}",
            expected="unlabelled production posts",
            got="none",
            fix="import a production log with `workbench production-log import DIR FILE`",
        )
    scores = production_scores(model, pool) if scores is None else np.asarray(scores, dtype=float)
    if len(scores) != len(pool):
        raise WorkbenchError("scores", expected=f"one row per unlabelled post ({len(pool)})", got=f"{len(scores)}")
    rates = [drift_reference(model)["labels"][lab]["decision_rate"] for lab in model.labels]
    enc = _encoder(project)
    texts = pool["text"].tolist()
    embeddings = enc.encode(texts, show_progress=progress) if strategy in ("diverse", "mixed") else None
    picks = select_for_review(
        scores, model.thresholds, model.labels, n, strategy=strategy, base_rates=rates, embeddings=embeddings, seed=seed
    )
    ds = dataset_for(
        client, project, SAMPLE_REVIEW, workspace=workspace, dimensions=enc.dimension, min_submitted=min_submitted
    )
    rows = [pool.iloc[i].to_dict() for i, _ in picks]
    records = [sample_record(row, scores[i], model.labels, model.thresholds, why) for row, (i, why) in zip(rows, picks)]
    out: dict[str, Any] = _sync(ds, records, [r["text"] for r in rows], enc, progress=progress)
    out.update(strategy=strategy, selected=len(picks), reasons=dict(Counter(why for _, why in picks)))
    return out


def push_adjudication(
    project: Project, client, *, workspace: str | None = None, progress: bool = False
) -> dict[str, Any]:
    """Every stored record with a disputed label (annotators split without a clear majority) into
    ``adjudication``, with each annotator's answers beside it and the disputed labels as metadata; an
    adjudicator's answer settles it on the next pull. A record settled since leaves nothing to push."""
    from .records import adjudication_record

    frame = project.records.frame()
    disputed = {
        rid: sorted(lab for lab, p in (prov or {}).items() if p == "disputed")
        for rid, prov in zip(frame["id"], frame["label_provenance"])
    }
    disputed = {rid: labs for rid, labs in disputed.items() if labs}
    events = project.store.events()
    events = events[(events["kind"] == "annotation") & events["target"].isin(list(disputed))]
    said: dict[str, dict[str, dict[str, str]]] = {}
    for e in events.itertuples():  # record -> annotator -> question -> their latest answer
        dataset = json.loads(e.detail or "{}").get("dataset")
        if dataset != ADJUDICATION and e.question in ("labels", "valid"):
            said.setdefault(e.target, {}).setdefault(e.actor, {})[e.question] = e.value
    enc = _encoder(project)
    ds = dataset_for(client, project, ADJUDICATION, workspace=workspace, dimensions=enc.dimension)
    rows = frame[frame["id"].isin(list(disputed))].to_dict(orient="records")
    records = [adjudication_record(row, disputed[row["id"]], said.get(row["id"], {})) for row in rows]
    out: dict[str, Any] = _sync(ds, records, [r["text"] for r in rows], enc, progress=progress)
    out["disputed_records"] = len(rows)
    return out
