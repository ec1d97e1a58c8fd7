"""HTTP plumbing of the fake provider: routing, body parsing, SSE writing.

Paths are mapped to wires by :mod:`switchboard.testing.routes`. A ``GET`` on
the Responses path (the WebSocket upgrade Codex tries first) is refused at
once with ``426 Upgrade Required`` so the client falls back to HTTP ``POST``.

Built on :class:`http.server.ThreadingHTTPServer`; every connection gets its
own daemon thread. Responses are HTTP/1.1 with ``Connection: close``:
non-streamed bodies carry ``Content-Length``, streamed bodies use chunked
transfer encoding and every event is flushed as soon as it is written, so a
client sees each chunk when it is sent. Sleeps wait on the provider's stop
event so that stopping the server never waits for a slow scripted reply.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from switchboard.testing.anthropic_wire import prompt_text as anthropic_prompt
from switchboard.testing.book import ScriptBook
from switchboard.testing.gemini_wire import count_tokens_body
from switchboard.testing.recording import RecordedRequest, Recorder
from switchboard.testing.responses_wire import RESPONSES
from switchboard.testing.routes import Route, route
from switchboard.testing.script import Answer, Fail, Hang, Step, estimate_tokens
from switchboard.testing.side import SideRule
from switchboard.testing.wire import Exchange, Usage, now

_MODELS_PATHS = ("/v1/models", "/models")
_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class FakeServer(ThreadingHTTPServer):
    """The listening server; holds the script, the recorder and the stop event."""

    daemon_threads = True
    allow_reuse_address = True
    # The default backlog of 5 drops connections when many clients arrive at once.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        book: ScriptBook,
        recorder: Recorder,
        stopping: threading.Event,
        *,
        side_rule: SideRule | None = None,
        websocket_status: int = 426,
        verbose: bool = False,
    ) -> None:
        self.book = book
        self.side_rule = side_rule
        self.websocket_status = websocket_status
        self.recorder = recorder
        self.stopping = stopping
        self.verbose = verbose
        super().__init__(address, FakeHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-stream is normal for a test server; stay quiet.
        if not isinstance(sys.exc_info()[1], _DISCONNECTS):
            super().handle_error(request, client_address)


class FakeHandler(BaseHTTPRequestHandler):
    """Answers one connection according to the provider's script."""

    server: FakeServer
    protocol_version = "HTTP/1.1"
    server_version = "SwitchboardFakeProvider/1"

    # --- entry points -------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # --- routing ------------------------------------------------------------------

    def _dispatch(self) -> None:
        self.close_connection = True
        parts = urlsplit(self.path)
        path = parts.path or "/"
        target = route(path)
        try:
            raw = self._read_body()
        except ValueError:
            raw, body, bad_body = b"", None, True
        else:
            body, bad_body = _decode(raw)
        model = body.get("model") if isinstance(body, dict) else None
        if target is not None and target.path_model is not None:
            model = target.path_model
        request = RecordedRequest(
            method=self.command,
            path=path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            raw=raw,
            model=model if isinstance(model, str) else None,
            api=target.wire.name if target is not None else None,
            received_at=time.time(),
        )
        side_step = self._side_step(request, target, bad_body)
        if side_step is not None:
            request = replace(request, side=True)
        self.server.recorder.add(request)
        with contextlib.suppress(*_DISCONNECTS):
            self._route(request, target, bad_body, side_step)

    def _side_step(self, request: RecordedRequest, target: Route | None, bad: bool) -> Step | None:
        rule = self.server.side_rule
        if rule is None or target is None or target.counter or bad or self.command != "POST":
            return None
        if not isinstance(request.body, dict):
            return None
        return rule(request)

    def _route(
        self, request: RecordedRequest, target: Route | None, bad_body: bool, side: Step | None
    ) -> None:
        path, body = request.path, request.body
        if target is not None:
            wire = target.wire
            if self.command == "GET" and wire is RESPONSES:
                status = self.server.websocket_status
                message = "WebSocket transport is not offered here; POST over HTTP instead"
                self._send_json(status, wire.error_body(status, message, None))
            elif self.command != "POST":
                message = f"{self.command} is not allowed on {path}; use POST"
                self._send_json(405, wire.error_body(405, message, None), {"Allow": "POST"})
            elif bad_body or not isinstance(body, dict):
                message = "the request body must be a JSON object"
                self._send_json(400, wire.error_body(400, message, None))
            elif target.counter:
                self._send_json(200, _count_tokens(target, body))
            else:
                step = side if side is not None else self.server.book.next_step(request.model)
                self._answer(target, request, body, step)
        elif self.command in ("GET", "HEAD") and path == "/":
            self._send_json(200, {"status": "ok", "service": "switchboard fake provider"})
        elif self.command in ("GET", "HEAD") and path in _MODELS_PATHS:
            self._send_json(200, self._model_list())
        else:
            message = f"no route for {self.command} {path}"
            body_404 = {
                "type": "error",
                "error": {"type": "not_found_error", "message": message, "code": "not_found"},
            }
            self._send_json(404, body_404)

    def _model_list(self) -> dict[str, Any]:
        created = now()
        data = [
            {
                "id": name,
                "object": "model",
                "type": "model",
                "display_name": name,
                "created": created,
                "owned_by": "switchboard-fake",
            }
            for name in self.server.book.models()
        ]
        return {"object": "list", "data": data, "has_more": False}

    # --- answering ----------------------------------------------------------------

    def _answer(
        self, target: Route, request: RecordedRequest, body: dict[str, Any], step: Step
    ) -> None:
        wire = target.wire
        if isinstance(step, Hang):
            self.server.stopping.wait()
            return
        if step.delay_s and self._wait(step.delay_s):
            return
        if isinstance(step, Fail):
            error = wire.error_body(step.status, step.message, step.retry_after)
            self._send_json(step.status, error, _retry(step))
            return
        usage = Usage.for_answer(step, wire.prompt_text(body))
        ex = Exchange(body, request.model or "fake-model", request.query, target.action)
        if wire.wants_stream(ex):
            self._stream(target, step, ex, usage)
        else:
            self._send_json(200, wire.message_body(step, ex, usage))

    def _stream(self, target: Route, answer: Answer, ex: Exchange, usage: Usage) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        sent_text = False
        for frame in target.wire.stream_frames(answer, ex, usage):
            if frame.is_text:
                if sent_text and answer.chunk_delay_s and self._wait(answer.chunk_delay_s):
                    return
                sent_text = True
            if self.server.stopping.is_set():
                return
            self._write_chunk(frame.payload)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # --- low level ----------------------------------------------------------------

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the server stops first; True means it is stopping."""
        return self.server.stopping.wait(seconds)

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def _read_body(self) -> bytes:
        """Read the request body (Content-Length or chunked); ValueError if malformed."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            pieces: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(pieces)
                pieces.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""


def _decode(raw: bytes) -> tuple[Any, bool]:
    """Decode a JSON body: ``(value, malformed)``; an empty body is ``(None, False)``."""
    if not raw.strip():
        return None, False
    try:
        return json.loads(raw), False
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, True


def _count_tokens(target: Route, body: dict[str, Any]) -> dict[str, Any]:
    """The answer of a token-counting endpoint."""
    if target.wire.name == "gemini":
        return count_tokens_body(body)
    return {"input_tokens": estimate_tokens(anthropic_prompt(body))}


def _retry(step: Fail) -> dict[str, str]:
    """``Retry-After`` headers for a failure.

    ``Retry-After`` only allows whole seconds (and common clients parse it as an
    integer), so it is rounded up; ``retry-after-ms`` carries the exact value.
    """
    if step.retry_after is None:
        return {}
    seconds = step.retry_after
    return {
        "Retry-After": str(math.ceil(seconds)),
        "retry-after-ms": str(math.ceil(seconds * 1000)),
    }
