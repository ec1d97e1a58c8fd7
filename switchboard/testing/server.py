"""HTTP plumbing of the fake provider: routing, body parsing, SSE writing.

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from switchboard.testing.anthropic_wire import ANTHROPIC
from switchboard.testing.openai_wire import OPENAI
from switchboard.testing.recording import Api, RecordedRequest, Recorder
from switchboard.testing.script import Fail, Reply, ScriptBook
from switchboard.testing.wire import Usage, Wire, now

_API_PATHS: dict[str, Wire] = {
    "/v1/chat/completions": OPENAI,
    "/chat/completions": OPENAI,
    "/v1/messages": ANTHROPIC,
}
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
        verbose: bool = False,
    ) -> None:
        self.book = book
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
        wire = _API_PATHS.get(path)
        try:
            raw = self._read_body()
        except ValueError:
            raw, body, bad_body = b"", None, True
        else:
            body, bad_body = _decode(raw)
        model = body.get("model") if isinstance(body, dict) else None
        self.server.recorder.add(
            RecordedRequest(
                method=self.command,
                path=path,
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
                raw=raw,
                model=model if isinstance(model, str) else None,
                api=_api_name(wire),
                received_at=time.time(),
            )
        )
        with contextlib.suppress(*_DISCONNECTS):
            self._route(path, wire, body, bad_body)

    def _route(self, path: str, wire: Wire | None, body: Any, bad_body: bool) -> None:
        if wire is not None:
            if self.command != "POST":
                message = f"{self.command} is not allowed on {path}; use POST"
                self._send_json(405, wire.error_body(405, message), {"Allow": "POST"})
            elif bad_body or not isinstance(body, dict):
                message = "the request body must be a JSON object"
                self._send_json(400, wire.error_body(400, message))
            else:
                self._answer(wire, body)
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

    def _answer(self, wire: Wire, body: dict[str, Any]) -> None:
        model = body.get("model")
        model_name = model if isinstance(model, str) else None
        step = self.server.book.next_step(model_name)
        if step.delay_s and self._wait(step.delay_s):
            return
        if isinstance(step, Fail):
            self._send_json(step.status, wire.error_body(step.status, step.message), _retry(step))
            return
        usage = Usage.for_reply(step, wire.prompt_text(body))
        echo_model = model_name or "fake-model"
        if wire.wants_stream(body):
            self._stream(wire, step, echo_model, usage, body)
        else:
            self._send_json(200, wire.message_body(step, echo_model, usage))

    def _stream(
        self, wire: Wire, reply: Reply, model: str, usage: Usage, body: dict[str, Any]
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        sent_text = False
        for frame in wire.stream_frames(reply, model, usage, body):
            if frame.is_text:
                if sent_text and reply.chunk_delay_s and self._wait(reply.chunk_delay_s):
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


def _api_name(wire: Wire | None) -> Api | None:
    if wire is OPENAI:
        return "openai"
    if wire is ANTHROPIC:
        return "anthropic"
    return None


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
