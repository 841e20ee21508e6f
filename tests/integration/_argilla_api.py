"""A thin Argilla REST client and the dataset / annotator helpers the stack tests share."""

from __future__ import annotations

import uuid

import httpx


class Api:
    """A thin Argilla REST client (the UI and the SDK call the same endpoints)."""

    def __init__(self, url: str, key: str | None) -> None:
        headers = {"X-Argilla-Api-Key": key} if key else {}
        self.http = httpx.Client(base_url=url + "/api/v1", headers=headers, timeout=60)

    def __call__(self, method: str, path: str, **kw) -> httpx.Response:
        return self.http.request(method, path, **kw)

    def ok(self, method: str, path: str, **kw):
        r = self(method, path, **kw)
        assert r.status_code < 300, (method, path, r.status_code, r.text[:500])
        return r.json() if r.content else None


def workspace_id(owner: Api) -> str:
    return next(w["id"] for w in owner.ok("GET", "/me/workspaces")["items"] if w["name"] == "moderation")


def make_dataset(owner: Api, n_records: int, min_submitted: int = 1) -> tuple[str, list[str]]:
    ds = owner.ok(
        "POST",
        "/datasets",
        json={
            "name": f"stack-test-{uuid.uuid4().hex[:8]}",
            "workspace_id": workspace_id(owner),
            "distribution": {"strategy": "overlap", "min_submitted": min_submitted},
        },
    )
    owner.ok(
        "POST", f"/datasets/{ds['id']}/fields", json={"name": "text", "title": "Text", "settings": {"type": "text"}}
    )
    owner.ok(
        "POST",
        f"/datasets/{ds['id']}/questions",
        json={
            "name": "label",
            "title": "Label",
            "required": True,
            "settings": {
                "type": "label_selection",
                "options": [{"value": "ok", "text": "ok"}, {"value": "threat", "text": "threat"}],
            },
        },
    )
    owner.ok("PUT", f"/datasets/{ds['id']}/publish")
    items = [{"fields": {"text": f"post number {i} about something"}, "external_id": f"r{i}"} for i in range(n_records)]
    for start in range(0, n_records, 200):
        owner.ok("POST", f"/datasets/{ds['id']}/records/bulk", json={"items": items[start : start + 200]})
    records = owner.ok("GET", f"/datasets/{ds['id']}/records", params={"limit": 1000})["items"]
    return ds["id"], [r["id"] for r in records]


def make_annotator(owner: Api, url: str) -> tuple[str, Api]:
    name = f"annotator-{uuid.uuid4().hex[:8]}"
    user = owner.ok(
        "POST", "/users", json={"username": name, "first_name": name, "password": uuid.uuid4().hex, "role": "annotator"}
    )
    owner.ok("POST", f"/workspaces/{workspace_id(owner)}/users", json={"user_id": user["id"]})
    return user["id"], Api(url, user["api_key"])


def log_until(api: Api, dataset_id: str, stop, acked: list, *, tag: str, per_batch: int, retry: bool = False) -> None:
    """Log batches of records until ``stop`` is set, keeping the external ids of every acknowledged batch in
    ``acked``. A connection error ends it (the server is gone), or with ``retry`` is tried again (another
    process still answers behind the same address)."""
    i = 0
    while not stop.is_set():
        batch = [{"fields": {"text": f"{tag} {i} item {j}"}, "external_id": f"{tag}-{i}-{j}"} for j in range(per_batch)]
        try:
            r = api("POST", f"/datasets/{dataset_id}/records/bulk", json={"items": batch})
        except httpx.HTTPError:
            if retry:
                continue
            return
        if r.status_code < 300:
            acked.extend(item["external_id"] for item in batch)
        i += 1


def answer_until(api: Api, record_ids: list[str], stop, acked: list) -> None:
    """Submit an answer to each record in turn until ``stop`` is set or the server is gone, keeping the ids of
    the acknowledged answers in ``acked``."""
    for record_id in record_ids:
        if stop.is_set():
            return
        try:
            r = api(
                "POST",
                f"/records/{record_id}/responses",
                json={"status": "submitted", "values": {"label": {"value": "ok"}}},
            )
        except httpx.HTTPError:
            return
        if r.status_code < 300:
            acked.append(record_id)


def answer_in_parallel(annotators, record_ids: list[str], *, per_annotator: int, stride: int, statuses: list[str]):
    """Every annotator ``(uid, api)`` at once, in its own thread: annotator k answers ``per_annotator``
    records from ``k * stride`` on (wrapping), the status cycling through ``statuses`` (discarded answers
    carry no value). Returns the ``(uid, record id, status)`` of every answer the server acknowledged."""
    from concurrent.futures import ThreadPoolExecutor

    def work(k: int) -> list[tuple[str, str, str]]:
        uid, api = annotators[k]
        done = []
        for j in range(per_annotator):
            record_id = record_ids[(k * stride + j) % len(record_ids)]
            status = statuses[(k + j) % len(statuses)]
            body = {"status": status}
            if status != "discarded":
                body["values"] = {"label": {"value": "threat" if j % 3 == 0 else "ok"}}
            api.ok("POST", f"/records/{record_id}/responses", json=body)
            done.append((uid, record_id, status))
        return done

    with ThreadPoolExecutor(len(annotators)) as pool:
        return [item for chunk in pool.map(work, range(len(annotators))) for item in chunk]
