"""A small chat-completions server on 127.0.0.1 for the generation tests: real HTTP, scripted behaviour.

Each request takes the next behaviour of ``script`` (then ``default``): ``ok`` answers with as many
examples as the prompt asks for, with the labels it asks for; ``429`` / ``500`` are HTTP errors; ``slow``
sleeps past the client's timeout; ``malformed`` is not JSON; ``refusal`` refuses; ``truncated`` stops
at the length limit; ``short`` answers with half the examples; ``bad_labels`` labels them wrongly;
``repeat`` repeats the seed; ``429-retry-after`` is a 429 with ``Retry-After: 1``; ``four-half-seed``
answers at most 4 examples: the seed's first half, verbatim, then up to 3 valid ones. Every request is kept
(``requests``, with its Authorization header and the time it arrived).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = (
    "apple river cloud tiger lemon orbit candle meadow violin harbor pencil falcon desert marble rocket "
    "garden silver thunder planet wallet ticket bridge castle dragon feather glacier hammer island jungle "
    "ladder magnet needle ocean parrot quartz saddle tunnel umbrella valley walnut yacht zebra anchor basket "
    "cactus dolphin engine forest goblet helmet igloo jacket kettle lantern mirror nectar oyster pepper"
).split()
ASK = re.compile(r"Return exactly (\d+) examples; each example's labels: (\[.*\])")


class FakeChatServer:
    def __init__(self, script=(), *, default: str = "ok", slow_seconds: float = 3.0, delay: float = 0.0):
        self.script = list(script)
        self.default = default
        self.slow_seconds = slow_seconds
        self.delay = delay
        self.requests: list[dict] = []
        self.items_asked: list[int] = []
        self._lock = threading.Lock()
        self._counter = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _examples(self, k: int, labels: list[str]) -> list[dict]:
        with self._lock:
            self._counter += 1
            rng = random.Random(self._counter)
        return [
            {"text": " ".join(rng.sample(WORDS, 9)) + f" no{self._counter}x{i}", "labels": labels} for i in range(k)
        ]

    def _answer(self, body: dict) -> tuple[int, str]:
        with self._lock:
            behaviour = self.script.pop(0) if self.script else self.default
        prompt = body["messages"][-1]["content"]
        m = ASK.search(prompt)
        k, labels = int(m.group(1)), json.loads(m.group(2))
        with self._lock:
            self.items_asked.append(k)
        if self.delay:
            time.sleep(self.delay)
        if behaviour in ("429", "500"):
            return int(behaviour), json.dumps({"error": {"message": "try later"}})
        if behaviour == "429-retry-after":
            return 429, json.dumps({"error": {"message": "slow down"}}), {"Retry-After": "1"}
        if behaviour == "slow":
            time.sleep(self.slow_seconds)
        if behaviour == "malformed":
            return 200, json.dumps(
                {"choices": [{"message": {"content": '{"examples": [{"text": '}, "finish_reason": "stop"}]}
            )
        if behaviour == "refusal":
            return 200, json.dumps(
                {
                    "choices": [
                        {"message": {"content": None, "refusal": "I can't help with that."}, "finish_reason": "stop"}
                    ]
                }
            )
        content = {"examples": self._examples(k, labels)}
        finish = "stop"
        if behaviour == "truncated":
            finish = "length"
        elif behaviour == "short":
            content["examples"] = content["examples"][: max(1, k // 2)]
        elif behaviour == "bad_labels":
            for ex in content["examples"]:
                ex["labels"] = ["not-a-label"]
        elif behaviour == "repeat":
            seed = prompt.split("):\n", 1)[1].split("\n", 1)[0]
            content["examples"] = [{"text": seed, "labels": labels}] * k
        elif behaviour == "four-half-seed":
            seed = prompt.split("):\n", 1)[1].split("\n", 1)[0]
            half = seed[: len(seed) // 2]
            content["examples"] = [{"text": half, "labels": labels}] + content["examples"][: min(k, 3)]
        text = json.dumps(content)
        if behaviour == "truncated":
            text = text[: len(text) // 2]
        return 200, json.dumps(
            {"choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": finish}]}
        )

    def _handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer._lock:
                    outer.requests.append(
                        {
                            "path": self.path,
                            "body": body,
                            "authorization": self.headers.get("Authorization"),
                            "at": time.monotonic(),
                        }
                    )
                if self.path != "/v1/chat/completions":
                    self.send_error(404, "no such endpoint")
                    return
                status, text, *more = outer._answer(body)
                data = text.encode()
                try:
                    self.send_response(status)
                    for name, value in (more[0] if more else {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

        return Handler
