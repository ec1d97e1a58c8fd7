"""Google Gemini (``generativelanguage``) dialect of the fake provider.

Paths are ``/v1beta/models/{model}:generateContent`` and
``:streamGenerateContent`` (``v1`` and ``v1alpha`` work too); the model comes
from the path. Answers are ``GenerateContentResponse`` objects: text parts,
then one ``functionCall`` part per :class:`ToolCall`. Streamed with
``?alt=sse`` they are ``data:`` events, one per text piece and call, the last
carrying ``finishReason`` and ``usageMetadata`` (the Gemini CLI rejects a
stream whose content ends in an empty part, so no empty closing chunk is
sent). Without ``alt=sse`` the stream method answers one JSON array of those
chunks. Errors are ``{"error": {"code", "message", "status", "details"}}``;
tool results come back as ``functionResponse`` parts.
"""

from __future__ import annotations

import json
from typing import Any

from switchboard.testing.script import Answer, estimate_tokens
from switchboard.testing.wire import (
    Exchange,
    Frame,
    ToolOutput,
    Usage,
    Wire,
    calls_of,
    dicts,
    new_id,
    sse,
    texts_of,
)

STREAM = "streamGenerateContent"
GENERATE = "generateContent"
COUNT_TOKENS = "countTokens"

_STATUSES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def prompt_text(body: dict[str, Any]) -> str:
    """The system instruction and all text parts of the contents, joined by newlines."""
    parts: list[str] = []
    system = body.get("systemInstruction")
    if isinstance(system, dict):
        parts.extend(texts_of(system.get("parts")))
    elif isinstance(system, str):
        parts.append(system)
    for content in dicts(body.get("contents")):
        parts.extend(texts_of(content.get("parts")))
        for part in dicts(content.get("parts")):
            response = part.get("functionResponse")
            if isinstance(response, dict):
                parts.append(json.dumps(response.get("response")))
    return "\n".join(parts)


def wants_stream(ex: Exchange) -> bool:
    return ex.action == STREAM and ex.query.get("alt") == "sse"


def usage_metadata(usage: Usage) -> dict[str, Any]:
    return {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": usage.output_tokens,
        "totalTokenCount": usage.total,
        "cachedContentTokenCount": usage.cache_read_tokens,
    }


def _call_parts(answer: Answer) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for call in calls_of(answer):
        function_call: dict[str, Any] = {"name": call.name, "args": call.arguments_object()}
        if call.call_id:
            function_call["id"] = call.call_id
        parts.append({"functionCall": function_call})
    return parts


def _chunk(
    ex: Exchange, response_id: str, parts: list[dict[str, Any]], usage: Usage | None
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    chunk: dict[str, Any] = {"candidates": [candidate]}
    if usage is not None:
        candidate["finishReason"] = "STOP"
        chunk["usageMetadata"] = usage_metadata(usage)
    chunk["modelVersion"] = ex.model
    chunk["responseId"] = response_id
    return chunk


def _chunks(answer: Answer, ex: Exchange, usage: Usage) -> list[tuple[dict[str, Any], bool]]:
    """The streamed chunks, each with its ``is_text`` mark; the last one closes the turn."""
    response_id = new_id("")
    pieces: list[tuple[dict[str, Any], bool]] = [
        ({"text": piece}, True) for piece in answer.pieces()
    ]
    pieces.extend((part, False) for part in _call_parts(answer))
    if not pieces:
        pieces.append(({"text": ""}, False))
    last = len(pieces) - 1
    return [
        (_chunk(ex, response_id, [part], usage if i == last else None), is_text)
        for i, (part, is_text) in enumerate(pieces)
    ]


def message_body(answer: Answer, ex: Exchange, usage: Usage) -> Any:
    """One ``GenerateContentResponse``, or the list of chunks for a non-SSE stream call."""
    if ex.action == STREAM:
        return [chunk for chunk, _ in _chunks(answer, ex, usage)]
    parts: list[dict[str, Any]] = [{"text": answer.text}] if answer.text else []
    parts.extend(_call_parts(answer))
    return _chunk(ex, new_id(""), parts or [{"text": ""}], usage)


def stream_frames(answer: Answer, ex: Exchange, usage: Usage) -> list[Frame]:
    """The ``data:`` events of ``streamGenerateContent?alt=sse``."""
    return [Frame(sse(chunk), is_text) for chunk, is_text in _chunks(answer, ex, usage)]


def error_body(status: int, message: str, retry_after: float | None = None) -> dict[str, Any]:
    """Google's native error object; ``retry_after`` becomes a ``RetryInfo`` detail."""
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": _STATUSES.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION"),
    }
    if retry_after is not None:
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after:g}s"}
        ]
    return {"error": error}


def count_tokens_body(body: dict[str, Any]) -> dict[str, Any]:
    """The answer to ``:countTokens`` (estimated from the text)."""
    return {"totalTokens": estimate_tokens(prompt_text(body))}


def tool_outputs(body: Any) -> list[ToolOutput]:
    """The ``functionResponse`` parts of a request's contents."""
    if not isinstance(body, dict):
        return []
    out: list[ToolOutput] = []
    for content in dicts(body.get("contents")):
        for part in dicts(content.get("parts")):
            response = part.get("functionResponse")
            if not isinstance(response, dict):
                continue
            payload = response.get("response")
            is_error = isinstance(payload, dict) and "error" in payload and "output" not in payload
            if isinstance(payload, dict) and isinstance(payload.get("output"), str):
                text = str(payload["output"])
            elif is_error and isinstance(payload, dict):
                error = payload["error"]
                text = error if isinstance(error, str) else json.dumps(error)
            else:
                text = json.dumps(payload, separators=(",", ":"))
            call_id, name = response.get("id"), response.get("name")
            out.append(
                ToolOutput(
                    call_id=call_id if isinstance(call_id, str) else None,
                    output=text,
                    name=name if isinstance(name, str) else None,
                    is_error=is_error,
                )
            )
    return out


GEMINI = Wire(
    name="gemini",
    prompt_text=prompt_text,
    wants_stream=wants_stream,
    message_body=message_body,
    stream_frames=stream_frames,
    error_body=error_body,
    tool_outputs=tool_outputs,
)
