"""``FakeProvider``: the public face of the fake model provider.

Owns the script, the request recorder and the server thread; everything a
test or the ``switchboard demo`` command touches goes through this class.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from switchboard.testing.book import ScriptBook
from switchboard.testing.recording import RecordedRequest, Recorder
from switchboard.testing.script import Reply, Step, ToolCall
from switchboard.testing.server import FakeServer
from switchboard.testing.side import SideRule, harness_side_requests

_JOIN_TIMEOUT_S = 5.0


class FakeProvider:
    """A scriptable model server on loopback speaking the APIs coding agents use.

    Wires: OpenAI Chat Completions and Responses, Anthropic Messages, Gemini
    (see :mod:`switchboard.testing.routes`). It binds ``host``
    (``127.0.0.1``) on ``port`` (0 picks a free one) and serves from a daemon
    thread. Steps are played per model name, in order; models not scripted by
    name play the ``None`` queue; an empty queue answers with ``default``.

    ``side_requests`` is consulted before the script: a request it answers
    (a harness's title or router call, by default) does not consume a step
    (see :mod:`switchboard.testing.side`; ``None`` turns it off).
    ``websocket_status`` is the HTTP status refusing a WebSocket upgrade on
    the Responses path, so Codex falls back to ``POST``.

    Example::

        with FakeProvider() as fp:
            fp.script("gpt-fake", Fail(429, retry_after=1), Reply("hello", output_tokens=5))
            litellm.completion(model="openai/gpt-fake", api_base=fp.openai_base, ...)
            assert fp.requests_for("gpt-fake")[0].api == "openai"

        with FakeProvider() as fp:  # a harness runs one shell command, then answers
            fp.script_tool_use(None, "Bash", {"command": "echo hi > hello.txt"}, final="Done.")
            ...  # run the CLI against fp.url
            assert fp.requests[-1].tool_results  # the harness sent the command's output back
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        default: Step | None = None,
        script: Mapping[str | None, Sequence[Step]] | None = None,
        side_requests: SideRule | None = harness_side_requests,
        websocket_status: int = 426,
        verbose: bool = False,
    ) -> None:
        self._host = host
        self._side_requests = side_requests
        self._websocket_status = websocket_status
        self._port = port
        self._verbose = verbose
        self._book = ScriptBook(default if default is not None else Reply("ok"))
        self._recorder = Recorder()
        self._lock = threading.Lock()
        self._server: FakeServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        for model, steps in (script or {}).items():
            self._book.add(model, steps)

    # --- lifecycle ----------------------------------------------------------------

    def start(self) -> FakeProvider:
        """Bind the port and start serving; returns ``self``. Starting twice is an error."""
        with self._lock:
            if self._server is not None:
                raise RuntimeError("the fake provider is already running")
            self._stopping = threading.Event()
            server = FakeServer(
                (self._host, self._port),
                self._book,
                self._recorder,
                self._stopping,
                side_rule=self._side_requests,
                websocket_status=self._websocket_status,
                verbose=self._verbose,
            )
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fake-provider-{server.server_address[1]}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving and free the port; slow scripted replies are cut short."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
            if server is None:
                return
            self._stopping.set()
            server.shutdown()
            server.server_close()
            if thread is not None:
                thread.join(_JOIN_TIMEOUT_S)

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- addresses ----------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (only while running)."""
        server = self._server
        if server is None:
            raise RuntimeError("the fake provider is not running; call start() first")
        return int(server.server_address[1])

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        return f"http://{self._host}:{self.port}"

    @property
    def openai_base(self) -> str:
        """Base URL for OpenAI-style clients (litellm ``api_base`` for ``openai/`` models)."""
        return f"{self.url}/v1"

    @property
    def anthropic_base(self) -> str:
        """Base URL for Anthropic clients (litellm ``api_base`` for ``anthropic/`` models).

        Also Claude Code's ``ANTHROPIC_BASE_URL``.
        """
        return self.url

    @property
    def responses_base(self) -> str:
        """Base URL for OpenAI Responses clients: Codex's ``model_providers.<id>.base_url``."""
        return f"{self.url}/v1"

    @property
    def gemini_base(self) -> str:
        """Base URL for Gemini clients: the Gemini CLI's ``GOOGLE_GEMINI_BASE_URL``."""
        return self.url

    # --- script -------------------------------------------------------------------

    def script(self, model: str | None, *steps: Step) -> FakeProvider:
        """Queue ``steps`` for ``model`` (``None``: any model not scripted by name)."""
        self._book.add(model, steps)
        return self

    def script_tool_use(
        self,
        model: str | None,
        name: str,
        arguments: Mapping[str, Any] | str,
        *,
        final: str | Step = "done",
        **tool: Any,
    ) -> FakeProvider:
        """Queue one tool call and the answer to its follow-up request.

        ``tool`` holds the other :class:`ToolCall` options (``call_id``,
        ``text``, ``custom``, token counts, delays); ``final`` is the text (or
        step) answering the request that carries the tool result.
        """
        last = Reply(final) if isinstance(final, str) else final
        return self.script(model, ToolCall(name, arguments, **tool), last)

    @property
    def default(self) -> Step:
        """The step played when a model's queue is empty."""
        return self._book.default

    @default.setter
    def default(self, step: Step) -> None:
        self._book.default = step

    def remaining(self, model: str | None) -> int:
        """How many scripted steps are still queued for ``model``."""
        return self._book.remaining(model)

    def reset_script(self) -> None:
        """Drop every queued step (the default stays)."""
        self._book.reset()

    # --- recorded requests --------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        return self._recorder.snapshot()

    def requests_for(self, model: str | None) -> list[RecordedRequest]:
        """The recorded requests that named ``model`` (in the body, or the URL for Gemini)."""
        return [r for r in self._recorder.snapshot() if r.model == model]

    @property
    def task_requests(self) -> list[RecordedRequest]:
        """The requests that played the script (model API calls that were not side requests)."""
        return [r for r in self._recorder.snapshot() if r.api is not None and not r.side]

    @property
    def tool_results(self) -> list[str]:
        """The tool results sent back in the latest task request (see ``RecordedRequest``)."""
        tasks = self.task_requests
        return tasks[-1].tool_results if tasks else []

    def clear(self) -> None:
        """Forget the recorded requests (the script is left alone)."""
        self._recorder.clear()
