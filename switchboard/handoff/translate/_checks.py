"""Validators: the rules each target API enforces on a conversation, as lists of problems.

Each ``check_*`` returns human-readable violations (empty = valid): roles and turn
order, id and name patterns, every tool call answered exactly once and no answer
without a call, no reasoning another vendor would reject, no ``cache_control`` markers.
They check what a translator can get wrong, not the whole of each API's schema.
"""

from __future__ import annotations

import json
import re
from typing import Any

from switchboard.handoff.translate._common import ENCRYPTED_REASONING_PREFIX, ID_RE, NAME_RE
from switchboard.handoff.translate._vendor import ANTHROPIC, GOOGLE, normalize_vendor

_ANTHROPIC_ID = re.compile(r"[a-zA-Z0-9_-]+")
_ANTHROPIC_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_GEMINI_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}")
_RESPONSES_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _markers(value: Any, path: str = "") -> list[str]:
    """Paths of every ``cache_control`` key in ``value``."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if key == "cache_control":
                found.append(here)
            found.extend(_markers(item, here))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_markers(item, f"{path}[{i}]"))
    return found


def _json_object(raw: Any) -> bool:
    if not isinstance(raw, str):
        return False
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:
        return False


def _is_text_content(content: Any) -> bool:
    if isinstance(content, str):
        return True
    return isinstance(content, list) and all(
        isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        for b in content
    )


# --- OpenAI chat -----------------------------------------------------------------------------

_CHAT_KEYS = {
    "system": {"role", "content", "name"},
    "developer": {"role", "content", "name"},
    "user": {"role", "content", "name"},
    "assistant": {"role", "content", "tool_calls", "thinking_blocks", "name"},
    "tool": {"role", "tool_call_id", "content"},
}


def check_openai_chat(msgs: list[dict[str, Any]], *, vendor: str | None = None) -> list[str]:
    """Violations in OpenAI chat ``msgs``. With ``vendor`` (the API family the messages
    go to through litellm), reasoning is checked against it too: only anthropic and
    google take thinking blocks back, in their own form."""
    target = normalize_vendor(vendor)
    problems = [f"cache_control at {p}" for p in _markers(msgs)]
    seen: set[str] = set()
    waiting: set[str] = set()
    in_results = False
    for i, m in enumerate(msgs):
        role = m.get("role") if isinstance(m, dict) else None
        if role not in _CHAT_KEYS:
            problems.append(f"message {i}: unknown role {role!r}")
            continue
        extra = set(m) - _CHAT_KEYS[role]
        if extra:
            problems.append(f"message {i} ({role}): unexpected keys {sorted(extra)}")
        if role == "tool":
            call_id = m.get("tool_call_id")
            if not in_results:
                problems.append(f"message {i}: tool result not right after its assistant call")
            elif call_id not in waiting:
                problems.append(f"message {i}: result for {call_id!r}, which no call awaits")
            waiting.discard(call_id)
            if not isinstance(m.get("content"), str):
                problems.append(f"message {i}: tool content is not a string")
            continue
        if waiting:
            problems.append(f"message {i}: calls {sorted(waiting)} have no result")
            waiting = set()
        in_results = False
        content = m.get("content")
        if content is not None and not _is_text_content(content):
            problems.append(f"message {i}: content is neither a string nor text blocks")
        if role != "assistant":
            continue
        calls = m.get("tool_calls") or []
        if content in (None, "", []) and not calls and not m.get("thinking_blocks"):
            problems.append(f"message {i}: assistant message with no content and no calls")
        for call in calls:
            problems.extend(_chat_call(i, call, seen, target))
            waiting.add(call.get("id"))
        in_results = bool(calls)
        problems.extend(_chat_thinking(i, m.get("thinking_blocks"), target))
    if waiting:
        problems.append(f"end: calls {sorted(waiting)} have no result")
    return problems


def _chat_call(i: int, call: Any, seen: set[str], target: str | None) -> list[str]:
    if not isinstance(call, dict):
        return [f"message {i}: tool call is not an object"]
    problems = []
    call_id = call.get("id")
    if not isinstance(call_id, str) or not ID_RE.fullmatch(call_id):
        problems.append(f"message {i}: tool call id {call_id!r} is not [A-Za-z0-9_-]{{1,40}}")
    elif call_id in seen:
        problems.append(f"message {i}: tool call id {call_id!r} used twice")
    else:
        seen.add(call_id)
    function = call.get("function") or {}
    if call.get("type") != "function":
        problems.append(f"message {i}: tool call type is not 'function'")
    if not isinstance(function.get("name"), str) or not NAME_RE.fullmatch(function["name"]):
        problems.append(f"message {i}: tool name {function.get('name')!r} is not valid")
    if not _json_object(function.get("arguments")):
        problems.append(f"message {i}: tool arguments are not a JSON object string")
    extra = set(call) - {"id", "type", "function", "provider_specific_fields"}
    if extra:
        problems.append(f"message {i}: unexpected tool call keys {sorted(extra)}")
    if "provider_specific_fields" in call and target not in (None, GOOGLE):
        problems.append(f"message {i}: a thought signature on a call for {target}")
    return problems


def _chat_thinking(i: int, blocks: Any, target: str | None) -> list[str]:
    if blocks is None:
        return []
    if target not in (None, ANTHROPIC, GOOGLE):
        return [f"message {i}: thinking blocks for {target}, which cannot take them back"]
    problems = []
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "redacted_thinking":
            if target == GOOGLE or not block.get("data"):
                problems.append(f"message {i}: redacted thinking without data or for google")
        elif kind == "thinking":
            signature = block.get("signature")
            if not isinstance(signature, str) or not signature:
                problems.append(f"message {i}: thinking block without a signature")
            elif target is not None and signature.startswith(ENCRYPTED_REASONING_PREFIX):
                problems.append(f"message {i}: OpenAI encrypted reasoning for {target}")
            gemini = str(block.get("thinking", "")).startswith('{"text"')
            if target == GOOGLE and not gemini:
                problems.append(f"message {i}: google thinking block not in Gemini part form")
        else:
            problems.append(f"message {i}: unknown thinking block {kind!r}")
    return problems


# --- Anthropic -------------------------------------------------------------------------------

_ANTHROPIC_USER = {"text", "tool_result", "image", "document"}
_ANTHROPIC_ASSISTANT = {"text", "tool_use", "thinking", "redacted_thinking"}


def check_anthropic(system: Any, msgs: list[dict[str, Any]]) -> list[str]:
    """Violations in an Anthropic Messages request's ``system`` and ``messages``."""
    problems = [f"cache_control at {p}" for p in _markers([system, msgs])]
    if system is not None and not (isinstance(system, str) or _is_text_content(system)):
        problems.append("system is neither a string nor text blocks")
    if msgs and msgs[0].get("role") != "user":
        problems.append("the first message is not from the user")
    seen: set[str] = set()
    waiting: set[str] = set()
    previous = None
    for i, m in enumerate(msgs):
        role = m.get("role")
        if role not in ("user", "assistant"):
            problems.append(f"message {i}: role {role!r}")
            continue
        if set(m) - {"role", "content"}:
            problems.append(f"message {i}: unexpected keys {sorted(set(m) - {'role', 'content'})}")
        if role == previous:
            problems.append(f"message {i}: two {role} turns in a row")
        previous = role
        content = m.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list) or not blocks:
            problems.append(f"message {i}: empty content")
            continue
        if role == "user":
            problems.extend(_anthropic_user(i, blocks, waiting))
            waiting = set()
            continue
        if waiting:
            problems.append(f"message {i}: tool uses {sorted(waiting)} have no result")
        waiting = set()
        problems.extend(_anthropic_assistant(i, blocks, seen, waiting))
        if i == len(msgs) - 1:
            for b in blocks:
                if b.get("type") == "text" and b.get("text", "") != b.get("text", "").rstrip():
                    problems.append(f"message {i}: final assistant text ends with whitespace")
    if waiting:
        problems.append(f"end: tool uses {sorted(waiting)} have no result")
    return problems


def _anthropic_user(i: int, blocks: list[Any], waiting: set[str]) -> list[str]:
    problems = []
    after_text = False
    answered: set[str] = set()
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in _ANTHROPIC_USER:
            problems.append(f"message {i}: user block {kind!r}")
        elif kind == "text":
            after_text = True
            if not str(block.get("text", "")).strip():
                problems.append(f"message {i}: empty text block")
        elif kind == "tool_result":
            tool_use_id = block.get("tool_use_id")
            if after_text:
                problems.append(f"message {i}: tool_result after text")
            if tool_use_id not in waiting or tool_use_id in answered:
                problems.append(f"message {i}: tool_result for {tool_use_id!r}, not awaited")
            answered.add(tool_use_id)
            if block.get("is_error") and not block.get("content"):
                problems.append(f"message {i}: error tool_result without content")
    missing = waiting - answered
    if missing:
        problems.append(f"message {i}: tool uses {sorted(missing)} have no result")
    return problems


def _anthropic_assistant(i: int, blocks: list[Any], seen: set[str], waiting: set[str]) -> list[str]:
    problems = []
    leading = True
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in _ANTHROPIC_ASSISTANT:
            problems.append(f"message {i}: assistant block {kind!r}")
            continue
        if kind in ("thinking", "redacted_thinking"):
            if not leading:
                problems.append(f"message {i}: thinking block after other content")
            key = "signature" if kind == "thinking" else "data"
            value = block.get(key)
            if not isinstance(value, str) or not value:
                problems.append(f"message {i}: {kind} block without {key}")
            elif value.startswith(ENCRYPTED_REASONING_PREFIX):
                problems.append(f"message {i}: OpenAI encrypted reasoning")
            continue
        leading = False
        if kind == "text" and not str(block.get("text", "")).strip():
            problems.append(f"message {i}: empty text block")
        if kind == "tool_use":
            tool_id = block.get("id")
            if not isinstance(tool_id, str) or not _ANTHROPIC_ID.fullmatch(tool_id):
                problems.append(f"message {i}: tool_use id {tool_id!r} is not [a-zA-Z0-9_-]+")
            elif tool_id in seen:
                problems.append(f"message {i}: tool_use id {tool_id!r} used twice")
            else:
                seen.add(tool_id)
                waiting.add(tool_id)
            name = block.get("name")
            if not isinstance(name, str) or not _ANTHROPIC_NAME.fullmatch(name):
                problems.append(f"message {i}: tool name {name!r} is not valid")
            if not isinstance(block.get("input"), dict):
                problems.append(f"message {i}: tool_use input is not an object")
    return problems


# --- Gemini ----------------------------------------------------------------------------------

_GEMINI_DATA = {"text", "functionCall", "functionResponse", "inlineData", "fileData"}
_GEMINI_EXTRA = {"thought", "thoughtSignature"}


def check_gemini(system: Any, contents: list[dict[str, Any]]) -> list[str]:
    """Violations in a Gemini request's ``system_instruction`` and ``contents``."""
    problems = [f"cache_control at {p}" for p in _markers([system, contents])]
    if system is not None:
        parts = system.get("parts") if isinstance(system, dict) else None
        if not isinstance(parts, list) or not all(
            isinstance(p, dict) and set(p) == {"text"} for p in parts
        ):
            problems.append("system_instruction is not {'parts': [{'text': ...}]}")
    if contents and contents[0].get("role") != "user":
        problems.append("the first content is not from the user")
    calls: list[tuple[str, Any]] = []
    previous = None
    for i, content in enumerate(contents):
        role = content.get("role")
        if role not in ("user", "model"):
            problems.append(f"content {i}: role {role!r}")
            continue
        if set(content) - {"role", "parts"}:
            problems.append(f"content {i}: unexpected keys")
        if role == previous:
            problems.append(f"content {i}: two {role} turns in a row")
        previous = role
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            problems.append(f"content {i}: no parts")
            continue
        responses: list[tuple[str, Any]] = []
        for part in parts:
            problems.extend(_gemini_part(i, role, part, calls if role == "model" else responses))
        if role == "model":
            continue
        if [n for n, _ in responses] != [n for n, _ in calls]:
            problems.append(
                f"content {i}: responses {[n for n, _ in responses]} do not answer"
                f" the calls {[n for n, _ in calls]} of the turn before"
            )
        elif any(c is not None and r != c for (_, c), (_, r) in zip(calls, responses, strict=True)):
            problems.append(f"content {i}: response ids do not match the call ids")
        calls = []
    if calls:
        problems.append(f"end: calls {[n for n, _ in calls]} have no response")
    return problems


def _gemini_part(i: int, role: str, part: Any, found: list[tuple[str, Any]]) -> list[str]:
    if not isinstance(part, dict):
        return [f"content {i}: a part is not an object"]
    problems = []
    data = set(part) & _GEMINI_DATA
    if len(data) != 1:
        problems.append(f"content {i}: a part with data fields {sorted(data)}")
    extra = set(part) - _GEMINI_DATA - _GEMINI_EXTRA
    if extra:
        problems.append(f"content {i}: unexpected part keys {sorted(extra)}")
    if part.get("thought") is not None and not isinstance(part.get("text"), str):
        problems.append(f"content {i}: a thought without text")
    signature = part.get("thoughtSignature")
    if signature is not None and (not isinstance(signature, str) or not signature):
        problems.append(f"content {i}: an empty thought signature")
    if role == "user" and (part.get("thought") or signature):
        problems.append(f"content {i}: a thought in a user turn")
    for key, wanted_role, body in (
        ("functionCall", "model", "args"),
        ("functionResponse", "user", "response"),
    ):
        value = part.get(key)
        if value is None:
            continue
        if role != wanted_role:
            problems.append(f"content {i}: {key} in a {role} turn")
        name = value.get("name") if isinstance(value, dict) else None
        if not isinstance(name, str) or not _GEMINI_NAME.fullmatch(name):
            problems.append(f"content {i}: {key} name {name!r} is not valid")
        if not isinstance(value, dict) or not isinstance(value.get(body), dict):
            problems.append(f"content {i}: {key}.{body} is not an object")
        found.append((str(name), value.get("id") if isinstance(value, dict) else None))
    return problems


# --- Responses -------------------------------------------------------------------------------


def check_responses(items: list[dict[str, Any]]) -> list[str]:
    """Violations in Responses API input ``items``."""
    problems = [f"cache_control at {p}" for p in _markers(items)]
    seen: set[str] = set()
    waiting: set[str] = set()
    for i, item in enumerate(items):
        kind = item.get("type")
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                problems.append(f"item {i}: role {role!r}")
            if waiting and role != "assistant":
                problems.append(f"item {i}: calls {sorted(waiting)} have no output before it")
                waiting = set()
            wanted = "output_text" if role == "assistant" else "input_text"
            content = item.get("content")
            if not isinstance(content, str) and not (
                isinstance(content, list)
                and all(
                    isinstance(b, dict)
                    and b.get("type") == wanted
                    and isinstance(b.get("text"), str)
                    for b in content
                )
            ):
                problems.append(f"item {i}: {role} content is not {wanted} blocks")
        elif kind == "function_call":
            call_id = item.get("call_id")
            if not isinstance(call_id, str) or not _RESPONSES_ID.fullmatch(call_id):
                problems.append(f"item {i}: call_id {call_id!r} is not valid")
            elif call_id in seen:
                problems.append(f"item {i}: call_id {call_id!r} used twice")
            else:
                seen.add(call_id)
                waiting.add(call_id)
            name = item.get("name")
            if not isinstance(name, str) or not NAME_RE.fullmatch(name):
                problems.append(f"item {i}: function name {name!r} is not valid")
            if not _json_object(item.get("arguments")):
                problems.append(f"item {i}: arguments are not a JSON object string")
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            if call_id not in waiting:
                problems.append(f"item {i}: output for {call_id!r}, which no call awaits")
            waiting.discard(call_id)
            if not isinstance(item.get("output"), str | list):
                problems.append(f"item {i}: output is not a string")
        elif kind == "reasoning":
            if "id" in item and not str(item["id"]).startswith("rs_"):
                problems.append(f"item {i}: reasoning id {item['id']!r} was not minted by OpenAI")
            summary = item.get("summary")
            if not isinstance(summary, list) or not all(
                isinstance(s, dict) and s.get("type") == "summary_text" for s in summary
            ):
                problems.append(f"item {i}: reasoning summary is not summary_text blocks")
            encrypted = item.get("encrypted_content")
            if encrypted is not None and (not isinstance(encrypted, str) or not encrypted):
                problems.append(f"item {i}: empty encrypted_content")
            if encrypted is None and "id" not in item:
                problems.append(f"item {i}: reasoning with neither id nor encrypted_content")
        else:
            problems.append(f"item {i}: unknown item type {kind!r}")
    if waiting:
        problems.append(f"end: calls {sorted(waiting)} have no output")
    return problems
