"""Anthropic Messages dialect of the fake provider.

Renders answers as ``message`` objects or as the ``message_start`` ...
``message_stop`` event stream; a :class:`ToolCall` becomes a ``tool_use``
block (streamed with ``input_json_delta`` pieces) and ``stop_reason:
"tool_use"``. Errors are ``{"type": "error", "error": {"type", "message"}}``.
Tool results come back as ``tool_result`` blocks in user messages. Anything
else in the body (``system`` messages mid-conversation, ``thinking``,
``context_management``, ...) is tolerated and ignored.
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
    sse,
    texts_of,
)

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
    for message in dicts(body.get("messages")):
        parts.extend(texts_of(message.get("content")))
    return "\n".join(parts)


def wants_stream(ex: Exchange) -> bool:
    return ex.body.get("stream") is True


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


def _tool_uses(answer: Answer) -> list[dict[str, Any]]:
    return [
        {
            "type": "tool_use",
            "id": call.call_id or new_id("toolu_"),
            "name": call.name,
            "input": call.arguments_object(),
        }
        for call in calls_of(answer)
    ]


def _stop_reason(answer: Answer) -> str:
    return "tool_use" if calls_of(answer) else "end_turn"


def message_body(answer: Answer, ex: Exchange, usage: Usage) -> dict[str, Any]:
    """A complete non-streamed ``message`` object."""
    uses = _tool_uses(answer)
    content = [{"type": "text", "text": answer.text}] if answer.text or not uses else []
    body = _message(ex.model, content + uses, _stop_reason(answer))
    body["usage"] = _usage(usage, output_tokens=usage.output_tokens)
    return body


def _event(data: dict[str, Any], *, is_text: bool = False) -> Frame:
    return Frame(sse(data, str(data["type"])), is_text=is_text)


def stream_frames(answer: Answer, ex: Exchange, usage: Usage) -> list[Frame]:
    """The Messages event stream for a streamed answer."""
    start = _message(ex.model, [], None)
    start["usage"] = _usage(usage, output_tokens=1)
    frames = [_event({"type": "message_start", "message": start})]
    uses = _tool_uses(answer)
    index = 0
    if answer.text or not uses:
        block = {"type": "text", "text": ""}
        frames.append(_event({"type": "content_block_start", "index": 0, "content_block": block}))
        for piece in answer.pieces():
            delta = {"type": "text_delta", "text": piece}
            frames.append(
                _event({"type": "content_block_delta", "index": 0, "delta": delta}, is_text=True)
            )
        frames.append(_event({"type": "content_block_stop", "index": 0}))
        index = 1
    for call, use in zip(calls_of(answer), uses, strict=True):
        opened = {**use, "input": {}}
        frames.append(
            _event({"type": "content_block_start", "index": index, "content_block": opened})
        )
        for piece in json_pieces(call.arguments_json()):
            delta = {"type": "input_json_delta", "partial_json": piece}
            frames.append(
                _event(
                    {"type": "content_block_delta", "index": index, "delta": delta}, is_text=True
                )
            )
        frames.append(_event({"type": "content_block_stop", "index": index}))
        index += 1
    message_delta = {
        "type": "message_delta",
        "delta": {"stop_reason": _stop_reason(answer), "stop_sequence": None},
        "usage": _usage(usage, output_tokens=usage.output_tokens),
    }
    frames.append(_event(message_delta))
    frames.append(_event({"type": "message_stop"}))
    return frames


def error_body(status: int, message: str, retry_after: float | None = None) -> dict[str, Any]:
    """Anthropic's native error object for ``status``."""
    kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def tool_outputs(body: Any) -> list[ToolOutput]:
    """The ``tool_result`` blocks of a request, named after the ``tool_use`` they answer."""
    if not isinstance(body, dict):
        return []
    names: dict[str, str] = {}
    out: list[ToolOutput] = []
    for message in dicts(body.get("messages")):
        for block in dicts(message.get("content")):
            if block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                names[block["id"]] = str(block.get("name"))
            elif block.get("type") == "tool_result":
                call_id = block.get("tool_use_id")
                call_id = call_id if isinstance(call_id, str) else None
                out.append(
                    ToolOutput(
                        call_id=call_id,
                        output=joined_text(block.get("content")),
                        name=names.get(call_id or ""),
                        is_error=block.get("is_error") is True,
                    )
                )
    return out


ANTHROPIC = Wire(
    name="anthropic",
    prompt_text=prompt_text,
    wants_stream=wants_stream,
    message_body=message_body,
    stream_frames=stream_frames,
    error_body=error_body,
    tool_outputs=tool_outputs,
)
