"""Constants and small helpers shared by the translators."""

from __future__ import annotations

import json
import re
from typing import Any

ID_MAX_LENGTH = 40
"""OpenAI Chat Completions refuses tool-call ids longer than 40 characters; the other
APIs allow more, so 40 is the limit every target accepts."""

ID_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{ID_MAX_LENGTH}}}")
"""A tool-call id every target accepts (Anthropic: ``^[a-zA-Z0-9_-]+$``), for fullmatch."""

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
"""A tool name every target accepts: Anthropic and OpenAI allow ``[a-zA-Z0-9_-]{1,64}``,
Gemini wants a letter or underscore first. For fullmatch."""

RESERVED_ID_PART = "__thought__"
"""litellm reads a Gemini thought signature out of a tool-call id after this marker;
an id holding it is rewritten so that nothing is misread."""

ERROR_MARK = "[error] "
"""Put before a failed tool's output in formats with no error flag (OpenAI chat and
Responses), so the model still sees that the call failed; read back by ``from_*``."""

NO_RESULT = "no result was recorded"
"""The output of the error result made up for a tool call whose result is missing."""

CONTINUE_TEXT = "(continuing an earlier conversation)"
"""The user turn put first when a transcript starts with the assistant, for APIs whose
conversations must start with the user (Anthropic, Gemini)."""

ENCRYPTED_REASONING_PREFIX = "litellm_encrypted_reasoning:"
"""litellm's convention for OpenAI encrypted reasoning carried in a chat thinking block's
signature (``litellm_core_utils.prompt_templates.common_utils``); kept here so reading
chat messages needs no litellm import."""


def dump_arguments(arguments: dict[str, Any]) -> str:
    """Tool-call arguments as the JSON string OpenAI formats carry."""
    return json.dumps(arguments, ensure_ascii=False, default=str)


def load_arguments(raw: Any) -> dict[str, Any]:
    """Tool-call arguments from a JSON string (or an object); what does not decode to an
    object is kept whole under ``"arguments"`` rather than lost."""
    if isinstance(raw, dict):
        return raw
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            return {"arguments": raw}
        return value if isinstance(value, dict) else {"arguments": value}
    return {"arguments": raw}


def mark_error(output: str) -> str:
    return ERROR_MARK + output


def unmark_error(content: str) -> tuple[str, bool]:
    """(output, is_error) from a tool message written with :func:`mark_error`."""
    if content.startswith(ERROR_MARK):
        return content[len(ERROR_MARK) :], True
    return content, False


def text_of_blocks(content: Any) -> str:
    """The text of a string or of a list of text blocks (``{"type": "text"|"input_text"|
    "output_text", "text": ...}``), joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for block in content:
        if isinstance(block, str):
            texts.append(block)
        elif isinstance(block, dict) and isinstance(block.get("text"), str):
            texts.append(block["text"])
    return "".join(texts)
