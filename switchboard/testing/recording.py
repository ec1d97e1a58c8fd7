"""Requests as the fake provider saw them, kept for tests to inspect.

Every request is recorded, including the ones answered with 400, 404 or a
scripted failure, so a test can assert exactly what a client put on the wire.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from switchboard.testing.routes import WIRES
from switchboard.testing.wire import Api, ToolOutput

__all__ = ["Api", "RecordedRequest", "Recorder", "ToolOutput"]


@dataclass(frozen=True)
class RecordedRequest:
    """One request received by the fake provider.

    ``path`` has the query string removed (it is parsed into ``query``);
    ``headers`` has lower-case names; ``body`` is the decoded JSON, or
    ``None`` when the body was empty or not valid JSON (``raw`` keeps the
    bytes either way). ``api`` says which dialect the path belongs to;
    ``model`` comes from the body (or from the URL for Gemini). ``side`` is
    true when the request was answered by the side-request rule instead of
    the script (see :mod:`switchboard.testing.side`).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw: bytes
    model: str | None
    api: Api | None
    received_at: float = field(compare=False)
    side: bool = False

    @property
    def tool_outputs(self) -> list[ToolOutput]:
        """The tool results the client sent back in this request, in conversation order.

        Parsed per wire: Chat ``role: "tool"`` messages, Anthropic
        ``tool_result`` blocks, Responses ``function_call_output`` /
        ``custom_tool_call_output`` items, Gemini ``functionResponse`` parts.
        A request carries the whole conversation, so results of earlier
        turns are included too.
        """
        if self.api is None:
            return []
        return WIRES[self.api].tool_outputs(self.body)

    @property
    def tool_results(self) -> list[str]:
        """The text of :attr:`tool_outputs`."""
        return [item.output for item in self.tool_outputs]


class Recorder:
    """A thread-safe, append-only list of :class:`RecordedRequest`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RecordedRequest] = []

    def add(self, request: RecordedRequest) -> None:
        with self._lock:
            self._items.append(request)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
