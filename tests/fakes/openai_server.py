"""A small real HTTP server speaking OpenAI's ``POST /v1/chat/completions``.

The remote model provider is the one thing the tests fake, and they fake it
with this server on 127.0.0.1, over real sockets, with streaming SSE in
chunked HTTP/1.1 like real OpenAI-compatible servers. Switches make it
misbehave:

``ok``           answer (streamed or not), content depends on the messages
``slow``         wait ``delay`` seconds before answering (read timeouts)
``stall``        send the first chunk, then wait ``delay`` seconds
``overloaded``   HTTP 503;  ``rate_limited`` HTTP 429;  ``error`` HTTP 500
``garbage``      HTTP 200 with chunks that are not JSON
``drop``         send one chunk, then close the socket mid-stream
``empty``        finish a stream with no content

A message containing ``[hold]`` makes the request wait until
:meth:`FakeOpenAI.release` is called (bounded), so tests can keep a turn in
flight without timing guesses. Run it standalone with
``python -m tests.fakes.openai_server --port 0``; switch modes from another
process with ``POST /_fake/mode {"mode": "slow", "delay": 5}``.
"""

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOLD_MARK = "[hold]"
HOLD_LIMIT_SECONDS = 15.0
MODES = (
    "ok",
    "slow",
    "stall",
    "overloaded",
    "rate_limited",
    "error",
    "garbage",
    "drop",
    "empty",
)


def reply_text(messages: list[dict[str, Any]]) -> str:
    """Return the fake model's answer: what it was given, visibly."""
    last = str(messages[-1].get("content", "")) if messages else ""
    return f"[fake] {len(messages)} messages; last: {last[:40]}"


class FakeOpenAI:
    """The server and its switches; ``requests`` records every body received."""

    def __init__(self, *, port: int = 0, api_key: str = "") -> None:
        self.mode = "ok"
        self.delay = 5.0
        self.api_key = api_key
        self.model = "fake-model"
        self.requests: list[dict[str, Any]] = []
        self.held = threading.Event()
        self._release = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.server.daemon_threads = True
        self.server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def set_mode(self, mode: str, delay: float | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        if delay is not None:
            self.delay = delay

    def release(self) -> None:
        """Let held requests answer."""
        self._release.set()

    def arm_hold(self) -> None:
        """Make the next ``[hold]`` request wait again after a release."""
        self.held.clear()
        self._release.clear()

    def record(self, body: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(body)

    def wait(self, seconds: float) -> None:
        """Sleep, but wake up when the server stops."""
        self._stopping.wait(seconds)

    def hold(self) -> None:
        self.held.set()
        self._release.wait(HOLD_LIMIT_SECONDS)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read ``requests`` instead

    @property
    def fake(self) -> FakeOpenAI:
        return self.server.fake

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, kind: str, headers: dict[str, str] | None = None):
        self._json(status, {"error": {"message": kind, "type": kind}}, headers)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _event(self, payload: Any) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._chunk(f"data: {text}\n\n".encode())

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path == "/_fake/mode":
            body = json.loads(raw or b"{}")
            self.fake.set_mode(body.get("mode", "ok"), body.get("delay"))
            self._json(200, {"mode": self.fake.mode, "delay": self.fake.delay})
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._error(404, "not_found")
            return
        if self.fake.api_key and (
            self.headers.get("Authorization") != f"Bearer {self.fake.api_key}"
        ):
            self._error(401, "invalid_api_key")
            return
        try:
            body = json.loads(raw)
            messages = body["messages"]
        except (ValueError, KeyError, TypeError):
            self._error(400, "invalid_request_error")
            return
        self.fake.record(body)
        if any(HOLD_MARK in str(m.get("content", "")) for m in messages):
            self.fake.hold()
        self._answer(body, messages)

    def _answer(self, body: dict[str, Any], messages: list[dict[str, Any]]) -> None:
        fake = self.fake
        mode = fake.mode
        if mode == "slow":
            fake.wait(fake.delay)
        if mode == "overloaded":
            self._error(503, "overloaded", {"Retry-After": "1"})
            return
        if mode == "rate_limited":
            self._error(429, "rate_limit_exceeded", {"Retry-After": "1"})
            return
        if mode == "error":
            self._error(500, "server_error")
            return

        text = reply_text(messages)
        created = int(time.time())
        if not body.get("stream"):
            self._json(
                200,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": created,
                    "model": fake.model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": _usage(messages, text),
                },
            )
            return

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": fake.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        if mode == "garbage":
            self._event("{this is not json")
            self._chunk(b"")
            return
        self._event(chunk({"role": "assistant", "content": ""}))
        words = [] if mode == "empty" else text.split(" ")
        for i, word in enumerate(words):
            self._event(chunk({"content": word if i == 0 else " " + word}))
            if i == 0 and mode == "drop":
                # Cut the connection with the chunked body unfinished.
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if i == 0 and mode == "stall":
                fake.wait(fake.delay)
        self._event(chunk({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            usage_chunk = chunk({})
            usage_chunk["choices"] = []
            usage_chunk["usage"] = _usage(messages, text)
            self._event(usage_chunk)
        self._event("[DONE]")
        self._chunk(b"")


def _usage(messages: list[dict[str, Any]], text: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content", "")).split()) for m in messages)
    completion = len(text.split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mode", default="ok", choices=MODES)
    parser.add_argument("--delay", type=float, default=5.0)
    parser.add_argument("--api-key", default="")
    args = parser.parse_args()
    fake = FakeOpenAI(port=args.port, api_key=args.api_key)
    fake.set_mode(args.mode, args.delay)
    print(fake.base_url, flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
