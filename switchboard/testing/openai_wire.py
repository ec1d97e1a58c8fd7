"""OpenAI Chat Completions dialect of the fake provider.

Renders answers as ``chat.completion`` objects or as a ``chat.completion.chunk``
event stream ending in ``data: [DONE]``; a :class:`ToolCall` becomes
``tool_calls`` (streamed as ``delta.tool_calls`` with the arguments in pieces)
and ``finish_reason: "tool_calls"``. Errors are
``{"error": {"message", "type", "param", "code"}}``. Tool results come back as
``role: "tool"`` messages.
"""

from __future__ import annotations

from typing import Any

from switchboard.testing.script import Answer
from switchboard.testing.wire import (
    Exchange,
    Frame,
    ToolOutput,
    Usage,
    Wire,
    calls_of,
    dicts,
    joined_text,
    json_pieces,
    new_id,
    now,
    sse,
    texts_of,
)

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
    parts: list[str] = []
    for message in dicts(body.get("messages")):
        parts.extend(texts_of(message.get("content")))
    return "\n".join(parts)


def wants_stream(ex: Exchange) -> bool:
    return ex.body.get("stream") is True


def usage_dict(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def error_body(status: int, message: str, retry_after: float | None = None) -> dict[str, Any]:
    """OpenAI's native error object for ``status`` (also used by the Responses wire)."""
    kind, code = _ERROR_KINDS.get(status, ("server_error" if status >= 500 else "api_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _call_ids(answer: Answer) -> list[str]:
    return [call.call_id or new_id("call_") for call in calls_of(answer)]


def message_body(answer: Answer, ex: Exchange, usage: Usage) -> dict[str, Any]:
    """A complete non-streamed ``chat.completion`` object."""
    calls = calls_of(answer)
    message: dict[str, Any] = {"role": "assistant", "content": answer.text, "refusal": None}
    if calls:
        message["content"] = answer.text or None
        message["tool_calls"] = [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json()},
            }
            for call, call_id in zip(calls, _call_ids(answer), strict=True)
        ]
    return {
        "id": new_id("chatcmpl-fake"),
        "object": "chat.completion",
        "created": now(),
        "model": ex.model,
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if calls else "stop",
            }
        ],
        "usage": usage_dict(usage),
    }


def stream_frames(answer: Answer, ex: Exchange, usage: Usage) -> list[Frame]:
    """The ``chat.completion.chunk`` events for a streamed answer, ``[DONE]`` included.

    With ``stream_options.include_usage`` the usage comes in a last chunk with
    empty ``choices`` (as OpenAI does); without it, usage rides on the chunk
    carrying ``finish_reason`` so clients that look for it still find it.
    """
    options = ex.body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    base: dict[str, Any] = {
        "id": new_id("chatcmpl-fake"),
        "object": "chat.completion.chunk",
        "created": now(),
        "model": ex.model,
        "system_fingerprint": "fp_fake",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        data = dict(base)
        data["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        if include_usage:
            data["usage"] = None
        return data

    frames = [Frame(sse(chunk({"role": "assistant", "content": "", "refusal": None})))]
    frames.extend(Frame(sse(chunk({"content": piece})), is_text=True) for piece in answer.pieces())
    calls = calls_of(answer)
    for index, (call, call_id) in enumerate(zip(calls, _call_ids(answer), strict=True)):
        head = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        frames.append(Frame(sse(chunk({"tool_calls": [head]}))))
        for piece in json_pieces(call.arguments_json()):
            delta = {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
            frames.append(Frame(sse(chunk(delta)), is_text=True))
    last = chunk({}, "tool_calls" if calls else "stop")
    if include_usage:
        frames.append(Frame(sse(last)))
        frames.append(Frame(sse({**base, "choices": [], "usage": usage_dict(usage)})))
    else:
        last["usage"] = usage_dict(usage)
        frames.append(Frame(sse(last)))
    frames.append(Frame(sse("[DONE]")))
    return frames


def tool_outputs(body: Any) -> list[ToolOutput]:
    """The ``role: "tool"`` messages of a request, named after the calls they answer."""
    if not isinstance(body, dict):
        return []
    names: dict[str, str] = {}
    out: list[ToolOutput] = []
    for message in dicts(body.get("messages")):
        for call in dicts(message.get("tool_calls")):
            function = call.get("function")
            if isinstance(call.get("id"), str) and isinstance(function, dict):
                names[call["id"]] = str(function.get("name"))
        if message.get("role") == "tool":
            call_id = message.get("tool_call_id")
            call_id = call_id if isinstance(call_id, str) else None
            name = names.get(call_id or "") or message.get("name")
            out.append(
                ToolOutput(
                    call_id=call_id,
                    output=joined_text(message.get("content")),
                    name=name if isinstance(name, str) else None,
                )
            )
    return out


OPENAI = Wire(
    name="openai",
    prompt_text=prompt_text,
    wants_stream=wants_stream,
    message_body=message_body,
    stream_frames=stream_frames,
    error_body=error_body,
    tool_outputs=tool_outputs,
)
