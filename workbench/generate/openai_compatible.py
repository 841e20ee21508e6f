"""``openai-compatible``: chat completions over HTTP, as served by hosted APIs, vLLM, llama.cpp server and
Ollama.

``POST {base_url}/chat/completions`` with the model, the messages of :mod:`.prompt` and a
``json_schema`` response format. Each request asks for up to ``chunk`` items of one kind (same
intended labels); an answer with fewer valid examples is kept and the rest asked for again at once.
HTTP 429 / 5xx, timeouts and connection errors are retried with exponential backoff (tenacity); a 429's
``Retry-After`` is honoured. Refusals, malformed JSON, truncated output (``finish_reason == "length"``),
examples that repeat the seed (most of their shingles are the seed's, or a Jaccard of 0.8 with it) and
examples whose labels are not the intended ones are counted and asked for again, never stored.
``max_attempts`` counts *faults in a row*: an answer that brings at least one valid example resets it,
so an endpoint that answers short keeps going until the batch is full. Requests run ``concurrency`` at a time under a requests-per-minute limit. The API key is read
from the environment variable named by ``api_key_env`` and sent only as ``Authorization: Bearer``:
it is never part of a cache key, a record, an error message or a log line.
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator, Sequence

from curation import Taxonomy, WorkbenchError, normalise_text
from curation.ingest import shingles

from .base import GenerationStats, Item, SeedSpec, Slot
from .prompt import build_messages, prompt_hash, response_format

__all__ = ["OpenAICompatibleProvider"]


class _Retryable(Exception):
    """A failure worth asking again for (rate limit, server error, timeout, bad output); ``retry_after``:
    the seconds the server asked us to wait, when it said."""

    def __init__(self, kind: str, detail: str = "", *, retry_after: float | None = None):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.retry_after = retry_after


class _FaultsInARow:
    """The retry policy of one fill: waits grow with the faults in a row (not the attempts), a short but
    useful answer (``_Progress``) asks again at once and resets the count, a server's Retry-After wins."""

    def __init__(self, stats: GenerationStats, *, max_attempts: int, backoff: float, max_backoff: float):
        from tenacity import wait_exponential

        self.stats, self.max_attempts = stats, max_attempts
        self.faults, self.progress, self.retry_after = 0, False, None
        self._backoff = wait_exponential(multiplier=backoff, max=max_backoff)
        self.attempt_number = 0  # what tenacity's exponential wait reads

    def wait(self, _retry_state) -> float:
        if self.progress:
            return 0.0
        if self.retry_after is not None:
            return self.retry_after
        self.attempt_number = self.faults
        return self._backoff(self)

    def stop(self, _retry_state) -> bool:
        return not self.progress and self.faults >= self.max_attempts

    def count(self, retry_state) -> None:
        error = retry_state.outcome.exception()
        self.progress = isinstance(error, _Progress)
        self.retry_after = getattr(error, "retry_after", None)
        self.faults = 0 if self.progress else self.faults + 1
        if not self.progress:
            self.stats.retried += 1


class _Progress(Exception):
    """A short answer that brought valid examples: ask for the rest at once, the fault count reset."""


REPEAT_CONTAINMENT = 0.5  # a text most of whose shingles are the seed's repeats it
REPEAT_JACCARD = 0.8
MAX_RETRY_AFTER = 300.0


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date); ``None`` if absent or unreadable.

    >>> _retry_after("3"), _retry_after(None), _retry_after("soon")
    (3.0, None, None)
    """
    if not value:
        return None
    try:
        return max(0.0, min(MAX_RETRY_AFTER, float(value)))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(MAX_RETRY_AFTER, when.timestamp() - time.time()))


def repeats_seed(text_shingles: set[str], seed_shingles: set[str]) -> bool:
    """Whether a text repeats the seed: most of its shingles are the seed's (a verbatim half of the seed
    does), or the two are near-identical as wholes."""
    if not text_shingles:
        return False
    common = len(text_shingles & seed_shingles)
    containment = common / len(text_shingles)
    jaccard = common / max(1, len(text_shingles | seed_shingles))
    return containment > REPEAT_CONTAINMENT or jaccard >= REPEAT_JACCARD


class _RateLimit:
    """At most ``rpm`` request starts in any minute (evenly spaced)."""

    def __init__(self, rpm: float | None):
        self.interval = 60.0 / rpm if rpm else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        time.sleep(max(0.0, start - now))


def _shingles(text: str) -> set[str]:
    """The text's character 5-shingles as the store's dedup sees them."""
    return set(shingles(normalise_text(text)))


class OpenAICompatibleProvider:
    """Chat-completions generator (see the module docstring).

    Parameters
    ----------
    taxonomy : Taxonomy
        Label descriptions for the prompt.
    base_url, model : str
        ``{base_url}/chat/completions`` and the model name.
    api_key_env : str, optional
        Environment variable holding the API key (none: no Authorization header).
    chunk : int
        Items asked for per request.
    concurrency, rpm : int, float
        Requests in flight at once; request starts per minute (``None``: unlimited).
    max_attempts : int
        Attempts per request before its slots are given up (counted in ``failed_slots``).
    timeout, backoff, max_backoff : float
        Seconds per request; first and largest wait between attempts.
    temperature : float
    """

    name = "openai-compatible"

    def __init__(
        self,
        taxonomy: Taxonomy,
        *,
        base_url: str,
        model: str,
        api_key_env: str | None = None,
        chunk: int = 20,
        concurrency: int = 4,
        rpm: float | None = 60,
        max_attempts: int = 6,
        timeout: float = 60.0,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        temperature: float = 0.9,
    ):
        if not base_url.startswith(("http://", "https://")):
            raise WorkbenchError(
                "--base-url",
                expected="an http(s) URL of an OpenAI-compatible server",
                got=repr(base_url),
                fix="e.g. http://127.0.0.1:8000/v1",
            )
        if api_key_env and not os.environ.get(api_key_env):
            raise WorkbenchError(
                f"API key variable {api_key_env}",
                expected="a variable set in the environment",
                got="unset or empty",
                fix=f"export {api_key_env}=... (the key is never stored)",
            )
        self.taxonomy, self.model, self.api_key_env = taxonomy, model, api_key_env
        self.base_url = base_url.rstrip("/")
        self.chunk, self.concurrency, self.max_attempts = chunk, concurrency, max_attempts
        self.timeout, self.backoff, self.max_backoff, self.temperature = timeout, backoff, max_backoff, temperature
        self._rate = _RateLimit(rpm)
        # what makes the items (the cache key): never the URL's credentials or the key
        self.params = {"temperature": temperature, "chunk": chunk}

    # ---------------------------------------------------------------------- one request
    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _request(
        self, client, seed: SeedSpec, labels: dict[str, int], k: int, stats: GenerationStats
    ) -> tuple[list[dict[str, Any]], str]:
        """One chat completion for ``k`` items of one kind: validated examples and the prompt hash."""
        import httpx

        messages = build_messages(self.taxonomy, seed, labels, k)
        fmt = response_format(k)
        body = {"model": self.model, "messages": messages, "response_format": fmt, "temperature": self.temperature}
        self._rate.wait()
        stats.requests += 1
        try:
            resp = client.post(
                f"{self.base_url}/chat/completions", json=body, headers=self._headers(), timeout=self.timeout
            )
        except (httpx.TimeoutException, httpx.TransportError) as e:
            raise _Retryable("transport", type(e).__name__) from e
        if resp.status_code == 429:
            raise _Retryable("http", "429", retry_after=_retry_after(resp.headers.get("retry-after")))
        if resp.status_code >= 500:
            raise _Retryable("http", str(resp.status_code))
        if resp.status_code >= 400:
            raise WorkbenchError(
                f"chat completions at {self.base_url}",
                expected="HTTP 200",
                got=f"HTTP {resp.status_code}: {resp.text[:200]}",
                fix="check --base-url, --model and the API key variable",
            )
        try:
            choice = resp.json()["choices"][0]
            message = choice["message"]
        except (ValueError, KeyError, IndexError, TypeError) as e:
            stats.malformed += 1
            raise _Retryable("malformed", "no choices[0].message") from e
        if message.get("refusal"):
            stats.refused += 1
            raise _Retryable("refusal", str(message["refusal"])[:80])
        if choice.get("finish_reason") == "length":
            stats.truncated += 1
            raise _Retryable("truncated")
        try:
            examples = json.loads(message.get("content") or "")["examples"]
            if not isinstance(examples, list):
                raise TypeError("examples is not a list")
        except (ValueError, KeyError, TypeError) as e:
            stats.malformed += 1
            raise _Retryable("malformed", str(e)[:80]) from e
        return self._valid(seed, labels, examples, stats)[:k], prompt_hash(messages, fmt)

    def _valid(self, seed: SeedSpec, labels: dict[str, int], examples: list, stats: GenerationStats) -> list[dict]:
        want = sorted(lab for lab, v in labels.items() if v == 1)
        seed_sh = _shingles(seed.text)
        out = []
        for ex in examples:
            if (
                not isinstance(ex, dict)
                or not isinstance(ex.get("text"), str)
                or not ex["text"].strip()
                or "\x00" in ex["text"]
                or not isinstance(ex.get("labels"), list)
            ):
                stats.malformed += 1
                continue
            if repeats_seed(_shingles(ex["text"]), seed_sh):
                stats.repeated_seed += 1
                continue
            if sorted(set(map(str, ex["labels"]))) != want:
                stats.mislabelled += 1
                continue
            out.append(ex)
        return out

    def _fill(self, client, seed: SeedSpec, slots: list[Slot], stats: GenerationStats) -> list[Item]:
        """Items for slots of one kind, asking again until they are filled or ``max_attempts`` faults
        come in a row (progress resets the count; see the module docstring)."""
        from tenacity import RetryError, Retrying, retry_if_exception_type

        items: list[Item] = []
        todo = list(slots)
        policy = _FaultsInARow(
            stats, max_attempts=self.max_attempts, backoff=self.backoff, max_backoff=self.max_backoff
        )
        retrying = Retrying(
            retry=retry_if_exception_type((_Retryable, _Progress)),
            stop=policy.stop,
            wait=policy.wait,
            reraise=False,
            after=policy.count,
        )
        try:
            for attempt in retrying:
                with attempt:
                    examples, phash = self._request(client, seed, dict(todo[0].labels), len(todo), stats)
                    for slot, ex in zip(todo, examples):
                        items.append(
                            Item(
                                slot.index,
                                ex["text"].strip(),
                                dict(slot.labels),
                                {"prompt_hash": phash, "overlap_label": slot.overlap_label},
                            )
                        )
                    todo = todo[len(examples) :]
                    if todo and examples:  # a short answer is kept; the rest is asked for again at once
                        raise _Progress()
                    if todo:
                        raise _Retryable("short", f"no valid example, {len(todo)} missing")
        except RetryError:
            stats.failed_slots += len(todo)
        return items

    def generate(
        self, seed: SeedSpec, slots: Sequence[Slot], *, stats: GenerationStats, on_item=None
    ) -> Iterator[Item]:
        """Items for ``slots``; ``on_item`` is called with each as soon as it arrives (the caller caches it)."""
        import httpx

        groups: list[list[Slot]] = []
        for slot in slots:  # consecutive slots with the same intended labels, cut into chunks
            if groups and groups[-1][0].labels == slot.labels and len(groups[-1]) < self.chunk:
                groups[-1].append(slot)
            else:
                groups.append([slot])
        lock = threading.Lock()
        with httpx.Client() as client, ThreadPoolExecutor(max_workers=self.concurrency) as pool:

            def work(group):
                local = GenerationStats()
                made = self._fill(client, seed, group, local)
                with lock:
                    stats.add(local)
                    for item in made:
                        if on_item is not None:
                            on_item(item)
                return made

            for made in pool.map(work, groups):
                yield from made
