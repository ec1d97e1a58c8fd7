"""The ACP adapter's mapping of typed protocol messages, without an agent."""

from __future__ import annotations

from pathlib import Path

from acp import RequestError
from acp.schema import (
    AgentMessageChunk,
    AgentThoughtChunk,
    AllowedOutcome,
    ContentToolCallContent,
    Cost,
    CurrentModeUpdate,
    PermissionOption,
    PromptResponse,
    TextContentBlock,
    ToolCallProgress,
    ToolCallStart,
    ToolCallUpdate,
    UsageUpdate,
)
from acp.schema import (
    Usage as AcpUsage,
)

from switchboard.adapters._acp_map import (
    UpdateMapper,
    decide_permission,
    rpc_error,
    stop_error,
)
from switchboard.adapters._acp_session import _record_usage
from switchboard.adapters.acp import AcpAdapter
from switchboard.config.permissions import PermissionProfile
from switchboard.errors import AuthError, ProviderFailure, RateLimited, ServerError
from switchboard.events import AssistantText, Notice, ToolCall, ToolResult, UsageDelta
from switchboard.models import Usage

OPTIONS = [
    PermissionOption(option_id="proceed_once", name="Allow", kind="allow_once"),
    PermissionOption(option_id="cancel", name="Reject", kind="reject_once"),
]


def text(value: str) -> TextContentBlock:
    return TextContentBlock(type="text", text=value)


def test_message_and_thought_chunks() -> None:
    mapper = UpdateMapper()
    events = [
        *mapper.map(AgentThoughtChunk(session_update="agent_thought_chunk", content=text("hmm"))),
        *mapper.map(AgentMessageChunk(session_update="agent_message_chunk", content=text("Do"))),
        *mapper.map(AgentMessageChunk(session_update="agent_message_chunk", content=text("ne."))),
    ]
    assert isinstance(events[0], Notice) and events[0].level == "debug"
    assert events[1:] == [AssistantText(text="Do"), AssistantText(text="ne.")]
    assert mapper.answer == "Done."


def test_tool_call_then_completed_update() -> None:
    mapper = UpdateMapper()
    list(mapper.map(AgentMessageChunk(session_update="agent_message_chunk", content=text("Hm"))))
    start = ToolCallStart(
        session_update="tool_call",
        tool_call_id="call_1",
        title="echo hi > hello.txt",
        kind="execute",
        status="pending",
    )
    (call,) = mapper.map(start)
    assert call == ToolCall(
        call_id="call_1",
        name="bash",
        arguments={"command": "echo hi > hello.txt", "title": "echo hi > hello.txt"},
    )
    done = ToolCallProgress(
        session_update="tool_call_update",
        tool_call_id="call_1",
        status="completed",
        content=[ContentToolCallContent(type="content", content=text("(no output)"))],
    )
    assert list(mapper.map(done)) == [ToolResult(call_id="call_1", output="(no output)")]
    failed = ToolCallProgress(
        session_update="tool_call_update", tool_call_id="call_1", status="failed", raw_output="boom"
    )
    assert list(mapper.map(failed)) == [ToolResult(call_id="call_1", output="boom", is_error=True)]
    # the answer is what comes after the last tool call
    list(mapper.map(AgentMessageChunk(session_update="agent_message_chunk", content=text("Ok"))))
    assert mapper.answer == "Ok"


def test_raw_input_and_locations_become_arguments() -> None:
    mapper = UpdateMapper()
    start = ToolCallStart(
        session_update="tool_call",
        tool_call_id="w1",
        title="Write notes.md",
        kind="edit",
        raw_input={"content": "x"},
        locations=[{"path": "/tmp/elsewhere/notes.md"}],
    )
    (call,) = mapper.map(start)
    assert isinstance(call, ToolCall)
    assert call.name == "edit"
    assert call.arguments["path"] == "/tmp/elsewhere/notes.md"
    assert call.arguments["content"] == "x"


def test_usage_update_cost_becomes_increments() -> None:
    mapper = UpdateMapper()

    def update(amount: float) -> UsageUpdate:
        cost = Cost(amount=amount, currency="USD")
        return UsageUpdate(session_update="usage_update", used=10, size=100, cost=cost)

    first = list(mapper.map(update(0.001)))
    second = list(mapper.map(update(0.0015)))
    again = list(mapper.map(update(0.0015)))
    assert first == [UsageDelta(usage=Usage(), cost=1000)]
    assert second == [UsageDelta(usage=Usage(), cost=500)]
    assert again == []
    no_cost = list(mapper.map(UsageUpdate(session_update="usage_update", used=5, size=9)))
    assert isinstance(no_cost[0], Notice) and no_cost[0].level == "debug"


def test_unknown_updates_are_debug_notices() -> None:
    mapper = UpdateMapper()
    update = CurrentModeUpdate(session_update="current_mode_update", current_mode_id="plan")
    (notice,) = mapper.map(update)
    assert isinstance(notice, Notice) and "current_mode_update" in notice.message
    assert notice.raw and "plan" in notice.raw


def test_final_usage_from_standard_usage_minus_what_was_seen() -> None:
    mapper = UpdateMapper()
    list(mapper.add_usage(Usage(input_tokens=50, output_tokens=10)))
    response = PromptResponse(
        stop_reason="end_turn",
        usage=AcpUsage(input_tokens=110, output_tokens=20, total_tokens=170, cached_read_tokens=40),
    )
    (delta,) = mapper.final_usage(response)
    assert delta.usage == Usage(input_tokens=20, output_tokens=10, cache_read_tokens=40)


def test_final_usage_from_gemini_quota_meta() -> None:
    mapper = UpdateMapper()
    meta = {"quota": {"token_count": {"input_tokens": 1000, "output_tokens": 100}}}
    response = PromptResponse(stop_reason="end_turn", field_meta=meta)
    (delta,) = mapper.final_usage(response)
    assert delta.usage == Usage(input_tokens=1000, output_tokens=100)
    assert list(mapper.final_usage(response)) == []


def test_permission_allowed_in_the_workspace(tmp_path: Path) -> None:
    call = ToolCall(call_id="c", name="bash", arguments={"command": "echo hi > hello.txt"})
    response, notice = decide_permission(PermissionProfile(), call, OPTIONS, tmp_path)
    assert response.outcome == AllowedOutcome(outcome="selected", option_id="proceed_once")
    assert notice.level == "info"


def test_permission_denied_command_is_rejected(tmp_path: Path) -> None:
    call = ToolCall(call_id="c", name="bash", arguments={"command": "git push --force origin main"})
    response, notice = decide_permission(PermissionProfile(), call, OPTIONS, tmp_path)
    assert response.outcome == AllowedOutcome(outcome="selected", option_id="cancel")
    assert notice.level == "warning" and "git push" in notice.message


def test_permission_read_only_rejects_edits(tmp_path: Path) -> None:
    call = ToolCall(call_id="c", name="edit", arguments={"path": str(tmp_path / "a.py")})
    profile = PermissionProfile(mode="read-only")
    response, _ = decide_permission(profile, call, OPTIONS, tmp_path)
    assert response.outcome == AllowedOutcome(outcome="selected", option_id="cancel")


def test_permission_request_without_earlier_tool_call() -> None:
    mapper = UpdateMapper()
    update = ToolCallUpdate(tool_call_id="x", title="rm -rf /", kind="execute")
    call = mapper.seen_call(update)
    assert call.name == "bash" and call.arguments["command"] == "rm -rf /"


def test_stop_reasons_and_rpc_errors() -> None:
    assert stop_error("p", PromptResponse(stop_reason="end_turn")) is None
    refusal = stop_error("p", PromptResponse(stop_reason="refusal"))
    assert isinstance(refusal, ProviderFailure) and "refused" in str(refusal)
    limited = rpc_error("p", RequestError(429, "slow down\nSuggested retry after 2s."))
    assert isinstance(limited, RateLimited) and limited.retry_after == 2.0
    assert isinstance(rpc_error("p", RequestError(-32603, "x", {"status": 503})), ServerError)
    assert isinstance(rpc_error("p", RequestError(-32000, "Authentication required")), AuthError)
    other = rpc_error("p", RequestError(-32603, "Internal error"))
    assert type(other) is ProviderFailure


def test_record_usage_reads_gemini_response_log() -> None:
    line = (
        b'{"method":"generateContentStream","response":[{"usageMetadata":'
        b'{"promptTokenCount":100,"candidatesTokenCount":7,"totalTokenCount":107}}]}'
    )
    assert _record_usage(line) == Usage(input_tokens=100, output_tokens=7)
    assert _record_usage(b"not json") == Usage()


def test_adapter_class() -> None:
    assert AcpAdapter.kind == "acp"
    assert AcpAdapter.capabilities == {"streams", "edits_files", "reports_usage", "multi_call"}
