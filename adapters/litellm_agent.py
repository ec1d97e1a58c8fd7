"""The built-in agent for model APIs: any model litellm can call does a coding task.

:class:`LiteLLMAgentAdapter` (``adapter = "litellm-agent"``) runs a small tool loop in
the task's workspace. Each turn is one streamed ``litellm.acompletion`` call offering the
tools of :mod:`switchboard.adapters.agent_tools` (``list_files``, ``read_file``,
``write_file``, ``edit_file``, ``run_shell``). Text is streamed as it comes; the usage of
each turn is reported once the turn's stream ends; then every tool call the model made is
yielded as a :class:`~switchboard.events.ToolCall` *before* it runs, so the engine's
permission guard can stop the run first (the engine closes this generator and the tool
never runs), and its outcome as a :class:`~switchboard.events.ToolResult`. The loop ends
when the model answers without calling a tool: that answer is the ``Finished`` text.

Design choices:

* Turn limit: ``max_turns`` of the permission profile, else :data:`DEFAULT_MAX_TURNS`.
  A model still calling tools on its last turn fails the attempt with
  :class:`~switchboard.errors.ProviderFailure` (those calls are not run): the task is not
  done, and the engine can hand it to the next provider.
* The model's mistakes (unknown tool, arguments that are not a JSON object, a path outside
  the workspace...) go back to it as error results; they never end the run.
* No ``FileChanged`` events: the engine reports the changed files from the workspace diff.
* The request is built by the plain litellm adapter (:func:`build_request`), so options,
  secrets, retries (``num_retries=0``) and error mapping work the same way.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from switchboard.adapters.agent_tools import TOOL_SCHEMAS, AgentTools, ToolOutcome
from switchboard.adapters.base import Adapter, HandoffMode, RunContext
from switchboard.adapters.litellm_api import (
    NO_USAGE_NOTICE,
    LiteLLMAdapter,
    _chunk_id,
    _delta_text,
    _field,
    _StreamHandle,
    build_request,
    conversation,
    estimate_tokens,
    load_litellm,
    provider_reported_usage,
    stream_chunks,
    usage_from_litellm,
    usage_increase,
)
from switchboard.adapters.litellm_errors import redact
from switchboard.errors import BadRequest, ProviderFailure
from switchboard.events import (
    AdapterEvent,
    AssistantText,
    Finished,
    Notice,
    SessionStarted,
    ToolCall,
    ToolResult,
    UsageDelta,
)
from switchboard.models import Usage

#: model calls per run when the permission profile sets no ``max_turns``
DEFAULT_MAX_TURNS = 20

SYSTEM_PROMPT = (
    "You are a coding agent working in a folder that holds a project. Use the tools to"
    " look at files, change them and run commands; paths are relative to that folder."
    " When the task is done, reply with a short summary of what you did, without calling"
    " a tool."
)

#: request keys the agent sets itself, on top of those of the plain adapter
AGENT_OPTIONS: Mapping[str, str] = {
    "tools": "the agent offers its own tools",
    "tool_choice": "the agent lets the model choose",
    "functions": "the agent offers its own tools",
    "function_call": "the agent lets the model choose",
}

#: how much of a malformed argument string a trace keeps
_RAW_LIMIT = 2000


@dataclass
class PendingCall:
    """One tool call as the model streamed it: id, name and the raw JSON arguments."""

    call_id: str | None = None
    name: str = ""
    arguments: str = ""


class ToolCallBuffer:
    """Assembles streamed ``delta.tool_calls`` pieces into whole calls.

    A piece carries ``index``, and ``id``, ``function.name`` and ``function.arguments``
    fragments. Pieces with the same index belong to one call unless they bring a new id;
    pieces without an index continue the last call unless they bring a new id.
    """

    def __init__(self) -> None:
        self.calls: list[PendingCall] = []
        self._by_index: dict[int, PendingCall] = {}

    def add(self, pieces: Any) -> None:
        for piece in pieces or []:
            index = _field(piece, "index")
            call_id = _field(piece, "id")
            function = _field(piece, "function")
            name, arguments = _field(function, "name"), _field(function, "arguments")
            keyed = isinstance(index, int) and not isinstance(index, bool)
            last = self.calls[-1] if self.calls else None
            current = self._by_index.get(index) if keyed else last
            if current is None or (call_id and current.call_id and call_id != current.call_id):
                current = PendingCall()
                self.calls.append(current)
                if keyed:
                    self._by_index[index] = current
            if isinstance(call_id, str) and call_id and not current.call_id:
                current.call_id = call_id
            if isinstance(name, str) and name and not current.name:
                current.name = name
            if isinstance(arguments, str):
                current.arguments += arguments
            elif isinstance(arguments, Mapping):
                current.arguments += json.dumps(dict(arguments))

    def finished(self, turn: int) -> list[PendingCall]:
        """The calls, each with an id (made up where the provider sent none)."""
        for number, call in enumerate(self.calls):
            call.call_id = call.call_id or f"call_{turn}_{number}"
        return self.calls


def parse_arguments(raw: str) -> tuple[dict[str, Any], str | None]:
    """The arguments as a dict, or ``({}, error message for the model)``."""
    if not raw.strip():
        return {}, None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {}, (
            f"error: the arguments are not valid JSON ({exc.msg} at position {exc.pos});"
            " send one JSON object"
        )
    if not isinstance(value, dict):
        return {}, "error: the arguments must be one JSON object"
    return value, None


def agent_request(ctx: RunContext) -> dict[str, Any]:
    """The keyword arguments of ``litellm.acompletion`` for the first turn."""
    clashes = sorted(set(ctx.provider.config.options) & set(AGENT_OPTIONS))
    if clashes:
        key, name = clashes[0], ctx.provider.name
        raise BadRequest(
            f"{name}: options.{key} is set by the agent",
            provider=name,
            hint=f"remove it from providers.{name}.options; {AGENT_OPTIONS[key]}",
        )
    request = build_request(ctx)
    request["messages"] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        *conversation(ctx, system=False),
    ]
    request["tools"] = [dict(schema) for schema in TOOL_SCHEMAS]
    return request


@dataclass
class _Turn:
    """What one model call said."""

    text_parts: list[str] = field(default_factory=list)
    calls: ToolCallBuffer = field(default_factory=ToolCallBuffer)
    saw_usage: bool = False
    chunks: int = 0

    @property
    def text(self) -> str:
        return "".join(self.text_parts)


class LiteLLMAgentAdapter(Adapter):
    """Does a coding task with any litellm model through a small tool loop."""

    kind: ClassVar[str] = "litellm-agent"
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"streams", "reports_usage", "edits_files", "multi_call"}
    )
    handoff_modes: ClassVar[frozenset[HandoffMode]] = frozenset({"brief", "transplant"})

    async def run(self, ctx: RunContext) -> AsyncIterator[AdapterEvent]:
        """Yield ``SessionStarted``, then per turn text, usage, tool calls and results,
        and ``Finished`` with the model's last answer.

        Raises :class:`BadRequest` without a workspace or with clashing options, a
        :class:`ProviderError` mapped from litellm's exception, and
        :class:`ProviderFailure` when the turn limit is reached.
        """
        workspace = _workspace(ctx)
        request = agent_request(ctx)
        profile = ctx.permissions
        tools = AgentTools(workspace, read_only=profile is not None and profile.mode == "read-only")
        max_turns = (profile.max_turns if profile is not None else None) or DEFAULT_MAX_TURNS
        secrets = [ctx.api_key.get_secret_value()] if ctx.api_key is not None else []
        litellm = await load_litellm()
        messages: list[dict[str, Any]] = list(request["messages"])
        warned = False
        for turn in range(1, max_turns + 1):
            state = _Turn()
            call = {**request, "messages": list(messages)}
            async with contextlib.aclosing(self._turn(ctx, litellm, call, state, turn)) as events:
                async for event in events:
                    yield event
            if turn == 1 and state.chunks == 0:
                yield SessionStarted(session_id=None, model=ctx.provider.model)
            calls = state.calls.finished(turn)
            if not state.saw_usage:
                if not warned:
                    warned = True
                    yield Notice(level="warning", message=NO_USAGE_NOTICE)
                said = state.text + "".join(c.name + c.arguments for c in calls)
                estimate = Usage(
                    input_tokens=estimate_tokens(json.dumps(call["messages"])),
                    output_tokens=estimate_tokens(said),
                )
                yield UsageDelta(usage=estimate, cost=None)
            if not calls:
                yield Finished(status="succeeded", text=state.text)
                return
            if turn == max_turns:
                name = ctx.provider.name
                raise ProviderFailure(
                    f"{name}: the agent was still calling tools after {max_turns} turns",
                    provider=name,
                    hint=f"raise max_turns under [permissions] or [providers.{name}.permissions],"
                    " or split the task",
                )
            messages.append(_assistant_message(state.text, calls))
            for pending in calls:
                call_id = pending.call_id or ""
                arguments, problem = parse_arguments(pending.arguments)
                if problem is not None:
                    yield Notice(
                        level="warning",
                        message=f"{pending.name}: the model sent arguments that are not a JSON"
                        " object; the error went back to it",
                        raw=pending.arguments[:_RAW_LIMIT],
                    )
                    arguments = {"invalid_arguments": pending.arguments[:_RAW_LIMIT]}
                yield ToolCall(call_id=call_id, name=pending.name, arguments=arguments)
                if problem is not None:
                    outcome = ToolOutcome(problem, is_error=True)
                else:
                    outcome = await tools.call(pending.name, arguments)
                output = redact(outcome.output, secrets)
                yield ToolResult(call_id=call_id, output=output, is_error=outcome.is_error)
                messages.append({"role": "tool", "tool_call_id": call_id, "content": output})

    async def _turn(
        self, ctx: RunContext, litellm: Any, request: dict[str, Any], state: _Turn, turn: int
    ) -> AsyncGenerator[AdapterEvent, None]:
        """One streamed model call: text and usage as events, tool calls into ``state``."""
        try:
            stream = await litellm.acompletion(**request)
        except Exception as exc:
            raise LiteLLMAdapter._error(ctx, exc) from exc
        handle = _StreamHandle(stream)
        reported = Usage()
        try:
            async for chunk in stream_chunks(ctx, handle):
                state.chunks += 1
                if turn == 1 and state.chunks == 1:
                    yield SessionStarted(session_id=_chunk_id(chunk), model=ctx.provider.model)
                text = _delta_text(chunk)
                if text:
                    state.text_parts.append(text)
                    yield AssistantText(text=text, delta=True)
                state.calls.add(_delta_tool_calls(chunk))
                total = usage_from_litellm(_field(chunk, "usage"))
                if total is not None and provider_reported_usage(stream):
                    state.saw_usage = True
                    increase = usage_increase(total, reported)
                    if increase.total_tokens:
                        reported = reported + increase
                        yield UsageDelta(usage=increase, cost=None)
        finally:
            await handle.aclose()


def _workspace(ctx: RunContext) -> Path:
    name = ctx.provider.name
    if ctx.workspace is None or not Path(ctx.workspace).is_dir():
        raise BadRequest(
            f"{name}: the built-in agent needs a workspace folder to work in",
            provider=name,
            hint="give the task a workspace (a folder or git repository), or route it to a"
            " provider with the plain 'litellm' adapter",
        )
    return Path(ctx.workspace)


def _assistant_message(text: str, calls: list[PendingCall]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": text or None,
        "tool_calls": [
            {
                "id": call.call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments or "{}"},
            }
            for call in calls
        ],
    }


def _delta_tool_calls(chunk: Any) -> Any:
    choices = _field(chunk, "choices") or []
    return _field(_field(choices[0], "delta"), "tool_calls") if choices else None
