"""Gemini ``generateContent``: ``(system_instruction, contents)``.

Written here rather than with litellm's ``_gemini_convert_messages_with_history``,
which gets these rules wrong for a transcript:

* it drops a function call identical (name and arguments) to one already in the turn,
  while still sending both results, so Gemini sees two responses for one call;
* it leaves the function-response turn and a following user text as two consecutive
  user turns, and a thought replayed from a thinking block loses its ``thought`` flag
  unless its text is JSON (then the JSON is spread into the part);
* it has no form for a failed tool's result, and writes snake_case keys
  (``function_call``) where the REST reference uses camelCase (``functionCall``).

What is left is a short loop: user turns of text, model turns of thoughts, text and
``functionCall`` parts, and after each model turn with calls a user turn with one
``functionResponse`` per call, in order and with the call's name (Gemini pairs them by
name and position). Consecutive turns of one role are merged. Call ids are not sent:
Gemini models before 3 reject ``id`` on function calls. A signed Gemini thought that
precedes a call puts its ``thoughtSignature`` on that call, where Gemini wants it; other
signed thoughts are ``{"text", "thought": true, "thoughtSignature"}`` parts. A result
is ``{"output": ...}``, or ``{"error": ...}`` for a failed tool, as Gemini's
function-calling guide suggests.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from switchboard.handoff.state import (
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from switchboard.handoff.translate._common import CONTINUE_TEXT
from switchboard.handoff.translate._prepare import prepare_for
from switchboard.handoff.translate._vendor import GOOGLE


def to_gemini(
    messages: Sequence[Message], *, secrets: Iterable[str] = ()
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(``system_instruction`` or None, Gemini ``contents``) for a transcript. An empty
    transcript gives no contents: the caller adds its prompt as the first user turn."""
    prepared = prepare_for(messages, vendor=GOOGLE, secrets=secrets)
    system_parts = [
        {"text": p.text}
        for m in prepared
        if m.role == "system"
        for p in m.parts
        if isinstance(p, TextPart)
    ]
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # call id -> tool name, for the results (paired by name)
    for message in prepared:
        if message.role == "system":
            continue
        if message.role == "assistant":
            role, parts = "model", _model_parts(message.parts)
            names = {p.id: p.name for p in message.parts if isinstance(p, ToolCallPart)}
        elif message.role == "tool":
            role = "user"
            parts = [
                _response(p, names[p.call_id])
                for p in message.parts
                if isinstance(p, ToolResultPart)
            ]
        else:
            role = "user"
            parts = [{"text": p.text} for p in message.parts if isinstance(p, TextPart)]
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    if contents and contents[0]["role"] != "user":
        contents.insert(0, {"role": "user", "parts": [{"text": CONTINUE_TEXT}]})
    return ({"parts": system_parts} if system_parts else None), contents


def _model_parts(parts: Sequence[Part]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    signature: str | None = None
    for i, part in enumerate(parts):
        if isinstance(part, TextPart):
            out.append({"text": part.text})
        elif isinstance(part, ToolCallPart):
            call: dict[str, Any] = {"functionCall": {"name": part.name, "args": part.arguments}}
            if signature:
                call["thoughtSignature"] = signature
                signature = None
            out.append(call)
        elif isinstance(part, ReasoningPart) and part.signature:
            text = "" if part.redacted else part.text
            if i + 1 < len(parts) and isinstance(parts[i + 1], ToolCallPart):
                signature = part.signature
                if text:
                    out.append({"text": text, "thought": True})
            else:
                out.append({"text": text, "thought": True, "thoughtSignature": part.signature})
    return out


def _response(part: ToolResultPart, name: str) -> dict[str, Any]:
    key = "error" if part.is_error else "output"
    return {"functionResponse": {"name": name, "response": {key: part.output}}}


# --- reading ---------------------------------------------------------------------------------


def from_gemini(
    system_instruction: dict[str, Any] | None, contents: list[dict[str, Any]]
) -> list[Message]:
    """A canonical transcript from Gemini ``system_instruction`` and ``contents``
    (camelCase or snake_case keys). Calls without an ``id`` get ``call_<turn>_<part>``;
    a response is paired with the first unanswered call of its name in the previous
    model turn (by ``id`` when it has one). A ``thoughtSignature`` becomes google
    reasoning before the part that carried it."""
    out: list[Message] = []
    if system_instruction:
        system = [p["text"] for p in system_instruction.get("parts", []) if _is_text(p)]
        if system:
            out.append(Message(role="system", parts=[TextPart(text=t) for t in system]))
    previous_calls: list[ToolCallPart] = []
    for ci, content in enumerate(contents):
        raw_parts = content.get("parts") or []
        if content.get("role") == "model":
            parts = [q for pi, p in enumerate(raw_parts) for q in _read_model_part(p, ci, pi)]
            previous_calls = [p for p in parts if isinstance(p, ToolCallPart)]
            if parts:
                out.append(Message(role="assistant", parts=parts))
            continue
        results: list[Part] = []
        texts: list[Part] = []
        unanswered = list(previous_calls)
        for raw in raw_parts:
            response = _get(raw, "functionResponse", "function_response")
            if isinstance(response, dict):
                results.append(_read_response(response, unanswered))
            elif _is_text(raw) and raw["text"]:
                texts.append(TextPart(text=raw["text"]))
        previous_calls = []
        if results:
            out.append(Message(role="tool", parts=results))
        if texts:
            out.append(Message(role="user", parts=texts))
    return out


def _get(part: Any, camel: str, snake: str) -> Any:
    if not isinstance(part, dict):
        return None
    return part.get(camel, part.get(snake))


def _is_text(part: Any) -> bool:
    return isinstance(part, dict) and isinstance(part.get("text"), str)


def _read_model_part(raw: Any, ci: int, pi: int) -> list[Part]:
    parts: list[Part] = []
    signature = _get(raw, "thoughtSignature", "thought_signature")
    signature = signature if isinstance(signature, str) and signature else None
    call = _get(raw, "functionCall", "function_call")
    if _is_text(raw) and raw.get("thought") is True:
        return [
            ReasoningPart(
                text=raw["text"], vendor=GOOGLE, signature=signature, redacted=not raw["text"]
            )
        ]
    if signature:
        parts.append(ReasoningPart(vendor=GOOGLE, signature=signature, redacted=True))
    if isinstance(call, dict):
        args = call.get("args")
        parts.append(
            ToolCallPart(
                id=str(call.get("id") or f"call_{ci}_{pi}"),
                name=str(call.get("name", "")),
                arguments=args if isinstance(args, dict) else {},
            )
        )
    elif _is_text(raw) and raw["text"]:
        parts.append(TextPart(text=raw["text"]))
    return parts


def _read_response(response: dict[str, Any], unanswered: list[ToolCallPart]) -> ToolResultPart:
    name = str(response.get("name", ""))
    call_id = response.get("id")
    match = next((c for c in unanswered if (c.id == call_id if call_id else c.name == name)), None)
    if match is not None:
        unanswered.remove(match)
    body = response.get("response")
    is_error = False
    if isinstance(body, dict) and len(body) == 1 and isinstance(next(iter(body.values())), str):
        key, output = next(iter(body.items()))
        is_error = key == "error"
    else:
        output = json.dumps(body, ensure_ascii=False)
    return ToolResultPart(
        call_id=match.id if match else str(call_id or name),
        output=output,
        is_error=is_error,
        name=name or None,
    )
