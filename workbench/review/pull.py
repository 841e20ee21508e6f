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
from typing import Any, Iterator

from curation import Project, ReviewOutcome

from .acceptance import BatchPlan
from .agreement import DISPUTE_MARGIN, label_agreement, resolve_choice, resolve_labels
from .answers import annotation_events as _annotations
from .answers import collect_answers
from .push import dataset_for
from .quality import annotator_report
from .registry import REVIEW_DATASETS, PullContext
from .templates import ADJUDICATION, BATCH_REVIEW, NONE_LABEL

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
    "pull_adjudication",
    "withdraw_answers",
]


def _label_answers(by_q: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """User -> chosen labels of one record's ``labels`` question."""
    return {u: list(v or []) for u, v in by_q.get("labels", {}).items()}


def _resolve_labels(ctx: PullContext, answers):
    """Resolve every record's ``labels`` answers that have enough submissions that count (the dataset's
    ``min_submitted``; a flagged annotator's do not count, and known-answer records are not resolved at all);
    return (resolved per record: 1, 0 or None for a disputed label, answers behind them, conflicts). The
    caller says where the resolved labels go (store records or production pool posts)."""
    labels = list(ctx.project.taxonomy.label_names)
    weights = ctx.options.get("weights") or {}
    gold = ctx.options.get("gold") or set()
    margin = ctx.options.get("margin", DISPUTE_MARGIN)
    min_submitted = int(getattr(ctx.dataset.settings.distribution, "min_submitted", 1) or 1)
    settled = ctx.options.get("settled") or {}
    resolved, behind, conflicts = {}, {}, []
    for rid, by_q in answers.items():
        chosen = {u: v for u, v in _label_answers(by_q).items() if weights.get(u, 1.0) > 0}
        if rid in gold or rid in settled or len(chosen) < min_submitted:
            continue
        behind[rid] = chosen
        resolved[rid], disagreed = resolve_labels(chosen, labels, none_label=NONE_LABEL, weights=weights, margin=margin)
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
    consequences to the store in one transaction (safe to repeat).

    Before anything is resolved, every annotator's quality is measured over all their answers so far and
    this pull's (:mod:`.quality`): a flagged annotator's answers weigh nothing, and a record only flagged
    annotators answered has those answers withdrawn from Argilla (they stay in the store's events), so it is
    back in the queue."""
    people = list(client.users)
    users = {str(u.id): u.username for u in people}
    roles = {str(u.id): str(getattr(u.role, "value", u.role)) for u in people}
    owner = owner or str(client.me.id)
    settled: dict[str, dict[str, Any]] = {}  # filled by the adjudication, read by the datasets pulled after it
    outcome = ReviewOutcome()
    report: dict[str, Any] = {}
    contexts = []
    for declared in REVIEW_DATASETS.values():
        if declared.pull is None:
            continue
        ds = dataset_for(client, project, declared.name, workspace=workspace, create=False)
        if ds is not None:
            options = {"max_error": max_error, "roles": roles, "settled": settled}
            contexts.append((declared, PullContext(project, ds, users, owner, outcome, options)))
    contexts.sort(key=lambda c: c[0].name != ADJUDICATION)  # settled labels first: the others defer to them
    fresh = [a for _, ctx in contexts for a in _annotations(ctx.dataset.name, ctx.answers()[0], users)]
    quality, gold = annotator_report(project, fresh)
    by_name = {name: uid for uid, name in users.items()}
    weights = {by_name.get(name, name): q.weight for name, q in quality.items()}
    margin = float(project.settings.review.dispute_margin)
    for declared, ctx in contexts:
        gold_ids = {key.split("|", 1)[1] for key in gold if key.startswith(ctx.dataset.name + "|")}
        ctx.options.update(weights=weights, gold=gold_ids, margin=margin)
        report[declared.name] = declared.pull(ctx)
    outcome.flagged = {name: q.reason or "flagged" for name, q in quality.items() if q.flagged}
    with project.store.write_lock("review pull"):  # the verdicts and what follows them, one writer at a time
        report["applied"] = project.records.apply_review(outcome)
        for declared in REVIEW_DATASETS.values():
            if declared.after_apply is not None and declared.name in report:
                report[declared.name] = declared.after_apply(project, report[declared.name])
    report["annotators"] = {name: q.to_dict() for name, q in sorted(quality.items())}
    flagged_ids = {uid for uid, w in weights.items() if w == 0}
    if flagged_ids:
        report["withdrawn"] = withdraw_answers(client, [ctx for _, ctx in contexts], flagged_ids)
    decided = {b for b, (verdict, _) in outcome.batch_status.items() if verdict in ("accepted", "rejected")}
    for declared, ctx in contexts:
        if declared.name == BATCH_REVIEW and decided:  # the batches decided in this pull
            report["withdrawn_unanswered"] = withdraw_decided(client, ctx, decided)
    return report


def _listing(http, dataset_id) -> Iterator[dict]:
    """Every record of a dataset as the REST API lists it, with its responses (their ids included, which the
    SDK's records do not carry)."""
    offset = 0
    while True:
        page = http.get(
            f"/api/v1/datasets/{dataset_id}/records",
            params={"offset": offset, "limit": 1000, "include": ["responses"]},
        )
        page.raise_for_status()
        items = page.json()["items"]
        yield from items
        if len(items) < 1000:
            return
        offset += len(items)


def withdraw_answers(client, contexts: list[PullContext], flagged: set[str]) -> dict[str, int]:
    """Delete from Argilla the responses of flagged annotators on records nobody else answered, so those records
    are back in every annotator's queue (the answers stay in the store's annotation events). Per dataset, the
    records withdrawn."""
    http = client.api.http_client
    out = {}
    for ctx in contexts:
        answers = ctx.answers()[0]
        gold = ctx.options.get("gold", set())
        only = {
            rid
            for rid, by_q in answers.items()
            if rid not in gold and {u for by_u in by_q.values() for u in by_u} <= flagged
        }
        if not only:
            continue
        n = 0
        for item in _listing(http, ctx.dataset.id):
            if str(item.get("external_id")) in only:
                for resp in item.get("responses") or []:
                    if str(resp.get("user_id")) in flagged:
                        http.delete(f"/api/v1/responses/{resp['id']}").raise_for_status()
                n += 1
        out[ctx.dataset.name] = n
    return out


def withdraw_decided(client, ctx: PullContext, batches: set[str]) -> int:
    """Remove from the batch-review queue the records of decided ``batches`` that nobody has answered yet:
    annotators stop spending time on a batch whose verdict is in. Returns how many were removed."""
    http = client.api.http_client
    metadata = ctx.answers()[1]
    unanswered = [
        item["id"]
        for item in _listing(http, ctx.dataset.id)
        if metadata.get(str(item.get("external_id")), {}).get("batch_id") in batches
        and not item.get("responses")
        and str(item.get("external_id")) not in (ctx.options.get("gold") or set())
    ]
    for start in range(0, len(unanswered), 100):
        chunk = unanswered[start : start + 100]
        http.delete(f"/api/v1/datasets/{ctx.dataset.id}/records", params={"ids": ",".join(chunk)}).raise_for_status()
    return len(unanswered)


def pull_seeds(ctx: PullContext) -> dict:
    """Seed verdicts: ``reject`` quarantines, ``needs_edit`` with a text makes a new version, ``approve``."""
    answers, _, counts = ctx.answers()
    ctx.outcome.annotations += _annotations(ctx.dataset.name, answers, ctx.users)
    weights, margin = ctx.options.get("weights"), ctx.options.get("margin", DISPUTE_MARGIN)
    for rid, by_q in answers.items():
        sid = rid.removeprefix("seed:")
        verdict = resolve_choice(by_q.get("verdict", {}), weights=weights, margin=margin)  # None: the seed waits
        reason = "; ".join(sorted({r for r in by_q.get("reason", {}).values() if r})) or None
        edits = {u: t for u, t in by_q.get("edited_text", {}).items() if t and t.strip()}
        edited = resolve_choice(
            edits, weights=weights, margin=margin
        )  # several different edits without a majority: no new version yet
        if verdict == "reject":
            ctx.outcome.seed_status[sid] = ("rejected", reason or "rejected in seed review")
        elif verdict == "needs_edit" and edited:
            ctx.outcome.new_seed_text[sid] = edited
        elif verdict == "approve":
            ctx.outcome.seed_status[sid] = ("approved", reason)
    return counts


def pull_suite(ctx: PullContext) -> dict:
    """Suite-review answers become annotation events; the cases' state is read after they are applied."""
    answers, _, counts = ctx.answers()
    ctx.outcome.annotations += _annotations(ctx.dataset.name, answers, ctx.users)
    return counts


def suite_review_report(project: Project) -> dict[str, Any]:
    """Kept / pending / disputed test-side cases per functionality, and the disputed cases."""
    from curation.suites import case_review_state, read_cases

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
    answers, metadata, counts = ctx.answers()
    outcome.annotations += _annotations(ctx.dataset.name, answers, ctx.users)
    resolved, behind, conflicts = _resolve_labels(ctx, answers)
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
    answers, metadata, counts = ctx.answers()
    outcome.annotations += _annotations(ctx.dataset.name, answers, ctx.users)
    resolved, behind, conflicts = _resolve_labels(ctx, answers)
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


def _record_state(meta: dict, labels: dict[str, int | None] | None, valid: str | None, answered: bool) -> str | None:
    """What a sampled record of a batch says: ``error`` (judged invalid, or a label it asserts not confirmed),
    ``disputed`` (its ``valid`` answer or an asserted label split without the margin: an error until
    settled), ``ok``, or ``None`` while it lacks answers that count."""
    if labels is None or not answered:
        return None
    asserted = json.loads(meta.get("intended") or "{}")
    if valid == "no" or any(labels.get(lab) not in (None, v) for lab, v in asserted.items()):
        return "error"
    if valid is None or any(labels.get(lab) is None for lab in asserted):
        return "disputed"
    return "ok"


def _decide(plan: BatchPlan, states: list[str], size: int) -> dict[str, Any]:
    """The sampling plan's decision on the answered part of a sample. A disputed record counts as an error, so a
    batch with disputes is never accepted before they are settled; it is rejected only when it would be even
    if every dispute were settled in its favour, and otherwise waits for the adjudication."""
    errors, disputed, n = states.count("error"), states.count("disputed"), len(states)
    strict = plan.decide(errors + disputed, n, size)
    if disputed and strict.verdict == "rejected" and plan.decide(errors, n, size).verdict != "rejected":
        out = strict.to_dict()
        out.update(
            verdict="needs_adjudication",
            needs=0,
            reason=f"{disputed} disputed of {n} reviewed records decide it: settle them in the adjudication dataset",
        )
        return out
    return strict.to_dict()


def pull_batches(ctx: PullContext) -> dict:
    """Batch-review labels, and each batch's sampling-plan decision: accepted or rejected as soon as the answered
    records cross a boundary of the test, ``needs N more`` (or ``needs_adjudication``) once the whole sample is
    answered (disputed records, and what the adjudication settled, as :func:`_decide` says)."""
    project, outcome, max_error = ctx.project, ctx.outcome, ctx.options.get("max_error", 0.10)
    answers, metadata, counts = ctx.answers()
    outcome.annotations += _annotations(ctx.dataset.name, answers, ctx.users)
    resolved, behind, conflicts = _resolve_labels(ctx, answers)
    decided, disputed = _decided(resolved)
    outcome.labels.update(decided)
    outcome.disputed.update(disputed)
    per_batch: dict[str, list[str | None]] = defaultdict(list)
    audited = {meta.get("batch_id", "") for meta in metadata.values() if meta.get("audit")}
    gold, weights = ctx.options.get("gold") or set(), ctx.options.get("weights") or {}
    margin, settled = ctx.options.get("margin", DISPUTE_MARGIN), ctx.options.get("settled") or {}
    for rid, meta in metadata.items():
        if rid in gold:  # a known-answer record scores its annotators; it is no part of its batch's sample
            continue
        valid_answers = {u: v for u, v in answers.get(rid, {}).get("valid", {}).items() if weights.get(u, 1.0) > 0}
        if rid in settled:
            labels, valid, answered = settled[rid]["labels"], settled[rid]["valid"] or "yes", True
        else:
            labels, answered = resolved.get(rid), bool(valid_answers)
            valid = resolve_choice(valid_answers, weights=weights, margin=margin)
        per_batch[meta.get("batch_id", "")].append(_record_state(meta, labels, valid, answered))
    status = project.batches.frame().set_index("id")["status"].to_dict()
    # pending batches are decided; an accepted one only when its sample was pushed as an audit; a rejected
    # batch stays rejected
    undecided = {b for b, st in status.items() if st == "pending" or (st == "accepted" and b in audited)}
    frame = project.records.frame()
    sizes = frame[frame["status"] != "quarantined"].groupby("batch_id").size().to_dict()
    plan = BatchPlan(limit=max_error, acceptable=min(0.02, max_error / 5))  # a stricter limit keeps a sane p0
    batches = {}
    for bid, states in per_batch.items():
        done = [e for e in states if e is not None]
        info = {
            "sampled": len(states),
            "reviewed": len(done),
            "errors": done.count("error") + done.count("disputed"),
            "disputed": done.count("disputed"),
        }
        if bid in audited:
            info["audit"] = True
        if done and bid in undecided:
            decision = _decide(plan, done, int(sizes.get(bid, len(done))))
            final = decision["verdict"] in ("accepted", "rejected")
            if final or len(done) == len(states):  # a crossed boundary decides before the sample is complete
                info.update(decision)
                outcome.batch_review[bid] = decision
            if final:
                outcome.batch_status[bid] = (decision["verdict"], decision["reason"])
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
    store; agreement per label and conflicts of the batch review; per annotator: their quality and flag as
    of the last pull (:func:`annotator_report`)."""
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
    b = project.batches.frame()
    out["batches"] = {r["id"]: r["status"] for r in b.to_dict(orient="records")}
    # the model's pre-screen (push-batches with a promoted model): the most suspicious batches first
    screened = [
        (r["id"], r["summary"]["prescreen"]) for r in b.to_dict(orient="records") if "prescreen" in r["summary"]
    ]
    screened.sort(key=lambda x: -x[1].get("hard_negative_flag_rate", -1.0))
    out["prescreen"] = {bid: fig for bid, fig in screened}
    quality, _ = annotator_report(project)
    out["annotators"] = {name: q.to_dict() for name, q in sorted(quality.items())}
    return out


def adjudicators(ctx: PullContext) -> set[str]:
    """User ids whose adjudication answers count: ``review.adjudicators`` of workbench.yaml by username, or
    (none named) every owner and admin."""
    named = set(ctx.project.settings.review.adjudicators or [])
    roles = ctx.options.get("roles") or {}
    if named:
        return {uid for uid, name in ctx.users.items() if name in named}
    return {uid for uid, role in roles.items() if role in ("owner", "admin")}


def pull_adjudication(ctx: PullContext) -> dict:
    """Settled disputes: an adjudicator's ``labels`` answer replaces the record's labels (provenance
    ``adjudicated``, written as the adjudicator) and their ``valid`` answer settles a generated record's
    validity; the batch it belongs to is decided again in the same pull. Answers of anyone else are recorded
    and ignored; adjudicators who split settle nothing."""
    answers, _, counts = ctx.answers()
    ctx.outcome.annotations += _annotations(ctx.dataset.name, answers, ctx.users)
    allowed = adjudicators(ctx)
    labels = list(ctx.project.taxonomy.label_names)
    settled, ignored = ctx.options["settled"], 0
    for rid, by_q in answers.items():
        chosen = {u: v for u, v in _label_answers(by_q).items() if u in allowed}
        ignored += len(_label_answers(by_q)) - len(chosen)
        if not chosen:
            continue
        decided, _ = resolve_labels(chosen, labels, none_label=NONE_LABEL)
        if any(v is None for v in decided.values()):
            continue
        valid = resolve_choice({u: v for u, v in by_q.get("valid", {}).items() if u in allowed})
        by = ", ".join(sorted(ctx.users.get(u, u) for u in chosen))
        settled[rid] = {"labels": decided, "valid": valid, "by": by}
        ctx.outcome.adjudicated[rid] = (by, decided)
    return {**counts, "settled": len(settled), "ignored_answers": ignored}
