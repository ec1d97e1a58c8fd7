"""What the two API dialects have in common: SSE framing and the ``Wire`` interface.

Each supported API (OpenAI Chat Completions, Anthropic Messages) is described
by one :class:`Wire`: how to read the prompt out of a request body, how to
render a reply as a JSON body or as a series of server-sent events, and how
to render an error. The HTTP server only talks to this interface.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from switchboard.testing.script import Reply


class Frame(NamedTuple):
    """One server-sent event, already encoded; ``is_text`` marks a piece of reply text."""

    payload: bytes
    is_text: bool = False


@dataclass(frozen=True)
class Usage:
    """Token counts for one reply, resolved from the step and the prompt."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @classmethod
    def for_reply(cls, reply: Reply, prompt: str) -> Usage:
        inp, out = reply.usage(prompt)
        return cls(inp, out, reply.cache_read_tokens, reply.cache_write_tokens)


@dataclass(frozen=True)
class Wire:
    """How one API dialect reads requests and renders replies and errors."""

    name: str
    prompt_text: Callable[[dict[str, Any]], str]
    wants_stream: Callable[[dict[str, Any]], bool]
    message_body: Callable[[Reply, str, Usage], dict[str, Any]]
    stream_frames: Callable[[Reply, str, Usage, dict[str, Any]], list[Frame]]
    error_body: Callable[[int, str], dict[str, Any]]


def sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    """Encode one server-sent event (``data`` is JSON-encoded unless it is a string)."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


def new_id(prefix: str) -> str:
    """A fresh identifier in the style of the real APIs."""
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def now() -> int:
    """Current Unix time in whole seconds, as used in ``created`` fields."""
    return int(time.time())


def texts_of(content: Any) -> Iterable[str]:
    """The text found in a message ``content`` (a string or a list of parts/blocks)."""
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                yield part
            elif isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    yield text
                elif "content" in part:
                    yield from texts_of(part["content"])
