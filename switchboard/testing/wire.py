"""What the API dialects have in common: SSE framing and the ``Wire`` interface.

Each supported API (OpenAI Chat Completions, OpenAI Responses, Anthropic
Messages, Google Gemini) is described by one :class:`Wire`: how to read the
prompt and the returned tool results out of a request body, how to render an
answer (:class:`~switchboard.testing.script.Reply` or
:class:`~switchboard.testing.script.ToolCall`) as a JSON body or as a series of
server-sent events, and how to render an error. The HTTP server only talks to
this interface.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from switchboard.testing.script import Answer, ToolCall, split_text

Api = Literal["openai", "anthropic", "responses", "gemini"]
"""The dialect a request was addressed to (``openai`` is Chat Completions)."""


class Frame(NamedTuple):
    """One encoded event; ``is_text`` marks a streamed piece (text or tool arguments)."""

    payload: bytes
    is_text: bool = False


@dataclass(frozen=True)
class Usage:
    """Token counts for one answer, resolved from the step and the prompt."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @classmethod
    def for_answer(cls, answer: Answer, prompt: str) -> Usage:
        inp, out = answer.usage(prompt)
        return cls(inp, out, answer.cache_read_tokens, answer.cache_write_tokens)

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Exchange:
    """What a wire knows about the request it answers.

    ``model`` is the name echoed back (from the body, or the URL for Gemini);
    ``action`` is the Gemini method (``generateContent``,
    ``streamGenerateContent``) and empty elsewhere.
    """

    body: dict[str, Any]
    model: str
    query: dict[str, str] = field(default_factory=dict)
    action: str = ""


@dataclass(frozen=True)
class ToolOutput:
    """A tool result a client sent back in a request's conversation."""

    call_id: str | None
    output: str
    name: str | None = None
    is_error: bool = False


@dataclass(frozen=True)
class Wire:
    """How one API dialect reads requests and renders answers and errors."""

    name: Api
    prompt_text: Callable[[dict[str, Any]], str]
    wants_stream: Callable[[Exchange], bool]
    message_body: Callable[[Answer, Exchange, Usage], Any]
    stream_frames: Callable[[Answer, Exchange, Usage], list[Frame]]
    error_body: Callable[[int, str, float | None], dict[str, Any]]
    tool_outputs: Callable[[Any], list[ToolOutput]]


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


def calls_of(answer: Answer) -> list[ToolCall]:
    """The tool calls an answer makes (none for a plain reply)."""
    return [answer] if isinstance(answer, ToolCall) else []


def json_pieces(text: str) -> list[str]:
    """Split encoded tool arguments into up to three streamed pieces."""
    return split_text(text, 3) if text else []


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
                elif "output" in part:
                    yield from texts_of(part["output"])


def joined_text(content: Any) -> str:
    """All text of a tool result ``content``; other JSON is encoded."""
    if content is None:
        return ""
    if isinstance(content, str | list):
        return "\n".join(texts_of(content))
    return json.dumps(content, separators=(",", ":"))


def dicts(value: Any) -> list[dict[str, Any]]:
    """The JSON objects in ``value`` when it is a list; nothing otherwise."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
