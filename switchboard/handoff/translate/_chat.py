"""OpenAI Chat Completions messages: the canonical transcript's lingua franca.

This is also what the litellm adapter sends to any vendor (litellm converts it to the
target's own format), so the assistant messages carry reasoning the way litellm itself
represents it in chat messages, for the one vendor that can take it back:

* anthropic: ``thinking_blocks`` of ``thinking`` (with ``signature``) and
  ``redacted_thinking`` (with ``data``), which litellm's Anthropic conversion replays;
* google: a thought signature that precedes a tool call rides on that call as
  ``provider_specific_fields.thought_signature`` (where Gemini puts it and litellm
  reads it back; the thought's summary text is not sent back); any other signed
  thought is a thinking block whose ``thinking`` is the JSON of the Gemini part
  (``{"text": ..., "thought": true}``), which litellm's Gemini conversion spreads into
  the part (plain text would reach Gemini as visible text, without its thought flag);
* openai: Chat Completions takes no reasoning back, so OpenAI reasoning is handled as
  foreign by :func:`to_openai_chat`. (:func:`chat_from_prepared` writes it, for the
  Responses translator, as litellm does: a thinking block whose signature is
  ``litellm_encrypted_reasoning:`` + the encrypted content.)

Chat messages have no error flag for tool results: a failed tool's output is written
after ``[error] ``, and :func:`from_openai_chat` reads it back.
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
from switchboard.handoff.translate._common import (
    ENCRYPTED_REASONING_PREFIX,
    dump_arguments,
    load_arguments,
    mark_error,
    text_of_blocks,
    unmark_error,
)
from switchboard.handoff.translate._prepare import prepare_for
from switchboard.handoff.translate._vendor import ANTHROPIC, GOOGLE, OPENAI, normalize_vendor

ChatMessage = dict[str, Any]


def to_openai_chat(
    messages: Sequence[Message], *, vendor: str = "openai", secrets: Iterable[str] = ()
) -> list[ChatMessage]:
    """OpenAI Chat Completions ``messages`` for a transcript, under the cross-vendor rules
    for ``vendor`` (the API family the messages will finally reach; see the module
    docstring for how each vendor's own reasoning is carried)."""
    target = normalize_vendor(vendor) or ""
    prepared = prepare_for(
        messages, vendor=target, secrets=secrets, keep_reasoning=target in (ANTHROPIC, GOOGLE)
    )
    return chat_from_prepared(prepared, vendor=target)


def chat_from_prepared(
    prepared: Sequence[Message], *, vendor: str, mark_errors: bool = True
) -> list[ChatMessage]:
    """Chat messages for a transcript that went through ``prepare`` for ``vendor``."""
    out: list[ChatMessage] = []
    for message in prepared:
        if message.role == "tool":
            for part in message.parts:
                if isinstance(part, ToolResultPart):
                    content = part.output
                    if mark_errors and part.is_error:
                        content = mark_error(content)
                    out.append({"role": "tool", "tool_call_id": part.call_id, "content": content})
        elif message.role == "assistant":
            out.append(_assistant(message.parts, vendor))
        else:
            texts = [p.text for p in message.parts if isinstance(p, TextPart)]
            out.append({"role": message.role, "content": _content(texts)})
    return out


def _content(texts: list[str]) -> str | list[dict[str, Any]] | None:
    if not texts:
        return None
    if len(texts) == 1:
        return texts[0]
    return [{"type": "text", "text": t} for t in texts]


def _assistant(parts: Sequence[Part], vendor: str) -> ChatMessage:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    thinking: list[dict[str, Any]] = []
    signature_for_call: str | None = None
    for i, part in enumerate(parts):
        if isinstance(part, TextPart):
            texts.append(part.text)
        elif isinstance(part, ToolCallPart):
            call: dict[str, Any] = {
                "id": part.id,
                "type": "function",
                "function": {"name": part.name, "arguments": dump_arguments(part.arguments)},
            }
            if signature_for_call:
                call["provider_specific_fields"] = {"thought_signature": signature_for_call}
                signature_for_call = None
            calls.append(call)
        elif isinstance(part, ReasoningPart) and part.signature:
            next_is_call = i + 1 < len(parts) and isinstance(parts[i + 1], ToolCallPart)
            if vendor == ANTHROPIC:
                if part.redacted:
                    thinking.append({"type": "redacted_thinking", "data": part.signature})
                else:
                    thinking.append(
                        {"type": "thinking", "thinking": part.text, "signature": part.signature}
                    )
            elif vendor == GOOGLE and next_is_call:
                # Gemini needs the signature on the call; its thought summary it does not
                # need back (and litellm drops an unsigned thinking block anyway)
                signature_for_call = part.signature
            elif vendor == GOOGLE:
                thinking.append(
                    {
                        "type": "thinking",
                        "thinking": _gemini_thought("" if part.redacted else part.text),
                        "signature": part.signature,
                    }
                )
            elif vendor == OPENAI:
                thinking.append(
                    {
                        "type": "thinking",
                        "thinking": "" if part.redacted else part.text,
                        "signature": ENCRYPTED_REASONING_PREFIX + part.signature,
                    }
                )
    message: ChatMessage = {"role": "assistant", "content": _content(texts)}
    if calls:
        message["tool_calls"] = calls
    if thinking:
        message["thinking_blocks"] = thinking
    return message


def _gemini_thought(text: str) -> str:
    return json.dumps({"text": text, "thought": True}, ensure_ascii=False)


def _read_gemini_thought(thinking: str) -> str | None:
    """The text of a thinking block written by :func:`_gemini_thought`, else None."""
    if not thinking.startswith("{"):
        return None
    try:
        value = json.loads(thinking)
    except ValueError:
        return None
    if isinstance(value, dict) and value.get("thought") is True:
        text = value.get("text", "")
        return text if isinstance(text, str) else None
    return None


# --- reading ---------------------------------------------------------------------------------


def from_openai_chat(messages: list[dict[str, Any]]) -> list[Message]:
    """A canonical transcript from OpenAI chat messages (litellm's extensions included:
    ``thinking_blocks``, ``reasoning_content``, thought signatures on tool calls).
    Consecutive tool messages become one ``tool`` message; content that is not text
    (images, audio) is left out."""
    out: list[Message] = []
    for raw in messages:
        role = raw.get("role")
        if role == "tool" or role == "function":
            output, is_error = unmark_error(text_of_blocks(raw.get("content")))
            result = ToolResultPart(
                call_id=str(raw.get("tool_call_id") or raw.get("name") or ""),
                output=output,
                is_error=is_error,
                name=raw.get("name") if role == "function" else None,
            )
            if out and out[-1].role == "tool":
                out[-1] = Message(role="tool", parts=[*out[-1].parts, result])
            else:
                out.append(Message(role="tool", parts=[result]))
        elif role == "assistant":
            out.append(Message(role="assistant", parts=_read_assistant(raw)))
        elif role in ("system", "developer", "user"):
            parts = _text_parts(raw.get("content"))
            if parts:
                out.append(Message(role="user" if role == "user" else "system", parts=parts))
    return out


def _text_parts(content: Any) -> list[Part]:
    if isinstance(content, str):
        return [TextPart(text=content)] if content else []
    parts: list[Part] = []
    for block in content or ():
        if isinstance(block, dict) and isinstance(block.get("text"), str):
            parts.append(TextPart(text=block["text"]))
        elif isinstance(block, str):
            parts.append(TextPart(text=block))
    return parts


def _read_assistant(raw: dict[str, Any]) -> list[Part]:
    parts: list[Part] = []
    blocks = raw.get("thinking_blocks") or []
    for block in blocks:
        parts.extend(_read_thinking(block))
    reasoning = raw.get("reasoning_content")
    if not blocks and isinstance(reasoning, str) and reasoning:
        parts.append(ReasoningPart(text=reasoning))
    parts.extend(_text_parts(raw.get("content")))
    for call in raw.get("tool_calls") or []:
        function = call.get("function") or {}
        fields = call.get("provider_specific_fields") or function.get("provider_specific_fields")
        signature = fields.get("thought_signature") if isinstance(fields, dict) else None
        if isinstance(signature, str) and signature:
            parts.append(ReasoningPart(vendor=GOOGLE, signature=signature, redacted=True))
        parts.append(
            ToolCallPart(
                id=str(call.get("id") or ""),
                name=str(function.get("name") or ""),
                arguments=load_arguments(function.get("arguments")),
            )
        )
    return parts


def _read_thinking(block: Any) -> list[Part]:
    if not isinstance(block, dict):
        return []
    if block.get("type") == "redacted_thinking":
        data = block.get("data")
        if not isinstance(data, str):
            return []
        if data.startswith(ENCRYPTED_REASONING_PREFIX):
            encrypted = data[len(ENCRYPTED_REASONING_PREFIX) :]
            return [ReasoningPart(vendor=OPENAI, signature=encrypted, redacted=True)]
        return [ReasoningPart(vendor=ANTHROPIC, signature=data, redacted=True)]
    raw_text, raw_signature = block.get("thinking"), block.get("signature")
    text = raw_text if isinstance(raw_text, str) else ""
    signature = raw_signature if isinstance(raw_signature, str) and raw_signature else None
    thought = _read_gemini_thought(text)
    if thought is not None:
        return [
            ReasoningPart(text=thought, vendor=GOOGLE, signature=signature, redacted=not thought)
        ]
    if signature and signature.startswith(ENCRYPTED_REASONING_PREFIX):
        encrypted = signature[len(ENCRYPTED_REASONING_PREFIX) :]
        return [ReasoningPart(text=text, vendor=OPENAI, signature=encrypted, redacted=not text)]
    if signature:
        return [ReasoningPart(text=text, vendor=ANTHROPIC, signature=signature)]
    return [ReasoningPart(text=text)] if text else []
