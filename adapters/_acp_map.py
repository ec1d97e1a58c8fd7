"""Agent Client Protocol messages -> canonical events, errors and permission answers.

Pure functions over the typed models of the ``acp`` SDK (``acp.schema``), so the mapping
is tested without an agent. :class:`UpdateMapper` keeps what a run said so far (the
answer text, the tool calls, the usage and cost already reported).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acp import RequestError
from acp.schema import (
    AgentMessageChunk,
    AgentThoughtChunk,
    AllowedOutcome,
    DeniedOutcome,
    PermissionOption,
    PromptResponse,
    RequestPermissionResponse,
    ToolCallProgress,
    ToolCallStart,
    ToolCallUpdate,
    UsageUpdate,
)

from switchboard.adapters.gemini_cli_errors import error_for, status_in
from switchboard.config.permissions import PermissionProfile
from switchboard.errors import ProviderError, ProviderFailure
from switchboard.events import AdapterEvent, AssistantText, Notice, ToolCall, ToolResult, UsageDelta
from switchboard.models import Usage
from switchboard.policies.permissions import check_tool_call

#: ACP tool kind -> a tool name the permission checks classify (see policies.tool_names)
KIND_TOOLS: Mapping[str, str] = {
    "execute": "bash",
    "read": "read",
    "edit": "edit",
    "delete": "edit",
    "move": "edit",
    "search": "grep",
    "fetch": "webfetch",
    "think": "todowrite",
}

#: stop reasons that end a prompt without an answer
FAILED_STOPS: Mapping[str, str] = {
    "refusal": "the agent refused the request",
    "max_tokens": "the model hit its output token limit",
    "max_turn_requests": "the agent hit its turn limit",
}

_RAW_LIMIT = 2000
_MICRO = 1_000_000


def canonical_call(
    call_id: str,
    kind: str | None,
    title: str | None,
    raw_input: object,
    locations: Sequence[Any] | None = None,
) -> ToolCall:
    """A canonical tool call: the kind's tool name, the raw input as arguments.

    When an ``execute`` call carries no command, its title (the command line, for the
    agents observed) stands in for it; the first location stands in for a missing path.
    """
    name = KIND_TOOLS.get(kind or "", "") or (title or "unknown")
    arguments: dict[str, Any] = dict(raw_input) if isinstance(raw_input, dict) else {}
    if kind == "execute" and not any(k in arguments for k in ("command", "cmd")) and title:
        arguments["command"] = title
    paths = [loc.path for loc in locations or () if isinstance(getattr(loc, "path", None), str)]
    if paths and not any(k in arguments for k in ("path", "file_path", "filePath")):
        arguments["path"] = paths[0]
    if title:
        arguments.setdefault("title", title)
    return ToolCall(call_id=call_id, name=name, arguments=arguments)


def decide_permission(
    profile: PermissionProfile,
    call: ToolCall,
    options: Sequence[PermissionOption],
    workspace: Path | None,
) -> tuple[RequestPermissionResponse, Notice]:
    """Allow once what the profile allows, reject once what it does not."""
    violation = check_tool_call(profile, call, workspace)
    wanted = (
        ("allow_once", "allow_always") if violation is None else ("reject_once", "reject_always")
    )
    chosen = next((o for kind in wanted for o in options if o.kind == kind), None)
    if chosen is None:
        outcome: AllowedOutcome | DeniedOutcome = DeniedOutcome(outcome="cancelled")
        picked = "cancelled (no matching option)"
    else:
        outcome = AllowedOutcome(outcome="selected", option_id=chosen.option_id)
        picked = f"{chosen.kind} ({chosen.option_id})"
    if violation is None:
        notice = Notice(level="info", message=f"permissions: allowed {call.name}: {picked}")
    else:
        notice = Notice(
            level="warning",
            message=f"permissions: rejected {violation.attempted}: {violation.rule}; {picked}",
        )
    return RequestPermissionResponse(outcome=outcome), notice


@dataclass
class UpdateMapper:
    """Turns ``session/update`` payloads into events; keeps the run's running totals."""

    text_parts: list[str] = field(default_factory=list)
    answer_from: int = 0
    calls: dict[str, ToolCall] = field(default_factory=dict)
    done_calls: set[str] = field(default_factory=set)
    usage_seen: Usage = field(default_factory=Usage)
    cost_seen: int = 0

    @property
    def answer(self) -> str:
        """The text after the last tool call (the final answer)."""
        return "".join(self.text_parts[self.answer_from :])

    def map(self, update: object) -> Iterator[AdapterEvent]:
        if isinstance(update, AgentMessageChunk):
            text = getattr(update.content, "text", None)
            if isinstance(text, str) and text:
                self.text_parts.append(text)
                yield AssistantText(text=text, delta=True)
        elif isinstance(update, AgentThoughtChunk):
            text = getattr(update.content, "text", None)
            if isinstance(text, str) and text:
                yield Notice(level="debug", message=f"thought: {text}")
        elif isinstance(update, ToolCallStart):
            yield from self._tool_start(update)
        elif isinstance(update, ToolCallProgress):
            yield from self._tool_progress(update)
        elif isinstance(update, UsageUpdate):
            yield from self._usage_update(update)
        else:
            kind = getattr(update, "session_update", type(update).__name__)
            yield Notice(level="debug", message=f"acp update {kind}", raw=_dump(update))

    def seen_call(self, update: ToolCallUpdate) -> ToolCall:
        """The canonical call a permission request is about (known or built from it)."""
        known = self.calls.get(update.tool_call_id)
        fresh = canonical_call(
            update.tool_call_id, update.kind, update.title, update.raw_input, update.locations
        )
        if known is None:
            return fresh
        if update.raw_input is None and update.kind is None:
            return known
        return fresh if fresh.arguments else known

    def final_usage(self, response: PromptResponse) -> Iterator[UsageDelta]:
        """What the prompt result's totals add to the usage already reported."""
        total = usage_of_response(response)
        if total is None:
            return
        seen = self.usage_seen
        rest = Usage(
            input_tokens=max(0, total.input_tokens - seen.input_tokens),
            output_tokens=max(0, total.output_tokens - seen.output_tokens),
            cache_read_tokens=max(0, total.cache_read_tokens - seen.cache_read_tokens),
            cache_write_tokens=max(0, total.cache_write_tokens - seen.cache_write_tokens),
        )
        if rest.total_tokens:
            self.usage_seen = seen + rest
            yield UsageDelta(usage=rest, cost=None)

    def add_usage(self, usage: Usage) -> Iterator[UsageDelta]:
        """Usage of one model call, learnt outside the protocol (e.g. a response log)."""
        if usage.total_tokens:
            self.usage_seen = self.usage_seen + usage
            yield UsageDelta(usage=usage, cost=None)

    def _tool_start(self, update: ToolCallStart) -> Iterator[AdapterEvent]:
        call = canonical_call(
            update.tool_call_id, update.kind, update.title, update.raw_input, update.locations
        )
        self.calls[call.call_id] = call
        self.answer_from = len(self.text_parts)
        yield call
        if update.status in ("completed", "failed"):
            yield self._result(
                update.tool_call_id, update.status, update.content, update.raw_output
            )

    def _tool_progress(self, update: ToolCallProgress) -> Iterator[AdapterEvent]:
        call_id = update.tool_call_id
        if call_id not in self.calls and (update.kind or update.title):
            yield from self._tool_start(
                ToolCallStart(
                    session_update="tool_call",
                    tool_call_id=call_id,
                    title=update.title or "",
                    kind=update.kind,
                    raw_input=update.raw_input,
                    locations=update.locations,
                )
            )
        if update.status in ("completed", "failed"):
            yield self._result(call_id, update.status, update.content, update.raw_output)

    def _result(self, call_id: str, status: str, content: object, raw: object) -> ToolResult:
        self.done_calls.add(call_id)
        return ToolResult(
            call_id=call_id, output=tool_output(content, raw), is_error=status == "failed"
        )

    def _usage_update(self, update: UsageUpdate) -> Iterator[AdapterEvent]:
        cost = update.cost
        if cost is None or cost.currency.upper() != "USD":
            yield Notice(
                level="debug", message=f"context used: {update.used} of {update.size} tokens"
            )
            return
        total = round(cost.amount * _MICRO)
        step = total - self.cost_seen
        if step > 0:
            self.cost_seen = total
            yield UsageDelta(usage=Usage(), cost=step)


def usage_of_response(response: PromptResponse) -> Usage | None:
    """The prompt's totals: standard ``usage``, else Gemini's ``_meta.quota.token_count``."""
    usage = response.usage
    if usage is not None:
        cached = usage.cached_read_tokens or 0
        return Usage(
            input_tokens=max(0, usage.input_tokens - cached),
            output_tokens=usage.output_tokens + (usage.thought_tokens or 0),
            cache_read_tokens=cached,
            cache_write_tokens=usage.cached_write_tokens or 0,
        )
    meta = response.field_meta or {}
    quota = meta.get("quota") if isinstance(meta, dict) else None
    counts = quota.get("token_count") if isinstance(quota, dict) else None
    if not isinstance(counts, dict):
        return None
    return Usage(
        input_tokens=_int(counts.get("input_tokens")),
        output_tokens=_int(counts.get("output_tokens")),
    )


def stop_error(provider: str, response: PromptResponse) -> ProviderError | None:
    """The error for a prompt that stopped without finishing its turn, else None."""
    why = FAILED_STOPS.get(response.stop_reason)
    if why is None:
        return None
    return ProviderFailure(
        f"{provider}: {why} (stopReason {response.stop_reason})", provider=provider
    )


def rpc_error(provider: str, exc: RequestError) -> ProviderError:
    """A JSON-RPC error as a classified provider error (HTTP status when it names one)."""
    data = exc.data if exc.data is not None else ""
    detail = data if isinstance(data, str) else json.dumps(data, default=str)
    message = f"{exc} {detail}".strip()
    code = exc.code
    if isinstance(data, dict):  # an HTTP status in the error data, when the agent gives one
        found = [data.get(k) for k in ("status", "statusCode", "httpStatus", "code")]
        code = next((c for c in found if isinstance(c, int) and 400 <= c <= 599), code)
    status = status_in(message, code)
    if status is not None:  # the HTTP status as the error code (Gemini CLI), or in the text
        return error_for(provider, status, f"{provider}: {message}")
    if exc.code == -32000:  # the protocol's "authentication required"
        return error_for(provider, 401, message)
    return ProviderFailure(f"{provider}: agent error {exc.code}: {message}", provider=provider)


def tool_output(content: object, raw: object) -> str:
    """The text of a tool call's content blocks, else its raw output."""
    parts: list[str] = []
    for item in content if isinstance(content, list) else []:
        inner = getattr(item, "content", None)
        text = getattr(inner, "text", None)
        if isinstance(text, str):
            parts.append(text)
        elif getattr(item, "type", None) == "diff":
            parts.append(f"edited {getattr(item, 'path', '?')}")
    if parts:
        return "\n".join(parts)
    if raw is None:
        return ""
    return raw if isinstance(raw, str) else json.dumps(raw, default=str)


def _dump(model: object) -> str:
    dump = getattr(model, "model_dump_json", None)
    raw = dump(by_alias=True, exclude_none=True) if callable(dump) else repr(model)
    text = str(raw)
    return text if len(text) <= _RAW_LIMIT else text[:_RAW_LIMIT] + "..."


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
