"""Requests as the fake provider saw them, kept for tests to inspect.

Every request is recorded, including the ones answered with 400, 404 or a
scripted failure, so a test can assert exactly what a client put on the wire.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

Api = Literal["openai", "anthropic"]


@dataclass(frozen=True)
class RecordedRequest:
    """One request received by the fake provider.

    ``path`` has the query string removed (it is parsed into ``query``);
    ``headers`` has lower-case names; ``body`` is the decoded JSON, or
    ``None`` when the body was empty or not valid JSON (``raw`` keeps the
    bytes either way). ``api`` says which dialect the path belongs to.
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
