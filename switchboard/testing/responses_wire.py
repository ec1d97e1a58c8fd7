"""OpenAI Responses dialect of the fake provider (what Codex speaks).

Renders answers as a ``response`` object or as the event stream
``response.created``, ``response.in_progress``, then per output item
``response.output_item.added`` ... ``response.output_item.done``, and finally
``response.completed`` carrying the whole response with its ``id`` and
``usage``. Text is a ``message`` item streamed with
``response.output_text.delta``; a :class:`ToolCall` is a ``function_call``
item (arguments streamed with ``response.function_call_arguments.delta``) or,
for custom (freeform) tools such as Codex's ``apply_patch``, a
``custom_tool_call`` item with ``input``. Errors use OpenAI's error object.
Tool results come back as ``function_call_output`` /
``custom_tool_call_output`` input items.
"""

from __future__ import annotations

from typing import Any

from switchboard.testing.openai_wire import error_body
from switchboard.testing.script import APPLY_PATCH, Answer, ToolCall
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

_OUTPUT_TYPES = ("function_call_output", "custom_tool_call_output")
_CALL_TYPES = ("function_call", "custom_tool_call")

_Event = tuple[dict[str, Any], bool]
"""A stream event and whether it carries a streamed piece."""


def prompt_text(body: dict[str, Any]) -> str:
    """The instructions and all text of the input items, joined by newlines."""
    parts: list[str] = list(texts_of(body.get("instructions")))
    items = body.get("input")
    if isinstance(items, str):
        parts.append(items)
    for item in dicts(items):
        if item.get("type", "message") == "message":
            parts.extend(texts_of(item.get("content")))
        elif item.get("type") in _OUTPUT_TYPES:
            parts.append(joined_text(item.get("output")))
    return "\n".join(parts)


def wants_stream(ex: Exchange) -> bool:
    return ex.body.get("stream") is True


def usage_dict(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total,
    }


def _custom_tools(body: dict[str, Any]) -> set[str]:
    return {
        str(tool.get("name"))
        for tool in dicts(body.get("tools"))
        if tool.get("type") == "custom" and tool.get("name")
    }


def is_custom(call: ToolCall, body: dict[str, Any]) -> bool:
    """Whether ``call`` is rendered as a ``custom_tool_call`` for this request."""
    if call.custom is not None:
        return call.custom
    return call.name in _custom_tools(body) or call.name == APPLY_PATCH


def _items(answer: Answer, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The completed output items of an answer, in order."""
    items: list[dict[str, Any]] = []
    if answer.text or not calls_of(answer):
        text = {"type": "output_text", "text": answer.text, "annotations": []}
        items.append(
            {
                "id": new_id("msg_"),
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [text],
            }
        )
    for call in calls_of(answer):
        call_id = call.call_id or new_id("call_")
        if is_custom(call, body):
            items.append(
                {
                    "id": new_id("ctc_"),
                    "type": "custom_tool_call",
                    "status": "completed",
                    "call_id": call_id,
                    "name": call.name,
                    "input": call.custom_input(),
                }
            )
        else:
            items.append(
                {
                    "id": new_id("fc_"),
                    "type": "function_call",
                    "status": "completed",
                    "call_id": call_id,
                    "name": call.name,
                    "arguments": call.arguments_json(),
                }
            )
    return items


def _response(
    response_id: str, ex: Exchange, status: str, items: list[dict[str, Any]], usage: Usage | None
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": now(),
        "status": status,
        "model": ex.model,
        "output": items,
        "parallel_tool_calls": ex.body.get("parallel_tool_calls", False),
        "tool_choice": ex.body.get("tool_choice", "auto"),
        "tools": ex.body.get("tools", []),
        "usage": usage_dict(usage) if usage is not None else None,
        "error": None,
        "incomplete_details": None,
    }


def message_body(answer: Answer, ex: Exchange, usage: Usage) -> dict[str, Any]:
    """A complete non-streamed ``response`` object."""
    return _response(new_id("resp_"), ex, "completed", _items(answer, ex.body), usage)


def _pending(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` as announced by ``response.output_item.added``: nothing streamed yet."""
    empty: dict[str, Any] = {"status": "in_progress"}
    if item["type"] == "message":
        empty["content"] = []
    elif item["type"] == "function_call":
        empty["arguments"] = ""
    else:
        empty["input"] = ""
    return {**item, **empty}


def _event(kind: str, is_text: bool = False, **fields: Any) -> _Event:
    return {"type": f"response.{kind}", **fields}, is_text


def _item_events(item: dict[str, Any], out: int, answer: Answer) -> list[_Event]:
    """The events that stream one output item, each with its ``is_text`` mark."""
    ref: dict[str, Any] = {"item_id": item["id"], "output_index": out}
    events = [_event("output_item.added", output_index=out, item=_pending(item))]
    if item["type"] == "message":
        part = item["content"][0]
        at = {**ref, "content_index": 0}
        events.append(_event("content_part.added", **at, part={**part, "text": ""}))
        events.extend(_event("output_text.delta", True, **at, delta=p) for p in answer.pieces())
        events.append(_event("output_text.done", **at, text=part["text"]))
        events.append(_event("content_part.done", **at, part=part))
    else:
        is_function = item["type"] == "function_call"
        kind = "function_call_arguments" if is_function else "custom_tool_call_input"
        key = "arguments" if is_function else "input"
        events.extend(_event(f"{kind}.delta", True, **ref, delta=p) for p in json_pieces(item[key]))
        events.append(_event(f"{kind}.done", **ref, **{key: item[key]}))
    events.append(_event("output_item.done", output_index=out, item=item))
    return events


def stream_frames(answer: Answer, ex: Exchange, usage: Usage) -> list[Frame]:
    """The Responses event stream for a streamed answer."""
    response_id = new_id("resp_")
    items = _items(answer, ex.body)
    started = _response(response_id, ex, "in_progress", [], None)
    events = [_event("created", response=started), _event("in_progress", response=started)]
    for out, item in enumerate(items):
        events.extend(_item_events(item, out, answer))
    completed = _response(response_id, ex, "completed", items, usage)
    events.append(_event("completed", response=completed))
    return [
        Frame(sse({**event, "sequence_number": seq}, str(event["type"])), is_text)
        for seq, (event, is_text) in enumerate(events)
    ]


def tool_outputs(body: Any) -> list[ToolOutput]:
    """The ``*_call_output`` input items, named after the calls they answer."""
    if not isinstance(body, dict):
        return []
    names: dict[str, str] = {}
    out: list[ToolOutput] = []
    for item in dicts(body.get("input")):
        call_id = item.get("call_id")
        call_id = call_id if isinstance(call_id, str) else None
        if item.get("type") in _CALL_TYPES and call_id:
            names[call_id] = str(item.get("name"))
        elif item.get("type") in _OUTPUT_TYPES:
            output = item.get("output")
            out.append(
                ToolOutput(
                    call_id=call_id,
                    output=joined_text(output),
                    name=names.get(call_id or ""),
                    is_error=isinstance(output, dict) and output.get("success") is False,
                )
            )
    return out


RESPONSES = Wire(
    name="responses",
    prompt_text=prompt_text,
    wants_stream=wants_stream,
    message_body=message_body,
    stream_frames=stream_frames,
    error_body=error_body,
    tool_outputs=tool_outputs,
)
