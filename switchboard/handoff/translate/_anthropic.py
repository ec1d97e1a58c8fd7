"""Anthropic Messages API: ``(system, messages)``.

Written with litellm's own converter (``anthropic_messages_pt``) from the OpenAI chat
form, which already does what the Messages API needs: it merges consecutive user/tool
and assistant messages into strictly alternating turns, turns tool messages into
``tool_result`` blocks in the next user turn (results first), puts signed thinking
blocks first in their turn and drops unsigned or OpenAI-encrypted ones, parses tool
arguments into ``input`` and strips trailing whitespace from a final assistant turn.

Done here, because the chat form cannot say it or litellm leaves it to the caller:

* the system messages go to the separate ``system`` text (litellm expects them gone);
* a transcript that starts with the assistant gets a short user turn first;
* ``is_error`` is set on the results of failed tools (chat messages have no error flag,
  and litellm writes every result as a success);
* an empty ``tool_result`` content is left out (an error result gets "(no output)").
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
from switchboard.handoff.translate._common import CONTINUE_TEXT, text_of_blocks
from switchboard.handoff.translate._prepare import prepare_for
from switchboard.handoff.translate._vendor import ANTHROPIC


def to_anthropic(
    messages: Sequence[Message], *, secrets: Iterable[str] = ()
) -> tuple[str | None, list[dict[str, Any]]]:
    """(system text or None, Anthropic ``messages``) for a transcript. An empty
    transcript gives no messages: the caller adds its prompt as the first user turn."""
    prepared = prepare_for(messages, vendor=ANTHROPIC, secrets=secrets)
    system_texts = [
        p.text for m in prepared if m.role == "system" for p in m.parts if isinstance(p, TextPart)
    ]
    system = "\n\n".join(system_texts) or None
    rest = [m for m in prepared if m.role != "system"]
    if not rest:
        return system, []
    errors = {
        p.call_id: p.is_error
        for m in rest
        if m.role == "tool"
        for p in m.parts
        if isinstance(p, ToolResultPart)
    }
    chat = chat_from_prepared(rest, vendor=ANTHROPIC, mark_errors=False)
    if chat[0]["role"] != "user":
        chat.insert(0, {"role": "user", "content": CONTINUE_TEXT})
    converted = _litellm.anthropic_converter()(chat, model="", llm_provider="anthropic")
    out: list[dict[str, Any]] = [dict(m) for m in converted]
    for message in out:
        if message["role"] != "user" or not isinstance(message["content"], list):
            continue
        for block in message["content"]:
            if block.get("type") != "tool_result":
                continue
            if errors.get(block["tool_use_id"]):
                block["is_error"] = True
            if block.get("content") in ("", []):
                if block.get("is_error"):
                    block["content"] = "(no output)"
                else:
                    del block["content"]
    return system, out


def from_anthropic(system: str | None, messages: list[dict[str, Any]]) -> list[Message]:
    """A canonical transcript from an Anthropic ``system`` and ``messages``: thinking
    blocks become anthropic reasoning, a user turn's tool results a ``tool`` message
    (before its text). Images and documents are left out."""
    out: list[Message] = []
    system_text = text_of_blocks(system)
    if system_text:
        out.append(Message(role="system", parts=[TextPart(text=system_text)]))
    for raw in messages:
        content = raw.get("content")
        blocks: list[Any] = (
            [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        )
        if raw.get("role") == "assistant":
            parts = [p for b in blocks for p in _assistant_block(b)]
            if parts:
                out.append(Message(role="assistant", parts=parts))
            continue
        results: list[Part] = []
        texts: list[Part] = []
        for block in blocks:
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "tool_result":
                results.append(
                    ToolResultPart(
                        call_id=str(block.get("tool_use_id", "")),
                        output=text_of_blocks(block.get("content")),
                        is_error=bool(block.get("is_error", False)),
                    )
                )
            elif kind == "text" and block.get("text"):
                texts.append(TextPart(text=block["text"]))
        if results:
            out.append(Message(role="tool", parts=results))
        if texts:
            out.append(Message(role="user", parts=texts))
    return out


def _assistant_block(block: Any) -> list[Part]:
    if not isinstance(block, dict):
        return []
    kind = block.get("type")
    if kind == "text" and block.get("text"):
        return [TextPart(text=block["text"])]
    if kind == "tool_use":
        arguments = block.get("input")
        return [
            ToolCallPart(
                id=str(block.get("id", "")),
                name=str(block.get("name", "")),
                arguments=arguments if isinstance(arguments, dict) else {},
            )
        ]
    if kind == "thinking":
        return [
            ReasoningPart(
                text=str(block.get("thinking", "")),
                vendor=ANTHROPIC,
                signature=block.get("signature") or None,
            )
        ]
    if kind == "redacted_thinking":
        return [ReasoningPart(vendor=ANTHROPIC, signature=block.get("data") or None, redacted=True)]
    return []
