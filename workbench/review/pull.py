"""Pulling answers: submitted responses become annotation events, and their consequences are applied to the
store in one transaction (see :class:`curation.ReviewOutcome`).

- seed-review: the resolved ``verdict`` — ``reject`` quarantines the seed and every record of its batches
  (reason: the annotators' reasons), ``needs_edit`` with an ``edited_text`` makes a new seed version and
  quarantines the old one, ``approve`` approves it;
- batch-review: each record's resolved ``labels`` (a complete annotation: chosen labels 1, the others 0)
  replace the generator's, keeping the old values in the events; once every record of a batch's sample
  is resolved, the sampling plan (:mod:`.acceptance`: a sequential test whose acceptance needs the 95 %
  upper bound of the error rate — invalid, or a label the generator asserted that the annotators
  changed — below ``max_error``, 10 %) says **accepted**, **rejected** (which quarantines its seed) or
  **needs N more** (kept in the batch's summary; ``push-batches`` tops up exactly those batches);
- sample-review: each sampled production post's resolved ``labels`` (a complete annotation) label the
  pool post, which then has a production split (never the holdout).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from curation import Project, ReviewOutcome

from .acceptance import BatchPlan
from .agreement import label_agreement, resolve_choice, resolve_labels
from .push import dataset_for
from .registry import REVIEW_DATASETS, PullContext
from .templates import NONE_LABEL

__all__ = [
    "pull",
    "review_status",
    "collect_answers",
    "pull_seeds",
    "pull_batches",
    "pull_labels",
    "pull_sample",
    "pull_suite",
    "suite_review_report",
]


def collect_answers(ds) -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, dict], dict[str, int]]:
    """Submitted answers of a dataset: record id -> question -> {user id: value}; each record's
    metadata; counts of records by response state (pending / submitted / discarded / draft)."""
    answers: dict[str, dict[str, dict[str, Any]]] = {}
    metadata: dict[str, dict] = {}
    counts = {"pushed": 0, "pending": 0, "submitted": 0, "discarded": 0, "draft": 0}
    for rec in ds.records(with_responses=True, with_suggestions=False, with_vectors=False):
        rid = str(rec.id)
        counts["pushed"] += 1
        metadata[rid] = dict(rec.metadata or {})
        statuses = set()
        for resp in rec.responses:
            status = getattr(resp.status, "value", resp.status)
            statuses.add(status)
            if status == "submitted":
                answers.setdefault(rid, {}).setdefault(resp.question_name, {})[str(resp.user_id)] = resp.value
        state = next((s for s in ("submitted", "discarded", "draft") if s in statuses), "pending")
        counts[state] += 1
    return answers, metadata, counts


def _annotations(dataset: str, answers, users: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for rid, by_q in answers.items():
        for question, by_user in by_q.items():
            for uid, value in by_user.items():
                text = json.dumps(value, sort_keys=True, ensure_ascii=False)
                out.append(
                    {
                        "key": f"{dataset}|{rid}|{uid}|{question}|{text}",
                        "dataset": dataset,
                        "record_id": rid,
                        "question": question,
                        "value": text,
                        "user": users.get(uid, uid),
                        "status": "submitted",
                    }
                )
    return out


def _label_answers(by_q: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """User -> chosen labels of one record's ``labels`` question."""
    return {u: list(v or []) for u, v in by_q.get("labels", {}).items()}


def _resolve_labels(project: Project, ds, answers):
    """Resolve every record's ``labels`` answers that have enough submissions (the dataset's
    ``min_submitted``); return (resolved per record: 1, 0 or None for a disputed label, answers behind them,
    conflicts). The caller says where the resolved labels go (store records or production pool posts)."""
    labels = list(project.taxonomy.label_names)
    min_submitted = int(getattr(ds.settings.distribution, "min_submitted", 1) or 1)
    resolved, behind, conflicts = {}, {}, []
    for rid, by_q in answers.items():
        chosen = _label_answers(by_q)
        if len(chosen) < min_submitted:
            continue
        behind[rid] = chosen
        resolved[rid], disagreed = resolve_labels(chosen, labels, none_label=NONE_LABEL)
        if disagreed:
            conflicts.append({"record_id": rid, "labels": disagreed})
    return resolved, behind, conflicts


def _decided(resolved: dict[str, dict[str, int | None]]) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
    """The decided labels per record, and the disputed ones (annotators split without the margin): those stay
    unknown, with provenance ``disputed``, until someone settles them."""
    decided = {rid: {lab: v for lab, v in labs.items() if v is not None} for rid, labs in resolved.items()}
    disputed = {rid: [lab for lab, v in labs.items() if v is None] for rid, labs in resolved.items()}
    return decided, {rid: labs for rid, labs in disputed.items() if labs}


def pull(
    project: Project, client, *, workspace: str | None = None, max_error: float = 0.10, owner: str | None = None
) -> dict[str, Any]:
    """Read submitted answers of every review dataset (:data:`.registry.REVIEW_DATASETS`) and apply their
    consequences to the store in one transaction (safe to repeat)."""
    users = {str(u.id): u.username for u in client.users}
    owner = owner or str(client.me.id)
    outcome = ReviewOutcome()
    report: dict[str, Any] = {}
    for declared in REVIEW_DATASETS.values():
        if declared.pull is None:
            continue
        ds = dataset_for(client, project, declared.name, workspace=workspace, create=False)
        if ds is not None:
            ctx = PullContext(project, ds, users, owner, outcome, {"max_error": max_error})
            report[declared.name] = declared.pull(ctx)
    with project.store.write_lock("review pull"):  # the verdicts and what follows them, one writer at a time
        report["applied"] = project.apply_review(outcome)
        for declared in REVIEW_DATASETS.values():
            if declared.after_apply is not None and declared.name in report:
                report[declared.name] = declared.after_apply(project, report[declared.name])
    return report


def pull_seeds(ctx: PullContext) -> dict:
    """Seed verdicts: ``reject`` quarantines, ``needs_edit`` with a text makes a new version, ``approve``."""
    answers, _, counts = collect_answers(ctx.dataset)
    ctx.outcome.annotations += _annotations(ctx.dataset.name, answers, ctx.users)
    for rid, by_q in answers.items():
        sid = rid.removeprefix("seed:")
        verdict = resolve_choice(by_q.get("verdict", {}))  # None: undecided or disputed, the seed waits
        reason = "; ".join(sorted({r for r in by_q.get("reason", {}).values() if r})) or None
        edits = {u: t for u, t in by_q.get("edited_text", {}).items() if t and t.strip()}
        edited = resolve_choice(edits)  # several different edits without a majority: no new version yet
        if verdict == "reject":
            ctx.outcome.seed_status[sid] = ("rejected", reason or "rejected in seed review")
        elif verdict == "needs_edit" and edited:
            ctx.outcome.new_seed_text[sid] = edited
        elif verdict == "approve":
            ctx.outcome.seed_status[sid] = ("approved", reason)
    return counts


def pull_suite(ctx: PullContext) -> dict:
    """Suite-review answers become annotation events; the cases' state is read after they are applied."""
    answers, _, counts = collect_answers(ctx.dataset)
    ctx.outcome.annotations += _annotations(ctx.dataset.name, answers, ctx.users)
    return counts


def suite_review_report(project: Project) -> dict[str, Any]:
    """Kept / pending / disputed test-side cases per functionality, and the disputed cases."""
    from curation import case_review_state, read_cases

    cases = [c for c in read_cases(project.root) if c.side == "test"]
    state = case_review_state(project.store.events(), [c.id for c in cases])
    func = {c.id: c.functionality for c in cases}
    state["functionality"] = state["case_id"].map(func)
    per = state.groupby(["functionality", "state"]).size().unstack(fill_value=0)
    disputed = state[state["state"] == "disputed"]
    return {
        "per_functionality": {f: {k: int(v) for k, v in row.items() if v} for f, row in per.iterrows()},
        "disputed": [
            {"case_id": r["case_id"], "functionality": r["functionality"], "no": int(r["no"]), "labels": r["corrected"]}
            for _, r in disputed.iterrows()
        ],
    }


def pull_labels(ctx: PullContext) -> dict:
    """Corrected labels of the error review: each resolved answer is a complete annotation. A false
    positive the annotators confirm (they keep the model's label at 0) makes the record a hard negative
    for that label."""
    project, outcome = ctx.project, ctx.outcome
    answers, metadata, counts = collect_answers(ctx.dataset)
    outcome.annotations += _annotations(ctx.dataset.name, answers, ctx.users)
    resolved, behind, conflicts = _resolve_labels(project, ctx.dataset, answers)
    decided, disputed = _decided(resolved)
    outcome.labels.update(decided)
    outcome.disputed.update(disputed)
    for rid, labels in decided.items():
        meta = metadata.get(rid, {})
        if meta.get("error_type") == "fp" and labels.get(meta.get("label")) == 0:
            outcome.hard_negatives.setdefault(rid, []).append(meta["label"])
    return {
        **counts,
        "agreement": label_agreement(behind, project.taxonomy.label_names),
        "conflicts": conflicts,
        "disputed": sum(len(v) for v in disputed.values()),
        "confirmed_false_positives": sum(len(v) for v in outcome.hard_negatives.values()),
    }


def pull_sample(ctx: PullContext) -> dict:
    """Labels of sampled production posts: each resolved answer is a complete annotation of the pool post
    (``pool:<id>``), which then has a production split; answers per sampling reason are counted."""
    project, outcome = ctx.project, ctx.outcome
    answers, metadata, counts = collect_answers(ctx.dataset)
    outcome.annotations += _annotations(ctx.dataset.name, answers, ctx.users)
    resolved, behind, conflicts = _resolve_labels(project, ctx.dataset, answers)
    decided, disputed = _decided(resolved)  # a disputed label of a post stays unknown
    outcome.pool_labels.update({rid.removeprefix("pool:"): labels for rid, labels in decided.items()})
    positives: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for rid, labels in decided.items():
        reason = metadata.get(rid, {}).get("sampling", "unknown")
        positives[reason]["reviewed"] += 1
        for lab, v in labels.items():
            positives[reason][lab] += int(v == 1)
    return {
        **counts,
        "labelled": len(resolved),
        "by_sampling": {k: dict(v) for k, v in positives.items()},
        "agreement": label_agreement(behind, project.taxonomy.label_names),
        "conflicts": conflicts,
        "disputed": sum(len(v) for v in disputed.values()),
    }


def _record_error(meta: dict, labels: dict[str, int | None] | None, by_q: dict) -> bool | None:
    """Whether a sampled record of a batch is an error: judged invalid, or a label it asserts not confirmed. A
    disputed answer (``valid`` or an asserted label split without the margin) counts as an error until it is
    settled; ``None`` while the record lacks its answers."""
    if labels is None or not by_q.get("valid"):
        return None
    valid = resolve_choice(by_q["valid"])
    asserted = json.loads(meta.get("intended") or "{}")
    return valid != "yes" or any(labels.get(lab) != v for lab, v in asserted.items())


def pull_batches(ctx: PullContext) -> dict:
    """Batch-review labels, and each batch's sampling-plan decision once its whole sample is answered."""
    project, outcome, max_error = ctx.project, ctx.outcome, ctx.options.get("max_error", 0.10)
    answers, metadata, counts = collect_answers(ctx.dataset)
    outcome.annotations += _annotations(ctx.dataset.name, answers, ctx.users)
    resolved, behind, conflicts = _resolve_labels(project, ctx.dataset, answers)
    decided, disputed = _decided(resolved)
    outcome.labels.update(decided)
    outcome.disputed.update(disputed)
    per_batch: dict[str, list[bool | None]] = defaultdict(list)
    audited = {meta.get("batch_id", "") for meta in metadata.values() if meta.get("audit")}
    for rid, meta in metadata.items():
        per_batch[meta.get("batch_id", "")].append(_record_error(meta, resolved.get(rid), answers.get(rid, {})))
    stored = project.batches().set_index("id")
    status = stored["status"].to_dict()
    # pending batches are decided; an accepted one only when its sample was pushed as an audit; a rejected
    # batch stays rejected
    undecided = {b for b, st in status.items() if st == "pending" or (st == "accepted" and b in audited)}
    frame = project.frame()
    sizes = frame[frame["status"] != "quarantined"].groupby("batch_id").size().to_dict()
    plan = BatchPlan(limit=max_error, acceptable=min(0.02, max_error / 5))  # a stricter limit keeps a sane p0
    batches = {}
    for bid, errors in per_batch.items():
        done = [e for e in errors if e is not None]
        info = {"sampled": len(errors), "reviewed": len(done), "errors": sum(done)}
        if bid in audited:
            info["audit"] = True
        if done and len(done) == len(errors) and bid in undecided:
            decision = plan.decide(sum(done), len(done), int(sizes.get(bid, len(done))))
            info.update(decision.to_dict())
            outcome.batch_review[bid] = decision.to_dict()
            if decision.verdict != "needs_more":
                outcome.batch_status[bid] = (decision.verdict, decision.reason)
        batches[bid] = info
    return {
        **counts,
        "batches": batches,
        "agreement": label_agreement(behind, project.taxonomy.label_names),
        "conflicts": conflicts,
        "disputed": sum(len(v) for v in disputed.values()),
    }


def review_status(project: Project, client, *, workspace: str | None = None) -> dict[str, Any]:
    """Per dataset: pushed / pending / submitted / discarded counts; per batch: its review status in the
    store; agreement per label and conflicts of the batch review."""
    out: dict[str, Any] = {}
    for declared in REVIEW_DATASETS.values():
        if not declared.in_status:
            continue
        name = declared.name
        ds = dataset_for(client, project, name, workspace=workspace, create=False)
        if ds is None:
            continue
        answers, _, counts = collect_answers(ds)
        out[name] = counts
        if declared.status_agreement:
            labels = list(project.taxonomy.label_names)
            chosen = {rid: _label_answers(by_q) for rid, by_q in answers.items()}
            out[name]["agreement"] = label_agreement(chosen, labels)
            out[name]["conflicts"] = [rid for rid, c in chosen.items() if resolve_labels(c, labels)[1]]
    b = project.batches()
    out["batches"] = {r["id"]: r["status"] for r in b.to_dict(orient="records")}
    # the model's pre-screen (push-batches with a promoted model): the most suspicious batches first
    screened = [
        (r["id"], r["summary"]["prescreen"]) for r in b.to_dict(orient="records") if "prescreen" in r["summary"]
    ]
    screened.sort(key=lambda x: -x[1].get("hard_negative_flag_rate", -1.0))
    out["prescreen"] = {bid: fig for bid, fig in screened}
    return out
