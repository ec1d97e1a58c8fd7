"""Anthropic Messages dialect of the fake provider.

Renders :class:`~switchboard.testing.script.Reply` steps as ``message`` objects
or as the ``message_start`` ... ``message_stop`` event stream, and errors as
``{"type": "error", "error": {"type", "message"}}``.
"""

from __future__ import annotations

from typing import Any

from switchboard.testing.script import Reply
from switchboard.testing.wire import Frame, Usage, Wire, new_id, sse, texts_of

_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def prompt_text(body: dict[str, Any]) -> str:
    """The system prompt and all message text, joined by newlines."""
    parts: list[str] = list(texts_of(body.get("system")))
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict):
                parts.extend(texts_of(message.get("content")))
    return "\n".join(parts)


def wants_stream(body: dict[str, Any]) -> bool:
    return body.get("stream") is True


def _usage(usage: Usage, *, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": output_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
    }


def _message(model: str, content: list[dict[str, Any]], stop: str | None) -> dict[str, Any]:
    return {
        "id": new_id("msg_fake"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
    }


def message_body(reply: Reply, model: str, usage: Usage) -> dict[str, Any]:
    """A complete non-streamed ``message`` object."""
    body = _message(model, [{"type": "text", "text": reply.text}], "end_turn")
    body["usage"] = _usage(usage, output_tokens=usage.output_tokens)
    return body


def stream_frames(reply: Reply, model: str, usage: Usage, body: dict[str, Any]) -> list[Frame]:
    """The Messages event stream for a streamed reply."""
    start = _message(model, [], None)
    start["usage"] = _usage(usage, output_tokens=1)
    frames = [
        Frame(sse({"type": "message_start", "message": start}, "message_start")),
        Frame(
            sse(
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
                "content_block_start",
            )
        ),
    ]
    for piece in reply.pieces():
        delta = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": piece},
        }
        frames.append(Frame(sse(delta, "content_block_delta"), is_text=True))
    frames.append(Frame(sse({"type": "content_block_stop", "index": 0}, "content_block_stop")))
    message_delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": usage.output_tokens},
    }
    frames.append(Frame(sse(message_delta, "message_delta")))
    frames.append(Frame(sse({"type": "message_stop"}, "message_stop")))
    return frames


def error_body(status: int, message: str) -> dict[str, Any]:
    """Anthropic's native error object for ``status``."""
    kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


ANTHROPIC = Wire(
    name="anthropic",
    prompt_text=prompt_text,
    wants_stream=wants_stream,
    message_body=message_body,
    stream_frames=stream_frames,
    error_body=error_body,
)
