"""Batches decided live: a small receiver on 127.0.0.1 for Argilla's webhooks.

:class:`LiveReview` registers a webhook for ``response.created`` / ``response.updated`` /
``response.deleted`` in Argilla (the server's worker delivers them, signed with the Standard Webhooks
scheme; the receiver checks every signature with the ``standardwebhooks`` package and answers 401 to one
that does not verify, applying nothing). A verified event wakes one applier thread, which waits
``debounce_s`` for more answers and runs the ordinary pull (:func:`.pull.pull`): the same idempotent path
``workbench review pull`` takes, so the two always reach the same state and an answer that arrives while
the receiver is down is applied by the next pull, live or manual. The pull decides a batch the moment its
sequential test crosses a boundary and withdraws the decided batch's unanswered records from the queue.

``workbench review listen DIR`` runs it until Ctrl-C.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["LiveReview", "WEBHOOK_EVENTS"]

log = logging.getLogger("workbench.review.live")

WEBHOOK_EVENTS = ("response.created", "response.updated", "response.deleted")


class LiveReview:
    """The receiver: ``start()`` binds 127.0.0.1 (``port`` 0: a free one), registers the webhook and returns
    its URL; ``stop()`` removes the webhook and stops. ``reports`` are the reports of the pulls it ran
    (``last`` the latest), ``rejected`` counts requests whose signature did not verify."""

    def __init__(
        self,
        project_dir: str | Path,
        client,
        *,
        workspace: str | None = None,
        port: int = 0,
        debounce_s: float = 1.0,
        max_error: float = 0.10,
    ) -> None:
        self.project_dir, self.client, self.workspace = Path(project_dir), client, workspace
        self.port, self.debounce_s, self.max_error = port, debounce_s, max_error
        self.rejected, self.reports, self.errors = 0, [], []
        self._wake, self._stop = threading.Event(), threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._webhook: dict[str, Any] | None = None

    @property
    def applied(self) -> int:
        return len(self.reports)

    @property
    def last(self) -> dict | None:
        return self.reports[-1] if self.reports else None

    @property
    def description(self) -> str:
        """What its webhook says in Argilla (which project's receiver it is)."""
        return f"workbench live review: {self.project_dir.resolve()}"

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/argilla"

    def start(self) -> str:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self._threads = [
            threading.Thread(target=self._server.serve_forever, name="live-review-http", daemon=True),
            threading.Thread(target=self._apply_loop, name="live-review-pull", daemon=True),
        ]
        for t in self._threads:
            t.start()
        http = self.client.api.http_client
        # one receiver per project: a webhook an earlier receiver of it left (a killed process) goes first
        listed = http.get("/api/v1/webhooks")
        listed.raise_for_status()
        for old in listed.json().get("items") or []:
            if old.get("description") == self.description:
                http.delete(f"/api/v1/webhooks/{old['id']}").raise_for_status()
        made = http.post(
            "/api/v1/webhooks",
            json={"url": self.url, "events": list(WEBHOOK_EVENTS), "description": self.description},
        )
        made.raise_for_status()
        self._webhook = made.json()
        log.info("live review: webhook %s -> %s", self._webhook["id"], self.url)
        return self.url

    def stop(self) -> None:
        if self._webhook is not None:
            self.client.api.http_client.delete(f"/api/v1/webhooks/{self._webhook['id']}")
            self._webhook = None
        self._stop.set()
        self._wake.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for t in self._threads:
            t.join(timeout=30)

    def __enter__(self) -> LiveReview:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def verify(self, body: bytes, headers: dict[str, str]) -> dict | None:
        """The event when its signature verifies with the webhook's secret, else ``None``."""
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError

        if self._webhook is None:
            return None
        try:
            return Webhook(self._webhook["secret"]).verify(body, headers)
        except WebhookVerificationError:
            return None

    def _apply_loop(self) -> None:
        from curation import Project

        from .pull import pull

        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.is_set():
                return
            if self._stop.wait(self.debounce_s):  # answers come in runs: apply them together
                return
            self._wake.clear()
            try:
                with Project(self.project_dir) as project:
                    report = pull(project, self.client, workspace=self.workspace, max_error=self.max_error)
                self.reports.append(report)
            except Exception as exc:  # the next event or a manual pull catches up; nothing is half-written
                log.warning(
                    "live review: the pull failed (%s); the next answer or `workbench review pull` retries", exc
                )
                self.errors.append(repr(exc))


def _handler(live: LiveReview):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            event = live.verify(body, {k.lower(): v for k, v in self.headers.items()})
            if event is None:
                live.rejected += 1
                self.send_response(401)
                self.end_headers()
                return
            self.send_response(204)
            self.end_headers()
            if event.get("type") in WEBHOOK_EVENTS:
                live._wake.set()

        def log_message(self, fmt: str, *args) -> None:  # quiet: the pull reports what it applied
            log.debug("live review: " + fmt, *args)

    return Handler
