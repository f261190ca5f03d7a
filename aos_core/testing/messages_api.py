"""A local fake of the Anthropic Messages API, for tests and for `aos demo` offline.

Standard library only (the core never imports anthropic). It speaks enough of the API for the
real anthropic client pointed at it with `base_url=server.url`:

- `POST /v1/messages` (non-streaming): a message object (id, type, role, content blocks,
  model, stop_reason, usage); `POST /v1/messages/count_tokens`: `{"input_tokens": N}`.
- A request without a key (`x-api-key`, or `Authorization: Bearer`) gets a 401
  `authentication_error`; so does a wrong key when the server was given one.
- Replies are scripted in a queue (`reply_text`, `reply_json`, `reply_error`); with the queue
  empty it answers deterministically with a short summary echoing the prompt's first words.
- Every request is recorded (`server.requests`) for assertions.

Token counts are deterministic: one token per four characters, rounded up, plus a few per
message; never more than the request's UTF-8 byte count plus framing, like the real tokenizer.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["MessagesAPIServer", "RecordedRequest", "ScriptedReply", "count_tokens"]

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_SUMMARY_WORDS = 12


@dataclass(frozen=True, slots=True)
class ScriptedReply:
    """One answer: an HTTP status, a JSON body (None: build a message from `text`), headers, a delay."""

    status: int = 200
    text: str | None = None
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    stop_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request as received: method, path, headers (names lower-cased), the parsed JSON body, and
    the client's port (the same port for two requests means one kept-alive connection)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    client_port: int = 0


def count_tokens(text: str) -> int:
    """The fake tokenizer: one token per four characters, rounded up."""
    return math.ceil(len(text) / 4)


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [b.get("text", "") for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)]
    return []


def _input_tokens(body: Mapping[str, Any]) -> int:
    system = body.get("system")
    total = 3 + sum(count_tokens(t) for t in _texts(system))
    for message in body.get("messages") or []:
        total += 4 + sum(count_tokens(t) for t in _texts(message.get("content") if isinstance(message, dict) else None))
    return total


def _summary(body: Mapping[str, Any]) -> str:
    """The default answer: the first words of the last user message."""
    words: list[str] = []
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            words = " ".join(_texts(message.get("content"))).split()
            break
    shown = " ".join(words[:_SUMMARY_WORDS]) + (" ..." if len(words) > _SUMMARY_WORDS else "")
    return f"Summary: {shown}" if shown else "Summary: (empty prompt)"


class MessagesAPIServer:
    """A threaded HTTP server on 127.0.0.1 answering like the Anthropic Messages API.

    Use it as a context manager; `url` is the `base_url` to give the client. `api_key`, when
    set, is the only key accepted; otherwise any non-empty key is. `default` replaces the
    built-in answer used when the queue is empty.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        default: Callable[[RecordedRequest], ScriptedReply] | None = None,
    ) -> None:
        self.api_key = api_key
        self.default = default
        self._queue: deque[ScriptedReply] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._counter = 0
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> MessagesAPIServer:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        if self._httpd is None:
            self._httpd = _Server(("127.0.0.1", 0), _Handler, self)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, args=(0.05,), name="fake-messages-api", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; idempotent."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> MessagesAPIServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`, the client's `base_url`."""
        if self._httpd is None:
            raise RuntimeError("the server is not running; use it as a context manager or call start()")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- scripting ---------------------------------------------------------------------------
    def queue(self, *replies: ScriptedReply) -> None:
        """Append replies; each request to /v1/messages takes the next one."""
        with self._lock:
            self._queue.extend(replies)

    def reply_text(self, text: str, **options: Any) -> None:
        """Queue a text answer (options: stop_reason, input_tokens, output_tokens, headers, delay_s)."""
        self.queue(ScriptedReply(text=text, **options))

    def reply_json(self, value: Any, **options: Any) -> None:
        """Queue an answer whose text is `value` as JSON."""
        self.reply_text(json.dumps(value), **options)

    def reply_error(
        self,
        status: int,
        message: str = "",
        *,
        error_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        delay_s: float = 0.0,
    ) -> None:
        """Queue an API error: `{"type": "error", "error": {"type", "message"}}` with this status."""
        kind = error_type or ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        body = {"type": "error", "error": {"type": kind, "message": message or kind.replace("_", " ")}}
        self.queue(ScriptedReply(status=status, body=body, headers=dict(headers or {}), delay_s=delay_s))

    @property
    def pending(self) -> int:
        """Scripted replies not yet used."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order."""
        with self._lock:
            return list(self._requests)

    # -- answering (called from handler threads) ---------------------------------------------
    def _answer(self, request: RecordedRequest) -> tuple[int, dict[str, Any], dict[str, str], float]:
        with self._lock:
            self._requests.append(request)
            self._counter += 1
            number = self._counter
        headers = {"request-id": f"req_fake_{number:06d}"}
        if request.method != "POST" or request.path not in ("/v1/messages", "/v1/messages/count_tokens"):
            return 404, _error("not_found_error", f"{request.method} {request.path} not found"), headers, 0.0
        denied = self._check_key(request.headers)
        if denied is not None:
            return 401, _error("authentication_error", denied), headers, 0.0
        body = request.body
        problem = _check_body(body, count_only=request.path.endswith("count_tokens"))
        if problem is not None:
            return 400, _error("invalid_request_error", problem), headers, 0.0
        if request.path.endswith("count_tokens"):
            return 200, {"input_tokens": _input_tokens(body)}, headers, 0.0
        with self._lock:
            scripted = self._queue.popleft() if self._queue else None
        if scripted is None:
            scripted = self.default(request) if self.default else ScriptedReply(text=_summary(body))
        headers.update(scripted.headers)
        if scripted.body is not None:
            return scripted.status, dict(scripted.body), headers, scripted.delay_s
        return scripted.status, _message(number, body, scripted), headers, scripted.delay_s

    def _check_key(self, headers: Mapping[str, str]) -> str | None:
        key = headers.get("x-api-key") or ""
        bearer = headers.get("authorization", "")
        if not key and bearer.lower().startswith("bearer "):
            key = bearer[7:].strip()
        if not key:
            return "x-api-key header is required"
        if self.api_key is not None and key != self.api_key:
            return "invalid x-api-key"
        return None


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _check_body(body: Any, *, count_only: bool) -> str | None:
    if not isinstance(body, dict):
        return "the request body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: field required"
    if not count_only and (not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1):
        return "max_tokens: must be an integer >= 1"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    return None


def _message(number: int, body: Mapping[str, Any], reply: ScriptedReply) -> dict[str, Any]:
    """A Messages-API message; text longer than max_tokens allows is cut, as the API does."""
    text = reply.text or ""
    max_tokens = int(body.get("max_tokens", 1024))
    stop_reason = reply.stop_reason or "end_turn"
    if reply.output_tokens is None and count_tokens(text) > max_tokens:
        text, stop_reason = text[: max_tokens * 4], "max_tokens"
    return {
        "id": f"msg_fake_{number:06d}",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": text}],
        "model": body.get("model"),
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": _input_tokens(body) if reply.input_tokens is None else reply.input_tokens,
            "output_tokens": count_tokens(text) if reply.output_tokens is None else reply.output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: MessagesAPIServer):
        super().__init__(address, handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeMessagesAPI/1"
    timeout = 10  # an idle keep-alive connection is dropped after this

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = self.path.split("?", 1)[0]
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = RecordedRequest(self.command, path, headers, body, int(self.client_address[1]))
        fake: MessagesAPIServer = self.server.fake  # type: ignore[attr-defined]
        status, payload, headers, delay = fake._answer(request)
        if delay > 0:
            time.sleep(delay)
        data = json.dumps(payload).encode()
        try:
            self.send_response(status, _reason(status))
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its timeout); nothing to answer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests read `server.requests` instead of a log."""


def _reason(status: int) -> str:
    if status == 529:
        return "Overloaded"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
