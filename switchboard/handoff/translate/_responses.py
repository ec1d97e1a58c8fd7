"""OpenAI Responses API ``input`` items (also the shape of a Codex session's items).

Written with litellm's own chat -> Responses conversion
(``LiteLLMResponsesTransformationHandler.convert_chat_completion_messages_to_responses_api``,
used by litellm for models served only through the Responses API): message items with
``input_text``/``output_text`` content, ``function_call`` items with the arguments as a
JSON string, ``function_call_output`` items, and ``reasoning`` items (without an ``id``,
which the API would look up) from OpenAI encrypted reasoning.

Done here, because litellm shapes the items for its own request rather than for a
transcript:

* the leading system messages are written as ``system`` message items (litellm takes
  them out as the request's ``instructions``, joined with a space);
* a function's output is a string (litellm writes a list of ``input_text`` parts; the
  API takes both, Codex session files hold a string).

There is no error flag on ``function_call_output``: a failed tool's output starts with
``[error] ``, as in the chat form.
"""

from __future__ import annotations

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
from switchboard.handoff.translate import _litellm
from switchboard.handoff.translate._chat import chat_from_prepared
from switchboard.handoff.translate._common import load_arguments, text_of_blocks, unmark_error
from switchboard.handoff.translate._prepare import prepare_for
from switchboard.handoff.translate._vendor import OPENAI


def to_responses(
    messages: Sequence[Message], *, secrets: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Responses API input items for a transcript (an empty transcript gives none)."""
    prepared = prepare_for(messages, vendor=OPENAI, secrets=secrets)
    leading = 0
    while leading < len(prepared) and prepared[leading].role == "system":
        leading += 1
    items: list[dict[str, Any]] = [
        {
            "type": "message",
            "role": "system",
            "content": [
                {"type": "input_text", "text": p.text}
                for p in message.parts
                if isinstance(p, TextPart)
            ],
        }
        for message in prepared[:leading]
    ]
    chat = chat_from_prepared(prepared[leading:], vendor=OPENAI)
    if not chat:
        return items
    converted, _instructions = _litellm.responses_converter()(chat)
    for raw in converted:
        item = dict(raw)
        if item.get("type") == "function_call_output" and not isinstance(item.get("output"), str):
            item["output"] = text_of_blocks(item.get("output"))
        items.append(item)
    return items


def from_responses(items: list[dict[str, Any]]) -> list[Message]:
    """A canonical transcript from Responses API input (or output) items: message items
    (``role`` user, system, developer or assistant; a plain ``{"role", "content"}`` too),
    ``function_call``, ``function_call_output`` and ``reasoning`` (-> openai reasoning,
    the summary as its text, ``encrypted_content`` as its signature). An assistant's
    consecutive items make one assistant message. Other item kinds are left out."""
    out: list[Message] = []

    def add(role: str, part: Part) -> None:
        if out and out[-1].role == role and role in ("assistant", "tool"):
            out[-1] = Message(role=role, parts=[*out[-1].parts, part])
        else:
            out.append(Message(role=role, parts=[part]))

    for item in items:
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            role = item.get("role")
            content = item.get("content")
            blocks = [content] if isinstance(content, str) else content or []
            texts: list[Part] = [
                TextPart(text=t) for t in (text_of_blocks([b]) for b in blocks) if t
            ]
            target = {"assistant": "assistant", "user": "user"}.get(str(role), "system")
            if target == "assistant":
                for part in texts:
                    add(target, part)
            elif texts:
                out.append(Message(role=target, parts=texts))
        elif kind == "function_call":
            add(
                "assistant",
                ToolCallPart(
                    id=str(item.get("call_id") or item.get("id") or ""),
                    name=str(item.get("name", "")),
                    arguments=load_arguments(item.get("arguments")),
                ),
            )
        elif kind == "function_call_output":
            raw = item.get("output")
            output, is_error = unmark_error(raw if isinstance(raw, str) else text_of_blocks(raw))
            add(
                "tool",
                ToolResultPart(
                    call_id=str(item.get("call_id", "")), output=output, is_error=is_error
                ),
            )
        elif kind == "reasoning":
            summary = "\n".join(
                s.get("text", "") for s in item.get("summary") or [] if isinstance(s, dict)
            )
            encrypted = item.get("encrypted_content")
            if summary or encrypted:
                add(
                    "assistant",
                    ReasoningPart(
                        text=summary,
                        vendor=OPENAI,
                        signature=encrypted if isinstance(encrypted, str) and encrypted else None,
                        redacted=not summary,
                    ),
                )
    return out
