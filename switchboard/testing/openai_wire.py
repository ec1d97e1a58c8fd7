"""OpenAI Chat Completions dialect of the fake provider.

Renders :class:`~switchboard.testing.script.Reply` steps as ``chat.completion``
objects or as a ``chat.completion.chunk`` event stream ending in
``data: [DONE]``, and errors as ``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

from typing import Any

from switchboard.testing.script import Reply
from switchboard.testing.wire import Frame, Usage, Wire, new_id, now, sse, texts_of

_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    409: ("invalid_request_error", "conflict"),
    413: ("invalid_request_error", "request_too_large"),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}


def prompt_text(body: dict[str, Any]) -> str:
    """All text of the request's messages, joined by newlines."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    parts: list[str] = []
    for message in messages:
        if isinstance(message, dict):
            parts.extend(texts_of(message.get("content")))
    return "\n".join(parts)


def wants_stream(body: dict[str, Any]) -> bool:
    return body.get("stream") is True


def usage_dict(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def message_body(reply: Reply, model: str, usage: Usage) -> dict[str, Any]:
    """A complete non-streamed ``chat.completion`` object."""
    return {
        "id": new_id("chatcmpl-fake"),
        "object": "chat.completion",
        "created": now(),
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage_dict(usage),
    }


def stream_frames(reply: Reply, model: str, usage: Usage, body: dict[str, Any]) -> list[Frame]:
    """The ``chat.completion.chunk`` events for a streamed reply, ``[DONE]`` included.

    With ``stream_options.include_usage`` the usage comes in a last chunk with
    empty ``choices`` (as OpenAI does); without it, usage rides on the chunk
    carrying ``finish_reason`` so clients that look for it still find it.
    """
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    base: dict[str, Any] = {
        "id": new_id("chatcmpl-fake"),
        "object": "chat.completion.chunk",
        "created": now(),
        "model": model,
        "system_fingerprint": "fp_fake",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        data = dict(base)
        data["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        if include_usage:
            data["usage"] = None
        return data

    frames = [Frame(sse(chunk({"role": "assistant", "content": "", "refusal": None})))]
    frames.extend(Frame(sse(chunk({"content": piece})), is_text=True) for piece in reply.pieces())
    last = chunk({}, "stop")
    if include_usage:
        frames.append(Frame(sse(last)))
        frames.append(Frame(sse({**base, "choices": [], "usage": usage_dict(usage)})))
    else:
        last["usage"] = usage_dict(usage)
        frames.append(Frame(sse(last)))
    frames.append(Frame(sse("[DONE]")))
    return frames


def error_body(status: int, message: str) -> dict[str, Any]:
    """OpenAI's native error object for ``status``."""
    kind, code = _ERROR_KINDS.get(status, ("server_error" if status >= 500 else "api_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


OPENAI = Wire(
    name="openai",
    prompt_text=prompt_text,
    wants_stream=wants_stream,
    message_body=message_body,
    stream_frames=stream_frames,
    error_body=error_body,
)
